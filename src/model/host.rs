//! Hosts, clusters and the fleet at one moment.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::alert::Alert;
use super::health::{Health, MetricState};
use super::labels::HostLabels;
use super::metric::{Engine, MetricSet};
use super::topology::{Channel, GaleraNode, GroupMember, Naming};

/// Which labels identify a host and its cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Label naming the host (`instance` by default, `node_name` for PMM).
    pub host_label: String,
    /// Label naming its cluster (`cluster` by default).
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

    /// [`Identity::host_name`], borrowed from `raw`.
    pub fn host_name_ref<'s>(&self, raw: &'s str) -> &'s str {
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

    /// `(cluster, host name)` of a series, borrowed from its labels.
    ///
    /// A series that carries `exported_<host label>` was scraped a second time, through a
    /// federating Prometheus or a Pushgateway without `honor_labels: true`: Prometheus
    /// renamed the label the series came with and set its own target's (the Prometheus
    /// passing it on). The renamed one names the host, and its cluster is then
    /// `exported_<cluster label>` when that is there too. Alone, `exported_<cluster label>`
    /// is an exporter's own label that the scrape job's cluster overrode, and the job's wins.
    pub fn key_parts_of<'a>(
        &self,
        labels: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Option<(&'a str, &'a str)> {
        let (cluster, raw) = self.key_raw_of(labels)?;
        Some((cluster, self.host_name_ref(raw)))
    }

    /// [`Identity::key_parts_of`] with the host label's value as it is (port not stripped).
    pub fn key_raw_of<'a>(
        &self,
        labels: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Option<(&'a str, &'a str)> {
        let (raw, cluster) = naming_values(&self.host_label, &self.cluster_label, labels);
        Some((cluster.unwrap_or(NO_CLUSTER), raw?))
    }
}

/// The values naming a series' (or an alert's) host and cluster, as they are, `exported_`
/// ones first (see [`Identity::key_parts_of`]), in one pass over its labels; empty values
/// count as missing.
pub fn naming_values<'a>(
    host_label: &str,
    cluster_label: &str,
    labels: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> (Option<&'a str>, Option<&'a str>) {
    let (mut host, mut cluster, mut ex_host, mut ex_cluster) = (None, None, None, None);
    for (k, v) in labels {
        if v.is_empty() {
            continue;
        }
        if k == host_label {
            host = Some(v);
        } else if k == cluster_label {
            cluster = Some(v);
        } else if let Some(base) = k.strip_prefix(EXPORTED_PREFIX) {
            if base == host_label {
                ex_host = Some(v);
            } else if base == cluster_label {
                ex_cluster = Some(v);
            }
        }
    }
    match ex_host {
        Some(raw) => (Some(raw), ex_cluster.or(cluster)),
        None => (host, cluster),
    }
}

/// What Prometheus prefixes to a scraped label that clashes with a target label when the
/// scrape job does not honour the series' labels.
pub const EXPORTED_PREFIX: &str = "exported_";

/// `instance` → `exported_instance`.
pub fn exported(label: &str) -> String {
    format!("{EXPORTED_PREFIX}{label}")
}

/// A host's identity: its cluster and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct HostId {
    /// Value of the cluster label, or [`NO_CLUSTER`].
    pub cluster: String,
    /// Host name: the host label's value, port stripped when [`Identity::strip_port`].
    pub name: String,
}

/// A server's place in its topology (how it is decided: `fleet::roles`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Takes writes: `read_only=0`, a Patroni leader, or the source of a replica.
    Primary,
    /// Replicates from another server (MySQL replica threads, PostgreSQL standby).
    Replica,
    /// Group Replication / InnoDB Cluster member with `member_role` PRIMARY.
    GroupPrimary,
    /// Group Replication / InnoDB Cluster member with `member_role` SECONDARY.
    GroupSecondary,
    /// Galera / Percona XtraDB Cluster node (every node takes writes).
    Galera,
    /// Nothing tells (no replication series, or an engine without roles).
    #[default]
    Unknown,
}

impl Role {
    /// The word used in reports and JSON (`group_primary`, `galera_node`, …).
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
/// when any channel's lag is unknown; `source` is then left to the channels.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Replication {
    /// The primary it replicates from (host name when it could be resolved).
    pub source: Option<String>,
    /// Replica I/O (receiver) thread running; `None` when not reported.
    pub io_running: Option<bool>,
    /// Replica SQL (applier) thread running; `None` when not reported.
    pub sql_running: Option<bool>,
    /// Seconds behind as reported (an intended delay included); `None` when unknown (a
    /// stopped thread), never 0 for that.
    pub lag_seconds: Option<f64>,
    /// PostgreSQL: whether WAL streams to it (`None`: nothing could tell).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub streaming: Option<bool>,
    /// PostgreSQL: its source is itself a replica.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cascading: bool,
    /// PostgreSQL: bytes its replay is behind its source, from the source's walsender.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub behind_bytes: Option<f64>,
    /// PostgreSQL: the replica's WAL receiver had series in this refresh (so their
    /// vanishing in the next one is news).
    #[serde(skip)]
    pub receiver_seen: bool,
    /// Intended delay (`MASTER_DELAY` / `SOURCE_DELAY`), seconds, when one is set.
    pub delay_seconds: Option<f64>,
    /// Seconds behind beyond the intended delay: what lag thresholds judge.
    pub behind_seconds: Option<f64>,
    /// Which series names the exporter reported for this host.
    pub naming: Option<Naming>,
    /// Every replication channel (Group Replication's own left out), sorted by name.
    pub channels: Vec<Channel>,
}

/// One metric's reading on one host.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// Latest value, in the metric's unit (see [`MetricSet`]); `None` when there is none.
    pub value: Option<f64>,
    /// The value judged against the host's thresholds.
    pub state: MetricState,
    /// Why there is no value.
    pub note: Option<&'static str>,
    /// The query for this metric failed; the value is from an earlier refresh.
    pub stale: bool,
}

impl Reading {
    /// A reading without a value, with the reason when there is one.
    pub fn none(state: MetricState, note: Option<&'static str>) -> Self {
        Self {
            value: None,
            state,
            note,
            stale: false,
        }
    }
}

/// One database server on the board, with everything known of it at one refresh.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    /// Cluster and name: the host's key across refreshes.
    pub id: HostId,
    /// Name of the metrics source that reported the host (`None`: a source without names,
    /// such as the demo).
    pub source: Option<String>,
    /// Its series' labels (beyond identity), for overrides, links and the details panel.
    pub labels: HostLabels,
    /// The database engine, from the host's series (`None` when they do not tell).
    pub engine: Option<Engine>,
    /// Its place in the topology; [`Host::role_evidence`] says why.
    pub role: Role,
    /// Replication status, when it is a replica (or has channels).
    pub replication: Option<Box<Replication>>,
    /// One reading per metric of the [`MetricSet`], same order.
    pub readings: Vec<Reading>,
    /// Alerts attached to this host (active, silenced and inhibited).
    pub alerts: Vec<Alert>,
    /// Worst of its readings, its active alerts and its reachability.
    pub health: Health,
    /// Why `health` is not OK, one short line each (`lag 42s > 30s`, an alert's name).
    pub reasons: Vec<String>,
    /// Which evidence decided the role (`read_only=1`, `replica status series`, ...).
    pub role_evidence: Option<&'static str>,
    /// Group Replication membership, when the host is in a group.
    pub group: Option<Box<GroupMember>>,
    /// Galera membership, when the host is a Galera node.
    pub galera: Option<Box<GaleraNode>>,
    /// The exporter could not be scraped (Prometheus `up` 0, or its series vanished): no
    /// data, which is not the database being down.
    pub exporter_down: bool,
    /// When its series were last seen: the refresh time, or earlier for a host kept after it vanished.
    pub last_seen: DateTime<Utc>,
    /// A short recent history of the sparkline metric (oldest first; NaN for gaps).
    pub spark: Vec<f64>,
    /// When the lag metric reads a pt-heartbeat table, the rows the lag was read from (the
    /// others are rows of servers that do not measure this one): each row's writer
    /// (`server_id`) and the seconds taken off its age (the row's age on the writer itself).
    pub heartbeat_from: Vec<(u64, f64)>,
    /// Other names its scrape targets go by, whose series were joined to it: node_exporter
    /// named by fully qualified name beside mysqld_exporter by short name, or the other way
    /// round. Its charts and alerts follow them too.
    pub aliases: Vec<String>,
}

impl Host {
    /// Active alerts (not silenced, not inhibited).
    pub fn active_alerts(&self) -> usize {
        self.alerts.iter().filter(|a| a.is_active()).count()
    }

    /// Alerts that are silenced or inhibited.
    pub fn muted_alerts(&self) -> usize {
        self.alerts.len() - self.active_alerts()
    }

    /// Warning and critical thresholds of metric `i` for this host (overrides by label applied).
    pub fn thresholds(&self, set: &MetricSet, i: usize) -> (Option<f64>, Option<f64>) {
        set.thresholds(i, &|k, v| self.labels.get(k) == Some(v))
    }

    /// The reading of the metric with key `key`, if the set has it.
    pub fn reading(&self, set: &MetricSet, key: &str) -> Option<&Reading> {
        set.index(key).and_then(|i| self.readings.get(i))
    }

    /// Everything but `last_seen` is the same, floats compared bit for bit (a gap, NaN, is
    /// the same gap at the next refresh). Every field is named, so that a new one must be
    /// placed here too.
    fn same_but_last_seen(&self, o: &Host) -> bool {
        let Host {
            id,
            source,
            labels,
            engine,
            role,
            replication,
            readings,
            alerts,
            health,
            reasons,
            role_evidence,
            group,
            galera,
            exporter_down,
            last_seen: _,
            spark,
            heartbeat_from,
            aliases,
        } = self;
        let same_f64 = |a: f64, b: f64| a.to_bits() == b.to_bits();
        *id == o.id
            && *health == o.health
            && *exporter_down == o.exporter_down
            && readings.len() == o.readings.len()
            && readings.iter().zip(&o.readings).all(|(a, b)| {
                let Reading {
                    value,
                    state,
                    note,
                    stale,
                } = a;
                *state == b.state
                    && *note == b.note
                    && *stale == b.stale
                    && match (value, b.value) {
                        (Some(x), Some(y)) => same_f64(*x, y),
                        (x, y) => x.is_none() && y.is_none(),
                    }
            })
            && spark.len() == o.spark.len()
            && spark.iter().zip(&o.spark).all(|(a, b)| same_f64(*a, *b))
            && *reasons == o.reasons
            && *alerts == o.alerts
            && *role == o.role
            && *role_evidence == o.role_evidence
            && *engine == o.engine
            && *source == o.source
            && *replication == o.replication
            && *group == o.group
            && *galera == o.galera
            && *heartbeat_from == o.heartbeat_from
            && *aliases == o.aliases
            && *labels == o.labels
    }
}

/// The active alerts about one cluster as a whole.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClusterAlerts {
    /// The worst health they give (WARN or CRIT).
    pub health: Health,
    /// Their `alertname`s, each once, in the order they came.
    pub names: Vec<String>,
}

/// The whole fleet at one moment.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fleet {
    /// Sorted by cluster, then name.
    pub hosts: Vec<Host>,
    /// Cluster names of the hosts, sorted, each once.
    pub clusters: Vec<String>,
    /// Alerts that name no known host (fleet-wide, or for hosts not on the board), and
    /// alerts the board cannot place (a host name in several clusters, no cluster label).
    pub other_alerts: Vec<Alert>,
    /// Why each of `other_alerts` is attached to no host; same order.
    pub other_reasons: Vec<String>,
    /// Worst health of the active alerts naming a host whose name is in several clusters:
    /// trouble on a server of the board, which one unknown.
    pub unplaced_health: Health,
    /// Active alerts about a cluster of the board as a whole (its cluster label, no host
    /// label: "cluster lost a node", "no primary"), by cluster. They are in `other_alerts`
    /// too.
    pub cluster_alerts: BTreeMap<String, ClusterAlerts>,
    /// Explanations of data that was dropped or merged (missing labels, duplicates).
    pub notes: Vec<String>,
    /// When the data was taken (the query time in replay mode).
    pub taken_at: Option<DateTime<Utc>>,
    /// How each metrics source answered this refresh (partial answers, failures, failed
    /// metrics, the monitoring's own health).
    pub sources: Vec<super::status::SourceStatus>,
    /// Whether Alertmanager holds the always-firing alert, when checked.
    pub dead_mans_switch: Option<super::status::DeadMansSwitch>,
}

impl Fleet {
    /// The host with this id (binary search over the sorted hosts).
    pub fn find(&self, id: &HostId) -> Option<&Host> {
        self.hosts
            .binary_search_by(|h| h.id.cmp(id))
            .ok()
            .map(|i| &self.hosts[i])
    }

    /// Hosts per health state.
    pub fn counts(&self) -> BTreeMap<Health, usize> {
        let mut c = BTreeMap::new();
        for h in &self.hosts {
            *c.entry(h.health).or_insert(0) += 1;
        }
        c
    }

    /// `other` is this fleet taken again with nothing new: the same hosts, readings, alerts
    /// and source answers, only the time differs, and every host of both was seen at its
    /// own refresh (a host kept after it vanished shows its age, which moves with the clock).
    /// A board showing this fleet then needs only its clock redrawn.
    pub fn same_but_time(&self, other: &Fleet) -> bool {
        let Fleet {
            hosts,
            clusters,
            other_alerts,
            other_reasons,
            unplaced_health,
            cluster_alerts,
            notes,
            taken_at,
            sources,
            dead_mans_switch,
        } = self;
        let seen_now = |h: &Host, at: Option<DateTime<Utc>>| at == Some(h.last_seen);
        hosts.len() == other.hosts.len()
            && *unplaced_health == other.unplaced_health
            && hosts.iter().zip(&other.hosts).all(|(a, b)| {
                seen_now(a, *taken_at) && seen_now(b, other.taken_at) && a.same_but_last_seen(b)
            })
            && *clusters == other.clusters
            && *other_alerts == other.other_alerts
            && *other_reasons == other.other_reasons
            && *cluster_alerts == other.cluster_alerts
            && *notes == other.notes
            && *sources == other.sources
            && *dead_mans_switch == other.dead_mans_switch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key<'a>(ident: &Identity, labels: &[(&'a str, &'a str)]) -> Option<(&'a str, &'a str)> {
        ident.key_parts_of(labels.iter().copied())
    }

    #[test]
    fn a_series_scraped_again_is_named_by_its_exported_labels() {
        let id = Identity::default();
        // plain
        assert_eq!(
            key(&id, &[("cluster", "shop"), ("instance", "db1:9104")]),
            Some(("shop", "db1"))
        );
        // federated without honor_labels: the renamed label names the server
        let fed = [
            ("cluster", "shop"),
            ("instance", "prom-eu:9090"),
            ("exported_instance", "db1:9104"),
        ];
        assert_eq!(key(&id, &fed), Some(("shop", "db1")));
        // both renamed: the federating job set a cluster of its own
        let fed = [
            ("cluster", "global"),
            ("exported_cluster", "shop"),
            ("instance", "prom-eu:9090"),
            ("exported_instance", "db1:9104"),
        ];
        assert_eq!(key(&id, &fed), Some(("shop", "db1")));
        // an exporter's own `cluster` label under the scrape job's: the job's wins
        let own = [
            ("cluster", "shop"),
            ("exported_cluster", "galera-7"),
            ("instance", "db1:9104"),
        ];
        assert_eq!(key(&id, &own), Some(("shop", "db1")));
        // empty values are missing ones
        let empty = [("instance", "db1:9104"), ("exported_instance", "")];
        assert_eq!(key(&id, &empty), Some((NO_CLUSTER, "db1")));
        assert_eq!(key(&id, &[("cluster", "shop")]), None);
        // another host label
        let pmm = Identity {
            host_label: "node_name".into(),
            ..Identity::default()
        };
        let fed = [("node_name", "pmm-server"), ("exported_node_name", "db7")];
        assert_eq!(key(&pmm, &fed), Some((NO_CLUSTER, "db7")));
    }
}
