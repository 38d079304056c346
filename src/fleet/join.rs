//! Where a series or an alert that lacks part of a host's identity belongs.
//!
//! Real deployments rarely label every series alike. PMM puts the cluster on the database
//! exporter's series only (node_exporter's have none), and its alerts carry neither the
//! cluster nor the scrape target. A series or alert without the cluster label is matched to
//! a host by name, and only when that name is unique in the fleet: with `db2` in two
//! clusters (per-environment copies of one topology) either choice could be the wrong
//! server, so nothing is joined and the board says why.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::health;
use super::{worse_of, Row};
use crate::model::{
    pairs, Alert, ClusterAlerts, Fleet, Health, Host, Identity, MetricSet, SampleRef, NO_CLUSTER,
};

/// The host name `node_uname_info` gives a machine whose node_exporter target is named by
/// its address, by the target's row `(cluster, name)`.
pub(super) type NodeNames<'a> = hashbrown::HashMap<(&'a str, &'a str), &'a str>;

/// The database host rows a machine's `nodename` names: by the whole name, else by its
/// first DNS label (`db1` of `db1.prod.example.com`); `key` makes `by_name`'s key of a name.
fn by_nodename<'m, 'n, K: std::hash::Hash + Eq>(
    nodename: Option<&'n str>,
    by_name: &'m hashbrown::HashMap<K, Vec<usize>>,
    key: impl Fn(&'n str) -> K,
) -> Option<&'m Vec<usize>> {
    let n = nodename?;
    by_name
        .get(&key(n))
        .or_else(|| short_name(n).and_then(|s| by_name.get(&key(s))))
}

/// Examples named in a note; the rest are counted.
pub(super) const EXAMPLES: usize = 3;

/// The first [`EXAMPLES`] of `items` joined by `sep`, and how many more there are
/// (`a, b, c, and 4 more`).
pub(super) fn examples(items: &[String], sep: &str) -> String {
    let mut s = items
        .iter()
        .take(EXAMPLES)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(sep);
    if items.len() > EXAMPLES {
        let _ = write!(s, "{sep}and {} more", items.len() - EXAMPLES);
    }
    s
}

/// Folds rows made of series without the cluster label into the host of the same name.
///
/// A cluster-less row joins the one host of that name in another cluster. When the name is
/// in several clusters it is dropped (and noted): joining would pick a server at random.
/// When the name is on no host it stays a host of its own only if it has the `up` metric
/// (a real database server whose exporter has no cluster label, or a fleet without
/// cluster labels at all); a row of auxiliary series (node_exporter of a machine that is
/// not a database) would be a phantom host, so it is dropped and noted.
///
/// Rows are never removed here (their positions are indexed by the caller): a folded or
/// dropped row is marked `gone`.
pub(super) fn join_unclustered(
    rows: &mut [Row<'_>],
    set: &MetricSet,
    up_i: Option<usize>,
    cluster_label: &str,
    nodenames: &NodeNames<'_>,
    notes: &mut Vec<String>,
) {
    if rows.iter().all(|r| r.id.cluster == NO_CLUSTER) {
        // No series has the cluster label: a fleet without clusters.
        return;
    }
    let orphans: Vec<usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.id.cluster == NO_CLUSTER)
        .map(|(i, _)| i)
        .collect();
    if orphans.is_empty() {
        return;
    }
    // Owned names: rows are changed below while the map is read.
    let names: Vec<String> = rows.iter().map(|r| r.id.name.clone()).collect();
    let mut by_name: hashbrown::HashMap<&str, Vec<usize>> = hashbrown::HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        if r.id.cluster != NO_CLUSTER {
            by_name.entry(names[i].as_str()).or_default().push(i);
        }
    }
    let mut ambiguous: Vec<(String, Vec<String>, Vec<&str>)> = Vec::new();
    let mut unmatched: Vec<(String, Vec<&str>)> = Vec::new();
    let mut dups = 0usize;
    for o in orphans {
        let metrics_of = |r: &Row<'_>| -> Vec<&str> {
            set.metrics
                .iter()
                .zip(&r.vals)
                .filter(|(_, v)| v.is_some())
                .map(|(d, _)| d.key.as_str())
                .collect()
        };
        let by_address = by_name.get(names[o].as_str()).is_none();
        let cands = by_name.get(names[o].as_str()).or_else(|| {
            by_nodename(
                nodenames.get(&(NO_CLUSTER, names[o].as_str())).copied(),
                &by_name,
                |n| n,
            )
        });
        match cands.map(Vec::as_slice) {
            Some(&[t]) => {
                dups += fold(rows, set, o, t);
                if by_address {
                    rows[t].aliases.push(names[o].clone());
                }
            }
            Some(ts) => {
                let clusters = ts.iter().map(|&t| rows[t].id.cluster.clone()).collect();
                ambiguous.push((names[o].clone(), clusters, metrics_of(&rows[o])));
                rows[o].gone = true;
            }
            None if up_i.is_some_and(|u| rows[o].vals[u].is_none()) => {
                unmatched.push((names[o].clone(), metrics_of(&rows[o])));
                rows[o].gone = true;
            }
            None => {}
        }
    }
    if dups > 0 {
        notes.push(format!(
            "{dups} series without a `{cluster_label}` label duplicated their host's series; the worst value was kept"
        ));
    }
    if !ambiguous.is_empty() {
        let mut n = format!(
            "series without a `{cluster_label}` label were not shown for {} host name(s) found in more than one cluster (joining them would pick a server at random):",
            ambiguous.len()
        );
        for (name, clusters, metrics) in ambiguous.iter().take(EXAMPLES) {
            let _ = write!(
                n,
                " {name} in {} ({});",
                clusters.join(", "),
                metrics.join(", ")
            );
        }
        if ambiguous.len() > EXAMPLES {
            let _ = write!(n, " and {} more;", ambiguous.len() - EXAMPLES);
        }
        n.pop();
        n.push_str(": add the cluster label to their scrape targets");
        notes.push(n);
    }
    if !unmatched.is_empty() {
        let mut n = format!(
            "series without a `{cluster_label}` label were not shown for {} name(s) matching no database host:",
            unmatched.len()
        );
        for (name, metrics) in unmatched.iter().take(EXAMPLES) {
            let _ = write!(n, " {name} ({});", metrics.join(", "));
        }
        if unmatched.len() > EXAMPLES {
            let _ = write!(n, " and {} more;", unmatched.len() - EXAMPLES);
        }
        n.pop();
        notes.push(n);
    }
}

/// Folds row `src` into row `dst` (values it lacks, labels, evidence) and marks `src`
/// gone. Returns how many values both had (the worse was kept).
fn fold(rows: &mut [Row<'_>], set: &MetricSet, src: usize, dst: usize) -> usize {
    let mut dups = 0;
    let (src, dst) = pair_mut(rows, src, dst);
    for (i, def) in set.metrics.iter().enumerate() {
        if let Some(v) = src.vals[i] {
            dst.vals[i] = Some(match dst.vals[i] {
                None => v,
                Some(old) => {
                    dups += 1;
                    worse_of(def, old, v)
                }
            });
        }
    }
    for &(k, v) in &src.labels {
        if !dst.labels.iter().any(|(x, _)| *x == k) {
            dst.labels.push((k, v));
        }
    }
    if let (Some(a), Some(b)) = (&src.hist, &mut dst.hist) {
        for (x, y) in a.iter().zip(b.iter_mut()) {
            *y |= *x;
        }
    } else if dst.hist.is_none() {
        dst.hist.clone_from(&src.hist);
    }
    absorb(&mut dst.ev, std::mem::take(&mut src.ev));
    src.gone = true;
    dups
}

/// An IP address, with or without a port (`10.42.0.17`, `10.42.0.17:9104`, `[fd00::1]:9104`).
pub fn is_address(name: &str) -> bool {
    name.parse::<std::net::IpAddr>().is_ok()
        || name.starts_with('[')
        || name.rsplit_once(':').is_some_and(|(ip, port)| {
            !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && ip.parse::<std::net::Ipv4Addr>().is_ok()
        })
}

/// The first label of a DNS name (`db1` of `db1.prod.example.com`); `None` for a name
/// without a domain and for IP addresses, whose first part names nothing.
pub fn short_name(name: &str) -> Option<&str> {
    if is_address(name) {
        return None;
    }
    let (first, rest) = name.split_once('.')?;
    (!first.is_empty() && !rest.is_empty()).then_some(first)
}

/// `(cluster, host name without port)` of the database servers told apart only by their
/// port: two database `up` series of one cluster whose host label values differ, but not
/// once the port is stripped. One exporter per server on a shared machine does this (RDS or
/// Cloud SQL watched from an exporter box, several mysqld on one machine): those are
/// several servers, whatever `strip_port` says (a second scrape of one exporter has the
/// same value, port and all; two exporters of one server report one `server_id`). Empty
/// when ports are kept, or no name repeats. Names told apart in the `previous` refresh stay
/// apart, so a server whose exporter is down does not fold its neighbours into one host.
pub(super) fn servers_apart_by_port<'a>(
    set: &MetricSet,
    ident: &Identity,
    results: &'a [Result<crate::model::Vector, crate::model::SourceError>],
    previous: Option<&'a Fleet>,
) -> hashbrown::HashSet<(&'a str, &'a str)> {
    let mut apart = hashbrown::HashSet::new();
    if !ident.strip_port {
        return apart;
    }
    for h in previous.map_or(&[][..], |p| &p.hosts[..]) {
        let name = ident.host_name_ref(&h.id.name);
        if name.len() != h.id.name.len() {
            apart.insert((h.id.cluster.as_str(), name));
        }
    }
    let answer = |i: Option<usize>| i.and_then(|i| results.get(i)).and_then(|r| r.as_ref().ok());
    let Some(up) = answer(super::up_i_of(set)) else {
        return apart;
    };
    // The host label values of each name, when the name has more than one.
    let mut first: hashbrown::HashMap<(&'a str, &'a str), &'a str> = hashbrown::HashMap::new();
    let mut raws: hashbrown::HashMap<(&'a str, &'a str), Vec<&'a str>> = hashbrown::HashMap::new();
    for s in up.iter() {
        let Some((cluster, raw)) = ident.key_raw_of(s.labels()) else {
            continue;
        };
        let key = (cluster, ident.host_name_ref(raw));
        match first.insert(key, raw) {
            Some(seen) if seen != raw => {
                let v = raws.entry(key).or_insert_with(|| vec![seen]);
                if !v.contains(&raw) {
                    v.push(raw);
                }
            }
            _ => {}
        }
    }
    if raws.is_empty() {
        return apart;
    }
    // Two exporters of one server (a second one on another port for slow collectors)
    // report the same `server_id`: one server, whose series are merged as before.
    let mut ids: hashbrown::HashMap<(&str, &str), f64> = hashbrown::HashMap::new();
    if let Some(sid) = answer(set.by_signal(crate::model::Signal::ServerId)) {
        for s in sid.iter() {
            if let Some((cluster, raw)) = ident.key_raw_of(s.labels()) {
                if raws.contains_key(&(cluster, ident.host_name_ref(raw))) {
                    ids.insert((cluster, raw), s.value());
                }
            }
        }
    }
    for (key, rs) in raws {
        let known: Vec<f64> = rs
            .iter()
            .filter_map(|r| ids.get(&(key.0, *r)).copied())
            .collect();
        let one_server = known.len() == rs.len() && known.windows(2).all(|w| w[0] == w[1]);
        if !one_server {
            apart.insert(key);
        }
    }
    apart
}

/// The host a series with host label value `raw` belongs to: the value without its port,
/// or with it for the servers [`servers_apart_by_port`] found.
pub(super) fn host_name_in<'s>(
    apart: &hashbrown::HashSet<(&str, &str)>,
    ident: &Identity,
    cluster: &str,
    raw: &'s str,
) -> &'s str {
    let name = ident.host_name_ref(raw);
    if !apart.is_empty() && name.len() != raw.len() && apart.contains(&(cluster, name)) {
        raw
    } else {
        name
    }
}

/// The other series of a machine whose database servers are told apart by port (its
/// node_exporter, `mon1:9100` beside `mon1:9104` and `mon1:9105`): the machine's figures are
/// each of its servers', so they are copied to every one that lacks them.
pub(super) fn join_machine_rows(
    rows: &mut [Row<'_>],
    apart: &hashbrown::HashSet<(&str, &str)>,
    set: &MetricSet,
    ident: &Identity,
    notes: &mut Vec<String>,
) {
    if apart.is_empty() {
        return;
    }
    let Some(up_i) = super::up_i_of(set) else {
        return;
    };
    // The machine's series: values, none of them a database's (a server whose exporter is
    // down, kept from the last refresh, has no values at all).
    let of_machine = |r: &Row<'_>| {
        r.vals.iter().any(Option::is_some)
            && set
                .metrics
                .iter()
                .zip(&r.vals)
                .all(|(d, v)| d.engine.is_none() || v.is_none())
    };
    let machine = |r: &Row<'_>| {
        let name = ident.host_name_ref(&r.id.name);
        (name.len() != r.id.name.len() && apart.contains(&(r.id.cluster.as_str(), name)))
            .then(|| (r.id.cluster.clone(), name.to_string()))
    };
    let mut servers: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    let mut machines = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let Some(m) = machine(r) else { continue };
        if r.vals[up_i].is_some() {
            servers.entry(m).or_default().push(i);
        } else if !r.gone && of_machine(r) {
            machines.push((i, m));
        }
    }
    let mut joined = Vec::new();
    for (aux, m) in machines {
        let Some(dbs) = servers.get(&m) else { continue };
        for &db in dbs {
            for k in 0..rows[aux].vals.len() {
                if rows[db].vals[k].is_none() {
                    rows[db].vals[k] = rows[aux].vals[k];
                }
            }
        }
        rows[aux].gone = true;
        joined.push(format!(
            "{}/{} ({} servers)",
            m.0,
            rows[aux].id.name,
            dbs.len()
        ));
    }
    let split: Vec<String> = servers
        .iter()
        .map(|((c, m), dbs)| format!("{c}/{m} ({})", dbs.len()))
        .collect();
    if !split.is_empty() {
        let mut note = format!(
            "database servers told apart only by the port of their `{}`, each a host of its own named with it: {}",
            ident.host_label,
            names_list(&split)
        );
        if !joined.is_empty() {
            let _ = write!(
                note,
                "; the machine's other series are each of its servers': {}",
                names_list(&joined)
            );
        }
        notes.push(note);
    }
}

fn names_list(items: &[String]) -> String {
    let mut s = items.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > 5 {
        let _ = write!(s, " and {} more", items.len() - 5);
    }
    s
}

/// Says which hosts are named by `exported_<host label>` (see
/// [`Identity::key_parts_of`]): the board reads them right, but their `instance` is a
/// Prometheus passing series on, which the operator may not expect to see in the labels.
pub(super) fn note_rescraped(rows: &[Row<'_>], ident: &Identity, notes: &mut Vec<String>) {
    let ex = crate::model::exported(&ident.host_label);
    let named: Vec<&Row<'_>> = rows
        .iter()
        .filter(|r| r.labels.iter().any(|(k, _)| *k == ex))
        .collect();
    let Some(first) = named.first() else {
        return;
    };
    let by = first
        .labels
        .iter()
        .find(|(k, _)| *k == ident.host_label)
        .map_or(String::new(), |(_, v)| {
            format!(" (`{}` {v})", ident.host_label)
        });
    let examples: Vec<String> = named
        .iter()
        .take(3)
        .map(|r| format!("{}/{}", r.id.cluster, r.id.name))
        .collect();
    notes.push(format!(
        "{} host(s) named by `{ex}`, e.g. {}: their series were scraped again without `honor_labels: true` (a federating Prometheus or a Pushgateway), so `{}` names the server passing them on{by}; the board reads `{ex}`",
        named.len(),
        examples.join(", "),
        ident.host_label,
    ));
}

/// Folds rows of auxiliary series (no `up` value: node_exporter's) into the database host
/// of the same cluster whose name differs from theirs only by the domain.
///
/// Two service discoveries often name one machine two ways: node_exporter's targets by
/// fully qualified name (`db1.prod.example.com:9100`), mysqld_exporter's by short name
/// (`db1:9104`), or the other way round. Apart, the database host lacks its load and a
/// phantom host holds it (judged on load alone, and DOWN-looking without `up`). The fold
/// happens only when exactly one database host of the cluster matches; `db1.dc1.…` and
/// `db1.dc2.…` (two machines) never match each other. A name joined in the `previous`
/// refresh joins its host again while the host's database exporter is down (no `up`).
pub(super) fn join_short_names(
    rows: &mut [Row<'_>],
    set: &MetricSet,
    up_i: Option<usize>,
    previous: Option<&Fleet>,
    nodenames: &NodeNames<'_>,
    notes: &mut Vec<String>,
) {
    let Some(up) = up_i else { return };
    // A row with values but no `up`: a target of auxiliary series.
    let aux = |r: &Row<'_>| !r.gone && r.vals[up].is_none() && r.vals.iter().any(Option::is_some);
    if !rows.iter().any(aux) {
        return;
    }
    // Database hosts by (cluster, name) and by (cluster, short name), borrowed from the
    // rows until the joins are chosen.
    let mut joined: Vec<(usize, usize)> = Vec::new();
    let mut unmatched: Vec<usize> = Vec::new();
    {
        let mut by_name: hashbrown::HashMap<(&str, &str), Vec<usize>> = hashbrown::HashMap::new();
        let mut by_short: hashbrown::HashMap<(&str, &str), Vec<usize>> = hashbrown::HashMap::new();
        for (i, r) in rows.iter().enumerate() {
            if r.gone || r.vals[up].is_none() {
                continue;
            }
            let (c, n) = (r.id.cluster.as_str(), r.id.name.as_str());
            by_name.entry((c, n)).or_default().push(i);
            if let Some(short) = short_name(n) {
                by_short.entry((c, short)).or_default().push(i);
            }
        }
        // DNS names are case-insensitive (`DB1` from a CMDB, `db1` from DNS): database hosts
        // by lowercase name and short name, built when an exact match fails.
        // As `by_name` and `by_short`, the names in lowercase.
        type Lower<'r> = hashbrown::HashMap<(&'r str, String), Vec<usize>>;
        let mut by_lower: Option<(Lower<'_>, Lower<'_>)> = None;
        let lower_of = || {
            let (mut full, mut short): (Lower<'_>, Lower<'_>) = Default::default();
            for (i, r) in rows.iter().enumerate() {
                if r.gone || r.vals[up].is_none() {
                    continue;
                }
                let (c, n) = (r.id.cluster.as_str(), r.id.name.as_str());
                full.entry((c, n.to_ascii_lowercase())).or_default().push(i);
                if let Some(s) = short_name(n) {
                    short
                        .entry((c, s.to_ascii_lowercase()))
                        .or_default()
                        .push(i);
                }
            }
            (full, short)
        };
        for (i, r) in rows.iter().enumerate() {
            if !aux(r) {
                continue;
            }
            let (c, n) = (r.id.cluster.as_str(), r.id.name.as_str());
            let mut cands = match short_name(n) {
                Some(short) => by_name.get(&(c, short)),
                None => by_short.get(&(c, n)),
            }
            .or_else(|| by_nodename(nodenames.get(&(c, n)).copied(), &by_name, |x| (c, x)));
            if cands.is_none() {
                let (full, short) = by_lower.get_or_insert_with(lower_of);
                let low = |x: &str| (c, x.to_ascii_lowercase());
                cands = full.get(&low(n)).or_else(|| match short_name(n) {
                    Some(s) => full.get(&low(s)),
                    None => short.get(&low(n)),
                });
            }
            if let Some([t]) = cands.map(Vec::as_slice) {
                joined.push((i, *t));
            } else if cands.is_none() {
                unmatched.push(i);
            }
        }
        // Names the previous refresh joined, whose host has no `up` now.
        let before: hashbrown::HashMap<(&str, &str), &str> = previous
            .filter(|_| !unmatched.is_empty())
            .into_iter()
            .flat_map(|p| &p.hosts)
            .flat_map(|h| {
                h.aliases
                    .iter()
                    .map(move |a| ((h.id.cluster.as_str(), a.as_str()), h.id.name.as_str()))
            })
            .collect();
        if !before.is_empty() {
            let at: hashbrown::HashMap<(&str, &str), usize> = rows
                .iter()
                .enumerate()
                .filter(|(_, r)| !r.gone)
                .map(|(i, r)| ((r.id.cluster.as_str(), r.id.name.as_str()), i))
                .collect();
            for i in unmatched {
                let c = rows[i].id.cluster.as_str();
                if let Some(t) = before
                    .get(&(c, rows[i].id.name.as_str()))
                    .and_then(|host| at.get(&(c, *host)))
                {
                    joined.push((i, *t));
                }
            }
        }
    }
    // Two names for one host (`db3.dc1.…` and `db3.dc2.…` beside `db3`): two machines, one
    // of them not the database's. Neither joins.
    let mut per_target: hashbrown::HashMap<usize, usize> = hashbrown::HashMap::new();
    for (_, t) in &joined {
        *per_target.entry(*t).or_default() += 1;
    }
    joined.retain(|(_, t)| per_target[t] == 1);
    if joined.is_empty() {
        return;
    }
    let mut examples: Vec<String> = joined
        .iter()
        .take(EXAMPLES)
        .map(|&(a, t)| format!("{} → {}", rows[a].id.name, rows[t].id.name))
        .collect();
    if joined.len() > EXAMPLES {
        examples.push(format!("and {} more", joined.len() - EXAMPLES));
    }
    let n = joined.len();
    for (a, t) in joined {
        fold(rows, set, a, t);
        let alias = rows[a].id.name.clone();
        rows[t].aliases.push(alias);
    }
    notes.push(format!(
        "series of {n} scrape target(s) named by another form of a database host's name were joined to it ({}): their exporters name the machine differently (short and fully qualified, or an address whose node_uname_info gives the host's name)",
        examples.join(", ")
    ));
}

/// A series as PromQL writes it, `name{k="v", ...}`, cut after about 200 characters.
pub fn series_text(s: &SampleRef<'_>) -> String {
    let mut name = "";
    let mut out = String::new();
    for (k, v) in s.labels() {
        if k == "__name__" {
            name = v;
        } else if out.len() < 200 {
            if !out.is_empty() {
                out.push_str(", ");
            }
            let classic = k.bytes().enumerate().all(|(i, c)| {
                c == b'_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())
            });
            if classic && !k.is_empty() {
                out.push_str(k);
            } else {
                let _ = write!(out, "{k:?}");
            }
            let _ = write!(out, "={v:?}");
        }
    }
    format!("{name}{{{out}}}")
}

/// Host names found in exactly one cluster.
pub fn unique_names(hosts: &[Host]) -> std::collections::HashSet<String> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for h in hosts {
        *seen.entry(h.id.name.as_str()).or_default() += 1;
    }
    seen.into_iter()
        .filter(|(_, n)| *n == 1)
        .map(|(k, _)| k.to_string())
        .collect()
}

/// Adds what a cluster-less row's series said about the host to the host's own: values it
/// lacks, channels and group rows it does not have yet, failed targets.
fn absorb(dst: &mut super::roles::Evidence, src: super::roles::Evidence) {
    let opt = |d: &mut Option<f64>, s: Option<f64>| {
        if d.is_none() {
            *d = s;
        }
    };
    opt(&mut dst.read_only, src.read_only);
    opt(&mut dst.super_read_only, src.super_read_only);
    opt(&mut dst.server_id, src.server_id);
    opt(&mut dst.applier_queue, src.applier_queue);
    opt(&mut dst.wsrep_local_state, src.wsrep_local_state);
    opt(&mut dst.wsrep_cluster_status, src.wsrep_cluster_status);
    opt(&mut dst.wsrep_ready, src.wsrep_ready);
    opt(&mut dst.wsrep_cluster_size, src.wsrep_cluster_size);
    if dst.version.is_none() {
        dst.version = src.version;
    }
    for c in src.channels {
        if !dst.channels.iter().any(|d| d.name == c.name) {
            dst.channels.push(c);
        }
    }
    if dst.group_rows.is_empty() {
        dst.group_rows = src.group_rows;
    }
    for t in src.targets_down {
        if !dst.targets_down.contains(&t) {
            dst.targets_down.push(t);
        }
    }
}

/// Two distinct rows, mutably.
fn pair_mut<'r, 'a>(
    rows: &'r mut [Row<'a>],
    a: usize,
    b: usize,
) -> (&'r mut Row<'a>, &'r mut Row<'a>) {
    debug_assert_ne!(a, b);
    if a < b {
        let (x, y) = rows.split_at_mut(b);
        (&mut x[a], &mut y[0])
    } else {
        let (x, y) = rows.split_at_mut(a);
        (&mut y[0], &mut x[b])
    }
}

/// Alerts that could not be attached to a host, with the reason for each.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Unattached {
    /// The alerts, in the order they came.
    pub alerts: Vec<Alert>,
    /// Same order as `alerts`.
    pub reasons: Vec<String>,
    /// Worst health of the active alerts naming a host of the board whose name is in
    /// several clusters, the alert saying none: a problem on one of the board's servers,
    /// which one unknown.
    pub ambiguous_health: Health,
    /// Active alerts about a cluster of the board as a whole (no host label), by cluster.
    pub cluster_alerts: BTreeMap<String, ClusterAlerts>,
}

/// Attaches alerts to hosts: by host name, and by cluster when the alert carries the
/// cluster label. An alert without it attaches only when the name is unique in the fleet.
pub fn attach_alerts(hosts: &mut [Host], alerts: &[Alert], ident: &Identity) -> Unattached {
    let mut out = Unattached::default();
    let mut by_name: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    // Servers told apart by their port, by their machine's name: an alert about the machine
    // (node_exporter's `mon1:9100`) concerns each of them.
    let mut by_machine: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, h) in hosts.iter().enumerate() {
        by_name.entry(h.id.name.as_str()).or_default().push(i);
        let machine = ident.host_name_ref(&h.id.name);
        if machine != h.id.name {
            by_machine.entry(machine).or_default().push(i);
        }
        // An alert about a target joined to the host by another form of its name.
        for a in &h.aliases {
            by_name.entry(a.as_str()).or_default().push(i);
        }
    }
    // Hosts come sorted by cluster: each cluster once.
    let mut clusters: hashbrown::HashSet<&str> = hashbrown::HashSet::new();
    let mut last = None;
    for h in hosts.iter() {
        let c = h.id.cluster.as_str();
        if last != Some(c) {
            clusters.insert(c);
            last = Some(c);
        }
    }
    let mut targets = Vec::with_capacity(alerts.len());
    for a in alerts {
        // An alert's labels are its series' (rules over federated series keep
        // `exported_instance`), so it names its host as the series do.
        let (raw, cluster) =
            crate::model::naming_values(&ident.host_label, &ident.cluster_label, pairs(&a.labels));
        let Some(raw) = raw else {
            // A rule aggregated by cluster ("lost a node", "no primary") is about that
            // cluster as a whole: trouble the board shows on the cluster.
            let on_board = cluster.filter(|c| clusters.contains(c));
            let Some(c) = on_board else {
                targets.push(Err(format!(
                    "no `{}` label: an alert about no single host",
                    ident.host_label
                )));
                continue;
            };
            let ah = health::alert_health(a);
            if ah > Health::Ok {
                let e = out.cluster_alerts.entry(c.to_owned()).or_default();
                e.health = e.health.max(ah);
                if !e.names.iter().any(|n| n == a.name()) {
                    e.names.push(a.name().to_owned());
                }
            }
            targets.push(Err(format!(
                "about cluster {c} as a whole (no `{}` label)",
                ident.host_label
            )));
            continue;
        };
        // A cluster the board does not have is not the board's notion of one (Prometheus
        // adds its external labels, often `cluster`, to every alert it sends): the alert is
        // placed by its host name alone then.
        let known = cluster.filter(|c| clusters.contains(c));
        // A server told apart by its port is named with it (see `servers_apart_by_port`).
        let name = ident.host_name_ref(raw);
        let (name, cands) = match by_name.get(raw) {
            Some(c) if name != raw => (raw, c.as_slice()),
            _ => (name, by_name.get(name).map_or(&[][..], Vec::as_slice)),
        };
        if cands.is_empty() {
            if let Some(servers) = by_machine.get(name) {
                let mine: Vec<usize> = servers
                    .iter()
                    .copied()
                    .filter(|&i| known.is_none_or(|c| hosts[i].id.cluster == c))
                    .collect();
                let clusters: BTreeSet<&str> =
                    mine.iter().map(|&i| hosts[i].id.cluster.as_str()).collect();
                match clusters.len() {
                    0 => {}
                    1 => {
                        targets.push(Ok(mine));
                        continue;
                    }
                    n => {
                        out.ambiguous_health = out.ambiguous_health.max(health::alert_health(a));
                        targets.push(Err(format!(
                            "machine {name} runs servers of {n} clusters ({}) and the alert has no `{}` label",
                            clusters.into_iter().collect::<Vec<_>>().join(", "),
                            ident.cluster_label
                        )));
                        continue;
                    }
                }
            }
        }
        let t = match (known, cands) {
            (_, []) => Err(format!("no host {name} on the board")),
            (Some(c), _) => cands
                .iter()
                .copied()
                .find(|&i| hosts[i].id.cluster == c)
                .map(|i| vec![i])
                .ok_or_else(|| format!("no host {name} in cluster {c} on the board")),
            (None, [i]) => Ok(vec![*i]),
            (None, many) => {
                let cl: Vec<&str> = many.iter().map(|&i| hosts[i].id.cluster.as_str()).collect();
                out.ambiguous_health = out.ambiguous_health.max(health::alert_health(a));
                Err(match cluster {
                    None => format!(
                        "host {name} is in {} clusters ({}) and the alert has no `{}` label",
                        cl.len(),
                        cl.join(", "),
                        ident.cluster_label
                    ),
                    Some(c) => format!(
                        "host {name} is in {} clusters ({}) and the alert's `{}` ({c}) is none of them",
                        cl.len(),
                        cl.join(", "),
                        ident.cluster_label
                    ),
                })
            }
        };
        targets.push(t);
    }
    drop(clusters);
    for (a, t) in alerts.iter().zip(targets) {
        match t {
            Ok(servers) => {
                for i in servers {
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
            }
            Err(reason) => {
                out.alerts.push(a.clone());
                out.reasons.push(reason);
            }
        }
    }
    out
}
