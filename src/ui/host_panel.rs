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

use crate::app::{App, Screen};
use crate::model::format::format_value;
use crate::model::AlertState;
use crate::model::Kind;
use crate::model::Unit;
use crate::model::{Channel, Health, Host, HostId, MetricState, Replication, Role};
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

/// The host panel (Enter on a host): health and reasons, current values, replication
/// details, the host's alerts, links and history charts, in `area`; a note when the host
/// is no longer on the board.
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
            format!(" {} ", super::host_symbol(host)),
            t.health(host.health),
        ),
        Span::styled(format!(" {} ", sanitize::fit(&host.id.name, 50)), t.title()),
        Span::styled(
            format!(
                "· {} · {}{}",
                sanitize::fit(&host.id.cluster, 30),
                // the engine tells hosts apart on a board of several engines
                host.engine
                    .filter(|_| several_engines(&app.metrics))
                    .map_or(String::new(), |e| format!("{} ", e.name())),
                host.role.label()
            ),
            t.dim(),
        ),
    ];
    // One source, or every channel's for a multi-source replica.
    let sources = host.replication.as_ref().and_then(|r| {
        r.source.clone().or_else(|| {
            let all: Vec<&str> = r
                .channels
                .iter()
                .filter_map(|c| c.source.as_deref())
                .collect();
            (!all.is_empty()).then(|| all.join(", "))
        })
    });
    if let Some(src) = sources {
        title.push(Span::styled(
            format!(" of {}", sanitize::fit(&src, 40)),
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
                crate::app::history::WINDOWS[app.panel.window.min(4)].0
            ),
            t.dim(),
        )]));
    let mut inner = block.inner(area);
    f.render_widget(block, area);
    if let Some(row) = links_area(app, inner) {
        let segs = links_row(app);
        f.render_widget(
            Paragraph::new(Line::from(
                segs.into_iter()
                    .map(|(s, st, _)| Span::styled(s, st))
                    .collect::<Vec<_>>(),
            )),
            row,
        );
        inner.y += 1;
        inner.height -= 1;
    }
    let chart_defs: Vec<_> = app.metrics.metrics.iter().filter(|m| m.chart).collect();
    let (info, charts) = crate::layout::panel_split(inner, chart_defs.len());
    for (r, def) in charts.iter().zip(&chart_defs) {
        super::charts::render(f, *r, app, id, def);
    }
    let w = usize::from(info.width.saturating_sub(1));

    let mut lines: Vec<Line<'_>> = Vec::new();
    // Verdict first: what is wrong, in words.
    let mut verdict = vec![Span::styled(
        format!(
            "{} {}",
            super::host_symbol(host),
            if host.exporter_down {
                "EXPORTER DOWN"
            } else {
                host.health.as_str()
            }
        ),
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
        if matches!(def.kind, Kind::Info | Kind::Detail) || !def.fits(host.engine) {
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
    let mut head = vec![Span::styled("Replication", t.title())];
    if let Some(why) = host.role_evidence {
        head.push(Span::styled(
            format!("  ({} from {why})", host.role.label()),
            t.dim(),
        ));
    }
    lines.push(Line::from(head));
    if host.engine == Some(crate::model::Engine::Postgres) {
        postgres_lines(&mut lines, app, host);
    } else {
        replication_lines(&mut lines, app, host, w);
    }
    topology_lines(&mut lines, app, host);

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
    if !host.aliases.is_empty() {
        // Targets of this machine that another exporter names differently (joined).
        let names: Vec<String> = host.aliases.iter().map(|a| sanitize::fit(a, 60)).collect();
        lines.push(Line::from(vec![
            Span::styled("  also named ", t.dim()),
            Span::styled(
                sanitize::fit(&names.join(", "), w.saturating_sub(14)),
                t.text(),
            ),
        ]));
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
    let scroll = app.panel.scroll.min(total.saturating_sub(info.height));
    f.render_widget(Paragraph::new(lines).scroll((scroll, 0)), info);
}

fn several_engines(set: &crate::model::MetricSet) -> bool {
    let mut es = set.metrics.iter().filter_map(|m| m.engine);
    es.next().is_some_and(|first| es.any(|e| e != first))
}

/// A PostgreSQL server's replication: source (cascading or not), streaming, replay lag and
/// the bytes its source's walsender reports it behind.
fn postgres_lines(lines: &mut Vec<Line<'_>>, app: &App, host: &Host) {
    let t = &app.theme;
    let Some(r) = &host.replication else {
        lines.push(Line::styled(
            if host.role == Role::Primary {
                "  primary (not in recovery)"
            } else {
                "  no replication data"
            },
            t.dim(),
        ));
        return;
    };
    let (st, sth) = match r.streaming {
        Some(true) => ("yes", Health::Ok),
        Some(false) => ("NO", Health::Crit),
        None => ("unknown", Health::Unknown),
    };
    let lag = r.lag_seconds.map_or_else(
        || {
            if r.streaming == Some(false) {
                "— (not streaming)".to_string()
            } else {
                "—".to_string()
            }
        },
        |x| format_value(x, crate::model::Unit::Seconds),
    );
    let mut spans = vec![
        Span::styled("  source ", t.dim()),
        Span::styled(
            r.source
                .as_deref()
                .map_or_else(|| "unknown".to_string(), |s| sanitize::fit(s, 40)),
            t.text(),
        ),
    ];
    if r.cascading {
        spans.push(Span::styled(" (cascading)", t.dim()));
    }
    spans.extend([
        Span::styled("   streaming ", t.dim()),
        Span::styled(st, t.health_text(sth)),
        Span::styled("   replay lag ", t.dim()),
        Span::styled(lag, t.text()),
    ]);
    if let Some(d) = r.delay_seconds {
        spans.push(Span::styled(
            format!(
                " (intended delay {})",
                format_value(d, crate::model::Unit::Seconds)
            ),
            t.dim(),
        ));
    }
    if let Some(b) = r.behind_bytes {
        spans.push(Span::styled("   behind ", t.dim()));
        spans.push(Span::styled(
            format!("{}B", crate::model::format::compact(b)),
            t.text(),
        ));
    }
    lines.push(Line::from(spans));
}

fn thread(b: Option<bool>) -> (&'static str, Health) {
    match b {
        Some(true) => ("running", Health::Ok),
        Some(false) => ("STOPPED", Health::Crit),
        None => ("unknown", Health::Unknown),
    }
}

/// `5s`, `— (thread stopped)`, or with an intended delay `delayed 1h00m by design, 5s behind`.
fn lag_text(lag: Option<f64>, delay: Option<f64>, behind: Option<f64>, stopped: bool) -> String {
    let secs = |x: f64| format_value(x, Unit::Seconds);
    match (lag, delay) {
        (None, Some(d)) if stopped => format!("— (thread stopped; delayed {} by design)", secs(d)),
        (None, _) if stopped => "— (thread stopped)".to_string(),
        (None, _) => "—".to_string(),
        (Some(_), Some(d)) => format!(
            "delayed {} by design, {} behind",
            secs(d),
            behind.map_or_else(|| "—".into(), secs)
        ),
        (Some(l), None) => secs(l),
    }
}

/// The replication status: one line for a single-source replica (today's), one line per
/// channel for several.
fn replication_lines(lines: &mut Vec<Line<'_>>, app: &App, host: &Host, w: usize) {
    let t = &app.theme;
    let Some(r) = &host.replication else {
        lines.push(match host.role {
            Role::Primary => Line::styled(
                format!(
                    "  primary ({}, no replication source)",
                    host.role_evidence.unwrap_or("read_only=0")
                ),
                t.dim(),
            ),
            Role::GroupPrimary | Role::GroupSecondary | Role::Galera => {
                Line::styled("  no asynchronous replication channel", t.dim())
            }
            _ => Line::styled("  no replication data", t.dim()),
        });
        return;
    };
    let channel_line = |label: String, c: &Channel| -> Line<'static> {
        let (io, ioh) = thread(c.io_running);
        let (sql, sqlh) = thread(c.sql_running);
        let stopped = c.io_running == Some(false) || c.sql_running == Some(false);
        Line::from(vec![
            Span::styled(
                format!("  {} ", super::symbol(c.health)),
                t.health_text(c.health),
            ),
            Span::styled(label, t.text()),
            Span::styled("source ", t.dim()),
            Span::styled(
                c.source
                    .as_deref()
                    .map_or_else(|| "unknown".to_string(), |s| sanitize::fit(s, 40)),
                t.text(),
            ),
            Span::styled("  IO ", t.dim()),
            Span::styled(io, t.health_text(ioh)),
            Span::styled("  SQL ", t.dim()),
            Span::styled(sql, t.health_text(sqlh)),
            Span::styled("  lag ", t.dim()),
            Span::styled(
                sanitize::fit(
                    &lag_text(c.lag_seconds, c.delay_seconds, c.behind_seconds, stopped),
                    w.saturating_sub(60).max(20),
                ),
                t.text(),
            ),
        ])
    };
    match r.channels.as_slice() {
        [] => lines.push(single(app, r)),
        [only] => lines.push(channel_line(
            if only.name.is_empty() {
                String::new()
            } else {
                format!("channel '{}' ", sanitize::fit(&only.name, 30))
            },
            only,
        )),
        many => {
            lines.push(Line::styled(
                format!("  {} channels, health of the worst:", many.len()),
                t.dim(),
            ));
            for c in many {
                let name = if c.name.is_empty() {
                    "(default)".to_string()
                } else {
                    sanitize::fit(&c.name, 30)
                };
                lines.push(channel_line(format!("channel '{name}' "), c));
            }
        }
    }
    if let Some(n) = r.naming {
        lines.push(Line::styled(
            format!("  exporter reports {}", n.as_str()),
            t.dim(),
        ));
    }
    if !host.heartbeat_from.is_empty() {
        // Which heartbeat rows the lag is, and what was taken off them (a clock offset).
        let rows: Vec<String> = host
            .heartbeat_from
            .iter()
            .map(|(w, age)| {
                if *age == 0.0 {
                    format!("server_id {w}")
                } else {
                    format!(
                        "server_id {w} less its age on the writer ({})",
                        crate::model::format::format_seconds(*age)
                    )
                }
            })
            .collect();
        lines.push(Line::styled(
            sanitize::fit(
                &format!(
                    "  lag from the pt-heartbeat {} of {}",
                    if rows.len() == 1 { "row" } else { "rows" },
                    rows.join(", ")
                ),
                w,
            ),
            t.dim(),
        ));
    }
}

/// A replica known only by `read_only`: no channel, today's one line.
fn single(app: &App, r: &Replication) -> Line<'static> {
    let t = &app.theme;
    let (io, ioh) = thread(r.io_running);
    let (sql, sqlh) = thread(r.sql_running);
    let stopped = r.io_running == Some(false) || r.sql_running == Some(false);
    Line::from(vec![
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
        Span::styled(
            lag_text(r.lag_seconds, r.delay_seconds, r.behind_seconds, stopped),
            t.text(),
        ),
    ])
}

/// Group Replication and Galera membership.
fn topology_lines(lines: &mut Vec<Line<'_>>, app: &App, host: &Host) {
    let t = &app.theme;
    if let Some(g) = &host.group {
        lines.push(Line::styled(
            format!(
                "  group replication: member {} · {} · {}/{} members ONLINE{}{}",
                sanitize::fit(&g.state, 12),
                if g.role.is_empty() {
                    "?".to_string()
                } else {
                    sanitize::fit(&g.role, 12)
                },
                g.online,
                g.members,
                if g.quorum { "" } else { " · NO QUORUM" },
                g.applier_queue
                    .map(|q| format!(" · applier queue {q:.0}"))
                    .unwrap_or_default()
            ),
            t.text(),
        ));
    }
    if let Some(n) = &host.galera {
        let yn = |b: Option<bool>, yes: &str, no: &str| match b {
            Some(true) => yes.to_string(),
            Some(false) => no.to_string(),
            None => "?".to_string(),
        };
        lines.push(Line::styled(
            format!(
                "  galera: {} · {} · {}{}",
                n.state_name,
                yn(n.primary_component, "primary component", "NON-PRIMARY"),
                yn(n.ready, "ready", "NOT READY"),
                n.cluster_size
                    .map(|s| format!(" · cluster size {s:.0}"))
                    .unwrap_or_default()
            ),
            t.text(),
        ));
    }
}

/// A hyperlink drawn in the panel: its cells and its URL (OSC 8 is written over them by
/// the runtime, which alone writes to the terminal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSpot {
    /// Screen column of the link's first cell.
    pub x: u16,
    /// Screen row.
    pub y: u16,
    /// Cells the link's text takes.
    pub width: u16,
    /// The URL the terminal opens (already checked and sanitised).
    pub url: String,
}

/// The links row: the first line inside the panel, when links or commands are configured.
fn links_area(app: &App, inner: Rect) -> Option<Rect> {
    (!app.panel.links.is_empty() && inner.height >= 4).then_some(Rect { height: 1, ..inner })
}

/// The links row as styled segments; link names carry their URL (a template the host's
/// values do not fit gives no URL, and its name is drawn dim).
fn links_row(app: &App) -> Vec<(String, ratatui::style::Style, Option<String>)> {
    use crate::links::{self, Picking};
    let t = &app.theme;
    let cfg = &app.panel.links.config;
    let vars = links::vars_of(app);
    let mut out = Vec::new();
    let ask = app.panel.links.picking;
    if ask != Some(Picking::Command) && !cfg.urls.is_empty() {
        let head = if ask.is_some() {
            "open which link? "
        } else {
            "links "
        };
        out.push((head.to_string(), t.title(), None));
        for (i, u) in cfg.urls.iter().enumerate() {
            let url = vars.and_then(|v| links::render_url(&u.template, &v).ok());
            out.push((format!("{} ", i + 1), t.key(), None));
            let st = if url.is_some() { t.text() } else { t.dim() };
            out.push((sanitize::fit(&u.name, 24), st, url));
            out.push(("  ".into(), t.dim(), None));
        }
    }
    if ask != Some(Picking::Url) && !cfg.commands.is_empty() {
        let head = if ask.is_some() {
            "run which command? "
        } else {
            "commands "
        };
        out.push((head.to_string(), t.title(), None));
        for (i, c) in cfg.commands.iter().enumerate() {
            out.push((format!("{} ", i + 1), t.key(), None));
            out.push((sanitize::fit(&c.name, 24), t.text(), None));
            out.push(("  ".into(), t.dim(), None));
        }
    }
    let key = |c| {
        app.keymap
            .key_of(crate::app::keymap::Ctx::Panel, c)
            .map_or_else(String::new, |k| k.to_string())
    };
    use crate::app::keymap::Cmd;
    let hint = match ask {
        Some(_) => "any other key cancels".to_string(),
        None if cfg.urls.is_empty() => format!("{} run", key(Cmd::RunCommand)),
        None if cfg.commands.is_empty() => format!("{} open", key(Cmd::OpenLink)),
        None => format!("{} open · {} run", key(Cmd::OpenLink), key(Cmd::RunCommand)),
    };
    out.push((hint, t.dim(), None));
    out
}

/// Where the panel's hyperlinks are on screen; `body` is the area the panel is drawn in.
/// Empty when something covers the panel.
pub fn link_spots(app: &App, body: Rect) -> Vec<LinkSpot> {
    if app.help.open || app.alerts.form.is_some() || app.alerts.confirm.is_some() {
        return Vec::new();
    }
    let Screen::Host(id) = &app.screen else {
        return Vec::new();
    };
    if app.fleet.find(id).is_none() {
        return Vec::new();
    }
    let inner = Block::default().borders(Borders::ALL).inner(body);
    let Some(row) = links_area(app, inner) else {
        return Vec::new();
    };
    let mut x = row.x;
    let end = row.x.saturating_add(row.width);
    let mut spots = Vec::new();
    for (text, _, url) in links_row(app) {
        let w = u16::try_from(sanitize::width(&text)).unwrap_or(u16::MAX);
        if x.saturating_add(w) > end {
            break;
        }
        if let Some(url) = url {
            spots.push(LinkSpot {
                x,
                y: row.y,
                width: w,
                url,
            });
        }
        x += w;
    }
    spots
}
