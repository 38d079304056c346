//! Replication setups real MySQL/MariaDB fleets run, read through the preset's queries.
//!
//! Each fixture in `tests/fixtures/exporters/` is mysqld_exporter's text format for a small
//! fleet (the series current exporters really emit, with `cluster`/`instance` labels as a
//! scrape with `honor_labels` keeps them). Every query of the preset is answered from it the
//! way Prometheus answers: selectors by name (`a or b`, `{__name__=~"..."}`) keep each
//! series' name; empty label values are dropped; `a - b` matches on all other labels. The
//! fleet is built and the snapshot report made from it, as `fleetboard snapshot` does.
//! The same fixtures are scraped by a real Prometheus in `tests/e2e_replication.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{TimeZone, Utc};
use fleetboard::cli::Cli;
use fleetboard::config;
use fleetboard::fleet::{self, BuildInput};
use fleetboard::model::{Fleet, Health, Identity, MetricSet, Role, Sample, SourceError, Vector};
use fleetboard::report;
use fleetboard::sources::query::expand;
use serde_json::Value;

fn fixture(name: &str) -> Vec<Sample> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/exporters")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(parse_line)
        .collect()
}

/// `name{a="x",b=""} 1.5` → a sample without the empty labels (Prometheus drops them).
fn parse_line(l: &str) -> Sample {
    let (head, value) = l.rsplit_once(' ').unwrap();
    let (name, rest) = head.split_once('{').unwrap_or((head, "}"));
    let mut labels = BTreeMap::new();
    labels.insert("__name__".to_string(), name.to_string());
    for pair in rest
        .trim_end_matches('}')
        .split("\",")
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once("=\"").unwrap();
        let v = v.trim_end_matches('"');
        if !v.is_empty() {
            labels.insert(k.to_string(), v.to_string());
        }
    }
    Sample {
        labels,
        value: value.parse().unwrap(),
        ts: 1_795_554_331.0,
    }
}

/// One selector: `name{...}` or `{__name__=~"re",...}`; the cluster/host matchers of the
/// preset are `.*` for the whole fleet and are not evaluated.
fn select(sel: &str, db: &[Sample]) -> Vec<Sample> {
    let sel = sel.trim().trim_start_matches('(').trim_end_matches(')');
    let (name, body) = sel.split_once('{').unwrap_or((sel, ""));
    let re = body.split_once("__name__=~\"").map(|(_, r)| {
        regex::Regex::new(&format!("^(?:{})$", r.split('"').next().unwrap())).unwrap()
    });
    db.iter()
        .filter(|s| {
            let n = &s.labels["__name__"];
            if name.is_empty() {
                re.as_ref().is_some_and(|re| re.is_match(n))
            } else {
                n == name
            }
        })
        .cloned()
        .collect()
}

/// The subset of PromQL the preset's replication and topology queries (and the heartbeat
/// snippet) use; any other expression (rates, joins of node metrics) gets an empty answer.
fn eval(expr: &str, db: &[Sample]) -> Vec<Sample> {
    if expr.contains("rate(")
        || expr.contains(" / ")
        || expr.contains("count by(")
        || expr.contains("count by (")
    {
        return Vec::new();
    }
    if let Some((a, b)) = expr.split_once(" - ") {
        let key = |s: &Sample| {
            let mut l = s.labels.clone();
            l.remove("__name__");
            l
        };
        let right: Vec<Sample> = select(b, db);
        return select(a, db)
            .into_iter()
            .filter_map(|x| {
                let k = key(&x);
                right.iter().find(|y| key(y) == k).map(|y| Sample {
                    labels: k,
                    value: x.value - y.value,
                    ts: x.ts,
                })
            })
            .collect();
    }
    let mut out: Vec<Sample> = Vec::new();
    for branch in split_or(expr) {
        let left = out.len();
        for s in branch_eval(branch, db) {
            // `or` keeps a right-hand series only when no left-hand one has its labels.
            let same = |o: &Sample| {
                o.labels
                    .iter()
                    .filter(|(k, _)| *k != "__name__")
                    .eq(s.labels.iter().filter(|(k, _)| *k != "__name__"))
            };
            if !out[..left].iter().any(same) {
                out.push(s);
            }
        }
    }
    out
}

/// Top-level ` or ` branches (not inside parentheses or braces).
fn split_or(expr: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    let b = expr.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'(' | b'{' => depth += 1,
            b')' | b'}' => depth -= 1,
            _ if depth == 0 && expr[i..].starts_with(" or ") => {
                out.push(&expr[start..i]);
                i += 4;
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(&expr[start..]);
    out
}

/// One branch: `(A and on(l, m) B)`, `(A or B)`, `A > 0`, `A == 0` or a selector.
fn branch_eval(branch: &str, db: &[Sample]) -> Vec<Sample> {
    let b = branch.trim();
    if let Some(inner) = b.strip_prefix('(').and_then(|x| x.strip_suffix(')')) {
        // `(A) or (B)` of the mixed preset: a group of its own.
        let Some((a, rest)) = inner.split_once(" and on(") else {
            return eval(inner, db);
        };
        let (on, right) = rest.split_once(") ").unwrap();
        let keys: Vec<&str> = on.split(',').map(str::trim).collect();
        let key = |s: &Sample| -> Vec<Option<String>> {
            keys.iter().map(|k| s.labels.get(*k).cloned()).collect()
        };
        let rights: Vec<_> = select(right, db).iter().map(key).collect();
        return select(a, db)
            .into_iter()
            .filter(|s| rights.contains(&key(s)))
            .collect();
    }
    if let Some(x) = b.strip_suffix(" > 0") {
        return select(x, db)
            .into_iter()
            .filter(|s| s.value > 0.0)
            .collect();
    }
    if let Some(x) = b.strip_suffix(" == 0") {
        return select(x, db)
            .into_iter()
            .filter(|s| s.value == 0.0)
            .collect();
    }
    select(b, db)
}

fn settings(config_text: &str) -> MetricSet {
    let file = config::parse(config_text, Path::new("test.toml")).unwrap();
    config::resolve(&Cli::default(), &file, None)
        .unwrap()
        .metrics
}

fn build(set: &MetricSet, db: &[Sample], prev: Option<&Fleet>) -> Fleet {
    let results: Vec<Result<Vector, SourceError>> = set
        .metrics
        .iter()
        .map(|m| Ok(Vector::from(eval(&expand(&m.expr, &[]), db))))
        .collect();
    fleet::build(
        set,
        &Identity::default(),
        &BuildInput {
            results: &results,
            alerts: &[],
            taken_at: Some(Utc.timestamp_opt(1_795_554_331, 0).unwrap()),
            forget_after: None,
            sources: &[],
        },
        prev,
    )
}

/// The snapshot JSON of a fleet, as `fleetboard snapshot --format json` prints it.
fn snapshot(set: &MetricSet, f: &Fleet) -> Value {
    let r = report::build(
        set,
        &Identity::default(),
        Some(f),
        ("http://prometheus", None),
        &[],
        Utc.timestamp_opt(1_795_554_331, 0).unwrap(),
        None,
    );
    serde_json::to_value(&r).unwrap()
}

fn host<'a>(j: &'a Value, name: &str) -> &'a Value {
    j["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == name)
        .unwrap_or_else(|| panic!("no host {name} in {j:#}"))
}

fn summary(j: &Value) -> String {
    j["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            format!(
                "{} {} {} {} {}\n",
                h["name"], h["health"], h["role"], h["reasons"], h["replication"]
            )
        })
        .collect()
}

fn metric<'a>(h: &'a Value, key: &str) -> &'a Value {
    h["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == key)
        .unwrap()
}

#[test]
fn c00_baseline_is_ok() {
    let set = settings("");
    let f = build(&set, &fixture("c00_baseline.prom"), None);
    let j = snapshot(&set, &f);
    assert_eq!(j["exit_code"], 0, "{}", summary(&j));
    assert_eq!(host(&j, "db1")["role"], "primary");
    let db2 = host(&j, "db2");
    assert_eq!(db2["role"], "replica");
    assert_eq!(db2["replication"]["source"], "db1");
    assert_eq!(db2["replication"]["lag_seconds"], 3.0);
    assert_eq!(db2["replication"]["naming"], "master_slave");
    assert_eq!(db2["replication"]["channels"].as_array().unwrap().len(), 1);
    assert!(f.notes.is_empty(), "{:?}", f.notes);
}

#[test]
fn c01_mysql84_replica_names_are_read() {
    let set = settings("");
    let f = build(&set, &fixture("c01_mysql84_replica_names.prom"), None);
    let j = snapshot(&set, &f);
    let s = summary(&j);
    assert_eq!(j["exit_code"], 2, "{s}");
    assert_eq!(host(&j, "db1")["role"], "primary", "{s}");
    assert_eq!(host(&j, "db1")["health"], "OK", "{s}");
    let db2 = host(&j, "db2");
    assert_eq!(
        (&db2["health"], &db2["role"]),
        (&"OK".into(), &"replica".into()),
        "{s}"
    );
    assert_eq!(db2["replication"]["naming"], "source_replica");
    assert_eq!(db2["replication"]["source"], "db1");
    assert_eq!(metric(db2, "lag")["value"], 2.0);
    for name in ["db3", "db4", "db5"] {
        let h = host(&j, name);
        assert_eq!(h["health"], "CRIT", "{name}: {s}");
        assert_eq!(h["role"], "replica", "{name}: {s}");
    }
    assert_eq!(host(&j, "db3")["reasons"][0], "sql thread stopped", "{s}");
    assert_eq!(metric(host(&j, "db3"), "lag")["display"], "—");
    assert!(
        host(&j, "db4")["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("lag 15m00s"),
        "{s}"
    );
    // IO stopped and read_only never set: still a replica, never a healthy primary.
    assert_eq!(host(&j, "db5")["reasons"][0], "io thread stopped", "{s}");
    assert_eq!(host(&j, "db5")["replication"]["lag_seconds"], Value::Null);
}

#[test]
fn c02_multisource_channels_are_judged_one_by_one() {
    let set = settings("");
    let f = build(&set, &fixture("c02_multisource.prom"), None);
    let j = snapshot(&set, &f);
    let s = summary(&j);
    assert!(
        !f.notes.iter().any(|n| n.contains("duplicate")),
        "channels are not duplicates: {:?}",
        f.notes
    );
    let agg1 = host(&j, "agg1");
    assert_eq!(agg1["health"], "CRIT", "{s}");
    assert_eq!(
        agg1["reasons"][0], "sql thread stopped on channel 'dc2'",
        "{s}"
    );
    // The host's lag is unknown while a channel's is: never the healthy channel's 0.
    assert_eq!(metric(agg1, "lag")["display"], "—", "{s}");
    assert_eq!(agg1["replication"]["lag_seconds"], Value::Null);
    let ch = agg1["replication"]["channels"].as_array().unwrap();
    assert_eq!(ch.len(), 2, "{s}");
    assert_eq!(
        (&ch[0]["name"], &ch[0]["source"], &ch[0]["lag_seconds"]),
        (&"dc1".into(), &"src1".into(), &0.0.into())
    );
    assert_eq!(ch[0]["health"], "OK");
    assert_eq!(
        (&ch[1]["name"], &ch[1]["source"], &ch[1]["lag_seconds"]),
        (&"dc2".into(), &"src2".into(), &Value::Null)
    );
    assert_eq!(
        (&ch[1]["sql_running"], &ch[1]["health"]),
        (&false.into(), &"CRIT".into())
    );
    // Several sources: the host-level source is left to the channels.
    assert_eq!(agg1["replication"]["source"], Value::Null);

    let agg2 = host(&j, "agg2");
    assert_eq!(agg2["health"], "CRIT", "{s}");
    assert_eq!(
        agg2["reasons"][0], "lag 6m40s ≥ 5m00s on channel 'ch_b'",
        "{s}"
    );
    let ch = agg2["replication"]["channels"].as_array().unwrap();
    assert_eq!(
        (&ch[0]["name"], &ch[0]["health"], &ch[0]["lag_seconds"]),
        (&"ch_a".into(), &"OK".into(), &5.0.into())
    );
    assert_eq!(
        (&ch[1]["name"], &ch[1]["health"]),
        (&"ch_b".into(), &"CRIT".into())
    );
    for p in ["src1", "src2"] {
        assert_eq!(host(&j, p)["role"], "primary");
        assert_eq!(host(&j, p)["health"], "OK");
    }
}

/// The config snippet the README gives for pt-heartbeat lag.
const HEARTBEAT: &str = r#"
[metrics.lag]
expr = 'mysql_heartbeat_now_timestamp_seconds{cluster=~"$cluster",instance=~"$host"} - mysql_heartbeat_stored_timestamp_seconds{cluster=~"$cluster",instance=~"$host"}'
"#;

#[test]
fn c03_heartbeat_lag_keeps_the_primary_a_primary() {
    let set = settings(HEARTBEAT);
    let f = build(&set, &fixture("c03_heartbeat_lag.prom"), None);
    let j = snapshot(&set, &f);
    let s = summary(&j);
    let db1 = host(&j, "db1");
    assert_eq!(
        (&db1["role"], &db1["health"]),
        (&"primary".into(), &"OK".into()),
        "{s}"
    );
    assert_eq!(db1["replication"], Value::Null, "{s}");
    assert_eq!(host(&j, "db2")["health"], "OK", "{s}");
    let db3 = host(&j, "db3");
    assert_eq!(
        (&db3["role"], &db3["health"]),
        (&"replica".into(), &"WARN".into()),
        "{s}"
    );
    assert_eq!(db3["replication"]["lag_seconds"], 45.0);
    assert_eq!(j["exit_code"], 1, "{s}");
}

/// The host `name` of `cluster` in a snapshot.
/// A host of a built fleet, by name.
fn fleet_host<'f>(f: &'f Fleet, name: &str) -> &'f fleetboard::model::Host {
    f.hosts
        .iter()
        .find(|h| h.id.name == name)
        .unwrap_or_else(|| panic!("no host {name}"))
}

fn host_in<'a>(j: &'a Value, cluster: &str, name: &str) -> &'a Value {
    j["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["cluster"] == cluster && h["name"] == name)
        .unwrap_or_else(|| panic!("no host {cluster}/{name} in {j:#}"))
}

#[test]
fn heartbeat_lag_is_read_from_the_row_the_source_writes() {
    let set = settings(HEARTBEAT);
    let f = build(&set, &fixture("heartbeat_rows.prom"), None);
    let j = snapshot(&set, &f);
    let s = summary(&j);
    let judged = |c: &str, n: &str| {
        let h = host_in(&j, c, n);
        (
            h["health"].as_str().unwrap().to_owned(),
            // Timestamps of 1.8e9 s leave float noise in their difference.
            h["replication"]["lag_seconds"]
                .as_f64()
                .map(|v| (v * 10.0).round() / 10.0),
        )
    };
    // A row is read as pt-heartbeat --check reads it, less its age on its writer when that
    // is more than pt-heartbeat's rhythm (east, west, stop).
    let want = [
        // A former primary's row, a day old, on every server: nobody is a day behind.
        ("pay", "db1", "OK", None),
        ("pay", "db2", "OK", Some(1.2)),
        ("pay", "db3", "WARN", Some(45.0)),
        // After a failover each server reads the new primary's row.
        ("fo", "db1", "OK", Some(0.8)),
        ("fo", "db2", "OK", None),
        ("fo", "db3", "OK", Some(1.5)),
        // Multi-source: each channel by its own source's row.
        ("hub", "agg1", "CRIT", Some(400.0)),
        // A chain whose middle writes no row: the top's row, which passes through it.
        ("ch", "b", "OK", Some(1.0)),
        ("ch", "c", "WARN", Some(50.0)),
        // Threads stopped: the source's row stops, and the lag grows.
        ("st", "r", "CRIT", Some(600.0)),
        // Only one source of two writes rows: that one measures the host.
        ("half", "m", "OK", Some(3.0)),
        // pt-heartbeat without --utc an hour east of UTC: every row in the future. A
        // replica 400 s behind is not 0 s behind.
        ("east", "db2", "OK", Some(0.8)),
        ("east", "db3", "CRIT", Some(399.6)),
        // Five hours west: every row five hours old. Nobody is five hours behind.
        ("west", "db2", "OK", Some(0.8)),
        ("west", "db3", "CRIT", Some(399.6)),
        // pt-heartbeat stopped on the primary ten minutes ago: replication still flows.
        ("stop", "q2", "OK", Some(0.5)),
        ("stop", "q3", "WARN", Some(40.0)),
    ];
    for (c, n, health, lag) in want {
        assert_eq!(judged(c, n), (health.to_owned(), lag), "{c}/{n}\n{s}");
    }
    let agg1 = host_in(&j, "hub", "agg1");
    assert!(
        agg1["reasons"][0]
            .as_str()
            .unwrap()
            .contains("on channel 'dc2'"),
        "{s}"
    );
    let chans: Vec<(&str, f64)> = agg1["replication"]["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let lag = c["lag_seconds"].as_f64().unwrap();
            (c["name"].as_str().unwrap(), (lag * 10.0).round() / 10.0)
        })
        .collect();
    assert_eq!(chans, [("dc1", 2.0), ("dc2", 400.0)], "{s}");
    // The rows read are named, for the charts; a writer's row is no label of the host.
    let hb = |c: &str, n: &str| {
        f.hosts
            .iter()
            .find(|h| h.id.cluster == c && h.id.name == n)
            .map(|h| {
                let rows: Vec<(u64, f64)> = h
                    .heartbeat_from
                    .iter()
                    .map(|(w, age)| (*w, (age * 10.0).round() / 10.0))
                    .collect();
                (rows, h.labels.get("server_id").is_some())
            })
    };
    assert_eq!(hb("pay", "db1"), Some((vec![(1, 0.0)], false)));
    assert_eq!(hb("fo", "db1"), Some((vec![(2, 0.0)], false)));
    assert_eq!(hb("hub", "agg1"), Some((vec![(11, 0.0), (12, 0.0)], false)));
    assert_eq!(hb("ch", "c"), Some((vec![(1, 0.0)], false)));
    assert_eq!(hb("west", "db3"), Some((vec![(1, 18_000.4)], false)));
    // Rows of different writers are no duplicates. A writer whose own row is old is
    // named, once, when some server reads its row (not fo/db1, the former primary).
    assert!(
        !f.notes.iter().any(|n| n.contains("duplicate")),
        "{:?}",
        f.notes
    );
    // The snapshot names the rows read, and what was taken off them.
    let rows = &host_in(&j, "west", "db3")["heartbeat_rows"];
    assert_eq!(rows[0]["server_id"], 1, "{s}");
    let age = rows[0]["writer_age_seconds"].as_f64().unwrap();
    assert!((age - 18_000.4).abs() < 0.01, "{rows}");
    assert_eq!(
        host_in(&j, "pay", "db1")["heartbeat_rows"][0]["writer_age_seconds"],
        0.0
    );
    let late: Vec<&String> = f
        .notes
        .iter()
        .filter(|n| n.contains("pt-heartbeat"))
        .collect();
    assert_eq!(late.len(), 1, "{:?}", f.notes);
    assert!(
        late[0].contains("east/db1 (-1h00m), stop/q1 (10m00s), west/db1 (5h00m)."),
        "{late:?}"
    );
}

#[test]
fn c04_delayed_replica_is_judged_beyond_its_delay() {
    let set = settings("");
    let db = fixture("c04_delayed_replica.prom");
    let f = build(&set, &db, None);
    let j = snapshot(&set, &f);
    let s = summary(&j);
    assert_eq!(j["exit_code"], 0, "{s}");
    let dr1 = host(&j, "dr1");
    assert_eq!(dr1["health"], "OK", "{s}");
    assert_eq!(dr1["replication"]["lag_seconds"], 3605.0);
    assert_eq!(dr1["replication"]["delay_seconds"], 3600.0);
    assert_eq!(dr1["replication"]["behind_seconds"], 5.0);
    assert_eq!(metric(dr1, "lag")["display"], "5s");
    assert_eq!(host(&j, "db2")["replication"]["delay_seconds"], Value::Null);

    // Past its delay by more than the critical lag: CRIT, saying so.
    let late: Vec<Sample> = db
        .into_iter()
        .map(|mut x| {
            if x.labels["__name__"] == "mysql_slave_status_seconds_behind_master"
                && x.labels["instance"] == "dr1:9104"
            {
                x.value = 3600.0 + 420.0;
            }
            x
        })
        .collect();
    let f = build(&set, &late, None);
    let j = snapshot(&set, &f);
    let dr1 = host(&j, "dr1");
    assert_eq!(dr1["health"], "CRIT", "{}", summary(&j));
    assert_eq!(
        dr1["reasons"][0],
        "lag 7m00s ≥ 5m00s beyond its intended 1h00m delay"
    );
}

#[test]
fn group_replication_members() {
    let set = settings("");
    let f = build(&set, &fixture("group_replication.prom"), None);
    let j = snapshot(&set, &f);
    let s = summary(&j);
    let role = |n: &str| host(&j, n)["role"].as_str().unwrap().to_string();
    assert_eq!(role("gr1"), "group_primary", "{s}");
    assert_eq!(role("gr2"), "group_secondary", "{s}");
    assert_eq!(role("gr3"), "group_secondary", "{s}");
    for n in ["gr1", "gr2", "gr3"] {
        // group_replication_* channels are idle by design: no CRIT, no replica.
        assert_eq!(host(&j, n)["health"], "OK", "{n}: {s}");
        assert_eq!(host(&j, n)["replication"], Value::Null, "{n}: {s}");
    }
    assert_eq!(host(&j, "gr2")["group"]["applier_queue"], 3.0);
    assert_eq!(host(&j, "gr2")["group"]["online"], 3);
    let gr5 = host(&j, "gr5");
    assert_eq!(gr5["health"], "CRIT", "{s}");
    assert!(
        gr5["reasons"][0].as_str().unwrap().contains("no quorum"),
        "{s}"
    );
    assert_eq!(host(&j, "gr4")["health"], "WARN", "{s}");
    assert_eq!(host(&j, "gr4")["reasons"][0], "group member RECOVERING");
    assert_eq!(host(&j, "gr6")["health"], "CRIT", "{s}");
    assert!(host(&j, "gr6")["reasons"][0]
        .as_str()
        .unwrap()
        .contains("applier queue"));
    let gr = f.hosts.iter().find(|h| h.id.name == "gr1").unwrap();
    assert_eq!(gr.role, Role::GroupPrimary);

    // Without the member table (collector off): still members, UNKNOWN naming the flag.
    let db: Vec<Sample> = fixture("group_replication.prom")
        .into_iter()
        .filter(|s| s.labels["__name__"] != "mysql_perf_schema_replication_group_member_info")
        .collect();
    let f = build(&set, &db, None);
    let gr2 = f.hosts.iter().find(|h| h.id.name == "gr2").unwrap();
    assert_eq!(gr2.role, Role::GroupSecondary);
    assert_eq!(gr2.health, Health::Unknown);
    assert!(
        gr2.reasons[0].contains("--collect.perf_schema.replication_group_members"),
        "{:?}",
        gr2.reasons
    );
}

#[test]
fn galera_nodes() {
    let set = settings("");
    let f = build(&set, &fixture("galera.prom"), None);
    let j = snapshot(&set, &f);
    let s = summary(&j);
    for n in ["g1", "g2", "g3"] {
        assert_eq!(host(&j, n)["role"], "galera_node", "{s}");
    }
    assert_eq!(host(&j, "g1")["health"], "OK", "{s}");
    assert_eq!(host(&j, "g2")["health"], "WARN", "{s}");
    assert_eq!(host(&j, "g2")["reasons"][0], "galera node Donor/Desynced");
    assert_eq!(host(&j, "g3")["health"], "CRIT", "{s}");
    assert_eq!(host(&j, "g1")["galera"]["state_name"], "Synced");
}

/// A stopped thread's reason names its error number and what it means.
#[test]
fn stopped_threads_name_their_replication_error() {
    let set = settings("");
    let f = build(&set, &fixture("replication_errors.prom"), None);
    let j = snapshot(&set, &f);
    let s = summary(&j);
    let reasons = |n: &str| host(&j, n)["reasons"].clone();
    assert_eq!(host(&j, "r1")["health"], "CRIT", "{s}");
    assert_eq!(
        reasons("r1")[0],
        "io thread stopped (error 13114: the source cannot send the binary log it needs: purged on the source, or another replica with the same server_uuid)",
        "{s}"
    );
    assert_eq!(
        reasons("r2")[0],
        "sql thread stopped (error 1062: duplicate key: the replica's data differs from the source's)",
        "{s}"
    );
    assert_eq!(
        reasons("m1")[0],
        "io thread stopped on channel 'eu' (error 2003: cannot connect to the source)",
        "{s}"
    );
    for n in ["p1", "r3", "r4"] {
        assert_eq!(host(&j, n)["health"], "OK", "{n}: {s}");
    }
    assert_eq!(
        host(&j, "r4")["replication"]["delay_seconds"],
        3600.0,
        "{s}"
    );
}

/// mysqld_exporter answering `mysql_up 0` with the server's status in the same scrape: it
/// failed to connect for one scrape while the server answered (Debian's mysqld_exporter
/// 0.14 mixes up concurrent scrapes; seen on the project's own stack with five scrapers and
/// `MAX_USER_CONNECTIONS 3`). Not DOWN: a warning naming the cause. `mysql_up 0` alone, or
/// beside a rate that outlives the last scrape, stays DOWN.
#[test]
fn mysql_up_0_beside_the_servers_own_series_is_no_outage() {
    let set = settings("");
    let db = fixture("c00_baseline.prom");
    let with_up = |keep: &dyn Fn(&Sample) -> bool| -> Vec<Sample> {
        let mut v: Vec<Sample> = db
            .iter()
            .filter(|s| s.labels["instance"] != "db2:9104" || keep(s))
            .cloned()
            .map(|mut s| {
                if s.labels["__name__"] == "mysql_up" && s.labels["instance"] == "db2:9104" {
                    s.value = 0.0;
                }
                s
            })
            .collect();
        v.sort_by(|a, b| a.labels.cmp(&b.labels));
        v
    };
    // everything of db2 still there, mysql_up 0
    let f = build(&set, &with_up(&|_| true), None);
    let db2 = fleet_host(&f, "db2");
    assert_eq!(db2.health, Health::Warn, "{:?}", db2.reasons);
    assert_eq!(db2.role, Role::Replica);
    assert!(
        db2.reasons[0].starts_with("mysql_up 0, yet the server's status came in the same answer"),
        "{:?}",
        db2.reasons
    );
    // only mysql_up left: the server is down
    let f = build(
        &set,
        &with_up(&|s| {
            s.labels["__name__"] == "mysql_up" || s.labels["__name__"].starts_with("node_")
        }),
        None,
    );
    let db2 = fleet_host(&f, "db2");
    assert_eq!(db2.health, Health::Down, "{:?}", db2.reasons);
    assert_eq!(db2.reasons[0], "mysql is down");
    // a counter's rate still has a value for a minute after the last scrape: no evidence
    let db = with_up(&|s| s.labels["__name__"] == "mysql_up");
    let mut results: Vec<Result<Vector, SourceError>> = set
        .metrics
        .iter()
        .map(|m| Ok(Vector::from(eval(&expand(&m.expr, &[]), &db))))
        .collect();
    let qps = set.index("qps").unwrap();
    assert!(set.metrics[qps].expr.contains("rate("));
    results[qps] = Ok(Vector::from(vec![parse_line(
        r#"x{cluster="shop",instance="db2:9104",job="mysql"} 120"#,
    )]));
    let f = fleet::build(
        &set,
        &Identity::default(),
        &BuildInput {
            results: &results,
            alerts: &[],
            taken_at: None,
            forget_after: None,
            sources: &[],
        },
        None,
    );
    let db2 = fleet_host(&f, "db2");
    assert_eq!(db2.readings[qps].value, Some(120.0));
    assert_eq!(db2.health, Health::Down, "{:?}", db2.reasons);
}

/// A replica whose replica-status series vanish for one refresh (a collector timing out,
/// or mysqld_exporter 0.14 mixing up concurrent scrapes) is UNKNOWN, and the reason does
/// not send the operator after a grant that is there.
#[test]
fn replica_status_gone_for_a_refresh_is_not_a_missing_grant() {
    let set = settings("");
    let db = fixture("c00_baseline.prom");
    let before = build(&set, &db, None);
    let partial: Vec<Sample> = db
        .iter()
        .filter(|s| {
            !(s.labels["instance"] == "db2:9104"
                && s.labels["__name__"].starts_with("mysql_slave_status_"))
        })
        .cloned()
        .collect();
    let f = build(&set, &partial, Some(&before));
    let db2 = fleet_host(&f, "db2");
    assert_eq!(db2.health, Health::Unknown, "{:?}", db2.reasons);
    assert_eq!(db2.role, Role::Replica);
    assert!(
        db2.reasons[0].contains("the replica-status series are gone since the last refresh"),
        "{:?}",
        db2.reasons
    );
    // a one-shot snapshot has nothing to compare with: the collector and grant hint
    let f = build(&set, &partial, None);
    let db2 = fleet_host(&f, "db2");
    assert!(
        db2.reasons[0].contains("--collect.slave_status"),
        "{:?}",
        db2.reasons
    );
}

#[test]
fn exporter_down_is_not_database_down() {
    let set = settings("");
    let db = fixture("c00_baseline.prom");
    let before = build(&set, &db, None);
    // db2's exporter can no longer be scraped: Prometheus' up for it is 0, its series are gone.
    let mut gone: Vec<Sample> = db
        .iter()
        .filter(|s| s.labels["instance"] != "db2:9104")
        .cloned()
        .collect();
    gone.push(parse_line(
        r#"up{cluster="shop",instance="db2:9104",job="mysql"} 0"#,
    ));
    let f = build(&set, &gone, Some(&before));
    let db2 = fleet_host(&f, "db2");
    assert!(db2.exporter_down);
    assert_eq!(db2.health, Health::Unknown, "{:?}", db2.reasons);
    assert!(
        db2.reasons[0].starts_with("exporter down"),
        "{:?}",
        db2.reasons
    );
    assert!(db2.reasons[0].contains("up=0"), "{:?}", db2.reasons);
    // The role is remembered; nothing claims the database is down.
    assert_eq!(db2.role, Role::Replica);
    // A one-shot snapshot has no earlier refresh: the target Prometheus reports down is
    // still a host, shown exporter down.
    let f = build(&set, &gone, None);
    let db2 = fleet_host(&f, "db2");
    assert!(db2.exporter_down);
    assert_eq!(db2.health, Health::Unknown);
    // c02's sources are named by master_host: with its exporter down, src2 is still
    // known for a primary in a one-shot snapshot.
    let hub: Vec<Sample> = fixture("c02_multisource.prom")
        .into_iter()
        .filter(|s| s.labels["instance"] != "src2:9104")
        .chain([parse_line(
            r#"up{cluster="hub",instance="src2:9104",job="mysql"} 0"#,
        )])
        .collect();
    let f = build(&set, &hub, None);
    let src2 = f.hosts.iter().find(|h| h.id.name == "src2").unwrap();
    assert!(src2.exporter_down);
    assert_eq!(src2.role, Role::Primary);
    // Prometheus' own target and other jobs up: no hosts of their own.
    let mut others = db.clone();
    others.push(parse_line(
        r#"up{instance="prometheus",job="prometheus"} 1"#,
    ));
    others.push(parse_line(
        r#"up{cluster="shop",instance="db1:9100",job="node"} 1"#,
    ));
    assert_eq!(build(&set, &others, None).hosts.len(), 2);
    // The database down is another state: the exporter answers mysql_up 0.
    let mut dead: Vec<Sample> = db
        .iter()
        .filter(|s| s.labels["instance"] != "db2:9104")
        .cloned()
        .collect();
    dead.push(parse_line(
        r#"mysql_up{cluster="shop",instance="db2:9104",job="mysql"} 0"#,
    ));
    let f = build(&set, &dead, Some(&before));
    let db2 = fleet_host(&f, "db2");
    assert!(!db2.exporter_down);
    assert_eq!(db2.health, Health::Down);
    // Only the series vanished (no `up` series at all): exporter down as well.
    let vanished: Vec<Sample> = db
        .iter()
        .filter(|s| s.labels["instance"] != "db2:9104")
        .cloned()
        .collect();
    let f = build(&set, &vanished, Some(&before));
    let db2 = fleet_host(&f, "db2");
    assert!(db2.exporter_down);
    assert!(db2.reasons[0].contains("vanished"), "{:?}", db2.reasons);
}

#[test]
fn unknown_replica_status_names_the_grant_for_the_version() {
    let set = settings("");
    let strip = |db: Vec<Sample>| -> Vec<Sample> {
        db.into_iter()
            .filter(|s| !s.labels["__name__"].starts_with("mysql_slave_status_"))
            .collect()
    };
    let f = build(&set, &strip(fixture("c00_baseline.prom")), None);
    let db2 = fleet_host(&f, "db2");
    assert_eq!(db2.health, Health::Unknown);
    assert!(
        db2.reasons.iter().any(|r| r.contains("SLAVE MONITOR")),
        "{:?}",
        db2.reasons
    );
    let f = build(
        &set,
        &strip(fixture("c01_mysql84_replica_names.prom")),
        None,
    );
    let db2 = fleet_host(&f, "db2");
    assert!(
        db2.reasons
            .iter()
            .any(|r| r.contains("REPLICATION CLIENT") && r.contains("0.16")),
        "{:?}",
        db2.reasons
    );
}

/// Field case c18's other half, and any answer that names no host: a snapshot that saw no
/// host is UNKNOWN with a note, never an OK a monitor would trust.
#[test]
fn a_snapshot_without_any_host_is_unknown() {
    let set = fleetboard::fleet::metrics::mysql_preset("instance", "cluster");
    let j = snapshot(&set, &Fleet::default());
    assert_eq!(j["exit_code"], 3, "{j:#}");
    assert_eq!(j["status"], "UNKNOWN");
    assert!(
        j["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("no host found")),
        "{j:#}"
    );
}

#[test]
fn postgresql_servers_beside_a_mysql_board_are_named_in_a_note() {
    let mut db = fixture("c00_baseline.prom");
    for name in ["pg1:9187", "pg2:9187"] {
        db.push(parse_line(&format!(
            "pg_up{{cluster=\"ledger\",instance=\"{name}\",job=\"postgres\"}} 1"
        )));
    }
    let notes = |set: &MetricSet| -> Vec<String> {
        build(set, &db, None)
            .notes
            .into_iter()
            .filter(|n| n.contains("not on the board"))
            .collect()
    };
    // The default preset reads MySQL only: the PostgreSQL servers are named, with the fix.
    let mysql = notes(&settings(""));
    assert_eq!(mysql.len(), 1, "{mysql:?}");
    assert!(
        mysql[0].starts_with("2 PostgreSQL server(s) answer `pg_up`")
            && mysql[0].contains("--preset mixed")
            && mysql[0].contains("ledger/pg1, ledger/pg2"),
        "{mysql:?}"
    );
    // A board that reads both engines shows them, and says nothing.
    let mixed = settings("preset = \"mixed\"\n");
    assert!(notes(&mixed).is_empty(), "{:?}", notes(&mixed));
    let f = build(&mixed, &db, None);
    assert!(f.hosts.iter().any(|h| h.id.name == "pg1"), "{:?}", f.hosts);
}

/// A host's role, health and whether it cascades, from the snapshot JSON.
fn role_health_cascading(j: &Value, cluster: &str, name: &str) -> (String, String, bool) {
    let h = host_in(j, cluster, name);
    (
        h["role"].as_str().unwrap().to_owned(),
        h["health"].as_str().unwrap().to_owned(),
        h["replication"]["cascading"].as_bool().unwrap_or(false),
    )
}

#[test]
fn a_read_only_server_its_replicas_follow_is_their_primary() {
    let set = settings("");
    let f = build(&set, &fixture("read_only_primary.prom"), None);
    let j = snapshot(&set, &f);
    let s = summary(&j);
    let want = [
        ("shop", "db1", "primary", "WARN", false),
        ("shop", "db2", "replica", "OK", false),
        ("shop", "db3", "replica", "OK", false),
        ("solo", "s1", "replica", "UNKNOWN", false),
        ("dr", "dr1", "replica", "OK", false),
        ("dr", "dr2", "replica", "OK", true),
    ];
    for (c, n, role, health, cascading) in want {
        assert_eq!(
            role_health_cascading(&j, c, n),
            (role.to_owned(), health.to_owned(), cascading),
            "{c}/{n}\n{s}"
        );
    }
    assert_eq!(
        host_in(&j, "shop", "db1")["reasons"][0],
        "read_only=1 while 2 replicas replicate from it: the top of its chain takes no writes (a switchover half-done, or maintenance)",
        "{s}"
    );
    assert!(
        host_in(&j, "solo", "s1")["reasons"][0]
            .as_str()
            .unwrap()
            .contains("--collect.slave_status"),
        "{s}"
    );
}

#[test]
fn a_server_id_several_topologies_share_names_no_source_by_guess() {
    let set = settings("");
    let f = build(&set, &fixture("shared_server_ids.prom"), None);
    let j = snapshot(&set, &f);
    let s = summary(&j);
    let source = |c: &str, n: &str| {
        host_in(&j, c, n)["replication"]["source"]
            .as_str()
            .map(str::to_owned)
    };
    let cascading = |c: &str, n: &str| {
        host_in(&j, c, n)["replication"]["cascading"]
            .as_bool()
            .unwrap_or(false)
    };
    assert_eq!(source("prod-eu-1", "a2").as_deref(), Some("a1"), "{s}");
    assert_eq!(source("prod-eu-1", "a3").as_deref(), Some("a2"), "{s}");
    assert!(cascading("prod-eu-1", "a3"), "{s}");
    assert_eq!(source("prod-eu-1", "b2").as_deref(), Some("b1"), "{s}");
    // Not b's topology's a1 nor a guess: its master_host as the replica reports it.
    assert_eq!(
        source("prod-eu-1", "b3").as_deref(),
        Some("10.9.9.9"),
        "{s}"
    );
    assert!(!cascading("prod-eu-1", "b3"), "{s}");
    let g = source("gal", "r1").unwrap();
    assert!(["g1", "g2", "g3"].contains(&g.as_str()), "{s}");
    let notes: Vec<&String> = f
        .notes
        .iter()
        .filter(|n| n.starts_with("server_id shared"))
        .collect();
    assert_eq!(notes.len(), 1, "{:?}", f.notes);
    assert!(
        notes[0].contains("1 in prod-eu-1 (a1, b1)") && !notes[0].contains("gal"),
        "{notes:?}"
    );
}

#[test]
fn the_writable_member_of_a_replication_ring_is_its_primary() {
    let set = settings("");
    let f = build(&set, &fixture("master_master.prom"), None);
    let j = snapshot(&set, &f);
    let s = summary(&j);
    let want = [
        ("mm", "m1", "primary", false),
        ("mm", "m2", "replica", false),
        ("mm", "m3", "replica", false),
        ("aa", "a1", "primary", false),
        ("aa", "a2", "primary", false),
        ("ring", "r1", "primary", false),
        ("ring", "r2", "replica", false),
        ("ring", "r3", "replica", true),
        ("agg", "agg", "replica", false),
        ("agg", "s1", "primary", false),
        ("sro", "x1", "replica", true),
    ];
    for (c, n, role, cascading) in want {
        assert_eq!(
            role_health_cascading(&j, c, n),
            (role.to_owned(), "OK".to_owned(), cascading),
            "{c}/{n}\n{s}"
        );
    }
    let m1 = host_in(&j, "mm", "m1");
    assert_eq!(m1["replication"]["source"], "m2", "{s}");
}

#[test]
fn a_switchover_leftover_channel_leaves_the_new_primary_a_primary() {
    let set = settings("");
    let f = build(&set, &fixture("switchover_leftover.prom"), None);
    let j = snapshot(&set, &f);
    let s = summary(&j);
    let judged = |c: &str, n: &str| {
        let h = host_in(&j, c, n);
        (
            h["role"].as_str().unwrap().to_owned(),
            h["health"].as_str().unwrap().to_owned(),
            h["replication"]["source"].as_str().map(str::to_owned),
        )
    };
    let want = [
        ("crm", "db2", "primary", "WARN", None),
        ("crm", "db1", "replica", "OK", Some("db2")),
        ("crm", "db3", "replica", "OK", Some("db2")),
        ("mm", "m1", "primary", "WARN", None),
        ("mm", "m2", "replica", "OK", Some("m1")),
        // A replica stopped in a chain is not a leftover: its source does not replicate
        // from it.
        ("web", "b", "replica", "CRIT", Some("a")),
        // A failover done with STOP REPLICA alone: the old primary removed, or down.
        ("ops", "o2", "primary", "WARN", None),
        ("ops", "o3", "replica", "OK", Some("o2")),
        ("pay", "p2", "primary", "WARN", None),
        ("pay", "p3", "replica", "OK", Some("p2")),
        // Writable with its source gone, but nobody follows it: a stopped replica still.
        ("inv", "i2", "replica", "CRIT", Some("10.0.0.61")),
    ];
    for (c, n, role, health, source) in want {
        assert_eq!(
            judged(c, n),
            (
                role.to_owned(),
                health.to_owned(),
                source.map(str::to_owned)
            ),
            "{c}/{n}\n{s}"
        );
    }
    let db2 = host_in(&j, "crm", "db2");
    assert!(
        db2["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("stopped channel from db1, which replicates from this primary"),
        "{s}"
    );
    let reasons = |c: &str, n: &str| {
        host_in(&j, c, n)["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        reasons("ops", "o2"),
        ["stopped channel from 10.0.0.41 (server_id 41), a source no longer on the board while replicas follow this server: a failover leftover (RESET REPLICA ALL)"],
        "{s}"
    );
    // The stopped channel's old connection error goes with the channel.
    assert_eq!(reasons("pay", "p2").len(), 1, "{s}");
    assert!(
        reasons("pay", "p2")[0].starts_with(
            "stopped channel from p1.example.com (server_id 51), a source no longer on the board"
        ),
        "{s}"
    );
    assert_eq!(host_in(&j, "pay", "p1")["health"], "DOWN", "{s}");
    // Nobody cascades from a primary.
    let cascading = |c: &str, n: &str| {
        f.hosts
            .iter()
            .find(|h| h.id.cluster == c && h.id.name == n)
            .and_then(|h| h.replication.as_ref())
            .is_some_and(|r| r.cascading)
    };
    assert!(!cascading("crm", "db1") && !cascading("crm", "db3"));
}
