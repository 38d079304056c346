//! The interactive loop: terminal events, source updates, ticks and signals arrive
//! as actions; the app updates; the screen is drawn only when something changed.

use std::io::{self, BufWriter};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;
use crossterm::event::EventStream;
use futures::StreamExt;
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use tokio::sync::mpsc;

use crate::action::{map_event, Action};
use crate::app::{App, Command};
use crate::config::Settings;
use crate::poller::{self, Merger, PollerCmd};
use crate::sources::{FleetSource, PollRequest};
use crate::terminal::TerminalGuard;
use crate::theme::Theme;

pub async fn run(settings: Settings, theme: Theme, source: Arc<dyn FleetSource>) -> Result<()> {
    run_with(settings, theme, source, None).await
}

/// [`run`], quitting after `exit_after` refreshes have been drawn (a measurement hook).
pub async fn run_with(
    settings: Settings,
    theme: Theme,
    source: Arc<dyn FleetSource>,
    exit_after: Option<u32>,
) -> Result<()> {
    let metrics = Arc::new(settings.metrics.clone());
    let mut app = App::new(
        metrics.clone(),
        theme,
        settings.refresh,
        settings.stale_after,
    );
    app.server_clusters.clone_from(&settings.clusters);
    app.prom.name = source.describe();
    app.now = Utc::now();

    let (up_tx, mut up_rx) = mpsc::unbounded_channel();
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let merger = Merger::new(metrics, settings.identity.clone(), settings.forget_after);
    let req = PollRequest {
        at: None,
        clusters: settings.clusters.clone(),
    };
    let poll_task = tokio::spawn(poller::run(
        source,
        merger,
        req,
        settings.refresh,
        cmd_rx,
        up_tx,
        Utc::now,
    ));

    let guard = TerminalGuard::enter().context("cannot set up the terminal")?;
    let backend = CrosstermBackend::new(BufWriter::with_capacity(64 * 1024, io::stdout()));
    let mut terminal = Terminal::new(backend)?;
    terminal.clear()?;
    let size = terminal.size()?;
    app.update(Action::Resize(size.width, size.height));

    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut term = signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut hup = signal(tokio::signal::unix::SignalKind::hangup())?;

    let mut refreshes: u32 = 0;
    let result: Result<()> = loop {
        let action = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(ev)) => map_event(&app, &ev),
                Some(Err(e)) => break Err(e.into()),
                None => Action::Quit,
            },
            u = up_rx.recv() => match u {
                Some(u) => {
                    refreshes += 1;
                    Action::Data(Box::new(u))
                }
                None => break Err(anyhow::anyhow!("the poller stopped")),
            },
            _ = tick.tick() => Action::Tick(Utc::now()),
            _ = term.recv() => Action::Quit,
            _ = hup.recv() => Action::Quit,
        };
        let mut actions = vec![action];
        // Drain whatever else is already waiting, then draw once.
        // Polled with this task's waker: `now_or_never()` handed the input thread a no-op
        // waker, and the next key then waited for the 250 ms tick to be seen.
        while let std::task::Poll::Ready(Some(Ok(ev))) = futures::poll!(events.next()) {
            actions.push(map_event(&app, &ev));
        }
        let mut dirty = false;
        for a in actions {
            for c in app.update(a) {
                match c {
                    Command::RefreshNow => {
                        let _ = cmd_tx.send(PollerCmd::RefreshNow);
                    }
                    Command::Quit => {}
                }
            }
            dirty |= app.dirty;
        }
        if app.quit {
            break Ok(());
        }
        if dirty {
            terminal.draw(|f| {
                crate::ui::render(f, &app);
                crate::sanitize::scrub_buffer(f.buffer_mut());
            })?;
            app.dirty = false;
        }
        if exit_after.is_some_and(|n| refreshes >= n) {
            break Ok(());
        }
    };
    poll_task.abort();
    drop(terminal);
    drop(guard);
    result
}

fn signal(kind: tokio::signal::unix::SignalKind) -> Result<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(kind).context("cannot install a signal handler")
}
