//! Roles and replication topology of MySQL and MariaDB servers, read from exporter series.
//!
//! Role detection takes the first kind of evidence that speaks, in this order:
//!
//! 1. **Group Replication** (`mysql_perf_schema_replication_group_member_info`): the member's
//!    `member_role` makes it a group primary or a group secondary.
//! 2. **Galera membership** (`mysql_global_status_wsrep_local_state` and friends): a Galera node.
//! 3. **Replica-status series** of either naming generation (`mysql_slave_status_*` after
//!    `SHOW SLAVE STATUS` or `SHOW REPLICA STATUS`): IO/SQL thread or source server id of a
//!    channel other than Group Replication's own makes a replica.
//! 4. **`read_only` / `super_read_only`**: 1 is a replica, 0 a primary.
//! 5. **Source join**: a host whose `server_id` another host of its cluster names as its
//!    source (`master_server_id` / `source_server_id`), or whose name a replica's
//!    `master_host` gives, is a primary.
//!
//! A lag value alone never makes a host a replica: pt-heartbeat lag exists on primaries too.
//! Each kind of evidence has its own function below, so another engine (PostgreSQL) adds its
//! own functions next to these and keeps the same order of reasoning.

use crate::model::{GaleraNode, GroupMember, Health, Naming, Role, Signal};

/// A `server_id` as a whole number (`u64::MAX` for no valid one, which no server has).
pub fn as_id(v: f64) -> u64 {
    if v.is_finite() && v >= 0.0 {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let id = v as u64;
        id
    } else {
        u64::MAX
    }
}

/// Names of the Group Replication channels: their threads are idle by design.
pub fn is_group_channel(name: &str) -> bool {
    name.starts_with("group_replication_")
}

/// The channel a replica-status series belongs to: MySQL's `channel_name`, MariaDB's
/// `connection_name`, or `""` (the default channel).
pub fn channel_of<'a>(label: impl Fn(&str) -> Option<&'a str>) -> &'a str {
    label("channel_name")
        .filter(|c| !c.is_empty())
        .or_else(|| label("connection_name").filter(|c| !c.is_empty()))
        .unwrap_or("")
}

/// One replication channel as the replica-status series of one refresh show it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChannelEvidence {
    /// `channel_name` (MySQL) or `connection_name` (MariaDB multi-source); empty for the
    /// default channel.
    pub name: String,
    /// Which generation of series names reported it (`*_master` / `*_source`).
    pub naming: Option<Naming>,
    /// Seconds behind, as reported (it includes an intended delay).
    pub lag: Option<f64>,
    /// Receiver (I/O) thread running: 1 yes, 0 no (`Connecting` included).
    pub io: Option<f64>,
    /// Applier (SQL) thread running: 1 yes, 0 no.
    pub sql: Option<f64>,
    /// `Master_Server_Id` / `Source_Server_Id`: the `server_id` of the source.
    pub source_server_id: Option<f64>,
    /// Intended delay (`SQL_Delay`, `MASTER_DELAY` / `SOURCE_DELAY`), seconds.
    pub delay: Option<f64>,
    /// The `master_host` label: the source's address as the replica was configured.
    pub master_host: Option<String>,
    /// `Last_IO_Errno` when not 0: why the receiver thread stopped or cannot connect.
    pub io_errno: Option<f64>,
    /// `Last_SQL_Errno` when not 0: why the applier thread stopped.
    pub sql_errno: Option<f64>,
}

impl ChannelEvidence {
    /// A channel of its own: it has a thread state or a source. A series with only a lag
    /// (pt-heartbeat lag has no channel) is not one.
    pub fn is_channel(&self) -> bool {
        self.io.is_some() || self.sql.is_some() || self.source_server_id.is_some()
    }

    /// Whether a replication thread is reported stopped.
    pub fn thread_stopped(&self) -> bool {
        self.io.is_some_and(|v| v < 1.0) || self.sql.is_some_and(|v| v < 1.0)
    }

    /// Seconds behind beyond the intended delay (never below 0).
    pub fn behind(&self) -> Option<f64> {
        // NaN stays NaN (unknown), where `max` would turn it into 0.
        self.lag.map(|l| {
            if l.is_nan() {
                l
            } else {
                (l - self.delay.unwrap_or(0.0).max(0.0)).max(0.0)
            }
        })
    }
}

/// Which field of a channel a preset metric fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelField {
    /// [`ChannelEvidence::lag`].
    Lag,
    /// [`ChannelEvidence::io`].
    Io,
    /// [`ChannelEvidence::sql`].
    Sql,
    /// [`ChannelEvidence::source_server_id`].
    SourceServerId,
}

impl ChannelField {
    /// The field a metric fills, if it is a per-channel one.
    pub fn of_signal(signal: Option<Signal>) -> Option<Self> {
        match signal? {
            Signal::ReplicationLag => Some(Self::Lag),
            Signal::IoThread => Some(Self::Io),
            Signal::SqlThread => Some(Self::Sql),
            Signal::SourceServerId => Some(Self::SourceServerId),
            Signal::ReadOnly
            | Signal::ServerId
            | Signal::Topology
            | Signal::WalReceiver
            | Signal::Walsenders
            | Signal::IntendedDelay => None,
        }
    }
}

/// One row of `performance_schema.replication_group_members` as a member reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRow {
    /// `MEMBER_HOST`: the member's address as the group knows it.
    pub member_host: String,
    /// `MEMBER_PORT`.
    pub member_port: String,
    /// `MEMBER_STATE`: `ONLINE`, `RECOVERING`, `OFFLINE`, `ERROR`, `UNREACHABLE`.
    pub state: String,
    /// `MEMBER_ROLE`: `PRIMARY` or `SECONDARY`.
    pub role: String,
}

/// Everything one refresh says about one host's place in its topology.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evidence {
    /// `read_only`: 1 on, 0 off.
    pub read_only: Option<f64>,
    /// `super_read_only`: 1 on, 0 off.
    pub super_read_only: Option<f64>,
    /// This server's `server_id`.
    pub server_id: Option<f64>,
    /// Every replica-status channel, Group Replication's own included.
    pub channels: Vec<ChannelEvidence>,
    /// Group Replication members as this server reports them.
    pub group_rows: Vec<GroupRow>,
    /// `mysql_perf_schema_transactions_remote_in_applier_queue`: transactions received from
    /// the group and waiting to be applied on this member.
    pub applier_queue: Option<f64>,
    /// Galera `wsrep_local_state`: 1 Joining, 2 Donor/Desynced, 3 Joined, 4 Synced.
    pub wsrep_local_state: Option<f64>,
    /// Galera `wsrep_cluster_status`: 1 Primary, 0 non-Primary or Disconnected (as
    /// mysqld_exporter maps the text).
    pub wsrep_cluster_status: Option<f64>,
    /// Galera `wsrep_ready`: 1 when the node accepts queries.
    pub wsrep_ready: Option<f64>,
    /// Galera `wsrep_cluster_size`: nodes in this node's component.
    pub wsrep_cluster_size: Option<f64>,
    /// `mysql_version_info{version}`.
    pub version: Option<String>,
    /// Prometheus' `up` of this host's scrape targets that failed (`up == 0`), by job.
    pub targets_down: Vec<String>,
    /// Patroni's own view of this PostgreSQL node, from its REST API's `/metrics`.
    pub patroni: Patroni,
    /// Rows of a pt-heartbeat table read as the lag metric, as (`server_id` of the server
    /// that wrote the row, seconds since it was written here), until
    /// [`Evidence::resolve_heartbeat`] picks the rows that measure this server.
    pub heartbeat: Vec<(u64, f64)>,
    /// The heartbeat rows the lag was read from: their writer's `server_id`, and the
    /// seconds taken off their age (the row's age on its writer).
    pub heartbeat_from: Vec<(u64, f64)>,
    /// Replica channels set aside as left from a switchover or a failover (see
    /// [`Evidence::left_from_switchover`]).
    pub stopped_leftovers: Vec<Leftover>,
}

/// A stopped replica channel on a server that now acts as the primary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    /// The channel's source: its host name, or `server_id N` when it is not on the board.
    pub source: String,
    /// The source is not on the board (removed, or down): a failover, not a switchover.
    pub source_gone: bool,
}

/// What Patroni's `/metrics` says of one node (each 1 or 0; `None` when the series is
/// absent: no Patroni, or a version without it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Patroni {
    /// `patroni_primary` (3.0+; `patroni_master` before): this node holds the leader lock.
    pub primary: Option<f64>,
    /// `patroni_replica`: a running replica.
    pub replica: Option<f64>,
    /// `patroni_standby_leader`: leader of a standby cluster (a replica of a remote primary).
    pub standby_leader: Option<f64>,
    /// `patroni_postgres_streaming`: this replica's WAL receiver streams (2.1+).
    pub streaming: Option<f64>,
    /// `patroni_cluster_unlocked`: nobody holds the leader lock.
    pub unlocked: Option<f64>,
    /// `patroni_is_paused`: maintenance mode (no automatic failover).
    pub paused: Option<f64>,
    /// `patroni_postgres_running`: PostgreSQL runs. When 0, Patroni 3.0 still reports the
    /// node's last role, which is then no evidence.
    pub running: Option<f64>,
    /// `scope` of the series: the Patroni cluster's name.
    pub scope: Option<String>,
}

impl Patroni {
    /// Whether any Patroni series was seen for the node.
    pub fn seen(&self) -> bool {
        self.primary.is_some()
            || self.replica.is_some()
            || self.standby_leader.is_some()
            || self.streaming.is_some()
            || self.unlocked.is_some()
    }
}

/// Patroni series the topology query reads (PostgreSQL preset).
pub const PATRONI_SERIES: &str =
    "patroni_(primary|master|replica|standby_leader|postgres_streaming|postgres_running|cluster_unlocked|is_paused)";

impl Evidence {
    /// Records one value of a per-channel metric. Returns `true` when that channel already
    /// had the value (a true duplicate series).
    pub fn record_channel(
        &mut self,
        field: ChannelField,
        channel: &str,
        series_name: Option<&str>,
        master_host: Option<&str>,
        value: f64,
    ) -> bool {
        let i = match self
            .channels
            .iter()
            .position(|c| crate::model::labels::same_text(&c.name, channel))
        {
            Some(i) => i,
            None => {
                self.channels.push(ChannelEvidence {
                    name: channel.to_owned(),
                    ..ChannelEvidence::default()
                });
                self.channels.len() - 1
            }
        };
        let c = &mut self.channels[i];
        if c.naming.is_none() {
            c.naming = series_name.and_then(Naming::of_series);
        }
        if c.master_host.is_none() {
            c.master_host = master_host.filter(|h| !h.is_empty()).map(str::to_owned);
        }
        let slot = match field {
            ChannelField::Lag => &mut c.lag,
            ChannelField::Io => &mut c.io,
            ChannelField::Sql => &mut c.sql,
            ChannelField::SourceServerId => &mut c.source_server_id,
        };
        let dup = slot.is_some();
        *slot = Some(match *slot {
            // The worse of two: the larger lag, the stopped thread.
            Some(old) if field == ChannelField::Lag => old.max(value),
            Some(old) => old.min(value),
            None => value,
        });
        dup
    }

    /// Records one row of a pt-heartbeat table (a lag series with a `server_id` label).
    /// Returns `true` when the host already had a row of that writer (a true duplicate).
    pub fn record_heartbeat(&mut self, writer: u64, lag: f64) -> bool {
        match self.heartbeat.iter_mut().find(|(w, _)| *w == writer) {
            Some((_, old)) => {
                *old = old.max(lag);
                true
            }
            None => {
                self.heartbeat.push((writer, lag));
                false
            }
        }
    }

    /// The age of the heartbeat row this server writes, as its own table shows it: how
    /// fresh its writes are, plus any offset between the clocks pt-heartbeat and the
    /// exporter read (local time against UTC).
    pub fn own_heartbeat_age(&self) -> Option<f64> {
        let own = as_id(self.server_id?);
        self.heartbeat
            .iter()
            .find(|(w, _)| *w == own)
            .map(|(_, v)| *v)
    }

    /// Reads the lag from the pt-heartbeat rows recorded, once the replica-status series
    /// and the server's own `server_id` are known, and returns it. `writer_age` gives, for
    /// a writer's `server_id`, the age of its row on the writer itself
    /// ([`Evidence::own_heartbeat_age`]) when that server is known and the age is more than
    /// pt-heartbeat's own rhythm explains.
    ///
    /// The table on each server holds a row per server that ever ran `pt-heartbeat
    /// --update` on it or upstream, and mysqld_exporter's heartbeat collector exposes them
    /// all. A row stops moving when its writer stops (a former primary after a failover),
    /// so the worst row would show every server of the cluster hours behind. As
    /// `pt-heartbeat --check` does (`--master-server-id`, by default the server's source), a
    /// channel is measured by the row its source writes; several channels each by their
    /// own. A server with no channel (the primary) by the row it writes itself. Failing
    /// those (a source that writes no row, such as an intermediate of a chain), the
    /// freshest row written elsewhere: the top of the chain, whose updates pass through.
    ///
    /// A row's age is then measured against the same row's age on its writer. pt-heartbeat run
    /// without `--utc` beside an exporter reading UTC (or the other way round) offsets every
    /// row by whole hours: a healthy replica read hours behind, or a lagging one read below
    /// zero (and so 0). On the writer the same offset is all the age there is, so the
    /// difference is the replication delay. It also leaves out how long ago the writer last
    /// wrote, so a stopped pt-heartbeat does not read as every replica falling behind.
    pub fn resolve_heartbeat(&mut self, writer_age: impl Fn(u64) -> Option<f64>) -> Option<f64> {
        if self.heartbeat.is_empty() {
            return None;
        }
        let rows: Vec<(u64, f64, f64)> = std::mem::take(&mut self.heartbeat)
            .into_iter()
            .map(|(w, v)| match writer_age(w).filter(|a| a.is_finite()) {
                Some(a) if !v.is_nan() => (w, (v - a).max(0.0), a),
                _ => (w, v, 0.0),
            })
            .collect();
        let of_writer = |w: u64| rows.iter().find(|r| r.0 == w);
        let matched: Vec<(String, (u64, f64, f64))> = self
            .channels
            .iter()
            .filter(|c| !is_group_channel(&c.name))
            .filter_map(|c| {
                let w = as_id(c.source_server_id?);
                of_writer(w).map(|r| (c.name.clone(), *r))
            })
            .collect();
        self.heartbeat_from.clear();
        let replica_channels = self
            .channels
            .iter()
            .filter(|c| c.is_channel() && !is_group_channel(&c.name))
            .count();
        if !matched.is_empty() {
            self.heartbeat_from = matched.iter().map(|m| (m.1 .0, m.1 .2)).collect();
            self.heartbeat_from.sort_unstable_by_key(|r| r.0);
            self.heartbeat_from.dedup_by_key(|r| r.0);
            let worst = matched.iter().map(|m| m.1 .1).reduce(f64::max);
            if matched.len() == replica_channels {
                for (name, (_, v, _)) in &matched {
                    self.record_channel(ChannelField::Lag, name, None, None, *v);
                }
            } else if let Some(v) = worst {
                // A channel from a source that writes no row has no heartbeat lag of its
                // own: the rows found are the host's lag, as one channel-less figure.
                self.record_channel(ChannelField::Lag, "", None, None, v);
            }
            return worst;
        }
        let replica = replica_channels > 0;
        let own = self.server_id.map(as_id);
        let fresher = |a: &&(u64, f64, f64), b: &&(u64, f64, f64)| a.1.total_cmp(&b.1);
        let (w, v, a) = *(!replica)
            .then(|| rows.iter().find(|r| Some(r.0) == own))
            .flatten()
            .or_else(|| rows.iter().filter(|r| Some(r.0) != own).min_by(fresher))
            .or_else(|| rows.iter().min_by(fresher))?;
        self.record_channel(ChannelField::Lag, "", None, None, v);
        self.heartbeat_from.push((w, a));
        Some(v)
    }

    /// Reads one series of the topology query (`{__name__=~"..."}`), by its name.
    pub fn record_topology(
        &mut self,
        name: &str,
        label: &dyn Fn(&str) -> Option<String>,
        value: f64,
    ) {
        let set = |slot: &mut Option<f64>| *slot = Some(value);
        match name {
            "mysql_global_variables_super_read_only" => set(&mut self.super_read_only),
            "mysql_global_variables_read_only" => set(&mut self.read_only),
            "mysql_global_variables_server_id" => set(&mut self.server_id),
            "mysql_slave_status_sql_delay" => self.channel_mut(label).delay = Some(value),
            "mysql_slave_status_last_io_errno" => self.channel_mut(label).io_errno = Some(value),
            "mysql_slave_status_last_sql_errno" => self.channel_mut(label).sql_errno = Some(value),
            "mysql_perf_schema_replication_group_member_info" => {
                let get = |k: &str| label(k).unwrap_or_default();
                self.group_rows.push(GroupRow {
                    member_host: get("member_host"),
                    member_port: get("member_port"),
                    state: get("member_state").to_ascii_uppercase(),
                    role: get("member_role").to_ascii_uppercase(),
                });
            }
            "mysql_perf_schema_transactions_remote_in_applier_queue" => {
                set(&mut self.applier_queue);
            }
            "mysql_global_status_wsrep_local_state" => set(&mut self.wsrep_local_state),
            "mysql_global_status_wsrep_cluster_status" => set(&mut self.wsrep_cluster_status),
            "mysql_global_status_wsrep_ready" => set(&mut self.wsrep_ready),
            "mysql_global_status_wsrep_cluster_size" => set(&mut self.wsrep_cluster_size),
            "mysql_version_info" => {
                if let Some(v) = label("version") {
                    self.version = Some(v);
                }
            }
            "patroni_primary" | "patroni_master" => {
                // Both names on one node (mid-upgrade exporter relabelling): either says leader.
                self.patroni.primary = Some(self.patroni.primary.map_or(value, |v| v.max(value)));
                self.patroni_scope(label);
            }
            "patroni_replica" => {
                set(&mut self.patroni.replica);
                self.patroni_scope(label);
            }
            "patroni_standby_leader" => set(&mut self.patroni.standby_leader),
            "patroni_postgres_streaming" => set(&mut self.patroni.streaming),
            "patroni_cluster_unlocked" => set(&mut self.patroni.unlocked),
            "patroni_is_paused" => set(&mut self.patroni.paused),
            "patroni_postgres_running" => set(&mut self.patroni.running),
            "up" if value < 1.0 => {
                // A target's up passed on by a federating Prometheus keeps its job renamed.
                let job = label("exported_job").or_else(|| label("job"));
                self.targets_down.push(job.unwrap_or_else(|| "?".into()));
            }
            _ => {}
        }
    }

    /// The channel a replica-status series is about, added when first seen.
    fn channel_mut(&mut self, label: &dyn Fn(&str) -> Option<String>) -> &mut ChannelEvidence {
        let ch = label("channel_name")
            .filter(|c| !c.is_empty())
            .or_else(|| label("connection_name").filter(|c| !c.is_empty()))
            .unwrap_or_default();
        let i = match self.channels.iter().position(|c| c.name == ch) {
            Some(i) => i,
            None => {
                self.channels.push(ChannelEvidence {
                    name: ch,
                    ..ChannelEvidence::default()
                });
                self.channels.len() - 1
            }
        };
        &mut self.channels[i]
    }

    fn patroni_scope(&mut self, label: &dyn Fn(&str) -> Option<String>) {
        if self.patroni.scope.is_none() {
            self.patroni.scope = label("scope").filter(|s| !s.is_empty());
        }
    }

    /// Replication channels proper: not Group Replication's, and with a thread or a source.
    pub fn replica_channels(&self) -> impl Iterator<Item = &ChannelEvidence> {
        self.channels
            .iter()
            .filter(|c| !is_group_channel(&c.name) && c.is_channel())
    }

    /// Whether the replica channels are what a switchover or a failover leaves on the new
    /// primary: the server is writable and every replica channel has both threads stopped
    /// (`STOP REPLICA` without `RESET REPLICA ALL`), each one `left` says is a leftover
    /// (its source now replicates from this server, or is gone while others do).
    pub fn left_from_switchover(&self, left: impl Fn(&ChannelEvidence) -> bool) -> bool {
        let writable = writable(self);
        let mut chans = self.replica_channels().peekable();
        writable
            && chans.peek().is_some()
            && chans.all(|c| c.io == Some(0.0) && c.sql == Some(0.0) && left(c))
    }

    /// Sets the replica channels aside as left from a switchover or a failover.
    pub fn set_aside_channels(&mut self, leftovers: Vec<Leftover>) {
        self.channels
            .retain(|c| is_group_channel(&c.name) || !c.is_channel());
        self.stopped_leftovers = leftovers;
    }

    /// The naming generation the host's replica status uses.
    pub fn naming(&self) -> Option<Naming> {
        self.channels.iter().find_map(|c| c.naming)
    }
}

/// The topology query of the preset: every series role detection reads beyond the
/// displayed metrics, in one request; each series keeps its name. `by` is the
/// `cluster, instance` pair of labels.
///
/// Only what can matter comes back, so a large fleet pays about one series per host
/// (`mysql_version_info`): wsrep status only from Galera nodes (Debian's MariaDB reports
/// `wsrep_cluster_status` and friends without Galera), `sql_delay` only where a delay is
/// set, a replication error number only where one is set, Prometheus' `up` only for targets
/// that are down. The Galera branch comes first: `or`
/// drops a later series whose labels (name aside) equal an earlier one's, and on a Galera
/// node the wsrep series share their labels with `super_read_only`.
pub fn topology_expr(sel: &str, by: &str, host_label: &str) -> String {
    let names = [
        "mysql_version_info",
        "mysql_global_variables_super_read_only",
        "mysql_perf_schema_replication_group_member_info",
        "mysql_perf_schema_transactions_remote_in_applier_queue",
    ]
    .join("|");
    format!(
        "({{__name__=~\"mysql_global_status_wsrep_(local_state|cluster_status|ready|cluster_size)\",{sel}}} \
         and on({by}) mysql_global_status_wsrep_local_state{{{sel}}}) \
         or {{__name__=~\"{names}\",{sel}}} \
         or {{__name__=~\"mysql_slave_status_(sql_delay|last_io_errno|last_sql_errno)\",{sel}}} > 0 \
         or up{{{sel}}} == 0 \
         or {}",
        uname_expr(sel, host_label)
    )
}

/// `node_uname_info` of node_exporter targets named by an IP address only: the machine's
/// host name (`nodename`) joins their series to the database host named by its DNS name
/// (see `join::join_short_names`). Targets named by name cost nothing.
pub fn uname_expr(sel: &str, host_label: &str) -> String {
    format!(
        "node_uname_info{{{sel},{host_label}=~\"[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+(:[0-9]+)?|\\\\[[0-9a-fA-F:.]+\\\\](:[0-9]+)?\"}}"
    )
}

/// The machine's host name of `node_uname_info`, the one series of the topology query a
/// database host does not read (see [`uname_expr`]).
pub const UNAME_INFO: &str = "node_uname_info";

/// Why the writable member of a replication ring is its primary.
pub const RING_PRIMARY: Why = "read_only=0 in a replication ring (master-master)";

/// Why a read-only server at the top of a replication chain is its primary.
pub const READ_ONLY_TOP: Why = "read_only=1, source of replicas, no replication channel";

/// Takes writes: `read_only=0` and `super_read_only` off (or not read). `super_read_only=0`
/// says nothing of `read_only`, so it makes a server writable only when `read_only` is
/// not read at all.
pub fn writable(ev: &Evidence) -> bool {
    let off = |v: f64| v < 1.0;
    match (ev.read_only, ev.super_read_only) {
        (Some(ro), sro) => off(ro) && sro.is_none_or(off),
        (None, Some(sro)) => off(sro),
        (None, None) => false,
    }
}

/// Key of the preset's topology query (found by [`Signal::Topology`], not by this key).
pub const TOPOLOGY_KEY: &str = "topology";

/// Which evidence decided a role (shown in the panel and the snapshot).
pub type Why = &'static str;

/// 1. Group Replication: this member's own row of the group table.
pub fn group_replication_role(ev: &Evidence, host: &str) -> Option<(Role, Why)> {
    let writable = writable(ev);
    let Some(me) = own_group_row(ev, host) else {
        // In the group's table, though no row is known to be this host's: a member, its
        // state unknown (see `judge_group`), never an async replica without its series.
        if !ev.group_rows.is_empty() {
            return Some(if writable {
                (Role::GroupPrimary, "group replication member, read_only=0")
            } else {
                (
                    Role::GroupSecondary,
                    "group replication member, read_only=1",
                )
            });
        }
        // No member table (its collector is off), but Group Replication's own channels
        // show in the replica status: a member all the same, never an async replica.
        let group_channels = ev.channels.iter().any(|c| is_group_channel(&c.name));
        return (group_channels && ev.replica_channels().next().is_none()).then_some(if writable {
            (
                Role::GroupPrimary,
                "group_replication channels, read_only=0",
            )
        } else {
            (
                Role::GroupSecondary,
                "group_replication channels, read_only=1",
            )
        });
    };
    Some(if me.role == "PRIMARY" {
        (Role::GroupPrimary, "group replication member_role")
    } else if me.role == "SECONDARY" {
        (Role::GroupSecondary, "group replication member_role")
    } else if writable {
        // 8.0 before 8.0.2 has no member_role: a writable member is the primary.
        (Role::GroupPrimary, "group replication member, read_only=0")
    } else {
        (
            Role::GroupSecondary,
            "group replication member, read_only=1",
        )
    })
}

/// 2. Galera membership: a wsrep provider's local state, or a cluster of some size.
///
/// Debian's MariaDB has wsrep compiled in: without Galera it still reports
/// `wsrep_cluster_status` Disconnected (0), `wsrep_ready` OFF and `wsrep_cluster_size` 0,
/// but no `wsrep_local_state`; that is no Galera node.
pub fn galera_role(ev: &Evidence) -> Option<(Role, Why)> {
    (ev.wsrep_local_state.is_some() || ev.wsrep_cluster_size.is_some_and(|s| s > 0.0))
        .then_some((Role::Galera, "wsrep status"))
}

/// 3. Replica-status series of either naming, outside Group Replication's channels.
pub fn replica_status_role(ev: &Evidence) -> Option<(Role, Why)> {
    ev.replica_channels()
        .next()
        .map(|_| (Role::Replica, "replica status series"))
}

/// 4. `super_read_only` / `read_only`.
pub fn read_only_role(ev: &Evidence) -> Option<(Role, Why)> {
    if ev.super_read_only.is_some_and(|v| v >= 1.0) {
        return Some((Role::Replica, "super_read_only=1"));
    }
    ev.read_only.map(|v| {
        if v >= 1.0 {
            (Role::Replica, "read_only=1")
        } else {
            (Role::Primary, "read_only=0")
        }
    })
}

/// PostgreSQL under Patroni: the cluster manager's own view of the node, stronger than
/// `pg_is_in_recovery()` alone because it also names the standby leader of a standby
/// cluster. A node Patroni calls neither, or whose PostgreSQL is not running (Patroni 3.0
/// then still reports the last role it had), proves nothing.
pub fn patroni_role(ev: &Evidence) -> Option<(Role, Why)> {
    let p = &ev.patroni;
    let on = |v: Option<f64>| v.is_some_and(|v| v >= 1.0);
    if p.running.is_some_and(|v| v < 1.0) {
        return None;
    }
    if on(p.primary) {
        Some((Role::Primary, "patroni: leader (patroni_primary=1)"))
    } else if on(p.standby_leader) {
        Some((
            Role::Replica,
            "patroni: standby leader (patroni_standby_leader=1)",
        ))
    } else if on(p.replica) {
        Some((Role::Replica, "patroni: replica (patroni_replica=1)"))
    } else {
        None
    }
}

/// Patroni's word on a replica's stream: `patroni_postgres_streaming` 1 or 0, `None` when
/// the node is no replica to Patroni or the series is absent (Patroni before 2.1).
pub fn patroni_streaming(ev: &Evidence) -> Option<bool> {
    let p = &ev.patroni;
    let replica = p.replica.is_some_and(|v| v >= 1.0) || p.standby_leader.is_some_and(|v| v >= 1.0);
    p.streaming.filter(|_| replica).map(|v| v >= 1.0)
}

/// 5. Source join: another host of the cluster replicates from this one.
pub fn source_join_role(is_someones_source: bool) -> Option<(Role, Why)> {
    is_someones_source.then_some((Role::Primary, "source of a replica (server_id join)"))
}

/// The role of a host, from the strongest evidence there is.
pub fn detect(ev: &Evidence, host: &str, is_someones_source: bool) -> Option<(Role, Why)> {
    group_replication_role(ev, host)
        .or_else(|| galera_role(ev))
        .or_else(|| patroni_role(ev))
        .or_else(|| replica_status_role(ev))
        .or_else(|| read_only_role(ev))
        .or_else(|| source_join_role(is_someones_source))
}

/// The row of the group table that is the host itself: the one whose `member_host` is the
/// host's name (with or without domain), else the only row (a member outside the group sees
/// only itself), else the one its writability singles out (see [`group_row_by_writes`]).
fn own_group_row<'a>(ev: &'a Evidence, host: &str) -> Option<&'a GroupRow> {
    // The first DNS label of a name; an IP address whole (`10.0.0.5` and `10.0.0.7` share
    // no "short name").
    let short = |h: &str| super::join::short_name(h).unwrap_or(h).to_ascii_lowercase();
    ev.group_rows
        .iter()
        .find(|r| r.member_host.eq_ignore_ascii_case(host))
        .or_else(|| {
            let me = short(host);
            ev.group_rows.iter().find(|r| short(&r.member_host) == me)
        })
        .or_else(|| match ev.group_rows.as_slice() {
            [only] => Some(only),
            _ => group_row_by_writes(ev),
        })
}

/// The host's own row when no `member_host` names it: `MEMBER_HOST` is `report_host` or
/// the machine's host name, and scrape targets are often named otherwise (by address, by a
/// DNS alias, by pod address on Kubernetes). In single-primary mode only the primary takes
/// writes (Group Replication sets `super_read_only` on the secondaries): a writable member
/// is the one PRIMARY row, a read-only one any SECONDARY row, when those rows all share one
/// state. When they differ (a secondary RECOVERING beside an ONLINE one),
/// nothing tells which is this host: `None`.
fn group_row_by_writes(ev: &Evidence) -> Option<&GroupRow> {
    let writable = writable(ev);
    if ev.read_only.is_none() && ev.super_read_only.is_none() {
        return None;
    }
    let mut mine = ev.group_rows.iter().filter(|r| {
        if writable {
            r.role == "PRIMARY"
        } else {
            r.role == "SECONDARY"
        }
    });
    let first = mine.next()?;
    // Multi-primary mode: every member writable and PRIMARY, one row per member.
    mine.all(|r| r.state == first.state).then_some(first)
}

/// Why a Group Replication member known only by its channels is UNKNOWN.
pub const GROUP_MEMBERS_HINT: &str = "group member state unknown: mysqld_exporter needs --collect.perf_schema.replication_group_members (and --collect.perf_schema.replication_group_member_stats for the applier queue)";

/// Group Replication applier backlog, transactions: WARN from here...
pub const APPLIER_QUEUE_WARN: f64 = 1000.0;
/// ...and CRIT from here.
pub const APPLIER_QUEUE_CRIT: f64 = 10_000.0;

/// The member's view of its group, if it is in one.
pub fn group_member(ev: &Evidence, host: &str) -> Option<GroupMember> {
    if ev.group_rows.is_empty() {
        return None;
    }
    let me = own_group_row(ev, host);
    let online = ev.group_rows.iter().filter(|r| r.state == "ONLINE").count();
    let members = ev.group_rows.len();
    Some(GroupMember {
        state: me.map_or_else(|| "?".into(), |r| r.state.clone()),
        role: me.map(|r| r.role.clone()).unwrap_or_default(),
        online,
        members,
        quorum: online * 2 > members,
        applier_queue: ev.applier_queue,
    })
}

/// Health of a group member: not ONLINE is a problem, no quorum is critical.
pub fn judge_group(g: &GroupMember) -> Vec<(Health, String)> {
    let mut out = Vec::new();
    if !g.quorum {
        out.push((
            Health::Crit,
            format!(
                "group replication: no quorum ({} of {} members ONLINE)",
                g.online, g.members
            ),
        ));
    }
    match g.state.as_str() {
        "ONLINE" => {}
        "RECOVERING" => out.push((Health::Warn, "group member RECOVERING".into())),
        "?" => out.push((
            Health::Unknown,
            "group member state unknown: no row of the group table names this host (MEMBER_HOST is report_host, else the machine's host name: set report_host to the name Prometheus gives the host)".into(),
        )),
        s => out.push((Health::Crit, format!("group member {s}"))),
    }
    if let Some(q) = g.applier_queue {
        if q >= APPLIER_QUEUE_CRIT {
            out.push((
                Health::Crit,
                format!("group applier queue {q:.0} transactions"),
            ));
        } else if q >= APPLIER_QUEUE_WARN {
            out.push((
                Health::Warn,
                format!("group applier queue {q:.0} transactions"),
            ));
        }
    }
    out
}

/// A Galera node's state for the host panel and topology, when the evidence shows one.
pub fn galera_node(ev: &Evidence) -> Option<GaleraNode> {
    galera_role(ev)?;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let local_state = ev
        .wsrep_local_state
        .filter(|v| v.is_finite() && *v >= 0.0 && *v < 256.0)
        .map(|v| v as u8);
    Some(GaleraNode {
        local_state,
        state_name: match local_state {
            Some(0) => "Initialized",
            Some(1) => "Joining",
            Some(2) => "Donor/Desynced",
            Some(3) => "Joined",
            Some(4) => "Synced",
            Some(_) => "unknown state",
            None => "no state",
        },
        primary_component: ev.wsrep_cluster_status.map(|v| v >= 1.0),
        ready: ev.wsrep_ready.map(|v| v >= 1.0),
        cluster_size: ev.wsrep_cluster_size,
    })
}

/// Health of a Galera node: not Synced is a warning, outside the primary component or not
/// ready is critical.
pub fn judge_galera(n: &GaleraNode) -> Vec<(Health, String)> {
    let mut out = Vec::new();
    if n.primary_component == Some(false) {
        out.push((
            Health::Crit,
            "galera: not in the primary component (wsrep_cluster_status non-Primary)".into(),
        ));
    }
    if n.ready == Some(false) {
        out.push((Health::Crit, "galera: wsrep_ready OFF".into()));
    }
    if n.local_state != Some(4) {
        out.push((Health::Warn, format!("galera node {}", n.state_name)));
    }
    out
}

/// A replication error number (`Last_IO_Errno`, `Last_SQL_Errno`) in words, for a stopped
/// thread's reason: ` (error 1062: …)`. The meanings are MySQL's and MariaDB's server and
/// client error references; a number not listed is given as it is.
pub fn replication_error(errno: f64) -> String {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let n = errno as u32;
    let meaning = match n {
        1045 => Some("access denied to the replication user"),
        1032 => Some("row not found: the replica's data differs from the source's"),
        1062 => Some("duplicate key: the replica's data differs from the source's"),
        1146 => Some("table missing on the replica"),
        // "Got fatal error 1236 from source when reading data from binary log": most often
        // logs purged on the source; also a second replica with the same server_uuid.
        1236 | 13114 => Some(
            "the source cannot send the binary log it needs: purged on the source, or another replica with the same server_uuid",
        ),
        1593 => Some("fatal replication error: often the same server_id or server_uuid as the source"),
        1594 | 13121 => Some("relay log unreadable"),
        2003 => Some("cannot connect to the source"),
        2005 => Some("the source's host name does not resolve"),
        2013 => Some("connection to the source lost"),
        2061 => Some(
            "caching_sha2_password needs a secure connection (SOURCE_SSL=1 or GET_SOURCE_PUBLIC_KEY=1)",
        ),
        _ => None,
    };
    match meaning {
        Some(m) => format!(" (error {n}: {m})"),
        None => format!(" (error {n})"),
    }
}

/// What to do when a replica shows no replica-status series: the collector flag and the
/// grant its server version needs.
pub fn replica_status_hint(version: Option<&str>) -> &'static str {
    let Some(v) = version else {
        return "replication status unknown: no replica-status series (mysqld_exporter needs --collect.slave_status; grant REPLICATION CLIENT on MySQL, SLAVE MONITOR on MariaDB ≥ 10.5.9)";
    };
    if v.to_ascii_lowercase().contains("mariadb") {
        return "replication status unknown: no replica-status series (MariaDB: mysqld_exporter needs --collect.slave_status and the SLAVE MONITOR grant, alias REPLICA MONITOR; REPLICATION CLIENT no longer covers SHOW SLAVE STATUS since 10.5.9)";
    }
    let mut nums = v
        .split(|c: char| !c.is_ascii_digit())
        .map(str::parse::<u32>);
    let (major, minor) = (
        nums.next().and_then(Result::ok).unwrap_or(0),
        nums.next().and_then(Result::ok).unwrap_or(0),
    );
    if (major, minor) >= (8, 4) {
        "replication status unknown: no replica-status series (MySQL 8.4+: SHOW SLAVE STATUS is gone, mysqld_exporter ≥ 0.16 reads SHOW REPLICA STATUS; it needs --collect.slave_status and the REPLICATION CLIENT grant)"
    } else {
        "replication status unknown: no replica-status series (MySQL: mysqld_exporter needs --collect.slave_status and the REPLICATION CLIENT grant)"
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn ev_ro(ro: f64) -> Evidence {
        Evidence {
            read_only: Some(ro),
            ..Evidence::default()
        }
    }

    #[test]
    fn naming_of_series_names() {
        use Naming::{MasterSlave, SourceReplica};
        let cases = [
            (
                "mysql_slave_status_seconds_behind_master",
                Some(MasterSlave),
            ),
            ("mysql_slave_status_slave_io_running", Some(MasterSlave)),
            ("mysql_slave_status_master_server_id", Some(MasterSlave)),
            (
                "mysql_slave_status_seconds_behind_source",
                Some(SourceReplica),
            ),
            (
                "mysql_slave_status_replica_sql_running",
                Some(SourceReplica),
            ),
            ("mysql_slave_status_source_server_id", Some(SourceReplica)),
            ("mysql_slave_status_sql_delay", None),
            ("mysql_heartbeat_now_timestamp_seconds", None),
        ];
        for (n, want) in cases {
            assert_eq!(Naming::of_series(n), want, "{n}");
        }
    }

    #[test]
    fn evidence_order() {
        // read_only alone
        assert_eq!(
            detect(&ev_ro(0.0), "db1", false).map(|r| r.0),
            Some(Role::Primary)
        );
        assert_eq!(
            detect(&ev_ro(1.0), "db1", false).map(|r| r.0),
            Some(Role::Replica)
        );
        // a replica channel beats read_only=0 (IO stopped, read_only never set)
        let mut ev = ev_ro(0.0);
        ev.record_channel(
            ChannelField::Io,
            "",
            Some("mysql_slave_status_replica_io_running"),
            None,
            0.0,
        );
        assert_eq!(detect(&ev, "db5", false).map(|r| r.0), Some(Role::Replica));
        assert_eq!(ev.naming(), Some(Naming::SourceReplica));
        // a lag value alone (pt-heartbeat on the primary) is no channel
        let mut ev = ev_ro(0.0);
        ev.record_channel(ChannelField::Lag, "", None, None, 0.4);
        assert_eq!(detect(&ev, "db1", false).map(|r| r.0), Some(Role::Primary));
        // Group Replication channels make no replica; the member row decides
        let mut ev = ev_ro(1.0);
        ev.record_channel(
            ChannelField::Io,
            "group_replication_applier",
            Some("mysql_slave_status_replica_io_running"),
            None,
            0.0,
        );
        ev.group_rows = vec![
            GroupRow {
                member_host: "gr1".into(),
                member_port: "3306".into(),
                state: "ONLINE".into(),
                role: "PRIMARY".into(),
            },
            GroupRow {
                member_host: "gr2.example.com".into(),
                member_port: "3306".into(),
                state: "ONLINE".into(),
                role: "SECONDARY".into(),
            },
        ];
        assert_eq!(
            detect(&ev, "gr2", false).map(|r| r.0),
            Some(Role::GroupSecondary)
        );
        assert_eq!(
            detect(&ev, "gr1", false).map(|r| r.0),
            Some(Role::GroupPrimary)
        );
        // without the member table, the group channels still make a member
        ev.group_rows.clear();
        assert_eq!(
            detect(&ev, "gr2", false).map(|r| r.0),
            Some(Role::GroupSecondary)
        );
        // wsrep compiled in but no provider (plain MariaDB): no Galera node
        let mut ev = ev_ro(0.0);
        ev.wsrep_cluster_status = Some(0.0);
        ev.wsrep_ready = Some(0.0);
        ev.wsrep_cluster_size = Some(0.0);
        assert_eq!(detect(&ev, "db1", false).map(|r| r.0), Some(Role::Primary));
        assert!(galera_node(&ev).is_none());
        // Galera beats read_only
        let mut ev = ev_ro(0.0);
        ev.wsrep_local_state = Some(4.0);
        assert_eq!(detect(&ev, "g1", false).map(|r| r.0), Some(Role::Galera));
        // only the join speaks
        assert_eq!(
            detect(&Evidence::default(), "x", true).map(|r| r.0),
            Some(Role::Primary)
        );
        assert_eq!(detect(&Evidence::default(), "x", false), None);
    }

    #[test]
    fn group_health() {
        let row = |h: &str, s: &str, r: &str| GroupRow {
            member_host: h.into(),
            member_port: "3306".into(),
            state: s.into(),
            role: r.into(),
        };
        let mut ev = Evidence {
            group_rows: vec![
                row("gr1", "ONLINE", "PRIMARY"),
                row("gr2", "ONLINE", "SECONDARY"),
                row("gr3", "ONLINE", "SECONDARY"),
            ],
            applier_queue: Some(3.0),
            ..Evidence::default()
        };
        let g = group_member(&ev, "gr2").unwrap();
        assert!(g.quorum);
        assert!(judge_group(&g).is_empty());
        // gr3 recovering as seen by itself
        ev.group_rows[2].state = "RECOVERING".into();
        let g = group_member(&ev, "gr3").unwrap();
        assert_eq!(judge_group(&g)[0].0, Health::Warn);
        // a partitioned member: it sees the others UNREACHABLE
        ev.group_rows[0].state = "UNREACHABLE".into();
        ev.group_rows[1].state = "UNREACHABLE".into();
        ev.group_rows[2].state = "ONLINE".into();
        let g = group_member(&ev, "gr3").unwrap();
        assert!(!g.quorum);
        let j = judge_group(&g);
        assert_eq!(j[0].0, Health::Crit);
        assert!(j[0].1.contains("no quorum"), "{j:?}");
        // backlog
        ev.group_rows
            .iter_mut()
            .for_each(|r| r.state = "ONLINE".into());
        ev.applier_queue = Some(25_000.0);
        let g = group_member(&ev, "gr3").unwrap();
        assert_eq!(judge_group(&g)[0].0, Health::Crit);
    }

    #[test]
    fn a_member_finds_its_own_row_by_address_or_name() {
        let row = |h: &str, r: &str| GroupRow {
            member_host: h.into(),
            member_port: "3306".into(),
            state: "ONLINE".into(),
            role: r.into(),
        };
        let ev = |rows: Vec<GroupRow>| Evidence {
            group_rows: rows,
            ..Evidence::default()
        };
        // Hosts named by address: 10.0.0.5 and 10.0.0.7 share no short name.
        let by_ip = ev(vec![
            row("10.0.0.5", "PRIMARY"),
            row("10.0.0.7", "SECONDARY"),
        ]);
        let role = |e: &Evidence, h: &str| group_replication_role(e, h).map(|r| r.0);
        assert_eq!(role(&by_ip, "10.0.0.7"), Some(Role::GroupSecondary));
        assert_eq!(role(&by_ip, "10.0.0.5"), Some(Role::GroupPrimary));
        // The group knows the members fully qualified, the board by short name, and the
        // other way round.
        let fqdn = ev(vec![
            row("gr1.db.example.com", "PRIMARY"),
            row("gr2.db.example.com", "SECONDARY"),
        ]);
        assert_eq!(role(&fqdn, "gr2"), Some(Role::GroupSecondary));
        let short = ev(vec![row("gr1", "PRIMARY"), row("gr2", "SECONDARY")]);
        assert_eq!(
            role(&short, "GR2.db.example.com"),
            Some(Role::GroupSecondary)
        );
        // The whole name wins over a short name another member shares.
        let both = ev(vec![
            row("gr1.dc1.example.com", "PRIMARY"),
            row("gr1", "SECONDARY"),
        ]);
        assert_eq!(role(&both, "gr1"), Some(Role::GroupSecondary));
    }

    #[test]
    fn a_member_no_row_names_is_known_by_its_writes_when_the_rows_agree() {
        // MEMBER_HOST is the machine's host name; Prometheus names the targets by address.
        let row = |h: &str, s: &str, r: &str| GroupRow {
            member_host: h.into(),
            member_port: "3306".into(),
            state: s.into(),
            role: r.into(),
        };
        let ev = |rows: Vec<GroupRow>, ro: f64, sro: Option<f64>| Evidence {
            group_rows: rows,
            read_only: Some(ro),
            super_read_only: sro,
            ..Evidence::default()
        };
        let online = vec![
            row("srv0411", "ONLINE", "PRIMARY"),
            row("srv0412", "ONLINE", "SECONDARY"),
            row("srv0413", "ONLINE", "SECONDARY"),
        ];
        let primary = ev(online.clone(), 0.0, Some(0.0));
        let secondary = ev(online.clone(), 1.0, Some(1.0));
        let role = |e: &Evidence| group_replication_role(e, "10.0.0.12").map(|r| r.0);
        assert_eq!(role(&primary), Some(Role::GroupPrimary));
        assert_eq!(role(&secondary), Some(Role::GroupSecondary));
        for e in [&primary, &secondary] {
            let g = group_member(e, "10.0.0.12").unwrap();
            assert_eq!(g.state, "ONLINE");
            assert!(judge_group(&g).is_empty(), "{:?}", judge_group(&g));
        }
        // One secondary RECOVERING: which of the two this one is cannot be told.
        let mut rows = online.clone();
        rows[2].state = "RECOVERING".into();
        let unsure = ev(rows.clone(), 1.0, Some(1.0));
        assert_eq!(role(&unsure), Some(Role::GroupSecondary));
        let g = group_member(&unsure, "10.0.0.12").unwrap();
        let j = judge_group(&g);
        assert_eq!(j[0].0, Health::Unknown, "{j:?}");
        assert!(j[0].1.contains("report_host"), "{j:?}");
        // The primary is still its one PRIMARY row.
        let g = group_member(&ev(rows, 0.0, Some(0.0)), "10.0.0.12").unwrap();
        assert_eq!(g.state, "ONLINE");
        // Without read_only, nothing singles a row out.
        let blind = Evidence {
            group_rows: online,
            ..Evidence::default()
        };
        assert_eq!(group_member(&blind, "10.0.0.12").unwrap().state, "?");
    }

    #[test]
    fn galera_health() {
        let mut ev = Evidence {
            wsrep_local_state: Some(4.0),
            wsrep_cluster_status: Some(1.0),
            wsrep_ready: Some(1.0),
            wsrep_cluster_size: Some(3.0),
            ..Evidence::default()
        };
        assert!(judge_galera(&galera_node(&ev).unwrap()).is_empty());
        ev.wsrep_local_state = Some(2.0);
        let j = judge_galera(&galera_node(&ev).unwrap());
        assert_eq!(
            j,
            vec![(Health::Warn, "galera node Donor/Desynced".to_string())]
        );
        ev.wsrep_cluster_status = Some(0.0);
        ev.wsrep_ready = Some(0.0);
        let j = judge_galera(&galera_node(&ev).unwrap());
        assert_eq!(j.iter().filter(|x| x.0 == Health::Crit).count(), 2);
    }

    #[test]
    fn hints_name_the_grant_of_the_version() {
        assert!(
            replica_status_hint(Some("10.11.19-MariaDB-0+deb12u1-log")).contains("SLAVE MONITOR")
        );
        assert!(replica_status_hint(Some("8.4.3")).contains("0.16"));
        assert!(replica_status_hint(Some("8.4.3")).contains("REPLICATION CLIENT"));
        assert!(!replica_status_hint(Some("8.0.36")).contains("0.16"));
        assert!(replica_status_hint(None).contains("SLAVE MONITOR"));
    }

    #[test]
    fn delay_is_subtracted_and_never_negative() {
        let c = ChannelEvidence {
            lag: Some(3605.0),
            delay: Some(3600.0),
            ..ChannelEvidence::default()
        };
        assert_eq!(c.behind(), Some(5.0));
        let c = ChannelEvidence {
            lag: Some(30.0),
            delay: Some(3600.0),
            ..ChannelEvidence::default()
        };
        assert_eq!(c.behind(), Some(0.0));
        let c = ChannelEvidence {
            lag: None,
            delay: Some(3600.0),
            sql: Some(0.0),
            ..ChannelEvidence::default()
        };
        assert_eq!(c.behind(), None);
        assert!(c.thread_stopped());
    }

    #[test]
    fn patroni_roles_and_the_last_role_of_a_stopped_server() {
        let mut ev = Evidence::default();
        let none = |_: &str| None;
        ev.record_topology("patroni_master", &none, 1.0);
        ev.record_topology("patroni_replica", &none, 0.0);
        assert_eq!(patroni_role(&ev).map(|r| r.0), Some(Role::Primary));
        // the server is stopped: Patroni 3.0 keeps saying "primary", which proves nothing
        ev.record_topology("patroni_postgres_running", &none, 0.0);
        assert_eq!(patroni_role(&ev), None);
        let mut ev = Evidence::default();
        ev.record_topology("patroni_standby_leader", &none, 1.0);
        assert_eq!(patroni_role(&ev).map(|r| r.0), Some(Role::Replica));
        // no streaming series (Patroni 3.0.2 has none): no word on streaming
        assert_eq!(patroni_streaming(&ev), None);
        ev.record_topology("patroni_postgres_streaming", &none, 0.0);
        assert_eq!(patroni_streaming(&ev), Some(false));
        // detect() puts Patroni before read_only
        ev.read_only = Some(0.0);
        assert_eq!(detect(&ev, "pg1", false).map(|r| r.0), Some(Role::Replica));
    }
}
