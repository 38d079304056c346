//! The fleet model: hosts, clusters and their health, built from query results.
//!
//! Pure data and pure functions: nothing here does I/O or reads the clock.

pub mod health;
pub mod join;
pub mod metrics;

use std::collections::HashMap;
use std::hash::BuildHasher as _;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::model::{
    Alert, AppliesTo, Direction, Fleet, Health, Host, HostId, HostLabels, Identity, Kind,
    MetricDef, MetricSet, MetricState, RangeSeries, Reading, Replication, Role, Signal,
    SourceError, Vector, NO_CLUSTER,
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
}

/// A host while a refresh is merged: its values per metric and its labels, borrowed from
/// the answers (or from the previous refresh, for a host that vanished).
struct Row<'a> {
    id: HostId,
    vals: Vec<Option<f64>>,
    labels: Vec<(&'a str, &'a str)>,
    /// Per metric: the host's series was a native histogram (no float value).
    hist: Option<Vec<bool>>,
    /// Folded into another row, or dropped (see [`join`]).
    gone: bool,
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
                    hist: None,
                    gone: false,
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
        if samples.is_scalar() {
            notes.push(format!(
                "`{}` returned a scalar, not one series per host: its expression must keep the `{}` label (e.g. no aggregation without `by`)",
                def.key, ident.host_label
            ));
            continue;
        }
        let hists = samples.histograms().len();
        for s in samples.histograms() {
            if let Some((cluster, name)) = ident.key_parts(|k| s.label(k)) {
                let r = find_or_add(&mut rows, cluster, name);
                rows[r].hist.get_or_insert_with(|| vec![false; n])[i] = true;
            }
        }
        if hists > 0 {
            notes.push(format!(
                "{hists} series of `{}` are native histograms, which have no single value: use histogram_quantile(), histogram_avg(), histogram_sum() or histogram_count() in its expression",
                def.key
            ));
        }
        let mut example = None;
        for s in samples.iter() {
            let Some((cluster, name)) = ident.key_parts(|k| s.label(k)) else {
                unlabelled += 1;
                example.get_or_insert(s);
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
                if k != "__name__" && !(scan && row.labels.iter().any(|(x, _)| *x == k)) {
                    row.labels.push((k, v));
                }
            }
        }
        if unlabelled > 0 {
            notes.push(format!(
                "{unlabelled} series of `{}` had no `{}` label and were ignored (e.g. {})",
                def.key,
                ident.host_label,
                example.map(|s| join::series_text(&s)).unwrap_or_default()
            ));
        }
        if dups > 0 {
            notes.push(format!(
                "{dups} duplicate series of `{}` (same host); the worst value was kept",
                def.key
            ));
        }
    }

    join::join_unclustered(
        &mut rows,
        set,
        up_i_of(set),
        &ident.cluster_label,
        &mut notes,
    );

    let prev_hosts: hashbrown::HashMap<&HostId, &Host> = previous
        .map(|p| p.hosts.iter().map(|h| (&h.id, h)).collect())
        .unwrap_or_default();

    // Hosts that vanished completely are kept (and judged DOWN) until forgotten.
    for h in previous.map_or(&[][..], |p| &p.hosts[..]) {
        if let Some(f) = input.forget_after {
            if now - h.last_seen > f {
                continue;
            }
        }
        let before = rows.len();
        let r = find_or_add(&mut rows, &h.id.cluster, &h.id.name);
        if r == before {
            rows[r].labels = h.labels.iter().collect();
        }
    }
    rows.retain(|r| !r.gone);
    rows.sort_unstable_by(|a, b| a.id.cmp(&b.id));

    let sig = |s: Signal| set.by_signal(s);
    let up_i = up_i_of(set);
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
            hist,
            ..
        } = row;
        let prev = prev_hosts.get(&id).copied();
        // Values of failed queries come from the previous refresh, marked stale.
        let failed = |i: usize| matches!(input.results.get(i), Some(Err(_)) | None);
        let value_of = |i: usize| -> (Option<f64>, bool) {
            if failed(i) {
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
                None if hist.as_ref().is_some_and(|h| h[i]) => Reading::none(
                    MetricState::Unknown,
                    Some("native histogram sample: no single value to show (see notes)"),
                ),
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

        let seen_now = vals.iter().any(Option::is_some);
        hosts.push(Host {
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

    let unattached = join::attach_alerts(&mut hosts, input.alerts, ident);

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
        other_alerts: unattached.alerts,
        other_reasons: unattached.reasons,
        unplaced_health: unattached.ambiguous_health,
        notes,
        taken_at: input.taken_at,
    }
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
    // Series without the cluster label belong to the host of that name when it is unique
    // (as in `build`).
    let unique = join::unique_names(&fleet.hosts);
    for h in &mut fleet.hosts {
        let orphan = HostId {
            cluster: NO_CLUSTER.to_owned(),
            name: h.id.name.clone(),
        };
        if let Some(v) = by_id.remove(&h.id).or_else(|| {
            unique
                .contains(h.id.name.as_str())
                .then(|| by_id.remove(&orphan))
                .flatten()
        }) {
            h.spark = v;
        }
    }
}

fn up_i_of(set: &MetricSet) -> Option<usize> {
    set.metrics.iter().position(|m| m.kind == Kind::Up)
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
