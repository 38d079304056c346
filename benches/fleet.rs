//! The board at fleet scale, with no server: parsing a 10,000-series answer, merging a
//! refresh into hosts, rebuilding the view, drawing a frame, and the diff of a frame in
//! which 1 % of the visible tiles changed. `cargo bench` runs them all (a few minutes);
//! `cargo bench -- render` runs a subset. Figures go to the README's Performance section.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::Cell;
use std::hint::black_box;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use ratatui::backend::{CrosstermBackend, TestBackend};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

use fleetboard::action::Action;
use fleetboard::app::App;
use fleetboard::fleet::metrics::mysql_preset;
use fleetboard::model::{Fleet, Identity, MetricSet};
use fleetboard::poller::Merger;
use fleetboard::sources::prometheus::parse_instant;
use fleetboard::sources::synthetic::SyntheticSource;
use fleetboard::sources::{PollRequest, PollResult};
use fleetboard::testing::{app_with, fixed_time};

fn set() -> Arc<MetricSet> {
    Arc::new(mysql_preset("instance", "cluster"))
}

fn source(n: usize) -> SyntheticSource {
    let keys = set().metrics.iter().map(|m| m.key.clone()).collect();
    SyntheticSource::new(n, keys)
}

fn at(gen: u64) -> DateTime<Utc> {
    fixed_time() + chrono::Duration::seconds(i64::try_from(gen).unwrap_or(0) * 10)
}

fn poll(src: &SyntheticSource, gen: u64) -> PollResult {
    src.poll_gen(&PollRequest::default(), at(gen), gen)
}

/// The fleet after refresh `gen` (with refresh `gen - 1` as its previous state).
fn fleet(src: &SyntheticSource, gen: u64) -> Fleet {
    let mut m = Merger::new(set(), Identity::default(), Duration::from_secs(3600));
    if gen > 0 {
        let _ = m.merge(poll(src, gen - 1));
    }
    std::sync::Arc::unwrap_or_clone(m.merge(poll(src, gen)).0.unwrap())
}

fn render_into(app: &App, term: &mut Terminal<TestBackend>) {
    term.draw(|f| {
        fleetboard::ui::draw(f, app, None);
    })
    .unwrap();
}

fn buffer(app: &App) -> Buffer {
    let mut t = Terminal::new(TestBackend::new(app.width, app.height)).unwrap();
    render_into(app, &mut t);
    t.backend().buffer().clone()
}

/// Counts what the backend writes to the terminal.
#[derive(Clone, Default)]
struct Count(Rc<Cell<usize>>);

impl std::io::Write for Count {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.set(self.0.get() + b.len());
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Bytes the real backend writes for a frame after `before` was on screen.
fn bytes_written(before: &App, after: &App) -> usize {
    let area = Rect::new(0, 0, before.width, before.height);
    let opts = TerminalOptions {
        viewport: Viewport::Fixed(area),
    };
    let count = Count::default();
    let mut t = Terminal::with_options(CrosstermBackend::new(count.clone()), opts).unwrap();
    for app in [before, after] {
        count.0.set(0);
        t.draw(|f| {
            fleetboard::ui::draw(f, app, None);
        })
        .unwrap();
    }
    count.0.get()
}

fn parse(c: &mut Criterion) {
    let src = source(10_000);
    let up = src.instant_body("up", 0, 1_795_554_331.174);
    let lag = src.instant_body("lag", 0, 1_795_554_331.174);
    let mut g = c.benchmark_group("parse");
    eprintln!(
        "parse: up body {} KB ({} series), lag body {} KB ({} series)",
        up.len() / 1024,
        parse_instant(up.as_bytes()).unwrap().len(),
        lag.len() / 1024,
        parse_instant(lag.as_bytes()).unwrap().len()
    );
    g.bench_function("instant mysql_up 10k series", |b| {
        b.iter(|| parse_instant(black_box(up.as_bytes())).unwrap());
    });
    g.bench_function("instant slave_status lag 10k hosts", |b| {
        b.iter(|| parse_instant(black_box(lag.as_bytes())).unwrap());
    });
    g.finish();
}

fn merge(c: &mut Criterion) {
    let src = source(10_000);
    let set = set();
    let ident = Identity::default();
    let prev = fleet(&src, 0);
    let r = poll(&src, 1);
    let mut g = c.benchmark_group("merge");
    g.bench_function("fleet::build 10k hosts", |b| {
        let results = r.metrics.as_ref().unwrap();
        let alerts = r.alerts.as_ref().unwrap().alerts.clone();
        b.iter(|| {
            let input = fleetboard::fleet::BuildInput {
                results,
                alerts: &alerts,
                taken_at: Some(r.taken_at),
                forget_after: Some(chrono::Duration::hours(1)),
                sources: &[],
            };
            fleetboard::fleet::build(&set, &ident, &input, Some(black_box(&prev)))
        });
    });
    g.bench_function("poller merge (build + keep) 10k hosts", |b| {
        b.iter_batched(
            || {
                let mut m = Merger::new(set.clone(), ident.clone(), Duration::from_secs(3600));
                let _ = m.merge(poll(&src, 0));
                (m, poll(&src, 1))
            },
            |(mut m, r)| m.merge(r),
            BatchSize::LargeInput,
        );
    });
    g.finish();
}

fn view(c: &mut Criterion) {
    let src = source(10_000);
    let f = fleet(&src, 1);
    let mut app = app_with(f, 600, 200, at(1));
    let mut g = c.benchmark_group("view");
    g.bench_function("rebuild_view 10k hosts", |b| b.iter(|| app.rebuild_view()));
    g.bench_function("key: move right, 10k hosts", |b| {
        b.iter(|| {
            app.update(Action::Move(1, 0));
            app.update(Action::Move(-1, 0));
        });
    });
    g.bench_function("key: move down, 10k hosts", |b| {
        b.iter(|| {
            app.update(Action::Move(0, 1));
            app.update(Action::Move(0, -1));
        });
    });
    g.bench_function("key: filter char + backspace, 10k hosts", |b| {
        app.update(Action::StartFilter);
        b.iter(|| {
            app.update(Action::FilterChar('3'));
            app.update(Action::FilterBackspace);
        });
        app.update(Action::Back);
    });
    let next = fleet(&src, 2);
    g.bench_function("apply a refresh (Data action) 10k hosts", |b| {
        b.iter_batched(
            || next.clone(),
            |f| {
                app.update(Action::Data(Box::new(fleetboard::model::Update {
                    received_at: at(2),
                    fleet: Some(f.into()),
                    prom_error: None,
                    alert_sources: Vec::new(),
                    next_in: Duration::from_secs(10),
                })));
            },
            BatchSize::LargeInput,
        );
    });
    g.finish();
}

fn render(c: &mut Criterion) {
    let mut g = c.benchmark_group("render");
    for (n, w, h) in [(5_000usize, 400u16, 100u16), (10_000, 600, 200)] {
        let src = source(n);
        let app = app_with(fleet(&src, 1), w, h, at(1));
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        render_into(&app, &mut term);
        let name = format!("frame {w}x{h}, {n} hosts (layout, draw, diff, flush)");
        g.bench_function(name, |b| b.iter(|| render_into(&app, &mut term)));
    }
    g.finish();
}

/// `fleet` with every `step`-th host visible in `app` changed (its load moves by 1.23, which
/// every tile shows): the frame a refresh brings when servers on screen move.
fn with_visible_changed(app: &App, fleet: &Fleet, step: usize) -> Fleet {
    let text: String = buffer(app).content().iter().map(|c| c.symbol()).collect();
    let visible: Vec<usize> = app
        .view()
        .hosts
        .iter()
        .copied()
        .filter(|&i| text.contains(fleet.hosts[i].id.name.as_str()))
        .collect();
    let load = app.metrics.index("load").unwrap();
    let mut out = fleet.clone();
    for &i in visible.iter().step_by(step) {
        let r = &mut out.hosts[i].readings[load];
        r.value = Some(r.value.unwrap_or(0.0) + 1.23);
    }
    eprintln!(
        "{} of {} hosts visible, {} changed",
        visible.len(),
        fleet.hosts.len(),
        visible.len().div_ceil(step)
    );
    out
}

fn diff(c: &mut Criterion) {
    let mut g = c.benchmark_group("diff");
    for (n, w, h) in [(5_000usize, 400u16, 100u16), (10_000, 600, 200)] {
        let src = source(n);
        let f1 = fleet(&src, 1);
        let a1 = app_with(f1.clone(), w, h, at(1));
        let a2 = app_with(with_visible_changed(&a1, &f1, 100), w, h, at(1));
        let all = app_with(with_visible_changed(&a1, &f1, 1), w, h, at(1));
        let (b1, b2) = (buffer(&a1), buffer(&a2));
        let cells = b1.diff(&b2).len();
        let same = bytes_written(&a1, &a1);
        let changed = bytes_written(&a1, &a2);
        let every = bytes_written(&a1, &all);
        eprintln!(
            "diff {w}x{h}, {n} hosts, 1% of visible tiles changed: {cells} cells differ; bytes written: {same} unchanged, {changed} with 1% changed, {every} with every visible tile changed (full frame {} cells)",
            usize::from(w) * usize::from(h)
        );
        g.bench_function(
            format!("Buffer::diff {w}x{h}, 1% of visible tiles changed"),
            |b| {
                b.iter(|| black_box(&b1).diff(black_box(&b2)).len());
            },
        );
    }
    g.finish();
}

/// Past 10,000 hosts: merging a refresh, rebuilding the view (packed tiles, map) and
/// drawing a frame of the map and of the packed grid, at 50,000 hosts on 400x100.
fn scale(c: &mut Criterion) {
    let n = 50_000;
    let src = source(n);
    let f = fleet(&src, 1);
    let mut g = c.benchmark_group("scale");
    g.bench_function("poller merge (build + keep) 50k hosts", |b| {
        b.iter_batched(
            || {
                let mut m = Merger::new(set(), Identity::default(), Duration::from_secs(3600));
                let _ = m.merge(poll(&src, 0));
                (m, poll(&src, 1))
            },
            |(mut m, r)| m.merge(r),
            BatchSize::LargeInput,
        );
    });
    let (w, h) = (400u16, 100u16);
    let mut tiles = app_with(f.clone(), w, h, at(1));
    let mut map = app_with(f, w, h, at(1));
    map.update(Action::Board(fleetboard::app::map::BoardAction::ToggleMap));
    eprintln!(
        "scale: {n} hosts at {w}x{h}: packed tiles show {}, the map {}",
        tiles.shown_on_screen(),
        map.shown_on_screen()
    );
    g.bench_function("rebuild_view 50k hosts, packed", |b| {
        b.iter(|| tiles.rebuild_view());
    });
    g.bench_function("rebuild_view 50k hosts, map", |b| {
        b.iter(|| map.rebuild_view())
    });
    for (name, app) in [("map", &map), ("packed grid", &tiles)] {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        render_into(app, &mut term);
        g.bench_function(
            format!("{name} frame {w}x{h}, {n} hosts (draw, diff, flush)"),
            |b| b.iter(|| render_into(app, &mut term)),
        );
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = parse, merge, view, render, diff, scale
}
criterion_main!(benches);
