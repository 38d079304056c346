//! Health states of hosts and of single readings.

use serde::Serialize;

/// Health of a metric or a host, ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
pub enum Health {
    #[default]
    #[serde(rename = "OK")]
    Ok,
    /// No data, or data that cannot be judged (replication status unreadable).
    #[serde(rename = "UNKNOWN")]
    Unknown,
    #[serde(rename = "WARN")]
    Warn,
    #[serde(rename = "CRIT")]
    Crit,
    #[serde(rename = "DOWN")]
    Down,
}

impl Health {
    pub const ALL: [Health; 5] = [
        Health::Down,
        Health::Crit,
        Health::Warn,
        Health::Unknown,
        Health::Ok,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Health::Ok => "OK",
            Health::Unknown => "UNKNOWN",
            Health::Warn => "WARN",
            Health::Crit => "CRIT",
            Health::Down => "DOWN",
        }
    }

    /// Hosts per state, in the order of [`Health::ALL`].
    pub fn count(states: impl IntoIterator<Item = Health>) -> [usize; 5] {
        let mut c = [0usize; 5];
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
            Health::Unknown => 3,
            Health::Ok => 4,
        }
    }
}

/// State of one metric reading on one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MetricState {
    #[serde(rename = "OK")]
    Ok,
    #[serde(rename = "WARN")]
    Warn,
    #[serde(rename = "CRIT")]
    Crit,
    #[serde(rename = "DOWN")]
    Down,
    #[serde(rename = "UNKNOWN")]
    Unknown,
    /// Not applicable (replication metrics on a primary) or informational.
    #[serde(rename = "N/A")]
    NotApplicable,
}

impl MetricState {
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
