//! Faults that real servers cannot easily be made to show, against a wiremock server: each
//! failure gives its typed error, and the same client works again right after.
#![allow(clippy::unwrap_used)]

use crate::ports;
use std::io::Write;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use fleetboard::model::{AlertState, SourceError};
use fleetboard::model::{Matcher, NewSilence};
use fleetboard::sources::alertmanager::AmClient;
use fleetboard::sources::http::{HttpConfig, Secret};
use fleetboard::sources::prometheus::PromClient;
use wiremock::matchers::{
    basic_auth, bearer_token, body_string_contains, header, method, path, query_param,
};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PROM_VECTOR: &[u8] = include_bytes!("../fixtures/prom_vector.json");
const PROM_MATRIX: &[u8] = include_bytes!("../fixtures/prom_matrix.json");
const PROM_ERROR: &[u8] = include_bytes!("../fixtures/prom_error.json");
const AM_ALERTS: &[u8] = include_bytes!("../fixtures/am_alerts_silenced.json");
const AM_SILENCES: &[u8] = include_bytes!("../fixtures/am_silences.json");
const AM_CREATED: &[u8] = include_bytes!("../fixtures/am_silence_created.json");

fn cfg() -> HttpConfig {
    HttpConfig {
        timeout: Duration::from_secs(1),
        ..HttpConfig::default()
    }
}

fn json(body: &[u8]) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.to_vec(), "application/json")
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(body).unwrap();
    enc.finish().unwrap()
}

/// Mounts the success answer for instant queries (low priority) on `server`.
async fn mount_ok(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/api/v1/query"))
        .respond_with(json(PROM_VECTOR))
        .with_priority(10)
        .mount(server)
        .await;
}

/// Mounts `fault` once, with priority over the success answer, and checks that the first query
/// fails as `check` wants and the next one succeeds.
async fn fault_then_recovery(
    fault: ResponseTemplate,
    config: HttpConfig,
    check: impl FnOnce(&SourceError),
) -> SourceError {
    let server = MockServer::start().await;
    mount_ok(&server).await;
    Mock::given(method("POST"))
        .and(path("/api/v1/query"))
        .respond_with(fault)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let c = PromClient::new(&server.uri(), &config).unwrap();
    let err = c.query("mysql_up", None).await.unwrap_err();
    check(&err);
    let ok = c.query("mysql_up", None).await.unwrap();
    assert_eq!(ok.len(), 3, "client works again after {err:?}");
    err
}

#[tokio::test]
async fn instant_query_sends_form_with_time_and_timeout() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/query"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("time=1795554331.174"))
        .and(body_string_contains("timeout=800ms"))
        .respond_with(json(PROM_VECTOR))
        .expect(1)
        .mount(&server)
        .await;
    let c = PromClient::new(&server.uri(), &cfg()).unwrap();
    let at = DateTime::<Utc>::from_timestamp_millis(1_795_554_331_174).unwrap();
    let expr = r#"mysql_slave_status_seconds_behind_master{cluster=~"pay.*"} > 0 + 1"#;
    let s = c.query(expr, Some(at)).await.unwrap();
    assert_eq!(s.len(), 3);
    let reqs = server.received_requests().await.unwrap();
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&reqs[0].body)
        .into_owned()
        .collect();
    assert!(form.contains(&("query".into(), expr.into())), "{form:?}");
    assert!(reqs[0]
        .headers
        .get("accept-encoding")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("gzip"));
}

#[tokio::test]
async fn range_query_sends_start_end_step() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/query_range"))
        .and(body_string_contains("start=1795554357&"))
        .and(body_string_contains("end=1795554397&"))
        .and(body_string_contains("step=4&"))
        .respond_with(json(PROM_MATRIX))
        .expect(1)
        .mount(&server)
        .await;
    let c = PromClient::new(&server.uri(), &cfg()).unwrap();
    let start = DateTime::<Utc>::from_timestamp(1_795_554_357, 0).unwrap();
    let end = DateTime::<Utc>::from_timestamp(1_795_554_397, 0).unwrap();
    let r = c
        .query_range(
            "mysql_slave_status_seconds_behind_master",
            start,
            end,
            Duration::from_secs(4),
        )
        .await
        .unwrap();
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].points.len(), 11);
    // Too many points, zero step, reversed range: refused before any request.
    let too_long = c
        .query_range(
            "up",
            start - chrono::Duration::days(30),
            end,
            Duration::from_secs(1),
        )
        .await
        .unwrap_err();
    assert!(matches!(too_long, SourceError::Config(_)), "{too_long}");
    assert!(c
        .query_range("up", start, end, Duration::ZERO)
        .await
        .is_err());
    assert!(c
        .query_range("up", end, start, Duration::from_secs(1))
        .await
        .is_err());
}

#[tokio::test]
async fn path_prefix_with_and_without_trailing_slash() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/prometheus/api/v1/query"))
        .respond_with(json(PROM_VECTOR))
        .expect(2)
        .mount(&server)
        .await;
    for base in [
        format!("{}/prometheus", server.uri()),
        format!("{}/prometheus/", server.uri()),
    ] {
        let c = PromClient::new(&base, &cfg()).unwrap();
        assert_eq!(c.base_url(), format!("{}/prometheus", server.uri()));
        assert_eq!(c.query("up", None).await.unwrap().len(), 3);
    }
}

#[tokio::test]
async fn http_500() {
    let err = fault_then_recovery(
        ResponseTemplate::new(500).set_body_string("internal \x1b[31merror\x1b[0m\n"),
        cfg(),
        |_| {},
    )
    .await;
    assert_eq!(
        err,
        SourceError::Http {
            status: 500,
            body: "internal [31merror [0m".into()
        }
    );
    assert!(err.is_transient());
}

#[tokio::test]
async fn http_502_html_from_proxy_is_a_short_snippet() {
    let page = format!(
        "<html><head><title>502 Bad Gateway</title></head><body>{}</body></html>",
        "x".repeat(5000)
    );
    let err = fault_then_recovery(
        ResponseTemplate::new(502).set_body_raw(page, "text/html"),
        cfg(),
        |_| {},
    )
    .await;
    assert_eq!(
        err,
        SourceError::Http {
            status: 502,
            body: "502 Bad Gateway".into()
        }
    );
}

#[tokio::test]
async fn http_503_with_retry_after() {
    let err = fault_then_recovery(
        ResponseTemplate::new(503)
            .insert_header("retry-after", "30")
            .set_body_string("overloaded"),
        cfg(),
        |_| {},
    )
    .await;
    assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
    assert_eq!(err.status(), Some(503));
    assert!(err.to_string().contains("retry after 30s"), "{err}");
    // 429 too; without the header a 503 is a plain Http error.
    fault_then_recovery(
        ResponseTemplate::new(429).insert_header("retry-after", "5"),
        cfg(),
        |e| assert_eq!(e.retry_after(), Some(Duration::from_secs(5))),
    )
    .await;
    fault_then_recovery(ResponseTemplate::new(503), cfg(), |e| {
        assert_eq!(
            e,
            &SourceError::Http {
                status: 503,
                body: String::new()
            }
        );
    })
    .await;
}

#[tokio::test]
async fn hang_past_timeout_is_timeout() {
    let server = MockServer::start().await;
    mount_ok(&server).await;
    Mock::given(method("POST"))
        .and(path("/api/v1/query"))
        .respond_with(json(PROM_VECTOR).set_delay(Duration::from_secs(600)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let c = PromClient::new(&server.uri(), &cfg()).unwrap();
    let t = Instant::now();
    let err = c.query("up", None).await.unwrap_err();
    let took = t.elapsed();
    assert_eq!(err, SourceError::Timeout(Duration::from_secs(1)));
    // What is proven is the order, not a duration: the 1 s timeout ended a request the
    // server held for 10 minutes, and never before its time (timers do not fire early).
    assert!(took < Duration::from_secs(600), "took {took:?}");
    assert!(took >= Duration::from_secs(1), "took {took:?}");
    assert_eq!(c.query("up", None).await.unwrap().len(), 3);
}

#[tokio::test]
async fn truncated_json() {
    fault_then_recovery(json(&PROM_VECTOR[..PROM_VECTOR.len() / 2]), cfg(), |e| {
        assert!(
            matches!(e, SourceError::BadResponse(m) if m.contains("truncated")),
            "{e:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn html_login_page_with_200() {
    let page = "<!DOCTYPE html><html><head><title>Sign in - Corp SSO</title></head><body>...</body></html>";
    fault_then_recovery(
        ResponseTemplate::new(200).set_body_raw(page, "text/html; charset=utf-8"),
        cfg(),
        |e| {
            let SourceError::BadResponse(m) = e else {
                panic!("{e:?}")
            };
            assert!(
                m.contains("text/html") && m.contains("Sign in - Corp SSO"),
                "{m}"
            );
        },
    )
    .await;
    // The same page labelled as JSON is still recognised.
    fault_then_recovery(
        ResponseTemplate::new(200).set_body_raw(page, "application/json"),
        cfg(),
        |e| {
            assert!(
                matches!(e, SourceError::BadResponse(m) if m.contains("HTML")),
                "{e:?}"
            )
        },
    )
    .await;
}

#[tokio::test]
async fn oversized_body_with_content_length() {
    let config = HttpConfig {
        max_body_bytes: 1000,
        ..cfg()
    };
    let big = vec![b' '; 5000];
    fault_then_recovery(json(&big), config, |e| {
        assert_eq!(e, &SourceError::TooLarge { limit: 1000 });
    })
    .await;
}

#[tokio::test]
async fn oversized_body_after_gzip_decoding() {
    // 4 MB of JSON that compresses to a few KB: the cap applies to what is decoded.
    let mut body = Vec::from(
        &br#"{"status":"success","data":{"resultType":"vector","result":[]},"pad":""#[..],
    );
    body.extend(std::iter::repeat_n(b'a', 4_000_000));
    body.extend(b"\"}");
    let gz = gzip(&body);
    assert!(gz.len() < 100_000);
    let config = HttpConfig {
        max_body_bytes: 1_000_000,
        ..cfg()
    };
    fault_then_recovery(
        ResponseTemplate::new(200)
            .insert_header("content-encoding", "gzip")
            .set_body_raw(gz.clone(), "application/json"),
        config.clone(),
        |e| assert_eq!(e, &SourceError::TooLarge { limit: 1_000_000 }),
    )
    .await;
    // Under a larger cap the same body is accepted.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-encoding", "gzip")
                .set_body_raw(gz, "application/json"),
        )
        .mount(&server)
        .await;
    let c = PromClient::new(
        &server.uri(),
        &HttpConfig {
            max_body_bytes: 5_000_000,
            ..cfg()
        },
    )
    .unwrap();
    assert!(c.query("up", None).await.unwrap().is_empty());
}

#[tokio::test]
async fn gzip_body_accepted() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("accept-encoding", "gzip"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-encoding", "gzip")
                .set_body_raw(gzip(PROM_VECTOR), "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let c = PromClient::new(&server.uri(), &cfg()).unwrap();
    assert_eq!(c.query("up", None).await.unwrap().len(), 3);
}

#[tokio::test]
async fn corrupt_gzip_is_bad_response() {
    fault_then_recovery(
        ResponseTemplate::new(200)
            .insert_header("content-encoding", "gzip")
            .set_body_raw(b"\x1f\x8b\x08\x00garbage".to_vec(), "application/json"),
        cfg(),
        |e| assert!(matches!(e, SourceError::BadResponse(_)), "{e:?}"),
    )
    .await;
}

#[tokio::test]
async fn prometheus_error_status() {
    // As Prometheus answers a bad expression: 400 with a JSON error body.
    fault_then_recovery(
        ResponseTemplate::new(400).set_body_raw(PROM_ERROR.to_vec(), "application/json"),
        cfg(),
        |e| {
            assert!(
                matches!(e, SourceError::Api { kind, error } if kind == "bad_data" && error.contains("parse error")),
                "{e:?}"
            );
        },
    )
    .await;
    // And 422/503 for execution errors and timeouts.
    fault_then_recovery(
        ResponseTemplate::new(503).set_body_raw(
            &br#"{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}"#[..],
            "application/json",
        ),
        cfg(),
        |e| {
            assert!(matches!(e, SourceError::Api { kind, .. } if kind == "timeout"), "{e:?}");
            assert!(e.is_transient());
        },
    )
    .await;
}

#[tokio::test]
async fn redirect_loop_is_a_clear_error() {
    let server = MockServer::start().await;
    mount_ok(&server).await;
    Mock::given(path("/api/v1/query"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/api/v1/query"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/query"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/api/v1/query"))
        .with_priority(1)
        .mount(&server)
        .await;
    let c = PromClient::new(&server.uri(), &cfg()).unwrap();
    let err = c.query("up", None).await.unwrap_err();
    assert!(
        matches!(&err, SourceError::BadResponse(m) if m.contains("redirect loop")),
        "{err:?}"
    );
    assert_eq!(c.query("up", None).await.unwrap().len(), 3);

    // A long chain of distinct redirects stops after five.
    let server = MockServer::start().await;
    for i in 0..10 {
        Mock::given(path(format!("/r{i}/api/v1/query")))
            .respond_with(
                ResponseTemplate::new(307)
                    .insert_header("location", format!("/r{}/api/v1/query", i + 1)),
            )
            .mount(&server)
            .await;
    }
    let c = PromClient::new(&format!("{}/r0", server.uri()), &cfg()).unwrap();
    let err = c.query("up", None).await.unwrap_err();
    assert!(
        matches!(&err, SourceError::BadResponse(m) if m.contains("more than 5 redirects")),
        "{err:?}"
    );
    eprintln!("redirect chain: {err}");
    assert!(!err.to_string().contains("127.0.0.1"), "{err}");
}

#[tokio::test]
async fn basic_auth_from_url_and_from_config() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(basic_auth("bob", "hunter2"))
        .respond_with(json(PROM_VECTOR))
        .expect(2)
        .mount(&server)
        .await;
    let with_userinfo = server.uri().replace("http://", "http://bob:hunter2@");
    let c = PromClient::new(&with_userinfo, &cfg()).unwrap();
    assert_eq!(c.base_url(), server.uri());
    assert_eq!(c.query("up", None).await.unwrap().len(), 3);
    let config = HttpConfig {
        basic_auth: Some(("bob".into(), Secret::new("hunter2"))),
        ..cfg()
    };
    let c = PromClient::new(&server.uri(), &config).unwrap();
    assert_eq!(c.query("up", None).await.unwrap().len(), 3);
    // Wrong password: 401, and nothing of the credentials in the error.
    let wrong = server.uri().replace("http://", "http://bob:wrongpass@");
    let err = PromClient::new(&wrong, &cfg())
        .unwrap()
        .query("up", None)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert!(!format!("{err} {err:?}").contains("wrongpass"));
}

#[tokio::test]
async fn bearer_token_and_extra_headers() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(bearer_token("t0ken"))
        .and(header("x-scope-orgid", "tenant-1"))
        .and(header("x-extra", "a b"))
        .respond_with(json(PROM_VECTOR))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/alerts"))
        .and(bearer_token("t0ken"))
        .and(header("x-scope-orgid", "tenant-1"))
        .respond_with(json(AM_ALERTS))
        .expect(1)
        .mount(&server)
        .await;
    let config = HttpConfig {
        bearer_token: Some(Secret::new("t0ken")),
        headers: vec![
            ("X-Scope-OrgID".into(), "tenant-1".into()),
            ("X-Extra".into(), "a b".into()),
        ],
        ..cfg()
    };
    let c = PromClient::new(&server.uri(), &config).unwrap();
    assert_eq!(c.query("up", None).await.unwrap().len(), 3);
    let am = AmClient::new(&server.uri(), &config).unwrap();
    assert_eq!(am.alerts().await.unwrap().len(), 2);
}

#[tokio::test]
async fn connection_refused_hides_credentials() {
    let (_held, port) = ports::refusing_port();
    let c = PromClient::new(&format!("http://bob:hunter2@127.0.0.1:{port}/prom"), &cfg()).unwrap();
    let err = c.query("up", None).await.unwrap_err();
    assert!(matches!(&err, SourceError::Connect(_)), "{err:?}");
    eprintln!("connection refused: {err}");
    let text = format!("{err} {err:?} {}", c.base_url());
    assert!(!text.contains("hunter2") && !text.contains("bob"), "{text}");
    assert!(err.is_transient());
}

#[tokio::test]
async fn alertmanager_alerts_asks_for_every_state() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/am/api/v2/alerts"))
        .and(query_param("active", "true"))
        .and(query_param("silenced", "true"))
        .and(query_param("inhibited", "true"))
        .and(query_param("unprocessed", "true"))
        .respond_with(json(AM_ALERTS))
        .expect(1)
        .mount(&server)
        .await;
    let am = AmClient::new(&format!("{}/am/", server.uri()), &cfg()).unwrap();
    assert_eq!(am.base_url(), format!("{}/am", server.uri()));
    let alerts = am.alerts().await.unwrap();
    assert_eq!(alerts[0].state, AlertState::Suppressed);
    assert_eq!(alerts[0].silenced_by.len(), 1);
}

#[tokio::test]
async fn alertmanager_faults_and_recovery() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/alerts"))
        .respond_with(json(AM_ALERTS))
        .with_priority(10)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/alerts"))
        .respond_with(json(&AM_ALERTS[..40]))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/alerts"))
        .respond_with(json(AM_ALERTS).set_delay(Duration::from_secs(4)))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    let am = AmClient::new(&server.uri(), &cfg()).unwrap();
    let e = am.alerts().await.unwrap_err();
    assert!(
        matches!(&e, SourceError::BadResponse(m) if m.contains("truncated")),
        "{e:?}"
    );
    assert_eq!(
        am.alerts().await.unwrap_err(),
        SourceError::Timeout(Duration::from_secs(1))
    );
    assert_eq!(am.alerts().await.unwrap().len(), 2);
}

fn new_silence() -> NewSilence {
    NewSilence {
        matchers: vec![
            Matcher::equal("alertname", "MySQLReplicationStopped"),
            Matcher::equal("instance", "db5"),
        ],
        starts_at: DateTime::parse_from_rfc3339("2026-11-24T21:06:31Z")
            .unwrap()
            .to_utc(),
        ends_at: DateTime::parse_from_rfc3339("2026-11-24T22:06:31Z")
            .unwrap()
            .to_utc(),
        created_by: "fleet-board".into(),
        comment: "primary db4 being restarted".into(),
    }
}

#[tokio::test]
async fn silences_list_create_expire() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/silences"))
        .respond_with(json(AM_SILENCES))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/silences"))
        .and(header("content-type", "application/json"))
        .and(wiremock::matchers::body_json_string(
            r#"{"matchers":[{"name":"alertname","value":"MySQLReplicationStopped","isRegex":false,"isEqual":true},
                {"name":"instance","value":"db5","isRegex":false,"isEqual":true}],
                "startsAt":"2026-11-24T21:06:31.000Z","endsAt":"2026-11-24T22:06:31.000Z",
                "createdBy":"fleet-board","comment":"primary db4 being restarted"}"#,
        ))
        .respond_with(json(AM_CREATED))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/api/v2/silence/08e0e99c-37c1-4223-a313-2231923ba4db"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/api/v2/silence/a%2Fb%20c"))
        .respond_with(ResponseTemplate::new(404).set_body_string("silence not found\n"))
        .expect(1)
        .mount(&server)
        .await;
    let am = AmClient::new(&server.uri(), &cfg()).unwrap();
    let s = am.silences().await.unwrap();
    assert_eq!(s[0].state, fleetboard::model::SilenceState::Active);
    let id = am.create_silence(&new_silence()).await.unwrap();
    assert_eq!(id, "08e0e99c-37c1-4223-a313-2231923ba4db");
    am.expire_silence(&id).await.unwrap();
    assert_eq!(
        am.expire_silence("a/b c").await.unwrap_err(),
        SourceError::Http {
            status: 404,
            body: "silence not found".into()
        }
    );
}

#[tokio::test]
async fn silence_rejected_reason_is_verbatim() {
    let server = MockServer::start().await;
    let reason = "silence invalid: invalid label matcher 0: invalid label name \"1bad\"";
    Mock::given(method("POST"))
        .and(path("/api/v2/silences"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            format!("{}\n", serde_json::to_string(reason).unwrap()),
            "application/json",
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/silences"))
        .respond_with(
            ResponseTemplate::new(400).set_body_string("start time must be before end time"),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let am = AmClient::new(&server.uri(), &cfg()).unwrap();
    for expected in [reason, "start time must be before end time"] {
        assert_eq!(
            am.create_silence(&new_silence()).await.unwrap_err(),
            SourceError::Http {
                status: 400,
                body: expected.into()
            }
        );
    }
}
