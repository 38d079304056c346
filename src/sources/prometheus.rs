//! Client for the Prometheus HTTP query API, as spoken by Prometheus, VictoriaMetrics, Thanos
//! and Mimir: instant queries (`/api/v1/query`) and range queries (`/api/v1/query_range`).
//!
//! The parsers are pure functions over the response body ([`parse_instant`], [`parse_range`]).
//! They deserialize into typed structs (no `serde_json::Value` tree) and accept both float
//! timestamps (Prometheus) and integer ones (VictoriaMetrics), and the string values `NaN`,
//! `+Inf` and `-Inf`. They never panic: any malformed body is [`SourceError::BadResponse`].

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::http::{self, Endpoint, HttpConfig};
use super::{Labels, RangeSeries, Sample, SourceError};

/// Most points per series Prometheus returns from one range query.
pub const MAX_POINTS_PER_SERIES: u64 = 11_000;

/// A Prometheus-compatible query API.
#[derive(Debug, Clone)]
pub struct PromClient {
    ep: Endpoint,
}

impl PromClient {
    /// `base` is the server's URL, with any path prefix (`https://gw/prometheus`, Mimir's
    /// `https://mimir/prometheus`), with or without a trailing slash. `user:pass@` in it is used
    /// as basic auth (unless `cfg.basic_auth` is set) and never shown.
    pub fn new(base: &str, cfg: &HttpConfig) -> Result<Self, SourceError> {
        Ok(Self {
            ep: Endpoint::new(base, cfg)?,
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
    pub async fn query(
        &self,
        expr: &str,
        at: Option<DateTime<Utc>>,
    ) -> Result<Vec<Sample>, SourceError> {
        let mut form = vec![("query", expr.to_owned())];
        if let Some(at) = at {
            form.push(("time", unix_seconds(at)));
        }
        if let Some(t) = self.server_timeout() {
            form.push(("timeout", t));
        }
        let body = self.post_form("query", &form).await?;
        parse_instant(&body)
    }

    /// Runs a range query (`POST /api/v1/query_range`). `step` must be positive and give at most
    /// [`MAX_POINTS_PER_SERIES`] points.
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

/// Parses an instant query answer: a vector, or a scalar (one sample with empty labels).
/// A matrix or string result is [`SourceError::Api`] with kind `bad_result_type`.
pub fn parse_instant(body: &[u8]) -> Result<Vec<Sample>, SourceError> {
    match parse_envelope(body)? {
        (ResultType::Matrix, _) => Err(matrix_error()),
        (_, RawResult::Series(series)) => {
            let mut out = Vec::with_capacity(series.len());
            let mut skipped = 0usize;
            for s in series {
                match (s.value, s.values) {
                    (Some(Point(ts, value)), _) => out.push(Sample {
                        labels: s.metric,
                        value,
                        ts,
                    }),
                    (None, Some(_)) => return Err(matrix_error()),
                    // A native histogram sample ("histogram") has no float value.
                    (None, None) => skipped += 1,
                }
            }
            if skipped > 0 {
                tracing::debug!(
                    skipped,
                    "instant query: series without a float value skipped"
                );
            }
            Ok(out)
        }
        (ResultType::Scalar | ResultType::Unknown, RawResult::Pair(ts, v)) => {
            let value = parse_value(&v).ok_or_else(|| bad_value(&v))?;
            Ok(vec![Sample {
                labels: Labels::new(),
                value,
                ts,
            }])
        }
        (_, RawResult::Pair(..)) => Err(SourceError::Api {
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
pub fn parse_range(body: &[u8]) -> Result<Vec<RangeSeries>, SourceError> {
    match parse_envelope(body)? {
        (_, RawResult::Series(series)) => {
            let mut out = Vec::with_capacity(series.len());
            for s in series {
                match (s.values, s.value) {
                    (Some(points), _) => out.push(RangeSeries {
                        labels: s.metric,
                        points: points.into_iter().map(|Point(t, v)| (t, v)).collect(),
                    }),
                    (None, Some(_)) => {
                        return Err(SourceError::BadResponse(
                            "range query answered with an instant vector".into(),
                        ))
                    }
                    // Native histograms only ("histograms"): nothing to plot as floats.
                    (None, None) => {}
                }
            }
            Ok(out)
        }
        (_, RawResult::Pair(..)) => Err(SourceError::BadResponse(
            "range query answered with a scalar or string instead of a matrix".into(),
        )),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResultType {
    Vector,
    Matrix,
    Scalar,
    String,
    Unknown,
}

fn parse_envelope(body: &[u8]) -> Result<(ResultType, RawResult), SourceError> {
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
    let env: Envelope = serde_json::from_slice(body).map_err(json_error)?;
    match env.status.as_str() {
        "success" => {}
        "error" => {
            return Err(SourceError::Api {
                kind: http::sanitize_line(env.error_type.as_deref().unwrap_or("unknown"), 40),
                error: http::sanitize_line(env.error.as_deref().unwrap_or(""), 500),
            })
        }
        other => {
            return Err(SourceError::BadResponse(format!(
                "unexpected status {:?}",
                http::sanitize_line(other, 40)
            )))
        }
    }
    if let Some(w) = env.warnings.as_ref().filter(|w| !w.is_empty()) {
        tracing::debug!(warnings = ?w, "query warnings");
    }
    let data = env
        .data
        .ok_or_else(|| SourceError::BadResponse("status success but no \"data\"".into()))?;
    let result = data
        .result
        .ok_or_else(|| SourceError::BadResponse("status success but no \"data.result\"".into()))?;
    let rt = match data.result_type.as_deref() {
        Some("vector") => ResultType::Vector,
        Some("matrix") => ResultType::Matrix,
        Some("scalar") => ResultType::Scalar,
        Some("string") => ResultType::String,
        _ => ResultType::Unknown,
    };
    // The declared type must agree with the shape; an empty list fits both vector and matrix.
    let consistent = matches!(
        (&result, rt),
        (
            RawResult::Series(_),
            ResultType::Vector | ResultType::Matrix
        ) | (RawResult::Pair(..), ResultType::Scalar | ResultType::String)
            | (_, ResultType::Unknown)
    );
    if !consistent {
        return Err(SourceError::BadResponse(format!(
            "resultType {:?} does not match the shape of \"result\"",
            http::sanitize_line(data.result_type.as_deref().unwrap_or(""), 20)
        )));
    }
    if rt == ResultType::Matrix {
        if let RawResult::Series(s) = &result {
            if s.iter().any(|s| s.values.is_none() && s.value.is_some()) {
                return Err(SourceError::BadResponse(
                    "resultType matrix with instant samples".into(),
                ));
            }
        }
    }
    Ok((rt, result))
}

fn json_error(e: serde_json::Error) -> SourceError {
    let msg = http::sanitize_line(&e.to_string(), 160);
    if e.is_eof() {
        SourceError::BadResponse(format!("truncated JSON ({msg})"))
    } else if e.is_syntax() {
        SourceError::BadResponse(format!("invalid JSON ({msg})"))
    } else {
        SourceError::BadResponse(format!("unexpected JSON ({msg})"))
    }
}

#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    warnings: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(default, rename = "resultType")]
    result_type: Option<String>,
    /// `null` is an empty result; a missing key is `None`.
    #[serde(default, deserialize_with = "present_result")]
    result: Option<RawResult>,
}

fn present_result<'de, D: Deserializer<'de>>(d: D) -> Result<Option<RawResult>, D::Error> {
    RawResult::deserialize(d).map(Some)
}

/// `data.result`: a list of series (vector, matrix) or a `[ts, "value"]` pair (scalar, string).
enum RawResult {
    Series(Vec<RawSeries>),
    Pair(f64, String),
}

#[derive(Deserialize)]
struct RawSeries {
    #[serde(default)]
    metric: Labels,
    #[serde(default)]
    value: Option<Point>,
    #[serde(default)]
    values: Option<Vec<Point>>,
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
        http::sanitize_line(v, 40)
    ))
}

impl<'de> Deserialize<'de> for RawResult {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawResult;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of series or a [timestamp, value] pair")
            }
            fn visit_unit<E: de::Error>(self) -> Result<RawResult, E> {
                // "result": null is what some engines send for "nothing".
                Ok(RawResult::Series(Vec::new()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawResult, A::Error> {
                match seq.next_element::<Elem>()? {
                    None => Ok(RawResult::Series(Vec::new())),
                    Some(Elem::Series(first)) => {
                        let mut v =
                            Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16) + 1);
                        v.push(first);
                        while let Some(s) = seq.next_element::<RawSeries>()? {
                            v.push(s);
                        }
                        Ok(RawResult::Series(v))
                    }
                    Some(Elem::Ts(ts)) => {
                        let value = seq
                            .next_element::<ValueText>()?
                            .ok_or_else(|| de::Error::custom("scalar without a value"))?;
                        if seq.next_element::<IgnoredAny>()?.is_some() {
                            return Err(de::Error::custom("scalar with more than two elements"));
                        }
                        Ok(RawResult::Pair(ts, value.0))
                    }
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// The first element of `result`: a series object or a scalar's timestamp.
enum Elem {
    Series(RawSeries),
    Ts(f64),
}

impl<'de> Deserialize<'de> for Elem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Elem;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a series object or a timestamp")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Elem, A::Error> {
                RawSeries::deserialize(de::value::MapAccessDeserializer::new(map)).map(Elem::Series)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Elem, E> {
                Ok(Elem::Ts(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Elem, E> {
                Ok(Elem::Ts(v as f64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Elem, E> {
                Ok(Elem::Ts(v as f64))
            }
        }
        d.deserialize_any(V)
    }
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
                        http::sanitize_line(v, 40)
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

    const PROM_VECTOR: &[u8] = include_bytes!("../../tests/fixtures/prom_vector.json");
    const VM_VECTOR: &[u8] = include_bytes!("../../tests/fixtures/vm_vector.json");
    const SPECIAL: &[u8] = include_bytes!("../../tests/fixtures/prom_vector_special_values.json");
    const SCALAR: &[u8] = include_bytes!("../../tests/fixtures/prom_scalar.json");
    const ERROR: &[u8] = include_bytes!("../../tests/fixtures/prom_error.json");
    const MATRIX: &[u8] = include_bytes!("../../tests/fixtures/prom_matrix.json");

    #[test]
    fn prometheus_float_timestamps() {
        let s = parse_instant(PROM_VECTOR).unwrap();
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
        let s = parse_instant(VM_VECTOR).unwrap();
        assert_eq!(s.len(), 3);
        assert!(s.iter().all(|s| s.ts == 1_795_554_437.0));
        assert_eq!(s[1].labels["instance"], "db2");
    }

    #[test]
    fn special_values() {
        let s = parse_instant(SPECIAL).unwrap();
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
        let s = parse_instant(SCALAR).unwrap();
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
        let s = parse_instant(body).unwrap();
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
        let s = parse_instant(body).unwrap();
        assert_eq!(s[0].labels["a"], "q\"uote\u{1b}[31m\n");
        assert_eq!(s[0].labels["b"], "é");
    }

    #[test]
    fn histogram_only_series_are_skipped() {
        let body = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"1"},"histogram":[1,{"count":"2","sum":"3","buckets":[]}]},{"metric":{"a":"2"},"value":[1,"5"]}]}}"#;
        let s = parse_instant(body).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].value, 5.0);
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
        let s = parse_instant(body.as_bytes()).unwrap();
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
