//! The cost of a refresh does not depend on the size of the fleet: one instant query per
//! metric plus one call per Alertmanager, whether there are 10 hosts, 1,000 or 10,000.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chrono::Utc;
use fleetboard::cli::Cli;
use fleetboard::config::{self, FileConfig};
use fleetboard::setup;
use fleetboard::sources::PollRequest;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Answers every instant query with one series per host, like a real fleet would.
struct Fleet(usize);

impl Respond for Fleet {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let result: Vec<serde_json::Value> = (0..self.0)
            .map(|i| {
                serde_json::json!({
                    "metric": {"cluster": format!("c{}", i % 7), "instance": format!("db{i}:9104"), "job": "mysql"},
                    "value": [1_795_554_331.174, "1"]
                })
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "status": "success",
            "data": {"resultType": "vector", "result": result}
        }))
    }
}

async fn requests_for(hosts: usize, clusters: Vec<String>) -> (usize, usize, Vec<String>) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/query"))
        .respond_with(Fleet(hosts))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/alerts"))
        .respond_with(ResponseTemplate::new(200).set_body_string("[]"))
        .mount(&server)
        .await;
    let cli = Cli {
        prometheus: vec![server.uri()],
        alertmanager: vec![server.uri()],
        cluster: clusters,
        timeout: Some(Duration::from_secs(5)),
        ..Cli::default()
    };
    let settings = config::resolve(&cli, &FileConfig::default(), None).unwrap();
    let source = setup::make_source(&settings).unwrap();
    let req = PollRequest {
        at: None,
        clusters: settings.clusters.clone(),
        sparkline: None,
    };
    let r = source.poll(&req, Utc::now()).await;
    let results = r.metrics.expect("metrics");
    let seen = results[0].as_ref().expect("up").len();
    let received = server.received_requests().await.unwrap();
    let queries = received
        .iter()
        .filter(|r| r.url.path() == "/api/v1/query")
        .map(|r| {
            url::form_urlencoded::parse(&r.body)
                .find(|(k, _)| k == "query")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(settings.metrics.metrics.len() + 1, received.len());
    (received.len(), seen, queries)
}

#[tokio::test]
async fn requests_per_refresh_do_not_grow_with_the_fleet() {
    let (small, seen_small, _) = requests_for(10, vec![]).await;
    let (large, seen_large, _) = requests_for(2_000, vec![]).await;
    assert_eq!(seen_small, 10);
    assert_eq!(seen_large, 2_000);
    assert_eq!(
        small, large,
        "10 hosts: {small} requests, 2,000 hosts: {large}"
    );
}

#[tokio::test]
async fn requests_per_refresh_are_the_same_at_10_1000_and_10000_hosts() {
    let mut counts = Vec::new();
    for hosts in [10, 1_000, 10_000] {
        let (requests, seen, _) = requests_for(hosts, vec![]).await;
        assert_eq!(seen, hosts);
        counts.push(requests);
    }
    assert!(counts.iter().all(|&c| c == counts[0]), "{counts:?}");
}

#[tokio::test]
async fn cluster_filter_is_sent_to_the_server_escaped() {
    let evil = "pay\"ments|x".to_string();
    let (_, _, queries) = requests_for(10, vec!["orders".into(), evil]).await;
    let up = queries
        .iter()
        .find(|q| q.starts_with("mysql_up"))
        .expect("up query");
    // The quote is escaped for PromQL, the pipe for the regex: nothing can break out.
    assert_eq!(
        up,
        r#"mysql_up{cluster=~"orders|pay\"ments\\|x",instance=~".*"}"#
    );
    for q in &queries {
        assert!(!q.contains("$cluster"), "{q}");
    }
}
