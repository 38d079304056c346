//! Where silences are listed, created and expired: a group of Alertmanagers (an HA pair),
//! or the demo's in-memory store.
//!
//! An HA group is written through its **first reachable** member, in the configured order:
//! Alertmanagers in a cluster replicate silences to each other by gossip, so one write is
//! enough, and posting to each member would create one silence per member with different
//! ids. A member that cannot be reached (connection refused, timeout, 5xx) is skipped; a
//! member that answers with a 4xx (bad matcher, 401/403) stops the attempt, because the
//! others would refuse it the same way. With gossip turned off, a silence exists only on
//! the member that took it: run the pair with gossip on.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};
use futures::future::BoxFuture;

use super::alertmanager::AmClient;
use crate::model::alert::silence_matches;
use crate::model::{Alert, AlertState, Matcher, NewSilence, Silence, SilenceState, SourceError};

/// A place that keeps silences.
pub trait SilenceBackend: Send + Sync {
    /// Every silence still kept (expired ones included) and who answered.
    fn list(&self) -> BoxFuture<'_, Result<(String, Vec<Silence>), SourceError>>;
    /// Creates a silence; returns its id and who took it.
    fn create<'a>(
        &'a self,
        s: &'a NewSilence,
    ) -> BoxFuture<'a, Result<(String, String), SourceError>>;
    /// Expires a silence; returns who did it.
    fn expire<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<String, SourceError>>;
}

/// Alertmanagers of one HA group, tried in order (see the module docs).
pub struct AmGroup {
    ams: Vec<AmClient>,
}

impl AmGroup {
    /// A group of these Alertmanagers, tried in this order.
    pub fn new(ams: Vec<AmClient>) -> Self {
        Self { ams }
    }

    /// An answer that means "this member is not serving": try the next one.
    fn unreachable(e: &SourceError) -> bool {
        match e {
            SourceError::Http { status, .. } | SourceError::RetryLater { status, .. } => {
                *status >= 500
            }
            SourceError::Timeout(_) | SourceError::Connect(_) => true,
            _ => false,
        }
    }

    async fn first<'a, T, F, Fut>(&'a self, f: F) -> Result<(String, T), SourceError>
    where
        F: Fn(&'a AmClient) -> Fut,
        Fut: std::future::Future<Output = Result<T, SourceError>>,
    {
        let mut last = SourceError::Config("no Alertmanager configured".into());
        for am in &self.ams {
            match f(am).await {
                Ok(v) => return Ok((am.base_url().to_string(), v)),
                Err(e) if Self::unreachable(&e) => {
                    tracing::warn!(am = am.base_url(), error = %e, "alertmanager unreachable, trying the next");
                    last = e;
                }
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }
}

impl SilenceBackend for AmGroup {
    fn list(&self) -> BoxFuture<'_, Result<(String, Vec<Silence>), SourceError>> {
        Box::pin(self.first(AmClient::silences))
    }

    fn create<'a>(
        &'a self,
        s: &'a NewSilence,
    ) -> BoxFuture<'a, Result<(String, String), SourceError>> {
        Box::pin(async move {
            self.first(|am| am.create_silence(s))
                .await
                .map(|(url, id)| (id, url))
        })
    }

    fn expire<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<String, SourceError>> {
        Box::pin(async move { self.first(|am| am.expire_silence(id)).await.map(|x| x.0) })
    }
}

/// The demo's silences, in memory. Alerts of the demo fleet that match an active one are
/// shown suppressed, as Alertmanager would.
pub struct DemoSilences {
    inner: Mutex<(Vec<Silence>, u32)>,
    clock: fn() -> DateTime<Utc>,
}

/// Id of the maintenance silence the demo starts with.
pub const DEMO_SILENCE_ID: &str = "0b6e7d4c-demo-maintenance";

impl DemoSilences {
    /// A store holding the demo's maintenance silence (on `NodeHighLoad` of `host`).
    pub fn new(host_label: &str, host: &str, clock: fn() -> DateTime<Utc>) -> Self {
        let start = Utc
            .with_ymd_and_hms(2020, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_default();
        let maintenance = Silence {
            id: DEMO_SILENCE_ID.into(),
            matchers: vec![
                Matcher::equal("alertname", "NodeHighLoad"),
                Matcher {
                    name: host_label.into(),
                    value: crate::sources::query::host_regex(host, true),
                    is_regex: true,
                    is_equal: true,
                },
            ],
            starts_at: start,
            ends_at: start + Duration::days(365 * 20),
            created_by: "dba-oncall".into(),
            comment: "reindexing, expect high load".into(),
            state: SilenceState::Active,
        };
        Self {
            inner: Mutex::new((vec![maintenance], 0)),
            clock,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Vec<Silence>, u32)> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Marks the alerts that an active silence matches at `at` as suppressed.
    pub fn apply(&self, alerts: &mut [Alert], at: DateTime<Utc>) {
        let g = self.lock();
        for a in alerts {
            let ids: Vec<String> = g
                .0
                .iter()
                .filter(|s| SilenceState::at(s.starts_at, s.ends_at, at) == SilenceState::Active)
                .filter(|s| silence_matches(&s.matchers, &a.labels))
                .map(|s| s.id.clone())
                .collect();
            if !ids.is_empty() {
                a.state = AlertState::Suppressed;
                a.silenced_by = ids;
            }
        }
    }
}

impl SilenceBackend for DemoSilences {
    fn list(&self) -> BoxFuture<'_, Result<(String, Vec<Silence>), SourceError>> {
        let now = (self.clock)();
        let mut v = self.lock().0.clone();
        for s in &mut v {
            s.state = SilenceState::at(s.starts_at, s.ends_at, now);
        }
        Box::pin(async move { Ok(("demo".to_string(), v)) })
    }

    fn create<'a>(
        &'a self,
        s: &'a NewSilence,
    ) -> BoxFuture<'a, Result<(String, String), SourceError>> {
        let r = s
            .validate()
            .map_err(|body| SourceError::Http { status: 400, body })
            .map(|()| {
                let mut g = self.lock();
                g.1 += 1;
                let id = format!("demo-{:04}", g.1);
                g.0.push(Silence {
                    id: id.clone(),
                    matchers: s.matchers.clone(),
                    starts_at: s.starts_at,
                    ends_at: s.ends_at,
                    created_by: s.created_by.clone(),
                    comment: s.comment.clone(),
                    state: SilenceState::Other,
                });
                (id, "demo".to_string())
            });
        Box::pin(async move { r })
    }

    fn expire<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<String, SourceError>> {
        let now = (self.clock)();
        let r = {
            let mut g = self.lock();
            match g.0.iter_mut().find(|s| s.id == id) {
                Some(s)
                    if SilenceState::at(s.starts_at, s.ends_at, now) != SilenceState::Expired =>
                {
                    s.ends_at = now.max(s.starts_at);
                    Ok("demo".to_string())
                }
                Some(_) => Err(SourceError::Http {
                    status: 500,
                    body: "silence already expired".into(),
                }),
                None => Err(SourceError::Http {
                    status: 404,
                    body: "silence not found".into(),
                }),
            }
        };
        Box::pin(async move { r })
    }
}

/// Shared handle to a backend.
pub type Backend = Arc<dyn SilenceBackend>;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::Labels;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    #[test]
    fn demo_store_suppresses_and_expires() {
        let now = Utc::now();
        let store = DemoSilences::new("instance", "x", Utc::now);
        let mut alerts = vec![Alert {
            fingerprint: "f".into(),
            labels: labels(&[("alertname", "MySQLDown"), ("instance", "db1:9104")]),
            annotations: Labels::new(),
            state: AlertState::Active,
            severity: crate::model::Severity::Other,
            silenced_by: vec![],
            inhibited_by: vec![],
            starts_at: None,
            generator_url: None,
        }];
        let bad = NewSilence {
            matchers: vec![Matcher::equal("1bad", "x")],
            starts_at: now,
            ends_at: now + Duration::hours(2),
            created_by: "me".into(),
            comment: "c".into(),
        };
        let e = futures::executor::block_on(store.create(&bad)).unwrap_err();
        assert_eq!(e.status(), Some(400));
        assert!(e.to_string().contains("invalid label name"), "{e}");
        let good = NewSilence {
            matchers: vec![Matcher::equal("instance", "db1:9104")],
            ..bad
        };
        let (id, _) = futures::executor::block_on(store.create(&good)).unwrap();
        store.apply(&mut alerts, now);
        assert_eq!(alerts[0].state, AlertState::Suppressed);
        assert_eq!(alerts[0].silenced_by, vec![id.clone()]);
        futures::executor::block_on(store.expire(&id)).unwrap();
        alerts[0].state = AlertState::Active;
        alerts[0].silenced_by.clear();
        store.apply(&mut alerts, Utc::now() + Duration::seconds(1));
        assert_eq!(alerts[0].state, AlertState::Active);
    }
}
