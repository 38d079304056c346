//! Properties of the health rules, the fleet builder and text sanitising.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{TimeZone, Utc};
use fleetboard::fleet::health::judge;
use fleetboard::fleet::metrics::mysql_preset;
use fleetboard::fleet::{self, BuildInput};
use fleetboard::model::{Alert, AlertState, Fleet, Labels, Sample, Severity, SourceError, Vector};
use fleetboard::model::{AppliesTo, Direction, Kind, MetricDef, Unit};
use fleetboard::model::{Health, Identity, MetricSet, MetricState};
use fleetboard::sanitize::{escape, fit, is_dangerous as is_control, width};
use proptest::prelude::*;

fn def(kind: Kind, direction: Direction) -> MetricDef {
    MetricDef {
        key: "m".into(),
        label: "m".into(),
        expr: "m".into(),
        unit: Unit::None,
        kind,
        direction,
        warn: None,
        crit: None,
        applies_to: AppliesTo::All,
        on_tile: true,
        chart: true,
        engine: None,
        signal: None,
    }
}

/// Any float, with the special values and small integers (threshold ties) favoured.
fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        2 => any::<f64>(),
        2 => (-5i32..400).prop_map(f64::from),
        1 => prop::sample::select(vec![
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
        ]),
    ]
}

fn threshold() -> impl Strategy<Value = Option<f64>> {
    prop::option::of(value())
}

fn kind() -> impl Strategy<Value = Kind> {
    prop::sample::select(vec![Kind::Gauge, Kind::Flag, Kind::Up, Kind::Info])
}

fn direction() -> impl Strategy<Value = Direction> {
    prop::sample::select(vec![Direction::Higher, Direction::Lower])
}

/// "Worse than" for the states `judge` returns; N/A ranks with OK.
fn rank(s: MetricState) -> Health {
    s.health()
}

/// Whether value `a` is at least as bad as `b` for a metric of this kind and direction.
fn worse_or_equal(d: &MetricDef, a: f64, b: f64) -> bool {
    match (d.kind, d.direction) {
        // up: lower is worse, whatever the declared direction.
        (Kind::Up, _) | (_, Direction::Lower) => a <= b,
        (_, Direction::Higher) => a >= b,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// A worse value never gives a better state, in both directions and for any thresholds.
    #[test]
    fn judge_is_monotonic(
        k in kind(), dir in direction(),
        a in value(), b in value(),
        warn in threshold(), crit in threshold(),
    ) {
        prop_assume!(!a.is_nan() && !b.is_nan());
        let d = def(k, dir);
        let (sa, sb) = (judge(&d, a, warn, crit), judge(&d, b, warn, crit));
        if worse_or_equal(&d, a, b) {
            prop_assert!(rank(sa) >= rank(sb), "{a} gave {sa:?} but better {b} gave {sb:?}");
        }
        if worse_or_equal(&d, b, a) {
            prop_assert!(rank(sb) >= rank(sa), "{b} gave {sb:?} but better {a} gave {sa:?}");
        }
    }

    #[test]
    fn nan_is_unknown(k in kind(), dir in direction(), warn in threshold(), crit in threshold()) {
        prop_assert_eq!(judge(&def(k, dir), f64::NAN, warn, crit), MetricState::Unknown);
    }

    /// A value equal to a threshold has crossed it.
    #[test]
    fn thresholds_hold_at_equality(dir in direction(), t in value(), gap in 1e-3f64..1e6) {
        prop_assume!(t.is_finite());
        for k in [Kind::Gauge, Kind::Flag] {
            let d = def(k, dir);
            prop_assert_eq!(judge(&d, t, None, Some(t)), MetricState::Crit);
            prop_assert_eq!(judge(&d, t, Some(t), None), MetricState::Warn);
            // crit is checked first, whatever the warn threshold.
            prop_assert_eq!(judge(&d, t, Some(t), Some(t)), MetricState::Crit);
            // A warn threshold a bit further out is not crossed.
            let further = match dir { Direction::Higher => t + gap, Direction::Lower => t - gap };
            if further != t {
                prop_assert_eq!(judge(&d, t, Some(further), None), MetricState::Ok);
            }
        }
    }
}

// ---- fleet::build ------------------------------------------------------------------------------

const HOSTS: &[&str] = &[
    "db1",
    "db1:9104",
    "db1:9100",
    "db2:9104",
    "[::1]:9104",
    "[::1]",
    "::1",
    "127.0.0.1:3306",
    "",
    "db:x",
    "db1:",
    "数据库:1",
];
const CLUSTERS: &[&str] = &["payments", "orders", "", "(no cluster)"];

fn text(pool: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(pool).prop_map(str::to_string),
        1 => any::<String>(),
    ]
}

fn labels() -> impl Strategy<Value = Labels> {
    (
        prop::option::of(text(HOSTS)),
        prop::option::of(text(CLUSTERS)),
        prop::option::of(text(HOSTS)),
        prop::collection::btree_map(any::<String>(), any::<String>(), 0..2),
    )
        .prop_map(|(host, cluster, master, extra)| {
            let mut l = extra;
            if let Some(h) = host {
                l.insert("instance".into(), h);
            }
            if let Some(c) = cluster {
                l.insert("cluster".into(), c);
            }
            if let Some(m) = master {
                l.insert("master_host".into(), m);
            }
            l
        })
}

fn samples() -> impl Strategy<Value = Vec<Sample>> {
    prop::collection::vec(
        (labels(), value()).prop_map(|(labels, value)| Sample {
            labels,
            value,
            ts: 0.0,
        }),
        0..6,
    )
}

type Results = Vec<Result<Vector, SourceError>>;

fn results(n: usize) -> impl Strategy<Value = Results> {
    prop::collection::vec(
        prop_oneof![
            5 => samples().prop_map(|s| Ok(Vector::from(s))),
            1 => Just(Err(SourceError::Other("query failed".into()))),
        ],
        n..=n,
    )
}

fn alerts() -> impl Strategy<Value = Vec<Alert>> {
    prop::collection::vec(
        (
            labels(),
            prop::sample::select(vec!["critical", "warning", "info", "page", ""]),
            0u8..3,
        )
            .prop_map(|(mut labels, sev, st)| {
                labels.insert("alertname".into(), "A".into());
                labels.insert("severity".into(), sev.into());
                Alert {
                    fingerprint: String::new(),
                    severity: Severity::from_label(Some(sev)),
                    labels,
                    annotations: Labels::new(),
                    state: [
                        AlertState::Active,
                        AlertState::Suppressed,
                        AlertState::Unprocessed,
                    ][usize::from(st)],
                    silenced_by: Vec::new(),
                    inhibited_by: Vec::new(),
                    starts_at: None,
                    generator_url: None,
                }
            }),
        0..4,
    )
}

/// The preset, with random thresholds and directions on its gauges.
fn metric_set() -> impl Strategy<Value = MetricSet> {
    let n = mysql_preset("instance", "cluster").metrics.len();
    prop::collection::vec((threshold(), threshold(), direction()), n..=n).prop_map(|t| {
        let mut set = mysql_preset("instance", "cluster");
        for (m, (w, c, d)) in set.metrics.iter_mut().zip(t) {
            if m.kind == Kind::Gauge {
                m.warn = w;
                m.crit = c;
                m.direction = d;
            }
        }
        set
    })
}

fn t(s: i64) -> chrono::DateTime<Utc> {
    Utc.timestamp_opt(1_795_554_331 + s, 0).unwrap()
}

/// Host health is never better than any reading that counts towards it.
fn check_host_health(set: &MetricSet, f: &Fleet) -> Result<(), TestCaseError> {
    for h in &f.hosts {
        prop_assert_eq!(h.readings.len(), set.metrics.len());
        for (d, r) in set.metrics.iter().zip(&h.readings) {
            let counts = match d.kind {
                Kind::Up | Kind::Flag => true,
                Kind::Gauge => r.value.is_some(),
                Kind::Info | Kind::Detail => false,
            };
            if counts {
                prop_assert!(
                    h.health >= r.state.health(),
                    "host {:?} is {:?} but its {} reading is {:?}",
                    h.id,
                    h.health,
                    d.key,
                    r.state
                );
            }
            if let Some(v) = r.value {
                if v.is_nan() && d.kind != Kind::Info && r.state != MetricState::NotApplicable {
                    prop_assert_eq!(r.state, MetricState::Unknown);
                }
            }
        }
        if h.readings.iter().any(|r| r.state == MetricState::Down) {
            prop_assert_eq!(h.health, Health::Down);
        }
    }
    for w in f.hosts.windows(2) {
        prop_assert!(w[0].id < w[1].id, "hosts are sorted and unique");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn build_never_panics_and_host_is_worst_of_its_readings(
        set in metric_set(),
        first in results(11),
        second in results(11),
        al in alerts(),
        strip in any::<bool>(),
        forget in prop::option::of(0i64..100),
        later in 0i64..200,
    ) {
        prop_assume!(set.metrics.len() == 11);
        let ident = Identity { strip_port: strip, ..Identity::default() };
        let f1 = fleet::build(&set, &ident, &BuildInput {
            results: &first,
            alerts: &al,
            taken_at: Some(t(0)),
            forget_after: forget.map(chrono::Duration::seconds),
            sources: &[],
        }, None);
        check_host_health(&set, &f1)?;
        let f2 = fleet::build(&set, &ident, &BuildInput {
            results: &second,
            alerts: &al,
            taken_at: Some(t(later)),
            forget_after: forget.map(chrono::Duration::seconds),
            sources: &[],
        }, Some(&f1));
        check_host_health(&set, &f2)?;
    }

    /// Fewer or more results than metrics (a caller's mistake) must not take the board down.
    #[test]
    fn build_survives_a_result_count_mismatch(
        rs in prop::collection::vec(
            prop_oneof![
                samples().prop_map(|s| Ok(Vector::from(s))),
                Just(Err(SourceError::Other("query failed".into()))),
            ],
            0..14,
        ),
    ) {
        let set = mysql_preset("instance", "cluster");
        let f = fleet::build(&set, &Identity::default(), &BuildInput {
            results: &rs,
            alerts: &[],
            taken_at: Some(t(0)),
            forget_after: None,
            sources: &[],
        }, None);
        check_host_health(&set, &f)?;
    }

    /// `db1:9104` and `db1:9100` are one host `db1`; without strip_port they stay apart.
    #[test]
    fn ports_strip_consistently(
        name in "[a-z][a-z0-9.-]{0,12}|\\[[0-9a-f:]{1,12}\\]",
        p1 in 0u32..70000,
        p2 in 0u32..70000,
        cluster in text(CLUSTERS),
    ) {
        let ident = Identity::default();
        let a = format!("{name}:{p1}");
        let b = format!("{name}:{p2}");
        prop_assert_eq!(ident.host_name(&a), name.clone());
        prop_assert_eq!(ident.host_name(&b), name.clone());
        prop_assert_eq!(ident.host_name(&name), name.clone());
        let keep = Identity { strip_port: false, ..Identity::default() };
        prop_assert_eq!(keep.host_name(&a), a.clone());

        let set = mysql_preset("instance", "cluster");
        let sample = |inst: &str, v: f64| Sample {
            labels: [("instance", inst), ("cluster", cluster.as_str())]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            value: v,
            ts: 0.0,
        };
        let up = set.index("up").unwrap();
        let load = set.index("load").unwrap();
        let mut rs: Results = (0..set.metrics.len()).map(|_| Ok(Vector::default())).collect();
        rs[up] = Ok(vec![sample(&a, 1.0)].into());
        rs[load] = Ok(vec![sample(&b, 0.5)].into());
        let input = BuildInput { results: &rs, alerts: &[], taken_at: Some(t(0)), forget_after: None, sources: &[] };
        let f = fleet::build(&set, &ident, &input, None);
        prop_assert_eq!(f.hosts.len(), 1);
        prop_assert_eq!(&f.hosts[0].id.name, &name);
        // Apart, `b` has node_exporter's series only: a machine named in a note, no host.
        let f = fleet::build(&set, &keep, &input, None);
        prop_assert_eq!(f.hosts.len(), 1);
        prop_assert_eq!(&f.hosts[0].id.name, &a);
        prop_assert_eq!(
            f.notes.iter().any(|n| n.contains("machine(s) with node_exporter series")),
            p1 != p2
        );
    }

    /// Stripping is idempotent: a stripped name strips to itself.
    #[test]
    fn host_name_is_idempotent(raw in text(HOSTS)) {
        let ident = Identity::default();
        let once = ident.host_name(&raw);
        prop_assert_eq!(ident.host_name(&once), once.clone());
    }
}

// ---- sanitising -----------------------------------------------------------------------------

/// Strings rich in the characters that matter: escapes, bidi controls, wide and zero-width.
fn hostile() -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        3 => any::<char>(),
        2 => prop::sample::select(vec![
            '\x1b', '\x07', '\n', '\r', '\t', '\0', '\x7f', '\u{85}', '\u{9b}', '\u{9c}',
            '\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}', '\u{200e}', '\u{200f}', '\u{061c}',
            '\u{200b}', '\u{fe0f}', '\u{200d}', '❤', '☺', '\u{0301}', '数', '😀', 'a', '\\', '[', ']', ';',
        ]),
    ];
    prop::collection::vec(ch, 0..40).prop_map(|v| v.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn escape_leaves_no_control_characters(s in hostile()) {
        let e = escape(&s);
        prop_assert!(!e.chars().any(is_control), "{e:?}");
    }

    #[test]
    fn escape_is_idempotent(s in hostile()) {
        let once = escape(&s).into_owned();
        prop_assert_eq!(escape(&once), once.as_str());
    }

    #[test]
    fn safe_text_is_left_alone(s in hostile()) {
        let safe: String = s.chars().filter(|c| !is_control(*c)).collect();
        prop_assert!(matches!(escape(&safe), std::borrow::Cow::Borrowed(_)));
        prop_assert_eq!(escape(&safe), safe.as_str());
    }

    #[test]
    fn fit_never_exceeds_the_width(s in hostile(), max in 0usize..50) {
        let f = fit(&s, max);
        prop_assert!(width(&f) <= max, "{f:?} is {} columns, max {max}", width(&f));
        prop_assert!(
            unicode_width::UnicodeWidthStr::width(f.as_str()) <= max || f.chars().any(|c| unicode_width::UnicodeWidthChar::width(c).is_none()),
            "{f:?} is wider than {max} for the terminal"
        );
        prop_assert!(!f.chars().any(is_control), "{f:?}");
        let e = escape(&s);
        if width(&e) <= max {
            prop_assert_eq!(f.as_str(), e.as_ref());
        } else if max > 0 {
            prop_assert!(f.ends_with('…'));
            prop_assert!(e.starts_with(f.trim_end_matches('…')));
        }
    }
}
