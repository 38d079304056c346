//! Faults seen from the board: the poller keeps the last good data, reports the error,
//! backs off, and recovers by itself; the snapshot exits UNKNOWN with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::united;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use fleetboard::cli::{Cli, Format};
use fleetboard::config::{self, FileConfig};
use fleetboard::poller::{self, Merger};
use fleetboard::setup;
use fleetboard::sources::PollRequest;
use tokio::sync::mpsc;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ONE_HOST: &str = r#"{"status":"success","data":{"resultType":"vector","result":[
 {"metric":{"cluster":"payments","instance":"db1","job":"mysql"},"value":[1795554331.174,"1"]}]}}"#;

fn settings(uri: &str, timeout_ms: u64) -> config::Settings {
    let cli = Cli {
        prometheus: vec![uri.to_string()],
        timeout: Some(Duration::from_millis(timeout_ms)),
        refresh: Some(Duration::from_millis(100)),
        ..Cli::default()
    };
    config::resolve(&cli, &FileConfig::default(), None).unwrap()
}

#[tokio::test]
async fn poller_reports_failures_then_recovers() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/query"))
        .respond_with(united::EveryPart(ONE_HOST.to_string()))
        .up_to_n_times(10)
        .with_priority(1)
        .mount(&server)
        .await;
    let s = settings(&server.uri(), 2000);
    let source = setup::make_source(&s).unwrap();
    let (tx, mut rx) = poller::update_channel();
    let (ctx, crx) = mpsc::unbounded_channel();
    // The newest refresh, once it is there.
    async fn next(rx: &mut poller::UpdateReceiver) -> fleetboard::model::Update {
        tokio::time::timeout(Duration::from_secs(5), rx.changed())
            .await
            .unwrap()
            .unwrap();
        rx.borrow_and_update().clone().unwrap()
    }
    let merger = Merger::new(
        Arc::new(s.metrics.clone()),
        s.identity.clone(),
        s.forget_after,
    );
    let task = tokio::spawn(poller::run(
        source,
        merger,
        PollRequest::default(),
        s.refresh,
        crx,
        tx,
        Utc::now,
    ));

    let first = next(&mut rx).await;
    let fleet = first.fleet.expect("first refresh has data");
    assert_eq!(fleet.hosts.len(), 1);

    // The server now answers garbage: every refresh is an error, and retries slow down.
    server.reset().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/query"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(r#"{"status":"success","data":{"resultType":"vec"#),
        )
        .mount(&server)
        .await;
    let mut delays = Vec::new();
    for _ in 0..3 {
        ctx.send(poller::PollerCmd::RefreshNow).unwrap();
        let u = next(&mut rx).await;
        assert!(u.fleet.is_none());
        let e = u.prom_error.expect("error reported").to_string();
        assert!(e.contains("bad response"), "{e}");
        delays.push(u.next_in);
    }
    assert!(delays[2] > delays[0], "backoff grows: {delays:?}");

    server.reset().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/query"))
        .respond_with(united::EveryPart(ONE_HOST.to_string()))
        .mount(&server)
        .await;
    ctx.send(poller::PollerCmd::RefreshNow).unwrap();
    let u = next(&mut rx).await;
    assert!(u.fleet.is_some(), "recovered: {:?}", u.prom_error);
    assert_eq!(u.next_in, s.refresh);
    task.abort();
}

#[tokio::test]
async fn snapshot_is_unknown_when_prometheus_fails() {
    let cases: Vec<(ResponseTemplate, &str)> = vec![
        (ResponseTemplate::new(500).set_body_string("boom"), "HTTP 500"),
        (ResponseTemplate::new(200).set_body_string("{\"status\":\"succ"), "bad response"),
        (
            ResponseTemplate::new(422).set_body_string(r#"{"status":"error","errorType":"execution","error":"expanding series: too many samples"}"#),
            "too many samples",
        ),
        (ResponseTemplate::new(200).set_delay(Duration::from_secs(3)).set_body_string(ONE_HOST), "timed out"),
    ];
    for (resp, want) in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/api/v1/query"))
            .respond_with(resp)
            .mount(&server)
            .await;
        let s = settings(&server.uri(), 500);
        let source = setup::make_source(&s).unwrap();
        let out = setup::snapshot(&s, source.as_ref(), Format::Json).await;
        assert_eq!(out.exit_code, 3, "{want}: {}", out.stderr);
        assert!(
            out.stderr.contains(want),
            "want {want:?} in {:?}",
            out.stderr
        );
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(v["status"], "UNKNOWN");
        assert_eq!(v["sources"][0]["ok"], false);
    }
}

#[tokio::test]
async fn snapshot_of_a_healthy_host_is_ok() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/query"))
        .respond_with(united::EveryPart(ONE_HOST.to_string()))
        .mount(&server)
        .await;
    let s = settings(&server.uri(), 2000);
    let source = setup::make_source(&s).unwrap();
    let out = setup::snapshot(&s, source.as_ref(), Format::Text).await;
    // Every metric returns the same single series with value 1: lag 1 s is fine, load
    // 1.0 per core is WARN and connections at 100 % are CRIT, so the exit code is 2.
    assert_eq!(out.exit_code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("db1"), "{}", out.stdout);
    assert!(
        out.stdout.contains("conn 100% ≥ 90%; load 1.00 ≥ 1.00"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("CRITICAL: 1 hosts"), "{}", out.stdout);
}
