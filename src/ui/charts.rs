//! History charts of the host panel: one per metric, with warning and critical lines.
//! Gaps (missing samples, NaN, ±Inf) are drawn as gaps, never as zero.

use chrono::{DateTime, TimeZone, Utc};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, Paragraph};
use ratatui::Frame;

use crate::app::history::{runs, WINDOWS};
use crate::app::App;
use crate::model::format::format_value;
use crate::model::MetricDef;
use crate::model::{Health, HostId};

fn hhmm(t: f64, long: bool) -> String {
    #[allow(clippy::cast_possible_truncation)]
    let dt: Option<DateTime<Utc>> = Utc.timestamp_opt(t as i64, 0).single();
    dt.map(|d| {
        d.format(if long { "%m-%d %H:%M" } else { "%H:%M" })
            .to_string()
    })
    .unwrap_or_default()
}

/// One history chart in the host panel: metric `def` of `host` over the panel's window, from
/// the history cache (a note while it loads or when the query failed), with the metric's
/// thresholds drawn as lines.
pub fn render(f: &mut Frame<'_>, area: Rect, app: &App, host: &HostId, def: &MetricDef) {
    let t = &app.theme;
    let win = WINDOWS[app.panel.window.min(WINDOWS.len() - 1)].0;
    let key = app.history_key(host, &def.key);
    let entry = app.panel.history.get(&key);
    let mut title = vec![
        Span::styled(format!(" {} ", def.label), t.title()),
        Span::styled(format!("{win} "), t.dim()),
    ];
    if entry.is_some_and(|e| e.loading) {
        title.push(Span::styled("… ", t.dim()));
    }
    // postgres_exporter's lag reads 0 on a replica that receives nothing: its history
    // cannot show the break, so the chart says so
    let cut = app.fleet.find(host).is_some_and(|h| {
        h.engine == Some(crate::model::Engine::Postgres)
            && h.replication
                .as_ref()
                .is_some_and(|r| r.streaming == Some(false))
    });
    if cut && def.signal == Some(crate::model::Signal::ReplicationLag) {
        title.push(Span::styled(
            "exporter reads 0 while not streaming ",
            t.error(),
        ));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border(false))
        .title(Line::from(title));
    let Some(e) = entry.filter(|e| e.loaded) else {
        let msg = match entry.and_then(|e| e.error.as_deref()) {
            Some(err) => Line::styled(
                crate::sanitize::fit(err, usize::from(area.width.saturating_sub(2)) * 2),
                t.error(),
            ),
            None => Line::styled("loading…", t.dim()),
        };
        f.render_widget(
            Paragraph::new(msg)
                .block(block)
                .wrap(ratatui::widgets::Wrap { trim: true }),
            area,
        );
        return;
    };
    let segs = runs(&e.points, e.step.max(1.0));
    let finite = segs.iter().flatten().map(|p| p.1);
    let (mut lo, mut hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if !lo.is_finite() {
        let msg = match &e.error {
            Some(err) => Line::styled(crate::sanitize::fit(err, 200), t.error()),
            None => Line::styled("no data in this window", t.dim()),
        };
        f.render_widget(Paragraph::new(msg).block(block), area);
        return;
    }
    lo = lo.min(0.0);
    // Thresholds widen the axis only when the data comes near them, so a flat 0 s lag
    // is not squashed by a 300 s critical line.
    let (warn, crit) = app
        .fleet
        .find(host)
        .zip(app.metrics.index(&def.key))
        .map_or((def.warn, def.crit), |(h, i)| h.thresholds(&app.metrics, i));
    for th in [warn, crit].into_iter().flatten() {
        if th.is_finite() && hi >= th * 0.5 {
            hi = hi.max(th * 1.05);
        }
    }
    if hi <= lo {
        hi = lo + 1.0;
    }
    let data: Vec<Vec<(f64, f64)>> = segs;
    let line = |p: &[(f64, f64)]| -> Vec<(f64, f64)> { p.to_vec() };
    let mut threshold_points = Vec::new();
    for (th, h) in [(warn, Health::Warn), (crit, Health::Crit)] {
        if let Some(v) = th.filter(|v| v.is_finite() && *v >= lo && *v <= hi) {
            threshold_points.push((vec![(e.start, v), (e.end, v)], h));
        }
    }
    let mut datasets: Vec<Dataset<'_>> = threshold_points
        .iter()
        .map(|(pts, h)| {
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(t.health_text(*h))
                .data(pts)
        })
        .collect();
    let owned: Vec<Vec<(f64, f64)>> = data.iter().map(|r| line(r)).collect();
    for r in &owned {
        // A lone point between gaps is drawn as a dot.
        let g = if r.len() == 1 {
            GraphType::Scatter
        } else {
            GraphType::Line
        };
        datasets.push(
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(g)
                .style(t.chart())
                .data(r),
        );
    }
    let long = e.end - e.start > 86_000.0;
    // Short charts drop the time axis (the window is in the title) to keep plot rows.
    let with_axis = area.height >= 8;
    let x_labels = vec![
        Span::styled(hhmm(e.start, long), t.dim()),
        Span::styled(hhmm((e.start + e.end) / 2.0, long), t.dim()),
        Span::styled(hhmm(e.end, long), t.dim()),
    ];
    let fmt = |v: f64| format_value(v, def.unit);
    let y_labels = vec![
        Span::styled(fmt(lo), t.dim()),
        Span::styled(fmt((lo + hi) / 2.0), t.dim()),
        Span::styled(fmt(hi), t.dim()),
    ];
    let chart = Chart::new(datasets)
        .block(block)
        .style(Style::default())
        .x_axis(if with_axis {
            Axis::default()
                .bounds([e.start, e.end])
                .labels(x_labels)
                .style(t.border(false))
        } else {
            Axis::default().bounds([e.start, e.end])
        })
        .y_axis(
            Axis::default()
                .bounds([lo, hi])
                .labels(y_labels)
                .style(t.border(false)),
        );
    f.render_widget(chart, area);
}
