//! The keymap: one table per screen. [`App::update`](super::App::update) looks keys up
//! here, the help screen lists these tables and the footers take their hints from them,
//! so what a key does and what the board says it does cannot drift apart.
//!
//! Rebindable commands have a name (`silence`, `quit`, …): the `[keys]` config section
//! binds a name to other keys in every screen where the command exists. Text entry (the
//! filters, the silence form) and the y/n question keep fixed keys: a typed letter is text
//! there. `Ctrl-C` always quits.

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::action::Action;

/// One key with the modifiers that matter (Ctrl, Alt). Shift is part of the character
/// (`S` is not `s`), so it is ignored for characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    /// The key itself; a character as typed, so Shift is in it (`S`).
    pub code: KeyCode,
    /// Ctrl is held.
    pub ctrl: bool,
    /// Alt is held.
    pub alt: bool,
}

impl Key {
    /// A key without modifiers.
    pub const fn plain(code: KeyCode) -> Self {
        Self {
            code,
            ctrl: false,
            alt: false,
        }
    }

    /// A character key without modifiers.
    pub const fn ch(c: char) -> Self {
        Self::plain(KeyCode::Char(c))
    }

    /// The key of a terminal key event.
    pub fn of(k: &KeyEvent) -> Self {
        let code = match k.code {
            // Some terminals report Shift-Tab as Tab with Shift.
            KeyCode::Tab if k.modifiers.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
            c => c,
        };
        Self {
            code,
            ctrl: k.modifiers.contains(KeyModifiers::CONTROL),
            alt: k.modifiers.contains(KeyModifiers::ALT),
        }
    }

    /// Parses `s`, `S`, `ctrl-s`, `alt-x`, `enter`, `esc`, `tab`, `shift-tab`, `backspace`,
    /// `space`, `up`, `down`, `left`, `right`, `pgup`, `pgdn`, `home`, `end`, `delete`,
    /// `f1`..`f12`. Names are case-insensitive; a single character is taken as is.
    ///
    /// # Errors
    /// The text, with what is accepted, when it names no key.
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let mut k = Self::plain(KeyCode::Null);
        let mut rest = t;
        loop {
            let lower = rest.to_ascii_lowercase();
            if rest.chars().count() > 1 && (lower.starts_with("ctrl-") || lower.starts_with("c-")) {
                k.ctrl = true;
                rest = &rest[rest.find('-').map_or(0, |p| p + 1)..];
            } else if rest.chars().count() > 1
                && (lower.starts_with("alt-") || lower.starts_with("m-"))
            {
                k.alt = true;
                rest = &rest[rest.find('-').map_or(0, |p| p + 1)..];
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        k.code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(if k.ctrl { c.to_ascii_lowercase() } else { c }),
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" => KeyCode::Tab,
                "shift-tab" | "backtab" => KeyCode::BackTab,
                "backspace" | "bs" => KeyCode::Backspace,
                "space" => KeyCode::Char(' '),
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "pgup" | "pageup" => KeyCode::PageUp,
                "pgdn" | "pagedown" => KeyCode::PageDown,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "delete" | "del" => KeyCode::Delete,
                f if f.starts_with('f') && f.len() <= 3 => match f[1..].parse::<u8>() {
                    Ok(n @ 1..=12) => KeyCode::F(n),
                    _ => return Err(bad_key(s)),
                },
                _ => return Err(bad_key(s)),
            },
        };
        Ok(k)
    }
}

fn bad_key(s: &str) -> String {
    format!(
        "`{s}` is not a key; use a character (`s`, `S`), `ctrl-s`, `alt-s`, enter, esc, tab, \
         shift-tab, backspace, space, up, down, left, right, pgup, pgdn, home, end, delete, f1-f12"
    )
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl-")?;
        }
        if self.alt {
            f.write_str("Alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) if self.ctrl || self.alt => write!(f, "{}", c.to_ascii_uppercase()),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::BackTab => f.write_str("Shift-Tab"),
            KeyCode::Backspace => f.write_str("Backspace"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::Delete => f.write_str("Del"),
            KeyCode::F(n) => write!(f, "F{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// What a key can ask for. The names ([`Cmd::name`]) are the `[keys]` config keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cmd {
    /// Leave the board (`q`; Ctrl-C always quits too).
    Quit,
    /// Open or close the help (`?`, F1).
    Help,
    /// Go back one step (Esc, Backspace): close the panel or the topology, leave the alerts
    /// screens, or clear the grid's filter and cluster.
    Back,
    /// Open the selected host's panel (Enter), from the grid, the alerts view or the
    /// topology.
    Open,
    /// Move the grid selection left (←, `h`); in a host panel, the previous host.
    Left,
    /// Move the grid selection right (→, `l`); in a host panel, the next host.
    Right,
    /// Move the selection up a row (↑, `k`); in the host panel and the help, scroll up.
    Up,
    /// Move the selection down a row (↓, `j`); in the host panel and the help, scroll down.
    Down,
    /// A screen up (PgUp); on a wall, the previous page.
    PageUp,
    /// A screen down (PgDn, Space); on a wall, the next page.
    PageDown,
    /// The first host or row (Home, `g`); in the host panel, its top.
    First,
    /// The last host or row (End, `G`).
    Last,
    /// Start typing a filter (`/`): of hosts on the grid, of alerts in the alerts view.
    Filter,
    /// Show the next cluster alone, after the last all of them again (`c`); from a host
    /// panel, back to the grid.
    Cluster,
    /// Next grid order (`s`): severity, name, then source when there are several Prometheus
    /// servers.
    Sort,
    /// Poll Prometheus and Alertmanager now instead of at the next refresh (`r`).
    Refresh,
    /// Hide or show the healthy hosts (`p`).
    OnlyProblems,
    /// Next colour theme (`t`).
    Theme,
    /// Chart window `1`..`5` (index 0..4).
    Window(u8),
    /// The next longer chart window of the host panel (`+`, `=`).
    WindowLonger,
    /// The next shorter chart window of the host panel (`-`).
    WindowShorter,
    /// Replay: one refresh interval back in time (`[`).
    ReplayBack,
    /// Replay: one refresh interval forward (`]`); reaching the present is live again.
    ReplayForward,
    /// Replay: ten refresh intervals back (`{`).
    ReplayBackMore,
    /// Replay: ten refresh intervals forward (`}`); reaching the present is live again.
    ReplayForwardMore,
    /// Leave replay for live data (`.`, `L`).
    Live,
    /// Show the alerts view (`a`).
    Alerts,
    /// Show the silences list (`A`).
    Silences,
    /// Open the silence form for the selected alert or the panel's host (`S`); hidden from
    /// hints in read-only mode.
    Silence,
    /// Expire the selected silence after a y/n question (`x` in the silences list).
    Expire,
    /// Fetch the silences list again (`r` in the silences list).
    Reload,
    /// Open a link of `[links]` (host panel).
    OpenLink,
    /// Run a command of `[links]` (host panel).
    RunCommand,
    /// One cell per host instead of tiles, and back.
    Map,
    /// The selected host's cluster as a replication tree.
    Topology,
    // Text entry and the y/n question: fixed keys, not rebindable.
    /// Enter while typing: apply the filter, or create the silence of the form.
    EditApply,
    /// Esc while typing: clear the filter, or close the form without creating.
    EditCancel,
    /// Backspace while typing: delete the last character.
    EditDelete,
    /// Ctrl-U while typing: empty the filter, or the form's focused field.
    EditClear,
    /// The form's next field (Tab, ↓).
    EditNext,
    /// The form's previous field (Shift-Tab, ↑).
    EditPrev,
    /// Answer yes to the expire question: expire the silence (`y`).
    Yes,
    /// Answer no to the expire question: keep the silence (`n`, Esc).
    No,
}

/// Every rebindable command, in the order the help lists names.
pub const REBINDABLE: &[Cmd] = &[
    Cmd::Quit,
    Cmd::Help,
    Cmd::Back,
    Cmd::Open,
    Cmd::Left,
    Cmd::Right,
    Cmd::Up,
    Cmd::Down,
    Cmd::PageUp,
    Cmd::PageDown,
    Cmd::First,
    Cmd::Last,
    Cmd::Filter,
    Cmd::Cluster,
    Cmd::Sort,
    Cmd::Refresh,
    Cmd::OnlyProblems,
    Cmd::Theme,
    Cmd::Window(0),
    Cmd::Window(1),
    Cmd::Window(2),
    Cmd::Window(3),
    Cmd::Window(4),
    Cmd::WindowLonger,
    Cmd::WindowShorter,
    Cmd::ReplayBack,
    Cmd::ReplayForward,
    Cmd::ReplayBackMore,
    Cmd::ReplayForwardMore,
    Cmd::Live,
    Cmd::Alerts,
    Cmd::Silences,
    Cmd::Silence,
    Cmd::Expire,
    Cmd::Reload,
    Cmd::OpenLink,
    Cmd::RunCommand,
    Cmd::Map,
    Cmd::Topology,
];

impl Cmd {
    /// The `[keys]` config name (`None` for the fixed keys of text entry).
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Cmd::Quit => "quit",
            Cmd::Help => "help",
            Cmd::Back => "back",
            Cmd::Open => "open",
            Cmd::Left => "left",
            Cmd::Right => "right",
            Cmd::Up => "up",
            Cmd::Down => "down",
            Cmd::PageUp => "page_up",
            Cmd::PageDown => "page_down",
            Cmd::First => "first",
            Cmd::Last => "last",
            Cmd::Filter => "filter",
            Cmd::Cluster => "cluster",
            Cmd::Sort => "sort",
            Cmd::Refresh => "refresh",
            Cmd::OnlyProblems => "only_problems",
            Cmd::Theme => "theme",
            Cmd::Window(0) => "window_1",
            Cmd::Window(1) => "window_2",
            Cmd::Window(2) => "window_3",
            Cmd::Window(3) => "window_4",
            Cmd::Window(_) => "window_5",
            Cmd::WindowLonger => "window_longer",
            Cmd::WindowShorter => "window_shorter",
            Cmd::ReplayBack => "replay_back",
            Cmd::ReplayForward => "replay_forward",
            Cmd::ReplayBackMore => "replay_back_10",
            Cmd::ReplayForwardMore => "replay_forward_10",
            Cmd::Live => "live",
            Cmd::Alerts => "alerts",
            Cmd::Silences => "silences",
            Cmd::Silence => "silence",
            Cmd::Expire => "expire",
            Cmd::Reload => "reload",
            Cmd::OpenLink => "open_link",
            Cmd::RunCommand => "run_command",
            Cmd::Map => "map",
            Cmd::Topology => "topology",
            Cmd::EditApply
            | Cmd::EditCancel
            | Cmd::EditDelete
            | Cmd::EditClear
            | Cmd::EditNext
            | Cmd::EditPrev
            | Cmd::Yes
            | Cmd::No => return None,
        })
    }

    /// The command of a `[keys]` name.
    pub fn from_name(name: &str) -> Option<Cmd> {
        REBINDABLE.iter().copied().find(|c| c.name() == Some(name))
    }

    /// Whether the command writes to Alertmanager (hidden from hints in read-only mode).
    pub fn writes(self) -> bool {
        matches!(self, Cmd::Silence | Cmd::Expire)
    }
}

/// The screens (and modes) that have a table of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ctx {
    /// The grid of tiles or the map.
    Grid,
    /// A host panel.
    Panel,
    /// The alerts view.
    Alerts,
    /// The silences list.
    Silences,
    /// The help popup.
    Help,
    /// Typing a filter (grid or alerts view).
    Filter,
    /// The silence form.
    Form,
    /// The y/n question before expiring a silence.
    Confirm,
    /// The replication tree of one cluster, over the grid or the panel.
    Topology,
}

impl Ctx {
    /// Every context; the [`Keymap`] holds one table for each.
    pub const ALL: [Ctx; 9] = [
        Ctx::Grid,
        Ctx::Panel,
        Ctx::Alerts,
        Ctx::Silences,
        Ctx::Help,
        Ctx::Filter,
        Ctx::Form,
        Ctx::Confirm,
        Ctx::Topology,
    ];

    /// As the help and config errors name it.
    pub fn title(self) -> &'static str {
        match self {
            Ctx::Grid => "grid",
            Ctx::Panel => "host panel",
            Ctx::Alerts => "alerts view",
            Ctx::Silences => "silences",
            Ctx::Help => "help",
            Ctx::Filter => "typing a filter",
            Ctx::Form => "silence form",
            Ctx::Confirm => "expire question",
            Ctx::Topology => "topology",
        }
    }
}

/// One row of a table: a command, its keys, what it does, and its place in the footer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The command its keys ask for.
    pub cmd: Cmd,
    /// The first key is the one hints show.
    pub keys: Vec<Key>,
    /// What it does, for the help screen.
    pub help: &'static str,
    /// Footer hint word and its rank among the screen's hints (lowest first).
    pub hint: Option<(u8, &'static str)>,
}

fn b(cmd: Cmd, keys: &[Key], help: &'static str) -> Binding {
    Binding {
        cmd,
        keys: keys.to_vec(),
        help,
        hint: None,
    }
}

fn hinted(cmd: Cmd, keys: &[Key], help: &'static str, rank: u8, word: &'static str) -> Binding {
    Binding {
        hint: Some((rank, word)),
        ..b(cmd, keys, help)
    }
}

use KeyCode as K;
const fn p(code: KeyCode) -> Key {
    Key::plain(code)
}
const fn c(ch: char) -> Key {
    Key::ch(ch)
}

/// Commands shared by the grid, the host panel and the alert screens.
fn common(quit_rank: u8, help_rank: u8) -> Vec<Binding> {
    vec![
        b(Cmd::Refresh, &[c('r')], "refresh now"),
        b(
            Cmd::OnlyProblems,
            &[c('p')],
            "only problems: hide healthy hosts (a count says how many)",
        ),
        b(
            Cmd::Theme,
            &[c('t')],
            "next colour theme: default, light, high-contrast, colorblind, …",
        ),
        b(
            Cmd::ReplayBack,
            &[c('[')],
            "replay: step back one refresh interval",
        ),
        b(
            Cmd::ReplayForward,
            &[c(']')],
            "replay: step forward one refresh interval",
        ),
        b(
            Cmd::ReplayBackMore,
            &[c('{')],
            "replay: step back ten intervals",
        ),
        b(
            Cmd::ReplayForwardMore,
            &[c('}')],
            "replay: step forward ten intervals",
        ),
        b(Cmd::Live, &[c('.'), c('L')], "back to live"),
        hinted(
            Cmd::Help,
            &[c('?'), p(K::F(1))],
            "this help",
            help_rank,
            "help",
        ),
        hinted(Cmd::Quit, &[c('q')], "quit (Ctrl-C too)", quit_rank, "quit"),
    ]
}

fn windows() -> Vec<Binding> {
    let mut v: Vec<Binding> = (0u8..5)
        .map(|i| {
            b(
                Cmd::Window(i),
                &[c(char::from(b'1' + i))],
                "chart window: 5m 15m 1h 6h 24h",
            )
        })
        .collect();
    v.push(b(
        Cmd::WindowLonger,
        &[c('+'), c('=')],
        "longer chart window",
    ));
    v.push(b(Cmd::WindowShorter, &[c('-')], "shorter chart window"));
    v
}

fn grid() -> Vec<Binding> {
    let mut v = vec![
        b(Cmd::Left, &[p(K::Left), c('h')], "move the selection"),
        b(Cmd::Down, &[p(K::Down), c('j')], "move the selection"),
        b(Cmd::Up, &[p(K::Up), c('k')], "move the selection"),
        b(Cmd::Right, &[p(K::Right), c('l')], "move the selection"),
        b(
            Cmd::PageUp,
            &[p(K::PageUp)],
            "page up (wall: previous page)",
        ),
        b(
            Cmd::PageDown,
            &[p(K::PageDown), c(' ')],
            "page down (wall: next page)",
        ),
        b(Cmd::First, &[p(K::Home), c('g')], "first host"),
        b(Cmd::Last, &[p(K::End), c('G')], "last host"),
        b(Cmd::Open, &[p(K::Enter)], "open the selected host's panel"),
        b(
            Cmd::Back,
            &[p(K::Esc), p(K::Backspace)],
            "clear the filter and the cluster shown",
        ),
        hinted(
            Cmd::Filter,
            &[c('/')],
            "filter hosts by name or cluster (Enter applies, Esc clears)",
            1,
            "filter",
        ),
        b(
            Cmd::Cluster,
            &[c('c')],
            "cycle the cluster shown: all → each cluster → all",
        ),
        b(
            Cmd::Sort,
            &[c('s')],
            "cycle sort: severity first / name / source",
        ),
        b(
            Cmd::Alerts,
            &[c('a')],
            "alerts by severity and cluster (Enter: its host panel)",
        ),
        b(
            Cmd::Silences,
            &[c('A')],
            "silences: active and pending; x expires one (asks y/n)",
        ),
        b(
            Cmd::Silence,
            &[c('S')],
            "silence: from a host panel or the alerts view",
        ),
        b(
            Cmd::Map,
            &[c('m')],
            "map: one cell per host by health, clusters in runs (m again: tiles)",
        ),
        b(
            Cmd::Topology,
            &[c('T')],
            "topology: the selected host's cluster as a replication tree (or click a cluster title)",
        ),
    ];
    v.extend(windows());
    v.extend(common(2, 0));
    v
}

fn panel() -> Vec<Binding> {
    let mut v = vec![
        b(Cmd::Left, &[p(K::Left), c('h')], "previous host"),
        b(Cmd::Right, &[p(K::Right), c('l')], "next host"),
        b(Cmd::Up, &[p(K::Up), c('k')], "scroll up"),
        b(Cmd::Down, &[p(K::Down), c('j')], "scroll down"),
        b(Cmd::PageUp, &[p(K::PageUp)], "page up"),
        b(Cmd::PageDown, &[p(K::PageDown), c(' ')], "page down"),
        b(Cmd::First, &[p(K::Home), c('g')], "top of the panel"),
        hinted(
            Cmd::Back,
            &[p(K::Esc), p(K::Backspace)],
            "back to the grid (or to the alerts view it came from)",
            1,
            "back",
        ),
        b(
            Cmd::Silence,
            &[c('S')],
            "silence this host (its only alert, if it has one)",
        ),
        b(Cmd::Alerts, &[c('a')], "alerts view"),
        b(Cmd::Silences, &[c('A')], "silences"),
        b(
            Cmd::Cluster,
            &[c('c')],
            "back to the grid, showing the next cluster",
        ),
        b(
            Cmd::Sort,
            &[c('s')],
            "cycle sort: severity first / name / source",
        ),
        b(
            Cmd::OpenLink,
            &[c('o')],
            "open a link of [links] (a digit picks when there are several)",
        ),
        b(
            Cmd::RunCommand,
            &[c('x')],
            "run a command of [links], no shell (a digit picks)",
        ),
        b(Cmd::Map, &[c('m')], "back to the board, as the map"),
        b(
            Cmd::Topology,
            &[c('T')],
            "topology: this host's cluster as a replication tree",
        ),
    ];
    v.extend(windows());
    v.extend(common(2, 0));
    v
}

fn list_moves() -> Vec<Binding> {
    vec![
        b(Cmd::Up, &[p(K::Up), c('k')], "previous row"),
        b(Cmd::Down, &[p(K::Down), c('j')], "next row"),
        b(Cmd::PageUp, &[p(K::PageUp)], "page up"),
        b(Cmd::PageDown, &[p(K::PageDown), c(' ')], "page down"),
        b(Cmd::First, &[p(K::Home), c('g')], "first row"),
        b(Cmd::Last, &[p(K::End), c('G')], "last row"),
    ]
}

fn alerts() -> Vec<Binding> {
    let mut v = vec![
        hinted(
            Cmd::Open,
            &[p(K::Enter)],
            "the selected alert's host panel",
            0,
            "host panel",
        ),
        hinted(
            Cmd::Silence,
            &[c('S')],
            "silence the selected alert",
            1,
            "silence",
        ),
        hinted(
            Cmd::Silences,
            &[p(K::Tab), c('A')],
            "silences",
            2,
            "silences",
        ),
        hinted(
            Cmd::Filter,
            &[c('/')],
            "filter alerts (Enter applies, Esc clears)",
            3,
            "filter",
        ),
        hinted(
            Cmd::Back,
            &[p(K::Esc), p(K::Backspace), c('a')],
            "clear the filter, else back",
            4,
            "back",
        ),
    ];
    v.extend(list_moves());
    v.extend(common(u8::MAX, u8::MAX).into_iter().map(unhinted));
    v
}

fn silences() -> Vec<Binding> {
    let mut v = vec![
        hinted(
            Cmd::Expire,
            &[c('x')],
            "expire the selected silence (asks y/n)",
            0,
            "expire",
        ),
        hinted(Cmd::Reload, &[c('r')], "reload the list", 1, "reload"),
        hinted(
            Cmd::Alerts,
            &[p(K::Tab), c('a')],
            "alerts view",
            2,
            "alerts",
        ),
        hinted(
            Cmd::Back,
            &[p(K::Esc), p(K::Backspace), c('A')],
            "back",
            3,
            "back",
        ),
    ];
    v.extend(list_moves());
    // `r` reloads the list here.
    v.extend(
        common(u8::MAX, u8::MAX)
            .into_iter()
            .filter(|x| x.cmd != Cmd::Refresh)
            .map(unhinted),
    );
    v
}

fn unhinted(mut x: Binding) -> Binding {
    x.hint = None;
    x
}

fn topology() -> Vec<Binding> {
    vec![
        b(Cmd::Up, &[p(K::Up), c('k')], "previous row"),
        b(Cmd::Down, &[p(K::Down), c('j')], "next row"),
        b(Cmd::PageUp, &[p(K::PageUp)], "page up"),
        b(Cmd::PageDown, &[p(K::PageDown), c(' ')], "page down"),
        b(Cmd::First, &[p(K::Home), c('g')], "first row"),
        b(Cmd::Last, &[p(K::End), c('G')], "last row"),
        hinted(
            Cmd::Open,
            &[p(K::Enter)],
            "open the host's panel",
            1,
            "open",
        ),
        hinted(
            Cmd::Back,
            &[p(K::Esc), p(K::Backspace), c('T')],
            "close the topology",
            2,
            "close",
        ),
        b(Cmd::Refresh, &[c('r')], "refresh now"),
        b(Cmd::Help, &[c('?'), p(K::F(1))], "help"),
        b(Cmd::Quit, &[c('q')], "quit"),
    ]
}

fn help() -> Vec<Binding> {
    vec![
        b(Cmd::Down, &[p(K::Down), c('j')], "scroll down"),
        b(Cmd::Up, &[p(K::Up), c('k')], "scroll up"),
        b(Cmd::PageDown, &[p(K::PageDown), c(' ')], "page down"),
        b(Cmd::PageUp, &[p(K::PageUp)], "page up"),
        b(Cmd::Quit, &[c('q')], "quit"),
    ]
}

fn filter() -> Vec<Binding> {
    vec![
        b(Cmd::EditApply, &[p(K::Enter)], "apply the filter"),
        b(Cmd::EditCancel, &[p(K::Esc)], "clear the filter"),
        b(Cmd::EditDelete, &[p(K::Backspace)], "delete a character"),
        b(
            Cmd::EditClear,
            &[Key {
                ctrl: true,
                ..c('u')
            }],
            "clear what was typed",
        ),
        b(Cmd::Up, &[p(K::Up)], "move the selection up"),
        b(Cmd::Down, &[p(K::Down)], "move the selection down"),
    ]
}

fn form() -> Vec<Binding> {
    vec![
        hinted(
            Cmd::EditApply,
            &[p(K::Enter)],
            "create the silence",
            0,
            "create",
        ),
        hinted(
            Cmd::EditNext,
            &[p(K::Tab), p(K::Down)],
            "next field",
            1,
            "field",
        ),
        b(Cmd::EditPrev, &[p(K::BackTab), p(K::Up)], "previous field"),
        b(Cmd::EditDelete, &[p(K::Backspace)], "delete a character"),
        hinted(
            Cmd::EditClear,
            &[Key {
                ctrl: true,
                ..c('u')
            }],
            "clear the field",
            2,
            "clear field",
        ),
        hinted(Cmd::EditCancel, &[p(K::Esc)], "cancel", 3, "cancel"),
    ]
}

fn confirm() -> Vec<Binding> {
    vec![
        b(Cmd::Yes, &[c('y'), c('Y')], "yes, expire it"),
        b(Cmd::No, &[c('n'), c('N'), p(K::Esc)], "no"),
    ]
}

/// A conflict or an unknown name in `[keys]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeymapError {
    /// The `[keys]` entry at fault (`keys.silence`).
    pub key: String,
    /// What is wrong, e.g. the unknown name, the key that does not parse, or the two
    /// commands sharing a key on one screen.
    pub message: String,
    /// Closest valid name, for an unknown one.
    pub suggestion: Option<String>,
}

/// The effective tables of every screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    tables: BTreeMap<Ctx, Vec<Binding>>,
}

impl Default for Keymap {
    fn default() -> Self {
        let tables = Ctx::ALL
            .iter()
            .map(|&ctx| {
                let t = match ctx {
                    Ctx::Grid => grid(),
                    Ctx::Panel => panel(),
                    Ctx::Alerts => alerts(),
                    Ctx::Silences => silences(),
                    Ctx::Help => help(),
                    Ctx::Filter => filter(),
                    Ctx::Form => form(),
                    Ctx::Confirm => confirm(),
                    Ctx::Topology => topology(),
                };
                (ctx, t)
            })
            .collect();
        Self { tables }
    }
}

impl Keymap {
    /// The default keymap with `[keys]` applied: each `name = "key"` (or a list of keys)
    /// replaces the command's default keys in every screen that has the command.
    ///
    /// # Errors
    /// An unknown command name, a key that does not parse, or two commands of one screen
    /// on the same key (the error names both bindings and the screen).
    pub fn with_bindings(rebind: &BTreeMap<String, Vec<String>>) -> Result<Self, KeymapError> {
        let mut map = Self::default();
        for (name, keys) in rebind {
            let Some(cmd) = Cmd::from_name(name) else {
                let names: Vec<&str> = REBINDABLE.iter().filter_map(|c| c.name()).collect();
                return Err(KeymapError {
                    key: format!("keys.{name}"),
                    message: format!("unknown command `{name}`"),
                    suggestion: crate::config::closest(name, &names),
                });
            };
            let parsed = keys
                .iter()
                .map(|k| Key::parse(k))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|message| KeymapError {
                    key: format!("keys.{name}"),
                    message,
                    suggestion: None,
                })?;
            if parsed.is_empty() {
                return Err(KeymapError {
                    key: format!("keys.{name}"),
                    message: "at least one key is needed".into(),
                    suggestion: None,
                });
            }
            if parsed
                .iter()
                .any(|k| k.ctrl && k.code == KeyCode::Char('c'))
            {
                return Err(KeymapError {
                    key: format!("keys.{name}"),
                    message: "Ctrl-C always quits and cannot be bound".into(),
                    suggestion: None,
                });
            }
            for t in map.tables.values_mut() {
                for bnd in t.iter_mut().filter(|x| x.cmd == cmd) {
                    bnd.keys.clone_from(&parsed);
                }
            }
        }
        map.check(rebind)?;
        Ok(map)
    }

    /// Two commands of one screen on one key is an error naming both.
    fn check(&self, rebind: &BTreeMap<String, Vec<String>>) -> Result<(), KeymapError> {
        for (ctx, t) in &self.tables {
            for (i, x) in t.iter().enumerate() {
                for y in &t[i + 1..] {
                    if x.cmd == y.cmd {
                        continue;
                    }
                    if let Some(k) = x.keys.iter().find(|k| y.keys.contains(k)) {
                        let rebound = |cmd: Cmd| cmd.name().is_some_and(|n| rebind.contains_key(n));
                        let describe = |cmd: Cmd| {
                            let n = cmd.name().unwrap_or("text entry");
                            if rebound(cmd) {
                                format!("keys.{n}")
                            } else {
                                format!("{n} (default)")
                            }
                        };
                        // The entry to fix is a rebound one.
                        let at = if rebound(x.cmd) || !rebound(y.cmd) {
                            x.cmd
                        } else {
                            y.cmd
                        };
                        return Err(KeymapError {
                            key: format!("keys.{}", at.name().unwrap_or("")),
                            message: format!(
                                "`{k}` is bound to both {} and {} in the {}",
                                describe(x.cmd),
                                describe(y.cmd),
                                ctx.title()
                            ),
                            suggestion: None,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// The table of a screen.
    pub fn table(&self, ctx: Ctx) -> &[Binding] {
        self.tables.get(&ctx).map_or(&[], Vec::as_slice)
    }

    /// The command `k` asks for in `ctx`, if any.
    pub fn lookup(&self, ctx: Ctx, k: &KeyEvent) -> Option<Cmd> {
        let key = Key::of(k);
        self.table(ctx)
            .iter()
            .find(|x| x.keys.contains(&key))
            .map(|x| x.cmd)
    }

    /// The first key of `cmd` in `ctx`, as hints show it.
    pub fn key_of(&self, ctx: Ctx, cmd: Cmd) -> Option<Key> {
        self.table(ctx)
            .iter()
            .find(|x| x.cmd == cmd)
            .and_then(|x| x.keys.first().copied())
    }

    /// The footer hints of `ctx`, lowest rank first: `(key, word)`; commands that write
    /// are left out when `read_only`.
    pub fn hints(&self, ctx: Ctx, read_only: bool) -> Vec<(Key, &'static str)> {
        let mut v: Vec<(u8, Key, &'static str)> = self
            .table(ctx)
            .iter()
            .filter(|x| !(read_only && x.cmd.writes()))
            .filter_map(|x| {
                let (rank, word) = x.hint?;
                Some((rank, *x.keys.first()?, word))
            })
            .collect();
        v.sort_by_key(|x| x.0);
        v.into_iter().map(|(_, k, w)| (k, w)).collect()
    }

    /// The help rows of `ctx`: consecutive bindings that do the same thing share a row.
    /// `(keys, what they do)`.
    pub fn help_rows(&self, ctx: Ctx) -> Vec<(String, &'static str)> {
        let mut rows: Vec<(String, &'static str)> = Vec::new();
        for x in self.table(ctx) {
            let keys = x
                .keys
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" ");
            match rows.last_mut() {
                Some((k, h)) if *h == x.help => {
                    k.push(' ');
                    k.push_str(&keys);
                }
                _ => rows.push((keys, x.help)),
            }
        }
        rows
    }
}

impl super::App {
    /// The table in force: the form and the y/n question over any screen, then text
    /// entry, the help, and the screen itself.
    pub fn key_context(&self) -> Ctx {
        use super::Screen;
        if self.alerts.form.is_some() {
            Ctx::Form
        } else if self.alerts.confirm.is_some() {
            Ctx::Confirm
        } else if self.grid.filter_edit.is_some() {
            Ctx::Filter
        } else if self.help.open {
            Ctx::Help
        } else if self.topology.is_some() {
            Ctx::Topology
        } else {
            match self.screen {
                Screen::Grid => Ctx::Grid,
                Screen::Host(_) => Ctx::Panel,
                Screen::Alerts if self.alerts.filter_edit.is_some() => Ctx::Filter,
                Screen::Alerts => Ctx::Alerts,
                Screen::Silences => Ctx::Silences,
            }
        }
    }

    /// The action a key asks for on the screen shown.
    pub(crate) fn key_action(&self, k: &KeyEvent) -> Action {
        use super::alerts::AlertAction as AA;
        let key = Key::of(k);
        if key.ctrl && key.code == KeyCode::Char('c') {
            return Action::Quit;
        }
        let ctx = self.key_context();
        // Which link or command: a digit, anything else cancels (fixed keys, like y/n).
        if ctx == Ctx::Panel && self.panel.links.picking.is_some() {
            return crate::links::pick_key(k);
        }
        let cmd = self.keymap.lookup(ctx, k);
        let typed = match key.code {
            KeyCode::Char(ch) if !key.ctrl && !key.alt => Some(ch),
            _ => None,
        };
        let in_alerts = self.screen == super::Screen::Alerts;
        match ctx {
            Ctx::Form => match (cmd, typed) {
                (Some(c), _) => match c {
                    Cmd::EditApply => Action::Alerts(AA::FormSubmit),
                    Cmd::EditCancel => Action::Alerts(AA::FormCancel),
                    Cmd::EditNext => Action::Alerts(AA::FormNext),
                    Cmd::EditPrev => Action::Alerts(AA::FormPrev),
                    Cmd::EditDelete => Action::Alerts(AA::FormBackspace),
                    Cmd::EditClear => Action::Alerts(AA::FormClear),
                    _ => Action::None,
                },
                (None, Some(ch)) => Action::Alerts(AA::FormChar(ch)),
                (None, None) => Action::None,
            },
            Ctx::Confirm => match cmd {
                Some(Cmd::Yes) => Action::Alerts(AA::Confirm(true)),
                Some(Cmd::No) => Action::Alerts(AA::Confirm(false)),
                _ => Action::None,
            },
            Ctx::Filter if in_alerts && self.grid.filter_edit.is_none() => match (cmd, typed) {
                (Some(Cmd::EditApply), _) => Action::Alerts(AA::FilterApply),
                (Some(Cmd::EditCancel), _) => Action::Alerts(AA::FilterCancel),
                (Some(Cmd::EditDelete), _) => Action::Alerts(AA::FilterBackspace),
                (Some(Cmd::EditClear), _) => Action::Alerts(AA::FilterClear),
                (Some(Cmd::Up), _) => Action::Alerts(AA::Move(-1)),
                (Some(Cmd::Down), _) => Action::Alerts(AA::Move(1)),
                (None, Some(ch)) => Action::Alerts(AA::FilterChar(ch)),
                _ => Action::None,
            },
            Ctx::Filter => match (cmd, typed) {
                (Some(Cmd::EditApply), _) => Action::FilterApply,
                (Some(Cmd::EditCancel), _) => Action::Back,
                (Some(Cmd::EditDelete), _) => Action::FilterBackspace,
                (Some(Cmd::EditClear), _) => Action::FilterClear,
                (Some(Cmd::Up), _) => Action::Move(0, -1),
                (Some(Cmd::Down), _) => Action::Move(0, 1),
                (None, Some(ch)) => Action::FilterChar(ch),
                _ => Action::None,
            },
            Ctx::Help => match cmd {
                Some(Cmd::Down) => Action::HelpScroll(1),
                Some(Cmd::Up) => Action::HelpScroll(-1),
                Some(Cmd::PageDown) => Action::HelpScroll(10),
                Some(Cmd::PageUp) => Action::HelpScroll(-10),
                Some(Cmd::Quit) => Action::Quit,
                // Any other key closes the help.
                _ => Action::Help,
            },
            Ctx::Topology => cmd.map_or(Action::None, topology_action),
            Ctx::Alerts | Ctx::Silences => cmd.map_or(Action::None, |c| self.list_action(ctx, c)),
            Ctx::Grid | Ctx::Panel => cmd.map_or(Action::None, |c| self.board_action(ctx, c)),
        }
    }

    fn list_action(&self, ctx: Ctx, cmd: Cmd) -> Action {
        use super::alerts::AlertAction as AA;
        let page = i32::from(self.height.saturating_sub(6)).max(1);
        let a = |x| Action::Alerts(x);
        match (ctx, cmd) {
            (_, Cmd::Up) => a(AA::Move(-1)),
            (_, Cmd::Down) => a(AA::Move(1)),
            (_, Cmd::PageUp) => a(AA::Move(-page)),
            (_, Cmd::PageDown) => a(AA::Move(page)),
            (_, Cmd::First) => a(AA::Move(i32::MIN)),
            (_, Cmd::Last) => a(AA::Move(i32::MAX)),
            (_, Cmd::Back) => a(AA::Close),
            (Ctx::Alerts, Cmd::Open) => a(AA::Jump),
            (Ctx::Alerts, Cmd::Filter) => a(AA::FilterStart),
            (_, Cmd::Silence) => a(AA::NewSilence),
            (_, Cmd::Silences) => a(AA::OpenSilences),
            (_, Cmd::Alerts) => a(AA::OpenAlerts),
            (_, Cmd::Expire) => a(AA::Expire),
            (_, Cmd::Reload) => a(AA::ReloadSilences),
            (_, c) => common_action(c),
        }
    }

    fn board_action(&self, ctx: Ctx, cmd: Cmd) -> Action {
        use super::alerts::AlertAction as AA;
        match cmd {
            Cmd::Back if ctx == Ctx::Panel && self.alerts.from_alerts => {
                Action::Alerts(AA::OpenAlerts)
            }
            Cmd::Back => Action::Back,
            Cmd::Open => Action::Open,
            Cmd::Left => Action::Move(-1, 0),
            Cmd::Right => Action::Move(1, 0),
            Cmd::Up => Action::Move(0, -1),
            Cmd::Down => Action::Move(0, 1),
            Cmd::PageUp => Action::Page(false),
            Cmd::PageDown => Action::Page(true),
            Cmd::First => Action::Home,
            Cmd::Last => Action::End,
            Cmd::Filter => Action::StartFilter,
            Cmd::Cluster => Action::CycleCluster,
            Cmd::Sort => Action::CycleSort,
            Cmd::Window(i) => Action::Window(usize::from(i)),
            Cmd::WindowLonger => Action::WindowStep(1),
            Cmd::WindowShorter => Action::WindowStep(-1),
            Cmd::Alerts => Action::Alerts(AA::OpenAlerts),
            Cmd::Silences => Action::Alerts(AA::OpenSilences),
            Cmd::Silence => Action::Alerts(AA::NewSilence),
            Cmd::OpenLink => Action::Links(crate::links::LinkAction::Open),
            Cmd::RunCommand => Action::Links(crate::links::LinkAction::Run),
            Cmd::Map => Action::Board(super::map::BoardAction::ToggleMap),
            Cmd::Topology => Action::Board(super::map::BoardAction::OpenTopology),
            c => common_action(c),
        }
    }
}

/// Keys of the topology popup.
fn topology_action(cmd: Cmd) -> Action {
    use super::map::BoardAction as B;
    let b = Action::Board;
    match cmd {
        Cmd::Back => b(B::CloseTopology),
        Cmd::Up => b(B::TopologyMove(-1)),
        Cmd::Down => b(B::TopologyMove(1)),
        Cmd::PageUp => b(B::TopologyMove(-10)),
        Cmd::PageDown => b(B::TopologyMove(10)),
        Cmd::First => b(B::TopologyMove(i32::MIN / 2)),
        Cmd::Last => b(B::TopologyMove(i32::MAX / 2)),
        Cmd::Open => b(B::TopologyOpen),
        c => common_action(c),
    }
}

/// Commands that do the same on every screen that has them.
fn common_action(cmd: Cmd) -> Action {
    match cmd {
        Cmd::Quit => Action::Quit,
        Cmd::Help => Action::Help,
        Cmd::Refresh => Action::Refresh,
        Cmd::OnlyProblems => Action::OnlyProblems,
        Cmd::Theme => Action::NextTheme,
        Cmd::ReplayBack => Action::ReplayStep(-1),
        Cmd::ReplayForward => Action::ReplayStep(1),
        Cmd::ReplayBackMore => Action::ReplayStep(-10),
        Cmd::ReplayForwardMore => Action::ReplayStep(10),
        Cmd::Live => Action::Live,
        _ => Action::None,
    }
}

/// `k · word · k · word` as footers show hints, with a leading space.
pub fn hint_line(hints: &[(Key, &str)]) -> String {
    let parts: Vec<String> = hints.iter().map(|(k, w)| format!("{k} {w}")).collect();
    format!(" {}", parts.join(" · "))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn default_tables_have_no_conflicts() {
        Keymap::default().check(&BTreeMap::new()).unwrap();
    }

    #[test]
    fn keys_parse_and_print() {
        for (s, shown) in [
            ("s", "s"),
            ("S", "S"),
            ("ctrl-s", "Ctrl-S"),
            ("C-x", "Ctrl-X"),
            ("alt-x", "Alt-X"),
            ("enter", "Enter"),
            ("Shift-Tab", "Shift-Tab"),
            ("pgdn", "PgDn"),
            ("f5", "F5"),
            ("space", "Space"),
            ("-", "-"),
        ] {
            assert_eq!(Key::parse(s).unwrap().to_string(), shown, "{s}");
        }
        for bad in ["", "ctrl-", "f13", "hyper-x", "enterr"] {
            assert!(Key::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shift_is_part_of_the_character() {
        let m = Keymap::default();
        let shifted = key(KeyCode::Char('S'), KeyModifiers::SHIFT);
        assert_eq!(m.lookup(Ctx::Alerts, &shifted), Some(Cmd::Silence));
        let plain = key(KeyCode::Char('s'), KeyModifiers::NONE);
        assert_eq!(m.lookup(Ctx::Grid, &plain), Some(Cmd::Sort));
        let ctrl_s = key(KeyCode::Char('s'), KeyModifiers::CONTROL);
        assert_eq!(m.lookup(Ctx::Grid, &ctrl_s), None);
    }

    fn rebind(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(n, ks)| {
                (
                    (*n).to_string(),
                    ks.iter().map(|k| (*k).to_string()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn a_conflict_names_both_bindings_and_the_screen() {
        let e = Keymap::with_bindings(&rebind(&[("silence", &["s"])])).unwrap_err();
        assert_eq!(e.key, "keys.silence");
        assert!(
            e.message.contains("keys.silence") && e.message.contains("sort (default)"),
            "{e:?}"
        );
        assert!(
            e.message.contains("grid") || e.message.contains("panel"),
            "{e:?}"
        );
        // Moving the other one too resolves it.
        Keymap::with_bindings(&rebind(&[("silence", &["s"]), ("sort", &["O"])])).unwrap();
    }

    #[test]
    fn unknown_names_and_keys_are_errors() {
        let e = Keymap::with_bindings(&rebind(&[("silense", &["x"])])).unwrap_err();
        assert_eq!(e.suggestion.as_deref(), Some("silence"));
        let e = Keymap::with_bindings(&rebind(&[("quit", &["ctrl-c"])])).unwrap_err();
        assert!(e.message.contains("Ctrl-C"), "{e:?}");
        assert!(Keymap::with_bindings(&rebind(&[("quit", &["nope"])])).is_err());
    }

    #[test]
    fn hints_and_help_follow_a_rebinding() {
        let m = Keymap::with_bindings(&rebind(&[
            ("silence", &["ctrl-s"]),
            ("help", &["h"]),
            ("left", &["left"]),
        ]))
        .unwrap();
        assert_eq!(
            hint_line(&m.hints(Ctx::Alerts, false)),
            " Enter host panel · Ctrl-S silence · Tab silences · / filter · Esc back"
        );
        assert_eq!(
            hint_line(&m.hints(Ctx::Alerts, true)),
            " Enter host panel · Tab silences · / filter · Esc back"
        );
        assert!(m
            .help_rows(Ctx::Panel)
            .iter()
            .any(|(k, h)| k == "Ctrl-S" && h.starts_with("silence")));
        assert_eq!(m.key_of(Ctx::Grid, Cmd::Help), Some(Key::ch('h')));
    }
}

/// Each screen obeys a rebinding (issue: `[keys]` in the config).
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod rebinding {
    use super::*;
    use crate::app::alerts::AlertAction;
    use crate::app::{Screen, Sort};
    use crate::testing::demo_app;
    use std::sync::Arc;

    fn press(app: &mut crate::app::App, k: &str) -> Vec<crate::app::Command> {
        let key = Key::parse(k).unwrap();
        let mut mods = KeyModifiers::NONE;
        if key.ctrl {
            mods |= KeyModifiers::CONTROL;
        }
        app.update(Action::Key(KeyEvent::new(key.code, mods)))
    }

    fn app_with(pairs: &[(&str, &str)]) -> crate::app::App {
        let mut a = demo_app(120, 40);
        let m: BTreeMap<String, Vec<String>> = pairs
            .iter()
            .map(|(n, k)| ((*n).to_string(), vec![(*k).to_string()]))
            .collect();
        a.keymap = Arc::new(Keymap::with_bindings(&m).unwrap());
        a.alerts.writable = true;
        a.alerts.author = "alice".into();
        a
    }

    #[test]
    fn grid() {
        let mut a = app_with(&[("sort", "O")]);
        press(&mut a, "s");
        assert_eq!(a.grid.sort, Sort::Severity, "s is no longer sort");
        press(&mut a, "O");
        assert_eq!(a.grid.sort, Sort::Name);
    }

    #[test]
    fn host_panel() {
        let mut a = app_with(&[("back", "b")]);
        press(&mut a, "enter");
        assert!(matches!(a.screen, Screen::Host(_)));
        press(&mut a, "esc");
        assert!(matches!(a.screen, Screen::Host(_)), "Esc is no longer back");
        press(&mut a, "b");
        assert_eq!(a.screen, Screen::Grid);
    }

    #[test]
    fn alerts_view() {
        let mut a = app_with(&[("silence", "ctrl-s")]);
        press(&mut a, "a");
        assert_eq!(a.screen, Screen::Alerts);
        press(&mut a, "S");
        assert!(a.alerts.form.is_none(), "S is no longer silence");
        press(&mut a, "ctrl-s");
        assert!(a.alerts.form.is_some());
        // In the form, letters are text whatever the keymap says.
        assert!(press(&mut a, "q").is_empty(), "q is text in the form");
    }

    #[test]
    fn silences_list() {
        let mut a = app_with(&[("expire", "d")]);
        press(&mut a, "A");
        assert_eq!(a.screen, Screen::Silences);
        let s = crate::model::Silence {
            id: "s1".into(),
            matchers: vec![crate::model::Matcher::equal("alertname", "X")],
            starts_at: a.now,
            ends_at: a.now + chrono::Duration::hours(1),
            created_by: "bob".into(),
            comment: "c".into(),
            state: crate::model::SilenceState::Active,
        };
        a.update(Action::Alerts(AlertAction::SilencesLoaded(Ok((
            "am".into(),
            vec![s],
        )))));
        press(&mut a, "x");
        assert!(a.alerts.confirm.is_none(), "x is no longer expire");
        press(&mut a, "d");
        assert_eq!(a.alerts.confirm.as_deref(), Some("s1"));
    }

    #[test]
    fn help_shows_the_keys_in_force() {
        let mut a = app_with(&[("silence", "ctrl-s"), ("help", "f2")]);
        press(&mut a, "f2");
        assert!(a.help.open);
        let text = crate::testing::buffer_text(&crate::testing::render(&a));
        assert!(text.contains("Ctrl-S"), "{text}");
        press(&mut a, "x");
        assert!(!a.help.open, "any other key closes the help");
    }
}
