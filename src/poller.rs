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
    pub metrics: Arc<MetricSet>,
    pub identity: Identity,
    pub forget_after: Duration,
    previous: Option<Arc<Fleet>>,
    last_alerts: Vec<Alert>,
    /// The sparkline query, to place its points on the grid of steps.
    pub sparkline: Option<crate::sources::SparkQuery>,
}

impl Merger {
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

/// Runs the poll loop until the receiver of `tx` is gone.
pub async fn run<S, F>(
    source: Arc<S>,
    mut merger: Merger,
    mut req: PollRequest,
    refresh: Duration,
    mut cmds: mpsc::UnboundedReceiver<PollerCmd>,
    tx: mpsc::UnboundedSender<Update>,
    clock: F,
) where
    S: FleetSource + ?Sized + 'static,
    F: Fn() -> DateTime<Utc>,
{
    let mut failures: u32 = 0;
    loop {
        let r = source.poll(&req, clock()).await;
        let (fleet, err, alert_sources) = merger.merge(r);
        if fleet.is_some() {
            failures = 0;
        } else {
            failures = failures.saturating_add(1);
        }
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
        if tx.send(u).is_err() {
            return;
        }
        // Wait for the next tick or a command; a burst of commands is one refresh. In
        // replay the data does not change: poll again only on a command (or to retry).
        let replay_ok = req.at.is_some() && failures == 0;
        tokio::select! {
            () = tokio::time::sleep(next_in), if !replay_ok => {}
            c = cmds.recv() => match c {
                None => return,
                Some(PollerCmd::Set(r)) => { merger.reset(); req = r; failures = 0; }
                Some(PollerCmd::RefreshNow) => {}
            }
        }
        while let Ok(c) = cmds.try_recv() {
            if let PollerCmd::Set(r) = c {
                merger.reset();
                req = r;
            }
        }
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
mod tests {
    use super::*;

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
