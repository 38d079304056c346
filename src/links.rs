//! Links and commands per host: URL templates shown in the host panel (as OSC 8
//! hyperlinks) and opened with `o`; commands (`ssh {host}`) run from the panel with `x`.
//!
//! Host and cluster names come from the network. They are never interpolated into a
//! shell string: a command is an argv whose elements are templated one by one, and a
//! value is accepted only when it is a plain host name (letters, digits, `.`, `_`, `-`,
//! `:`; starting with a letter or digit), so it can be neither an option (`-oProxyCommand=…`)
//! nor a second word. URLs get the values percent-encoded, and must stay http(s).

use std::fmt;
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent};
use serde::Deserialize;

use crate::action::Action;
use crate::app::{App, Command, MessageKind, Screen};

/// `[links]` as written in the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinksFile {
    /// `opener`: the program and arguments that open a URL, the URL appended as the last
    /// argument, run without a shell. `None`: `["xdg-open"]`.
    pub opener: Option<Vec<String>>,
    /// `allow_in_read_only`: `true` lets commands run in `--read-only` and wall mode
    /// (links open there anyway). `None`: `false`.
    pub allow_in_read_only: Option<bool>,
    /// `urls`: the links of the host panel, numbered from 1 in this order. Empty when
    /// absent.
    #[serde(default)]
    pub urls: Vec<UrlFile>,
    /// `commands`: the commands of the host panel, numbered from 1 in this order. Empty
    /// when absent.
    #[serde(default)]
    pub commands: Vec<CommandFile>,
}

/// One `urls` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrlFile {
    /// `name`: the link's label in the host panel (an OSC 8 hyperlink there).
    pub name: String,
    /// `url`: the URL template; `{host}`, `{cluster}` and `{source}` are replaced by the
    /// host's values, percent-encoded, and the result must be http or https.
    pub url: String,
}

/// One `commands` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandFile {
    /// `name`: the command's label in the host panel.
    pub name: String,
    /// `argv`: the program and its arguments, run without a shell; `{host}`, `{cluster}`
    /// and `{source}` may appear in the arguments, never in the program (`argv[0]`).
    pub argv: Vec<String>,
}

/// A named template: a URL, or an argv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template<T> {
    /// The label shown in the host panel.
    pub name: String,
    /// The template itself, checked at load: placeholders are filled per host by
    /// [`render_url`] or [`render_command`].
    pub template: T,
}

/// Resolved `[links]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinksConfig {
    /// Program and arguments that open a URL (the URL is appended); run without a shell.
    pub opener: Vec<String>,
    /// Commands may run in `--read-only` and wall mode.
    pub allow_in_read_only: bool,
    /// Links of the host panel, opened with `o` (a digit picks when there are several).
    pub urls: Vec<Template<String>>,
    /// Commands of the host panel, run with `x` (a digit picks when there are several).
    pub commands: Vec<Template<Vec<String>>>,
}

impl Default for LinksConfig {
    fn default() -> Self {
        Self {
            opener: vec!["xdg-open".into()],
            allow_in_read_only: false,
            urls: Vec::new(),
            commands: Vec::new(),
        }
    }
}

const VARS: [&str; 3] = ["host", "cluster", "source"];

impl LinksConfig {
    /// Checks the templates. The error is `(key, message)`.
    ///
    /// # Errors
    ///
    /// `(key, message)` when the opener is empty or has placeholders or control characters, a
    /// template has a control character or an unknown placeholder, a URL template does not give an
    /// http(s) URL, or a command has no program or a placeholder in its program.
    pub fn from_file(f: &LinksFile) -> Result<Self, (String, String)> {
        let d = Self::default();
        let opener = f.opener.clone().unwrap_or(d.opener);
        if opener.first().is_none_or(String::is_empty) {
            return Err(("links.opener".into(), "needs a program name".into()));
        }
        for (i, a) in opener.iter().enumerate() {
            if !placeholders(a).is_empty() || a.chars().any(crate::sanitize::is_dangerous) {
                return Err((
                    format!("links.opener[{i}]"),
                    "takes no placeholders or control characters (the URL is appended)".into(),
                ));
            }
        }
        let mut urls = Vec::new();
        for (i, u) in f.urls.iter().enumerate() {
            let key = format!("links.urls[{i}]");
            check_template(&u.url, &key)?;
            let probe = render_url(&u.url, &HostVars::probe())
                .map_err(|e| (key.clone(), format!("`{}`: {e}", u.url)))?;
            if probe.is_empty() {
                return Err((key, "is empty".into()));
            }
            urls.push(Template {
                name: u.name.clone(),
                template: u.url.clone(),
            });
        }
        let mut commands = Vec::new();
        for (i, c) in f.commands.iter().enumerate() {
            let key = format!("links.commands[{i}]");
            let Some(prog) = c.argv.first() else {
                return Err((key, "argv needs at least a program".into()));
            };
            if !placeholders(prog).is_empty() || prog.is_empty() {
                return Err((
                    key,
                    "the program (argv[0]) is fixed text: no placeholder in it".into(),
                ));
            }
            for a in &c.argv {
                check_template(a, &key)?;
            }
            commands.push(Template {
                name: c.name.clone(),
                template: c.argv.clone(),
            });
        }
        Ok(Self {
            opener,
            allow_in_read_only: f.allow_in_read_only.unwrap_or(d.allow_in_read_only),
            urls,
            commands,
        })
    }
}

fn check_template(t: &str, key: &str) -> Result<(), (String, String)> {
    if t.chars().any(crate::sanitize::is_dangerous) {
        return Err((key.into(), "contains a control character".into()));
    }
    for p in placeholders(t) {
        if !VARS.contains(&p) {
            return Err((
                key.into(),
                format!("unknown placeholder `{{{p}}}`; valid: {{host}}, {{cluster}}, {{source}}"),
            ));
        }
    }
    Ok(())
}

/// The `{name}` placeholders of a template, in order.
fn placeholders(t: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = t;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                out.push(&after[..close]);
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    out
}

/// The values a template can use, from the host (so: from the network).
#[derive(Debug, Clone, Copy)]
pub struct HostVars<'a> {
    /// The host's name, for `{host}`.
    pub host: &'a str,
    /// The host's cluster, for `{cluster}`.
    pub cluster: &'a str,
    /// The host's replication source, when it has one.
    pub source: Option<&'a str>,
}

impl HostVars<'_> {
    fn probe() -> HostVars<'static> {
        HostVars {
            host: "db1",
            cluster: "main",
            source: Some("db0"),
        }
    }

    fn get(&self, var: &str) -> Option<&str> {
        match var {
            "host" => Some(self.host),
            "cluster" => Some(self.cluster),
            "source" => self.source,
            _ => None,
        }
    }
}

/// Why a link or command was not made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The host has no value for this placeholder (no replication source, say).
    Missing(&'static str),
    /// The value is not a plain host name.
    NotAHostName {
        /// The placeholder (`host`, `cluster` or `source`).
        var: &'static str,
        /// The refused value, as received.
        value: String,
    },
    /// The argument would start with `-` (an option).
    LeadingDash(String),
    /// The URL is not http(s), or does not parse.
    BadUrl(String),
    /// Commands are off in read-only / wall mode.
    ReadOnly,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Missing(v) => write!(f, "this host has no {{{v}}}"),
            Refusal::NotAHostName { var, value } => write!(
                f,
                "refused: {{{var}}} `{}` is not a plain host name",
                crate::sanitize::fit(value, 40)
            ),
            Refusal::LeadingDash(a) => write!(
                f,
                "refused: argument `{}` would be read as an option",
                crate::sanitize::fit(a, 40)
            ),
            Refusal::BadUrl(e) => write!(f, "refused: {e}"),
            Refusal::ReadOnly => write!(
                f,
                "commands are off in read-only mode (links.allow_in_read_only = true allows them)"
            ),
        }
    }
}

/// `db1`, `db1.example.net`, `10.0.0.7`, `fe80::1`; never `-x`, `a b`, `$(…)`, `a;b`.
pub fn is_plain_host_name(s: &str) -> bool {
    let mut chars = s.chars();
    s.len() <= 253
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'))
}

fn var_name(v: &str) -> &'static str {
    VARS.iter().copied().find(|x| *x == v).unwrap_or("?")
}

/// Fills one template string; `fill` turns a value into its text or refuses it.
fn fill(
    t: &str,
    vars: &HostVars<'_>,
    enc: &dyn Fn(&'static str, &str) -> Result<String, Refusal>,
) -> Result<String, Refusal> {
    let mut out = String::with_capacity(t.len());
    let mut rest = t;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            return Ok(out);
        };
        let name = var_name(&after[..close]);
        let value = vars.get(name).ok_or(Refusal::Missing(name))?;
        out.push_str(&enc(name, value)?);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A URL from its template: values percent-encoded (all but `A-Z a-z 0-9 - . _ ~`), the
/// result an http or https URL.
///
/// # Errors
///
/// [`Refusal::Missing`] when the host has no value for a placeholder; [`Refusal::BadUrl`] when
/// the result does not parse or is not http or https.
pub fn render_url(t: &str, vars: &HostVars<'_>) -> Result<String, Refusal> {
    let s = fill(t, vars, &|_, v| Ok(percent_encode(v)))?;
    let u = url::Url::parse(&s).map_err(|e| Refusal::BadUrl(format!("not a URL ({e})")))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(Refusal::BadUrl(format!(
            "`{}:` URLs are not opened; only http and https",
            u.scheme()
        )));
    }
    Ok(u.to_string())
}

fn percent_encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A command's argv from its template, each element filled on its own. Every value must
/// be a plain host name, and no element made from a value may start with `-`.
///
/// # Errors
///
/// [`Refusal::Missing`] when the host has no value for a placeholder;
/// [`Refusal::NotAHostName`] when a value is not a plain host name; [`Refusal::LeadingDash`]
/// when an argument made from a value starts with `-`.
pub fn render_command(argv: &[String], vars: &HostVars<'_>) -> Result<Vec<String>, Refusal> {
    argv.iter()
        .enumerate()
        .map(|(i, a)| {
            if i == 0 {
                return Ok(a.clone());
            }
            let s = fill(a, vars, &|var, v| {
                if is_plain_host_name(v) {
                    Ok(v.to_string())
                } else {
                    Err(Refusal::NotAHostName {
                        var,
                        value: v.to_string(),
                    })
                }
            })?;
            if s.starts_with('-') && !a.starts_with('-') {
                return Err(Refusal::LeadingDash(s));
            }
            Ok(s)
        })
        .collect()
}

/// What the panel is asking for: which link to open, or which command to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Picking {
    /// A link to open (after `o`).
    Url,
    /// A command to run (after `x`).
    Command,
}

/// Keys and results of links and commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkAction {
    /// `o`: open a link (asks which when there are several).
    Open,
    /// `x`: run a command (asks which when there are several).
    Run,
    /// The `n`-th (from 0) of the list being picked from.
    Pick(usize),
    /// Stop asking which link or command (any key but a digit).
    Cancel,
    /// A command or opener finished: what to tell the operator.
    Done(String),
}

/// The panel's links state, held by the app.
#[derive(Debug, Clone, Default)]
pub struct LinksUi {
    /// The resolved `[links]` table.
    pub config: Arc<LinksConfig>,
    /// `--read-only` or wall mode.
    pub read_only: bool,
    /// What the panel is asking the operator to pick; `None` when it is not asking.
    pub picking: Option<Picking>,
}

impl LinksUi {
    /// The links state for a `[links]` table; `read_only` for `--read-only` or wall mode.
    /// Nothing is being picked.
    pub fn new(config: LinksConfig, read_only: bool) -> Self {
        Self {
            config: Arc::new(config),
            read_only,
            picking: None,
        }
    }

    /// No links and no commands are configured.
    pub fn is_empty(&self) -> bool {
        self.config.urls.is_empty() && self.config.commands.is_empty()
    }
}

/// The host of the open panel, as template values.
pub fn vars_of(app: &App) -> Option<HostVars<'_>> {
    let Screen::Host(id) = &app.screen else {
        return None;
    };
    let h = app.fleet.find(id)?;
    Some(HostVars {
        host: &h.id.name,
        cluster: &h.id.cluster,
        source: h.replication.as_ref().and_then(|r| r.source.as_deref()),
    })
}

/// A key while the panel asks which link or command: a digit picks, anything else
/// cancels.
pub fn pick_key(k: &KeyEvent) -> Action {
    match k.code {
        KeyCode::Char(c @ '1'..='9') => {
            Action::Links(LinkAction::Pick(usize::from(c as u8 - b'1')))
        }
        _ => Action::Links(LinkAction::Cancel),
    }
}

/// Applies a links action to the app; returns what the runtime should do.
pub fn update(app: &mut App, a: LinkAction) -> Vec<Command> {
    let cfg = app.panel.links.config.clone();
    let pick = match a {
        LinkAction::Open if cfg.urls.is_empty() => {
            app.say(
                "no links: add urls to [links] in the config",
                MessageKind::Note,
            );
            return Vec::new();
        }
        LinkAction::Run if cfg.commands.is_empty() => {
            app.say(
                "no commands: add commands to [links] in the config",
                MessageKind::Note,
            );
            return Vec::new();
        }
        LinkAction::Open if cfg.urls.len() == 1 => (Picking::Url, 0),
        LinkAction::Run if cfg.commands.len() == 1 => (Picking::Command, 0),
        LinkAction::Open => {
            app.panel.links.picking = Some(Picking::Url);
            return Vec::new();
        }
        LinkAction::Run => {
            app.panel.links.picking = Some(Picking::Command);
            return Vec::new();
        }
        LinkAction::Cancel => {
            app.panel.links.picking = None;
            return Vec::new();
        }
        LinkAction::Done(msg) => {
            app.say(msg, MessageKind::Note);
            return Vec::new();
        }
        LinkAction::Pick(i) => match app.panel.links.picking.take() {
            Some(p) => (p, i),
            None => return Vec::new(),
        },
    };
    app.panel.links.picking = None;
    let Some(vars) = vars_of(app) else {
        return Vec::new();
    };
    let result = match pick {
        (Picking::Url, i) => cfg.urls.get(i).map(|u| {
            render_url(&u.template, &vars).map(|url| {
                let mut argv = cfg.opener.clone();
                argv.push(url);
                Command::OpenUrl(argv)
            })
        }),
        (Picking::Command, _) if app.panel.links.read_only && !cfg.allow_in_read_only => {
            Some(Err(Refusal::ReadOnly))
        }
        (Picking::Command, i) => cfg
            .commands
            .get(i)
            .map(|c| render_command(&c.template, &vars).map(Command::RunCommand)),
    };
    match result {
        Some(Ok(c)) => vec![c],
        Some(Err(e)) => {
            app.say(e.to_string(), MessageKind::Note);
            Vec::new()
        }
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
