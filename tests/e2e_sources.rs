//! Several real Prometheus servers on one board (`scripts/stack/regions.sh`): two regions
//! scraping different clusters of the stack, and an HA pair scraping the same targets.
//!
//! * Requests per refresh, counted by the servers themselves (`prometheus_http_requests_total`
//!   on their `/metrics`, which is not a query): one per source, the HA pair's second member
//!   never asked while the first answers.
//! * One region stopped with SIGSTOP: its hosts STALE within refresh + timeout with the
//!   source's error, the other region live; SIGCONT recovers. The time is printed.
//! * The monitoring's own health: region-eu's `ghost` target is down; the stack's
//!   Alertmanager holds the regions' `Watchdog`, and a dead man's switch named after an alert
//!   that does not exist reads as a broken pipeline.
//!
//! `FLEETBOARD_SKIP_E2E=1` skips it; `FLEETBOARD_E2E_SCENARIOS` without `sources` skips it;
//! `FLEETBOARD_E2E_STACK=DIR` reuses a stack started with `STACK_REGIONS=1`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use fleetboard::cli::Cli;
use fleetboard::config::{self, FileConfig};
use fleetboard::model::{Fleet, Health};
use fleetboard::poller::{self, Merger};
use fleetboard::setup;
use fleetboard::sources::PollRequest;
use tokio::sync::mpsc;

/// The board's refresh and request timeout in the stop/continue scenario.
const REFRESH: Duration = Duration::from_secs(1);
const TIMEOUT: Duration = Duration::from_secs(3);

struct Stack {
    dir: PathBuf,
    env: HashMap<String, String>,
    owned: bool,
}

impl Drop for Stack {
    fn drop(&mut self) {
        if self.owned && std::env::var("FLEETBOARD_E2E_KEEP").as_deref() != Ok("1") {
            let _ = Command::new("bash")
                .arg(root().join("scripts/stack.sh"))
                .args(["stop", &self.dir.to_string_lossy(), "--purge"])
                .output();
        }
    }
}

/// Sends SIGCONT when dropped (a failing assertion must not leave a server stopped).
struct Continue(String);

impl Drop for Continue {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-CONT", &self.0]).status();
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read_env(p: &Path) -> HashMap<String, String> {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
        .collect()
}

fn start_stack() -> Option<Stack> {
    if std::env::var("FLEETBOARD_SKIP_E2E").as_deref() == Ok("1") {
        eprintln!("FLEETBOARD_SKIP_E2E=1: e2e_sources SKIPPED");
        return None;
    }
    if let Ok(s) = std::env::var("FLEETBOARD_E2E_SCENARIOS") {
        if !s.split(',').any(|x| x.trim() == "sources") {
            eprintln!("FLEETBOARD_E2E_SCENARIOS={s}: e2e_sources not selected");
            return None;
        }
    }
    let (dir, owned) = match std::env::var("FLEETBOARD_E2E_STACK") {
        Ok(d) => (PathBuf::from(d), false),
        Err(_) => {
            let d = tempfile::Builder::new()
                .prefix("fbsources.")
                .tempdir()
                .unwrap()
                .keep();
            let out = Command::new("bash")
                .arg(root().join("scripts/stack.sh"))
                .args(["start", &d.to_string_lossy()])
                .env("STACK_VM", "0")
                .env("STACK_REGIONS", "1")
                .env("STACK_OWNER_PID", std::process::id().to_string())
                .output()
                .expect("run scripts/stack.sh");
            assert!(
                out.status.success(),
                "stack start failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            (d, true)
        }
    };
    let mut env = read_env(&dir.join("stack.env"));
    env.extend(read_env(&dir.join("regions.env")));
    Some(Stack { dir, env, owned })
}

/// Sum of a counter family on a server's `/metrics`, over the series whose labels contain
/// every one of `want` (`handler="/api/v1/query"`).
async fn counter(base: &str, name: &str, want: &[&str]) -> f64 {
    let body = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    body.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) && want.iter().all(|w| l.contains(w)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn queries(base: &str) -> f64 {
    counter(
        base,
        "prometheus_http_requests_total",
        &["handler=\"/api/v1/query\""],
    )
    .await
}

fn settings(sources: &[String], am: &str, extra: &str, timeout: Duration) -> config::Settings {
    // A busy build machine's load is not the point here.
    let text = format!("{extra}\n[metrics.load]\nwarn = 1000.0\ncrit = 2000.0\n");
    let file: FileConfig = config::parse(&text, Path::new("e2e.toml")).unwrap();
    let cli = Cli {
        prometheus: sources.to_vec(),
        alertmanager: vec![am.to_string()],
        timeout: Some(timeout),
        refresh: Some(REFRESH),
        ..Cli::default()
    };
    config::resolve(&cli, &file, None).unwrap()
}

/// Queries per refresh each server received, over `n` refreshes. (Alertmanager 0.25 counts
/// no API v2 requests on its `/metrics`; its one call per refresh is checked in
/// `tests/suite/request_budget.rs`.)
async fn per_refresh(s: &Stack, sources: &[String], servers: &[&str], n: usize) -> Vec<f64> {
    let am = &s.env["AM_URL"];
    // Generous: the count is the point, and a shared build machine can be slow to answer.
    let st = settings(sources, am, "", Duration::from_secs(10));
    let source = setup::make_source(&st).unwrap();
    let req = PollRequest::default();
    let _ = source.poll(&req, Utc::now()).await; // connections open, as on a running board
    let mut before = Vec::new();
    for b in servers {
        before.push(queries(b).await);
    }
    for _ in 0..n {
        let r = source.poll(&req, Utc::now()).await;
        assert!(
            r.sources.iter().all(|x| x.error.is_none()),
            "{:?}",
            r.sources
        );
    }
    let mut out = Vec::new();
    for (b, x) in servers.iter().zip(before) {
        #[allow(clippy::cast_precision_loss)]
        out.push((queries(b).await - x) / n as f64);
    }
    out
}

/// The newest update (older ones are dropped: the poller keeps only the newest).
async fn next(rx: &mut poller::UpdateReceiver, secs: u64) -> fleetboard::model::Update {
    tokio::time::timeout(Duration::from_secs(secs), rx.changed())
        .await
        .unwrap()
        .unwrap();
    rx.borrow_and_update().clone().unwrap()
}

fn by_cluster(f: &Fleet, cluster: &str) -> Vec<Health> {
    f.hosts
        .iter()
        .filter(|h| h.id.cluster == cluster)
        .map(|h| h.health)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_prometheus_servers_one_board() {
    let Some(stack) = start_stack() else { return };
    let e = &stack.env;
    let (eu, us, ha_a, ha_b) = (
        e["REGION_EU_URL"].clone(),
        e["REGION_US_URL"].clone(),
        e["HA_A_URL"].clone(),
        e["HA_B_URL"].clone(),
    );

    // --- requests per refresh, from the servers' own counters ------------------------------
    let one = per_refresh(&stack, &[format!("all={ha_a}")], &[&ha_a], 5).await;
    let two = per_refresh(
        &stack,
        &[format!("eu={eu}"), format!("us={us}")],
        &[&eu, &us],
        5,
    )
    .await;
    let four = per_refresh(
        &stack,
        &[
            format!("eu={eu}"),
            format!("us={us}"),
            format!("a={ha_a}"),
            format!("b={ha_b}"),
        ],
        &[&eu, &us, &ha_a, &ha_b],
        5,
    )
    .await;
    let pair = per_refresh(
        &stack,
        &[format!("ha={ha_a}"), format!("ha={ha_b}")],
        &[&ha_a, &ha_b],
        5,
    )
    .await;
    eprintln!("e2e sources: queries per refresh, per server");
    eprintln!("e2e sources:   1 source : {one:?}");
    eprintln!("e2e sources:   2 sources: {two:?}");
    eprintln!("e2e sources:   4 sources: {four:?}");
    eprintln!("e2e sources:   HA pair  : {pair:?}");
    assert_eq!(one, vec![1.0]);
    assert_eq!(two, vec![1.0, 1.0]);
    assert_eq!(four, vec![1.0, 1.0, 1.0, 1.0]);
    assert_eq!(
        pair,
        vec![1.0, 0.0],
        "the second member is not asked in the steady state"
    );

    // --- two regions on one board; one stopped ----------------------------------------------
    let st = settings(
        &[format!("eu={eu}"), format!("us={us}")],
        &e["AM_URL"],
        "watchdog = [\"Watchdog\"]",
        TIMEOUT,
    );
    let source = setup::make_source(&st).unwrap();
    let merger = Merger::new(
        Arc::new(st.metrics.clone()),
        st.identity.clone(),
        st.forget_after,
    );
    let (tx, mut rx) = poller::update_channel();
    let (_ctx, crx) = mpsc::unbounded_channel();
    let task = tokio::spawn(poller::run(
        source,
        merger,
        PollRequest::default(),
        st.refresh,
        crx,
        tx,
        Utc::now,
    ));
    // Live: both regions, every host tagged with its source, the ghost target down in eu, the
    // regions' Watchdog in Alertmanager.
    let deadline = Instant::now() + Duration::from_secs(60);
    let live = loop {
        let u = next(&mut rx, 10).await;
        if let Some(f) = u.fleet {
            let ok = f.hosts.len() == 5
                // DOWN is allowed: on a loaded machine an exporter's scrape can time out.
                && f.hosts.iter().all(|h| h.health != Health::Stale)
                && f.dead_mans_switch.as_ref().is_some_and(|d| d.present == Some(true))
                && f.sources.iter().all(|s| s.monitoring.is_some());
            if ok {
                break f;
            }
            assert!(
                Instant::now() < deadline,
                "not live in 60 s: {:?} {:?}",
                f.hosts
                    .iter()
                    .map(|h| (&h.id.name, h.health, &h.reasons))
                    .collect::<Vec<_>>(),
                f.dead_mans_switch
            );
        }
    };
    for h in &live.hosts {
        let want = if h.id.cluster == "payments" {
            "eu"
        } else {
            "us"
        };
        assert_eq!(h.source.as_deref(), Some(want), "{}", h.id.name);
    }
    let mon = |name: &str| {
        live.sources
            .iter()
            .find(|s| s.name == name)
            .unwrap()
            .monitoring
            .clone()
            .unwrap()
    };
    assert!(
        mon("eu")
            .targets_down
            .iter()
            .any(|j| j.job == "ghost" && j.count == 1),
        "{:?}",
        mon("eu")
    );
    // (Other jobs may show down or slow targets too: on a loaded machine scrapes time out,
    // and saying so is the point of these figures.)
    assert!(
        !mon("us").targets_down.iter().any(|j| j.job == "ghost"),
        "{:?}",
        mon("us")
    );

    let eu_pid = e["REGION_EU_PID"].clone();
    // Whatever happens below, the region is continued again.
    let _cont = Continue(eu_pid.clone());
    let stopped = Instant::now();
    assert!(Command::new("kill")
        .args(["-STOP", &eu_pid])
        .status()
        .unwrap()
        .success());
    // What was published before the stop is not counted.
    rx.borrow_and_update();
    // Refreshes published since SIGSTOP: the one under way then may still carry eu's last
    // answer; the next one asked a stopped server and must show its hosts stale.
    let mut refreshes = 0;
    let stale_after = loop {
        let u = next(&mut rx, 15).await;
        refreshes += 1;
        let Some(f) = u.fleet else { continue };
        let eu_h = by_cluster(&f, "payments");
        let us_h = by_cluster(&f, "orders");
        if eu_h.len() == 3 && eu_h.iter().all(|h| *h == Health::Stale) {
            // Live: fresh data, judged (a scrape timing out on a busy machine may make a host
            // DOWN for a second; that is the region's real state, not staleness).
            assert!(
                us_h.len() == 2 && us_h.iter().all(|h| *h != Health::Stale),
                "{us_h:?}"
            );
            let us_src = f.sources.iter().find(|s| s.name == "us").unwrap();
            assert!(us_src.error.is_none(), "{us_src:?}");
            let db1 = f.hosts.iter().find(|h| h.id.name == "db1").unwrap();
            assert!(
                db1.reasons[0].contains("source eu failed"),
                "{:?}",
                db1.reasons
            );
            assert!(db1.readings.iter().all(|r| r.stale));
            break stopped.elapsed();
        }
        assert!(
            refreshes < 2,
            "eu not stale in the first refresh after SIGSTOP ({:?}): {eu_h:?}",
            stopped.elapsed()
        );
    };
    let _ = Command::new("kill").args(["-CONT", &eu_pid]).status();
    let resumed = Instant::now();
    let live_after = loop {
        let u = next(&mut rx, 70).await;
        let Some(f) = u.fleet else { continue };
        if by_cluster(&f, "payments")
            .iter()
            .all(|h| *h != Health::Stale)
        {
            break resumed.elapsed();
        }
        assert!(resumed.elapsed() < Duration::from_secs(70), "eu not back");
    };
    eprintln!(
        "e2e sources: refresh {REFRESH:?}, timeout {TIMEOUT:?}: eu hosts STALE {:.1} s after SIGSTOP (refresh {refreshes} after it), live again {:.1} s after SIGCONT",
        stale_after.as_secs_f64(),
        live_after.as_secs_f64()
    );
    // Wall-clock time is only a guard against a hang here: on a loaded build machine a
    // refresh takes longer than its timeout (the refresh count above is the real check).
    assert!(
        stale_after <= 2 * (REFRESH + TIMEOUT) + Duration::from_secs(5),
        "{stale_after:?}"
    );
    task.abort();

    // --- the dead man's switch named after an alert nobody sends: pipeline broken ------------
    let st = settings(
        &[format!("eu={eu}")],
        &e["AM_URL"],
        "watchdog = [\"NoSuchWatchdog\"]",
        Duration::from_secs(10),
    );
    let source = setup::make_source(&st).unwrap();
    let out = setup::snapshot(&st, source.as_ref(), fleetboard::cli::Format::Json).await;
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["dead_mans_switch"]["present"], false, "{}", out.stdout);
    assert!(
        out.stderr.contains("ALERTING PIPELINE BROKEN"),
        "{}",
        out.stderr
    );
    // UNKNOWN, unless something known is worse (an exporter timing out on a busy machine).
    let worse = ["CRIT", "DOWN"]
        .iter()
        .any(|k| v["counts"][k].as_u64() > Some(0));
    assert!(
        out.exit_code == 3 || (worse && out.exit_code == 2),
        "{}",
        out.stdout
    );
    let m = &v["sources"][0]["monitoring"];
    assert_eq!(m["ok"], false, "{m}");
    let downs = m["targets_down"].as_array().unwrap();
    assert!(downs.iter().any(|j| j["job"] == "ghost"), "{m}");

    // --- a global Prometheus federating both regions without honor_labels ------------------
    // Every series arrives with `instance` = the region's address and the server's own name
    // in `exported_instance`: the board shows the same five servers, in the same roles, as
    // from the regions themselves, and says how it named them.
    let roles = |v: &serde_json::Value| -> Vec<String> {
        let mut r: Vec<String> = v["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| format!("{}/{} {}", h["cluster"], h["name"], h["role"]).replace('"', ""))
            .collect();
        r.sort();
        r
    };
    let snap = |sources: Vec<String>| {
        let st = settings(&sources, &e["AM_URL"], "", Duration::from_secs(10));
        async move {
            let source = setup::make_source(&st).unwrap();
            let out = setup::snapshot(&st, source.as_ref(), fleetboard::cli::Format::Json).await;
            serde_json::from_str::<serde_json::Value>(&out.stdout).unwrap()
        }
    };
    let regional = roles(&snap(vec![format!("eu={eu}"), format!("us={us}")]).await);
    assert_eq!(regional.len(), 5, "{regional:?}");
    let global = e["GLOBAL_URL"].clone();
    let deadline = Instant::now() + Duration::from_secs(60);
    let v = loop {
        let v = snap(vec![format!("global={global}")]).await;
        if roles(&v) == regional {
            break v;
        }
        assert!(
            Instant::now() < deadline,
            "global view {:?} != regional {regional:?}: {v}",
            roles(&v)
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    eprintln!(
        "e2e sources: global view through /federate: {:?}",
        roles(&v)
    );
    let notes: Vec<&str> = v["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n.as_str())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("5 host(s) named by `exported_instance`")),
        "{notes:?}"
    );
    for h in v["hosts"].as_array().unwrap() {
        assert_eq!(h["labels"]["exported_instance"], h["name"], "{h}");
    }
}
