//! Snapshots of the alerts view, the silences list, the silence form, the expire
//! question and the read-only refusal, from the fixed demo data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Duration;

use fleetboard::action::Action;
use fleetboard::app::alerts::AlertAction;
use fleetboard::app::App;
use fleetboard::model::{Matcher, Silence, SilenceState};
use fleetboard::testing::{buffer_text, demo_app, fixed_time, render};

fn screen(app: &App) -> String {
    buffer_text(&render(app))
}

fn act(app: &mut App, a: AlertAction) {
    app.update(Action::Alerts(a));
}

fn writable(w: u16, h: u16) -> App {
    let mut app = demo_app(w, h);
    app.alerts.writable = true;
    app.alerts.author = "alice".into();
    app
}

fn silences() -> Vec<Silence> {
    let t = fixed_time();
    vec![
        Silence {
            id: "0b6e7d4c-demo-maintenance".into(),
            matchers: vec![
                Matcher::equal("alertname", "NodeHighLoad"),
                Matcher {
                    name: "instance".into(),
                    value: "analytics-db04(:[0-9]+)?".into(),
                    is_regex: true,
                    is_equal: true,
                },
            ],
            starts_at: t - Duration::hours(3),
            ends_at: t + Duration::hours(5),
            created_by: "dba-oncall".into(),
            comment: "reindexing, expect high load".into(),
            state: SilenceState::Active,
        },
        Silence {
            id: "7f0c2a11-5b3e-4c2d-9a77-0d1e2f3a4b5c".into(),
            matchers: vec![Matcher::equal("cluster", "orders")],
            starts_at: t + Duration::hours(1),
            ends_at: t + Duration::hours(3),
            created_by: "bob".into(),
            comment: "orders cluster failover drill".into(),
            state: SilenceState::Pending,
        },
        Silence {
            id: "gone".into(),
            matchers: vec![Matcher::equal("alertname", "Old")],
            starts_at: t - Duration::hours(9),
            ends_at: t - Duration::hours(8),
            created_by: "carol".into(),
            comment: "expired: not listed".into(),
            state: SilenceState::Expired,
        },
    ]
}

fn with_silences(w: u16, h: u16) -> App {
    let mut app = writable(w, h);
    act(&mut app, AlertAction::OpenSilences);
    act(
        &mut app,
        AlertAction::SilencesLoaded(Ok(("http://alertmanager:9093".into(), silences()))),
    );
    app
}

#[test]
fn alerts_view_120x40() {
    let mut app = demo_app(120, 40);
    act(&mut app, AlertAction::OpenAlerts);
    let s = screen(&app);
    assert!(s.contains("silenced") && s.contains("MySQLDown"));
    insta::assert_snapshot!(s);
}

#[test]
fn alerts_view_80x24() {
    let mut app = demo_app(80, 24);
    act(&mut app, AlertAction::OpenAlerts);
    act(&mut app, AlertAction::Move(1));
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn alerts_view_filtered() {
    let mut app = demo_app(80, 24);
    act(&mut app, AlertAction::OpenAlerts);
    act(&mut app, AlertAction::FilterStart);
    for c in "warning".chars() {
        act(&mut app, AlertAction::FilterChar(c));
    }
    let s = screen(&app);
    assert!(!s.contains("MySQLDown"), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn silence_form_prefilled() {
    let mut app = writable(120, 40);
    act(&mut app, AlertAction::OpenAlerts);
    act(&mut app, AlertAction::NewSilence);
    for c in "restarting after the kernel update".chars() {
        act(&mut app, AlertAction::FormChar(c));
    }
    let s = screen(&app);
    assert!(s.contains("alertname=\"MySQLReplicationStopped\""), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn silence_form_80x24_with_alertmanager_error() {
    let mut app = writable(80, 24);
    act(&mut app, AlertAction::OpenAlerts);
    act(&mut app, AlertAction::NewSilence);
    for c in "kernel update".chars() {
        act(&mut app, AlertAction::FormChar(c));
    }
    act(&mut app, AlertAction::FormSubmit);
    act(
        &mut app,
        AlertAction::SilenceCreated(Err(
            "HTTP 400: silence invalid: invalid label matcher 0: bad \x1b[2J name".into(),
        )),
    );
    let s = screen(&app);
    assert!(s.contains("kernel update"), "typed text kept");
    assert!(!s.contains('\x1b'));
    insta::assert_snapshot!(s);
}

#[test]
fn silences_list() {
    let app = with_silences(120, 40);
    let s = screen(&app);
    assert!(!s.contains("expired: not listed"));
    insta::assert_snapshot!(s);
}

#[test]
fn silences_list_80x24() {
    insta::assert_snapshot!(screen(&with_silences(80, 24)));
}

#[test]
fn expire_confirmation() {
    let mut app = with_silences(80, 24);
    act(&mut app, AlertAction::Move(1));
    act(&mut app, AlertAction::Expire);
    let s = screen(&app);
    assert!(s.contains("7f0c2a11"), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn read_only_refusal() {
    let mut app = writable(80, 24);
    app.alerts.read_only = true;
    act(&mut app, AlertAction::OpenAlerts);
    act(&mut app, AlertAction::NewSilence);
    let s = screen(&app);
    assert!(s.contains("read-only"), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn every_alerts_screen_renders_at_any_size() {
    for (w, h) in [(1, 1), (20, 5), (30, 8), (45, 12), (200, 60)] {
        let mut app = with_silences(w, h);
        act(&mut app, AlertAction::Expire);
        let _ = render(&app);
        act(&mut app, AlertAction::Confirm(false));
        act(&mut app, AlertAction::OpenAlerts);
        let _ = render(&app);
        act(&mut app, AlertAction::NewSilence);
        let _ = render(&app);
    }
}
