//! What a source returns: series, range series, and why a request failed.

use chrono::{DateTime, Utc};

use super::labels::Labels;

/// One series of an instant query: its labels, its value and the sample time (unix seconds).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub value: f64,
    pub ts: f64,
}

/// One series of a range query; points are `(unix seconds, value)`, values may be NaN/±Inf.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    pub labels: Labels,
    pub points: Vec<(f64, f64)>,
}

/// History of one metric for one host (the host panel's charts).
#[derive(Debug, Clone, PartialEq)]
pub struct RangeRequest {
    /// Metric key (the demo answers by key).
    pub metric: String,
    /// The expression to run, already narrowed to the host (see `sources::query`).
    pub expr: String,
    pub cluster: String,
    pub host: String,
    /// The host's source (its name); `None`: the first source.
    pub source: Option<String>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub step: std::time::Duration,
}

/// Why a request to a data source failed. Messages never contain credentials.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SourceError {
    #[error("timed out after {0:?}")]
    Timeout(std::time::Duration),
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("HTTP {status}{}", if body.is_empty() { String::new() } else { format!(": {body}") })]
    Http { status: u16, body: String },
    /// A 429 or 503 answer that carried a usable `Retry-After` header (seconds or HTTP date,
    /// capped at a day). Without that header those statuses are [`SourceError::Http`].
    #[error("HTTP {status}, retry after {}s{}", retry_after.as_secs(), if body.is_empty() { String::new() } else { format!(": {body}") })]
    RetryLater {
        status: u16,
        retry_after: std::time::Duration,
        body: String,
    },
    #[error("bad response: {0}")]
    BadResponse(String),
    #[error("query error ({kind}): {error}")]
    Api { kind: String, error: String },
    #[error("response larger than the {limit} byte limit")]
    TooLarge { limit: u64 },
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Other(String),
}

impl SourceError {
    /// How long the server asked us to wait (`Retry-After` on a 429 or 503), if it said.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            SourceError::RetryLater { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// The HTTP status of an error answer, if the server answered at all.
    pub fn status(&self) -> Option<u16> {
        match self {
            SourceError::Http { status, .. } | SourceError::RetryLater { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }

    /// Whether trying again later may help: timeouts, connection failures, 429 and 5xx,
    /// and answers that do not parse (cut short, or an error page from a proxy in between).
    /// Not a query the server rejects (HTTP 400/422, a PromQL error), an answer over the
    /// size limit, or a configuration error: those fail the same way every time.
    pub fn is_transient(&self) -> bool {
        match self {
            SourceError::Timeout(_)
            | SourceError::Connect(_)
            | SourceError::RetryLater { .. }
            | SourceError::BadResponse(_) => true,
            SourceError::Http { status, .. } => *status == 429 || *status >= 500,
            SourceError::Api { kind, .. } => kind == "timeout" || kind == "unavailable",
            _ => false,
        }
    }
}
