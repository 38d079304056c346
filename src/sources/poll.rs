//! One refresh of the whole fleet: one instant query per metric plus one call per
//! Alertmanager, all concurrent. The number of requests never depends on the number
//! of hosts.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::future::{join_all, BoxFuture};

use super::alertmanager::AmClient;
use super::prometheus::PromClient;
use crate::model::{Alert, AlertState, Labels, RangeRequest, RangeSeries, SourceError, Vector};

/// What to fetch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PollRequest {
    /// Query time; `None` is now (live).
    pub at: Option<DateTime<Utc>>,
    /// Cluster filter applied by the server; empty is all.
    pub clusters: Vec<String>,
    /// A short history of one metric for every host (tile sparklines): one more range
    /// query per refresh, whatever the number of hosts.
    pub sparkline: Option<SparkQuery>,
}

/// The tile sparklines' query.
#[derive(Debug, Clone, PartialEq)]
pub struct SparkQuery {
    pub metric: String,
    /// Expression template (with `$cluster`), as for the instant query.
    pub expr: String,
    pub window: std::time::Duration,
    pub step: std::time::Duration,
}

/// Alerts merged from every Alertmanager, and how each of them answered.
#[derive(Debug, Clone, Default)]
pub struct AlertsResult {
    pub alerts: Vec<Alert>,
    /// `(url, error)` per Alertmanager; `None` when it answered.
    pub per_source: Vec<(String, Option<SourceError>)>,
}

impl AlertsResult {
    /// All configured Alertmanagers failed (the alerts are unusable).
    pub fn all_failed(&self) -> bool {
        !self.per_source.is_empty() && self.per_source.iter().all(|(_, e)| e.is_some())
    }
}

/// The result of one refresh.
#[derive(Debug, Clone)]
pub struct PollResult {
    /// When the data describes (the query time).
    pub taken_at: DateTime<Utc>,
    /// One result per metric; `Err` for the whole source when every query failed.
    pub metrics: Result<Vec<Result<Vector, SourceError>>, SourceError>,
    /// `None` when no Alertmanager is configured.
    pub alerts: Option<AlertsResult>,
    /// Tile sparklines, when asked for.
    pub sparks: Option<Result<Vec<RangeSeries>, SourceError>>,
}

/// A source of fleet data (Prometheus-compatible engines, the demo).
pub trait FleetSource: Send + Sync {
    /// Short description for the status bar (URL without credentials, or `demo`).
    fn describe(&self) -> String;
    /// Alertmanager URLs, for the status bar.
    fn alert_sources(&self) -> Vec<String>;
    /// Fetches one refresh. `now` is the wall clock, used when `req.at` is `None`.
    fn poll<'a>(&'a self, req: &'a PollRequest, now: DateTime<Utc>) -> BoxFuture<'a, PollResult>;
    /// One range query: the history of one metric of one host.
    fn history<'a>(
        &'a self,
        req: &'a RangeRequest,
    ) -> BoxFuture<'a, Result<Vec<RangeSeries>, SourceError>>;
    /// Where silences are written, if this source has such a place.
    fn silences(&self) -> Option<Arc<dyn super::silences::SilenceBackend>> {
        None
    }
}

/// Alertmanager keeps no history: in replay, alerts come from Prometheus' `ALERTS`
/// series at the replay time (firing ones only; silences are not recorded there).
pub const REPLAY_ALERTS_EXPR: &str = "ALERTS{alertstate=\"firing\"}";

/// Turns `ALERTS` samples into alerts.
pub fn alerts_from_series(samples: &Vector) -> Vec<Alert> {
    samples
        .iter()
        .map(|s| {
            let labels: Labels = s
                .labels()
                .filter(|(k, _)| *k != "__name__" && *k != "alertstate")
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            let fingerprint = format!("{:016x}", fnv1a(&format!("{labels:?}")));
            Alert::new(fingerprint, labels, Labels::new(), AlertState::Active)
        })
        .collect()
}

/// FNV-1a: a stable, dependency-free hash for synthetic fingerprints.
pub fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Prometheus (or VictoriaMetrics, Thanos, Mimir) plus zero or more Alertmanagers.
pub struct PromSource {
    prom: PromClient,
    ams: Vec<AmClient>,
    /// Expression templates, one per metric, with `$cluster` still in them.
    exprs: Vec<String>,
    requests: Arc<AtomicUsize>,
}

impl PromSource {
    pub fn new(prom: PromClient, ams: Vec<AmClient>, exprs: Vec<String>) -> Self {
        Self {
            prom,
            ams,
            exprs,
            requests: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Requests sent so far (every query and every Alertmanager call).
    pub fn requests_sent(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn prometheus(&self) -> &PromClient {
        &self.prom
    }

    pub fn alertmanagers(&self) -> &[AmClient] {
        &self.ams
    }
}

impl FleetSource for PromSource {
    fn describe(&self) -> String {
        self.prom.base_url().to_string()
    }

    fn alert_sources(&self) -> Vec<String> {
        self.ams.iter().map(|a| a.base_url().to_string()).collect()
    }

    fn silences(&self) -> Option<Arc<dyn super::silences::SilenceBackend>> {
        (!self.ams.is_empty())
            .then(|| Arc::new(super::silences::AmGroup::new(self.ams.clone())) as _)
    }

    fn poll<'a>(&'a self, req: &'a PollRequest, now: DateTime<Utc>) -> BoxFuture<'a, PollResult> {
        Box::pin(async move {
            let taken_at = req.at.unwrap_or(now);
            let queries = self.exprs.iter().map(|e| {
                let q = crate::sources::query::expand(e, &req.clusters);
                self.requests.fetch_add(1, Ordering::Relaxed);
                async move { self.prom.query(&q, req.at).await }
            });
            let alerts = async {
                if req.at.is_some() {
                    // Replay: one query for the alerts firing at that time.
                    self.requests.fetch_add(1, Ordering::Relaxed);
                    let r = self.prom.query(REPLAY_ALERTS_EXPR, req.at).await;
                    let url = format!("{} (ALERTS)", self.prom.base_url());
                    return Some(merge_alerts(vec![(url, r.map(|v| alerts_from_series(&v)))]));
                }
                if self.ams.is_empty() {
                    return None;
                }
                let calls = self.ams.iter().map(|a| {
                    self.requests.fetch_add(1, Ordering::Relaxed);
                    async move { (a.base_url().to_string(), a.alerts().await) }
                });
                Some(merge_alerts(join_all(calls).await))
            };
            let sparks = async {
                let sq = req.sparkline.as_ref()?;
                self.requests.fetch_add(1, Ordering::Relaxed);
                let expr = crate::sources::query::expand(&sq.expr, &req.clusters);
                let start = taken_at - chrono::Duration::from_std(sq.window).unwrap_or_default();
                Some(self.prom.query_range(&expr, start, taken_at, sq.step).await)
            };
            let (results, alerts, sparks) = futures::join!(join_all(queries), alerts, sparks);
            let metrics = if !results.is_empty() && results.iter().all(Result::is_err) {
                // Every query failed the same way (server down): one error says it.
                Err(results
                    .into_iter()
                    .find_map(Result::err)
                    .unwrap_or_else(|| SourceError::Other("no result".into())))
            } else {
                Ok(results)
            };
            PollResult {
                taken_at,
                metrics,
                alerts,
                sparks,
            }
        })
    }

    fn history<'a>(
        &'a self,
        req: &'a RangeRequest,
    ) -> BoxFuture<'a, Result<Vec<RangeSeries>, SourceError>> {
        self.range(req)
    }
}

impl PromSource {
    fn range<'a>(
        &'a self,
        req: &'a RangeRequest,
    ) -> BoxFuture<'a, Result<Vec<RangeSeries>, SourceError>> {
        Box::pin(async move {
            self.requests.fetch_add(1, Ordering::Relaxed);
            self.prom
                .query_range(&req.expr, req.start, req.end, req.step)
                .await
        })
    }
}

/// Merges the answers of an HA group of Alertmanagers, deduplicated by fingerprint.
pub fn merge_alerts(answers: Vec<(String, Result<Vec<Alert>, SourceError>)>) -> AlertsResult {
    let mut seen = HashSet::new();
    let mut out = AlertsResult::default();
    for (url, r) in answers {
        match r {
            Ok(list) => {
                for a in list {
                    if a.fingerprint.is_empty() || seen.insert(a.fingerprint.clone()) {
                        out.alerts.push(a);
                    }
                }
                out.per_source.push((url, None));
            }
            Err(e) => out.per_source.push((url, Some(e))),
        }
    }
    out
}
