//! The map (one cell per host, coloured and symbolled by health, clusters as runs of
//! cells), the problems named beside it, and the problem strip above packed tiles.
//!
//! ```text
//! ✓✓✖ ✓✓✓ ▲✓✓ ✓✓✓ ✓▼✓ ✓✓✓ ✓✓✓ ✓✓✓ ✓✓✓ ▲✓✓ ✓✓✓  │ problems (6) ▼1 ✖2 ▲3
//! ✓✓✓ ✓✓✓ ✓✓✓ ✓✓? ✓✓✓ ✓✓✓ ✓✓✓ ✓✓✓ ✓✓✓ ✓✓✓ ✓✓✓  │ ▼ orders-0011-db2 down: …
//! ✓✓✓ ✓✓✓ ✓✓✓ ✓✓✓ ✓✓✓ ✓✓✓                      │ ✖ payments-0003-db2 sql…
//! ▸ ✖ payments-0003-db2 · payments-0003 · replica · sql thread stopped · Enter: panel
//! ```
//!
//! Only the cells in view are drawn: a frame costs the screen, not the fleet.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Scrollbar, ScrollbarOrientation, ScrollbarState};
use ratatui::Frame;

use crate::app::map::map_pane_width;
use crate::app::App;
use crate::model::{Health, Host};
use crate::sanitize;

/// Draws the map into the grid body `area`.
pub fn render(f: &mut Frame<'_>, area: Rect, app: &App) {
    let v = app.view();
    let l = &v.layout;
    let pane = map_pane_width(area.width);
    let map_w = l.cols.min(area.width);
    let cells = Rect {
        width: map_w,
        height: area.height.saturating_sub(1),
        ..area
    };
    let scroll = app.grid.scroll;
    let bottom = scroll + u32::from(cells.height);
    let t = &app.theme;
    let stale = app.is_stale();
    let buf = f.buffer_mut();
    for &k in &l.order[l.first_visible(scroll)..] {
        let tile = &l.tiles[k];
        if tile.y >= bottom {
            break;
        }
        if tile.x >= cells.width {
            continue;
        }
        let host = &app.fleet.hosts[v.hosts[tile.host]];
        let mut style = if stale {
            t.stale()
        } else {
            t.health(host.health)
        };
        if !app.wall.on && app.grid.selected.as_ref() == Some(&host.id) {
            style = style.add_modifier(Modifier::REVERSED | Modifier::BOLD);
        }
        let x = cells.x + tile.x;
        let y = cells.y + u16::try_from(tile.y - scroll).unwrap_or(0);
        buf[(x, y)]
            .set_symbol(super::symbol(host.health))
            .set_style(style);
    }
    if pane > 0 {
        let px = area.x + area.width - pane;
        for y in area.y..area.y + cells.height {
            buf[(px - 1, y)].set_symbol("│").set_style(t.border(false));
        }
        problem_list(buf, Rect::new(px, area.y, pane, cells.height), app);
    }
    info_line(
        buf,
        Rect::new(area.x, area.y + cells.height, area.width, 1),
        app,
    );
    if l.height > u32::from(cells.height) && !app.wall.on {
        let mut st = ScrollbarState::new(
            usize::try_from(l.height.saturating_sub(u32::from(cells.height))).unwrap_or(0),
        )
        .position(usize::try_from(scroll).unwrap_or(0));
        f.render_stateful_widget(
            Scrollbar::new(ScrollbarOrientation::VerticalRight)
                .begin_symbol(None)
                .end_symbol(None)
                .style(app.theme.dim()),
            Rect {
                width: map_w + 1,
                ..cells
            },
            &mut st,
        );
    }
}

/// `problems (N) ▼1 ✖2 ▲3`, with how many are not named on screen.
fn problems_title(app: &App, width: u16) -> Line<'static> {
    let t = &app.theme;
    let v = app.view();
    let p = &v.problems;
    let counts = Health::count(p.hosts.iter().map(|&k| app.fleet.hosts[v.hosts[k]].health));
    let mut spans = vec![Span::styled(
        format!("problems ({}) ", p.hosts.len()),
        t.title(),
    )];
    for (k, h) in Health::ALL.iter().enumerate() {
        if counts[k] > 0 && *h != Health::Ok {
            spans.push(Span::styled(
                format!("{}{} ", super::symbol(*h), counts[k]),
                t.health_text(*h),
            ));
        }
    }
    let used: usize = spans.iter().map(|s| sanitize::width(&s.content)).sum();
    spans.push(Span::styled(
        "─".repeat(usize::from(width).saturating_sub(used)),
        t.border(false),
    ));
    Line::from(spans)
}

/// One problem entry: symbol, name, and the first reason when there is room.
fn entry(app: &App, host: &Host, w: usize, with_reason: bool, selected: bool) -> Line<'static> {
    let t = &app.theme;
    let sym = format!("{} ", super::symbol(host.health));
    let name = sanitize::fit(&host.id.name, w.saturating_sub(2));
    let mut used = sanitize::width(&sym) + sanitize::width(&name);
    let mut name_style = t.text().add_modifier(Modifier::BOLD);
    let mut sym_style = t.health_text(host.health);
    if selected {
        name_style = name_style.add_modifier(Modifier::REVERSED);
        sym_style = sym_style.add_modifier(Modifier::REVERSED);
    }
    let mut spans = vec![Span::styled(sym, sym_style), Span::styled(name, name_style)];
    if with_reason && used + 2 < w {
        if let Some(r) = host.reasons.first() {
            let r = sanitize::fit(r, w - used - 1);
            used += 1 + sanitize::width(&r);
            spans.push(Span::styled(format!(" {r}"), t.dim()));
        }
    }
    spans.push(Span::raw(" ".repeat(w.saturating_sub(used))));
    Line::from(spans)
}

/// The list of problems beside the map: worst first, one a line.
fn problem_list(buf: &mut Buffer, area: Rect, app: &App) {
    if area.height == 0 {
        return;
    }
    let v = app.view();
    let p = &v.problems;
    buf.set_line(area.x, area.y, &problems_title(app, area.width), area.width);
    let w = usize::from(area.width);
    let named = p.named();
    for (row, &k) in p.hosts[..named].iter().enumerate() {
        let y = area.y + 1 + u16::try_from(row).unwrap_or(u16::MAX - 1);
        if y >= area.y + area.height {
            break;
        }
        let host = &app.fleet.hosts[v.hosts[k]];
        let sel = !app.wall.on && app.grid.selected.as_ref() == Some(&host.id);
        buf.set_line(area.x, y, &entry(app, host, w, true, sel), area.width);
    }
    if named < p.hosts.len() {
        let y = area.y + 1 + u16::try_from(named).unwrap_or(0);
        if y < area.y + area.height {
            buf.set_string(
                area.x,
                y,
                sanitize::fit(&format!("+{} more", p.hosts.len() - named), w),
                app.theme.error(),
            );
        }
    }
    if p.hosts.is_empty() && area.height > 1 {
        buf.set_string(
            area.x,
            area.y + 1,
            sanitize::fit(&format!("{} none", super::symbol(Health::Ok)), w),
            app.theme.health_text(Health::Ok),
        );
    }
}

/// The strip above packed tiles that names every problem host when the tiles cannot
/// on the first screen: a title row, then entries in columns.
pub fn problem_strip(f: &mut Frame<'_>, area: Rect, app: &App) {
    let v = app.view();
    let p = &v.problems;
    let buf = f.buffer_mut();
    if area.height == 0 {
        return;
    }
    let mut title = problems_title(app, area.width);
    title
        .spans
        .insert(0, Span::styled("── ", app.theme.border(false)));
    buf.set_line(area.x, area.y, &title, area.width);
    let named = p.named();
    let ew = p.entry_w;
    for r in 0..p.rows.min(area.height - 1) {
        for c in 0..p.per_row {
            let k = usize::from(r) * usize::from(p.per_row) + usize::from(c);
            let x = area.x + c * (ew + 1);
            let y = area.y + 1 + r;
            if x + ew > area.x + area.width {
                break;
            }
            if k < named {
                let host = &app.fleet.hosts[v.hosts[p.hosts[k]]];
                let sel = !app.wall.on && app.grid.selected.as_ref() == Some(&host.id);
                buf.set_line(
                    x,
                    y,
                    &entry(app, host, usize::from(ew), p.with_reason, sel),
                    ew,
                );
            } else if k == named && named < p.hosts.len() {
                buf.set_stringn(
                    x,
                    y,
                    format!("+{} more", p.hosts.len() - named),
                    usize::from(ew),
                    app.theme.error(),
                );
            }
        }
    }
}

/// The map's last line: the host under the cursor and why, or (on a wall) the legend.
fn info_line(buf: &mut Buffer, area: Rect, app: &App) {
    let t = &app.theme;
    let w = usize::from(area.width);
    let host = if app.wall.on {
        None
    } else {
        app.selected_host()
    };
    let mut spans: Vec<Span<'static>> = Vec::new();
    if let Some(h) = host {
        spans.push(Span::styled("▸ ", t.key()));
        spans.push(Span::styled(
            format!("{} ", super::symbol(h.health)),
            t.health_text(h.health),
        ));
        spans.push(Span::styled(
            sanitize::fit(&h.id.name, 60),
            t.text().add_modifier(Modifier::BOLD),
        ));
        let mut rest = format!(
            " · {} · {} · {}",
            sanitize::fit(&h.id.cluster, 40),
            h.role.as_str(),
            h.health.as_str()
        );
        if h.health != Health::Ok {
            if let Some(r) = h.reasons.first() {
                rest.push_str(": ");
                rest.push_str(&sanitize::fit(r, 80));
            }
        }
        spans.push(Span::styled(rest, t.text()));
        spans.push(Span::styled(
            "  Enter: panel  T: topology  m: tiles",
            t.dim(),
        ));
    } else {
        let v = app.view();
        spans.push(Span::styled(
            format!(
                "map: {} hosts in {} clusters, one cell each  ",
                v.hosts.len(),
                v.groups.len()
            ),
            t.dim(),
        ));
        for h in Health::ALL {
            spans.push(Span::styled(format!("{} ", super::symbol(h)), t.health(h)));
            spans.push(Span::styled(format!("{}  ", h.as_str()), t.dim()));
        }
    }
    let used: usize = spans.iter().map(|s| sanitize::width(&s.content)).sum();
    spans.push(Span::raw(" ".repeat(w.saturating_sub(used))));
    buf.set_line(area.x, area.y, &Line::from(spans), area.width);
    let _ = Style::default();
}
