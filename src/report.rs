//! `fleetboard snapshot`: one poll, every host printed as text or JSON, and a Nagios
//! plugin exit code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::fleet::health::nagios;
use crate::model::format::format_value;
use crate::model::{naming_values, pairs, AlertState, SourceError};
use crate::model::{
    DeadMansSwitch, Fleet, Health, Identity, MetricSet, MetricState, Monitoring, Replication,
};
use crate::model::{Kind, Unit};
use crate::sanitize;

/// What `fleetboard snapshot` reports after one poll: every host, the sources and the
/// Nagios status; serialized as is for `--format json`.
#[derive(Debug, Serialize)]
pub struct Report {
    /// When the report was made, RFC 3339 in UTC to the second.
    pub generated_at: String,
    /// The replay time from `--at`, RFC 3339 in UTC; `None` for a live snapshot.
    pub at: Option<String>,
    /// The Nagios status word: `OK`, `WARNING`, `CRITICAL` or `UNKNOWN`.
    pub status: &'static str,
    /// The Nagios plugin exit code that goes with `status`: 0, 1, 2 or 3.
    pub exit_code: i32,
    /// Hosts per health word (`OK`, `WARN`, `CRIT`, `DOWN`, `STALE`, `UNKNOWN`), zeros included.
    pub counts: BTreeMap<&'static str, usize>,
    /// How each source answered: the Prometheus sources first, then each Alertmanager.
    pub sources: Vec<SourceReport>,
    /// Every host on the board, in the fleet's order (by cluster, then name).
    pub hosts: Vec<HostReport>,
    /// Explanations of dropped or merged data (missing labels, duplicates, failed queries,
    /// partial answers).
    pub notes: Vec<String>,
    /// Alerts attached to no host, each with the reason (fleet-wide alerts, hosts not on
    /// the board, a host name found in several clusters while the alert names none).
    pub unattached_alerts: Vec<UnattachedReport>,
    /// Clusters of the board with active alerts about the cluster as a whole (a cluster
    /// label, no host label); they count for `status` as a host of that health would.
    pub cluster_alerts: Vec<ClusterAlertReport>,
    /// The dead man's switch (`null` when not checked: no Alertmanager, or `watchdog = []`).
    pub dead_mans_switch: Option<DeadMansSwitch>,
}

/// The active alerts about one cluster as a whole.
#[derive(Debug, Serialize)]
pub struct ClusterAlertReport {
    /// The cluster's name.
    pub cluster: String,
    /// The worst health they give: `WARN` or `CRIT`.
    pub health: Health,
    /// Their `alertname`s.
    pub alerts: Vec<String>,
}

/// An alert attached to no host of the board, and why.
#[derive(Debug, Serialize)]
pub struct UnattachedReport {
    /// The alert's `alertname` label (empty when it has none).
    pub name: String,
    /// Its `severity` label as the rule wrote it (empty when it has none).
    pub severity: String,
    /// Alertmanager's state for it: active, suppressed (silenced or inhibited) or unprocessed.
    pub state: AlertState,
    /// Its `summary` annotation, else its `description`, else empty.
    pub summary: String,
    /// The alert's host and cluster labels (empty when it has none).
    pub host: String,
    /// The alert's cluster label (empty when it has none).
    pub cluster: String,
    /// Why it is attached to no host.
    pub reason: String,
}

/// How one Prometheus source or Alertmanager answered the poll.
#[derive(Debug, Serialize)]
pub struct SourceReport {
    /// The kind of source: `prometheus` or `alertmanager`.
    pub name: &'static str,
    /// A metrics source's name (`-p NAME=URL`, `[[prometheus]] name`); hosts name it too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The server's URL (for a metrics source that failed as a whole, its description:
    /// the URL without credentials).
    pub url: String,
    /// Whether it answered in full: no error and, for a metrics source, no partial answer.
    pub ok: bool,
    /// Why it failed this poll; `None` when it did not.
    pub error: Option<String>,
    /// Metrics sources: servers in the group (2 for an HA pair).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<usize>,
    /// Metrics sources: why the answer may lack hosts (empty: complete).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial: Option<Vec<String>>,
    /// Metrics sources: warnings and infos about complete data, fallbacks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notices: Option<Vec<String>>,
    /// Metrics sources: metric key → why its query failed while others answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_metrics: Option<BTreeMap<String, String>>,
    /// Metrics sources: the monitoring's own health (`null` when not asked, e.g. replay).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<MonitoringReport>,
}

/// The monitoring's own health behind one source; `ok` is false when anything is wrong.
#[derive(Debug, Serialize)]
pub struct MonitoringReport {
    /// `false` when anything about the monitoring is wrong (see `problems`).
    pub ok: bool,
    /// The monitoring's health as measured; its fields sit directly in this JSON object.
    #[serde(flatten)]
    pub detail: Monitoring,
    /// One line per problem found; empty when the monitoring is healthy.
    pub problems: Vec<String>,
}

/// One host as the snapshot reports it.
#[derive(Debug, Serialize)]
pub struct HostReport {
    /// The host name: the host label's value (port stripped when so configured).
    pub name: String,
    /// The cluster: the cluster label's value, or `(no cluster)` when the series have none.
    pub cluster: String,
    /// Its health: the worst of its readings, its active alerts and its reachability.
    pub health: Health,
    /// Why `health` is not OK, one short line each (`lag 42s > 30s`, an alert's name).
    pub reasons: Vec<String>,
    /// Its place in the topology: `primary`, `replica`, `group_primary`, `group_secondary`,
    /// `galera_node` or `unknown`.
    pub role: &'static str,
    /// `mysql` or `postgres`, when the host's series tell.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<&'static str>,
    /// Which evidence decided the role.
    pub role_evidence: Option<&'static str>,
    /// Replication status, when it is a replica or has channels; `None` otherwise.
    pub replication: Option<Replication>,
    /// Group Replication membership (state, role, members ONLINE, applier queue).
    pub group: Option<crate::model::GroupMember>,
    /// Galera membership (local state, primary component, ready).
    pub galera: Option<crate::model::GaleraNode>,
    /// Prometheus could not scrape the host's exporter: no data (not the database down).
    pub exporter_down: bool,
    /// Its readings, in the board's order, without info and detail metrics or those meant
    /// for another engine.
    pub metrics: Vec<MetricReport>,
    /// Alerts attached to it: active, silenced and inhibited.
    pub alerts: Vec<AlertReport>,
    /// Its labels: the union of its series' labels, `__name__` left out.
    pub labels: crate::model::HostLabels,
    /// The metrics source that reported the host (`null` for the demo).
    pub source: Option<String>,
    /// Other names its scrape targets go by, joined to it (node_exporter by fully qualified
    /// name beside mysqld_exporter by short name); left out when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// With pt-heartbeat lag: the rows the lag was read from, each its writer's
    /// `server_id` and the seconds taken off its age (its age on the writer; 0 when none);
    /// left out when the lag is no pt-heartbeat lag.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub heartbeat_rows: Vec<HeartbeatRow>,
}

/// A pt-heartbeat row a host's lag was read from.
#[derive(Debug, Serialize)]
pub struct HeartbeatRow {
    /// The `server_id` of the server that writes the row.
    pub server_id: u64,
    /// Seconds taken off the row's age: its age on its writer, when more than pt-heartbeat's
    /// rhythm explains (a clock offset, or pt-heartbeat stopped); 0 otherwise.
    pub writer_age_seconds: f64,
}

/// One metric reading of a host, judged against its thresholds.
#[derive(Debug, Serialize)]
pub struct MetricReport {
    /// The metric's key (`lag`, …).
    pub name: String,
    /// The raw value; `None` when there is none or it is not a finite number.
    pub value: Option<f64>,
    /// The value formatted with its unit, as the board shows it; `—` when there is none.
    pub display: String,
    /// The unit suffix (`s`, `%`, `/s`; empty for plain numbers).
    pub unit: &'static str,
    /// The reading's state: `OK`, `WARN`, `CRIT`, `DOWN` (an `up` metric below 1),
    /// `UNKNOWN` or `N/A`.
    pub state: MetricState,
    /// The warning threshold for this host (overrides applied); `None` when there is none.
    pub warn: Option<f64>,
    /// The critical threshold for this host (overrides applied); `None` when there is none.
    pub crit: Option<f64>,
}

/// One alert attached to a host.
#[derive(Debug, Serialize)]
pub struct AlertReport {
    /// The alert's `alertname` label (empty when it has none).
    pub name: String,
    /// Its `severity` label as the rule wrote it (empty when it has none).
    pub severity: String,
    /// Alertmanager's state for it: active, suppressed (silenced or inhibited) or unprocessed.
    pub state: AlertState,
    /// Its `summary` annotation, else its `description`, else empty.
    pub summary: String,
    /// When it started firing, RFC 3339 in UTC; `None` when Alertmanager gave no usable time.
    pub starts_at: Option<String>,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Builds the report. `prom` is the metrics source's URL and error (if it failed as a
/// whole, `fleet` is `None`); `ams` the Alertmanagers'.
pub fn build(
    set: &MetricSet,
    ident: &Identity,
    fleet: Option<&Fleet>,
    prom: (&str, Option<&SourceError>),
    ams: &[(String, Option<SourceError>)],
    now: DateTime<Utc>,
    at: Option<DateTime<Utc>>,
) -> Report {
    let statuses = fleet.map_or(&[][..], |f| &f.sources[..]);
    let mut sources: Vec<SourceReport> = statuses
        .iter()
        .map(|st| SourceReport {
            name: "prometheus",
            source: Some(st.name.clone()),
            url: st.url.clone(),
            ok: st.error.is_none() && st.partial.is_empty(),
            error: st.error.as_ref().map(ToString::to_string),
            members: Some(st.members),
            partial: Some(st.partial.clone()),
            notices: Some(st.notices.clone()),
            failed_metrics: Some(
                st.metric_errors
                    .iter()
                    .map(|(k, e)| (k.clone(), e.to_string()))
                    .collect(),
            ),
            monitoring: st.monitoring.as_ref().map(|m| MonitoringReport {
                ok: m.is_healthy(),
                detail: m.clone(),
                problems: m.problems(),
            }),
        })
        .collect();
    if sources.is_empty() {
        sources.push(SourceReport {
            name: "prometheus",
            source: None,
            url: prom.0.to_string(),
            ok: fleet.is_some(),
            error: prom.1.map(ToString::to_string),
            members: None,
            partial: None,
            notices: None,
            failed_metrics: None,
            monitoring: None,
        });
    }
    for (url, e) in ams {
        sources.push(SourceReport {
            name: "alertmanager",
            source: None,
            url: url.clone(),
            ok: e.is_none(),
            error: e.as_ref().map(ToString::to_string),
            members: None,
            partial: None,
            notices: None,
            failed_metrics: None,
            monitoring: None,
        });
    }
    let mut counts: BTreeMap<&'static str, usize> =
        Health::ALL.iter().map(|h| (h.as_str(), 0)).collect();
    let mut hosts = Vec::new();
    if let Some(f) = fleet {
        for h in &f.hosts {
            *counts.entry(h.health.as_str()).or_insert(0) += 1;
            let metrics = set
                .metrics
                .iter()
                .zip(&h.readings)
                .enumerate()
                .filter(|(_, (d, _))| {
                    !matches!(d.kind, Kind::Info | Kind::Detail) && d.fits(h.engine)
                })
                .map(|(i, (d, r))| (i, d, r, h.thresholds(set, i)))
                .map(|(_, d, r, (warn, crit))| MetricReport {
                    name: d.key.clone(),
                    value: r.value.filter(|v| v.is_finite()),
                    display: r
                        .value
                        .map_or_else(|| "—".into(), |v| format_value(v, d.unit)),
                    unit: d.unit.suffix(),
                    state: r.state,
                    warn,
                    crit,
                })
                .collect();
            hosts.push(HostReport {
                name: h.id.name.clone(),
                cluster: h.id.cluster.clone(),
                health: h.health,
                reasons: h.reasons.clone(),
                role: h.role.as_str(),
                engine: h.engine.map(crate::model::Engine::as_str),
                role_evidence: h.role_evidence,
                replication: h.replication.as_deref().cloned(),
                group: h.group.as_deref().cloned(),
                galera: h.galera.as_deref().cloned(),
                exporter_down: h.exporter_down,
                metrics,
                alerts: h
                    .alerts
                    .iter()
                    .map(|a| AlertReport {
                        name: a.name().to_string(),
                        severity: a.severity_label().to_string(),
                        state: a.state,
                        summary: a.summary().to_string(),
                        starts_at: a.starts_at.map(rfc3339),
                    })
                    .collect(),
                labels: h.labels.clone(),
                source: h.source.clone(),
                aliases: h.aliases.clone(),
                heartbeat_rows: h
                    .heartbeat_from
                    .iter()
                    .map(|&(server_id, writer_age_seconds)| HeartbeatRow {
                        server_id,
                        writer_age_seconds,
                    })
                    .collect(),
            });
        }
    }
    // An active alert the board cannot place (its host name is in several clusters) is
    // still trouble on one of the board's servers.
    let worst = fleet.and_then(|f| {
        f.hosts
            .iter()
            .map(|h| h.health)
            .chain((f.unplaced_health > Health::Ok).then_some(f.unplaced_health))
            .chain(f.cluster_alerts.values().map(|c| c.health))
            .filter(|h| !matches!(h, Health::Unknown | Health::Stale))
            .max()
    });
    // What is not known: UNKNOWN and STALE hosts, a source that failed or answered
    // partially (its missing hosts cannot even be named in one snapshot), a broken
    // alerting pipeline. Any of them is UNKNOWN unless something known is worse.
    let incomplete = statuses
        .iter()
        .any(|s| s.error.is_some() || !s.partial.is_empty());
    let dms = fleet.and_then(|f| f.dead_mans_switch.clone());
    let any_unknown = fleet.is_none_or(|f| {
        f.hosts
            .iter()
            .any(|h| matches!(h.health, Health::Unknown | Health::Stale))
    }) || incomplete
        || dms.as_ref().is_some_and(DeadMansSwitch::broken);
    let (mut code, mut status) = nagios(worst, any_unknown);
    let am_failed = ams.iter().any(|(_, e)| e.is_some());
    // No host at all is no good news: labels that match nothing, a filter that matches
    // nothing or an empty answer look exactly like this.
    let empty = fleet.is_some_and(|f| f.hosts.is_empty());
    if fleet.is_none() || empty || (am_failed && code == 0) {
        (code, status) = (3, "UNKNOWN");
    }
    let mut notes = fleet.map(|f| f.notes.clone()).unwrap_or_default();
    if empty {
        notes.push(
            "no host found: no series of the board's metrics carries the host label (check the labels and the cluster filter; `fleetboard doctor` says more)".into(),
        );
    }
    for st in statuses {
        if let Some(r) = st.incomplete_reason() {
            notes.push(format!(
                "{r}; hosts missing from it are not listed here (a running board keeps them, stale)"
            ));
        }
        for (k, e) in &st.metric_errors {
            notes.push(format!("source {}: metric `{k}` failed: {e}", st.name));
        }
        if let Some(m) = &st.monitoring {
            for p in m.problems() {
                notes.push(format!("source {}: monitoring: {p}", st.name));
            }
        }
    }
    if let Some(d) = dms.as_ref().filter(|d| d.broken()) {
        notes.insert(0, d.message());
    }
    Report {
        generated_at: rfc3339(now),
        at: at.map(rfc3339),
        status,
        exit_code: code,
        counts,
        sources,
        hosts,
        notes,
        dead_mans_switch: dms,
        cluster_alerts: fleet.map_or_else(Vec::new, |f| {
            f.cluster_alerts
                .iter()
                .map(|(c, a)| ClusterAlertReport {
                    cluster: c.clone(),
                    health: a.health,
                    alerts: a.names.clone(),
                })
                .collect()
        }),
        unattached_alerts: fleet.map_or_else(Vec::new, |f| {
            f.other_alerts
                .iter()
                .zip(&f.other_reasons)
                .map(|(a, why)| {
                    let (host, cluster) =
                        naming_values(&ident.host_label, &ident.cluster_label, pairs(&a.labels));
                    UnattachedReport {
                        name: a.name().to_string(),
                        severity: a.severity_label().to_string(),
                        state: a.state,
                        summary: a.summary().to_string(),
                        host: host.unwrap_or_default().to_string(),
                        cluster: cluster.unwrap_or_default().to_string(),
                        reason: why.clone(),
                    }
                })
                .collect()
        }),
    }
}

/// The SOURCE cell: the single source (marked when it cascades), or every channel's
/// (`src1,src2`).
fn source_cell(r: Option<&Replication>) -> String {
    let Some(r) = r else {
        return "-".into();
    };
    if r.channels.len() > 1 {
        let all: Vec<&str> = r
            .channels
            .iter()
            .map(|c| c.source.as_deref().unwrap_or("?"))
            .collect();
        return sanitize::fit(&all.join(","), 40);
    }
    let cell = r
        .source
        .as_deref()
        .map_or_else(|| "-".into(), |s| sanitize::fit(s, 30));
    // a PostgreSQL replica of a replica
    if r.cascading {
        format!("{cell} (cascading)")
    } else {
        cell
    }
}

/// The report as an aligned table, safe to print to a terminal.
pub fn to_text(r: &Report, set: &MetricSet) -> String {
    let shown: Vec<_> = set
        .metrics
        .iter()
        .filter(|m| !matches!(m.kind, Kind::Info | Kind::Up | Kind::Detail))
        .collect();
    let mut header: Vec<String> = ["CLUSTER", "HOST", "HEALTH", "ROLE", "SOURCE", "NAMES"]
        .iter()
        .map(|s| (*s).to_string())
        .collect();
    header.extend(shown.iter().map(|m| m.label.to_uppercase()));
    header.push("ALERTS".into());
    header.push("REASONS".into());
    let mut rows = vec![header];
    for h in &r.hosts {
        let mut row = vec![
            sanitize::fit(&h.cluster, 30),
            sanitize::fit(&h.name, 40),
            h.health.as_str().to_string(),
            h.role.to_string(),
            source_cell(h.replication.as_ref()),
            h.replication
                .as_ref()
                .and_then(|x| x.naming)
                .map_or("-", |n| match n {
                    crate::model::Naming::MasterSlave => "master",
                    crate::model::Naming::SourceReplica => "source",
                })
                .to_string(),
        ];
        for m in &shown {
            let cell = h.metrics.iter().find(|x| x.name == m.key).map_or_else(
                || "-".to_string(),
                |x| {
                    if x.state == MetricState::NotApplicable {
                        "-".into()
                    } else if let Some(d) = (m.key == "lag")
                        .then(|| h.replication.as_ref()?.delay_seconds)
                        .flatten()
                    {
                        format!("{} (+{} delay)", x.display, format_value(d, Unit::Seconds))
                    } else {
                        x.display.clone()
                    }
                },
            );
            row.push(cell);
        }
        let alerts: Vec<String> = h
            .alerts
            .iter()
            .map(|a| {
                let muted = if a.state == AlertState::Active {
                    ""
                } else {
                    "(muted)"
                };
                format!("{}{muted}", sanitize::fit(&a.name, 40))
            })
            .collect();
        row.push(if alerts.is_empty() {
            "-".into()
        } else {
            alerts.join(",")
        });
        row.push(sanitize::fit(&h.reasons.join("; "), 120));
        rows.push(row);
    }
    let ncol = rows[0].len();
    let widths: Vec<usize> = (0..ncol)
        .map(|c| {
            rows.iter()
                .map(|r| sanitize::width(&r[c]))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == ncol {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(widths[c] - sanitize::width(cell) + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let counts: Vec<String> = Health::ALL
        .iter()
        .filter_map(|h| {
            r.counts
                .get(h.as_str())
                .filter(|n| **n > 0)
                .map(|n| format!("{n} {}", h.as_str()))
        })
        .collect();
    let _ = writeln!(
        out,
        "{}: {} hosts ({}){}",
        r.status,
        r.hosts.len(),
        counts.join(", "),
        r.at.as_ref()
            .map(|a| format!(" at {a}"))
            .unwrap_or_default()
    );
    for s in &r.sources {
        if let Some(e) = &s.error {
            let _ = writeln!(
                out,
                "{} {}: {}",
                s.name,
                sanitize::escape(&s.url),
                sanitize::escape(e)
            );
        }
    }
    for c in &r.cluster_alerts {
        let _ = writeln!(
            out,
            "cluster {} {}: {}",
            sanitize::fit(&c.cluster, 60),
            c.health.as_str(),
            c.alerts
                .iter()
                .map(|n| sanitize::fit(n, 60))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for a in r.unattached_alerts.iter().filter(|a| !a.host.is_empty()) {
        let _ = writeln!(
            out,
            "unattached alert {} ({}, {}): {}",
            sanitize::fit(&a.name, 60),
            sanitize::fit(&a.severity, 20),
            state_word(a.state),
            sanitize::escape(&a.reason)
        );
    }
    for n in &r.notes {
        let _ = writeln!(out, "note: {}", sanitize::escape(n));
    }
    out
}

fn state_word(s: AlertState) -> &'static str {
    match s {
        AlertState::Active => "active",
        AlertState::Suppressed => "muted",
        AlertState::Unprocessed => "unprocessed",
    }
}
