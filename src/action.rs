//! Actions: everything that can change the app, and terminal events turned into them.

use chrono::{DateTime, Utc};
use crossterm::event::{
    Event as TermEvent, KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind,
};

use crate::model::Update;

/// Everything that can change the app.
#[derive(Debug, Clone)]
pub enum Action {
    /// The settings the board starts with (sent once, before anything else).
    Start(Box<crate::app::Startup>),
    /// A key press, looked up in the keymap of the screen shown.
    Key(KeyEvent),
    /// The clock moved to this time: redraws only when something shown follows the clock,
    /// and flips the wall page when its time is up.
    Tick(DateTime<Utc>),
    /// One refresh from the poller: the fleet (`None` keeps the last good one, marked
    /// stale), the sources' errors and the delay before the next refresh.
    Data(Box<Update>),
    /// The terminal's size: columns, rows.
    Resize(u16, u16),
    /// The screen was drawn: nothing visible has changed since.
    Drawn,
    /// Leave the board; also sent on SIGTERM, SIGHUP and Ctrl-C.
    Quit,
    /// Open or close the help overlay (scrolled back to the top).
    Help,
    /// Poll now rather than at the next refresh.
    Refresh,
    /// Esc / Backspace: close help, cancel the filter, leave the panel, clear filters.
    Back,
    /// Open the host panel of the selected host (on the grid only).
    Open,
    /// Selection move: `(dx, dy)`, each -1, 0 or 1.
    Move(i32, i32),
    /// Page down (`true`) or up: the next wall page, a screen of the grid, or the host
    /// panel by the screen height less 4 rows.
    Page(bool),
    /// First host of the grid, or the top of the host panel.
    Home,
    /// Last host of the grid.
    End,
    /// Start editing the grid's host filter, from the filter in force.
    StartFilter,
    /// Type this character into the host filter being edited.
    FilterChar(char),
    /// Delete the last character of the host filter being edited.
    FilterBackspace,
    /// Empty the host filter being edited.
    FilterClear,
    /// Apply the host filter being edited to the grid.
    FilterApply,
    /// Show only the next cluster (after the last one: every cluster again), back on the grid.
    CycleCluster,
    /// Next sort order of the grid: severity, name, then source when there are several
    /// sources.
    CycleSort,
    /// Left click at `(column, row)` in cells: on the grid, selects the host there (a cluster
    /// title opens its topology); a click on the selected host, or a double click within
    /// 500 ms, opens its panel.
    Click(u16, u16),
    /// Mouse wheel, down (`true`) or up: moves the grid or alert-list selection one step,
    /// or scrolls the host panel 3 lines.
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
    /// Map and topology (see [`crate::app::map`]).
    Board(crate::app::map::BoardAction),
    /// Links and commands of the host panel (see [`crate::links`]).
    Links(crate::links::LinkAction),
    /// Nothing to do; nothing is redrawn.
    None,
}

/// Maps a terminal event to an action. Keys are not interpreted here: the app looks
/// them up in its keymap ([`crate::app::keymap`]) for the screen it is on.
pub fn map_event(ev: &TermEvent) -> Action {
    match ev {
        TermEvent::Key(k) if k.kind != KeyEventKind::Release => Action::Key(*k),
        TermEvent::Mouse(m) => map_mouse(*m),
        TermEvent::Resize(w, h) => Action::Resize(*w, *h),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::demo_app;

    #[test]
    fn a_resize_reaches_the_app_as_an_action() {
        let mut app = demo_app(80, 24);
        let before = app.view().layout.clone();
        let a = map_event(&TermEvent::Resize(160, 48));
        assert!(matches!(a, Action::Resize(160, 48)), "{a:?}");
        app.dirty = false;
        assert!(app.update(a).is_empty());
        assert_eq!((app.width, app.height), (160, 48));
        assert!(app.dirty, "a resize is drawn");
        assert_ne!(
            app.view().layout.cols,
            before.cols,
            "the grid is laid out again for the new size"
        );
    }
}
