//! Structured: a fleet built by `fleet::build` from arbitrary samples (hostile labels,
//! NaN/±Inf values, failed queries, alerts, a second refresh on top of the first), shown by
//! the ui at an arbitrary size after a few arbitrary keys. Never panics, and the rendered
//! buffer never holds a character that a terminal would interpret.
#![no_main]

use arbitrary::Arbitrary;
use chrono::{DateTime, TimeZone, Utc};
use fleetboard::action::Action;
use fleetboard::fleet::metrics::mysql_preset;
use fleetboard::fleet::{self, BuildInput};
use fleetboard::model::{
    Alert, AlertState, Fleet, Identity, Labels, Sample, Severity, SourceError, Vector,
};
use fleetboard::sanitize::is_dangerous;
use fleetboard::testing::{app_with, render};
use libfuzzer_sys::fuzz_target;

const HOSTS: &[&str] = &[
    "db1",
    "db1:9104",
    "db1:9100",
    "db2:9104",
    "[::1]:9104",
    "::1",
    "127.0.0.1:3306",
    "",
    "数据库-01:9104",
    "db\x1b]52;c;SGk=\x07",
    "evil\u{202e}txt",
    "tab\there",
];
const CLUSTERS: &[&str] = &["payments", "orders", "", "\u{9b}31m", "a\u{2066}b"];
const LABELS: &[&str] = &[
    "instance",
    "cluster",
    "master_host",
    "job",
    "role",
    "__name__",
];
const SEVERITIES: &[&str] = &["critical", "warning", "info", "PAGE", "", "\x07"];

#[derive(Arbitrary, Debug)]
enum Text {
    Pool(u8),
    Any(String),
}

impl Text {
    fn get(&self, pool: &[&str]) -> String {
        match self {
            Text::Pool(i) => pool[usize::from(*i) % pool.len()].to_string(),
            Text::Any(s) => s.clone(),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Value {
    Nan,
    PosInf,
    NegInf,
    Zero,
    One,
    Threshold(u8),
    Any(f64),
}

impl Value {
    fn get(&self) -> f64 {
        match self {
            Value::Nan => f64::NAN,
            Value::PosInf => f64::INFINITY,
            Value::NegInf => f64::NEG_INFINITY,
            Value::Zero => 0.0,
            Value::One => 1.0,
            Value::Threshold(i) => {
                [0.75, 0.9, 1.0, 2.0, 30.0, 300.0, -1.0, 1e12][usize::from(*i) % 8]
            }
            Value::Any(v) => *v,
        }
    }
}

#[derive(Arbitrary, Debug)]
struct SampleIn {
    host: Option<Text>,
    cluster: Option<Text>,
    extra: Vec<(Text, Text)>,
    value: Value,
}

#[derive(Arbitrary, Debug)]
enum ResultIn {
    Ok(Vec<SampleIn>),
    Err(String),
}

#[derive(Arbitrary, Debug)]
struct AlertIn {
    host: Option<Text>,
    cluster: Option<Text>,
    name: Text,
    severity: Text,
    summary: Text,
    state: u8,
}

#[derive(Arbitrary, Debug)]
enum Key {
    Move(i8, i8),
    Page(bool),
    Home,
    End,
    Open,
    Back,
    Help,
    CycleCluster,
    CycleSort,
    StartFilter,
    FilterChar(char),
    FilterApply,
    Click(u16, u16),
    Scroll(bool),
    Window(u8),
    WindowStep(i8),
    Resize(u16, u16),
}

impl Key {
    fn action(&self) -> Action {
        match *self {
            Key::Move(x, y) => Action::Move(i32::from(x.signum()), i32::from(y.signum())),
            Key::Page(d) => Action::Page(d),
            Key::Home => Action::Home,
            Key::End => Action::End,
            Key::Open => Action::Open,
            Key::Back => Action::Back,
            Key::Help => Action::Help,
            Key::CycleCluster => Action::CycleCluster,
            Key::CycleSort => Action::CycleSort,
            Key::StartFilter => Action::StartFilter,
            Key::FilterChar(c) => Action::FilterChar(c),
            Key::FilterApply => Action::FilterApply,
            Key::Click(x, y) => Action::Click(x % 320, y % 130),
            Key::Scroll(d) => Action::Scroll(d),
            Key::Window(i) => Action::Window(usize::from(i % 8)),
            Key::WindowStep(d) => Action::WindowStep(i32::from(d.signum())),
            Key::Resize(w, h) => Action::Resize(w % 320, h % 130),
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Input {
    results: Vec<ResultIn>,
    alerts: Vec<AlertIn>,
    /// A second refresh, built on top of the first.
    second: Option<(Vec<ResultIn>, u16)>,
    forget_after_s: Option<u16>,
    width: u16,
    height: u16,
    keys: Vec<Key>,
}

fn labels_of(host: Option<&Text>, cluster: Option<&Text>, extra: &[(Text, Text)]) -> Labels {
    let mut l = Labels::new();
    for (k, v) in extra.iter().take(4) {
        l.insert(k.get(LABELS), v.get(HOSTS));
    }
    if let Some(h) = host {
        l.insert("instance".into(), h.get(HOSTS));
    }
    if let Some(c) = cluster {
        l.insert("cluster".into(), c.get(CLUSTERS));
    }
    l
}

fn results_of(rs: &[ResultIn], n: usize) -> Vec<Result<Vector, SourceError>> {
    (0..n)
        .map(|i| match rs.get(i) {
            None => Ok(Vector::default()),
            Some(ResultIn::Err(e)) => Err(SourceError::BadResponse(e.clone())),
            Some(ResultIn::Ok(samples)) => Ok(samples
                .iter()
                .take(64)
                .map(|s| Sample {
                    labels: labels_of(s.host.as_ref(), s.cluster.as_ref(), &s.extra),
                    value: s.value.get(),
                    ts: 0.0,
                })
                .collect::<Vector>()),
        })
        .collect()
}

fn check_fleet(f: &Fleet, n: usize) {
    for w in f.hosts.windows(2) {
        assert!(w[0].id < w[1].id, "hosts not sorted and unique");
    }
    for h in &f.hosts {
        assert_eq!(h.readings.len(), n);
        assert!(f.find(&h.id).is_some());
    }
}

fuzz_target!(|input: Input| {
    let set = mysql_preset("instance", "cluster");
    let n = set.metrics.len();
    let ident = Identity::default();
    let t0: DateTime<Utc> = Utc
        .with_ymd_and_hms(2026, 11, 24, 3, 14, 0)
        .single()
        .unwrap_or_default();
    let alerts: Vec<Alert> = input
        .alerts
        .iter()
        .take(16)
        .map(|a| {
            let mut labels = labels_of(a.host.as_ref(), a.cluster.as_ref(), &[]);
            labels.insert("alertname".into(), a.name.get(HOSTS));
            labels.insert("severity".into(), a.severity.get(SEVERITIES));
            let mut annotations = Labels::new();
            annotations.insert("summary".into(), a.summary.get(HOSTS));
            Alert {
                fingerprint: String::new(),
                severity: Severity::from_label(labels.get("severity").map(String::as_str)),
                labels,
                annotations,
                state: match a.state % 3 {
                    0 => AlertState::Active,
                    1 => AlertState::Suppressed,
                    _ => AlertState::Unprocessed,
                },
                silenced_by: Vec::new(),
                inhibited_by: Vec::new(),
                starts_at: Some(t0),
                generator_url: None,
            }
        })
        .collect();
    let forget_after = input
        .forget_after_s
        .map(|s| chrono::Duration::seconds(i64::from(s)));
    let results = results_of(&input.results, n);
    let mut fleet = fleet::build(
        &set,
        &ident,
        &BuildInput {
            results: &results,
            alerts: &alerts,
            taken_at: Some(t0),
            forget_after,
        },
        None,
    );
    check_fleet(&fleet, n);
    if let Some((rs, later)) = &input.second {
        let results = results_of(rs, n);
        let t1 = t0 + chrono::Duration::seconds(i64::from(*later));
        fleet = fleet::build(
            &set,
            &ident,
            &BuildInput {
                results: &results,
                alerts: &alerts,
                taken_at: Some(t1),
                forget_after,
            },
            Some(&fleet),
        );
        check_fleet(&fleet, n);
    }

    let (w, h) = (input.width % 320, input.height % 130);
    let mut app = app_with(fleet, w, h, t0);
    let mut frames = vec![render(&app)];
    for k in input.keys.iter().take(12) {
        app.update(k.action());
        frames.push(render(&app));
    }
    for buf in &frames {
        for (i, cell) in buf.content.iter().enumerate() {
            assert!(
                !cell.symbol().chars().any(is_dangerous),
                "cell {i} holds {:?}",
                cell.symbol()
            );
        }
    }
});
