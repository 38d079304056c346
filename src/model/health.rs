//! Health states of hosts and of single readings.

use serde::Serialize;

/// Health of a metric or a host, ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
pub enum Health {
    /// Nothing to report.
    #[default]
    #[serde(rename = "OK")]
    Ok,
    /// No data, or data that cannot be judged (replication status unreadable).
    #[serde(rename = "UNKNOWN")]
    Unknown,
    /// Its source failed or answered partially without it: the last good data is shown,
    /// marked stale. Never judged DOWN on the strength of a missing answer.
    #[serde(rename = "STALE")]
    Stale,
    /// A reading past its warning threshold, or a warning alert.
    #[serde(rename = "WARN")]
    Warn,
    /// A reading past its critical threshold, or a critical alert.
    #[serde(rename = "CRIT")]
    Crit,
    /// The database itself is down: its `up` metric (e.g. `mysql_up`) is below 1.
    #[serde(rename = "DOWN")]
    Down,
}

impl Health {
    /// Every state, worst first: the order of counts and legends.
    pub const ALL: [Health; 6] = [
        Health::Down,
        Health::Crit,
        Health::Warn,
        Health::Stale,
        Health::Unknown,
        Health::Ok,
    ];

    /// The upper-case word shown on the board and in reports (`OK`, `WARN`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Ok => "OK",
            Health::Unknown => "UNKNOWN",
            Health::Stale => "STALE",
            Health::Warn => "WARN",
            Health::Crit => "CRIT",
            Health::Down => "DOWN",
        }
    }

    /// Hosts per state, in the order of [`Health::ALL`].
    pub fn count(states: impl IntoIterator<Item = Health>) -> [usize; 6] {
        let mut c = [0usize; 6];
        for h in states {
            if let Some(k) = Health::ALL.iter().position(|x| *x == h) {
                c[k] += 1;
            }
        }
        c
    }

    /// Rank used by the severity sort: problems first, UNKNOWN after WARN.
    pub fn severity_rank(self) -> u8 {
        match self {
            Health::Down => 0,
            Health::Crit => 1,
            Health::Warn => 2,
            Health::Stale => 3,
            Health::Unknown => 4,
            Health::Ok => 5,
        }
    }
}

/// State of one metric reading on one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MetricState {
    /// Within its thresholds.
    #[serde(rename = "OK")]
    Ok,
    /// Past its warning threshold.
    #[serde(rename = "WARN")]
    Warn,
    /// Past its critical threshold.
    #[serde(rename = "CRIT")]
    Crit,
    /// An `up` metric below 1: the database is down.
    #[serde(rename = "DOWN")]
    Down,
    /// No value, or one that cannot be judged.
    #[serde(rename = "UNKNOWN")]
    Unknown,
    /// Not applicable (replication metrics on a primary) or informational.
    #[serde(rename = "N/A")]
    NotApplicable,
}

impl MetricState {
    /// What this reading makes of its host's health (N/A counts as OK).
    pub fn health(self) -> Health {
        match self {
            MetricState::Ok | MetricState::NotApplicable => Health::Ok,
            MetricState::Warn => Health::Warn,
            MetricState::Crit => Health::Crit,
            MetricState::Down => Health::Down,
            MetricState::Unknown => Health::Unknown,
        }
    }
}
