//! The grid: cluster groups of colour-coded host tiles. Only tiles inside the view
//! are drawn, so the cost of a frame follows the screen size, not the fleet size.
//!
//! ```text
//! ── payments (16) ▼1 ✖1 ─────────────────────────────
//! ▼ payments-db09    ✓ payments-db01    ✓ payments-db02
//! down: series van…  conn 33% load 0.6  lag 0s conn 18%
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Scrollbar, ScrollbarOrientation, ScrollbarState, Wrap};
use ratatui::Frame;

use crate::app::App;
use crate::model::format::format_value;
use crate::model::Kind;
use crate::model::{Health, Host, MetricState};
use crate::sanitize;

/// The board's body: the map, or the problems strip, cluster titles and host tiles of the
/// packed layout from the grid's scroll position, with a scrollbar when it does not fit; a
/// note when no host matches.
pub fn render(f: &mut Frame<'_>, area: Rect, app: &App) {
    let v = app.view();
    if v.hosts.is_empty() {
        empty(f, area, app);
        return;
    }
    if v.map {
        super::map::render(f, area, app);
        return;
    }
    let strip = app.grid_top().min(area.height);
    if strip > 0 {
        super::map::problem_strip(
            f,
            Rect {
                height: strip,
                ..area
            },
            app,
        );
    }
    let area = Rect {
        y: area.y + strip,
        height: area.height - strip,
        ..area
    };
    let l = &v.layout;
    let scroll = app.grid.scroll;
    let bottom = scroll + u32::from(area.height);
    let stale = app.is_stale();
    let buf = f.buffer_mut();
    for g in &l.groups {
        if g.y >= scroll && g.y < bottom && g.x < area.width {
            let (name, start, len) = &v.groups[g.group];
            let row = area.y + u16::try_from(g.y - scroll).unwrap_or(0);
            group_title(
                buf,
                Rect::new(area.x + g.x, row, g.w.min(area.width - g.x), 1),
                app,
                name,
                &v.hosts[*start..start + len],
            );
        }
    }
    // Tiles by position: skip straight to the first visible one.
    for &k in &l.order[l.first_visible(scroll)..] {
        let t = &l.tiles[k];
        if t.y >= bottom {
            break;
        }
        if t.x >= area.width {
            continue;
        }
        let host = &app.fleet.hosts[v.hosts[t.host]];
        // A wall has no one at the keyboard: no selection to show.
        let selected = !app.wall.on && app.grid.selected.as_ref() == Some(&host.id);
        let top = i64::from(t.y) - i64::from(scroll);
        let rect = Rect::new(
            area.x + t.x,
            area.y,
            l.tile_w.min(area.width.saturating_sub(t.x)),
            0,
        );
        draw_tile(buf, rect, top, area, l.tile_h, app, host, selected, stale);
    }
    if l.height > u32::from(area.height) {
        let mut st = ScrollbarState::new(
            usize::try_from(l.height.saturating_sub(u32::from(area.height))).unwrap_or(0),
        )
        .position(usize::try_from(scroll).unwrap_or(0));
        f.render_stateful_widget(
            Scrollbar::new(ScrollbarOrientation::VerticalRight)
                .begin_symbol(None)
                .end_symbol(None)
                .style(app.theme.dim()),
            area,
            &mut st,
        );
    }
}

/// A cluster title as wide as its block: `── name (n) ▼1 ✖2 ───`; a narrow block keeps
/// the counts of problems and shortens the name first.
pub fn group_title(buf: &mut Buffer, area: Rect, app: &App, name: &str, hosts: &[usize]) {
    let t = &app.theme;
    let w = usize::from(area.width);
    let counts = Health::count(hosts.iter().map(|&i| app.fleet.hosts[i].health));
    let mut tail = Vec::new();
    // An alert about the cluster as a whole: named first, it is no host's.
    if let Some(c) = app.fleet.cluster_alerts.get(name) {
        tail.push(Span::styled(
            format!(
                "{} {} ",
                super::symbol(c.health),
                sanitize::fit(&c.names.join(", "), (w / 2).max(8))
            ),
            t.health_text(c.health),
        ));
    }
    for (k, h) in Health::ALL.iter().enumerate() {
        if counts[k] > 0 && *h != Health::Ok {
            tail.push(Span::styled(
                format!("{}{} ", super::symbol(*h), counts[k]),
                t.health_text(*h),
            ));
        }
    }
    let tail_w: usize = tail.iter().map(|s| sanitize::width(&s.content)).sum();
    let size = format!(" ({}) ", hosts.len());
    let name_w = sanitize::width(name);
    // Drop the lead line, then the size, before the name is cut short.
    // One column of line is kept after the title so neighbouring blocks stay apart.
    let (lead, size) = if 3 + name_w + sanitize::width(&size) + tail_w < w {
        ("── ", size)
    } else if name_w + sanitize::width(&size) + tail_w < w {
        ("", size)
    } else {
        ("", " ".to_string())
    };
    let room = w.saturating_sub(sanitize::width(lead) + sanitize::width(&size) + tail_w);
    let shown = sanitize::fit(name, room.max(4));
    let mut spans = vec![
        Span::styled(lead, t.border(false)),
        Span::styled(shown, t.title()),
        Span::styled(size, t.dim()),
    ];
    spans.extend(tail);
    let used: usize = spans.iter().map(|s| sanitize::width(&s.content)).sum();
    let rest = w.saturating_sub(used);
    spans.push(Span::styled("─".repeat(rest), t.border(false)));
    buf.set_line(area.x, area.y, &Line::from(spans), area.width);
}

/// Figures for a tile: problems first, then the metrics marked `on_tile`.
fn figures(app: &App, host: &Host) -> Vec<(String, MetricState)> {
    let set = &app.metrics;
    let mut v: Vec<(String, MetricState, bool)> = Vec::new();
    for (i, def) in set.metrics.iter().enumerate() {
        let Some(r) = host.readings.get(i) else {
            continue;
        };
        let problem = matches!(r.state, MetricState::Warn | MetricState::Crit);
        if !(def.on_tile || (problem && def.kind == Kind::Gauge)) {
            continue;
        }
        let text = match (r.value, r.state) {
            (_, MetricState::NotApplicable) => continue,
            (Some(x), _) => format!("{} {}", def.label, format_value(x, def.unit)),
            (None, _) => format!("{} —", def.label),
        };
        v.push((text, r.state, problem));
    }
    v.sort_by_key(|(_, _, p)| !*p);
    v.into_iter().map(|(t, s, _)| (t, s)).collect()
}

fn pack(items: &[(String, MetricState)], width: usize) -> (String, usize) {
    let mut s = String::new();
    let mut used = 0;
    for (t, _) in items {
        let need = sanitize::width(t) + usize::from(!s.is_empty());
        if sanitize::width(&s) + need > width {
            break;
        }
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(t);
        used += 1;
    }
    (s, used)
}

#[allow(clippy::too_many_arguments)]
fn draw_tile(
    buf: &mut Buffer,
    col: Rect,
    top: i64,
    area: Rect,
    tile_h: u16,
    app: &App,
    host: &Host,
    selected: bool,
    stale: bool,
) {
    let t = &app.theme;
    // A stale tile keeps its last known colour on the name line; the rest is greyed.
    let mut style = t.health(host.health);
    let mut body = if stale { t.stale() } else { style };
    if selected {
        style = style.add_modifier(Modifier::REVERSED);
        body = body.add_modifier(Modifier::REVERSED);
    }
    let w = usize::from(col.width);
    if w == 0 {
        return;
    }
    let sym = super::host_symbol(host);
    let mut badge = String::new();
    let active = host.active_alerts();
    let muted = host.muted_alerts();
    if active > 0 {
        badge.push_str(&format!("⚑{active}"));
    }
    if muted > 0 {
        badge.push_str(&format!("⊘{muted}"));
    }
    // The name comes first: a badge that would cut it short is left out.
    if sanitize::width(&host.id.name) + 2 + sanitize::width(&badge) + 1 > w
        && sanitize::width(&host.id.name) + 2 <= w
    {
        badge.clear();
    }
    let badge_w = sanitize::width(&badge);
    let name_w = w.saturating_sub(2 + if badge_w > 0 { badge_w + 1 } else { 0 });
    let name = sanitize::fit(&host.id.name, name_w);
    let pad = w.saturating_sub(2 + sanitize::width(&name) + badge_w);
    let mut lines: Vec<Line<'_>> = Vec::new();
    let name_style = if selected {
        style.add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    } else {
        style.add_modifier(Modifier::BOLD)
    };
    lines.push(Line::from(vec![
        Span::styled(format!("{sym} "), style),
        Span::styled(name, name_style),
        Span::styled(" ".repeat(pad), style),
        Span::styled(badge, style),
    ]));
    let figs = figures(app, host);
    let reason = host.reasons.first().filter(|_| host.health != Health::Ok);
    if tile_h >= 5 && w >= 14 && !stale {
        big_tile_body(
            &mut lines, buf, col, top, area, app, host, style, body, tile_h, reason,
        );
    } else if tile_h == 1 {
        // One line: symbol, name and the first figure that fits.
        let l = &mut lines[0];
        let used: usize = l
            .spans
            .iter()
            .take(2)
            .map(|s| sanitize::width(&s.content))
            .sum();
        let room = w.saturating_sub(used + 1 + badge_w);
        if let Some((fig, _)) = figs.first() {
            let short = fig.split_once(' ').map_or(fig.as_str(), |x| x.1);
            if sanitize::width(short) <= room {
                l.spans[2] = Span::styled(
                    format!(
                        "{:>width$}",
                        short,
                        width = w.saturating_sub(used + badge_w)
                    ),
                    style,
                );
            }
        }
    } else {
        let mut rest: Vec<String> = Vec::new();
        if let Some(r) = reason {
            rest.push(sanitize::fit(r, w));
        }
        // The reason line already shows the worst figure.
        let figs: Vec<(String, MetricState)> = if reason.is_some() {
            figs.into_iter()
                .filter(|(_, st)| !matches!(st, MetricState::Warn | MetricState::Crit))
                .collect()
        } else {
            figs
        };
        let mut remaining = &figs[..];
        while rest.len() < usize::from(tile_h) - 1 {
            let (s, used) = pack(remaining, w);
            if used == 0 {
                break;
            }
            rest.push(s);
            remaining = &remaining[used..];
        }
        if stale {
            if let Some(age) = app.data_age() {
                let tag = format!("{} stale {}", super::STALE_SYMBOL, super::ago(age));
                if rest.len() >= usize::from(tile_h) - 1 {
                    rest.pop();
                }
                rest.push(tag);
            }
        }
        // No padding spans: each row is filled with its style below, so that spaces do not
        // go through the text path (grapheme segmentation, width checks) for nothing.
        for r in rest {
            lines.push(Line::from(Span::styled(r, body)));
        }
    }
    while lines.len() < usize::from(tile_h) {
        lines.push(Line::default());
    }
    // Tall tiles end with a sparkline of the configured metric (wall monitors).
    if tile_h >= 4 && !host.spark.is_empty() {
        let warn = app
            .grid
            .sparkline_metric
            .as_deref()
            .and_then(|k| app.metrics.index(k))
            .and_then(|i| host.thresholds(&app.metrics, i).0);
        let last = lines.len() - 1;
        lines[last] = Line::from(Span::styled(sparkline(&host.spark, w, warn), body));
    }
    for (k, line) in lines.iter().enumerate() {
        let y = top + i64::try_from(k).unwrap_or(0);
        if y < 0 || y >= i64::from(area.height) {
            continue;
        }
        let row = area.y + u16::try_from(y).unwrap_or(0);
        buf.set_style(
            Rect::new(col.x, row, col.width, 1),
            if k == 0 { style } else { body },
        );
        buf.set_line(col.x, row, line, col.width);
    }
}

/// Large tiles (wall monitors): the key figure in big digits, then one figure a line.
#[allow(clippy::too_many_arguments)]
fn big_tile_body<'a>(
    lines: &mut Vec<Line<'a>>,
    buf: &mut Buffer,
    col: Rect,
    top: i64,
    area: Rect,
    app: &App,
    host: &Host,
    style: Style,
    body: Style,
    tile_h: u16,
    reason: Option<&String>,
) {
    let w = usize::from(col.width);
    let pad = |s: String| {
        let n = w.saturating_sub(sanitize::width(&s));
        Line::from(vec![
            Span::styled(s, body),
            Span::styled(" ".repeat(n), body),
        ])
    };
    if let Some(r) = reason {
        lines.push(pad(sanitize::fit(r, w)));
    }
    // The key figure: the worst metric, else the first tile metric with a value.
    let set = &app.metrics;
    let key = set
        .metrics
        .iter()
        .enumerate()
        .filter(|(i, m)| {
            m.on_tile
                && host
                    .readings
                    .get(*i)
                    .is_some_and(|r| r.value.is_some() && r.state != MetricState::NotApplicable)
        })
        .max_by_key(|(i, _)| {
            let r = &host.readings[*i];
            (r.state.health(), std::cmp::Reverse(*i))
        });
    let mut big_row = None;
    // A DOWN host's figures are stale leftovers (node load at most): its reason says it.
    let key = key.filter(|_| host.health != Health::Down);
    if let Some((i, def)) = key {
        if let Some(v) = host.readings[i].value {
            let (digits, unit) = super::bigtext::figure_parts(v, def.unit);
            let label = format!("{} ", def.label);
            let bw = super::bigtext::width(&digits).unwrap_or(u16::MAX);
            let need = sanitize::width(&label) + usize::from(bw) + sanitize::width(unit);
            if need <= w {
                big_row = Some((lines.len(), label, digits, unit));
                for _ in 0..3 {
                    lines.push(pad(String::new()));
                }
            }
        }
    }
    let big_label = big_row.as_ref().map(|(_, l, _, _)| l.clone());
    for (t, _) in figures(app, host) {
        if lines.len() >= usize::from(tile_h) {
            break;
        }
        // The big figure is not repeated in small print.
        if big_label
            .as_ref()
            .is_some_and(|l| t.starts_with(l.as_str()))
        {
            continue;
        }
        lines.push(pad(sanitize::fit(&t, w)));
    }
    // Draw the big digits over their blank lines once the tile is placed.
    if let Some((row, label, digits, unit)) = big_row {
        let y = top + i64::try_from(row).unwrap_or(0);
        if y >= 0 && y + 3 <= i64::from(area.height) {
            let yy = area.y + u16::try_from(y).unwrap_or(0);
            for k in 0..3u16 {
                buf.set_string(col.x, yy + k, " ".repeat(w), body);
            }
            buf.set_string(col.x, yy + 2, &label, body);
            let lw = u16::try_from(sanitize::width(&label)).unwrap_or(0);
            if let Some(bw) = super::bigtext::draw(
                buf,
                col.x + lw,
                yy,
                col.width.saturating_sub(lw),
                &digits,
                style.add_modifier(Modifier::BOLD),
            ) {
                buf.set_string(col.x + lw + bw, yy + 2, unit, body);
            }
            // Mark these lines as already drawn.
            for k in 0..3 {
                lines[row + k] = Line::default();
            }
        }
    }
}

/// A one-line sparkline `w` columns wide of the newest values; gaps stay blank. The
/// scale reaches at least the warning threshold so that noise near zero stays flat.
pub fn sparkline(values: &[f64], w: usize, warn: Option<f64>) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let tail = &values[values.len().saturating_sub(w)..];
    let max = tail
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(warn.unwrap_or(0.0).max(f64::MIN_POSITIVE), f64::max);
    let mut out: String = " ".repeat(w.saturating_sub(tail.len()));
    for v in tail {
        if !v.is_finite() {
            out.push(' ');
            continue;
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let i = ((v.max(0.0) / max) * 7.0).round().clamp(0.0, 7.0) as usize;
        out.push(BARS[i]);
    }
    out
}

/// Only problems, and there are none: say so in big letters, with the fleet size.
fn all_ok(f: &mut Frame<'_>, area: Rect, app: &App) {
    let t = &app.theme;
    let style = t.health_text(Health::Ok).add_modifier(Modifier::BOLD);
    let text = "ALL OK";
    let bw = super::bigtext::width(text).unwrap_or(0);
    let y = area.y + area.height.saturating_sub(5) / 2;
    let buf = f.buffer_mut();
    let drawn = super::bigtext::draw(
        buf,
        area.x + area.width.saturating_sub(bw) / 2,
        y,
        area.width,
        text,
        style,
    );
    let n = app
        .fleet
        .hosts
        .iter()
        .filter(|h| app.grid.cluster.as_ref().is_none_or(|c| *c == h.id.cluster))
        .count();
    let clusters = if app.grid.cluster.is_some() {
        1
    } else {
        app.fleet.clusters.len()
    };
    let line = format!("{n} hosts in {clusters} clusters, none with a problem");
    let small_y = if drawn.is_some() { y + 4 } else { y };
    let msg = if drawn.is_some() {
        line
    } else {
        format!("{} ALL OK: {line}", super::symbol(Health::Ok))
    };
    let x = area.x
        + area
            .width
            .saturating_sub(u16::try_from(sanitize::width(&msg)).unwrap_or(0))
            / 2;
    if small_y < area.y + area.height {
        buf.set_stringn(x, small_y, &msg, usize::from(area.width), t.text());
    }
}

fn empty(f: &mut Frame<'_>, area: Rect, app: &App) {
    let t = &app.theme;
    if app.grid.only_problems
        && app.grid.hidden_ok > 0
        && app.grid.filter.is_empty()
        && app.grid.filter_edit.is_none()
    {
        all_ok(f, area, app);
        return;
    }
    let filt = app.grid.filter_edit.as_deref().unwrap_or(&app.grid.filter);
    let msg: Vec<Line<'_>> = if !app.fleet.hosts.is_empty() {
        let mut what = Vec::new();
        if !filt.is_empty() {
            what.push(format!("filter \"{}\"", sanitize::fit(filt, 40)));
        }
        if let Some(c) = &app.grid.cluster {
            what.push(format!("cluster {}", sanitize::fit(c, 40)));
        }
        vec![
            Line::styled(format!("No host matches {}.", what.join(" and ")), t.text()),
            Line::styled("Esc clears the filter; c cycles clusters.", t.dim()),
        ]
    } else if app.prom.last_ok.is_none() && app.prom.error.is_none() {
        vec![Line::styled("Waiting for the first refresh…", t.dim())]
    } else if let Some(e) = &app.prom.error {
        vec![
            Line::styled("No data: the metrics source is failing.", t.error()),
            Line::styled(
                sanitize::fit(e, usize::from(area.width).saturating_sub(4) * 3),
                t.text(),
            ),
        ]
    } else {
        vec![
            Line::styled("The fleet is empty: no query returned a host.", t.text()),
            Line::styled(
                "Check the Prometheus URL, the cluster filter and the metric expressions (see README).",
                t.dim(),
            ),
        ]
    };
    let y = area.y + area.height / 3;
    let r = Rect::new(
        area.x + 2,
        y,
        area.width.saturating_sub(4),
        area.height.saturating_sub(y - area.y),
    );
    f.render_widget(
        Paragraph::new(msg)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true })
            .style(Style::default()),
        r,
    );
}

#[cfg(test)]
mod tests {
    use super::sparkline;

    #[test]
    fn sparkline_scales_and_keeps_gaps() {
        assert_eq!(
            sparkline(&[0.0, 5.0, 10.0, f64::NAN, 10.0], 6, None),
            " ▁▅█ █"
        );
        // With a warning threshold of 30 a 0-1 s wobble stays flat.
        assert_eq!(sparkline(&[0.0, 1.0, 0.0, 1.0], 4, Some(30.0)), "▁▁▁▁");
        assert_eq!(sparkline(&[1.0; 10], 3, None), "███");
    }
}
