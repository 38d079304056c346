#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::TimeZone;

use super::metrics::mysql_preset;
use super::*;
use crate::model::{AlertState, Labels, Override, Sample, Severity, Vector};

/// The answers a source would give, in the form `build` reads.
fn vectors(r: &[Result<Vec<Sample>, SourceError>]) -> Vec<Result<Vector, SourceError>> {
    r.iter()
        .map(|r| {
            r.as_ref()
                .map(|v| Vector::from(v.clone()))
                .map_err(Clone::clone)
        })
        .collect()
}

fn s(pairs: &[(&str, &str)], v: f64) -> Sample {
    Sample {
        labels: pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
        value: v,
        ts: 1_795_554_331.174,
    }
}

fn mysql(cluster: &str, inst: &str, v: f64) -> Sample {
    s(
        &[
            ("cluster", cluster),
            ("instance", inst),
            ("job", "mysql"),
            ("master_host", "127.0.0.1"),
        ],
        v,
    )
}

fn t0() -> DateTime<Utc> {
    Utc.timestamp_opt(1_795_554_331, 0).unwrap()
}

/// The real stack's shape: payments = db1 → db2, db3; orders = db4 → db5.
struct Stack {
    up: Vec<(&'static str, &'static str, f64)>,
    lag: Vec<(&'static str, &'static str, f64)>,
    io: Vec<(&'static str, &'static str, f64)>,
    sql: Vec<(&'static str, &'static str, f64)>,
}

impl Stack {
    fn healthy() -> Self {
        let reps = vec![
            ("payments", "db2", 0.0),
            ("payments", "db3", 0.0),
            ("orders", "db5", 0.0),
        ];
        let ones: Vec<_> = reps.iter().map(|(c, h, _)| (*c, *h, 1.0)).collect();
        Self {
            up: vec![
                ("payments", "db1", 1.0),
                ("payments", "db2", 1.0),
                ("payments", "db3", 1.0),
                ("orders", "db4", 1.0),
                ("orders", "db5", 1.0),
            ],
            lag: reps,
            io: ones.clone(),
            sql: ones,
        }
    }

    fn results(&self, set: &MetricSet) -> Vec<Result<Vec<Sample>, SourceError>> {
        let conv = |v: &[(&str, &str, f64)]| {
            v.iter()
                .map(|(c, h, x)| mysql(c, h, *x))
                .collect::<Vec<_>>()
        };
        let server_id = |h: &str| f64::from(h.trim_start_matches("db").parse::<u8>().unwrap());
        set.metrics
            .iter()
            .map(|m| {
                Ok(match m.key.as_str() {
                    "up" => conv(&self.up),
                    "lag" => conv(&self.lag),
                    "io_running" => conv(&self.io),
                    "sql_running" => conv(&self.sql),
                    "read_only" => self
                        .up
                        .iter()
                        .filter(|u| u.2 >= 1.0)
                        .map(|(c, h, _)| {
                            mysql(c, h, if ["db1", "db4"].contains(h) { 0.0 } else { 1.0 })
                        })
                        .collect(),
                    "server_id" => self
                        .up
                        .iter()
                        .filter(|u| u.2 >= 1.0)
                        .map(|(c, h, _)| mysql(c, h, server_id(h)))
                        .collect(),
                    "master_server_id" => self
                        .io
                        .iter()
                        .map(|(c, h, _)| mysql(c, h, if *c == "payments" { 1.0 } else { 4.0 }))
                        .collect(),
                    "connections" => self
                        .up
                        .iter()
                        .filter(|u| u.2 >= 1.0)
                        .map(|(c, h, _)| mysql(c, h, 0.0066))
                        .collect(),
                    "load" => self
                        .up
                        .iter()
                        .map(|(c, h, _)| {
                            s(&[("cluster", c), ("instance", h), ("job", "node")], 0.64)
                        })
                        .collect(),
                    _ => Vec::new(),
                })
            })
            .collect()
    }
}

/// One refresh of `results` with no alerts and no earlier refresh.
fn build_plain(set: &MetricSet, results: &[Result<Vec<Sample>, SourceError>]) -> Fleet {
    build(
        set,
        &Identity::default(),
        &BuildInput {
            results: &vectors(results),
            alerts: &[],
            taken_at: Some(t0()),
            forget_after: None,
            sources: &[],
        },
        None,
    )
}

fn build_from(st: &Stack, alerts: &[Alert], prev: Option<&Fleet>) -> Fleet {
    let set = mysql_preset("instance", "cluster");
    let results = st.results(&set);
    build(
        &set,
        &Identity::default(),
        &BuildInput {
            results: &vectors(&results),
            alerts,
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

#[test]
fn healthy_stack_has_roles_sources_and_ok() {
    let f = build_from(&Stack::healthy(), &[], None);
    let names: Vec<_> = f
        .hosts
        .iter()
        .map(|h| (h.id.cluster.as_str(), h.id.name.as_str()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("orders", "db4"),
            ("orders", "db5"),
            ("payments", "db1"),
            ("payments", "db2"),
            ("payments", "db3")
        ]
    );
    for h in &f.hosts {
        assert_eq!(h.health, Health::Ok, "{}: {:?}", h.id.name, h.reasons);
    }
    assert_eq!(host(&f, "db1").role, Role::Primary);
    assert_eq!(host(&f, "db2").role, Role::Replica);
    // master_host is 127.0.0.1 on loopback: the source comes from the server-id join.
    assert_eq!(
        host(&f, "db2")
            .replication
            .as_ref()
            .unwrap()
            .source
            .as_deref(),
        Some("db1")
    );
    assert_eq!(
        host(&f, "db5")
            .replication
            .as_ref()
            .unwrap()
            .source
            .as_deref(),
        Some("db4")
    );
    assert_eq!(f.clusters, vec!["orders", "payments"]);
}

#[test]
fn stopped_sql_thread_is_critical_and_lag_is_unknown_not_zero() {
    let mut st = Stack::healthy();
    st.lag.retain(|l| l.1 != "db3"); // the series vanishes, as with the real exporter
    st.sql.iter_mut().find(|x| x.1 == "db3").unwrap().2 = 0.0;
    let f = build_from(&st, &[], None);
    let db3 = host(&f, "db3");
    assert_eq!(db3.health, Health::Crit);
    let set = mysql_preset("instance", "cluster");
    let lag = db3.reading(&set, "lag").unwrap();
    assert_eq!(lag.value, None);
    assert_eq!(lag.state, MetricState::Unknown);
    let r = db3.replication.as_ref().unwrap();
    assert_eq!(
        (r.sql_running, r.io_running, r.lag_seconds),
        (Some(false), Some(true), None)
    );
    assert_eq!(db3.reasons, vec!["sql thread stopped".to_string()]);
}

#[test]
fn lag_thresholds_and_overrides() {
    let mut st = Stack::healthy();
    st.lag.iter_mut().find(|x| x.1 == "db2").unwrap().2 = 45.0;
    st.lag.iter_mut().find(|x| x.1 == "db5").unwrap().2 = 45.0;
    let mut set = mysql_preset("instance", "cluster");
    set.overrides.push(Override {
        metric: "lag".into(),
        matchers: vec![("cluster".into(), "orders".into())],
        warn: Some(600.0),
        crit: Some(3600.0),
    });
    let results = st.results(&set);
    let f = build_plain(&set, &results);
    assert_eq!(host(&f, "db2").health, Health::Warn);
    assert_eq!(host(&f, "db2").reasons, vec!["lag 45s ≥ 30s".to_string()]);
    // The reporting cluster tolerates more lag.
    assert_eq!(host(&f, "db5").health, Health::Ok);
    assert_eq!(
        host(&f, "db5")
            .thresholds(&set, set.index("lag").unwrap())
            .0,
        Some(600.0)
    );
}

#[test]
fn killed_primary_is_down_and_replica_io_stopped() {
    let mut st = Stack::healthy();
    let before = build_from(&st, &[], None);
    st.up.iter_mut().find(|x| x.1 == "db4").unwrap().2 = 0.0;
    st.io.iter_mut().find(|x| x.1 == "db5").unwrap().2 = 0.0;
    st.lag.retain(|l| l.1 != "db5");
    let f = build_from(&st, &[], Some(&before));
    let db4 = host(&f, "db4");
    assert_eq!(db4.health, Health::Down);
    // The role survives the outage (read_only is gone with the server).
    assert_eq!(db4.role, Role::Primary);
    let db5 = host(&f, "db5");
    assert_eq!(db5.health, Health::Crit);
    assert_eq!(db5.replication.as_ref().unwrap().io_running, Some(false));
    // db4's server_id series is gone; db5 keeps its known source.
    assert_eq!(
        db5.replication.as_ref().unwrap().source.as_deref(),
        Some("db4")
    );
}

#[test]
fn vanished_host_is_exporter_down_then_forgotten() {
    let st = Stack::healthy();
    let before = build_from(&st, &[], None);
    let mut gone = Stack::healthy();
    gone.up.retain(|u| u.1 != "db3");
    gone.lag.retain(|u| u.1 != "db3");
    gone.io.retain(|u| u.1 != "db3");
    gone.sql.retain(|u| u.1 != "db3");
    let f = build_from(&gone, &[], Some(&before));
    // Every series gone: the exporter is down, which says nothing of the database.
    assert_eq!(host(&f, "db3").health, Health::Unknown);
    assert!(host(&f, "db3").exporter_down);
    assert!(
        host(&f, "db3").reasons[0].contains("vanished"),
        "{:?}",
        host(&f, "db3").reasons
    );

    let set = mysql_preset("instance", "cluster");
    let results = gone.results(&set);
    let later = build(
        &set,
        &Identity::default(),
        &BuildInput {
            results: &vectors(&results),
            alerts: &[],
            taken_at: Some(t0() + chrono::Duration::hours(2)),
            forget_after: Some(chrono::Duration::hours(1)),
            sources: &[],
        },
        Some(&f),
    );
    assert!(later.hosts.iter().all(|h| h.id.name != "db3"));
}

#[test]
fn replica_without_slave_status_is_unknown() {
    // mysql_up 1 and read_only 1 but no slave-status series: the exporter lacks a grant.
    let mut st = Stack::healthy();
    st.lag.retain(|u| u.1 != "db2");
    st.io.retain(|u| u.1 != "db2");
    st.sql.retain(|u| u.1 != "db2");
    let f = build_from(&st, &[], None);
    let db2 = host(&f, "db2");
    assert_eq!(db2.role, Role::Replica);
    assert_eq!(db2.health, Health::Unknown);
    assert!(
        db2.reasons.iter().any(|r| r.contains("SLAVE MONITOR")),
        "{:?}",
        db2.reasons
    );
}

fn alert(name: &str, inst: &str, sev: &str, state: AlertState) -> Alert {
    Alert {
        fingerprint: format!("{name}{inst}"),
        severity: Severity::from_label(Some(sev)),
        labels: [
            ("alertname", name),
            ("instance", inst),
            ("cluster", "payments"),
            ("severity", sev),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect(),
        annotations: Labels::new(),
        state,
        silenced_by: if state == AlertState::Suppressed {
            vec!["x".into()]
        } else {
            vec![]
        },
        inhibited_by: vec![],
        starts_at: None,
        generator_url: None,
    }
}

#[test]
fn alerts_fold_into_health_and_silenced_ones_are_muted() {
    let alerts = vec![
        alert(
            "MySQLReplicationStopped",
            "db3:9104",
            "critical",
            AlertState::Active,
        ),
        alert("NodeHighLoad", "db2", "warning", AlertState::Suppressed),
        alert("Watchdog", "", "none", AlertState::Active),
        alert("MySQLDown", "db9", "critical", AlertState::Active),
    ];
    let f = build_from(&Stack::healthy(), &alerts, None);
    assert_eq!(host(&f, "db3").health, Health::Crit);
    assert_eq!(host(&f, "db3").active_alerts(), 1);
    assert_eq!(host(&f, "db2").health, Health::Ok);
    assert_eq!(host(&f, "db2").muted_alerts(), 1);
    assert_eq!(f.other_alerts.len(), 2);
}

#[test]
fn odd_series_are_explained() {
    let set = mysql_preset("instance", "cluster");
    let mut results: Vec<Result<Vec<Sample>, SourceError>> =
        set.metrics.iter().map(|_| Ok(Vec::new())).collect();
    results[0] = Ok(vec![
        s(&[("cluster", "c"), ("instance", "a:9104")], 1.0),
        s(
            &[("cluster", "c"), ("instance", "a:9104"), ("job", "again")],
            0.0,
        ),
        s(&[("cluster", "c")], 1.0),
        s(&[("instance", "lonely")], 1.0),
        // two servers of one machine, told apart by port only
        s(&[("cluster", "d"), ("instance", "m:9104")], 1.0),
        s(&[("cluster", "d"), ("instance", "m:9105")], 0.0),
    ]);
    results[1] = Err(SourceError::Timeout(std::time::Duration::from_secs(4)));
    let f = build_plain(&set, &results);
    // Duplicates keep the worst (up 0 → DOWN); the unlabelled one is counted.
    assert_eq!(f.hosts.len(), 4);
    assert_eq!(host(&f, "a").health, Health::Down);
    assert_eq!(host(&f, "m:9104").health, Health::Ok);
    assert_eq!(host(&f, "m:9105").health, Health::Down);
    assert_eq!(host(&f, "lonely").id.cluster, NO_CLUSTER);
    let notes = f.notes.join("\n");
    assert!(
        notes.contains("1 series of `up` had no `instance` label"),
        "{notes}"
    );
    assert!(notes.contains("duplicate"), "{notes}");
    assert!(notes.contains("query `lag` failed"), "{notes}");
    assert!(notes.contains(NO_CLUSTER), "{notes}");
    assert!(
        notes.contains("database servers told apart only by the port of their `instance`, each a host of its own named with it: d/m (2)"),
        "{notes}"
    );
}

#[test]
fn failed_metric_keeps_previous_values_marked_stale() {
    let set = mysql_preset("instance", "cluster");
    let st = Stack::healthy();
    let mut results = st.results(&set);
    let li = set.index("load").unwrap();
    let before = build_plain(&set, &results);
    results[li] = Err(SourceError::Http {
        status: 503,
        body: String::new(),
    });
    let f = build(
        &set,
        &Identity::default(),
        &BuildInput {
            results: &vectors(&results),
            alerts: &[],
            taken_at: Some(t0()),
            forget_after: None,
            sources: &[],
        },
        Some(&before),
    );
    let r = &host(&f, "db1").readings[li];
    assert_eq!(r.value, Some(0.64));
    assert!(r.stale);
}

#[test]
fn nan_and_inf_values() {
    let mut st = Stack::healthy();
    st.lag.iter_mut().find(|x| x.1 == "db2").unwrap().2 = f64::NAN;
    st.lag.iter_mut().find(|x| x.1 == "db3").unwrap().2 = f64::INFINITY;
    let f = build_from(&st, &[], None);
    assert_eq!(host(&f, "db2").health, Health::Unknown);
    assert_eq!(host(&f, "db3").health, Health::Crit);
}

#[test]
fn host_names_strip_ports() {
    let id = Identity::default();
    assert_eq!(id.host_name("db1:9104"), "db1");
    assert_eq!(id.host_name("db1"), "db1");
    assert_eq!(id.host_name("[::1]:9104"), "[::1]");
    assert_eq!(id.host_name("fe80::1"), "fe80::1");
    assert_eq!(id.host_name("host:abc"), "host:abc");
    let keep = Identity {
        strip_port: false,
        ..Identity::default()
    };
    assert_eq!(keep.host_name("db1:9104"), "db1:9104");
}

#[test]
fn more_results_than_metrics_do_not_panic() {
    // Found by tests/suite/health_prop.rs: a failed result past the last metric indexed the
    // metric list out of bounds while writing its note.
    let set = mysql_preset("instance", "cluster");
    let mut results: Vec<Result<Vec<Sample>, SourceError>> =
        (0..set.metrics.len()).map(|_| Ok(Vec::new())).collect();
    results.push(Err(SourceError::Other("extra".into())));
    let f = build_plain(&set, &results);
    assert!(f.hosts.is_empty());
}

#[test]
fn host_labels_are_merged_sorted_and_share_strings() {
    let st = Stack::healthy();
    let first = build_from(&st, &[], None);
    let db2 = host(&first, "db2");
    let names: Vec<&str> = db2.labels.iter().map(|(k, _)| k).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    assert!(!names.contains(&"__name__"));
    // `job` comes from the first series of the host (mysql), not from the node series.
    assert_eq!(db2.labels.get("job"), Some("mysql"));
    assert_eq!(db2.labels.get("cluster"), Some("payments"));
    // One copy of a cluster name for all its hosts within a refresh...
    let c1 = &host(&first, "db1").labels;
    let c2 = &db2.labels;
    let cl = |l: &HostLabels| l.entry("cluster").map(|(_, v)| Arc::clone(v));
    assert!(Arc::ptr_eq(&cl(c1).unwrap(), &cl(c2).unwrap()));
    // ...and the next refresh reuses the previous refresh's strings.
    let second = build_from(&st, &[], Some(&first));
    let again = &host(&second, "db2").labels;
    assert_eq!(again, &db2.labels);
    for (k, _) in again.iter() {
        let (k1, v1) = again.entry(k).unwrap();
        let (k2, v2) = db2.labels.entry(k).unwrap();
        assert!(Arc::ptr_eq(k1, k2) && Arc::ptr_eq(v1, v2), "{k1}={v1}");
    }
}

#[test]
fn a_host_with_thousands_of_labels_is_merged_in_one_sort() {
    // Two metrics of one host repeat 20,000 labels with different values: the first
    // metric's values win, and the merge stays n log n (a scan per label would not finish).
    let set = mysql_preset("instance", "cluster");
    let many = |v: &str| {
        let mut pairs: Vec<(String, String)> = (0..20_000)
            .map(|i| (format!("l{i:05}"), v.to_string()))
            .collect();
        pairs.push(("cluster".into(), "c".into()));
        pairs.push(("instance".into(), "db1".into()));
        Sample {
            labels: pairs.into_iter().collect(),
            value: 1.0,
            ts: 0.0,
        }
    };
    let mut results: Vec<Result<Vec<Sample>, SourceError>> =
        set.metrics.iter().map(|_| Ok(Vec::new())).collect();
    results[0] = Ok(vec![many("first")]);
    results[1] = Ok(vec![many("second")]);
    let f = build_plain(&set, &results);
    let h = host(&f, "db1");
    assert_eq!(h.labels.len(), 20_002);
    assert_eq!(h.labels.get("l12345"), Some("first"));
}

/// The stack split over two sources: payments from `eu`, orders from `us`.
fn two_sources(
    st: &Stack,
    set: &MetricSet,
    keep: &[&str],
) -> Vec<Result<Vec<Sample>, SourceError>> {
    st.results(set)
        .into_iter()
        .map(|r| {
            r.map(|v| {
                v.into_iter()
                    .filter_map(|mut s| {
                        let src = if s.labels["cluster"] == "payments" {
                            "eu"
                        } else {
                            "us"
                        };
                        s.labels.insert(SOURCE_LABEL.into(), src.into());
                        keep.contains(&src).then_some(s)
                    })
                    .collect()
            })
        })
        .collect()
}

fn status(name: &str, partial: Option<&str>, error: Option<SourceError>) -> SourceStatus {
    SourceStatus {
        name: name.into(),
        partial: partial.map(|p| vec![p.to_string()]).unwrap_or_default(),
        error,
        ..SourceStatus::default()
    }
}

fn build_sources(
    set: &MetricSet,
    results: &[Result<Vec<Sample>, SourceError>],
    sources: &[SourceStatus],
    prev: Option<&Fleet>,
    at: DateTime<Utc>,
) -> Fleet {
    build(
        set,
        &Identity::default(),
        &BuildInput {
            results: &vectors(results),
            alerts: &[],
            taken_at: Some(at),
            forget_after: Some(chrono::Duration::minutes(5)),
            sources,
        },
        prev,
    )
}

#[test]
fn hosts_missing_from_a_partial_or_failed_source_are_stale_never_down() {
    let set = mysql_preset("instance", "cluster");
    let st = Stack::healthy();
    let ok = [status("eu", None, None), status("us", None, None)];
    let f1 = build_sources(
        &set,
        &two_sources(&st, &set, &["eu", "us"]),
        &ok,
        None,
        t0(),
    );
    assert_eq!(f1.hosts.len(), 5);
    assert!(
        f1.hosts.iter().all(|h| h.health == Health::Ok),
        "{:?}",
        f1.hosts
    );
    let db1 = f1
        .find(&HostId {
            cluster: "payments".into(),
            name: "db1".into(),
        })
        .unwrap();
    assert_eq!(db1.source.as_deref(), Some("eu"));
    assert!(
        db1.labels.get(SOURCE_LABEL).is_none(),
        "the tag is not a host label"
    );

    // eu's store fails: Thanos answers 200 with us's series only and a warning.
    let why = "receive series from Addr: sidecar-eu:10901: connection refused";
    let partial = [status("eu", Some(why), None), status("us", None, None)];
    let us_only = two_sources(&st, &set, &["us"]);
    let later = t0() + chrono::Duration::seconds(10);
    let f2 = build_sources(&set, &us_only, &partial, Some(&f1), later);
    assert_eq!(f2.hosts.len(), 5, "no host dropped");
    for h in &f2.hosts {
        if h.id.cluster == "payments" {
            assert_eq!(h.health, Health::Stale, "{}: {:?}", h.id.name, h.reasons);
            assert!(
                h.reasons[0].contains("partially") && h.reasons[0].contains(why),
                "{:?}",
                h.reasons
            );
            assert!(h.readings.iter().all(|r| r.stale));
            assert_eq!(h.last_seen, t0(), "last good data keeps its time");
            // The last good values are still there.
            assert_eq!(h.reading(&set, "up").and_then(|r| r.value), Some(1.0));
        } else {
            assert_eq!(h.health, Health::Ok, "{}: {:?}", h.id.name, h.reasons);
        }
    }

    // eu down as a whole for longer than forget_after: still stale, with the source's error.
    let down = [
        status(
            "eu",
            None,
            Some(SourceError::Connect("connection refused".into())),
        ),
        status("us", None, None),
    ];
    let much_later = t0() + chrono::Duration::minutes(30);
    let f3 = build_sources(&set, &us_only, &down, Some(&f2), much_later);
    assert_eq!(f3.hosts.len(), 5);
    let db2 = f3
        .find(&HostId {
            cluster: "payments".into(),
            name: "db2".into(),
        })
        .unwrap();
    assert_eq!(db2.health, Health::Stale);
    assert!(
        db2.reasons[0].contains("source eu failed: cannot connect"),
        "{:?}",
        db2.reasons
    );

    // eu answers completely again without db3: that is evidence about db3.
    let mut st2 = Stack::healthy();
    st2.up.retain(|u| u.1 != "db3");
    st2.lag.retain(|u| u.1 != "db3");
    st2.io.retain(|u| u.1 != "db3");
    st2.sql.retain(|u| u.1 != "db3");
    let f4 = build_sources(
        &set,
        &two_sources(&st2, &set, &["eu", "us"]),
        &ok,
        Some(&f3),
        much_later,
    );
    let db3 = f4
        .find(&HostId {
            cluster: "payments".into(),
            name: "db3".into(),
        })
        .unwrap();
    // Judged again on evidence (its series vanished from a complete answer), not stale.
    assert_ne!(db3.health, Health::Stale, "{:?}", db3.reasons);
    assert!(db3.reasons[0].contains("vanished"), "{:?}", db3.reasons);
    let db1 = f4
        .find(&HostId {
            cluster: "payments".into(),
            name: "db1".into(),
        })
        .unwrap();
    assert_eq!(db1.health, Health::Ok);
}

#[test]
fn a_stale_host_says_what_was_known_before() {
    let set = mysql_preset("instance", "cluster");
    let mut st = Stack::healthy();
    st.lag[0].2 = 400.0; // db2 CRIT on lag
    let ok = [status("eu", None, None), status("us", None, None)];
    let f1 = build_sources(
        &set,
        &two_sources(&st, &set, &["eu", "us"]),
        &ok,
        None,
        t0(),
    );
    let partial = [
        status("eu", Some("store down"), None),
        status("us", None, None),
    ];
    let f2 = build_sources(
        &set,
        &two_sources(&st, &set, &["us"]),
        &partial,
        Some(&f1),
        t0(),
    );
    let f3 = build_sources(
        &set,
        &two_sources(&st, &set, &["us"]),
        &partial,
        Some(&f2),
        t0(),
    );
    let db2 = f3
        .find(&HostId {
            cluster: "payments".into(),
            name: "db2".into(),
        })
        .unwrap();
    assert_eq!(db2.health, Health::Stale);
    assert_eq!(db2.reasons[1], "last known: CRIT", "{:?}", db2.reasons);
    assert!(
        db2.reasons[2].starts_with("last known: lag"),
        "{:?}",
        db2.reasons
    );
    assert_eq!(db2.reasons.len(), 3, "{:?}", db2.reasons);
}

#[test]
fn a_kubernetes_pod_back_under_a_new_address_replaces_its_old_host() {
    // Prometheus Operator's targets: instance = the pod's address, which a restarted pod
    // does not keep; the pod label names the server.
    let set = mysql_preset("instance", "cluster");
    let up = |pods: &[(&str, &str, &str)]| -> Vec<Result<Vector, SourceError>> {
        set.metrics
            .iter()
            .map(|m| {
                Ok(Vector::from(if m.key == "up" {
                    pods.iter()
                        .map(|(ns, pod, ip)| {
                            s(
                                &[
                                    ("__name__", "mysql_up"),
                                    ("cluster", "orders"),
                                    ("instance", &format!("{ip}:9104")),
                                    ("job", "mysql"),
                                    ("namespace", ns),
                                    ("pod", pod),
                                ],
                                1.0,
                            )
                        })
                        .collect()
                } else {
                    Vec::new()
                }))
            })
            .collect()
    };
    let at = |results: &[Result<Vector, SourceError>], previous: Option<&Fleet>| {
        build(
            &set,
            &Identity::default(),
            &BuildInput {
                results,
                alerts: &[],
                taken_at: Some(t0()),
                forget_after: Some(chrono::Duration::hours(1)),
                sources: &[],
            },
            previous,
        )
    };
    let before = at(
        &up(&[
            ("db", "orders-mysql-0", "10.42.0.17"),
            ("db", "orders-mysql-1", "10.42.1.5"),
            ("db", "orders-mysql-2", "10.42.2.4"),
            ("staging", "orders-mysql-2", "10.43.0.8"),
        ]),
        None,
    );
    assert_eq!(before.hosts.len(), 4);
    // orders-mysql-1 restarted with a new address; orders-mysql-2 of db is being rescheduled
    // (no new pod yet); staging's orders-mysql-2 carries on.
    let after = at(
        &up(&[
            ("db", "orders-mysql-0", "10.42.0.17"),
            ("db", "orders-mysql-1", "10.42.1.9"),
            ("staging", "orders-mysql-2", "10.43.0.8"),
        ]),
        Some(&before),
    );
    let names: Vec<&str> = after.hosts.iter().map(|h| h.id.name.as_str()).collect();
    assert_eq!(names, ["10.42.0.17", "10.42.1.9", "10.42.2.4", "10.43.0.8"]);
    // The pod not back yet stays, without series: its server is really away.
    let away = after
        .hosts
        .iter()
        .find(|h| h.id.name == "10.42.2.4")
        .unwrap();
    assert_eq!(away.health, Health::Unknown);
    assert!(
        after
            .notes
            .iter()
            .any(|n| n.contains("1 Kubernetes pod(s)") && n.contains("10.42.1.9 (was 10.42.1.5)")),
        "{:?}",
        after.notes
    );

    // One exporter pod probing several servers (multi-target mysqld_exporter): the pod names
    // none of them, and a server gone from its targets is no restart of another.
    let prober = [
        ("mon", "mysqld-exporter-7d9f", "10.0.0.5"),
        ("mon", "mysqld-exporter-7d9f", "10.0.0.6"),
    ];
    let before = at(&up(&prober), None);
    let after = at(&up(&prober[..1]), Some(&before));
    let names: Vec<&str> = after.hosts.iter().map(|h| h.id.name.as_str()).collect();
    assert_eq!(names, ["10.0.0.5", "10.0.0.6"]);
    assert!(
        !after.notes.iter().any(|n| n.contains("Kubernetes")),
        "{:?}",
        after.notes
    );
}
