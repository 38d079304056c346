//! How each metrics source answered a refresh, and what the monitoring says of its own
//! health: plain data, filled in by the sources and read by the fleet, the app and reports.

use serde::Serialize;

use super::source::SourceError;

/// Label the sources add to every series with the name of the source that answered it.
/// The fleet turns it into the host's `source` and keeps it out of the host's labels.
pub const SOURCE_LABEL: &str = "fb_source";

/// One metrics source (a Prometheus, or an HA group of them) in one refresh.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceStatus {
    /// The source's name (`-p NAME=URL`, `name` in `[[prometheus]]`, or the URL's host).
    pub name: String,
    /// The member that answered (or the last one tried), without credentials.
    pub url: String,
    /// Number of members (2 for an HA pair).
    pub members: usize,
    /// The source failed as a whole: its hosts keep their last data, marked stale.
    pub error: Option<SourceError>,
    /// Why the answer may lack series (Thanos warnings, VictoriaMetrics `isPartial`).
    /// Hosts of this source that are missing keep their last data, marked stale.
    pub partial: Vec<String>,
    /// Warnings and infos about complete data, and how the queries were sent (fallback).
    pub notices: Vec<String>,
    /// Metrics whose query failed for the whole source while others answered:
    /// `(metric key, error)`.
    pub metric_errors: Vec<(String, SourceError)>,
    /// The monitoring's own health, when it was asked (live refreshes).
    pub monitoring: Option<Monitoring>,
    /// Requests this source cost in this refresh.
    pub requests: usize,
}

impl SourceStatus {
    /// Why hosts of this source missing from the answer are stale rather than down, if so.
    pub fn incomplete_reason(&self) -> Option<String> {
        if let Some(e) = &self.error {
            return Some(format!("source {} failed: {e}", self.name));
        }
        self.partial
            .first()
            .map(|p| format!("source {} answered partially: {p}", self.name))
    }
}

/// The health of the monitoring behind one source, from one batched query.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Monitoring {
    /// Scrape targets with `up == 0`, per job.
    pub targets_down: Vec<JobCount>,
    /// Targets whose last scrape took at least 90 % of their scrape timeout (which is at
    /// most their interval), per job: the scraper cannot keep up.
    pub slow_scrapes: Vec<JobCount>,
    /// Rule evaluations that failed in the last 5 minutes, per job.
    pub rule_failures: Vec<JobCount>,
    /// Notifications to Alertmanager (or from Alertmanager to receivers) that failed in the
    /// last 5 minutes, per job.
    pub notification_failures: Vec<JobCount>,
}

impl Monitoring {
    /// Nothing is wrong.
    pub fn is_healthy(&self) -> bool {
        self.targets_down.is_empty()
            && self.slow_scrapes.is_empty()
            && self.rule_failures.is_empty()
            && self.notification_failures.is_empty()
    }

    /// One line per problem, for the header, the panel and the text report.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let list = |v: &[JobCount]| {
            v.iter()
                .map(|j| format!("{} {}", j.job, j.count))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !self.targets_down.is_empty() {
            out.push(format!("targets down: {}", list(&self.targets_down)));
        }
        if !self.slow_scrapes.is_empty() {
            out.push(format!(
                "scrapes near their timeout: {}",
                list(&self.slow_scrapes)
            ));
        }
        if !self.rule_failures.is_empty() {
            out.push(format!(
                "rule evaluation failures (5m): {}",
                list(&self.rule_failures)
            ));
        }
        if !self.notification_failures.is_empty() {
            out.push(format!(
                "notification failures (5m): {}",
                list(&self.notification_failures)
            ));
        }
        out
    }
}

/// A count for one scrape job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobCount {
    /// The `job` label of the targets.
    pub job: String,
    /// Targets or failures (failures are rounded increases).
    pub count: u64,
}

/// The dead man's switch: whether Alertmanager holds the always-firing alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadMansSwitch {
    /// Alert names looked for (`Watchdog`, `DeadMansSwitch` by default).
    pub names: Vec<String>,
    /// `Some(true)`: present; `Some(false)`: missing, the alerting pipeline is broken;
    /// `None`: not known (no Alertmanager answered, or the switch is not armed: the alert was
    /// never seen and `watchdog` is not set in the config).
    pub present: Option<bool>,
}

impl DeadMansSwitch {
    /// The switch is armed and its alert is missing: alerting is not working.
    pub fn broken(&self) -> bool {
        self.present == Some(false)
    }

    /// The loud sentence for the header and reports.
    pub fn message(&self) -> String {
        format!(
            "ALERTING PIPELINE BROKEN: always-firing alert {} missing from Alertmanager",
            self.names.join("/")
        )
    }
}
