#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::fleet::metrics::mysql_preset;
use crate::model::{AlertState, Labels, Sample};

fn s(pairs: &[(&str, &str)], v: f64) -> Sample {
    Sample {
        labels: pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
        value: v,
        ts: 1.0,
    }
}

fn host(c: &str, h: &str) -> Vec<(&'static str, String)> {
    vec![
        ("cluster", c.to_string()),
        ("instance", format!("{h}:9104")),
    ]
}

fn sv(c: &str, h: &str, v: f64) -> Sample {
    let l = host(c, h);
    let pairs: Vec<(&str, &str)> = l.iter().map(|(k, v)| (*k, v.as_str())).collect();
    s(&pairs, v)
}

/// A healthy two-server cluster (db1 → db2) in the preset's shape.
fn healthy(set: &MetricSet) -> Facts {
    let results = set
        .metrics
        .iter()
        .map(|m| {
            let v: Vec<Sample> = match m.key.as_str() {
                "up" | "connections" | "load" | "qps" => {
                    vec![sv("shop", "db1", 1.0), sv("shop", "db2", 1.0)]
                }
                "server_id" => vec![sv("shop", "db1", 1.0), sv("shop", "db2", 2.0)],
                "read_only" => vec![sv("shop", "db1", 0.0), sv("shop", "db2", 1.0)],
                "lag" => vec![sv("shop", "db2", 0.0)],
                "io_running" | "sql_running" | "master_server_id" => vec![sv("shop", "db2", 1.0)],
                _ => Vec::new(),
            };
            Ok(Vector::from(v))
        })
        .collect();
    Facts {
        engine: Engine {
            url: "http://prom:9090".into(),
            path_prefix: String::new(),
            version: Ok("2.42.0".into()),
            name: "Prometheus".into(),
            answered: true,
        },
        partial: vec![Vec::new(); set.metrics.len()],
        results,
        names: Some(Vector::from(vec![
            s(
                &[("__name__", "mysql_slave_status_seconds_behind_master")],
                1.0,
            ),
            s(&[("__name__", "mysql_slave_status_slave_io_running")], 1.0),
        ])),
        ams: vec![AmFacts {
            url: "http://am:9093".into(),
            version: Ok("0.25.0".into()),
            writable: Ok(true),
        }],
        ..Facts::default()
    }
}

fn without(set: &MetricSet, f: &mut Facts, key: &str, name: &str) {
    let i = set.index(key).unwrap();
    let v: Vec<Sample> = f.results[i]
        .as_ref()
        .unwrap()
        .to_samples()
        .into_iter()
        .filter(|x| {
            x.labels
                .get("instance")
                .is_none_or(|i| !i.starts_with(name))
        })
        .collect();
    f.results[i] = Ok(Vector::from(v));
}

fn levels(r: &Report) -> Vec<(Level, String)> {
    r.findings
        .iter()
        .map(|f| (f.level, f.topic.clone()))
        .collect()
}

#[test]
fn healthy_fleet_exits_zero_and_names_the_generation() {
    let set = mysql_preset("instance", "cluster");
    let r = analyze(&set, &Identity::default(), &healthy(&set));
    assert_eq!(r.exit_code, 0, "{:?}", levels(&r));
    assert_eq!(r.hosts, 2);
    let t = to_text(&r);
    assert!(t.contains("pre-8.4 replica names"), "{t}");
    let lag = r.metrics.iter().find(|m| m.metric == "lag").unwrap();
    assert_eq!((lag.series, lag.hosts_with, lag.hosts_expected), (1, 1, 1));
}

#[test]
fn replica_without_status_names_the_flag_or_the_grant() {
    let set = mysql_preset("instance", "cluster");
    let mut f = healthy(&set);
    for k in ["lag", "io_running", "sql_running", "master_server_id"] {
        without(&set, &mut f, k, "db2");
    }
    // The collector does not run on db2's exporter: the flag.
    f.collectors = Some(Vector::from(vec![s(
        &[
            ("cluster", "shop"),
            ("instance", "db1:9104"),
            ("collector", "collect.slave_status"),
        ],
        0.01,
    )]));
    let r = analyze(&set, &Identity::default(), &f);
    assert_eq!(r.exit_code, 1);
    let fix = r
        .findings
        .iter()
        .find(|x| x.topic == "replication")
        .unwrap();
    assert!(fix.message.contains("shop/db2"), "{fix:?}");
    assert!(
        fix.fix
            .as_deref()
            .unwrap()
            .contains("--collect.slave_status"),
        "{fix:?}"
    );
    // It runs and fails on MariaDB 10.11: the SLAVE MONITOR grant.
    f.collectors = Some(Vector::from(vec![s(
        &[
            ("cluster", "shop"),
            ("instance", "db2:9104"),
            ("collector", "collect.slave_status"),
        ],
        0.01,
    )]));
    f.scrape_errors = f.collectors.clone();
    f.versions = Some(Vector::from(vec![s(
        &[
            ("cluster", "shop"),
            ("instance", "db2:9104"),
            ("version", "10.11.19-MariaDB-0+deb12u1-log"),
        ],
        1.0,
    )]));
    let r = analyze(&set, &Identity::default(), &f);
    let fix = r
        .findings
        .iter()
        .find(|x| x.topic == "replication")
        .unwrap();
    assert!(
        fix.fix.as_deref().unwrap().contains("SLAVE MONITOR"),
        "{fix:?}"
    );
}

#[test]
fn grants_follow_the_server_version() {
    assert!(replica_status_grant(Some("10.11.19-MariaDB")).contains("SLAVE MONITOR"));
    assert!(replica_status_grant(Some("10.4.30-MariaDB")).contains("REPLICATION CLIENT"));
    assert!(replica_status_grant(Some("8.4.3")).contains("REPLICATION CLIENT grant (MySQL 8.4.3)"));
}

#[test]
fn hosts_without_node_exporter_are_named() {
    let set = mysql_preset("instance", "cluster");
    let mut f = healthy(&set);
    without(&set, &mut f, "load", "db1");
    let r = analyze(&set, &Identity::default(), &f);
    assert_eq!(r.exit_code, 1);
    let n = r
        .findings
        .iter()
        .find(|x| x.topic == "node_exporter")
        .unwrap();
    assert!(
        n.message.contains("1 of 2 hosts") && n.message.contains("shop/db1"),
        "{n:?}"
    );
}

#[test]
fn a_machine_named_apart_from_its_database_host_is_named() {
    let set = mysql_preset("instance", "cluster");
    let mut f = healthy(&set);
    // db1's node_exporter target is named by an address that joins nothing
    without(&set, &mut f, "load", "db1");
    let i = set.index("load").unwrap();
    let mut v = f.results[i].as_ref().unwrap().to_samples();
    v.push(s(
        &[("cluster", "shop"), ("instance", "10.0.0.5:9100")],
        0.3,
    ));
    f.results[i] = Ok(Vector::from(v));
    let r = analyze(&set, &Identity::default(), &f);
    let msgs: Vec<&str> = r
        .findings
        .iter()
        .filter(|x| x.topic == "node_exporter")
        .map(|x| x.message.as_str())
        .collect();
    assert_eq!(
        msgs,
        [
            "1 of 2 hosts have no node_exporter data (load): shop/db1",
            "1 machine(s) with node_exporter series and no database exporter under their name are not on the board: shop/10.0.0.5: application servers of a shared Prometheus, or database hosts whose exporters name them another way (`fleetboard doctor`)"
        ]
    );
}

#[test]
fn dropped_series_come_with_an_example() {
    let set = mysql_preset("instance", "cluster");
    let mut f = healthy(&set);
    let i = set.index("qps").unwrap();
    f.results[i] = Ok(Vector::from(vec![s(&[("cluster", "shop")], 3.0)]));
    let r = analyze(&set, &Identity::default(), &f);
    let n = r
        .findings
        .iter()
        .find(|x| x.topic == "labels" && x.message.contains("qps"))
        .unwrap();
    assert!(n.message.contains("e.g. {cluster=\"shop\"}"), "{n:?}");
}

#[test]
fn newer_names_unread_by_the_metrics_are_reported() {
    let mut set = mysql_preset("instance", "cluster");
    let mut f = healthy(&set);
    f.names = Some(Vector::from(vec![s(
        &[("__name__", "mysql_slave_status_seconds_behind_source")],
        1.0,
    )]));
    // The preset reads both generations: the 8.4 names are named, nothing to fix.
    let r = analyze(&set, &Identity::default(), &f);
    let t = to_text(&r);
    assert!(t.contains("8.4 replica names"), "{t}");
    assert!(!t.contains("do not read them"), "{t}");
    assert_eq!(r.exit_code, 0, "{t}");
    // A lag metric of one's own that reads only the pre-8.4 name misses them.
    let lag = set.index("lag").unwrap();
    set.metrics[lag].expr =
        "mysql_slave_status_seconds_behind_master{cluster=~\"$cluster\",instance=~\"$host\"}"
            .into();
    for k in ["io_running", "sql_running", "master_server_id"] {
        let i = set.index(k).unwrap();
        set.metrics[i].expr = set.metrics[i]
            .expr
            .split(" or ")
            .next()
            .unwrap()
            .to_string();
    }
    let r = analyze(&set, &Identity::default(), &f);
    let t = to_text(&r);
    assert!(
        t.contains(
            "`mysql_slave_status_seconds_behind_source` exist but the metrics do not read them"
        ),
        "{t}"
    );
    assert_eq!(r.exit_code, 1);
}

#[test]
fn generation_probe_reads_the_preset_and_spells_the_other_generation() {
    let set = mysql_preset("instance", "cluster");
    let p = generation_probe(&set);
    assert!(p.contains(&"mysql_slave_status_seconds_behind_master".to_string()));
    assert!(
        p.contains(&"mysql_slave_status_seconds_behind_source".to_string()),
        "{p:?}"
    );
    assert!(
        p.contains(&"mysql_slave_status_replica_io_running".to_string()),
        "{p:?}"
    );
    assert!(
        p.contains(&"mysql_slave_status_source_server_id".to_string()),
        "{p:?}"
    );
    assert_eq!(
        other_generation("mysql_slave_status_seconds_behind_source").as_deref(),
        Some("mysql_slave_status_seconds_behind_master")
    );
    assert_eq!(
        metric_names("a{x=\"node_y{\"} / on(c) count by (c) (b_total{m=\"i\"}) or rate(q[1m])"),
        ["a", "b_total", "q"]
    );
}

#[test]
fn unreachable_prometheus_exits_three_and_broken_board_two() {
    let set = mysql_preset("instance", "cluster");
    let mut f = healthy(&set);
    f.results = set
        .metrics
        .iter()
        .map(|_| Err(SourceError::Connect("connection refused".into())))
        .collect();
    assert_eq!(analyze(&set, &Identity::default(), &f).exit_code, 3);
    // Every query refused (a label name Prometheus 2 cannot parse).
    f.results = set
        .metrics
        .iter()
        .map(|_| {
            Err(SourceError::Api {
                kind: "bad_data".into(),
                error: "parse error".into(),
            })
        })
        .collect();
    let r = analyze(&set, &Identity::default(), &f);
    assert_eq!(r.exit_code, 2, "{:?}", levels(&r));
    // Answers, but no host at all.
    f.results = set.metrics.iter().map(|_| Ok(Vector::default())).collect();
    assert_eq!(analyze(&set, &Identity::default(), &f).exit_code, 2);
    // Alertmanager down: 3.
    let mut f = healthy(&set);
    f.ams[0].version = Err("cannot connect".into());
    assert_eq!(analyze(&set, &Identity::default(), &f).exit_code, 3);
}

#[test]
fn pmm_agent_ids_as_host_names_point_to_the_preset() {
    let set = mysql_preset("instance", "cluster");
    let mut f = healthy(&set);
    let i = set.index("up").unwrap();
    f.results[i] = Ok(Vector::from(vec![s(
        &[("cluster", "shop"), ("instance", "/agent_id/75bb30d3")],
        1.0,
    )]));
    let r = analyze(&set, &Identity::default(), &f);
    let n = r.findings.iter().find(|x| x.topic == "identity").unwrap();
    assert!(
        n.fix.as_deref().unwrap().contains("preset = \"pmm\""),
        "{n:?}"
    );
}

/// The healthy fleet with every series named by `name(host)` and given `extra` labels.
fn renamed(set: &MetricSet, name: impl Fn(&str) -> String, extra: &[(&str, &str)]) -> Facts {
    let mut f = healthy(set);
    for r in &mut f.results {
        let v: Vec<Sample> = r
            .as_ref()
            .unwrap()
            .to_samples()
            .into_iter()
            .map(|mut x| {
                let h = x.labels["instance"].trim_end_matches(":9104").to_string();
                x.labels.insert("instance".into(), name(&h));
                for (k, v) in extra {
                    x.labels.insert((*k).into(), (*v).replace("HOST", &h));
                }
                x
            })
            .collect();
        *r = Ok(Vector::from(v));
    }
    f
}

#[test]
fn kubernetes_pod_addresses_as_host_names_point_to_the_pod_label() {
    let set = mysql_preset("instance", "cluster");
    let ip = |h: &str| format!("10.42.0.{}:9104", if h == "db1" { 17 } else { 18 });
    let f = renamed(
        &set,
        ip,
        &[
            ("pod", "orders-HOST"),
            ("namespace", "db"),
            ("service", "orders-mysql"),
        ],
    );
    let r = analyze(&set, &Identity::default(), &f);
    let n = r
        .findings
        .iter()
        .find(|x| x.topic == "identity")
        .expect("an identity finding");
    assert_eq!(n.level, Level::Fix, "{n:?}");
    assert!(n.message.contains("2 of 2 database hosts"), "{n:?}");
    assert!(n.message.contains("10.42.0.17"), "{n:?}");
    let fix = n.fix.as_deref().unwrap();
    assert!(fix.contains("host_label = \"pod\""), "{fix}");
    // The labels present on every host, the most specific first.
    assert!(
        fix.contains("cluster_label = \"service\"") && fix.contains("service, namespace"),
        "{fix}"
    );

    // Addresses without pods: stable names, only a hint.
    let f = renamed(&set, ip, &[]);
    let r = analyze(&set, &Identity::default(), &f);
    let n = r.findings.iter().find(|x| x.topic == "identity").unwrap();
    assert_eq!(n.level, Level::Info, "{n:?}");

    // Host names, or pods already the host label: nothing to say.
    let f = healthy(&set);
    let r = analyze(&set, &Identity::default(), &f);
    assert!(
        !r.findings.iter().any(|x| x.topic == "identity"),
        "{:?}",
        r.findings
    );
}

#[test]
fn addresses_are_told_from_names() {
    for a in ["10.0.0.1", "10.0.0.1:9104", "fd00::1", "[fd00::1]:9104"] {
        assert!(crate::fleet::join::is_address(a), "{a}");
    }
    for n in [
        "db1",
        "db1:9104",
        "db1.example.com",
        "10.0.0",
        "10.0.0.1:",
        "10.0.0.1:x",
    ] {
        assert!(!crate::fleet::join::is_address(n), "{n}");
    }
}

#[test]
fn ambiguous_alert_and_duplicate_names_are_reported() {
    let set = mysql_preset("instance", "cluster");
    let mut f = healthy(&set);
    let i = set.index("up").unwrap();
    let mut v = f.results[i].as_ref().unwrap().to_samples();
    v.push(sv("staging", "db2", 1.0));
    f.results[i] = Ok(Vector::from(v));
    let mut l = Labels::new();
    l.insert("alertname".into(), "MySQLDown".into());
    l.insert("instance".into(), "db2".into());
    l.insert("severity".into(), "critical".into());
    f.alerts = vec![Alert::new("x".into(), l, Labels::new(), AlertState::Active)];
    let r = analyze(&set, &Identity::default(), &f);
    let t = to_text(&r);
    assert!(t.contains("db2 (shop, staging)"), "{t}");
    assert!(
        t.contains("alert MySQLDown matches no host: host db2 is in 2 clusters"),
        "{t}"
    );
    assert_eq!(r.exit_code, 1);
}

#[test]
fn read_only_alertmanager_is_said() {
    let set = mysql_preset("instance", "cluster");
    let mut f = healthy(&set);
    f.ams[0].writable = Ok(false);
    let r = analyze(&set, &Identity::default(), &f);
    assert!(to_text(&r).contains("refuses writes"));
    assert_eq!(r.exit_code, 0);
}

#[test]
fn partial_answers_are_named() {
    let set = mysql_preset("instance", "cluster");
    let mut f = healthy(&set);
    f.partial[0] = vec!["isPartial: true".into()];
    let r = analyze(&set, &Identity::default(), &f);
    assert!(to_text(&r).contains("the answer for `up` was partial: isPartial: true"));
    assert_eq!(r.exit_code, 1);
}

/// A healthy PostgreSQL cluster (pg1 → pg2) in the postgres preset's shape; `receiver` and
/// `app` are the replica's WAL receiver value (None: not collected) and the
/// `application_name` of the primary's row for it.
fn pg_facts(set: &MetricSet, receiver: Option<f64>, app: &str) -> Facts {
    let pg = |h: &str, v: f64| {
        s(
            &[("cluster", "ledger"), ("instance", &format!("{h}:9187"))],
            v,
        )
    };
    let results = set
        .metrics
        .iter()
        .map(|m| {
            let v: Vec<Sample> = match m.key.as_str() {
                "up" | "connections" | "load" | "qps" => vec![pg("pg1", 1.0), pg("pg2", 1.0)],
                "read_only" => vec![pg("pg1", 0.0), pg("pg2", 1.0)],
                "lag" => vec![pg("pg1", 0.0), pg("pg2", 0.0)],
                "slots_inactive" => vec![pg("pg1", 0.0), pg("pg2", 0.0)],
                "streaming" => receiver.map(|v| pg("pg2", v)).into_iter().collect(),
                "walsenders" => vec![s(
                    &[
                        ("cluster", "ledger"),
                        ("instance", "pg1:9187"),
                        ("application_name", app),
                        ("client_addr", "10.1.0.2"),
                        ("state", "streaming"),
                    ],
                    0.0,
                )],
                _ => Vec::new(),
            };
            Ok(Vector::from(v))
        })
        .collect();
    let mut f = healthy(set);
    f.results = results;
    f.names = Some(Vector::from(vec![s(
        &[("__name__", "pg_replication_lag_seconds")],
        2.0,
    )]));
    f
}

#[test]
fn postgres_fleet_healthy_is_ok_and_not_judged_by_mysql_rules() {
    let set = crate::fleet::metrics::postgres_preset("instance", "cluster");
    let r = analyze(
        &set,
        &Identity::default(),
        &pg_facts(&set, Some(1.0), "pg2"),
    );
    assert_eq!(r.exit_code, 0, "{}", to_text(&r));
    let text = to_text(&r);
    assert!(
        !text.contains("8.4"),
        "pg_replication_* is no MySQL generation: {text}"
    );
    assert!(!text.contains("mysqld_exporter"), "{text}");
}

#[test]
fn postgres_receiver_not_collected_names_the_flag() {
    let set = crate::fleet::metrics::postgres_preset("instance", "cluster");
    let r = analyze(&set, &Identity::default(), &pg_facts(&set, None, "pg2"));
    let f = r
        .findings
        .iter()
        .find(|f| f.topic == "postgres receiver")
        .unwrap_or_else(|| panic!("{}", to_text(&r)));
    assert_eq!(f.level, Level::Fix);
    assert!(f.message.contains("ledger/pg2"), "{}", f.message);
    assert!(f
        .fix
        .as_deref()
        .unwrap()
        .contains("--collector.stat_wal_receiver"));
    // the primary's row still names pg2: judged, so not blind
    assert!(!r.findings.iter().any(|f| f.topic == "postgres replication"));
}

#[test]
fn postgres_rows_naming_no_host_ask_for_application_name_and_blind_replicas_are_named() {
    let set = crate::fleet::metrics::postgres_preset("instance", "cluster");
    let r = analyze(
        &set,
        &Identity::default(),
        &pg_facts(&set, None, "walreceiver"),
    );
    let text = to_text(&r);
    let f = r
        .findings
        .iter()
        .find(|f| f.topic == "postgres application_name")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(f.message.contains("walreceiver"), "{}", f.message);
    assert!(f.fix.as_deref().unwrap().contains("primary_conninfo"));
    let blind = r
        .findings
        .iter()
        .find(|f| f.topic == "postgres replication")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(blind.message.contains("ledger/pg2"), "{}", blind.message);
    assert_eq!(r.exit_code, 1);
    // with a receiver the rows still name nobody, but the replica is judged
    let r = analyze(
        &set,
        &Identity::default(),
        &pg_facts(&set, Some(1.0), "walreceiver"),
    );
    assert!(!r.findings.iter().any(|f| f.topic == "postgres replication"));
}

#[test]
fn servers_answering_twice_are_named_with_the_label_that_tells_them_apart() {
    let set = mysql_preset("instance", "cluster");
    let mut f = healthy(&set);
    assert!(analyze(&set, &Identity::default(), &f)
        .findings
        .iter()
        .all(|x| x.topic != "duplicates"));
    // db1 also through a second Prometheus of an HA pair, not deduplicated
    let i = set.index("up").unwrap();
    let mut up = f.results[i].as_ref().unwrap().to_samples();
    up.push(s(
        &[
            ("cluster", "shop"),
            ("instance", "db1:9104"),
            ("prometheus_replica", "b"),
        ],
        1.0,
    ));
    f.results[i] = Ok(Vector::from(up.clone()));
    let r = analyze(&set, &Identity::default(), &f);
    assert_eq!(r.exit_code, 0, "the board reads them right: nothing to fix");
    let d = r.findings.iter().find(|x| x.topic == "duplicates").unwrap();
    assert_eq!(d.level, Level::Info);
    assert!(d.message.starts_with("1 server(s)"), "{d:?}");
    assert!(
        d.message.contains("`prometheus_replica`")
            && d.message.contains("shop/db1 (prometheus_replica=(none)|b)"),
        "{d:?}"
    );
    assert!(d.fix.as_deref().unwrap().contains("replica-label"), "{d:?}");

    // two servers on one machine, one name once the port is stripped: two hosts on the
    // board, each named with its port, which the doctor tells as information
    up.pop();
    up.push(s(&[("cluster", "shop"), ("instance", "db1:9105")], 1.0));
    f.results[i] = Ok(Vector::from(up));
    let r = analyze(&set, &Identity::default(), &f);
    assert!(!r.findings.iter().any(|x| x.topic == "duplicates"), "{r:?}");
    let d = r.findings.iter().find(|x| x.topic == "host names").unwrap();
    assert_eq!(d.level, Level::Info);
    assert!(d.message.contains("shop/db1 (2)"), "{d:?}");

    // a federating Prometheus without honor_labels: its own instance, theirs renamed
    let fed = |h: &str| {
        s(
            &[
                ("cluster", "shop"),
                ("instance", "prom-eu:9090"),
                ("exported_instance", h),
                ("job", "federate"),
            ],
            1.0,
        )
    };
    // read by their own names: no duplicates, an info finding saying so
    f.results[i] = Ok(Vector::from(vec![fed("db1:9104"), fed("db2:9104")]));
    let r = analyze(&set, &Identity::default(), &f);
    assert!(!r.findings.iter().any(|x| x.topic == "duplicates"), "{r:?}");
    let d = r.findings.iter().find(|x| x.topic == "host names").unwrap();
    assert_eq!(d.level, Level::Info);
    assert!(
        d.message
            .starts_with("2 host(s) named by `exported_instance`")
            && d.message.contains("(`instance` prom-eu:9090)"),
        "{d:?}"
    );
    // the same server scraped directly too: twice, told apart by the renamed labels
    let direct = s(
        &[
            ("cluster", "shop"),
            ("instance", "db1:9104"),
            ("job", "mysql"),
        ],
        1.0,
    );
    f.results[i] = Ok(Vector::from(vec![fed("db1:9104"), direct]));
    let r = analyze(&set, &Identity::default(), &f);
    let d = r.findings.iter().find(|x| x.topic == "duplicates").unwrap();
    assert!(d.message.contains("`exported_instance`"), "{d:?}");
    assert!(
        d.fix.as_deref().unwrap().contains("honor_labels: true"),
        "{d:?}"
    );
}

#[test]
fn postgresql_servers_left_out_by_the_mysql_preset_are_a_fix() {
    let set = mysql_preset("instance", "cluster");
    let mut f = healthy(&set);
    let i = set.by_signal(crate::model::Signal::Topology).unwrap();
    f.results[i] = Ok(Vector::from(vec![s(
        &[
            ("__name__", "pg_up"),
            ("cluster", "ledger"),
            ("instance", "pg1:9187"),
        ],
        1.0,
    )]));
    let r = analyze(&set, &Identity::default(), &f);
    let n = r.findings.iter().find(|x| x.topic == "preset").unwrap();
    assert_eq!(n.level, Level::Fix);
    assert!(
        n.message.contains("ledger/pg1") && n.message.contains("--preset mixed"),
        "{n:?}"
    );
}

#[test]
fn a_heartbeat_lag_without_server_id_is_named() {
    let file = crate::config::parse(
        "[metrics.lag]\nexpr = 'max by (cluster, instance) (mysql_heartbeat_now_timestamp_seconds{cluster=~\"$cluster\",instance=~\"$host\"} - mysql_heartbeat_stored_timestamp_seconds{cluster=~\"$cluster\",instance=~\"$host\"})'\n",
        std::path::Path::new("t.toml"),
    )
    .unwrap();
    let set = crate::config::resolve(&crate::cli::Cli::default(), &file, None)
        .unwrap()
        .metrics;
    let mut f = healthy(&set);
    let i = set.index("lag").unwrap();
    let row = |server_id: Option<&str>| {
        let mut l = vec![("cluster", "shop"), ("instance", "db2:9104")];
        if let Some(id) = server_id {
            l.push(("server_id", id));
        }
        s(&l, 1.0)
    };
    f.results[i] = Ok(Vector::from(vec![row(None)]));
    let r = analyze(&set, &Identity::default(), &f);
    let d = r
        .findings
        .iter()
        .find(|x| x.topic == "pt-heartbeat")
        .unwrap();
    assert!(d.message.contains("no `server_id`"), "{d:?}");
    // the rows kept apart: nothing to say
    f.results[i] = Ok(Vector::from(vec![row(Some("1"))]));
    let r = analyze(&set, &Identity::default(), &f);
    assert!(
        !r.findings.iter().any(|x| x.topic == "pt-heartbeat"),
        "{r:?}"
    );
}
