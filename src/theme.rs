//! Themes: semantic styles loaded from TOML (`themes/*.toml`, built in, overridable by
//! files in the config dir's `themes/`). Widgets ask for a meaning (`health(h)`,
//! `border(focused)`), never for a colour.

use std::collections::BTreeMap;
use std::path::Path;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

use crate::model::Health;

/// Built-in themes, in the order `t` cycles them.
pub const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../themes/default.toml")),
    ("light", include_str!("../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../themes/high-contrast.toml"),
    ),
    ("colorblind", include_str!("../themes/colorblind.toml")),
];

/// How many colours the terminal shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorDepth {
    /// 24-bit colour.
    Truecolor,
    /// The xterm 256-colour palette.
    #[value(name = "256")]
    C256,
    /// The 16 ANSI colours.
    #[value(name = "16")]
    C16,
    /// No colour at all (`NO_COLOR`): symbols and bold/underline carry the meaning.
    None,
}

impl ColorDepth {
    /// From the environment: `NO_COLOR`, `COLORTERM`, `TERM`.
    pub fn detect(get: impl Fn(&str) -> Option<String>) -> ColorDepth {
        if get("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            return ColorDepth::None;
        }
        let ct = get("COLORTERM").unwrap_or_default().to_ascii_lowercase();
        if ct == "truecolor" || ct == "24bit" {
            return ColorDepth::Truecolor;
        }
        let term = get("TERM").unwrap_or_default();
        if term == "dumb" {
            return ColorDepth::None;
        }
        if term.contains("256color") || term.contains("kitty") || term.contains("alacritty") {
            return ColorDepth::C256;
        }
        ColorDepth::C16
    }
}

/// The 16 ANSI colours with the RGB values xterm shows them in.
const ANSI16: [(Color, (u8, u8, u8)); 16] = [
    (Color::Black, (0, 0, 0)),
    (Color::Red, (205, 0, 0)),
    (Color::Green, (0, 205, 0)),
    (Color::Yellow, (205, 205, 0)),
    (Color::Blue, (0, 0, 238)),
    (Color::Magenta, (205, 0, 205)),
    (Color::Cyan, (0, 205, 205)),
    (Color::Gray, (229, 229, 229)),
    (Color::DarkGray, (127, 127, 127)),
    (Color::LightRed, (255, 0, 0)),
    (Color::LightGreen, (0, 255, 0)),
    (Color::LightYellow, (255, 255, 0)),
    (Color::LightBlue, (92, 92, 255)),
    (Color::LightMagenta, (255, 0, 255)),
    (Color::LightCyan, (0, 255, 255)),
    (Color::White, (255, 255, 255)),
];

fn dist(a: (u8, u8, u8), b: (u8, u8, u8)) -> u32 {
    let d = |x: u8, y: u8| (i32::from(x) - i32::from(y)).unsigned_abs();
    // Weighted for the eye's sensitivity (green most, blue least).
    3 * d(a.0, b.0).pow(2) + 4 * d(a.1, b.1).pow(2) + 2 * d(a.2, b.2).pow(2)
}

/// Nearest xterm-256 index: the 6×6×6 cube or the grey ramp.
pub fn to_256(r: u8, g: u8, b: u8) -> u8 {
    const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
    let idx = |v: u8| {
        LEVELS
            .iter()
            .enumerate()
            .min_by_key(|(_, l)| (i32::from(**l) - i32::from(v)).unsigned_abs())
            .map_or(0, |(i, _)| i)
    };
    let (ri, gi, bi) = (idx(r), idx(g), idx(b));
    let cube = (LEVELS[ri], LEVELS[gi], LEVELS[bi]);
    let cube_i = 16 + 36 * ri + 6 * gi + bi;
    let avg = (u32::from(r) + u32::from(g) + u32::from(b)) / 3;
    let gi_ = (avg.saturating_sub(8) / 10).min(23);
    let grey = u8::try_from(8 + gi_ * 10).unwrap_or(238);
    let grey_i = 232 + gi_ as usize;
    if dist((grey, grey, grey), (r, g, b)) < dist(cube, (r, g, b)) {
        u8::try_from(grey_i).unwrap_or(255)
    } else {
        u8::try_from(cube_i).unwrap_or(255)
    }
}

/// Nearest of the 16 ANSI colours.
pub fn to_16(r: u8, g: u8, b: u8) -> Color {
    ANSI16
        .iter()
        .min_by_key(|(_, rgb)| dist(*rgb, (r, g, b)))
        .map_or(Color::White, |(c, _)| *c)
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct StyleSpec {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    bold: bool,
    #[serde(default)]
    italic: bool,
    #[serde(default)]
    dim: bool,
    #[serde(default)]
    reversed: bool,
    #[serde(default)]
    underlined: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: String,
    #[serde(default)]
    description: String,
    health: BTreeMap<String, StyleSpec>,
    ui: BTreeMap<String, StyleSpec>,
}

const HEALTH_KEYS: &[&str] = &[
    "ok",
    "warn",
    "crit",
    "down",
    "unknown",
    "ok_text",
    "warn_text",
    "crit_text",
    "down_text",
    "unknown_text",
    "stale",
];
const UI_KEYS: &[&str] = &[
    "text", "dim", "header", "title", "selected", "border", "focus", "status", "error", "key",
    "replay", "chart",
];

/// Resolved styles.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    /// The theme's `name` from its file: announced when `t` switches to it, and how
    /// [`Theme::cycle`] finds the current theme in the list.
    pub name: String,
    /// The file's one-line `description`; empty when the file has none.
    pub description: String,
    health: [Style; 6],
    health_text: [Style; 6],
    stale: Style,
    ui: BTreeMap<&'static str, Style>,
    /// No colours at all (`NO_COLOR`): meaning is carried by symbols and modifiers.
    pub monochrome: bool,
}

fn hidx(h: Health) -> usize {
    match h {
        Health::Ok => 0,
        Health::Warn => 1,
        Health::Crit => 2,
        Health::Down => 3,
        Health::Unknown => 4,
        Health::Stale => 5,
    }
}

impl Theme {
    /// Tile style for a health state.
    pub fn health(&self, h: Health) -> Style {
        self.health[hidx(h)]
    }
    /// Text coloured by health, on the normal background.
    pub fn health_text(&self, h: Health) -> Style {
        self.health_text[hidx(h)]
    }
    /// Tile style of a host whose data is stale.
    pub fn stale(&self) -> Style {
        self.stale
    }
    fn ui(&self, k: &str) -> Style {
        self.ui.get(k).copied().unwrap_or_default()
    }
    /// Ordinary text (`[ui] text`): help lines, alert summaries, panel values.
    pub fn text(&self) -> Style {
        self.ui("text")
    }
    /// Secondary text (`[ui] dim`): hints, sizes, waiting messages.
    pub fn dim(&self) -> Style {
        self.ui("dim")
    }
    /// The one-line header at the top of the board (`[ui] header`).
    pub fn header(&self) -> Style {
        self.ui("header")
    }
    /// Titles (`[ui] title`): cluster titles on the grid, chart and list headings.
    pub fn title(&self) -> Style {
        self.ui("title")
    }
    /// The selected row or value in lists and forms (`[ui] selected`).
    pub fn selected(&self) -> Style {
        self.ui("selected")
    }
    /// Panel and popup borders: `[ui] focus` when `focused`, else `[ui] border`.
    pub fn border(&self, focused: bool) -> Style {
        if focused {
            self.ui("focus")
        } else {
            self.ui("border")
        }
    }
    /// The status bar at the bottom (`[ui] status`).
    pub fn status(&self) -> Style {
        self.ui("status")
    }
    /// Error messages (`[ui] error`), such as a failing metrics source.
    pub fn error(&self) -> Style {
        self.ui("error")
    }
    /// What the operator presses or types (`[ui] key`): key names in the help, link and
    /// command numbers in the host panel, the filter being typed, the selection marker.
    pub fn key(&self) -> Style {
        self.ui("key")
    }
    /// The REPLAY badge in the header while the board shows a past time (`[ui] replay`).
    pub fn replay(&self) -> Style {
        self.ui("replay")
    }
    /// Chart lines in the host panel (`[ui] chart`).
    pub fn chart(&self) -> Style {
        self.ui("chart")
    }

    /// Parses a theme file; errors name the key.
    ///
    /// # Errors
    ///
    /// A message when the TOML is invalid (with its line), a key under `[health]` or `[ui]` is
    /// unknown, or a colour is not a name, `#rrggbb` or 0-255.
    pub fn parse(text: &str) -> Result<Theme, String> {
        let f: ThemeFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(0, |s| {
                text[..s.start.min(text.len())].matches('\n').count() + 1
            });
            format!("line {line}: {}", e.message())
        })?;
        let get = |table: &BTreeMap<String, StyleSpec>, k: &str, group: &str| {
            table
                .get(k)
                .map(|s| to_style(s).map_err(|e| format!("[{group}] {k}: {e}")))
                .unwrap_or(Ok(Style::default()))
        };
        for k in f.health.keys() {
            if !HEALTH_KEYS.contains(&k.as_str()) {
                return Err(unknown_key("health", k, HEALTH_KEYS));
            }
        }
        for k in f.ui.keys() {
            if !UI_KEYS.contains(&k.as_str()) {
                return Err(unknown_key("ui", k, UI_KEYS));
            }
        }
        let health = [
            get(&f.health, "ok", "health")?,
            get(&f.health, "warn", "health")?,
            get(&f.health, "crit", "health")?,
            get(&f.health, "down", "health")?,
            get(&f.health, "unknown", "health")?,
            get(&f.health, "stale", "health")?,
        ];
        let health_text = [
            get(&f.health, "ok_text", "health")?,
            get(&f.health, "warn_text", "health")?,
            get(&f.health, "crit_text", "health")?,
            get(&f.health, "down_text", "health")?,
            get(&f.health, "unknown_text", "health")?,
            Style {
                bg: None,
                ..get(&f.health, "stale", "health")?
            },
        ];
        let stale = get(&f.health, "stale", "health")?;
        let mut ui = BTreeMap::new();
        for k in UI_KEYS {
            ui.insert(*k, get(&f.ui, k, "ui")?);
        }
        Ok(Theme {
            name: f.name,
            description: f.description,
            health,
            health_text,
            stale,
            ui,
            monochrome: false,
        })
    }

    /// The same theme with colours removed (`NO_COLOR`); states stay apart by symbol
    /// and modifiers.
    #[must_use]
    pub fn without_colour(&self) -> Theme {
        let strip = |s: Style| Style {
            fg: None,
            bg: None,
            underline_color: None,
            ..s
        };
        let mut t = self.clone();
        t.monochrome = true;
        for s in t.health.iter_mut().chain(t.health_text.iter_mut()) {
            *s = strip(*s);
        }
        t.health[hidx(Health::Crit)] = t.health[hidx(Health::Crit)].add_modifier(Modifier::BOLD);
        t.health[hidx(Health::Down)] =
            t.health[hidx(Health::Down)].add_modifier(Modifier::BOLD | Modifier::UNDERLINED);
        t.health[hidx(Health::Ok)] = Style::default();
        t.stale = Style::default().add_modifier(Modifier::DIM);
        t.health[hidx(Health::Stale)] = t.stale;
        for (k, s) in &mut t.ui {
            *s = strip(*s);
            if *k == "selected" {
                *s = s.add_modifier(Modifier::REVERSED);
            }
        }
        t
    }

    /// The theme as a terminal of this depth can show it.
    #[must_use]
    pub fn for_depth(&self, depth: ColorDepth) -> Theme {
        let map = |c: Color| match (depth, c) {
            (ColorDepth::C256, Color::Rgb(r, g, b)) => Color::Indexed(to_256(r, g, b)),
            (ColorDepth::C16, Color::Rgb(r, g, b)) => to_16(r, g, b),
            (ColorDepth::C16, Color::Indexed(i)) if i >= 16 => Color::White,
            _ => c,
        };
        if depth == ColorDepth::None {
            return self.without_colour();
        }
        let conv = |s: Style| Style {
            fg: s.fg.map(map),
            bg: s.bg.map(map),
            ..s
        };
        let mut t = self.clone();
        for s in t.health.iter_mut().chain(t.health_text.iter_mut()) {
            *s = conv(*s);
        }
        t.stale = conv(t.stale);
        for s in t.ui.values_mut() {
            *s = conv(*s);
        }
        t
    }

    /// Every available theme (built in, then the config dir's), as the terminal can show
    /// them, with `first` first in the cycle order's place; returns the list and the
    /// index of `first`.
    pub fn cycle(
        first: Theme,
        config_dir: Option<&Path>,
        depth: ColorDepth,
    ) -> (Vec<Theme>, usize) {
        let mut list: Vec<Theme> = Theme::available(config_dir)
            .iter()
            .filter_map(|n| Theme::load(n, config_dir).ok())
            .collect();
        let idx = match list.iter().position(|t| t.name == first.name) {
            Some(i) => {
                list[i] = first;
                i
            }
            None => {
                list.insert(0, first);
                0
            }
        };
        (list.into_iter().map(|t| t.for_depth(depth)).collect(), idx)
    }

    /// A built-in theme by name.
    pub fn builtin(name: &str) -> Option<Theme> {
        BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, t)| Theme::parse(t).ok())
    }

    /// Loads `name` from `<config dir>/themes/NAME.toml` if present, else the built-in.
    /// An unknown name is an error listing the available themes.
    ///
    /// # Errors
    ///
    /// A message naming the file when `<config dir>/themes/NAME.toml` does not parse (see
    /// [`Theme::parse`]), or listing the available themes when `name` is neither a file nor
    /// built in.
    pub fn load(name: &str, config_dir: Option<&Path>) -> Result<Theme, String> {
        if let Some(dir) = config_dir {
            let p = dir.join("themes").join(format!("{name}.toml"));
            if let Ok(text) = std::fs::read_to_string(&p) {
                return Theme::parse(&text).map_err(|e| format!("{}: {e}", p.display()));
            }
        }
        if let Some(t) = Theme::builtin(name) {
            return Ok(t);
        }
        Err(format!(
            "unknown theme `{name}`; available: {}",
            Theme::available(config_dir).join(", ")
        ))
    }

    /// Names of every theme that can be loaded.
    pub fn available(config_dir: Option<&Path>) -> Vec<String> {
        let mut names: Vec<String> = BUILTIN.iter().map(|(n, _)| (*n).to_string()).collect();
        if let Some(dir) = config_dir {
            if let Ok(rd) = std::fs::read_dir(dir.join("themes")) {
                for e in rd.flatten() {
                    let p = e.path();
                    if p.extension().is_some_and(|x| x == "toml") {
                        if let Some(s) = p.file_stem().and_then(|s| s.to_str()) {
                            if !names.iter().any(|n| n == s) {
                                names.push(s.to_string());
                            }
                        }
                    }
                }
            }
        }
        names
    }
}

impl Default for Theme {
    fn default() -> Self {
        Theme::builtin("default").unwrap_or_else(|| Theme {
            name: "fallback".into(),
            description: String::new(),
            health: [Style::default(); 6],
            health_text: [Style::default(); 6],
            stale: Style::default(),
            ui: BTreeMap::new(),
            monochrome: true,
        })
    }
}

fn unknown_key(group: &str, k: &str, valid: &[&str]) -> String {
    let mut m = format!("[{group}] unknown key `{k}`");
    if let Some(s) = crate::config::closest(k, valid) {
        m.push_str(&format!(" (did you mean `{s}`?)"));
    }
    m
}

fn to_style(s: &StyleSpec) -> Result<Style, String> {
    let mut st = Style::default();
    if let Some(c) = &s.fg {
        st = st.fg(parse_color(c)?);
    }
    if let Some(c) = &s.bg {
        st = st.bg(parse_color(c)?);
    }
    let mut m = Modifier::empty();
    for (on, f) in [
        (s.bold, Modifier::BOLD),
        (s.italic, Modifier::ITALIC),
        (s.dim, Modifier::DIM),
        (s.reversed, Modifier::REVERSED),
        (s.underlined, Modifier::UNDERLINED),
    ] {
        if on {
            m |= f;
        }
    }
    Ok(st.add_modifier(m))
}

fn parse_color(s: &str) -> Result<Color, String> {
    s.parse::<Color>()
        .map_err(|_| format!("`{s}` is not a colour (use a name, #rrggbb or 0-255)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse() {
        for (name, text) in BUILTIN {
            let t = Theme::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(&t.name, name);
            assert_ne!(t.health(Health::Crit), t.health(Health::Ok));
        }
    }

    #[test]
    fn unknown_theme_lists_available() {
        let e = Theme::load("nope", None).expect_err("unknown");
        assert!(e.contains("default") && e.contains("light"), "{e}");
    }

    #[test]
    fn bad_keys_and_colours_are_named() {
        let e = Theme::parse("name='x'\n[health]\nokk={fg='red'}\n[ui]\n").expect_err("bad");
        assert!(e.contains("okk") && e.contains("did you mean `ok`"), "{e}");
        let e = Theme::parse("name='x'\n[health]\nok={fg='reddish'}\n[ui]\n").expect_err("bad");
        assert!(e.contains("reddish"), "{e}");
    }

    #[test]
    fn colour_depth_detection() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_string())
            }
        };
        assert_eq!(
            ColorDepth::detect(env(&[("COLORTERM", "truecolor"), ("TERM", "xterm")])),
            ColorDepth::Truecolor
        );
        assert_eq!(
            ColorDepth::detect(env(&[("TERM", "xterm-256color")])),
            ColorDepth::C256
        );
        assert_eq!(
            ColorDepth::detect(env(&[("TERM", "screen")])),
            ColorDepth::C16
        );
        assert_eq!(
            ColorDepth::detect(env(&[("TERM", "vt100")])),
            ColorDepth::C16
        );
        assert_eq!(
            ColorDepth::detect(env(&[("NO_COLOR", "1"), ("COLORTERM", "truecolor")])),
            ColorDepth::None
        );
        assert_eq!(
            ColorDepth::detect(env(&[("TERM", "dumb")])),
            ColorDepth::None
        );
    }

    #[test]
    fn colours_fall_back_per_depth_and_states_stay_apart() {
        assert_eq!(to_256(0, 0, 0), 16);
        assert_eq!(to_256(255, 255, 255), 231);
        assert_eq!(to_256(128, 128, 128), 244);
        assert_eq!(to_16(200, 10, 10), Color::Red);
        assert_eq!(to_16(250, 250, 250), Color::White);
        for (name, _) in BUILTIN {
            let base = Theme::builtin(name).expect("builtin");
            for depth in [ColorDepth::Truecolor, ColorDepth::C256, ColorDepth::C16] {
                let t = base.for_depth(depth);
                for h in Health::ALL {
                    let bg = t.health(h).bg;
                    match depth {
                        ColorDepth::C256 => {
                            assert!(matches!(bg, Some(Color::Indexed(_))), "{name} {h:?} {bg:?}")
                        }
                        ColorDepth::C16 => assert!(
                            !matches!(bg, Some(Color::Rgb(..) | Color::Indexed(_))),
                            "{name} {h:?}"
                        ),
                        _ => {}
                    }
                }
                // Problem tiles never look like OK tiles, at any depth.
                for h in [Health::Warn, Health::Crit, Health::Down] {
                    assert_ne!(
                        t.health(h).bg,
                        t.health(Health::Ok).bg,
                        "{name} {depth:?} {h:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn no_colour_keeps_no_colours() {
        let t = Theme::default().without_colour();
        for h in Health::ALL {
            assert_eq!(t.health(h).fg, None);
            assert_eq!(t.health(h).bg, None);
        }
        assert!(t.selected().add_modifier.contains(Modifier::REVERSED));
    }

    #[test]
    fn config_dir_theme_overrides() {
        let d = tempfile::tempdir().expect("tmp");
        std::fs::create_dir(d.path().join("themes")).expect("mkdir");
        let mut text =
            include_str!("../themes/default.toml").replace("name = \"default\"", "name = \"mine\"");
        text.push('\n');
        std::fs::write(d.path().join("themes/mine.toml"), text).expect("write");
        let t = Theme::load("mine", Some(d.path())).expect("load");
        assert_eq!(t.name, "mine");
        assert!(Theme::available(Some(d.path())).contains(&"mine".to_string()));
    }
}
