//! The doctor's judgement: facts gathered from the sources in, findings out. Pure: no I/O,
//! no clock, so every rule is a unit test.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

use crate::fleet::{self, BuildInput};
use crate::model::{
    Alert, AppliesTo, Engine as DbEngine, Fleet, Host, Identity, Kind, MetricSet, Role, Signal,
    SourceError, Vector,
};

/// How much a finding asks of the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// As it should be.
    Ok,
    /// Worth knowing, nothing to do.
    Info,
    /// Something should be fixed: the board shows less, or less surely, than it could.
    Fix,
    /// The board cannot work (no host, every query refused).
    Broken,
    /// A source cannot be reached: nothing else can be judged.
    Unreachable,
}

/// One sentence for people, with the fix when there is one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// How much it asks of the operator; the worst level of a report sets its exit code.
    pub level: Level,
    /// Short topic: `engine`, `metric lag`, `replication`, `node_exporter`, ...
    pub topic: String,
    /// The sentence: what was found.
    pub message: String,
    /// What to change; `None` when there is nothing to do or no single fix to give.
    pub fix: Option<String>,
}

/// One metric's presence: series in total, hosts with a value among those it applies to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Presence {
    /// The metric's key in the metric set.
    pub metric: String,
    /// Series in the metric's answer; 0 when its query failed.
    pub series: usize,
    /// Hosts among `hosts_expected` that have a value.
    pub hosts_with: usize,
    /// Hosts the metric applies to: those of its engine, replicas only for a replica
    /// metric, none for a detail metric (several series per host).
    pub hosts_expected: usize,
    /// Hosts it applies to that have no value (at most 20 named).
    pub missing: Vec<String>,
}

/// What the Prometheus-compatible engine said about itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Engine {
    /// The Prometheus URL the doctor asked, as configured.
    pub url: String,
    /// Path prefix of the API (`/prometheus` for PMM and Mimir), empty for none.
    pub path_prefix: String,
    /// `version` of `/api/v1/status/buildinfo`, or why there is none.
    pub version: Result<String, String>,
    /// Engine named from the build info and status pages: Prometheus, VictoriaMetrics, ...
    pub name: String,
    /// The build-info endpoint answered (with or without a version).
    pub answered: bool,
}

impl Default for Engine {
    fn default() -> Self {
        Self {
            url: String::new(),
            path_prefix: String::new(),
            version: Err("not asked".into()),
            name: String::new(),
            answered: false,
        }
    }
}

/// What one Alertmanager said.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AmFacts {
    /// The Alertmanager's address, as named in the findings.
    pub url: String,
    /// Version from `/api/v2/status`, or the error.
    pub version: Result<String, String>,
    /// Whether silences can be written: `Ok(true)` when a write reached validation,
    /// `Ok(false)` refused (401/403/405), `Err` when unknown.
    pub writable: Result<bool, String>,
}

/// Everything the doctor gathered.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// What the Prometheus-compatible engine said about itself.
    pub engine: Engine,
    /// One answer per metric of the set, same order.
    pub results: Vec<Result<Vector, SourceError>>,
    /// Per metric: warnings or a partial flag in the answer's envelope.
    pub partial: Vec<Vec<String>>,
    /// `mysql_version_info` (version per host), if it answered.
    pub versions: Option<Vector>,
    /// `count by (__name__)` of the replication series names, the preset's and their
    /// other-generation spellings.
    pub names: Option<Vector>,
    /// `mysql_exporter_collector_duration_seconds` per host and collector.
    pub collectors: Option<Vector>,
    /// `rate(mysql_exporter_scrape_errors_total{collector="collect.slave_status"}[5m])`
    /// per host: the replica-status collector failing (often a missing grant).
    pub scrape_errors: Option<Vector>,
    /// The alerts of every Alertmanager that answered, so the fleet is built as the board
    /// builds it.
    pub alerts: Vec<Alert>,
    /// Why alerts could not be read (the last failure); `None` when every Alertmanager
    /// that answered gave its alerts.
    pub alerts_error: Option<String>,
    /// What each configured Alertmanager said, in config order.
    pub ams: Vec<AmFacts>,
    /// The board is configured read-only.
    pub read_only: bool,
}

/// The doctor's answer.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `OK`, `FIX`, `BROKEN` or `UNREACHABLE`, from the worst finding (info counts as
    /// `OK`).
    pub status: &'static str,
    /// 0 nothing to do, 1 something to fix, 2 the board cannot work, 3 sources unreachable.
    pub exit_code: i32,
    /// What the engine said about itself.
    pub engine: Engine,
    /// Hosts the board would show from these answers; 0 when the source is unreachable.
    pub hosts: usize,
    /// Presence of each metric of the set, in set order; empty when the source is
    /// unreachable.
    pub metrics: Vec<Presence>,
    /// The findings, worst first.
    pub findings: Vec<Finding>,
    /// What each Alertmanager said, in config order.
    pub alertmanagers: Vec<AmFacts>,
}

fn find(level: Level, topic: &str, message: String, fix: Option<String>) -> Finding {
    Finding {
        level,
        topic: topic.to_string(),
        message,
        fix,
    }
}

fn names(v: &[String], max: usize) -> String {
    let mut s = v.iter().take(max).cloned().collect::<Vec<_>>().join(", ");
    if v.len() > max {
        let _ = write!(s, " and {} more", v.len() - max);
    }
    s
}

/// The pre-8.4 / 8.4 spelling of a replication series name (`slave`↔`replica`,
/// `master`↔`source`), or `None` when the name has neither.
pub fn other_generation(name: &str) -> Option<String> {
    const PAIRS: [(&str, &str); 2] = [("slave", "replica"), ("master", "source")];
    // mysqld_exporter keeps the family prefix in both generations
    // (`mysql_slave_status_seconds_behind_source`): only the tail changes.
    let (prefix, tail) = match name.strip_prefix("mysql_slave_status_") {
        Some(t) => ("mysql_slave_status_", t),
        None => ("", name),
    };
    let old = PAIRS.iter().any(|(o, _)| tail.contains(o));
    let new = PAIRS.iter().any(|(_, n)| tail.contains(n));
    let mut out = tail.to_string();
    if old {
        for (o, n) in PAIRS {
            out = out.replace(o, n);
        }
    } else if new {
        for (o, n) in PAIRS {
            out = out.replace(n, o);
        }
    }
    (out != tail).then(|| format!("{prefix}{out}"))
}

/// Whether a series name is spelled the 8.4 way (`*_source`, `*_replica_*`).
pub fn is_new_generation(name: &str) -> bool {
    let tail = name.strip_prefix("mysql_slave_status_").unwrap_or(name);
    tail.contains("source") || tail.contains("replica")
}

/// Metric names an expression reads: identifiers followed by `{`, `[` or the end, that are
/// not PromQL functions or keywords.
pub fn metric_names(expr: &str) -> Vec<String> {
    const WORDS: &[&str] = &[
        "by",
        "on",
        "without",
        "ignoring",
        "group_left",
        "group_right",
        "and",
        "or",
        "unless",
        "bool",
        "offset",
    ];
    let b = expr.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut in_str = false;
    let mut depth = 0usize;
    while i < b.len() {
        let c = b[i];
        if in_str {
            if c == b'\\' {
                i += 1;
            } else if c == b'"' {
                in_str = false;
            }
            i += 1;
            continue;
        }
        match c {
            b'"' => in_str = true,
            b'{' => depth += 1,
            b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if matches!(c, b'"' | b'{' | b'}') {
            i += 1;
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' || c == b':' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':') {
                i += 1;
            }
            let word = &expr[start..i];
            if matches!(
                word,
                "by" | "on" | "without" | "ignoring" | "group_left" | "group_right"
            ) {
                // Its label list names labels, not metrics.
                let mut j = i;
                while j < b.len() && b[j] == b' ' {
                    j += 1;
                }
                if b.get(j) == Some(&b'(') {
                    while j < b.len() && b[j] != b')' {
                        j += 1;
                    }
                    i = j + 1;
                }
                continue;
            }
            let mut j = i;
            while j < b.len() && b[j] == b' ' {
                j += 1;
            }
            let next = b.get(j).copied();
            if depth == 0
                && !WORDS.contains(&word)
                && matches!(next, Some(b'{' | b'[' | b')') | None)
                && !out.iter().any(|w| w == word)
            {
                out.push(word.to_string());
            }
            continue;
        }
        i += 1;
    }
    out
}

fn host_value(
    v: &Vector,
    ident: &Identity,
    host: &crate::model::HostId,
    label: &str,
) -> Option<String> {
    v.iter().find_map(|s| {
        let (c, n) = ident.key_parts_of(s.labels())?;
        (n == host.name && (c == host.cluster || c == crate::model::NO_CLUSTER))
            .then(|| s.label(label).map(str::to_owned))
            .flatten()
    })
}

/// The grant that `SHOW SLAVE STATUS` / `SHOW REPLICA STATUS` needs on this server version.
pub fn replica_status_grant(version: Option<&str>) -> String {
    let Some(v) = version else {
        return "the REPLICATION CLIENT grant (MySQL; on MariaDB 10.5.9 and later: SLAVE MONITOR)"
            .into();
    };
    let nums: Vec<u32> = v
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .take(3)
        .filter_map(|s| s.parse().ok())
        .collect();
    let at_least = |want: [u32; 3]| nums.as_slice() >= &want[..];
    if v.to_ascii_lowercase().contains("mariadb") {
        if at_least([10, 5, 9]) {
            format!("the SLAVE MONITOR grant (MariaDB {v}: REPLICATION CLIENT no longer covers SHOW SLAVE STATUS since 10.5.9): GRANT SLAVE MONITOR ON *.* TO <exporter user>")
        } else {
            format!("the REPLICATION CLIENT grant (MariaDB {v}): GRANT REPLICATION CLIENT ON *.* TO <exporter user>")
        }
    } else {
        format!("the REPLICATION CLIENT grant (MySQL {v}): GRANT REPLICATION CLIENT ON *.* TO <exporter user>")
    }
}

/// Judges the facts.
#[allow(clippy::too_many_lines)]
pub fn analyze(set: &MetricSet, ident: &Identity, facts: &Facts) -> Report {
    let mut out: Vec<Finding> = Vec::new();
    let e = &facts.engine;
    match &e.version {
        Ok(v) => out.push(find(
            Level::Ok,
            "engine",
            format!(
                "{} {v} answered at {}{}",
                e.name,
                e.url,
                if e.path_prefix.is_empty() {
                    String::new()
                } else {
                    format!(" (API under the path prefix {})", e.path_prefix)
                }
            ),
            None,
        )),
        Err(why) if e.answered => out.push(find(
            Level::Ok,
            "engine",
            format!(
                "{} answered at {} ({why}){}",
                e.name,
                e.url,
                if e.path_prefix.is_empty() {
                    String::new()
                } else {
                    format!(", API under the path prefix {}", e.path_prefix)
                }
            ),
            None,
        )),
        Err(why) => out.push(find(
            Level::Info,
            "engine",
            format!("no build info from {}: {why}", e.url),
            None,
        )),
    }

    // Whole-source failures first: nothing else can be judged.
    let unreachable = !facts.results.is_empty()
        && facts.results.iter().all(|r| match r {
            Err(e) => e.is_transient() || matches!(e, SourceError::Http { .. }),
            Ok(_) => false,
        });
    if unreachable {
        let why = facts
            .results
            .iter()
            .find_map(|r| r.as_ref().err())
            .map(ToString::to_string)
            .unwrap_or_default();
        out.push(find(
            Level::Unreachable,
            "prometheus",
            format!("{} cannot be queried: {why}", e.url),
            Some("check the URL (with any path prefix, e.g. https://pmm.example/prometheus), the network and the credentials".into()),
        ));
    }
    for am in &facts.ams {
        match &am.version {
            Ok(v) => out.push(find(
                Level::Ok,
                "alertmanager",
                format!("Alertmanager {v} answered at {}", am.url),
                None,
            )),
            Err(why) => out.push(find(
                Level::Unreachable,
                "alertmanager",
                format!("Alertmanager {} cannot be reached: {why}", am.url),
                Some("check the -a URL (PMM: https://pmm.example/alertmanager)".into()),
            )),
        }
        match (&am.writable, facts.read_only) {
            (_, true) => out.push(find(
                Level::Info,
                "silences",
                "the board is read-only (read_only, --read-only or wall mode): it writes no silences".into(),
                None,
            )),
            (Ok(true), false) => out.push(find(
                Level::Ok,
                "silences",
                format!("silences can be written to {}", am.url),
                None,
            )),
            (Ok(false), false) => out.push(find(
                Level::Info,
                "silences",
                format!("{} refuses writes with these credentials: silences are read-only", am.url),
                Some("use credentials allowed to POST /api/v2/silences, or run the board with --read-only".into()),
            )),
            (Err(why), false) if am.version.is_ok() => out.push(find(
                Level::Info,
                "silences",
                format!("could not tell whether {} accepts silences: {why}", am.url),
                None,
            )),
            (Err(_), false) => {}
        }
    }
    if let Some(why) = &facts.alerts_error {
        out.push(find(
            Level::Fix,
            "alerts",
            format!("alerts could not be read: {why}"),
            None,
        ));
    }
    if unreachable {
        return finish(out, e.clone(), 0, Vec::new(), facts.ams.clone());
    }

    let f: Fleet = fleet::build(
        set,
        ident,
        &BuildInput {
            results: &facts.results,
            alerts: &facts.alerts,
            taken_at: None,
            forget_after: None,
            sources: &[],
        },
        None,
    );

    // Answers refused or odd.
    let mut refused = 0;
    for (def, r) in set.metrics.iter().zip(&facts.results) {
        if let Err(err) = r {
            refused += 1;
            out.push(find(
                Level::Fix,
                &format!("metric {}", def.key),
                format!("the query of `{}` failed: {err}", def.key),
                Some(format!("check its expression: {}", def.expr)),
            ));
        }
    }
    for (def, warns) in set.metrics.iter().zip(&facts.partial) {
        if !warns.is_empty() {
            out.push(find(
                Level::Fix,
                "partial answer",
                format!("the answer for `{}` was partial: {}", def.key, warns.join("; ")),
                Some("a store or replica of the engine did not answer: the board may miss hosts (Thanos: check the store gateways)".into()),
            ));
        }
    }
    if refused == set.metrics.len() && !set.metrics.is_empty() {
        out.push(find(
            Level::Broken,
            "queries",
            "every query was refused: the board cannot show anything".into(),
            Some(format!(
                "check the label names `{}` and `{}` (names other than [a-zA-Z_][a-zA-Z0-9_]* need Prometheus 3)",
                ident.host_label, ident.cluster_label
            )),
        ));
    }

    // Hosts.
    let hosts: Vec<&crate::model::Host> = f.hosts.iter().collect();
    if hosts.is_empty() && refused < set.metrics.len() {
        let hint = set
            .metrics
            .iter()
            .find(|m| m.kind == Kind::Up)
            .map(|m| m.expr.clone())
            .unwrap_or_default();
        out.push(find(
            Level::Broken,
            "hosts",
            format!(
                "no host found: no series carries the `{}` label with the preset's metrics",
                ident.host_label
            ),
            Some(format!(
                "check that {} is scraped and that `{}` names the host (query: {hint}); PMM: [identity] preset = \"pmm\"",
                exporter_of(set),
                ident.host_label
            )),
        ));
    }

    // PMM's agent ids as host names: a second host per exporter.
    if hosts.iter().any(|h| h.id.name.starts_with("/agent_id/")) {
        out.push(find(
            Level::Fix,
            "identity",
            format!(
                "host names look like PMM agent ids (`{}` = /agent_id/...): each exporter of a server becomes a host of its own",
                ident.host_label
            ),
            Some("add `[identity]` `preset = \"pmm\"` to the config (hosts by node_name)".into()),
        ));
    }

    if let Some(finding) = hosts_named_by_address(&hosts, ident) {
        out.push(finding);
    }

    // Per-metric presence.
    let mut presence = Vec::new();
    for (i, def) in set.metrics.iter().enumerate() {
        let series = facts
            .results
            .get(i)
            .and_then(|r| r.as_ref().ok())
            .map_or(0, Vector::len);
        let expected: Vec<&&crate::model::Host> = hosts
            .iter()
            // Several series per host (walsender rows) give no per-host value to miss; on a
            // mixed board one engine's metrics are not expected of the other's hosts.
            .filter(|h| def.kind != Kind::Detail && def.fits(h.engine))
            .filter(|h| def.applies_to == AppliesTo::All || h.role == Role::Replica)
            .collect();
        let missing: Vec<String> = expected
            .iter()
            .filter(|h| h.readings.get(i).is_none_or(|r| r.value.is_none()))
            .map(|h| format!("{}/{}", h.id.cluster, h.id.name))
            .collect();
        presence.push(Presence {
            metric: def.key.clone(),
            series,
            hosts_with: expected.len() - missing.len(),
            hosts_expected: expected.len(),
            missing: missing.iter().take(20).cloned().collect(),
        });
        let is_node = def.expr.contains("node_");
        let is_repl = def.applies_to == AppliesTo::Replica;
        // Info metrics (topology, server ids) are often empty by design.
        if series == 0
            && !expected.is_empty()
            && !is_node
            && !is_repl
            && !matches!(def.kind, Kind::Up | Kind::Info)
        {
            out.push(find(
                Level::Fix,
                &format!("metric {}", def.key),
                format!("`{}` has no series at all", def.key),
                Some(format!(
                    "check the exporter collects what it reads: {}",
                    def.expr
                )),
            ));
        } else if !missing.is_empty() && !is_node && !is_repl && def.kind != Kind::Info {
            out.push(find(
                Level::Fix,
                &format!("metric {}", def.key),
                format!(
                    "`{}` has no value on {} of {} hosts: {}",
                    def.key,
                    missing.len(),
                    expected.len(),
                    names(&missing, 5)
                ),
                None,
            ));
        }
    }

    // Naming generation of the replication series.
    if let Some(v) = &facts.names {
        let mut seen: BTreeMap<String, f64> = BTreeMap::new();
        for s in v.iter() {
            // The generations are mysqld_exporter's (`pg_replication_*` says "replica" too).
            if let Some(n) = s.label("__name__").filter(|n| n.starts_with("mysql_")) {
                seen.insert(n.to_string(), s.value());
            }
        }
        let queried: BTreeSet<String> = replication_names(set).into_iter().collect();
        let (old, new): (Vec<&String>, Vec<&String>) =
            seen.keys().partition(|n| !is_new_generation(n));
        let gen = match (old.is_empty(), new.is_empty()) {
            (false, true) => Some("pre-8.4 replica names (SHOW SLAVE STATUS: *_seconds_behind_master, *_slave_io_running)"),
            (true, false) => Some("8.4 replica names (SHOW REPLICA STATUS: *_seconds_behind_source, *_replica_io_running)"),
            (false, false) => Some("both pre-8.4 and 8.4 replica names (a fleet mid-upgrade)"),
            (true, true) => None,
        };
        if let Some(g) = gen {
            out.push(find(
                Level::Info,
                "naming",
                format!("the fleet uses {g}"),
                None,
            ));
        }
        let unread: Vec<&String> = seen.keys().filter(|n| !queried.contains(*n)).collect();
        if !unread.is_empty() {
            out.push(find(
                Level::Fix,
                "naming",
                format!(
                    "series {} exist but the metrics do not read them: those replicas show no replication status",
                    unread.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
                ),
                Some("point `expr` of the replication metrics ([metrics.lag], [metrics.io_running], ...) at these names".into()),
            ));
        }
    }

    // read_only=1 without replica status.
    let repl_idx: Vec<usize> = [
        Signal::ReplicationLag,
        Signal::IoThread,
        Signal::SqlThread,
        Signal::SourceServerId,
    ]
    .into_iter()
    .filter_map(|s| set.by_signal(s))
    .collect();
    let ro_i = set.by_signal(Signal::ReadOnly);
    let up_i = set.metrics.iter().position(|m| m.kind == Kind::Up);
    let mut blind: Vec<(String, String)> = Vec::new();
    for h in &hosts {
        let val = |i: Option<usize>| i.and_then(|i| h.readings.get(i)).and_then(|r| r.value);
        let ro = val(ro_i).is_some_and(|v| v >= 1.0);
        let up = val(up_i).is_some_and(|v| v >= 1.0);
        let no_status = repl_idx.iter().all(|&i| val(Some(i)).is_none());
        let mysql = h.engine != Some(DbEngine::Postgres);
        if mysql && ro && up && no_status && !repl_idx.is_empty() {
            let version = facts
                .versions
                .as_ref()
                .and_then(|v| host_value(v, ident, &h.id, "version"));
            // The exporter says whether the collector ran, and whether it failed.
            let collector_ran = facts.collectors.as_ref().map(|v| {
                v.iter().any(|s| {
                    s.label("collector") == Some("collect.slave_status")
                        && ident
                            .key_parts_of(s.labels())
                            .is_some_and(|(_, n)| n == h.id.name)
                })
            });
            let failing = facts.scrape_errors.as_ref().is_some_and(|v| {
                v.iter().any(|s| {
                    s.label("collector") == Some("collect.slave_status")
                        && s.value() > 0.0
                        && ident
                            .key_parts_of(s.labels())
                            .is_some_and(|(_, n)| n == h.id.name)
                })
            });
            let fix = match (collector_ran, failing) {
                (Some(false), _) => "start mysqld_exporter with --collect.slave_status (the slave_status collector is not running; look for --no-collect.slave_status)".to_string(),
                (_, true) => format!("the slave_status collector fails: give the exporter's user {}", replica_status_grant(version.as_deref())),
                _ => format!("run mysqld_exporter with --collect.slave_status and give its user {}", replica_status_grant(version.as_deref())),
            };
            blind.push((format!("{}/{}", h.id.cluster, h.id.name), fix));
        }
    }
    let mut by_fix: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (h, fix) in blind {
        by_fix.entry(fix).or_default().push(h);
    }
    for (fix, hs) in by_fix {
        out.push(find(
            Level::Fix,
            "replication",
            format!(
                "{} look like replicas (read_only=1) but have no replica-status series: their replication is shown UNKNOWN",
                names(&hs, 5)
            ),
            Some(fix),
        ));
    }

    out.extend(postgres_findings(set, ident, facts, &hosts));

    // node_exporter.
    let node_idx: Vec<usize> = set
        .metrics
        .iter()
        .enumerate()
        .filter(|(_, m)| m.expr.contains("node_"))
        .map(|(i, _)| i)
        .collect();
    if !node_idx.is_empty() {
        let without: Vec<String> = hosts
            .iter()
            .filter(|h| {
                node_idx
                    .iter()
                    .all(|&i| h.readings.get(i).is_none_or(|r| r.value.is_none()))
            })
            .map(|h| format!("{}/{}", h.id.cluster, h.id.name))
            .collect();
        if !without.is_empty() {
            out.push(find(
                Level::Fix,
                "node_exporter",
                format!(
                    "{} of {} hosts have no node_exporter data (load): {}",
                    without.len(),
                    hosts.len(),
                    names(&without, 5)
                ),
                Some(format!(
                    "scrape node_exporter on those hosts with the same `{}` value as mysqld_exporter (a :port suffix is ignored when strip_port is on) and the `{}` label, or none",
                    ident.host_label, ident.cluster_label
                )),
            ));
        }
    }

    // Series the board dropped, with an example.
    for (def, r) in set.metrics.iter().zip(&facts.results) {
        let Ok(v) = r else { continue };
        let dropped: Vec<_> = v
            .iter()
            .filter(|s| ident.key_parts_of(s.labels()).is_none())
            .collect();
        if let Some(ex) = dropped.first() {
            out.push(find(
                Level::Fix,
                "labels",
                format!(
                    "{} series of `{}` have no `{}` label and are not shown, e.g. {}",
                    dropped.len(),
                    def.key,
                    ident.host_label,
                    fleet::join::series_text(ex)
                ),
                Some(format!(
                    "keep the `{}` label in the expression (aggregate `by` it) or add it to the scrape target",
                    ident.host_label
                )),
            ));
        }
    }
    for n in &f.notes {
        if n.contains("without a `")
            || n.contains("native histogram")
            || n.contains("scalar")
            || n.starts_with("server_id shared by several servers")
        {
            out.push(find(Level::Fix, "labels", n.clone(), None));
        } else if n.contains("machine(s) with node_exporter series and no database exporter") {
            out.push(find(
                Level::Fix,
                "node_exporter",
                n.clone(),
                Some(format!(
                    "database hosts named another way? Give node_exporter's targets the `{}` value of the database exporter's (short and fully qualified names join, any case; a target named by address joins by node_uname_info's nodename). Application servers: nothing to do, or narrow the board's cluster filter",
                    ident.host_label
                )),
            ));
        } else if n.contains("pt-heartbeat's own row") {
            out.push(find(Level::Fix, "pt-heartbeat", n.clone(), None));
        } else if n.contains("but are not on the board") {
            out.push(find(Level::Fix, "preset", n.clone(), None));
        } else if n.contains("named by another form")
            || n.contains("were scraped again")
            || n.contains("told apart only by the port")
        {
            out.push(find(Level::Info, "host names", n.clone(), None));
        }
    }

    if let Some(f) = duplicate_series(set, ident, facts) {
        out.push(f);
    }
    if let Some(f) = heartbeat_without_server_id(set, facts) {
        out.push(f);
    }

    // Duplicate names across clusters.
    let mut clusters_of: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for h in &hosts {
        clusters_of
            .entry(h.id.name.as_str())
            .or_default()
            .push(h.id.cluster.as_str());
    }
    let dups: Vec<String> = clusters_of
        .iter()
        .filter(|(_, c)| c.len() > 1)
        .map(|(n, c)| format!("{n} ({})", c.join(", ")))
        .collect();
    if !dups.is_empty() {
        out.push(find(
            Level::Info,
            "host names",
            format!(
                "{} host name(s) are in more than one cluster: {}; alerts and series without the `{}` label cannot be placed on them",
                dups.len(),
                names(&dups, 5),
                ident.cluster_label
            ),
            None,
        ));
    }

    // Alerts.
    for (a, why) in f.other_alerts.iter().zip(&f.other_reasons) {
        let ambiguous = why.contains("clusters (");
        let names_host = a.labels.contains_key(&ident.host_label);
        if !names_host {
            continue;
        }
        out.push(find(
            if ambiguous { Level::Fix } else { Level::Info },
            "alerts",
            format!("alert {} matches no host: {why}", a.name()),
            ambiguous.then(|| {
                format!(
                    "add the `{}` label to the alert rule (keep it in the rule's `by (...)`)",
                    ident.cluster_label
                )
            }),
        ));
    }
    let hosts_n = hosts.len();
    finish(out, e.clone(), hosts_n, presence, facts.ams.clone())
}

/// A pt-heartbeat lag expression that aggregates `server_id` away. mysqld_exporter's
/// heartbeat collector gives every row of the table (one per server that ever ran
/// `pt-heartbeat --update`); the board reads the row of the server's source, as
/// `pt-heartbeat --check` does. Without `server_id` it cannot choose, and after a failover
/// the old primary's row, no longer written, is hours old on every server.
/// Labels that name a database cluster on Kubernetes, as Prometheus Operator's service
/// and pod monitors write them (`service`) or copy them from the pod
/// (`app_kubernetes_io_instance`), and the namespace, the coarsest.
const KUBERNETES_CLUSTER_LABELS: [&str; 3] = ["app_kubernetes_io_instance", "service", "namespace"];

/// Database hosts named by their address. On Kubernetes (a `pod` label beside) the address
/// changes at every restart of the pod: each restart leaves a host without series, kept
/// UNKNOWN until `forget_after`, and brings a new one, so the pod's name is the host.
/// Elsewhere the address is stable but is not the name alerts and people use.
fn hosts_named_by_address(hosts: &[&crate::model::Host], ident: &Identity) -> Option<Finding> {
    // Every host is a database server: machines without one are no hosts of the board
    // (see `fleet::join`).
    let by_address: Vec<&&crate::model::Host> = hosts
        .iter()
        .filter(|h| crate::fleet::join::is_address(&h.id.name))
        .collect();
    if by_address.is_empty() || by_address.len() * 2 < hosts.len() {
        return None;
    }
    let examples: Vec<String> = by_address
        .iter()
        .take(3)
        .map(|h| h.id.name.clone())
        .collect();
    let pods = by_address
        .iter()
        .filter(|h| h.labels.get("pod").is_some_and(|p| !p.is_empty()))
        .count();
    if pods * 2 >= by_address.len() {
        let cluster_labels: Vec<&str> = KUBERNETES_CLUSTER_LABELS
            .iter()
            .copied()
            .filter(|l| by_address.iter().all(|h| h.labels.get(l).is_some()))
            .collect();
        let cluster_fix = match cluster_labels.first() {
            Some(l) if *l != ident.cluster_label => format!(
                ", and `cluster_label = \"{l}\"` if it names the database cluster (present here: {})",
                cluster_labels.join(", ")
            ),
            _ => String::new(),
        };
        return Some(find(
            Level::Fix,
            "identity",
            format!(
                "{} of {} database hosts are named by a pod address (`{}` = {}) and carry a `pod` label: Kubernetes gives a pod a new address at every restart, which leaves the old host UNKNOWN without series until forget_after and adds a new one",
                by_address.len(),
                hosts.len(),
                ident.host_label,
                examples.join(", ")
            ),
            Some(format!("name hosts by their pod: `[identity] host_label = \"pod\"`{cluster_fix}")),
        ));
    }
    Some(find(
        Level::Info,
        "identity",
        format!(
            "{} of {} database hosts are named by their address (`{}` = {}): alerts and people usually name them by host name",
            by_address.len(),
            hosts.len(),
            ident.host_label,
            examples.join(", ")
        ),
        Some(format!(
            "relabel `{}` to the host name in the scrape config (or name the host label with [identity] host_label)",
            ident.host_label
        )),
    ))
}

fn heartbeat_without_server_id(set: &MetricSet, facts: &Facts) -> Option<Finding> {
    let i = set.by_signal(crate::model::Signal::ReplicationLag)?;
    let def = &set.metrics[i];
    if !def.expr.contains("mysql_heartbeat_") {
        return None;
    }
    let Some(Ok(v)) = facts.results.get(i) else {
        return None;
    };
    if v.is_empty() || v.iter().any(|s| s.label("server_id").is_some()) {
        return None;
    }
    Some(find(
        Level::Info,
        "pt-heartbeat",
        format!(
            "the `{}` expression reads pt-heartbeat but its answer has no `server_id`: with a row per writer (every server that ran pt-heartbeat --update, the old primary's after a failover) the board cannot read the row a replica's source writes",
            def.key
        ),
        Some("keep `server_id` in the expression (no aggregation, or `by (..., server_id)`)".into()),
    ))
}

/// Servers whose `up` series come twice or more, told apart by some label (a replica
/// label of an HA pair not deduplicated, a second scrape job): the board reads each
/// figure once (the worst value), but every refresh costs the server and the board double.
fn duplicate_series(set: &MetricSet, ident: &Identity, facts: &Facts) -> Option<Finding> {
    let up_i = set.metrics.iter().position(|m| m.kind == Kind::Up)?;
    let Some(Ok(up)) = facts.results.get(up_i) else {
        return None;
    };
    let mut by_host: BTreeMap<(&str, &str), Vec<BTreeMap<&str, &str>>> = BTreeMap::new();
    // By the host label's value as it is: servers told apart only by port are two hosts on
    // the board (see `fleet::join::servers_apart_by_port`), not one answering twice.
    for s in up.iter() {
        if let Some(key) = ident.key_raw_of(s.labels()) {
            by_host
                .entry(key)
                .or_default()
                .push(s.labels().filter(|(k, _)| *k != "__name__").collect());
        }
    }
    // Per label, the hosts whose series differ in it.
    let mut differ: BTreeMap<&str, usize> = BTreeMap::new();
    let mut examples = Vec::new();
    let mut hosts = 0;
    for ((cluster, name), sets) in &by_host {
        if sets.len() < 2 {
            continue;
        }
        hosts += 1;
        let keys: BTreeSet<&str> = sets.iter().flat_map(|l| l.keys().copied()).collect();
        let mut why = Vec::new();
        for k in keys {
            let values: BTreeSet<Option<&str>> = sets.iter().map(|l| l.get(k).copied()).collect();
            if values.len() > 1 {
                *differ.entry(k).or_default() += 1;
                let vs: Vec<&str> = values.iter().map(|v| v.unwrap_or("(none)")).collect();
                why.push(format!("{k}={}", vs.join("|")));
            }
        }
        if examples.len() < 3 {
            let name = ident.host_name_ref(name);
            examples.push(format!("{cluster}/{name} ({})", why.join(", ")));
        }
    }
    if hosts == 0 {
        return None;
    }
    let mut labels: Vec<(&str, usize)> = differ.into_iter().collect();
    labels.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let told_by: Vec<String> = labels.iter().map(|(k, _)| format!("`{k}`")).collect();
    Some(find(
        Level::Info,
        "duplicates",
        format!(
            "{hosts} server(s) answer with every series twice or more, told apart by {}: e.g. {}. The board reads each figure once (the worst value), but each refresh costs the server and the board as much again",
            names(&told_by, 3),
            examples.join("; ")
        ),
        Some(if labels.iter().any(|(k, _)| k.starts_with("exported_")) {
            // Prometheus renames a scraped label that clashes with a target label: a
            // federating server (or a job) without honor_labels, so every server of a
            // region ends up under the federated Prometheus' own instance.
            format!(
                "the series were scraped again without `honor_labels: true` (federation, or a job over another Prometheus): their own `{}` and `{}` became `exported_{}` and `exported_{}`; set `honor_labels: true` on that scrape job",
                ident.host_label, ident.cluster_label, ident.host_label, ident.cluster_label
            )
        } else {
            "deduplicate where the answers are merged (Thanos Querier --query.replica-label, Mimir's HA tracker, one Prometheus of an HA pair per VictoriaMetrics), or drop the second scrape job of the same exporter".into()
        }),
    ))
}

/// The exporter(s) a metric set reads, for hints.
fn exporter_of(set: &MetricSet) -> &'static str {
    let has = |e: DbEngine| set.metrics.iter().any(|m| m.engine == Some(e));
    match (has(DbEngine::Mysql), has(DbEngine::Postgres)) {
        (true, true) => "mysqld_exporter (or postgres_exporter)",
        (false, true) => "postgres_exporter",
        _ => "mysqld_exporter",
    }
}

/// PostgreSQL: what keeps the board from judging a replica's stream, and what Patroni adds.
///
/// A replica is judged streaming from its WAL receiver (`--collector.stat_wal_receiver`,
/// off by default), from its upstream's `pg_stat_replication` rows (which name it only when
/// its `application_name` is its host name) and from Patroni. Each finding names what is
/// missing and the one setting that brings it.
fn postgres_findings(
    set: &MetricSet,
    ident: &Identity,
    facts: &Facts,
    hosts: &[&Host],
) -> Vec<Finding> {
    let mut out = Vec::new();
    let pg: Vec<&&Host> = hosts
        .iter()
        .filter(|h| h.engine == Some(DbEngine::Postgres))
        .collect();
    if pg.is_empty() {
        return out;
    }
    let replicas: Vec<&&&Host> = pg.iter().filter(|h| h.role == Role::Replica).collect();
    let answer = |sig: Signal| {
        set.by_signal(sig)
            .and_then(|i| facts.results.get(i))
            .and_then(|r| r.as_ref().ok())
    };
    let label = |h: &Host| format!("{}/{}", h.id.cluster, h.id.name);

    // The WAL receiver: collected on which replicas?
    if let Some(v) = answer(Signal::WalReceiver) {
        let with: BTreeSet<(&str, &str)> = v
            .iter()
            .filter_map(|s| ident.key_parts_of(s.labels()))
            .collect();
        let without: Vec<String> = replicas
            .iter()
            .filter(|h| !with.contains(&(h.id.cluster.as_str(), h.id.name.as_str())))
            .map(|h| label(h))
            .collect();
        if !without.is_empty() {
            out.push(find(
                Level::Fix,
                "postgres receiver",
                format!(
                    "WAL receiver not collected on {} of {} PostgreSQL replicas ({}): a replica cut from its primary still reads lag 0, and only its primary's rows can tell",
                    without.len(),
                    replicas.len(),
                    names(&without, 5)
                ),
                Some("receiver not running in the exporter: run postgres_exporter 0.15 or later with --collector.stat_wal_receiver".into()),
            ));
        }
    }

    // Walsender rows that name no host of their cluster.
    if let Some(v) = answer(Signal::Walsenders) {
        let mut by_cluster: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for h in &pg {
            by_cluster
                .entry(h.id.cluster.as_str())
                .or_default()
                .insert(h.id.name.as_str());
        }
        let mut anonymous: BTreeSet<String> = BTreeSet::new();
        for s in v.iter() {
            let Some((cluster, sender)) = ident.key_parts_of(s.labels()) else {
                continue;
            };
            let hosts_of = by_cluster.get(cluster);
            let names_host = |x: Option<&str>| {
                x.filter(|x| !x.is_empty())
                    .is_some_and(|x| hosts_of.is_some_and(|hs| hs.contains(ident.host_name_ref(x))))
            };
            if !names_host(s.label("application_name")) && !names_host(s.label("client_addr")) {
                anonymous.insert(format!(
                    "{cluster}/{sender} → application_name={:?} client_addr={:?}",
                    s.label("application_name").unwrap_or(""),
                    s.label("client_addr").unwrap_or("")
                ));
            }
        }
        if !anonymous.is_empty() {
            let rows: Vec<String> = anonymous.into_iter().collect();
            out.push(find(
                Level::Fix,
                "postgres application_name",
                format!(
                    "{} pg_stat_replication rows name no host of their cluster: {}; the primary cannot tell which replica stopped streaming",
                    rows.len(),
                    names(&rows, 3)
                ),
                Some("set application_name to the replica's host name (as the `host` label has it) in each replica's primary_conninfo, or set cluster_name; the default `walreceiver` names nobody".into()),
            ));
        }
    }

    // Replicas nothing can judge.
    let blind: Vec<String> = replicas
        .iter()
        .filter(|h| {
            h.replication
                .as_ref()
                .is_some_and(|r| r.streaming.is_none())
                && h.health != crate::model::Health::Down
        })
        .map(|h| label(h))
        .collect();
    if !blind.is_empty() {
        out.push(find(
            Level::Fix,
            "postgres replication",
            format!(
                "{} PostgreSQL replicas cannot be judged streaming or not and are shown UNKNOWN: {}",
                blind.len(),
                names(&blind, 5)
            ),
            Some("give the board one of: the WAL receiver (--collector.stat_wal_receiver), walsender rows that name the replica (application_name), or Patroni's /metrics scraped with the same host and cluster labels".into()),
        ));
    }

    // Patroni.
    let by_patroni = pg
        .iter()
        .filter(|h| h.role_evidence.is_some_and(|w| w.starts_with("patroni")))
        .count();
    if by_patroni > 0 {
        out.push(find(
            Level::Info,
            "patroni",
            format!(
                "Patroni's /metrics name the role of {by_patroni} of {} PostgreSQL hosts (patroni_primary / patroni_replica; a cluster without leader is CRIT)",
                pg.len()
            ),
            None,
        ));
    }
    out
}

/// Replication series names the metric set reads (lag, threads, source id).
pub fn replication_names(set: &MetricSet) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in [
        Signal::ReplicationLag,
        Signal::IoThread,
        Signal::SqlThread,
        Signal::SourceServerId,
    ] {
        if let Some(def) = set.by_signal(s).and_then(|i| set.metrics.get(i)) {
            for n in metric_names(&def.expr) {
                if !out.contains(&n) {
                    out.push(n);
                }
            }
        }
    }
    out
}

/// The names to count for the naming-generation check: the set's and their other spelling.
pub fn generation_probe(set: &MetricSet) -> Vec<String> {
    let mut out = replication_names(set);
    for n in out.clone() {
        if let Some(o) = other_generation(&n) {
            if !out.contains(&o) {
                out.push(o);
            }
        }
    }
    out
}

fn finish(
    mut findings: Vec<Finding>,
    engine: Engine,
    hosts: usize,
    metrics: Vec<Presence>,
    ams: Vec<AmFacts>,
) -> Report {
    findings.sort_by_key(|f| std::cmp::Reverse(f.level));
    let worst = findings.iter().map(|f| f.level).max().unwrap_or(Level::Ok);
    let (exit_code, status) = match worst {
        Level::Unreachable => (3, "UNREACHABLE"),
        Level::Broken => (2, "BROKEN"),
        Level::Fix => (1, "FIX"),
        Level::Ok | Level::Info => (0, "OK"),
    };
    Report {
        status,
        exit_code,
        engine,
        hosts,
        metrics,
        findings,
        alertmanagers: ams,
    }
}

/// The report for people: findings worst first, each with its fix, then the metric table.
pub fn to_text(r: &Report) -> String {
    use crate::sanitize::escape;
    let mut out = String::new();
    let _ = writeln!(out, "fleetboard doctor: {} ({} hosts)", r.status, r.hosts);
    for f in &r.findings {
        let tag = match f.level {
            Level::Ok => "ok   ",
            Level::Info => "info ",
            Level::Fix => "FIX  ",
            Level::Broken => "BROKEN",
            Level::Unreachable => "UNREACHABLE",
        };
        let _ = writeln!(out, "{tag} [{}] {}", escape(&f.topic), escape(&f.message));
        if let Some(fix) = &f.fix {
            let _ = writeln!(out, "      fix: {}", escape(fix));
        }
    }
    if !r.metrics.is_empty() {
        let _ = writeln!(out, "\nmetric            series  hosts with a value");
        for m in &r.metrics {
            let _ = writeln!(
                out,
                "{:<16}  {:>6}  {}/{}{}",
                escape(&m.metric),
                m.series,
                m.hosts_with,
                m.hosts_expected,
                if m.missing.is_empty() {
                    String::new()
                } else {
                    format!("  missing: {}", escape(&names(&m.missing, 5)))
                }
            );
        }
    }
    out
}

#[cfg(test)]
mod tests;
