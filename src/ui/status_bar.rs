//! Status bar: data sources, time of the last good refresh and its age, last error,
//! and key hints.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::keymap::Ctx;
use crate::app::{App, SourceStatus};
use crate::sanitize;

fn source_spans(app: &App, label: &str, s: &SourceStatus, max_err: usize) -> Vec<Span<'static>> {
    let t = &app.theme;
    let mut v = vec![Span::styled(format!("{label} "), t.status())];
    match (&s.error, s.last_ok) {
        (None, None) => v.push(Span::styled("… loading", t.status())),
        // The age only when the answer is late: on time, the time of the last answer says
        // it, and the line does not change (nor need drawing) every second.
        (None, Some(ok)) if app.is_late(s) => v.push(Span::styled(
            format!(
                "✓ {} ({} ago)",
                ok.format("%H:%M:%S"),
                super::ago((app.now - ok).num_seconds())
            ),
            t.status(),
        )),
        (None, Some(ok)) => v.push(Span::styled(
            format!("✓ {}", ok.format("%H:%M:%S")),
            t.status(),
        )),
        (Some(e), _) => {
            let since = s
                .failing_since
                .map(|x| format!(" {}", super::ago((app.now - x).num_seconds())))
                .unwrap_or_default();
            v.push(Span::styled(
                format!("✖{since}: {}", sanitize::fit(e, max_err)),
                t.error(),
            ));
        }
    }
    v
}

/// What is missing from the last refresh, source by source: `partial eu: why` or
/// `eu ✖ why` (several sources: `2/3 sources …`).
fn source_gaps(app: &App) -> Option<String> {
    let srcs = &app.fleet.sources;
    let bad: Vec<String> = srcs
        .iter()
        .filter_map(|s| {
            if let Some(e) = &s.error {
                Some(format!("{} ✖ {e}", s.name))
            } else {
                s.partial
                    .first()
                    .map(|p| format!("{} {} partial: {p}", super::STALE_SYMBOL, s.name))
            }
        })
        .collect();
    if bad.is_empty() {
        return None;
    }
    let mut out = String::new();
    if srcs.len() > 1 {
        out.push_str(&format!(
            "· {}/{} sources complete · ",
            srcs.len() - bad.len(),
            srcs.len()
        ));
    }
    out.push_str(&bad.join(" · "));
    Some(out)
}

/// The status bar: each source's freshness or error, what a partial answer left out, the
/// last message, and key hints as far as the width allows.
pub fn render(f: &mut Frame<'_>, area: Rect, app: &App) {
    let t = &app.theme;
    let w = usize::from(area.width);
    // Alertmanager part first: it is short, and must not be pushed off the line.
    let mut am: Vec<Span<'static>> = Vec::new();
    let failing: Vec<&SourceStatus> = app
        .alertmanagers
        .iter()
        .filter(|s| s.error.is_some())
        .collect();
    if !app.alertmanagers.is_empty() {
        am.push(Span::styled(" │ ", t.status()));
        if let Some(s) = failing.first() {
            let label = if app.alertmanagers.len() > 1 {
                format!(
                    "alertmanager {}/{} failing",
                    failing.len(),
                    app.alertmanagers.len()
                )
            } else {
                "alertmanager".to_string()
            };
            am.extend(source_spans(app, &label, s, 24));
        } else {
            am.push(Span::styled("alertmanager ✓", t.status()));
        }
    }
    let am_w: usize = am.iter().map(|s| sanitize::width(&s.content)).sum();
    let fixed = 20; // label, symbol, duration
    let err_room = w.saturating_sub(am_w + fixed).max(12);
    let mut spans = vec![Span::styled(" ", t.status())];
    spans.extend(source_spans(app, "prometheus", &app.prom, err_room));
    if let Some(gap) = source_gaps(app) {
        spans.push(Span::styled(
            format!(" {}", sanitize::fit(&gap, err_room)),
            t.error(),
        ));
    }
    spans.extend(am);
    let hint: String = app
        .keymap
        .hints(Ctx::Grid, false)
        .iter()
        .map(|(k, w)| format!("  {k} {w}"))
        .chain(std::iter::once(" ".to_string()))
        .collect();
    // Data the board dropped or could not place is explained in the host panel's notes;
    // `fleetboard doctor` says what to fix.
    let hint = if app.fleet.notes.is_empty() {
        hint
    } else {
        format!("  notes: run fleetboard doctor{hint}")
    };
    let used: usize = spans.iter().map(|s| sanitize::width(&s.content)).sum();
    // Narrow: the pointer to doctor outlives the key hints.
    let hint = if used + sanitize::width(&hint) > w && !app.fleet.notes.is_empty() {
        "  notes: run fleetboard doctor ".to_string()
    } else {
        hint
    };
    let hint = hint.as_str();
    let hint_w = sanitize::width(hint);
    if used + hint_w <= w {
        spans.push(Span::styled(" ".repeat(w - used - hint_w), t.status()));
        spans.push(Span::styled(hint, t.status()));
    }
    f.render_widget(Paragraph::new(Line::from(spans)).style(t.status()), area);
}
