//! Themes: semantic styles loaded from TOML (`themes/*.toml`, built in, overridable by
//! files in the config dir's `themes/`). Widgets ask for a meaning (`health(h)`,
//! `border(focused)`), never for a colour.

use std::collections::BTreeMap;
use std::path::Path;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

use crate::fleet::Health;

/// Built-in themes, in the order `t` cycles them.
pub const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../themes/default.toml")),
    ("light", include_str!("../themes/light.toml")),
];

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
    pub name: String,
    pub description: String,
    health: [Style; 5],
    health_text: [Style; 5],
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
    pub fn text(&self) -> Style {
        self.ui("text")
    }
    pub fn dim(&self) -> Style {
        self.ui("dim")
    }
    pub fn header(&self) -> Style {
        self.ui("header")
    }
    pub fn title(&self) -> Style {
        self.ui("title")
    }
    pub fn selected(&self) -> Style {
        self.ui("selected")
    }
    pub fn border(&self, focused: bool) -> Style {
        if focused {
            self.ui("focus")
        } else {
            self.ui("border")
        }
    }
    pub fn status(&self) -> Style {
        self.ui("status")
    }
    pub fn error(&self) -> Style {
        self.ui("error")
    }
    pub fn key(&self) -> Style {
        self.ui("key")
    }
    pub fn replay(&self) -> Style {
        self.ui("replay")
    }
    pub fn chart(&self) -> Style {
        self.ui("chart")
    }

    /// Parses a theme file; errors name the key.
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
        ];
        let health_text = [
            get(&f.health, "ok_text", "health")?,
            get(&f.health, "warn_text", "health")?,
            get(&f.health, "crit_text", "health")?,
            get(&f.health, "down_text", "health")?,
            get(&f.health, "unknown_text", "health")?,
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
        for (k, s) in &mut t.ui {
            *s = strip(*s);
            if *k == "selected" {
                *s = s.add_modifier(Modifier::REVERSED);
            }
        }
        t
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
            health: [Style::default(); 5],
            health_text: [Style::default(); 5],
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
