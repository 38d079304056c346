//! A cluster as a replication tree, from the roles and sources the fleet already joined
//! (`master_server_id` to `server_id`, or `master_host`): primaries at the root, their
//! replicas under them, cascaded replicas under those; a multi-source replica under its
//! first source with one row per channel; Group Replication members and Galera nodes
//! under a row for their group. A replica whose source is not on the board hangs under a
//! row that says so, never under a guessed primary.

use crate::model::{Host, Role};

/// One row of the tree, in display order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeRow {
    /// 0 for a root.
    pub depth: usize,
    /// What the row shows.
    pub item: TreeItem,
}

/// What a row of the tree stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeItem {
    /// A host: its index in the slice given to [`cluster_tree`].
    Host(usize),
    /// The source of the replicas under it is not on the board: its name as the
    /// replica reports it, or `None` when the replica reports none that resolves.
    MissingSource(Option<String>),
    /// One replication channel of a multi-source replica: host index, channel index in
    /// its `replication.channels`.
    Channel(usize, usize),
    /// The members under it form a Group Replication group.
    Group,
    /// The nodes under it form a Galera cluster.
    Galera,
}

/// The replication tree of the hosts of `cluster` in `hosts`.
pub fn cluster_tree(hosts: &[Host], cluster: &str) -> Vec<TreeRow> {
    let members: Vec<usize> = (0..hosts.len())
        .filter(|&i| hosts[i].id.cluster == cluster)
        .collect();
    let find = |name: &str| {
        members
            .iter()
            .copied()
            .find(|&j| hosts[j].id.name == name || strip_port(&hosts[j].id.name) == name)
    };
    // The parent of each member, when its source is a member too.
    let mut parent: Vec<Option<usize>> = vec![None; hosts.len()];
    let mut missing: Vec<(Option<String>, usize)> = Vec::new();
    let is_group = |h: &Host| matches!(h.role, Role::GroupPrimary | Role::GroupSecondary);
    for &i in &members {
        let h = &hosts[i];
        // A multi-source replica names its sources per channel: the first that resolves
        // places it in the tree, its channel rows name the others.
        let src = h.replication.as_ref().and_then(|r| {
            r.source.as_deref().or_else(|| {
                r.channels
                    .iter()
                    .filter_map(|c| c.source.as_deref())
                    .find(|s| find(s).or_else(|| find(strip_port(s))).is_some())
                    .or_else(|| r.channels.iter().find_map(|c| c.source.as_deref()))
            })
        });
        // Group members and Galera nodes hang under their group row. A primary is a root
        // even with a source: the writable member of a replication ring (master-master).
        if (src.is_none() && (is_group(h) || h.role == Role::Galera)) || h.role == Role::Primary {
            continue;
        }
        match src {
            Some(s) => match find(s).or_else(|| find(strip_port(s))) {
                Some(p) if p != i => parent[i] = Some(p),
                _ => missing.push((Some(s.to_string()), i)),
            },
            None if h.role == Role::Replica => missing.push((None, i)),
            None => {}
        }
    }
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); hosts.len()];
    for &i in &members {
        if let Some(p) = parent[i] {
            children[p].push(i);
        }
    }
    // Children and roots keep the fleet's order (by name within the cluster).
    let mut rows = Vec::new();
    let mut seen = vec![false; hosts.len()];
    let mut roots: Vec<usize> = members
        .iter()
        .copied()
        .filter(|&i| parent[i].is_none() && !missing.iter().any(|(_, m)| *m == i))
        .collect();
    // Primaries first, then hosts of unknown role.
    roots.sort_by_key(|&i| hosts[i].role != Role::Primary);
    let (group, rest): (Vec<usize>, Vec<usize>) =
        roots.into_iter().partition(|&i| is_group(&hosts[i]));
    let (galera, rest): (Vec<usize>, Vec<usize>) = rest
        .into_iter()
        .partition(|&i| hosts[i].role == Role::Galera);
    for r in rest {
        walk(hosts, r, 0, &children, &mut seen, &mut rows);
    }
    for (kind, mut nodes) in [(TreeItem::Group, group), (TreeItem::Galera, galera)] {
        if nodes.is_empty() {
            continue;
        }
        nodes.sort_by_key(|&i| hosts[i].role != Role::GroupPrimary);
        rows.push(TreeRow {
            depth: 0,
            item: kind,
        });
        for n in nodes {
            walk(hosts, n, 1, &children, &mut seen, &mut rows);
        }
    }
    // Replicas whose source is not on the board, grouped by that source.
    missing.sort_by(|a, b| a.0.cmp(&b.0));
    let mut last: Option<&Option<String>> = None;
    for (src, i) in &missing {
        if last != Some(src) {
            rows.push(TreeRow {
                depth: 0,
                item: TreeItem::MissingSource(src.clone()),
            });
            last = Some(src);
        }
        walk(hosts, *i, 1, &children, &mut seen, &mut rows);
    }
    // Hosts only reachable through a cycle (circular replication): each once, as roots.
    for &i in &members {
        if !seen[i] {
            walk(hosts, i, 0, &children, &mut seen, &mut rows);
        }
    }
    rows
}

fn walk(
    hosts: &[Host],
    i: usize,
    depth: usize,
    children: &[Vec<usize>],
    seen: &mut [bool],
    rows: &mut Vec<TreeRow>,
) {
    if seen[i] {
        return;
    }
    seen[i] = true;
    rows.push(TreeRow {
        depth,
        item: TreeItem::Host(i),
    });
    // Channels of a multi-source replica, each with its own source and state.
    let channels = hosts[i]
        .replication
        .as_ref()
        .map_or(0, |r| r.channels.len());
    if channels > 1 {
        for c in 0..channels {
            rows.push(TreeRow {
                depth: depth + 1,
                item: TreeItem::Channel(i, c),
            });
        }
    }
    for &c in &children[i] {
        walk(hosts, c, depth + 1, children, seen, rows);
    }
}

fn strip_port(s: &str) -> &str {
    match s.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::{HostId, Replication};

    fn host(name: &str, role: Role, source: Option<&str>) -> Host {
        Host {
            id: HostId {
                cluster: "c".into(),
                name: name.into(),
            },
            labels: crate::model::HostLabels::default(),
            engine: None,
            role,
            replication: (role == Role::Replica).then(|| {
                Box::new(Replication {
                    source: source.map(String::from),
                    ..Replication::default()
                })
            }),
            readings: Vec::new(),
            alerts: Vec::new(),
            health: crate::model::Health::Ok,
            reasons: Vec::new(),
            role_evidence: None,
            group: None,
            galera: None,
            exporter_down: false,
            source: None,
            last_seen: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
            spark: Vec::new(),
            heartbeat_from: Vec::new(),
            aliases: Vec::new(),
        }
    }

    fn show(hosts: &[Host], rows: &[TreeRow]) -> Vec<String> {
        rows.iter()
            .map(|r| {
                let what = match &r.item {
                    TreeItem::Host(i) => hosts[*i].id.name.clone(),
                    TreeItem::MissingSource(s) => format!("?{}", s.as_deref().unwrap_or("")),
                    TreeItem::Channel(h, c) => format!(
                        "#{}<-{}",
                        hosts[*h].replication.as_ref().unwrap().channels[*c].name,
                        hosts[*h].replication.as_ref().unwrap().channels[*c]
                            .source
                            .as_deref()
                            .unwrap_or("")
                    ),
                    TreeItem::Group => "[group]".into(),
                    TreeItem::Galera => "[galera]".into(),
                };
                format!("{}{what}", "  ".repeat(r.depth))
            })
            .collect()
    }

    #[test]
    fn primary_replicas_cascades_and_unknown_sources() {
        let hosts = vec![
            host("db1", Role::Primary, None),
            host("db2", Role::Replica, Some("db1:3306")),
            host("db10", Role::Replica, Some("db2")),
            host("db3", Role::Replica, Some("db1")),
            host("db4", Role::Replica, Some("10.0.0.9")),
            host("db5", Role::Replica, None),
            host("db6", Role::Unknown, None),
        ];
        let rows = cluster_tree(&hosts, "c");
        assert_eq!(
            show(&hosts, &rows),
            [
                "db1",
                "  db2",
                "    db10",
                "  db3",
                "db6",
                "?",
                "  db5",
                "?10.0.0.9",
                "  db4",
            ]
        );
    }

    fn channel(name: &str, source: &str) -> crate::model::Channel {
        crate::model::Channel {
            name: name.into(),
            source: Some(source.into()),
            io_running: Some(true),
            sql_running: Some(true),
            lag_seconds: Some(0.0),
            delay_seconds: None,
            behind_seconds: None,
            health: crate::model::Health::Ok,
        }
    }

    #[test]
    fn channels_group_members_and_galera_nodes() {
        let mut multi = host("m", Role::Replica, None);
        multi.replication.as_mut().unwrap().channels = vec![channel("a", "p1"), channel("b", "p2")];
        let hosts = vec![
            host("g1", Role::GroupSecondary, None),
            host("g2", Role::GroupPrimary, None),
            host("gal1", Role::Galera, None),
            host("gal2", Role::Galera, None),
            multi,
            host("p1", Role::Primary, None),
            host("p2", Role::Primary, None),
            host("r", Role::Replica, Some("g2")),
        ];
        let rows = cluster_tree(&hosts, "c");
        assert_eq!(
            show(&hosts, &rows),
            [
                "p1",
                "  m",
                "    #a<-p1",
                "    #b<-p2",
                "p2",
                "[group]",
                "  g2",
                "    r",
                "  g1",
                "[galera]",
                "  gal1",
                "  gal2",
            ]
        );
    }

    #[test]
    fn circular_replication_shows_each_host_once() {
        let hosts = vec![
            host("a", Role::Replica, Some("b")),
            host("b", Role::Replica, Some("a")),
        ];
        let rows = cluster_tree(&hosts, "c");
        assert_eq!(show(&hosts, &rows), ["a", "  b"]);
        assert!(cluster_tree(&hosts, "other").is_empty());
    }

    #[test]
    fn the_primary_of_a_ring_is_its_root() {
        let mut primary = host("m2", Role::Primary, None);
        primary.replication = host("m2", Role::Replica, Some("m1")).replication;
        let hosts = vec![
            host("m1", Role::Replica, Some("m2")),
            primary,
            host("m3", Role::Replica, Some("m2")),
        ];
        let rows = cluster_tree(&hosts, "c");
        assert_eq!(show(&hosts, &rows), ["m2", "  m1", "  m3"]);
    }
}
