//! Partial answers of each engine (Thanos `warnings`, VictoriaMetrics `isPartial`) and
//! annotations on complete data (Prometheus `warnings`/`infos`), served over HTTP from the
//! fixtures in `tests/fixtures/partial/`: the hosts missing from a partial answer stay on
//! the board STALE with the reason, never DOWN; `snapshot` is not OK (exit 3); a source may
//! ask the engine not to answer partially.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::united;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use fleetboard::cli::{Cli, Format};
use fleetboard::config;
use fleetboard::model::{Fleet, Health, HostId};
use fleetboard::poller::Merger;
use fleetboard::setup;
use fleetboard::sources::PollRequest;
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn fixture(name: &str) -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/partial")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

/// The form fields of every query the engine received.
type Forms = Arc<Mutex<Vec<Vec<(String, String)>>>>;

/// A query engine over `series.json`: each part of a (united) query answers the series whose
/// metric name its expression names. While `failing`, the eu region's series are gone and
/// `envelope` is merged into the answer, as the engine does when one store is unreachable;
/// asked not to answer partially, it fails instead.
struct Engine {
    series: Vec<Value>,
    envelope: Value,
    failing: Arc<AtomicBool>,
    forms: Forms,
}

fn parts(query: &str) -> Vec<(Option<String>, String)> {
    let keys = united::parts_of(query);
    if keys.is_empty() {
        return vec![(None, query.to_string())];
    }
    // Each part is the text from its `label_replace(` to the next (the `or` tree's
    // parentheses around it do not matter to the name matching below).
    query
        .split("label_replace(")
        .skip(1)
        .zip(keys)
        .map(|(p, k)| (Some(k), p.to_string()))
        .collect()
}

impl Respond for Engine {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        let form: Vec<(String, String)> = url::form_urlencoded::parse(&r.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        self.forms.lock().unwrap().push(form.clone());
        let failing = self.failing.load(Ordering::SeqCst);
        let denied = form.iter().any(|(k, v)| {
            (k == "partial_response" && v == "false") || (k == "deny_partial_response" && v == "1")
        });
        if failing && denied {
            return ResponseTemplate::new(503).set_body_json(serde_json::json!({
                "status": "error", "errorType": "unavailable",
                "error": "partial response disabled; one store is unavailable"
            }));
        }
        let q = united::query_of(r);
        let mut result = Vec::new();
        for (key, expr) in parts(&q) {
            for s in &self.series {
                let name = s["metric"]["__name__"].as_str().unwrap();
                if !expr.contains(name) || (failing && s["metric"]["cluster"] == "eu") {
                    continue;
                }
                let mut s = s.clone();
                if let Some(k) = &key {
                    s["metric"]["fb_metric"] = Value::String(k.clone());
                }
                result.push(s);
            }
        }
        let mut body = serde_json::json!({
            "status": "success",
            "data": {"resultType": "vector", "result": result}
        });
        if failing {
            for (k, v) in self.envelope.as_object().unwrap() {
                body[k] = v.clone();
            }
        }
        ResponseTemplate::new(200).set_body_json(body)
    }
}

/// The preset's metrics; series the fixture lacks (connections, load, ...) answer nothing.
const METRICS: &str = "";

struct Setup {
    server: MockServer,
    failing: Arc<AtomicBool>,
    forms: Forms,
    settings: config::Settings,
}

async fn engine(envelope: &str, failing: bool, extra_config: &str) -> Setup {
    let server = MockServer::start().await;
    let failing = Arc::new(AtomicBool::new(failing));
    let forms = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("POST"))
        .and(path("/api/v1/query"))
        .respond_with(Engine {
            series: fixture("series.json").as_array().unwrap().clone(),
            envelope: fixture(envelope),
            failing: Arc::clone(&failing),
            forms: Arc::clone(&forms),
        })
        .mount(&server)
        .await;
    let text = format!(
        "{METRICS}\n[[prometheus]]\nname = \"global\"\nurl = \"{}\"\n{extra_config}\n",
        server.uri()
    );
    let file = config::parse(&text, Path::new("test.toml")).unwrap();
    let cli = Cli {
        timeout: Some(Duration::from_secs(5)),
        ..Cli::default()
    };
    let settings = config::resolve(&cli, &file, None).unwrap();
    Setup {
        server,
        failing,
        forms,
        settings,
    }
}

fn id(c: &str, n: &str) -> HostId {
    HostId {
        cluster: c.into(),
        name: n.into(),
    }
}

/// Two refreshes through the merger: complete, then with the eu store failing.
async fn board_sees(s: &Setup) -> (Arc<Fleet>, Arc<Fleet>) {
    let source = setup::make_source(&s.settings).unwrap();
    let mut merger = Merger::new(
        Arc::new(s.settings.metrics.clone()),
        s.settings.identity.clone(),
        s.settings.forget_after,
    );
    let req = PollRequest::default();
    let (f1, e1, _) = merger.merge(source.poll(&req, Utc::now()).await);
    assert!(e1.is_none(), "{e1:?}");
    s.failing.store(true, Ordering::SeqCst);
    let (f2, _, _) = merger.merge(source.poll(&req, Utc::now()).await);
    (f1.unwrap(), f2.unwrap())
}

fn assert_eu_stale_us_live(f: &Fleet, why: &str) {
    assert_eq!(f.hosts.len(), 4, "no host dropped: {:?}", f.hosts);
    for h in &f.hosts {
        if h.id.cluster == "eu" {
            assert_eq!(h.health, Health::Stale, "{}: {:?}", h.id.name, h.reasons);
            assert!(
                h.reasons[0].contains("partially") && h.reasons[0].contains(why),
                "{:?}",
                h.reasons
            );
        } else {
            assert_eq!(h.health, Health::Ok, "{}: {:?}", h.id.name, h.reasons);
        }
        assert_eq!(h.source.as_deref(), Some("global"));
    }
    assert!(f
        .find(&id("eu", "db2"))
        .unwrap()
        .readings
        .iter()
        .all(|r| r.stale));
}

#[tokio::test]
async fn thanos_partial_answer_keeps_the_missing_region_stale_not_down() {
    let s = engine("thanos_warning.json", false, "").await;
    let (f1, f2) = board_sees(&s).await;
    assert!(
        f1.hosts.iter().all(|h| h.health == Health::Ok),
        "{:?}",
        f1.hosts
    );
    assert_eu_stale_us_live(&f2, "thanos-sidecar-eu:10901");
    let st = &f2.sources[0];
    assert_eq!(st.partial.len(), 1);
    assert!(st.notices.is_empty(), "{:?}", st.notices);
}

#[tokio::test]
async fn victoriametrics_is_partial_keeps_the_missing_region_stale_not_down() {
    let s = engine("vm_partial.json", false, "").await;
    let (_, f2) = board_sees(&s).await;
    assert_eu_stale_us_live(&f2, "isPartial");
}

#[tokio::test]
async fn prometheus_annotations_on_complete_data_are_notices_not_partial() {
    let s = engine("prom_annotations.json", true, "").await;
    let source = setup::make_source(&s.settings).unwrap();
    // The engine drops eu while "failing"; here the annotations ride on an answer that is
    // complete for what it holds, so nothing may be called partial.
    s.failing.store(false, Ordering::SeqCst);
    let mut merger = Merger::new(
        Arc::new(s.settings.metrics.clone()),
        s.settings.identity.clone(),
        s.settings.forget_after,
    );
    let r = source.poll(&PollRequest::default(), Utc::now()).await;
    assert!(r.sources[0].partial.is_empty());
    let (f, _, _) = merger.merge(r);
    assert!(f.unwrap().hosts.iter().all(|h| h.health == Health::Ok));
    // With the annotations on the answer:
    s.failing.store(true, Ordering::SeqCst);
    let r = source.poll(&PollRequest::default(), Utc::now()).await;
    assert!(r.sources[0].partial.is_empty(), "{:?}", r.sources[0]);
    assert_eq!(r.sources[0].notices.len(), 2, "{:?}", r.sources[0].notices);
    assert!(r.sources[0].notices[0].starts_with("PromQL warning"));
}

#[tokio::test]
async fn snapshot_of_a_partial_answer_is_unknown_and_says_why() {
    // c10 with FIELD_PARTIAL_AFTER=0: the eu store fails from the start.
    let s = engine("thanos_warning.json", true, "").await;
    let source = setup::make_source(&s.settings).unwrap();
    let out = setup::snapshot(&s.settings, source.as_ref(), Format::Json).await;
    assert_eq!(out.exit_code, 3, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("answered partially"), "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["status"], "UNKNOWN");
    let src = &v["sources"][0];
    assert_eq!(src["name"], "prometheus");
    assert_eq!(src["source"], "global");
    assert_eq!(src["ok"], false);
    assert!(src["partial"][0]
        .as_str()
        .unwrap()
        .contains("thanos-sidecar-eu"));
    // The us hosts are there and OK, none is DOWN; the note says hosts may be missing.
    let hosts = v["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 2);
    assert!(hosts
        .iter()
        .all(|h| h["health"] == "OK" && h["source"] == "global"));
    assert!(v["notes"].as_array().unwrap().iter().any(|n| n
        .as_str()
        .unwrap()
        .contains("hosts missing from it are not listed")));

    // Something known and worse wins over UNKNOWN: us's replica stops its SQL thread.
    let mut series = fixture("series.json");
    for s in series.as_array_mut().unwrap() {
        if s["metric"]["__name__"] == "mysql_slave_status_slave_sql_running"
            && s["metric"]["cluster"] == "us"
        {
            s["value"][1] = Value::String("0".into());
        }
    }
    let worse = engine("thanos_warning.json", true, "").await;
    worse.server.reset().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/query"))
        .respond_with(Engine {
            series: series.as_array().unwrap().clone(),
            envelope: fixture("thanos_warning.json"),
            failing: Arc::new(AtomicBool::new(true)),
            forms: Arc::default(),
        })
        .mount(&worse.server)
        .await;
    let source = setup::make_source(&worse.settings).unwrap();
    let out = setup::snapshot(&worse.settings, source.as_ref(), Format::Json).await;
    assert_eq!(out.exit_code, 2, "{}", out.stdout);
}

#[tokio::test]
async fn deny_partial_asks_the_engine_and_turns_a_gap_into_a_source_error() {
    let s = engine("thanos_warning.json", true, "deny_partial = true").await;
    let source = setup::make_source(&s.settings).unwrap();
    let r = source.poll(&PollRequest::default(), Utc::now()).await;
    let forms = s.forms.lock().unwrap().clone();
    assert_eq!(forms.len(), 1, "a refused answer is not retried per metric");
    assert!(
        forms[0]
            .iter()
            .any(|(k, v)| k == "partial_response" && v == "false"),
        "{forms:?}"
    );
    assert!(
        forms[0]
            .iter()
            .any(|(k, v)| k == "deny_partial_response" && v == "1"),
        "{forms:?}"
    );
    // The engine refused: the source failed as a whole, with the engine's reason (the board
    // keeps its last data, stale, as for any failed source).
    let st = &r.sources[0];
    assert!(st.partial.is_empty());
    let e = st.error.as_ref().expect("a source error").to_string();
    assert!(e.contains("partial response disabled"), "{e}");
    assert!(r.metrics.is_err());
}

#[tokio::test]
async fn the_board_says_partial_why_and_which_hosts_are_stale() {
    use fleetboard::model::{DeadMansSwitch, JobCount, Monitoring};
    use fleetboard::testing::{app_with, buffer_text, fixed_time, render};
    let s = engine("thanos_warning.json", false, "").await;
    let (_, f2) = board_sees(&s).await;
    let mut fleet = (*f2).clone();
    fleet.sources[0].monitoring = Some(Monitoring {
        targets_down: vec![JobCount {
            job: "mysql".into(),
            count: 2,
        }],
        ..Monitoring::default()
    });
    fleet.dead_mans_switch = Some(DeadMansSwitch {
        names: vec!["Watchdog".into()],
        present: Some(false),
    });
    let app = app_with(fleet, 260, 30, fixed_time());
    let text = buffer_text(&render(&app));
    let header = text.lines().next().unwrap();
    assert!(header.contains("ALERTING PIPELINE BROKEN"), "{header}");
    assert!(header.contains("2 STALE"), "{header}");
    assert!(
        header.contains("PARTIAL: receive series from Addr: thanos-sidecar-eu"),
        "{header}"
    );
    assert!(header.contains("targets down: mysql 2"), "{header}");
    let status = text.lines().last().unwrap();
    assert!(
        status.contains("global partial: receive series"),
        "{status}"
    );
    assert!(!text.contains("DOWN"), "{text}");
}
