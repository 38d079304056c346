//! Wiring: settings → data source, and the one-shot snapshot.

use std::sync::Arc;

use chrono::Utc;

use crate::cli::Format;
use crate::config::Settings;
use crate::poller::Merger;
use crate::report;
use crate::sources::alertmanager::AmClient;
use crate::sources::demo::DemoSource;
use crate::sources::multi::Member;
use crate::sources::prometheus::PromClient;
use crate::sources::{FleetSource, PollRequest, PromSource};

/// The data source the settings ask for.
///
/// # Errors
///
/// A message when no Prometheus source is configured (outside demo mode), or a Prometheus or
/// Alertmanager client cannot be built (a bad URL, TLS file or header).
pub fn make_source(s: &Settings) -> Result<Arc<dyn FleetSource>, String> {
    let keys: Vec<String> = s.metrics.metrics.iter().map(|m| m.key.clone()).collect();
    if s.demo {
        return Ok(Arc::new(DemoSource::new(
            keys,
            &s.identity.host_label,
            &s.identity.cluster_label,
        )));
    }
    if s.sources.is_empty() {
        return Err("no Prometheus URL: pass -p URL (or FLEETBOARD_PROMETHEUS, or `url` under [prometheus] in the config file), or try --demo".into());
    }
    // Servers with the same name are one HA group (adjacent after config resolution).
    let mut members: Vec<Member> = Vec::new();
    for p in &s.sources {
        let client = PromClient::new(&p.endpoint.url, &p.endpoint.http)
            .map_err(|e| format!("prometheus {}: {e}", p.name))?
            .with_deny_partial(p.deny_partial);
        match members.last_mut() {
            Some(m) if m.name == p.name => {
                m.clients.push(client);
                // One query form per source: its servers hold the same series.
                m.united_query &= p.united_query;
                for (k, v) in &p.labels {
                    if !m.labels.iter().any(|(x, _)| x == k) {
                        m.labels.push((k.clone(), v.clone()));
                    }
                }
            }
            _ => members.push(
                Member::new(p.name.clone(), vec![client], p.labels.clone())
                    .with_united_query(p.united_query),
            ),
        }
    }
    let mut ams = Vec::new();
    for a in &s.alertmanagers {
        ams.push(AmClient::new(&a.url, &a.http).map_err(|e| format!("alertmanager: {e}"))?);
    }
    let parts = s
        .metrics
        .metrics
        .iter()
        .map(|m| (m.key.clone(), m.expr.clone()))
        .collect();
    Ok(Arc::new(
        PromSource::with_members(members, ams, parts)
            .with_watchdog(s.watchdog.clone())
            .watchdog_required(s.watchdog_configured),
    ))
}

/// Output of `fleetboard snapshot`.
pub struct SnapshotOutput {
    /// The report: an aligned text table, or pretty-printed JSON for `--format json`.
    pub stdout: String,
    /// Warnings for the operator, one per line and control characters escaped: a failed
    /// Prometheus or failed queries, unreachable Alertmanagers, incomplete sources, a broken
    /// dead man's switch. Empty when there is none.
    pub stderr: String,
    /// The Nagios plugin exit code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    pub exit_code: i32,
}

/// Polls once and renders the report.
pub async fn snapshot(s: &Settings, source: &dyn FleetSource, format: Format) -> SnapshotOutput {
    let req = PollRequest {
        at: s.at,
        clusters: s.clusters.clone(),
        sparkline: None,
    };
    let now = Utc::now();
    let r = source.poll(&req, now).await;
    let at = req.at;
    let mut merger = Merger::new(
        Arc::new(s.metrics.clone()),
        s.identity.clone(),
        s.forget_after,
    );
    let (fleet, err, ams) = merger.merge(r);
    let desc = source.describe();
    let rep = report::build(
        &s.metrics,
        &s.identity,
        fleet.as_deref(),
        (&desc, err.as_ref().filter(|_| fleet.is_none())),
        &ams,
        now,
        at,
    );
    let mut stderr = String::new();
    if fleet.is_none() {
        if let Some(e) = &err {
            stderr.push_str(&format!("UNKNOWN: prometheus {desc}: {e}\n"));
        }
    } else if let Some(e) = &err {
        stderr.push_str(&format!(
            "warning: prometheus {desc}: some queries failed: {e}\n"
        ));
    }
    for (url, e) in &ams {
        if let Some(e) = e {
            stderr.push_str(&format!("alertmanager {url}: {e}\n"));
        }
    }
    if let Some(f) = &fleet {
        for st in &f.sources {
            if let Some(r) = st.incomplete_reason() {
                stderr.push_str(&format!("{r}\n"));
            }
        }
        if let Some(d) = f.dead_mans_switch.as_ref().filter(|d| d.broken()) {
            stderr.push_str(&format!("{}\n", d.message()));
        }
    }
    let stdout = match format {
        Format::Json => {
            serde_json::to_string_pretty(&rep).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
                + "\n"
        }
        Format::Text => report::to_text(&rep, &s.metrics),
    };
    SnapshotOutput {
        stdout,
        stderr: crate::sanitize::escape(&stderr).replace("\\x0a", "\n"),
        exit_code: rep.exit_code,
    }
}
