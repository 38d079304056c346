//! The host panel: every metric with value, thresholds and state; replication;
//! alerts; labels.
//!
//! ```text
//! ┌ ✖ payments-db02 · payments · replica of payments-db01 ───────────┐
//! │ CRIT: sql thread stopped; alert MySQLReplicationStopped          │
//! │ metric        value      warn     crit     state                 │
//! │ Replication   source …   IO yes   SQL no   lag —                 │
//! │ Alerts (1)    ✖ MySQLReplicationStopped  critical  active  7m    │
//! │ Labels        cluster=payments instance=payments-db02:9104       │
//! └──────────────────────────────────────────────────────────────────┘
//! ```

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use crate::app::App;
use crate::model::format::format_value;
use crate::model::AlertState;
use crate::model::Kind;
use crate::model::{Health, HostId, MetricState, Role};
use crate::sanitize;

fn state_label(s: MetricState) -> (&'static str, Option<Health>) {
    match s {
        MetricState::Ok => ("✓ OK", Some(Health::Ok)),
        MetricState::Warn => ("▲ WARN", Some(Health::Warn)),
        MetricState::Crit => ("✖ CRIT", Some(Health::Crit)),
        MetricState::Down => ("▼ DOWN", Some(Health::Down)),
        MetricState::Unknown => ("? UNKNOWN", Some(Health::Unknown)),
        MetricState::NotApplicable => ("· n/a", None),
    }
}

#[allow(clippy::too_many_lines)]
pub fn render(f: &mut Frame<'_>, area: Rect, app: &App, id: &HostId) {
    let t = &app.theme;
    let Some(host) = app.fleet.find(id) else {
        let p = Paragraph::new(vec![
            Line::styled(
                format!(
                    "{} ({}) is no longer in the fleet data.",
                    sanitize::fit(&id.name, 60),
                    sanitize::fit(&id.cluster, 40)
                ),
                t.error(),
            ),
            Line::styled("Esc goes back to the grid.", t.dim()),
        ])
        .block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(t.border(true)),
        );
        f.render_widget(p, area);
        return;
    };
    let stale = app.is_stale();
    let mut title = vec![
        Span::styled(
            format!(" {} ", super::symbol(host.health)),
            t.health(host.health),
        ),
        Span::styled(format!(" {} ", sanitize::fit(&host.id.name, 50)), t.title()),
        Span::styled(
            format!(
                "· {} · {}",
                sanitize::fit(&host.id.cluster, 30),
                host.role.as_str()
            ),
            t.dim(),
        ),
    ];
    if let Some(src) = host.replication.as_ref().and_then(|r| r.source.as_ref()) {
        title.push(Span::styled(
            format!(" of {}", sanitize::fit(src, 40)),
            t.dim(),
        ));
    }
    title.push(Span::raw(" "));
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border(true))
        .title(Line::from(title))
        .title_bottom(Line::from(vec![Span::styled(
            format!(
                " history {} · 1-5 window · ←→ host · Esc back ",
                crate::app::history::WINDOWS[app.window.min(4)].0
            ),
            t.dim(),
        )]));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let chart_defs: Vec<_> = app.metrics.metrics.iter().filter(|m| m.chart).collect();
    let (info, charts) = crate::layout::panel_split(inner, chart_defs.len());
    for (r, def) in charts.iter().zip(&chart_defs) {
        super::charts::render(f, *r, app, id, def);
    }
    let w = usize::from(info.width.saturating_sub(1));

    let mut lines: Vec<Line<'_>> = Vec::new();
    // Verdict first: what is wrong, in words.
    let mut verdict = vec![Span::styled(
        format!("{} {}", super::symbol(host.health), host.health.as_str()),
        t.health_text(host.health),
    )];
    if host.reasons.is_empty() {
        verdict.push(Span::styled("  all metrics within thresholds", t.dim()));
    } else {
        verdict.push(Span::styled(
            format!(
                "  {}",
                sanitize::fit(&host.reasons.join("; "), w.saturating_sub(10))
            ),
            t.text(),
        ));
    }
    lines.push(Line::from(verdict));
    if let Some(src) = &host.source {
        let mut l = vec![Span::styled(
            format!("source {}", sanitize::fit(src, 30)),
            t.dim(),
        )];
        if let Some(st) = app.fleet.sources.iter().find(|s| &s.name == src) {
            l.push(Span::styled(
                format!("  {}", sanitize::fit(&st.url, 40)),
                t.dim(),
            ));
            let problems = super::header::source_problems(std::slice::from_ref(st));
            if !problems.is_empty() {
                l.push(Span::styled(
                    format!(
                        "  {}",
                        sanitize::fit(&problems.join("; "), w.saturating_sub(40))
                    ),
                    t.error(),
                ));
            }
        }
        lines.push(Line::from(l));
    }
    if stale {
        let age = app.data_age().map_or_else(|| "never".into(), super::ago);
        lines.push(Line::styled(
            format!(
                "{} data is stale: last good refresh {age} ago",
                super::STALE_SYMBOL
            ),
            t.error(),
        ));
    }
    lines.push(Line::raw(""));

    let cols = [14usize, 12, 10, 10];
    lines.push(Line::styled(
        format!(
            "{:<14}{:>12}{:>10}{:>10}  {}",
            "metric", "value", "warn", "crit", "state"
        ),
        t.title(),
    ));
    for (i, def) in app.metrics.metrics.iter().enumerate() {
        if def.kind == Kind::Info {
            continue;
        }
        let Some(r) = host.readings.get(i) else {
            continue;
        };
        let v = r
            .value
            .map_or_else(|| "—".to_string(), |x| format_value(x, def.unit));
        let th = |x: Option<f64>| x.map_or_else(String::new, |x| format_value(x, def.unit));
        let (warn, crit) = host.thresholds(&app.metrics, i);
        let (label, h) = state_label(r.state);
        let st = h.map_or_else(|| t.dim(), |h| t.health_text(h));
        let mut spans = vec![
            Span::styled(
                format!(
                    "{:<width$}",
                    sanitize::fit(&def.label, cols[0] - 1),
                    width = cols[0]
                ),
                t.text(),
            ),
            Span::styled(format!("{v:>12}"), t.text()),
            Span::styled(format!("{:>10}{:>10}  ", th(warn), th(crit)), t.dim()),
            Span::styled(label, st),
        ];
        if r.stale {
            spans.push(Span::styled(" (stale: query failed)", t.error()));
        }
        if let Some(n) = &r.note {
            spans.push(Span::styled(
                format!("  {}", sanitize::fit(n, w.saturating_sub(60).max(20))),
                t.dim(),
            ));
        }
        lines.push(Line::from(spans));
    }

    lines.push(Line::raw(""));
    lines.push(Line::styled("Replication", t.title()));
    match (&host.replication, host.role) {
        (Some(r), _) => {
            let yn = |b: Option<bool>| match b {
                Some(true) => ("running", Health::Ok),
                Some(false) => ("STOPPED", Health::Crit),
                None => ("unknown", Health::Unknown),
            };
            let (io, ioh) = yn(r.io_running);
            let (sql, sqlh) = yn(r.sql_running);
            let lag = r.lag_seconds.map_or_else(
                || {
                    if r.io_running == Some(false) || r.sql_running == Some(false) {
                        "— (thread stopped)".to_string()
                    } else {
                        "—".to_string()
                    }
                },
                |x| format_value(x, crate::model::Unit::Seconds),
            );
            lines.push(Line::from(vec![
                Span::styled("  source ", t.dim()),
                Span::styled(
                    r.source
                        .as_deref()
                        .map_or_else(|| "unknown".to_string(), |s| sanitize::fit(s, 40)),
                    t.text(),
                ),
                Span::styled("   IO thread ", t.dim()),
                Span::styled(io, t.health_text(ioh)),
                Span::styled("   SQL thread ", t.dim()),
                Span::styled(sql, t.health_text(sqlh)),
                Span::styled("   lag ", t.dim()),
                Span::styled(lag, t.text()),
            ]));
        }
        (None, Role::Primary) => lines.push(Line::styled(
            "  primary (read_only=0, no replication source)",
            t.dim(),
        )),
        (None, _) => lines.push(Line::styled("  no replication data", t.dim())),
    }

    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!("Alerts ({})", host.alerts.len()),
        t.title(),
    ));
    if host.alerts.is_empty() {
        lines.push(Line::styled("  none", t.dim()));
    }
    let mut alerts: Vec<_> = host.alerts.iter().collect();
    alerts.sort_by_key(|a| {
        (
            a.state != AlertState::Active,
            crate::fleet::health::alert_health(a).severity_rank(),
            a.starts_at,
        )
    });
    for a in alerts {
        let h = crate::fleet::health::alert_health(a);
        let state = match a.state {
            AlertState::Active => "active",
            AlertState::Suppressed if !a.silenced_by.is_empty() => "silenced",
            AlertState::Suppressed => "inhibited",
            AlertState::Unprocessed => "unprocessed",
        };
        let since = a
            .starts_at
            .map(|s| format!("for {}", super::ago((app.now - s).num_seconds())))
            .unwrap_or_default();
        let sty = if a.state == AlertState::Active {
            t.health_text(h)
        } else {
            t.dim()
        };
        lines.push(Line::from(vec![
            Span::styled(
                format!(
                    "  {} ",
                    if a.state == AlertState::Active {
                        super::symbol(h)
                    } else {
                        "⊘"
                    }
                ),
                sty,
            ),
            Span::styled(format!("{:<28}", sanitize::fit(a.name(), 28)), sty),
            Span::styled(
                format!(
                    " {:<9} {:<10} {:<9} ",
                    sanitize::fit(a.severity_label(), 9),
                    state,
                    since
                ),
                t.dim(),
            ),
            Span::styled(
                sanitize::fit(a.summary(), w.saturating_sub(64).max(10)),
                t.text(),
            ),
        ]));
    }

    lines.push(Line::raw(""));
    lines.push(Line::styled("Labels", t.title()));
    let mut row = String::from(" ");
    for (k, v) in host.labels.iter() {
        let item = format!(" {}={}", sanitize::fit(k, 30), sanitize::fit(v, 60));
        if sanitize::width(&row) + sanitize::width(&item) > w && row.len() > 1 {
            lines.push(Line::styled(
                std::mem::replace(&mut row, String::from(" ")),
                t.text(),
            ));
        }
        row.push_str(&item);
    }
    if row.len() > 1 {
        lines.push(Line::styled(row, t.text()));
    }
    if !app.fleet.notes.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled("Data notes", t.title()));
        for n in &app.fleet.notes {
            lines.push(Line::styled(
                format!("  {}", sanitize::fit(n, w.saturating_sub(2))),
                t.dim(),
            ));
        }
    }

    let total = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    let scroll = app.panel_scroll.min(total.saturating_sub(info.height));
    f.render_widget(Paragraph::new(lines).scroll((scroll, 0)), info);
}
