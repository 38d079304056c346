//! Health states and the rules that turn values and alerts into them.

use serde::Serialize;

use super::metrics::{Direction, Kind, MetricDef};
use crate::sources::{Alert, AlertState};

/// Health of a metric or a host, ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
pub enum Health {
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
    #[serde(rename = "WARN")]
    Warn,
    #[serde(rename = "CRIT")]
    Crit,
    #[serde(rename = "DOWN")]
    Down,
}

impl Health {
    pub const ALL: [Health; 6] = [
        Health::Down,
        Health::Crit,
        Health::Warn,
        Health::Stale,
        Health::Unknown,
        Health::Ok,
    ];

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

/// Judges a value against thresholds. NaN is UNKNOWN; infinities compare like any
/// number (+Inf lag is past every threshold).
pub fn judge(def: &MetricDef, value: f64, warn: Option<f64>, crit: Option<f64>) -> MetricState {
    if value.is_nan() {
        return MetricState::Unknown;
    }
    match def.kind {
        Kind::Info => return MetricState::NotApplicable,
        Kind::Up => {
            return if value >= 1.0 {
                MetricState::Ok
            } else {
                MetricState::Down
            }
        }
        Kind::Flag | Kind::Gauge => {}
    }
    let past = |t: f64| match def.direction {
        Direction::Higher => value >= t,
        Direction::Lower => value <= t,
    };
    if crit.is_some_and(past) {
        MetricState::Crit
    } else if warn.is_some_and(past) {
        MetricState::Warn
    } else {
        MetricState::Ok
    }
}

/// Health an alert contributes: only active (not silenced, not inhibited) alerts
/// count; `severity` decides how much.
pub fn alert_health(alert: &Alert) -> Health {
    if alert.state != AlertState::Active {
        return Health::Ok;
    }
    match alert.severity().to_ascii_lowercase().as_str() {
        "critical" | "crit" | "page" | "error" | "major" | "high" | "disaster" => Health::Crit,
        "warning" | "warn" | "minor" | "medium" | "average" => Health::Warn,
        _ => Health::Ok,
    }
}

/// Nagios plugin status of a set of host healths (exit code and word).
pub fn nagios(worst_known: Option<Health>, any_unknown: bool) -> (i32, &'static str) {
    match worst_known {
        Some(Health::Crit | Health::Down) => (2, "CRITICAL"),
        Some(Health::Warn) => (1, "WARNING"),
        _ if any_unknown => (3, "UNKNOWN"),
        _ => (0, "OK"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::metrics::mysql_preset;

    fn def(key: &str) -> MetricDef {
        mysql_preset("instance", "cluster")
            .get(key)
            .expect("preset metric")
            .clone()
    }

    #[test]
    fn threshold_table() {
        let lag = def("lag");
        let cases = [
            (0.0, MetricState::Ok),
            (29.9, MetricState::Ok),
            (30.0, MetricState::Warn),
            (299.0, MetricState::Warn),
            (300.0, MetricState::Crit),
            (f64::INFINITY, MetricState::Crit),
            (f64::NEG_INFINITY, MetricState::Ok),
            (-5.0, MetricState::Ok),
            (f64::NAN, MetricState::Unknown),
        ];
        for (v, want) in cases {
            assert_eq!(judge(&lag, v, lag.warn, lag.crit), want, "lag {v}");
        }
        let sql = def("sql_running");
        assert_eq!(judge(&sql, 1.0, sql.warn, sql.crit), MetricState::Ok);
        assert_eq!(judge(&sql, 0.0, sql.warn, sql.crit), MetricState::Crit);
        let up = def("up");
        assert_eq!(judge(&up, 0.0, None, None), MetricState::Down);
        assert_eq!(judge(&up, 1.0, None, None), MetricState::Ok);
        let ro = def("read_only");
        assert_eq!(judge(&ro, 1.0, None, None), MetricState::NotApplicable);
    }

    #[test]
    fn lower_is_worse() {
        let mut d = def("load");
        d.direction = Direction::Lower;
        assert_eq!(judge(&d, 0.5, Some(1.0), Some(0.2)), MetricState::Warn);
        assert_eq!(judge(&d, 0.1, Some(1.0), Some(0.2)), MetricState::Crit);
        assert_eq!(judge(&d, 3.0, Some(1.0), Some(0.2)), MetricState::Ok);
    }

    #[test]
    fn nagios_codes() {
        assert_eq!(nagios(Some(Health::Ok), false), (0, "OK"));
        assert_eq!(nagios(Some(Health::Warn), true), (1, "WARNING"));
        assert_eq!(nagios(Some(Health::Down), false), (2, "CRITICAL"));
        assert_eq!(nagios(Some(Health::Ok), true), (3, "UNKNOWN"));
        assert_eq!(nagios(None, false), (0, "OK"));
    }
}
