//! The silences list (`A`, or Tab in the alerts view): active and pending silences.
//!
//! ```text
//! ┌ silences · 2 active · 0 pending · from http://am-1:9093 ────────┐
//! │   state    matchers                      until        by     comment │
//! │ ▸ active   alertname="X", instance="db1" in 1h 59m   alice   restart │
//! │ x expire · r reload · Tab alerts · Esc back                      │
//! └──────────────────────────────────────────────────────────────────┘
//! ```

use crate::app::keymap::{self, Cmd, Ctx};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders};
use ratatui::Frame;

use crate::app::alerts::format_matchers;
use crate::app::App;
use crate::model::SilenceState;
use crate::sanitize;

/// `in 45m` / `in 1h59m` / `in 30d` until `t`, and the wall-clock time.
fn until(app: &App, t: chrono::DateTime<chrono::Utc>) -> String {
    let secs = (t - app.now).num_seconds().max(0);
    // Hours and minutes: a 2h silence made a minute ago reads "1h59m", not "1h".
    let left = match secs {
        6000..=359_999 => format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60),
        _ => super::ago(secs),
    };
    format!("{} in {left}", t.format("%m-%d %H:%M"))
}

/// The silences screen (`A`): active and pending silences with their matchers, author,
/// comment and time left.
pub fn render(f: &mut Frame<'_>, area: Rect, app: &App) {
    let t = &app.theme;
    let ui = &app.alerts;
    let list = ui.listed_silences();
    let active = list
        .iter()
        .filter(|s| s.state == SilenceState::Active)
        .count();
    let mut title = vec![
        Span::styled(" silences ", t.title()),
        Span::styled(
            format!("· {active} active · {} pending ", list.len() - active),
            t.dim(),
        ),
    ];
    if !ui.silences_source.is_empty() {
        title.push(Span::styled(
            format!("· from {} ", sanitize::fit(&ui.silences_source, 40)),
            t.dim(),
        ));
    }
    if ui.silences_loading {
        title.push(Span::styled("· loading… ", t.dim()));
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
    let (mw, bw) = if w >= 110 { (44, 14) } else { (26, 10) };
    let until_w = 23;
    let cw = w.saturating_sub(2 + 9 + mw + 1 + until_w + bw + 1);
    let mut lines = vec![Line::styled(
        format!(
            "  {:<9}{:<mw$} {:<until_w$}{:<bw$} {}",
            "state", "matchers", "until", "by", "comment"
        ),
        t.title(),
    )];
    match &ui.silences {
        None if !ui.writable => lines.push(Line::styled(
            "silences need an Alertmanager: start with -a URL",
            t.dim(),
        )),
        None => lines.push(Line::styled("loading…", t.dim())),
        Some(Err(e)) => lines.push(Line::styled(
            format!(
                "cannot list silences: {}",
                sanitize::fit(e, w.saturating_sub(24))
            ),
            t.error(),
        )),
        Some(Ok(_)) if list.is_empty() => {
            lines.push(Line::styled("no active or pending silence", t.dim()));
        }
        Some(Ok(_)) => {}
    }
    let body_h = usize::from(inner.height.saturating_sub(2));
    let scroll = ui.silence_selected.saturating_sub(body_h.saturating_sub(1));
    for (i, s) in list.iter().enumerate().skip(scroll).take(body_h) {
        let on = i == ui.silence_selected;
        let mut spans = vec![
            Span::styled(if on { "▸ " } else { "  " }, t.key()),
            Span::styled(
                format!("{:<9}", sanitize::fit(s.state.as_str(), 8)),
                t.text(),
            ),
            Span::styled(
                format!("{:<mw$} ", sanitize::fit(&format_matchers(&s.matchers), mw)),
                t.text(),
            ),
            Span::styled(format!("{:<until_w$}", until(app, s.ends_at)), t.dim()),
            Span::styled(
                format!(
                    "{:<bw$} ",
                    sanitize::fit(&s.created_by, bw.saturating_sub(1))
                ),
                t.text(),
            ),
            Span::styled(sanitize::fit(&s.comment, cw), t.text()),
        ];
        if on {
            for sp in &mut spans {
                sp.style = sp.style.patch(t.selected());
            }
        }
        lines.push(Line::from(spans));
    }
    let mut hint = keymap::hint_line(&app.keymap.hints(Ctx::Silences, ui.read_only));
    if ui.read_only {
        if let Some(k) = app.keymap.key_of(Ctx::Silences, Cmd::Expire) {
            hint.push_str(&format!(" · read-only: {k} is disabled"));
        }
    }
    super::body_with_footer(f, inner, lines, &hint, app);
}

#[cfg(test)]
mod tests {
    use super::until;
    use crate::testing::{demo_app, fixed_time};

    #[test]
    fn until_stays_short_for_any_end() {
        let app = demo_app(80, 24);
        let at = |s: i64| until(&app, fixed_time() + chrono::Duration::seconds(s));
        assert!(at(45 * 60).ends_with("in 45m"), "{}", at(45 * 60));
        assert!(at(7140).ends_with("in 1h59m"), "{}", at(7140));
        // A silence for years must not push the next column away.
        assert!(
            at(20 * 365 * 86_400).ends_with("in 7300d"),
            "{}",
            at(20 * 365 * 86_400)
        );
        assert!(at(20 * 365 * 86_400).chars().count() <= 23);
    }
}
