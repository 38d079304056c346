//! A cluster's replication tree, over the grid (`T`, or a click on a cluster title).
//!
//! ```text
//! ┌ topology: payments (16) ─ ↑↓ select · Enter panel · Esc back ──────────┐
//! │ ✓ payments-db01   primary                                               │
//! │ ├─ ✓ payments-db02   replica  lag 0s     io ✓ sql ✓                     │
//! │ │  └─ ✓ payments-db05   replica  lag 3s     io ✓ sql ✓                  │
//! │ └─ ✖ payments-db03   replica  lag —      io ✓ sql ✗  sql thread stopped │
//! │ ? source 10.0.0.9: not on the board                                     │
//! │ └─ ▲ payments-db09   replica  lag 41s    io ✓ sql ✓                     │
//! └─────────────────────────────────────────────────────────────────────────┘
//! ```

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use crate::app::App;
use crate::fleet::topology::{TreeItem, TreeRow};
use crate::model::{Health, Host};
use crate::sanitize;

/// The topology popup (`T`): the open cluster as a replication tree, each node with its
/// health, lag and thread or streaming state; replicas whose source is not on the board
/// under a row naming that source.
pub fn render(f: &mut Frame<'_>, area: Rect, app: &App) {
    let Some(topo) = &app.topology else { return };
    let t = &app.theme;
    let r = Rect {
        x: area.x + area.width.saturating_sub(area.width.min(110)) / 2,
        width: area.width.min(110),
        ..area
    };
    let n = app
        .fleet
        .hosts
        .iter()
        .filter(|h| h.id.cluster == topo.cluster)
        .count();
    let title = format!(
        " topology: {} ({n}) ─ ↑↓ select · Enter panel · Esc back ",
        sanitize::fit(&topo.cluster, 40)
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border(true))
        .title(Span::styled(title, t.title()));
    let inner = block.inner(r);
    f.render_widget(Clear, r);
    f.render_widget(block, r);
    let h = usize::from(inner.height);
    let first = topo.selected.saturating_sub(h.saturating_sub(1));
    let mut lines: Vec<Line<'_>> = Vec::new();
    if topo.rows.is_empty() {
        lines.push(Line::styled(
            "No host of this cluster is on the board.",
            t.dim(),
        ));
    }
    for (k, row) in topo.rows.iter().enumerate().skip(first).take(h) {
        let prefix = branch(&topo.rows, k);
        let mut line = match &row.item {
            TreeItem::Host(i) => host_line(app, &app.fleet.hosts[*i], prefix),
            TreeItem::Channel(h, c) => channel_line(app, &app.fleet.hosts[*h], *c, prefix),
            TreeItem::Group => Line::from(vec![
                Span::raw(prefix),
                Span::styled("Group Replication", t.title()),
            ]),
            TreeItem::Galera => Line::from(vec![
                Span::raw(prefix),
                Span::styled("Galera cluster", t.title()),
            ]),
            TreeItem::MissingSource(src) => Line::from(vec![
                Span::raw(prefix),
                Span::styled(
                    format!("{} ", super::symbol(Health::Unknown)),
                    t.health_text(Health::Unknown),
                ),
                Span::styled(
                    match src {
                        Some(s) => format!("source {}: not on the board", sanitize::fit(s, 60)),
                        None => "source unknown: replicas that name no source the board knows"
                            .to_string(),
                    },
                    t.dim(),
                ),
            ]),
        };
        if k == topo.selected {
            // Each span carries its own colour: the selection must win over every one of
            // them, or grey on the selection's light background is unreadable.
            for sp in &mut line.spans {
                sp.style = sp.style.patch(t.selected());
            }
            line = line.patch_style(t.selected());
        }
        lines.push(line);
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// Tree-drawing prefix of row `k`: `│  ` for each open ancestor, then `├─ ` or `└─ `.
fn branch(rows: &[TreeRow], k: usize) -> String {
    let d = rows[k].depth;
    if d == 0 {
        return String::new();
    }
    // Whether another row at `depth` follows before the tree climbs above it.
    let more_at = |depth: usize| {
        rows[k + 1..]
            .iter()
            .take_while(|r| r.depth >= depth)
            .any(|r| r.depth == depth)
    };
    let mut s = String::new();
    for a in 1..d {
        s.push_str(if more_at(a) { "│  " } else { "   " });
    }
    s.push_str(if more_at(d) { "├─ " } else { "└─ " });
    s
}

fn yes_no(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "✓",
        Some(false) => "✗",
        None => "?",
    }
}

fn lag(l: Option<f64>) -> String {
    l.map_or_else(|| "—".to_string(), |l| format!("{l:.0}s"))
}

/// One channel of a multi-source replica: its name, source, threads and lag.
fn channel_line(app: &App, h: &Host, c: usize, prefix: String) -> Line<'static> {
    let t = &app.theme;
    let Some(ch) = h.replication.as_ref().and_then(|r| r.channels.get(c)) else {
        return Line::raw(prefix);
    };
    let name = if ch.name.is_empty() {
        "(default)".to_string()
    } else {
        sanitize::fit(&ch.name, 24)
    };
    Line::from(vec![
        Span::raw(prefix),
        Span::styled(
            format!("{} ", super::symbol(ch.health)),
            t.health_text(ch.health),
        ),
        Span::styled(format!("channel {name}"), t.text()),
        Span::styled(
            format!(
                " ← {}",
                ch.source
                    .as_deref()
                    .map_or_else(|| "?".to_string(), |s| sanitize::fit(s, 40))
            ),
            t.dim(),
        ),
        Span::styled(
            format!(
                "  lag {:<7} io {} sql {}",
                lag(ch.lag_seconds),
                yes_no(ch.io_running),
                yes_no(ch.sql_running)
            ),
            t.text(),
        ),
    ])
}

fn host_line(app: &App, h: &Host, prefix: String) -> Line<'static> {
    let t = &app.theme;
    let mut spans = vec![
        Span::raw(prefix),
        Span::styled(
            format!("{} ", super::symbol(h.health)),
            t.health_text(h.health),
        ),
        Span::styled(
            format!("{:<22}", sanitize::fit(&h.id.name, 40)),
            t.text().add_modifier(Modifier::BOLD),
        ),
        Span::styled(format!(" {:<15}", h.role.label()), t.dim()),
    ];
    if let Some(g) = &h.group {
        spans.push(Span::styled(
            format!(
                " {} {}/{} online",
                sanitize::fit(&g.state, 12),
                g.online,
                g.members
            ),
            t.text(),
        ));
    }
    if let Some(g) = &h.galera {
        spans.push(Span::styled(format!(" {}", g.state_name), t.text()));
    }
    if let Some(r) = &h.replication {
        spans.push(Span::styled(
            format!(" lag {:<7}", lag(r.lag_seconds)),
            t.text(),
        ));
        // PostgreSQL has no I/O and SQL threads: its WAL receiver streams or not.
        let threads = if h.engine == Some(crate::model::Engine::Postgres) {
            format!(" streaming {}", yes_no(r.streaming))
        } else {
            format!(" io {} sql {}", yes_no(r.io_running), yes_no(r.sql_running))
        };
        spans.push(Span::styled(threads, t.text()));
    }
    if h.health != Health::Ok {
        if let Some(reason) = h.reasons.first() {
            spans.push(Span::styled(
                format!("  {}", sanitize::fit(reason, 60)),
                t.health_text(h.health),
            ));
        }
    }
    Line::from(spans)
}
