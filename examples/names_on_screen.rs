//! Prints how many hosts the first screen names (readable host names) and shows (a tile
//! or map cell) for synthetic fleets of clusters of three, at the sizes of the README's
//! table: `cargo run --release --example names_on_screen [-- N WxH ...]`; `MAP=1` for the
//! map, `SHOW=1` prints the screens.
use fleetboard::testing::{
    app_with, buffer_text, fixed_time, names_on_screen, render, synthetic_fleet,
};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cases: Vec<(usize, u16, u16)> = if args.is_empty() {
        vec![(1000, 200, 50), (5000, 400, 100), (10_000, 400, 100)]
    } else {
        args.chunks(2)
            .filter_map(|c| {
                let n = c.first()?.parse().ok()?;
                let (w, h) = c.get(1)?.split_once('x')?;
                Some((n, w.parse().ok()?, h.parse().ok()?))
            })
            .collect()
    };
    for (n, w, h) in cases {
        let fleet = synthetic_fleet(n);
        let problems = fleet
            .hosts
            .iter()
            .filter(|h| h.health != fleetboard::model::Health::Ok)
            .count();
        let mut app = app_with(fleet.clone(), w, h, fixed_time());
        if std::env::var_os("MAP").is_some() {
            app.update(fleetboard::action::Action::Board(
                fleetboard::app::map::BoardAction::ToggleMap,
            ));
        }
        let text = buffer_text(&render(&app));
        if std::env::var_os("SHOW").is_some() {
            println!("{text}");
        }
        let named = names_on_screen(&fleet, &text);
        let shown = app.shown_on_screen();
        println!(
            "{n} hosts at {w}x{h}: named {named}, shown {shown}, problems {problems} (named among them: {})",
            names_on_screen(
                &fleetboard::model::Fleet {
                    hosts: fleet
                        .hosts
                        .iter()
                        .filter(|h| h.health != fleetboard::model::Health::Ok)
                        .cloned()
                        .collect(),
                    ..fleetboard::model::Fleet::default()
                },
                &text
            )
        );
    }
}
