//! One refresh of the whole fleet: one united instant query per source (every metric and
//! the monitoring's own health; one query per metric when that fails) plus one call per
//! Alertmanager, all concurrent. The number of requests never depends on the number of hosts.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::future::{join_all, BoxFuture};

use super::alertmanager::AmClient;
use super::multi::Member;
use super::prometheus::PromClient;
use crate::model::{
    Alert, AlertState, DeadMansSwitch, Labels, RangeRequest, RangeSeries, SourceError,
    SourceStatus, Vector,
};

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
    /// Key of the metric drawn.
    pub metric: String,
    /// Expression template (with `$cluster`), as for the instant query.
    pub expr: String,
    /// How far back the sparkline reaches from the refresh time.
    pub window: std::time::Duration,
    /// Time between points of the range query (positive).
    pub step: std::time::Duration,
}

/// Alerts merged from every Alertmanager, and how each of them answered.
#[derive(Debug, Clone, Default)]
pub struct AlertsResult {
    /// Every alert of every Alertmanager (an HA group's answers deduplicated by fingerprint).
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
    /// How each metrics source answered (empty for sources without such a notion: demo).
    pub sources: Vec<SourceStatus>,
    /// The dead man's switch, when Alertmanager is configured and the check is on.
    pub dead_mans_switch: Option<DeadMansSwitch>,
}

/// A source of fleet data (Prometheus-compatible engines, the demo).
pub trait FleetSource: Send + Sync {
    /// Short description for the status bar (URL without credentials, or `demo`).
    fn describe(&self) -> String;
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

/// Prometheus (or VictoriaMetrics, Thanos, Mimir) servers plus zero or more Alertmanagers.
pub struct PromSource {
    members: Vec<Member>,
    ams: Vec<AmClient>,
    /// `(metric key, expression template with `$cluster` still in it)`, in metric order.
    parts: Vec<(String, String)>,
    /// The templates expanded for the last cluster filter asked.
    queries: std::sync::Mutex<Option<Arc<super::multi::Queries>>>,
    /// Alert names of the dead man's switch; empty: not checked.
    watchdog: Vec<String>,
    /// Whether the switch is armed: named in the config, or one of the default names has
    /// been seen. Many fleets have no such rule; a board that cried "pipeline broken" forever
    /// on them would be a healthy fleet shown broken.
    watchdog_armed: std::sync::atomic::AtomicBool,
    requests: Arc<AtomicUsize>,
}

impl PromSource {
    /// One source. `metrics` are `(key, expression template)` in metric order.
    pub fn new(prom: PromClient, ams: Vec<AmClient>, metrics: Vec<(String, String)>) -> Self {
        let name = super::multi::default_name(prom.base_url());
        Self::with_members(
            vec![Member::new(name, vec![prom], Vec::new())],
            ams,
            metrics,
        )
    }

    /// Several named sources (each one server or an HA group).
    pub fn with_members(
        members: Vec<Member>,
        ams: Vec<AmClient>,
        metrics: Vec<(String, String)>,
    ) -> Self {
        Self {
            members,
            ams,
            parts: metrics,
            queries: std::sync::Mutex::new(None),
            watchdog: Vec::new(),
            watchdog_armed: std::sync::atomic::AtomicBool::new(false),
            requests: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Checks that one of these always-firing alerts is in Alertmanager (the dead man's
    /// switch); an empty list turns the check off.
    #[must_use]
    pub fn with_watchdog(mut self, names: Vec<String>) -> Self {
        self.watchdog = names;
        self
    }

    /// Arms the dead man's switch from the first refresh (the names were configured, so the
    /// rule is known to exist). Otherwise it arms itself once one of the alerts is seen.
    #[must_use]
    pub fn watchdog_required(self, required: bool) -> Self {
        self.watchdog_armed.store(required, Ordering::Relaxed);
        self
    }

    /// The expressions for a cluster filter: the last ones when the filter is the same.
    fn queries_for(&self, clusters: &[String]) -> Arc<super::multi::Queries> {
        let mut last = self
            .queries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match &*last {
            Some(q) if q.is_for(clusters) => Arc::clone(q),
            _ => {
                let q = Arc::new(super::multi::Queries::new(&self.parts, clusters));
                *last = Some(Arc::clone(&q));
                q
            }
        }
    }

    /// Requests sent so far (every query and every Alertmanager call).
    pub fn requests_sent(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    /// The first server of the first source.
    pub fn prometheus(&self) -> &PromClient {
        &self.members[0].clients[0]
    }

    /// The metrics sources, in configured order.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// The Alertmanagers, in configured order.
    pub fn alertmanagers(&self) -> &[AmClient] {
        &self.ams
    }
}

impl FleetSource for PromSource {
    fn describe(&self) -> String {
        if let [m] = &self.members[..] {
            if let [c] = &m.clients[..] {
                return c.base_url().to_string();
            }
        }
        self.members
            .iter()
            .map(|m| m.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn silences(&self) -> Option<Arc<dyn super::silences::SilenceBackend>> {
        (!self.ams.is_empty())
            .then(|| Arc::new(super::silences::AmGroup::new(self.ams.clone())) as _)
    }

    fn poll<'a>(&'a self, req: &'a PollRequest, now: DateTime<Utc>) -> BoxFuture<'a, PollResult> {
        Box::pin(async move {
            let taken_at = req.at.unwrap_or(now);
            let queries = self.queries_for(&req.clusters);
            // The monitoring's health is about now; in replay it would describe the present
            // next to data of the past.
            let with_monitoring = req.at.is_none();
            let polls = self
                .members
                .iter()
                .map(|m| super::multi::poll_member(m, &queries, with_monitoring, req.at));
            let alerts = async {
                if req.at.is_some() {
                    // Replay: one query per source for the alerts firing at that time.
                    let calls = self.members.iter().map(|m| {
                        self.requests.fetch_add(1, Ordering::Relaxed);
                        let c = m.order().next().map(|(_, c)| c);
                        async move {
                            let Some(c) = c else {
                                return (
                                    m.name.clone(),
                                    Err(SourceError::Other("no server".into())),
                                );
                            };
                            let r = c.query(REPLAY_ALERTS_EXPR, req.at).await;
                            (
                                format!("{} (ALERTS)", c.base_url()),
                                r.map(|v| alerts_from_series(&v)),
                            )
                        }
                    });
                    return Some(merge_alerts(join_all(calls).await));
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
                let expr = crate::sources::query::expand(&sq.expr, &req.clusters);
                let start = taken_at - chrono::Duration::from_std(sq.window).unwrap_or_default();
                let calls = self.members.iter().map(|m| {
                    self.requests.fetch_add(1, Ordering::Relaxed);
                    let c = m.order().next().map(|(_, c)| c);
                    let expr = &expr;
                    async move {
                        match c {
                            Some(c) => c.query_range(expr, start, taken_at, sq.step).await,
                            None => Ok(Vec::new()),
                        }
                    }
                });
                let all = join_all(calls).await;
                if all.iter().all(Result::is_err) {
                    return all.into_iter().next();
                }
                Some(Ok(all
                    .into_iter()
                    .filter_map(Result::ok)
                    .flatten()
                    .collect()))
            };
            let (mut polls, alerts, sparks) = futures::join!(join_all(polls), alerts, sparks);
            for p in &polls {
                self.requests
                    .fetch_add(p.status.requests, Ordering::Relaxed);
            }
            let keys: Vec<String> = self.parts.iter().map(|(k, _)| k.clone()).collect();
            super::multi::note_metric_errors(&mut polls, &keys);
            let combined = super::multi::combine(&mut polls, self.parts.len());
            let sources: Vec<SourceStatus> = polls.into_iter().map(|p| p.status).collect();
            let metrics = match combined {
                None => Err(sources
                    .iter()
                    .find_map(|s| s.error.clone())
                    .unwrap_or_else(|| SourceError::Other("no source".into()))),
                Some(results) if !results.is_empty() && results.iter().all(Result::is_err) => {
                    // Every query failed the same way: one error says it.
                    Err(results
                        .into_iter()
                        .find_map(Result::err)
                        .unwrap_or_else(|| SourceError::Other("no result".into())))
                }
                Some(results) => Ok(results),
            };
            let dead_mans_switch = match &alerts {
                Some(a) if req.at.is_none() && !self.watchdog.is_empty() => {
                    let mut d = dead_mans_switch(a, &self.watchdog);
                    if d.present == Some(true) {
                        self.watchdog_armed.store(true, Ordering::Relaxed);
                    } else if !self.watchdog_armed.load(Ordering::Relaxed) {
                        // Never seen and not configured: no verdict.
                        d.present = None;
                    }
                    Some(d)
                }
                _ => None,
            };
            PollResult {
                taken_at,
                metrics,
                alerts,
                sparks,
                sources,
                dead_mans_switch,
            }
        })
    }

    fn history<'a>(
        &'a self,
        req: &'a RangeRequest,
    ) -> BoxFuture<'a, Result<Vec<RangeSeries>, SourceError>> {
        Box::pin(super::multi::history(
            &self.members,
            req.source.as_deref(),
            &req.expr,
            req.start,
            req.end,
            req.step,
            &self.requests,
        ))
    }
}

/// Whether the always-firing alert is in Alertmanager (any state: a silenced or inhibited
/// Watchdog still proves that rules are evaluated and alerts delivered).
pub fn dead_mans_switch(a: &AlertsResult, names: &[String]) -> DeadMansSwitch {
    let present = if a.all_failed() {
        None
    } else {
        Some(a.alerts.iter().any(|x| names.iter().any(|n| n == x.name())))
    };
    DeadMansSwitch {
        names: names.to_vec(),
        present,
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
