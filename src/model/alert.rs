//! Alerts and silences as Alertmanager API v2 describes them, with typed severity and state.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::labels::Labels;

/// Alertmanager's view of one alert's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// Firing and neither silenced nor inhibited.
    Active,
    /// Silenced or inhibited (`silenced_by` tells which).
    Suppressed,
    /// Not yet processed by Alertmanager (just received), or a state word this board does not know.
    Unprocessed,
}

/// How bad an alert says it is, from its `severity` label.
///
/// Rule authors spell it many ways (`critical`, `page`, `P1`…); [`Severity::from_label`] is the
/// one table of synonyms. Ordered from worst to least.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Wakes someone up: counts as a problem of its host.
    Critical,
    /// Needs a look soon: counts as a warning of its host.
    Warning,
    /// No `severity` label, or a word not in the table: a rule thought it worth an alert,
    /// so an active one counts as a warning of its host (a missing label must not leave a
    /// host with a firing alert green).
    #[default]
    Other,
    /// For the record: shown, never a problem.
    Info,
}

impl Severity {
    /// Reads a `severity` label value (case-insensitive).
    pub fn from_label(value: Option<&str>) -> Self {
        let Some(v) = value else {
            return Severity::Other;
        };
        match v.trim().to_ascii_lowercase().as_str() {
            "critical" | "crit" | "page" | "error" | "major" | "high" | "disaster"
            | "emergency" | "alert" | "fatal" | "p1" => Severity::Critical,
            "warning" | "warn" | "minor" | "medium" | "average" | "p2" | "p3" => Severity::Warning,
            "info" | "informational" | "low" | "none" | "notice" | "debug" | "p4" | "p5" => {
                Severity::Info
            }
            _ => Severity::Other,
        }
    }

    /// 0 for critical … 3 for info: the order of the alerts view.
    pub fn rank(self) -> u8 {
        self as u8
    }
}

/// One alert as Alertmanager API v2 (`GET /api/v2/alerts`) reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Alertmanager's `fingerprint`: stable id of the label set, the alert's identity across refreshes.
    pub fingerprint: String,
    /// The alert's labels (`alertname`, `severity`, `instance`, …).
    pub labels: Labels,
    /// The alert's annotations (`summary`, `description`, `runbook_url`, …).
    pub annotations: Labels,
    /// From `status.state`.
    pub state: AlertState,
    /// Read from the `severity` label when the alert entered the board.
    pub severity: Severity,
    /// Ids of the silences muting the alert (`status.silencedBy`).
    pub silenced_by: Vec<String>,
    /// Fingerprints of the alerts inhibiting it (`status.inhibitedBy`).
    pub inhibited_by: Vec<String>,
    /// When it started firing (`startsAt`); `None` when absent or unparsable.
    pub starts_at: Option<DateTime<Utc>>,
    /// Link to the rule's expression in Prometheus (`generatorURL`); `None` when empty.
    pub generator_url: Option<String>,
}

impl Alert {
    /// An alert with no silences, inhibitions, start time or link; severity read from the labels.
    pub fn new(
        fingerprint: String,
        labels: Labels,
        annotations: Labels,
        state: AlertState,
    ) -> Self {
        let severity = Severity::from_label(labels.get("severity").map(String::as_str));
        Self {
            fingerprint,
            labels,
            annotations,
            state,
            severity,
            silenced_by: Vec::new(),
            inhibited_by: Vec::new(),
            starts_at: None,
            generator_url: None,
        }
    }

    /// The `alertname` label, or `""`.
    pub fn name(&self) -> &str {
        self.labels.get("alertname").map_or("", String::as_str)
    }

    /// The `severity` label as written by the rule (for display; judge by [`Alert::severity`]).
    pub fn severity_label(&self) -> &str {
        self.labels.get("severity").map_or("", String::as_str)
    }

    /// The `summary` annotation, else `description`, else `""`.
    pub fn summary(&self) -> &str {
        self.annotations
            .get("summary")
            .or_else(|| self.annotations.get("description"))
            .map_or("", String::as_str)
    }

    /// Neither silenced nor inhibited.
    pub fn is_active(&self) -> bool {
        self.state == AlertState::Active
    }

    /// `active`, `silenced`, `inhibited` or `unprocessed`.
    pub fn state_word(&self) -> &'static str {
        match self.state {
            AlertState::Active => "active",
            AlertState::Suppressed if !self.silenced_by.is_empty() => "silenced",
            AlertState::Suppressed => "inhibited",
            AlertState::Unprocessed => "unprocessed",
        }
    }
}

/// One matcher of a silence: `name="value"`, `name!="value"`, `name=~"re"`, `name!~"re"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Matcher {
    /// Label name.
    pub name: String,
    /// Literal value, or the regex when `is_regex`.
    pub value: String,
    /// `value` is a regex (anchored at both ends, as in Alertmanager).
    #[serde(default)]
    pub is_regex: bool,
    /// Alertmanager before 0.22 has no `isEqual`; it means `true`.
    #[serde(default = "yes")]
    pub is_equal: bool,
}

fn yes() -> bool {
    true
}

impl Matcher {
    /// `name="value"`.
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            is_regex: false,
            is_equal: true,
        }
    }

    /// `=`, `!=`, `=~` or `!~`.
    pub fn op(&self) -> &'static str {
        match (self.is_equal, self.is_regex) {
            (true, false) => "=",
            (false, false) => "!=",
            (true, true) => "=~",
            (false, true) => "!~",
        }
    }

    /// Whether this matcher matches a label set (a missing label is the empty string, as in
    /// Alertmanager). A regex is anchored at both ends; an invalid one matches nothing.
    pub fn matches(&self, labels: &Labels) -> bool {
        let v = labels.get(&self.name).map_or("", String::as_str);
        let hit = if self.is_regex {
            regex::Regex::new(&format!("^(?:{})$", self.value)).is_ok_and(|re| re.is_match(v))
        } else {
            v == self.value
        };
        hit == self.is_equal
    }
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op(), self.value)
    }
}

/// Whether every matcher of a silence matches (a silence without matchers matches nothing).
pub fn silence_matches(ms: &[Matcher], labels: &Labels) -> bool {
    !ms.is_empty() && ms.iter().all(|m| m.matches(labels))
}

/// State of a silence: `pending` before its start, `active`, then `expired`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SilenceState {
    /// In force: between its start and its end.
    Active,
    /// Not started yet.
    Pending,
    /// Past its end (Alertmanager keeps it listed for a while).
    Expired,
    /// A state word this board does not know (a newer Alertmanager).
    #[default]
    Other,
}

impl SilenceState {
    /// Reads Alertmanager's `status.state`.
    pub fn parse(s: &str) -> Self {
        match s {
            "active" => SilenceState::Active,
            "pending" => SilenceState::Pending,
            "expired" => SilenceState::Expired,
            _ => SilenceState::Other,
        }
    }

    /// The state a silence from `starts` to `ends` has at `now`.
    pub fn at(starts: DateTime<Utc>, ends: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        if now < starts {
            SilenceState::Pending
        } else if now < ends {
            SilenceState::Active
        } else {
            SilenceState::Expired
        }
    }

    /// The state word shown on the board (`unknown` for [`SilenceState::Other`]).
    pub fn as_str(self) -> &'static str {
        match self {
            SilenceState::Active => "active",
            SilenceState::Pending => "pending",
            SilenceState::Expired => "expired",
            SilenceState::Other => "unknown",
        }
    }
}

/// A silence as `GET /api/v2/silences` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Silence {
    /// Alertmanager's id of the silence (a UUID).
    pub id: String,
    /// The matchers an alert's labels must all satisfy.
    pub matchers: Vec<Matcher>,
    /// Start (`startsAt`), UTC.
    pub starts_at: DateTime<Utc>,
    /// End (`endsAt`), UTC; expired at and after this instant.
    pub ends_at: DateTime<Utc>,
    /// Who made it (`createdBy`), free text.
    pub created_by: String,
    /// Why (`comment`), free text.
    pub comment: String,
    /// From `status.state`.
    pub state: SilenceState,
}

/// A silence to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSilence {
    /// The matchers an alert's labels must all satisfy; at least one.
    pub matchers: Vec<Matcher>,
    /// Start, UTC (usually now).
    pub starts_at: DateTime<Utc>,
    /// End, UTC; must be after `starts_at`.
    pub ends_at: DateTime<Utc>,
    /// Who makes it (`createdBy`); must not be blank.
    pub created_by: String,
    /// Why (`comment`); must not be blank.
    pub comment: String,
}

/// A label name as Alertmanager accepts it in a matcher.
pub fn valid_label_name(n: &str) -> bool {
    let mut c = n.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

impl NewSilence {
    /// Checks the silence the way Alertmanager does, with its wording.
    ///
    /// # Errors
    /// The first rule the silence breaks: no matcher, a bad label name or regex, an end not
    /// after the start, no creator or no comment.
    pub fn validate(&self) -> Result<(), String> {
        if self.matchers.is_empty() {
            return Err("silence invalid: at least one matcher required".into());
        }
        for (i, m) in self.matchers.iter().enumerate() {
            if !valid_label_name(&m.name) {
                return Err(format!(
                    "silence invalid: invalid label matcher {i}: invalid label name {:?}",
                    m.name
                ));
            }
            if m.is_regex {
                if let Err(e) = regex::Regex::new(&m.value) {
                    return Err(format!(
                        "silence invalid: invalid label matcher {i}: {}",
                        e.to_string().lines().last().unwrap_or("bad regex")
                    ));
                }
            }
        }
        if self.ends_at <= self.starts_at {
            return Err("silence invalid: end time must not be before start time".into());
        }
        if self.created_by.trim().is_empty() {
            return Err("silence invalid: creator information missing".into());
        }
        if self.comment.trim().is_empty() {
            return Err("silence invalid: comment missing".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_table_of_severity_synonyms() {
        let cases = [
            (Some("critical"), Severity::Critical),
            (Some("PAGE"), Severity::Critical),
            (Some(" disaster "), Severity::Critical),
            (Some("warning"), Severity::Warning),
            (Some("Average"), Severity::Warning),
            (Some("info"), Severity::Info),
            (Some("none"), Severity::Info),
            (Some("sev-whatever"), Severity::Other),
            (Some(""), Severity::Other),
            (None, Severity::Other),
        ];
        for (label, want) in cases {
            assert_eq!(Severity::from_label(label), want, "{label:?}");
        }
        assert!(Severity::Critical.rank() < Severity::Warning.rank());
        assert!(Severity::Other.rank() < Severity::Info.rank());
    }

    #[test]
    fn silence_states_parse_and_follow_time() {
        assert_eq!(SilenceState::parse("active"), SilenceState::Active);
        assert_eq!(SilenceState::parse("weird"), SilenceState::Other);
        let t = |s: i64| DateTime::from_timestamp(s, 0).expect("time");
        assert_eq!(SilenceState::at(t(10), t(20), t(5)), SilenceState::Pending);
        assert_eq!(SilenceState::at(t(10), t(20), t(10)), SilenceState::Active);
        assert_eq!(SilenceState::at(t(10), t(20), t(20)), SilenceState::Expired);
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    #[test]
    fn matchers_follow_alertmanager_rules() {
        let l = labels(&[("alertname", "MySQLDown"), ("instance", "db1:9104")]);
        assert!(Matcher::equal("alertname", "MySQLDown").matches(&l));
        assert!(!Matcher::equal("alertname", "MySQL.*").matches(&l));
        let re = Matcher {
            name: "instance".into(),
            value: "db1(:[0-9]+)?".into(),
            is_regex: true,
            is_equal: true,
        };
        assert!(re.matches(&l));
        let partial = Matcher {
            value: "db".into(),
            ..re.clone()
        };
        assert!(!partial.matches(&l), "regex is anchored");
        let ne = Matcher {
            is_equal: false,
            ..Matcher::equal("severity", "critical")
        };
        assert!(ne.matches(&l), "missing label is empty");
        assert!(!silence_matches(&[], &l));
    }
}
