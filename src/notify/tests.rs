#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn t(s: i64) -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::seconds(1_800_000_000 + s)
}

fn id(cluster: &str, name: &str) -> HostId {
    HostId {
        cluster: cluster.into(),
        name: name.into(),
    }
}

fn on(bell: &[Level], desktop: &[Level]) -> NotifyConfig {
    NotifyConfig {
        channels: Channels {
            bell: bell.to_vec(),
            desktop: desktop.to_vec(),
        },
        min_interval: Duration::from_secs(30),
        ..NotifyConfig::default()
    }
}

/// A fleet of `(id, health)`, none stale.
fn see(n: &mut Notifier, fleet: &[(HostId, Health)], now: DateTime<Utc>) -> Option<Notice> {
    n.observe(
        fleet.iter().map(|(id, h)| Observation {
            id,
            health: *h,
            stale: false,
        }),
        now,
    )
}

const CD: [Level; 2] = [Level::Crit, Level::Down];

#[test]
fn off_by_default_and_silent_baseline() {
    let mut n = Notifier::new(NotifyConfig::default());
    let a = id("p", "db1");
    assert!(see(&mut n, &[(a.clone(), Health::Ok)], t(0)).is_none());
    assert!(see(&mut n, &[(a.clone(), Health::Down)], t(10)).is_none());

    let mut n = Notifier::new(on(&CD, &CD));
    // Already broken when the board starts: no notification.
    assert!(see(&mut n, &[(a.clone(), Health::Down)], t(0)).is_none());
    assert!(see(&mut n, &[(a.clone(), Health::Down)], t(5)).is_none());
}

#[test]
fn down_then_recovered() {
    let mut n = Notifier::new(on(&CD, &CD));
    let a = id("payments", "db1");
    assert!(see(&mut n, &[(a.clone(), Health::Ok)], t(0)).is_none());
    let d = see(&mut n, &[(a.clone(), Health::Down)], t(5)).expect("down");
    assert!(d.bell && d.desktop);
    assert_eq!(d.title, "fleetboard: db1 DOWN");
    assert_eq!(d.body, "cluster payments: db1 DOWN");
    // Recovery after the rate limit's interval.
    let r = see(&mut n, &[(a.clone(), Health::Ok)], t(60)).expect("recovered");
    assert_eq!(r.title, "fleetboard: db1 recovered (was DOWN)");
}

#[test]
fn warn_only_when_asked_and_crit_to_warn_is_a_recovery() {
    let mut n = Notifier::new(on(&CD, &[]));
    let a = id("p", "db1");
    see(&mut n, &[(a.clone(), Health::Ok)], t(0));
    assert!(see(&mut n, &[(a.clone(), Health::Warn)], t(5)).is_none());
    let c = see(&mut n, &[(a.clone(), Health::Crit)], t(10)).expect("crit");
    assert!(c.bell && !c.desktop);
    let w = see(&mut n, &[(a.clone(), Health::Warn)], t(100)).expect("back to warn");
    assert_eq!(w.title, "fleetboard: db1 recovered (was CRIT)");

    let mut n = Notifier::new(on(&[Level::Warn], &[]));
    see(&mut n, &[(a.clone(), Health::Ok)], t(0));
    assert!(see(&mut n, &[(a.clone(), Health::Warn)], t(5)).is_some());
}

#[test]
fn stale_and_unknown_hosts_are_never_notified() {
    let mut n = Notifier::new(on(&CD, &CD));
    let a = id("p", "db1");
    see(&mut n, &[(a.clone(), Health::Ok)], t(0));
    // Its query failed: the reading is carried over, whatever it says.
    let stale = n.observe(
        [Observation {
            id: &a,
            health: Health::Down,
            stale: true,
        }],
        t(5),
    );
    assert!(stale.is_none());
    assert!(see(&mut n, &[(a.clone(), Health::Unknown)], t(10)).is_none());
    // And coming back from UNKNOWN to OK is no recovery either: it was never told DOWN.
    assert!(see(&mut n, &[(a.clone(), Health::Ok)], t(15)).is_none());
}

#[test]
fn mass_outage_is_one_summary() {
    let mut n = Notifier::new(on(&CD, &CD));
    let hosts: Vec<HostId> = (1..=40).map(|i| id("p", &format!("db{i}"))).collect();
    let ok: Vec<_> = hosts.iter().map(|h| (h.clone(), Health::Ok)).collect();
    let down: Vec<_> = hosts.iter().map(|h| (h.clone(), Health::Down)).collect();
    see(&mut n, &ok, t(0));
    let s = see(&mut n, &down, t(5)).expect("summary");
    assert_eq!(s.title, "fleetboard: 40 hosts changed: 40 DOWN");
    assert!(s.body.ends_with("+35 more"), "{}", s.body);
    // Nothing more while nothing changes.
    assert!(see(&mut n, &down, t(10)).is_none());
    assert!(n.tick(t(100)).is_none());
}

#[test]
fn rate_limit_queues_then_sends_one_summary() {
    let mut n = Notifier::new(on(&CD, &CD));
    let (a, b, c) = (id("p", "db1"), id("p", "db2"), id("q", "db3"));
    let fleet = |x, y, z| vec![(a.clone(), x), (b.clone(), y), (c.clone(), z)];
    see(&mut n, &fleet(Health::Ok, Health::Ok, Health::Ok), t(0));
    assert!(see(&mut n, &fleet(Health::Down, Health::Ok, Health::Ok), t(5)).is_some());
    // Within min_interval (30 s): queued.
    assert!(see(
        &mut n,
        &fleet(Health::Down, Health::Crit, Health::Ok),
        t(10)
    )
    .is_none());
    assert!(see(
        &mut n,
        &fleet(Health::Down, Health::Crit, Health::Down),
        t(15)
    )
    .is_none());
    assert!(n.tick(t(34)).is_none());
    assert!(n.wants_tick(), "something held back needs the clock");
    let s = n
        .tick(t(35))
        .expect("held back, sent when the interval is over");
    assert_eq!(s.title, "fleetboard: 2 hosts changed: 1 DOWN, 1 CRIT");
    assert_eq!(s.body, "db2 CRIT, db3 DOWN");
    assert!(!n.wants_tick(), "nothing left for the clock");
    assert!(n.tick(t(100)).is_none());
}

#[test]
fn a_host_that_comes_back_before_the_interval_cancels_out() {
    let mut n = Notifier::new(on(&CD, &CD));
    let (a, b) = (id("p", "db1"), id("p", "db2"));
    see(
        &mut n,
        &[(a.clone(), Health::Ok), (b.clone(), Health::Ok)],
        t(0),
    );
    assert!(see(
        &mut n,
        &[(a.clone(), Health::Down), (b.clone(), Health::Ok)],
        t(5)
    )
    .is_some());
    see(
        &mut n,
        &[(a.clone(), Health::Down), (b.clone(), Health::Crit)],
        t(10),
    );
    see(
        &mut n,
        &[(a.clone(), Health::Down), (b.clone(), Health::Ok)],
        t(15),
    );
    assert!(n.tick(t(40)).is_none());
}

#[test]
fn flapping_host_rings_a_few_times_then_once_more_then_settles() {
    let cfg = NotifyConfig {
        min_interval: Duration::from_secs(1),
        flap_count: 4,
        flap_window: Duration::from_secs(600),
        ..on(&CD, &CD)
    };
    let mut n = Notifier::new(cfg);
    let a = id("p", "db1");
    see(&mut n, &[(a.clone(), Health::Ok)], t(0));
    let mut sent = Vec::new();
    // 100 flips, 5 s apart.
    for i in 1..=100 {
        let h = if i % 2 == 1 { Health::Crit } else { Health::Ok };
        if let Some(x) = see(&mut n, &[(a.clone(), h)], t(i * 5)) {
            sent.push(x.title);
        }
    }
    assert_eq!(
        sent,
        [
            "fleetboard: db1 CRIT",
            "fleetboard: db1 recovered (was CRIT)",
            "fleetboard: db1 CRIT",
            "fleetboard: db1 is flapping, quiet until it settles",
        ]
    );
    // Stays OK (the last flip) for the window: the state now differs from the last told
    // (CRIT), so one more notification says so.
    assert!(n.tick(t(500 + 599)).is_none());
    assert!(n.wants_tick(), "a flapping host settles by the clock");
    let s = n.tick(t(500 + 601)).expect("settled");
    assert_eq!(s.title, "fleetboard: db1 recovered (was CRIT)");
}

#[test]
fn per_cluster_channels_replace_the_default() {
    let mut cfg = on(&CD, &CD);
    cfg.clusters.insert("staging".into(), Channels::default());
    cfg.clusters.insert(
        "payments".into(),
        Channels {
            bell: vec![Level::Warn, Level::Crit, Level::Down],
            desktop: vec![],
        },
    );
    let mut n = Notifier::new(cfg);
    let (s, p) = (id("staging", "st1"), id("payments", "pay1"));
    see(
        &mut n,
        &[(s.clone(), Health::Ok), (p.clone(), Health::Ok)],
        t(0),
    );
    assert!(see(
        &mut n,
        &[(s.clone(), Health::Down), (p.clone(), Health::Ok)],
        t(5)
    )
    .is_none());
    let w = see(
        &mut n,
        &[(s.clone(), Health::Down), (p.clone(), Health::Warn)],
        t(10),
    )
    .expect("payments warns");
    assert!(w.bell && !w.desktop);
    assert_eq!(w.title, "fleetboard: pay1 WARN");
}

#[test]
fn forgotten_hosts_and_replay_reset() {
    let mut n = Notifier::new(on(&CD, &CD));
    let a = id("p", "db1");
    see(&mut n, &[(a.clone(), Health::Ok)], t(0));
    see(&mut n, &[], t(5));
    // Seen again: a new host, silently.
    assert!(see(&mut n, &[(a.clone(), Health::Down)], t(10)).is_none());
    n.reset();
    assert!(see(&mut n, &[(a.clone(), Health::Ok)], t(50)).is_none());
}

#[test]
fn encoding_bell_osc_and_tmux() {
    let n = Notice {
        bell: true,
        desktop: true,
        title: "fleetboard: db1 DOWN".into(),
        body: "cluster p: db1 DOWN".into(),
    };
    assert_eq!(
        encode(&n, Protocol::Osc777, false),
        b"\x07\x1b]777;notify;fleetboard: db1 DOWN;cluster p: db1 DOWN\x1b\\"
    );
    assert_eq!(
        encode(&n, Protocol::Osc9, false),
        b"\x07\x1b]9;fleetboard: db1 DOWN\x1b\\"
    );
    assert_eq!(
        encode(&n, Protocol::Osc9, true),
        b"\x07\x1bPtmux;\x1b\x1b]9;fleetboard: db1 DOWN\x1b\x1b\\\x1b\\"
    );
    let bell_only = Notice {
        desktop: false,
        ..n
    };
    assert_eq!(encode(&bell_only, Protocol::Osc777, true), b"\x07");
}

#[test]
fn text_from_the_network_cannot_escape_the_osc() {
    let mut n = Notifier::new(on(&CD, &CD));
    let evil = id("p;x", "db1\x1b]52;c;SGVsbG8=\x07\x1b\\;rm\u{9c}");
    see(&mut n, &[(evil.clone(), Health::Ok)], t(0));
    let x = see(&mut n, &[(evil.clone(), Health::Down)], t(5)).expect("down");
    let bytes = encode(&x, Protocol::Osc777, false);
    // One OSC: the opening, its two separators of our own, and the terminator at the end.
    let body = &bytes[1..];
    assert!(body.starts_with(b"\x1b]777;notify;"));
    assert!(body.ends_with(b"\x1b\\"));
    let inner = &body[b"\x1b]777;notify;".len()..body.len() - 2];
    assert!(!inner.iter().any(|&b| b < 0x20 || b == 0x7f), "{inner:?}");
    assert!(!String::from_utf8_lossy(inner).contains('\u{9c}'));
    assert_eq!(inner.iter().filter(|&&b| b == b';').count(), 1);
    let long = Notice {
        bell: false,
        desktop: true,
        title: "x".repeat(5000),
        body: String::new(),
    };
    assert!(encode(&long, Protocol::Osc9, false).len() < 300);
}
