#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::model::SourceError;
use crate::testing::{demo_app, demo_fleet, fixed_time, refresh};

fn sel(app: &App) -> String {
    app.grid
        .selected
        .as_ref()
        .map(|s| s.name.clone())
        .unwrap_or_default()
}

#[test]
fn severity_sort_puts_problems_first() {
    let app = demo_app(120, 40);
    let v = app.view();
    let first = &app.fleet.hosts[v.hosts[0]];
    assert_eq!(first.health, Health::Down);
    assert_eq!(v.groups[0].0, "payments");
    assert_eq!(sel(&app), first.id.name);
}

#[test]
fn moves_follow_the_grid() {
    let mut app = demo_app(80, 24);
    let cols = usize::from(app.view().layout.cols);
    let start = sel(&app);
    app.update(Action::Move(1, 0));
    let second = sel(&app);
    assert_ne!(start, second);
    app.update(Action::Move(-1, 0));
    assert_eq!(sel(&app), start);
    let pos = |app: &App| {
        let i = app.selected_index().unwrap();
        app.view().layout.tiles[i]
    };
    let top = pos(&app);
    app.update(Action::Move(0, 1));
    let below = pos(&app);
    assert!(below.y > top.y && below.x == top.x, "{top:?} -> {below:?}");
    assert!(cols >= 1);
    app.update(Action::End);
    let last = app.fleet.hosts[*app.view().hosts.last().unwrap()]
        .id
        .name
        .clone();
    assert_eq!(sel(&app), last);
    // The packed demo fleet fits 80x24: nothing to scroll.
    assert_eq!(app.grid.scroll, 0);
    app.update(Action::Home);
    assert_eq!(app.grid.scroll, 0);
}

#[test]
fn selection_survives_refresh_and_resort() {
    let mut app = demo_app(120, 40);
    app.update(Action::Move(1, 0));
    app.update(Action::Move(1, 0));
    let before = sel(&app);
    app.update(Action::CycleSort);
    assert_eq!(sel(&app), before);
    let later = fixed_time() + chrono::Duration::minutes(7);
    app.update(Action::Data(Box::new(Update {
        received_at: later,
        fleet: Some(demo_fleet(later).into()),
        prom_error: None,
        alert_sources: vec![],
        next_in: Duration::from_secs(5),
    })));
    assert_eq!(sel(&app), before);
}

#[test]
fn filter_and_cluster_cycle() {
    let mut app = demo_app(120, 40);
    app.update(Action::StartFilter);
    for c in "db0".chars() {
        app.update(Action::FilterChar(c));
    }
    app.update(Action::FilterApply);
    assert_eq!(app.grid.filter, "db0");
    assert!(app
        .view()
        .hosts
        .iter()
        .all(|&i| app.fleet.hosts[i].id.name.contains("db0")));
    app.update(Action::Back);
    assert!(app.grid.filter.is_empty());
    assert_eq!(app.view().hosts.len(), 40);

    app.update(Action::CycleCluster);
    assert_eq!(app.grid.cluster.as_deref(), Some("analytics"));
    assert_eq!(app.view().hosts.len(), 10);
    app.update(Action::CycleCluster);
    app.update(Action::CycleCluster);
    assert_eq!(app.grid.cluster.as_deref(), Some("payments"));
    app.update(Action::CycleCluster);
    assert_eq!(app.grid.cluster, None);

    // Esc while typing cancels and clears.
    app.update(Action::StartFilter);
    app.update(Action::FilterChar('z'));
    assert_eq!(app.view().hosts.len(), 0);
    app.update(Action::Back);
    assert_eq!(app.grid.filter_edit, None);
    assert_eq!(app.view().hosts.len(), 40);
}

#[test]
fn enter_opens_and_esc_returns() {
    let mut app = demo_app(120, 40);
    let id = app.grid.selected.clone().unwrap();
    app.update(Action::Open);
    assert_eq!(app.screen, Screen::Host(id.clone()));
    app.update(Action::Move(1, 0));
    assert_ne!(app.screen, Screen::Host(id));
    app.update(Action::Back);
    assert_eq!(app.screen, Screen::Grid);
}

#[test]
fn click_selects_and_second_click_opens() {
    let mut app = demo_app(120, 40);
    let t = app.view().layout.tiles[2];
    let (col, row) = (t.x + 1, u16::try_from(t.y).unwrap() + 1);
    app.update(Action::Click(col, row));
    let target = app.fleet.hosts[app.view().hosts[2]].id.clone();
    assert_eq!(app.grid.selected.as_ref(), Some(&target));
    assert_eq!(app.screen, Screen::Grid);
    app.update(Action::Click(col, row));
    assert_eq!(app.screen, Screen::Host(target));
}

#[test]
fn refresh_and_quit_are_commands() {
    let mut app = demo_app(80, 24);
    assert_eq!(app.update(Action::Refresh), vec![Command::RefreshNow]);
    assert_eq!(app.update(Action::Quit), vec![Command::Quit]);
}

#[test]
fn failing_source_keeps_data_and_goes_stale() {
    let mut app = demo_app(80, 24);
    let n = app.fleet.hosts.len();
    assert!(!app.is_stale());
    let mut t = fixed_time();
    for _ in 0..4 {
        t += chrono::Duration::seconds(5);
        app.update(Action::Data(Box::new(Update {
            received_at: t,
            fleet: None,
            prom_error: Some(crate::model::SourceError::Connect(
                "connection refused".into(),
            )),
            alert_sources: vec![],
            next_in: Duration::from_secs(10),
        })));
    }
    assert_eq!(app.fleet.hosts.len(), n, "last good data kept");
    assert!(app.is_stale());
    assert_eq!(
        app.prom.failing_since,
        Some(fixed_time() + chrono::Duration::seconds(5))
    );
    assert!(app
        .prom
        .error
        .as_deref()
        .unwrap()
        .contains("connection refused"));
}

/// The loop sleeps until `next_tick`: nothing the clock alone changes may come before it,
/// and (short of the cap) something must change at it.
#[test]
fn the_clock_wakes_the_board_when_and_only_when_it_changes_something() {
    let at = |ms: i64| fixed_time() + chrono::Duration::milliseconds(ms);
    // A tick at `t`: whether it changed what is shown (and the state, kept).
    let moved = |app: &mut App, t: DateTime<Utc>| {
        app.update(Action::Tick(t));
        let d = app.dirty;
        app.update(Action::Drawn);
        d
    };
    let late_ms = i64::try_from(demo_app(100, 24).late_limit().as_millis()).unwrap();
    for wall in [false, true] {
        let mut app = demo_app(100, 24);
        app.wall.on = wall;
        app.rebuild_view();
        let now = at(300);
        moved(&mut app, now);
        let next = app.next_tick(now);
        // On time, the first change is the data turning late (the wall's minute is later).
        assert_eq!(next, at(late_ms + 1), "wall {wall}");
        assert!(!moved(&mut app, next - chrono::Duration::milliseconds(2)));
        assert!(moved(&mut app, next), "late at the deadline (wall {wall})");
        // Late: the age counts whole seconds, so the next change is the next second.
        let now = next + chrono::Duration::milliseconds(250);
        moved(&mut app, now);
        let next = app.next_tick(now);
        assert_eq!(next, at(late_ms / 1000 * 1000 + 1000));
        assert!(!moved(&mut app, next - chrono::Duration::milliseconds(1)));
        assert!(moved(&mut app, next));
    }
    // Replaying a past moment, nothing turns late: the cap only.
    let mut app = demo_app(100, 24);
    app.replay = Some(at(-3_600_000));
    let now = at(300);
    assert_eq!(
        app.next_tick(now),
        now + chrono::Duration::from_std(MAX_TICK).unwrap()
    );
    // Never in the past (a deadline already gone would spin the loop).
    let mut app = demo_app(100, 24);
    let long_after = at(3_600_000);
    app.prom.error = None;
    assert!(app.next_tick(long_after) > long_after);
}

#[test]
fn an_idle_board_on_time_draws_only_when_something_shown_moves() {
    use crate::testing::{buffer_text, render};
    let mut app = demo_app(100, 24);
    let at = |ms: i64| fixed_time() + chrono::Duration::milliseconds(ms);
    // On time: the status bar gives the time of the last answer, and no clock moves.
    for ms in [300, 1300, 2300, 5300] {
        app.update(Action::Tick(at(ms)));
        assert!(!app.dirty, "nothing shown changed at +{ms} ms");
    }
    let text = buffer_text(&render(&app));
    assert!(text.contains("prometheus ✓ 03:14:00 "), "{text}");
    assert!(!text.contains("ago"), "{text}");
    // Later than two refresh intervals: the age is shown, and moves every whole second.
    let late = i64::try_from(app.refresh.as_millis() * 2).unwrap() + 1000;
    app.update(Action::Tick(at(late)));
    assert!(app.dirty, "the age appears");
    app.update(Action::Drawn);
    app.update(Action::Tick(at(late + 300)));
    assert!(!app.dirty, "same second");
    app.update(Action::Tick(at(late + 1000)));
    assert!(app.dirty, "next second");
    let text = buffer_text(&render(&app));
    let age = format!("({}s ago)", late / 1000 + 1);
    assert!(text.contains(&age), "{age} in {text}");
}

#[test]
fn natural_order() {
    let mut v = vec!["db10", "db2", "db1", "a", "db02x"];
    v.sort_by(|a, b| natural_cmp(a, b));
    assert_eq!(v, vec!["a", "db1", "db2", "db02x", "db10"]);
}

#[test]
fn a_resize_refetches_the_charts_for_the_new_width() {
    let mut app = demo_app(120, 40);
    // In replay, data does not refetch: only the resize can.
    app.update(Action::ReplayAt(Some(fixed_time())));
    app.update(Action::Open);
    let step_of = |cmds: &[Command]| {
        cmds.iter().find_map(|c| match c {
            Command::FetchHistory(f) => f.first().map(|f| f.req.step),
            _ => None,
        })
    };
    let narrow = step_of(&app.update(Action::Resize(120, 40))).is_none();
    assert!(narrow, "same size: nothing to fetch");
    let wide = app.update(Action::Resize(240, 60));
    let step = step_of(&wide).expect("a wider panel asks again");
    assert!(step < history::step_for(app.window_secs(), 100), "{step:?}");
}

#[test]
fn a_rejected_query_says_retrying_cannot_help() {
    let mut app = demo_app(80, 24);
    let t = fixed_time() + chrono::Duration::seconds(5);
    app.update(Action::Data(Box::new(Update {
        received_at: t,
        fleet: Some(demo_fleet(t).into()),
        prom_error: Some(crate::model::SourceError::Http {
            status: 400,
            body: "bad_data: parse error".into(),
        }),
        alert_sources: vec![],
        next_in: Duration::from_secs(5),
    })));
    let e = app.prom.error.clone().unwrap();
    assert!(
        e.contains("query rejected") && e.contains("HTTP 400"),
        "{e}"
    );
}

#[test]
fn alerts_and_theme_write_the_one_message_slot() {
    let mut app = demo_app(80, 24);
    app.themes = vec![
        crate::theme::Theme::default(),
        crate::theme::Theme::builtin("light").unwrap(),
    ];
    // No Alertmanager: asking for a silence is refused, with an error.
    app.update(Action::Open);
    app.update(Action::Alerts(alerts::AlertAction::NewSilence));
    let m = app.message.clone().unwrap();
    assert!(
        m.is_error() && m.text.contains("need an Alertmanager"),
        "{m:?}"
    );
    // The theme's note takes the same slot: the later replaces the earlier.
    app.update(Action::NextTheme);
    let m = app.message.clone().unwrap();
    assert_eq!(m, StatusMessage::new("theme light", MessageKind::Note));
    // A note stays through other keys; an alerts error replaces it in turn.
    app.update(Action::Move(1, 0));
    assert_eq!(
        app.message.as_ref().map(|m| m.kind),
        Some(MessageKind::Note)
    );
    app.update(Action::Alerts(alerts::AlertAction::NewSilence));
    let m = app.message.clone().unwrap();
    assert!(m.is_error(), "{m:?}");
    // An error goes with the next thing the user does; ticks and data do not clear it.
    app.update(Action::Tick(app.now + chrono::Duration::seconds(1)));
    assert!(app.message.is_some());
    app.update(Action::Move(1, 0));
    assert_eq!(app.message, None);
}

#[test]
fn chart_queries_use_the_configured_host_label() {
    // A PMM-style board: hosts by `node_name`. A chart metric without `$host` brings the
    // whole fleet's series, which must be kept by that label, not by `instance`.
    let mut app = demo_app(120, 40);
    let mut metrics = (*app.metrics).clone();
    let chart = metrics.metrics.iter_mut().find(|m| m.chart).unwrap();
    chart.expr = "custom_metric".into();
    app.metrics = Arc::new(metrics);
    let identity = Identity {
        host_label: "node_name".into(),
        ..Identity::default()
    };
    app.update(Action::Start(Box::new(Startup {
        now: fixed_time(),
        source_name: "prometheus".into(),
        server_clusters: Vec::new(),
        themes: vec![app.theme.clone()],
        theme_index: 0,
        wall: false,
        wall_page_every: Duration::from_secs(10),
        only_problems: false,
        map: false,
        ascii: false,
        keymap: app.keymap.clone(),
        sparkline_metric: None,
        links: crate::links::LinksUi::default(),
        identity,
    })));
    let cmds = app.update(Action::Open);
    let filters: Vec<String> = cmds
        .iter()
        .filter_map(|c| match c {
            Command::FetchHistory(f) => Some(f),
            _ => None,
        })
        .flatten()
        .filter_map(|f| f.filter_host.as_ref().map(|(i, _)| i.host_label.clone()))
        .collect();
    assert_eq!(filters, vec!["node_name".to_string()]);
}

#[test]
fn the_lag_chart_reads_the_heartbeat_rows_the_tile_reads() {
    let mut app = demo_app(120, 40);
    let id = app.selected_host().unwrap().id.clone();
    let mut fleet = (*app.fleet).clone();
    fleet
        .hosts
        .iter_mut()
        .find(|h| h.id == id)
        .unwrap()
        .heartbeat_from = vec![(7, 3600.0)];
    app.fleet = Arc::new(fleet);
    let cmds = app.update(Action::Open);
    let rows: Vec<(String, Vec<(u64, f64)>)> = cmds
        .iter()
        .filter_map(|c| match c {
            Command::FetchHistory(f) => Some(f),
            _ => None,
        })
        .flatten()
        .map(|f| (f.key.metric.clone(), f.heartbeat_from.clone()))
        .collect();
    assert!(
        rows.len() > 1 && rows.iter().any(|(m, _)| m == "lag"),
        "{rows:?}"
    );
    for (metric, from) in rows {
        let want: &[(u64, f64)] = if metric == "lag" { &[(7, 3600.0)] } else { &[] };
        assert_eq!(from, want, "{metric}");
    }
}

/// The fleet taken again at `at` with no sample moved: what the merge gives then.
fn taken_again(f: &Fleet, at: DateTime<Utc>) -> Fleet {
    let mut f = f.clone();
    f.taken_at = Some(at);
    for h in &mut f.hosts {
        h.last_seen = at;
    }
    f
}

#[test]
fn same_but_time_ignores_only_the_time() {
    let f = demo_fleet(fixed_time());
    let later = fixed_time() + chrono::Duration::seconds(5);
    assert!(taken_again(&f, later).same_but_time(&f));
    let mut moved = taken_again(&f, later);
    let r = moved.hosts[3]
        .readings
        .iter_mut()
        .find(|r| r.value.is_some())
        .unwrap();
    r.value = r.value.map(|v| v + 1.0);
    assert!(!moved.same_but_time(&f));
    // A gap (NaN) in the sparkline is the same gap at the next refresh.
    let mut a = f.clone();
    a.hosts[0].spark = vec![1.0, f64::NAN, 2.0];
    let b = taken_again(&a, later);
    assert!(b.same_but_time(&a));
    let mut c = b.clone();
    c.hosts[0].spark[1] = 0.0;
    assert!(!c.same_but_time(&a));
    // A host kept after its series vanished shows its age: never the same.
    let mut kept = taken_again(&f, later);
    kept.hosts[0].last_seen = fixed_time();
    assert!(!kept.same_but_time(&f));
    let mut alert = taken_again(&f, later);
    alert.hosts[1].reasons.push("new".into());
    assert!(!alert.same_but_time(&f));
}

#[test]
fn a_refresh_with_nothing_new_redraws_only_header_and_status_bar() {
    let modes: [(u16, u16, bool, bool, bool); 5] = [
        (80, 24, false, false, false),
        (200, 50, false, false, false),
        (200, 50, true, false, false),
        (120, 40, false, true, false),
        (100, 30, false, false, true),
    ];
    for (w, h, wall, map, ascii) in modes {
        let mut app = demo_app(w, h);
        app.wall.on = wall;
        app.ascii = ascii;
        app.rebuild_view();
        if map {
            app.update(Action::Board(map::BoardAction::ToggleMap));
        }
        app.update(Action::Move(1, 0));
        let kept = crate::testing::render(&app);
        let gen = app.body_gen;
        let t1 = fixed_time() + chrono::Duration::seconds(5);
        let again = taken_again(&app.fleet, t1);
        refresh(&mut app, again, t1, None);
        assert_eq!(app.body_gen, gen, "{w}x{h} wall {wall} map {map}");
        let full = crate::testing::render(&app);
        assert_eq!(
            crate::testing::buffer_text(&crate::testing::render_chrome_over(&app, &kept)),
            crate::testing::buffer_text(&full),
            "{w}x{h} wall {wall} map {map}"
        );
        assert_eq!(
            crate::testing::render_chrome_over(&app, &kept),
            full,
            "{w}x{h} wall {wall} map {map}"
        );
    }
}

#[test]
fn the_body_is_drawn_again_whenever_it_may_differ() {
    let t = |s| fixed_time() + chrono::Duration::seconds(s);
    let mut app = demo_app(120, 40);
    let mut gen = app.body_gen;
    let mut moved = |app: &App, what: &str| {
        assert_ne!(app.body_gen, gen, "{what}");
        gen = app.body_gen;
    };
    // New data.
    let mut f = taken_again(&app.fleet, t(5));
    f.hosts[2].health = Health::Crit;
    refresh(&mut app, f, t(5), None);
    moved(&app, "a host's health");
    // A key.
    app.update(Action::Move(0, 1));
    moved(&app, "a move");
    // The same fleet with a failed metric query.
    let f = taken_again(&app.fleet, t(10));
    refresh(
        &mut app,
        f,
        t(10),
        Some(SourceError::Other("lag query failed".into())),
    );
    moved(&app, "a partial answer");
    // Then the same again without the error: the partial mark goes, so the body follows.
    let f = taken_again(&app.fleet, t(15));
    refresh(&mut app, f, t(15), None);
    moved(&app, "the error gone");
    // Help over the grid: the same data redraws everything.
    app.update(Action::Help);
    moved(&app, "help");
    let f = taken_again(&app.fleet, t(20));
    refresh(&mut app, f, t(20), None);
    moved(&app, "data under the help popup");
    app.update(Action::Help);
    moved(&app, "help closed");
    // Data that turned stale before the refresh.
    app.update(Action::Tick(t(300)));
    let f = taken_again(&app.fleet, t(301));
    app.update(Action::Data(Box::new(Update {
        received_at: t(301),
        fleet: Some(f.into()),
        prom_error: None,
        alert_sources: Vec::new(),
        next_in: Duration::from_secs(5),
    })));
    moved(&app, "stale data refreshed");
}
