//! A synthetic fleet of any size, in process, for benchmarks and measurements that need
//! no servers. Series have the same names and label shapes as the answers Prometheus gives
//! for the preset's queries over mysqld_exporter and node_exporter (and as the stack's
//! `fake_fleet.py` exporter produces): `cluster`, `instance`, `job`, and on slave-status
//! series `channel_name`, `connection_name`, `master_host` and `master_uuid`.
//!
//! Hosts are spread round-robin over `n / 3` clusters named `payments-0000`,
//! `orders-0001`, …; host 1 of each cluster is its primary. A small, fixed share of
//! hosts is in trouble (down, lagging, a stopped thread, too many connections, high load).
//! Values are steady, except for a `churn` share of hosts (per mille, default 10 = 1 %)
//! whose values change from one refresh to the next: that is what a benchmark of "1 % of
//! the fleet changed" needs.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

use super::poll::{merge_alerts, FleetSource, PollRequest, PollResult};
use crate::model::VectorBuilder;
use crate::model::{Alert, AlertState, Labels, Sample, Severity, Vector};

const WORDS: [&str; 8] = [
    "payments", "orders", "users", "catalog", "billing", "search", "ledger", "events",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trouble {
    None,
    Down,
    Lag,
    SqlStop,
    IoStop,
    Conns,
    Load,
}

#[derive(Debug, Clone)]
struct SynHost {
    cluster: String,
    name: String,
    primary: Option<String>,
    server_id: u32,
    master_id: u32,
    trouble: Trouble,
    max_conn: f64,
    churn: bool,
    seed: u64,
}

/// A synthetic fleet of `n` hosts.
pub struct SyntheticSource {
    hosts: Vec<SynHost>,
    keys: Vec<String>,
}

fn mix(mut x: u64) -> u64 {
    // splitmix64: a cheap, well-spread hash of the host index.
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[allow(clippy::cast_precision_loss)]
fn unit(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

impl SyntheticSource {
    /// `n` hosts; `keys` are the board's metric keys in order (unknown keys get empty
    /// results, like a query that matches nothing).
    pub fn new(n: usize, keys: Vec<String>) -> Self {
        Self::with_churn(n, keys, 10)
    }

    /// Like [`SyntheticSource::new`], with `churn_permille` of the hosts changing values
    /// between refreshes.
    pub fn with_churn(n: usize, keys: Vec<String>, churn_permille: u64) -> Self {
        let clusters = (n / 3).max(1);
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); clusters];
        for j in 0..n {
            members[j % clusters].push(j);
        }
        let mut hosts = Vec::with_capacity(n);
        let mut sid = 0u32;
        for (ci, m) in members.iter().enumerate() {
            let cluster = format!("{}-{ci:04}", WORDS[ci % WORDS.len()]);
            let primary_name = format!("{cluster}-db1");
            let primary_id = sid + 1;
            for (k, &j) in m.iter().enumerate() {
                sid += 1;
                let seed = mix(j as u64);
                let r = unit(seed);
                let replica = k > 0;
                let r2 = unit(mix(seed));
                let trouble = if r < 0.003 {
                    Trouble::Down
                } else if r < 0.013 {
                    Trouble::Conns
                } else if r < 0.023 {
                    Trouble::Load
                } else if replica && r2 < 0.015 {
                    Trouble::Lag
                } else if replica && r2 < 0.018 {
                    Trouble::SqlStop
                } else if replica && r2 < 0.020 {
                    Trouble::IoStop
                } else {
                    Trouble::None
                };
                hosts.push(SynHost {
                    name: format!("{cluster}-db{}", k + 1),
                    cluster: cluster.clone(),
                    primary: replica.then(|| primary_name.clone()),
                    server_id: sid,
                    master_id: if replica { primary_id } else { 0 },
                    trouble,
                    max_conn: [151.0, 500.0, 1000.0, 2000.0]
                        [usize::try_from((seed >> 8) % 4).unwrap_or(0)],
                    churn: (seed >> 16) % 1000 < churn_permille,
                    seed,
                });
            }
        }
        Self { hosts, keys }
    }

    /// Number of hosts.
    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    /// Whether there is no host.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    /// Labels of one answer series, as Prometheus returns them for the preset's query of
    /// `key` (binary operations and `rate()` drop `__name__`; `on(...)` keeps only those labels).
    fn labels(h: &SynHost, key: &str) -> Labels {
        let mut l = BTreeMap::new();
        l.insert("cluster".to_string(), h.cluster.clone());
        l.insert("instance".to_string(), h.name.clone());
        let name = match key {
            "connections" | "load" => return l,
            "up" => Some("mysql_up"),
            "lag" => Some("mysql_slave_status_seconds_behind_master"),
            "io_running" => Some("mysql_slave_status_slave_io_running"),
            "sql_running" => Some("mysql_slave_status_slave_sql_running"),
            "master_server_id" => Some("mysql_slave_status_master_server_id"),
            "read_only" => Some("mysql_global_variables_read_only"),
            "server_id" => Some("mysql_global_variables_server_id"),
            _ => None,
        };
        if let Some(n) = name {
            l.insert("__name__".to_string(), n.to_string());
        }
        l.insert("job".to_string(), "fake_fleet".to_string());
        if matches!(
            key,
            "lag" | "io_running" | "sql_running" | "master_server_id"
        ) {
            l.insert("channel_name".into(), String::new());
            l.insert("connection_name".into(), String::new());
            l.insert("master_host".into(), h.primary.clone().unwrap_or_default());
            l.insert("master_uuid".into(), String::new());
        }
        l
    }

    /// Value of `key` for `h` at refresh `gen`; `None` when the exporter has no series.
    #[allow(clippy::cast_precision_loss)]
    fn value(h: &SynHost, key: &str, gen: u64) -> Option<f64> {
        let down = h.trouble == Trouble::Down;
        let replica = h.primary.is_some();
        // Steady hosts always read the same; churning ones move every refresh.
        let g = if h.churn { gen } else { 0 };
        let noise = unit(mix(h.seed ^ g.wrapping_mul(0x2545_F491_4F6C_DD1D)));
        let io = h.trouble != Trouble::IoStop;
        let sql = h.trouble != Trouble::SqlStop;
        match key {
            "up" => Some(if down { 0.0 } else { 1.0 }),
            "lag" if !down && replica && io && sql => Some(match h.trouble {
                Trouble::Lag => (noise * 900.0).floor(),
                _ if h.churn => (noise * 4.0).floor(),
                _ => 0.0,
            }),
            "io_running" if !down && replica => Some(if io { 1.0 } else { 0.0 }),
            "sql_running" if !down && replica => Some(if sql { 1.0 } else { 0.0 }),
            "master_server_id" if !down && replica => Some(f64::from(h.master_id)),
            "server_id" if !down => Some(f64::from(h.server_id)),
            "read_only" if !down => Some(if replica { 1.0 } else { 0.0 }),
            "connections" if !down => {
                let c = if h.trouble == Trouble::Conns {
                    0.85 + 0.15 * noise
                } else {
                    0.05 + 0.35 * noise
                };
                Some((c * h.max_conn).floor() / h.max_conn)
            }
            "load" => Some(if h.trouble == Trouble::Load {
                2.0 + 2.0 * noise
            } else {
                0.05 + 0.45 * noise
            }),
            "qps" if !down => Some((50.0 + 4950.0 * noise).round()),
            _ => None,
        }
    }

    /// One refresh's samples for metric `key` (refresh number `gen`).
    pub fn samples(&self, key: &str, gen: u64, ts: f64) -> Vec<Sample> {
        self.hosts
            .iter()
            .filter_map(|h| {
                Some(Sample {
                    value: Self::value(h, key, gen)?,
                    labels: Self::labels(h, key),
                    ts,
                })
            })
            .collect()
    }

    /// One refresh's answer for metric `key`, limited to `clusters` (all when empty).
    pub fn vector(&self, key: &str, gen: u64, ts: f64, clusters: &[String]) -> Vector {
        let mut b = VectorBuilder::default();
        for h in &self.hosts {
            if !clusters.is_empty() && !clusters.contains(&h.cluster) {
                continue;
            }
            if let Some(v) = Self::value(h, key, gen) {
                let labels = Self::labels(h, key);
                b.push(labels.iter().map(|(k, v)| (k.as_str(), v.as_str())), v, ts);
            }
        }
        b.finish()
    }

    /// The body Prometheus would answer to the instant query of `key`, in its JSON format.
    pub fn instant_body(&self, key: &str, gen: u64, ts: f64) -> String {
        let mut s = String::with_capacity(self.hosts.len() * 256);
        s.push_str(r#"{"status":"success","data":{"resultType":"vector","result":["#);
        for (i, sample) in self.samples(key, gen, ts).iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(r#"{"metric":"#);
            s.push_str(&serde_json::to_string(&sample.labels).unwrap_or_default());
            let _ = write!(s, r#","value":[{ts:.3},"{}"]}}"#, sample.value);
        }
        s.push_str("]}}");
        s
    }

    fn alerts(&self, at: DateTime<Utc>, clusters: &[String]) -> Vec<Alert> {
        let mut out = Vec::new();
        for h in self
            .hosts
            .iter()
            .filter(|h| clusters.is_empty() || clusters.contains(&h.cluster))
        {
            let (name, severity) = match h.trouble {
                Trouble::Down => ("MySQLDown", "critical"),
                Trouble::SqlStop | Trouble::IoStop => ("MySQLReplicationStopped", "critical"),
                Trouble::Lag => ("MySQLReplicationLagHigh", "warning"),
                _ => continue,
            };
            let mut labels = BTreeMap::new();
            labels.insert("alertname".to_string(), name.to_string());
            labels.insert("severity".to_string(), severity.to_string());
            labels.insert("cluster".to_string(), h.cluster.clone());
            labels.insert("instance".to_string(), h.name.clone());
            let mut ann = BTreeMap::new();
            ann.insert(
                "summary".to_string(),
                format!("{name} on {} ({})", h.name, h.cluster),
            );
            out.push(Alert {
                fingerprint: format!("{:016x}", mix(h.seed ^ 0xA1)),
                severity: Severity::from_label(labels.get("severity").map(String::as_str)),
                labels,
                annotations: ann,
                state: AlertState::Active,
                silenced_by: Vec::new(),
                inhibited_by: Vec::new(),
                starts_at: Some(at - chrono::Duration::minutes(20)),
                generator_url: None,
            });
        }
        out
    }

    /// Refresh number `gen` of the fleet, without any I/O.
    pub fn poll_gen(&self, req: &PollRequest, at: DateTime<Utc>, gen: u64) -> PollResult {
        #[allow(clippy::cast_precision_loss)]
        let ts = at.timestamp_millis() as f64 / 1000.0;
        let results = self
            .keys
            .iter()
            .map(|k| Ok(self.vector(k, gen, ts, &req.clusters)))
            .collect();
        PollResult {
            taken_at: at,
            metrics: Ok(results),
            alerts: Some(merge_alerts(vec![(
                "synthetic".into(),
                Ok(self.alerts(at, &req.clusters)),
            )])),
            sparks: None,
            sources: Vec::new(),
            dead_mans_switch: None,
        }
    }

    /// One host's history: the values it had at each step (one generation a second).
    pub fn range_at(&self, req: &crate::model::RangeRequest) -> Vec<crate::model::RangeSeries> {
        let Some(h) = self
            .hosts
            .iter()
            .find(|h| h.name == req.host && h.cluster == req.cluster)
        else {
            return Vec::new();
        };
        let step = req.step.as_secs().max(1);
        let (start, end) = (req.start.timestamp(), req.end.timestamp());
        let mut points = Vec::new();
        let mut t = start - start.rem_euclid(i64::try_from(step).unwrap_or(1));
        while t <= end && points.len() < 11_000 {
            if t >= start {
                if let Some(v) = Self::value(h, &req.metric, u64::try_from(t).unwrap_or(0)) {
                    #[allow(clippy::cast_precision_loss)]
                    points.push((t as f64, v));
                }
            }
            t += i64::try_from(step).unwrap_or(1);
        }
        if points.is_empty() {
            return Vec::new();
        }
        vec![crate::model::RangeSeries {
            labels: Self::labels(h, &req.metric),
            points,
        }]
    }
}

impl FleetSource for SyntheticSource {
    fn describe(&self) -> String {
        format!("synthetic ({} hosts)", self.hosts.len())
    }

    fn poll<'a>(&'a self, req: &'a PollRequest, now: DateTime<Utc>) -> BoxFuture<'a, PollResult> {
        // One refresh per whole second of the clock: values move with time, as they would.
        let gen = u64::try_from(now.timestamp()).unwrap_or(0);
        Box::pin(async move { self.poll_gen(req, now, gen) })
    }

    fn history<'a>(
        &'a self,
        req: &'a crate::model::RangeRequest,
    ) -> BoxFuture<'a, Result<Vec<crate::model::RangeSeries>, crate::model::SourceError>> {
        Box::pin(async move { Ok(self.range_at(req)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::metrics::mysql_preset;

    fn keys() -> Vec<String> {
        mysql_preset("instance", "cluster")
            .metrics
            .iter()
            .map(|m| m.key.clone())
            .collect()
    }

    #[test]
    fn shapes_and_sizes() {
        let s = SyntheticSource::new(3000, keys());
        assert_eq!(s.len(), 3000);
        let up = s.samples("up", 0, 0.0);
        assert_eq!(up.len(), 3000);
        assert_eq!(up[0].labels["__name__"], "mysql_up");
        let lag = s.samples("lag", 0, 0.0);
        assert!(lag.len() < 2000 && lag.len() > 1800, "{}", lag.len());
        assert!(lag[0].labels.contains_key("master_host"));
        let body = s.instant_body("lag", 0, 1.5);
        let parsed = crate::sources::prometheus::parse_instant(body.as_bytes())
            .expect("parses")
            .to_samples();
        assert_eq!(
            parsed,
            lag.iter()
                .map(|x| Sample {
                    ts: 1.5,
                    ..x.clone()
                })
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn vector_matches_samples_and_filters_clusters() {
        let s = SyntheticSource::new(300, keys());
        assert_eq!(
            s.vector("lag", 3, 1.0, &[]).to_samples(),
            s.samples("lag", 3, 1.0)
        );
        let only = vec!["orders-0001".to_string()];
        let v = s.vector("up", 3, 1.0, &only);
        assert_eq!(v.len(), 3);
        assert!(v.iter().all(|x| x.label("cluster") == Some("orders-0001")));
    }

    #[test]
    fn only_the_churn_share_changes() {
        let s = SyntheticSource::new(5000, keys());
        let a = s.samples("load", 1, 0.0);
        let b = s.samples("load", 2, 0.0);
        let changed = a.iter().zip(&b).filter(|(x, y)| x.value != y.value).count();
        assert!((20..=80).contains(&changed), "{changed}");
    }
}
