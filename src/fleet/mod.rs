//! The fleet model: hosts, clusters and their health, built from query results.
//!
//! Pure data and pure functions: nothing here does I/O or reads the clock.

pub mod health;
pub mod metrics;

use std::collections::HashMap;
use std::hash::BuildHasher as _;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::model::{
    Alert, AppliesTo, Direction, Fleet, Health, Host, HostId, HostLabels, Identity, Kind,
    MetricDef, MetricSet, MetricState, RangeSeries, Reading, Replication, Role, Signal,
    SourceError, SourceStatus, Vector, NO_CLUSTER, SOURCE_LABEL,
};

/// Strings for host labels: the previous refresh's where the host had the same label, else
/// one shared copy per distinct string of this refresh.
#[derive(Default)]
struct Strings<'a> {
    seen: hashbrown::HashMap<&'a str, Arc<str>>,
}

impl<'a> Strings<'a> {
    fn get(&mut self, s: &'a str) -> Arc<str> {
        Arc::clone(self.seen.entry(s).or_insert_with(|| Arc::from(s)))
    }

    /// Labels of one host, from `(name, value)` pairs in the order the series showed them;
    /// a name seen again keeps its first value.
    fn labels(
        &mut self,
        mut pairs: Vec<(&'a str, &'a str)>,
        prev: Option<&HostLabels>,
    ) -> HostLabels {
        pairs.sort_by(|a, b| a.0.cmp(b.0));
        pairs.dedup_by(|later, first| later.0 == first.0);
        let out = pairs
            .into_iter()
            .map(|(k, v)| {
                let same = prev.and_then(|p| {
                    let (pk, pv) = p.entry(k)?;
                    (**pv == *v).then(|| (Arc::clone(pk), Arc::clone(pv)))
                });
                same.unwrap_or_else(|| (self.get(k), self.get(v)))
            })
            .collect();
        HostLabels::from_sorted(out)
    }
}

/// Inputs of one refresh, as the sources returned them.
#[derive(Debug, Clone, Default)]
pub struct BuildInput<'a> {
    /// One result per metric of the set, same order.
    pub results: &'a [Result<Vector, SourceError>],
    pub alerts: &'a [Alert],
    pub taken_at: Option<DateTime<Utc>>,
    /// Hosts not seen for longer than this are dropped (a decommissioned server).
    pub forget_after: Option<chrono::Duration>,
    /// How each source answered: hosts of a source that failed or answered partially
    /// keep their last data, marked STALE, instead of turning DOWN.
    pub sources: &'a [SourceStatus],
}

/// A host while a refresh is merged: its values per metric and its labels, borrowed from
/// the answers (or from the previous refresh, for a host that vanished).
struct Row<'a> {
    id: HostId,
    vals: Vec<Option<f64>>,
    labels: Vec<(&'a str, &'a str)>,
    source: Option<&'a str>,
}

/// Merges query results and alerts into hosts and judges their health.
///
/// `previous` supplies what this refresh cannot: values of metrics whose query failed
/// (marked stale), hosts whose series vanished (shown DOWN), and roles and sources of
/// hosts that are down.
#[allow(clippy::too_many_lines)]
pub fn build<'a>(
    set: &MetricSet,
    ident: &Identity,
    input: &BuildInput<'a>,
    previous: Option<&'a Fleet>,
) -> Fleet {
    let n = set.metrics.len();
    let now = input.taken_at.unwrap_or_default();
    let mut notes = Vec::new();
    // One row per host. Rows are found by hashing the borrowed (cluster, name) of each
    // series, without building a key, and sorted once at the end: 100,000 series per
    // refresh at 10,000 hosts make every allocation and comparison here count.
    let hasher = hashbrown::DefaultHashBuilder::default();
    let mut index: hashbrown::HashTable<usize> = hashbrown::HashTable::new();
    let mut rows: Vec<Row<'_>> = Vec::new();
    let mut find_or_add = |rows: &mut Vec<Row<'a>>, cluster: &str, name: &str| -> usize {
        let hash = hasher.hash_one((cluster, name));
        *index
            .entry(
                hash,
                |&r| rows[r].id.cluster == cluster && rows[r].id.name == name,
                |&r| hasher.hash_one((rows[r].id.cluster.as_str(), rows[r].id.name.as_str())),
            )
            .or_insert_with(|| {
                rows.push(Row {
                    id: HostId {
                        cluster: cluster.to_owned(),
                        name: name.to_owned(),
                    },
                    vals: vec![None; n],
                    labels: Vec::new(),
                    source: None,
                });
                rows.len() - 1
            })
            .get()
    };

    for (i, def) in set.metrics.iter().enumerate() {
        let Some(Ok(samples)) = input.results.get(i) else {
            continue;
        };
        let mut unlabelled = 0usize;
        let mut dups = 0usize;
        for s in samples.iter() {
            let Some((cluster, name)) = ident.key_parts(|k| s.label(k)) else {
                unlabelled += 1;
                continue;
            };
            let r = find_or_add(&mut rows, cluster, name);
            let row = &mut rows[r];
            row.vals[i] = Some(match row.vals[i] {
                None => s.value(),
                Some(old) => {
                    dups += 1;
                    worse_of(def, old, s.value())
                }
            });
            // A label counts the first time the host shows it. Past a few dozen labels (only
            // a hostile answer has them) repeats are kept and dropped by one sort at the end.
            let scan = row.labels.len() < 64;
            for (k, v) in s.labels() {
                if k == SOURCE_LABEL {
                    if row.source.is_none() {
                        row.source = Some(v);
                    }
                    continue;
                }
                if k != "__name__" && !(scan && row.labels.iter().any(|(x, _)| *x == k)) {
                    row.labels.push((k, v));
                }
            }
        }
        if unlabelled > 0 {
            notes.push(format!(
                "{unlabelled} series of `{}` had no `{}` label and were ignored",
                def.key, ident.host_label
            ));
        }
        if dups > 0 {
            notes.push(format!(
                "{dups} duplicate series of `{}` (same host); the worst value was kept",
                def.key
            ));
        }
    }

    let prev_hosts: hashbrown::HashMap<&HostId, &Host> = previous
        .map(|p| p.hosts.iter().map(|h| (&h.id, h)).collect())
        .unwrap_or_default();

    // Sources whose answer may lack hosts: failed as a whole, or partial.
    let incomplete: HashMap<&str, String> = input
        .sources
        .iter()
        .filter_map(|s| Some((s.name.as_str(), s.incomplete_reason()?)))
        .collect();
    let gap_of = |source: Option<&str>| source.and_then(|s| incomplete.get(s));

    // Hosts that vanished completely are kept (and judged DOWN) until forgotten; those of
    // an incomplete source are kept stale, however long the source stays away.
    for h in previous.map_or(&[][..], |p| &p.hosts[..]) {
        // A host kept stale through a long outage is judged once its source answers
        // again (DOWN if it is still missing) before it can be forgotten.
        let keep = gap_of(h.source.as_deref()).is_some() || h.health == Health::Stale;
        if let Some(f) = input.forget_after {
            if now - h.last_seen > f && !keep {
                continue;
            }
        }
        let before = rows.len();
        let r = find_or_add(&mut rows, &h.id.cluster, &h.id.name);
        if r == before {
            rows[r].labels = h.labels.iter().collect();
            rows[r].source = h.source.as_deref();
        }
    }
    rows.sort_unstable_by(|a, b| a.id.cmp(&b.id));

    let sig = |s: Signal| set.by_signal(s);
    let up_i = set.metrics.iter().position(|m| m.kind == Kind::Up);
    let (lag_i, io_i, sql_i, ro_i, sid_i, msid_i) = (
        sig(Signal::ReplicationLag),
        sig(Signal::IoThread),
        sig(Signal::SqlThread),
        sig(Signal::ReadOnly),
        sig(Signal::ServerId),
        sig(Signal::SourceServerId),
    );

    // server_id → host, per cluster, to resolve a replica's source.
    let mut sources: Vec<Option<String>> = vec![None; rows.len()];
    if let (Some(si), Some(mi)) = (sid_i, msid_i) {
        let mut by_server_id: hashbrown::HashMap<(&str, u64), &str> = hashbrown::HashMap::new();
        for r in &rows {
            if let Some(x) = r.vals[si] {
                by_server_id.insert((&r.id.cluster, as_id(x)), &r.id.name);
            }
        }
        for (r, src) in rows.iter().zip(&mut sources) {
            if let Some(m) = r.vals[mi] {
                *src = by_server_id
                    .get(&(r.id.cluster.as_str(), as_id(m)))
                    .filter(|s| **s != r.id.name)
                    .map(|s| (*s).to_owned());
            }
        }
    }

    let mut strings = Strings::default();
    let mut hosts = Vec::with_capacity(rows.len());
    for (row, resolved_source) in rows.into_iter().zip(sources) {
        let Row {
            id,
            vals,
            labels,
            source,
        } = row;
        let prev = prev_hosts.get(&id).copied();
        let gap = gap_of(source);
        let seen_now = vals.iter().any(Option::is_some);
        if let (Some(reason), Some(p), false) = (gap, prev, seen_now) {
            // Missing from an incomplete answer: not evidence of anything. Last data, stale.
            hosts.push(stale_host(p, reason));
            continue;
        }
        // Values of failed queries (and, from an incomplete source, missing values) come
        // from the previous refresh, marked stale.
        let failed = |i: usize| matches!(input.results.get(i), Some(Err(_)) | None);
        let value_of = |i: usize| -> (Option<f64>, bool) {
            if failed(i) || (gap.is_some() && vals[i].is_none()) {
                let pv = prev.and_then(|p| p.readings.get(i)).and_then(|r| r.value);
                (pv, true)
            } else {
                (vals[i], false)
            }
        };

        let up_now = up_i.map(value_of);
        let had_up_before = up_i
            .and_then(|i| prev.and_then(|p| p.readings.get(i)))
            .is_some_and(|r| r.value.is_some() || r.state == MetricState::Down);
        let down = match up_now {
            Some((Some(v), _)) => v < 1.0,
            Some((None, _)) => had_up_before,
            None => false,
        };

        let slave_seen = [lag_i, io_i, sql_i, msid_i]
            .into_iter()
            .flatten()
            .any(|i| value_of(i).0.is_some());
        let ro = ro_i.and_then(|i| value_of(i).0);
        let role = if slave_seen {
            Role::Replica
        } else {
            match ro {
                Some(v) if v >= 1.0 => Role::Replica,
                Some(_) => Role::Primary,
                None => prev.map_or(Role::Unknown, |p| p.role),
            }
        };

        let host_labels = strings.labels(labels, prev.map(|p| &p.labels));
        let has_label = |k: &str, v: &str| host_labels.get(k) == Some(v);
        let mut readings = Vec::with_capacity(n);
        let mut health = Health::Ok;
        let mut reasons = Vec::new();
        for (i, def) in set.metrics.iter().enumerate() {
            let (value, stale) = value_of(i);
            let (warn, crit) = set.thresholds(i, &has_label);
            let applicable = def.applies_to == AppliesTo::All || role == Role::Replica;
            let mut r = match value {
                Some(v) if applicable || def.kind == Kind::Info => {
                    let st = health::judge(def, v, warn, crit);
                    Reading {
                        value: Some(v),
                        state: st,
                        note: None,
                        stale,
                    }
                }
                Some(v) => Reading {
                    value: Some(v),
                    state: MetricState::NotApplicable,
                    note: None,
                    stale,
                },
                None if def.kind == Kind::Up => {
                    if down {
                        Reading::none(
                            MetricState::Down,
                            Some("series vanished: exporter or scrape target down?"),
                        )
                    } else {
                        Reading::none(MetricState::Unknown, Some("no series"))
                    }
                }
                None if down || !applicable || def.kind == Kind::Info => {
                    Reading::none(MetricState::NotApplicable, None)
                }
                None => Reading::none(MetricState::Unknown, Some("no data")),
            };
            r.stale = stale;
            // Replication figures of a running replica must be there: a missing lag
            // series means a stopped thread, not "0 seconds behind".
            if !down
                && role == Role::Replica
                && r.value.is_none()
                && def.applies_to == AppliesTo::Replica
                && def.kind != Kind::Info
            {
                let thread_stopped = [io_i, sql_i]
                    .into_iter()
                    .flatten()
                    .any(|j| value_of(j).0.is_some_and(|v| v < 1.0));
                r.state = MetricState::Unknown;
                r.note = Some(if thread_stopped {
                    "no value: a replication thread is stopped"
                } else if slave_seen {
                    "no value"
                } else {
                    "replication status unknown: no slave-status series (exporter needs --collect.slave_status and the SLAVE MONITOR grant)"
                });
            }
            let counts = match def.kind {
                Kind::Up => true,
                Kind::Flag => true,
                Kind::Gauge => {
                    r.value.is_some()
                        || (def.applies_to == AppliesTo::Replica
                            && r.state == MetricState::Unknown
                            && !down)
                }
                Kind::Info => false,
            };
            if counts && r.state != MetricState::NotApplicable && r.state != MetricState::Ok {
                let h = r.state.health();
                if h > Health::Ok {
                    reasons.push((h, reason(def, &r, (warn, crit))));
                }
                health = health.max(h);
            }
            readings.push(r);
        }
        if up_i.is_some() && up_now.is_some_and(|(v, _)| v.is_none()) && !down {
            health = health.max(Health::Unknown);
        }
        if down {
            health = Health::Down;
        }
        // Worst first; an UNKNOWN explained by a worse reason (no lag because the
        // SQL thread stopped) adds nothing.
        reasons.sort_by_key(|r| std::cmp::Reverse(r.0));
        let worst = reasons.first().map_or(Health::Ok, |r| r.0);
        let reasons: Vec<String> = reasons
            .into_iter()
            .filter(|(h, _)| *h > Health::Unknown || worst <= Health::Unknown)
            .map(|(_, r)| r)
            .collect();

        let replication = if role == Role::Replica {
            let b = |i: Option<usize>| i.and_then(|i| value_of(i).0).map(|v| v >= 1.0);
            let source = resolved_source
                .or_else(|| {
                    host_labels
                        .get("master_host")
                        .filter(|h| !h.is_empty())
                        .map(|h| ident.host_name(h))
                        .filter(|h| !is_loopback(h))
                })
                .or_else(|| prev.and_then(|p| p.replication.as_ref()?.source.clone()));
            Some(Replication {
                source,
                io_running: b(io_i),
                sql_running: b(sql_i),
                lag_seconds: lag_i.and_then(|i| value_of(i).0),
            })
        } else {
            None
        };

        hosts.push(Host {
            source: source.map(str::to_owned),
            labels: host_labels,
            role,
            replication,
            readings,
            alerts: Vec::new(),
            health,
            reasons,
            last_seen: if seen_now {
                now
            } else {
                prev.map_or(now, |p| p.last_seen)
            },
            id,
            spark: Vec::new(),
        });
    }

    // Alerts: attach by host (and cluster when the alert carries one).
    let mut other_alerts = Vec::new();
    let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, h) in hosts.iter().enumerate() {
        by_name.entry(h.id.name.clone()).or_default().push(i);
    }
    for a in input.alerts {
        let target = a.labels.get(&ident.host_label).and_then(|raw| {
            let name = ident.host_name(raw);
            let cands = by_name.get(&name)?;
            let cl = a.labels.get(&ident.cluster_label);
            cands
                .iter()
                .copied()
                .find(|&i| cl.is_none_or(|c| *c == hosts[i].id.cluster))
        });
        match target {
            Some(i) => {
                let h = &mut hosts[i];
                let ah = health::alert_health(a);
                if ah > Health::Ok {
                    h.reasons
                        .push(format!("alert {} ({})", a.name(), a.severity_label()));
                    if h.health != Health::Down {
                        h.health = h.health.max(ah);
                    }
                }
                h.alerts.push(a.clone());
            }
            None => other_alerts.push(a.clone()),
        }
    }

    let mut clusters: Vec<String> = hosts.iter().map(|h| h.id.cluster.clone()).collect();
    clusters.dedup();
    if clusters.iter().any(|c| c == NO_CLUSTER) {
        notes.push(format!(
            "some series had no `{}` label; their hosts are grouped under {NO_CLUSTER}",
            ident.cluster_label
        ));
    }
    for (def, r) in set.metrics.iter().zip(input.results) {
        if let Err(e) = r {
            notes.push(format!("query `{}` failed: {e}", def.key));
        }
    }

    Fleet {
        hosts,
        clusters,
        other_alerts,
        notes,
        taken_at: input.taken_at,
        sources: input.sources.to_vec(),
        dead_mans_switch: None,
    }
}

/// A host missing from an incomplete answer: its last data, every reading stale, health
/// STALE with the source's reason first and what was known before after it.
fn stale_host(prev: &Host, reason: &str) -> Host {
    let mut h = prev.clone();
    h.alerts.clear();
    for r in &mut h.readings {
        r.stale = true;
    }
    let first = format!("stale: {reason}");
    if prev.health == Health::Stale {
        // Already stale: what was known before stays as it was said the first time.
        match h.reasons.first_mut() {
            Some(r) => *r = first,
            None => h.reasons.push(first),
        }
        return h;
    }
    h.reasons = std::iter::once(first)
        .chain((prev.health != Health::Ok).then(|| format!("last known: {}", prev.health.as_str())))
        .chain(prev.reasons.iter().map(|r| format!("last known: {r}")))
        .collect();
    h.health = Health::Stale;
    h
}

/// Attaches tile sparklines: each series to its host, sampled on the query's steps
/// (missing steps become NaN, drawn as gaps).
pub fn attach_sparks(
    fleet: &mut Fleet,
    ident: &Identity,
    series: &[RangeSeries],
    start: f64,
    step: f64,
    n: usize,
) {
    if step <= 0.0 || n == 0 {
        return;
    }
    let mut by_id: HashMap<HostId, Vec<f64>> = HashMap::new();
    for s in series {
        let Some((cluster, name)) = ident.key_parts(|k| s.labels.get(k).map(String::as_str)) else {
            continue;
        };
        let id = HostId {
            cluster: cluster.to_owned(),
            name: name.to_owned(),
        };
        let slot = by_id.entry(id).or_insert_with(|| vec![f64::NAN; n]);
        for &(t, v) in &s.points {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let i = ((t - start) / step).round() as usize;
            if i < n && v.is_finite() && (slot[i].is_nan() || v > slot[i]) {
                slot[i] = v;
            }
        }
    }
    for h in &mut fleet.hosts {
        if let Some(v) = by_id.remove(&h.id) {
            h.spark = v;
        }
    }
}

fn worse_of(def: &MetricDef, a: f64, b: f64) -> f64 {
    if a.is_nan() {
        return b;
    }
    if b.is_nan() {
        return a;
    }
    match def.direction {
        Direction::Higher => a.max(b),
        Direction::Lower => a.min(b),
    }
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn as_id(v: f64) -> u64 {
    if v.is_finite() && v >= 0.0 {
        v as u64
    } else {
        u64::MAX
    }
}

fn is_loopback(h: &str) -> bool {
    h == "localhost" || h.starts_with("127.") || h == "::1" || h == "[::1]"
}

fn reason(def: &MetricDef, r: &Reading, (warn, crit): (Option<f64>, Option<f64>)) -> String {
    use crate::model::format::format_value;
    match (def.kind, r.value) {
        (Kind::Up, _) => r
            .note
            .map_or_else(|| "mysql is down".to_string(), |n| format!("down: {n}")),
        (Kind::Flag, Some(_)) => format!("{} thread stopped", def.label),
        (_, Some(v)) => {
            let t = match r.state {
                MetricState::Crit => crit,
                MetricState::Warn => warn,
                _ => None,
            };
            let cmp = if def.direction == Direction::Higher {
                "≥"
            } else {
                "≤"
            };
            match t {
                Some(t) => format!(
                    "{} {} {cmp} {}",
                    def.label,
                    format_value(v, def.unit),
                    format_value(t, def.unit)
                ),
                None => format!("{} {}", def.label, format_value(v, def.unit)),
            }
        }
        (_, None) => format!("{}: {}", def.label, r.note.unwrap_or("no data")),
    }
}

#[cfg(test)]
mod tests;
