//! The alerts view (`a`), the silences list (`A`), the silence form (`S`) and the expire
//! confirmation (`x`): their state, keymap and update logic.
//!
//! Like the rest of the app this does no I/O: a write leaves as a [`Command`]
//! (`CreateSilence`, `ExpireSilence`, `FetchSilences`) and its result comes back as an
//! [`AlertAction`]. Read-only mode refuses every write here, with a message.

use chrono::{DateTime, Utc};

use super::line_edit::{self, Edit};
use super::{App, Command, MessageKind, Screen};
use crate::model::{pairs, Alert, HostId, Matcher, NewSilence, Silence, SilenceState};

/// Form fields, in order.
pub const FIELDS: [&str; 4] = ["matchers", "duration", "comment", "author"];
/// Index of the matchers field in [`FIELDS`] and [`SilenceForm::fields`].
pub const F_MATCHERS: usize = 0;
/// Index of the duration field (`2h` by default, at most ten years).
pub const F_DURATION: usize = 1;
/// Index of the comment field: required, and where the form opens.
pub const F_COMMENT: usize = 2;
/// Index of the author field: required, prefilled with the login name.
pub const F_AUTHOR: usize = 3;

/// What the alerts screens can be asked to do, and the results of their commands.
#[derive(Debug, Clone, PartialEq)]
pub enum AlertAction {
    /// Show the alerts view (`a`); also where Back leads from a host panel opened there.
    OpenAlerts,
    /// Show the silences list (`A`, Tab) and fetch it, when there is an Alertmanager (or the
    /// demo store) to ask.
    OpenSilences,
    /// Esc: clear the alerts filter, else leave the screen.
    Close,
    /// Selection move in the alerts view or the silences list (rows; large values clamp).
    Move(i32),
    /// Enter in the alerts view: the selected alert's host panel.
    Jump,
    /// `/` in the alerts view: start typing a filter, from the one applied.
    FilterStart,
    /// A character typed into the alerts filter; the rows narrow as it is typed.
    FilterChar(char),
    /// Delete the last character of the alerts filter being typed.
    FilterBackspace,
    /// Ctrl-U: empty the alerts filter being typed.
    FilterClear,
    /// Enter: the typed text becomes the alerts filter.
    FilterApply,
    /// Esc: stop typing and clear the alerts filter.
    FilterCancel,
    /// `S`: open the silence form for the selected alert or host.
    NewSilence,
    /// A character typed into the focused form field (ignored while the silence is being sent).
    FormChar(char),
    /// Delete the last character of the focused field (ignored while sending).
    FormBackspace,
    /// Ctrl-U: empty the focused field (ignored while sending).
    FormClear,
    /// Focus the next field (Tab, ↓); after the last, the first.
    FormNext,
    /// Focus the previous field (Shift-Tab, ↑); before the first, the last.
    FormPrev,
    /// Enter: check the form and send the silence to be created; on a mistake the field at
    /// fault gets the focus and the error.
    FormSubmit,
    /// Esc: close the form without creating a silence.
    FormCancel,
    /// `x`: ask to expire the selected silence.
    Expire,
    /// Answer to the expire question.
    Confirm(bool),
    /// Fetch the silences list again (`r` in the list), when there is an Alertmanager to ask.
    ReloadSilences,
    /// Set at start, from the settings and the silence executor.
    Setup(AlertsSetup),
    /// Result of [`Command::FetchSilences`]: who answered, and the silences or the error.
    SilencesLoaded(Result<(String, Vec<Silence>), String>),
    /// Result of [`Command::CreateSilence`]: the new id, or the error text.
    SilenceCreated(Result<String, String>),
    /// Result of [`Command::ExpireSilence`].
    SilenceExpired {
        /// The silence that was to expire.
        id: String,
        /// `Ok` once it is expired, else the error text.
        result: Result<(), String>,
    },
}

/// What the alerts screens are told once at start ([`AlertAction::Setup`]): whether and
/// where silences can be written, who writes them, and the labels naming hosts and
/// clusters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlertsSetup {
    /// `--read-only`: no writes at all.
    pub read_only: bool,
    /// Why writes are off, as the user would name it (`--read-only`, `wall mode`).
    pub read_only_why: String,
    /// There is somewhere to write silences (an Alertmanager, or the demo store).
    pub writable: bool,
    /// Default author of a silence (the login name).
    pub author: String,
    /// Label naming a host (`instance`), used for silence matchers.
    pub host_label: String,
    /// Label naming a cluster, for alerts that match no host.
    pub cluster_label: String,
}

impl AlertAction {
    /// The line edit a typing action stands for.
    fn edit(&self) -> Option<Edit> {
        match self {
            AlertAction::FilterChar(c) | AlertAction::FormChar(c) => Some(Edit::Type(*c)),
            AlertAction::FilterBackspace | AlertAction::FormBackspace => Some(Edit::Backspace),
            AlertAction::FilterClear | AlertAction::FormClear => Some(Edit::Clear),
            _ => None,
        }
    }
}

/// The silence form. Nothing typed is lost on an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SilenceForm {
    /// Values of [`FIELDS`].
    pub fields: [String; 4],
    /// Index into [`FIELDS`] of the field typing goes to; the form opens on the comment.
    pub focus: usize,
    /// Local validation failure or Alertmanager's answer, verbatim.
    pub error: Option<String>,
    /// A create request is in flight.
    pub sending: bool,
}

/// State of the alerts screens.
#[derive(Debug, Clone, Default)]
pub struct AlertsUi {
    /// `--read-only`: no writes at all.
    pub read_only: bool,
    /// Why writes are off, as the user would name it (`--read-only`, `wall mode`).
    pub read_only_why: String,
    /// There is somewhere to write silences (an Alertmanager, or the demo store).
    pub writable: bool,
    /// Default author of a silence (the login name).
    pub author: String,
    /// Label naming a host (`instance`), used for silence matchers.
    pub host_label: String,
    /// Label naming a cluster, for alerts that match no host.
    pub cluster_label: String,
    /// Selected alert (fingerprint) and its last row index.
    pub selected_fp: Option<String>,
    /// Row index of the selected alert: the fallback once its fingerprint is no longer
    /// listed.
    pub selected: usize,
    /// Applied alerts filter: case-insensitive text found in the alert's name, severity,
    /// summary, state, cluster or host; empty shows every alert.
    pub filter: String,
    /// The alerts filter being typed (`/`); the rows follow it as it is typed. `None` when
    /// not typing.
    pub filter_edit: Option<String>,
    /// The host panel was opened from the alerts view: Esc goes back there.
    pub from_alerts: bool,
    /// The silences list came from the alerts view (Tab).
    pub silences_from_alerts: bool,
    /// `None` until the first answer.
    pub silences: Option<Result<Vec<Silence>, String>>,
    /// Which Alertmanager answered the list.
    pub silences_source: String,
    /// A request for the silences list is in flight.
    pub silences_loading: bool,
    /// Index of the selected silence among [`AlertsUi::listed_silences`].
    pub silence_selected: usize,
    /// The silence form while it is open (over any screen); `None` when closed.
    pub form: Option<SilenceForm>,
    /// Id of the silence the user is asked to expire.
    pub confirm: Option<String>,
}

impl AlertsUi {
    /// Nothing loaded or selected yet; the host label is `instance` and the cluster label
    /// `cluster` until [`AlertAction::Setup`] says otherwise.
    pub fn new() -> Self {
        Self {
            host_label: "instance".into(),
            cluster_label: "cluster".into(),
            ..Self::default()
        }
    }

    /// Active and pending silences, the ones the list shows, soonest to end first.
    pub fn listed_silences(&self) -> Vec<&Silence> {
        let mut v: Vec<&Silence> = match &self.silences {
            Some(Ok(s)) => s
                .iter()
                .filter(|s| s.state != SilenceState::Expired)
                .collect(),
            _ => Vec::new(),
        };
        v.sort_by(|a, b| {
            let key = |s: &Silence| (s.state != SilenceState::Active, s.ends_at, s.id.clone());
            key(a).cmp(&key(b))
        });
        v
    }
}

/// One alert of the alerts view, with where it belongs.
#[derive(Debug, Clone)]
pub struct AlertRow<'a> {
    /// The alert as Alertmanager reports it.
    pub alert: &'a Alert,
    /// The host on the board it is attached to.
    pub host: Option<&'a HostId>,
    /// Its cluster: its host's, else the alert's cluster label (empty when it has none).
    pub cluster: String,
    /// Its host's name, else the alert's host label (empty when it has none).
    pub host_name: String,
    /// Why an alert naming a host is attached to none (a name in several clusters, a
    /// host not on the board).
    pub reason: Option<&'a str>,
}

/// `name="value"` list as typed in the form: values quoted, `\` and `"` escaped.
pub fn format_matchers(ms: &[Matcher]) -> String {
    ms.iter()
        .map(|m| {
            let v = m.value.replace('\\', "\\\\").replace('"', "\\\"");
            format!("{}{}\"{v}\"", m.name, m.op())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses `alertname="X", instance=~"db1.*"`: comma-separated matchers, optional
/// surrounding `{}`. Values are literal strings with `=` and `!=`, regexes only with `=~`
/// and `!~`; quotes are optional for values without commas.
///
/// # Errors
///
/// A message naming the matcher (1-based) when a label name or operator is missing, a quote is
/// not closed, or text follows a value; also when `s` holds no matcher at all.
pub fn parse_matchers(s: &str) -> Result<Vec<Matcher>, String> {
    let mut t = s.trim();
    if let Some(inner) = t.strip_prefix('{').and_then(|x| x.strip_suffix('}')) {
        t = inner;
    }
    let chars: Vec<char> = t.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    let skip = |i: &mut usize| {
        while *i < chars.len() && (chars[*i].is_whitespace() || chars[*i] == ',') {
            *i += 1;
        }
    };
    loop {
        skip(&mut i);
        if i >= chars.len() {
            break;
        }
        let n = out.len() + 1;
        let start = i;
        while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
            i += 1;
        }
        let name: String = chars[start..i].iter().collect();
        if name.is_empty() {
            return Err(format!("matcher {n}: a label name is expected"));
        }
        while i < chars.len() && chars[i] == ' ' {
            i += 1;
        }
        let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
        let (op_len, is_equal, is_regex) = if rest.starts_with("=~") {
            (2, true, true)
        } else if rest.starts_with("!~") {
            (2, false, true)
        } else if rest.starts_with("!=") {
            (2, false, false)
        } else if rest.starts_with('=') {
            (1, true, false)
        } else {
            return Err(format!(
                "matcher {n}: expected =, !=, =~ or !~ after `{name}`"
            ));
        };
        i += op_len;
        while i < chars.len() && chars[i] == ' ' {
            i += 1;
        }
        let mut value = String::new();
        if chars.get(i) == Some(&'"') {
            i += 1;
            let mut closed = false;
            while i < chars.len() {
                match chars[i] {
                    '\\' if i + 1 < chars.len() => {
                        value.push(match chars[i + 1] {
                            'n' => '\n',
                            c => c,
                        });
                        i += 2;
                    }
                    '"' => {
                        closed = true;
                        i += 1;
                        break;
                    }
                    c => {
                        value.push(c);
                        i += 1;
                    }
                }
            }
            if !closed {
                return Err(format!("matcher {n}: unterminated quote in `{name}`"));
            }
            while i < chars.len() && chars[i] == ' ' {
                i += 1;
            }
            if i < chars.len() && chars[i] != ',' {
                return Err(format!(
                    "matcher {n}: expected `,` after the value of `{name}`"
                ));
            }
        } else {
            while i < chars.len() && chars[i] != ',' {
                value.push(chars[i]);
                i += 1;
            }
            value = value.trim().to_string();
        }
        out.push(Matcher {
            name,
            value,
            is_regex,
            is_equal,
        });
    }
    if out.is_empty() {
        return Err("at least one matcher is needed, e.g. alertname=\"MySQLDown\"".into());
    }
    Ok(out)
}

fn step(i: usize, d: i32, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    let i = i64::try_from(i).unwrap_or(0) + i64::from(d);
    usize::try_from(i.clamp(0, i64::try_from(len - 1).unwrap_or(0))).unwrap_or(0)
}

impl App {
    /// Every alert, host alerts and alerts naming no host on the board, grouped by severity
    /// then cluster, narrowed by the alerts filter.
    pub fn alert_rows(&self) -> Vec<AlertRow<'_>> {
        let ui = &self.alerts;
        let mut rows: Vec<AlertRow<'_>> = Vec::new();
        for h in &self.fleet.hosts {
            for a in &h.alerts {
                rows.push(AlertRow {
                    alert: a,
                    host: Some(&h.id),
                    cluster: h.id.cluster.clone(),
                    host_name: h.id.name.clone(),
                    reason: None,
                });
            }
        }
        for (i, a) in self.fleet.other_alerts.iter().enumerate() {
            let (host_name, cluster) =
                crate::model::naming_values(&ui.host_label, &ui.cluster_label, pairs(&a.labels));
            let host_name = host_name.unwrap_or_default().to_string();
            rows.push(AlertRow {
                alert: a,
                host: None,
                cluster: cluster.unwrap_or_default().to_string(),
                reason: (!host_name.is_empty())
                    .then(|| self.fleet.other_reasons.get(i).map(String::as_str))
                    .flatten(),
                host_name,
            });
        }
        let f = ui
            .filter_edit
            .as_deref()
            .unwrap_or(&ui.filter)
            .to_lowercase();
        if !f.is_empty() {
            rows.retain(|r| {
                [
                    r.alert.name(),
                    r.alert.severity_label(),
                    r.alert.summary(),
                    r.alert.state_word(),
                    &r.cluster,
                    &r.host_name,
                ]
                .iter()
                .any(|s| s.to_lowercase().contains(&f))
            });
        }
        rows.sort_by(|a, b| {
            a.alert
                .severity
                .cmp(&b.alert.severity)
                .then_with(|| a.alert.severity_label().cmp(b.alert.severity_label()))
                .then_with(|| a.cluster.cmp(&b.cluster))
                .then_with(|| a.alert.state.cmp(&b.alert.state))
                .then_with(|| a.alert.starts_at.cmp(&b.alert.starts_at))
                .then_with(|| a.alert.name().cmp(b.alert.name()))
                .then_with(|| super::natural_cmp(&a.host_name, &b.host_name))
                .then_with(|| a.alert.fingerprint.cmp(&b.alert.fingerprint))
        });
        rows
    }

    /// Index of the selected row among `rows`.
    pub fn selected_alert_index(&self, rows: &[AlertRow<'_>]) -> Option<usize> {
        if rows.is_empty() {
            return None;
        }
        let ui = &self.alerts;
        ui.selected_fp
            .as_ref()
            .and_then(|fp| rows.iter().position(|r| &r.alert.fingerprint == fp))
            .or(Some(ui.selected.min(rows.len() - 1)))
    }

    fn select_alert(&mut self, i: usize) {
        let fp = self
            .alert_rows()
            .get(i)
            .map(|r| r.alert.fingerprint.clone());
        self.alerts.selected = i;
        self.alerts.selected_fp = fp;
    }

    fn say_result(&mut self, text: impl Into<String>, error: bool) {
        let kind = if error {
            MessageKind::Error
        } else {
            MessageKind::Info
        };
        self.say(text, kind);
    }

    /// Why a write is refused, if it is.
    fn write_refusal(&self, what: &str) -> Option<String> {
        if self.alerts.read_only {
            let why = if self.alerts.read_only_why.is_empty() {
                "--read-only"
            } else {
                self.alerts.read_only_why.as_str()
            };
            Some(format!("read-only mode ({why}): {what} is disabled"))
        } else if !self.alerts.writable {
            Some("silences need an Alertmanager: start with -a URL".into())
        } else {
            None
        }
    }

    /// Applies one alerts action.
    #[allow(clippy::too_many_lines)]
    pub(crate) fn update_alerts(&mut self, a: AlertAction) -> Vec<Command> {
        let mut cmds = Vec::new();
        match a {
            AlertAction::Setup(s) => {
                let ui = &mut self.alerts;
                ui.read_only = s.read_only;
                ui.read_only_why = s.read_only_why;
                ui.writable = s.writable;
                ui.author = s.author;
                ui.host_label = s.host_label;
                ui.cluster_label = s.cluster_label;
            }
            AlertAction::OpenAlerts => {
                self.screen = Screen::Alerts;
                self.alerts.from_alerts = false;
            }
            AlertAction::OpenSilences => {
                self.alerts.silences_from_alerts = self.screen == Screen::Alerts;
                self.screen = Screen::Silences;
                if self.alerts.writable {
                    self.alerts.silences_loading = true;
                    cmds.push(Command::FetchSilences);
                }
            }
            AlertAction::Close => match self.screen {
                Screen::Alerts if !self.alerts.filter.is_empty() => self.alerts.filter.clear(),
                Screen::Silences if self.alerts.silences_from_alerts => {
                    self.screen = Screen::Alerts;
                }
                _ => {
                    self.screen = Screen::Grid;
                    self.alerts.from_alerts = false;
                }
            },
            AlertAction::Move(d) => {
                if self.screen == Screen::Silences {
                    let n = self.alerts.listed_silences().len();
                    self.alerts.silence_selected = step(self.alerts.silence_selected, d, n);
                } else {
                    let rows = self.alert_rows();
                    let cur = self.selected_alert_index(&rows).unwrap_or(0);
                    let n = rows.len();
                    drop(rows);
                    self.select_alert(step(cur, d, n));
                }
            }
            AlertAction::Jump => self.jump_to_host(),
            AlertAction::FilterStart => {
                self.alerts.filter_edit = Some(self.alerts.filter.clone());
            }
            AlertAction::FilterChar(_)
            | AlertAction::FilterBackspace
            | AlertAction::FilterClear => {
                if let (Some(f), Some(e)) = (&mut self.alerts.filter_edit, a.edit()) {
                    line_edit::apply(f, e);
                }
            }
            AlertAction::FilterApply => {
                if let Some(f) = self.alerts.filter_edit.take() {
                    self.alerts.filter = f;
                }
            }
            AlertAction::FilterCancel => {
                self.alerts.filter_edit = None;
                self.alerts.filter.clear();
            }
            AlertAction::NewSilence => self.open_form(),
            AlertAction::FormChar(_) | AlertAction::FormBackspace | AlertAction::FormClear => {
                let e = a.edit();
                if let (Some(f), Some(e)) = (self.alerts.form.as_mut().filter(|f| !f.sending), e) {
                    line_edit::apply(&mut f.fields[f.focus], e);
                }
            }
            AlertAction::FormNext => {
                if let Some(f) = &mut self.alerts.form {
                    f.focus = (f.focus + 1) % FIELDS.len();
                }
            }
            AlertAction::FormPrev => {
                if let Some(f) = &mut self.alerts.form {
                    f.focus = (f.focus + FIELDS.len() - 1) % FIELDS.len();
                }
            }
            AlertAction::FormCancel => self.alerts.form = None,
            AlertAction::FormSubmit => cmds.extend(self.submit_form()),
            AlertAction::SilenceCreated(r) => match r {
                Ok(id) => {
                    self.alerts.form = None;
                    self.say_result(
                        format!("silence {id} created; matching alerts show as silenced after this refresh"),
                        false,
                    );
                    cmds.push(Command::RefreshNow);
                    if self.screen == Screen::Silences {
                        self.alerts.silences_loading = true;
                        cmds.push(Command::FetchSilences);
                    }
                }
                Err(e) => match &mut self.alerts.form {
                    Some(f) => {
                        f.sending = false;
                        f.error = Some(e);
                    }
                    None => self.say_result(format!("silence not created: {e}"), true),
                },
            },
            AlertAction::Expire => {
                if let Some(why) = self.write_refusal("expiring a silence") {
                    self.say_result(why, true);
                } else if let Some(s) = self
                    .alerts
                    .listed_silences()
                    .get(self.alerts.silence_selected)
                {
                    self.alerts.confirm = Some(s.id.clone());
                } else {
                    self.say_result("no silence selected", true);
                }
            }
            AlertAction::Confirm(yes) => {
                if let Some(id) = self.alerts.confirm.take() {
                    if yes {
                        if let Some(why) = self.write_refusal("expiring a silence") {
                            self.say_result(why, true);
                        } else {
                            self.say_result(format!("expiring silence {id}…"), false);
                            cmds.push(Command::ExpireSilence(id));
                        }
                    }
                }
            }
            AlertAction::SilenceExpired { id, result } => match result {
                Ok(()) => {
                    self.say_result(format!("silence {id} expired"), false);
                    self.alerts.silences_loading = true;
                    cmds.push(Command::FetchSilences);
                    cmds.push(Command::RefreshNow);
                }
                Err(e) => self.say_result(format!("silence {id} not expired: {e}"), true),
            },
            AlertAction::ReloadSilences => {
                if self.alerts.writable {
                    self.alerts.silences_loading = true;
                    cmds.push(Command::FetchSilences);
                }
            }
            AlertAction::SilencesLoaded(r) => {
                self.alerts.silences_loading = false;
                match r {
                    Ok((from, list)) => {
                        self.alerts.silences_source = from;
                        self.alerts.silences = Some(Ok(list));
                    }
                    Err(e) => self.alerts.silences = Some(Err(e)),
                }
                let n = self.alerts.listed_silences().len();
                self.alerts.silence_selected =
                    self.alerts.silence_selected.min(n.saturating_sub(1));
            }
        }
        cmds
    }

    fn jump_to_host(&mut self) {
        let rows = self.alert_rows();
        let target = self
            .selected_alert_index(&rows)
            .and_then(|i| rows.get(i))
            .map(|r| (r.host.cloned(), r.alert.name().to_string()));
        drop(rows);
        match target {
            Some((Some(id), _)) => {
                // The grid filter must not hide the host the panel belongs to.
                if !self.grid.filter.is_empty() || self.grid.cluster.is_some() {
                    self.grid.filter.clear();
                    self.grid.cluster = None;
                    self.rebuild_view();
                }
                self.grid.selected = Some(id.clone());
                self.rebuild_view();
                self.screen = Screen::Host(id);
                self.panel.scroll = 0;
                self.alerts.from_alerts = true;
            }
            Some((None, name)) => self.say_result(
                format!("{name} names no host on the board: there is no panel to open"),
                true,
            ),
            None => self.dirty = false,
        }
    }

    /// Matchers for the selected alert (alert name and host label), or for the open host
    /// panel's host (its host label: exact, or any port when the board strips ports).
    fn prefill_matchers(&self) -> Option<Vec<Matcher>> {
        let hl = self.alerts.host_label.clone();
        match &self.screen {
            Screen::Alerts => {
                let rows = self.alert_rows();
                let r = rows.get(self.selected_alert_index(&rows)?)?;
                let mut m = vec![Matcher::equal("alertname", r.alert.name())];
                // Over series scraped again, `instance` is the Prometheus that passed them
                // on, shared by every server behind it: the server is `exported_instance`.
                let ex = crate::model::exported(&hl);
                let by = [ex, hl].into_iter().find_map(|k| {
                    let v = r.alert.labels.get(&k).filter(|v| !v.is_empty())?.clone();
                    Some((k, v))
                });
                if let Some((k, v)) = by {
                    m.push(Matcher::equal(k, v));
                }
                Some(m)
            }
            Screen::Host(id) => {
                let host = self.fleet.find(id);
                // A host whose series were scraped again is named by `exported_instance`;
                // so are its alerts, unless a Prometheus that scrapes it directly fires them.
                let ex = crate::model::exported(&hl);
                let rescraped = host.is_some_and(|h| h.labels.get(&ex).is_some());
                let hl = match host {
                    Some(h) if rescraped && h.alerts.is_empty() => ex,
                    Some(h) if h.alerts.iter().any(|a| a.labels.contains_key(&ex)) => ex,
                    _ => hl,
                };
                let raw = host
                    .and_then(|h| h.labels.get(&hl))
                    .filter(|v| v.starts_with(id.name.as_str()))
                    .map(str::to_owned);
                // A host with exactly one active alert: that alert is the one meant.
                let only = host.and_then(|h| {
                    let mut active = h
                        .alerts
                        .iter()
                        .filter(|a| a.state == crate::model::AlertState::Active);
                    match (active.next(), active.next()) {
                        (Some(a), None) => Some(a.name().to_string()),
                        _ => None,
                    }
                });
                let mut m: Vec<Matcher> = only
                    .into_iter()
                    .map(|n| Matcher::equal("alertname", n))
                    .collect();
                // A host with aliases: its alerts may name any of its targets' names.
                let names: Vec<&str> = std::iter::once(id.name.as_str())
                    .chain(
                        host.into_iter()
                            .flat_map(|h| h.aliases.iter().map(String::as_str)),
                    )
                    .collect();
                m.push(match raw {
                    _ if names.len() > 1 => Matcher {
                        name: hl,
                        value: crate::sources::query::names_regex(&names, true),
                        is_regex: true,
                        is_equal: true,
                    },
                    Some(v) if v == id.name => Matcher::equal(hl, v),
                    Some(v) if v.starts_with(&id.name) => Matcher {
                        name: hl,
                        value: crate::sources::query::host_regex(&id.name, true),
                        is_regex: true,
                        is_equal: true,
                    },
                    // Its `instance` is the Prometheus that passed its series on: the
                    // alerts a Prometheus scraping it directly fires carry its port.
                    None if rescraped => Matcher {
                        name: hl,
                        value: crate::sources::query::host_regex(&id.name, true),
                        is_regex: true,
                        is_equal: true,
                    },
                    _ => Matcher::equal(hl, id.name.clone()),
                });
                // The same name in another cluster: without the cluster the silence would
                // mute that server too. (Alerts without the cluster label then match
                // nothing, which is safe; the board does not attach them either.)
                let shared = self
                    .fleet
                    .hosts
                    .iter()
                    .any(|h| h.id.name == id.name && h.id.cluster != id.cluster);
                if shared {
                    m.push(Matcher::equal(
                        self.alerts.cluster_label.clone(),
                        id.cluster.clone(),
                    ));
                }
                Some(m)
            }
            _ => None,
        }
    }

    fn open_form(&mut self) {
        if let Some(why) = self.write_refusal("creating a silence") {
            self.say_result(why, true);
            return;
        }
        let Some(matchers) = self.prefill_matchers() else {
            let msg = if self.screen == Screen::Alerts {
                "no alert selected"
            } else {
                "S silences from a host panel (Enter) or the alerts view (a)"
            };
            self.say_result(msg, true);
            return;
        };
        self.alerts.form = Some(SilenceForm {
            fields: [
                format_matchers(&matchers),
                "2h".into(),
                String::new(),
                self.alerts.author.clone(),
            ],
            focus: F_COMMENT,
            error: None,
            sending: false,
        });
    }

    /// Validates the form; on success the create command, else the error in the form.
    fn submit_form(&mut self) -> Option<Command> {
        if let Some(why) = self.write_refusal("creating a silence") {
            self.say_result(why, true);
            return None;
        }
        let now = self.now;
        let f = self.alerts.form.as_mut()?;
        if f.sending {
            return None;
        }
        match build_silence(&f.fields, now) {
            Ok(s) => {
                f.error = None;
                f.sending = true;
                Some(Command::CreateSilence(s))
            }
            Err((field, e)) => {
                f.focus = field;
                f.error = Some(e);
                None
            }
        }
    }
}

/// The silence the form describes, starting `now`; or the field at fault and why.
///
/// # Errors
///
/// The field index and a message: matchers that do not parse (see [`parse_matchers`]), a
/// duration that is not one or exceeds ten years, an empty comment or an empty author.
pub fn build_silence(
    fields: &[String; 4],
    now: DateTime<Utc>,
) -> Result<NewSilence, (usize, String)> {
    let matchers = parse_matchers(&fields[F_MATCHERS]).map_err(|e| (F_MATCHERS, e))?;
    let d = crate::cli::parse_duration(&fields[F_DURATION])
        .map_err(|_| {
            (
                F_DURATION,
                format!(
                    "duration `{}`: use e.g. 30m, 2h, 4h, 1d",
                    fields[F_DURATION].trim()
                ),
            )
        })
        .and_then(|d| {
            chrono::Duration::from_std(d)
                .ok()
                .filter(|d| *d <= chrono::Duration::days(3650))
                .ok_or((F_DURATION, "duration too long".to_string()))
        })?;
    let comment = fields[F_COMMENT].trim();
    if comment.is_empty() {
        return Err((F_COMMENT, "a comment is required: say why".into()));
    }
    let author = fields[F_AUTHOR].trim();
    if author.is_empty() {
        return Err((F_AUTHOR, "an author is required".into()));
    }
    Ok(NewSilence {
        matchers,
        starts_at: now,
        ends_at: now + d,
        created_by: author.to_string(),
        comment: comment.to_string(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::action::Action;
    use crate::testing::{demo_app, fixed_time};

    fn app() -> App {
        let mut a = demo_app(120, 40);
        a.alerts.writable = true;
        a.alerts.author = "alice".into();
        a
    }

    fn key(c: crossterm::event::KeyCode) -> Action {
        Action::Key(crossterm::event::KeyEvent::new(
            c,
            crossterm::event::KeyModifiers::NONE,
        ))
    }
    use crossterm::event::KeyCode;

    fn alerts(a: AlertAction) -> Action {
        Action::Alerts(a)
    }

    fn type_text(app: &mut App, s: &str) {
        for c in s.chars() {
            app.update(alerts(AlertAction::FormChar(c)));
        }
    }

    #[test]
    fn rows_are_grouped_by_severity_then_cluster() {
        let mut a = app();
        a.update(alerts(AlertAction::OpenAlerts));
        let rows = a.alert_rows();
        assert!(rows.len() >= 4, "{}", rows.len());
        let keys: Vec<(u8, String)> = rows
            .iter()
            .map(|r| (r.alert.severity.rank(), r.cluster.clone()))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(rows[0].alert.severity_label(), "critical");
        assert!(rows.iter().any(|r| r.alert.state_word() == "silenced"));
    }

    #[test]
    fn filter_narrows_and_enter_jumps_to_the_host() {
        let mut a = app();
        a.update(alerts(AlertAction::OpenAlerts));
        a.update(alerts(AlertAction::FilterStart));
        for c in "stopx".chars() {
            a.update(alerts(AlertAction::FilterChar(c)));
        }
        a.update(alerts(AlertAction::FilterBackspace));
        for c in "PED".chars() {
            a.update(alerts(AlertAction::FilterChar(c)));
        }
        a.update(alerts(AlertAction::FilterApply));
        let rows = a.alert_rows();
        assert_eq!(
            rows.len(),
            1,
            "{:?}",
            rows.iter().map(|r| r.alert.name()).collect::<Vec<_>>()
        );
        let host = rows[0].host.cloned().unwrap();
        drop(rows);
        a.update(alerts(AlertAction::Jump));
        assert_eq!(a.screen, Screen::Host(host.clone()));
        assert_eq!(a.grid.selected, Some(host));
        // Esc goes back to the alerts view, filter kept; Esc again clears it, then leaves.
        a.update(key(KeyCode::Esc));
        assert_eq!(a.screen, Screen::Alerts);
        assert_eq!(a.alerts.filter, "stopPED");
        a.update(alerts(AlertAction::Close));
        assert!(a.alerts.filter.is_empty());
        a.update(alerts(AlertAction::Close));
        assert_eq!(a.screen, Screen::Grid);
    }

    #[test]
    fn form_prefills_and_submit_emits_the_silence() {
        let mut a = app();
        a.update(alerts(AlertAction::OpenAlerts));
        let first = a.alert_rows()[0].alert.clone();
        assert!(a.update(alerts(AlertAction::NewSilence)).is_empty());
        let f = a.alerts.form.clone().unwrap();
        assert_eq!(
            f.fields[F_MATCHERS],
            format!(
                "alertname=\"{}\", instance=\"{}\"",
                first.name(),
                first.labels["instance"]
            )
        );
        assert_eq!(f.fields[F_DURATION], "2h");
        assert_eq!(f.fields[F_AUTHOR], "alice");
        assert_eq!(f.focus, F_COMMENT);
        type_text(&mut a, "disk swap");
        // Change the duration to 30m.
        a.update(alerts(AlertAction::FormPrev));
        a.update(alerts(AlertAction::FormClear));
        type_text(&mut a, "30m");
        let cmds = a.update(alerts(AlertAction::FormSubmit));
        let now = fixed_time();
        assert_eq!(
            cmds,
            vec![Command::CreateSilence(NewSilence {
                matchers: vec![
                    Matcher::equal("alertname", first.name()),
                    Matcher::equal("instance", first.labels["instance"].clone()),
                ],
                starts_at: now,
                ends_at: now + chrono::Duration::minutes(30),
                created_by: "alice".into(),
                comment: "disk swap".into(),
            })]
        );
        // A second Enter while the first is in flight sends nothing.
        assert!(a.update(alerts(AlertAction::FormSubmit)).is_empty());
        let cmds = a.update(alerts(AlertAction::SilenceCreated(Ok("abc-123".into()))));
        assert_eq!(cmds, vec![Command::RefreshNow]);
        assert!(a.alerts.form.is_none());
        assert!(a.message.as_ref().unwrap().text.contains("abc-123"));
    }

    #[test]
    fn error_keeps_what_was_typed() {
        let mut a = app();
        a.update(alerts(AlertAction::OpenAlerts));
        a.update(alerts(AlertAction::NewSilence));
        type_text(&mut a, "maintenance");
        let before = a.alerts.form.clone().unwrap().fields;
        assert_eq!(a.update(alerts(AlertAction::FormSubmit)).len(), 1);
        let reason = "HTTP 400: silence invalid: invalid label matcher 0";
        a.update(alerts(AlertAction::SilenceCreated(Err(reason.into()))));
        let f = a.alerts.form.clone().unwrap();
        assert_eq!(f.fields, before);
        assert_eq!(f.error.as_deref(), Some(reason));
        assert!(!f.sending);
        // It can be fixed and sent again.
        assert_eq!(a.update(alerts(AlertAction::FormSubmit)).len(), 1);
    }

    #[test]
    fn local_validation_points_at_the_field() {
        let mut a = app();
        a.update(alerts(AlertAction::OpenAlerts));
        a.update(alerts(AlertAction::NewSilence));
        assert!(a.update(alerts(AlertAction::FormSubmit)).is_empty());
        let f = a.alerts.form.clone().unwrap();
        assert_eq!(f.focus, F_COMMENT);
        assert!(f.error.unwrap().contains("comment"));
        type_text(&mut a, "x");
        a.update(alerts(AlertAction::FormPrev));
        a.update(alerts(AlertAction::FormClear));
        type_text(&mut a, "soon");
        assert!(a.update(alerts(AlertAction::FormSubmit)).is_empty());
        assert_eq!(a.alerts.form.as_ref().unwrap().focus, F_DURATION);
    }

    #[test]
    fn host_panel_prefills_the_host_and_its_only_alert() {
        let mut a = app();
        a.update(Action::Open);
        let Screen::Host(id) = a.screen.clone() else {
            panic!()
        };
        a.update(alerts(AlertAction::NewSilence));
        let f = a.alerts.form.clone().unwrap();
        let ms = parse_matchers(&f.fields[F_MATCHERS]).unwrap();
        // The DOWN host has one active alert: it is prefilled with the host.
        assert_eq!(ms.len(), 2);
        assert_eq!(
            (ms[0].name.as_str(), ms[0].value.as_str()),
            ("alertname", "MySQLDown")
        );
        assert_eq!(ms[1].name, "instance");
        assert!(ms[1].is_regex, "any exporter port of the host");
        let mut l = crate::model::Labels::new();
        l.insert("instance".into(), format!("{}:9100", id.name));
        assert!(ms[1].matches(&l));
        l.insert("instance".into(), format!("{}0:9100", id.name));
        assert!(!ms[1].matches(&l));
        // A host without alerts gets the host matcher alone.
        a.update(Action::Back);
        a.update(Action::Back);
        a.update(Action::CycleSort);
        a.update(Action::Home);
        a.update(Action::Open);
        a.update(alerts(AlertAction::NewSilence));
        let f = a.alerts.form.clone().unwrap();
        let ms = parse_matchers(&f.fields[F_MATCHERS]).unwrap();
        assert_eq!(ms.len(), 1, "{ms:?}");
        assert_eq!(ms[0].name, "instance");
    }

    #[test]
    fn read_only_emits_nothing_and_says_why() {
        let mut a = app();
        a.alerts.read_only = true;
        a.update(alerts(AlertAction::OpenAlerts));
        assert!(a.update(alerts(AlertAction::NewSilence)).is_empty());
        assert!(a.alerts.form.is_none());
        assert!(a.message.as_ref().unwrap().text.contains("read-only"));
        // Even a form left over, or a confirmation, sends nothing.
        a.alerts.form = Some(SilenceForm {
            fields: ["a=\"b\"".into(), "2h".into(), "c".into(), "d".into()],
            focus: 0,
            error: None,
            sending: false,
        });
        assert!(a.update(alerts(AlertAction::FormSubmit)).is_empty());
        a.alerts.confirm = Some("id".into());
        assert!(a.update(alerts(AlertAction::Confirm(true))).is_empty());
        let cmds = a.update(alerts(AlertAction::OpenSilences));
        assert_eq!(cmds, vec![Command::FetchSilences], "reading is fine");
        assert!(a.update(alerts(AlertAction::Expire)).is_empty());
        assert!(a.alerts.confirm.is_none());
    }

    #[test]
    fn no_alertmanager_says_so() {
        let mut a = demo_app(80, 24);
        a.update(Action::Open);
        assert!(a.update(alerts(AlertAction::NewSilence)).is_empty());
        assert!(a.message.unwrap().text.contains("need an Alertmanager"));
    }

    #[test]
    fn expire_asks_first() {
        let mut a = app();
        a.update(alerts(AlertAction::OpenSilences));
        let s = |id: &str, state: &str| Silence {
            id: id.into(),
            matchers: vec![Matcher::equal("alertname", "X")],
            starts_at: fixed_time(),
            ends_at: fixed_time() + chrono::Duration::hours(1),
            created_by: "bob".into(),
            comment: "c".into(),
            state: SilenceState::parse(state),
        };
        a.update(alerts(AlertAction::SilencesLoaded(Ok((
            "am".into(),
            vec![s("old", "expired"), s("s1", "active"), s("s2", "pending")],
        )))));
        assert_eq!(a.alerts.listed_silences().len(), 2);
        a.update(alerts(AlertAction::Move(1)));
        assert!(a.update(alerts(AlertAction::Expire)).is_empty());
        assert_eq!(a.alerts.confirm.as_deref(), Some("s2"));
        assert!(a.update(alerts(AlertAction::Confirm(false))).is_empty());
        a.update(alerts(AlertAction::Expire));
        assert_eq!(
            a.update(alerts(AlertAction::Confirm(true))),
            vec![Command::ExpireSilence("s2".into())]
        );
        let cmds = a.update(alerts(AlertAction::SilenceExpired {
            id: "s2".into(),
            result: Ok(()),
        }));
        assert_eq!(cmds, vec![Command::FetchSilences, Command::RefreshNow]);
    }

    #[test]
    fn matchers_parse_and_round_trip() {
        let ms = parse_matchers(r#"{alertname="A b", instance=~"db1.*", job!="x\"y", sev!~ c }"#)
            .unwrap();
        assert_eq!(ms.len(), 4);
        assert_eq!(ms[0], Matcher::equal("alertname", "A b"));
        assert!(ms[1].is_regex && ms[1].is_equal);
        assert_eq!(ms[2].value, "x\"y");
        assert!(!ms[2].is_equal && !ms[2].is_regex);
        assert_eq!(ms[3].value, "c");
        assert_eq!(parse_matchers(&format_matchers(&ms)).unwrap(), ms);
        // A literal value stays literal: dots are not regex.
        assert!(!parse_matchers(r#"instance="db1.example""#).unwrap()[0].is_regex);
        for bad in ["", "=x", "a", "a=\"open", "a=\"x\" b"] {
            assert!(parse_matchers(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn form_keys_do_not_leak_to_the_board() {
        let mut a = app();
        a.update(alerts(AlertAction::OpenAlerts));
        a.update(alerts(AlertAction::NewSilence));
        for c in ['q', 'a', '?', '/', 'r'] {
            let before = a.alerts.form.clone().unwrap().fields[F_COMMENT].clone();
            assert!(a.update(key(KeyCode::Char(c))).is_empty());
            assert_eq!(a.screen, Screen::Alerts);
            let after = &a.alerts.form.as_ref().unwrap().fields[F_COMMENT];
            assert_eq!(*after, format!("{before}{c}"));
        }
        a.update(key(KeyCode::Esc));
        assert!(a.alerts.form.is_none());
    }
}
