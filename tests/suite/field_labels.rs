//! Label layouts of real deployments: PMM (node series without the cluster label, alerts
//! without cluster or instance), the same host name in two clusters, UTF-8 label names,
//! and answers the board cannot use (native histograms, scalars).
//!
//! The PMM bodies in `tests/fixtures/pmm/` are a canned PMM server's answers to the
//! board's own queries under `[identity] preset = "pmm"` (VictoriaMetrics behind
//! `/prometheus`; label sets of PMM's node_exporter and mysqld_exporter scrape jobs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use chrono::{TimeZone, Utc};

use fleetboard::cli::Cli;
use fleetboard::config::{self, Settings};
use fleetboard::fleet::{self, BuildInput};
use fleetboard::model::{
    Alert, AlertState, Fleet, Health, Host, Labels, Sample, SourceError, Vector, NO_CLUSTER,
};
use fleetboard::report;
use fleetboard::sources::alertmanager::parse_alerts;
use fleetboard::sources::prometheus::parse_instant;

fn settings(toml: &str) -> Settings {
    let file = config::parse(toml, Path::new("t.toml")).unwrap();
    config::resolve(&Cli::default(), &file, None).unwrap()
}

fn fixture(dir: &str, name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/pmm/{dir}/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn fixture_opt(dir: &str, name: &str) -> Option<Vec<u8>> {
    std::fs::read(format!(
        "{}/tests/fixtures/pmm/{dir}/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .ok()
}

fn build(s: &Settings, results: &[Result<Vector, SourceError>], alerts: &[Alert]) -> Fleet {
    build_after(s, results, alerts, None)
}

/// [`build`], the refresh after `previous`.
fn build_after(
    s: &Settings,
    results: &[Result<Vector, SourceError>],
    alerts: &[Alert],
    previous: Option<&Fleet>,
) -> Fleet {
    fleet::build(
        &s.metrics,
        &s.identity,
        &BuildInput {
            results,
            alerts,
            taken_at: Some(Utc.timestamp_opt(1_796_020_438, 0).unwrap()),
            forget_after: None,
            sources: &[],
        },
        previous,
    )
}

/// One answer per metric of the settings, each made of `by_key(metric key)`.
fn answers(s: &Settings, by_key: impl Fn(&str) -> Vec<Sample>) -> Vec<Result<Vector, SourceError>> {
    s.metrics
        .metrics
        .iter()
        .map(|m| Ok(Vector::from(by_key(&m.key))))
        .collect()
}

fn pmm(dir: &str) -> (Settings, Fleet) {
    let s = settings("[identity]\npreset = \"pmm\"\n");
    let results: Vec<_> = s
        .metrics
        .metrics
        .iter()
        // Metrics added to the preset after the capture (topology) answer nothing here.
        .map(|m| match fixture_opt(dir, &m.key) {
            Some(b) => parse_instant(&b),
            None => Ok(Vector::default()),
        })
        .collect();
    let alerts = parse_alerts(&fixture(dir, "am_alerts")).unwrap();
    let f = build(&s, &results, &alerts);
    (s, f)
}

fn host<'f>(f: &'f Fleet, cluster: &str, name: &str) -> &'f Host {
    f.hosts
        .iter()
        .find(|h| h.id.cluster == cluster && h.id.name == name)
        .unwrap_or_else(|| panic!("no {cluster}/{name} in {:?}", ids(f)))
}

fn ids(f: &Fleet) -> Vec<String> {
    f.hosts
        .iter()
        .map(|h| format!("{}/{}", h.id.cluster, h.id.name))
        .collect()
}

/// The snapshot report of a fleet, as `fleetboard snapshot` makes it.
fn snapshot(s: &Settings, f: &Fleet) -> report::Report {
    report::build(
        &s.metrics,
        &s.identity,
        Some(f),
        ("http://pmm.example/prometheus", None),
        &[("http://am".into(), None)],
        Utc::now(),
        None,
    )
}

fn exit_code(s: &Settings, f: &Fleet) -> i32 {
    snapshot(s, f).exit_code
}

#[test]
fn pmm_preset_is_one_line_and_queries_node_name() {
    let s = settings("[identity]\npreset = \"pmm\"\n");
    assert_eq!(s.identity.host_label, "node_name");
    assert_eq!(s.identity.cluster_label, "cluster");
    assert!(!s.identity.strip_port);
    let up = &s.metrics.get("up").unwrap().expr;
    assert!(up.contains("node_name=~\"$host\""), "{up}");
    // A key beside the preset wins.
    let s = settings("[identity]\npreset = \"pmm\"\nhost_label = \"service_name\"\n");
    assert_eq!(s.identity.host_label, "service_name");
}

#[test]
fn unknown_identity_preset_is_refused_with_a_suggestion() {
    let file = config::parse("[identity]\npreset = \"pmn\"\n", Path::new("t.toml")).unwrap();
    let e = config::resolve(&Cli::default(), &file, None).unwrap_err();
    assert_eq!(e.key.as_deref(), Some("identity.preset"));
    assert!(
        e.message.contains("valid: prometheus, pmm"),
        "{}",
        e.message
    );
    assert_eq!(e.suggestion.as_deref(), Some("pmm"));
    let file = config::parse("[identity]\nhost_label = \"\"\n", Path::new("t.toml")).unwrap();
    let e = config::resolve(&Cli::default(), &file, None).unwrap_err();
    assert_eq!(e.key.as_deref(), Some("identity.host_label"));
}

/// c07: each server once (not a second "(no cluster)" host made of its node series), the
/// load joined, the PMM alert on db3, CRITICAL.
#[test]
fn pmm_layout_gives_each_server_once_with_the_alert_on_the_right_one() {
    let (s, f) = pmm("broken");
    assert_eq!(ids(&f), ["shop/db1", "shop/db2", "shop/db3"]);
    for name in ["db1", "db2", "db3"] {
        let h = host(&f, "shop", name);
        let load = h.reading(&s.metrics, "load").unwrap();
        assert!(load.value.is_some(), "{name}: load {load:?}");
        assert_eq!(
            h.labels.get("service_name"),
            Some(&*format!("{name}-mysql"))
        );
    }
    let db3 = host(&f, "shop", "db3");
    assert_eq!(db3.health, Health::Crit, "{:?}", db3.reasons);
    assert_eq!(db3.alerts.len(), 1);
    assert_eq!(db3.alerts[0].name(), "MySQL replication running SQL");
    assert_eq!(host(&f, "shop", "db1").health, Health::Ok);
    assert_eq!(host(&f, "shop", "db2").health, Health::Ok);
    assert!(f.other_alerts.is_empty());
    assert!(f.notes.is_empty(), "{:?}", f.notes);
    assert_eq!(exit_code(&s, &f), 2);
}

#[test]
fn pmm_healthy_fleet_exits_ok() {
    let (s, f) = pmm("healthy");
    assert_eq!(ids(&f), ["shop/db1", "shop/db2", "shop/db3"]);
    assert!(f.hosts.iter().all(|h| h.health == Health::Ok));
    assert_eq!(exit_code(&s, &f), 0);
}

fn sample(pairs: &[(&str, &str)], v: f64) -> Sample {
    Sample {
        labels: pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
        value: v,
        ts: 1_796_020_438.0,
    }
}

fn alert(name: &str, labels: &[(&str, &str)]) -> Alert {
    let mut l: Labels = labels
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    l.insert("alertname".into(), name.into());
    l.insert("severity".into(), "critical".into());
    Alert::new(name.into(), l, Labels::new(), AlertState::Active)
}

/// Per-environment copies of one topology: db1, db2 in prod and in staging. Up series
/// carry the cluster; node series and PMM-style alerts do not.
fn two_envs(s: &Settings, extra_node: &[(&str, f64)]) -> Vec<Result<Vector, SourceError>> {
    answers(s, |key| match key {
        "up" => ["prod", "staging"]
            .iter()
            .flat_map(|c| ["db1", "db2"].map(|h| sample(&[("cluster", c), ("node_name", h)], 1.0)))
            .collect(),
        "read_only" => ["prod", "staging"]
            .iter()
            .flat_map(|c| ["db1", "db2"].map(|h| sample(&[("cluster", c), ("node_name", h)], 0.0)))
            .collect(),
        "load" => extra_node
            .iter()
            .map(|(h, x)| sample(&[("node_name", h)], *x))
            .collect(),
        _ => Vec::new(),
    })
}

#[test]
fn alert_without_cluster_on_a_name_in_two_clusters_is_not_attached() {
    let s = settings("[identity]\npreset = \"pmm\"\n");
    let alerts = vec![
        alert(
            "MySQLDown",
            &[("node_name", "db2"), ("service_name", "db2-mysql")],
        ),
        alert("MySQLDown", &[("node_name", "db2"), ("cluster", "staging")]),
    ];
    let f = build(&s, &two_envs(&s, &[]), &alerts);
    // The alert with a cluster goes to that server only.
    assert_eq!(host(&f, "staging", "db2").alerts.len(), 1);
    assert_eq!(host(&f, "staging", "db2").health, Health::Crit);
    // The one without is on neither db2: the board cannot know which server it is.
    assert_eq!(host(&f, "prod", "db2").health, Health::Ok);
    assert!(host(&f, "prod", "db2").alerts.is_empty());
    assert_eq!(f.other_alerts.len(), 1);
    let why = &f.other_reasons[0];
    assert!(
        why.contains("db2 is in 2 clusters (prod, staging)") && why.contains("`cluster`"),
        "{why}"
    );
    // Trouble on one of the board's servers: not OK.
    assert_eq!(exit_code(&s, &f), 2);
    let rep = snapshot(&s, &f);
    let json = serde_json::to_value(&rep).unwrap();
    let u = &json["unattached_alerts"][0];
    assert_eq!(u["host"], "db2");
    assert_eq!(u["name"], "MySQLDown");
    assert!(u["reason"].as_str().unwrap().contains("2 clusters"));
    let text = report::to_text(&rep, &s.metrics);
    assert!(
        text.contains("unattached alert MySQLDown (critical, active): host db2 is in 2 clusters"),
        "{text}"
    );
}

#[test]
fn alert_without_cluster_attaches_when_the_name_is_unique() {
    let s = settings("[identity]\npreset = \"pmm\"\n");
    let mut results = two_envs(&s, &[]);
    // A third server only in prod.
    let up = s.metrics.index("up").unwrap();
    let mut v = results[up].as_ref().unwrap().to_samples();
    v.push(sample(&[("cluster", "prod"), ("node_name", "db9")], 1.0));
    results[up] = Ok(Vector::from(v));
    let f = build(&s, &results, &[alert("MySQLDown", &[("node_name", "db9")])]);
    assert_eq!(host(&f, "prod", "db9").health, Health::Crit);
    assert!(f.other_alerts.is_empty());
}

#[test]
fn series_without_cluster_join_unique_names_and_are_noted_otherwise() {
    let s = settings("[identity]\npreset = \"pmm\"\n");
    let mut results = two_envs(&s, &[("db1", 0.5), ("db2", 0.7), ("pmm-server", 0.1)]);
    let up = s.metrics.index("up").unwrap();
    let mut v = results[up].as_ref().unwrap().to_samples();
    v.push(sample(&[("cluster", "prod"), ("node_name", "db9")], 1.0));
    results[up] = Ok(Vector::from(v));
    let load = s.metrics.index("load").unwrap();
    let mut v = results[load].as_ref().unwrap().to_samples();
    v.push(sample(&[("node_name", "db9")], 0.25));
    results[load] = Ok(Vector::from(v));
    let f = build(&s, &results, &[]);
    // No phantom hosts: five database servers, nothing under "(no cluster)".
    assert_eq!(
        ids(&f),
        [
            "prod/db1",
            "prod/db2",
            "prod/db9",
            "staging/db1",
            "staging/db2"
        ]
    );
    assert!(f.clusters.iter().all(|c| c != NO_CLUSTER));
    assert_eq!(
        host(&f, "prod", "db9")
            .reading(&s.metrics, "load")
            .unwrap()
            .value,
        Some(0.25)
    );
    // db1/db2's load cannot be placed: not shown on either copy.
    assert_eq!(
        host(&f, "prod", "db1")
            .reading(&s.metrics, "load")
            .unwrap()
            .value,
        None
    );
    let notes = f.notes.join("\n");
    assert_eq!(f.notes.len(), 2, "{notes}");
    assert!(
        notes.contains("2 host name(s) found in more than one cluster")
            && notes.contains("db1 in prod, staging (load)"),
        "{notes}"
    );
    assert!(
        notes.contains("1 name(s) matching no database host: pmm-server (load)"),
        "{notes}"
    );
}

#[test]
fn a_fleet_without_cluster_labels_keeps_its_hosts() {
    let s = settings("");
    let results: Vec<_> = s
        .metrics
        .metrics
        .iter()
        .map(|m| {
            let v = match m.key.as_str() {
                "up" => vec![sample(&[("instance", "db1:9104")], 1.0)],
                "load" => vec![
                    sample(&[("instance", "db1:9100")], 0.5),
                    sample(&[("instance", "app1:9100")], 0.5),
                ],
                _ => Vec::new(),
            };
            Ok(Vector::from(v))
        })
        .collect();
    let f = build(&s, &results, &[]);
    // db1 stays though no series has a cluster; app1, a machine without a database, is
    // named in a note, not drawn as a host.
    assert_eq!(ids(&f), [format!("{NO_CLUSTER}/db1")]);
    assert!(
        f.notes.iter().any(|n| n.starts_with(
            "1 machine(s) with node_exporter series and no database exporter under their name are not on the board: (no cluster)/app1"
        )),
        "{:?}",
        f.notes
    );
}

/// Prometheus 3 UTF-8 label names: quoted in every selector and grouping.
#[test]
fn utf8_label_names_are_quoted_in_every_query() {
    let s = settings(
        "[identity]\nhost_label = \"host.name\"\ncluster_label = \"deployment.environment\"\n",
    );
    for m in &s.metrics.metrics {
        let q = fleetboard::sources::query::expand(&m.expr, &["prod".into()]);
        assert!(q.contains("\"host.name\"=~\".*\""), "{}: {q}", m.key);
        assert!(
            q.contains("\"deployment.environment\"=~\"prod\""),
            "{}: {q}",
            m.key
        );
        assert!(!q.contains(",host.name"), "{}: {q}", m.key);
    }
    let load = &s.metrics.get("load").unwrap().expr;
    assert!(
        load.contains("by (\"deployment.environment\", \"host.name\", \"exported_deployment.environment\", \"exported_host.name\")"),
        "{load}"
    );
}

/// c18: a custom metric pointed at a native histogram is named in the notes and in the
/// host's reading, not dropped silently.
#[test]
fn native_histogram_result_is_named_in_notes_and_panel() {
    let s = settings(
        "[metrics.latency]\nexpr = 'proxysql_query_latency_seconds{cluster=~\"$cluster\",instance=~\"$host\"}'\nunit = \"seconds\"\nwarn = 0.5\n",
    );
    let body = std::fs::read(format!(
        "{}/tests/fixtures/prom_native_histogram.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let results: Vec<_> = s
        .metrics
        .metrics
        .iter()
        .map(|m| match m.key.as_str() {
            "latency" => parse_instant(&body),
            "up" => Ok(Vector::from(vec![
                sample(&[("cluster", "shop"), ("instance", "db1:9104")], 1.0),
                sample(&[("cluster", "shop"), ("instance", "db2:9104")], 1.0),
            ])),
            _ => Ok(Vector::default()),
        })
        .collect();
    let f = build(&s, &results, &[]);
    assert_eq!(ids(&f), ["shop/db1", "shop/db2"]);
    let notes = f.notes.join("\n");
    assert!(
        notes.contains("2 series of `latency` are native histograms")
            && notes.contains("histogram_quantile"),
        "{notes}"
    );
    let r = host(&f, "shop", "db1")
        .reading(&s.metrics, "latency")
        .unwrap();
    assert_eq!(r.value, None);
    assert!(r.note.unwrap().contains("native histogram"), "{r:?}");
    // The host's health is not changed by a value it does not have.
    assert_eq!(host(&f, "shop", "db1").health, Health::Ok);
}

#[test]
fn scalar_result_for_a_custom_metric_is_named() {
    let s = settings("[metrics.x]\nexpr = 'scalar(sum(up))'\n");
    let results: Vec<_> = s
        .metrics
        .metrics
        .iter()
        .map(|m| match m.key.as_str() {
            "x" => parse_instant(
                br#"{"status":"success","data":{"resultType":"scalar","result":[1,"5"]}}"#,
            ),
            "up" => Ok(Vector::from(vec![sample(
                &[("cluster", "shop"), ("instance", "db1:9104")],
                1.0,
            )])),
            _ => Ok(Vector::default()),
        })
        .collect();
    let f = build(&s, &results, &[]);
    let notes = f.notes.join("\n");
    assert!(notes.contains("`x` returned a scalar"), "{notes}");
    assert_eq!(ids(&f), ["shop/db1"]);
}

#[test]
fn series_without_host_label_are_noted_with_an_example() {
    let s = settings("");
    let results: Vec<_> = s
        .metrics
        .metrics
        .iter()
        .map(|m| match m.key.as_str() {
            "up" => Ok(Vector::from(vec![
                sample(&[("cluster", "shop"), ("instance", "db1:9104")], 1.0),
                sample(
                    &[
                        ("__name__", "mysql_up"),
                        ("cluster", "shop"),
                        ("job", "mysql"),
                    ],
                    1.0,
                ),
            ])),
            _ => Ok(Vector::default()),
        })
        .collect();
    let f = build(&s, &results, &[]);
    let notes = f.notes.join("\n");
    assert!(
        notes.contains(
            "1 series of `up` had no `instance` label and were ignored (e.g. mysql_up{cluster=\"shop\", job=\"mysql\"})"
        ),
        "{notes}"
    );
}

fn two_env_app(w: u16, h: u16) -> fleetboard::app::App {
    use fleetboard::testing::{app_with, fixed_time};
    let s = settings("[identity]\npreset = \"pmm\"\n");
    let mut a = alert(
        "MySQLDown",
        &[("node_name", "db2"), ("service_name", "db2-mysql")],
    );
    a.annotations
        .insert("summary".into(), "MySQL down on db2-mysql".into());
    let f = build(&s, &two_envs(&s, &[("db1", 0.5)]), &[a]);
    let mut app = app_with(f, w, h, fixed_time());
    app.alerts.host_label = "node_name".into();
    app.alerts.cluster_label = "cluster".into();
    app.alerts.writable = true;
    app.alerts.author = "alice".into();
    app
}

fn screen(app: &fleetboard::app::App) -> String {
    fleetboard::testing::buffer_text(&fleetboard::testing::render(app))
}

/// A Prometheus shared with application servers: their node_exporters (up or down) are
/// no servers of the board; a database exporter down is one.
#[test]
fn a_shared_prometheus_shows_only_database_servers() {
    let s = settings("");
    let at = |c: &str, h: &str, v: f64| sample(&[("cluster", c), ("instance", h)], v);
    let target_down = |c: &str, h: &str, job: &str| {
        sample(
            &[
                ("__name__", "up"),
                ("cluster", c),
                ("instance", h),
                ("job", job),
            ],
            0.0,
        )
    };
    let results = answers(&s, |key| match key {
        "up" => vec![sample(
            &[
                ("cluster", "shop"),
                ("instance", "db1:9104"),
                ("job", "mysqld"),
            ],
            1.0,
        )],
        "read_only" => vec![at("shop", "db1:9104", 0.0)],
        "load" => vec![
            at("shop", "db1:9100", 0.2),
            at("web", "app1:9100", 0.5),
            at("web", "app2:9100", 0.6),
        ],
        "topology" => vec![
            target_down("web", "app3:9100", "node"),
            target_down("shop", "db2:9104", "mysqld"),
            // a job the board never saw answer, named after its engine
            target_down("crm", "c1:9104", "mysql-exporter"),
        ],
        _ => Vec::new(),
    });
    let f = build(&s, &results, &[]);
    assert_eq!(ids(&f), ["crm/c1", "shop/db1", "shop/db2"]);
    assert!(host(&f, "shop", "db2").exporter_down);
    assert!(
        f.notes.iter().any(|n| n.starts_with(
            "2 machine(s) with node_exporter series and no database exporter under their name are not on the board: web/app1, web/app2"
        )),
        "{:?}",
        f.notes
    );
    assert_eq!(exit_code(&s, &f), 3, "an exporter down is no good news");
}

/// Prometheus adds its external labels to every alert it sends; an external `cluster`
/// ("prom-eu") is not a cluster of the board, and must not leave the alert unplaced.
#[test]
fn an_alerts_cluster_the_board_does_not_have_places_it_by_host_name() {
    let s = settings("");
    let at = |c: &str, h: &str, v: f64| sample(&[("cluster", c), ("instance", h)], v);
    let results = answers(&s, |key| match key {
        "up" | "read_only" => vec![
            at("shop", "db1:9104", 1.0),
            at("shop", "db2:9104", 1.0),
            at("crm", "db2:9104", 1.0),
        ],
        _ => Vec::new(),
    });
    let ext = |h: &str| {
        alert(
            "MySQLHighConnections",
            &[("cluster", "prom-eu"), ("instance", h)],
        )
    };
    let f = build(&s, &results, &[ext("db1:9104"), ext("db2:9104")]);
    assert_eq!(
        host(&f, "shop", "db1").alerts.len(),
        1,
        "{:?}",
        f.other_reasons
    );
    assert_eq!(
        f.other_reasons,
        ["host db2 is in 2 clusters (crm, shop) and the alert's `cluster` (prom-eu) is none of them"]
    );
    // A cluster of the board still places it there, or nowhere.
    let f = build(
        &s,
        &results,
        &[alert(
            "MySQLHighConnections",
            &[("cluster", "crm"), ("instance", "db1:9104")],
        )],
    );
    assert!(host(&f, "shop", "db1").alerts.is_empty());
    assert_eq!(f.other_reasons, ["no host db1 in cluster crm on the board"]);
}

/// A rule aggregated by cluster ("lost a node", "no primary") names the cluster and no
/// host: trouble on the board, on that cluster, never a green board.
#[test]
fn an_alert_about_a_whole_cluster_shows_on_the_cluster() {
    use fleetboard::testing::{app_with, fixed_time};
    let s = settings("");
    let at = |c: &str, h: &str, v: f64| sample(&[("cluster", c), ("instance", h)], v);
    let results = answers(&s, |key| match key {
        "up" => vec![at("crm", "c1:9104", 1.0), at("shop", "db1:9104", 1.0)],
        "read_only" => vec![at("crm", "c1:9104", 0.0), at("shop", "db1:9104", 0.0)],
        _ => Vec::new(),
    });
    let degraded = alert("MySQLClusterDegraded", &[("cluster", "shop")]);
    let mut muted = alert("MySQLClusterNoPrimary", &[("cluster", "shop")]);
    muted.state = AlertState::Suppressed;
    muted.silenced_by = vec!["s1".into()];
    // a cluster not on the board (another team's), and a fleet-wide alert
    let elsewhere = alert("KafkaLag", &[("cluster", "events")]);
    let fleetwide = alert("PrometheusRuleFailures", &[]);
    let f = build(&s, &results, &[degraded, muted, elsewhere, fleetwide]);
    assert_eq!(f.cluster_alerts.len(), 1, "{:?}", f.cluster_alerts);
    let shop = &f.cluster_alerts["shop"];
    assert_eq!(
        (shop.health, shop.names.as_slice()),
        (Health::Crit, &["MySQLClusterDegraded".to_string()][..])
    );
    assert!(host(&f, "shop", "db1").alerts.is_empty());
    assert_eq!(f.other_alerts.len(), 4);
    assert_eq!(
        f.other_reasons[0],
        "about cluster shop as a whole (no `instance` label)"
    );
    assert_eq!(
        f.other_reasons[2],
        "no `instance` label: an alert about no single host"
    );
    // The snapshot is CRITICAL with every host OK, and says why.
    let rep = snapshot(&s, &f);
    assert_eq!((rep.status, rep.exit_code), ("CRITICAL", 2));
    let text = report::to_text(&rep, &s.metrics);
    assert!(
        text.contains("cluster shop CRIT: MySQLClusterDegraded"),
        "{text}"
    );
    let j = serde_json::to_value(&rep).unwrap();
    assert_eq!(j["cluster_alerts"][0]["cluster"], "shop");
    assert_eq!(j["cluster_alerts"][0]["health"], "CRIT");
    // On the board: named in the header and on the cluster's title, the cluster first.
    let app = app_with(f, 100, 12, fixed_time());
    let screen = screen(&app);
    let lines: Vec<&str> = screen.lines().collect();
    assert!(
        lines[0].contains("✖ cluster shop: MySQLClusterDegraded"),
        "{screen}"
    );
    let title = lines[1..].iter().find(|l| l.contains("shop")).unwrap();
    assert!(title.contains("shop ✖ MySQLClu"), "{screen}");
    assert!(
        lines[1].find("shop").unwrap() < lines[1].find("crm").unwrap(),
        "{screen}"
    );
}

#[test]
fn alerts_view_shows_an_unplaced_alert_with_its_reason() {
    use fleetboard::action::Action;
    use fleetboard::app::alerts::AlertAction;
    let mut app = two_env_app(100, 16);
    app.update(Action::Alerts(AlertAction::OpenAlerts));
    let s = screen(&app);
    assert!(
        s.contains("unattached: host db2 is in 2 clusters (prod, staging)"),
        "{s}"
    );
    insta::assert_snapshot!(s);
}

#[test]
fn status_bar_points_to_doctor_when_the_fleet_has_notes() {
    let app = two_env_app(120, 16);
    let s = screen(&app);
    assert!(s.contains("notes: run fleetboard doctor"), "{s}");
    insta::assert_snapshot!(s);
}

/// A host silence for db2 of prod must not also mute db2 of staging.
#[test]
fn host_silence_of_a_shared_name_carries_the_cluster() {
    use fleetboard::action::Action;
    use fleetboard::app::alerts::AlertAction;
    use fleetboard::app::Screen;
    use fleetboard::model::HostId;
    let mut app = two_env_app(120, 40);
    app.screen = Screen::Host(HostId {
        cluster: "prod".into(),
        name: "db2".into(),
    });
    app.update(Action::Alerts(AlertAction::NewSilence));
    let s = screen(&app);
    assert!(s.contains("node_name=\"db2\", cluster=\"prod\""), "{s}");
}

/// Tile sparklines of a node metric (no cluster label in PMM) reach their host.
#[test]
fn sparkline_series_without_cluster_reach_a_unique_host() {
    use fleetboard::model::RangeSeries;
    let (s, mut f) = pmm("healthy");
    let series = vec![RangeSeries {
        labels: [("node_name".to_string(), "db2".to_string())]
            .into_iter()
            .collect(),
        points: vec![(0.0, 0.5), (30.0, 0.7)],
    }];
    fleetboard::fleet::attach_sparks(&mut f, &s.identity, &series, 0.0, 30.0, 2);
    assert_eq!(host(&f, "shop", "db2").spark, [0.5, 0.7]);
    assert!(host(&f, "shop", "db1").spark.is_empty());
}

/// mysqld_exporter's targets named one way and node_exporter's another, in one cluster.
fn named_apart(
    s: &Settings,
    db: &[&str],
    node: &[(&str, f64)],
) -> Vec<Result<Vector, SourceError>> {
    let at = |h: &str, v: f64| sample(&[("cluster", "shop"), ("instance", h)], v);
    answers(s, |key| match key {
        "up" => db.iter().map(|h| at(h, 1.0)).collect(),
        "read_only" => db.iter().map(|h| at(h, 0.0)).collect(),
        "load" => node.iter().map(|(h, x)| at(h, *x)).collect(),
        _ => Vec::new(),
    })
}

#[test]
fn node_series_named_by_another_form_of_the_host_name_join_it() {
    let s = settings("");
    let load = s.metrics.index("load").unwrap();
    let results = named_apart(
        &s,
        &[
            "db1:9104",
            "db2.prod.example.com:9104",
            "db3:9104",
            "10.0.0.4:9104",
        ],
        &[
            // Fully qualified beside a short name, and the other way round.
            ("db1.prod.example.com:9100", 2.5),
            ("db2:9100", 0.3),
            // Two machines named db3 in two domains: which one is the database's is
            // unknown, so neither joins.
            ("db3.dc1.example.com:9100", 0.4),
            ("db3.dc2.example.com:9100", 0.5),
            // An address is no name with a domain.
            ("10.0.0.4:9100", 0.2),
            ("10:9100", 0.9),
        ],
    );
    let alerts = vec![alert(
        "NodeHighLoad",
        &[
            ("instance", "db1.prod.example.com:9100"),
            ("cluster", "shop"),
        ],
    )];
    let f = build(&s, &results, &alerts);
    // The machines that join nothing are named in a note, not drawn as hosts.
    assert_eq!(
        ids(&f),
        [
            "shop/10.0.0.4",
            "shop/db1",
            "shop/db2.prod.example.com",
            "shop/db3",
        ]
    );
    assert!(
        f.notes.iter().any(|n| n.starts_with(
            "3 machine(s) with node_exporter series and no database exporter under their name are not on the board: shop/10, shop/db3.dc1.example.com, shop/db3.dc2.example.com"
        )),
        "{:?}",
        f.notes
    );
    let db1 = host(&f, "shop", "db1");
    assert_eq!(db1.readings[load].value, Some(2.5));
    assert_eq!(db1.aliases, ["db1.prod.example.com"]);
    // The alert about the node_exporter target is the host's.
    assert_eq!(db1.alerts.len(), 1);
    assert_eq!(db1.health, Health::Crit);
    assert!(f.other_alerts.is_empty());
    let db2 = host(&f, "shop", "db2.prod.example.com");
    assert_eq!(db2.readings[load].value, Some(0.3));
    assert_eq!(db2.aliases, ["db2"]);
    assert_eq!(host(&f, "shop", "db3").readings[load].value, None);
    assert!(host(&f, "shop", "db3").aliases.is_empty());
    assert_eq!(host(&f, "shop", "10.0.0.4").readings[load].value, Some(0.2));
    let rep = snapshot(&s, &f);
    let json = serde_json::to_value(&rep).unwrap();
    let db1 = json["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "db1")
        .unwrap();
    assert_eq!(db1["aliases"], serde_json::json!(["db1.prod.example.com"]));
    let note = f.notes.iter().find(|n| n.contains("another form")).unwrap();
    assert!(
        note.contains("db1.prod.example.com → db1, db2 → db2.prod.example.com"),
        "{note}"
    );
}

#[test]
fn a_joined_name_stays_joined_while_the_database_exporter_is_down() {
    let s = settings("");
    let load = s.metrics.index("load").unwrap();
    let node = [
        ("db1.prod.example.com:9100", 2.5),
        ("db2.prod.example.com:9100", 0.3),
    ];
    let first = build(&s, &named_apart(&s, &["db1:9104", "db2:9104"], &node), &[]);
    assert_eq!(ids(&first), ["shop/db1", "shop/db2"]);
    // db1's mysqld_exporter is gone; its node_exporter still answers.
    let results = named_apart(&s, &["db2:9104"], &node);
    let f = build_after(&s, &results, &[], Some(&first));
    // No second host for the machine: db1 is there, without data from its exporter,
    // with its load.
    assert_eq!(ids(&f), ["shop/db1", "shop/db2"]);
    let db1 = host(&f, "shop", "db1");
    assert!(db1.exporter_down, "{db1:?}");
    assert_eq!(db1.readings[load].value, Some(2.5));
    assert_eq!(db1.aliases, ["db1.prod.example.com"]);
}

/// DNS names are case-insensitive: `DB1` from a CMDB-fed discovery, `db1` from DNS.
#[test]
fn names_differing_only_by_case_are_one_machine() {
    let s = settings("");
    let load = s.metrics.index("load").unwrap();
    let node = [("db1:9100", 2.5), ("db2.prod.example.com:9100", 0.3)];
    let f = build(&s, &named_apart(&s, &["DB1:9104", "DB2:9104"], &node), &[]);
    assert_eq!(ids(&f), ["shop/DB1", "shop/DB2"]);
    assert_eq!(host(&f, "shop", "DB1").readings[load].value, Some(2.5));
    assert_eq!(host(&f, "shop", "DB2").readings[load].value, Some(0.3));
    assert_eq!(host(&f, "shop", "DB1").aliases, ["db1"]);
}

/// Series passed on by a federating Prometheus (or a Pushgateway) without
/// `honor_labels: true`: `instance` is that Prometheus, the server's own name is in
/// `exported_instance`.
#[test]
fn series_scraped_again_are_named_by_their_exported_instance() {
    use fleetboard::action::Action;
    use fleetboard::app::alerts::AlertAction;
    use fleetboard::app::Screen;
    use fleetboard::model::HostId;
    use fleetboard::testing::{app_with, fixed_time};
    let s = settings("");
    let fed = |cluster: &str, h: &str, job: &str, v: f64| {
        sample(
            &[
                ("cluster", cluster),
                ("instance", "prom-eu:9090"),
                ("job", "federate"),
                ("exported_instance", h),
                ("exported_job", job),
            ],
            v,
        )
    };
    let results = answers(&s, |key| match key {
        "up" => vec![
            fed("shop", "db1:9104", "mysql", 1.0),
            fed("shop", "db2:9104", "mysql", 1.0),
            // scraped directly by the board's Prometheus: the plain label names it
            sample(&[("cluster", "crm"), ("instance", "db9:9104")], 1.0),
        ],
        "read_only" => vec![
            fed("shop", "db1:9104", "mysql", 0.0),
            fed("shop", "db2:9104", "mysql", 1.0),
            sample(&[("cluster", "crm"), ("instance", "db9:9104")], 0.0),
        ],
        "lag" => vec![fed("shop", "db2:9104", "mysql", 900.0)],
        "load" => vec![
            fed("shop", "db1:9100", "node", 0.2),
            fed("shop", "db2:9100", "node", 0.3),
        ],
        // the region cannot scrape db3's exporter: its `up`, passed on
        k if k == fleetboard::fleet::roles::TOPOLOGY_KEY => {
            let mut up = fed("shop", "db3:9104", "mysql", 0.0);
            up.labels.insert("__name__".into(), "up".into());
            vec![up]
        }
        _ => Vec::new(),
    });
    // A rule over the federated series keeps both labels.
    let lag_alert = alert(
        "MySQLReplicationLag",
        &[
            ("cluster", "shop"),
            ("instance", "prom-eu:9090"),
            ("exported_instance", "db2:9104"),
        ],
    );
    let f = build(&s, &results, &[lag_alert]);
    assert_eq!(ids(&f), ["crm/db9", "shop/db1", "shop/db2", "shop/db3"]);
    let db3 = host(&f, "shop", "db3");
    assert!(db3.exporter_down, "{:?}", db3.reasons);
    assert!(
        db3.reasons[0].contains("(up=0, job mysql)"),
        "the region's job, not the federation's: {:?}",
        db3.reasons
    );
    let db2 = host(&f, "shop", "db2");
    assert_eq!(db2.health, Health::Crit, "{:?}", db2.reasons);
    assert!(
        db2.reasons[0].starts_with("lag 15m00s"),
        "{:?}",
        db2.reasons
    );
    assert_eq!(db2.alerts.len(), 1);
    let load = s.metrics.index("load").unwrap();
    assert_eq!(db2.readings[load].value, Some(0.3));
    assert!(f.other_alerts.is_empty());
    assert!(
        f.notes.iter().any(|n| n.starts_with(
            "2 host(s) named by `exported_instance`, e.g. shop/db1, shop/db2: their series were scraped again"
        ) && n.contains("(`instance` prom-eu:9090)")),
        "{:?}",
        f.notes
    );

    // A silence for db2 must not name prom-eu:9090, which every server behind it shares.
    let mut app = app_with(f, 120, 40, fixed_time());
    app.alerts.host_label = "instance".into();
    app.alerts.cluster_label = "cluster".into();
    app.alerts.writable = true;
    app.alerts.author = "alice".into();
    app.screen = Screen::Host(HostId {
        cluster: "shop".into(),
        name: "db2".into(),
    });
    app.update(Action::Alerts(AlertAction::NewSilence));
    let text = screen(&app);
    assert!(
        text.contains("alertname=\"MySQLReplicationLag\", exported_instance=~\"db2(:[0-9]+)?\""),
        "{text}"
    );
    assert!(!text.contains("prom-eu"), "{text}");
}

/// One exporter per server on a shared machine (RDS or Cloud SQL watched from an exporter
/// box, several mysqld on one machine): `mon1:9104`, `mon1:9105`, `mon1:9106` in one cluster
/// are three servers, not one host answering three times.
#[test]
fn servers_told_apart_only_by_port_stay_apart() {
    use fleetboard::model::RangeSeries;
    let s = settings("");
    let at = |h: &str, v: f64| sample(&[("cluster", "shop"), ("instance", h)], v);
    // and two exporters of one server (the second for slow collectors): one server_id
    let other = |h: &str, v: f64| sample(&[("cluster", "crm"), ("instance", h)], v);
    let dbs = ["mon1:9104", "mon1:9105", "mon1:9106"];
    let results = answers(&s, |key| match key {
        "up" => dbs
            .iter()
            .map(|h| at(h, 1.0))
            .chain([other("db7:9104", 1.0), other("db7:9105", 1.0)])
            .collect(),
        "server_id" => vec![
            at("mon1:9104", 1.0),
            at("mon1:9105", 2.0),
            at("mon1:9106", 3.0),
            other("db7:9104", 7.0),
            other("db7:9105", 7.0),
        ],
        "read_only" => vec![
            at("mon1:9104", 0.0),
            at("mon1:9105", 1.0),
            at("mon1:9106", 1.0),
            other("db7:9104", 0.0),
        ],
        "lag" => vec![at("mon1:9105", 3.0), at("mon1:9106", 900.0)],
        "io_running" | "sql_running" => vec![at("mon1:9105", 1.0), at("mon1:9106", 1.0)],
        // the machine's node_exporter
        "load" => vec![at("mon1:9100", 0.4)],
        _ => Vec::new(),
    });
    let lag_alert = alert(
        "MySQLReplicationLag",
        &[("cluster", "shop"), ("instance", "mon1:9106")],
    );
    let mut f = build(&s, &results, &[lag_alert]);
    assert_eq!(
        ids(&f),
        [
            "crm/db7",
            "shop/mon1:9104",
            "shop/mon1:9105",
            "shop/mon1:9106"
        ]
    );
    assert_eq!(host(&f, "shop", "mon1:9104").health, Health::Ok);
    assert_eq!(host(&f, "shop", "mon1:9105").health, Health::Ok);
    let third = host(&f, "shop", "mon1:9106");
    assert_eq!(third.health, Health::Crit, "{:?}", third.reasons);
    assert_eq!(third.alerts.len(), 1);
    assert!(f.other_alerts.is_empty());
    let load = s.metrics.index("load").unwrap();
    for h in f.hosts.iter().filter(|h| h.id.cluster == "shop") {
        assert_eq!(h.readings[load].value, Some(0.4), "{}", h.id.name);
    }
    assert!(
        f.notes
            .iter()
            .any(|n| n.contains("shop/mon1 (3)") && n.contains("shop/mon1:9100 (3 servers)")),
        "{:?}",
        f.notes
    );
    assert!(
        f.notes
            .iter()
            .any(|n| n.starts_with("1 duplicate series of `up`")),
        "db7's second exporter: {:?}",
        f.notes
    );
    // An alert about the machine (node_exporter's target) concerns each of its servers; one
    // about a machine of servers in two clusters, naming neither, none.
    let disk = alert(
        "NodeFilesystemAlmostFull",
        &[("cluster", "shop"), ("instance", "mon1:9100")],
    );
    let mut two = results.clone();
    let up = s.metrics.index("up").unwrap();
    let mut v = two[up].as_ref().unwrap().to_samples();
    v.extend([
        other("mon2:9104", 1.0),
        other("mon2:9105", 1.0),
        at("mon2:9106", 1.0),
        at("mon2:9107", 1.0),
    ]);
    two[up] = Ok(Vector::from(v));
    let unsure = alert("NodeDown", &[("instance", "mon2:9100")]);
    let with_disk = build(&s, &two, &[disk, unsure]);
    for n in dbs {
        let h = host(&with_disk, "shop", n);
        assert_eq!(h.alerts.len(), 1, "{n}");
        assert!(
            h.reasons
                .iter()
                .any(|r| r == "alert NodeFilesystemAlmostFull (critical)"),
            "{n}: {:?}",
            h.reasons
        );
    }
    assert!(host(&with_disk, "crm", "db7").alerts.is_empty());
    assert_eq!(with_disk.other_alerts.len(), 1);
    assert!(
        host(&with_disk, "crm", "mon2:9104").alerts.is_empty()
            && host(&with_disk, "shop", "mon2:9106").alerts.is_empty()
    );
    assert_eq!(
        with_disk.other_reasons,
        ["machine mon2 runs servers of 2 clusters (crm, shop) and the alert has no `cluster` label"]
    );
    // mon1:9105's and mon1:9106's exporters down: mon1:9104 is no longer one of several
    // in this answer, and still stays apart from the others, which show exporter down
    let without: Vec<Result<Vector, SourceError>> = results
        .iter()
        .map(|r| {
            let v = r.as_ref().unwrap().to_samples();
            Ok(Vector::from(
                v.into_iter()
                    .filter(|s| {
                        !matches!(
                            s.labels.get("instance").map(String::as_str),
                            Some("mon1:9105" | "mon1:9106")
                        )
                    })
                    .collect::<Vec<_>>(),
            ))
        })
        .collect();
    let after = build_after(&s, &without, &[], Some(&f));
    assert_eq!(
        ids(&after),
        [
            "crm/db7",
            "shop/mon1:9104",
            "shop/mon1:9105",
            "shop/mon1:9106"
        ]
    );
    assert!(host(&after, "shop", "mon1:9105").exporter_down);
    assert!(host(&after, "shop", "mon1:9106").exporter_down);
    assert_eq!(host(&after, "shop", "mon1:9104").health, Health::Ok);
    assert_eq!(
        host(&after, "shop", "mon1:9104").readings[load].value,
        Some(0.4)
    );
    // tile sparklines reach each server by its full name
    let spark = |h: &str, v: f64| RangeSeries {
        labels: [("cluster", "shop"), ("instance", h)]
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
        points: vec![(0.0, v)],
    };
    let series = [spark("mon1:9105", 3.0), spark("mon1:9106", 900.0)];
    fleetboard::fleet::attach_sparks(&mut f, &s.identity, &series, 0.0, 30.0, 1);
    assert_eq!(host(&f, "shop", "mon1:9106").spark, [900.0]);
    assert_eq!(host(&f, "shop", "mon1:9105").spark, [3.0]);
    // a sparkline of the machine's load (another refresh): each of its servers
    for h in &mut f.hosts {
        h.spark.clear();
    }
    fleetboard::fleet::attach_sparks(
        &mut f,
        &s.identity,
        &[spark("mon1:9100", 0.4)],
        0.0,
        30.0,
        1,
    );
    for n in ["mon1:9104", "mon1:9105", "mon1:9106"] {
        assert_eq!(host(&f, "shop", n).spark, [0.4], "{n}");
    }
}

/// node_exporter's targets named by address (file_sd or Consul with IPs), mysqld_exporter's
/// by DNS name: `node_uname_info`'s `nodename` joins the machine's series to its database
/// host, instead of a phantom host per address.
#[test]
fn node_targets_named_by_address_join_their_host_by_nodename() {
    use fleetboard::model::RangeSeries;
    let s = settings("");
    // The topology query asks for node_uname_info of address-named targets only.
    let topo = &s.metrics.metrics[s.metrics.index("topology").unwrap()].expr;
    assert!(topo.contains("node_uname_info{"), "{topo}");
    let at = |h: &str, v: f64| sample(&[("cluster", "shop"), ("instance", h)], v);
    let uname = |cluster: Option<&str>, h: &str, nodename: &str| {
        let mut l = vec![
            ("__name__", "node_uname_info"),
            ("instance", h),
            ("nodename", nodename),
        ];
        if let Some(c) = cluster {
            l.push(("cluster", c));
        }
        sample(&l, 1.0)
    };
    let results = answers(&s, |key| match key {
        "up" => vec![
            at("db1:9104", 1.0),
            at("db2:9104", 1.0),
            at("db3:9104", 1.0),
        ],
        "server_id" => vec![
            at("db1:9104", 1.0),
            at("db2:9104", 2.0),
            at("db3:9104", 3.0),
        ],
        "read_only" => vec![
            at("db1:9104", 0.0),
            at("db2:9104", 1.0),
            at("db3:9104", 1.0),
        ],
        "lag" => vec![at("db2:9104", 3.0), at("db3:9104", 2.0)],
        "io_running" | "sql_running" => vec![at("db2:9104", 1.0), at("db3:9104", 1.0)],
        // db3's node_exporter has no cluster label (PMM-style); 10.0.0.9 is a machine
        // without a database (its nodename names no host)
        "load" => vec![
            at("10.0.0.1:9100", 3.0),
            at("10.0.0.2:9100", 0.1),
            sample(&[("instance", "10.0.0.3:9100")], 0.2),
            at("10.0.0.9:9100", 0.3),
        ],
        "topology" => vec![
            uname(Some("shop"), "10.0.0.1:9100", "db1"),
            // the kernel's host name fully qualified
            uname(Some("shop"), "10.0.0.2:9100", "db2.prod.example.com"),
            uname(None, "10.0.0.3:9100", "db3"),
            uname(Some("shop"), "10.0.0.9:9100", "backup1"),
        ],
        _ => Vec::new(),
    });
    let high_load = alert(
        "NodeHighLoad",
        &[("cluster", "shop"), ("instance", "10.0.0.1:9100")],
    );
    let mut f = build(&s, &results, &[high_load]);
    // A machine without a database is no database down, nor a host of the board.
    assert_eq!(ids(&f), ["shop/db1", "shop/db2", "shop/db3"]);
    assert!(
        f.notes
            .iter()
            .any(|n| n.starts_with("1 machine(s) with node_exporter series")
                && n.contains("shop/10.0.0.9")),
        "{:?}",
        f.notes
    );
    let load = s.metrics.index("load").unwrap();
    let db1 = host(&f, "shop", "db1");
    assert_eq!(db1.readings[load].value, Some(3.0));
    assert_eq!(db1.alerts.len(), 1, "{:?}", f.other_reasons);
    assert_eq!(db1.aliases, ["10.0.0.1"]);
    assert_eq!(host(&f, "shop", "db2").readings[load].value, Some(0.1));
    assert_eq!(host(&f, "shop", "db3").readings[load].value, Some(0.2));
    assert_eq!(host(&f, "shop", "db3").aliases, ["10.0.0.3"]);
    assert_eq!(
        host(&f, "shop", "db1").role,
        fleetboard::model::Role::Primary
    );
    assert!(
        f.notes
            .iter()
            .any(|n| n.contains("10.0.0.1 → db1") && n.contains("node_uname_info")),
        "{:?}",
        f.notes
    );
    // The machine's load sparkline reaches the host by its address.
    let spark = RangeSeries {
        labels: [("cluster", "shop"), ("instance", "10.0.0.1:9100")]
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
        points: vec![(0.0, 3.0)],
    };
    fleetboard::fleet::attach_sparks(&mut f, &s.identity, &[spark], 0.0, 30.0, 1);
    assert_eq!(host(&f, "shop", "db1").spark, [3.0]);
    // db1's mysqld_exporter down a refresh later: its machine still joins it.
    let without: Vec<Result<Vector, SourceError>> = results
        .iter()
        .map(|r| {
            let v = r.as_ref().unwrap().to_samples();
            Ok(Vector::from(
                v.into_iter()
                    .filter(|s| s.labels.get("instance").map(String::as_str) != Some("db1:9104"))
                    .collect::<Vec<_>>(),
            ))
        })
        .collect();
    let after = build_after(&s, &without, &[], Some(&f));
    assert_eq!(ids(&after), ["shop/db1", "shop/db2", "shop/db3"]);
    assert_eq!(host(&after, "shop", "db1").readings[load].value, Some(3.0));
}
