//! The cost of a refresh does not depend on the size of the fleet: one united instant query
//! per source (every metric and the monitoring's own health) plus one call per
//! Alertmanager, whether there are 10 hosts, 1,000 or 10,000, and whatever the number of
//! metrics. An HA pair costs one request, not two.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::united;

use std::time::Duration;

use chrono::Utc;
use fleetboard::cli::{Cli, Preset};
use fleetboard::config::{self, FileConfig};
use fleetboard::model::SourceError;
use fleetboard::setup;
use fleetboard::sources::PollRequest;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Answers every instant query with one series per host (for every part of a united query),
/// like a real fleet would; queries containing `fail_on` answer 422 (a limit hit).
struct Fleet {
    hosts: usize,
    fail_on: Option<&'static str>,
}

impl Respond for Fleet {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        let q = united::query_of(r);
        if self.fail_on.is_some_and(|f| q.contains(f)) {
            return ResponseTemplate::new(422).set_body_json(serde_json::json!({
                "status": "error", "errorType": "execution",
                "error": "the query exceeded the maximum number of series (limit: 100)"
            }));
        }
        let result: Vec<serde_json::Value> = (0..self.hosts)
            .map(|i| {
                serde_json::json!({
                    "metric": {"cluster": format!("c{}", i % 7), "instance": format!("db{i}:9104"), "job": "mysql"},
                    "value": [1_795_554_331.174, "1"]
                })
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "status": "success",
            "data": {"resultType": "vector", "result": united::answer_for(&q, &result)}
        }))
    }
}

async fn prom(hosts: usize, fail_on: Option<&'static str>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/query"))
        .respond_with(Fleet { hosts, fail_on })
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/alerts"))
        .respond_with(ResponseTemplate::new(200).set_body_string("[]"))
        .mount(&server)
        .await;
    server
}

struct Refresh {
    /// Requests per server, in the order of `-p`.
    requests: Vec<usize>,
    hosts: usize,
    queries: Vec<String>,
    poll: fleetboard::sources::PollResult,
}

async fn refresh(servers: &[&MockServer], names: &[&str], clusters: Vec<String>) -> Refresh {
    refresh_with(servers, names, clusters, None).await
}

async fn refresh_with(
    servers: &[&MockServer],
    names: &[&str],
    clusters: Vec<String>,
    preset: Option<Preset>,
) -> Refresh {
    let cli = Cli {
        prometheus: servers
            .iter()
            .zip(names)
            .map(|(s, n)| format!("{n}={}", s.uri()))
            .collect(),
        alertmanager: vec![servers[0].uri()],
        cluster: clusters,
        // Generous: the mock builds 10,000 hosts × every metric in a debug build.
        timeout: Some(Duration::from_secs(60)),
        preset,
        ..Cli::default()
    };
    let settings = config::resolve(&cli, &FileConfig::default(), None).unwrap();
    let source = setup::make_source(&settings).unwrap();
    let req = PollRequest {
        at: None,
        clusters: settings.clusters.clone(),
        sparkline: None,
    };
    let poll = source.poll(&req, Utc::now()).await;
    let hosts = poll
        .metrics
        .as_ref()
        .ok()
        .and_then(|m| m[0].as_ref().ok())
        .map_or(0, fleetboard::model::Vector::len);
    let mut requests = Vec::new();
    let mut queries = Vec::new();
    for s in servers {
        let received = s.received_requests().await.unwrap();
        requests.push(received.len());
        queries.extend(
            received
                .iter()
                .filter(|r| r.url.path() == "/api/v1/query")
                .map(united::query_of),
        );
    }
    Refresh {
        requests,
        hosts,
        queries,
        poll,
    }
}

/// The PromQL of every instant query the server received, in order.
async fn queries_asked(s: &MockServer) -> Vec<String> {
    s.received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/api/v1/query")
        .map(united::query_of)
        .collect()
}

#[tokio::test]
async fn one_request_per_source_plus_one_per_alertmanager_at_any_fleet_size() {
    let mut counts = Vec::new();
    for hosts in [10, 1_000, 10_000] {
        let s = prom(hosts, None).await;
        let r = refresh(&[&s], &["main"], vec![]).await;
        assert_eq!(r.hosts, hosts, "{:?}", r.poll.sources);
        // One united query and one Alertmanager call, whatever the number of metrics.
        assert_eq!(r.requests, vec![2], "{hosts} hosts");
        assert_eq!(r.queries.len(), 1);
        counts.push(r.requests[0]);
    }
    assert!(counts.iter().all(|&c| c == counts[0]), "{counts:?}");
}

#[tokio::test]
async fn several_sources_cost_one_request_each() {
    for n in [2usize, 4] {
        let servers: Vec<MockServer> =
            futures::future::join_all((0..n).map(|_| prom(5, None))).await;
        let refs: Vec<&MockServer> = servers.iter().collect();
        let names: Vec<String> = (0..n).map(|i| format!("r{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let r = refresh(&refs, &names, vec![]).await;
        // The first server also plays the Alertmanager.
        let mut want = vec![1; n];
        want[0] = 2;
        assert_eq!(r.requests, want, "{n} sources");
        // Every source's hosts, each tagged with its source.
        assert_eq!(r.hosts, 5 * n);
        assert_eq!(r.poll.sources.len(), n);
        assert!(r.poll.sources.iter().all(|s| s.error.is_none()));
    }
}

#[tokio::test]
async fn an_ha_pair_costs_one_request_and_never_doubles_hosts() {
    let a = prom(5, None).await;
    let b = prom(5, None).await;
    let r = refresh(&[&a, &b], &["eu", "eu"], vec![]).await;
    assert_eq!(
        r.requests,
        vec![2, 0],
        "the second member is not asked while the first answers"
    );
    assert_eq!(r.hosts, 5);
    assert_eq!(r.poll.sources.len(), 1);
    assert_eq!(r.poll.sources[0].members, 2);
}

#[tokio::test]
async fn an_ha_pair_fails_over_to_the_member_that_answers() {
    let down = MockServer::start().await; // answers 404 to everything: a broken member
    let b = prom(5, None).await;
    let r = refresh(&[&down, &b], &["eu", "eu"], vec![]).await;
    assert_eq!(r.hosts, 5);
    let st = &r.poll.sources[0];
    assert!(st.error.is_none(), "{st:?}");
    assert_eq!(st.url, b.uri());
}

#[tokio::test]
async fn a_metric_failing_alone_blanks_no_other_metric() {
    // The lag expression hits a series limit: the united query fails as a whole, the
    // fallback asks each metric alone and only lag is missing.
    let s = prom(5, Some("seconds_behind")).await;
    let r = refresh(&[&s], &["main"], vec![]).await;
    let metrics = r.poll.metrics.as_ref().expect("the source answered");
    let failed: Vec<usize> = metrics
        .iter()
        .enumerate()
        .filter(|(_, m)| m.is_err())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(failed.len(), 1, "only the lag metric fails: {failed:?}");
    assert!(metrics
        .iter()
        .filter(|m| m.is_ok())
        .all(|m| m.as_ref().unwrap().len() == 5));
    let st = &r.poll.sources[0];
    assert_eq!(st.metric_errors.len(), 1);
    assert_eq!(st.metric_errors[0].0, "lag");
    assert!(
        st.metric_errors[0]
            .1
            .to_string()
            .contains("maximum number of series"),
        "{:?}",
        st.metric_errors
    );
    assert!(
        st.notices.iter().any(|n| n.contains("united query failed")),
        "{:?}",
        st.notices
    );
    // united + one per metric + one for the monitoring + the Alertmanager.
    let metrics_n = metrics.len();
    assert_eq!(r.requests, vec![1 + metrics_n + 1 + 1]);
}

#[tokio::test]
async fn cluster_filter_is_sent_to_the_server_escaped() {
    let evil = "pay\"ments|x".to_string();
    let s = prom(10, None).await;
    let r = refresh(&[&s], &["main"], vec!["orders".into(), evil]).await;
    assert_eq!(r.queries.len(), 1);
    let q = &r.queries[0];
    // The quote is escaped for PromQL, the pipe for the regex: nothing can break out.
    assert!(
        q.contains(r#"label_replace(mysql_up{cluster=~"orders|pay\"ments\\|x",instance=~".*"}, "fb_metric", "up", "", "")"#),
        "{q}"
    );
    assert!(!q.contains("$cluster"), "{q}");
}

#[tokio::test]
async fn a_new_cluster_filter_is_asked_at_the_next_refresh() {
    // The board keeps the expanded queries between refreshes; a filter the operator changes
    // must still reach the server at once, and going back must ask the first one again.
    let s = prom(10, None).await;
    let cli = Cli {
        prometheus: vec![s.uri()],
        ..Cli::default()
    };
    let settings = config::resolve(&cli, &FileConfig::default(), None).unwrap();
    let source = setup::make_source(&settings).unwrap();
    for clusters in [
        vec!["orders"],
        vec!["orders"],
        vec!["payments"],
        vec![],
        vec!["orders"],
    ] {
        let req = PollRequest {
            at: None,
            clusters: clusters.iter().map(ToString::to_string).collect(),
            sparkline: None,
        };
        let _ = source.poll(&req, Utc::now()).await;
    }
    let asked = queries_asked(&s).await;
    assert_eq!(asked.len(), 5);
    let up = |q: &str| {
        let from = q.find("mysql_up{").unwrap();
        q[from..from + q[from..].find('}').unwrap() + 1].to_string()
    };
    let ups: Vec<String> = asked.iter().map(|q| up(q)).collect();
    assert_eq!(
        ups,
        [
            r#"mysql_up{cluster=~"orders",instance=~".*"}"#,
            r#"mysql_up{cluster=~"orders",instance=~".*"}"#,
            r#"mysql_up{cluster=~"payments",instance=~".*"}"#,
            r#"mysql_up{cluster=~".*",instance=~".*"}"#,
            r#"mysql_up{cluster=~"orders",instance=~".*"}"#,
        ]
    );
    assert_eq!(asked[0], asked[4], "the same filter, the same query");
}

#[tokio::test]
async fn a_mixed_board_is_one_query_too() {
    let mut counts = Vec::new();
    for preset in [Preset::Mysql, Preset::Postgres, Preset::Mixed] {
        let s = prom(10, None).await;
        let r = refresh_with(&[&s], &["main"], vec![], Some(preset)).await;
        assert_eq!(r.hosts, 10, "{preset:?}");
        assert_eq!(
            r.requests,
            vec![2],
            "{preset:?}: one united query and one Alertmanager call"
        );
        counts.push(r.requests[0]);
        if preset == Preset::Mixed {
            // Both engines' up series, in the one query.
            assert!(
                r.queries[0].contains("mysql_up{") && r.queries[0].contains("pg_up{"),
                "{}",
                r.queries[0]
            );
        }
    }
    eprintln!("requests per refresh (query + Alertmanager): mysql, postgres, mixed = {counts:?}");
}

#[tokio::test]
async fn past_the_united_limit_the_parts_go_side_by_side_and_stay_a_fixed_number() {
    // 20,000 hosts answer every metric of the preset: the united answer holds more than
    // UNITED_MAX_SERIES series, so the next refresh asks each part alone, in parallel.
    let hosts = 20_000;
    let s = prom(hosts, None).await;
    let cli = Cli {
        prometheus: vec![s.uri()],
        alertmanager: vec![s.uri()],
        timeout: Some(Duration::from_secs(120)),
        ..Cli::default()
    };
    let settings = config::resolve(&cli, &FileConfig::default(), None).unwrap();
    let source = setup::make_source(&settings).unwrap();
    let req = PollRequest::default();
    let first = source.poll(&req, Utc::now()).await;
    let united_series: usize = first
        .metrics
        .as_ref()
        .unwrap()
        .iter()
        .map(|m| m.as_ref().map_or(0, fleetboard::model::Vector::len))
        .sum();
    assert!(
        fleetboard::sources::multi::too_large_to_unite(united_series),
        "{united_series} series"
    );
    assert_eq!(
        s.received_requests().await.unwrap().len(),
        2,
        "one united query and the Alertmanager"
    );
    let second = source.poll(&req, Utc::now()).await;
    let metrics_n = settings.metrics.metrics.len();
    // one per metric + one for the monitoring + the Alertmanager: the preset's size, not
    // the fleet's
    assert_eq!(
        s.received_requests().await.unwrap().len() - 2,
        metrics_n + 1 + 1
    );
    let st = &second.sources[0];
    assert!(
        st.notices.iter().any(|n| n.contains("in parallel")),
        "{:?}",
        st.notices
    );
    let m = second.metrics.as_ref().unwrap();
    assert!(m.iter().all(|r| r.as_ref().is_ok_and(|v| v.len() == hosts)));
}

/// Answers the parts at once, and holds the united query past any timeout.
struct SlowUnited(Fleet);

impl Respond for SlowUnited {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        let q = united::query_of(r);
        let t = self.0.respond(r);
        if q.contains("label_replace") {
            t.set_delay(Duration::from_secs(600))
        } else {
            t
        }
    }
}

#[tokio::test]
async fn a_united_query_that_times_out_is_split_on_the_next_refresh() {
    let s = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/query"))
        .respond_with(SlowUnited(Fleet {
            hosts: 5,
            fail_on: None,
        }))
        .mount(&s)
        .await;
    let cli = Cli {
        prometheus: vec![s.uri()],
        timeout: Some(Duration::from_secs(1)),
        ..Cli::default()
    };
    let settings = config::resolve(&cli, &FileConfig::default(), None).unwrap();
    let source = setup::make_source(&settings).unwrap();
    let req = PollRequest::default();
    let first = source.poll(&req, Utc::now()).await;
    assert!(
        matches!(first.sources[0].error, Some(SourceError::Timeout(_))),
        "{:?}",
        first.sources[0]
    );
    assert_eq!(
        s.received_requests().await.unwrap().len(),
        1,
        "no extra load in the refresh that timed out"
    );
    let second = source.poll(&req, Utc::now()).await;
    let m = second.metrics.as_ref().expect("the parts answered");
    assert!(m.iter().all(|r| r.as_ref().is_ok_and(|v| v.len() == 5)));
}

/// Answers the united query without its parts' tags (a proxy or engine that does not apply
/// `label_replace`), the parts as a real server would.
struct Untagged(Fleet);

impl Respond for Untagged {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        let q = united::query_of(r);
        if q.contains("label_replace") {
            return ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "status": "success",
                "data": {"resultType": "vector", "result": [
                    {"metric": {"cluster": "c0", "instance": "db0:9104"}, "value": [1_795_554_331.174, "1"]}
                ]}
            }));
        }
        self.0.respond(r)
    }
}

#[tokio::test]
async fn an_untagged_united_answer_is_asked_again_per_metric() {
    let s = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/query"))
        .respond_with(Untagged(Fleet {
            hosts: 4,
            fail_on: None,
        }))
        .mount(&s)
        .await;
    let r = refresh(&[&s], &["main"], vec![]).await;
    let m = r.poll.metrics.as_ref().expect("the parts answered");
    assert!(m.iter().all(|v| v.as_ref().is_ok_and(|v| v.len() == 4)));
    assert!(
        r.poll.sources[0]
            .notices
            .iter()
            .any(|n| n.contains("without their metric's tag")),
        "{:?}",
        r.poll.sources[0].notices
    );
}

#[tokio::test]
async fn united_query_false_asks_one_query_per_metric_and_loses_nothing() {
    // The operator's choice for a large fleet: the parts cost the server less CPU than the
    // united query (README, "What the single request costs the server").
    let s = prom(1_000, None).await;
    let file = config::parse(
        "[prometheus]\nunited_query = false\n",
        std::path::Path::new("fleetboard.toml"),
    )
    .unwrap();
    let cli = Cli {
        prometheus: vec![s.uri()],
        alertmanager: vec![s.uri()],
        timeout: Some(Duration::from_secs(60)),
        ..Cli::default()
    };
    let settings = config::resolve(&cli, &file, None).unwrap();
    assert!(settings.sources.iter().all(|p| !p.united_query));
    let source = setup::make_source(&settings).unwrap();
    let req = PollRequest::default();
    let metrics_n = settings.metrics.metrics.len();
    for round in 1..=2 {
        let poll = source.poll(&req, Utc::now()).await;
        let m = poll.metrics.as_ref().unwrap();
        assert!(
            m.iter().all(|r| r.as_ref().is_ok_and(|v| v.len() == 1_000)),
            "every metric has every host"
        );
        let received = s.received_requests().await.unwrap();
        // one per metric + one for the monitoring + the Alertmanager, every refresh
        assert_eq!(received.len(), round * (metrics_n + 1 + 1));
        let st = &poll.sources[0];
        assert!(st.error.is_none() && st.notices.is_empty(), "{st:?}");
    }
    let queries = queries_asked(&s).await;
    // Only the monitoring's own small query is united; no metric goes through label_replace.
    let tagged: Vec<&String> = queries.iter().filter(|q| q.contains("fb_metric")).collect();
    assert_eq!(tagged.len(), 2, "{tagged:?}");
    assert!(tagged.iter().all(|q| !q.contains("mysql_up")), "{tagged:?}");
}
