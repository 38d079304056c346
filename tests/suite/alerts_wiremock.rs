//! The board's silence path and its HA Alertmanager handling against wiremock servers:
//! what Alertmanager says when it refuses a silence reaches the form verbatim, and an HA
//! pair with one member down still serves alerts while the status bar names the failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::united;

use std::sync::Arc;
use std::time::Duration;

use fleetboard::action::Action;
use fleetboard::app::alerts::{AlertAction, F_MATCHERS};
use fleetboard::app::{App, Command};
use fleetboard::cli::Cli;
use fleetboard::config::{self, FileConfig};
use fleetboard::exec::Executor;
use fleetboard::model::Fleet;
use fleetboard::model::Update;
use fleetboard::poller::Merger;
use fleetboard::sources::alertmanager::AmClient;
use fleetboard::sources::http::HttpConfig;
use fleetboard::sources::silences::AmGroup;
use fleetboard::sources::PollRequest;
use fleetboard::testing::{app_with, buffer_text, demo_app, fixed_time, render};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const AM_ALERTS: &[u8] = include_bytes!("../fixtures/am_alerts_silenced.json");
const AM_CREATED: &[u8] = include_bytes!("../fixtures/am_silence_created.json");
const DB4: &str = r#"{"status":"success","data":{"resultType":"vector","result":[
 {"metric":{"cluster":"orders","instance":"db4","job":"mysql"},"value":[1795554331.174,"1"]}]}}"#;

fn json(body: &[u8]) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.to_vec(), "application/json")
}

use crate::ports;

/// A URL that refuses connections while the returned socket lives.
fn closed_port_url() -> (socket2::Socket, String) {
    let (held, port) = ports::refusing_port();
    (held, format!("http://127.0.0.1:{port}"))
}

async fn run(app: &mut App, ex: &Executor, a: AlertAction) {
    for c in app.update(Action::Alerts(a)) {
        if let Some(result) = ex.execute(c).await {
            app.update(result);
        }
    }
}

#[tokio::test]
async fn rejected_silence_is_shown_verbatim_and_nothing_typed_is_lost() {
    let am = MockServer::start().await;
    let reason = "silence invalid: invalid label matcher 0: invalid label name \"1bad\"";
    Mock::given(method("POST"))
        .and(path("/api/v2/silences"))
        .respond_with(
            ResponseTemplate::new(400).set_body_string(serde_json::to_string(reason).unwrap()),
        )
        .expect(1)
        .mount(&am)
        .await;
    let client = AmClient::new(&am.uri(), &HttpConfig::default()).unwrap();
    let ex = Executor::new(Some(Arc::new(AmGroup::new(vec![client]))), false);
    let mut app = demo_app(100, 30);
    app.alerts.writable = true;
    app.alerts.author = "alice".into();
    run(&mut app, &ex, AlertAction::OpenAlerts).await;
    run(&mut app, &ex, AlertAction::NewSilence).await;
    for c in "swap \"the\" disk".chars() {
        run(&mut app, &ex, AlertAction::FormChar(c)).await;
    }
    run(&mut app, &ex, AlertAction::FormPrev).await;
    run(&mut app, &ex, AlertAction::FormPrev).await;
    run(&mut app, &ex, AlertAction::FormClear).await;
    for c in r#"1bad="a.b\"c""#.chars() {
        run(&mut app, &ex, AlertAction::FormChar(c)).await;
    }
    let typed = app.alerts.form.clone().unwrap().fields;
    run(&mut app, &ex, AlertAction::FormSubmit).await;

    let form = app.alerts.form.clone().expect("form stays open");
    assert_eq!(form.fields, typed);
    assert_eq!(form.error.as_deref(), Some(&*format!("HTTP 400: {reason}")));
    let text = buffer_text(&render(&app));
    assert!(text.contains("invalid label name \"1bad\""), "{text}");
    assert!(text.contains("swap \"the\" disk"), "{text}");

    // What was typed went into the JSON body as literal strings.
    let req = &am.received_requests().await.unwrap()[0];
    let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(body["matchers"][0]["name"], "1bad");
    assert_eq!(body["matchers"][0]["value"], "a.b\"c");
    assert_eq!(body["matchers"][0]["isRegex"], false);
    assert_eq!(body["comment"], "swap \"the\" disk");
    assert_eq!(body["createdBy"], "alice");
    assert_eq!(typed[F_MATCHERS], r#"1bad="a.b\"c""#);
}

#[tokio::test]
async fn ha_pair_with_one_down_serves_alerts_and_reports_the_down_one() {
    let prom = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/query"))
        .respond_with(united::EveryPart(DB4.to_string()))
        .mount(&prom)
        .await;
    let am = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/alerts"))
        .respond_with(json(AM_ALERTS))
        .mount(&am)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/silences"))
        .respond_with(json(AM_CREATED))
        .expect(1)
        .mount(&am)
        .await;
    let (_held, down) = closed_port_url();
    let cli = Cli {
        prometheus: vec![prom.uri()],
        alertmanager: vec![down.clone(), am.uri()],
        timeout: Some(Duration::from_secs(2)),
        ..Cli::default()
    };
    let settings = config::resolve(&cli, &FileConfig::default(), None).unwrap();
    let source = fleetboard::setup::make_source(&settings).unwrap();
    let r = source.poll(&PollRequest::default(), fixed_time()).await;
    let mut merger = Merger::new(
        Arc::new(settings.metrics.clone()),
        settings.identity.clone(),
        settings.forget_after,
    );
    let (fleet, err, alert_sources) = merger.merge(r);
    assert!(err.is_none(), "{err:?}");
    let fleet = fleet.unwrap();
    assert_eq!(
        fleet.hosts[0].alerts.len(),
        1,
        "db4's alert from the AM that is up"
    );
    assert_eq!(fleet.other_alerts.len(), 1, "db5 is not on the board");

    let mut app = app_with(Fleet::default(), 120, 30, fixed_time());
    app.alertmanagers.clear();
    let (ex, setup) = Executor::prepare(&settings, source.as_ref());
    app.update(setup);
    assert!(app.alerts.writable && !app.alerts.read_only);
    app.alerts.author = "ops".into(); // $USER may be unset where tests run
    app.update(Action::Data(Box::new(Update {
        received_at: fixed_time(),
        fleet: Some(fleet),
        prom_error: None,
        alert_sources,
        next_in: Duration::from_secs(5),
    })));
    run(&mut app, &ex, AlertAction::OpenAlerts).await;
    let text = buffer_text(&render(&app));
    let status = text.lines().last().unwrap();
    assert!(status.contains("alertmanager 1/2 failing"), "{status}");
    assert!(status.contains("cannot connect"), "{status}");
    assert!(text.contains("MySQLDown") && text.contains("MySQLReplicationStopped"));
    assert!(text.contains("silenced"), "{text}");

    // A silence goes to the member that answers.
    run(&mut app, &ex, AlertAction::NewSilence).await;
    for c in "restart".chars() {
        run(&mut app, &ex, AlertAction::FormChar(c)).await;
    }
    let cmds = app.update(Action::Alerts(AlertAction::FormSubmit));
    assert!(
        matches!(cmds.as_slice(), [Command::CreateSilence(_)]),
        "{:?}",
        app.alerts.form
    );
    let result = ex.execute(cmds[0].clone()).await.unwrap();
    assert_eq!(app.update(result), vec![Command::RefreshNow]);
    let msg = app.message.clone().unwrap();
    assert!(
        msg.text.contains("08e0e99c-37c1-4223-a313-2231923ba4db") && !msg.is_error(),
        "{msg:?}"
    );
}
