//! Fixed, deterministic fleets for tests, benchmarks and screenshots.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use crate::action::Action;
use crate::app::App;
use crate::fleet::metrics::mysql_preset;
use crate::model::Update;
use crate::model::{Fleet, Identity};
use crate::poller::Merger;
use crate::sources::demo::DemoSource;
use crate::sources::PollRequest;
use crate::theme::Theme;

/// 2026-11-24 03:14:00 UTC: the moment every fixed screen shows.
pub fn fixed_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 3, 14, 0)
        .single()
        .unwrap_or_default()
}

/// The demo fleet at `at`, merged into hosts.
pub fn demo_fleet(at: DateTime<Utc>) -> Fleet {
    let set = Arc::new(mysql_preset("instance", "cluster"));
    let keys = set.metrics.iter().map(|m| m.key.clone()).collect();
    let src = DemoSource::new(keys, "instance", "cluster");
    let mut m = Merger::new(set, Identity::default(), Duration::from_secs(3600));
    m.merge(src.poll_at(&PollRequest::default(), at))
        .0
        .map(Arc::unwrap_or_clone)
        .unwrap_or_default()
}

/// The synthetic fleet of `n` hosts (clusters of three, a fixed share in trouble) after
/// its first refresh at the fixed time: the shape of a real MySQL fleet at scale.
pub fn synthetic_fleet(n: usize) -> Fleet {
    let set = Arc::new(mysql_preset("instance", "cluster"));
    let keys = set.metrics.iter().map(|m| m.key.clone()).collect();
    let src = crate::sources::synthetic::SyntheticSource::new(n, keys);
    let mut m = Merger::new(set, Identity::default(), Duration::from_secs(3600));
    m.merge(src.poll_gen(&PollRequest::default(), fixed_time(), 0))
        .0
        .map(Arc::unwrap_or_clone)
        .unwrap_or_default()
}

/// Host names readable on a rendered screen, each counted once: a name counts when it
/// appears whole (not followed by more of a name), as a tile title or a problem entry.
pub fn names_on_screen(fleet: &Fleet, screen: &str) -> usize {
    let mut n = 0;
    for h in &fleet.hosts {
        let name = h.id.name.as_str();
        let whole = screen.match_indices(name).any(|(i, _)| {
            screen[i + name.len()..]
                .chars()
                .next()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '-' || c == '_'))
        });
        n += usize::from(whole);
    }
    n
}

/// An app of the given size showing `fleet`, as if the refresh arrived at `at`.
pub fn app_with(fleet: Fleet, width: u16, height: u16, at: DateTime<Utc>) -> App {
    let set = Arc::new(mysql_preset("instance", "cluster"));
    let mut app = App::new(set, Theme::default(), Duration::from_secs(5), 3);
    app.prom.name = "http://prometheus:9090".into();
    app.update(Action::Resize(width, height));
    refresh(&mut app, fleet, at, None);
    app
}

/// A refresh of `fleet` arriving at `at` (the clock first moved there), with the metrics
/// source's error when it failed in part.
pub fn refresh(
    app: &mut App,
    fleet: Fleet,
    at: DateTime<Utc>,
    error: Option<crate::model::SourceError>,
) {
    app.update(Action::Tick(at));
    app.update(Action::Data(Box::new(Update {
        received_at: at,
        fleet: Some(fleet.into()),
        prom_error: error,
        alert_sources: vec![("http://alertmanager:9093".into(), None)],
        next_in: Duration::from_secs(5),
    })));
}

/// The demo fleet at the fixed time in an app of the given size.
pub fn demo_app(width: u16, height: u16) -> App {
    app_with(demo_fleet(fixed_time()), width, height, fixed_time())
}

/// Renders the app into a buffer of its size, as the runtime draws a full frame.
pub fn render(app: &App) -> ratatui::buffer::Buffer {
    draw(app, None)
}

/// The header and status bar drawn over `kept` (a frame [`render`] drew), as the runtime
/// draws when the app's body count has not moved since.
pub fn render_chrome_over(app: &App, kept: &ratatui::buffer::Buffer) -> ratatui::buffer::Buffer {
    draw(app, Some(kept))
}

fn draw(app: &App, kept: Option<&ratatui::buffer::Buffer>) -> ratatui::buffer::Buffer {
    let backend = ratatui::backend::TestBackend::new(app.width, app.height);
    let mut t = ratatui::Terminal::new(backend).unwrap_or_else(|e| panic!("test terminal: {e}"));
    let _ = t.draw(|f| {
        crate::ui::draw(f, app, kept);
    });
    t.backend().buffer().clone()
}

/// A buffer as plain text, one line per row, trailing spaces kept.
pub fn buffer_text(b: &ratatui::buffer::Buffer) -> String {
    let mut s = String::new();
    for y in 0..b.area.height {
        let mut skip = 0usize;
        for x in 0..b.area.width {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let sym = b[(x, y)].symbol();
            s.push_str(sym);
            skip = unicode_width::UnicodeWidthStr::width(sym).saturating_sub(1);
        }
        s.push('\n');
    }
    s
}

/// Answers the chart queries in `cmds` from the demo fleet, as the runtime would.
pub fn answer_history(app: &mut App, cmds: Vec<crate::app::Command>) {
    let set = mysql_preset("instance", "cluster");
    let keys = set.metrics.iter().map(|m| m.key.clone()).collect();
    let src = DemoSource::new(keys, "instance", "cluster");
    for c in cmds {
        if let crate::app::Command::FetchHistory(fetches) = c {
            for f in fetches {
                let dir = set
                    .get(&f.key.metric)
                    .map_or(crate::model::Direction::Higher, |m| m.direction);
                let pts = crate::app::history::points_of(
                    src.range_at(&f.req),
                    f.filter_host.as_ref(),
                    &f.aliases,
                    &f.heartbeat_from,
                    dir,
                );
                #[allow(clippy::cast_precision_loss)]
                let r = Ok((
                    pts,
                    f.req.start.timestamp() as f64,
                    f.req.end.timestamp() as f64,
                    f.req.step.as_secs_f64(),
                ));
                app.update(Action::History(f.key, r));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::SparkQuery;

    #[test]
    fn demo_sparklines_reach_the_hosts() {
        let set = Arc::new(mysql_preset("instance", "cluster"));
        let keys = set.metrics.iter().map(|m| m.key.clone()).collect();
        let src = DemoSource::new(keys, "instance", "cluster");
        let sq = SparkQuery {
            metric: "lag".into(),
            expr: String::new(),
            window: Duration::from_secs(900),
            step: Duration::from_secs(30),
        };
        let req = PollRequest {
            sparkline: Some(sq.clone()),
            ..PollRequest::default()
        };
        let mut m = Merger::new(set, Identity::default(), Duration::from_secs(3600));
        m.sparkline = Some(sq);
        let f = m
            .merge(src.poll_at(&req, fixed_time()))
            .0
            .unwrap_or_default();
        let h = f
            .hosts
            .iter()
            .find(|h| h.id.name == "orders-db07")
            .expect("host");
        assert_eq!(h.spark.len(), 31);
        assert!(
            h.spark.iter().filter(|v| v.is_finite()).count() > 25,
            "{:?}",
            h.spark
        );
        let p = f
            .hosts
            .iter()
            .find(|h| h.id.name == "orders-db01")
            .expect("primary");
        assert!(p.spark.is_empty(), "a primary has no lag history");
    }
}
