//! Popups over the alerts screens: the silence form (`S`) and the expire question (`x`);
//! and the one-line message (results, refusals) the status bar shows.
//!
//! ```text
//! ┌ new silence ──────────────────────────────────────────┐
//! │ matchers  alertname="MySQLDown", instance="db9:9104"  │
//! │ duration  2h                          30m, 4h, 1d …   │
//! │ comment ▸ restarting after the kernel update▏         │
//! │ author    alice                                       │
//! │ until 2026-11-24 05:14 UTC                            │
//! │ ✖ HTTP 400: silence invalid: …  (Alertmanager's words)│
//! │ Enter create · Tab next field · Esc cancel            │
//! └───────────────────────────────────────────────────────┘
//! ```

use crate::app::keymap::{self, Ctx};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::app::alerts::{build_silence, format_matchers, FIELDS};
use crate::app::{App, MessageKind};
use crate::sanitize;

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// The end of `s` that fits in `max` columns (the part being typed stays visible).
fn tail(s: &str, max: usize) -> String {
    let esc = sanitize::escape(s);
    if sanitize::width(&esc) <= max {
        return esc.into_owned();
    }
    let chars: Vec<char> = esc.chars().collect();
    let mut out = Vec::new();
    let mut w = 1;
    for c in chars.iter().rev() {
        let cw = sanitize::width(&c.to_string());
        if w + cw > max {
            break;
        }
        w += cw;
        out.push(*c);
    }
    out.reverse();
    format!("…{}", out.into_iter().collect::<String>())
}

/// Draws whichever popup is open.
pub fn render(f: &mut Frame<'_>, area: Rect, app: &App) {
    if app.alerts.form.is_some() {
        render_form(f, area, app);
    } else if app.alerts.confirm.is_some() {
        render_confirm(f, area, app);
    }
}

fn render_form(f: &mut Frame<'_>, area: Rect, app: &App) {
    let Some(form) = &app.alerts.form else { return };
    let t = &app.theme;
    let r = centered(area, area.width.saturating_sub(4).min(96), 12);
    let w = usize::from(r.width.saturating_sub(2));
    let mut lines: Vec<Line<'_>> = Vec::new();
    for (i, name) in FIELDS.iter().enumerate() {
        let on = form.focus == i;
        let mut v = tail(&form.fields[i], w.saturating_sub(13));
        if on {
            v.push('▏');
        }
        let hint = match i {
            1 => "  (30m, 2h, 4h, 1d)",
            2 if form.fields[i].is_empty() => "  required: why",
            _ => "",
        };
        lines.push(Line::from(vec![
            Span::styled(format!(" {name:<9}"), if on { t.key() } else { t.dim() }),
            Span::styled(if on { "▸ " } else { "  " }, t.key()),
            Span::styled(v, if on { t.selected() } else { t.text() }),
            Span::styled(hint, t.dim()),
        ]));
    }
    lines.push(Line::raw(""));
    match build_silence(&form.fields, app.now) {
        Ok(s) => lines.push(Line::styled(
            format!(
                " until {} · {}",
                s.ends_at.format("%Y-%m-%d %H:%M UTC"),
                sanitize::fit(&format_matchers(&s.matchers), w.saturating_sub(30))
            ),
            t.dim(),
        )),
        Err(_) => lines.push(Line::raw("")),
    }
    if form.sending {
        lines.push(Line::styled(" sending…", t.dim()));
    }
    if let Some(e) = &form.error {
        lines.push(Line::styled(
            format!(" ✖ {}", sanitize::escape(e)),
            t.error(),
        ));
    }
    let hint = keymap::hint_line(&app.keymap.hints(Ctx::Form, false));
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border(true))
        .title(Span::styled(" new silence ", t.title()))
        .title_bottom(Span::styled(sanitize::fit(&hint, w), t.dim()));
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines)
            .style(t.text())
            .wrap(Wrap { trim: false })
            .block(block),
        r,
    );
}

fn render_confirm(f: &mut Frame<'_>, area: Rect, app: &App) {
    let Some(id) = &app.alerts.confirm else {
        return;
    };
    let t = &app.theme;
    let r = centered(area, area.width.saturating_sub(4).min(72), 7);
    let w = usize::from(r.width.saturating_sub(4));
    let s = app
        .alerts
        .listed_silences()
        .into_iter()
        .find(|s| &s.id == id);
    let mut lines = vec![Line::from(vec![
        Span::styled(" Expire silence ", t.text()),
        Span::styled(sanitize::fit(id, w.saturating_sub(18)), t.title()),
        Span::styled("?", t.text()),
    ])];
    if let Some(s) = s {
        lines.push(Line::styled(
            format!(" {}", sanitize::fit(&format_matchers(&s.matchers), w)),
            t.dim(),
        ));
        lines.push(Line::styled(
            format!(
                " by {} · {}",
                sanitize::fit(&s.created_by, 20),
                sanitize::fit(&s.comment, w.saturating_sub(26))
            ),
            t.dim(),
        ));
    }
    lines.push(Line::from(vec![
        Span::styled(" y", t.key()),
        Span::styled(" expire   ", t.text()),
        Span::styled("n Esc", t.key()),
        Span::styled(" keep it", t.text()),
    ]));
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).style(t.text()).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(t.border(true))
                .title(Span::styled(" expire silence ", t.title())),
        ),
        r,
    );
}

/// The status bar's message line, while there is an `Info` or `Error` message.
pub fn status_message(f: &mut Frame<'_>, area: Rect, app: &App) -> bool {
    let Some(m) = app.message.as_ref().filter(|m| m.kind != MessageKind::Note) else {
        return false;
    };
    let t = &app.theme;
    let style = if m.is_error() { t.error() } else { t.status() };
    f.render_widget(
        Paragraph::new(Line::styled(
            format!(
                " {}",
                sanitize::fit(&m.text, usize::from(area.width).saturating_sub(2))
            ),
            style,
        ))
        .style(t.status()),
        area,
    );
    true
}
