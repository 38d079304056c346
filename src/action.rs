//! Actions and the keymap that turns terminal input into them.

use chrono::{DateTime, Utc};
use crossterm::event::{
    Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent,
    MouseEventKind,
};

use crate::app::{App, Screen};
use crate::model::Update;

/// Everything that can change the app.
#[derive(Debug, Clone)]
pub enum Action {
    Tick(DateTime<Utc>),
    Data(Box<Update>),
    Resize(u16, u16),
    Quit,
    Help,
    Refresh,
    /// Esc / Backspace: close help, cancel the filter, leave the panel, clear filters.
    Back,
    Open,
    /// Selection move: `(dx, dy)`, each -1, 0 or 1.
    Move(i32, i32),
    Page(bool),
    Home,
    End,
    StartFilter,
    FilterChar(char),
    FilterBackspace,
    FilterClear,
    FilterApply,
    CycleCluster,
    CycleSort,
    Click(u16, u16),
    Scroll(bool),
    /// Hide / show healthy hosts (`p`).
    OnlyProblems,
    /// Next colour theme (`t`).
    NextTheme,
    /// Scroll the help by this many lines.
    HelpScroll(i32),
    /// Chart window by index (`1`..`5`).
    Window(usize),
    /// Next (+1) or previous (-1) chart window.
    WindowStep(i32),
    /// A chart's data arrived: points, start, end, step; or an error.
    History(
        crate::app::history::HistoryKey,
        crate::app::history::HistoryResult,
    ),
    /// Move the replay time by this many refresh intervals (negative: back).
    ReplayStep(i64),
    /// Replay at this time (`None`: live), e.g. from `--at`.
    ReplayAt(Option<DateTime<Utc>>),
    /// Back to live.
    Live,
    /// Alerts view, silences and their results (see [`crate::app::alerts`]).
    Alerts(crate::app::alerts::AlertAction),
    /// Links and commands of the host panel (see [`crate::links`]).
    Links(crate::links::LinkAction),
    None,
}

/// One row of the help screen: keys and what they do.
pub const KEYS: &[(&str, &str)] = &[
    (
        "←↓↑→ hjkl",
        "move the selection (in a host panel: ←→ previous/next host, ↑↓ scroll)",
    ),
    ("PgUp PgDn", "page up / down"),
    ("Home End g G", "first / last host"),
    ("Enter", "open the selected host's panel"),
    (
        "Esc Backspace",
        "back: close help or panel, cancel or clear the filter",
    ),
    (
        "/",
        "filter hosts by name or cluster (Enter applies, Esc clears)",
    ),
    ("c", "cycle the cluster shown: all → each cluster → all"),
    ("s", "cycle sort: severity first / name / source"),
    ("r", "refresh now"),
    (
        "p",
        "only problems: hide healthy hosts (a count says how many)",
    ),
    (
        "t",
        "next colour theme: default, light, high-contrast, colorblind, …",
    ),
    (
        "1-5 + -",
        "chart window in the host panel: 5m 15m 1h 6h 24h",
    ),
    ("[ ]", "replay: step back / forward one refresh interval"),
    ("{ }", "replay: step back / forward ten intervals"),
    (". L", "back to live"),
    (
        "a",
        "alerts by severity and cluster (Enter: its host panel)",
    ),
    (
        "A Tab",
        "silences: active and pending; x expires one (asks y/n)",
    ),
    (
        "S",
        "silence the selected alert or host (alerts view, panel)",
    ),
    (
        "o x",
        "host panel: open a link / run a command (see [links])",
    ),
    ("?", "this help"),
    ("q Ctrl-C", "quit"),
    (
        "mouse",
        "click selects a tile; click it again or double-click opens it; wheel scrolls",
    ),
];

/// Maps a terminal event to an action, given the current mode.
pub fn map_event(app: &App, ev: &TermEvent) -> Action {
    match ev {
        TermEvent::Key(k) if k.kind != KeyEventKind::Release => map_key(app, *k),
        TermEvent::Mouse(m) => map_mouse(*m),
        TermEvent::Resize(w, h) => Action::Resize(*w, *h),
        _ => Action::None,
    }
}

fn map_key(app: &App, k: KeyEvent) -> Action {
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && matches!(k.code, KeyCode::Char('c')) {
        return Action::Quit;
    }
    if let Some(a) = crate::app::alerts::map_key(app, k) {
        return a;
    }
    if app.filter_edit.is_some() {
        return match k.code {
            KeyCode::Enter => Action::FilterApply,
            KeyCode::Esc => Action::Back,
            KeyCode::Backspace => Action::FilterBackspace,
            KeyCode::Char('u') if ctrl => Action::FilterClear,
            KeyCode::Char(c) if !ctrl => Action::FilterChar(c),
            KeyCode::Up => Action::Move(0, -1),
            KeyCode::Down => Action::Move(0, 1),
            _ => Action::None,
        };
    }
    if app.help {
        return match k.code {
            KeyCode::Char('q') if !ctrl => Action::Quit,
            KeyCode::Down | KeyCode::Char('j') => Action::HelpScroll(1),
            KeyCode::Up | KeyCode::Char('k') => Action::HelpScroll(-1),
            KeyCode::PageDown | KeyCode::Char(' ') => Action::HelpScroll(10),
            KeyCode::PageUp => Action::HelpScroll(-10),
            _ => Action::Help,
        };
    }
    if let Some(a) = crate::links::map_key(app, k) {
        return a;
    }
    let in_panel = matches!(app.screen, Screen::Host(_));
    match k.code {
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Char('?') | KeyCode::F(1) => Action::Help,
        KeyCode::Esc | KeyCode::Backspace => Action::Back,
        KeyCode::Enter => Action::Open,
        KeyCode::Left | KeyCode::Char('h') => Action::Move(-1, 0),
        KeyCode::Right | KeyCode::Char('l') => Action::Move(1, 0),
        KeyCode::Up | KeyCode::Char('k') => Action::Move(0, -1),
        KeyCode::Down | KeyCode::Char('j') => Action::Move(0, 1),
        KeyCode::PageUp => Action::Page(false),
        KeyCode::PageDown | KeyCode::Char(' ') => Action::Page(true),
        KeyCode::Home | KeyCode::Char('g') => Action::Home,
        KeyCode::End | KeyCode::Char('G') => Action::End,
        KeyCode::Char('/') if !in_panel => Action::StartFilter,
        KeyCode::Char('c') => Action::CycleCluster,
        KeyCode::Char('s') => Action::CycleSort,
        KeyCode::Char('r') => Action::Refresh,
        KeyCode::Char('p') => Action::OnlyProblems,
        KeyCode::Char('t') => Action::NextTheme,
        KeyCode::Char(c @ '1'..='5') => Action::Window(usize::from(c as u8 - b'1')),
        KeyCode::Char('+' | '=') => Action::WindowStep(1),
        KeyCode::Char('-') => Action::WindowStep(-1),
        KeyCode::Char('[') => Action::ReplayStep(-1),
        KeyCode::Char(']') => Action::ReplayStep(1),
        KeyCode::Char('{') => Action::ReplayStep(-10),
        KeyCode::Char('}') => Action::ReplayStep(10),
        KeyCode::Char('.' | 'L') => Action::Live,
        _ => Action::None,
    }
}

fn map_mouse(m: MouseEvent) -> Action {
    match m.kind {
        MouseEventKind::Down(MouseButton::Left) => Action::Click(m.column, m.row),
        MouseEventKind::ScrollDown => Action::Scroll(true),
        MouseEventKind::ScrollUp => Action::Scroll(false),
        _ => Action::None,
    }
}
