//! The interactive loop: terminal events, source updates, ticks and signals arrive
//! as actions; the app updates; the screen is drawn only when something changed.

use std::io::{self, BufWriter};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use tokio::sync::mpsc;

use crate::action::{map_event, Action};
use crate::app::history::{points_of, HistoryFetch};
use crate::app::{App, Command};
use crate::cli::ColorChoice;
use crate::config::Settings;
use crate::model::MetricSet;
use crate::poller::{self, Merger, PollerCmd};
use crate::sources::{FleetSource, PollRequest};
use crate::terminal::TerminalGuard;
use crate::theme::{ColorDepth, Theme};

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
    let exec = crate::exec::Executor::prepare(&mut app, &settings, source.as_ref());
    let depth = match settings.color {
        ColorChoice::Auto => ColorDepth::detect(|k| std::env::var(k).ok()),
        ColorChoice::Truecolor => ColorDepth::Truecolor,
        ColorChoice::C256 => ColorDepth::C256,
        ColorChoice::C16 => ColorDepth::C16,
        ColorChoice::None => ColorDepth::None,
    };
    let (themes, idx) = Theme::cycle(app.theme.clone(), settings.config_dir.as_deref(), depth);
    app.theme = themes[idx].clone();
    app.themes = themes;
    app.theme_index = idx;
    app.wall = settings.wall;
    app.page_every = settings.wall_page;
    app.page_flipped_at = app.now;
    app.only_problems = settings.only_problems;
    app.ascii = settings.ascii;
    app.sparkline_metric = settings.sparkline.as_ref().map(|s| s.metric.clone());
    let (res_tx, mut res_rx) = mpsc::unbounded_channel::<Action>();

    let (up_tx, mut up_rx) = mpsc::unbounded_channel();
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let mut merger = Merger::new(
        metrics.clone(),
        settings.identity.clone(),
        settings.forget_after,
    );
    merger.sparkline.clone_from(&settings.sparkline);
    let req = PollRequest {
        at: settings.at,
        clusters: settings.clusters.clone(),
        sparkline: settings.sparkline.clone(),
    };
    if settings.at.is_some() {
        app.update(Action::ReplayAt(settings.at));
    }
    let (hist_tx, mut hist_rx) = mpsc::unbounded_channel::<Action>();
    let mut hist_tasks: Vec<tokio::task::JoinHandle<()>> = Vec::new();
    let poll_task = tokio::spawn(poller::run(
        source.clone(),
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

    // Terminal input is read on its own thread and queued, so that a burst of keys (a
    // fast typist, a paste) is applied one key at a time, each mapped with the state
    // the previous one left (`/db2` must reach the filter, not the grid).
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<std::io::Result<crossterm::event::Event>>();
    std::thread::Builder::new()
        .name("fleetboard-input".into())
        .spawn(move || loop {
            let ev = crossterm::event::read();
            let failed = ev.is_err();
            if ev_tx.send(ev).is_err() || failed {
                break;
            }
        })
        .context("cannot start the input thread")?;
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut term = signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut hup = signal(tokio::signal::unix::SignalKind::hangup())?;

    let mut refreshes: u32 = 0;
    let result: Result<()> = loop {
        let first = tokio::select! {
            ev = ev_rx.recv() => match ev {
                Some(ev) => Incoming::Term(ev),
                None => Incoming::Act(Action::Quit),
            },
            u = up_rx.recv() => match u {
                Some(u) => {
                    refreshes += 1;
                    Incoming::Act(Action::Data(Box::new(u)))
                }
                None => break Err(anyhow::anyhow!("the poller stopped")),
            },
            Some(h) = hist_rx.recv() => Incoming::Act(h),
            r = res_rx.recv() => Incoming::Act(r.unwrap_or(Action::None)),
            _ = tick.tick() => Incoming::Act(Action::Tick(Utc::now())),
            _ = term.recv() => Incoming::Act(Action::Quit),
            _ = hup.recv() => Incoming::Act(Action::Quit),
        };
        let mut incoming = vec![first];
        // Drain whatever input is already waiting, then draw once.
        while let Ok(ev) = ev_rx.try_recv() {
            incoming.push(Incoming::Term(ev));
        }
        let mut dirty = false;
        let mut input_error = None;
        for inc in incoming {
            let a = match inc {
                Incoming::Term(Ok(ev)) => map_event(&app, &ev),
                Incoming::Term(Err(e)) => {
                    input_error = Some(e);
                    break;
                }
                Incoming::Act(a) => a,
            };
            for c in app.update(a) {
                match c {
                    Command::RefreshNow => {
                        let _ = cmd_tx.send(PollerCmd::RefreshNow);
                    }
                    Command::Quit => {}
                    Command::FetchHistory(fetches) => {
                        hist_tasks.retain(|t| !t.is_finished());
                        for f in fetches {
                            hist_tasks.push(tokio::spawn(fetch_history(
                                source.clone(),
                                metrics.clone(),
                                f,
                                hist_tx.clone(),
                            )));
                        }
                    }
                    Command::CancelHistory => {
                        for t in hist_tasks.drain(..) {
                            t.abort();
                        }
                    }
                    Command::SetReplay(at) => {
                        let _ = cmd_tx.send(PollerCmd::Set(PollRequest {
                            at,
                            clusters: settings.clusters.clone(),
                            sparkline: settings.sparkline.clone(),
                        }));
                    }
                    c @ (Command::FetchSilences
                    | Command::CreateSilence(_)
                    | Command::ExpireSilence(_)) => {
                        let (exec, tx) = (exec.clone(), res_tx.clone());
                        tokio::spawn(async move {
                            if let Some(a) = exec.execute(c).await {
                                let _ = tx.send(a);
                            }
                        });
                    }
                }
            }
            dirty |= app.dirty;
        }
        if let Some(e) = input_error {
            break Err(anyhow::anyhow!("cannot read the terminal: {e}"));
        }
        if app.quit {
            break Ok(());
        }
        if dirty {
            terminal.draw(|f| {
                crate::ui::render(f, &app);
                crate::sanitize::scrub_buffer(f.buffer_mut());
                if app.ascii {
                    crate::ui::asciify(f.buffer_mut());
                }
            })?;
            app.dirty = false;
        }
        if exit_after.is_some_and(|n| refreshes >= n) {
            break Ok(());
        }
    };
    poll_task.abort();
    for t in hist_tasks {
        t.abort();
    }
    drop(terminal);
    drop(guard);
    result
}

/// Runs one chart query and sends its result back as an action.
async fn fetch_history(
    source: Arc<dyn FleetSource>,
    metrics: Arc<MetricSet>,
    f: HistoryFetch,
    tx: mpsc::UnboundedSender<Action>,
) {
    let direction = metrics
        .get(&f.key.metric)
        .map_or(crate::model::Direction::Higher, |m| m.direction);
    #[allow(clippy::cast_precision_loss)]
    let (start, end) = (
        f.req.start.timestamp_millis() as f64 / 1000.0,
        f.req.end.timestamp_millis() as f64 / 1000.0,
    );
    let step = f.req.step.as_secs_f64();
    let r = source
        .history(&f.req)
        .await
        .map(|series| {
            (
                points_of(series, f.filter_host.as_ref(), direction),
                start,
                end,
                step,
            )
        })
        .map_err(|e| e.to_string());
    let _ = tx.send(Action::History(f.key, r));
}

/// What woke the loop: terminal input (mapped to an action only when its turn comes)
/// or an action already.
enum Incoming {
    Term(std::io::Result<crossterm::event::Event>),
    Act(Action),
}

fn signal(kind: tokio::signal::unix::SignalKind) -> Result<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(kind).context("cannot install a signal handler")
}
