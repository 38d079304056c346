//! What a board queries and how: metric definitions, thresholds and overrides.

use serde::{Deserialize, Serialize};

/// Which way is bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Larger values are worse (lag, load).
    Higher,
    /// Smaller values are worse (threads running, free space).
    Lower,
}

/// How a metric's value affects the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Compared with warn/crit thresholds.
    Gauge,
    /// `1` up, `0` down: a host whose up is 0 is DOWN; one whose series all vanished is
    /// UNKNOWN (its exporter is down: nothing is known of the database).
    Up,
    /// `1` running, `0` stopped (replication threads): 0 is CRITICAL.
    Flag,
    /// Not shown as a figure; used for topology (server ids, read_only).
    Info,
    /// Several series per host read as a whole by the engine's replication logic (the
    /// walsender rows of a PostgreSQL server); not merged into a per-host value.
    #[serde(skip)]
    Detail,
}

/// The database engine a metric or a host belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// MySQL or MariaDB (`mysqld_exporter` series, `mysql_*`).
    Mysql,
    /// PostgreSQL (`postgres_exporter` series `pg_*`, Patroni's `patroni_*`).
    Postgres,
}

impl Engine {
    /// The word used in config and JSON (`mysql`, `postgres`).
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Mysql => "mysql",
            Engine::Postgres => "postgres",
        }
    }

    /// Human name, for panels and notes.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Mysql => "MySQL",
            Engine::Postgres => "PostgreSQL",
        }
    }

    /// The engine whose exporter's up series this is (`mysql_up`, `pg_up`).
    pub fn of_up_series(name: &str) -> Option<Engine> {
        [Engine::Mysql, Engine::Postgres]
            .into_iter()
            .find(|e| e.up_series() == name)
    }

    /// The up series of the engine's exporter.
    pub fn up_series(self) -> &'static str {
        match self {
            Engine::Mysql => "mysql_up",
            Engine::Postgres => "pg_up",
        }
    }

    /// The engine a series belongs to, from its metric name (`mysql_up`, `pg_up`).
    pub fn of_metric_name(name: &str) -> Option<Engine> {
        if name.starts_with("mysql_") {
            Some(Engine::Mysql)
        } else if name.starts_with("pg_") || name.starts_with("patroni_") {
            Some(Engine::Postgres)
        } else {
            None
        }
    }
}

/// Which hosts a metric is meaningful for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppliesTo {
    /// Every host.
    All,
    /// Replicas only: N/A on other roles (lag on a primary).
    Replica,
}

/// Unit of a value, used to format it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Seconds, shown as `12s`, `4m05s`, `3h`.
    Seconds,
    /// A 0..1 ratio shown as a percentage.
    Ratio,
    /// Per second, shown as `140/s`, `12k/s`.
    Rate,
    /// A plain number.
    None,
    /// Yes/no (1/0).
    Bool,
    /// A number of things (slots, connections): whole numbers shown without decimals.
    Count,
}

impl Unit {
    /// Text appended to a formatted value (`s`, `%`, `/s`; empty for plain numbers).
    pub fn suffix(self) -> &'static str {
        match self {
            Unit::Seconds => "s",
            Unit::Ratio => "%",
            Unit::Rate => "/s",
            Unit::None | Unit::Bool | Unit::Count => "",
        }
    }
}

/// What a metric means to the fleet model, beyond its thresholds: replication and topology
/// are found by these, never by a metric's key, so renaming a key in the config breaks nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// Seconds a replica is behind its source.
    ReplicationLag,
    /// The replica's I/O (receiver) thread: 1 running, 0 stopped.
    IoThread,
    /// The replica's SQL (applier) thread: 1 running, 0 stopped.
    SqlThread,
    /// `read_only`: 1 on, 0 off; a hint of the role.
    ReadOnly,
    /// The server's own id (`server_id`).
    ServerId,
    /// The id of the server a replica replicates from (`master_server_id`).
    SourceServerId,
    /// PostgreSQL: the replica's WAL receiver, 1 streaming, 0 not (absent: not collected).
    WalReceiver,
    /// PostgreSQL: `pg_stat_replication` rows of every server, one series per walsender.
    Walsenders,
    /// An intended replication delay in seconds (`recovery_min_apply_delay`): lag up to it
    /// is not a problem.
    IntendedDelay,
    /// Series read by name for roles and topology beyond the metrics above
    /// (`super_read_only`, `sql_delay`, Group Replication members, wsrep status, version,
    /// Prometheus' `up` of the scrape targets); one query, never shown as a figure.
    Topology,
}

impl Signal {
    /// The signal a preset gives the metric of this key, for hand-written metrics that
    /// use the same key.
    pub fn for_key(key: &str) -> Option<Signal> {
        Some(match key {
            "lag" => Signal::ReplicationLag,
            "io_running" => Signal::IoThread,
            "sql_running" => Signal::SqlThread,
            "read_only" => Signal::ReadOnly,
            "server_id" => Signal::ServerId,
            "master_server_id" => Signal::SourceServerId,
            "streaming" => Signal::WalReceiver,
            "walsenders" => Signal::Walsenders,
            "apply_delay" => Signal::IntendedDelay,
            _ => return None,
        })
    }
}

/// One metric: a PromQL expression returning at most one series per host.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDef {
    /// Stable key (`lag`, `load`); used in config, JSON and tests.
    pub key: String,
    /// Short label for tiles and tables.
    pub label: String,
    /// PromQL; `$cluster` is replaced with an anchored regex of the cluster filter
    /// (`.*` when there is none), so the filter is applied by the server; `$host`
    /// with the host's name (history of one host) or `.*` (the whole fleet).
    pub expr: String,
    /// Unit of the values, for formatting (and of `warn` / `crit`).
    pub unit: Unit,
    /// How the value affects the host.
    pub kind: Kind,
    /// Which way is bad, for the thresholds.
    pub direction: Direction,
    /// Warning threshold, in the metric's unit (a ratio 0..1 for [`Unit::Ratio`]); reached
    /// when the value is at it or past it in `direction`. `None`: never warns.
    pub warn: Option<f64>,
    /// Critical threshold, as `warn`. `None`: never critical.
    pub crit: Option<f64>,
    /// Which hosts the metric is judged on.
    pub applies_to: AppliesTo,
    /// Shown on grid tiles (in this order) when there is room.
    pub on_tile: bool,
    /// Gets a history chart in the host panel.
    pub chart: bool,
    /// What the metric stands for in roles and replication, if anything.
    pub signal: Option<Signal>,
    /// The engine whose hosts this metric is about; `None` for any host (node_exporter
    /// figures, and figures a mixed board asks of both engines at once).
    pub engine: Option<Engine>,
}

impl MetricDef {
    /// Whether this metric means something on a host of `engine` (an unknown engine
    /// takes every metric).
    pub fn fits(&self, engine: Option<Engine>) -> bool {
        match (self.engine, engine) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        }
    }
}

/// The metrics of a board, in display order, plus the per-cluster/label overrides.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSet {
    /// The metrics, in display order.
    pub metrics: Vec<MetricDef>,
    /// Threshold overrides, in config order: the last match wins.
    pub overrides: Vec<Override>,
}

/// A threshold override for hosts whose labels match every matcher.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// Key of the metric it changes ([`MetricDef::key`]).
    pub metric: String,
    /// Exact label matches; the cluster label is matched like any other.
    pub matchers: Vec<(String, String)>,
    /// Warning threshold for matching hosts; `None` keeps the metric's own.
    pub warn: Option<f64>,
    /// Critical threshold for matching hosts; `None` keeps the metric's own.
    pub crit: Option<f64>,
}

impl MetricSet {
    /// Position of the metric with key `key`: the index of its reading in [`Host::readings`](super::Host::readings).
    pub fn index(&self, key: &str) -> Option<usize> {
        self.metrics.iter().position(|m| m.key == key)
    }

    /// The metric that stands for `signal`, if the board has one.
    pub fn by_signal(&self, signal: Signal) -> Option<usize> {
        self.metrics.iter().position(|m| m.signal == Some(signal))
    }

    /// The metric with key `key`.
    pub fn get(&self, key: &str) -> Option<&MetricDef> {
        self.metrics.iter().find(|m| m.key == key)
    }

    /// Thresholds for one metric on one host: the last matching override wins.
    pub fn thresholds(
        &self,
        idx: usize,
        has_label: &dyn Fn(&str, &str) -> bool,
    ) -> (Option<f64>, Option<f64>) {
        let m = &self.metrics[idx];
        let mut t = (m.warn, m.crit);
        for o in self.overrides.iter().filter(|o| o.metric == m.key) {
            if o.matchers.iter().all(|(k, v)| has_label(k, v)) {
                if o.warn.is_some() {
                    t.0 = o.warn;
                }
                if o.crit.is_some() {
                    t.1 = o.crit;
                }
            }
        }
        t
    }
}
