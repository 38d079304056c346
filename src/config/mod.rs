//! The config file (TOML) and the settings resolved from it and the command line.
//!
//! Errors name the file, line and key, and suggest the closest valid key.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::cli::Cli;
use crate::fleet::metrics;
use crate::model::Identity;
use crate::model::{AppliesTo, Direction, Kind, MetricDef, MetricSet, Override, Signal, Unit};

pub mod identity;
use crate::sources::http::{HttpConfig, Secret};

/// A config problem, located in its file.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// The config file.
    pub file: PathBuf,
    /// 1-based line; 0 when the problem has no place in the file (a missing file).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The dotted key at fault (`prometheus.timeout`), when there is one.
    pub key: Option<String>,
    /// What is wrong, in words.
    pub message: String,
    /// The known key closest to an unknown one.
    pub suggestion: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        write!(f, ": ")?;
        if let Some(k) = &self.key {
            write!(f, "key `{k}`: ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(s) = &self.suggestion {
            write!(f, " (did you mean `{s}`?)")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// `[prometheus]` or `[alertmanager]`: where and how to connect.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceFile {
    /// Base URL; a path prefix is kept (`…/prometheus` for Mimir or PMM).
    pub url: Option<String>,
    /// More Alertmanagers (an HA pair); only for `[alertmanager]`.
    pub urls: Option<Vec<String>>,
    /// Per-request timeout, a duration (`4s`).
    pub timeout: Option<Spanned<String>>,
    /// Largest answer accepted after decompression, a size (`64MiB`).
    pub max_body: Option<Spanned<String>>,
    /// Basic auth user.
    pub username: Option<String>,
    /// Basic auth password written in the file (a warning when others can read it).
    pub password: Option<String>,
    /// File holding the basic auth password.
    pub password_file: Option<PathBuf>,
    /// Environment variable holding the basic auth password.
    pub password_env: Option<String>,
    /// Bearer token written in the file.
    pub bearer_token: Option<String>,
    /// File holding the bearer token.
    pub bearer_token_file: Option<PathBuf>,
    /// Environment variable holding the bearer token.
    pub bearer_token_env: Option<String>,
    /// CA bundle to trust instead of the system's.
    pub ca_file: Option<PathBuf>,
    /// Client certificate (mTLS), PEM.
    pub cert_file: Option<PathBuf>,
    /// The client certificate's key, PEM.
    pub key_file: Option<PathBuf>,
    /// Accept any server certificate (a warning is printed).
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// Extra request headers (`X-Scope-OrgID` for Mimir tenants).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// `[[prometheus]]` only: the source's name (default: the URL's host). Entries with
    /// the same name form an HA group: the same targets scraped twice, asked with failover.
    pub name: Option<String>,
    /// `[[prometheus]]` only: labels added to every series of this source (`region = "eu"`);
    /// a series' own label of the same name wins.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `[[prometheus]]` only: ask the engine to fail rather than answer with part of the
    /// data (Thanos `partial_response=false`, VictoriaMetrics `deny_partial_response=1`).
    pub deny_partial: Option<bool>,
    /// `false`: ask this source one query per metric instead of every metric in one
    /// united query (more requests, less CPU on the server; see the README).
    pub united_query: Option<bool>,
}

/// `[prometheus]` (one source) or `[[prometheus]]` (several).
#[derive(Debug, Clone, Default)]
pub struct PromFiles(pub Vec<SourceFile>);

impl<'de> Deserialize<'de> for PromFiles {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = PromFiles;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a [prometheus] table or a [[prometheus]] list of tables")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<PromFiles, A::Error> {
                SourceFile::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|f| PromFiles(vec![f]))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> Result<PromFiles, A::Error> {
                Vec::<SourceFile>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
                    .map(PromFiles)
            }
        }
        d.deserialize_any(V)
    }
}

/// `[identity]`: which labels name a host and its cluster.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityFile {
    /// `prometheus` (instance, cluster) or `pmm` (node_name, cluster); keys beside it win.
    pub preset: Option<Spanned<String>>,
    /// The label that names a host (`instance`).
    pub host_label: Option<Spanned<String>>,
    /// The label that names its cluster (`cluster`).
    pub cluster_label: Option<Spanned<String>>,
    /// Whether `db1:9104` and `db1:9100` are one host (the port is dropped from the name).
    pub strip_port: Option<bool>,
}

/// `[metrics.KEY]`: changes a preset metric or adds one.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricFile {
    /// PromQL returning one series per host; `$cluster` is the cluster filter.
    pub expr: Option<String>,
    /// Short label for tiles and tables.
    pub label: Option<String>,
    /// How values are shown: seconds, ratio, rate, none, bool.
    pub unit: Option<Unit>,
    /// gauge (thresholds), up, flag (0 is CRIT) or info (not shown as a figure).
    pub kind: Option<Kind>,
    /// Whether higher or lower values are worse.
    pub direction: Option<Direction>,
    /// Warning threshold, in the metric's unit.
    pub warn: Option<f64>,
    /// Critical threshold.
    pub crit: Option<f64>,
    /// all, or replica (not applicable to other roles).
    pub applies_to: Option<AppliesTo>,
    /// Shown on grid tiles when there is room.
    pub tile: Option<bool>,
    /// Gets a history chart in the host panel.
    pub chart: Option<bool>,
    /// What the metric stands for in roles and replication (`replication_lag`,
    /// `read_only`, `wal_receiver`, ...); a new metric named like a preset's (`lag`,
    /// `read_only`, `io_running`, ...) stands for the same by default.
    pub signal: Option<Signal>,
    /// Drops a preset metric from the board.
    #[serde(default)]
    pub disabled: bool,
}

/// `[[overrides]]`: thresholds for the hosts of a cluster or a label match.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideFile {
    /// The metric key whose thresholds change.
    pub metric: Spanned<String>,
    /// Only hosts of this cluster.
    pub cluster: Option<String>,
    /// `match`: only hosts with all these label values.
    #[serde(default, rename = "match")]
    pub matchers: BTreeMap<String, String>,
    /// Warning threshold for those hosts.
    pub warn: Option<f64>,
    /// Critical threshold for those hosts.
    pub crit: Option<f64>,
}

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Time between polls, a duration.
    pub refresh: Option<Spanned<String>>,
    /// `default`, `light`, or `themes/NAME.toml` beside the config.
    pub theme: Option<String>,
    /// Start narrowed to these clusters (the filter goes into the queries).
    #[serde(default)]
    pub clusters: Vec<String>,
    /// Data older than this many refreshes is drawn stale.
    pub stale_after: Option<u32>,
    /// How long a host whose series are all gone stays on the board, a duration.
    pub forget_after: Option<Spanned<String>>,
    /// `mysql` (default), `postgres`, `mixed` (both engines on one board) or `none` (only
    /// `[metrics.*]` from this file).
    pub preset: Option<Spanned<String>>,
    /// Where the log goes; without it nothing is logged (the terminal is the board's).
    pub log_file: Option<PathBuf>,
    /// No writes to Alertmanager (silences).
    pub read_only: Option<bool>,
    /// Wall monitor mode.
    pub wall: Option<bool>,
    /// Seconds between wall pages.
    pub wall_page: Option<Spanned<String>>,
    /// Hide healthy hosts.
    pub only_problems: Option<bool>,
    /// Start on the map (one cell per host).
    pub map: Option<bool>,
    /// Metric key whose recent history tall tiles show as a sparkline.
    pub tile_sparkline: Option<Spanned<String>>,
    /// ASCII only; default: when the locale is not UTF-8.
    pub ascii: Option<bool>,
    /// auto, truecolor, 256, 16 or none.
    pub color: Option<crate::cli::ColorChoice>,
    /// `[prometheus]`, or `[[prometheus]]` tables for several sources.
    pub prometheus: Option<PromFiles>,
    /// `[alertmanager]`.
    pub alertmanager: Option<SourceFile>,
    /// Names of the always-firing alert whose absence from Alertmanager means the alerting
    /// pipeline is broken (default `Watchdog` and `DeadMansSwitch`); `[]` turns the check off.
    pub watchdog: Option<Vec<String>>,
    /// `[identity]`.
    pub identity: Option<IdentityFile>,
    /// `[metrics.KEY]` tables, by key.
    #[serde(default)]
    pub metrics: BTreeMap<String, Spanned<MetricFile>>,
    /// `[[overrides]]`, in order (the last match wins).
    #[serde(default)]
    pub overrides: Vec<OverrideFile>,
    /// `[notify]`.
    pub notify: Option<crate::notify::NotifyFile>,
    /// `[links]`.
    pub links: Option<crate::links::LinksFile>,
    /// `[keys]`: `command = "key"` or `command = ["key", "key"]`, e.g. `silence = "ctrl-s"`.
    #[serde(default)]
    pub keys: BTreeMap<String, Spanned<KeysFile>>,
}

/// One `[keys]` value: a key or a list of keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum KeysFile {
    /// `command = "key"`.
    One(String),
    /// `command = ["key", "key"]`.
    Many(Vec<String>),
}

/// The annotated example config: `fleetboard config --example` prints it, the README
/// shows it (a test keeps the two equal), the Debian package installs it.
pub const EXAMPLE: &str = include_str!("../../examples/config.toml");

/// Where the default config file lives (`~/.config/fleetboard/config.toml` on Linux).
pub fn default_config_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "fleetboard").map(|d| d.config_dir().to_path_buf())
}

/// Parses config text; `file` is only used in error messages.
///
/// # Errors
///
/// A [`ConfigError`] naming the file, line, column and key (with the closest valid key when one
/// is unknown) when the TOML is invalid or does not match the config's shape.
pub fn parse(text: &str, file: &Path) -> Result<FileConfig, ConfigError> {
    toml::from_str::<FileConfig>(text).map_err(|e| from_toml_error(&e, text, file))
}

fn from_toml_error(e: &toml::de::Error, text: &str, file: &Path) -> ConfigError {
    let (line, column) = e.span().map_or((0, 0), |s| line_col(text, s.start));
    let msg = e.message().trim().to_string();
    let mut key = e.span().map(|s| text[s.clone()].trim().to_string());
    let mut suggestion = None;
    // serde's "unknown field `x`, expected one of `a`, `b`" → suggest the closest.
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        if let Some((bad, tail)) = rest.split_once('`') {
            key = Some(bad.to_string());
            let candidates: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
            suggestion = closest(bad, &candidates);
        }
    } else if let Some(rest) = msg.strip_prefix("unknown variant `") {
        if let Some((bad, tail)) = rest.split_once('`') {
            let candidates: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
            suggestion = closest(bad, &candidates);
        }
    }
    if let Some(k) = &key {
        if k.len() > 60 || k.contains('\n') {
            key = None;
        }
    }
    let table = e.span().and_then(|s| table_at(text, s.start));
    let message = match table {
        Some(t) => format!("{msg} (in [{t}])"),
        None => msg,
    };
    ConfigError {
        file: file.to_path_buf(),
        line,
        column,
        key,
        message,
        suggestion,
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |p| before.len() - p - 1)
        + 1;
    (line, col)
}

/// The `[table]` header in force at `offset`.
fn table_at(text: &str, offset: usize) -> Option<String> {
    let before = &text[..offset.min(text.len())];
    before.lines().rev().find_map(|l| {
        let t = l.trim();
        (t.starts_with('[') && t.ends_with(']'))
            .then(|| t.trim_matches(|c| c == '[' || c == ']').trim().to_string())
    })
}

/// The candidate closest to `bad`, if it is close enough to be a likely typo.
pub fn closest(bad: &str, candidates: &[&str]) -> Option<String> {
    let limit = (bad.chars().count() / 3).max(2);
    candidates
        .iter()
        .map(|c| {
            (
                strsim::damerau_levenshtein(bad, c),
                strsim::jaro_winkler(bad, c),
                *c,
            )
        })
        .filter(|(d, _, _)| *d <= limit)
        .min_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)))
        .map(|(_, _, c)| c.to_string())
}

/// Everything the board needs, resolved from the command line, environment and file.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The first metrics source's endpoint (see `sources` for all of them).
    pub prometheus: Option<Endpoint>,
    /// Every metrics source, in order; members of an HA group are adjacent.
    pub sources: Vec<PromEndpoint>,
    /// Alert names of the dead man's switch; empty: not checked.
    pub watchdog: Vec<String>,
    /// `watchdog` was set in the config: the alert must be there from the first refresh.
    pub watchdog_configured: bool,
    /// Alertmanagers (an HA group: merged, deduplicated).
    pub alertmanagers: Vec<Endpoint>,
    /// Time between polls.
    pub refresh: Duration,
    /// Refreshes after which data is drawn stale.
    pub stale_after: u32,
    /// How long a host whose series are all gone stays on the board.
    pub forget_after: Duration,
    /// Theme name.
    pub theme: String,
    /// Cluster filter at start (server-side).
    pub clusters: Vec<String>,
    /// Which labels name hosts and clusters.
    pub identity: Identity,
    /// The board's metrics: the preset with `[metrics.*]` and overrides applied.
    pub metrics: MetricSet,
    /// The simulated fleet instead of Prometheus (`--demo`).
    pub demo: bool,
    /// Replay time (`--at`); `None` is live.
    pub at: Option<chrono::DateTime<chrono::Utc>>,
    /// No writes to Alertmanager: creating and expiring silences are refused.
    pub read_only: bool,
    /// Wall monitor mode.
    pub wall: bool,
    /// Time between wall pages.
    pub wall_page: Duration,
    /// Hide healthy hosts at start.
    pub only_problems: bool,
    /// Start on the map.
    pub map: bool,
    /// Draw with ASCII only.
    pub ascii: bool,
    /// Tile sparklines' query (`tile_sparkline`, `--sparkline`).
    pub sparkline: Option<crate::sources::SparkQuery>,
    /// Colour depth asked for (`auto` detects it).
    pub color: crate::cli::ColorChoice,
    /// Where the log goes; `None`: nothing is logged.
    pub log_file: Option<PathBuf>,
    /// The config file's directory, where `themes/` are looked for.
    pub config_dir: Option<PathBuf>,
    /// Things the user should know (e.g. a secret in a world-readable file).
    pub warnings: Vec<String>,
    /// `[notify]`: off unless configured.
    pub notify: crate::notify::NotifyConfig,
    /// `[links]`: URL templates and commands of the host panel.
    pub links: crate::links::LinksConfig,
    /// The keymap with `[keys]` applied.
    pub keymap: crate::app::keymap::Keymap,
}

/// One data source endpoint.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Base URL, path prefix included.
    pub url: String,
    /// Timeouts, TLS, authentication and headers.
    pub http: HttpConfig,
}

/// One Prometheus-compatible server and the source it belongs to.
#[derive(Debug, Clone)]
pub struct PromEndpoint {
    /// The source's name; servers with the same name form an HA group.
    pub name: String,
    /// Where and how to connect.
    pub endpoint: Endpoint,
    /// Labels added to every series of this source.
    pub labels: Vec<(String, String)>,
    /// Ask the engine to fail rather than answer partially (Thanos
    /// `partial_response=false`, VictoriaMetrics `deny_partial_response=1`).
    pub deny_partial: bool,
    /// Every metric in one united query (`true`, the default) or one query per metric.
    pub united_query: bool,
}

/// Splits `NAME=URL` (a name is letters, digits, `-`, `_` and `.`, before any `://`).
pub fn split_named(arg: &str) -> (Option<&str>, &str) {
    if let Some((name, url)) = arg.split_once('=') {
        let ok = !name.is_empty()
            && !name.contains("://")
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if ok {
            return (Some(name), url);
        }
    }
    (None, arg)
}

/// Loads the config file named on the command line (must exist) or the default one
/// (may be missing).
///
/// # Errors
///
/// A [`ConfigError`] naming the file when it cannot be read (a missing default file is not an
/// error: the defaults apply), or the errors of [`parse`] when its TOML is invalid.
pub fn load_file(cli: &Cli) -> Result<(FileConfig, Option<PathBuf>), ConfigError> {
    let (path, required) = match &cli.config {
        Some(p) => (p.clone(), true),
        None => match default_config_dir() {
            Some(d) => (d.join("config.toml"), false),
            None => return Ok((FileConfig::default(), None)),
        },
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => parse(&text, &path).map(|c| (c, Some(path))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
            Ok((FileConfig::default(), None))
        }
        Err(e) => Err(ConfigError {
            file: path,
            line: 0,
            column: 0,
            key: None,
            message: format!("cannot read: {e}"),
            suggestion: None,
        }),
    }
}

/// Merges command line, environment (already in `cli` through clap) and file.
///
/// # Errors
///
/// A [`ConfigError`] naming the key (and its line when known) when a value is invalid: a
/// duration or size that does not parse, a secret file or environment variable that cannot be
/// read, a `[[prometheus]]` entry without `url` among several, an unknown preset, identity,
/// metric or key binding, a new metric without `expr`, or a bad `[links]` or `[notify]` table.
#[allow(clippy::too_many_lines)]
pub fn resolve(cli: &Cli, file: &FileConfig, path: Option<&Path>) -> Result<Settings, ConfigError> {
    let fpath = path.map_or_else(|| PathBuf::from("<config>"), Path::to_path_buf);
    let text = path
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    let err_at = |span: Option<std::ops::Range<usize>>, key: &str, message: String| {
        let (line, column) = span.map_or((0, 0), |s| line_col(&text, s.start));
        ConfigError {
            file: fpath.clone(),
            line,
            column,
            key: Some(key.to_string()),
            message,
            suggestion: None,
        }
    };
    let dur = |v: &Option<Spanned<String>>, key: &str| -> Result<Option<Duration>, ConfigError> {
        match v {
            None => Ok(None),
            Some(s) => crate::cli::parse_duration(s.get_ref())
                .map(Some)
                .map_err(|m| err_at(Some(s.span()), key, m)),
        }
    };

    let refresh = cli
        .refresh
        .or(dur(&file.refresh, "refresh")?)
        .unwrap_or(Duration::from_secs(5));
    let default_timeout =
        (refresh.mul_f64(0.8)).clamp(Duration::from_millis(250), Duration::from_secs(10));
    let forget_after =
        dur(&file.forget_after, "forget_after")?.unwrap_or(Duration::from_secs(3600));

    let mut warnings = Vec::new();
    let mut endpoint = |url: String,
                        sf: Option<&SourceFile>,
                        what: &str|
     -> Result<Endpoint, ConfigError> {
        let mut http = HttpConfig {
            timeout: cli.timeout.unwrap_or(default_timeout),
            ..HttpConfig::default()
        };
        if let Some(sf) = sf {
            if let Some(t) = dur(&sf.timeout, &format!("{what}.timeout"))? {
                if cli.timeout.is_none() {
                    http.timeout = t;
                }
            }
            if let Some(mb) = &sf.max_body {
                http.max_body_bytes = parse_size(mb.get_ref())
                    .map_err(|m| err_at(Some(mb.span()), &format!("{what}.max_body"), m))?;
            }
            let secret = |inline: &Option<String>,
                          file_: &Option<PathBuf>,
                          env: &Option<String>,
                          key: &str|
             -> Result<Option<Secret>, ConfigError> {
                // One loader for files and variables (sources::http::Secret): trailing
                // line breaks dropped, empty is an error naming the file or variable.
                let at = |suffix: &str, e: crate::model::SourceError| {
                    err_at(None, &format!("{what}.{key}_{suffix}"), e.to_string())
                };
                if let Some(p) = file_ {
                    return Secret::from_file(p).map(Some).map_err(|e| at("file", e));
                }
                if let Some(v) = env {
                    return Secret::from_env(v).map(Some).map_err(|e| at("env", e));
                }
                Ok(inline.as_ref().map(Secret::new))
            };
            let password = secret(
                &sf.password,
                &sf.password_file,
                &sf.password_env,
                "password",
            )?;
            if let Some(u) = &sf.username {
                http.basic_auth = Some((u.clone(), password.unwrap_or_else(|| Secret::new(""))));
            }
            http.bearer_token = secret(
                &sf.bearer_token,
                &sf.bearer_token_file,
                &sf.bearer_token_env,
                "bearer_token",
            )?;
            http.ca_file.clone_from(&sf.ca_file);
            http.client_cert.clone_from(&sf.cert_file);
            http.client_key.clone_from(&sf.key_file);
            http.insecure_skip_verify = sf.insecure_skip_verify;
            http.headers = sf
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if sf.insecure_skip_verify {
                warnings.push(format!(
                    "{what}: TLS certificate verification is OFF (insecure_skip_verify)"
                ));
            }
            if (sf.password.is_some() || sf.bearer_token.is_some())
                && path.is_some_and(readable_by_others)
            {
                warnings.push(format!(
                    "{} holds a secret and is readable by other users; chmod 600 it or use password_file / bearer_token_file",
                    fpath.display()
                ));
            }
        }
        Ok(Endpoint { url, http })
    };

    let prom_files: &[SourceFile] = file.prometheus.as_ref().map_or(&[], |p| &p.0[..]);
    let mut sources = Vec::new();
    if cli.prometheus.iter().any(|u| !u.trim().is_empty()) {
        // The command line replaces the file's sources; one `[prometheus]` table still
        // supplies auth and timeouts, as it always did for `-p`.
        let shared = match prom_files {
            [one] => Some(one),
            _ => None,
        };
        for arg in cli.prometheus.iter().filter(|u| !u.trim().is_empty()) {
            let (name, url) = split_named(arg.trim());
            let ep = endpoint(url.to_string(), shared, "prometheus")?;
            sources.push(PromEndpoint {
                name: name.map_or_else(
                    || crate::sources::multi::default_name(&ep.url),
                    str::to_owned,
                ),
                endpoint: ep,
                labels: shared
                    .map(|f| f.labels.clone().into_iter().collect())
                    .unwrap_or_default(),
                deny_partial: shared.and_then(|f| f.deny_partial).unwrap_or(false),
                united_query: shared.and_then(|f| f.united_query).unwrap_or(true),
            });
        }
    } else {
        for (i, f) in prom_files.iter().enumerate() {
            let Some(url) = f.url.clone() else {
                if prom_files.len() > 1 {
                    return Err(err_at(
                        None,
                        "prometheus.url",
                        format!("[[prometheus]] entry {} has no `url`", i + 1),
                    ));
                }
                continue;
            };
            let ep = endpoint(url, Some(f), "prometheus")?;
            sources.push(PromEndpoint {
                name: f
                    .name
                    .clone()
                    .filter(|n| !n.trim().is_empty())
                    .unwrap_or_else(|| crate::sources::multi::default_name(&ep.url)),
                endpoint: ep,
                labels: f.labels.clone().into_iter().collect(),
                deny_partial: f.deny_partial.unwrap_or(false),
                united_query: f.united_query.unwrap_or(true),
            });
        }
    }
    // Members of one HA group side by side, in the order their names first appear.
    let mut order: Vec<String> = Vec::new();
    for s in &sources {
        if !order.contains(&s.name) {
            order.push(s.name.clone());
        }
    }
    sources.sort_by_key(|s| order.iter().position(|n| *n == s.name));
    let prometheus = sources.first().map(|s| s.endpoint.clone());
    let am_urls: Vec<String> = if cli.alertmanager.is_empty() {
        file.alertmanager
            .iter()
            .flat_map(|a| {
                a.url
                    .iter()
                    .cloned()
                    .chain(a.urls.iter().flatten().cloned())
            })
            .collect()
    } else {
        cli.alertmanager.clone()
    };
    let mut alertmanagers = Vec::new();
    for u in am_urls.into_iter().filter(|u| !u.trim().is_empty()) {
        alertmanagers.push(endpoint(u, file.alertmanager.as_ref(), "alertmanager")?);
    }

    let identity = identity::resolve(&file.identity.clone().unwrap_or_default(), &err_at)?;

    let preset = cli
        .preset
        .map(crate::cli::Preset::as_str)
        .or_else(|| file.preset.as_ref().map(|p| p.get_ref().as_str()))
        // the demo fleet has MySQL and PostgreSQL clusters
        .or_else(|| cli.demo().unwrap_or(false).then_some("mixed"));
    // Label names that are not classic identifiers are quoted (Prometheus 3).
    let (hl, cl) = (
        &crate::sources::query::label_ref(&identity.host_label),
        &crate::sources::query::label_ref(&identity.cluster_label),
    );
    let mut set = match preset {
        None | Some("mysql") => metrics::mysql_preset(hl, cl),
        Some("postgres" | "postgresql") => metrics::postgres_preset(hl, cl),
        Some("mixed") => metrics::mixed_preset(hl, cl),
        Some("none") => MetricSet {
            metrics: Vec::new(),
            overrides: Vec::new(),
        },
        Some(other) => {
            let valid = ["mysql", "postgres", "mixed", "none"];
            let p = file.preset.as_ref().map(Spanned::span);
            let mut e = err_at(
                p,
                "preset",
                format!("unknown preset `{other}`; valid: {}", valid.join(", ")),
            );
            e.suggestion = closest(other, &valid);
            return Err(e);
        }
    };
    for (key, spanned) in &file.metrics {
        let mf = spanned.get_ref();
        let span = Some(spanned.span());
        if mf.disabled {
            set.metrics.retain(|m| &m.key != key);
            continue;
        }
        if let Some(m) = set.metrics.iter_mut().find(|m| &m.key == key) {
            if let Some(v) = &mf.expr {
                m.expr.clone_from(v);
            }
            if let Some(v) = &mf.label {
                m.label.clone_from(v);
            }
            m.unit = mf.unit.unwrap_or(m.unit);
            m.kind = mf.kind.unwrap_or(m.kind);
            m.direction = mf.direction.unwrap_or(m.direction);
            m.applies_to = mf.applies_to.unwrap_or(m.applies_to);
            m.on_tile = mf.tile.unwrap_or(m.on_tile);
            m.chart = mf.chart.unwrap_or(m.chart);
            if mf.signal.is_some() {
                m.signal = mf.signal;
            }
            if mf.warn.is_some() {
                m.warn = mf.warn;
            }
            if mf.crit.is_some() {
                m.crit = mf.crit;
            }
        } else {
            let Some(expr) = mf.expr.clone() else {
                let keys: Vec<&str> = set.metrics.iter().map(|m| m.key.as_str()).collect();
                let mut e = err_at(
                    span,
                    &format!("metrics.{key}"),
                    "a new metric needs `expr` (a PromQL expression returning one series per host)"
                        .into(),
                );
                e.suggestion = closest(key, &keys);
                return Err(e);
            };
            set.metrics.push(MetricDef {
                key: key.clone(),
                label: mf.label.clone().unwrap_or_else(|| key.clone()),
                expr,
                unit: mf.unit.unwrap_or(Unit::None),
                kind: mf.kind.unwrap_or(Kind::Gauge),
                direction: mf.direction.unwrap_or(Direction::Higher),
                warn: mf.warn,
                crit: mf.crit,
                applies_to: mf.applies_to.unwrap_or(AppliesTo::All),
                on_tile: mf.tile.unwrap_or(true),
                chart: mf.chart.unwrap_or(true),
                engine: None,
                signal: mf.signal.or_else(|| Signal::for_key(key)),
            });
        }
    }
    for o in &file.overrides {
        let key = o.metric.get_ref();
        if set.index(key).is_none() {
            let keys: Vec<&str> = set.metrics.iter().map(|m| m.key.as_str()).collect();
            let mut e = err_at(
                Some(o.metric.span()),
                "overrides.metric",
                format!("unknown metric `{key}`"),
            );
            e.suggestion = closest(key, &keys);
            return Err(e);
        }
        let mut matchers: Vec<(String, String)> = o.matchers.clone().into_iter().collect();
        if let Some(c) = &o.cluster {
            matchers.push((identity.cluster_label.clone(), c.clone()));
        }
        set.overrides.push(Override {
            metric: key.clone(),
            matchers,
            warn: o.warn,
            crit: o.crit,
        });
    }
    let spark_key = cli
        .sparkline
        .clone()
        .map(|k| (k, None))
        .or_else(|| {
            file.tile_sparkline
                .as_ref()
                .map(|s| (s.get_ref().clone(), Some(s.span())))
        })
        .filter(|(k, _)| !k.is_empty());
    let sparkline = match spark_key {
        None => None,
        Some((k, span)) => match set.get(&k) {
            Some(m) => Some(crate::sources::SparkQuery {
                metric: k.clone(),
                expr: m.expr.clone(),
                window: Duration::from_secs(900),
                step: Duration::from_secs(30),
            }),
            None => {
                let keys: Vec<&str> = set.metrics.iter().map(|m| m.key.as_str()).collect();
                let mut e = err_at(span, "tile_sparkline", format!("unknown metric `{k}`"));
                e.suggestion = closest(&k, &keys);
                return Err(e);
            }
        },
    };
    let notify = match &file.notify {
        Some(n) => crate::notify::NotifyConfig::from_file(n, dur)?,
        None => crate::notify::NotifyConfig::default(),
    };
    let links = match &file.links {
        Some(l) => {
            crate::links::LinksConfig::from_file(l).map_err(|(key, msg)| err_at(None, &key, msg))?
        }
        None => crate::links::LinksConfig::default(),
    };
    let demo = cli.demo().unwrap_or(false);
    let wall = cli.wall().or(file.wall).unwrap_or(false);
    let rebind: BTreeMap<String, Vec<String>> = file
        .keys
        .iter()
        .map(|(k, v)| {
            let keys = match v.get_ref() {
                KeysFile::One(x) => vec![x.clone()],
                KeysFile::Many(xs) => xs.clone(),
            };
            (k.clone(), keys)
        })
        .collect();
    let keymap = crate::app::keymap::Keymap::with_bindings(&rebind).map_err(|e| {
        let name = e.key.trim_start_matches("keys.");
        let span = file.keys.get(name).map(Spanned::span);
        let mut ce = err_at(span, &e.key, e.message);
        ce.suggestion = e.suggestion;
        ce
    })?;
    if !demo && prometheus.is_some() && set.metrics.iter().all(|m| m.kind != Kind::Up) {
        warnings.push("no metric of kind `up`: hosts cannot be shown DOWN".into());
    }

    Ok(Settings {
        prometheus,
        sources,
        watchdog_configured: file.watchdog.as_ref().is_some_and(|w| !w.is_empty()),
        watchdog: file
            .watchdog
            .clone()
            .unwrap_or_else(|| vec!["Watchdog".into(), "DeadMansSwitch".into()])
            .into_iter()
            .filter(|n| !n.trim().is_empty())
            .collect(),
        alertmanagers,
        refresh,
        stale_after: file.stale_after.unwrap_or(3).max(1),
        forget_after,
        theme: cli
            .theme
            .clone()
            .or_else(|| file.theme.clone())
            .unwrap_or_else(|| "default".into()),
        clusters: if cli.cluster.is_empty() {
            file.clusters.clone()
        } else {
            cli.cluster.clone()
        },
        identity,
        metrics: set,
        demo,
        at: cli.at,
        // A wall monitor never writes.
        read_only: cli.read_only().or(file.read_only).unwrap_or(false) || wall,
        wall,
        wall_page: match cli.wall_page {
            Some(d) => d,
            None => dur(&file.wall_page, "wall_page")?.unwrap_or(Duration::from_secs(10)),
        },
        only_problems: cli.only_problems().or(file.only_problems).unwrap_or(false),
        map: cli.map().or(file.map).unwrap_or(false),
        sparkline,
        ascii: cli
            .ascii()
            .or(file.ascii)
            .unwrap_or_else(|| !locale_is_utf8(&|k| std::env::var(k).ok())),
        color: cli
            .color
            .or(file.color)
            .unwrap_or(crate::cli::ColorChoice::Auto),
        log_file: cli.log_file.clone().or_else(|| file.log_file.clone()),
        config_dir: path
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .or_else(default_config_dir),
        warnings,
        notify,
        links,
        keymap,
    })
}

/// Whether the locale (`LC_ALL`, `LC_CTYPE`, `LANG`, first one set) is UTF-8. With no
/// locale set at all, a modern terminal is assumed (UTF-8).
pub fn locale_is_utf8(get: &dyn Fn(&str) -> Option<String>) -> bool {
    ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|k| get(k).filter(|v| !v.is_empty()))
        .is_none_or(|v| {
            let v = v.to_ascii_lowercase();
            v.contains("utf-8") || v.contains("utf8")
        })
}

/// `64MiB`, `10MB`, `1048576`.
///
/// # Errors
///
/// A message when `s` is not digits followed by an optional unit (B, KiB/KB/K, MiB, GiB), or
/// the size overflows `u64`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size; use e.g. 64MiB"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        "g" | "gb" | "gib" => 1024 * 1024 * 1024,
        _ => return Err(format!("`{s}`: unknown size unit; use B, KiB, MiB or GiB")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{s}` is too large"))
}

#[cfg(unix)]
fn readable_by_others(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o044 != 0)
}

#[cfg(not(unix))]
fn readable_by_others(_: &Path) -> bool {
    false
}

pub mod explain;

#[cfg(test)]
mod tests;
