//! Measurement hooks (hidden from `--help`): `fleetboard bench-refresh` times whole
//! refreshes against a real server, split into fetching+parsing and merging, and counts
//! the requests each refresh sends. `scripts/perf.sh` drives it.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::config::Settings;
use crate::poller::Merger;
use crate::sources::alertmanager::AmClient;
use crate::sources::prometheus::PromClient;
use crate::sources::query::expand;
use crate::sources::{FleetSource, PollRequest, PromSource};

/// The queries one refresh sends, expanded for the cluster filter, one per line.
pub fn queries(s: &Settings) -> String {
    let mut out = String::new();
    for m in &s.metrics.metrics {
        let _ = writeln!(out, "{}", expand(&m.expr, &s.clusters));
    }
    out
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// Runs `runs` refreshes one after another and reports, as `key=value` lines: requests per
/// refresh, hosts, and the median and minimum of fetch+parse, merge and the whole refresh.
///
/// # Errors
///
/// A message when no Prometheus URL is set or a Prometheus or Alertmanager client cannot be
/// built (see [`PromClient::new`]). Failed refreshes are counted in the report, not returned.
pub async fn bench_refresh(s: &Settings, runs: usize) -> Result<String, String> {
    let Some(p) = &s.prometheus else {
        return Err("bench-refresh needs -p URL".into());
    };
    let prom = PromClient::new(&p.url, &p.http).map_err(|e| format!("prometheus: {e}"))?;
    let mut ams = Vec::new();
    for a in &s.alertmanagers {
        ams.push(AmClient::new(&a.url, &a.http).map_err(|e| format!("alertmanager: {e}"))?);
    }
    let parts = s
        .metrics
        .metrics
        .iter()
        .map(|m| (m.key.clone(), m.expr.clone()))
        .collect();
    let name = crate::sources::multi::default_name(prom.base_url());
    let united = s.sources.first().is_none_or(|p| p.united_query);
    let member =
        crate::sources::multi::Member::new(name, vec![prom], Vec::new()).with_united_query(united);
    let src = PromSource::with_members(vec![member], ams, parts);
    let mut merger = Merger::new(
        Arc::new(s.metrics.clone()),
        s.identity.clone(),
        s.forget_after,
    );
    let req = PollRequest {
        at: None,
        clusters: s.clusters.clone(),
        sparkline: None,
    };
    // One refresh to open the connections and fill the merger's memory, as a running board has.
    let _ = merger.merge(src.poll(&req, Utc::now()).await);
    let before = src.requests_sent();
    let (mut fetch, mut merge, mut total, mut trim) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut hosts = 0;
    let mut errors = 0;
    for _ in 0..runs.max(1) {
        let t0 = Instant::now();
        let r = src.poll(&req, Utc::now()).await;
        let t1 = Instant::now();
        // As the poller does before each merge.
        crate::memory::release_free_memory_for(merger.hosts());
        let (fleet, err, _) = merger.merge(r);
        let t2 = Instant::now();
        hosts = fleet.as_ref().map_or(0, |f| f.hosts.len());
        // As the running board does once it has swapped fleets (see `runtime`).
        drop(fleet);
        crate::memory::release_free_memory_for(hosts);
        trim.push(t2.elapsed());
        errors += usize::from(err.is_some());
        fetch.push(t1 - t0);
        merge.push(t2 - t1);
        total.push(t2 - t0);
    }
    let n = runs.max(1);
    let per = (src.requests_sent() - before) / n;
    let mut out = String::new();
    let _ = writeln!(out, "runs={n}");
    let _ = writeln!(out, "hosts={hosts}");
    let _ = writeln!(out, "requests_per_refresh={per}");
    let _ = writeln!(out, "errors={errors}");
    for (k, v) in [
        ("fetch_parse", &mut fetch),
        ("merge", &mut merge),
        ("refresh", &mut total),
        ("release_memory", &mut trim),
    ] {
        let min = v.iter().min().copied().unwrap_or_default();
        let _ = writeln!(out, "{k}_ms_median={}", ms(median(v)));
        let _ = writeln!(out, "{k}_ms_min={}", ms(min));
    }
    // What a running board holds after a refresh, and the peak a refresh reaches.
    for (k, field) in [("rss_kib", "VmRSS:"), ("rss_peak_kib", "VmHWM:")] {
        if let Some(v) = proc_status_kib(field) {
            let _ = writeln!(out, "{k}={v}");
        }
    }
    Ok(out)
}

/// A `kB` field of `/proc/self/status` (Linux only; `None` elsewhere).
pub fn proc_status_kib(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}
