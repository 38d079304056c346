//! History charts of the host panel: which range queries to send, and their results.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::{Direction, HostId, Identity, MetricSet, RangeRequest, RangeSeries};
use crate::sources::query::{expand_for_host_in, label_ref};

/// Chart windows: `1`..`5` pick one, `+`/`-` step through them.
pub const WINDOWS: [(&str, u64); 5] = [
    ("5m", 300),
    ("15m", 900),
    ("1h", 3600),
    ("6h", 21_600),
    ("24h", 86_400),
];

/// Default window: 15 minutes.
pub const DEFAULT_WINDOW: usize = 1;

/// Prometheus refuses range queries of more than 11,000 points per series.
const MAX_POINTS: u64 = 11_000;

/// One chart's data: host, metric, window and where the window ends.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HistoryKey {
    /// The host whose panel shows the chart.
    pub host: HostId,
    /// Key of the charted metric in the metric set.
    pub metric: String,
    /// Length of the chart window, in seconds (one of [`WINDOWS`]).
    pub window: u64,
    /// Replay end (unix seconds); `None` for live.
    pub end: Option<i64>,
}

/// Points of one chart; gaps are kept as gaps (missing steps, NaN, ±Inf).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HistoryEntry {
    /// `(unix seconds, value)` points of the host (see [`points_of`]), in time order.
    pub points: Vec<(f64, f64)>,
    /// Start of the range asked for, in unix seconds.
    pub start: f64,
    /// End of the range asked for, in unix seconds.
    pub end: f64,
    /// Time between points, in seconds; [`runs`] splits the chart where points are further
    /// apart.
    pub step: f64,
    /// A query for this chart is in flight; until it answers the chart shows what it had.
    pub loading: bool,
    /// Why the last query failed, shown beside the points of an earlier answer; `None`
    /// once a query succeeds.
    pub error: Option<String>,
    /// Whether any data arrived yet.
    pub loaded: bool,
}

/// A chart's data as the runtime delivers it: points, start, end, step (seconds);
/// or the error text.
pub type HistoryResult = Result<(Vec<(f64, f64)>, f64, f64, f64), String>;

/// One fetch to perform.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryFetch {
    /// The chart the answer is for, and its place in the [`HistoryCache`].
    pub key: HistoryKey,
    /// The range query to send to Prometheus, narrowed to the host when the expression
    /// allows it.
    pub req: RangeRequest,
    /// The expression is not narrowed to the host on the server: keep only its series.
    pub filter_host: Option<(Identity, HostId)>,
    /// Other names of the host's scrape targets ([`crate::model::Host::aliases`]): their
    /// series are the host's too.
    pub aliases: Vec<String>,
    /// The lag metric reads a pt-heartbeat table: keep only the rows of these writers
    /// (`server_id`), the ones the board reads the host's lag from, each less its age on
    /// its writer (see [`crate::model::Host::heartbeat_from`]). Empty: every series.
    pub heartbeat_from: Vec<(u64, f64)>,
}

/// Which of a host's naming labels its series carry as `exported_<label>`: they were
/// scraped again (see [`Identity::key_parts_of`]), and a chart asks for them by those names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rescraped {
    /// The host is named by `exported_<host label>`.
    pub host: bool,
    /// Its cluster by `exported_<cluster label>`.
    pub cluster: bool,
}

impl Rescraped {
    /// What the host's labels tell.
    pub fn of(labels: &crate::model::HostLabels, ident: &Identity) -> Self {
        let has = |l: &str| labels.get(&crate::model::exported(l)).is_some();
        let host = has(&ident.host_label);
        Self {
            host,
            cluster: host && has(&ident.cluster_label),
        }
    }

    /// The expression with its host (and cluster) matchers on the `exported_` labels.
    fn rename(self, expr: &str, ident: &Identity) -> String {
        let mut e = expr.to_string();
        for (on, label, placeholder) in [
            (self.host, &ident.host_label, "$host"),
            (self.cluster, &ident.cluster_label, "$cluster"),
        ] {
            if on {
                let matcher = |l: &str| format!("{}=~\"{placeholder}\"", label_ref(l));
                e = e.replace(&matcher(label), &matcher(&crate::model::exported(label)));
            }
        }
        e
    }
}

/// Step so that the number of points fits the chart width (and Prometheus' limit).
pub fn step_for(window: u64, width: u16) -> Duration {
    let cols = u64::from(width.max(10));
    let step = window.div_ceil(cols).max(1);
    let step = step.max(window.div_ceil(MAX_POINTS));
    Duration::from_secs(step)
}

/// Range queries for the charts of one host. `unique_name`: no other cluster has a host of
/// this name (its series without the cluster label are its own).
#[allow(clippy::too_many_arguments)]
pub fn requests(
    set: &MetricSet,
    ident: &Identity,
    host: &HostId,
    window: u64,
    end: DateTime<Utc>,
    replay: bool,
    width: u16,
    unique_name: bool,
    aliases: &[String],
    rescraped: Rescraped,
) -> Vec<HistoryFetch> {
    // A host whose name is unique also owns the series of that name without the cluster
    // label (PMM's node series), as on the board.
    let clusters: Vec<String> = if unique_name {
        vec![host.cluster.clone(), String::new()]
    } else {
        vec![host.cluster.clone()]
    };
    let names: Vec<&str> = std::iter::once(host.name.as_str())
        .chain(aliases.iter().map(String::as_str))
        .collect();
    // A server named with its port shares its machine with others (see
    // `fleet::join::servers_apart_by_port`): the machine's metrics (node_exporter's load)
    // are asked for by the machine's name, its own by its full name.
    let machine = [ident.host_name_ref(&host.name)];
    let machine = (machine[0].len() != host.name.len()).then_some(&machine[..]);
    let step = step_for(window, width);
    let start = end - chrono::Duration::seconds(i64::try_from(window).unwrap_or(i64::MAX / 2));
    set.metrics
        .iter()
        .filter(|m| m.chart)
        .map(|m| {
            let expr = rescraped.rename(&m.expr, ident);
            let names = match machine {
                Some(machine) if m.engine.is_none() => machine,
                _ => &names[..],
            };
            let (expr, narrowed) = expand_for_host_in(&expr, &clusters, names, ident.strip_port);
            HistoryFetch {
                key: HistoryKey {
                    host: host.clone(),
                    metric: m.key.clone(),
                    window,
                    end: replay.then(|| end.timestamp()),
                },
                req: RangeRequest {
                    metric: m.key.clone(),
                    expr,
                    cluster: host.cluster.clone(),
                    host: host.name.clone(),
                    source: None,
                    start,
                    end,
                    step,
                },
                filter_host: (!narrowed).then(|| (ident.clone(), host.clone())),
                aliases: aliases.to_vec(),
                heartbeat_from: Vec::new(),
            }
        })
        .collect()
}

/// Reduces a range answer to the host's points: its series only (when the server did
/// not narrow), the pt-heartbeat rows of `heartbeat_from` only (when it is not empty), and
/// the worst value per timestamp when several series remain (multi-source replication).
pub fn points_of(
    series: Vec<RangeSeries>,
    filter: Option<&(Identity, HostId)>,
    aliases: &[String],
    heartbeat_from: &[(u64, f64)],
    direction: Direction,
) -> Vec<(f64, f64)> {
    let mut keep: Vec<RangeSeries> = series
        .into_iter()
        .filter(|s| {
            filter.is_none_or(|(ident, id)| {
                let key = ident.key_raw_of(crate::model::pairs(&s.labels));
                key.is_some_and(|(c, raw)| {
                    let h = ident.host_name_ref(raw);
                    // a server named with its port (one of several on its machine) too
                    (h == id.name || raw == id.name || aliases.iter().any(|a| a == h))
                        && (c == id.cluster || c == crate::model::NO_CLUSTER)
                })
            })
        })
        .filter_map(|mut s| {
            if heartbeat_from.is_empty() {
                return Some(s);
            }
            let Some(w) = s
                .labels
                .get("server_id")
                .and_then(|w| w.parse::<u64>().ok())
            else {
                return Some(s);
            };
            let (_, age) = heartbeat_from.iter().find(|(x, _)| *x == w)?;
            if *age != 0.0 {
                for p in &mut s.points {
                    if !p.1.is_nan() {
                        p.1 = (p.1 - age).max(0.0);
                    }
                }
            }
            Some(s)
        })
        .collect();
    if keep.len() <= 1 {
        return keep.pop().map(|s| s.points).unwrap_or_default();
    }
    let mut by_t: std::collections::BTreeMap<i64, f64> = std::collections::BTreeMap::new();
    for s in keep {
        for (t, v) in s.points {
            #[allow(clippy::cast_possible_truncation)]
            let k = (t * 1000.0).round() as i64;
            by_t.entry(k)
                .and_modify(|old| {
                    *old = match direction {
                        _ if old.is_nan() => v,
                        _ if v.is_nan() => *old,
                        Direction::Higher => old.max(v),
                        Direction::Lower => old.min(v),
                    };
                })
                .or_insert(v);
        }
    }
    #[allow(clippy::cast_precision_loss)]
    by_t.into_iter()
        .map(|(k, v)| (k as f64 / 1000.0, v))
        .collect()
}

/// Splits points into runs without gaps: a missing step, NaN or an infinity ends a run.
pub fn runs(points: &[(f64, f64)], step: f64) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut cur: Vec<(f64, f64)> = Vec::new();
    let mut last_t: Option<f64> = None;
    for &(t, v) in points {
        let gap = last_t.is_some_and(|lt| t - lt > step * 1.5);
        if (!v.is_finite() || gap) && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        if v.is_finite() {
            cur.push((t, v));
            last_t = Some(t);
        } else {
            last_t = None;
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The cache of chart data, bounded so that a wall monitor flipping through hosts for
/// days does not grow.
#[derive(Debug, Default)]
pub struct HistoryCache {
    entries: HashMap<HistoryKey, (u64, HistoryEntry)>,
    clock: u64,
}

const CACHE_MAX: usize = 96;

impl HistoryCache {
    /// The data of one chart; `None` if it was never asked for or has been evicted.
    pub fn get(&self, k: &HistoryKey) -> Option<&HistoryEntry> {
        self.entries.get(k).map(|(_, e)| e)
    }

    /// Charts held: at most 96, the one least recently fetched is dropped first.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No chart is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn touch(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// Marks a chart as loading, keeping what it showed until the answer comes.
    pub fn start(&mut self, k: &HistoryKey) {
        let c = self.touch();
        let e = self.entries.entry(k.clone()).or_default();
        e.0 = c;
        e.1.loading = true;
        self.evict();
    }

    /// Stores a chart's answer: the new points, or the error beside the points it had.
    /// Either way the chart is no longer loading.
    pub fn finish(&mut self, k: HistoryKey, r: HistoryResult) {
        let c = self.touch();
        let e = self.entries.entry(k).or_default();
        e.0 = c;
        e.1.loading = false;
        match r {
            Ok((points, start, end, step)) => {
                e.1.points = points;
                e.1.start = start;
                e.1.end = end;
                e.1.step = step;
                e.1.error = None;
                e.1.loaded = true;
            }
            Err(err) => e.1.error = Some(err),
        }
        self.evict();
    }

    /// Requests in flight were cancelled (the panel closed).
    pub fn cancel_loading(&mut self) {
        for (_, e) in self.entries.values_mut() {
            e.loading = false;
        }
    }

    fn evict(&mut self) {
        while self.entries.len() > CACHE_MAX {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (c, _))| *c)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => {
                    self.entries.remove(&k);
                }
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::metrics::mysql_preset;

    #[test]
    fn step_fits_width_and_limit() {
        assert_eq!(step_for(900, 60), Duration::from_secs(15));
        assert_eq!(step_for(300, 100), Duration::from_secs(3));
        assert_eq!(step_for(86_400, 60), Duration::from_secs(1440));
        assert_eq!(step_for(60, 500), Duration::from_secs(1));
        // Never more points than the chart is wide.
        for w in [10u16, 37, 80, 333] {
            for (_, win) in WINDOWS {
                let s = step_for(win, w).as_secs();
                assert!(win / s <= u64::from(w), "{win}s / {s}s > {w}");
            }
        }
    }

    /// The chart requests of a 15-minute window, 60 columns wide, for `cluster/name`.
    fn chart_requests(
        host_label: &str,
        cluster: &str,
        name: &str,
        unique_name: bool,
        aliases: &[String],
    ) -> Vec<HistoryFetch> {
        chart_requests_of(
            host_label,
            cluster,
            name,
            unique_name,
            aliases,
            Rescraped::default(),
        )
    }

    /// [`chart_requests`] for a host whose series may have been scraped again.
    fn chart_requests_of(
        host_label: &str,
        cluster: &str,
        name: &str,
        unique_name: bool,
        aliases: &[String],
        rescraped: Rescraped,
    ) -> Vec<HistoryFetch> {
        let host = HostId {
            cluster: cluster.into(),
            name: name.into(),
        };
        let end = crate::testing::fixed_time();
        let set = mysql_preset(host_label, "cluster");
        let ident = Identity::default();
        requests(
            &set,
            &ident,
            &host,
            900,
            end,
            false,
            60,
            unique_name,
            aliases,
            rescraped,
        )
    }

    #[test]
    fn one_request_per_chart_metric_narrowed_to_the_host() {
        let r = chart_requests("instance", "payments", "db2", false, &[]);
        let keys: Vec<_> = r.iter().map(|f| f.key.metric.as_str()).collect();
        assert_eq!(keys, vec!["lag", "connections", "load", "qps"]);
        for f in &r {
            assert!(
                f.req.expr.contains("instance=~\"db2(:[0-9]+)?\""),
                "{}",
                f.req.expr
            );
            assert!(
                f.req.expr.contains("cluster=~\"payments\""),
                "{}",
                f.req.expr
            );
            assert!(f.filter_host.is_none());
            assert_eq!((f.req.end - f.req.start).num_seconds(), 900);
            assert_eq!(f.req.step, Duration::from_secs(15));
        }
    }

    /// A host named by `exported_instance` (its series passed on by a federating
    /// Prometheus) is charted by that label, its cluster too when that was renamed.
    #[test]
    fn charts_of_a_rescraped_host_ask_for_its_exported_labels() {
        let host = HostId {
            cluster: "shop".into(),
            name: "db2".into(),
        };
        let ident = Identity::default();
        let ask = |rescraped| chart_requests_of("instance", "shop", "db2", false, &[], rescraped);
        for f in ask(Rescraped {
            host: true,
            cluster: false,
        }) {
            let e = &f.req.expr;
            assert!(e.contains("exported_instance=~\"db2(:[0-9]+)?\""), "{e}");
            assert!(!e.contains(",instance=~"), "{e}");
            assert!(e.contains("{cluster=~\"shop\""), "{e}");
        }
        for f in ask(Rescraped {
            host: true,
            cluster: true,
        }) {
            assert!(
                f.req.expr.contains("{exported_cluster=~\"shop\""),
                "{}",
                f.req.expr
            );
        }
        // the client-side filter reads the same labels
        let series = |pairs: &[(&str, &str)]| RangeSeries {
            labels: pairs
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
            points: vec![(0.0, 1.0)],
        };
        let kept = points_of(
            vec![
                series(&[
                    ("cluster", "shop"),
                    ("instance", "prom-eu:9090"),
                    ("exported_instance", "db2:9104"),
                ]),
                series(&[("cluster", "shop"), ("instance", "db2:9104")]),
            ],
            Some(&(ident.clone(), host.clone())),
            &[],
            &[],
            Direction::Higher,
        );
        assert_eq!(kept, vec![(0.0, 1.0)]);
    }

    /// A server named with its port (one of several on its machine) charts its own metrics
    /// by its full name and the machine's load by the machine's name.
    #[test]
    fn a_server_named_with_its_port_charts_its_machines_load() {
        let r = chart_requests("instance", "shop", "mon1:9105", false, &[]);
        let expr = |k: &str| {
            &r.iter()
                .find(|f| f.key.metric == k)
                .expect("a chart of that metric")
                .req
                .expr
        };
        assert!(
            expr("lag").contains("instance=~\"mon1:9105(:[0-9]+)?\""),
            "{}",
            expr("lag")
        );
        assert!(
            expr("load").contains("instance=~\"mon1(:[0-9]+)?\""),
            "{}",
            expr("load")
        );
    }

    /// A host whose node_exporter target goes by its fully qualified name charts it too.
    #[test]
    fn history_follows_the_host_aliases() {
        let host = HostId {
            cluster: "shop".into(),
            name: "db1".into(),
        };
        let aliases = ["db1.prod.example.com".to_string()];
        let r = chart_requests("instance", "shop", "db1", false, &aliases);
        let load = r.iter().find(|f| f.key.metric == "load").expect("load");
        assert!(
            load.req
                .expr
                .contains(r#"instance=~"(?:db1|db1\\.prod\\.example\\.com)(:[0-9]+)?""#),
            "{}",
            load.req.expr
        );
        // Kept by the client too, when the server cannot narrow.
        let series = |i: &str| RangeSeries {
            labels: [("instance", i), ("cluster", "shop")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            points: vec![(1.0, 2.0)],
        };
        let f = (Identity::default(), host.clone());
        assert_eq!(
            points_of(
                vec![series("db1.prod.example.com:9100"), series("db9:9100")],
                Some(&f),
                &aliases,
                &[],
                Direction::Higher
            ),
            vec![(1.0, 2.0)]
        );
        assert!(points_of(
            vec![series("db9:9100")],
            Some(&f),
            &aliases,
            &[],
            Direction::Higher
        )
        .is_empty());
    }

    /// A unique name also reads series without the cluster label (PMM's node series).
    #[test]
    fn unique_host_history_includes_series_without_cluster() {
        let r = chart_requests("node_name", "payments", "db2", true, &[]);
        let load = r.iter().find(|f| f.key.metric == "load").expect("load");
        assert!(
            load.req
                .expr
                .contains("node_load1{cluster=~\"payments|\",node_name=~\"db2(:[0-9]+)?\"}"),
            "{}",
            load.req.expr
        );
    }

    #[test]
    fn gaps_split_runs() {
        let p = vec![
            (0.0, 1.0),
            (15.0, 2.0),
            (30.0, f64::NAN),
            (45.0, 3.0),
            (90.0, 4.0),
            (105.0, f64::INFINITY),
        ];
        let r = runs(&p, 15.0);
        assert_eq!(
            r,
            vec![
                vec![(0.0, 1.0), (15.0, 2.0)],
                vec![(45.0, 3.0)],
                vec![(90.0, 4.0)]
            ]
        );
    }

    #[test]
    fn client_side_filter_and_worst_merge() {
        let l = |i: &str| -> crate::model::Labels {
            [
                ("instance".to_string(), i.to_string()),
                ("cluster".to_string(), "c".to_string()),
            ]
            .into_iter()
            .collect()
        };
        let s = vec![
            RangeSeries {
                labels: l("a:9104"),
                points: vec![(1.0, 1.0), (2.0, 5.0)],
            },
            RangeSeries {
                labels: l("a:9105"),
                points: vec![(1.0, 3.0), (2.0, 2.0)],
            },
            RangeSeries {
                labels: l("b:9104"),
                points: vec![(1.0, 99.0)],
            },
        ];
        let f = (
            Identity::default(),
            HostId {
                cluster: "c".into(),
                name: "a".into(),
            },
        );
        assert_eq!(
            points_of(s, Some(&f), &[], &[], Direction::Higher),
            vec![(1.0, 3.0), (2.0, 5.0)]
        );
    }

    #[test]
    fn lag_chart_keeps_the_heartbeat_rows_the_tile_reads() {
        let row = |w: &str, pts: Vec<(f64, f64)>| RangeSeries {
            labels: [("instance", "a:9104"), ("cluster", "c"), ("server_id", w)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            points: pts,
        };
        // Row 9 is a former primary's: it stopped moving a day ago.
        let s = || {
            vec![
                row("9", vec![(1.0, 86_400.0), (2.0, 86_401.0)]),
                row("2", vec![(1.0, 0.5), (2.0, 1.5)]),
            ]
        };
        assert_eq!(
            points_of(s(), None, &[], &[(2, 0.0)], Direction::Higher),
            vec![(1.0, 0.5), (2.0, 1.5)]
        );
        // Less the row's age on its writer (pt-heartbeat's clock an hour off UTC).
        assert_eq!(
            points_of(s(), None, &[], &[(9, 86_399.0)], Direction::Higher),
            vec![(1.0, 1.0), (2.0, 2.0)]
        );
        // Without rows named (a lag that is no heartbeat), the worst series as before.
        assert_eq!(
            points_of(s(), None, &[], &[], Direction::Higher),
            vec![(1.0, 86_400.0), (2.0, 86_401.0)]
        );
    }

    #[test]
    fn cache_is_bounded() {
        let mut c = HistoryCache::default();
        for i in 0..500 {
            let k = HistoryKey {
                host: HostId {
                    cluster: "c".into(),
                    name: format!("h{i}"),
                },
                metric: "lag".into(),
                window: 900,
                end: None,
            };
            c.start(&k);
            c.finish(k, Ok((vec![(0.0, 1.0)], 0.0, 1.0, 1.0)));
        }
        assert!(c.len() <= CACHE_MAX);
    }
}
