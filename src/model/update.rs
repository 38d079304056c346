//! The update one refresh produces, as the UI receives it.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::host::Fleet;
use super::source::SourceError;

/// One refresh as the UI receives it.
#[derive(Debug, Clone)]
pub struct Update {
    /// Wall-clock time the refresh finished.
    pub received_at: DateTime<Utc>,
    /// `None` when the metrics source failed as a whole: keep showing the last good
    /// fleet, marked stale. Shared with the poller, which keeps it as the previous
    /// refresh (no copy of 10,000 hosts per refresh).
    pub fleet: Option<Arc<Fleet>>,
    /// Why the metrics source failed this refresh, when it did (as a whole or in part).
    pub prom_error: Option<SourceError>,
    /// Per Alertmanager: `(url, error)`.
    pub alert_sources: Vec<(String, Option<SourceError>)>,
    /// Delay before the next attempt (longer while failing).
    pub next_in: Duration,
}
