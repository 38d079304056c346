//! The fleet model: hosts, clusters and their health, built from query results.
//!
//! Pure data and pure functions: nothing here does I/O or reads the clock.

pub mod health;
pub mod join;
pub mod metrics;
pub mod postgres;
pub mod roles;
pub mod topology;

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher as _;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::model::labels::same_text;
use crate::model::{
    pairs, Alert, AppliesTo, Channel, Direction, Engine, Fleet, Health, Host, HostId, HostLabels,
    Identity, Kind, MetricDef, MetricSet, MetricState, RangeSeries, Reading, Replication, Role,
    Signal, SourceError, SourceStatus, Vector, NO_CLUSTER, SOURCE_LABEL,
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
        // Both sorted by name: the previous labels are walked once beside these.
        let mut prev = prev.map_or(&[][..], HostLabels::entries).iter().peekable();
        let out = pairs
            .into_iter()
            .map(|(k, v)| {
                while prev.next_if(|(pk, _)| **pk < *k).is_some() {}
                let same = prev
                    .next_if(|(pk, _)| same_text(pk, k))
                    .filter(|(_, pv)| same_text(pv, v))
                    .map(|(pk, pv)| (Arc::clone(pk), Arc::clone(pv)));
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
    /// Every alert of every Alertmanager (active, silenced and inhibited).
    pub alerts: &'a [Alert],
    /// The time the data describes (the query's evaluation time); `None` in tests that do
    /// not age anything.
    pub taken_at: Option<DateTime<Utc>>,
    /// Hosts not seen for longer than this are dropped (a decommissioned server).
    pub forget_after: Option<chrono::Duration>,
    /// How each source answered: hosts of a source that failed or answered partially
    /// keep their last data, marked STALE, instead of turning DOWN.
    pub sources: &'a [SourceStatus],
}

/// Why a replica whose replica-status series were there at the last refresh has none now.
const REPLICA_STATUS_GONE: &str = "replication status unknown: the replica-status series are gone since the last refresh (a scrape that failed part-way: the exporter's collector timed out or lost its connection)";

/// Why `mysql_up` 0 is not judged DOWN when the server's own series came in the same answer.
const MYSQL_UP_ANSWERED: &str = "mysql_up 0, yet the server's status came in the same answer: the exporter failed to connect for one scrape (more concurrent scrapes than the exporter user's MAX_USER_CONNECTIONS?)";
/// Why a name with the machine's series only (node_exporter's) has no `up`: not a database
/// down, a name no database exporter uses.
const MACHINE_ONLY: &str = "no database exporter under this name, only the machine's series (node_exporter): its database exporter names it differently (see `fleetboard doctor`), or it runs no database";
/// The same for `pg_up`.
const PG_UP_ANSWERED: &str = "pg_up 0, yet the server's status came in the same answer: the exporter failed to connect for one scrape (connection limits of its user or of the server?)";

/// Seconds past which the age of pt-heartbeat's row on the server writing it is taken off
/// the rows others read: it writes every second by default (`--interval`), so below it a
/// row is as fresh as pt-heartbeat keeps it and is read as `pt-heartbeat --check` reads it.
const HEARTBEAT_WRITER_SLACK: f64 = 5.0;

/// Seconds past which that age is noted: a clock offset, or pt-heartbeat stopped.
const HEARTBEAT_WRITER_LATE: f64 = 60.0;

/// The labels of a replica-status series the merge reads, found in one pass over its labels
/// instead of one lookup each.
#[derive(Debug, Default)]
struct ChannelLabels<'a> {
    name: Option<&'a str>,
    channel: Option<&'a str>,
    connection: Option<&'a str>,
    master_host: Option<&'a str>,
    server_id: Option<&'a str>,
}

impl<'a> ChannelLabels<'a> {
    fn of(labels: impl Iterator<Item = (&'a str, &'a str)>) -> Self {
        let mut c = Self::default();
        for (k, v) in labels {
            let slot = match k {
                "__name__" => &mut c.name,
                "channel_name" => &mut c.channel,
                "connection_name" => &mut c.connection,
                "master_host" => &mut c.master_host,
                "server_id" => &mut c.server_id,
                _ => continue,
            };
            slot.get_or_insert(v);
        }
        c
    }

    fn get(&self, name: &str) -> Option<&'a str> {
        match name {
            "channel_name" => self.channel,
            "connection_name" => self.connection,
            _ => None,
        }
    }
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
    source: Option<&'a str>,
    /// What the series say about the host's topology (channels, group, Galera, targets).
    ev: roles::Evidence,
    /// From the metric name of the host's `up` series (`mysql_up`, `pg_up`).
    engine: Option<Engine>,
    /// Names of rows folded into this one by another form of its name (see
    /// [`join::join_short_names`]).
    aliases: Vec<String>,
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
    // Sized once: grown by doubling, the rows of 50,000 hosts would take 33 MB and copy
    // themselves at every step. The largest answer (`up`: a series per host) is near the
    // number of hosts (not the topology or detail answers: several series per host).
    let per_host_series = set
        .metrics
        .iter()
        .zip(input.results)
        .filter(|(d, _)| d.kind != Kind::Detail && d.signal != Some(Signal::Topology))
        .filter_map(|(_, r)| r.as_ref().ok().map(Vector::len))
        .max()
        .unwrap_or(0);
    let cap = per_host_series.max(previous.map_or(0, |p| p.hosts.len()));
    let mut rows: Vec<Row<'_>> = Vec::with_capacity(cap);
    let mut index: hashbrown::HashTable<usize> = hashbrown::HashTable::with_capacity(cap);
    let mut find_or_add = |rows: &mut Vec<Row<'a>>, cluster: &str, name: &str| -> usize {
        let hash = hasher.hash_one((cluster, name));
        *index
            .entry(
                hash,
                |&r| same_text(&rows[r].id.name, name) && same_text(&rows[r].id.cluster, cluster),
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
                    aliases: Vec::new(),
                    gone: false,
                    source: None,
                    ev: roles::Evidence::default(),
                    engine: None,
                });
                rows.len() - 1
            })
            .get()
    };

    let apart = join::servers_apart_by_port(set, ident, input.results, previous);
    let host_name = |cluster: &str, raw: &'a str| join::host_name_in(&apart, ident, cluster, raw);

    let mut topology_i = None;
    for (i, def) in set.metrics.iter().enumerate() {
        let Some(Ok(samples)) = input.results.get(i) else {
            continue;
        };
        if def.signal == Some(Signal::Topology) {
            // Read once every host is known: its series (Prometheus' own `up`, version
            // info) must not add hosts of their own.
            topology_i = Some(i);
            continue;
        }
        if def.kind == Kind::Detail {
            // Several series per host (PostgreSQL walsenders), read as a whole below.
            continue;
        }
        // Replication metrics have one series per channel: two channels are no duplicate.
        let channel_field = roles::ChannelField::of_signal(def.signal);
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
            if let Some((cluster, raw)) = ident.key_raw_of(s.labels()) {
                let r = find_or_add(&mut rows, cluster, host_name(cluster, raw));
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
            let Some((cluster, raw)) = ident.key_raw_of(s.labels()) else {
                unlabelled += 1;
                example.get_or_insert(s);
                continue;
            };
            let r = find_or_add(&mut rows, cluster, host_name(cluster, raw));
            let row = &mut rows[r];
            if def.kind == Kind::Up && row.engine.is_none() {
                row.engine = s.label("__name__").and_then(Engine::of_metric_name);
            }
            let ch = channel_field.map(|_| ChannelLabels::of(s.labels()));
            // A pt-heartbeat row: which one measures the host is known once its channels are.
            let heartbeat_writer = ch
                .as_ref()
                .filter(|_| channel_field == Some(roles::ChannelField::Lag))
                .and_then(|c| c.server_id?.parse::<u64>().ok());
            let dup = match (heartbeat_writer, channel_field.zip(ch.as_ref())) {
                (Some(w), _) => row.ev.record_heartbeat(w, s.value()),
                (None, Some((f, c))) => row.ev.record_channel(
                    f,
                    roles::channel_of(|k| c.get(k)),
                    c.name,
                    c.master_host,
                    s.value(),
                ),
                (None, None) => row.vals[i].is_some(),
            };
            if dup {
                dups += 1;
            }
            if heartbeat_writer.is_none() {
                row.vals[i] = Some(match row.vals[i] {
                    None => s.value(),
                    Some(old) => worse_of(def, old, s.value()),
                });
            }
            // A label counts the first time the host shows it. Past a few dozen labels (only
            // a hostile answer has them) repeats are kept and dropped by one sort at the end.
            // A channel's name is the channel's, not the host's.
            let scan = row.labels.len() < 64;
            // Where the next label is looked for first: a host's series mostly share their
            // label names, in one (sorted) order.
            let mut at = 0;
            for (k, v) in s.labels() {
                if k == SOURCE_LABEL {
                    if row.source.is_none() {
                        row.source = Some(v);
                    }
                    continue;
                }
                // Nor is a heartbeat row's writer.
                if k == "__name__"
                    || (channel_field.is_some() && (k == "channel_name" || k == "connection_name"))
                    || (heartbeat_writer.is_some() && k == "server_id")
                {
                    continue;
                }
                if scan {
                    let seen = match row.labels.get(at) {
                        Some((x, _)) if same_text(x, k) => Some(at),
                        _ => row.labels.iter().position(|(x, _)| same_text(x, k)),
                    };
                    if let Some(j) = seen {
                        at = j + 1;
                        continue;
                    }
                }
                row.labels.push((k, v));
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

    // Machines whose node_exporter target is named by its address: the host name
    // `node_uname_info` gives (see `roles::uname_expr`), by the target's row.
    let nodenames: join::NodeNames<'_> = match topology_i.map(|i| input.results.get(i)) {
        Some(Some(Ok(samples))) => samples
            .iter()
            .filter(|s| s.label("__name__") == Some(roles::UNAME_INFO))
            .filter_map(|s| {
                let (cluster, raw) = ident.key_raw_of(s.labels())?;
                let nodename = s.label("nodename").filter(|n| !n.is_empty())?;
                Some(((cluster, host_name(cluster, raw)), nodename))
            })
            .collect(),
        _ => join::NodeNames::new(),
    };
    join::join_unclustered(
        &mut rows,
        set,
        up_i_of(set),
        &ident.cluster_label,
        &nodenames,
        &mut notes,
    );

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

    // Kubernetes pods named by their address (see `kubernetes_pod`): the live host of each
    // pod (`None` when several have it), and the previous hosts of each pod, built at the
    // first previous host named by a pod's address.
    type Pods<'p> = (
        hashbrown::HashMap<(&'p str, &'p str), Option<usize>>,
        hashbrown::HashMap<(&'p str, &'p str), usize>,
    );
    let live_pods: std::cell::OnceCell<Pods<'_>> = std::cell::OnceCell::new();
    let mut restarted: Vec<String> = Vec::new();
    let live = rows.len();
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
        // A pod back under a new address is the same server: the old name went with the
        // address, it is no server without series. One live host has the pod, under
        // another name (were the old name live too, two hosts would have it), and the pod
        // was this host's alone (an exporter pod probing several servers is none of them).
        let pod = h.labels.get("pod").filter(|p| !p.is_empty());
        if let Some(pod) = pod
            .filter(|_| join::is_address(&h.id.name))
            .map(|p| (h.labels.get("namespace").unwrap_or_default(), p))
        {
            let (now_at, before) = live_pods.get_or_init(|| {
                let mut live_of = hashbrown::HashMap::new();
                for (i, r) in rows[..live].iter().enumerate() {
                    if let Some(p) = kubernetes_pod(r.labels.iter().copied()) {
                        live_of
                            .entry(p)
                            .and_modify(|e| *e = None)
                            .or_insert(Some(i));
                    }
                }
                let mut before = hashbrown::HashMap::new();
                for p in previous.map_or(&[][..], |p| &p.hosts[..]) {
                    if let Some(pod) = p.labels.get("pod").filter(|v| !v.is_empty()) {
                        let ns = p.labels.get("namespace").unwrap_or_default();
                        *before.entry((ns, pod)).or_insert(0) += 1;
                    }
                }
                (live_of, before)
            });
            if let (Some(&Some(i)), Some(1)) = (now_at.get(&pod), before.get(&pod)) {
                if rows[i].id != h.id && join::is_address(&rows[i].id.name) {
                    restarted.push(format!("{} (was {})", rows[i].id.name, h.id.name));
                    continue;
                }
            }
        }
        let before = rows.len();
        let r = find_or_add(&mut rows, &h.id.cluster, &h.id.name);
        if r == before {
            rows[r].labels = h.labels.iter().collect();
            rows[r].source = h.source.as_deref();
        }
    }
    drop(live_pods);
    if !restarted.is_empty() {
        notes.push(format!(
            "{} Kubernetes pod(s) came back under a new address, the host named by the old one dropped: {} (name hosts by pod: `fleetboard doctor`)",
            restarted.len(),
            join::examples(&restarted, ", ")
        ));
    }
    // After the vanished hosts are back: a host whose database exporter is down this
    // refresh keeps the targets it was joined with.
    join::join_short_names(
        &mut rows,
        set,
        up_i_of(set),
        previous,
        &nodenames,
        &mut notes,
    );
    drop(nodenames);
    join::join_machine_rows(&mut rows, &apart, set, ident, &mut notes);
    rows.retain(|r| !r.gone);
    join::note_rescraped(&rows, ident, &mut notes);
    rows.sort_unstable_by(|a, b| a.id.cmp(&b.id));

    let sig = |s: Signal| set.by_signal(s);
    let up_i = up_i_of(set);
    let (lag_i, io_i, sql_i, ro_i, sid_i) = (
        sig(Signal::ReplicationLag),
        sig(Signal::IoThread),
        sig(Signal::SqlThread),
        sig(Signal::ReadOnly),
        sig(Signal::ServerId),
    );

    // The topology query's series, onto the hosts the other metrics found. A scrape target
    // Prometheus reports down (`up` 0) with a cluster label is a host of its own even when
    // nothing else is known of it: its exporter's series are gone (a one-shot snapshot has
    // no earlier refresh to remember it by).
    if let Some(Some(Ok(samples))) = topology_i.map(|i| input.results.get(i)) {
        // The scrape jobs of the database exporters: those whose `up` series answer now,
        // or whose hosts the previous refresh had. A target down in another job (an
        // application server's node_exporter in a shared Prometheus) is no server of the
        // board; a job named after a database engine is one even when all its targets are
        // down at the board's start.
        // Built at the first target down that no host has (most refreshes have none).
        let db_jobs: std::cell::OnceCell<hashbrown::HashSet<&str>> = std::cell::OnceCell::new();
        let jobs = || {
            let mut db_jobs: hashbrown::HashSet<&str> = hashbrown::HashSet::new();
            if let Some(Some(Ok(up))) = up_i.map(|i| input.results.get(i)) {
                for s in up.iter() {
                    if let Some(j) = s.label("exported_job").or_else(|| s.label("job")) {
                        db_jobs.insert(j);
                    }
                }
            }
            for h in previous.map_or(&[][..], |p| &p.hosts[..]) {
                if let Some(j) = h.labels.get("exported_job").or_else(|| h.labels.get("job")) {
                    db_jobs.insert(j);
                }
            }
            db_jobs
        };
        let db_job = |j: &str| {
            db_jobs.get_or_init(jobs).contains(j) || {
                let l = j.to_ascii_lowercase();
                [
                    "mysql", "maria", "percona", "postgres", "pg", "patroni", "galera", "db",
                ]
                .iter()
                .any(|w| l.contains(w))
            }
        };
        // A series without the cluster label (Patroni's REST API scraped by a job of its
        // own) belongs to the host of that name when only one cluster has it.
        let mut unique: Option<hashbrown::HashMap<String, Option<HostId>>> = None;
        // Servers of an engine the metric set does not read (PostgreSQL under the MySQL
        // preset): the topology query asks for their up series so the board can say so.
        let unread = |e: Engine| !set.metrics.iter().any(|m| m.engine == Some(e));
        let mut unseen: BTreeMap<Engine, Vec<String>> = BTreeMap::new();
        for s in samples.iter() {
            let (Some((cluster, raw)), Some(metric)) =
                (ident.key_raw_of(s.labels()), s.label("__name__"))
            else {
                continue;
            };
            let name = host_name(cluster, raw);
            let found = rows.binary_search_by(|x| {
                (x.id.cluster.as_str(), x.id.name.as_str()).cmp(&(cluster, name))
            });
            if let Some(e) = Engine::of_up_series(metric).filter(|e| unread(*e)) {
                let shown = found.is_ok_and(|r| up_i.is_some_and(|u| rows[r].vals[u].is_some()));
                if !shown {
                    unseen
                        .entry(e)
                        .or_default()
                        .push(format!("{cluster}/{name}"));
                }
                continue;
            }
            let r = match found {
                Ok(r) => r,
                Err(at)
                    if metric == "up"
                        && s.value() < 1.0
                        && cluster != NO_CLUSTER
                        && s.label("exported_job")
                            .or_else(|| s.label("job"))
                            .is_none_or(db_job) =>
                {
                    rows.insert(
                        at,
                        Row {
                            id: HostId {
                                cluster: cluster.to_owned(),
                                name: name.to_owned(),
                            },
                            vals: vec![None; n],
                            labels: s
                                .labels()
                                .filter(|(k, _)| *k != "__name__" && *k != SOURCE_LABEL)
                                .collect(),
                            source: s.label(SOURCE_LABEL),
                            ev: roles::Evidence::default(),
                            hist: None,
                            aliases: Vec::new(),
                            gone: false,
                            engine: None,
                        },
                    );
                    at
                }
                Err(_) if cluster == NO_CLUSTER => {
                    let by_name = unique.get_or_insert_with(|| {
                        let mut m: hashbrown::HashMap<String, Option<HostId>> =
                            hashbrown::HashMap::new();
                        for r in &rows {
                            m.entry(r.id.name.clone())
                                .and_modify(|v| *v = None)
                                .or_insert_with(|| Some(r.id.clone()));
                        }
                        m
                    });
                    let Some(Some(id)) = by_name.get(name) else {
                        continue;
                    };
                    match rows.binary_search_by(|x| x.id.cmp(id)) {
                        Ok(r) => r,
                        Err(_) => continue,
                    }
                }
                Err(_) => continue,
            };
            let label = |k: &str| s.label(k).map(str::to_owned);
            rows[r].ev.record_topology(metric, &label, s.value());
        }
        for (e, mut names) in unseen {
            names.sort();
            names.dedup();
            notes.push(format!(
                "{} {} server(s) answer `{}` but are not on the board, which reads only the {} preset's metrics: `--preset mixed` (or `preset = \"mixed\"`) shows both engines (e.g. {})",
                names.len(),
                e.name(),
                e.up_series(),
                set.metrics.iter().find_map(|m| m.engine).map_or("", Engine::name),
                join::examples(&names, ", ")
            ));
        }
    }
    // Machines with node_exporter's series only (no database exporter under their name, no
    // database target down, not a host of the previous refresh): application servers of a
    // shared Prometheus, or a database host's machine named another way. Not servers of the
    // board; named in a note (and by `fleetboard doctor`).
    if let (Some(up), true) = (up_i, set.metrics.iter().any(|m| m.engine.is_some())) {
        let machine = |r: &Row<'_>| {
            r.vals[up].is_none()
                && r.ev.targets_down.is_empty()
                && r.vals.iter().any(Option::is_some)
                && set
                    .metrics
                    .iter()
                    .zip(&r.vals)
                    .all(|(m, v)| v.is_none() || machine_metric(m))
                && !prev_hosts.contains_key(&r.id)
        };
        let machines: Vec<String> = rows
            .iter()
            .filter(|r| machine(r))
            .map(|r| format!("{}/{}", r.id.cluster, r.id.name))
            .collect();
        if !machines.is_empty() {
            rows.retain(|r| !machine(r));
            notes.push(format!(
                "{} machine(s) with node_exporter series and no database exporter under their name are not on the board: {}: application servers of a shared Prometheus, or database hosts whose exporters name them another way (`fleetboard doctor`)",
                machines.len(),
                join::examples(&machines, ", ")
            ));
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
    // pt-heartbeat rows, measured against the same row on its writer (see
    // `Evidence::resolve_heartbeat`). A server id twice in a cluster names no one writer.
    let mut writers: hashbrown::HashMap<(String, u64), Option<(f64, String)>> =
        hashbrown::HashMap::new();
    for r in &rows {
        if let (Some(id), Some(age)) = (r.ev.server_id, r.ev.own_heartbeat_age()) {
            writers
                .entry((r.id.cluster.clone(), roles::as_id(id)))
                .and_modify(|v| *v = None)
                .or_insert_with(|| Some((age, r.id.name.clone())));
        }
    }
    let mut late_writers: Vec<String> = Vec::new();
    for r in &mut rows {
        if r.ev.heartbeat.is_empty() {
            continue;
        }
        let writer = |w: u64| {
            writers
                .get(&(r.id.cluster.clone(), w))
                .and_then(Option::as_ref)
        };
        let lag = r.ev.resolve_heartbeat(|w| {
            writer(w)
                .map(|(age, _)| *age)
                .filter(|a| a.abs() > HEARTBEAT_WRITER_SLACK)
        });
        for (w, _) in &r.ev.heartbeat_from {
            if let Some((age, name)) = writer(*w).filter(|(a, _)| a.abs() > HEARTBEAT_WRITER_LATE) {
                let who = format!(
                    "{}/{name} ({})",
                    r.id.cluster,
                    crate::model::format::format_seconds(*age)
                );
                if !late_writers.contains(&who) {
                    late_writers.push(who);
                }
            }
        }
        if let (Some(i), Some(v)) = (lag_i, lag) {
            r.vals[i] = Some(v);
        }
    }
    drop(writers);
    if !late_writers.is_empty() {
        late_writers.sort();
        notes.push(format!(
            "pt-heartbeat's own row is old on the server that writes it: {}. Either pt-heartbeat stopped there, or it and the exporter disagree on UTC (`pt-heartbeat --utc` goes with `--collect.heartbeat.utc`); lag is measured against that row's age",
            late_writers.join(", ")
        ));
    }

    // A switchover done with `STOP REPLICA` alone leaves the new primary with a stopped
    // channel from the old one, which now replicates from it: the new primary is no
    // replica with stopped threads (CRIT) but a primary with a leftover (WARN). A failover
    // done so leaves a channel from a source that is gone (removed, or down) while the
    // cluster's replicas follow the new primary. A stopped replica whose source is on the
    // board and replicates from elsewhere stays a stopped replica, writable or not.
    // Most refreshes have no writable server with only stopped channels: no maps then.
    let candidates: Vec<usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.ev.left_from_switchover(|_| true))
        .map(|(i, _)| i)
        .collect();
    let leftovers: Vec<(usize, Vec<roles::Leftover>)> = if candidates.is_empty() {
        Vec::new()
    } else {
        let mut running: hashbrown::HashSet<(&str, u64, u64)> = hashbrown::HashSet::new();
        let mut followed: hashbrown::HashSet<(&str, u64)> = hashbrown::HashSet::new();
        let mut name_of: hashbrown::HashMap<(&str, u64), &str> = hashbrown::HashMap::new();
        // Servers that answer (their server_id came), by name, for a source named by
        // `master_host` only.
        let mut answering: hashbrown::HashSet<&str> = hashbrown::HashSet::new();
        for r in &rows {
            let Some(me) = r.ev.server_id.map(roles::as_id) else {
                continue;
            };
            name_of.insert((&r.id.cluster, me), &r.id.name);
            answering.insert(&r.id.name);
            for c in r.ev.replica_channels() {
                if let (Some(1.0), Some(1.0), Some(s)) = (c.io, c.sql, c.source_server_id) {
                    running.insert((&r.id.cluster, me, roles::as_id(s)));
                    followed.insert((&r.id.cluster, roles::as_id(s)));
                }
            }
        }
        candidates
            .into_iter()
            .filter_map(|i| {
                let r = &rows[i];
                let me = roles::as_id(r.ev.server_id?);
                let cluster = r.id.cluster.as_str();
                let back = |s: u64| running.contains(&(cluster, s, me));
                let gone = |c: &roles::ChannelEvidence, s: u64| {
                    followed.contains(&(cluster, me))
                        && s != 0
                        && !name_of.contains_key(&(cluster, s))
                        && c.master_host
                            .as_deref()
                            .is_none_or(|h| !answering.contains(ident.host_name_ref(h)))
                };
                r.ev.left_from_switchover(|c| {
                    c.source_server_id
                        .map(roles::as_id)
                        .is_some_and(|s| back(s) || gone(c, s))
                })
                .then(|| {
                    let left = r
                        .ev
                        .replica_channels()
                        .filter_map(|c| {
                            let s = roles::as_id(c.source_server_id?);
                            Some(match name_of.get(&(cluster, s)) {
                                Some(n) => roles::Leftover {
                                    source: (*n).to_owned(),
                                    source_gone: false,
                                },
                                None => roles::Leftover {
                                    source: match c.master_host.as_deref() {
                                        Some(h) if !is_loopback(h) => {
                                            format!("{} (server_id {s})", ident.host_name_ref(h))
                                        }
                                        _ => format!("server_id {s}"),
                                    },
                                    source_gone: true,
                                },
                            })
                        })
                        .collect();
                    (i, left)
                })
            })
            .collect()
    };
    for (i, sources) in leftovers {
        rows[i].ev.set_aside_channels(sources);
    }

    // server_id → host, per cluster, to resolve a channel's source; and the servers some
    // replica names as its source (evidence of a primary).
    let mut by_server_id: hashbrown::HashMap<(&str, u64), &str> = hashbrown::HashMap::new();
    // Every server of an id several servers of one cluster have (rare: no map otherwise).
    let mut shared: hashbrown::HashMap<(&str, u64), Vec<&str>> = hashbrown::HashMap::new();
    let mut named_sources: hashbrown::HashSet<(&str, u64)> = hashbrown::HashSet::new();
    // Sources named by `master_host` (a host name, not loopback), for a source whose own
    // server_id is unknown (its exporter is down).
    let mut named_hosts: hashbrown::HashSet<(&str, String)> = hashbrown::HashSet::new();
    // Galera nodes may share one server_id on purpose (MariaDB's wsrep_gtid_mode wants
    // it): to an async replica they are one source.
    let mut galera_nodes: hashbrown::HashSet<(&str, &str)> = hashbrown::HashSet::new();
    for r in &rows {
        if let Some(x) = r.ev.server_id {
            let key = (r.id.cluster.as_str(), roles::as_id(x));
            match by_server_id.entry(key) {
                hashbrown::hash_map::Entry::Vacant(v) => {
                    v.insert(&r.id.name);
                }
                hashbrown::hash_map::Entry::Occupied(o) => {
                    shared
                        .entry(key)
                        .or_insert_with(|| vec![*o.get()])
                        .push(&r.id.name);
                }
            }
            if roles::galera_role(&r.ev).is_some() {
                galera_nodes.insert((&r.id.cluster, &r.id.name));
            }
        }
        for c in r.ev.replica_channels() {
            if let Some(m) = c.source_server_id {
                named_sources.insert((&r.id.cluster, roles::as_id(m)));
            }
            if let Some(h) = c.master_host.as_deref().map(|h| ident.host_name(h)) {
                if !is_loopback(&h) {
                    named_hosts.insert((&r.id.cluster, h));
                }
            }
        }
    }
    // A server_id several servers of a cluster share (the cluster label groups several
    // replication topologies, each numbering its servers from 1) names the source only
    // with the channel's `master_host`; else the source stays unknown, never guessed.
    let resolve = |cluster: &str, me: &str, c: &roles::ChannelEvidence| -> Option<String> {
        let key = (cluster, roles::as_id(c.source_server_id?));
        let one = [*by_server_id.get(&key)?];
        let cands: &[&str] = shared.get(&key).map_or(&one[..], Vec::as_slice);
        let mut others = cands.iter().filter(|s| **s != me);
        let first = others.next()?;
        let Some(second) = others.next() else {
            return Some((*first).to_owned());
        };
        if cands.iter().all(|n| galera_nodes.contains(&(cluster, *n))) {
            return Some((*first).to_owned());
        }
        let h = ident.host_name(c.master_host.as_deref()?);
        let same = |n: &str| {
            n.eq_ignore_ascii_case(&h)
                || join::short_name(&h).is_some_and(|s| n.eq_ignore_ascii_case(s))
                || join::short_name(n).is_some_and(|s| s.eq_ignore_ascii_case(&h))
        };
        let mut named = [first, second]
            .into_iter()
            .chain(others)
            .filter(|n| same(n));
        match (named.next(), named.next()) {
            (Some(n), None) => Some((*n).to_owned()),
            _ => None,
        }
    };
    let shared_ids: Vec<String> = shared
        .iter()
        .filter(|((cluster, _), names)| {
            !names.iter().all(|n| galera_nodes.contains(&(*cluster, *n)))
        })
        .map(|((cluster, id), names)| format!("{id} in {cluster} ({})", names.join(", ")))
        .collect();
    if !shared_ids.is_empty() {
        let mut shown = shared_ids;
        shown.sort();
        notes.push(format!(
            "server_id shared by several servers of one cluster: {}: the `{}` label groups several replication topologies (an external label such as Kubernetes' `cluster`?); a replica's source is found by its `master_host` then, else left unknown",
            join::examples(&shown, "; "),
            ident.cluster_label
        ));
    }
    let resolved: Vec<Vec<Option<String>>> = rows
        .iter()
        .map(|r| {
            r.ev.channels
                .iter()
                .map(|c| resolve(&r.id.cluster, &r.id.name, c))
                .collect()
        })
        .collect();
    let is_source: Vec<bool> = rows
        .iter()
        .map(|r| {
            r.ev.server_id
                .is_some_and(|x| named_sources.contains(&(r.id.cluster.as_str(), roles::as_id(x))))
                || named_hosts.contains(&(r.id.cluster.as_str(), r.id.name.clone()))
        })
        .collect();
    drop(by_server_id);
    drop(shared);
    drop(galera_nodes);
    drop(named_sources);
    drop(named_hosts);
    let in_ring = replication_rings(&rows, &resolved);
    // A read-only server others replicate from, with no replication channel of its own
    // while its cluster's replicas report theirs (the collector and its grant work there):
    // the top of the chain, taking no writes. The maps are built only for such servers.
    let ro_top_candidate = |r: &Row<'_>, src: bool| {
        src && r.engine == Some(Engine::Mysql)
            && r.ev.replica_channels().next().is_none()
            && !r
                .ev
                .channels
                .iter()
                .any(|c| roles::is_group_channel(&c.name))
            && r.ev.group_rows.is_empty()
            && roles::galera_role(&r.ev).is_none()
            && r.ev
                .super_read_only
                .or(r.ev.read_only)
                .is_some_and(|v| v >= 1.0)
    };
    let mut read_only_top: Vec<Option<usize>> = vec![None; rows.len()];
    if rows
        .iter()
        .zip(&is_source)
        .any(|(r, &src)| ro_top_candidate(r, src))
    {
        let mut reporting: hashbrown::HashSet<&str> = hashbrown::HashSet::new();
        let mut followers: hashbrown::HashMap<(&str, &str), usize> = hashbrown::HashMap::new();
        for (r, res) in rows.iter().zip(&resolved) {
            if r.ev.replica_channels().next().is_some() {
                reporting.insert(r.id.cluster.as_str());
            }
            let mut named: Vec<&str> = res.iter().flatten().map(String::as_str).collect();
            named.dedup();
            for s in named {
                *followers.entry((r.id.cluster.as_str(), s)).or_default() += 1;
            }
        }
        for ((top, r), &src) in read_only_top.iter_mut().zip(&rows).zip(&is_source) {
            if ro_top_candidate(r, src) && reporting.contains(r.id.cluster.as_str()) {
                *top = Some(
                    followers
                        .get(&(r.id.cluster.as_str(), r.id.name.as_str()))
                        .copied()
                        .unwrap_or(0),
                );
            }
        }
    }

    // PostgreSQL: the walsender rows of every server, and per cluster its hosts and whether
    // an up primary answered (then a replica without a row is not streaming).
    let (stream_i, ws_i, delay_i) = (
        sig(Signal::WalReceiver),
        sig(Signal::Walsenders),
        sig(Signal::IntendedDelay),
    );
    let pg_evidence = stream_i.is_some() || ws_i.is_some();
    let walsender_rows = match ws_i.and_then(|i| input.results.get(i)) {
        Some(Ok(v)) => Some(postgres::walsenders(v, ident, host_name)),
        _ => None,
    };
    // Owned: built only for boards that read walsenders, so a MySQL board pays nothing.
    let mut pg_clusters: hashbrown::HashMap<String, (Vec<String>, bool)> =
        hashbrown::HashMap::new();
    if walsender_rows.is_some() {
        for r in &rows {
            let e = pg_clusters.entry(r.id.cluster.clone()).or_default();
            e.0.push(r.id.name.clone());
            let up = up_i.and_then(|i| r.vals[i]).is_some_and(|v| v >= 1.0);
            let primary = ro_i.and_then(|i| r.vals[i]).is_some_and(|v| v < 1.0);
            if up && primary && r.engine != Some(Engine::Mysql) {
                e.1 = true;
            }
        }
    }
    // A board of one engine's metrics judges every host as that engine.
    let sole_engine = {
        let mut es = set.metrics.iter().filter_map(|m| m.engine);
        let first = es.next();
        first.filter(|f| es.all(|e| e == *f))
    };

    // Metrics whose value is the server's own at the query's time: an instant selector of
    // its exporter's series (no range: `rate(...[1m])` outlives the last scrape by a minute).
    let instant: Vec<bool> = set
        .metrics
        .iter()
        .map(|d| {
            d.engine.is_some()
                && !matches!(d.kind, Kind::Up | Kind::Detail)
                && d.signal != Some(Signal::Topology)
                && !d.expr.contains('[')
        })
        .collect();

    let mut strings = Strings::default();
    let mut hosts = Vec::with_capacity(rows.len());
    for ((((row, resolved), is_source), in_ring), read_only_top) in rows
        .into_iter()
        .zip(resolved)
        .zip(is_source)
        .zip(in_ring)
        .zip(read_only_top)
    {
        let Row {
            id,
            vals,
            labels,
            hist,
            source,
            ev,
            engine: up_engine,
            aliases,
            ..
        } = row;
        let prev = prev_hosts.get(&id).copied();
        let gap = gap_of(source);
        let seen_now = vals.iter().any(Option::is_some);
        if let (Some(reason), Some(p), false) = (gap, prev, seen_now) {
            // Missing from an incomplete answer: not evidence of anything. Last data, stale.
            hosts.push(stale_host(p, reason));
            continue;
        }
        let engine = up_engine
            .or_else(|| {
                set.metrics
                    .iter()
                    .zip(vals.iter())
                    .find(|(m, v)| m.engine.is_some() && v.is_some())
                    .and_then(|(m, _)| m.engine)
            })
            .or_else(|| prev.and_then(|p| p.engine))
            .or(sole_engine);
        let pg = engine == Some(Engine::Postgres);
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
        // Values of failed queries (and, from an incomplete source, missing values) come
        // from the previous refresh, marked stale.
        let failed = |i: usize| matches!(input.results.get(i), Some(Err(_)) | None);
        let value_of = |i: usize| -> (Option<f64>, bool) {
            if failed(i) || (gap.is_some() && vals[i].is_none()) {
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
        // `up` 0 beside the server's own series in the same answer: Prometheus marks an
        // exporter's series stale at the first scrape without them, so the server answered
        // the latest scrape that has them. The exporter failed to connect on another one
        // (more concurrent scrapes than the exporter user's MAX_USER_CONNECTIONS; and
        // mysqld_exporter 0.14 mixes up the answers of concurrent scrapes).
        let answered = down
            && instant
                .iter()
                .zip(set.metrics.iter())
                .enumerate()
                .any(|(i, (&inst, d))| {
                    inst && d.engine == engine && !failed(i) && vals[i].is_some_and(f64::is_finite)
                });
        let down = down && !answered;
        let exporter_down =
            matches!(up_now, Some((None, _))) && (!ev.targets_down.is_empty() || had_up_before);
        let no_data = down || exporter_down;
        let machine_only = up_now.is_some_and(|(v, _)| v.is_none())
            && !exporter_down
            && set
                .metrics
                .iter()
                .zip(vals.iter())
                .all(|(m, v)| v.is_none() || machine_metric(m))
            && vals.iter().any(Option::is_some);

        let (role, role_evidence) = match roles::detect(&ev, &id.name, is_source && !machine_only) {
            // Master-master: the writable member of a replication ring takes the writes; its
            // channel from the passive member does not make it a replica.
            Some((Role::Replica, why))
                if in_ring && why == "replica status series" && roles::writable(&ev) =>
            {
                (Role::Primary, Some(roles::RING_PRIMARY))
            }
            Some((Role::Replica, _)) if read_only_top.is_some() => {
                (Role::Primary, Some(roles::READ_ONLY_TOP))
            }
            Some((r, why)) => (r, Some(why)),
            None => prev.map_or((Role::Unknown, None), |p| (p.role, p.role_evidence)),
        };
        let replicating = role == Role::Replica || !chans.is_empty();
        // PostgreSQL: streaming judged from the receiver and the upstream's walsenders.
        // The receiver's own series this refresh; `failed` when its query failed (then it
        // tells nothing, and whether it was seen carries over).
        let (receiver_now, receiver_failed) =
            stream_i.map_or((None, false), |i| (vals[i], failed(i)));
        let receiver_seen_before = prev
            .and_then(|p| p.replication.as_ref())
            .is_some_and(|r| r.receiver_seen);
        let verdict = (pg && pg_evidence && role == Role::Replica && !no_data).then(|| {
            let recv = if receiver_failed {
                postgres::Evidence::Unknown
            } else {
                postgres::receiver(receiver_now, receiver_seen_before)
            };
            let empty = (Vec::new(), false);
            let (cluster_hosts, reporting) = pg_clusters.get(&id.cluster).unwrap_or(&empty);
            let names: Vec<&str> = cluster_hosts.iter().map(String::as_str).collect();
            let (up_ev, row) = match &walsender_rows {
                Some(rows) => postgres::upstream(&id.name, &id.cluster, rows, &names, *reporting),
                None => (postgres::Evidence::Unknown, None),
            };
            let patroni = match roles::patroni_streaming(&ev) {
                Some(true) => postgres::Evidence::Streaming,
                Some(false) => postgres::Evidence::NotStreaming(
                    "not streaming: Patroni reports postgres_streaming 0",
                ),
                None => postgres::Evidence::Unknown,
            };
            postgres::judge(&[&recv, &up_ev, &patroni], row)
        });
        let not_streaming = verdict.as_ref().is_some_and(|v| v.streaming == Some(false));
        let pg_delay = delay_i.and_then(|i| value_of(i).0).filter(|_| pg);

        let host_labels = strings.labels(labels, prev.map(|p| &p.labels));
        let has_label = |k: &str, v: &str| host_labels.get(k) == Some(v);
        let mut readings = Vec::with_capacity(n);
        let mut health = Health::Ok;
        let mut reasons = Vec::new();
        for (i, def) in set.metrics.iter().enumerate() {
            let (value, stale) = value_of(i);
            let (warn, crit) = set.thresholds(i, &has_label);
            if !def.fits(engine) || def.kind == Kind::Detail {
                readings.push(Reading::none(MetricState::NotApplicable, None));
                continue;
            }
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
                    } else if machine_only {
                        Reading::none(MetricState::Unknown, Some(MACHINE_ONLY))
                    } else {
                        Reading::none(MetricState::Unknown, Some("no series"))
                    }
                }
                None if no_data || !applicable || def.kind == Kind::Info => {
                    Reading::none(MetricState::NotApplicable, None)
                }
                None if hist.as_ref().is_some_and(|h| h[i]) => Reading::none(
                    MetricState::Unknown,
                    Some("native histogram sample: no single value to show (see notes)"),
                ),
                None => Reading::none(MetricState::Unknown, Some("no data")),
            };
            r.stale = stale;
            if answered && def.kind == Kind::Up {
                r.state = MetricState::Warn;
                r.note = Some(if pg {
                    PG_UP_ANSWERED
                } else {
                    MYSQL_UP_ANSWERED
                });
            }
            if let (Some(v), true) = (&verdict, applicable) {
                if Some(i) == stream_i {
                    r.value = v.streaming.map(|s| if s { 1.0 } else { 0.0 });
                    r.state = match v.streaming {
                        Some(true) => MetricState::Ok,
                        Some(false) => MetricState::Crit,
                        None => MetricState::Unknown,
                    };
                    r.note = v.why;
                } else if Some(i) == lag_i {
                    if not_streaming {
                        // 0 here would be the exporter's "replayed all it received"
                        r.value = None;
                        r.state = MetricState::Unknown;
                        r.note = Some("unknown: not streaming");
                    } else if r.value.is_some_and(|x| x > 0.0) && postgres::caught_up(v) {
                        r.value = Some(0.0);
                        r.state = health::judge(def, 0.0, warn, crit);
                        r.note = Some(postgres::CAUGHT_UP_NOTE);
                    } else if let Some(x) = r.value {
                        let beyond = postgres::lag_beyond_delay(x, pg_delay);
                        r.state = health::judge(def, beyond, warn, crit);
                    }
                }
            }
            // Replication figures of a running replica must be there: a missing lag
            // series means a stopped thread, not "0 seconds behind". PostgreSQL's are
            // judged by the evidence above.
            if !no_data
                && !(pg && (Some(i) == stream_i || not_streaming))
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
                r.note = Some(if pg {
                    "no value: the exporter does not report it"
                } else if thread_stopped {
                    "no value: a replication thread is stopped"
                } else if !chans.is_empty() {
                    "no value"
                } else if prev
                    .and_then(|p| p.replication.as_ref())
                    .is_some_and(|r| r.io_running.is_some() || r.sql_running.is_some())
                {
                    // Not a missing flag or grant: the series were there a refresh ago.
                    REPLICA_STATUS_GONE
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
                Kind::Info | Kind::Detail => false,
            };
            if counts && r.state != MetricState::NotApplicable && r.state != MetricState::Ok {
                let h = r.state.health();
                if h > Health::Ok && !(exporter_down && def.kind == Kind::Up) {
                    let channel = agg_of(i).and_then(|(_, c)| *c).filter(|c| !c.is_empty());
                    let delay = (Some(i) == lag_i).then_some(agg.delay).flatten();
                    let delay = delay.or(pg_delay.filter(|d| *d > 0.0 && Some(i) == lag_i));
                    let mut why = reason(def, &r, (warn, crit), channel, delay, engine);
                    // A stopped thread's error number, when the exporter reports one.
                    if def.kind == Kind::Flag && r.value.is_some_and(|v| v < 1.0) {
                        let name = agg_of(i).and_then(|(_, c)| *c).unwrap_or("");
                        let errno =
                            chans
                                .iter()
                                .find(|(c, _)| c.name == name)
                                .and_then(|(c, _)| {
                                    if Some(i) == io_i {
                                        c.io_errno
                                    } else if Some(i) == sql_i {
                                        c.sql_errno
                                    } else {
                                        None
                                    }
                                });
                        if let Some(e) = errno {
                            why.push_str(&roles::replication_error(e));
                        }
                    }
                    reasons.push((h, why));
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
            if ev.patroni.unlocked.is_some_and(|v| v >= 1.0) {
                // Nobody holds the leader lock: no primary to write to, no failover owner.
                let why = match &ev.patroni.scope {
                    Some(scope) => format!(
                        "patroni: cluster {scope} has no leader (patroni_cluster_unlocked=1)"
                    ),
                    None => {
                        "patroni: cluster has no leader (patroni_cluster_unlocked=1)".to_string()
                    }
                };
                health = health.max(Health::Crit);
                reasons.push((Health::Crit, why));
            }
            if let (Some(n), Role::Primary) = (read_only_top, role) {
                let who = match n {
                    0 => "replicas replicate".to_string(),
                    1 => "1 replica replicates".to_string(),
                    n => format!("{n} replicas replicate"),
                };
                let why = format!(
                    "read_only=1 while {who} from it: the top of its chain takes no writes (a switchover half-done, or maintenance)"
                );
                health = health.max(Health::Warn);
                reasons.push((Health::Warn, why));
            }
            let (gone, back): (Vec<_>, Vec<_>) =
                ev.stopped_leftovers.iter().partition(|l| l.source_gone);
            let names = |ls: &[&roles::Leftover]| {
                ls.iter()
                    .map(|l| l.source.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            for (sources, what) in [
                (&back, "which replicates from this primary: a switchover leftover"),
                (
                    &gone,
                    "a source no longer on the board while replicas follow this server: a failover leftover",
                ),
            ] {
                if !sources.is_empty() {
                    let why = format!(
                        "stopped channel from {}, {what} (RESET REPLICA ALL)",
                        names(sources)
                    );
                    health = health.max(Health::Warn);
                    reasons.push((Health::Warn, why));
                }
            }
            if group.is_none() && matches!(role, Role::GroupPrimary | Role::GroupSecondary) {
                // Known by its group channels only: its state in the group is not collected.
                health = health.max(Health::Unknown);
                reasons.push((Health::Unknown, roles::GROUP_MEMBERS_HINT.to_string()));
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
                prev.and_then(|p| p.replication.as_deref()),
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
        let replication = match (replication, &verdict) {
            (Some(mut r), Some(v)) => {
                r.io_running = None;
                r.sql_running = None;
                r.streaming = v.streaming;
                r.behind_bytes = v.behind_bytes;
                r.receiver_seen = if receiver_failed {
                    receiver_seen_before
                } else {
                    receiver_now.is_some()
                };
                r.source = v
                    .source
                    .clone()
                    .or_else(|| {
                        host_labels
                            .get("upstream_host")
                            .map(|h| ident.host_name(h))
                            .filter(|h| !h.is_empty() && !is_loopback(h))
                    })
                    .or(r.source);
                if not_streaming {
                    r.lag_seconds = None;
                    r.behind_seconds = None;
                } else if postgres::caught_up(v) && r.lag_seconds.is_some_and(|l| l > 0.0) {
                    r.lag_seconds = Some(0.0);
                    r.behind_seconds = Some(0.0);
                    r.delay_seconds = pg_delay.filter(|d| *d > 0.0);
                } else {
                    r.delay_seconds = pg_delay.filter(|d| *d > 0.0);
                    r.behind_seconds = r
                        .lag_seconds
                        .map(|l| postgres::lag_beyond_delay(l, pg_delay));
                }
                Some(r)
            }
            (r, _) => r,
        };

        hosts.push(Host {
            source: source.map(str::to_owned),
            labels: host_labels,
            engine,
            role,
            replication: replication.map(Box::new),
            readings,
            alerts: Vec::new(),
            health,
            reasons,
            role_evidence,
            group: group.map(Box::new),
            galera: galera.map(Box::new),
            exporter_down,
            last_seen: if seen_now {
                now
            } else {
                prev.map_or(now, |p| p.last_seen)
            },
            id,
            spark: Vec::new(),
            heartbeat_from: ev.heartbeat_from.clone(),
            aliases,
        });
    }

    // A PostgreSQL replica whose source is itself a replica cascades.
    let replicas: hashbrown::HashSet<(String, String)> = hosts
        .iter()
        .filter(|h| h.role == Role::Replica)
        .map(|h| (h.id.cluster.clone(), h.id.name.clone()))
        .collect();
    for h in &mut hosts {
        let cluster = h.id.cluster.clone();
        // The primary of a replication ring replicates from a replica without cascading.
        let replica = h.role != Role::Primary;
        if let Some(r) = h.replication.as_mut() {
            if let Some(s) = &r.source {
                r.cascading = replica && replicas.contains(&(cluster, s.clone()));
            }
        }
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
        cluster_alerts: unattached.cluster_alerts,
        notes,
        taken_at: input.taken_at,
        sources: input.sources.to_vec(),
        dead_mans_switch: None,
    }
}

/// A host missing from an incomplete answer: its last data, every reading stale, health
/// STALE with the source's reason first and what was known before after it.
/// `(namespace, pod)` of a Kubernetes scrape target (Prometheus Operator and the
/// Kubernetes service discovery examples write both labels); `None` without a pod label.
fn kubernetes_pod<'s>(
    mut labels: impl Iterator<Item = (&'s str, &'s str)>,
) -> Option<(&'s str, &'s str)> {
    let (mut namespace, mut pod) = ("", None);
    for (k, v) in labels.by_ref() {
        match k {
            "pod" if !v.is_empty() => pod = Some(v),
            "namespace" => namespace = v,
            _ => {}
        }
    }
    Some((namespace, pod?))
}

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
        let Some((cluster, raw)) = ident.key_raw_of(pairs(&s.labels)) else {
            continue;
        };
        let cluster = cluster.to_owned();
        // A server told apart by its port is named with it (see `join::servers_apart_by_port`).
        let mut id = HostId {
            cluster,
            name: raw.to_owned(),
        };
        if fleet.find(&id).is_none() {
            id.name = ident.host_name(raw);
        }
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
    // A server named with its port has its machine's series (node_exporter's), named
    // without one, as `build` copies them; a host joined with targets of other names
    // (`join::join_short_names`) has theirs.
    if by_id.is_empty() {
        return;
    }
    for h in &mut fleet.hosts {
        if h.spark.is_empty() {
            let found = h.aliases.iter().find_map(|a| {
                [h.id.cluster.as_str(), NO_CLUSTER].iter().find_map(|c| {
                    by_id.get(&HostId {
                        cluster: (*c).to_owned(),
                        name: a.clone(),
                    })
                })
            });
            if let Some(v) = found {
                h.spark.clone_from(v);
            }
        }
        let machine = ident.host_name_ref(&h.id.name);
        if h.spark.is_empty() && machine.len() != h.id.name.len() {
            let id = HostId {
                cluster: h.id.cluster.clone(),
                name: machine.to_owned(),
            };
            if let Some(v) = by_id.get(&id) {
                h.spark.clone_from(v);
            }
        }
    }
}

/// Whether each row replicates, through its sources and theirs, from itself: circular
/// (master-master) replication. A ring is followed over at most 16 servers.
/// Only a writable server with replica channels can be a ring's primary, so only those are
/// followed (most refreshes have none: nothing is built then).
fn replication_rings(rows: &[Row<'_>], resolved: &[Vec<Option<String>>]) -> Vec<bool> {
    let candidate =
        |r: &Row<'_>| roles::writable(&r.ev) && r.ev.replica_channels().next().is_some();
    if !rows.iter().any(candidate) {
        return vec![false; rows.len()];
    }
    let mut sources: hashbrown::HashMap<(&str, &str), Vec<&str>> = hashbrown::HashMap::new();
    for (r, res) in rows.iter().zip(resolved) {
        for (c, s) in r.ev.channels.iter().zip(res) {
            if let (true, Some(s)) = (c.is_channel() && !roles::is_group_channel(&c.name), s) {
                sources
                    .entry((r.id.cluster.as_str(), r.id.name.as_str()))
                    .or_default()
                    .push(s.as_str());
            }
        }
    }
    if sources.is_empty() {
        return vec![false; rows.len()];
    }
    rows.iter()
        .map(|r| {
            if !candidate(r) {
                return false;
            }
            let (cluster, me) = (r.id.cluster.as_str(), r.id.name.as_str());
            let mut seen: Vec<&str> = Vec::new();
            let mut next: Vec<&str> = sources.get(&(cluster, me)).cloned().unwrap_or_default();
            while let Some(s) = next.pop() {
                if s == me {
                    return true;
                }
                if seen.contains(&s) || seen.len() >= 16 {
                    continue;
                }
                seen.push(s);
                if let Some(up) = sources.get(&(cluster, s)) {
                    next.extend(up.iter().copied());
                }
            }
            false
        })
        .collect()
}

/// A metric of the machine, not of its database: node_exporter's. Metrics both engines
/// share (the mixed preset's `connections`, `lag`…) have no engine either.
fn machine_metric(m: &MetricDef) -> bool {
    m.engine.is_none() && m.expr.contains("node_")
}

fn up_i_of(set: &MetricSet) -> Option<usize> {
    set.metrics.iter().position(|m| m.kind == Kind::Up)
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
    naming: Option<crate::model::Naming>,
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
        ..Replication::default()
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
    engine: Option<Engine>,
) -> String {
    let on = channel
        .map(|c| format!(" on channel '{c}'"))
        .unwrap_or_default();
    let text = reason_text(def, r, (warn, crit), engine);
    match delay {
        Some(d) if r.value.is_some() => format!(
            "{text}{on} beyond its intended {} delay",
            crate::model::format::format_value(d, crate::model::Unit::Seconds)
        ),
        _ => format!("{text}{on}"),
    }
}

fn reason_text(
    def: &MetricDef,
    r: &Reading,
    (warn, crit): (Option<f64>, Option<f64>),
    engine: Option<Engine>,
) -> String {
    use crate::model::format::format_value;
    match (def.kind, r.value) {
        (Kind::Up, _) => match (r.state, r.note) {
            (MetricState::Warn, Some(n)) => n.to_string(),
            (_, Some(n)) if n == MACHINE_ONLY => n.to_string(),
            (_, Some(n)) => format!("down: {n}"),
            (_, None) => format!("{} is down", engine.unwrap_or(Engine::Mysql).as_str()),
        },
        (Kind::Flag, Some(_)) => r
            .note
            .map_or_else(|| format!("{} thread stopped", def.label), str::to_string),
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
