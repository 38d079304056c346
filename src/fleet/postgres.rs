//! PostgreSQL roles and replication, from postgres_exporter's series. One function per kind
//! of evidence; [`judge`] combines them.
//!
//! `pg_replication_lag_seconds` cannot tell a healthy replica from a broken one: it is 0 on a
//! primary and 0 on any replica that replayed everything it received, including one cut off
//! from its primary. So a replica is judged streaming only from what sees the stream itself:
//! - its WAL receiver (`pg_stat_wal_receiver_*{status}`, the `streaming` metric), and
//! - the walsender rows of its upstream (`pg_stat_replication_*{application_name,
//!   client_addr, state}`, the `walsenders` metric), matched by application name or address.
//!
//! Either one saying "not streaming" makes the replica CRIT and its lag unknown.

use crate::model::Vector;
use crate::model::{Identity, Role};

/// One row of `pg_stat_replication` on some server.
#[derive(Debug, Clone, PartialEq)]
pub struct Walsender {
    /// The sender's cluster.
    pub cluster: String,
    /// The sending server (a primary, or a replica that cascades).
    pub sender: String,
    /// The standby's `application_name` (its `primary_conninfo`), which names a host when
    /// set to one; `None` when the exporter gave none or an empty one.
    pub application_name: Option<String>,
    /// The standby's address as the sender sees it.
    pub client_addr: Option<String>,
    /// The walsender's state (`streaming`, `catchup`, `startup`, `backup`, `stopping`).
    pub state: Option<String>,
    /// Bytes the replica's replay is behind the sender (NaN when the exporter has none).
    pub behind_bytes: f64,
}

/// What one kind of evidence says about a replica's stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Evidence {
    /// The stream is up.
    Streaming,
    /// The stream is down, and why (shown as the host's reason).
    NotStreaming(&'static str),
    /// This evidence is not available (collector off, names that match no host).
    Unknown,
}

/// A replica's replication as judged from all evidence.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Verdict {
    /// `Some(false)`: not streaming; `None`: nothing could tell.
    pub streaming: Option<bool>,
    /// Why it is not streaming, or why it cannot be told.
    pub why: Option<&'static str>,
    /// The upstream server's host name, when a walsender row names this replica.
    pub source: Option<String>,
    /// Bytes behind, from the upstream's row.
    pub behind_bytes: Option<f64>,
}

/// Role from `pg_replication_is_replica` (or `pg_settings_in_hot_standby`): the only
/// series that says it. Lag series exist on primaries too, so they prove nothing.
pub fn role(is_replica: Option<f64>) -> Option<Role> {
    is_replica.map(|v| {
        if v >= 1.0 {
            Role::Replica
        } else {
            Role::Primary
        }
    })
}

/// The walsender rows of every server, from the `walsenders` metric's answer.
pub fn walsenders<'a>(
    v: &'a Vector,
    ident: &Identity,
    host_name: impl Fn(&str, &'a str) -> &'a str,
) -> Vec<Walsender> {
    let non_empty = |s: Option<&str>| s.filter(|x| !x.is_empty()).map(str::to_owned);
    v.iter()
        .filter_map(|s| {
            let (cluster, raw) = ident.key_raw_of(s.labels())?;
            let sender = host_name(cluster, raw);
            Some(Walsender {
                cluster: cluster.to_owned(),
                sender: sender.to_owned(),
                application_name: non_empty(s.label("application_name")),
                client_addr: non_empty(s.label("client_addr")),
                state: non_empty(s.label("state")),
                behind_bytes: s.value(),
            })
        })
        .collect()
}

/// Evidence of the replica's own WAL receiver: the `streaming` metric is 1 while it streams,
/// 0 when it reports another status (or none while the collector ran), absent when the
/// exporter does not collect it. A receiver seen in the previous refresh and gone now has
/// stopped (a replica cut from its primary loses it).
pub fn receiver(value: Option<f64>, seen_before: bool) -> Evidence {
    match value {
        Some(v) if v >= 1.0 => Evidence::Streaming,
        Some(_) => Evidence::NotStreaming("not streaming: WAL receiver not streaming"),
        None if seen_before => Evidence::NotStreaming("not streaming: WAL receiver gone"),
        None => Evidence::Unknown,
    }
}

/// Evidence of the upstream's walsenders for replica `name` of `cluster`.
///
/// A row names a replica by `application_name` (PostgreSQL uses the replica's
/// `cluster_name`, or what its `primary_conninfo` sets) or by `client_addr`. When rows of the
/// cluster name no host at all (every replica left at the default `walreceiver`), nothing
/// can be told. `senders_reporting`: some server of the cluster that can send (an up primary)
/// answered. A missing row is evidence only then, and only when the cluster has rows at all:
/// a cluster without any may run an exporter that does not collect them.
pub fn upstream<'a>(
    name: &str,
    cluster: &str,
    rows: &'a [Walsender],
    cluster_hosts: &[&str],
    senders_reporting: bool,
) -> (Evidence, Option<&'a Walsender>) {
    let names = |w: &Walsender, h: &str| {
        w.application_name.as_deref() == Some(h) || w.client_addr.as_deref() == Some(h)
    };
    let in_cluster = || rows.iter().filter(|w| w.cluster == cluster);
    let mine: Vec<&Walsender> = in_cluster().filter(|w| names(w, name)).collect();
    if let Some(w) = mine
        .iter()
        .find(|w| w.state.as_deref() == Some("streaming"))
        .or_else(|| mine.first())
    {
        return if w.state.as_deref() == Some("streaming") {
            (Evidence::Streaming, Some(w))
        } else {
            (
                Evidence::NotStreaming("not streaming: its walsender is not in state streaming"),
                Some(w),
            )
        };
    }
    let anonymous = in_cluster().any(|w| !cluster_hosts.iter().any(|h| names(w, h)));
    if anonymous || !senders_reporting || in_cluster().next().is_none() {
        return (Evidence::Unknown, None);
    }
    (
        Evidence::NotStreaming("not streaming: no walsender on its upstream streams to it"),
        None,
    )
}

/// Why a replica's stream cannot be judged: every kind of evidence is missing.
pub const UNKNOWN_WHY: &str =
    "unknown: no WAL receiver series (postgres_exporter --collector.stat_wal_receiver) \
     and no walsender row naming it (set application_name to the host name)";

/// Combines the evidence (the replica's receiver, its upstream's walsenders, Patroni's
/// `postgres_streaming`): any "not streaming" wins, in that order; a replica nothing can
/// judge is unknown.
pub fn judge(evidence: &[&Evidence], row: Option<&Walsender>) -> Verdict {
    let source = row.map(|w| w.sender.clone());
    let behind_bytes = row.map(|w| w.behind_bytes).filter(|b| b.is_finite());
    let not = evidence.iter().find_map(|e| match e {
        Evidence::NotStreaming(w) => Some(*w),
        _ => None,
    });
    let (streaming, why) = match not {
        Some(w) => (Some(false), Some(w)),
        None if evidence.iter().any(|e| **e == Evidence::Streaming) => (Some(true), None),
        None => (None, Some(UNKNOWN_WHY)),
    };
    Verdict {
        streaming,
        why,
        source,
        behind_bytes,
    }
}

/// Whether the replica has replayed everything its upstream sent: streaming, and its
/// walsender row (`pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)`) is 0 bytes behind.
///
/// Then a time lag above zero is no delay. postgres_exporter's `pg_replication_lag` of
/// 0.11 and older (`now() - pg_last_xact_replay_timestamp()`, still in many custom
/// queries.yaml) is the time since the last transaction the replica replayed: it grows
/// without end on a replica of an idle primary. 0.13+ reads 0 there (it compares the
/// received and replayed positions first).
pub fn caught_up(v: &Verdict) -> bool {
    v.streaming == Some(true) && v.behind_bytes.is_some_and(|b| b <= 0.0)
}

/// Why a caught-up replica's lag reads 0 (see [`caught_up`]).
pub const CAUGHT_UP_NOTE: &str = "caught up: 0 bytes behind its upstream; the exporter's \
     figure is the time since the last replayed transaction (an idle primary)";

/// Lag to judge against thresholds: the intended delay (`recovery_min_apply_delay`) is not
/// a problem, only what comes on top of it.
pub fn lag_beyond_delay(lag: f64, delay: Option<f64>) -> f64 {
    match delay {
        Some(d) if d > 0.0 && d.is_finite() => (lag - d).max(0.0),
        _ => lag,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(sender: &str, app: &str, state: &str) -> Walsender {
        Walsender {
            cluster: "ledger".into(),
            sender: sender.into(),
            application_name: Some(app.into()),
            client_addr: Some("127.0.0.1".into()),
            state: Some(state.into()),
            behind_bytes: 0.0,
        }
    }

    #[test]
    fn role_comes_from_is_replica_only() {
        assert_eq!(role(Some(0.0)), Some(Role::Primary));
        assert_eq!(role(Some(1.0)), Some(Role::Replica));
        assert_eq!(role(None), None);
    }

    #[test]
    fn receiver_evidence() {
        assert_eq!(receiver(Some(1.0), false), Evidence::Streaming);
        assert!(matches!(
            receiver(Some(0.0), true),
            Evidence::NotStreaming(_)
        ));
        assert!(matches!(receiver(None, true), Evidence::NotStreaming(_)));
        assert_eq!(receiver(None, false), Evidence::Unknown);
    }

    #[test]
    fn upstream_rows_by_application_name() {
        let hosts = ["pg1", "pg2", "pg3"];
        let rows = vec![row("pg1", "pg2", "streaming"), row("pg1", "pg3", "catchup")];
        let (e, r) = upstream("pg2", "ledger", &rows, &hosts, true);
        assert_eq!(e, Evidence::Streaming);
        assert_eq!(r.map(|r| r.sender.as_str()), Some("pg1"));
        assert!(matches!(
            upstream("pg3", "ledger", &rows, &hosts, true).0,
            Evidence::NotStreaming(_)
        ));
        // pg3's row gone (cut off): the primary reports, so that is evidence
        let rows = vec![row("pg1", "pg2", "streaming")];
        assert!(matches!(
            upstream("pg3", "ledger", &rows, &hosts, true).0,
            Evidence::NotStreaming(_)
        ));
        // no primary reporting: nothing to tell
        assert_eq!(
            upstream("pg3", "ledger", &rows, &hosts, false).0,
            Evidence::Unknown
        );
        // another cluster's rows say nothing
        assert_eq!(
            upstream("pg3", "other", &rows, &["pg3"], true).0,
            Evidence::Unknown
        );
        // no rows in the cluster at all: the exporter may not collect them
        assert_eq!(
            upstream("pg3", "ledger", &[], &hosts, true).0,
            Evidence::Unknown
        );
    }

    #[test]
    fn rows_that_name_no_host_tell_nothing() {
        // every replica left at the default application_name: a missing row is no proof
        let hosts = ["pg1", "pg2", "pg3"];
        let mut r = row("pg1", "walreceiver", "streaming");
        r.client_addr = Some("10.0.0.7".into());
        assert_eq!(
            upstream("pg3", "ledger", &[r], &hosts, true).0,
            Evidence::Unknown
        );
    }

    #[test]
    fn cascading_row_names_its_sender() {
        let hosts = ["pg1", "pg2", "pg4"];
        let rows = vec![
            row("pg1", "pg2", "streaming"),
            row("pg2", "pg4", "streaming"),
        ];
        let (e, r) = upstream("pg4", "ledger", &rows, &hosts, true);
        assert_eq!(e, Evidence::Streaming);
        assert_eq!(r.map(|r| r.sender.as_str()), Some("pg2"));
    }

    #[test]
    fn any_not_streaming_wins() {
        let no = Evidence::NotStreaming("x");
        let (yes, unknown) = (Evidence::Streaming, Evidence::Unknown);
        assert_eq!(judge(&[&yes, &no], None).streaming, Some(false));
        assert_eq!(judge(&[&no, &yes], None).streaming, Some(false));
        assert_eq!(judge(&[&unknown, &yes], None).streaming, Some(true));
        // Patroni's word alone decides when the exporter has no receiver series
        assert_eq!(
            judge(&[&unknown, &unknown, &no], None).streaming,
            Some(false)
        );
        let v = judge(&[&unknown, &unknown, &unknown], None);
        assert_eq!(v.streaming, None);
        assert!(v.why.is_some());
    }

    #[test]
    fn intended_delay_is_not_lag() {
        assert_eq!(lag_beyond_delay(3605.0, Some(3600.0)), 5.0);
        assert_eq!(lag_beyond_delay(10.0, Some(3600.0)), 0.0);
        assert_eq!(lag_beyond_delay(10.0, None), 10.0);
        assert_eq!(lag_beyond_delay(10.0, Some(f64::NAN)), 10.0);
    }
}
