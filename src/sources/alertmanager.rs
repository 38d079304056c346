//! Client for the Alertmanager API v2: alerts in every state, and silences (list, create,
//! expire).
//!
//! Alertmanager answers a bad request with a short plain-text reason (`silence invalid: ...`,
//! sent as a JSON string); those come back verbatim, less control characters, in
//! [`SourceError::Http`] so that a form can show them.

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize};

use super::http::{self, Endpoint, HttpConfig};
use crate::model::{
    Alert, AlertState, Labels, Matcher, NewSilence, Severity, Silence, SilenceState, SourceError,
};

/// Longest Alertmanager error text kept for a silence form.
const FORM_ERROR_CHARS: usize = 1000;

/// An Alertmanager (API v2).
#[derive(Debug, Clone)]
pub struct AmClient {
    ep: Endpoint,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PostableSilence<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    matchers: &'a [Matcher],
    starts_at: String,
    ends_at: String,
    created_by: &'a str,
    comment: &'a str,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl AmClient {
    /// `base` is Alertmanager's URL with any route prefix, with or without a trailing slash;
    /// `user:pass@` in it is used as basic auth and never shown.
    ///
    /// # Errors
    ///
    /// [`SourceError::Config`] when `base` is not an http(s) URL, both basic auth and a bearer
    /// token are set (in the settings or the URL), or the HTTP settings are invalid (see
    /// [`build_client`](super::http::build_client)).
    pub fn new(base: &str, cfg: &HttpConfig) -> Result<Self, SourceError> {
        Ok(Self {
            ep: Endpoint::new(base, cfg)?,
        })
    }

    /// The base URL, without credentials and without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.ep.display
    }

    /// Every alert: active, silenced, inhibited and unprocessed (`GET /api/v2/alerts`).
    ///
    /// # Errors
    ///
    /// The request errors of [`get_body`](super::http::get_body) (timeout, connection, HTTP status,
    /// size cap), and [`SourceError::BadResponse`] when the body is not the expected JSON.
    pub async fn alerts(&self) -> Result<Vec<Alert>, SourceError> {
        let mut url = self.ep.url(&["api", "v2", "alerts"]);
        url.query_pairs_mut()
            .append_pair("active", "true")
            .append_pair("silenced", "true")
            .append_pair("inhibited", "true")
            .append_pair("unprocessed", "true");
        let rb = self
            .ep
            .request(Method::GET, url)
            .header(reqwest::header::ACCEPT, "application/json");
        let body = self.ep.get_body(rb).await?;
        parse_alerts(&body)
    }

    /// Every silence Alertmanager still keeps, expired ones included (`GET /api/v2/silences`).
    ///
    /// # Errors
    ///
    /// The request errors of [`get_body`](super::http::get_body), and [`SourceError::BadResponse`]
    /// when the body is not the expected JSON or a silence has an invalid `startsAt`/`endsAt`.
    pub async fn silences(&self) -> Result<Vec<Silence>, SourceError> {
        let url = self.ep.url(&["api", "v2", "silences"]);
        let rb = self
            .ep
            .request(Method::GET, url)
            .header(reqwest::header::ACCEPT, "application/json");
        let body = self.ep.get_body(rb).await?;
        parse_silences(&body)
    }

    /// Creates a silence (`POST /api/v2/silences`) and returns its id. A rejected silence is
    /// [`SourceError::Http`] whose body is Alertmanager's reason, ready to show in a form.
    ///
    /// # Errors
    ///
    /// [`SourceError::Http`] with Alertmanager's reason when it rejects the silence (4xx); the
    /// request errors of [`send`](super::http::send) and [`check_response`](super::http::check_response)
    /// otherwise; [`SourceError::BadResponse`] when the answer holds no `silenceID`.
    pub async fn create_silence(&self, s: &NewSilence) -> Result<String, SourceError> {
        self.post_silence(None, s).await
    }

    /// Replaces silence `id` with `s` (Alertmanager expires the old one if needed); returns the
    /// id of the silence now in force.
    ///
    /// # Errors
    ///
    /// As [`AmClient::create_silence`]: [`SourceError::Http`] with Alertmanager's reason on a 4xx
    /// (e.g. an unknown or already expired `id`), the request errors otherwise, and
    /// [`SourceError::BadResponse`] when the answer holds no `silenceID`.
    pub async fn update_silence(&self, id: &str, s: &NewSilence) -> Result<String, SourceError> {
        self.post_silence(Some(id), s).await
    }

    async fn post_silence(&self, id: Option<&str>, s: &NewSilence) -> Result<String, SourceError> {
        let body = serde_json::to_vec(&PostableSilence {
            id,
            matchers: &s.matchers,
            starts_at: rfc3339(s.starts_at),
            ends_at: rfc3339(s.ends_at),
            created_by: &s.created_by,
            comment: &s.comment,
        })
        .map_err(|e| SourceError::Other(format!("cannot encode silence: {e}")))?;
        let url = self.ep.url(&["api", "v2", "silences"]);
        let rb = self
            .ep
            .request(Method::POST, url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body);
        let body = self.send_form_request(rb).await?;
        parse_silence_created(&body)
    }

    /// Expires a silence (`DELETE /api/v2/silence/{id}`). It stays listed with state `expired`.
    ///
    /// # Errors
    ///
    /// [`SourceError::Http`] with Alertmanager's reason on a 4xx (e.g. an unknown id); the request
    /// errors of [`send`](super::http::send) and [`check_response`](super::http::check_response)
    /// otherwise.
    pub async fn expire_silence(&self, id: &str) -> Result<(), SourceError> {
        let url = self.ep.url(&["api", "v2", "silence", id]);
        let rb = self.ep.request(Method::DELETE, url);
        self.send_form_request(rb).await.map(|_| ())
    }

    /// Sends a request whose 4xx answer is a reason for a human: keep it whole (up to
    /// [`FORM_ERROR_CHARS`]), unquoted if Alertmanager sent it as a JSON string.
    async fn send_form_request(&self, rb: reqwest::RequestBuilder) -> Result<Vec<u8>, SourceError> {
        let resp = http::send(rb, self.ep.timeout, self.ep.max_body_bytes).await?;
        if resp.status.is_client_error() {
            return Err(SourceError::Http {
                status: resp.status.as_u16(),
                body: am_error_text(&resp.body),
            });
        }
        http::check_response(resp, http::SNIPPET_CHARS)
    }
}

/// Alertmanager's reason text: a JSON string is unquoted, anything else kept as text; control
/// characters removed, at most [`FORM_ERROR_CHARS`] characters.
fn am_error_text(body: &[u8]) -> String {
    if let Ok(s) = serde_json::from_slice::<String>(body) {
        return crate::sanitize::line(&s, FORM_ERROR_CHARS);
    }
    #[derive(Deserialize)]
    struct Obj {
        #[serde(default)]
        message: Option<String>,
        #[serde(default)]
        error: Option<String>,
    }
    if let Ok(Obj {
        message: m,
        error: e,
    }) = serde_json::from_slice::<Obj>(body)
    {
        if let Some(text) = m.or(e) {
            return crate::sanitize::line(&text, FORM_ERROR_CHARS);
        }
    }
    http::snippet(body, FORM_ERROR_CHARS)
}

fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAlert {
    #[serde(default, deserialize_with = "null_default")]
    fingerprint: String,
    #[serde(default, deserialize_with = "null_default")]
    labels: Labels,
    #[serde(default, deserialize_with = "null_default")]
    annotations: Labels,
    #[serde(default, deserialize_with = "null_default")]
    status: RawStatus,
    #[serde(default)]
    starts_at: Option<String>,
    #[serde(default, rename = "generatorURL")]
    generator_url: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawStatus {
    #[serde(default, deserialize_with = "null_default")]
    state: String,
    #[serde(default, deserialize_with = "null_default")]
    silenced_by: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    inhibited_by: Vec<String>,
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn json_error(e: &serde_json::Error, body: &[u8]) -> SourceError {
    if body.trim_ascii_start().is_empty() {
        return SourceError::BadResponse("empty body".into());
    }
    if body.trim_ascii_start().first() == Some(&b'<') {
        return SourceError::BadResponse(format!(
            "expected JSON but got HTML or XML (a proxy page?): {}",
            http::snippet(body, 80)
        ));
    }
    let msg = crate::sanitize::line(&e.to_string(), 160);
    if e.is_eof() {
        SourceError::BadResponse(format!("truncated JSON ({msg})"))
    } else if e.is_syntax() {
        SourceError::BadResponse(format!("invalid JSON ({msg})"))
    } else {
        SourceError::BadResponse(format!("unexpected JSON ({msg})"))
    }
}

/// Parses `GET /api/v2/alerts`. Unknown states count as `unprocessed`; an unparsable
/// `startsAt` is `None`; an empty `generatorURL` is `None`.
///
/// # Errors
///
/// [`SourceError::BadResponse`] when `body` is not a JSON array of alerts (truncated, invalid or
/// of another shape).
pub fn parse_alerts(body: &[u8]) -> Result<Vec<Alert>, SourceError> {
    let raw: Vec<RawAlert> = serde_json::from_slice(body).map_err(|e| json_error(&e, body))?;
    Ok(raw
        .into_iter()
        .map(|a| {
            let state = match a.status.state.as_str() {
                "active" => AlertState::Active,
                "suppressed" => AlertState::Suppressed,
                "unprocessed" => AlertState::Unprocessed,
                other => {
                    tracing::debug!(state = %crate::sanitize::line(other, 40), "unknown alert state");
                    AlertState::Unprocessed
                }
            };
            Alert {
                fingerprint: a.fingerprint,
                severity: Severity::from_label(a.labels.get("severity").map(String::as_str)),
                labels: a.labels,
                annotations: a.annotations,
                state,
                silenced_by: a.status.silenced_by,
                inhibited_by: a.status.inhibited_by,
                starts_at: a.starts_at.as_deref().and_then(parse_time),
                generator_url: a.generator_url.filter(|u| !u.is_empty()),
            }
        })
        .collect())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSilence {
    id: String,
    #[serde(default, deserialize_with = "null_default")]
    matchers: Vec<Matcher>,
    starts_at: String,
    ends_at: String,
    #[serde(default, deserialize_with = "null_default")]
    created_by: String,
    #[serde(default, deserialize_with = "null_default")]
    comment: String,
    #[serde(default, deserialize_with = "null_default")]
    status: RawSilenceStatus,
}

#[derive(Deserialize, Default)]
struct RawSilenceStatus {
    #[serde(default, deserialize_with = "null_default")]
    state: String,
}

/// Parses `GET /api/v2/silences`.
///
/// # Errors
///
/// [`SourceError::BadResponse`] when `body` is not a JSON array of silences, or a silence's
/// `startsAt` or `endsAt` is not an RFC 3339 time.
pub fn parse_silences(body: &[u8]) -> Result<Vec<Silence>, SourceError> {
    let raw: Vec<RawSilence> = serde_json::from_slice(body).map_err(|e| json_error(&e, body))?;
    raw.into_iter()
        .map(|s| {
            let time = |what: &str, v: &str| {
                parse_time(v).ok_or_else(|| {
                    SourceError::BadResponse(format!(
                        "silence {}: invalid {what} {:?}",
                        crate::sanitize::line(&s.id, 40),
                        crate::sanitize::line(v, 40)
                    ))
                })
            };
            Ok(Silence {
                starts_at: time("startsAt", &s.starts_at)?,
                ends_at: time("endsAt", &s.ends_at)?,
                id: s.id,
                matchers: s.matchers,
                created_by: s.created_by,
                comment: s.comment,
                state: SilenceState::parse(&s.status.state),
            })
        })
        .collect()
}

/// Parses the answer to `POST /api/v2/silences`: `{"silenceID":"..."}`.
///
/// # Errors
///
/// [`SourceError::BadResponse`] when `body` is not the expected JSON or `silenceID` is empty.
pub fn parse_silence_created(body: &[u8]) -> Result<String, SourceError> {
    #[derive(Deserialize)]
    struct Created {
        #[serde(rename = "silenceID")]
        silence_id: String,
    }
    let c: Created = serde_json::from_slice(body).map_err(|e| json_error(&e, body))?;
    if c.silence_id.is_empty() {
        return Err(SourceError::BadResponse("empty silenceID".into()));
    }
    Ok(c.silence_id)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const ALERTS: &[u8] = include_bytes!("../../tests/fixtures/am_alerts.json");
    const SILENCED: &[u8] = include_bytes!("../../tests/fixtures/am_alerts_silenced.json");
    const SILENCES: &[u8] = include_bytes!("../../tests/fixtures/am_silences.json");
    const CREATED: &[u8] = include_bytes!("../../tests/fixtures/am_silence_created.json");

    #[test]
    fn active_alert() {
        let a = parse_alerts(ALERTS).unwrap();
        assert_eq!(a.len(), 1);
        let a = &a[0];
        assert_eq!(a.name(), "MySQLReplicationStopped");
        assert_eq!(a.severity_label(), "critical");
        assert_eq!(a.severity, Severity::Critical);
        assert_eq!(a.summary(), "Replication stopped on db3 (payments)");
        assert_eq!(a.fingerprint, "edda6b559e62ab07");
        assert_eq!(a.state, AlertState::Active);
        assert!(a.silenced_by.is_empty() && a.inhibited_by.is_empty());
        assert_eq!(a.starts_at, parse_time("2026-11-24T21:05:53.980Z"));
        assert!(a
            .generator_url
            .as_deref()
            .unwrap()
            .starts_with("http://vm:47809/graph?g0.expr="));
        assert_eq!(a.labels["instance"], "db3");
    }

    #[test]
    fn silenced_alert() {
        let a = parse_alerts(SILENCED).unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].state, AlertState::Suppressed);
        assert_eq!(
            a[0].silenced_by,
            vec!["08e0e99c-37c1-4223-a313-2231923ba4db".to_string()]
        );
        assert_eq!(a[1].state, AlertState::Active);
        assert_eq!(a[1].name(), "MySQLDown");
        assert_eq!(a[1].summary(), "MySQL down on db4 (orders)");
    }

    #[test]
    fn lenient_alert_fields() {
        let body = br#"[{"labels":null,"status":{"state":"weird","silencedBy":null},"startsAt":"bad","generatorURL":""},{}]"#;
        let a = parse_alerts(body).unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].state, AlertState::Unprocessed);
        assert_eq!(a[0].starts_at, None);
        assert_eq!(a[0].generator_url, None);
        assert!(parse_alerts(b"[]").unwrap().is_empty());
    }

    #[test]
    fn malformed_alerts() {
        for body in [
            &b""[..],
            b"{}",
            b"[{\"labels\":",
            b"<html>proxy</html>",
            b"null",
            b"[1]",
        ] {
            let e = parse_alerts(body).unwrap_err();
            assert!(matches!(e, SourceError::BadResponse(_)), "{e:?}");
        }
        let cut = &ALERTS[..ALERTS.len() - 10];
        assert!(parse_alerts(cut)
            .unwrap_err()
            .to_string()
            .contains("truncated"));
    }

    #[test]
    fn silences_list() {
        let s = parse_silences(SILENCES).unwrap();
        assert_eq!(s.len(), 1);
        let s = &s[0];
        assert_eq!(s.id, "08e0e99c-37c1-4223-a313-2231923ba4db");
        assert_eq!(s.state, SilenceState::Active);
        assert_eq!(s.created_by, "fleet-board");
        assert_eq!(s.comment, "primary db4 being restarted");
        assert_eq!(s.starts_at, parse_time("2026-11-24T21:06:31.792Z").unwrap());
        assert_eq!(s.ends_at, parse_time("2026-11-24T22:06:31.000Z").unwrap());
        assert_eq!(
            s.matchers,
            vec![
                Matcher::equal("alertname", "MySQLReplicationStopped"),
                Matcher::equal("instance", "db5")
            ]
        );
        assert_eq!(s.matchers[1].to_string(), "instance=\"db5\"");
    }

    #[test]
    fn old_matchers_without_is_equal() {
        let body = br#"[{"id":"x","status":{"state":"expired"},"matchers":[{"name":"a","value":"b.*","isRegex":true}],"startsAt":"2026-11-24T21:06:31Z","endsAt":"2026-11-24T21:06:37.198Z","createdBy":"me","comment":""}]"#;
        let s = parse_silences(body).unwrap();
        assert!(s[0].matchers[0].is_equal && s[0].matchers[0].is_regex);
        assert_eq!(s[0].matchers[0].to_string(), "a=~\"b.*\"");
        let bad =
            br#"[{"id":"x","matchers":[],"startsAt":"yesterday","endsAt":"2026-11-24T21:06:37Z"}]"#;
        assert!(matches!(
            parse_silences(bad),
            Err(SourceError::BadResponse(_))
        ));
    }

    #[test]
    fn silence_created() {
        assert_eq!(
            parse_silence_created(CREATED).unwrap(),
            "08e0e99c-37c1-4223-a313-2231923ba4db"
        );
        assert!(parse_silence_created(b"{}").is_err());
        assert!(parse_silence_created(br#"{"silenceID":""}"#).is_err());
    }

    #[test]
    fn new_silence_json_matches_what_alertmanager_accepts() {
        let s = NewSilence {
            matchers: vec![
                Matcher::equal("alertname", "MySQLReplicationStopped"),
                Matcher::equal("instance", "db5"),
            ],
            starts_at: parse_time("2026-11-24T21:06:31.000Z").unwrap(),
            ends_at: parse_time("2026-11-24T22:06:31.000Z").unwrap(),
            created_by: "fleet-board".into(),
            comment: "primary db4 being restarted".into(),
        };
        let json = serde_json::to_value(PostableSilence {
            id: None,
            matchers: &s.matchers,
            starts_at: rfc3339(s.starts_at),
            ends_at: rfc3339(s.ends_at),
            created_by: &s.created_by,
            comment: &s.comment,
        })
        .unwrap();
        let expected: serde_json::Value = serde_json::from_str(
            r#"{"matchers":[{"name":"alertname","value":"MySQLReplicationStopped","isRegex":false,"isEqual":true},
             {"name":"instance","value":"db5","isRegex":false,"isEqual":true}],
             "startsAt":"2026-11-24T21:06:31.000Z","endsAt":"2026-11-24T22:06:31.000Z","createdBy":"fleet-board","comment":"primary db4 being restarted"}"#,
        )
        .unwrap();
        assert_eq!(json, expected);
    }

    #[test]
    fn alertmanager_error_texts() {
        assert_eq!(
            am_error_text(b"\"silence invalid: start time must be before end time\"\n"),
            "silence invalid: start time must be before end time"
        );
        assert_eq!(
            am_error_text(b"bad matcher \x1b[2J here\n"),
            "bad matcher [2J here"
        );
        assert_eq!(
            am_error_text(br#"{"code":400,"message":"no matchers"}"#),
            "no matchers"
        );
        let long = format!("\"{}\"", "x".repeat(600));
        assert_eq!(am_error_text(long.as_bytes()).len(), 600);
    }
}
