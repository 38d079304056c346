//! Header line: title, counts per health state, cluster and text filter, sort, STALE.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::App;
use crate::model::{Health, SourceStatus};
use crate::sanitize;

/// What is wrong with the sources and the monitoring behind them, shortest first: a source
/// that failed or answered partially, a metric that failed for a whole source, the
/// monitoring's own problems.
pub fn source_problems(sources: &[SourceStatus]) -> Vec<String> {
    let named = sources.len() > 1;
    let who = |s: &SourceStatus| {
        if named {
            format!("{}: ", s.name)
        } else {
            String::new()
        }
    };
    let mut out = Vec::new();
    for s in sources {
        if let Some(e) = &s.error {
            out.push(format!("✖ source {} down: {e}", s.name));
        } else if let Some(p) = s.partial.first() {
            out.push(format!("{} {}PARTIAL: {p}", super::STALE_SYMBOL, who(s)));
        }
        for (k, e) in &s.metric_errors {
            out.push(format!("✖ {}{k} failed: {e}", who(s)));
        }
        if let Some(m) = &s.monitoring {
            for p in m.problems() {
                out.push(format!("▲ {}{p}", who(s)));
            }
        }
    }
    out
}

/// The one-line header: counts by health, hosts shown, filters, replay time, STALE, sort.
pub fn render(f: &mut Frame<'_>, area: Rect, app: &App) {
    let t = &app.theme;
    let hs = t.header();
    let mut spans = vec![Span::styled(" fleetboard ", hs)];
    // Replay and staleness come first: they change how everything else is read.
    if let Some(at) = app.replay {
        spans.push(Span::styled(
            format!(" ◀◀ REPLAY {} UTC ", at.format("%Y-%m-%d %H:%M:%S")),
            t.replay(),
        ));
        spans.push(Span::raw(" "));
    }
    if app.is_stale() {
        let age = app.data_age().map_or_else(
            || "no data".to_string(),
            |a| format!("{} old", super::ago(a)),
        );
        spans.push(Span::styled(
            format!(" {} STALE {age} ", super::STALE_SYMBOL),
            t.error(),
        ));
    }
    if app.is_stale() {
        spans.push(Span::raw(" "));
    }
    // The alerting pipeline being broken is the loudest thing on the screen: a green board
    // means nothing while alerts cannot reach anyone.
    if let Some(d) = app.fleet.dead_mans_switch.as_ref().filter(|d| d.broken()) {
        spans.push(Span::styled(format!(" ✖ {} ", d.message()), t.error()));
    }
    // Problems the screen does not name (strip, list and tiles all full): first, so a
    // narrow header never cuts it off.
    let off = app.problems_off_screen();
    if off > 0 {
        spans.push(Span::styled(
            format!(" {off} problems off screen "),
            t.error(),
        ));
        spans.push(Span::raw(" "));
    }
    // Alerts about a cluster as a whole are no host's: counted apart, each cluster once.
    let clusters: Vec<_> = app
        .fleet
        .cluster_alerts
        .iter()
        .filter(|(c, _)| app.grid.cluster.as_ref().is_none_or(|f| f == *c))
        .collect();
    if let Some(worst) = clusters.iter().map(|(_, c)| c.health).max() {
        let one = clusters.first().filter(|_| clusters.len() == 1);
        let text = match one {
            Some((c, a)) => format!(
                " {} cluster {}: {} ",
                super::symbol(worst),
                sanitize::fit(c, 24),
                sanitize::fit(&a.names.join(", "), 40)
            ),
            None => format!(
                " {} {} clusters alerting ",
                super::symbol(worst),
                clusters.len()
            ),
        };
        spans.push(Span::styled(text, t.health_text(worst)));
    }
    let counts = app.visible_counts();
    for (i, h) in Health::ALL.iter().enumerate() {
        let n = counts[i];
        if n == 0 && !matches!(h, Health::Ok) {
            continue;
        }
        let style = if n > 0 { t.health_text(*h) } else { t.dim() };
        spans.push(Span::raw(" "));
        spans.push(Span::styled(
            format!("{}{} {}", super::symbol(*h), n, h.as_str()),
            style,
        ));
    }
    let total: usize = counts.iter().sum();
    spans.push(Span::styled(format!("  {total} hosts"), t.dim()));

    for p in source_problems(&app.fleet.sources) {
        spans.push(Span::styled(
            format!("  {}", sanitize::fit(&p, 60)),
            t.error(),
        ));
    }
    if let Some(c) = &app.grid.cluster {
        spans.push(Span::styled("  cluster ", t.dim()));
        spans.push(Span::styled(sanitize::fit(c, 24), t.title()));
    }
    let editing = app.grid.filter_edit.is_some();
    let filt = app.grid.filter_edit.as_deref().unwrap_or(&app.grid.filter);
    if editing || !filt.is_empty() {
        spans.push(Span::styled("  filter ", t.dim()));
        let cursor = if editing { "▏" } else { "" };
        spans.push(Span::styled(
            format!("/{}{cursor}", sanitize::fit(filt, 30)),
            t.key(),
        ));
    }
    spans.push(Span::styled(
        format!("  sort {}", app.grid.sort.as_str()),
        t.dim(),
    ));
    f.render_widget(Paragraph::new(Line::from(spans)).style(t.text()), area);
}

/// The wall header: three rows with counts, freshness and page on the left and a big
/// clock on the right, readable from across the room.
pub fn render_wall(f: &mut Frame<'_>, area: Rect, app: &App) {
    let t = &app.theme;
    let clock = app.now.format("%H:%M").to_string();
    let bw = super::bigtext::width(&clock).unwrap_or(0);
    let cw = bw + 5;
    let left_w = area.width.saturating_sub(cw);
    let row = |i: u16| Rect::new(area.x, area.y + i, left_w, 1);
    // Row 0: the usual header line (counts, filters, replay, STALE).
    render(f, row(0), app);
    // Row 1: freshness, in words.
    let fresh = match (app.is_stale(), app.data_age()) {
        (true, age) => Span::styled(
            format!(
                " {} STALE: data {} old — {}",
                super::STALE_SYMBOL,
                age.map_or_else(|| "never loaded".into(), super::ago),
                app.prom
                    .error
                    .as_deref()
                    .map_or_else(String::new, |e| crate::sanitize::fit(e, 80))
            ),
            t.error(),
        ),
        (false, Some(age)) if app.is_late(&app.prom) => Span::styled(
            format!(
                " data {} old · refresh every {}",
                super::ago(age),
                humantime::format_duration(app.refresh)
            ),
            t.dim(),
        ),
        (false, Some(_)) => Span::styled(
            format!(
                " data of {} · refresh every {}",
                app.prom
                    .last_ok
                    .map(|t| t.format("%H:%M:%S").to_string())
                    .unwrap_or_default(),
                humantime::format_duration(app.refresh)
            ),
            t.dim(),
        ),
        (false, None) => Span::styled(" waiting for the first refresh…", t.dim()),
    };
    f.render_widget(Paragraph::new(Line::from(fresh)), row(1));
    // Row 2: page and what is hidden.
    let mut spans = Vec::new();
    if app.wall.pages > 1 {
        spans.push(Span::styled(
            format!(" page {}/{} ", app.wall.page + 1, app.wall.pages),
            t.header(),
        ));
        spans.push(Span::styled(
            format!(
                " next in {}s",
                app.wall.page_every.as_secs().saturating_sub(
                    (app.now - app.wall.page_flipped_at)
                        .num_seconds()
                        .max(0)
                        .unsigned_abs()
                )
            ),
            t.dim(),
        ));
    }
    if app.grid.only_problems {
        spans.push(Span::styled(
            format!("  only problems: {} OK hidden", app.grid.hidden_ok),
            t.dim(),
        ));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), row(2));
    let buf = f.buffer_mut();
    let x = area.x + left_w;
    if super::bigtext::draw(buf, x, area.y, cw, &clock, t.title()).is_some() {
        buf.set_string(x + bw + 1, area.y + 2, "UTC", t.dim());
    }
}
