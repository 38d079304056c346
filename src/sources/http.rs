//! Shared HTTP client settings for every data source (timeouts, body cap, TLS, auth), and the
//! one function that sends a request and turns every failure into a [`SourceError`].
//!
//! Error handling rules, shared by Prometheus and Alertmanager:
//! - A timeout (connect, headers or body) is [`SourceError::Timeout`] with the configured timeout.
//! - Connection refused, DNS and TLS failures are [`SourceError::Connect`].
//! - A non-2xx answer is [`SourceError::Http`] with a short, sanitised snippet of the body, except:
//!   - 429 or 503 with a usable `Retry-After` header is [`SourceError::RetryLater`]
//!     ([`SourceError::retry_after`] reads it from either variant);
//!   - a Prometheus JSON error body (`{"status":"error","errorType":..,"error":..}`) is
//!     [`SourceError::Api`].
//! - A 2xx answer with `Content-Type: text/html` (a proxy's error or login page) is
//!   [`SourceError::BadResponse`].
//! - A body larger than `max_body_bytes` (after gzip decoding) is [`SourceError::TooLarge`]; it is
//!   read in chunks and never buffered past the cap.
//!
//! No message ever holds a password, a token or a URL with userinfo.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, RequestBuilder, StatusCode};

use crate::model::SourceError;

/// Most redirects followed before a request fails (a loop fails at once when detected).
pub const MAX_REDIRECTS: usize = 5;

/// Longest body snippet kept in [`SourceError::Http`].
pub const SNIPPET_CHARS: usize = 200;

/// Most bytes read from the body of an error answer (the rest is not needed).
const ERROR_BODY_BYTES: u64 = 64 * 1024;

/// A secret value (password, token). Never printed: `Debug` and `Display` show `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret given in the config or on the command line.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    /// The secret itself, for the one place that sends it (a request header).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Reads a secret from a file, dropping trailing line breaks (as `echo` or editors add).
    /// The error names the file, never its content.
    ///
    /// # Errors
    ///
    /// [`SourceError::Config`], naming the file, when it cannot be read or holds only line breaks.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Secret, SourceError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            SourceError::Config(format!("cannot read secret file {}: {e}", path.display()))
        })?;
        let trimmed = text.trim_end_matches(['\n', '\r']);
        if trimmed.is_empty() {
            return Err(SourceError::Config(format!(
                "secret file {} is empty",
                path.display()
            )));
        }
        Ok(Secret(trimmed.to_owned()))
    }

    /// Reads a secret from an environment variable. Unset or empty is an error naming the variable.
    ///
    /// # Errors
    ///
    /// [`SourceError::Config`], naming the variable, when it is unset, empty or not valid UTF-8.
    pub fn from_env(var: &str) -> Result<Secret, SourceError> {
        match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(Secret(v)),
            Ok(_) => Err(SourceError::Config(format!(
                "environment variable {var} is empty"
            ))),
            Err(std::env::VarError::NotPresent) => Err(SourceError::Config(format!(
                "environment variable {var} is not set"
            ))),
            Err(std::env::VarError::NotUnicode(_)) => Err(SourceError::Config(format!(
                "environment variable {var} is not valid UTF-8"
            ))),
        }
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Connection settings of one data source.
///
/// Proxies come from the environment (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`,
/// upper or lower case), read when the client is built.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Whole-request timeout: connect, headers and body.
    pub timeout: Duration,
    /// Largest accepted body after gzip decoding.
    pub max_body_bytes: u64,
    /// Basic auth `(user, password)`; exclusive with `bearer_token`.
    pub basic_auth: Option<(String, Secret)>,
    /// Sent as `Authorization: Bearer …`; exclusive with `basic_auth`.
    pub bearer_token: Option<Secret>,
    /// PEM bundle (one or more certificates). When set, only these roots are trusted, as with
    /// Prometheus' own `tls_config.ca_file`.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate (chain) for mutual TLS; `client_key` may be the same file.
    pub client_cert: Option<PathBuf>,
    /// PEM private key of `client_cert`, when it is in a file of its own.
    pub client_key: Option<PathBuf>,
    /// Accept any server certificate (testing only: the connection is then open to interception).
    pub insecure_skip_verify: bool,
    /// Extra headers sent with every request, e.g. `X-Scope-OrgID` for Mimir/Cortex tenants.
    pub headers: Vec<(String, String)>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(4),
            max_body_bytes: 64 * 1024 * 1024,
            basic_auth: None,
            bearer_token: None,
            ca_file: None,
            client_cert: None,
            client_key: None,
            insecure_skip_verify: false,
            headers: Vec::new(),
        }
    }
}

fn read_file(what: &str, path: &Path) -> Result<Vec<u8>, SourceError> {
    std::fs::read(path)
        .map_err(|e| SourceError::Config(format!("cannot read {what} {}: {e}", path.display())))
}

/// Builds the HTTP client of one source: gzip, kept-alive connections, `cfg.timeout` for the
/// whole request, custom CA bundle, client certificate, `insecure_skip_verify`, extra default
/// headers, and at most [`MAX_REDIRECTS`] redirects. Authentication is added per request.
///
/// # Errors
///
/// [`SourceError::Config`] when the timeout or `max_body_bytes` is zero, a header name or value
/// is invalid, the CA file or client certificate/key cannot be read or parsed (or the CA file
/// holds no certificate), `client_key` is set without `client_cert`, or the TLS backend
/// refuses the settings.
pub fn build_client(cfg: &HttpConfig) -> Result<reqwest::Client, SourceError> {
    if cfg.timeout.is_zero() {
        return Err(SourceError::Config("timeout must be greater than 0".into()));
    }
    if cfg.max_body_bytes == 0 {
        return Err(SourceError::Config(
            "max_body_bytes must be greater than 0".into(),
        ));
    }
    let mut headers = HeaderMap::new();
    for (name, value) in &cfg.headers {
        let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
            SourceError::Config(format!(
                "invalid header name {:?}",
                crate::sanitize::line(name, 60)
            ))
        })?;
        let mut value = HeaderValue::from_str(value.trim()).map_err(|_| {
            // The value may be a secret (an API key): name the header only.
            SourceError::Config(format!("invalid value for header {name}"))
        })?;
        if is_sensitive_header(&name) {
            value.set_sensitive(true);
        }
        headers.append(name, value);
    }

    let policy = reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error(RedirectError(format!(
                "more than {MAX_REDIRECTS} redirects (a redirect loop?)"
            )))
        } else if attempt.url().scheme() == "http"
            && attempt.previous().iter().any(|u| u.scheme() == "https")
        {
            attempt.error(RedirectError(
                "refusing a redirect from https to plain http".into(),
            ))
        } else if attempt.previous().iter().any(|u| u == attempt.url()) {
            attempt.error(RedirectError(
                "redirect loop (a URL redirected back to itself)".into(),
            ))
        } else {
            attempt.follow()
        }
    });

    let mut b = reqwest::Client::builder()
        .user_agent(concat!("fleetboard/", env!("CARGO_PKG_VERSION")))
        .gzip(true)
        .timeout(cfg.timeout)
        .connect_timeout(cfg.timeout)
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(8)
        .tcp_keepalive(Duration::from_secs(60))
        .redirect(policy)
        .default_headers(headers);

    if let Some(path) = &cfg.ca_file {
        let pem = read_file("CA file", path)?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            SourceError::Config(format!(
                "CA file {}: not a PEM certificate bundle ({})",
                path.display(),
                error_chain(&e)
            ))
        })?;
        if certs.is_empty() {
            return Err(SourceError::Config(format!(
                "CA file {} holds no PEM certificate",
                path.display()
            )));
        }
        b = b.tls_certs_only(certs);
    }
    match (&cfg.client_cert, &cfg.client_key) {
        (Some(cert), key) => {
            let mut pem = read_file("client certificate", cert)?;
            if let Some(key) = key.as_ref().filter(|k| *k != cert) {
                pem.push(b'\n');
                pem.extend(read_file("client key", key)?);
            }
            let id = reqwest::Identity::from_pem(&pem).map_err(|e| {
                SourceError::Config(format!(
                    "client certificate {}: {}",
                    cert.display(),
                    error_chain(&e)
                ))
            })?;
            b = b.identity(id);
        }
        (None, Some(_)) => {
            return Err(SourceError::Config(
                "client_key is set without client_cert".into(),
            ))
        }
        (None, None) => {}
    }
    if cfg.insecure_skip_verify {
        b = b.tls_danger_accept_invalid_certs(true);
    }
    b.build()
        .map_err(|e| SourceError::Config(format!("cannot build HTTP client: {}", error_chain(&e))))
}

fn is_sensitive_header(name: &HeaderName) -> bool {
    let n = name.as_str();
    n == "authorization"
        || n == "proxy-authorization"
        || n == "cookie"
        || n.contains("token")
        || n.contains("key")
        || n.contains("secret")
}

#[derive(Debug)]
struct RedirectError(String);

impl std::fmt::Display for RedirectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RedirectError {}

/// How a request authenticates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Auth {
    /// No `Authorization` header.
    #[default]
    None,
    /// HTTP basic auth: user and password.
    Basic(String, Secret),
    /// A bearer token.
    Bearer(Secret),
}

impl Auth {
    /// Adds the `Authorization` header to a request.
    pub fn apply(&self, rb: RequestBuilder) -> RequestBuilder {
        match self {
            Auth::None => rb,
            Auth::Basic(user, pass) => rb.basic_auth(user, Some(pass.expose())),
            Auth::Bearer(token) => rb.bearer_auth(token.expose()),
        }
    }
}

/// A source's endpoint: client, base URL (without credentials), auth and limits.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub client: reqwest::Client,
    pub base: url::Url,
    pub display: String,
    pub auth: Auth,
    pub timeout: Duration,
    pub max_body_bytes: u64,
}

impl Endpoint {
    /// Parses `base` (http or https, may carry a path prefix and `user:pass@`), builds the client.
    pub fn new(base: &str, cfg: &HttpConfig) -> Result<Self, SourceError> {
        let (base, url_auth) = parse_base_url(base)?;
        let auth = match (&cfg.basic_auth, &cfg.bearer_token, url_auth) {
            (Some(_), Some(_), _) => {
                return Err(SourceError::Config(
                    "both basic auth and a bearer token are set; choose one".into(),
                ))
            }
            (Some((u, p)), None, _) => Auth::Basic(u.clone(), p.clone()),
            (None, Some(_), Some(_)) => {
                return Err(SourceError::Config(
                    "the URL holds user:password and a bearer token is set; choose one".into(),
                ))
            }
            (None, Some(t), None) => Auth::Bearer(t.clone()),
            (None, None, Some((u, p))) => Auth::Basic(u, p),
            (None, None, None) => Auth::None,
        };
        let client = build_client(cfg)?;
        let display = base.as_str().trim_end_matches('/').to_owned();
        Ok(Self {
            client,
            base,
            display,
            auth,
            timeout: cfg.timeout,
            max_body_bytes: cfg.max_body_bytes,
        })
    }

    /// The base URL followed by `segments`, each percent-encoded as one path segment.
    pub fn url(&self, segments: &[&str]) -> url::Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    pub fn request(&self, method: Method, url: url::Url) -> RequestBuilder {
        self.auth.apply(self.client.request(method, url))
    }

    /// Sends and reads the body; errors never carry this endpoint's secrets, even when
    /// the server echoes them (some gateways quote a refused token in their answer).
    pub async fn get_body(&self, rb: RequestBuilder) -> Result<Vec<u8>, SourceError> {
        get_body(rb, self.timeout, self.max_body_bytes)
            .await
            .map_err(|e| redact(e, &self.auth))
    }
}

/// Replaces the credentials of `auth` (and any `Bearer …` token) in an error's text.
pub fn redact(e: SourceError, auth: &Auth) -> SourceError {
    let secrets: Vec<&str> = match auth {
        Auth::Basic(_, p) => vec![p.expose()],
        Auth::Bearer(t) => vec![t.expose()],
        Auth::None => vec![],
    };
    let clean = |s: String| -> String {
        let mut out = s;
        for sec in secrets.iter().filter(|x| x.len() >= 3) {
            out = out.replace(*sec, "***");
        }
        // A token quoted after "Bearer " is a secret whoever's it is.
        let mut res = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(i) = rest.find("Bearer ") {
            res.push_str(&rest[..i + 7]);
            let tail = &rest[i + 7..];
            let end = tail
                .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ',')
                .unwrap_or(tail.len());
            if end > 0 {
                res.push_str("***");
            }
            rest = &tail[end..];
        }
        res.push_str(rest);
        res
    };
    match e {
        SourceError::Http { status, body } => SourceError::Http {
            status,
            body: clean(body),
        },
        SourceError::RetryLater {
            status,
            retry_after,
            body,
        } => SourceError::RetryLater {
            status,
            retry_after,
            body: clean(body),
        },
        SourceError::Api { kind, error } => SourceError::Api {
            kind,
            error: clean(error),
        },
        SourceError::BadResponse(m) => SourceError::BadResponse(clean(m)),
        SourceError::Connect(m) => SourceError::Connect(clean(m)),
        SourceError::Other(m) => SourceError::Other(clean(m)),
        other => other,
    }
}

/// Splits `user:pass@` off a base URL. The URL returned has no credentials, query or fragment.
pub(crate) fn parse_base_url(
    base: &str,
) -> Result<(url::Url, Option<(String, Secret)>), SourceError> {
    let base = base.trim();
    // `prometheus:9090`, as operators often type it, means plain HTTP.
    let with_scheme;
    let base = if base.contains("://") {
        base
    } else {
        with_scheme = format!("http://{base}");
        with_scheme.as_str()
    };
    let mut url = url::Url::parse(base).map_err(|e| {
        let hint = if base.contains("://") {
            ""
        } else {
            " (start it with http:// or https://)"
        };
        SourceError::Config(format!(
            "invalid URL {}: {e}{hint}",
            redact_userinfo(&crate::sanitize::line(base, 200))
        ))
    })?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(SourceError::Config(format!(
            "unsupported URL scheme {:?} in {}: use http or https",
            url.scheme(),
            redact_userinfo(&crate::sanitize::line(base, 200))
        )));
    }
    if url.host().is_none() {
        return Err(SourceError::Config("the URL has no host".into()));
    }
    let auth = if url.username().is_empty() && url.password().is_none() {
        None
    } else {
        let user = percent_decode(url.username());
        let pass = percent_decode(url.password().unwrap_or(""));
        Some((user, Secret::new(pass)))
    };
    // Setting these cannot fail on an http(s) URL with a host.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    Ok((url, auth))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One HTTP answer, read with the size cap.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// The HTTP status.
    pub status: StatusCode,
    /// `Content-Type`, lower-cased (parameters such as `charset` kept).
    pub content_type: Option<String>,
    /// The `Retry-After` header read as a wait (seconds or HTTP date, capped at a day).
    pub retry_after: Option<Duration>,
    /// The body: whole for a 2xx answer, at most 64 KiB of an error answer.
    pub body: Vec<u8>,
}

/// Sends a request and reads the whole answer, whatever its status. Error answers are read up to
/// 64 KiB (silently cut); 2xx answers past `max_body_bytes` fail with [`SourceError::TooLarge`].
///
/// # Errors
///
/// [`SourceError::Timeout`] when the server does not answer (or finish the body) within
/// `timeout`; [`SourceError::Connect`] on refused connections, DNS or TLS failures;
/// [`SourceError::BadResponse`] when a redirect fails or the body cannot be read;
/// [`SourceError::TooLarge`] when a 2xx body exceeds `max_body_bytes`. A non-2xx answer is not
/// an error here.
pub async fn send(
    request: RequestBuilder,
    timeout: Duration,
    max_body_bytes: u64,
) -> Result<RawResponse, SourceError> {
    let mut resp = request.send().await.map_err(|e| classify(e, timeout))?;
    let status = resp.status();
    let headers = resp.headers();
    let content_type = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.to_ascii_lowercase());
    let retry_after = headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);

    let success = status.is_success();
    let cap = if success {
        max_body_bytes
    } else {
        ERROR_BODY_BYTES.min(max_body_bytes)
    };
    if success {
        if let Some(len) = resp.content_length() {
            if len > max_body_bytes {
                return Err(SourceError::TooLarge {
                    limit: max_body_bytes,
                });
            }
        }
    }
    let initial = resp
        .content_length()
        .unwrap_or(0)
        .min(cap)
        .min(16 * 1024 * 1024);
    let mut body = Vec::with_capacity(usize::try_from(initial).unwrap_or(0));
    loop {
        let chunk = match resp.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) if !success && !body.is_empty() => {
                tracing::debug!("error body cut short: {}", error_chain(&e.without_url()));
                break;
            }
            Err(e) => return Err(classify(e, timeout)),
        };
        let room = cap.saturating_sub(body.len() as u64);
        if chunk.len() as u64 > room {
            if success {
                return Err(SourceError::TooLarge {
                    limit: max_body_bytes,
                });
            }
            body.extend_from_slice(&chunk[..usize::try_from(room).unwrap_or(0)]);
            break;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(RawResponse {
        status,
        content_type,
        retry_after,
        body,
    })
}

/// Sends a request and returns the body of a 2xx answer that is not an HTML page; every other
/// outcome is a [`SourceError`] as described in the module docs.
///
/// # Errors
///
/// Every error of [`send`], and those of [`check_response`]: [`SourceError::Http`],
/// [`SourceError::RetryLater`] or [`SourceError::Api`] for a non-2xx answer, and
/// [`SourceError::BadResponse`] for an HTML page.
pub async fn get_body(
    request: RequestBuilder,
    timeout: Duration,
    max_body_bytes: u64,
) -> Result<Vec<u8>, SourceError> {
    let resp = send(request, timeout, max_body_bytes).await?;
    check_response(resp, SNIPPET_CHARS)
}

/// Turns a non-2xx or HTML answer into its error; returns the body otherwise.
///
/// # Errors
///
/// For a non-2xx answer, the error of [`status_error`] ([`SourceError::RetryLater`] for a 429 or
/// 503 with `Retry-After`, [`SourceError::Api`] for a Prometheus error body, else
/// [`SourceError::Http`]); [`SourceError::BadResponse`] when the answer is an HTML or XHTML page.
pub fn check_response(resp: RawResponse, snippet_chars: usize) -> Result<Vec<u8>, SourceError> {
    if !resp.status.is_success() {
        return Err(status_error(&resp, snippet_chars));
    }
    if let Some(ct) = &resp.content_type {
        if ct.starts_with("text/html") || ct.starts_with("application/xhtml") {
            let ct = ct.split(';').next().unwrap_or(ct).trim();
            let what = snippet(&resp.body, 80);
            return Err(SourceError::BadResponse(format!(
                "expected JSON but got {ct} (a proxy or login page?){}",
                if what.is_empty() {
                    String::new()
                } else {
                    format!(": {what}")
                }
            )));
        }
    }
    Ok(resp.body)
}

/// The error for a non-2xx answer.
pub fn status_error(resp: &RawResponse, snippet_chars: usize) -> SourceError {
    let status = resp.status.as_u16();
    let body = snippet(&resp.body, snippet_chars);
    if matches!(status, 429 | 503) {
        if let Some(retry_after) = resp.retry_after {
            return SourceError::RetryLater {
                status,
                retry_after,
                body,
            };
        }
    }
    if let Some(api) = prometheus_error(&resp.body) {
        return api;
    }
    SourceError::Http { status, body }
}

/// A Prometheus error body `{"status":"error","errorType":..,"error":..}` as [`SourceError::Api`].
pub(crate) fn prometheus_error(body: &[u8]) -> Option<SourceError> {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        status: String,
        #[serde(rename = "errorType", default)]
        error_type: Option<String>,
        #[serde(default)]
        error: Option<String>,
    }
    let e: ErrorBody = serde_json::from_slice(body).ok()?;
    if e.status != "error" {
        return None;
    }
    Some(SourceError::Api {
        kind: crate::sanitize::line(e.error_type.as_deref().unwrap_or("unknown"), 40),
        error: crate::sanitize::line(e.error.as_deref().unwrap_or(""), 500),
    })
}

/// `Retry-After`: delay-seconds or an HTTP date; capped at one day.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    const DAY: u64 = 86_400;
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs.min(DAY)));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(Duration::from_secs(
        u64::try_from(delta.num_seconds().max(0))
            .unwrap_or(0)
            .min(DAY),
    ))
}

/// Maps a reqwest error to a [`SourceError`] with a message free of URLs and credentials.
pub fn classify(e: reqwest::Error, timeout: Duration) -> SourceError {
    let e = e.without_url();
    if e.is_timeout() {
        return SourceError::Timeout(timeout);
    }
    let detail = error_chain(&e);
    if e.is_redirect() {
        SourceError::BadResponse(format!("redirect failed: {detail}"))
    } else if e.is_builder() {
        SourceError::Config(detail)
    } else if e.is_connect() || e.is_request() {
        SourceError::Connect(format!("{detail}{}", tls_hint(&detail)))
    } else if e.is_decode() || e.is_body() {
        SourceError::BadResponse(format!("cannot read body: {detail}"))
    } else {
        SourceError::Other(detail)
    }
}

/// A hint for the TLS failures operators meet most.
fn tls_hint(detail: &str) -> &'static str {
    if detail.contains("UnknownIssuer") {
        " (the server's certificate is signed by an unknown CA: set a CA file, or skip verification)"
    } else if detail.contains("CertificateRequired") || detail.contains("BadCertificate") {
        " (the server wants a valid client certificate)"
    } else if detail.contains("Expired") {
        " (the certificate has expired)"
    } else {
        ""
    }
}

/// The messages of an error and its sources, deduplicated, sanitised and without URLs.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let msg = err.to_string();
        let generic = matches!(
            msg.as_str(),
            "error sending request"
                | "client error (Connect)"
                | "client error (SendRequest)"
                | "builder error"
                | "request or response body error"
                | "error decoding response body"
        );
        if !generic && !msg.is_empty() && !parts.iter().any(|p| p.contains(&msg)) {
            parts.push(msg);
        }
        cur = err.source();
    }
    if parts.is_empty() {
        parts.push(e.to_string());
    }
    redact_userinfo(&crate::sanitize::line(&parts.join(": "), 300))
}

/// A short, printable, one-line view of an untrusted body: control characters (C0, C1, ESC,
/// bidi overrides) become spaces, runs of white space collapse, HTML is reduced to its title or
/// text, and userinfo in URLs is hidden. At most `max_chars` characters (an ellipsis marks a cut).
pub fn snippet(body: &[u8], max_chars: usize) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(max_chars * 8 + 64 * 1024)]);
    let trimmed = text.trim_start();
    let looks_html = trimmed.starts_with('<') && trimmed.to_ascii_lowercase().contains("<html")
        || trimmed.to_ascii_lowercase().starts_with("<!doctype html");
    let text = if looks_html {
        html_text(trimmed)
    } else {
        text.into_owned()
    };
    redact_userinfo(&crate::sanitize::line(&text, max_chars))
}

/// The `<title>` of an HTML page, or its text with tags removed.
fn html_text(html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    if let Some(start) = lower.find("<title") {
        if let Some(gt) = lower[start..].find('>') {
            let from = start + gt + 1;
            if let Some(end) = lower[from..].find("</title") {
                let title = html[from..from + end].trim();
                if !title.is_empty() {
                    return title.to_owned();
                }
            }
        }
    }
    let mut out = String::with_capacity(html.len().min(4096));
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// Replaces the userinfo of any `scheme://user:pass@host` in `s` with `***@`.
pub fn redact_userinfo(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| {
                c == '/' || c == '?' || c == '#' || c.is_whitespace() || c == '"' || c == '\''
            })
            .unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        if let Some(at) = authority.rfind('@') {
            out.push_str("***@");
            out.push_str(&authority[at + 1..]);
        } else {
            out.push_str(authority);
        }
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_printed() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{s}"), "***");
        let cfg = HttpConfig {
            basic_auth: Some(("u".into(), s.clone())),
            bearer_token: Some(s),
            ..HttpConfig::default()
        };
        assert!(!format!("{cfg:?}").contains("hunter2"));
    }

    #[test]
    fn secret_from_file_trims_newline() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        std::fs::write(&p, "s3cret\r\n\n").unwrap();
        assert_eq!(Secret::from_file(&p).unwrap().expose(), "s3cret");
        std::fs::write(&p, "with space \n").unwrap();
        assert_eq!(Secret::from_file(&p).unwrap().expose(), "with space ");
        std::fs::write(&p, "\n").unwrap();
        assert!(matches!(Secret::from_file(&p), Err(SourceError::Config(_))));
        let missing = Secret::from_file(dir.path().join("nope")).unwrap_err();
        assert!(missing.to_string().contains("nope"), "{missing}");
    }

    #[test]
    fn secret_from_env() {
        let err = Secret::from_env("FLEETBOARD_TEST_SURELY_UNSET_VAR").unwrap_err();
        assert!(err.to_string().contains("FLEETBOARD_TEST_SURELY_UNSET_VAR"));
        // PATH is set wherever tests run.
        assert!(Secret::from_env("PATH").is_ok());
    }

    #[test]
    fn base_url_userinfo_is_taken_and_stripped() {
        let (url, auth) =
            parse_base_url("https://al%40ice:p%3Ass@gw.example:8443/prometheus/").unwrap();
        assert_eq!(url.as_str(), "https://gw.example:8443/prometheus/");
        let (u, p) = auth.unwrap();
        assert_eq!(u, "al@ice");
        assert_eq!(p.expose(), "p:ss");
        let (_, none) = parse_base_url("http://127.0.0.1:9090").unwrap();
        assert!(none.is_none());
    }

    #[test]
    fn base_url_errors_hide_credentials() {
        let e = parse_base_url("ftp://bob:hunter2@host/").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        // No scheme means plain HTTP.
        let (u, _) = parse_base_url("localhost:9090").unwrap();
        assert_eq!(u.as_str(), "http://localhost:9090/");
        let e = parse_base_url("http://").unwrap_err();
        assert!(matches!(e, SourceError::Config(_)));
        let e = parse_base_url("http://bob:hunter2@[::1/").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn endpoint_urls_with_and_without_trailing_slash() {
        let cfg = HttpConfig::default();
        for base in ["http://h:1/prometheus", "http://h:1/prometheus/"] {
            let ep = Endpoint::new(base, &cfg).unwrap();
            assert_eq!(
                ep.url(&["api", "v1", "query"]).as_str(),
                "http://h:1/prometheus/api/v1/query"
            );
            assert_eq!(ep.display, "http://h:1/prometheus");
        }
        for base in ["http://h:1", "http://h:1/"] {
            let ep = Endpoint::new(base, &cfg).unwrap();
            assert_eq!(
                ep.url(&["api", "v2", "alerts"]).as_str(),
                "http://h:1/api/v2/alerts"
            );
        }
        let ep = Endpoint::new("http://h:1/", &cfg).unwrap();
        assert_eq!(
            ep.url(&["api", "v2", "silence", "a/b c?"]).as_str(),
            "http://h:1/api/v2/silence/a%2Fb%20c%3F"
        );
    }

    #[test]
    fn echoed_secrets_are_redacted() {
        let e = SourceError::Http {
            status: 400,
            body: "cannot find the provided auth token \"Bearer s3cr3t-tok\"; pass=hunter2".into(),
        };
        let r = redact(e.clone(), &Auth::Bearer(Secret::new("s3cr3t-tok")));
        assert_eq!(
            r.to_string(),
            "HTTP 400: cannot find the provided auth token \"Bearer ***\"; pass=hunter2"
        );
        let r = redact(e, &Auth::Basic("u".into(), Secret::new("hunter2")));
        assert!(!r.to_string().contains("hunter2"), "{r}");
        assert!(!r.to_string().contains("s3cr3t"), "{r}");
    }

    #[test]
    fn auth_conflicts_are_config_errors() {
        let cfg = HttpConfig {
            basic_auth: Some(("u".into(), Secret::new("p"))),
            bearer_token: Some(Secret::new("t")),
            ..HttpConfig::default()
        };
        assert!(matches!(
            Endpoint::new("http://h", &cfg),
            Err(SourceError::Config(_))
        ));
        let cfg = HttpConfig {
            bearer_token: Some(Secret::new("t")),
            ..HttpConfig::default()
        };
        assert!(matches!(
            Endpoint::new("http://u:p@h", &cfg),
            Err(SourceError::Config(_))
        ));
        // Explicit basic auth wins over the URL's.
        let cfg = HttpConfig {
            basic_auth: Some(("cfg".into(), Secret::new("p"))),
            ..HttpConfig::default()
        };
        let ep = Endpoint::new("http://url:x@h", &cfg).unwrap();
        assert_eq!(ep.auth, Auth::Basic("cfg".into(), Secret::new("p")));
    }

    #[test]
    fn bad_headers_and_files_are_config_errors() {
        let cfg = HttpConfig {
            headers: vec![("X Bad".into(), "v".into())],
            ..HttpConfig::default()
        };
        assert!(matches!(build_client(&cfg), Err(SourceError::Config(_))));
        let cfg = HttpConfig {
            headers: vec![("X-Api-Key".into(), "sec\nret".into())],
            ..HttpConfig::default()
        };
        let e = build_client(&cfg).unwrap_err();
        assert!(!e.to_string().contains("sec"), "{e}");
        let cfg = HttpConfig {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..HttpConfig::default()
        };
        assert!(matches!(build_client(&cfg), Err(SourceError::Config(_))));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ca.pem");
        std::fs::write(&p, "not a pem").unwrap();
        let cfg = HttpConfig {
            ca_file: Some(p),
            ..HttpConfig::default()
        };
        assert!(matches!(build_client(&cfg), Err(SourceError::Config(_))));
        let cfg = HttpConfig {
            timeout: Duration::ZERO,
            ..HttpConfig::default()
        };
        assert!(matches!(build_client(&cfg), Err(SourceError::Config(_))));
    }

    #[test]
    fn snippets_are_short_and_clean() {
        let s = snippet(b"oops \x1b[31mred\x1b]0;title\x07 \xc2\x9b\x07\n\tend", 200);
        assert!(!s.chars().any(char::is_control), "{s:?}");
        assert!(s.starts_with("oops"));
        let long = "x".repeat(1000);
        let s = snippet(long.as_bytes(), 200);
        assert_eq!(s.chars().count(), 201);
        assert!(s.ends_with('…'));
        let html = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>502</h1></body></html>";
        assert_eq!(snippet(html, 200), "502 Bad Gateway");
        let html = b"<html><body><h1>Sign in</h1><p>please</p></body></html>";
        assert_eq!(snippet(html, 200), "Sign in please");
        assert_eq!(snippet(b"", 200), "");
        assert_eq!(snippet("é".repeat(300).as_bytes(), 10).chars().count(), 11);
    }

    #[test]
    fn userinfo_is_redacted() {
        assert_eq!(
            redact_userinfo("GET https://bob:hunter2@gw/x and http://h/y?u=a@b"),
            "GET https://***@gw/x and http://h/y?u=a@b"
        );
        assert_eq!(redact_userinfo("no urls"), "no urls");
        assert_eq!(redact_userinfo("://"), "://");
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        let future = (chrono::Utc::now() + chrono::Duration::seconds(120)).to_rfc2822();
        let d = parse_retry_after(&future).unwrap();
        assert!(
            d > Duration::from_secs(100) && d <= Duration::from_secs(120),
            "{d:?}"
        );
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(
            parse_retry_after("99999999"),
            Some(Duration::from_secs(86_400))
        );
    }

    #[test]
    fn status_errors() {
        let raw = |status: u16, retry: Option<u64>, body: &[u8]| RawResponse {
            status: StatusCode::from_u16(status).unwrap(),
            content_type: None,
            retry_after: retry.map(Duration::from_secs),
            body: body.to_vec(),
        };
        assert_eq!(
            status_error(&raw(500, None, b"boom\n"), 200),
            SourceError::Http {
                status: 500,
                body: "boom".into()
            }
        );
        let e = status_error(&raw(503, Some(30), b"busy"), 200);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(30)));
        assert_eq!(e.status(), Some(503));
        assert_eq!(
            status_error(
                &raw(
                    400,
                    None,
                    br#"{"status":"error","errorType":"bad_data","error":"parse error"}"#
                ),
                200
            ),
            SourceError::Api {
                kind: "bad_data".into(),
                error: "parse error".into()
            }
        );
    }
}
