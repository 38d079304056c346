//! Health states and the rules that turn values and alerts into them.

use crate::model::{Alert, Direction, Health, Kind, MetricDef, MetricState, Severity};

/// Judges a value against thresholds. NaN is UNKNOWN; infinities compare like any
/// number (+Inf lag is past every threshold).
pub fn judge(def: &MetricDef, value: f64, warn: Option<f64>, crit: Option<f64>) -> MetricState {
    if value.is_nan() {
        return MetricState::Unknown;
    }
    match def.kind {
        Kind::Info | Kind::Detail => return MetricState::NotApplicable,
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
    if !alert.is_active() {
        return Health::Ok;
    }
    match alert.severity {
        Severity::Critical => Health::Crit,
        Severity::Warning | Severity::Other => Health::Warn,
        Severity::Info => Health::Ok,
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
    fn an_active_alert_counts_unless_it_says_it_is_for_the_record() {
        use crate::model::{Alert, AlertState, Labels};
        let a = |sev: Option<&str>, state: AlertState| {
            let mut l = Labels::new();
            l.insert("alertname".into(), "X".into());
            if let Some(s) = sev {
                l.insert("severity".into(), s.into());
            }
            alert_health(&Alert::new("f".into(), l, Labels::new(), state))
        };
        assert_eq!(a(Some("critical"), AlertState::Active), Health::Crit);
        assert_eq!(a(Some("warning"), AlertState::Active), Health::Warn);
        // No severity, or a word of the rule author's own: a firing alert is no OK host.
        assert_eq!(a(None, AlertState::Active), Health::Warn);
        assert_eq!(a(Some("sev-2"), AlertState::Active), Health::Warn);
        assert_eq!(a(Some("info"), AlertState::Active), Health::Ok);
        assert_eq!(a(Some("none"), AlertState::Active), Health::Ok);
        assert_eq!(a(None, AlertState::Suppressed), Health::Ok);
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
