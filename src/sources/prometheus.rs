//! Client for the Prometheus HTTP query API, as spoken by Prometheus, VictoriaMetrics, Thanos
//! and Mimir: instant queries (`/api/v1/query`) and range queries (`/api/v1/query_range`).
//!
//! The parsers are pure functions over the response body ([`parse_instant`], [`parse_range`]).
//! They read the body in one pass with seeded serde visitors driven by `sonic_rs` (no value
//! tree, no map per series: an instant answer becomes a compact [`Vector`]) and accept both float
//! timestamps (Prometheus) and integer ones (VictoriaMetrics), and the string values `NaN`,
//! `+Inf` and `-Inf`. They never panic: any malformed body is [`SourceError::BadResponse`].

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::http::{self, Endpoint, HttpConfig};
use crate::model::{Labels, RangeSeries, SourceError};
use crate::model::{Vector, VectorBuilder};

/// Most points per series Prometheus returns from one range query.
pub const MAX_POINTS_PER_SERIES: u64 = 11_000;

/// A Prometheus-compatible query API.
#[derive(Debug, Clone)]
pub struct PromClient {
    ep: Endpoint,
    deny_partial: bool,
}

/// An instant answer and what its envelope said about it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answer {
    /// The series (or a scalar as one sample without labels).
    pub vector: Vector,
    /// Warnings, infos and `isPartial` of the envelope.
    pub completeness: Completeness,
}

/// What an answer's envelope says beyond the series (all text sanitised, one line each).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Completeness {
    /// Why series may be missing: VictoriaMetrics' `isPartial`, or a warning that is not a
    /// PromQL annotation (Thanos puts an unreachable StoreAPI there, Prometheus a failed
    /// remote read). Empty when the answer is complete.
    pub partial: Vec<String>,
    /// Warnings and infos about complete data (PromQL annotations such as "metric might
    /// not be a counter"): worth a note, never a reason to distrust the series.
    pub notices: Vec<String>,
}

impl Completeness {
    fn from_envelope(warnings: Vec<String>, infos: Vec<String>, is_partial: bool) -> Self {
        let mut c = Self::default();
        if is_partial {
            c.partial
                .push("the engine marked the answer partial (isPartial): some storage nodes did not answer".into());
        }
        for w in warnings {
            let line = crate::sanitize::line(&w, 300);
            // Prometheus prefixes its PromQL annotations; anything else (a store, a remote
            // read, a replica) is data the engine could not reach.
            if w.starts_with("PromQL ") {
                c.notices.push(line);
            } else {
                c.partial.push(line);
            }
        }
        c.notices
            .extend(infos.iter().map(|i| crate::sanitize::line(i, 300)));
        c
    }

    /// The answer may lack series.
    pub fn is_partial(&self) -> bool {
        !self.partial.is_empty()
    }

    /// Adds another answer's words, without repeating a line.
    pub fn absorb(&mut self, other: Completeness) {
        for p in other.partial {
            if !self.partial.contains(&p) {
                self.partial.push(p);
            }
        }
        for n in other.notices {
            if !self.notices.contains(&n) {
                self.notices.push(n);
            }
        }
    }
}

impl PromClient {
    /// `base` is the server's URL, with any path prefix (`https://gw/prometheus`, Mimir's
    /// `https://mimir/prometheus`), with or without a trailing slash. `user:pass@` in it is used
    /// as basic auth (unless `cfg.basic_auth` is set) and never shown.
    ///
    /// # Errors
    ///
    /// [`SourceError::Config`] when `base` is not an http(s) URL, both basic auth and a bearer
    /// token are set (in the settings or the URL), or the HTTP settings are invalid (see [`build_client`](super::http::build_client)).
    pub fn new(base: &str, cfg: &HttpConfig) -> Result<Self, SourceError> {
        Ok(Self {
            ep: Endpoint::new(base, cfg)?,
            deny_partial: false,
        })
    }

    /// The base URL, without credentials and without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.ep.display
    }

    /// The `timeout` parameter sent to the server: a bit below the client timeout, so that the
    /// server gives up first and says why.
    fn server_timeout(&self) -> Option<String> {
        let t = self.ep.timeout;
        let margin = (t / 10).max(Duration::from_millis(200));
        let server = t.checked_sub(margin)?;
        (server >= Duration::from_millis(100)).then(|| format!("{}ms", server.as_millis()))
    }

    async fn post_form(&self, path: &str, form: &[(&str, String)]) -> Result<Vec<u8>, SourceError> {
        // Built before any await: the serializer is not Send.
        let body = {
            let mut ser = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in form {
                ser.append_pair(k, v);
            }
            ser.finish()
        };
        let url = self.ep.url(&["api", "v1", path]);
        let rb = self
            .ep
            .request(Method::POST, url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body);
        self.ep.get_body(rb).await
    }

    /// Runs an instant query (`POST /api/v1/query`) at `at` (default: the server's now).
    /// The expression must return an instant vector or a scalar (one sample with no labels).
    ///
    /// # Errors
    ///
    /// As [`PromClient::query_answer`].
    pub async fn query(
        &self,
        expr: &str,
        at: Option<DateTime<Utc>>,
    ) -> Result<Vector, SourceError> {
        self.query_answer(expr, at).await.map(|a| a.vector)
    }

    /// [`PromClient::query`] with the envelope's word on completeness (warnings, infos,
    /// `isPartial`): an engine may answer 200 with only some of the series.
    ///
    /// # Errors
    ///
    /// The request errors of [`get_body`](super::http::get_body) (timeout, connection, HTTP status,
    /// size cap); [`SourceError::Api`] when the server answers `"status":"error"` or the expression
    /// returns a range vector or a string; [`SourceError::BadResponse`] when the body is not a
    /// Prometheus query answer.
    pub async fn query_answer(
        &self,
        expr: &str,
        at: Option<DateTime<Utc>>,
    ) -> Result<Answer, SourceError> {
        let mut form = vec![("query", expr.to_owned())];
        if let Some(at) = at {
            form.push(("time", unix_seconds(at)));
        }
        if let Some(t) = self.server_timeout() {
            form.push(("timeout", t));
        }
        if self.deny_partial {
            // Thanos reads the first, VictoriaMetrics the second; each ignores the other.
            form.push(("partial_response", "false".into()));
            form.push(("deny_partial_response", "1".into()));
        }
        let body = self.post_form("query", &form).await?;
        parse_instant_answer(&body)
    }

    /// Asks the engine to fail rather than answer with part of the data (Thanos
    /// `partial_response=false`, VictoriaMetrics `deny_partial_response=1`).
    #[must_use]
    pub fn with_deny_partial(mut self, deny: bool) -> Self {
        self.deny_partial = deny;
        self
    }

    /// Runs a range query (`POST /api/v1/query_range`). `step` must be positive and give at most
    /// [`MAX_POINTS_PER_SERIES`] points.
    ///
    /// # Errors
    ///
    /// [`SourceError::Config`] when `step` is zero, `end` is before `start`, or the range would give
    /// more than [`MAX_POINTS_PER_SERIES`] points; the request errors of
    /// [`get_body`](super::http::get_body); [`SourceError::Api`] for an error answer and
    /// [`SourceError::BadResponse`] when the body is not a matrix answer.
    pub async fn query_range(
        &self,
        expr: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        step: Duration,
    ) -> Result<Vec<RangeSeries>, SourceError> {
        if step.is_zero() {
            return Err(SourceError::Config(
                "range query step must be positive".into(),
            ));
        }
        if end < start {
            return Err(SourceError::Config(
                "range query end is before its start".into(),
            ));
        }
        let span_ms = u128::try_from((end - start).num_milliseconds()).unwrap_or(0);
        let points = span_ms / step.as_millis().max(1) + 1;
        if points > u128::from(MAX_POINTS_PER_SERIES) {
            return Err(SourceError::Config(format!(
                "range query would return {points} points per series (at most {MAX_POINTS_PER_SERIES}): use a larger step"
            )));
        }
        let mut form = vec![
            ("query", expr.to_owned()),
            ("start", unix_seconds(start)),
            ("end", unix_seconds(end)),
            ("step", seconds(step)),
        ];
        if let Some(t) = self.server_timeout() {
            form.push(("timeout", t));
        }
        let body = self.post_form("query_range", &form).await?;
        parse_range(&body)
    }
}

/// Unix seconds with milliseconds, as Prometheus and VictoriaMetrics accept (`1795554331.174`).
fn unix_seconds(t: DateTime<Utc>) -> String {
    let ms = t.timestamp_millis();
    let (secs, frac) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    if frac == 0 {
        secs.to_string()
    } else {
        format!("{secs}.{frac:03}")
    }
}

/// A duration as float seconds (`4`, `0.5`), which both servers accept for `step`.
fn seconds(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 1000 == 0 {
        (ms / 1000).to_string()
    } else {
        format!("{}.{:03}", ms / 1000, ms % 1000)
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing
//
// The body is read in one pass with seeded visitors: an instant answer's series go straight
// into a compact [`Vector`] (interned labels), never through a map per series.

/// Parses an instant query answer: a vector, or a scalar (one sample with empty labels).
/// A matrix or string result is [`SourceError::Api`] with kind `bad_result_type`.
///
/// # Errors
///
/// As [`parse_instant_answer`].
pub fn parse_instant(body: &[u8]) -> Result<Vector, SourceError> {
    parse_instant_answer(body).map(|a| a.vector)
}

/// Parses an instant query answer with what the envelope says about its completeness.
///
/// # Errors
///
/// [`SourceError::Api`] when the answer is `"status":"error"` or holds a matrix or a string
/// (kind `bad_result_type`); [`SourceError::BadResponse`] when the body is empty, not JSON or
/// not a Prometheus query answer, or a value is not a number.
pub fn parse_instant_answer(body: &[u8]) -> Result<Answer, SourceError> {
    let (rt, c, completeness) = parse_body(body, Mode::Instant)?;
    let vector = instant_vector(rt, c)?;
    Ok(Answer {
        vector,
        completeness,
    })
}

fn instant_vector(rt: ResultType, c: Collect) -> Result<Vector, SourceError> {
    if rt == ResultType::Matrix {
        return Err(matrix_error());
    }
    match c.pair {
        None => {
            if c.range_only {
                return Err(matrix_error());
            }
            if c.skipped > 0 {
                tracing::debug!(
                    skipped = c.skipped,
                    "instant query: series with neither a value nor a histogram skipped"
                );
            }
            Ok(c.vector.finish())
        }
        Some((ts, text)) if matches!(rt, ResultType::Scalar | ResultType::Unknown) => {
            let value = parse_value(&text).ok_or_else(|| bad_value(&text))?;
            let mut b = VectorBuilder::default();
            b.close(value, ts);
            Ok(b.finish().into_scalar())
        }
        Some(_) => Err(SourceError::Api {
            kind: "bad_result_type".into(),
            error: "the expression returns a string; the board needs an instant vector or a scalar"
                .into(),
        }),
    }
}

fn matrix_error() -> SourceError {
    SourceError::Api {
        kind: "bad_result_type".into(),
        error: "the expression returns a range vector (matrix); the board needs an instant vector: \
                drop the [range] selector or wrap it in a function such as rate() or last_over_time()"
            .into(),
    }
}

/// Parses a range query answer (a matrix). Points keep the server's order.
///
/// # Errors
///
/// [`SourceError::Api`] when the answer is `"status":"error"`; [`SourceError::BadResponse`] when
/// the body is empty, not a Prometheus query answer, or holds a scalar, string or instant vector
/// instead of a matrix.
pub fn parse_range(body: &[u8]) -> Result<Vec<RangeSeries>, SourceError> {
    let (_, c, _) = parse_body(body, Mode::Range)?;
    if c.pair.is_some() {
        return Err(SourceError::BadResponse(
            "range query answered with a scalar or string instead of a matrix".into(),
        ));
    }
    if c.instant_only {
        return Err(SourceError::BadResponse(
            "range query answered with an instant vector".into(),
        ));
    }
    // Series of native histograms only ("histograms") have nothing to plot as floats.
    Ok(c.range)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResultType {
    Vector,
    Matrix,
    Scalar,
    String,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Instant,
    Range,
}

/// What `data.result` held, gathered while the body is read.
struct Collect {
    mode: Mode,
    /// Instant mode: the series.
    vector: VectorBuilder,
    /// Range mode: the series.
    range: Vec<RangeSeries>,
    /// `result` was a `[timestamp, "text"]` pair (scalar or string), not a list of series.
    pair: Option<(f64, String)>,
    /// A series had `value` and no `values` (an instant sample).
    instant_only: bool,
    /// A series had `values` and no `value` (a range series).
    range_only: bool,
    /// Series with neither (native histograms).
    skipped: usize,
}

/// What the envelope said besides the series.
#[derive(Default)]
struct Envelope {
    status: Option<String>,
    /// `Some` once `data` was a JSON object; inside, whether `result` was present.
    data: Option<DataInfo>,
    error_type: Option<String>,
    error: Option<String>,
    warnings: Option<Vec<String>>,
    infos: Option<Vec<String>>,
    /// VictoriaMetrics cluster: some `vmstorage` nodes did not answer.
    is_partial: Option<bool>,
}

#[derive(Default)]
struct DataInfo {
    result_type: Option<String>,
    result_present: bool,
}

fn parse_body(body: &[u8], mode: Mode) -> Result<(ResultType, Collect, Completeness), SourceError> {
    let trimmed = body.trim_ascii_start();
    if trimmed.is_empty() {
        return Err(SourceError::BadResponse("empty body".into()));
    }
    if trimmed.first() == Some(&b'<') {
        return Err(SourceError::BadResponse(format!(
            "expected JSON but got HTML or XML (a proxy page?): {}",
            http::snippet(body, 80)
        )));
    }
    let mut c = Collect {
        mode,
        vector: VectorBuilder::default(),
        range: Vec::new(),
        pair: None,
        instant_only: false,
        range_only: false,
        skipped: 0,
    };
    let mut de = sonic_rs::Deserializer::from_slice(body);
    let env = EnvelopeSeed(&mut c)
        .deserialize(&mut de)
        .and_then(|env| de.end().map(|()| env))
        .map_err(json_error)?;
    match env.status.as_deref() {
        Some("success") => {}
        Some("error") => {
            return Err(SourceError::Api {
                kind: crate::sanitize::line(env.error_type.as_deref().unwrap_or("unknown"), 40),
                error: crate::sanitize::line(env.error.as_deref().unwrap_or(""), 500),
            })
        }
        Some(other) => {
            return Err(SourceError::BadResponse(format!(
                "unexpected status {:?}",
                crate::sanitize::line(other, 40)
            )))
        }
        None => {
            return Err(SourceError::BadResponse(
                "unexpected JSON (missing field `status`)".into(),
            ))
        }
    }
    let completeness = Completeness::from_envelope(
        env.warnings.unwrap_or_default(),
        env.infos.unwrap_or_default(),
        env.is_partial.unwrap_or(false),
    );
    let data = env
        .data
        .ok_or_else(|| SourceError::BadResponse("status success but no \"data\"".into()))?;
    if !data.result_present {
        return Err(SourceError::BadResponse(
            "status success but no \"data.result\"".into(),
        ));
    }
    let rt = match data.result_type.as_deref() {
        Some("vector") => ResultType::Vector,
        Some("matrix") => ResultType::Matrix,
        Some("scalar") => ResultType::Scalar,
        Some("string") => ResultType::String,
        _ => ResultType::Unknown,
    };
    // The declared type must agree with the shape; an empty list fits both vector and matrix.
    let series = c.pair.is_none();
    let consistent = match rt {
        ResultType::Vector | ResultType::Matrix => series,
        ResultType::Scalar | ResultType::String => !series,
        ResultType::Unknown => true,
    };
    if !consistent {
        return Err(SourceError::BadResponse(format!(
            "resultType {:?} does not match the shape of \"result\"",
            crate::sanitize::line(data.result_type.as_deref().unwrap_or(""), 20)
        )));
    }
    if rt == ResultType::Matrix && c.instant_only {
        return Err(SourceError::BadResponse(
            "resultType matrix with instant samples".into(),
        ));
    }
    Ok((rt, c, completeness))
}

fn json_error(e: sonic_rs::Error) -> SourceError {
    // The message's first line is the reason and its place; the lines after quote the body.
    let text = e.to_string();
    let msg = crate::sanitize::line(text.lines().next().unwrap_or_default(), 160);
    if e.is_eof() {
        SourceError::BadResponse(format!("truncated JSON ({msg})"))
    } else if e.is_syntax() {
        SourceError::BadResponse(format!("invalid JSON ({msg})"))
    } else {
        SourceError::BadResponse(format!("unexpected JSON ({msg})"))
    }
}

/// Keys of the objects the parser reads; anything else is skipped.
#[derive(Deserialize)]
#[serde(field_identifier)]
enum Key {
    #[serde(rename = "status")]
    Status,
    #[serde(rename = "data")]
    Data,
    #[serde(rename = "errorType")]
    ErrorType,
    #[serde(rename = "error")]
    Error,
    #[serde(rename = "warnings")]
    Warnings,
    #[serde(rename = "infos")]
    Infos,
    #[serde(rename = "isPartial")]
    IsPartial,
    #[serde(rename = "resultType")]
    ResultType,
    #[serde(rename = "result")]
    Result,
    #[serde(rename = "metric")]
    Metric,
    #[serde(rename = "value")]
    Value,
    #[serde(rename = "values")]
    Values,
    #[serde(rename = "histogram")]
    Histogram,
    #[serde(other)]
    Other,
}

struct EnvelopeSeed<'c>(&'c mut Collect);

impl<'de> DeserializeSeed<'de> for EnvelopeSeed<'_> {
    type Value = Envelope;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Envelope, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EnvelopeSeed<'_> {
    type Value = Envelope;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Prometheus API response object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope, A::Error> {
        let mut env = Envelope::default();
        let mut data_seen = false;
        while let Some(k) = map.next_key::<Key>()? {
            match k {
                Key::Status => env.status = Some(map.next_value()?),
                Key::Data => {
                    if std::mem::replace(&mut data_seen, true) {
                        return Err(de::Error::duplicate_field("data"));
                    }
                    env.data = map.next_value_seed(DataSeed(&mut *self.0))?;
                }
                Key::ErrorType => env.error_type = map.next_value()?,
                Key::Error => env.error = map.next_value()?,
                Key::Warnings => env.warnings = map.next_value()?,
                Key::Infos => env.infos = map.next_value()?,
                Key::IsPartial => env.is_partial = map.next_value()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(env)
    }
}

/// `data`: `null`, or an object with `resultType` and `result`.
struct DataSeed<'c>(&'c mut Collect);

impl<'de> DeserializeSeed<'de> for DataSeed<'_> {
    type Value = Option<DataInfo>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<DataInfo>, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for DataSeed<'_> {
    type Value = Option<DataInfo>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a data object")
    }
    fn visit_none<E: de::Error>(self) -> Result<Option<DataInfo>, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Option<DataInfo>, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<DataInfo>, D::Error> {
        d.deserialize_map(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<DataInfo>, A::Error> {
        let mut info = DataInfo::default();
        while let Some(k) = map.next_key::<Key>()? {
            match k {
                Key::ResultType => info.result_type = map.next_value()?,
                Key::Result => {
                    if std::mem::replace(&mut info.result_present, true) {
                        return Err(de::Error::duplicate_field("result"));
                    }
                    map.next_value_seed(ResultSeed(&mut *self.0))?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Some(info))
    }
}

/// `data.result`: a list of series (vector, matrix), a `[ts, "value"]` pair (scalar,
/// string), or `null` (what some engines send for "nothing").
struct ResultSeed<'c>(&'c mut Collect);

impl<'de> DeserializeSeed<'de> for ResultSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ResultSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of series or a [timestamp, value] pair")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let c = self.0;
        match seq.next_element_seed(FirstSeed(&mut *c))? {
            None => Ok(()),
            Some(First::Series) => {
                while seq.next_element_seed(SeriesSeed(&mut *c))?.is_some() {}
                Ok(())
            }
            Some(First::Ts(ts)) => {
                let value = seq
                    .next_element::<ValueText>()?
                    .ok_or_else(|| de::Error::custom("scalar without a value"))?;
                if seq.next_element::<IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom("scalar with more than two elements"));
                }
                c.pair = Some((ts, value.0));
                Ok(())
            }
        }
    }
}

/// The first element of `result` decides its shape: a series object or a scalar's timestamp.
enum First {
    Series,
    Ts(f64),
}

struct FirstSeed<'c>(&'c mut Collect);

impl<'de> DeserializeSeed<'de> for FirstSeed<'_> {
    type Value = First;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<First, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FirstSeed<'_> {
    type Value = First;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a series object or a timestamp")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<First, A::Error> {
        SeriesSeed(self.0).visit_map(map).map(|()| First::Series)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<First, E> {
        Ok(First::Ts(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<First, E> {
        Ok(First::Ts(v as f64))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<First, E> {
        Ok(First::Ts(v as f64))
    }
}

/// One series object: `metric`, and `value` (instant) or `values` (range).
struct SeriesSeed<'c>(&'c mut Collect);

impl<'de> DeserializeSeed<'de> for SeriesSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for SeriesSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a series object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let c = self.0;
        let (mut metric, mut value, mut values) = (false, None, None);
        let mut histogram: Option<f64> = None;
        let mut labels = Labels::new();
        while let Some(k) = map.next_key::<Key>()? {
            match k {
                Key::Metric => {
                    if std::mem::replace(&mut metric, true) {
                        return Err(de::Error::duplicate_field("metric"));
                    }
                    match c.mode {
                        Mode::Instant => map.next_value_seed(MetricSeed(&mut c.vector))?,
                        Mode::Range => labels = map.next_value()?,
                    }
                }
                Key::Value => {
                    if value.is_some() {
                        return Err(de::Error::duplicate_field("value"));
                    }
                    value = Some(map.next_value::<Point>()?);
                }
                Key::Values => {
                    if values.is_some() {
                        return Err(de::Error::duplicate_field("values"));
                    }
                    // An instant answer only needs to know that the points were there.
                    values = Some(match c.mode {
                        Mode::Range => map.next_value::<Vec<Point>>()?,
                        Mode::Instant => {
                            map.next_value::<PointsSeen>()?;
                            Vec::new()
                        }
                    });
                }
                Key::Histogram if c.mode == Mode::Instant => {
                    // `[ts, {count, sum, buckets}]`: only the time is kept.
                    let (ts, _): (f64, IgnoredAny) = map.next_value()?;
                    histogram = Some(ts);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        c.instant_only |= (value.is_some() || histogram.is_some()) && values.is_none();
        c.range_only |= value.is_none() && values.is_some();
        match (c.mode, value, values) {
            (Mode::Instant, Some(Point(ts, v)), _) => c.vector.close(v, ts),
            (Mode::Instant, None, _) if histogram.is_some() => {
                c.vector.close_histogram(histogram.unwrap_or_default());
            }
            (Mode::Range, _, Some(points)) => c.range.push(RangeSeries {
                labels,
                points: points.into_iter().map(|Point(t, v)| (t, v)).collect(),
            }),
            (Mode::Instant, None, _) | (Mode::Range, _, None) => {
                c.vector.discard();
                c.skipped += 1;
            }
        }
        Ok(())
    }
}

/// A series' `metric` object, interned into the vector being built.
struct MetricSeed<'b>(&'b mut VectorBuilder);

impl<'de> DeserializeSeed<'de> for MetricSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MetricSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a label map")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let b = self.0;
        loop {
            let pos = b.open_len();
            let Some(k) = map.next_key_seed(InternSeed(&mut *b, pos, true))? else {
                break;
            };
            let v = map.next_value_seed(InternSeed(&mut *b, pos, false))?;
            b.label_ids(k, v);
        }
        Ok(())
    }
}

/// A label name (`true`) or value at a position of the series, interned; borrowed from the
/// body when it has no escapes.
struct InternSeed<'b>(&'b mut VectorBuilder, usize, bool);

impl<'de> DeserializeSeed<'de> for InternSeed<'_> {
    type Value = u32;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<u32, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for InternSeed<'_> {
    type Value = u32;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a label string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<u32, E> {
        Ok(self.0.intern_at(v, self.1, self.2))
    }
}

/// A `values` list read for its shape only (instant mode: the answer is a matrix).
struct PointsSeen;

impl<'de> Deserialize<'de> for PointsSeen {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PointsSeen;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of [timestamp, \"value\"] pairs")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PointsSeen, A::Error> {
                while seq.next_element::<Point>()?.is_some() {}
                Ok(PointsSeen)
            }
        }
        d.deserialize_seq(V)
    }
}

/// `[timestamp, "value"]`: timestamp float or integer, value a string (or, leniently, a number).
struct Point(f64, f64);

/// Parses a Prometheus sample value: decimal, exponent, `NaN`, `+Inf`, `-Inf`.
pub fn parse_value(s: &str) -> Option<f64> {
    match s {
        "NaN" | "nan" => Some(f64::NAN),
        "+Inf" | "Inf" | "inf" | "+inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        _ => s.trim().parse::<f64>().ok(),
    }
}

fn bad_value(v: &str) -> SourceError {
    SourceError::BadResponse(format!(
        "invalid sample value {:?}",
        crate::sanitize::line(v, 40)
    ))
}

/// A scalar's or string's value, kept as text.
struct ValueText(String);

impl<'de> Deserialize<'de> for ValueText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ValueText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ValueText, E> {
                Ok(ValueText(v.to_owned()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ValueText, E> {
                Ok(ValueText(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ValueText, E> {
                Ok(ValueText(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ValueText, E> {
                Ok(ValueText(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A sample value: a string such as `"0"`, `"NaN"`, `"+Inf"`, or leniently a JSON number.
struct Value(f64);

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a sample value string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
                parse_value(v).map(Value).ok_or_else(|| {
                    E::custom(format_args!(
                        "invalid sample value {:?}",
                        crate::sanitize::line(v, 40)
                    ))
                })
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
                Ok(Value(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
                Ok(Value(v as f64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
                Ok(Value(v as f64))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Point {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Point;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a [timestamp, \"value\"] pair")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Point, A::Error> {
                let ts: f64 = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let Value(v) = seq
                    .next_element_seed(ValueSeed)?
                    .ok_or_else(|| de::Error::invalid_length(1, &self))?;
                if seq.next_element::<IgnoredAny>()?.is_some() {
                    return Err(de::Error::invalid_length(3, &self));
                }
                Ok(Point(ts, v))
            }
        }
        d.deserialize_seq(V)
    }
}

struct ValueSeed;

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::Sample;

    const PROM_VECTOR: &[u8] = include_bytes!("../../tests/fixtures/prom_vector.json");
    const VM_VECTOR: &[u8] = include_bytes!("../../tests/fixtures/vm_vector.json");
    const SPECIAL: &[u8] = include_bytes!("../../tests/fixtures/prom_vector_special_values.json");
    const SCALAR: &[u8] = include_bytes!("../../tests/fixtures/prom_scalar.json");
    const ERROR: &[u8] = include_bytes!("../../tests/fixtures/prom_error.json");
    const MATRIX: &[u8] = include_bytes!("../../tests/fixtures/prom_matrix.json");

    #[test]
    fn prometheus_float_timestamps() {
        let s = parse_instant(PROM_VECTOR).unwrap().to_samples();
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].ts, 1_795_554_331.174);
        assert_eq!(s[0].value, 0.0);
        assert_eq!(s[0].labels["instance"], "db5");
        assert_eq!(s[0].labels["cluster"], "orders");
        assert_eq!(
            s[0].labels["__name__"],
            "mysql_slave_status_seconds_behind_master"
        );
        assert_eq!(s[2].labels["instance"], "db3");
    }

    #[test]
    fn victoriametrics_integer_timestamps() {
        let s = parse_instant(VM_VECTOR).unwrap().to_samples();
        assert_eq!(s.len(), 3);
        assert!(s.iter().all(|s| s.ts == 1_795_554_437.0));
        assert_eq!(s[1].labels["instance"], "db2");
    }

    #[test]
    fn special_values() {
        let s = parse_instant(SPECIAL).unwrap().to_samples();
        let v: Vec<f64> = s.iter().map(|s| s.value).collect();
        assert!(v[0].is_nan());
        assert_eq!(v[1], f64::INFINITY);
        assert_eq!(v[2], f64::NEG_INFINITY);
        assert_eq!(v[3], 1e308);
        assert_eq!(v[4], 2.5276502016e10);
        assert_eq!(v[5], -0.0);
        assert_eq!(v[6], 0.0066);
    }

    #[test]
    fn scalar_becomes_one_unlabelled_sample() {
        let s = parse_instant(SCALAR).unwrap().to_samples();
        assert_eq!(
            s,
            vec![Sample {
                labels: Labels::new(),
                value: 151.0,
                ts: 1_795_554_331.174
            }]
        );
    }

    #[test]
    fn error_status() {
        assert_eq!(
            parse_instant(ERROR).unwrap_err(),
            SourceError::Api {
                kind: "bad_data".into(),
                error: "invalid parameter \"query\": 1:31: parse error: unexpected right parenthesis ')'".into()
            }
        );
        assert!(matches!(parse_range(ERROR), Err(SourceError::Api { .. })));
    }

    #[test]
    fn matrix_for_range() {
        let r = parse_range(MATRIX).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].labels["instance"], "db2");
        assert_eq!(r[0].points.len(), 11);
        assert_eq!(r[0].points[0], (1_795_554_357.0, 0.0));
        assert_eq!(r[0].points[9], (1_795_554_393.0, 29.0));
        assert_eq!(r[1].labels["instance"], "db3");
        assert_eq!(r[1].points.len(), 9);
    }

    #[test]
    fn matrix_or_string_for_instant_is_explained() {
        let e = parse_instant(MATRIX).unwrap_err();
        assert!(
            matches!(&e, SourceError::Api { kind, error } if kind == "bad_result_type" && error.contains("instant vector")),
            "{e}"
        );
        let e = parse_instant(
            br#"{"status":"success","data":{"resultType":"string","result":[1.5,"hi"]}}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("string"), "{e}");
    }

    #[test]
    fn empty_and_null_results() {
        let body = br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert!(parse_instant(body).unwrap().is_empty());
        let body = br#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        assert!(parse_range(body).unwrap().is_empty());
        let body = br#"{"status":"success","data":{"resultType":"vector","result":null}}"#;
        assert!(parse_instant(body).unwrap().is_empty());
    }

    #[test]
    fn result_before_result_type_and_warnings() {
        let body = br#"{"warnings":["w"],"data":{"result":[{"metric":{},"value":[1,"2"]}],"resultType":"vector"},"status":"success","infos":["x"]}"#;
        let s = parse_instant(body).unwrap().to_samples();
        assert_eq!(s[0].value, 2.0);
        assert!(s[0].labels.is_empty());
    }

    #[test]
    fn malformed_bodies_are_bad_responses() {
        let cases: &[&[u8]] = &[
            b"",
            b"   ",
            b"<html><title>Login</title></html>",
            br#"{"status":"success"}"#,
            br#"{"status":"success","data":null}"#,
            br#"{"status":"success","data":{"resultType":"vector"}}"#,
            br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"abc"]}]}}"#,
            br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1]}]}}"#,
            br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"2",3]}]}}"#,
            br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":["x","2"]}]}}"#,
            br#"{"status":"success","data":{"resultType":"scalar","result":[{"metric":{},"value":[1,"2"]}]}}"#,
            br#"{"status":"success","data":{"resultType":"vector","result":[1,"2"]}}"#,
            br#"{"status":"success","data":{"resultType":"vector","result":"x"}}"#,
            br#"{"status":"weird"}"#,
            br#"[]"#,
            b"null",
        ];
        for c in cases {
            let e = parse_instant(c).unwrap_err();
            assert!(
                matches!(e, SourceError::BadResponse(_)),
                "{}: {e:?}",
                String::from_utf8_lossy(c)
            );
            assert!(e.to_string().len() < 300);
        }
    }

    /// The parser's reason is one line with its place in the body, never a quote of the body
    /// (which could carry anything a proxy put there).
    #[test]
    fn json_errors_are_one_line_with_a_place() {
        let cases: &[(&[u8], &str)] = &[
            (br#"{"status":"success","data":{"resultType":"vector","result":[]}} x"#, "invalid JSON"),
            (br#"{"status":"success","data":{"resultType":"vector","result":[],}}"#, "invalid JSON"),
            (b"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"a\":\"\xff\"},\"value\":[1,\"2\"]}]}}", "invalid JSON"),
            (br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"\ud800"},"value":[1,"2"]}]}}"#, "invalid JSON"),
            (br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":1},"value":[1,"2"]}]}}"#, "unexpected JSON"),
            (br#"{"status":"success","data":{"resultType":"vector","result":["#, "truncated JSON"),
        ];
        for (body, kind) in cases {
            let e = parse_instant(body).unwrap_err().to_string();
            assert!(e.contains(kind), "{e}");
            assert!(e.contains("line 1 column"), "{e}");
            assert!(!e.contains('\n') && !e.contains('\t'), "{e:?}");
        }
        // Escapes and surrogate pairs are read as JSON says.
        let v = parse_instant(
            br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"\u00e9\"\ud83d\ude00"},"value":[1,"2"]}]}}"#,
        )
        .unwrap();
        assert_eq!(v.get(0).unwrap().label("a"), Some("é\"😀"));
    }

    #[test]
    fn truncated_body_says_so() {
        let cut = &PROM_VECTOR[..PROM_VECTOR.len() / 2];
        let e = parse_instant(cut).unwrap_err();
        assert!(e.to_string().contains("truncated"), "{e}");
        let cut = &MATRIX[..MATRIX.len() - 3];
        assert!(parse_range(cut)
            .unwrap_err()
            .to_string()
            .contains("truncated"));
    }

    #[test]
    fn label_values_with_escapes() {
        let body = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"q\"uote\u001b[31m\n","b":"\u00e9"},"value":[1,"1"]}]}}"#;
        let s = parse_instant(body).unwrap().to_samples();
        assert_eq!(s[0].labels["a"], "q\"uote\u{1b}[31m\n");
        assert_eq!(s[0].labels["b"], "é");
    }

    #[test]
    fn histogram_series_are_kept_apart_with_their_labels() {
        let body = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"1"},"histogram":[1,{"count":"2","sum":"3","buckets":[]}]},{"metric":{"a":"2"},"value":[1,"5"]}]}}"#;
        let v = parse_instant(body).unwrap();
        let s = v.to_samples();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].value, 5.0);
        let h: Vec<_> = v.histograms().map(|x| x.label("a")).collect();
        assert_eq!(h, [Some("1")]);
        assert!(!v.is_scalar());
    }

    /// A custom metric over a native histogram (Prometheus 2.40+ / 3.x answer format).
    #[test]
    fn native_histogram_answer_names_every_series() {
        let body = include_bytes!("../../tests/fixtures/prom_native_histogram.json");
        let v = parse_instant(body).unwrap();
        assert_eq!(v.len(), 0);
        let hosts: Vec<_> = v.histograms().filter_map(|x| x.label("instance")).collect();
        assert_eq!(hosts, ["db1:9104", "db2:9104"]);
        assert!(v.histograms().all(|x| x.value().is_nan()));
    }

    #[test]
    fn scalar_answer_is_marked() {
        let body = br#"{"status":"success","data":{"resultType":"scalar","result":[1,"5"]}}"#;
        let v = parse_instant(body).unwrap();
        assert!(v.is_scalar());
        assert_eq!(v.len(), 1);
    }

    #[test]
    fn ten_thousand_series_parse() {
        let mut body =
            String::from(r#"{"status":"success","data":{"resultType":"vector","result":["#);
        for i in 0..10_000 {
            if i > 0 {
                body.push(',');
            }
            body.push_str(&format!(
                r#"{{"metric":{{"__name__":"mysql_up","cluster":"c{}","instance":"db{i}","job":"mysql"}},"value":[1795554331.174,"{i}"]}}"#,
                i % 50
            ));
        }
        body.push_str("]}}");
        let t = std::time::Instant::now();
        let s = parse_instant(body.as_bytes()).unwrap().to_samples();
        eprintln!(
            "10,000 series ({} bytes) parsed in {:?}",
            body.len(),
            t.elapsed()
        );
        assert_eq!(s.len(), 10_000);
        assert_eq!(s[9_999].value, 9_999.0);
    }

    #[test]
    fn time_and_step_formatting() {
        let t = DateTime::from_timestamp_millis(1_795_554_331_174).unwrap();
        assert_eq!(unix_seconds(t), "1795554331.174");
        let t = DateTime::from_timestamp(1_795_554_331, 0).unwrap();
        assert_eq!(unix_seconds(t), "1795554331");
        let t = DateTime::from_timestamp_millis(-1).unwrap();
        assert_eq!(unix_seconds(t), "-1.999");
        assert_eq!(seconds(Duration::from_secs(4)), "4");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.500");
    }

    #[test]
    fn server_timeout_is_below_client_timeout() {
        let c = PromClient::new("http://h", &HttpConfig::default()).unwrap();
        assert_eq!(c.server_timeout().as_deref(), Some("3600ms"));
        let cfg = HttpConfig {
            timeout: Duration::from_millis(250),
            ..HttpConfig::default()
        };
        let c = PromClient::new("http://h", &cfg).unwrap();
        assert_eq!(c.server_timeout(), None);
    }

    #[test]
    fn base_url_hides_credentials() {
        let c = PromClient::new(
            "https://bob:hunter2@gw:8443/prometheus/",
            &HttpConfig::default(),
        )
        .unwrap();
        assert_eq!(c.base_url(), "https://gw:8443/prometheus");
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
