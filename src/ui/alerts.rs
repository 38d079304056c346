//! The alerts view (`a`): every alert, grouped by severity then cluster.
//!
//! ```text
//! ┌ alerts 5 · ⚑3 active · ⊘2 muted ─────────────────── filter /lag ┐
//! │ ✖ critical · payments                                            │
//! │ ▸ ✖ MySQLDown         payments-db09  active    21m  MySQL is do… │
//! │ ▲ warning · analytics                                            │
//! │   ⊘ NodeHighLoad      analytics-db04 silenced  50m  Load per co… │
//! │ Enter host panel · S silence · Tab silences · / filter · Esc back│
//! └──────────────────────────────────────────────────────────────────┘
//! ```

use crate::app::keymap::{self, Ctx};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders};
use ratatui::Frame;

use crate::app::App;
use crate::fleet::health::alert_health;
use crate::model::{AlertState, Health, Severity};
use crate::sanitize;

/// Health shown for a severity group, whatever the alerts' states.
fn group_health(sev: Severity) -> Health {
    match sev {
        Severity::Critical => Health::Crit,
        Severity::Warning | Severity::Other => Health::Warn,
        Severity::Info => Health::Ok,
    }
}

/// The alerts screen (`a`): every alert of every Alertmanager, firing first, with its host
/// (or why it is unattached), severity, state and age, in `area`.
#[allow(clippy::too_many_lines)]
pub fn render(f: &mut Frame<'_>, area: Rect, app: &App) {
    let t = &app.theme;
    let ui = &app.alerts;
    let rows = app.alert_rows();
    let sel = app.selected_alert_index(&rows);
    let active = rows
        .iter()
        .filter(|r| r.alert.state == AlertState::Active)
        .count();
    let mut title = vec![
        Span::styled(format!(" alerts {} ", rows.len()), t.title()),
        Span::styled(
            format!("· ⚑{active} active · ⊘{} muted ", rows.len() - active),
            t.dim(),
        ),
    ];
    let editing = ui.filter_edit.is_some();
    let filt = ui.filter_edit.as_deref().unwrap_or(&ui.filter);
    if editing || !filt.is_empty() {
        title.push(Span::styled("· filter ", t.dim()));
        title.push(Span::styled(
            format!(
                "/{}{} ",
                sanitize::fit(filt, 30),
                if editing { "▏" } else { "" }
            ),
            t.key(),
        ));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border(true))
        .title(Line::from(title));
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let w = usize::from(inner.width);
    let (name_w, host_w) = if w >= 110 {
        (30, 22)
    } else if w >= 70 {
        (24, 16)
    } else {
        (16, 12)
    };
    let summary_w = w.saturating_sub(4 + name_w + 1 + host_w + 1 + 11 + 6 + 1);

    let mut lines: Vec<Line<'_>> = Vec::new();
    let mut sel_line = 0usize;
    let mut group: Option<(String, String)> = None;
    for (i, r) in rows.iter().enumerate() {
        let a = r.alert;
        let key = (a.severity_label().to_string(), r.cluster.clone());
        if group.as_ref() != Some(&key) {
            let gh = group_health(a.severity);
            let n = rows[i..]
                .iter()
                .take_while(|x| x.alert.severity_label() == key.0 && x.cluster == key.1)
                .count();
            let sev = if key.0.is_empty() {
                "no severity"
            } else {
                &key.0
            };
            let cl = if key.1.is_empty() {
                "no cluster"
            } else {
                &key.1
            };
            lines.push(Line::from(vec![
                Span::styled(format!("{} ", super::symbol(gh)), t.health_text(gh)),
                Span::styled(
                    format!(
                        "{} · {} ({n})",
                        sanitize::fit(sev, 20),
                        sanitize::fit(cl, 40)
                    ),
                    t.title(),
                ),
            ]));
            group = Some(key);
        }
        let h = alert_health(a);
        let on = sel == Some(i);
        if on {
            sel_line = lines.len();
        }
        let (sym, sty) = if a.state == AlertState::Active {
            (super::symbol(h), t.health_text(h))
        } else {
            ("⊘", t.dim())
        };
        let since = a
            .starts_at
            .map(|s| super::ago((app.now - s).num_seconds()))
            .unwrap_or_default();
        let host = if r.host_name.is_empty() {
            "—"
        } else {
            &r.host_name
        };
        let mut spans = vec![
            Span::styled(if on { "▸ " } else { "  " }, t.key()),
            Span::styled(format!("{sym} "), sty),
            Span::styled(
                format!("{:<name_w$} ", sanitize::fit(a.name(), name_w)),
                sty,
            ),
            Span::styled(
                format!("{:<host_w$} ", sanitize::fit(host, host_w)),
                t.text(),
            ),
            Span::styled(format!("{:<11}", a.state_word()), t.dim()),
            Span::styled(format!("{since:>5} "), t.dim()),
            Span::styled(sanitize::fit(a.summary(), summary_w), t.text()),
        ];
        if on {
            for s in &mut spans {
                s.style = s.style.patch(t.selected());
            }
        }
        lines.push(Line::from(spans));
        if let Some(why) = r.reason {
            lines.push(Line::styled(
                format!(
                    "      ↳ unattached: {}",
                    sanitize::fit(why, w.saturating_sub(20))
                ),
                t.dim(),
            ));
        }
    }
    if rows.is_empty() {
        let msg = if filt.is_empty() {
            "no alerts: Alertmanager reports nothing firing"
        } else {
            "no alert matches the filter (Esc clears it)"
        };
        lines.push(Line::styled(msg, t.dim()));
    }
    let body_h = usize::from(inner.height.saturating_sub(1));
    let scroll = sel_line.saturating_sub(body_h.saturating_sub(1));
    let visible: Vec<Line<'_>> = lines.into_iter().skip(scroll).take(body_h).collect();
    let mut hint = keymap::hint_line(&app.keymap.hints(Ctx::Alerts, ui.read_only));
    if ui.read_only {
        hint.push_str(" · read-only");
    }
    super::body_with_footer(f, inner, visible, &hint, app);
}
