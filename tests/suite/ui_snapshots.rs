//! Rendered screens at fixed sizes from fixed demo data (insta), plus checks that text
//! snapshots cannot make: colours, sanitising, every size.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use fleetboard::action::Action;
use fleetboard::model::SourceError;
use fleetboard::model::Update;
use fleetboard::model::{Fleet, Health};
use fleetboard::testing::{app_with, buffer_text, demo_app, demo_fleet, fixed_time, render};
use fleetboard::theme::Theme;

fn screen(app: &fleetboard::app::App) -> String {
    buffer_text(&render(app))
}

#[test]
fn grid_80x24() {
    insta::assert_snapshot!(screen(&demo_app(80, 24)));
}

#[test]
fn grid_120x40() {
    insta::assert_snapshot!(screen(&demo_app(120, 40)));
}

#[test]
fn grid_200x50() {
    insta::assert_snapshot!(screen(&demo_app(200, 50)));
}

#[test]
fn grid_sorted_by_name_scrolled() {
    let mut app = demo_app(80, 24);
    app.update(Action::CycleSort);
    app.update(Action::End);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn host_panel_replica_with_stopped_sql_thread() {
    let mut app = demo_app(120, 40);
    app.update(Action::CycleCluster); // analytics
    app.update(Action::Open);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn host_panel_80x24_down_host() {
    let mut app = demo_app(80, 24);
    app.update(Action::Open);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn help_80x24() {
    let mut app = demo_app(80, 24);
    app.update(Action::Help);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn empty_fleet() {
    let app = app_with(Fleet::default(), 80, 24, fixed_time());
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn filter_with_no_match() {
    let mut app = demo_app(80, 24);
    app.update(Action::StartFilter);
    for c in "nosuchhost".chars() {
        app.update(Action::FilterChar(c));
    }
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn source_down_marks_stale_and_keeps_data() {
    let mut app = demo_app(80, 24);
    let t = fixed_time() + chrono::Duration::seconds(40);
    app.update(Action::Data(Box::new(Update {
        received_at: t,
        fleet: None,
        prom_error: Some(SourceError::Connect(
            "tcp connect error: Connection refused (os error 111)".into(),
        )),
        alert_sources: vec![(
            "http://alertmanager:9093".into(),
            Some(SourceError::Timeout(Duration::from_secs(4))),
        )],
        next_in: Duration::from_secs(20),
    })));
    app.update(Action::Tick(t));
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn too_small() {
    insta::assert_snapshot!(screen(&demo_app(19, 4)));
}

#[test]
fn tiles_use_the_theme_health_colours() {
    let app = demo_app(120, 40);
    let buf = render(&app);
    let theme = Theme::default();
    let l = &app.view().layout;
    // The first tile is the DOWN host (severity sort) and selected: reversed.
    let t1 = l.tiles[1];
    let h1 = &app.fleet.hosts[app.view().hosts[1]];
    let cell = &buf[(t1.x + 3, u16::try_from(t1.y).unwrap() + 2)];
    assert_eq!(
        cell.bg,
        theme.health(h1.health).bg.unwrap(),
        "tile of {} ({:?})",
        h1.id.name,
        h1.health
    );
    let crit = app
        .fleet
        .hosts
        .iter()
        .position(|h| h.health == Health::Crit)
        .unwrap();
    let pos = app.view().hosts.iter().position(|&i| i == crit).unwrap();
    let t = l.tiles[pos];
    let cell = &buf[(t.x + 5, u16::try_from(t.y).unwrap() + 1)];
    assert_eq!(cell.bg, theme.health(Health::Crit).bg.unwrap());
    assert_ne!(theme.health(Health::Crit).bg, theme.health(Health::Ok).bg);
}

#[test]
fn no_colour_theme_draws_no_colour_but_keeps_symbols() {
    let mut app = demo_app(80, 24);
    app.theme = Theme::default().without_colour();
    app.dirty = true;
    let buf = render(&app);
    for c in &buf.content {
        assert_eq!(c.fg, ratatui::style::Color::Reset);
        assert_eq!(c.bg, ratatui::style::Color::Reset);
    }
    let text = buffer_text(&buf);
    for sym in ["▼", "✖", "✓"] {
        assert!(text.contains(sym), "{sym} missing");
    }
}

#[test]
fn hostile_label_values_never_reach_the_buffer_raw() {
    let mut fleet = demo_fleet(fixed_time());
    let evil = "db\x1b]52;c;SGVsbG8=\x07\x1b[2J\u{9b}31m\u{202e}";
    let last = fleet.hosts.len() - 1;
    // Still sorts last, so the fleet stays ordered.
    fleet.hosts[last].id.name = format!("zz-{evil}");
    fleet.hosts[last].labels.insert("evil", evil);
    fleet.hosts[last].reasons = vec![format!("reason {evil}")];
    let mut app = app_with(fleet, 120, 40, fixed_time());
    app.update(Action::StartFilter);
    for c in "zz-".chars() {
        app.update(Action::FilterChar(c));
    }
    app.update(Action::FilterApply);
    for a in [Action::Home, Action::Open] {
        app.update(a);
        let buf = render(&app);
        let text = buffer_text(&buf);
        let bad: Vec<char> = text
            .chars()
            .filter(|&c| {
                c != '\n'
                    && ((c as u32) < 0x20 || (0x7f..=0x9f).contains(&(c as u32)) || c == '\u{202e}')
            })
            .collect();
        assert!(bad.is_empty(), "{bad:?} in {text}");
        assert!(text.contains("\\x1b"), "escaped form is shown");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    #[test]
    fn renders_every_view_at_any_size(w in 1u16..500, h in 1u16..200, view in 0u8..4) {
        let mut app = demo_app(w, h);
        match view {
            1 => { app.update(Action::Open); }
            2 => { app.update(Action::Help); }
            3 => { app.update(Action::StartFilter); app.update(Action::FilterChar('9')); }
            _ => {}
        }
        app.update(Action::End);
        let _ = render(&app);
        app.update(Action::Resize(h.max(1), w.max(1)));
        let _ = render(&app);
    }
}

fn open_lagging_replica(w: u16, h: u16) -> fleetboard::app::App {
    let mut app = demo_app(w, h);
    app.update(Action::StartFilter);
    for c in "orders-db07".chars() {
        app.update(Action::FilterChar(c));
    }
    app.update(Action::FilterApply);
    let cmds = app.update(Action::Open);
    fleetboard::testing::answer_history(&mut app, cmds);
    app
}

#[test]
fn host_panel_with_charts_160x48() {
    insta::assert_snapshot!(screen(&open_lagging_replica(160, 48)));
}

#[test]
fn host_panel_with_charts_80x24() {
    insta::assert_snapshot!(screen(&open_lagging_replica(80, 24)));
}

#[test]
fn host_panel_charts_1h_window() {
    let mut app = open_lagging_replica(160, 48);
    let cmds = app.update(Action::Window(2));
    fleetboard::testing::answer_history(&mut app, cmds);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn chart_with_gaps_and_error() {
    use fleetboard::app::history::HistoryKey;
    let mut app = open_lagging_replica(160, 48);
    let id = app.grid.selected.clone().unwrap();
    let end = fixed_time().timestamp() as f64;
    let start = end - 900.0;
    // A stopped thread (no samples), NaN and +Inf are gaps, not zeros.
    let mut pts = Vec::new();
    for i in 0..60 {
        let t = start + f64::from(i) * 15.0;
        let v = match i {
            20..=29 => continue,
            35 => f64::NAN,
            36 => f64::INFINITY,
            _ => 100.0 + f64::from(i),
        };
        pts.push((t, v));
    }
    let key = |m: &str| HistoryKey {
        host: id.clone(),
        metric: m.into(),
        window: 900,
        end: None,
    };
    app.update(Action::History(key("lag"), Ok((pts, start, end, 15.0))));
    app.update(Action::History(
        key("qps"),
        Err("HTTP 503: service unavailable".into()),
    ));
    let text = screen(&app);
    insta::assert_snapshot!(text);
}

#[test]
fn replay_header_is_unmistakable() {
    let mut app = demo_app(120, 40);
    let cmds = app.update(Action::ReplayStep(-12));
    assert_eq!(
        cmds,
        vec![fleetboard::app::Command::SetReplay(Some(
            fixed_time() - chrono::Duration::seconds(60)
        ))]
    );
    let buf = render(&app);
    let text = buffer_text(&buf);
    assert!(text.lines().next().unwrap().contains("REPLAY"), "{text}");
    // The REPLAY badge uses the theme's replay style, not a health colour.
    let x = text.lines().next().unwrap().find("REPLAY").unwrap();
    let col = u16::try_from(text.lines().next().unwrap()[..x].chars().count()).unwrap();
    assert_eq!(buf[(col, 0)].bg, Theme::default().replay().bg.unwrap());
    let cmds = app.update(Action::Live);
    assert_eq!(cmds, vec![fleetboard::app::Command::SetReplay(None)]);
}

fn wall_app(w: u16, h: u16, fleet: Fleet) -> fleetboard::app::App {
    let mut app = app_with(Fleet::default(), w, h, fixed_time());
    app.wall.on = true;
    app.update(Action::Data(Box::new(Update {
        received_at: fixed_time(),
        fleet: Some(fleet.into()),
        prom_error: None,
        alert_sources: vec![],
        next_in: Duration::from_secs(5),
    })));
    app
}

/// The demo fleet narrowed to its first `n` hosts (few hosts: big tiles).
fn few_hosts(n: usize) -> Fleet {
    let mut f = demo_fleet(fixed_time());
    f.hosts.retain(|h| h.id.cluster == "orders");
    f.hosts.truncate(n);
    f.clusters = vec!["orders".into()];
    f
}

/// A large synthetic fleet: the demo fleet repeated under other cluster names.
fn many_hosts(copies: usize) -> Fleet {
    let base = demo_fleet(fixed_time());
    let mut f = Fleet::default();
    for i in 0..copies {
        for h in &base.hosts {
            let mut h = h.clone();
            h.id.cluster = format!("{}-{i:02}", h.id.cluster);
            f.hosts.push(h);
        }
    }
    f.hosts.sort_by(|a, b| a.id.cmp(&b.id));
    f.clusters = f.hosts.iter().map(|h| h.id.cluster.clone()).collect();
    f.clusters.dedup();
    f
}

#[test]
fn wall_80x24_few_hosts() {
    insta::assert_snapshot!(screen(&wall_app(80, 24, few_hosts(7))));
}

#[test]
fn wall_240x67_few_hosts() {
    insta::assert_snapshot!(screen(&wall_app(240, 67, few_hosts(7))));
}

#[test]
fn wall_240x67_demo_fleet() {
    insta::assert_snapshot!(screen(&wall_app(240, 67, demo_fleet(fixed_time()))));
}

#[test]
fn wall_80x24_many_hosts_map() {
    // 400 hosts cannot be tiles on 80x24: the wall shows the map, every host a cell, with
    // the problems named beside it, on one page.
    let app = wall_app(80, 24, many_hosts(10));
    assert!(app.map_shown());
    assert_eq!(app.wall.pages, 1);
    assert_eq!(app.shown_on_screen(), app.view().hosts.len());
    let first = screen(&app);
    // The worst are named; the header counts the rest.
    let p = &app.view().problems;
    for &k in &p.hosts[..p.named()] {
        let name = &app.fleet.hosts[app.view().hosts[k]].id.name;
        assert!(first.contains(name.as_str()), "{name} named\n{first}");
    }
    let off = p.hosts.len() - p.named();
    assert!(off > 0);
    assert!(
        first.contains(&format!("{off} problems off screen")),
        "{first}"
    );
    insta::assert_snapshot!(first);
}

#[test]
fn wall_240x67_many_hosts() {
    let app = wall_app(240, 67, many_hosts(10));
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn only_problems_with_problems() {
    let mut app = demo_app(120, 40);
    app.update(Action::OnlyProblems);
    assert!(app
        .view()
        .hosts
        .iter()
        .all(|&i| app.fleet.hosts[i].health != Health::Ok));
    assert_eq!(app.grid.hidden_ok, 35);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn only_problems_without_problems() {
    let mut f = demo_fleet(fixed_time());
    f.hosts.retain(|h| h.health == Health::Ok);
    let mut app = wall_app(120, 40, f);
    app.update(Action::OnlyProblems);
    let text = screen(&app);
    assert!(text.contains("35 hosts in 3 clusters"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn ascii_mode_draws_ascii_only() {
    let mut app = open_lagging_replica(120, 40);
    app.ascii = true;
    let panel = screen(&app);
    app.update(Action::Back);
    app.update(Action::Back);
    let grid = screen(&app);
    for t in [&panel, &grid] {
        assert!(t.is_ascii(), "non-ASCII in {t}");
    }
    insta::assert_snapshot!(grid);
}

#[test]
fn no_colour_snapshot_reads_by_symbols() {
    let mut app = demo_app(80, 24);
    app.theme = Theme::default().without_colour();
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn themes_cycle_and_each_keeps_states_apart() {
    let mut app = demo_app(80, 24);
    let (themes, idx) = Theme::cycle(
        Theme::default(),
        None,
        fleetboard::theme::ColorDepth::Truecolor,
    );
    app.themes = themes;
    app.theme_index = idx;
    let mut seen = vec![app.theme.name.clone()];
    for _ in 0..3 {
        app.update(Action::NextTheme);
        seen.push(app.theme.name.clone());
        let buf = render(&app);
        // The DOWN tile (first, severity sort) and an OK tile differ in background.
        let l = &app.view().layout;
        let (a, b) = (l.tiles[0], l.tiles[3]);
        assert_ne!(
            buf[(a.x + 3, u16::try_from(a.y).unwrap() + 1)].bg,
            buf[(b.x + 3, u16::try_from(b.y).unwrap() + 1)].bg,
            "{}",
            app.theme.name
        );
    }
    assert_eq!(
        seen,
        vec!["default", "light", "high-contrast", "colorblind"]
    );
    app.update(Action::NextTheme);
    assert_eq!(app.theme.name, "default");
}

#[test]
fn wall_tiles_with_sparklines() {
    let mut f = few_hosts(7);
    for (k, h) in f.hosts.iter_mut().enumerate() {
        h.spark = (0..31)
            .map(|i| {
                if i == 12 {
                    f64::NAN
                } else {
                    f64::from(i * (k as i32 + 1))
                }
            })
            .collect();
    }
    let mut app = wall_app(120, 40, f);
    app.grid.sparkline_metric = Some("lag".into());
    let text = screen(&app);
    assert!(text.contains('█') && text.contains('▁'), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn host_panel_names_the_heartbeat_rows_and_the_other_names() {
    let mut app = demo_app(160, 90);
    app.update(Action::CycleCluster); // analytics
    let id = app.selected_host().unwrap().id.clone();
    let mut fleet = (*app.fleet).clone();
    let h = fleet.hosts.iter_mut().find(|h| h.id == id).unwrap();
    assert!(h.replication.is_some(), "a replica: {id:?}");
    h.heartbeat_from = vec![(7, 3600.0)];
    h.aliases = vec!["db9.example.com".into()];
    app.fleet = std::sync::Arc::new(fleet);
    app.update(Action::Open);
    let s = screen(&app);
    assert!(
        s.contains("lag from the pt-heartbeat row of server_id 7 less its age on the writer"),
        "{s}"
    );
    assert!(s.contains("also named db9.example.com"), "{s}");
}
