//! The fleet model: hosts, clusters and their health, built from query results.
//!
//! Pure data and pure functions: nothing here does I/O or reads the clock.

pub mod health;
pub mod metrics;
pub mod roles;

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher as _;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use health::{Health, MetricState};
pub use metrics::{MetricDef, MetricSet};

use crate::sources::{Alert, Labels, SourceError, Vector};
use metrics::{AppliesTo, Direction, Kind};

/// Which labels identify a host and its cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub host_label: String,
    pub cluster_label: String,
    /// `db1:9104` and `db1:9100` are one host.
    pub strip_port: bool,
}

impl Default for Identity {
    fn default() -> Self {
        Self {
            host_label: "instance".into(),
            cluster_label: "cluster".into(),
            strip_port: true,
        }
    }
}

/// Cluster name given to series without the cluster label.
pub const NO_CLUSTER: &str = "(no cluster)";

impl Identity {
    /// Host name from a label value: `db1:9104` → `db1`, `[::1]:9104` → `[::1]`.
    pub fn host_name(&self, raw: &str) -> String {
        self.host_name_ref(raw).to_string()
    }

    fn host_name_ref<'s>(&self, raw: &'s str) -> &'s str {
        if !self.strip_port {
            return raw;
        }
        if let Some((h, p)) = raw.rsplit_once(':') {
            let bracketed_v6 = h.starts_with('[') && h.ends_with(']');
            let plain = !h.contains(':');
            if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && (bracketed_v6 || plain) {
                return h;
            }
        }
        raw
    }

    fn key_of(&self, labels: &Labels) -> Option<HostId> {
        let (cluster, name) = self.key_parts(|k| labels.get(k).map(String::as_str))?;
        Some(HostId {
            cluster: cluster.to_owned(),
            name: name.to_owned(),
        })
    }

    /// `(cluster, host name)` of a series, borrowed from its labels.
    fn key_parts<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> Option<(&'a str, &'a str)> {
        let raw = get(&self.host_label).filter(|r| !r.is_empty())?;
        let cluster = get(&self.cluster_label)
            .filter(|c| !c.is_empty())
            .unwrap_or(NO_CLUSTER);
        Some((cluster, self.host_name_ref(raw)))
    }
}

/// A host's identity: its cluster and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct HostId {
    pub cluster: String,
    pub name: String,
}

/// A host's labels (the union over its series, `__name__` left out), sorted by name.
///
/// The strings are shared: between hosts (`cluster`, `job`, a cluster's name) and with the
/// same host in the previous refresh, so a steady fleet allocates none of them again.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostLabels(Vec<(Arc<str>, Arc<str>)>);

impl HostLabels {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(k, _)| (**k).cmp(name))
            .ok()
            .map(|i| &*self.0[i].1)
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sets a label, keeping the order.
    pub fn insert(&mut self, name: &str, value: &str) {
        match self.0.binary_search_by(|(k, _)| (**k).cmp(name)) {
            Ok(i) => self.0[i].1 = Arc::from(value),
            Err(i) => self.0.insert(i, (Arc::from(name), Arc::from(value))),
        }
    }
}

impl Serialize for HostLabels {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

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
                    let i = p.0.binary_search_by(|(pk, _)| (**pk).cmp(k)).ok()?;
                    let (pk, pv) = &p.0[i];
                    (**pv == *v).then(|| (Arc::clone(pk), Arc::clone(pv)))
                });
                same.unwrap_or_else(|| (self.get(k), self.get(v)))
            })
            .collect();
        HostLabels(out)
    }
}

/// A server's place in its topology; see [`roles`] for how it is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Primary,
    Replica,
    /// Group Replication / InnoDB Cluster member with `member_role` PRIMARY.
    GroupPrimary,
    /// Group Replication / InnoDB Cluster member with `member_role` SECONDARY.
    GroupSecondary,
    /// Galera / Percona XtraDB Cluster node (every node takes writes).
    Galera,
    #[default]
    Unknown,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Replica => "replica",
            Role::GroupPrimary => "group_primary",
            Role::GroupSecondary => "group_secondary",
            Role::Galera => "galera_node",
            Role::Unknown => "unknown",
        }
    }

    /// Words for panels: `group primary` rather than `group_primary`.
    pub fn label(self) -> &'static str {
        match self {
            Role::GroupPrimary => "group primary",
            Role::GroupSecondary => "group secondary",
            Role::Galera => "galera node",
            r => r.as_str(),
        }
    }
}

/// Replication status of a replica: the fields of its single (or worst) channel, and every
/// channel.
///
/// For a single-source replica `source`, `io_running`, `sql_running` and `lag_seconds` are
/// its channel's. With several channels (MariaDB `connection_name`, MySQL `channel_name`)
/// they are the worst: a thread stopped on any channel, the largest lag, and no lag at all
/// when any channel's lag is unknown.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Replication {
    /// The primary it replicates from (host name when it could be resolved).
    pub source: Option<String>,
    pub io_running: Option<bool>,
    pub sql_running: Option<bool>,
    /// Seconds behind as reported (an intended delay included); `None` when unknown (a
    /// stopped thread), never 0 for that.
    pub lag_seconds: Option<f64>,
    /// Intended delay (`MASTER_DELAY` / `SOURCE_DELAY`), seconds, when one is set.
    pub delay_seconds: Option<f64>,
    /// Seconds behind beyond the intended delay: what lag thresholds judge.
    pub behind_seconds: Option<f64>,
    /// Which series names the exporter reported for this host.
    pub naming: Option<roles::Naming>,
    /// Every replication channel (Group Replication's own left out), sorted by name.
    pub channels: Vec<Channel>,
}

/// One replication channel of a replica.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Channel {
    /// `""` for the default (unnamed) channel.
    pub name: String,
    pub source: Option<String>,
    pub io_running: Option<bool>,
    pub sql_running: Option<bool>,
    /// As reported; `None` when unknown (a stopped thread).
    pub lag_seconds: Option<f64>,
    pub delay_seconds: Option<f64>,
    pub behind_seconds: Option<f64>,
    pub health: Health,
}

/// One metric's reading on one host.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub value: Option<f64>,
    pub state: MetricState,
    /// Why there is no value.
    pub note: Option<&'static str>,
    /// The query for this metric failed; the value is from an earlier refresh.
    pub stale: bool,
}

impl Reading {
    fn none(state: MetricState, note: Option<&'static str>) -> Self {
        Self {
            value: None,
            state,
            note,
            stale: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    pub id: HostId,
    pub labels: HostLabels,
    pub role: Role,
    pub replication: Option<Replication>,
    /// One reading per metric of the [`MetricSet`], same order.
    pub readings: Vec<Reading>,
    /// Alerts attached to this host (active, silenced and inhibited).
    pub alerts: Vec<Alert>,
    pub health: Health,
    pub reasons: Vec<String>,
    /// Which evidence decided the role (`read_only=1`, `replica status series`, ...).
    pub role_evidence: Option<&'static str>,
    /// Group Replication membership, when the host is in a group.
    pub group: Option<roles::GroupMember>,
    /// Galera membership, when the host is a Galera node.
    pub galera: Option<roles::GaleraNode>,
    /// The exporter could not be scraped (Prometheus `up` 0, or its series vanished): no
    /// data, which is not the database being down.
    pub exporter_down: bool,
    pub last_seen: DateTime<Utc>,
    /// A short recent history of the sparkline metric (oldest first; NaN for gaps).
    pub spark: Vec<f64>,
}

impl Host {
    /// Active alerts (not silenced, not inhibited).
    pub fn active_alerts(&self) -> usize {
        self.alerts
            .iter()
            .filter(|a| a.state == crate::sources::AlertState::Active)
            .count()
    }

    /// Alerts that are silenced or inhibited.
    pub fn muted_alerts(&self) -> usize {
        self.alerts.len() - self.active_alerts()
    }

    /// Warning and critical thresholds of metric `i` for this host (overrides by label applied).
    pub fn thresholds(&self, set: &MetricSet, i: usize) -> (Option<f64>, Option<f64>) {
        set.thresholds(i, &|k, v| self.labels.get(k) == Some(v))
    }

    pub fn reading(&self, set: &MetricSet, key: &str) -> Option<&Reading> {
        set.index(key).and_then(|i| self.readings.get(i))
    }
}

/// The whole fleet at one moment.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fleet {
    /// Sorted by cluster, then name.
    pub hosts: Vec<Host>,
    pub clusters: Vec<String>,
    /// Alerts that name no known host (fleet-wide, or for hosts not on the board).
    pub other_alerts: Vec<Alert>,
    /// Explanations of data that was dropped or merged (missing labels, duplicates).
    pub notes: Vec<String>,
    /// When the data was taken (the query time in replay mode).
    pub taken_at: Option<DateTime<Utc>>,
}

impl Fleet {
    pub fn find(&self, id: &HostId) -> Option<&Host> {
        self.hosts
            .binary_search_by(|h| h.id.cmp(id))
            .ok()
            .map(|i| &self.hosts[i])
    }

    pub fn counts(&self) -> BTreeMap<Health, usize> {
        let mut c = BTreeMap::new();
        for h in &self.hosts {
            *c.entry(h.health).or_insert(0) += 1;
        }
        c
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
    /// What the series say about the host's topology (channels, group, Galera, targets).
    ev: roles::Evidence,
}

/// Merges query results and alerts into hosts and judges their health.
///
/// `previous` supplies what this refresh cannot: values of metrics whose query failed
/// (marked stale), hosts whose series vanished (shown "exporter down", health UNKNOWN: no
/// data is not a database down), and roles and sources of hosts that are down.
///
/// Roles, replication channels, Group Replication and Galera come from [`roles`]; a host
/// is DOWN only when its exporter answers `mysql_up 0`.
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
                    ev: roles::Evidence::default(),
                });
                rows.len() - 1
            })
            .get()
    };

    let mut topology_i = None;
    for (i, def) in set.metrics.iter().enumerate() {
        let Some(Ok(samples)) = input.results.get(i) else {
            continue;
        };
        if def.key == roles::TOPOLOGY_KEY {
            // Read once every host is known: its series (Prometheus' own `up`, version
            // info) must not add hosts of their own.
            topology_i = Some(i);
            continue;
        }
        // Replication metrics have one series per channel: two channels are no duplicate.
        let channel_field = roles::ChannelField::of_metric(&def.key);
        let mut unlabelled = 0usize;
        let mut dups = 0usize;
        for s in samples.iter() {
            let Some((cluster, name)) = ident.key_parts(|k| s.label(k)) else {
                unlabelled += 1;
                continue;
            };
            let r = find_or_add(&mut rows, cluster, name);
            let row = &mut rows[r];
            let dup = match channel_field {
                Some(f) => row.ev.record_channel(
                    f,
                    roles::channel_of(|k| s.label(k)),
                    s.label("__name__"),
                    s.label("master_host"),
                    s.value(),
                ),
                None => row.vals[i].is_some(),
            };
            if dup {
                dups += 1;
            }
            row.vals[i] = Some(match row.vals[i] {
                None => s.value(),
                Some(old) => worse_of(def, old, s.value()),
            });
            // A label counts the first time the host shows it. Past a few dozen labels (only
            // a hostile answer has them) repeats are kept and dropped by one sort at the end.
            // A channel's name is the channel's, not the host's.
            let scan = row.labels.len() < 64;
            for (k, v) in s.labels() {
                if k != "__name__"
                    && !(channel_field.is_some() && (k == "channel_name" || k == "connection_name"))
                    && !(scan && row.labels.iter().any(|(x, _)| *x == k))
                {
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

    // Hosts that vanished completely are kept (judged "exporter down") until forgotten.
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
    rows.sort_unstable_by(|a, b| a.id.cmp(&b.id));

    let idx = |k: &str| set.index(k);
    let up_i = set.metrics.iter().position(|m| m.kind == Kind::Up);
    let (lag_i, io_i, sql_i, ro_i, sid_i) = (
        idx("lag"),
        idx("io_running"),
        idx("sql_running"),
        idx("read_only"),
        idx("server_id"),
    );

    // The topology query's series, onto the hosts the other metrics found.
    if let Some(Some(Ok(samples))) = topology_i.map(|i| input.results.get(i)) {
        for s in samples.iter() {
            let (Some((cluster, name)), Some(metric)) =
                (ident.key_parts(|k| s.label(k)), s.label("__name__"))
            else {
                continue;
            };
            if let Ok(r) = rows.binary_search_by(|x| {
                (x.id.cluster.as_str(), x.id.name.as_str()).cmp(&(cluster, name))
            }) {
                let label = |k: &str| s.label(k).map(str::to_owned);
                rows[r].ev.record_topology(metric, &label, s.value());
            }
        }
    }
    // A config with its own read_only / server_id metrics feeds the same evidence.
    for r in &mut rows {
        if let Some(v) = ro_i.and_then(|i| r.vals[i]) {
            r.ev.read_only = Some(v);
        }
        if let Some(v) = sid_i.and_then(|i| r.vals[i]) {
            r.ev.server_id = Some(v);
        }
    }

    // server_id → host, per cluster, to resolve a channel's source; and the servers some
    // replica names as its source (evidence of a primary).
    let mut by_server_id: hashbrown::HashMap<(&str, u64), &str> = hashbrown::HashMap::new();
    let mut named_sources: hashbrown::HashSet<(&str, u64)> = hashbrown::HashSet::new();
    for r in &rows {
        if let Some(x) = r.ev.server_id {
            by_server_id.insert((&r.id.cluster, as_id(x)), &r.id.name);
        }
        for c in r.ev.replica_channels() {
            if let Some(m) = c.source_server_id {
                named_sources.insert((&r.id.cluster, as_id(m)));
            }
        }
    }
    let resolve = |cluster: &str, me: &str, source_id: Option<f64>| -> Option<String> {
        by_server_id
            .get(&(cluster, as_id(source_id?)))
            .filter(|s| **s != me)
            .map(|s| (*s).to_owned())
    };
    let resolved: Vec<Vec<Option<String>>> = rows
        .iter()
        .map(|r| {
            r.ev.channels
                .iter()
                .map(|c| resolve(&r.id.cluster, &r.id.name, c.source_server_id))
                .collect()
        })
        .collect();
    let is_source: Vec<bool> = rows
        .iter()
        .map(|r| {
            r.ev.server_id
                .is_some_and(|x| named_sources.contains(&(r.id.cluster.as_str(), as_id(x))))
        })
        .collect();
    drop(by_server_id);
    drop(named_sources);

    let mut strings = Strings::default();
    let mut hosts = Vec::with_capacity(rows.len());
    for ((row, resolved), is_source) in rows.into_iter().zip(resolved).zip(is_source) {
        let Row {
            id,
            vals,
            labels,
            ev,
        } = row;
        let prev = prev_hosts.get(&id).copied();
        let chans: Vec<(&roles::ChannelEvidence, Option<String>)> = ev
            .channels
            .iter()
            .zip(resolved)
            .filter(|(c, _)| !roles::is_group_channel(&c.name) && c.is_channel())
            .collect();
        // Replication figures of the host: the worst channel, and which channel that is.
        let agg = aggregate_channels(&ev, &chans);
        let agg_of = |i: usize| -> Option<&(Option<f64>, Option<&str>)> {
            if chans.is_empty() {
                return None;
            }
            if Some(i) == lag_i {
                Some(&agg.lag)
            } else if Some(i) == io_i {
                Some(&agg.io)
            } else if Some(i) == sql_i {
                Some(&agg.sql)
            } else {
                None
            }
        };
        // Values of failed queries come from the previous refresh, marked stale.
        let failed = |i: usize| matches!(input.results.get(i), Some(Err(_)) | None);
        let value_of = |i: usize| -> (Option<f64>, bool) {
            if failed(i) {
                let pv = prev.and_then(|p| p.readings.get(i)).and_then(|r| r.value);
                (pv, true)
            } else if let Some((v, _)) = agg_of(i) {
                (*v, false)
            } else {
                (vals[i], false)
            }
        };

        let up_now = up_i.map(value_of);
        let had_up_before = prev.is_some_and(|p| p.exporter_down)
            || up_i
                .and_then(|i| prev.and_then(|p| p.readings.get(i)))
                .is_some_and(|r| r.value.is_some() || r.state == MetricState::Down);
        // Database down: the exporter answered and said so. Exporter down: Prometheus could
        // not scrape it, or every series it gave vanished; nothing is known of the database.
        let down = matches!(up_now, Some((Some(v), _)) if v < 1.0);
        let exporter_down =
            matches!(up_now, Some((None, _))) && (!ev.targets_down.is_empty() || had_up_before);
        let no_data = down || exporter_down;

        let (role, role_evidence) = match roles::detect(&ev, &id.name, is_source) {
            Some((r, why)) => (r, Some(why)),
            None => prev.map_or((Role::Unknown, None), |p| (p.role, p.role_evidence)),
        };
        let replicating = role == Role::Replica || !chans.is_empty();

        let host_labels = strings.labels(labels, prev.map(|p| &p.labels));
        let has_label = |k: &str, v: &str| host_labels.get(k) == Some(v);
        let mut readings = Vec::with_capacity(n);
        let mut health = Health::Ok;
        let mut reasons = Vec::new();
        for (i, def) in set.metrics.iter().enumerate() {
            let (value, stale) = value_of(i);
            let (warn, crit) = set.thresholds(i, &has_label);
            let applicable = def.applies_to == AppliesTo::All || replicating;
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
                    if exporter_down {
                        Reading::none(MetricState::Unknown, Some("exporter down: no data from it"))
                    } else {
                        Reading::none(MetricState::Unknown, Some("no series"))
                    }
                }
                None if no_data || !applicable || def.kind == Kind::Info => {
                    Reading::none(MetricState::NotApplicable, None)
                }
                None => Reading::none(MetricState::Unknown, Some("no data")),
            };
            r.stale = stale;
            // Replication figures of a running replica must be there: a missing lag
            // series means a stopped thread, not "0 seconds behind".
            if !no_data
                && replicating
                && r.value.is_none()
                && def.applies_to == AppliesTo::Replica
                && def.kind != Kind::Info
            {
                let thread_stopped = chans.iter().any(|(c, _)| c.thread_stopped())
                    || [io_i, sql_i]
                        .into_iter()
                        .flatten()
                        .any(|j| value_of(j).0.is_some_and(|v| v < 1.0));
                r.state = MetricState::Unknown;
                r.note = Some(if thread_stopped {
                    "no value: a replication thread is stopped"
                } else if !chans.is_empty() {
                    "no value"
                } else {
                    roles::replica_status_hint(ev.version.as_deref())
                });
            }
            let counts = match def.kind {
                Kind::Up => true,
                Kind::Flag => true,
                Kind::Gauge => {
                    r.value.is_some()
                        || (def.applies_to == AppliesTo::Replica
                            && r.state == MetricState::Unknown
                            && !no_data)
                }
                Kind::Info => false,
            };
            if counts && r.state != MetricState::NotApplicable && r.state != MetricState::Ok {
                let h = r.state.health();
                if h > Health::Ok && !(exporter_down && def.kind == Kind::Up) {
                    let channel = agg_of(i).and_then(|(_, c)| *c).filter(|c| !c.is_empty());
                    let delay = (Some(i) == lag_i).then_some(agg.delay).flatten();
                    reasons.push((h, reason(def, &r, (warn, crit), channel, delay)));
                }
                health = health.max(h);
            }
            readings.push(r);
        }
        if up_i.is_some() && up_now.is_some_and(|(v, _)| v.is_none()) && !down {
            health = health.max(Health::Unknown);
        }
        let group = roles::group_member(&ev, &id.name);
        let galera = roles::galera_node(&ev);
        if !no_data {
            for (h, why) in group
                .iter()
                .flat_map(roles::judge_group)
                .chain(galera.iter().flat_map(roles::judge_galera))
            {
                health = health.max(h);
                reasons.push((h, why));
            }
        }
        if exporter_down {
            let why = if ev.targets_down.is_empty() {
                "exporter down: its series vanished (no data; the database itself may be fine)"
                    .to_string()
            } else {
                format!(
                    "exporter down: Prometheus cannot scrape it (up=0, job {}); no data, the database itself may be fine",
                    ev.targets_down.join(", ")
                )
            };
            reasons.push((Health::Unknown, why));
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

        let replication = if replicating {
            let lag_t = lag_i.map_or((None, None), |i| set.thresholds(i, &has_label));
            Some(replication_of(
                &chans,
                &agg,
                lag_t,
                |c: &roles::ChannelEvidence| {
                    c.master_host
                        .as_deref()
                        .map(|h| ident.host_name(h))
                        .filter(|h| !is_loopback(h))
                        .or_else(|| {
                            host_labels
                                .get("master_host")
                                .filter(|h| !h.is_empty())
                                .map(|h| ident.host_name(h))
                                .filter(|h| !is_loopback(h))
                        })
                },
                prev.and_then(|p| p.replication.as_ref()),
                ev.naming(),
                (
                    io_i.and_then(|i| value_of(i).0),
                    sql_i.and_then(|i| value_of(i).0),
                    lag_i.and_then(|i| value_of(i).0),
                ),
            ))
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
            role_evidence,
            group,
            galera,
            exporter_down,
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
                        .push(format!("alert {} ({})", a.name(), a.severity()));
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
    }
}

/// Attaches tile sparklines: each series to its host, sampled on the query's steps
/// (missing steps become NaN, drawn as gaps).
pub fn attach_sparks(
    fleet: &mut Fleet,
    ident: &Identity,
    series: &[crate::sources::RangeSeries],
    start: f64,
    step: f64,
    n: usize,
) {
    if step <= 0.0 || n == 0 {
        return;
    }
    let mut by_id: HashMap<HostId, Vec<f64>> = HashMap::new();
    for s in series {
        let Some(id) = ident.key_of(&s.labels) else {
            continue;
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

/// A host's replication figures over its channels: each value with the channel it came from.
struct ChannelAgg<'a> {
    /// Seconds behind beyond the intended delay: the largest, or `None` when a channel's lag
    /// is unknown (that channel named).
    lag: (Option<f64>, Option<&'a str>),
    /// The lowest (a stopped thread on any channel), and that channel.
    io: (Option<f64>, Option<&'a str>),
    sql: (Option<f64>, Option<&'a str>),
    /// Intended delay of the channel that gave `lag`, when it has one.
    delay: Option<f64>,
    /// The largest lag as reported, `None` when any is unknown.
    raw_lag: Option<f64>,
}

fn aggregate_channels<'a>(
    ev: &'a roles::Evidence,
    chans: &[(&'a roles::ChannelEvidence, Option<String>)],
) -> ChannelAgg<'a> {
    let lowest = |get: fn(&roles::ChannelEvidence) -> Option<f64>| {
        chans
            .iter()
            .filter_map(|(c, _)| get(c).map(|v| (v, c.name.as_str())))
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map_or((None, None), |(v, n)| (Some(v), Some(n)))
    };
    let mut best: Option<(f64, &str, Option<f64>)> = None;
    for (c, _) in chans {
        if let Some(b) = c.behind() {
            // NaN is no number of seconds: it wins, to be judged UNKNOWN.
            if best.is_none_or(|x| b.is_nan() || (!x.0.is_nan() && b > x.0)) {
                best = Some((b, &c.name, c.delay));
            }
        }
    }
    // pt-heartbeat lag carries no channel: with a single channel, that channel's delay is in it.
    let loose = ev
        .channels
        .iter()
        .filter(|c| !c.is_channel() && !roles::is_group_channel(&c.name))
        .filter_map(|c| c.lag)
        .reduce(f64::max);
    let unknown = chans
        .iter()
        .map(|(c, _)| *c)
        .filter(|c| c.lag.is_none())
        .max_by_key(|c| c.thread_stopped());
    let mut raw_lag = chans
        .iter()
        .map(|(c, _)| c.lag)
        .try_fold(None, |m: Option<f64>, l| {
            l.map(|l| Some(m.map_or(l, |m| m.max(l))))
        })
        .flatten();
    let lag = if let Some(l) = loose {
        let d = match chans {
            [(only, _)] => only.delay,
            _ => None,
        };
        let b = (l - d.unwrap_or(0.0).max(0.0)).max(0.0);
        if best.is_none_or(|x| b > x.0) {
            best = Some((b, "", d));
        }
        raw_lag = Some(raw_lag.map_or(l, |r| r.max(l)));
        best
    } else if let Some(u) = unknown {
        return ChannelAgg {
            lag: (None, Some(&u.name)),
            io: lowest(|c| c.io),
            sql: lowest(|c| c.sql),
            delay: u.delay.filter(|d| *d > 0.0),
            raw_lag: None,
        };
    } else {
        best
    };
    ChannelAgg {
        lag: lag.map_or((None, None), |(b, n, _)| (Some(b), Some(n))),
        io: lowest(|c| c.io),
        sql: lowest(|c| c.sql),
        delay: lag.and_then(|(_, _, d)| d).filter(|d| *d > 0.0),
        raw_lag,
    }
}

/// The replication status shown for a host: every channel, and the host-level fields of
/// the single (or worst) channel. `fallback` gives (io, sql, lag) when no channel is known
/// (a replica by `read_only` whose exporter shows no replica status).
fn replication_of(
    chans: &[(&roles::ChannelEvidence, Option<String>)],
    agg: &ChannelAgg<'_>,
    (warn, crit): (Option<f64>, Option<f64>),
    source_hint: impl Fn(&roles::ChannelEvidence) -> Option<String>,
    prev: Option<&Replication>,
    naming: Option<roles::Naming>,
    fallback: (Option<f64>, Option<f64>, Option<f64>),
) -> Replication {
    let yes = |v: Option<f64>| v.map(|v| v >= 1.0);
    let mut channels: Vec<Channel> = chans
        .iter()
        .map(|(c, resolved)| {
            let source = resolved.clone().or_else(|| source_hint(c)).or_else(|| {
                prev.and_then(|p| p.channels.iter().find(|pc| pc.name == c.name))
                    .and_then(|pc| pc.source.clone())
            });
            let behind = c.behind();
            let health = if c.thread_stopped() {
                Health::Crit
            } else {
                match behind {
                    Some(b) if crit.is_some_and(|t| b >= t) => Health::Crit,
                    Some(b) if warn.is_some_and(|t| b >= t) => Health::Warn,
                    Some(_) => Health::Ok,
                    None => Health::Unknown,
                }
            };
            Channel {
                name: c.name.clone(),
                source,
                io_running: yes(c.io),
                sql_running: yes(c.sql),
                lag_seconds: c.lag,
                delay_seconds: c.delay.filter(|d| *d > 0.0),
                behind_seconds: behind,
                health,
            }
        })
        .collect();
    channels.sort_by(|a, b| a.name.cmp(&b.name));
    if channels.is_empty() {
        let (io, sql, lag) = fallback;
        return Replication {
            source: prev.and_then(|p| p.source.clone()),
            io_running: yes(io),
            sql_running: yes(sql),
            lag_seconds: lag,
            behind_seconds: lag,
            naming,
            ..Replication::default()
        };
    }
    Replication {
        source: match channels.as_slice() {
            [only] => only.source.clone(),
            _ => None,
        },
        io_running: yes(agg.io.0),
        sql_running: yes(agg.sql.0),
        lag_seconds: agg.raw_lag,
        delay_seconds: channels
            .iter()
            .filter_map(|c| c.delay_seconds)
            .reduce(f64::max),
        behind_seconds: agg.lag.0,
        naming,
        channels,
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

/// Why a reading makes the host unhealthy, in words; `channel` names the replication
/// channel the value came from, `delay` the intended delay already taken off a lag.
fn reason(
    def: &MetricDef,
    r: &Reading,
    (warn, crit): (Option<f64>, Option<f64>),
    channel: Option<&str>,
    delay: Option<f64>,
) -> String {
    let on = channel
        .map(|c| format!(" on channel '{c}'"))
        .unwrap_or_default();
    let text = reason_text(def, r, (warn, crit));
    match delay {
        Some(d) if r.value.is_some() => format!(
            "{text}{on} beyond its intended {} delay",
            metrics::format_value(d, metrics::Unit::Seconds)
        ),
        _ => format!("{text}{on}"),
    }
}

fn reason_text(def: &MetricDef, r: &Reading, (warn, crit): (Option<f64>, Option<f64>)) -> String {
    use metrics::format_value;
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
