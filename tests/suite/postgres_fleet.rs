//! PostgreSQL fleets: the postgres preset read against answers a real stack gave (three
//! servers, streaming replication, postgres_exporter; `tests/fixtures/postgres/`, recorded
//! by `scripts/capture-pg-fixtures.sh`), a config written by hand for postgres_exporter's
//! default series, and a mixed MySQL + PostgreSQL board.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};

use fleetboard::fleet::metrics::{mixed_preset, postgres_preset};
use fleetboard::fleet::{build, BuildInput};
use fleetboard::model::{
    Engine, Fleet, Health, Host, Identity, MetricSet, MetricState, Reading, Role, Sample,
    SourceError, Vector,
};
use fleetboard::sources::prometheus::parse_instant;

/// Prints the postgres preset's queries as `QUERY<TAB>key<TAB>expr`, for
/// `scripts/capture-pg-fixtures.sh`, which records a real stack's answers to them.
#[test]
#[ignore = "used by scripts/capture-pg-fixtures.sh"]
fn print_postgres_queries() {
    for m in postgres_preset("instance", "cluster").metrics {
        println!(
            "QUERY\t{}\t{}",
            m.key,
            fleetboard::sources::query::expand(&m.expr, &[])
        );
    }
}

fn t0() -> DateTime<Utc> {
    Utc.timestamp_opt(1_796_021_178, 0).unwrap()
}

/// The recorded answers of one state of the stack, one per metric of `set`.
fn recorded(state: &str, set: &MetricSet) -> Vec<Result<Vector, SourceError>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/postgres")
        .join(state);
    set.metrics
        .iter()
        .map(|m| {
            // node_exporter's load of a busy 2-core test machine is about the machine, not
            // about the databases these tests judge
            if m.key == "load" {
                return Ok(Vector::default());
            }
            // recorded before the preset read Patroni; the stack has no Patroni and every
            // scrape target was up, so the topology query's answer was empty
            if m.key == "topology" && !dir.join("topology.json").exists() {
                return Ok(Vector::default());
            }
            let body = std::fs::read(dir.join(format!("{}.json", m.key)))
                .unwrap_or_else(|e| panic!("{state}/{}.json: {e}", m.key));
            Ok(parse_instant(&body).unwrap())
        })
        .collect()
}

fn build_state(state: &str, prev: Option<&Fleet>) -> Fleet {
    let set = postgres_preset("instance", "cluster");
    let results = recorded(state, &set);
    build(
        &set,
        &Identity::default(),
        &BuildInput {
            results: &results,
            alerts: &[],
            taken_at: Some(t0()),
            forget_after: None,
            sources: &[],
        },
        prev,
    )
}

fn host<'a>(f: &'a Fleet, name: &str) -> &'a Host {
    f.hosts
        .iter()
        .find(|h| h.id.name == name)
        .unwrap_or_else(|| panic!("no host {name}"))
}

fn reading<'a>(f: &'a Fleet, name: &str, key: &str) -> &'a Reading {
    let set = postgres_preset("instance", "cluster");
    host(f, name).reading(&set, key).unwrap()
}

#[test]
fn healthy_stack_roles_sources_streaming() {
    let f = build_state("healthy", None);
    let pg1 = host(&f, "pg1");
    assert_eq!(pg1.engine, Some(Engine::Postgres));
    assert_eq!(pg1.role, Role::Primary, "lag 0 on a primary proves nothing");
    assert!(pg1.replication.is_none());
    for r in ["pg2", "pg3"] {
        let h = host(&f, r);
        assert_eq!(h.role, Role::Replica, "{r}");
        assert_eq!(h.health, Health::Ok, "{r}: {:?}", h.reasons);
        let rep = h.replication.as_ref().unwrap();
        assert_eq!(rep.source.as_deref(), Some("pg1"), "{r}");
        assert_eq!(rep.streaming, Some(true), "{r}");
        assert!(!rep.cascading);
        assert_eq!(rep.lag_seconds, Some(0.0));
    }
    assert_eq!(pg1.health, Health::Ok, "{:?}", pg1.reasons);
    // connections: sessions over max_connections - superuser_reserved_connections (50 - 3)
    let c = reading(&f, "pg1", "connections").value.unwrap();
    assert!(c > 0.0 && c < 0.2, "{c}");
}

#[test]
fn replica_cut_from_its_primary_is_crit_with_lag_unknown_not_zero() {
    let set = postgres_preset("instance", "cluster");
    let raw = recorded("cut_pg3", &set);
    // the trap: the exporter's lag for the cut replica reads exactly 0
    let lag_i = set.index("lag").unwrap();
    let raw_lag = raw[lag_i]
        .as_ref()
        .unwrap()
        .iter()
        .find(|s| s.label("instance") == Some("pg3"));
    assert_eq!(raw_lag.map(|s| s.value()), Some(0.0));

    // fresh board (no earlier refresh): the primary's walsender rows tell
    let f = build_state("cut_pg3", None);
    let pg3 = host(&f, "pg3");
    assert_eq!(pg3.health, Health::Crit, "{:?}", pg3.reasons);
    assert!(
        pg3.reasons.iter().any(|r| r.contains("not streaming")),
        "{:?}",
        pg3.reasons
    );
    let rep = pg3.replication.as_ref().unwrap();
    assert_eq!(rep.streaming, Some(false));
    assert_eq!(rep.lag_seconds, None, "never 0 when not streaming");
    let lag = reading(&f, "pg3", "lag");
    assert_eq!(lag.value, None);
    assert_eq!(lag.state, MetricState::Unknown);
    // the other replica is fine; the primary holds an inactive slot for the cut one
    assert_eq!(host(&f, "pg2").health, Health::Ok);
    assert_eq!(
        host(&f, "pg1").health,
        Health::Warn,
        "{:?}",
        host(&f, "pg1").reasons
    );

    // a running board also sees the WAL receiver vanish
    let before = build_state("healthy", None);
    let f = build_state("cut_pg3", Some(&before));
    let st = reading(&f, "pg3", "streaming");
    assert_eq!(st.state, MetricState::Crit);
    assert_eq!(host(&f, "pg3").health, Health::Crit);
}

#[test]
fn paused_replay_under_writes_warns_on_lag() {
    let f = build_state("paused_pg2", None);
    let pg2 = host(&f, "pg2");
    // the receiver still streams; replay is ~40 s behind
    assert_eq!(pg2.replication.as_ref().unwrap().streaming, Some(true));
    assert_eq!(reading(&f, "pg2", "lag").state, MetricState::Warn);
    assert_eq!(pg2.health, Health::Warn.max(pg2.health));
    assert!(
        pg2.reasons.iter().any(|r| r.starts_with("lag ")),
        "{:?}",
        pg2.reasons
    );
    assert_eq!(host(&f, "pg3").health, Health::Ok);
}

#[test]
fn stopped_server_is_down_and_its_slot_warns_on_the_primary() {
    let f = build_state("stopped_pg3", None);
    let pg3 = host(&f, "pg3");
    assert_eq!(pg3.health, Health::Down, "{:?}", pg3.reasons);
    assert!(
        pg3.reasons.iter().any(|r| r.contains("postgres is down")),
        "{:?}",
        pg3.reasons
    );
    let pg1 = host(&f, "pg1");
    assert_eq!(pg1.health, Health::Warn, "{:?}", pg1.reasons);
    assert!(
        pg1.reasons.iter().any(|r| r.contains("idle slots 1")),
        "{:?}",
        pg1.reasons
    );
}

#[test]
fn inactive_slot_on_the_primary_warns() {
    let f = build_state("inactive_slot", None);
    assert_eq!(reading(&f, "pg1", "slots_inactive").value, Some(1.0));
    assert_eq!(host(&f, "pg1").health, Health::Warn);
    for r in ["pg2", "pg3"] {
        assert_eq!(host(&f, r).health, Health::Ok, "{r}");
    }
}

fn pg(inst: &str, v: f64, extra: &[(&str, &str)]) -> Sample {
    let mut labels: std::collections::BTreeMap<String, String> = [
        ("__name__", "pg_up"),
        ("cluster", "ledger"),
        ("instance", inst),
        ("job", "postgres"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
    .collect();
    for (k, v) in extra {
        labels.insert((*k).to_string(), (*v).to_string());
    }
    Sample {
        labels,
        value: v,
        ts: 1_796_021_178.0,
    }
}

/// Hand-made answers for the postgres preset: `rows` are (sender, application_name, state),
/// each 0 bytes behind.
fn answers(
    set: &MetricSet,
    servers: &[(&str, f64, f64)],
    receivers: &[(&str, f64)],
    rows: &[(&str, &str, &str)],
    lag: &[(&str, f64)],
    delay: &[(&str, f64)],
) -> Vec<Result<Vector, SourceError>> {
    answers_behind(set, servers, receivers, rows, lag, delay, 0.0)
}

/// [`answers`] with every walsender row `bytes` behind (`pg_wal_lsn_diff`).
fn answers_behind(
    set: &MetricSet,
    servers: &[(&str, f64, f64)],
    receivers: &[(&str, f64)],
    rows: &[(&str, &str, &str)],
    lag: &[(&str, f64)],
    delay: &[(&str, f64)],
    bytes: f64,
) -> Vec<Result<Vector, SourceError>> {
    set.metrics
        .iter()
        .map(|m| {
            let v: Vec<Sample> = match m.key.as_str() {
                "up" => servers.iter().map(|(h, up, _)| pg(h, *up, &[])).collect(),
                "read_only" => servers.iter().map(|(h, _, r)| pg(h, *r, &[])).collect(),
                "streaming" => receivers.iter().map(|(h, v)| pg(h, *v, &[])).collect(),
                "walsenders" => rows
                    .iter()
                    .map(|(s, a, st)| pg(s, bytes, &[("application_name", a), ("state", st)]))
                    .collect(),
                "lag" => lag.iter().map(|(h, v)| pg(h, *v, &[])).collect(),
                "apply_delay" => delay.iter().map(|(h, v)| pg(h, *v, &[])).collect(),
                _ => Vec::new(),
            };
            Ok(Vector::from(v))
        })
        .collect()
}

fn build_answers(set: &MetricSet, results: &[Result<Vector, SourceError>]) -> Fleet {
    build(
        set,
        &Identity::default(),
        &BuildInput {
            results,
            alerts: &[],
            taken_at: Some(t0()),
            forget_after: None,
            sources: &[],
        },
        None,
    )
}

#[test]
fn cascading_replica_names_its_replica_source() {
    let set = postgres_preset("instance", "cluster");
    let r = answers(
        &set,
        &[("pg1", 1.0, 0.0), ("pg2", 1.0, 1.0), ("pg4", 1.0, 1.0)],
        &[("pg2", 1.0), ("pg4", 1.0)],
        &[("pg1", "pg2", "streaming"), ("pg2", "pg4", "streaming")],
        &[("pg1", 0.0), ("pg2", 0.0), ("pg4", 0.0)],
        &[],
    );
    let f = build_answers(&set, &r);
    let pg4 = host(&f, "pg4").replication.clone().unwrap();
    assert_eq!(pg4.source.as_deref(), Some("pg2"));
    assert!(pg4.cascading);
    assert!(!host(&f, "pg2").replication.as_ref().unwrap().cascading);
    assert!(f.hosts.iter().all(|h| h.health == Health::Ok));
}

#[test]
fn receiver_not_streaming_is_crit_and_unknown_evidence_is_not_ok() {
    let set = postgres_preset("instance", "cluster");
    // pg2's receiver reports another status; pg3 has neither receiver series nor a row
    // naming it while the rows name no host (default application_name): nothing can tell
    let r = answers(
        &set,
        &[("pg1", 1.0, 0.0), ("pg2", 1.0, 1.0), ("pg3", 1.0, 1.0)],
        &[("pg2", 0.0)],
        &[("pg1", "walreceiver", "streaming")],
        &[("pg1", 0.0), ("pg2", 0.0), ("pg3", 0.0)],
        &[],
    );
    let f = build_answers(&set, &r);
    assert_eq!(host(&f, "pg2").health, Health::Crit);
    assert_eq!(
        host(&f, "pg2").replication.as_ref().unwrap().lag_seconds,
        None
    );
    let pg3 = host(&f, "pg3");
    assert_eq!(pg3.health, Health::Unknown, "{:?}", pg3.reasons);
    assert!(
        pg3.reasons[0].contains("stat_wal_receiver"),
        "{:?}",
        pg3.reasons
    );
}

#[test]
fn intended_apply_delay_is_not_lag() {
    let set = postgres_preset("instance", "cluster");
    // an hour of the primary's writes not yet applied
    let r = answers_behind(
        &set,
        &[("pg1", 1.0, 0.0), ("pg2", 1.0, 1.0)],
        &[("pg2", 1.0)],
        &[("pg1", "pg2", "streaming")],
        &[("pg1", 0.0), ("pg2", 3605.0)],
        &[("pg2", 3600.0)],
        4.0e8,
    );
    let f = build_answers(&set, &r);
    assert_eq!(
        host(&f, "pg2").health,
        Health::Ok,
        "{:?}",
        host(&f, "pg2").reasons
    );
    assert_eq!(
        reading(&f, "pg2", "lag").value,
        Some(3605.0),
        "shown as it is"
    );
}

/// postgres_exporter 0.11's `pg_replication_lag` (and many custom queries.yaml) is
/// `now() - pg_last_xact_replay_timestamp()`: on a replica of an idle primary it grows
/// without end though the replica has replayed everything. The primary's walsender row
/// (0 bytes behind) says the replica is caught up; without that row the time is trusted.
#[test]
fn a_caught_up_replica_of_an_idle_primary_is_not_lagging() {
    let set = postgres_preset("instance", "cluster");
    // pg2 900 s "behind", its walsender row named `app` and `bytes` behind
    let case = |app: &str, bytes: f64| {
        build_answers(
            &set,
            &answers_behind(
                &set,
                &[("pg1", 1.0, 0.0), ("pg2", 1.0, 1.0)],
                &[("pg2", 1.0)],
                &[("pg1", app, "streaming")],
                &[("pg1", 0.0), ("pg2", 900.0)],
                &[],
                bytes,
            ),
        )
    };
    let f = case("pg2", 0.0);
    let pg2 = host(&f, "pg2");
    assert_eq!(pg2.health, Health::Ok, "{:?}", pg2.reasons);
    let r = reading(&f, "pg2", "lag");
    assert_eq!((r.value, r.state), (Some(0.0), MetricState::Ok));
    assert!(r.note.is_some_and(|n| n.contains("caught up")), "{r:?}");
    let repl = pg2.replication.as_ref().unwrap();
    assert_eq!(
        (repl.lag_seconds, repl.behind_bytes),
        (Some(0.0), Some(0.0))
    );
    // 5 MB of WAL not replayed: the 900 s are real; and with no row naming pg2 (the
    // default application_name) nothing says it caught up
    for f in [case("pg2", 5.0e6), case("walreceiver", 0.0)] {
        assert_eq!(host(&f, "pg2").health, Health::Crit);
        assert_eq!(reading(&f, "pg2", "lag").value, Some(900.0));
    }
}

/// Field case c17: postgres_exporter's default `replication` series with a hand-written
/// config (`preset = "none"`). pg_replication_lag_seconds is exported on every server, 0 on
/// the primary; the primary used to read as a replica.
#[test]
fn field_c17_hand_written_config_keeps_the_primary_a_primary() {
    let text = r#"
preset = "none"
[metrics.up]
expr = 'pg_up{cluster=~"$cluster",instance=~"$host"}'
kind = "up"
[metrics.lag]
expr = 'pg_replication_lag_seconds{cluster=~"$cluster",instance=~"$host"}'
unit = "seconds"
applies_to = "replica"
warn = 30.0
crit = 300.0
[metrics.read_only]
expr = 'pg_replication_is_replica{cluster=~"$cluster",instance=~"$host"}'
kind = "info"
[metrics.connections]
expr = 'sum by (cluster, instance) (pg_stat_activity_count{cluster=~"$cluster",instance=~"$host"}) / on(cluster, instance) pg_settings_max_connections{cluster=~"$cluster",instance=~"$host"}'
unit = "ratio"
warn = 0.75
crit = 0.9
"#;
    let p = Path::new("c17.toml");
    let file = fleetboard::config::parse(text, p).unwrap();
    let settings =
        fleetboard::config::resolve(&fleetboard::cli::Cli::default(), &file, Some(p)).unwrap();
    let set = &settings.metrics;
    let series = |name: &str, vals: [f64; 3]| -> Vec<Sample> {
        ["pg1", "pg2", "pg3"]
            .iter()
            .zip(vals)
            .map(|(h, v)| {
                let mut s = pg(&format!("{h}:9187"), v, &[]);
                s.labels.insert("__name__".into(), name.into());
                s
            })
            .collect()
    };
    let results: Vec<Result<Vector, SourceError>> = set
        .metrics
        .iter()
        .map(|m| {
            Ok(Vector::from(match m.key.as_str() {
                "up" => series("pg_up", [1.0, 1.0, 1.0]),
                "lag" => series("pg_replication_lag_seconds", [0.0, 3.0, 700.0]),
                "read_only" => series("pg_replication_is_replica", [0.0, 1.0, 1.0]),
                "connections" => series("", [0.15, 0.15, 0.15]),
                _ => Vec::new(),
            }))
        })
        .collect();
    let f = build(
        set,
        &settings.identity,
        &BuildInput {
            results: &results,
            alerts: &[],
            taken_at: Some(t0()),
            forget_after: None,
            sources: &[],
        },
        None,
    );
    let pg1 = host(&f, "pg1");
    assert_eq!(
        pg1.engine,
        Some(Engine::Postgres),
        "from the up series' name"
    );
    assert_eq!(pg1.role, Role::Primary);
    assert_eq!(pg1.health, Health::Ok, "{:?}", pg1.reasons);
    assert_eq!(host(&f, "pg2").role, Role::Replica);
    assert_eq!(host(&f, "pg2").health, Health::Ok);
    let pg3 = host(&f, "pg3");
    assert_eq!(pg3.role, Role::Replica);
    assert!(pg3.health >= Health::Warn, "{:?}", pg3.reasons);
}

#[test]
fn mixed_board_judges_each_host_by_its_engine() {
    let set = mixed_preset("instance", "cluster");
    let my = |inst: &str, name: &str, v: f64| {
        let mut s = pg(inst, v, &[]);
        s.labels.insert("cluster".into(), "payments".into());
        s.labels.insert("__name__".into(), name.into());
        s.labels.insert("job".into(), "mysql".into());
        s
    };
    let results: Vec<Result<Vector, SourceError>> = set
        .metrics
        .iter()
        .map(|m| {
            let v: Vec<Sample> = match m.key.as_str() {
                "up" => vec![
                    my("db1", "mysql_up", 1.0),
                    my("db2", "mysql_up", 1.0),
                    pg("pg1", 1.0, &[]),
                    pg("pg2", 1.0, &[]),
                ],
                "lag" => vec![
                    my("db2", "mysql_slave_status_seconds_behind_master", 0.0),
                    pg("pg1", 0.0, &[]),
                    pg("pg2", 0.0, &[]),
                ],
                "io_running" | "sql_running" => vec![my("db2", "x", 1.0)],
                "read_only" => vec![
                    my("db1", "mysql_global_variables_read_only", 0.0),
                    my("db2", "mysql_global_variables_read_only", 1.0),
                    pg("pg1", 0.0, &[]),
                    pg("pg2", 1.0, &[]),
                ],
                "streaming" => vec![pg("pg2", 1.0, &[])],
                "walsenders" => vec![pg(
                    "pg1",
                    0.0,
                    &[("application_name", "pg2"), ("state", "streaming")],
                )],
                _ => Vec::new(),
            };
            Ok(Vector::from(v))
        })
        .collect();
    let f = build_answers(&set, &results);
    assert_eq!(
        f.clusters,
        vec!["ledger".to_string(), "payments".to_string()]
    );
    for (h, e, role) in [
        ("db1", Engine::Mysql, Role::Primary),
        ("db2", Engine::Mysql, Role::Replica),
        ("pg1", Engine::Postgres, Role::Primary),
        ("pg2", Engine::Postgres, Role::Replica),
    ] {
        let x = host(&f, h);
        assert_eq!(
            (x.engine, x.role, x.health),
            (Some(e), role, Health::Ok),
            "{h}: {:?}",
            x.reasons
        );
    }
    // the other engine's metrics do not apply
    let io = set.index("io_running").unwrap();
    assert_eq!(
        host(&f, "pg2").readings[io].state,
        MetricState::NotApplicable
    );
    let st = set.index("streaming").unwrap();
    assert_eq!(
        host(&f, "db2").readings[st].state,
        MetricState::NotApplicable
    );
    assert_eq!(host(&f, "pg2").readings[st].value, Some(1.0));
    // one query per metric, whatever the engines
    assert_eq!(
        set.metrics.len(),
        set.metrics
            .iter()
            .map(|m| &m.key)
            .collect::<std::collections::HashSet<_>>()
            .len()
    );
}

#[test]
fn without_the_receiver_collector_a_healthy_replica_stays_ok_refresh_after_refresh() {
    // postgres_exporter without --collector.stat_wal_receiver: the walsender rows alone say
    // streaming; the next refresh must not read the absent receiver as "gone"
    let set = postgres_preset("instance", "cluster");
    let r = answers(
        &set,
        &[("pg1", 1.0, 0.0), ("pg2", 1.0, 1.0)],
        &[],
        &[("pg1", "pg2", "streaming")],
        &[("pg1", 0.0), ("pg2", 0.0)],
        &[],
    );
    let first = build_answers(&set, &r);
    assert_eq!(host(&first, "pg2").health, Health::Ok);
    let mut prev = first;
    for _ in 0..3 {
        let next = build(
            &set,
            &Identity::default(),
            &BuildInput {
                results: &r,
                alerts: &[],
                taken_at: Some(t0()),
                forget_after: None,
                sources: &[],
            },
            Some(&prev),
        );
        let pg2 = host(&next, "pg2");
        assert_eq!(pg2.health, Health::Ok, "{:?}", pg2.reasons);
        prev = next;
    }
}

#[test]
fn a_receiver_that_vanishes_is_news_but_a_failed_query_is_not() {
    let set = postgres_preset("instance", "cluster");
    let servers = [("pg1", 1.0, 0.0), ("pg2", 1.0, 1.0)];
    let lag = [("pg1", 0.0), ("pg2", 0.0)];
    // rows that name no host: only the receiver can tell
    let rows = [("pg1", "walreceiver", "streaming")];
    let streaming = answers(&set, &servers, &[("pg2", 1.0)], &rows, &lag, &[]);
    let first = build_answers(&set, &streaming);
    assert_eq!(host(&first, "pg2").health, Health::Ok);
    let with = |results: &[Result<Vector, SourceError>], prev: &Fleet| {
        build(
            &set,
            &Identity::default(),
            &BuildInput {
                results,
                alerts: &[],
                taken_at: Some(t0()),
                forget_after: None,
                sources: &[],
            },
            Some(prev),
        )
    };
    // the receiver query fails: nothing new is known
    let mut failed = streaming.clone();
    let si = set.index("streaming").unwrap();
    failed[si] = Err(SourceError::Timeout(std::time::Duration::from_secs(5)));
    let f = with(&failed, &first);
    assert_ne!(
        host(&f, "pg2").health,
        Health::Crit,
        "{:?}",
        host(&f, "pg2").reasons
    );
    // the receiver's series vanish: it stopped
    let gone = answers(&set, &servers, &[], &rows, &lag, &[]);
    let f = with(&gone, &f);
    assert_eq!(
        host(&f, "pg2").health,
        Health::Crit,
        "{:?}",
        host(&f, "pg2").reasons
    );
}

/// Patroni's `/metrics` series of one node (job `patroni`, the REST API's port).
fn patroni(inst: &str, name: &str, v: f64, cluster: Option<&str>) -> Sample {
    let mut s = pg(inst, v, &[("scope", "ledger"), ("job", "patroni")]);
    s.labels.insert("__name__".into(), name.into());
    s.labels.insert("instance".into(), format!("{inst}:8008"));
    match cluster {
        Some(c) => s.labels.insert("cluster".into(), c.into()),
        None => s.labels.remove("cluster"),
    };
    s
}

/// Answers with Patroni's series added to the topology query.
fn with_patroni(
    set: &MetricSet,
    mut results: Vec<Result<Vector, SourceError>>,
    series: Vec<Sample>,
) -> Vec<Result<Vector, SourceError>> {
    let i = set
        .index("topology")
        .expect("the postgres preset reads Patroni");
    results[i] = Ok(Vector::from(series));
    results
}

#[test]
fn patroni_names_the_leader_even_where_the_exporter_says_nothing_of_roles() {
    let set = postgres_preset("instance", "cluster");
    // no pg_replication_is_replica at all (an exporter without the replication collector)
    let r = answers(
        &set,
        &[("pg1", 1.0, f64::NAN), ("pg2", 1.0, f64::NAN)],
        &[("pg2", 1.0)],
        &[("pg1", "pg2", "streaming")],
        &[("pg2", 0.0)],
        &[],
    );
    let ro = set.index("read_only").unwrap();
    let mut r = r;
    r[ro] = Ok(Vector::default());
    let r = with_patroni(
        &set,
        r,
        vec![
            patroni("pg1", "patroni_primary", 1.0, Some("ledger")),
            patroni("pg1", "patroni_replica", 0.0, Some("ledger")),
            patroni("pg2", "patroni_primary", 0.0, Some("ledger")),
            patroni("pg2", "patroni_replica", 1.0, Some("ledger")),
            patroni("pg2", "patroni_postgres_streaming", 1.0, Some("ledger")),
            patroni("pg1", "patroni_cluster_unlocked", 0.0, Some("ledger")),
            patroni("pg2", "patroni_cluster_unlocked", 0.0, Some("ledger")),
        ],
    );
    let f = build_answers(&set, &r);
    let (pg1, pg2) = (host(&f, "pg1"), host(&f, "pg2"));
    assert_eq!(pg1.role, Role::Primary);
    assert!(pg1.role_evidence.unwrap().contains("patroni"));
    assert_eq!(pg2.role, Role::Replica);
    assert_eq!(pg2.health, Health::Ok, "{:?}", pg2.reasons);
    assert_eq!(pg1.health, Health::Ok, "{:?}", pg1.reasons);
    assert_eq!(pg2.replication.as_ref().unwrap().streaming, Some(true));
}

#[test]
fn patroni_not_streaming_makes_the_replica_crit_when_the_exporter_cannot_tell() {
    let set = postgres_preset("instance", "cluster");
    // no receiver series, rows naming nobody: only Patroni knows
    let r = answers(
        &set,
        &[("pg1", 1.0, 0.0), ("pg2", 1.0, 1.0)],
        &[],
        &[],
        &[("pg2", 0.0)],
        &[],
    );
    let streaming = |v: f64| {
        vec![
            patroni("pg2", "patroni_replica", 1.0, Some("ledger")),
            patroni("pg2", "patroni_postgres_streaming", v, Some("ledger")),
        ]
    };
    let f = build_answers(&set, &with_patroni(&set, r.clone(), streaming(0.0)));
    let pg2 = host(&f, "pg2");
    assert_eq!(pg2.health, Health::Crit, "{:?}", pg2.reasons);
    assert!(
        pg2.reasons.iter().any(|r| r.contains("Patroni")),
        "{:?}",
        pg2.reasons
    );
    assert_eq!(
        reading(&f, "pg2", "lag").value,
        None,
        "a lag of 0 from a replica that does not stream is no lag"
    );
    let f = build_answers(&set, &with_patroni(&set, r, streaming(1.0)));
    assert_eq!(
        host(&f, "pg2").health,
        Health::Ok,
        "{:?}",
        host(&f, "pg2").reasons
    );
}

#[test]
fn patroni_cluster_without_leader_is_crit_and_series_without_cluster_label_join_by_name() {
    let set = postgres_preset("instance", "cluster");
    let r = answers(
        &set,
        &[("pg1", 0.0, f64::NAN), ("pg2", 1.0, 1.0), ("pg3", 1.0, 1.0)],
        &[("pg2", 0.0), ("pg3", 0.0)],
        &[],
        &[],
        &[],
    );
    // Patroni's REST API scraped by a job without the cluster label: joined by name
    let series = ["pg2", "pg3"]
        .iter()
        .flat_map(|h| {
            [
                patroni(h, "patroni_replica", 1.0, None),
                patroni(h, "patroni_primary", 0.0, None),
                patroni(h, "patroni_cluster_unlocked", 1.0, None),
            ]
        })
        .collect();
    let f = build_answers(&set, &with_patroni(&set, r, series));
    for h in ["pg2", "pg3"] {
        let h = host(&f, h);
        assert_eq!(h.health, Health::Crit, "{:?}", h.reasons);
        assert!(
            h.reasons
                .iter()
                .any(|r| r.contains("cluster ledger has no leader")),
            "{:?}",
            h.reasons
        );
        assert!(h.role_evidence.unwrap().contains("patroni"));
    }
    assert_eq!(host(&f, "pg1").health, Health::Down);
    assert!(
        !f.hosts.iter().any(|h| h.id.name.contains("8008")),
        "Patroni's series add no host of their own"
    );
}
