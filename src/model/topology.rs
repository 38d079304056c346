//! Replication channels and cluster membership: what a host's topology looks like.

use serde::Serialize;

use super::health::Health;

/// Which column names a server's replica status uses (and so the exporter's series names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Naming {
    /// `SHOW SLAVE STATUS`: `seconds_behind_master`, `slave_io_running`, `master_server_id`
    /// (MariaDB, MySQL before 8.4, mysqld_exporter before 0.16).
    MasterSlave,
    /// `SHOW REPLICA STATUS`: `seconds_behind_source`, `replica_io_running`,
    /// `source_server_id` (MySQL 8.4 with mysqld_exporter 0.16 and later).
    SourceReplica,
}

impl Naming {
    /// Short words for panels and text output.
    pub fn as_str(self) -> &'static str {
        match self {
            Naming::MasterSlave => "master/slave names",
            Naming::SourceReplica => "source/replica names (MySQL 8.4)",
        }
    }

    /// The generation a series name belongs to; `None` when the name says nothing
    /// (`sql_delay` is the same in both, a custom expression has no name).
    pub fn of_series(name: &str) -> Option<Naming> {
        let rest = name.strip_prefix("mysql_slave_status_")?;
        if rest.contains("source") || rest.starts_with("replica_") {
            Some(Naming::SourceReplica)
        } else if rest.contains("master") || rest.starts_with("slave_") {
            Some(Naming::MasterSlave)
        } else {
            None
        }
    }
}

/// One replication channel of a replica.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Channel {
    /// `""` for the default (unnamed) channel.
    pub name: String,
    /// The primary this channel replicates from (host name when it could be resolved).
    pub source: Option<String>,
    /// I/O (receiver) thread running; `None` when not reported.
    pub io_running: Option<bool>,
    /// SQL (applier) thread running; `None` when not reported.
    pub sql_running: Option<bool>,
    /// As reported; `None` when unknown (a stopped thread).
    pub lag_seconds: Option<f64>,
    /// Intended delay (`SQL_Delay`), seconds, when one is set.
    pub delay_seconds: Option<f64>,
    /// Seconds behind beyond the intended delay: what lag thresholds judge.
    pub behind_seconds: Option<f64>,
    /// The channel judged on its own (threads, lag).
    pub health: Health,
}

/// A Group Replication member as the board shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupMember {
    /// `ONLINE`, `RECOVERING`, `OFFLINE`, `ERROR`, `UNREACHABLE` (`?` if unknown).
    pub state: String,
    /// `PRIMARY`, `SECONDARY` or empty.
    pub role: String,
    /// Members this one sees ONLINE, and members it sees at all.
    pub online: usize,
    /// Members this one sees at all (`performance_schema.replication_group_members` rows).
    pub members: usize,
    /// A majority of the members it sees is ONLINE.
    pub quorum: bool,
    /// Transactions received from the group, waiting to be applied here.
    pub applier_queue: Option<f64>,
}

/// A Galera (MariaDB Galera Cluster, Percona XtraDB Cluster) node as the board shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GaleraNode {
    /// `wsrep_local_state`: 0 Initialized (outside the primary component), 1 Joining,
    /// 2 Donor/Desynced, 3 Joined, 4 Synced.
    pub local_state: Option<u8>,
    /// Name of `local_state` (`Synced`, `Donor/Desynced`, …; `unknown state`, `no state`).
    pub state_name: &'static str,
    /// `wsrep_cluster_status` is `Primary` (the node is in the primary component).
    pub primary_component: Option<bool>,
    /// `wsrep_ready`: the node accepts queries.
    pub ready: Option<bool>,
    /// `wsrep_cluster_size`: nodes in the component this node sees.
    pub cluster_size: Option<f64>,
}
