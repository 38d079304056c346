//! Pure render functions: `render(frame, &App)` draws; nothing here does I/O or
//! keeps state.
//!
//! ```text
//! ┌──────────────────────────────────────────────────────────────┐
//! │ header: title, counts per state, cluster, sort, filter, STALE│  1 row
//! ├──────────────────────────────────────────────────────────────┤
//! │ grid: cluster titles, tiles (only visible ones drawn)        │
//! │   — or the host panel (Enter), alerts (a), silences (A) —    │
//! │ silence form (S) or expire question (x) over them            │
//! │ help popup (?) over either                                   │
//! ├──────────────────────────────────────────────────────────────┤
//! │ status bar: sources, freshness, last error, key hints        │  1 row
//! └──────────────────────────────────────────────────────────────┘
//! ```

pub mod alerts;
pub mod bigtext;
pub mod charts;
pub mod grid;
pub mod header;
pub mod help;
pub mod host_panel;
pub mod map;
pub mod silence_form;
pub mod silences;
pub mod status_bar;
pub mod topology;

use ratatui::layout::Rect;
use ratatui::Frame;

use crate::app::{App, MessageKind, Screen};
use crate::model::Health;

/// Smallest usable size; below it the board says how big it needs to be.
pub const MIN_W: u16 = 20;
/// Smallest usable height, in rows (see [`MIN_W`]).
pub const MIN_H: u16 = 5;

/// Where the panel's hyperlinks are in a frame of size `area` (see [`host_panel::link_spots`]).
pub fn hyperlinks(app: &App, area: Rect) -> Vec<host_panel::LinkSpot> {
    if area.width < MIN_W || area.height < MIN_H {
        return Vec::new();
    }
    let (_, body, _, _) = regions(app, area);
    host_panel::link_spots(app, body)
}

/// Header, body and status bar of the screen, and the header's height.
fn regions(app: &App, area: Rect) -> (Rect, Rect, Rect, u16) {
    let head_h = if app.wall.on && area.height >= 12 {
        crate::app::WALL_HEADER
    } else {
        1
    };
    let header = Rect {
        height: head_h,
        ..area
    };
    let status = Rect {
        y: area.y + area.height - 1,
        height: 1,
        ..area
    };
    let body = Rect {
        y: area.y + head_h,
        height: area.height - head_h - 1,
        ..area
    };
    (header, body, status, head_h)
}

/// Draws the whole screen: header, the current screen's body (grid or map, host panel,
/// alerts, silences) with its overlays (help, topology, silence form), and status bar; a
/// terminal below [`MIN_W`]×[`MIN_H`] gets a line saying how big it needs to be.
pub fn render(f: &mut Frame<'_>, app: &App) {
    let Some((header, body, status, head_h)) = screen_regions(f, app) else {
        return;
    };
    chrome(f, app, header, status, head_h);
    match &app.screen {
        Screen::Grid => grid::render(f, body, app),
        Screen::Host(id) => host_panel::render(f, body, app, id),
        Screen::Alerts => alerts::render(f, body, app),
        Screen::Silences => silences::render(f, body, app),
    }
    topology::render(f, body, app);
    silence_form::render(f, body, app);
    if app.help.open {
        help::render(f, body, app);
    }
}

/// One frame as the terminal gets it: the whole screen ([`render`]), or, given `kept` (a
/// frame this function drew in full at the same [`App::body_gen`]) of the frame's size, the
/// header and status bar over a copy of it, for a fraction of the work (a refresh that
/// brought nothing new moves only the clock). Then text from the network is scrubbed and,
/// with `--ascii`, the frame rewritten in ASCII. Returns whether it drew in full.
pub fn draw(f: &mut Frame<'_>, app: &App, kept: Option<&ratatui::buffer::Buffer>) -> bool {
    let kept = kept.filter(|b| b.area == f.area());
    if let Some(b) = kept {
        f.buffer_mut().content.clone_from_slice(&b.content);
        render_chrome(f, app);
    } else {
        render(f, app);
    }
    crate::sanitize::scrub_buffer(f.buffer_mut());
    if app.ascii {
        asciify(f.buffer_mut());
    }
    kept.is_none()
}

/// Draws the header and the status bar over a frame that already holds the screen's body
/// as [`render`] drew it for the same [`App::body_gen`]: the frame is then what `render`
/// would draw. Their rows are cleared first, as in a fresh frame.
fn render_chrome(f: &mut Frame<'_>, app: &App) {
    let Some((header, _, status, head_h)) = screen_regions(f, app) else {
        return;
    };
    f.render_widget(ratatui::widgets::Clear, header);
    f.render_widget(ratatui::widgets::Clear, status);
    chrome(f, app, header, status, head_h);
}

/// The frame's [`regions`]; below [`MIN_W`]×[`MIN_H`] none, and the frame says how big
/// the terminal needs to be.
fn screen_regions(f: &mut Frame<'_>, app: &App) -> Option<(Rect, Rect, Rect, u16)> {
    let area = f.area();
    if area.width < MIN_W || area.height < MIN_H {
        too_small(f, area);
        return None;
    }
    Some(regions(app, area))
}

/// The header and the status bar (with its note), which follow the clock.
fn chrome(f: &mut Frame<'_>, app: &App, header: Rect, status: Rect, head_h: u16) {
    if head_h > 1 {
        header::render_wall(f, header, app);
    } else {
        header::render(f, header, app);
    }
    if !silence_form::status_message(f, status, app) {
        status_bar::render(f, status, app);
    }
    if let Some(m) = app
        .message
        .as_ref()
        .filter(|m| m.kind == MessageKind::Note)
        .map(|m| m.text.as_str())
    {
        let w = u16::try_from(crate::sanitize::width(m) + 2)
            .unwrap_or(u16::MAX)
            .min(status.width);
        let r = Rect::new(status.x + status.width - w, status.y, w, 1);
        f.render_widget(
            ratatui::widgets::Paragraph::new(format!(
                " {} ",
                crate::sanitize::fit(m, usize::from(w.saturating_sub(2)))
            ))
            .style(app.theme.key()),
            r,
        );
    }
}

fn too_small(f: &mut Frame<'_>, area: Rect) {
    let msg = format!("need {MIN_W}x{MIN_H}, have {}x{}", area.width, area.height);
    let p = ratatui::widgets::Paragraph::new(msg).wrap(ratatui::widgets::Wrap { trim: true });
    f.render_widget(p, area);
}

/// Rewrites a drawn frame with ASCII only, for terminals and locales without UTF-8:
/// lines and corners become `-|+`, symbols their ASCII stand-ins, braille dots `*`,
/// blocks `#`, and anything else outside ASCII `?`.
pub fn asciify(buf: &mut ratatui::buffer::Buffer) {
    for cell in &mut buf.content {
        let sym = cell.symbol();
        if sym.is_ascii() {
            continue;
        }
        let c = sym.chars().next().unwrap_or(' ');
        let r = match c {
            '─' | '━' | '═' | '╌' | '┄' => "-",
            '│' | '┃' | '║' | '╎' | '┆' => "|",
            '┌' | '┐' | '└' | '┘' | '├' | '┤' | '┬' | '┴' | '┼' | '╭' | '╮' | '╯' | '╰' | '╔'
            | '╗' | '╚' | '╝' => "+",
            '✓' => "+",
            '▲' => "!",
            '✖' => "X",
            '▼' => "v",
            '◌' => "~",
            '⚑' => "A",
            '⊘' => "m",
            '⊗' => "x",
            '…' => ".",
            '≥' => ">",
            '≤' => "<",
            '—' | '–' => "-",
            '·' | '•' => ".",
            '←' => "<",
            '→' => ">",
            '↑' => "^",
            '↓' => "v",
            '◀' => "<",
            '▏' => "|",
            '\u{2800}' => " ",
            '\u{2801}'..='\u{28ff}' => "*",
            '█' | '▀' | '▄' | '▌' | '▐' | '░' | '▒' | '▓' => "#",
            _ => "?",
        };
        cell.set_symbol(r);
    }
}

/// A list view's body above its footer hint: `lines` fill `inner` but its last row.
pub fn body_with_footer(
    f: &mut Frame<'_>,
    inner: Rect,
    lines: Vec<ratatui::text::Line<'_>>,
    hint: &str,
    app: &App,
) {
    f.render_widget(
        ratatui::widgets::Paragraph::new(lines),
        Rect {
            height: inner.height.saturating_sub(1),
            ..inner
        },
    );
    footer_hint(f, inner, hint, app);
}

/// The key hint on the last line inside a bordered view (alerts, silences).
fn footer_hint(f: &mut Frame<'_>, inner: Rect, hint: &str, app: &App) {
    if inner.height == 0 {
        return;
    }
    f.render_widget(
        ratatui::widgets::Paragraph::new(ratatui::text::Line::styled(
            crate::sanitize::fit(hint, usize::from(inner.width)),
            app.theme.dim(),
        )),
        Rect {
            y: inner.y + inner.height - 1,
            height: 1,
            ..inner
        },
    );
}

/// Symbol of a host whose exporter cannot be scraped: no data, not the database down.
pub const EXPORTER_DOWN_SYMBOL: &str = "⊗";

/// Symbol for a host: its health's, or [`EXPORTER_DOWN_SYMBOL`] when its exporter is down
/// (health UNKNOWN for want of data, which must not read as the database being down).
pub fn host_symbol(host: &crate::model::Host) -> &'static str {
    if host.exporter_down {
        EXPORTER_DOWN_SYMBOL
    } else {
        symbol(host.health)
    }
}

/// Symbol for a health state; each is distinct in shape so it reads without colour.
pub fn symbol(h: Health) -> &'static str {
    match h {
        Health::Ok => "✓",
        Health::Warn => "▲",
        Health::Crit => "✖",
        Health::Down => "▼",
        Health::Unknown => "?",
        Health::Stale => STALE_SYMBOL,
    }
}

/// Symbol of a stale tile.
pub const STALE_SYMBOL: &str = "◌";

/// `12s`, `4m`, `3h`, `2d` — how long ago.
pub fn ago(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..=99 => format!("{s}s"),
        100..=5999 => format!("{}m", s / 60),
        6000..=172_799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}
