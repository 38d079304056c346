//! `fleetboard doctor`: what the monitoring is missing, in plain sentences with the fix.
//!
//! It asks the configured sources what the board would ask (one instant query per metric,
//! the alerts), plus a few questions of its own (build info, the exporter's own series,
//! both spellings of the replication series, Alertmanager's status and whether it accepts
//! silence writes), then judges the answers in [`checks`] (pure, unit-tested).
//!
//! Exit codes: 0 nothing to do, 1 something to fix, 2 the board cannot work, 3 a source
//! cannot be reached.

pub mod checks;

use std::process::ExitCode;

use reqwest::Method;

use crate::cli::{Cli, Format};
use crate::config::{self, Settings};
use crate::model::{SourceError, Vector};
use crate::sources::http::Endpoint;
use crate::sources::prometheus::parse_instant;
use crate::sources::query::expand;
use checks::{AmFacts, Engine, Facts};

/// Runs the subcommand: loads the config (an error there is exit 2: the board cannot
/// work), gathers, judges, prints.
pub fn run_cli(cli: &Cli, format: Format) -> ExitCode {
    let settings = match config::load_file(cli)
        .and_then(|(file, path)| config::resolve(cli, &file, path.as_deref()))
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("fleetboard doctor: BROKEN: config error: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fleetboard doctor: cannot start the runtime: {e}");
            return ExitCode::from(3);
        }
    };
    let (out, code) = rt.block_on(run(&settings, format));
    print!("{out}");
    ExitCode::from(u8::try_from(code).unwrap_or(3))
}

/// Gathers and judges; returns the printed report and the exit code.
pub async fn run(s: &Settings, format: Format) -> (String, i32) {
    let Some(p) = &s.prometheus else {
        return (
            "fleetboard doctor: BROKEN: no Prometheus URL: pass -p URL (PMM: -p https://pmm.example/prometheus)\n".into(),
            2,
        );
    };
    let facts = match gather(s, &p.url, &p.http).await {
        Ok(f) => f,
        Err(e) => return (format!("fleetboard doctor: BROKEN: prometheus: {e}\n"), 2),
    };
    let rep = checks::analyze(&s.metrics, &s.identity, &facts);
    let out = match format {
        Format::Text => checks::to_text(&rep),
        Format::Json => {
            serde_json::to_string_pretty(&rep).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
                + "\n"
        }
    };
    (out, rep.exit_code)
}

/// One instant query, keeping what the envelope says about partial answers.
async fn query(ep: &Endpoint, expr: &str) -> (Result<Vector, SourceError>, Vec<String>) {
    let body = {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        ser.append_pair("query", expr);
        ser.finish()
    };
    let rb = ep
        .request(Method::POST, ep.url(&["api", "v1", "query"]))
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(reqwest::header::ACCEPT, "application/json")
        .body(body);
    match ep.get_body(rb).await {
        Err(e) => (Err(e), Vec::new()),
        Ok(b) => (parse_instant(&b), partial_signs(&b)),
    }
}

/// `warnings` (Prometheus, Thanos), `isPartial: true` (VictoriaMetrics cluster) and
/// `infos` of an answer's envelope.
fn partial_signs(body: &[u8]) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct Env {
        #[serde(default)]
        warnings: Vec<String>,
        #[serde(default, rename = "isPartial")]
        is_partial: bool,
    }
    let Ok(env) = serde_json::from_slice::<Env>(body) else {
        return Vec::new();
    };
    let mut out: Vec<String> = env
        .warnings
        .iter()
        .map(|w| crate::sanitize::line(w, 200))
        .collect();
    if env.is_partial {
        out.push("isPartial: true".into());
    }
    out
}

async fn get_json(ep: &Endpoint, path: &[&str]) -> Result<serde_json::Value, SourceError> {
    let rb = ep
        .request(Method::GET, ep.url(path))
        .header(reqwest::header::ACCEPT, "application/json");
    let b = ep.get_body(rb).await?;
    serde_json::from_slice(&b).map_err(|e| SourceError::BadResponse(e.to_string()))
}

async fn engine_facts(ep: &Endpoint, url: &str) -> Engine {
    let path_prefix = url::Url::parse(url)
        .map(|u| u.path().trim_end_matches('/').to_string())
        .unwrap_or_default();
    let info = get_json(ep, &["api", "v1", "status", "buildinfo"]).await;
    let version = info.as_ref().map_err(ToString::to_string).and_then(|v| {
        v.pointer("/data/version")
            .and_then(|x| x.as_str())
            .map(|s| crate::sanitize::line(s, 60))
            .ok_or_else(|| "no version in /api/v1/status/buildinfo".to_string())
    });
    let prometheus = info
        .as_ref()
        .is_ok_and(|v| v.pointer("/data/goVersion").is_some());
    // VictoriaMetrics answers buildinfo with an empty or borrowed version; a status page
    // of its own (200, where Prometheus answers 404) tells it apart.
    // (VictoriaMetrics labels that page text/html when gzipped: only the status counts.)
    let vm = crate::sources::http::send(
        ep.request(
            Method::GET,
            ep.url(&["api", "v1", "status", "active_queries"]),
        ),
        ep.timeout,
        ep.max_body_bytes,
    )
    .await
    .is_ok_and(|r| r.status.is_success());
    let name = if vm {
        "VictoriaMetrics"
    } else if prometheus {
        "Prometheus"
    } else {
        "Prometheus-compatible engine"
    };
    Engine {
        url: url.to_string(),
        path_prefix,
        answered: info.is_ok(),
        version,
        name: name.to_string(),
    }
}

async fn am_facts(ep: &Endpoint, url: &str) -> AmFacts {
    let version = get_json(ep, &["api", "v2", "status"])
        .await
        .map_err(|e| e.to_string())
        .map(|v| {
            v.pointer("/versionInfo/version")
                .and_then(|x| x.as_str())
                .map_or_else(
                    || "(version not given)".into(),
                    |s| crate::sanitize::line(s, 40),
                )
        });
    // A silence without matchers is refused by validation (400/422) once a write is
    // allowed at all: nothing is created. An auth proxy or a read-only gateway answers
    // 401/403/405 before that.
    let probe = serde_json::json!({
        "matchers": [],
        "startsAt": "2000-01-01T00:00:00Z",
        "endsAt": "2000-01-01T00:01:00Z",
        "createdBy": "fleetboard doctor",
        "comment": "write probe without matchers (refused by validation, never stored)"
    });
    let writable = if version.is_err() {
        Err("unreachable".to_string())
    } else {
        let rb = ep
            .request(Method::POST, ep.url(&["api", "v2", "silences"]))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(probe.to_string());
        match ep.get_body(rb).await {
            Err(e) => match e.status() {
                Some(400 | 422) => Ok(true),
                Some(401 | 403 | 405) => Ok(false),
                _ => Err(e.to_string()),
            },
            Ok(_) => Err("the probe was accepted (unexpected)".into()),
        }
    };
    AmFacts {
        url: url.to_string(),
        version,
        writable,
    }
}

async fn gather(
    s: &Settings,
    url: &str,
    http: &crate::sources::http::HttpConfig,
) -> Result<Facts, SourceError> {
    let ep = Endpoint::new(url, http)?;
    let engine = engine_facts(&ep, url).await;
    let mut results = Vec::new();
    let mut partial = Vec::new();
    for m in &s.metrics.metrics {
        let (r, p) = query(&ep, &expand(&m.expr, &s.clusters)).await;
        results.push(r);
        partial.push(p);
    }
    let names = checks::generation_probe(&s.metrics);
    let names = if names.is_empty() {
        None
    } else {
        let alts: Vec<String> = names
            .iter()
            .map(|n| crate::sources::query::regex_escape(n))
            .collect();
        let q = format!(
            "count by (__name__) ({{__name__=~\"{}\"}})",
            crate::sources::query::promql_string(&alts.join("|"))
        );
        query(&ep, &q).await.0.ok()
    };
    let versions = query(&ep, "mysql_version_info").await.0.ok();
    let collectors = query(
        &ep,
        "mysql_exporter_collector_duration_seconds{collector=\"collect.slave_status\"}",
    )
    .await
    .0
    .ok();
    let scrape_errors = query(
        &ep,
        "rate(mysql_exporter_scrape_errors_total{collector=\"collect.slave_status\"}[5m])",
    )
    .await
    .0
    .ok();
    let mut alerts = Vec::new();
    let mut alerts_error = None;
    let mut ams = Vec::new();
    for a in &s.alertmanagers {
        let aep = match Endpoint::new(&a.url, &a.http) {
            Ok(e) => e,
            Err(e) => {
                ams.push(AmFacts {
                    url: a.url.clone(),
                    version: Err(e.to_string()),
                    writable: Err("unreachable".into()),
                });
                continue;
            }
        };
        let f = am_facts(&aep, &aep.display).await;
        if f.version.is_ok() {
            match crate::sources::alertmanager::AmClient::new(&a.url, &a.http) {
                Ok(c) => match c.alerts().await {
                    Ok(list) => alerts.extend(list),
                    Err(e) => alerts_error = Some(format!("{}: {e}", aep.display)),
                },
                Err(e) => alerts_error = Some(e.to_string()),
            }
        }
        ams.push(f);
    }
    Ok(Facts {
        engine,
        results,
        partial,
        versions,
        names,
        collectors,
        scrape_errors,
        alerts,
        alerts_error,
        ams,
        read_only: s.read_only,
    })
}
