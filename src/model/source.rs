//! What a source returns: series, range series, and why a request failed.

use chrono::{DateTime, Utc};

use super::labels::Labels;

/// One series of an instant query: its labels, its value and the sample time (unix seconds).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The series' labels, `__name__` included when the server sends it.
    pub labels: Labels,
    /// The sample value (may be NaN or ±Inf, as Prometheus allows).
    pub value: f64,
    /// Sample time, unix seconds with a fraction.
    pub ts: f64,
}

/// One series of a range query; points are `(unix seconds, value)`, values may be NaN/±Inf.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    /// The series' labels.
    pub labels: Labels,
    /// `(unix seconds, value)` points, in the server's order (ascending time).
    pub points: Vec<(f64, f64)>,
}

/// History of one metric for one host (the host panel's charts).
#[derive(Debug, Clone, PartialEq)]
pub struct RangeRequest {
    /// Metric key (the demo answers by key).
    pub metric: String,
    /// The expression to run, already narrowed to the host (see `sources::query`).
    pub expr: String,
    /// The host's cluster (its [`HostId::cluster`](super::HostId::cluster)).
    pub cluster: String,
    /// The host's name (its [`HostId::name`](super::HostId::name)).
    pub host: String,
    /// The host's source (its name); `None`: the first source.
    pub source: Option<String>,
    /// First point's time, UTC.
    pub start: DateTime<Utc>,
    /// Last point's time, UTC; not before `start`.
    pub end: DateTime<Utc>,
    /// Time between points; positive.
    pub step: std::time::Duration,
}

/// Why a request to a data source failed. Messages never contain credentials.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SourceError {
    /// No answer (connect, headers or body) within the configured timeout, which it holds.
    #[error("timed out after {0:?}")]
    Timeout(std::time::Duration),
    /// Connection refused, DNS or TLS failure; the message says which.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// A non-2xx answer.
    #[error("HTTP {status}{}", if body.is_empty() { String::new() } else { format!(": {body}") })]
    Http {
        /// The HTTP status.
        status: u16,
        /// A short, sanitised snippet of the answer's body (for Alertmanager's silence
        /// forms, its whole reason).
        body: String,
    },
    /// A 429 or 503 answer that carried a usable `Retry-After` header (seconds or HTTP date,
    /// capped at a day). Without that header those statuses are [`SourceError::Http`].
    #[error("HTTP {status}, retry after {}s{}", retry_after.as_secs(), if body.is_empty() { String::new() } else { format!(": {body}") })]
    RetryLater {
        /// The HTTP status: 429 or 503.
        status: u16,
        /// The wait the server asked for.
        retry_after: std::time::Duration,
        /// A short, sanitised snippet of the answer's body.
        body: String,
    },
    /// An answer that does not parse or is not what was asked (an HTML page, truncated JSON).
    #[error("bad response: {0}")]
    BadResponse(String),
    /// The server's own error, a JSON body with `"status":"error"`.
    #[error("query error ({kind}): {error}")]
    Api {
        /// Its `errorType` (`bad_data`, `timeout`, `execution`, …).
        kind: String,
        /// Its `error` message, sanitised.
        error: String,
    },
    /// The body is larger than the configured `max_body_bytes`.
    #[error("response larger than the {limit} byte limit")]
    TooLarge {
        /// The limit, in bytes (after gzip decoding).
        limit: u64,
    },
    /// Bad settings (a URL, a TLS file, a header, a query range); the message names them.
    #[error("{0}")]
    Config(String),
    /// Anything else.
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
