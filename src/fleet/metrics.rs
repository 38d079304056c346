//! Built-in metric presets: what fleetboard queries for a given exporter.

use crate::model::{AppliesTo, Direction, Kind, MetricDef, MetricSet, Signal, Unit};

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
             chart,
             signal| MetricDef {
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
        signal,
    };
    use AppliesTo::{All, Replica};
    use Direction::{Higher, Lower};
    use Signal::{IoThread, ReadOnly, ReplicationLag, ServerId, SourceServerId, SqlThread};
    MetricSet {
        metrics: vec![
            m("up", "up", format!("mysql_up{{{sel}}}"), Unit::Bool, Kind::Up, Lower, None, None, All, false, false, None),
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
                Some(ReplicationLag),
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
                Some(IoThread),
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
                Some(SqlThread),
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
                None,
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
                None,
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
                None,
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
                Some(ReadOnly),
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
                Some(ServerId),
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
                Some(SourceServerId),
            ),
        ],
        overrides: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replication_metrics_are_found_by_signal() {
        let p = mysql_preset("instance", "cluster");
        for (sig, key) in [
            (Signal::ReplicationLag, "lag"),
            (Signal::IoThread, "io_running"),
            (Signal::SqlThread, "sql_running"),
            (Signal::ReadOnly, "read_only"),
            (Signal::ServerId, "server_id"),
            (Signal::SourceServerId, "master_server_id"),
        ] {
            assert_eq!(p.by_signal(sig), p.index(key), "{sig:?}");
        }
        let mut renamed = p.clone();
        renamed.metrics[1].key = "replica_delay".into();
        assert_eq!(renamed.by_signal(Signal::ReplicationLag), Some(1));
    }
}
