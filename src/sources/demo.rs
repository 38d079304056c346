//! A simulated fleet: three MySQL clusters, about forty hosts, values that drift, one
//! replica falling behind, one server down and a few alerts; on a board that reads
//! PostgreSQL too, a PostgreSQL cluster with a cascading replica and one replica cut off from
//! its primary (its exporter's lag still reads 0). It answers through the
//! same [`FleetSource`] interface as Prometheus, with the same label shapes as the
//! real exporters, so the demo exercises the real merge and health code.

use std::collections::BTreeMap;
use std::f64::consts::TAU;

use chrono::{DateTime, TimeZone, Utc};
use futures::future::BoxFuture;

use std::sync::Arc;

use super::poll::{merge_alerts, FleetSource, PollRequest, PollResult};
use super::silences::{DemoSilences, SilenceBackend};
use crate::model::{
    Alert, AlertState, Labels, RangeRequest, RangeSeries, Sample, Severity, SourceError,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trouble {
    None,
    /// A replica whose lag climbs in a 15-minute sawtooth, up to 10 minutes.
    FallingBehind,
    Down,
    SqlStopped,
    Connections,
    /// High load, with its alert silenced for maintenance.
    LoadMuted,
    /// A PostgreSQL replica cut off from its primary: no WAL receiver, no walsender row on
    /// the primary, its slot there inactive, and the exporter's lag at 0.
    NotStreaming,
}

#[derive(Debug, Clone)]
struct DemoHost {
    cluster: &'static str,
    name: String,
    server_id: u32,
    /// Server id of its primary; `None` for a primary.
    source: Option<u32>,
    trouble: Trouble,
    phase: f64,
    postgres: bool,
}

/// The demo fleet.
pub struct DemoSource {
    hosts: Vec<DemoHost>,
    keys: Vec<String>,
    host_label: String,
    cluster_label: String,
    /// Silences made from the board; they suppress matching demo alerts.
    silences: Arc<DemoSilences>,
}

const CLUSTERS: [(&str, usize); 3] = [("payments", 16), ("orders", 14), ("analytics", 10)];
/// The PostgreSQL cluster, on boards whose metrics read PostgreSQL.
const PG_CLUSTER: (&str, usize) = ("ledger", 5);

impl DemoSource {
    /// `keys` are the metric keys of the board, in order; keys the demo does not know
    /// get empty results, like a query that matches nothing.
    pub fn new(keys: Vec<String>, host_label: &str, cluster_label: &str) -> Self {
        let mut hosts = Vec::new();
        let mut sid = 1u32;
        for (cluster, n) in CLUSTERS {
            let primary = sid;
            for i in 1..=n {
                let name = format!("{cluster}-db{i:02}");
                let trouble = match (cluster, i) {
                    ("orders", 7) => Trouble::FallingBehind,
                    ("payments", 9) => Trouble::Down,
                    ("analytics", 6) => Trouble::SqlStopped,
                    ("orders", 3) => Trouble::Connections,
                    ("analytics", 4) => Trouble::LoadMuted,
                    _ => Trouble::None,
                };
                hosts.push(DemoHost {
                    cluster,
                    name,
                    server_id: sid,
                    source: (i > 1).then_some(primary),
                    trouble,
                    phase: f64::from(sid) * 0.37,
                    postgres: false,
                });
                sid += 1;
            }
        }
        if keys.iter().any(|k| k == "walsenders" || k == "streaming") {
            let (cluster, n) = PG_CLUSTER;
            let primary = sid;
            for i in 1..=n {
                hosts.push(DemoHost {
                    cluster,
                    name: format!("{cluster}-pg{i:02}"),
                    server_id: sid,
                    // pg04 cascades from pg02
                    source: match i {
                        1 => None,
                        4 => Some(primary + 1),
                        _ => Some(primary),
                    },
                    trouble: if i == 3 {
                        Trouble::NotStreaming
                    } else {
                        Trouble::None
                    },
                    phase: f64::from(sid) * 0.37,
                    postgres: true,
                });
                sid += 1;
            }
        }
        let muted = hosts
            .iter()
            .find(|h| h.trouble == Trouble::LoadMuted)
            .map_or_else(String::new, |h| h.name.clone());
        Self {
            hosts,
            keys,
            host_label: host_label.to_string(),
            cluster_label: cluster_label.to_string(),
            silences: Arc::new(DemoSilences::new(host_label, &muted, Utc::now)),
        }
    }

    fn labels(&self, h: &DemoHost, port: u16, job: &str) -> Labels {
        let (port, job) = match (h.postgres, job) {
            (true, "mysql") => (9187, "postgres"),
            _ => (port, job),
        };
        let mut l = BTreeMap::new();
        l.insert(self.host_label.clone(), format!("{}:{port}", h.name));
        l.insert(self.cluster_label.clone(), h.cluster.to_string());
        l.insert("job".into(), job.into());
        l
    }

    /// Value of metric `key` for host `h` at unix time `t`; `None` when the real
    /// exporter would have no series.
    #[allow(clippy::too_many_lines)]
    fn value(&self, h: &DemoHost, key: &str, t: f64) -> Option<f64> {
        let wave = |period: f64| (TAU * t / period + h.phase).sin();
        let down = h.trouble == Trouble::Down;
        let replica = h.source.is_some();
        let sql_stopped = h.trouble == Trouble::SqlStopped;
        if h.postgres {
            return self.pg_value(h, key, t);
        }
        match key {
            "up" => Some(if down { 0.0 } else { 1.0 }),
            "lag" => {
                if down || !replica || sql_stopped {
                    return None;
                }
                Some(if h.trouble == Trouble::FallingBehind {
                    (t % 900.0) / 900.0 * 600.0
                } else {
                    (1.5 * wave(97.0) + 0.5).max(0.0).floor()
                })
            }
            "io_running" if !down && replica => Some(1.0),
            "sql_running" if !down && replica => Some(if sql_stopped { 0.0 } else { 1.0 }),
            "master_server_id" if !down => h.source.map(f64::from),
            "server_id" if !down => Some(f64::from(h.server_id)),
            "read_only" if !down => Some(if replica { 1.0 } else { 0.0 }),
            "connections" if !down => Some(if h.trouble == Trouble::Connections {
                0.87 + 0.08 * wave(240.0)
            } else {
                0.18 + 0.1 * wave(600.0) + if replica { 0.0 } else { 0.15 }
            }),
            "load" => Some(if h.trouble == Trouble::LoadMuted {
                1.5 + 0.3 * wave(180.0)
            } else if down {
                0.02
            } else {
                (0.35 + 0.2 * wave(300.0) + if replica { 0.0 } else { 0.2 }).max(0.01)
            }),
            "qps" if !down => {
                let base = if replica { 300.0 } else { 1800.0 };
                Some((base * (1.0 + 0.3 * wave(600.0))).max(0.0))
            }
            _ => None,
        }
    }

    /// A PostgreSQL server's value of metric `key`, as postgres_exporter's series give it.
    fn pg_value(&self, h: &DemoHost, key: &str, t: f64) -> Option<f64> {
        let wave = |period: f64| (TAU * t / period + h.phase).sin();
        let replica = h.source.is_some();
        let cut = h.trouble == Trouble::NotStreaming;
        match key {
            "up" => Some(1.0),
            // 0 on the primary and on the cut replica: it replayed all it received
            "lag" => Some(if replica && !cut {
                (1.2 * wave(83.0) + 0.4).max(0.0).floor()
            } else {
                0.0
            }),
            "streaming" if replica && !cut => Some(1.0),
            "read_only" => Some(if replica { 1.0 } else { 0.0 }),
            "connections" => Some(0.22 + 0.08 * wave(500.0) + if replica { 0.0 } else { 0.2 }),
            "load" => Some((0.3 + 0.15 * wave(280.0)).max(0.01)),
            "qps" => Some(if replica {
                0.0
            } else {
                420.0 * (1.0 + 0.25 * wave(600.0))
            }),
            // the primary keeps the cut replica's slot, now unused
            "slots_inactive" => Some(if replica {
                0.0
            } else {
                f64::from(u8::from(self.hosts.iter().any(|x| {
                    x.postgres
                        && x.trouble == Trouble::NotStreaming
                        && x.source == Some(h.server_id)
                })))
            }),
            "apply_delay" if replica => Some(0.0),
            "replay_age" if replica => Some(if cut { 60.0 + t % 600.0 } else { 0.4 }),
            _ => None,
        }
    }

    /// `pg_stat_replication` rows: one per replica streaming from each server (none for the
    /// cut replica).
    fn walsenders(&self, clusters: &[String], t: f64) -> Vec<Sample> {
        let mut out = Vec::new();
        for r in self
            .hosts
            .iter()
            .filter(|h| h.postgres && in_filter(h, clusters))
        {
            let Some(src) = r.source else { continue };
            if r.trouble == Trouble::NotStreaming {
                continue;
            }
            let Some(sender) = self.hosts.iter().find(|x| x.server_id == src) else {
                continue;
            };
            let mut labels = self.labels(sender, 9187, "postgres");
            labels.insert("application_name".into(), r.name.clone());
            labels.insert("client_addr".into(), "10.0.4.17".into());
            labels.insert("state".into(), "streaming".into());
            out.push(Sample {
                labels,
                value: 0.0,
                ts: t,
            });
        }
        out
    }

    fn alerts(&self, t: f64, clusters: &[String]) -> Vec<Alert> {
        let mut out = Vec::new();
        for h in self.hosts.iter().filter(|h| in_filter(h, clusters)) {
            let mut push = |name: &str, severity: &str, summary: String, since: f64| {
                let mut labels = self.labels(h, 9104, "mysql");
                labels.insert("alertname".into(), name.into());
                labels.insert("severity".into(), severity.into());
                let mut ann = BTreeMap::new();
                ann.insert("summary".into(), summary);
                out.push(Alert {
                    fingerprint: format!("{:016x}", fnv(&format!("{name}/{}", h.name))),
                    severity: Severity::from_label(labels.get("severity").map(String::as_str)),
                    labels,
                    annotations: ann,
                    state: AlertState::Active,
                    silenced_by: Vec::new(),
                    inhibited_by: Vec::new(),
                    starts_at: ts(t - since),
                    generator_url: None,
                });
            };
            match h.trouble {
                Trouble::Down => push(
                    "MySQLDown",
                    "critical",
                    format!("MySQL is down on {} ({})", h.name, h.cluster),
                    1260.0,
                ),
                Trouble::SqlStopped => push(
                    "MySQLReplicationStopped",
                    "critical",
                    format!("Replication stopped on {} ({})", h.name, h.cluster),
                    420.0,
                ),
                Trouble::Connections => push(
                    "MySQLTooManyConnections",
                    "warning",
                    format!("More than 80% of max_connections in use on {}", h.name),
                    900.0,
                ),
                Trouble::LoadMuted => push(
                    "NodeHighLoad",
                    "warning",
                    format!("Load per core above 1.2 on {} (reindexing)", h.name),
                    3000.0,
                ),
                Trouble::FallingBehind => {
                    let lag = t % 900.0 / 900.0 * 600.0;
                    if lag > 60.0 {
                        push(
                            "MySQLReplicationLagHigh",
                            "warning",
                            format!("{} is {:.0}s behind its primary", h.name, lag),
                            (lag - 60.0) * 1.5,
                        );
                    }
                }
                Trouble::None | Trouble::NotStreaming => {}
            }
        }
        if let Some(at) = ts(t) {
            self.silences.apply(&mut out, at);
        }
        out
    }

    /// The fleet's data at one moment, without any I/O (tests and benchmarks use it).
    pub fn poll_at(&self, req: &PollRequest, now: DateTime<Utc>) -> PollResult {
        let at = req.at.unwrap_or(now);
        #[allow(clippy::cast_precision_loss)]
        let t = at.timestamp_millis() as f64 / 1000.0;
        let results = self
            .keys
            .iter()
            .map(|k| {
                if k == "walsenders" {
                    return Ok(self.walsenders(&req.clusters, t).into());
                }
                let node = k == "load";
                Ok(self
                    .hosts
                    .iter()
                    .filter(|h| in_filter(h, &req.clusters))
                    .filter_map(|h| {
                        let v = self.value(h, k, t)?;
                        let mut labels = if node {
                            self.labels(h, 9100, "node")
                        } else {
                            self.labels(h, 9104, "mysql")
                        };
                        if k == "up" {
                            // the engine of a host is read from its up series' name
                            let name = if h.postgres { "pg_up" } else { "mysql_up" };
                            labels.insert("__name__".into(), name.into());
                        }
                        Some(Sample {
                            labels,
                            value: v,
                            ts: t,
                        })
                    })
                    .collect::<Vec<_>>()
                    .into())
            })
            .collect();
        PollResult {
            taken_at: at,
            metrics: Ok(results),
            alerts: Some(merge_alerts(vec![(
                "demo".into(),
                Ok(self.alerts(t, &req.clusters)),
            )])),
            sparks: req
                .sparkline
                .as_ref()
                .map(|sq| Ok(self.sparks(sq, at, &req.clusters))),
            sources: Vec::new(),
            dead_mans_switch: None,
        }
    }

    /// Every host's short history of one metric (tile sparklines).
    fn sparks(
        &self,
        sq: &super::SparkQuery,
        end: DateTime<Utc>,
        clusters: &[String],
    ) -> Vec<RangeSeries> {
        let start = end - chrono::Duration::from_std(sq.window).unwrap_or_default();
        self.hosts
            .iter()
            .filter(|h| in_filter(h, clusters))
            .flat_map(|h| {
                self.range_at(&RangeRequest {
                    metric: sq.metric.clone(),
                    expr: String::new(),
                    cluster: h.cluster.to_string(),
                    host: h.name.clone(),
                    source: None,
                    start,
                    end,
                    step: sq.step,
                })
            })
            .collect()
    }
}

impl DemoSource {
    /// The history of one metric of one host, computed like the live values.
    pub fn range_at(&self, req: &RangeRequest) -> Vec<RangeSeries> {
        let Some(h) = self
            .hosts
            .iter()
            .find(|h| h.name == req.host && h.cluster == req.cluster)
        else {
            return Vec::new();
        };
        let step = req.step.as_secs_f64().max(1.0);
        #[allow(clippy::cast_precision_loss)]
        let (start, end) = (
            req.start.timestamp_millis() as f64 / 1000.0,
            req.end.timestamp_millis() as f64 / 1000.0,
        );
        let mut points = Vec::new();
        let mut t = (start / step).ceil() * step;
        while t <= end && points.len() < 11_000 {
            if let Some(v) = self.value(h, &req.metric, t) {
                points.push((t, v));
            }
            t += step;
        }
        if points.is_empty() {
            return Vec::new();
        }
        let port = if req.metric == "load" { 9100 } else { 9104 };
        vec![RangeSeries {
            labels: self.labels(h, port, "mysql"),
            points,
        }]
    }
}

fn in_filter(h: &DemoHost, clusters: &[String]) -> bool {
    clusters.is_empty() || clusters.iter().any(|c| c == h.cluster)
}

fn ts(t: f64) -> Option<DateTime<Utc>> {
    #[allow(clippy::cast_possible_truncation)]
    Utc.timestamp_millis_opt((t * 1000.0) as i64).single()
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl FleetSource for DemoSource {
    fn describe(&self) -> String {
        "demo (simulated fleet)".into()
    }

    fn poll<'a>(&'a self, req: &'a PollRequest, now: DateTime<Utc>) -> BoxFuture<'a, PollResult> {
        Box::pin(async move { self.poll_at(req, now) })
    }

    fn history<'a>(
        &'a self,
        req: &'a RangeRequest,
    ) -> BoxFuture<'a, Result<Vec<RangeSeries>, SourceError>> {
        Box::pin(async move { Ok(self.range_at(req)) })
    }

    fn silences(&self) -> Option<Arc<dyn SilenceBackend>> {
        Some(self.silences.clone())
    }
}
