//! Built-in metric presets: what fleetboard queries for a given exporter.

use crate::model::{AppliesTo, Direction, Engine, Kind, MetricDef, MetricSet, Signal, Unit};

/// `exported_<label>` of a label already written for PromQL by [`label_ref`]
/// (`instance` → `exported_instance`, `"host.name"` → `"exported_host.name"`).
fn exported_ref(label_ref: &str) -> String {
    match label_ref.strip_prefix('"') {
        Some(quoted) => format!("\"{}{quoted}", crate::model::host::EXPORTED_PREFIX),
        None => format!("{}{label_ref}", crate::model::host::EXPORTED_PREFIX),
    }
}

/// The labels a preset aggregates by to keep one series per host: the cluster and host
/// labels, and their `exported_` forms that name the host of a series scraped again (see
/// [`crate::model::Identity::key_parts_of`]; absent labels group as empty, so a fleet without
/// them is grouped as by the two alone).
fn host_grouping(host_label: &str, cluster_label: &str) -> String {
    format!(
        "{cluster_label}, {host_label}, {}, {}",
        exported_ref(cluster_label),
        exported_ref(host_label)
    )
}

/// The built-in preset for mysqld_exporter (0.14+) and node_exporter (1.x).
///
/// Every replication metric asks for both naming generations in one query (`a or b`):
/// `SHOW SLAVE STATUS` names (MariaDB, MySQL before 8.4) and `SHOW REPLICA STATUS` names
/// (MySQL 8.4 with mysqld_exporter 0.16+). The series keep their names, so the board knows
/// which one a host reports. The `topology` query brings what role detection needs beyond
/// these (see [`super::roles`]).
pub fn mysql_preset(host_label: &str, cluster_label: &str) -> MetricSet {
    let sel = format!("{cluster_label}=~\"$cluster\",{host_label}=~\"$host\"");
    let by = host_grouping(host_label, cluster_label);
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
        // node_exporter's load is about any host
        engine: (key != "load").then_some(Engine::Mysql),
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
                format!(
                    "mysql_slave_status_seconds_behind_master{{{sel}}} or mysql_slave_status_seconds_behind_source{{{sel}}}"
                ),
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
                format!(
                    "mysql_slave_status_slave_io_running{{{sel}}} or mysql_slave_status_replica_io_running{{{sel}}}"
                ),
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
                format!(
                    "mysql_slave_status_slave_sql_running{{{sel}}} or mysql_slave_status_replica_sql_running{{{sel}}}"
                ),
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
                    "max by ({by}) (mysql_global_status_threads_connected{{{sel}}}) / on({by}) max by ({by}) (mysql_global_variables_max_connections{{{sel}}})"
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
                    "max by ({by}) (node_load1{{{sel}}}) / on({by}) count by ({by}) (max by ({by}, cpu) (node_cpu_seconds_total{{mode=\"idle\",{sel}}}))"
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
                format!(
                    "mysql_slave_status_master_server_id{{{sel}}} or mysql_slave_status_source_server_id{{{sel}}}"
                ),
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
            m(
                super::roles::TOPOLOGY_KEY,
                "topology",
                // PostgreSQL servers' up series: the board notes the servers it leaves out.
                format!(
                    "{} or pg_up{{{sel}}}",
                    super::roles::topology_expr(&sel, &by, host_label)
                ),
                Unit::None,
                Kind::Info,
                Higher,
                None,
                None,
                All,
                false,
                false,
                Some(Signal::Topology),
            ),
        ],
        overrides: Vec::new(),
    }
}

/// The built-in preset for postgres_exporter (0.11 to 0.20, with the series names of each)
/// and node_exporter.
///
/// Replication is judged from evidence, not from `pg_replication_lag_seconds` alone: that
/// series reads 0 on a primary and on any replica that replayed all it received, including
/// one cut off from its primary. `streaming` is the replica's WAL receiver (1 streaming, 0
/// not streaming or none while the collector ran, absent when the collector is off);
/// `walsenders` are the rows of `pg_stat_replication` on every server, matched to replicas by
/// `application_name` or `client_addr` (see [`super::postgres`]).
#[allow(clippy::too_many_lines)]
pub fn postgres_preset(host_label: &str, cluster_label: &str) -> MetricSet {
    let sel = format!("{cluster_label}=~\"$cluster\",{host_label}=~\"$host\"");
    let csel = format!("{cluster_label}=~\"$cluster\"");
    let by = host_grouping(host_label, cluster_label);
    let m = |key: &str,
             label: &str,
             expr: String,
             unit,
             kind,
             (warn, crit),
             applies,
             tile,
             chart,
             signal| {
        MetricDef {
            key: key.into(),
            label: label.into(),
            expr,
            unit,
            kind,
            direction: Direction::Higher,
            warn,
            crit,
            applies_to: applies,
            on_tile: tile,
            chart,
            signal,
            engine: Some(Engine::Postgres),
        }
    };
    use AppliesTo::{All, Replica};
    use Signal::{IntendedDelay, ReadOnly, ReplicationLag, WalReceiver, Walsenders};
    let none = (None, None);
    let load = mysql_preset(host_label, cluster_label)
        .metrics
        .into_iter()
        .filter(|d| d.key == "load");
    let mut metrics = vec![
        m("up", "up", format!("pg_up{{{sel}}}"), Unit::Bool, Kind::Up, none, All, false, false, None),
        // 0.13+ names it pg_replication_lag_seconds; 0.11's example queries.yaml pg_replication_lag
        m(
            "lag",
            "lag",
            format!("pg_replication_lag_seconds{{{sel}}} or pg_replication_lag{{{sel}}}"),
            Unit::Seconds,
            Kind::Gauge,
            (Some(30.0), Some(300.0)),
            Replica,
            true,
            true,
            Some(ReplicationLag),
        ),
        m(
            "streaming",
            "streaming",
            format!(
                "max by ({by}, upstream_host) (pg_stat_wal_receiver_received_tli{{{sel},status=\"streaming\"}} * 0 + 1 \
                 or pg_stat_wal_receiver_received_tli{{{sel}}} * 0) \
                 or on({by}) max by ({by}) (pg_scrape_collector_success{{{sel},collector=\"stat_wal_receiver\"}} == 1) * 0"
            ),
            Unit::Bool,
            Kind::Flag,
            (None, Some(0.0)),
            Replica,
            false,
            false,
            Some(WalReceiver),
        ),
        // Every server's walsenders (a cascading replica has some too). 0.20 keeps
        // pg_wal_lsn_diff; PostgreSQL < 10 has pg_xlog_location_diff.
        m(
            "walsenders",
            "walsenders",
            format!(
                "max by ({by}, application_name, client_addr, state) \
                 (pg_stat_replication_pg_wal_lsn_diff{{{csel}}} or pg_stat_replication_pg_xlog_location_diff{{{csel}}})"
            ),
            Unit::None,
            Kind::Detail,
            none,
            All,
            false,
            false,
            Some(Walsenders),
        ),
        m(
            "connections",
            "conn",
            format!(
                "sum by ({by}) (max by ({by}, datname, state) (pg_stat_activity_count{{{sel}}})) / on({by}) \
                 (max by ({by}) (pg_settings_max_connections{{{sel}}}) \
                 - on({by}) max by ({by}) (pg_settings_superuser_reserved_connections{{{sel}}}))"
            ),
            Unit::Ratio,
            Kind::Gauge,
            (Some(0.75), Some(0.9)),
            All,
            true,
            true,
            None,
        ),
    ];
    metrics.extend(load);
    metrics.extend([
        // Slots not in use hold WAL on their server until the disk fills. Names: 0.11-0.20
        // pg_replication_slots_active; 0.13-0.19 pg_replication_slot_slot_is_active; 0.20
        // pg_replication_slots_slot_is_active. Servers without slots read 0.
        m(
            "slots_inactive",
            "idle slots",
            format!(
                "(sum by ({by}) (max by ({by}, slot_name) (1 - pg_replication_slots_active{{{sel}}})) \
                 or sum by ({by}) (max by ({by}, slot_name) (1 - pg_replication_slots_slot_is_active{{{sel}}})) \
                 or sum by ({by}) (max by ({by}, slot_name) (1 - pg_replication_slot_slot_is_active{{{sel}}}))) \
                 or on({by}) max by ({by}) (pg_up{{{sel}}} == 1) * 0"
            ),
            Unit::Count,
            Kind::Gauge,
            (Some(1.0), None),
            All,
            false,
            false,
            None,
        ),
        m(
            "qps",
            "tps",
            format!(
                "sum by ({by}) (max by ({by}, datname) (rate(pg_stat_database_xact_commit{{{sel}}}[1m]) \
                 + rate(pg_stat_database_xact_rollback{{{sel}}}[1m])))"
            ),
            Unit::Rate,
            Kind::Gauge,
            none,
            All,
            true,
            true,
            None,
        ),
        // is_replica (0.13+); before that, the GUC in_hot_standby (PostgreSQL 14+)
        m(
            "read_only",
            "replica",
            format!("pg_replication_is_replica{{{sel}}} or pg_settings_in_hot_standby{{{sel}}}"),
            Unit::Bool,
            Kind::Info,
            none,
            All,
            false,
            false,
            Some(ReadOnly),
        ),
        m(
            "apply_delay",
            "intended delay",
            format!("pg_settings_recovery_min_apply_delay_seconds{{{sel}}}"),
            Unit::Seconds,
            Kind::Info,
            none,
            Replica,
            false,
            false,
            Some(IntendedDelay),
        ),
        // Patroni's view of each node (roles, streaming, a cluster without leader) and the
        // scrape targets Prometheus finds down: read by name, never shown as a figure.
        MetricDef {
            key: super::roles::TOPOLOGY_KEY.into(),
            label: "topology".into(),
            // MySQL servers' up series: the board notes the servers it leaves out.
            expr: format!(
                "{} or mysql_up{{{sel}}}",
                pg_topology_expr(&sel, host_label)
            ),
            unit: Unit::None,
            kind: Kind::Info,
            direction: Direction::Higher,
            warn: None,
            crit: None,
            applies_to: All,
            on_tile: false,
            chart: false,
            signal: Some(Signal::Topology),
            engine: Some(Engine::Postgres),
        },
        m(
            "replay_age",
            "last replay",
            format!("pg_replication_last_replay_seconds{{{sel}}}"),
            Unit::Seconds,
            Kind::Info,
            none,
            Replica,
            false,
            false,
            None,
        ),
    ]);
    MetricSet {
        metrics,
        overrides: Vec::new(),
    }
}

/// The PostgreSQL preset's topology query: Patroni's view, the scrape targets that are down,
/// and the host names of machines named by address.
fn pg_topology_expr(sel: &str, host_label: &str) -> String {
    format!(
        "{{__name__=~\"{}\",{sel}}} or up{{{sel}}} == 0 or {}",
        super::roles::PATRONI_SERIES,
        super::roles::uname_expr(sel, host_label)
    )
}

/// MySQL and PostgreSQL on one board: every metric of both presets, each asked once for the
/// whole fleet. Metrics both engines have (`up`, `lag`, `connections`, `qps`, `read_only`,
/// `load`) are one query joined with `or` (the two exporters' series never share a label
/// set); the others apply to their engine's hosts only.
pub fn mixed_preset(host_label: &str, cluster_label: &str) -> MetricSet {
    let mut set = mysql_preset(host_label, cluster_label);
    for p in postgres_preset(host_label, cluster_label).metrics {
        match set.metrics.iter_mut().find(|m| m.key == p.key) {
            Some(m) if m.key == "load" => {}
            Some(m) => {
                m.expr = format!("({}) or ({})", m.expr, p.expr);
                m.engine = None;
                if m.key == "qps" {
                    m.label = "q/tps".into();
                }
            }
            None => set.metrics.push(p),
        }
    }
    // Both engines are read: neither's up series is needed to name left-out servers.
    let sel = format!("{cluster_label}=~\"$cluster\",{host_label}=~\"$host\"");
    let by = host_grouping(host_label, cluster_label);
    if let Some(m) = set
        .metrics
        .iter_mut()
        .find(|m| m.signal == Some(Signal::Topology))
    {
        m.expr = format!(
            "({}) or ({})",
            super::roles::topology_expr(&sel, &by, host_label),
            pg_topology_expr(&sel, host_label)
        );
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_engine_presets_ask_for_the_other_engines_up_series_and_mixed_does_not() {
        let topo = |p: &MetricSet| {
            p.metrics[p.by_signal(Signal::Topology).expect("topology")]
                .expr
                .clone()
        };
        let (my, pg, mixed) = (
            topo(&mysql_preset("instance", "cluster")),
            topo(&postgres_preset("instance", "cluster")),
            topo(&mixed_preset("instance", "cluster")),
        );
        assert!(
            my.contains(" or pg_up{") && !my.contains("mysql_up"),
            "{my}"
        );
        assert!(
            pg.contains(" or mysql_up{") && !pg.contains("pg_up"),
            "{pg}"
        );
        assert!(
            !mixed.contains("pg_up") && !mixed.contains("mysql_up"),
            "{mixed}"
        );
        // Mixed still reads both engines' topology.
        assert!(
            mixed.contains("wsrep") && mixed.contains("patroni"),
            "{mixed}"
        );
    }

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

    #[test]
    fn replication_metrics_ask_for_both_naming_generations() {
        let p = mysql_preset("instance", "cluster");
        let sel = "{cluster=~\"$cluster\",instance=~\"$host\"}";
        for (key, old, new) in [
            ("lag", "seconds_behind_master", "seconds_behind_source"),
            ("io_running", "slave_io_running", "replica_io_running"),
            ("sql_running", "slave_sql_running", "replica_sql_running"),
            ("master_server_id", "master_server_id", "source_server_id"),
        ] {
            assert_eq!(
                p.get(key).expect(key).expr,
                format!("mysql_slave_status_{old}{sel} or mysql_slave_status_{new}{sel}")
            );
        }
        let topo = p.by_signal(Signal::Topology).expect("topology query");
        let topo = &p.metrics[topo].expr;
        // Only targets that are down, and only delays and replication errors that are set
        // (one selector: `or` would drop series of one channel that differ by name only).
        assert!(topo.contains(" or up{cluster=~\"$cluster\",instance=~\"$host\"} == 0"));
        assert!(topo.contains(
            " or {__name__=~\"mysql_slave_status_(sql_delay|last_io_errno|last_sql_errno)\",cluster=~\"$cluster\",instance=~\"$host\"} > 0"
        ));
    }
}
