//! Metric definitions: what is queried, how it is shown, and its thresholds.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// Which way is bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Larger values are worse (lag, load).
    Higher,
    /// Smaller values are worse (threads running, free space).
    Lower,
}

/// How a metric's value affects the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Compared with warn/crit thresholds.
    Gauge,
    /// `1` up, `0` down; a host whose up is 0, or whose up series vanished, is DOWN.
    Up,
    /// `1` running, `0` stopped (replication threads): 0 is CRITICAL.
    Flag,
    /// Not shown as a figure; used for topology (server ids, read_only).
    Info,
}

/// Which hosts a metric is meaningful for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppliesTo {
    All,
    Replica,
}

/// Unit of a value, used to format it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Seconds, shown as `12s`, `4m05s`, `3h`.
    Seconds,
    /// A 0..1 ratio shown as a percentage.
    Ratio,
    /// Per second, shown as `140/s`, `12k/s`.
    Rate,
    /// A plain number.
    None,
    /// Yes/no (1/0).
    Bool,
}

impl Unit {
    pub fn suffix(self) -> &'static str {
        match self {
            Unit::Seconds => "s",
            Unit::Ratio => "%",
            Unit::Rate => "/s",
            Unit::None | Unit::Bool => "",
        }
    }
}

/// One metric: a PromQL expression returning at most one series per host.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDef {
    /// Stable key (`lag`, `load`); used in config, JSON and tests.
    pub key: String,
    /// Short label for tiles and tables.
    pub label: String,
    /// PromQL; `$cluster` is replaced with an anchored regex of the cluster filter
    /// (`.*` when there is none), so the filter is applied by the server; `$host`
    /// with the host's name (history of one host) or `.*` (the whole fleet).
    pub expr: String,
    pub unit: Unit,
    pub kind: Kind,
    pub direction: Direction,
    pub warn: Option<f64>,
    pub crit: Option<f64>,
    pub applies_to: AppliesTo,
    /// Shown on grid tiles (in this order) when there is room.
    pub on_tile: bool,
    /// Gets a history chart in the host panel.
    pub chart: bool,
}

/// The metrics of a board, in display order, plus the per-cluster/label overrides.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSet {
    pub metrics: Vec<MetricDef>,
    pub overrides: Vec<Override>,
}

/// A threshold override for hosts whose labels match every matcher.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    pub metric: String,
    /// Exact label matches; the cluster label is matched like any other.
    pub matchers: Vec<(String, String)>,
    pub warn: Option<f64>,
    pub crit: Option<f64>,
}

impl MetricSet {
    pub fn index(&self, key: &str) -> Option<usize> {
        self.metrics.iter().position(|m| m.key == key)
    }

    pub fn get(&self, key: &str) -> Option<&MetricDef> {
        self.metrics.iter().find(|m| m.key == key)
    }

    /// Thresholds for one metric on one host: the last matching override wins.
    pub fn thresholds(
        &self,
        idx: usize,
        has_label: &dyn Fn(&str, &str) -> bool,
    ) -> (Option<f64>, Option<f64>) {
        let m = &self.metrics[idx];
        let mut t = (m.warn, m.crit);
        for o in self.overrides.iter().filter(|o| o.metric == m.key) {
            if o.matchers.iter().all(|(k, v)| has_label(k, v)) {
                if o.warn.is_some() {
                    t.0 = o.warn;
                }
                if o.crit.is_some() {
                    t.1 = o.crit;
                }
            }
        }
        t
    }
}

/// Escapes a string for use inside a double-quoted PromQL string literal.
pub fn promql_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Whether a label name is a classic Prometheus identifier (`[a-zA-Z_][a-zA-Z0-9_]*`),
/// which every engine accepts unquoted.
pub fn is_classic_label(name: &str) -> bool {
    let mut b = name.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// A label name as written in PromQL matchers and `by`/`on` lists: unchanged when classic,
/// else quoted (`"host.name"`), the form Prometheus 3 accepts for UTF-8 names
/// (`{"host.name"=~"db1"}`, `by ("host.name")`).
pub fn label_ref(name: &str) -> String {
    if is_classic_label(name) {
        name.to_string()
    } else {
        format!("\"{}\"", promql_string(name))
    }
}

/// Escapes regex metacharacters (RE2 syntax) so a value matches literally.
pub fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The value that replaces `$cluster` in expressions: the regex body (already
/// escaped for a PromQL string) matching exactly the given clusters.
pub fn cluster_regex(clusters: &[String]) -> String {
    if clusters.is_empty() {
        return ".*".to_string();
    }
    let alts: Vec<String> = clusters.iter().map(|c| regex_escape(c)).collect();
    promql_string(&alts.join("|"))
}

/// Expands `$cluster` in an expression for the given cluster filter (and `$host` to
/// every host).
pub fn expand(expr: &str, clusters: &[String]) -> String {
    expr.replace("$cluster", &cluster_regex(clusters))
        .replace("$host", ".*")
}

/// Expands an expression for one host's history. Returns the expression and whether
/// the server narrows it to the host (`false` when the expression has no `$host`: the
/// caller must keep only the host's series from the answer).
pub fn expand_for_host(expr: &str, cluster: &str, host: &str, strip_port: bool) -> (String, bool) {
    let narrowed = expr.contains("$host");
    let e = expr
        .replace("$cluster", &cluster_regex(&[cluster.to_string()]))
        .replace("$host", &promql_string(&host_regex(host, strip_port)));
    (e, narrowed)
}

/// A regex (RE2, as Prometheus and Alertmanager use) matching one host's label value:
/// the name itself, or with any `:port` when ports are stripped from host names.
pub fn host_regex(host: &str, strip_port: bool) -> String {
    if strip_port {
        format!("{}(:[0-9]+)?", regex_escape(host))
    } else {
        regex_escape(host)
    }
}

/// The built-in preset for mysqld_exporter (0.14+) and node_exporter (1.x).
pub fn mysql_preset(host_label: &str, cluster_label: &str) -> MetricSet {
    let sel = format!("{cluster_label}=~\"$cluster\",{host_label}=~\"$host\"");
    let by = format!("{cluster_label}, {host_label}");
    let m = |key: &str,
             label: &str,
             expr: String,
             unit,
             kind,
             dir,
             warn,
             crit,
             applies,
             tile,
             chart| MetricDef {
        key: key.into(),
        label: label.into(),
        expr,
        unit,
        kind,
        direction: dir,
        warn,
        crit,
        applies_to: applies,
        on_tile: tile,
        chart,
    };
    use AppliesTo::{All, Replica};
    use Direction::{Higher, Lower};
    MetricSet {
        metrics: vec![
            m("up", "up", format!("mysql_up{{{sel}}}"), Unit::Bool, Kind::Up, Lower, None, None, All, false, false),
            m(
                "lag",
                "lag",
                format!("mysql_slave_status_seconds_behind_master{{{sel}}}"),
                Unit::Seconds,
                Kind::Gauge,
                Higher,
                Some(30.0),
                Some(300.0),
                Replica,
                true,
                true,
            ),
            m(
                "io_running",
                "io",
                format!("mysql_slave_status_slave_io_running{{{sel}}}"),
                Unit::Bool,
                Kind::Flag,
                Lower,
                None,
                Some(0.0),
                Replica,
                false,
                false,
            ),
            m(
                "sql_running",
                "sql",
                format!("mysql_slave_status_slave_sql_running{{{sel}}}"),
                Unit::Bool,
                Kind::Flag,
                Lower,
                None,
                Some(0.0),
                Replica,
                false,
                false,
            ),
            m(
                "connections",
                "conn",
                format!(
                    "mysql_global_status_threads_connected{{{sel}}} / on({by}) mysql_global_variables_max_connections{{{sel}}}"
                ),
                Unit::Ratio,
                Kind::Gauge,
                Higher,
                Some(0.75),
                Some(0.9),
                All,
                true,
                true,
            ),
            m(
                "load",
                "load",
                format!(
                    "node_load1{{{sel}}} / on({by}) count by ({by}) (node_cpu_seconds_total{{mode=\"idle\",{sel}}})"
                ),
                Unit::None,
                Kind::Gauge,
                Higher,
                Some(1.0),
                Some(2.0),
                All,
                true,
                true,
            ),
            m(
                "qps",
                "qps",
                format!("rate(mysql_global_status_queries{{{sel}}}[1m])"),
                Unit::Rate,
                Kind::Gauge,
                Higher,
                None,
                None,
                All,
                true,
                true,
            ),
            m(
                "read_only",
                "ro",
                format!("mysql_global_variables_read_only{{{sel}}}"),
                Unit::Bool,
                Kind::Info,
                Higher,
                None,
                None,
                All,
                false,
                false,
            ),
            m(
                "server_id",
                "server id",
                format!("mysql_global_variables_server_id{{{sel}}}"),
                Unit::None,
                Kind::Info,
                Higher,
                None,
                None,
                All,
                false,
                false,
            ),
            m(
                "master_server_id",
                "source id",
                format!("mysql_slave_status_master_server_id{{{sel}}}"),
                Unit::None,
                Kind::Info,
                Higher,
                None,
                None,
                Replica,
                false,
                false,
            ),
        ],
        overrides: Vec::new(),
    }
}

/// Formats a value for humans. NaN and infinities are spelled out, never shown as 0.
pub fn format_value(v: f64, unit: Unit) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    match unit {
        Unit::Seconds => format_seconds(v),
        Unit::Ratio => {
            let p = v * 100.0;
            if p.abs() >= 1e6 {
                format!("{}%", compact(p))
            } else if p.abs() < 10.0 && p != 0.0 {
                format!("{p:.1}%")
            } else {
                format!("{p:.0}%")
            }
        }
        Unit::Rate => format!("{}/s", compact(v)),
        Unit::Bool => {
            if v >= 1.0 {
                "yes".into()
            } else {
                "no".into()
            }
        }
        Unit::None => compact(v),
    }
}

/// Short number: `0.42`, `12`, `1.2k`, `34M`, `1.0e+12` for the absurd.
pub fn compact(v: f64) -> String {
    let a = v.abs();
    if a >= 1e12 {
        return format!("{v:.1e}");
    }
    let (d, s) = if a >= 1e9 {
        (1e9, "G")
    } else if a >= 1e6 {
        (1e6, "M")
    } else if a >= 1e4 {
        (1e3, "k")
    } else {
        (1.0, "")
    };
    let x = v / d;
    if s.is_empty() {
        if a == 0.0 {
            "0".into()
        } else if a < 10.0 {
            format!("{x:.2}")
        } else if a < 100.0 {
            format!("{x:.1}")
        } else {
            format!("{x:.0}")
        }
    } else if x.abs() < 10.0 {
        format!("{x:.1}{s}")
    } else {
        format!("{x:.0}{s}")
    }
}

/// `0s`, `45s`, `4m05s`, `2h10m`, `3d4h`; negative durations keep their sign.
pub fn format_seconds(v: f64) -> String {
    if v < 0.0 {
        return format!("-{}", format_seconds(-v));
    }
    if v >= 1e9 {
        return format!("{}s", compact(v));
    }
    if v < 10.0 && v.fract() != 0.0 {
        return format!("{v:.1}s");
    }
    // Truncation is intended: seconds are shown whole.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let s = v.round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{}h", s / 86_400, (s % 86_400) / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_filter_is_escaped_for_promql_and_regex() {
        assert_eq!(cluster_regex(&[]), ".*");
        assert_eq!(cluster_regex(&["payments".into()]), "payments");
        assert_eq!(cluster_regex(&["a".into(), "b.c".into()]), "a|b\\\\.c");
        // A quote or newline cannot end the string and inject PromQL.
        let evil = vec!["x\"} or vector(1) #\n".to_string()];
        let e = expand("mysql_up{cluster=~\"$cluster\"}", &evil);
        assert_eq!(
            e,
            "mysql_up{cluster=~\"x\\\"\\\\} or vector\\\\(1\\\\) #\\n\"}"
        );
    }

    #[test]
    fn preset_expands_without_filter() {
        let p = mysql_preset("instance", "cluster");
        let lag = p.get("lag").expect("lag");
        assert_eq!(
            expand(&lag.expr, &[]),
            "mysql_slave_status_seconds_behind_master{cluster=~\".*\",instance=~\".*\"}"
        );
        let load = p.get("load").expect("load");
        assert!(expand(&load.expr, &[]).contains("count by (cluster, instance)"));
    }

    #[test]
    fn history_expressions_are_narrowed_to_the_host() {
        let p = mysql_preset("instance", "cluster");
        let (e, narrowed) = expand_for_host(
            &p.get("lag").expect("lag").expr,
            "pay.ments",
            "db-1.x",
            true,
        );
        assert!(narrowed);
        assert_eq!(
            e,
            "mysql_slave_status_seconds_behind_master{cluster=~\"pay\\\\.ments\",instance=~\"db-1\\\\.x(:[0-9]+)?\"}"
        );
        let (e, narrowed) = expand_for_host("my_metric{cluster=~\"$cluster\"}", "c", "h", true);
        assert!(!narrowed);
        assert_eq!(e, "my_metric{cluster=~\"c\"}");
    }

    #[test]
    fn utf8_label_names_are_quoted_in_selectors_and_groupings() {
        assert_eq!(label_ref("instance"), "instance");
        assert_eq!(label_ref("_x9"), "_x9");
        assert_eq!(label_ref("host.name"), "\"host.name\"");
        assert_eq!(label_ref("9lives"), "\"9lives\"");
        assert_eq!(label_ref("a\"b"), "\"a\\\"b\"");
        let p = mysql_preset(
            &label_ref("host.name"),
            &label_ref("deployment.environment"),
        );
        let load = expand(&p.get("load").expect("load").expr, &[]);
        assert!(
            load.contains("node_load1{\"deployment.environment\"=~\".*\",\"host.name\"=~\".*\"}"),
            "{load}"
        );
        assert!(
            load.contains("count by (\"deployment.environment\", \"host.name\")"),
            "{load}"
        );
        assert!(
            load.contains("on(\"deployment.environment\", \"host.name\")"),
            "{load}"
        );
    }

    #[test]
    fn host_regex_escapes() {
        assert_eq!(host_regex("db1.x", true), "db1\\.x(:[0-9]+)?");
        assert_eq!(host_regex("a(b", false), "a\\(b");
    }

    #[test]
    fn formats_values() {
        assert_eq!(format_value(0.0, Unit::Seconds), "0s");
        assert_eq!(format_value(245.0, Unit::Seconds), "4m05s");
        assert_eq!(format_value(7300.0, Unit::Seconds), "2h01m");
        assert_eq!(format_value(0.234, Unit::Ratio), "23%");
        assert_eq!(format_value(0.05, Unit::Ratio), "5.0%");
        assert_eq!(format_value(14.2, Unit::Rate), "14.2/s");
        assert_eq!(format_value(12345.0, Unit::Rate), "12k/s");
        assert_eq!(format_value(f64::NAN, Unit::None), "NaN");
        assert_eq!(format_value(f64::INFINITY, Unit::Seconds), "+Inf");
        assert_eq!(format_value(-3.0, Unit::Seconds), "-3s");
        assert_eq!(format_value(1e300, Unit::None), "1.0e300");
        assert_eq!(format_value(0.42, Unit::None), "0.42");
    }
}
