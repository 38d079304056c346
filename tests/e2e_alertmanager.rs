//! End to end against a real Alertmanager (Debian's `prometheus-alertmanager`): the board's
//! own path (App actions → commands → the runtime's executor → actions back) creates a
//! silence, Alertmanager suppresses the alert, the board expires it, the alert is active
//! again; read-only mode refuses.
//!
//! Needs `/usr/bin/prometheus-alertmanager` (or `FLEETBOARD_ALERTMANAGER_BIN`); without it
//! the test fails, unless `FLEETBOARD_SKIP_E2E=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Child, Command as Proc, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use fleetboard::action::Action;
use fleetboard::app::alerts::AlertAction;
use fleetboard::app::{App, Command};
use fleetboard::cli::Cli;
use fleetboard::config::{self, FileConfig, Settings};
use fleetboard::exec::Executor;
use fleetboard::model::Fleet;
use fleetboard::model::{Alert, AlertState};
use fleetboard::sources::alertmanager::AmClient;
use fleetboard::sources::http::HttpConfig;
use fleetboard::testing::{app_with, buffer_text, render};

const ALERTNAME: &str = "FleetboardE2EReplicationStopped";

/// Alertmanager, stopped by PID when dropped.
struct Am {
    child: Child,
    url: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Am {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Am {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn binary() -> Option<PathBuf> {
    let p = std::env::var_os("FLEETBOARD_ALERTMANAGER_BIN").map_or_else(
        || PathBuf::from("/usr/bin/prometheus-alertmanager"),
        PathBuf::from,
    );
    if p.exists() {
        return Some(p);
    }
    if std::env::var("FLEETBOARD_SKIP_E2E").as_deref() == Ok("1") {
        eprintln!(
            "skipping: {} not found (FLEETBOARD_SKIP_E2E=1)",
            p.display()
        );
        return None;
    }
    panic!(
        "{} not found: install it (apt-get install prometheus-alertmanager), point \
         FLEETBOARD_ALERTMANAGER_BIN at one, or set FLEETBOARD_SKIP_E2E=1 to skip",
        p.display()
    );
}

#[path = "support/ports.rs"]
mod ports;

async fn wait_for<T, F, Fut>(what: &str, am: &Am, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; alertmanager log:\n{}",
            am.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Starts Alertmanager on a free port; another port is tried when the one picked was taken
/// before Alertmanager could bind it.
async fn start(bin: &PathBuf) -> Am {
    for _ in 0..5 {
        if let Some(am) = try_start(bin).await {
            return am;
        }
    }
    panic!("alertmanager found its port taken five times in a row");
}

async fn try_start(bin: &PathBuf) -> Option<Am> {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("alertmanager.yml");
    std::fs::write(
        &cfg,
        "route:\n  receiver: blackhole\n  group_wait: 1s\nreceivers:\n  - name: blackhole\n",
    )
    .unwrap();
    let port = ports::candidate_port();
    let log = dir.path().join("am.log");
    let out = std::fs::File::create(&log).unwrap();
    let child = Proc::new(bin)
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("start alertmanager");
    let mut am = Am {
        child,
        url: format!("http://127.0.0.1:{port}"),
        log,
        _dir: dir,
    };
    let http = reqwest::Client::new();
    let ready = format!("{}/-/ready", am.url);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // Ready, and from our process: a server that took the port first may answer too.
        let ok = http
            .get(&ready)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        let exited = am.child.try_wait().ok().flatten().is_some();
        if exited {
            if ports::in_use(&am.log()) {
                return None;
            }
            panic!("alertmanager exited at start; its log:\n{}", am.log());
        }
        if ok {
            return Some(am);
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for alertmanager to be ready; its log:\n{}",
            am.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn settings(am: &str, read_only: bool) -> Settings {
    let cli = Cli {
        prometheus: vec!["http://127.0.0.1:9".into()],
        alertmanager: vec![am.to_string()],
        read_only: Some(read_only),
        ..Cli::default()
    };
    config::resolve(&cli, &FileConfig::default(), None).unwrap()
}

async fn our_alert(client: &AmClient) -> Option<Alert> {
    client
        .alerts()
        .await
        .ok()?
        .into_iter()
        .find(|a| a.name() == ALERTNAME)
}

/// An app showing `alerts`, wired to the Alertmanager the way the runtime wires it.
fn board(alerts: Vec<Alert>, s: &Settings) -> (App, Executor) {
    let fleet = Fleet {
        other_alerts: alerts,
        ..Fleet::default()
    };
    let mut app = app_with(fleet, 120, 40, Utc::now());
    let source = fleetboard::setup::make_source(s).unwrap();
    let (ex, setup) = Executor::prepare(s, source.as_ref());
    app.update(setup);
    app.alerts.author = "e2e-operator".into();
    (app, ex)
}

/// Applies an action and carries out its silence commands, as the runtime does.
async fn step(app: &mut App, ex: &Executor, a: AlertAction) -> Vec<Command> {
    let mut rest = Vec::new();
    let mut queue: std::collections::VecDeque<Command> = app.update(Action::Alerts(a)).into();
    while let Some(c) = queue.pop_front() {
        if Executor::handles(&c) {
            let back = ex.execute(c).await.unwrap();
            queue.extend(app.update(back));
        } else {
            rest.push(c);
        }
    }
    rest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silence_and_expire_through_the_board() {
    let Some(bin) = binary() else { return };
    let am = start(&bin).await;
    let client = AmClient::new(&am.url, &HttpConfig::default()).unwrap();

    let now = Utc::now();
    let alert = serde_json::json!([{
        "labels": {"alertname": ALERTNAME, "instance": "db3:9104", "cluster": "payments", "severity": "critical"},
        "annotations": {"summary": "Replication stopped on db3 (payments)"},
        "startsAt": now.to_rfc3339(),
        "endsAt": (now + chrono::Duration::hours(1)).to_rfc3339(),
    }]);
    let r = reqwest::Client::new()
        .post(format!("{}/api/v2/alerts", am.url))
        .json(&alert)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{:?}", r.text().await);
    let active = wait_for("the alert to be active", &am, || async {
        our_alert(&client)
            .await
            .filter(|a| a.state == AlertState::Active)
    })
    .await;

    // Read-only first: nothing is written, and the board says why.
    let ro = settings(&am.url, true);
    let (mut app, ex) = board(vec![active.clone()], &ro);
    assert!(app.alerts.read_only);
    step(&mut app, &ex, AlertAction::OpenAlerts).await;
    assert!(step(&mut app, &ex, AlertAction::NewSilence)
        .await
        .is_empty());
    assert!(app.alerts.form.is_none());
    let text = buffer_text(&render(&app));
    assert!(text.contains("read-only"), "{text}");
    // The executor refuses too, even if a command got through.
    let forged = fleetboard::app::alerts::build_silence(
        &[
            format!("alertname=\"{ALERTNAME}\""),
            "1h".into(),
            "x".into(),
            "y".into(),
        ],
        Utc::now(),
    )
    .unwrap();
    let back = ex.execute(Command::CreateSilence(forged)).await.unwrap();
    assert!(
        matches!(&back, Action::Alerts(AlertAction::SilenceCreated(Err(e))) if e.contains("read-only")),
        "{back:?}"
    );
    assert!(
        client.silences().await.unwrap().is_empty(),
        "nothing written"
    );

    // Silence it from the alerts view.
    let rw = settings(&am.url, false);
    let (mut app, ex) = board(vec![active], &rw);
    step(&mut app, &ex, AlertAction::OpenAlerts).await;
    assert!(step(&mut app, &ex, AlertAction::NewSilence)
        .await
        .is_empty());
    let form = app.alerts.form.clone().unwrap();
    assert_eq!(
        form.fields[0],
        format!("alertname=\"{ALERTNAME}\", instance=\"db3:9104\"")
    );
    for c in "e2e: replica rebuild".chars() {
        step(&mut app, &ex, AlertAction::FormChar(c)).await;
    }
    let rest = step(&mut app, &ex, AlertAction::FormSubmit).await;
    assert_eq!(rest, vec![Command::RefreshNow], "{:?}", app.alerts.form);
    let msg = app.message.clone().unwrap();
    assert!(!msg.is_error(), "{msg:?}");
    let id = msg.text.split_whitespace().nth(1).unwrap().to_string();

    let silenced = wait_for("the alert to be suppressed", &am, || async {
        our_alert(&client)
            .await
            .filter(|a| a.state == AlertState::Suppressed)
    })
    .await;
    assert_eq!(silenced.silenced_by, vec![id.clone()]);
    let made = client.silences().await.unwrap();
    let s = made.iter().find(|s| s.id == id).unwrap();
    assert_eq!(s.created_by, "e2e-operator");
    assert_eq!(s.comment, "e2e: replica rebuild");
    assert!(s.matchers.iter().all(|m| !m.is_regex));

    // The board shows it suppressed after its refresh.
    app.update(Action::Data(Box::new(fleetboard::model::Update {
        received_at: Utc::now(),
        fleet: Some(
            Fleet {
                other_alerts: vec![silenced],
                ..Fleet::default()
            }
            .into(),
        ),
        prom_error: None,
        alert_sources: vec![(am.url.clone(), None)],
        next_in: Duration::from_secs(5),
    })));
    assert!(buffer_text(&render(&app)).contains("silenced"));

    // Expire it from the silences list, after saying yes.
    step(&mut app, &ex, AlertAction::OpenSilences).await;
    let listed = app.alerts.listed_silences();
    let pos = listed.iter().position(|s| s.id == id).expect("listed");
    drop(listed);
    step(
        &mut app,
        &ex,
        AlertAction::Move(i32::try_from(pos).unwrap()),
    )
    .await;
    step(&mut app, &ex, AlertAction::Expire).await;
    assert_eq!(app.alerts.confirm.as_deref(), Some(id.as_str()));
    let rest = step(&mut app, &ex, AlertAction::Confirm(true)).await;
    assert_eq!(rest, vec![Command::RefreshNow]);
    assert!(
        app.message.as_ref().unwrap().text.contains("expired"),
        "{:?}",
        app.message
    );
    assert!(app.alerts.listed_silences().is_empty(), "refetched list");

    wait_for("the alert to be active again", &am, || async {
        our_alert(&client)
            .await
            .filter(|a| a.state == AlertState::Active)
    })
    .await;
}
