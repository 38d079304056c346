//! The interactive loop: terminal events, source updates, ticks and signals arrive
//! as actions; the app updates; the screen is drawn only when something changed.

use std::io::{self, BufWriter};
use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::Utc;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::Terminal;
use tokio::sync::mpsc;

use crate::action::{map_event, Action};
use crate::app::history::{points_of, HistoryFetch};
use crate::app::{App, Command, Startup};
use crate::cli::ColorChoice;
use crate::config::Settings;
use crate::model::MetricSet;
use crate::poller::{self, Merger, PollerCmd};
use crate::sources::{FleetSource, PollRequest};
use crate::terminal::TerminalGuard;
use crate::theme::{ColorDepth, Theme};

/// Why the board stopped other than by the user quitting.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Reading from or writing to the terminal failed: it went away (the pty closed, as
    /// when an SSH session drops). Nothing can be shown any more, so the caller logs the
    /// reason and leaves without writing to the terminal.
    #[error("the terminal went away: {0}")]
    TerminalGone(std::io::Error),
    /// Anything else (set-up failed, the poller stopped).
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Terminal I/O failing inside the loop (size, redraw after a command) means the
/// terminal is gone.
impl From<std::io::Error> for RunError {
    fn from(e: std::io::Error) -> Self {
        RunError::TerminalGone(e)
    }
}

/// Runs the board until the user quits (`Ok`), a signal ends it (`Ok`; SIGHUP is logged
/// as the terminal going away) or [`RunError`].
///
/// # Errors
///
/// As [`run_with`].
pub async fn run(
    settings: Settings,
    theme: Theme,
    source: Arc<dyn FleetSource>,
) -> Result<(), RunError> {
    run_with(settings, theme, source, None).await
}

/// [`run`], quitting after `exit_after` refreshes have been drawn (a measurement hook).
///
/// # Errors
///
/// [`RunError::TerminalGone`] when reading from or writing to the terminal fails inside the
/// loop; [`RunError::Other`] when the terminal, the input thread or a signal handler cannot be
/// set up, or the poller stops.
pub async fn run_with(
    settings: Settings,
    theme: Theme,
    source: Arc<dyn FleetSource>,
    exit_after: Option<u32>,
) -> Result<(), RunError> {
    let metrics = Arc::new(settings.metrics.clone());
    let mut app = App::new(
        metrics.clone(),
        theme,
        settings.refresh,
        settings.stale_after,
    );
    let (exec, alerts_setup) = crate::exec::Executor::prepare(&settings, source.as_ref());
    let depth = match settings.color {
        ColorChoice::Auto => ColorDepth::detect(|k| std::env::var(k).ok()),
        ColorChoice::Truecolor => ColorDepth::Truecolor,
        ColorChoice::C256 => ColorDepth::C256,
        ColorChoice::C16 => ColorDepth::C16,
        ColorChoice::None => ColorDepth::None,
    };
    let (themes, theme_index) =
        Theme::cycle(app.theme.clone(), settings.config_dir.as_deref(), depth);
    app.update(Action::Start(Box::new(Startup {
        now: Utc::now(),
        source_name: source.describe(),
        server_clusters: settings.clusters.clone(),
        themes,
        theme_index,
        wall: settings.wall,
        wall_page_every: settings.wall_page,
        only_problems: settings.only_problems,
        map: settings.map,
        ascii: settings.ascii,
        keymap: Arc::new(settings.keymap.clone()),
        sparkline_metric: settings.sparkline.as_ref().map(|s| s.metric.clone()),
        links: crate::links::LinksUi::new(settings.links.clone(), settings.read_only),
        identity: settings.identity.clone(),
    })));
    app.update(alerts_setup);
    let mut notifier = crate::notify::Notifier::new(settings.notify.clone());
    let in_tmux = crate::terminal::in_tmux();
    // Bytes for the terminal besides the frame (notifications), written after it.
    let mut extra: Vec<u8> = Vec::new();
    // Hyperlinks last written over the panel, and the screen size then: written again only
    // when they change (a resize clears the screen).
    let mut drawn_links = (ratatui::layout::Rect::default(), Vec::new());
    let (res_tx, mut res_rx) = mpsc::unbounded_channel::<Action>();
    // The last frame drawn in full, and the app's body count then: a refresh that brings
    // nothing new redraws only the header and status bar over it (at 100 hosts, most
    // refreshes between two scrapes; the full frame is a quarter of a refresh's CPU).
    let mut last_full: Option<(u64, ratatui::buffer::Buffer)> = None;

    let (up_tx, mut up_rx) = poller::update_channel();
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

    let mut guard = TerminalGuard::enter().context("cannot set up the terminal")?;
    let backend = CrosstermBackend::new(crate::terminal::TtyWriter::new(BufWriter::with_capacity(
        64 * 1024,
        io::stdout(),
    )));
    // A fixed viewport, resized here when the terminal says it changed (its resize events
    // reach the app): a full-screen one asks the terminal for its size on every frame,
    // opening /dev/tty each time.
    let size = crossterm::terminal::size().context("cannot read the terminal size")?;
    let mut area = Rect::new(0, 0, size.0, size.1);
    let mut terminal = Terminal::with_options(
        backend,
        ratatui::TerminalOptions {
            viewport: ratatui::Viewport::Fixed(area),
        },
    )
    .context("cannot set up the terminal")?;
    // Not `Terminal::clear`: it asks the terminal where the cursor is (ESC [ 6 n) and
    // fails when no answer comes (serial consoles, some web terminals). A full-screen
    // board never needs the cursor: `resize` clears the screen and the back buffer.
    terminal.resize(area).context("cannot clear the terminal")?;
    app.update(Action::Resize(area.width, area.height));

    // Terminal input is read on its own thread and queued, so that a burst of keys (a
    // fast typist, a paste) is applied one key at a time, each mapped with the state
    // the previous one left (`/db2` must reach the filter, not the grid).
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<std::io::Result<crossterm::event::Event>>();
    // Commands run from the board need the keyboard to themselves: then the input
    // thread must be able to pause.
    let input = crate::terminal::spawn_input(ev_tx, !settings.links.commands.is_empty())
        .context("cannot start the input thread")?;
    // The clock wakes the loop only when it changes something (an age on screen, the data
    // turning late or stale, a notice held back): once per refresh on an idle board on
    // time, where a wake-up every second would cost it more than the refresh itself.
    // Terminal events bring their own time below.
    let mut tick_at = next_tick(&app, &notifier);
    let tick = tokio::time::sleep_until(until(tick_at));
    tokio::pin!(tick);
    let mut term = signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut hup = signal(tokio::signal::unix::SignalKind::hangup())?;
    // Ctrl-C reaches a command run from the board as SIGINT, and us with it (same
    // process group): caught, it quits the board cleanly, except while a command runs.
    let mut int = signal(tokio::signal::unix::SignalKind::interrupt())?;
    // A dropped session can end the board while a draw is half written; the reason goes to
    // the log, and the terminal is restored only as far as it still exists.

    let mut refreshes: u32 = 0;
    let mut quit = false;
    let result: Result<(), RunError> = loop {
        let first = tokio::select! {
            ev = ev_rx.recv() => match ev {
                Some(ev) => Incoming::Term(ev),
                None => Incoming::Act(Action::Quit),
            },
            changed = up_rx.changed() => {
                if changed.is_err() {
                    break Err(anyhow::anyhow!("the poller stopped").into());
                }
                match up_rx.borrow_and_update().clone() {
                    Some(u) => {
                        refreshes += 1;
                        Incoming::Act(Action::Data(Box::new(u)))
                    }
                    None => Incoming::Act(Action::None),
                }
            },
            Some(h) = hist_rx.recv() => Incoming::Act(h),
            r = res_rx.recv() => Incoming::Act(r.unwrap_or(Action::None)),
            () = &mut tick => Incoming::Act(Action::Tick(Utc::now())),
            _ = term.recv() => Incoming::Act(Action::Quit),
            _ = hup.recv() => {
                tracing::warn!("hangup (SIGHUP): the terminal went away; leaving");
                Incoming::Act(Action::Quit)
            }
            _ = int.recv() => Incoming::Act(Action::Quit),
        };
        // Input is read with the time it came (a double click is two clicks within 500 ms,
        // far finer than the tick).
        let mut incoming = if matches!(first, Incoming::Term(_)) {
            vec![Incoming::Act(Action::Tick(Utc::now())), first]
        } else {
            vec![first]
        };
        // Drain whatever input is already waiting, then draw once.
        while let Ok(ev) = ev_rx.try_recv() {
            incoming.push(Incoming::Term(ev));
        }
        let mut dirty = false;
        let mut input_error = None;
        for inc in incoming {
            let a = match inc {
                Incoming::Term(Ok(ev)) => map_event(&ev),
                Incoming::Term(Err(e)) => {
                    input_error = Some(e);
                    break;
                }
                Incoming::Act(a) => a,
            };
            let fresh_fleet = matches!(&a, Action::Data(u) if u.fleet.is_some());
            let tick = matches!(&a, Action::Tick(_));
            let cmds = app.update(a);
            if fresh_fleet {
                // The previous fleet was dropped just now, after the merge's working memory:
                // give the pages back, or the board keeps the size of its largest refresh.
                let hosts = app.fleet.hosts.len();
                if hosts >= crate::memory::RELEASE_FROM_HOSTS {
                    tokio::task::spawn_blocking(move || {
                        crate::memory::release_free_memory_for(hosts)
                    });
                }
            }
            let notice = if app.replay.is_some() {
                notifier.reset();
                None
            } else if fresh_fleet {
                notifier.observe(
                    app.fleet.hosts.iter().map(|h| crate::notify::Observation {
                        id: &h.id,
                        health: h.health,
                        stale: h.readings.iter().any(|r| r.stale),
                    }),
                    app.now,
                )
            } else if tick {
                notifier.tick(app.now)
            } else {
                None
            };
            if let Some(n) = notice {
                tracing::info!("notification: {} / {}", n.title, n.body);
                extra.extend(crate::notify::encode(
                    &n,
                    notifier.config().protocol,
                    in_tmux,
                ));
            }
            for c in cmds {
                match c {
                    Command::RefreshNow => {
                        let _ = cmd_tx.send(PollerCmd::RefreshNow);
                    }
                    Command::Quit => quit = true,
                    Command::OpenUrl(argv) => {
                        let tx = res_tx.clone();
                        tokio::spawn(async move {
                            if let Some(msg) = open_detached(&argv).await {
                                let _ = tx.send(Action::Links(crate::links::LinkAction::Done(msg)));
                            }
                        });
                    }
                    Command::RunCommand(argv) => {
                        if let Some(i) = &input {
                            i.pause();
                        }
                        guard.suspend();
                        let msg = run_in_terminal(&argv);
                        // A Ctrl-C meant for the command is not a request to quit.
                        while matches!(futures::FutureExt::now_or_never(int.recv()), Some(Some(())))
                        {
                        }
                        // Back on the alternate screen, redrawn in full (not `clear`, which
                        // asks for the cursor position, see above).
                        let back = guard.resume().and_then(|()| {
                            let (w, h) = crossterm::terminal::size()?;
                            area = Rect::new(0, 0, w, h);
                            terminal.resize(area)?;
                            Ok(area)
                        });
                        if let Some(i) = &input {
                            i.resume();
                        }
                        drawn_links.1.clear();
                        match back {
                            Ok(size) => {
                                app.update(Action::Resize(size.width, size.height));
                            }
                            Err(e) => input_error = Some(e),
                        }
                        app.update(Action::Links(crate::links::LinkAction::Done(msg)));
                    }
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
            break Err(RunError::TerminalGone(e));
        }
        if quit {
            break Ok(());
        }
        if dirty {
            let want = Rect::new(0, 0, app.width, app.height);
            if want != area {
                area = want;
                if let Err(e) = terminal.resize(area) {
                    break Err(RunError::TerminalGone(e));
                }
            }
            let drawn = terminal.draw(|f| {
                let kept = last_full
                    .as_ref()
                    .filter(|(gen, _)| *gen == app.body_gen)
                    .map(|(_, b)| b);
                if crate::ui::draw(f, &app, kept) {
                    last_full = Some((app.body_gen, f.buffer_mut().clone()));
                }
            });
            let frame = match drawn {
                Ok(f) => f,
                Err(e) => break Err(RunError::TerminalGone(e)),
            };
            let spots = (frame.area, crate::ui::hyperlinks(&app, frame.area));
            if spots != drawn_links {
                let cells = link_cells(frame.buffer, &spots.1);
                if let Err(e) = write_hyperlinks(terminal.backend_mut(), &spots.1, &cells) {
                    break Err(RunError::TerminalGone(e));
                }
                drawn_links = spots;
            }
            app.update(Action::Drawn);
        }
        if !extra.is_empty() {
            use std::io::Write as _;
            let w = terminal.backend_mut();
            if let Err(e) = w.write_all(&extra).and_then(|()| w.flush()) {
                break Err(RunError::TerminalGone(e));
            }
            extra.clear();
        }
        // A timer is set again only when its deadline moved (each reset costs a wake-up of
        // the runtime's worker).
        let at = next_tick(&app, &notifier);
        if at != tick_at || tick.is_elapsed() {
            tick_at = at;
            tick.as_mut().reset(until(at));
        }
        // The measurement hook leaves the way a user does: the app is told, and the board
        // stops on its `Quit`.
        if exit_after.is_some_and(|n| refreshes >= n)
            && app.update(Action::Quit).contains(&Command::Quit)
        {
            break Ok(());
        }
    };
    poll_task.abort();
    for t in hist_tasks {
        t.abort();
    }
    // Shown here, where a failure is only noted: ratatui's own attempt on drop prints to
    // stderr and would panic on a terminal that is gone (the writer now swallows it).
    let _ = terminal.show_cursor();
    drop(terminal);
    drop(guard);
    result
}

/// When the loop next needs the clock: the app's next change by time alone, and within a
/// second while the notifier holds something back.
fn next_tick(app: &App, notifier: &crate::notify::Notifier) -> chrono::DateTime<Utc> {
    let now = Utc::now();
    let at = app.next_tick(now);
    if notifier.wants_tick() {
        at.min(now + chrono::Duration::seconds(1))
    } else {
        at
    }
}

/// The runtime's instant for a wall-clock time (now, when it is past).
fn until(at: chrono::DateTime<Utc>) -> tokio::time::Instant {
    tokio::time::Instant::now() + (at - Utc::now()).to_std().unwrap_or_default()
}

type Cells = Vec<Vec<(u16, u16, ratatui::buffer::Cell)>>;

/// The drawn cells under each hyperlink.
fn link_cells(buf: &ratatui::buffer::Buffer, spots: &[crate::ui::host_panel::LinkSpot]) -> Cells {
    spots
        .iter()
        .map(|s| {
            (s.x..s.x.saturating_add(s.width))
                .filter_map(|x| buf.cell((x, s.y)).map(|c| (x, s.y, c.clone())))
                .collect()
        })
        .collect()
}

/// Writes each hyperlink's cells again, as drawn, inside OSC 8: the screen looks the same
/// and the terminal knows the link. ratatui rewrites a cell only when it changes, so the
/// link stays until the text under it does.
fn write_hyperlinks<B: ratatui::backend::Backend<Error = std::io::Error> + std::io::Write>(
    backend: &mut B,
    spots: &[crate::ui::host_panel::LinkSpot],
    cells: &Cells,
) -> std::io::Result<()> {
    for (s, c) in spots.iter().zip(cells) {
        backend.write_all(crate::terminal::hyperlink_start(&s.url).as_bytes())?;
        backend.draw(c.iter().map(|(x, y, cell)| (*x, *y, cell)))?;
        backend.write_all(crate::terminal::HYPERLINK_END.as_bytes())?;
    }
    std::io::Write::flush(backend)?;
    Ok(())
}

/// Starts a URL opener detached from the terminal (no shell, output discarded); `Some`
/// message when it could not start or failed.
async fn open_detached(argv: &[String]) -> Option<String> {
    let (prog, args) = argv.split_first()?;
    let child = tokio::process::Command::new(prog)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(false)
        .spawn();
    match child {
        Err(e) => Some(format!(
            "cannot start {}: {e} (set links.opener)",
            crate::sanitize::fit(prog, 30)
        )),
        Ok(mut c) => match c.wait().await {
            Ok(s) if s.success() => None,
            Ok(s) => Some(format!(
                "{} exited with {s}",
                crate::sanitize::fit(prog, 30)
            )),
            Err(e) => Some(format!("{}: {e}", crate::sanitize::fit(prog, 30))),
        },
    }
}

/// Runs a command in the terminal (already given back by the guard), without a shell,
/// and waits for it. Returns what to show on the board afterwards.
fn run_in_terminal(argv: &[String]) -> String {
    let Some((prog, args)) = argv.split_first() else {
        return String::new();
    };
    let shown = argv.join(" ");
    println!("fleetboard: running {}", crate::sanitize::escape(&shown));
    match std::process::Command::new(prog).args(args).status() {
        Ok(s) if s.success() => format!("{} finished", crate::sanitize::fit(&shown, 40)),
        Ok(s) => format!("{} exited: {s}", crate::sanitize::fit(&shown, 40)),
        Err(e) => format!("cannot run {}: {e}", crate::sanitize::fit(prog, 30)),
    }
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
                points_of(
                    series,
                    f.filter_host.as_ref(),
                    &f.aliases,
                    &f.heartbeat_from,
                    direction,
                ),
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
