//! The board at fleet scale, from fixed synthetic fleets of many small clusters (three
//! hosts each, a fixed share in trouble): the packed grid, the problems named first, the
//! map, at 80x24, 200x50 and 400x100 (insta), and what text snapshots cannot show: the
//! colour and symbol of every map cell, in every theme, without colour and in ASCII.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use fleetboard::action::Action;
use fleetboard::app::map::BoardAction;
use fleetboard::app::App;
use fleetboard::model::Health;
use fleetboard::testing::{
    app_with, buffer_text, fixed_time, names_on_screen, render, synthetic_fleet,
};
use fleetboard::theme::Theme;

fn app(n: usize, w: u16, h: u16) -> App {
    app_with(synthetic_fleet(n), w, h, fixed_time())
}

fn map_app(n: usize, w: u16, h: u16) -> App {
    let mut a = app(n, w, h);
    a.update(Action::Board(BoardAction::ToggleMap));
    assert!(a.map_shown());
    a
}

fn screen(a: &App) -> String {
    buffer_text(&render(a))
}

/// Every problem host of the view is named on the screen, or counted in the header.
fn problems_named_or_counted(a: &App, text: &str) {
    let v = a.view();
    let mut missing = 0;
    for &k in &v.problems.hosts {
        let h = &a.fleet.hosts[v.hosts[k]];
        let one = fleetboard::model::Fleet {
            hosts: vec![h.clone()],
            ..fleetboard::model::Fleet::default()
        };
        if names_on_screen(&one, text) == 0 {
            missing += 1;
        }
    }
    assert_eq!(missing, a.problems_off_screen(), "{text}");
    if missing > 0 {
        assert!(
            text.contains(&format!("{missing} problems off screen")),
            "{text}"
        );
    }
}

#[test]
fn packed_grid_80x24() {
    let a = app(120, 80, 24);
    let text = screen(&a);
    problems_named_or_counted(&a, &text);
    insta::assert_snapshot!(text);
}

#[test]
fn packed_grid_200x50() {
    let a = app(600, 200, 50);
    let text = screen(&a);
    problems_named_or_counted(&a, &text);
    insta::assert_snapshot!(text);
}

#[test]
fn packed_grid_400x100() {
    let a = app(1500, 400, 100);
    let text = screen(&a);
    problems_named_or_counted(&a, &text);
    insta::assert_snapshot!(text);
}

#[test]
fn problems_first_80x24() {
    let a = app(1000, 80, 24);
    let text = screen(&a);
    assert!(a.grid_top() > 0, "a problem strip");
    problems_named_or_counted(&a, &text);
    insta::assert_snapshot!(text);
}

#[test]
fn problems_first_200x50() {
    let a = app(3000, 200, 50);
    let text = screen(&a);
    assert!(a.grid_top() > 0, "a problem strip");
    assert_eq!(a.problems_off_screen(), 0, "every problem fits the strip");
    problems_named_or_counted(&a, &text);
    insta::assert_snapshot!(text);
}

#[test]
fn problems_first_400x100() {
    let a = app(10_000, 400, 100);
    let text = screen(&a);
    assert_eq!(a.problems_off_screen(), 0);
    problems_named_or_counted(&a, &text);
    insta::assert_snapshot!(text);
}

#[test]
fn map_80x24() {
    let a = map_app(300, 80, 24);
    let text = screen(&a);
    problems_named_or_counted(&a, &text);
    insta::assert_snapshot!(text);
}

#[test]
fn map_200x50() {
    let a = map_app(1000, 200, 50);
    assert_eq!(a.shown_on_screen(), 1000);
    let text = screen(&a);
    problems_named_or_counted(&a, &text);
    insta::assert_snapshot!(text);
}

#[test]
fn map_400x100() {
    let a = map_app(10_000, 400, 100);
    assert_eq!(a.shown_on_screen(), 10_000);
    let text = screen(&a);
    problems_named_or_counted(&a, &text);
    insta::assert_snapshot!(text);
}

#[test]
fn first_screen_names_four_times_as_many_hosts() {
    // The band layout named 30 hosts of 1,000 at 200x50 and 60 of 10,000 at 400x100.
    for (n, w, h, before) in [(1000, 200, 50, 30), (10_000, 400, 100, 60)] {
        let a = app(n, w, h);
        let named = names_on_screen(&a.fleet, &screen(&a));
        assert!(named >= 4 * before, "{n} hosts at {w}x{h}: {named} named");
    }
}

/// Checks every map cell in view: its symbol is its host's, its style the theme's tile
/// style for that health (reversed when selected).
fn cells_match(a: &App) {
    let buf = render(a);
    let v = a.view();
    let l = &v.layout;
    let top = 1u16; // the header row
    let mut seen = [0usize; Health::ALL.len()];
    for &k in &l.order[l.first_visible(a.grid.scroll)..] {
        let t = l.tiles[k];
        if t.y >= a.grid.scroll + u32::from(a.canvas_height()) {
            break;
        }
        let host = &a.fleet.hosts[v.hosts[t.host]];
        let cell = &buf[(t.x, top + u16::try_from(t.y - a.grid.scroll).unwrap())];
        let want = a.theme.health(host.health);
        let selected = a.grid.selected.as_ref() == Some(&host.id);
        assert_eq!(
            cell.symbol(),
            fleetboard::ui::symbol(host.health),
            "{}",
            host.id.name
        );
        if !selected {
            assert_eq!(cell.fg, want.fg.unwrap_or(ratatui::style::Color::Reset));
            assert_eq!(cell.bg, want.bg.unwrap_or(ratatui::style::Color::Reset));
        } else {
            assert!(cell.modifier.contains(ratatui::style::Modifier::REVERSED));
        }
        seen[Health::ALL.iter().position(|h| *h == host.health).unwrap()] += 1;
    }
    assert!(seen.iter().filter(|&&n| n > 0).count() >= 3, "{seen:?}");
}

#[test]
fn map_cells_take_the_theme_colour_and_symbol_of_their_health() {
    for name in ["default", "light", "high-contrast", "colorblind"] {
        let mut a = map_app(1000, 200, 50);
        a.theme = Theme::builtin(name).unwrap();
        cells_match(&a);
        // States stay apart by colour too: the OK and CRIT cells differ.
        let ok = a.theme.health(Health::Ok);
        let crit = a.theme.health(Health::Crit);
        assert_ne!((ok.fg, ok.bg), (crit.fg, crit.bg), "{name}");
    }
}

#[test]
fn map_reads_without_colour_and_in_ascii() {
    let mut a = map_app(1000, 200, 50);
    a.theme = Theme::default().without_colour();
    cells_match(&a);
    let buf = render(&a);
    assert!(buf
        .content
        .iter()
        .all(|c| c.fg == ratatui::style::Color::Reset || c.fg == ratatui::style::Color::default()));
    a.ascii = true;
    let text = screen(&a);
    assert!(text.is_ascii());
    // Each state keeps its own ASCII symbol in the cells: down, crit, warn and ok.
    let first_row: &str = text.lines().nth(1).unwrap();
    for sym in ["v", "X", "+"] {
        assert!(first_row.contains(sym), "{sym} in {first_row}");
    }
}

#[test]
fn topology_popup_draws_the_tree() {
    let mut a = app(30, 120, 40);
    a.update(Action::Board(BoardAction::OpenTopology));
    let text = screen(&a);
    let t = a.topology.as_ref().unwrap();
    assert!(text.contains(&format!("topology: {}", t.cluster)), "{text}");
    assert!(text.contains("primary"), "{text}");
    assert!(text.contains("└─ "), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn postgres_topology_speaks_of_streaming_not_threads() {
    // The demo fleet as `--demo` reads it: the mixed preset.
    let set = std::sync::Arc::new(fleetboard::fleet::metrics::mixed_preset(
        "instance", "cluster",
    ));
    let keys = set.metrics.iter().map(|m| m.key.clone()).collect();
    let src = fleetboard::sources::demo::DemoSource::new(keys, "instance", "cluster");
    let mut m = fleetboard::poller::Merger::new(
        set,
        fleetboard::model::Identity::default(),
        std::time::Duration::from_secs(3600),
    );
    let at = fleetboard::testing::fixed_time();
    let fleet = m
        .merge(src.poll_at(&fleetboard::sources::PollRequest::default(), at))
        .0
        .map(std::sync::Arc::unwrap_or_clone)
        .unwrap();
    let mut a = fleetboard::testing::app_with(fleet, 120, 40, at);
    let pg = a
        .fleet
        .hosts
        .iter()
        .find(|h| h.engine == Some(fleetboard::model::Engine::Postgres))
        .map(|h| h.id.clone())
        .expect("the demo has a PostgreSQL cluster");
    a.grid.selected = Some(pg);
    a.update(Action::Board(BoardAction::OpenTopology));
    let text = screen(&a);
    assert!(text.contains("streaming ✓"), "{text}");
    assert!(!text.contains(" io "), "{text}");
}

#[test]
fn the_selected_topology_row_is_drawn_in_the_selection_colours() {
    let mut a = app(30, 120, 40);
    a.update(Action::Board(BoardAction::OpenTopology));
    let name = a.grid.selected.clone().expect("a selected host").name;
    let buf = fleetboard::testing::render(&a);
    let sel = a.theme.selected();
    let area = buf.area;
    let row = (area.y..area.bottom())
        .find(|&y| {
            let line: String = (area.x..area.right())
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect();
            line.contains(&name)
                && ["primary", "replica", "unknown"]
                    .iter()
                    .any(|r| line.contains(r))
        })
        .expect("the selected row is on screen");
    // every cell from the host name on has the selection's colours, whatever its span said
    let start = (area.x..area.right())
        .find(|&x| {
            buf[(x, row)].symbol() == &name[..1] && {
                let s: String = (x..x + u16::try_from(name.len()).unwrap())
                    .map(|x| buf[(x, row)].symbol().to_string())
                    .collect();
                s == name
            }
        })
        .unwrap();
    for x in start..start + u16::try_from(name.len()).unwrap() + 10 {
        let c = &buf[(x, row)];
        assert_eq!(Some(c.fg), sel.fg, "fg at {x}: {c:?}");
        assert_eq!(Some(c.bg), sel.bg, "bg at {x}: {c:?}");
    }
}
