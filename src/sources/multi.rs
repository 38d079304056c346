//! Several metrics sources on one board: each named source (one Prometheus, or an HA group
//! of servers scraping the same targets) is asked once per refresh with the united query,
//! its answer tagged with its name and labels, and the sources' answers laid side by side.
//!
//! An HA group is asked with failover: the member that answered last first, the next one
//! only if it fails or answers partially. In the steady state that is one request per group,
//! never one per member, and a host is never counted twice.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use futures::future::join_all;

use super::prometheus::{Completeness, PromClient};
use super::united;
use crate::model::{
    JobCount, Monitoring, RangeSeries, SourceError, SourceStatus, Vector, VectorBuilder,
    SOURCE_LABEL,
};

/// The monitoring's own health, asked within the same united query: `(tag, expression)`.
/// Series of the scraper itself and of Alertmanager, when they are scraped; absent series
/// simply answer nothing.
pub const MONITORING_PARTS: [(&str, &str); 4] = [
    ("fb_mon_down", "count by (job) (up == 0)"),
    (
        "fb_mon_slow",
        "count by (job) (scrape_duration_seconds >= on(job, instance) (scrape_timeout_seconds * 0.9))",
    ),
    (
        "fb_mon_rules",
        "sum by (job) (increase(prometheus_rule_evaluation_failures_total[5m])) > 0",
    ),
    (
        "fb_mon_notify",
        "sum by (job) (increase(prometheus_notifications_errors_total[5m])) > 0 or sum by (job) (increase(alertmanager_notifications_failed_total[5m])) > 0",
    ),
];

/// The monitoring's parts when a refresh asks for them (not in replay).
fn monitoring_parts(with_monitoring: bool) -> &'static [(&'static str, &'static str)] {
    if with_monitoring {
        &MONITORING_PARTS
    } else {
        &[]
    }
}

/// Refreshes to wait, after the united query failed for a reason that one query per metric
/// may avoid, before trying it again.
pub const UNITED_RETRY_AFTER: usize = 20;

/// Series in a source's last answer past which its metrics are asked one query each, in
/// parallel, instead of united. Prometheus evaluates one query on one core, and each `or`
/// of the united query goes through every series of both its sides: on the test machine a
/// united answer of 600,000 series (50,000 hosts, the `or` then chained) took 20-24 s where
/// its twelve parts took 4.5 s side by side. Below this (about 15,000 hosts of the presets)
/// the united query keeps the budget of one request per source, though it costs the server
/// more CPU than its parts at every size measured (`scripts/united_cost.py`: 0.15 against
/// 0.08 s at 1,000 hosts). Either way the number of requests does not grow with the fleet.
pub const UNITED_MAX_SERIES: usize = 200_000;

/// Whether the last answer was too large for the united query to be the faster way.
pub fn too_large_to_unite(last_series: usize) -> bool {
    last_series > UNITED_MAX_SERIES
}

/// A refresh's expressions, expanded for one cluster filter, and the united query of them,
/// built once per filter rather than once per refresh: at 100 hosts a profile put expanding
/// the templates and uniting them again each time at 2-3 % of the board's CPU.
pub struct Queries {
    clusters: Vec<String>,
    /// `(metric key, expression)`, in metric order.
    parts: Vec<(String, String)>,
    /// The united query with the monitoring's parts, and without them (replay).
    united: [OnceLock<String>; 2],
}

impl Queries {
    /// `templates` (`$cluster` and `$host` still in them) expanded for `clusters`.
    pub fn new(templates: &[(String, String)], clusters: &[String]) -> Self {
        Self {
            clusters: clusters.to_vec(),
            parts: templates
                .iter()
                .map(|(k, e)| (k.clone(), super::query::expand(e, clusters)))
                .collect(),
            united: [OnceLock::new(), OnceLock::new()],
        }
    }

    /// Whether these are the expressions for `clusters`.
    pub fn is_for(&self, clusters: &[String]) -> bool {
        self.clusters == clusters
    }

    /// `(metric key, expression)`, in metric order.
    pub fn parts(&self) -> &[(String, String)] {
        &self.parts
    }

    /// The united query of every part, and of the monitoring's parts when asked.
    fn united(&self, with_monitoring: bool) -> &str {
        self.united[usize::from(with_monitoring)].get_or_init(|| {
            united::united_expr(
                self.parts
                    .iter()
                    .map(|(k, e)| (k.as_str(), e.as_str()))
                    .chain(monitoring_parts(with_monitoring).iter().copied()),
            )
        })
    }
}

/// One named source: a Prometheus, or an HA group of them.
pub struct Member {
    /// The source's name, added to its series as [`SOURCE_LABEL`] and shown on the board.
    pub name: String,
    /// One client per server of the group, in the configured order.
    pub clients: Vec<PromClient>,
    /// Labels added to every series of this source (the series' own value wins).
    pub labels: Vec<(String, String)>,
    /// Every metric in one united query (`false`: one query per metric, as configured).
    pub united_query: bool,
    /// The client that answered last (tried first).
    preferred: AtomicUsize,
    /// Refreshes left before the united query is tried again (0: use it).
    united_off: AtomicUsize,
    /// Series of the last answer (all metrics together).
    last_series: AtomicUsize,
}

impl Member {
    /// A source named `name` with its servers (at least one) and extra labels.
    pub fn new(name: String, clients: Vec<PromClient>, labels: Vec<(String, String)>) -> Self {
        Self {
            name,
            clients,
            labels,
            united_query: true,
            preferred: AtomicUsize::new(0),
            united_off: AtomicUsize::new(0),
            last_series: AtomicUsize::new(0),
        }
    }

    /// The same source, asked one query per metric when `united` is false.
    #[must_use]
    pub fn with_united_query(mut self, united: bool) -> Self {
        self.united_query = united;
        self
    }

    /// Clients in the order to try them: the last one that answered first.
    pub fn order(&self) -> impl Iterator<Item = (usize, &PromClient)> {
        let n = self.clients.len();
        let start = self.preferred.load(Ordering::Relaxed) % n.max(1);
        (0..n).map(move |k| {
            let i = (start + k) % n;
            (i, &self.clients[i])
        })
    }

    fn extra_labels(&self) -> Vec<(&str, &str)> {
        std::iter::once((SOURCE_LABEL, self.name.as_str()))
            .chain(self.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .collect()
    }
}

/// What one source answered in one refresh.
pub struct MemberPoll {
    /// One result per metric (tagged with the source's name and labels).
    pub metrics: Option<Vec<Result<Vector, SourceError>>>,
    /// Per metric, the source's answer; `None` when it failed as a whole (`status` says why).
    pub status: SourceStatus,
}

/// Whether one query per metric could succeed where the united query failed. Not when the
/// server is unreachable, overloaded or refusing us: more requests would only add load.
fn worth_falling_back(e: &SourceError) -> bool {
    match e {
        SourceError::Timeout(_)
        | SourceError::Connect(_)
        | SourceError::RetryLater { .. }
        | SourceError::Config(_) => false,
        SourceError::Http { status, .. } => !matches!(status, 401 | 403 | 404 | 429 | 502..=504),
        SourceError::Api { kind, .. } => kind != "unavailable",
        _ => true,
    }
}

/// Metric parts and monitoring parts answered by one server.
struct Answered {
    metrics: Vec<Result<Vector, SourceError>>,
    monitoring: Option<Monitoring>,
    completeness: Completeness,
    notices: Vec<String>,
}

/// Asks one server for every part: the united query, or one query per metric when it fails
/// (or failed recently). `Err` when the server failed as a whole.
async fn ask(
    m: &Member,
    client: &PromClient,
    queries: &Queries,
    with_monitoring: bool,
    at: Option<DateTime<Utc>>,
    requests: &AtomicUsize,
) -> Result<Answered, SourceError> {
    let parts = queries.parts();
    let extra = m.extra_labels();
    let mon = monitoring_parts(with_monitoring);
    let mut notices = Vec::new();
    let off = m.united_off.load(Ordering::Relaxed);
    let last = m.last_series.load(Ordering::Relaxed);
    if !m.united_query {
        // The operator's choice (`united_query = false`): nothing to say each refresh.
    } else if too_large_to_unite(last) {
        notices.push(format!(
            "one query per metric, in parallel: {last} series are answered faster that way than by one united query"
        ));
    } else if off == 0 {
        let q = queries.united(with_monitoring);
        requests.fetch_add(1, Ordering::Relaxed);
        match client.query_answer(q, at).await {
            Ok(a) => {
                let keys: Vec<&str> = parts
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .chain(mon.iter().map(|(k, _)| *k))
                    .collect();
                m.last_series.store(a.vector.len(), Ordering::Relaxed);
                let (mut split, stray) = united::split(a.vector, &keys, &extra);
                if stray == 0 {
                    let mon_vectors = split.split_off(parts.len());
                    return Ok(Answered {
                        metrics: split.into_iter().map(Ok).collect(),
                        monitoring: with_monitoring.then(|| monitoring_from(&mon_vectors)),
                        completeness: a.completeness,
                        notices,
                    });
                }
                // Series without their part's tag: the engine (or a proxy in front of it)
                // did not evaluate `label_replace` as Prometheus does, and they cannot be
                // told apart. Each metric alone says which is which.
                tracing::info!(source = %m.name, stray, "united answer not tagged; one query per metric");
                notices.push(format!(
                    "the united answer had {stray} series without their metric's tag; one query per metric for the next {UNITED_RETRY_AFTER} refreshes"
                ));
                m.united_off.store(UNITED_RETRY_AFTER, Ordering::Relaxed);
            }
            Err(e @ SourceError::Timeout(_)) => {
                // Too slow as one query (a large fleet on a server with several cores
                // answers its parts side by side faster): the parts next refresh, not now,
                // so a server that is merely overloaded gets no extra requests at once.
                m.united_off.store(UNITED_RETRY_AFTER, Ordering::Relaxed);
                return Err(e);
            }
            Err(e) if !worth_falling_back(&e) => return Err(e),
            Err(e) => {
                tracing::info!(source = %m.name, error = %e, "united query failed; one query per metric");
                notices.push(format!(
                    "the united query failed ({e}); one query per metric for the next {UNITED_RETRY_AFTER} refreshes"
                ));
                m.united_off.store(UNITED_RETRY_AFTER, Ordering::Relaxed);
            }
        }
    } else {
        m.united_off.store(off - 1, Ordering::Relaxed);
        notices.push("one query per metric (the united query failed recently)".into());
    }
    let singles = parts.iter().map(|(_, e)| {
        requests.fetch_add(1, Ordering::Relaxed);
        client.query_answer(e, at)
    });
    let mon_query = async {
        if mon.is_empty() {
            return None;
        }
        requests.fetch_add(1, Ordering::Relaxed);
        let q = united::united_expr(mon.iter().copied());
        let keys: Vec<&str> = mon.iter().map(|(k, _)| *k).collect();
        client
            .query_answer(&q, at)
            .await
            .ok()
            .map(|a| monitoring_from(&united::split(a.vector, &keys, &[]).0))
    };
    let (answers, monitoring) = futures::join!(join_all(singles), mon_query);
    if !answers.is_empty() && answers.iter().all(Result::is_err) {
        return Err(answers
            .into_iter()
            .find_map(Result::err)
            .unwrap_or_else(|| SourceError::Other("no result".into())));
    }
    let mut completeness = Completeness::default();
    let mut series = 0;
    let metrics = answers
        .into_iter()
        .map(|r| {
            r.map(|a| {
                completeness.absorb(a.completeness);
                series += a.vector.len();
                let mut v = a.vector;
                v.add_missing_labels(&extra);
                v
            })
        })
        .collect();
    m.last_series.store(series, Ordering::Relaxed);
    Ok(Answered {
        metrics,
        monitoring,
        completeness,
        notices,
    })
}

/// Polls one source: its members with failover, a partial answer only when no member
/// answers completely.
pub async fn poll_member(
    m: &Member,
    queries: &Queries,
    with_monitoring: bool,
    at: Option<DateTime<Utc>>,
) -> MemberPoll {
    let requests = AtomicUsize::new(0);
    let mut status = SourceStatus {
        name: m.name.clone(),
        members: m.clients.len(),
        ..SourceStatus::default()
    };
    let mut partial: Option<(usize, Answered)> = None;
    let mut last_err = None;
    for (i, client) in m.order() {
        status.url = client.base_url().to_string();
        match ask(m, client, queries, with_monitoring, at, &requests).await {
            Ok(a) if a.completeness.is_partial() && m.clients.len() > 1 => {
                if partial.is_none() {
                    partial = Some((i, a));
                }
            }
            Ok(a) => {
                m.preferred.store(i, Ordering::Relaxed);
                return finish(m, status, i, a, &requests);
            }
            Err(e) => {
                tracing::warn!(source = %m.name, url = %client.base_url(), error = %e, "source failed");
                last_err = Some(e);
            }
        }
    }
    if let Some((i, a)) = partial {
        return finish(m, status, i, a, &requests);
    }
    status.error = Some(last_err.unwrap_or_else(|| SourceError::Other("no server".into())));
    status.requests = requests.load(Ordering::Relaxed);
    MemberPoll {
        metrics: None,
        status,
    }
}

fn finish(
    m: &Member,
    mut status: SourceStatus,
    i: usize,
    a: Answered,
    requests: &AtomicUsize,
) -> MemberPoll {
    status.url = m.clients[i].base_url().to_string();
    status.partial = a.completeness.partial;
    status.notices = a.notices;
    status.notices.extend(a.completeness.notices);
    status.monitoring = a.monitoring;
    status.requests = requests.load(Ordering::Relaxed);
    MemberPoll {
        metrics: Some(a.metrics),
        status,
    }
}

/// Sets each status' per-metric errors from its results (`keys` in metric order).
pub fn note_metric_errors(polls: &mut [MemberPoll], keys: &[String]) {
    for p in polls {
        if let Some(ms) = &p.metrics {
            p.status.metric_errors = ms
                .iter()
                .zip(keys)
                .filter_map(|(r, k)| r.as_ref().err().map(|e| (k.clone(), e.clone())))
                .collect();
        }
    }
}

/// Lays the sources' answers side by side: one vector per metric. A metric is `Err` only
/// when every source that answered failed it.
pub fn combine(polls: &mut [MemberPoll], n: usize) -> Option<Vec<Result<Vector, SourceError>>> {
    let mut answered: Vec<Vec<Result<Vector, SourceError>>> =
        polls.iter_mut().filter_map(|p| p.metrics.take()).collect();
    if answered.is_empty() {
        return None;
    }
    if answered.len() == 1 {
        return answered.pop();
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut ok: Vec<&Vector> = Vec::new();
        let mut err = None;
        for a in &answered {
            match a.get(i) {
                Some(Ok(v)) => ok.push(v),
                Some(Err(e)) => err = err.or_else(|| Some(e.clone())),
                None => {}
            }
        }
        if ok.is_empty() {
            out.push(Err(
                err.unwrap_or_else(|| SourceError::Other("no result".into()))
            ));
        } else {
            out.push(Ok(concat(&ok)));
        }
    }
    Some(out)
}

/// One vector holding every series of `parts`, in order.
pub fn concat(parts: &[&Vector]) -> Vector {
    let mut b = VectorBuilder::default();
    for v in parts {
        for s in v.iter() {
            for (k, val) in s.labels() {
                let pos = b.open_len();
                let (k, val) = (b.intern_at(k, pos, true), b.intern_at(val, pos, false));
                b.label_ids(k, val);
            }
            b.close(s.value(), s.ts());
        }
    }
    b.finish()
}

/// Reads the monitoring parts (same order as [`MONITORING_PARTS`]).
pub fn monitoring_from(v: &[Vector]) -> Monitoring {
    let list = |i: usize| -> Vec<JobCount> {
        let mut out: Vec<JobCount> = v
            .get(i)
            .map(|v| {
                v.iter()
                    .filter(|s| s.value().is_finite() && s.value() > 0.0)
                    .map(|s| JobCount {
                        job: crate::sanitize::line(s.label("job").unwrap_or("(no job)"), 60),
                        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                        count: s.value().round().max(1.0) as u64,
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.sort_by(|a, b| a.job.cmp(&b.job));
        out
    };
    Monitoring {
        targets_down: list(0),
        slow_scrapes: list(1),
        rule_failures: list(2),
        notification_failures: list(3),
    }
}

/// The history of one host: from its own source (by name), trying the group's members in
/// turn.
///
/// # Errors
///
/// [`SourceError::Config`] when `members` is empty; otherwise the error of the last server tried
/// when every server of the member fails (see [`PromClient::query_range`]).
pub async fn history(
    members: &[Member],
    source: Option<&str>,
    expr: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    step: std::time::Duration,
    requests: &AtomicUsize,
) -> Result<Vec<RangeSeries>, SourceError> {
    let m = source
        .and_then(|s| members.iter().find(|m| m.name == s))
        .or_else(|| members.first())
        .ok_or_else(|| SourceError::Config("no Prometheus source".into()))?;
    let mut last = SourceError::Other("no server".into());
    for (_, c) in m.order() {
        requests.fetch_add(1, Ordering::Relaxed);
        match c.query_range(expr, start, end, step).await {
            Ok(r) => return Ok(r),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// A source's default name: the host of its URL (`http://prom-eu:9090` → `prom-eu`).
pub fn default_name(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| url.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fall_back_only_where_more_queries_can_help() {
        assert!(worth_falling_back(&SourceError::Api {
            kind: "bad_data".into(),
            error: "parse error".into()
        }));
        assert!(worth_falling_back(&SourceError::Http {
            status: 422,
            body: "limit".into()
        }));
        assert!(!worth_falling_back(&SourceError::Connect("refused".into())));
        assert!(!worth_falling_back(&SourceError::Http {
            status: 503,
            body: String::new()
        }));
    }

    #[test]
    fn queries_are_expanded_for_their_filter_and_united_once() {
        let templates = vec![
            (
                "up".to_string(),
                "mysql_up{cluster=~\"$cluster\"}".to_string(),
            ),
            ("lag".to_string(), "lag{instance=~\"$host\"}".to_string()),
        ];
        let shop = vec!["shop".to_string()];
        let q = Queries::new(&templates, &shop);
        assert!(q.is_for(&shop));
        assert!(!q.is_for(&[]));
        assert_eq!(q.parts()[0].1, "mysql_up{cluster=~\"shop\"}");
        assert_eq!(q.parts()[1].1, "lag{instance=~\".*\"}");
        let with = q.united(true);
        assert!(with.contains("fb_mon_down") && with.contains("\"shop\""));
        assert!(!q.united(false).contains("fb_mon_down"));
        // Asked again, the same string: built once.
        assert!(std::ptr::eq(with, q.united(true)));
        assert_eq!(
            q.united(false),
            united::united_expr(q.parts().iter().map(|(k, e)| (k.as_str(), e.as_str())))
        );
    }

    #[test]
    fn default_names_are_the_host() {
        assert_eq!(default_name("http://prom-eu:9090/x"), "prom-eu");
        assert_eq!(default_name("https://u:p@10.0.0.1"), "10.0.0.1");
    }
}
