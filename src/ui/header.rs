//! Header line: title, counts per health state, cluster and text filter, sort, STALE.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::App;
use crate::fleet::Health;
use crate::sanitize;

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
    if let Some(c) = &app.cluster {
        spans.push(Span::styled("  cluster ", t.dim()));
        spans.push(Span::styled(sanitize::fit(c, 24), t.title()));
    }
    let editing = app.filter_edit.is_some();
    let filt = app.filter_edit.as_deref().unwrap_or(&app.filter);
    if editing || !filt.is_empty() {
        spans.push(Span::styled("  filter ", t.dim()));
        let cursor = if editing { "▏" } else { "" };
        spans.push(Span::styled(
            format!("/{}{cursor}", sanitize::fit(filt, 30)),
            t.key(),
        ));
    }
    spans.push(Span::styled(
        format!("  sort {}", app.sort.as_str()),
        t.dim(),
    ));
    f.render_widget(Paragraph::new(Line::from(spans)).style(t.text()), area);
}
