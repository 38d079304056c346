//! The client honours HTTP_PROXY and NO_PROXY from the environment. This file holds a single
//! test because it changes the process environment.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use fleetboard::sources::http::HttpConfig;
use fleetboard::sources::prometheus::PromClient;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PROM_VECTOR: &[u8] = include_bytes!("fixtures/prom_vector.json");

#[test]
fn http_proxy_and_no_proxy_from_environment() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Started before the environment changes, so the servers themselves are unaffected.
    let (proxy, direct) =
        rt.block_on(async { (MockServer::start().await, MockServer::start().await) });
    for var in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        std::env::remove_var(var);
    }
    std::env::set_var("HTTP_PROXY", proxy.uri());
    std::env::set_var("NO_PROXY", "localhost");

    rt.block_on(async {
        let ok =
            || ResponseTemplate::new(200).set_body_raw(PROM_VECTOR.to_vec(), "application/json");
        // The proxy sees the request for a host that does not even resolve.
        Mock::given(method("POST"))
            .and(path("/prometheus/api/v1/query"))
            .and(header("host", "prom.invalid:9090"))
            .respond_with(ok())
            .expect(1)
            .mount(&proxy)
            .await;
        Mock::given(method("POST"))
            .and(path("/api/v1/query"))
            .respond_with(ok())
            .expect(1)
            .mount(&direct)
            .await;
        let cfg = HttpConfig {
            timeout: Duration::from_secs(2),
            ..HttpConfig::default()
        };
        let via_proxy = PromClient::new("http://prom.invalid:9090/prometheus", &cfg).unwrap();
        assert_eq!(via_proxy.query("up", None).await.unwrap().len(), 3);

        let port = direct.address().port();
        let bypass = PromClient::new(&format!("http://localhost:{port}"), &cfg).unwrap();
        assert_eq!(bypass.query("up", None).await.unwrap().len(), 3);
        assert_eq!(proxy.received_requests().await.unwrap().len(), 1);
    });
}
