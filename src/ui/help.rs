//! The `?` help popup: every key of every screen, read from the keymap in force (so a
//! `[keys]` rebinding shows here), and what the symbols mean.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use crate::app::keymap::Ctx;
use crate::app::App;
use crate::model::Health;

/// The help overlay (`?`): the keys of every screen as the key map binds them, and what the
/// health symbols and colours mean.
pub fn render(f: &mut Frame<'_>, area: Rect, app: &App) {
    let t = &app.theme;
    let mut lines: Vec<Line<'_>> = Vec::new();
    for ctx in [
        Ctx::Grid,
        Ctx::Panel,
        Ctx::Alerts,
        Ctx::Silences,
        Ctx::Form,
        Ctx::Confirm,
    ] {
        lines.push(Line::styled(format!(" {}", ctx.title()), t.title()));
        for (k, d) in app.keymap.help_rows(ctx) {
            lines.push(Line::from(vec![
                Span::styled(format!("   {k:<16} "), t.key()),
                Span::styled(d, t.text()),
            ]));
        }
    }
    lines.push(Line::from(vec![
        Span::styled(format!("   {:<16} ", "mouse"), t.key()),
        Span::styled(
            "click selects a tile; click it again or double-click opens it; wheel scrolls",
            t.text(),
        ),
    ]));
    lines.push(Line::from(vec![
        Span::styled(format!("   {:<16} ", "Ctrl-C"), t.key()),
        Span::styled("quit, on any screen", t.text()),
    ]));
    lines.push(Line::raw(""));
    let mut legend = vec![Span::styled(" states ", t.title())];
    for h in Health::ALL {
        legend.push(Span::styled(
            format!(" {} {} ", super::symbol(h), h.as_str()),
            t.health(h),
        ));
        legend.push(Span::raw(" "));
    }
    lines.push(Line::from(legend));
    lines.push(Line::from(vec![
        Span::styled(" badges  ", t.title()),
        Span::styled(
            "⚑n active alerts   ⊘n silenced or inhibited alerts (muted)",
            t.text(),
        ),
    ]));
    let w = area.width.saturating_sub(4).min(100);
    let total = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    let h = (total + 2).min(area.height);
    let scroll = app
        .help
        .scroll
        .min(total.saturating_sub(h.saturating_sub(2)));
    let title = if total + 2 > h {
        " keys — ↑↓ scroll, any other key closes "
    } else {
        " keys — any key closes "
    };
    let r = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines)
            .style(t.text())
            .scroll((scroll, 0))
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(t.border(true))
                    .title(title),
            ),
        r,
    );
}
