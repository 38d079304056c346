//! Turns source answers into fleet updates: polls, merges into hosts (off the UI task),
//! keeps the last good data for the parts that failed, and backs off while a source
//! is failing.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use crate::fleet::{self, BuildInput};

use crate::model::{Alert, SourceError, Update};
use crate::model::{Fleet, Identity, MetricSet};
use crate::sources::{FleetSource, PollRequest, PollResult};

/// A merged refresh: the fleet (`None` if the metrics failed), the metrics error, and
/// each Alertmanager's error.
pub type Merged = (
    Option<Arc<Fleet>>,
    Option<SourceError>,
    Vec<(String, Option<SourceError>)>,
);

/// What the poller keeps between refreshes.
pub struct Merger {
    /// The board's metrics and threshold overrides, from which each refresh's hosts are built.
    pub metrics: Arc<MetricSet>,
    /// Which labels name a host and its cluster.
    pub identity: Identity,
    /// How long a host whose series are all gone stays on the board before it is dropped.
    pub forget_after: Duration,
    previous: Option<Arc<Fleet>>,
    last_alerts: Vec<Alert>,
    /// The sparkline query, to place its points on the grid of steps.
    pub sparkline: Option<crate::sources::SparkQuery>,
}

impl Merger {
    /// A merger with no earlier fleet or alerts and no sparkline query.
    pub fn new(metrics: Arc<MetricSet>, identity: Identity, forget_after: Duration) -> Self {
        Self {
            metrics,
            identity,
            forget_after,
            previous: None,
            last_alerts: Vec::new(),
            sparkline: None,
        }
    }

    /// Forget earlier data (the cluster filter or replay time changed).
    pub fn reset(&mut self) {
        self.previous = None;
        self.last_alerts.clear();
    }

    /// Hosts of the last fleet merged (0 before the first).
    pub fn hosts(&self) -> usize {
        self.previous.as_ref().map_or(0, |f| f.hosts.len())
    }

    /// Merges one poll result. Returns the fleet (`None` if the metrics failed) and
    /// the errors to show.
    pub fn merge(&mut self, r: PollResult) -> Merged {
        let alert_sources = r
            .alerts
            .as_ref()
            .map(|a| a.per_source.clone())
            .unwrap_or_default();
        let alerts = match r.alerts {
            Some(a) if a.all_failed() => self.last_alerts.clone(),
            Some(a) => {
                self.last_alerts.clone_from(&a.alerts);
                a.alerts
            }
            None => Vec::new(),
        };
        match r.metrics {
            Err(e) => (None, Some(e), alert_sources),
            Ok(results) => {
                let input = BuildInput {
                    results: &results,
                    alerts: &alerts,
                    taken_at: Some(r.taken_at),
                    forget_after: chrono::Duration::from_std(self.forget_after).ok(),
                    sources: &r.sources,
                };
                let mut f = fleet::build(
                    &self.metrics,
                    &self.identity,
                    &input,
                    self.previous.as_deref(),
                );
                if let (Some(Ok(series)), Some(sq)) = (&r.sparks, &self.sparkline) {
                    let step = sq.step.as_secs_f64();
                    #[allow(clippy::cast_precision_loss)]
                    let end = r.taken_at.timestamp_millis() as f64 / 1000.0;
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    let n = (sq.window.as_secs_f64() / step).round() as usize + 1;
                    #[allow(clippy::cast_precision_loss)]
                    let start = end - (n - 1) as f64 * step;
                    fleet::attach_sparks(&mut f, &self.identity, series, start, step, n);
                }
                f.dead_mans_switch = r.dead_mans_switch;
                let f = Arc::new(f);
                self.previous = Some(Arc::clone(&f));
                let partial = results.iter().find_map(|x| x.as_ref().err().cloned());
                (Some(f), partial, alert_sources)
            }
        }
    }
}

/// Commands to the poller task.
#[derive(Debug, Clone, PartialEq)]
pub enum PollerCmd {
    /// Poll now, without waiting out the refresh interval or the backoff.
    RefreshNow,
    /// New request parameters (cluster filter, replay time); refreshes at once.
    Set(PollRequest),
}

/// Exponential backoff with jitter, capped: `refresh`, then doubling up to `cap`.
pub fn backoff(refresh: Duration, failures: u32, cap: Duration, jitter01: f64) -> Duration {
    if failures == 0 {
        return refresh;
    }
    let base = refresh.as_secs_f64() * 2f64.powi(i32::try_from(failures.min(16)).unwrap_or(16));
    let capped = base.min(cap.as_secs_f64().max(refresh.as_secs_f64()));
    // ±20 % so that many boards do not retry in lockstep.
    Duration::from_secs_f64(capped * (0.8 + 0.4 * jitter01.clamp(0.0, 1.0)))
}

/// Where the poller publishes refreshes: only the newest is kept, so a UI that is slow to
/// read never queues whole fleets (it skips to the latest one).
pub type UpdateSender = tokio::sync::watch::Sender<Option<Update>>;

/// The UI's end of [`UpdateSender`]: `None` until the first refresh.
pub type UpdateReceiver = tokio::sync::watch::Receiver<Option<Update>>;

/// A channel for refreshes, empty until the first one.
pub fn update_channel() -> (UpdateSender, UpdateReceiver) {
    tokio::sync::watch::channel(None)
}

/// Runs the poll loop until every receiver of `tx` is gone (or the command sender).
///
/// Merging (10,000 hosts: tens of milliseconds of CPU) runs on the blocking pool, not on
/// the runtime's worker, which meanwhile serves chart fetches and silence writes; a small
/// fleet's merge ([`INLINE_MERGE_SERIES`]) runs on the worker.
/// Only transient errors (timeouts, refused connections, 429, 5xx) slow the polling
/// down: a query the server rejects (HTTP 400, a PromQL error) fails the same way
/// however often it is sent, so it is logged once and polling keeps its pace.
pub async fn run<S, F>(
    source: Arc<S>,
    mut merger: Merger,
    mut req: PollRequest,
    refresh: Duration,
    mut cmds: mpsc::UnboundedReceiver<PollerCmd>,
    tx: UpdateSender,
    clock: F,
) where
    S: FleetSource + ?Sized + 'static,
    F: Fn() -> DateTime<Utc>,
{
    let mut failures: u32 = 0;
    let mut reported: Option<String> = None;
    loop {
        let r = source.poll(&req, clock()).await;
        let inline = series_in(&r) < INLINE_MERGE_SERIES;
        let merge = move || {
            // The answers' bodies were freed on the runtime's threads, in arenas the merge
            // (on a blocking thread) does not allocate from: give them back before it builds.
            crate::memory::release_free_memory_for(merger.hosts());
            let out = merger.merge(r);
            (merger, out)
        };
        let merged = if inline {
            Ok(merge())
        } else {
            tokio::task::spawn_blocking(merge).await
        };
        let (fleet, err, alert_sources);
        // A panic in the merge (a bug) ends the poller like a panic in it would have.
        (merger, (fleet, err, alert_sources)) = match merged {
            Ok(x) => x,
            Err(e) => {
                tracing::error!("the merge failed: {e}");
                return;
            }
        };
        let transient = err.as_ref().is_none_or(SourceError::is_transient);
        if fleet.is_some() || !transient {
            failures = 0;
        } else {
            failures = failures.saturating_add(1);
        }
        note_permanent(err.as_ref().filter(|_| !transient), &mut reported);
        let retry_after = err.as_ref().and_then(SourceError::retry_after);
        let mut next_in = backoff(refresh, failures, Duration::from_secs(60), jitter());
        if let Some(ra) = retry_after {
            next_in = next_in.max(ra.min(Duration::from_secs(300)));
        }
        let u = Update {
            received_at: clock(),
            fleet,
            prom_error: err,
            alert_sources,
            next_in,
        };
        if tx.send(Some(u)).is_err() {
            return;
        }
        // Wait for the next tick or a command; a burst of commands is one refresh. In
        // replay the data does not change: poll again only on a command (or to retry).
        let replay_ok = req.at.is_some() && failures == 0;
        let mut pending = Vec::new();
        tokio::select! {
            () = tokio::time::sleep(next_in), if !replay_ok => {}
            c = cmds.recv() => match c {
                None => return,
                Some(c) => pending.push(c),
            }
        }
        while let Ok(c) = cmds.try_recv() {
            pending.push(c);
        }
        for c in pending {
            if let PollerCmd::Set(r) = c {
                // New parameters: earlier data and earlier failures belong to the old ones.
                merger.reset();
                req = r;
                failures = 0;
            }
        }
    }
}

/// Below this many series a merge takes about a millisecond or less, and runs on the
/// runtime's worker: handing it to the blocking pool (a thread woken and the worker woken
/// back) cost a small fleet more than the merge itself.
pub const INLINE_MERGE_SERIES: usize = 5_000;

fn series_in(r: &PollResult) -> usize {
    r.metrics.as_ref().map_or(0, |v| {
        v.iter()
            .filter_map(|x| x.as_ref().ok())
            .map(crate::model::Vector::len)
            .sum()
    })
}

/// Logs a non-transient error once (until it changes or clears), not once per refresh.
fn note_permanent(err: Option<&SourceError>, reported: &mut Option<String>) {
    match err {
        Some(e) => {
            let text = e.to_string();
            if reported.as_deref() != Some(text.as_str()) {
                tracing::warn!(
                    "the server rejects a query (retrying cannot help; polling goes on): {text}"
                );
                *reported = Some(text);
            }
        }
        None => *reported = None,
    }
}

fn jitter() -> f64 {
    // Sub-second clock noise is random enough to spread retries.
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    f64::from(n % 1000) / 1000.0
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::{RangeRequest, RangeSeries};
    use futures::future::BoxFuture;
    use std::sync::Mutex;

    /// A source whose whole metrics poll fails with the error `fail` returns.
    struct Failing(fn() -> SourceError);

    impl FleetSource for Failing {
        fn describe(&self) -> String {
            "failing".into()
        }
        fn poll<'a>(&'a self, _: &'a PollRequest, now: DateTime<Utc>) -> BoxFuture<'a, PollResult> {
            let e = (self.0)();
            Box::pin(async move {
                PollResult {
                    taken_at: now,
                    metrics: Err(e),
                    alerts: None,
                    sparks: None,
                    sources: Vec::new(),
                    dead_mans_switch: None,
                }
            })
        }
        fn history<'a>(
            &'a self,
            _: &'a RangeRequest,
        ) -> BoxFuture<'a, Result<Vec<RangeSeries>, SourceError>> {
            Box::pin(async { Ok(Vec::new()) })
        }
    }

    fn merger() -> Merger {
        let set = Arc::new(crate::fleet::metrics::mysql_preset("instance", "cluster"));
        Merger::new(set, Identity::default(), Duration::from_secs(3600))
    }

    struct Poller {
        cmd: mpsc::UnboundedSender<PollerCmd>,
        rx: UpdateReceiver,
        task: tokio::task::JoinHandle<()>,
    }

    impl Poller {
        fn start(source: Arc<dyn FleetSource>, refresh: Duration) -> Self {
            let (tx, rx) = update_channel();
            let (cmd, crx) = mpsc::unbounded_channel();
            let task = tokio::spawn(run(
                source,
                merger(),
                PollRequest::default(),
                refresh,
                crx,
                tx,
                Utc::now,
            ));
            Self { cmd, rx, task }
        }

        async fn next(&mut self) -> Update {
            self.rx.changed().await.unwrap();
            self.rx.borrow_and_update().clone().unwrap()
        }
    }

    // An hour between refreshes: every poll in these tests is one the test asked for.
    const SLOW: Duration = Duration::from_secs(3600);

    #[tokio::test]
    async fn a_rejected_query_keeps_the_normal_pace() {
        let bad = || SourceError::Http {
            status: 400,
            body: "parse error".into(),
        };
        let mut p = Poller::start(Arc::new(Failing(bad)), SLOW);
        for _ in 0..4 {
            let u = p.next().await;
            assert!(u.fleet.is_none());
            assert_eq!(u.next_in, SLOW, "retrying cannot help: no backoff");
            p.cmd.send(PollerCmd::RefreshNow).unwrap();
        }
        let api = || SourceError::Api {
            kind: "bad_data".into(),
            error: "unknown function".into(),
        };
        let mut p2 = Poller::start(Arc::new(Failing(api)), SLOW);
        p2.next().await;
        p2.cmd.send(PollerCmd::RefreshNow).unwrap();
        assert_eq!(p2.next().await.next_in, SLOW);
        p.task.abort();
        p2.task.abort();
    }

    #[tokio::test]
    async fn an_outage_backs_off() {
        let down = || SourceError::Connect("connection refused".into());
        let r = Duration::from_secs(1);
        let mut p = Poller::start(Arc::new(Failing(down)), r);
        let mut delays = Vec::new();
        for _ in 0..3 {
            delays.push(p.next().await.next_in);
            p.cmd.send(PollerCmd::RefreshNow).unwrap();
        }
        assert!(delays[0] >= r.mul_f64(1.6), "{delays:?}");
        assert!(delays[2] >= r.mul_f64(6.4), "{delays:?}");
        p.task.abort();
    }

    #[tokio::test]
    async fn new_parameters_forget_earlier_failures_however_they_arrive() {
        let down = || SourceError::Connect("connection refused".into());
        let r = Duration::from_secs(1);
        let mut p = Poller::start(Arc::new(Failing(down)), r);
        for _ in 0..3 {
            p.next().await;
            p.cmd.send(PollerCmd::RefreshNow).unwrap();
        }
        p.next().await;
        // Four failures so far. A refresh and new parameters in one burst: the poller
        // wakes on the first and finds the second queued behind it.
        p.cmd.send(PollerCmd::RefreshNow).unwrap();
        p.cmd.send(PollerCmd::Set(PollRequest::default())).unwrap();
        let u = p.next().await;
        assert!(
            u.next_in <= backoff(r, 1, Duration::from_secs(60), 1.0),
            "one failure since the change, not five: {:?}",
            u.next_in
        );
        p.task.abort();
    }

    /// A source that answers with a 10,000-host fleet and tells when it answered.
    struct Big {
        inner: crate::sources::synthetic::SyntheticSource,
        polled: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    }

    impl FleetSource for Big {
        fn describe(&self) -> String {
            "big".into()
        }
        fn poll<'a>(
            &'a self,
            req: &'a PollRequest,
            now: DateTime<Utc>,
        ) -> BoxFuture<'a, PollResult> {
            Box::pin(async move {
                let r = self.inner.poll(req, now).await;
                if let Some(tx) = self.polled.lock().unwrap().take() {
                    let _ = tx.send(());
                }
                r
            })
        }
        fn history<'a>(
            &'a self,
            _: &'a RangeRequest,
        ) -> BoxFuture<'a, Result<Vec<RangeSeries>, SourceError>> {
            Box::pin(async { Ok(Vec::new()) })
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_big_merge_does_not_hold_up_other_tasks() {
        // One thread, like the board's one worker: a merge run inline would keep the
        // silence write below waiting until the fleet is published.
        let keys = merger()
            .metrics
            .metrics
            .iter()
            .map(|m| m.key.clone())
            .collect();
        let (polled_tx, polled_rx) = tokio::sync::oneshot::channel();
        let source = Arc::new(Big {
            inner: crate::sources::synthetic::SyntheticSource::with_churn(10_000, keys, 10),
            polled: Mutex::new(Some(polled_tx)),
        });
        let mut p = Poller::start(source, SLOW);
        let rx = p.rx.clone();
        let silence = tokio::spawn(async move {
            polled_rx.await.unwrap();
            // The answer is in; the merge has started (or is about to).
            tokio::task::yield_now().await;
            rx.borrow().is_none()
        });
        assert!(
            silence.await.unwrap(),
            "the silence task ran only after the merge was published"
        );
        let u = p.next().await;
        assert_eq!(u.fleet.unwrap().hosts.len(), 10_000);
        p.task.abort();
    }

    #[test]
    fn backoff_grows_and_caps() {
        let r = Duration::from_secs(5);
        assert_eq!(backoff(r, 0, Duration::from_secs(60), 0.5), r);
        let b1 = backoff(r, 1, Duration::from_secs(60), 0.5);
        assert_eq!(b1, Duration::from_secs(10));
        let b9 = backoff(r, 9, Duration::from_secs(60), 1.0);
        assert!(b9 <= Duration::from_secs(72), "{b9:?}");
        assert!(backoff(r, 9, Duration::from_secs(60), 0.0) >= Duration::from_secs(48));
    }
}
