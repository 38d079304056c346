//! End-to-end tests: the real `fleetboard` binary against a real monitoring stack.
//!
//! `scripts/stack.sh start` brings up, on 127.0.0.1 only, five MariaDB servers in two
//! replication clusters (payments = db1 -> db2, db3; orders = db4 -> db5), a mysqld_exporter
//! per server, node_exporter, Prometheus with alert rules, Alertmanager and VictoriaMetrics.
//! The scenarios below break things with `scripts/stack.sh fault` and check what
//! `fleetboard snapshot --format json` reports, polling with deadlines.
//!
//! The scenarios change the shared stack, so they run one after another inside the single
//! `#[test]` below. A scenario that fails is reported (with the last snapshot it saw), the
//! stack is healed, and the next one still runs; the test fails at the end if any failed.
//!
//! Knobs (environment):
//! * `FLEETBOARD_SKIP_E2E=1` skips these tests (loudly). Without it, missing stack packages
//!   are installed (`scripts/stack.sh install`, root), and if that is impossible the test fails.
//! * `FLEETBOARD_E2E_SCENARIOS=healthy_fleet,primary_killed` runs only the named scenarios.
//! * `FLEETBOARD_E2E_STACK=DIR` uses a stack already started with `scripts/stack.sh start DIR`
//!   (left running afterwards) instead of starting a new one.
//! * `FLEETBOARD_E2E_KEEP=1` keeps the stack's directory (logs, data) after stopping it; it is
//!   kept anyway when the test fails.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_fleetboard");
/// A snapshot that runs longer than this is killed and counts as a failure (a hang).
const SNAPSHOT_KILL_AFTER: Duration = Duration::from_secs(60);
/// How much of a snapshot's stderr a failure message shows.
const STDERR_SHOWN: usize = 3000;
/// Pause between two polls (polling, not waiting for something to happen).
const POLL_EVERY: Duration = Duration::from_millis(250);

/// Config given to every snapshot (unless a scenario passes its own `-c`): the stack's
/// node_exporter reports this machine's real load, which builds running beside the tests push
/// past the default thresholds; the scenarios are about MySQL, not about this machine.
const BASE_CONFIG: &str = "\
[metrics.load]
warn = 10000.0
crit = 20000.0
";

/// The fleet the stack is made of: (name, cluster, role, source).
const FLEET: &[(&str, &str, &str, Option<&str>)] = &[
    ("db4", "orders", "primary", None),
    ("db5", "orders", "replica", Some("db4")),
    ("db1", "payments", "primary", None),
    ("db2", "payments", "replica", Some("db1")),
    ("db3", "payments", "replica", Some("db1")),
];

type Scenario = (&'static str, fn(&mut Ctx));

/// Snapshot scenarios, run in this order on one stack. Each leaves the stack healthy.
const SNAPSHOT_SCENARIOS: &[Scenario] = &[
    ("healthy_fleet", healthy_fleet),
    ("victoriametrics_same_fleet", victoriametrics_same_fleet),
    ("sql_thread_stopped", sql_thread_stopped),
    ("replication_delay", replication_delay),
    ("primary_killed", primary_killed),
    ("prometheus_unreachable", prometheus_unreachable),
];

/// Interactive scenarios: the board running in a real terminal (tmux `new-session -d` with a
/// fixed size, `send-keys` to type, `capture-pane -p` to read the screen), against the same
/// stack. They are added to this list and run after the snapshot scenarios, with the same
/// `Ctx` (stack URLs, faults, timings). tmux is installed by `scripts/test.sh`.
const INTERACTIVE_SCENARIOS: &[Scenario] = &[];

#[test]
fn e2e_real_stack() {
    if std::env::var("FLEETBOARD_SKIP_E2E").as_deref() == Ok("1") {
        loud(
            "\n##################################################################\n\
             ##  FLEETBOARD_SKIP_E2E=1: the end-to-end tests were SKIPPED.    ##\n\
             ##  Nothing was checked against a real Prometheus/Alertmanager.  ##\n\
             ##################################################################\n",
        );
        return;
    }
    let only: Option<Vec<String>> = std::env::var("FLEETBOARD_E2E_SCENARIOS")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.split(',').map(|x| x.trim().to_string()).collect());
    let all: Vec<Scenario> = SNAPSHOT_SCENARIOS
        .iter()
        .chain(INTERACTIVE_SCENARIOS)
        .copied()
        .collect();
    if let Some(only) = &only {
        for name in only {
            assert!(
                all.iter().any(|(n, _)| n == name),
                "FLEETBOARD_E2E_SCENARIOS names an unknown scenario `{name}`; known: {:?}",
                all.iter().map(|(n, _)| *n).collect::<Vec<_>>()
            );
        }
    }

    let stack = Stack::start();
    let mut ctx = Ctx {
        stack,
        timings: Vec::new(),
    };
    let mut failed = Vec::new();
    let mut ran = 0;
    for (name, scenario) in all {
        if let Some(only) = &only {
            if !only.iter().any(|n| n == name) {
                continue;
            }
        }
        ran += 1;
        eprintln!("e2e: --- scenario {name}");
        let t = Instant::now();
        let result = panic::catch_unwind(AssertUnwindSafe(|| scenario(&mut ctx)));
        match result {
            Ok(()) => eprintln!("e2e: --- scenario {name}: ok in {:.1}s", secs(t.elapsed())),
            Err(_) => {
                eprintln!(
                    "e2e: --- scenario {name}: FAILED after {:.1}s (details above); healing the stack",
                    secs(t.elapsed())
                );
                failed.push(name);
                ctx.stack.heal();
            }
        }
    }
    let mut table = String::from(
        "e2e: seconds from each step (a fault, or the start of a check) to the first snapshot showing its result:\n",
    );
    for (what, s) in &ctx.timings {
        table.push_str(&format!("e2e:   {s:6.2}  {what}\n"));
    }
    loud(&table);
    if !failed.is_empty() {
        ctx.stack.keep_on_drop();
    }
    assert!(
        failed.is_empty(),
        "{} of {ran} end-to-end scenarios failed: {failed:?} (each one's details are printed above)",
        failed.len()
    );
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

/// (1) The healthy stack: exactly db1-db5, right clusters, roles and sources, all OK, exit 0.
fn healthy_fleet(ctx: &mut Ctx) {
    let prom = ctx.stack.prom_url();
    let snap = ctx.poll(
        "healthy fleet via Prometheus",
        Instant::now(),
        secs_d(60),
        &prom,
        &[],
        check_healthy,
    );
    let j = snap.json();
    let counts = &j["counts"];
    assert_eq!(counts["OK"].as_u64(), Some(5), "counts: {counts}\n{snap}");
    for k in ["WARN", "CRIT", "DOWN", "UNKNOWN"] {
        assert_eq!(counts[k].as_u64(), Some(0), "counts.{k}: {counts}\n{snap}");
    }
    assert!(
        j["at"].is_null(),
        "`at` should be null for a live snapshot\n{snap}"
    );
}

/// (6) The same fleet read through VictoriaMetrics: same hosts, clusters, roles, sources and
/// states as through Prometheus, healthy and with a stopped SQL thread.
fn victoriametrics_same_fleet(ctx: &mut Ctx) {
    let vm = ctx.stack.vm_url();
    let prom = ctx.stack.prom_url();
    let via_vm = ctx.poll(
        "healthy fleet via VictoriaMetrics",
        Instant::now(),
        secs_d(60),
        &vm,
        &[],
        check_healthy,
    );
    let via_prom = ctx.poll(
        "healthy fleet via Prometheus",
        Instant::now(),
        secs_d(30),
        &prom,
        &[],
        check_healthy,
    );
    assert_eq!(
        host_summary(via_vm.json()),
        host_summary(via_prom.json()),
        "VictoriaMetrics and Prometheus disagree\n--- via VictoriaMetrics:\n{via_vm}\n--- via Prometheus:\n{via_prom}"
    );

    let t0 = Instant::now();
    ctx.stack.fault(&["stop-sql", "db3"]);
    ctx.poll(
        "VictoriaMetrics: db3 no longer OK",
        t0,
        secs_d(20),
        &vm,
        &[],
        |s| not_ok(s, "db3"),
    );
    ctx.poll(
        "VictoriaMetrics: db3 CRIT, SQL thread stopped, lag unknown",
        t0,
        secs_d(20),
        &vm,
        &[],
        check_sql_stopped_db3,
    );
    ctx.stack.fault(&["start-slave", "db3"]);
    ctx.poll(
        "VictoriaMetrics: healthy again",
        Instant::now(),
        secs_d(30),
        &vm,
        &[],
        check_healthy,
    );
}

/// (2) STOP SLAVE SQL_THREAD on db3: db3 CRIT, sql_running false, lag null (not 0), the
/// MySQLReplicationStopped alert on db3, exit 2; START SLAVE brings it back to OK.
fn sql_thread_stopped(ctx: &mut Ctx) {
    let prom = ctx.stack.prom_url();
    let t0 = Instant::now();
    ctx.stack.fault(&["stop-sql", "db3"]);
    ctx.poll(
        "db3 no longer OK after STOP SLAVE SQL_THREAD",
        t0,
        secs_d(15),
        &prom,
        &[],
        |s| not_ok(s, "db3"),
    );
    ctx.poll(
        "db3 CRIT with the MySQLReplicationStopped alert",
        t0,
        secs_d(15),
        &prom,
        &[],
        |s| {
            check_sql_stopped_db3(s)?;
            let db3 = s.host("db3")?;
            let alert = alerts_named(db3, "MySQLReplicationStopped");
            let a = alert
                .first()
                .ok_or("no MySQLReplicationStopped alert on db3 yet")?;
            expect_eq(a["severity"].as_str(), Some("critical"), "alert severity")?;
            expect_eq(a["state"].as_str(), Some("active"), "alert state")?;
            if a["summary"].as_str().unwrap_or("").is_empty() {
                return Err(format!("alert summary is empty: {a}"));
            }
            Ok(())
        },
    );
    let t1 = Instant::now();
    ctx.stack.fault(&["start-slave", "db3"]);
    ctx.poll(
        "all OK again after START SLAVE on db3",
        t1,
        secs_d(30),
        &prom,
        &[],
        check_healthy,
    );
}

/// (3) MASTER_DELAY=30 on db2 with warn = 5 s for lag: the lag climbs past 5 and db2 is WARN
/// or worse through the `lag` metric; MASTER_DELAY=0 brings it back to OK.
fn replication_delay(ctx: &mut Ctx) {
    let prom = ctx.stack.prom_url();
    let config = ctx.stack.write_file(
        "lag-warn-5.toml",
        &format!("{BASE_CONFIG}\n[metrics.lag]\nwarn = 5.0\ncrit = 600.0\n"),
    );
    let config = config.to_string_lossy().into_owned();
    let args = ["-c", config.as_str()];
    ctx.poll(
        "healthy with the lag config",
        Instant::now(),
        secs_d(30),
        &prom,
        &args,
        check_healthy,
    );
    let t0 = Instant::now();
    ctx.stack.fault(&["delay", "db2", "30"]);
    ctx.poll(
        "db2 lag above warn = 5 s",
        t0,
        secs_d(45),
        &prom,
        &args,
        |s| {
            let db2 = s.host("db2")?;
            let lag = metric(db2, "lag").ok_or("db2 has no `lag` metric")?;
            let v = lag["value"]
                .as_f64()
                .ok_or_else(|| format!("db2 lag value is not a number: {lag}"))?;
            if v <= 5.0 {
                return Err(format!("db2 lag is {v}, not above 5 yet"));
            }
            let state = lag["state"].as_str().unwrap_or("");
            if !matches!(state, "WARN" | "CRIT") {
                return Err(format!(
                    "db2 lag is {v} but its state is {state:?}, want WARN or CRIT"
                ));
            }
            let health = hstr(db2, "health");
            if !matches!(health, "WARN" | "CRIT") {
                return Err(format!("db2 health is {health:?}, want WARN or worse"));
            }
            if s.code < Some(1) {
                return Err(format!("exit code {:?}, want 1 or 2", s.code));
            }
            Ok(())
        },
    );
    let t1 = Instant::now();
    ctx.stack.fault(&["delay", "db2", "0"]);
    ctx.poll(
        "all OK after MASTER_DELAY=0 on db2",
        t1,
        secs_d(45),
        &prom,
        &args,
        check_healthy,
    );
}

/// (4) kill -9 of the orders primary db4: db4 DOWN, db5's IO thread not running; restarting
/// db4 brings both back to OK.
fn primary_killed(ctx: &mut Ctx) {
    let prom = ctx.stack.prom_url();
    let t0 = Instant::now();
    ctx.stack.fault(&["kill", "db4"]);
    ctx.poll(
        "db4 no longer OK after kill -9",
        t0,
        secs_d(15),
        &prom,
        &[],
        |s| not_ok(s, "db4"),
    );
    ctx.poll(
        "db4 DOWN and db5's IO thread stopped",
        t0,
        secs_d(20),
        &prom,
        &[],
        |s| {
            let db4 = s.host("db4")?;
            expect_eq(Some(hstr(db4, "health")), Some("DOWN"), "db4 health")?;
            let db5 = s.host("db5")?;
            let repl = &db5["replication"];
            expect_eq(
                repl["io_running"].as_bool(),
                Some(false),
                "db5 replication.io_running",
            )?;
            if hstr(db5, "health") == "OK" {
                return Err("db5 is still OK while its primary is down".into());
            }
            if s.count("DOWN") < 1 {
                return Err("counts.DOWN is 0".into());
            }
            expect_eq(s.code, Some(2), "exit code")?;
            for h in ["db1", "db2", "db3"] {
                expect_eq(
                    Some(hstr(s.host(h)?, "health")),
                    Some("OK"),
                    &format!("{h} health (other cluster)"),
                )?;
            }
            Ok(())
        },
    );
    let t1 = Instant::now();
    ctx.stack.fault(&["start", "db4"]);
    ctx.poll(
        "all OK after restarting db4",
        t1,
        secs_d(45),
        &prom,
        &[],
        check_healthy,
    );
}

/// (5) Prometheus frozen (SIGSTOP: connections hang) and then killed (connections refused):
/// the snapshot exits 3 with the reason on stderr; once it is back, all OK again.
fn prometheus_unreachable(ctx: &mut Ctx) {
    let prom = ctx.stack.prom_url();
    let args = ["--timeout", "2s"];
    for (stop, start, what) in [
        ("prom-stop", "prom-cont", "frozen (SIGSTOP)"),
        ("prom-kill", "prom-start", "killed"),
    ] {
        let t0 = Instant::now();
        ctx.stack.fault(&[stop]);
        let s = ctx.poll(
            &format!("exit 3 while Prometheus is {what}"),
            t0,
            secs_d(30),
            &prom,
            &args,
            check_unknown,
        );
        eprintln!(
            "e2e:   one snapshot with Prometheus {what} took {:.2}s (--timeout 2s)",
            secs(s.elapsed)
        );
        let t1 = Instant::now();
        ctx.stack.fault(&[start]);
        ctx.poll(
            &format!("all OK after Prometheus is back ({start})"),
            t1,
            secs_d(60),
            &prom,
            &args,
            check_healthy,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Checks (Err = not there yet; the text says what was missing)
// ---------------------------------------------------------------------------------------------

fn check_healthy(s: &Snap) -> Result<(), String> {
    expect_eq(s.code, Some(0), "exit code")?;
    let j = s.json_or_err()?;
    expect_eq(j["status"].as_str(), Some("OK"), "status")?;
    check_sources_ok(j)?;
    check_topology(j)?;
    for (name, _, role, _) in FLEET {
        let h = s.host(name)?;
        let health = hstr(h, "health");
        if health != "OK" {
            return Err(format!("{name} is {health}: {}", h["reasons"]));
        }
        if let Some(a) = h["alerts"].as_array() {
            if !a.is_empty() {
                return Err(format!("{name} still has alerts: {}", h["alerts"]));
            }
        }
        if *role == "replica" {
            let r = &h["replication"];
            expect_eq(
                r["io_running"].as_bool(),
                Some(true),
                &format!("{name} io_running"),
            )?;
            expect_eq(
                r["sql_running"].as_bool(),
                Some(true),
                &format!("{name} sql_running"),
            )?;
            if !r["lag_seconds"].is_number() {
                return Err(format!("{name} lag_seconds is not a number: {r}"));
            }
            let lag = metric(h, "lag").ok_or_else(|| format!("{name} has no `lag` metric"))?;
            if !lag["value"].is_number() {
                return Err(format!("{name} lag metric has no value: {lag}"));
            }
            expect_eq(
                lag["state"].as_str(),
                Some("OK"),
                &format!("{name} lag state"),
            )?;
        }
    }
    Ok(())
}

/// Exactly db1-db5, sorted by cluster then name, with the right clusters, roles and sources.
fn check_topology(j: &Value) -> Result<(), String> {
    let hosts = j["hosts"].as_array().ok_or("no `hosts` array")?;
    let names: Vec<&str> = hosts.iter().map(|h| hstr(h, "name")).collect();
    let want: Vec<&str> = FLEET.iter().map(|f| f.0).collect();
    if names != want {
        return Err(format!(
            "hosts are {names:?}, want {want:?} (sorted by cluster, then name)"
        ));
    }
    for (name, cluster, role, source) in FLEET {
        let h = hosts
            .iter()
            .find(|h| hstr(h, "name") == *name)
            .ok_or_else(|| format!("no host {name}"))?;
        expect_eq(
            Some(hstr(h, "cluster")),
            Some(*cluster),
            &format!("{name} cluster"),
        )?;
        expect_eq(Some(hstr(h, "role")), Some(*role), &format!("{name} role"))?;
        let r = &h["replication"];
        match source {
            Some(src) => expect_eq(
                r["source"].as_str(),
                Some(*src),
                &format!("{name} replication.source"),
            )?,
            None => {
                if !(r.is_null() || r["source"].is_null()) {
                    return Err(format!("primary {name} has a replication source: {r}"));
                }
            }
        }
    }
    Ok(())
}

fn check_sources_ok(j: &Value) -> Result<(), String> {
    let sources = j["sources"].as_array().ok_or("no `sources` array")?;
    for want in ["prometheus", "alertmanager"] {
        let src = sources
            .iter()
            .find(|x| x["name"].as_str() == Some(want))
            .ok_or_else(|| format!("no source named {want}: {}", j["sources"]))?;
        if src["ok"].as_bool() != Some(true) {
            return Err(format!("source {want} is not ok: {src}"));
        }
    }
    Ok(())
}

/// db3: CRIT, sql_running false, io_running true, lag unknown (null, never 0), exit 2.
fn check_sql_stopped_db3(s: &Snap) -> Result<(), String> {
    let db3 = s.host("db3")?;
    expect_eq(Some(hstr(db3, "health")), Some("CRIT"), "db3 health")?;
    let r = &db3["replication"];
    expect_eq(
        r["sql_running"].as_bool(),
        Some(false),
        "db3 replication.sql_running",
    )?;
    expect_eq(
        r["io_running"].as_bool(),
        Some(true),
        "db3 replication.io_running",
    )?;
    if !r["lag_seconds"].is_null() {
        return Err(format!(
            "db3 replication.lag_seconds should be null (unknown), is {}",
            r["lag_seconds"]
        ));
    }
    if let Some(lag) = metric(db3, "lag") {
        if !lag["value"].is_null() {
            return Err(format!(
                "db3 lag metric value should be null (unknown), is {lag}"
            ));
        }
    }
    expect_eq(s.code, Some(2), "exit code")?;
    expect_eq(
        s.json_or_err()?["status"].as_str(),
        Some("CRITICAL"),
        "status",
    )?;
    for h in ["db1", "db2", "db4", "db5"] {
        expect_eq(
            Some(hstr(s.host(h)?, "health")),
            Some("OK"),
            &format!("{h} health"),
        )?;
    }
    Ok(())
}

/// Exit 3 with a reason on stderr; if JSON was printed too, it says UNKNOWN and names the
/// failed source.
fn check_unknown(s: &Snap) -> Result<(), String> {
    expect_eq(s.code, Some(3), "exit code")?;
    if s.stderr.trim().is_empty() {
        return Err("exit 3 but nothing on stderr (the reason must be there)".into());
    }
    if let Some(j) = &s.json {
        expect_eq(j["status"].as_str(), Some("UNKNOWN"), "status")?;
        let prom = j["sources"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["name"].as_str() == Some("prometheus")))
            .ok_or("JSON printed but no prometheus source in it")?;
        expect_eq(prom["ok"].as_bool(), Some(false), "sources.prometheus.ok")?;
        if prom["error"].as_str().unwrap_or("").is_empty() {
            return Err(format!("sources.prometheus.error is empty: {prom}"));
        }
    }
    Ok(())
}

fn not_ok(s: &Snap, name: &str) -> Result<(), String> {
    let h = s.host(name)?;
    match hstr(h, "health") {
        "OK" => Err(format!("{name} still OK")),
        _ => Ok(()),
    }
}

/// Per host: name, cluster, role, health, replication source -- what two engines must agree on.
fn host_summary(j: &Value) -> Vec<String> {
    j["hosts"]
        .as_array()
        .map(|hs| {
            hs.iter()
                .map(|h| {
                    format!(
                        "{} {} {} {} {}",
                        hstr(h, "name"),
                        hstr(h, "cluster"),
                        hstr(h, "role"),
                        hstr(h, "health"),
                        h["replication"]["source"].as_str().unwrap_or("-")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Invariants every parsed snapshot must satisfy, whatever the stack's state.
fn check_invariants(s: &Snap) -> Result<(), String> {
    if !matches!(s.code, Some(0..=3)) {
        return Err(format!(
            "exit code {:?} is not one of 0-3 (a crash, a signal or a hang)",
            s.code
        ));
    }
    let Some(j) = &s.json else { return Ok(()) };
    let code = j["exit_code"].as_i64();
    if code.map(|c| c as i32) != s.code {
        return Err(format!(
            "JSON exit_code {code:?} differs from the process exit code {:?}",
            s.code
        ));
    }
    let want_status = match code {
        Some(0) => "OK",
        Some(1) => "WARNING",
        Some(2) => "CRITICAL",
        Some(3) => "UNKNOWN",
        _ => return Err(format!("exit_code {code:?} is not 0-3")),
    };
    expect_eq(
        j["status"].as_str(),
        Some(want_status),
        "status for the exit code",
    )?;
    let t = j["generated_at"]
        .as_str()
        .ok_or("`generated_at` is not a string")?;
    chrono::DateTime::parse_from_rfc3339(t)
        .map_err(|e| format!("`generated_at` = {t:?} is not RFC 3339: {e}"))?;
    if let Some(t) = j["at"].as_str() {
        chrono::DateTime::parse_from_rfc3339(t)
            .map_err(|e| format!("`at` = {t:?} is not RFC 3339: {e}"))?;
    }
    let hosts = j["hosts"].as_array().ok_or("no `hosts` array")?;
    let mut total = 0;
    for k in ["OK", "WARN", "CRIT", "DOWN", "UNKNOWN"] {
        total += j["counts"][k]
            .as_u64()
            .ok_or_else(|| format!("counts.{k} missing"))?;
    }
    if total != hosts.len() as u64 {
        return Err(format!(
            "counts add up to {total} but there are {} hosts",
            hosts.len()
        ));
    }
    let keys: Vec<(&str, &str)> = hosts
        .iter()
        .map(|h| (hstr(h, "cluster"), hstr(h, "name")))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    if keys != sorted {
        return Err(format!(
            "hosts are not sorted by cluster, then name: {keys:?}"
        ));
    }
    for h in hosts {
        let health = hstr(h, "health");
        if !matches!(health, "OK" | "WARN" | "CRIT" | "DOWN" | "UNKNOWN") {
            return Err(format!("host {} has health {health:?}", hstr(h, "name")));
        }
        if health != "OK" && h["reasons"].as_array().is_none_or(|r| r.is_empty()) {
            return Err(format!(
                "host {} is {health} but gives no reasons",
                hstr(h, "name")
            ));
        }
        for a in h["alerts"].as_array().into_iter().flatten() {
            if let Some(t) = a["starts_at"].as_str() {
                chrono::DateTime::parse_from_rfc3339(t)
                    .map_err(|e| format!("alert starts_at {t:?} is not RFC 3339: {e}"))?;
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Writes to the real stderr, past the test harness' output capture, so that it shows in CI
/// logs even when the test passes.
fn loud(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

fn hstr<'a>(h: &'a Value, key: &str) -> &'a str {
    h[key].as_str().unwrap_or("")
}

fn metric<'a>(h: &'a Value, name: &str) -> Option<&'a Value> {
    h["metrics"]
        .as_array()?
        .iter()
        .find(|m| m["name"].as_str() == Some(name))
}

fn alerts_named<'a>(h: &'a Value, name: &str) -> Vec<&'a Value> {
    h["alerts"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|x| x["name"].as_str() == Some(name))
                .collect()
        })
        .unwrap_or_default()
}

fn expect_eq<T: PartialEq + std::fmt::Debug>(got: T, want: T, what: &str) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what} is {got:?}, want {want:?}"))
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn secs_d(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// One run of `fleetboard snapshot`.
struct Snap {
    args: Vec<String>,
    code: Option<i32>,
    stdout: String,
    stderr: String,
    json: Option<Value>,
    elapsed: Duration,
}

impl Snap {
    fn json(&self) -> &Value {
        match &self.json {
            Some(j) => j,
            None => panic!("snapshot printed no JSON\n{self}"),
        }
    }

    fn json_or_err(&self) -> Result<&Value, String> {
        self.json
            .as_ref()
            .ok_or_else(|| "stdout is not JSON".to_string())
    }

    fn host(&self, name: &str) -> Result<&Value, String> {
        self.json_or_err()?["hosts"]
            .as_array()
            .and_then(|hs| hs.iter().find(|h| hstr(h, "name") == name))
            .ok_or_else(|| format!("no host {name} in the snapshot"))
    }

    fn count(&self, k: &str) -> u64 {
        self.json
            .as_ref()
            .and_then(|j| j["counts"][k].as_u64())
            .unwrap_or(0)
    }
}

impl std::fmt::Display for Snap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "$ fleetboard {}", self.args.join(" "))?;
        writeln!(
            f,
            "exit code: {:?} after {:.2}s",
            self.code,
            secs(self.elapsed)
        )?;
        let err = self.stderr.trim_end();
        match err.char_indices().nth(STDERR_SHOWN) {
            Some((cut, _)) => writeln!(f, "stderr (first {STDERR_SHOWN} chars): {}", &err[..cut])?,
            None => writeln!(f, "stderr: {err}")?,
        }
        match &self.json {
            Some(j) => writeln!(
                f,
                "stdout (JSON):\n{}",
                serde_json::to_string_pretty(j).unwrap_or_else(|_| self.stdout.clone())
            ),
            None => writeln!(f, "stdout: {}", self.stdout.trim_end()),
        }
    }
}

struct Ctx {
    stack: Stack,
    /// (what, seconds from the fault to the first snapshot showing it)
    timings: Vec<(String, f64)>,
}

impl Ctx {
    /// Takes snapshots from `url` (with `extra` arguments) until `check` accepts one or `timeout` (counted from `t0`) passes;
    /// then panics with the last snapshot and what was missing. Records the time from `t0`.
    fn poll(
        &mut self,
        what: &str,
        t0: Instant,
        timeout: Duration,
        url: &str,
        extra: &[&str],
        check: impl Fn(&Snap) -> Result<(), String>,
    ) -> Snap {
        let mut tries = 0;
        loop {
            tries += 1;
            let s = self.stack.snapshot(url, extra);
            if let Err(e) = check_invariants(&s) {
                panic!("{what}: the snapshot breaks the output contract: {e}\n{s}");
            }
            match check(&s) {
                Ok(()) => {
                    let took = secs(t0.elapsed());
                    eprintln!("e2e:   {what}: seen after {took:.2}s ({tries} snapshots)");
                    self.timings.push((what.to_string(), took));
                    return s;
                }
                Err(why) => {
                    if t0.elapsed() >= timeout {
                        panic!(
                            "{what}: not seen within {}s ({tries} snapshots); last: {why}\n{s}",
                            timeout.as_secs()
                        );
                    }
                }
            }
            thread::sleep(POLL_EVERY);
        }
    }
}

/// The stack of one test run; stopped (by PID, through `scripts/stack.sh stop`) when dropped,
/// also when a scenario panics. If the test process dies without unwinding, the stack's own
/// watchdog (STACK_OWNER_PID) stops it.
struct Stack {
    dir: PathBuf,
    env: HashMap<String, String>,
    owned: bool,
    keep: bool,
}

impl Stack {
    fn script() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/stack.sh")
    }

    fn start() -> Stack {
        if let Ok(dir) = std::env::var("FLEETBOARD_E2E_STACK") {
            let dir = PathBuf::from(dir);
            let env = read_env(&dir.join("stack.env")).unwrap_or_else(|e| {
                panic!(
                    "FLEETBOARD_E2E_STACK={}: {e}; start it with scripts/stack.sh start DIR",
                    dir.display()
                )
            });
            eprintln!("e2e: using the running stack in {}", dir.display());
            return Stack {
                dir,
                env,
                owned: false,
                keep: true,
            };
        }
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir =
            std::env::temp_dir().join(format!("fleetboard-e2e-{}-{nanos}", std::process::id()));
        let mut stack = Stack {
            dir,
            env: HashMap::new(),
            owned: true,
            keep: std::env::var("FLEETBOARD_E2E_KEEP").as_deref() == Ok("1"),
        };
        eprintln!("e2e: starting the stack in {} ...", stack.dir.display());
        let t = Instant::now();
        let out = Command::new("bash")
            .arg(Self::script())
            .arg("start")
            .arg(&stack.dir)
            .env("STACK_OWNER_PID", std::process::id().to_string())
            .stdin(Stdio::null())
            .output();
        let out = match out {
            Ok(o) => o,
            Err(e) => panic!("could not run bash {}: {e}", Self::script().display()),
        };
        if !out.status.success() {
            stack.keep = true;
            panic!(
                "the end-to-end stack did not start ({}).\n\
                 It needs Debian's prometheus, prometheus-alertmanager, prometheus-node-exporter,\n\
                 prometheus-mysqld-exporter, mariadb-server and victoria-metrics, installed by\n\
                 `scripts/stack.sh install` (as root) when missing. Set FLEETBOARD_SKIP_E2E=1 to skip.\n\
                 Logs: {}/logs\n--- stdout:\n{}\n--- stderr:\n{}",
                out.status,
                stack.dir.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        stack.env = read_env(&stack.dir.join("stack.env")).unwrap_or_else(|e| panic!("{e}"));
        eprintln!("e2e: stack ready in {:.1}s", secs(t.elapsed()));
        stack
    }

    fn get(&self, key: &str) -> String {
        match self.env.get(key) {
            Some(v) if !v.is_empty() => v.clone(),
            _ => panic!("{key} is not in {}/stack.env", self.dir.display()),
        }
    }

    fn prom_url(&self) -> String {
        self.get("PROM_URL")
    }

    fn am_url(&self) -> String {
        self.get("AM_URL")
    }

    fn vm_url(&self) -> String {
        self.get("VM_URL")
    }

    fn keep_on_drop(&mut self) {
        self.keep = true;
    }

    /// A file in the stack's directory (config files for the binary).
    fn write_file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.join("e2e").join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("mkdir {}: {e}", parent.display()));
        }
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
        p
    }

    /// `scripts/stack.sh fault DIR ARGS...`; panics with its output when it fails.
    fn fault(&self, args: &[&str]) {
        let t = Instant::now();
        let out = Command::new("bash")
            .arg(Self::script())
            .arg("fault")
            .arg(&self.dir)
            .args(args)
            .stdin(Stdio::null())
            .output();
        match out {
            Ok(o) if o.status.success() => {
                eprintln!(
                    "e2e:   fault {} ({:.2}s)",
                    args.join(" "),
                    secs(t.elapsed())
                );
            }
            Ok(o) => panic!(
                "stack.sh fault {} failed ({}):\n{}{}",
                args.join(" "),
                o.status,
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => panic!("could not run stack.sh fault: {e}"),
        }
    }

    /// Undo every fault and wait until the stack is ready; used after a failed scenario.
    fn heal(&self) {
        let out = Command::new("bash")
            .arg(Self::script())
            .arg("fault")
            .arg(&self.dir)
            .arg("heal")
            .stdin(Stdio::null())
            .output();
        match out {
            Ok(o) if o.status.success() => eprintln!("e2e: stack healed"),
            Ok(o) => eprintln!(
                "e2e: healing the stack FAILED ({}); later scenarios may fail too:\n{}{}",
                o.status,
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => eprintln!("e2e: could not run stack.sh fault heal: {e}"),
        }
    }

    /// One `fleetboard snapshot --format json -p PROM -a AM EXTRA...`, isolated from the
    /// user's config file and FLEETBOARD_* variables, killed if it hangs.
    fn snapshot(&self, prom: &str, extra: &[&str]) -> Snap {
        let am = self.am_url();
        let mut args: Vec<String> = [
            "snapshot",
            "--format",
            "json",
            "-p",
            prom,
            "-a",
            am.as_str(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if !extra.contains(&"-c") {
            let base = self.write_file("base.toml", BASE_CONFIG);
            args.push("-c".into());
            args.push(base.to_string_lossy().into_owned());
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let home = self.dir.join("e2e").join("home");
        if let Err(e) = std::fs::create_dir_all(&home) {
            panic!("mkdir {}: {e}", home.display());
        }
        let mut cmd = Command::new(BIN);
        cmd.args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("NO_COLOR", "1");
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("FLEETBOARD_") {
                cmd.env_remove(&k);
            }
        }
        let t = Instant::now();
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("could not run {BIN}: {e}"));
        let out_reader = child.stdout.take().map(read_all);
        let err_reader = child.stderr.take().map(read_all);
        let status = loop {
            match child.try_wait() {
                Ok(Some(st)) => break Some(st),
                Ok(None) if t.elapsed() > SNAPSHOT_KILL_AFTER => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
                Ok(None) => thread::sleep(Duration::from_millis(20)),
                Err(e) => panic!("waiting for {BIN}: {e}"),
            }
        };
        let elapsed = t.elapsed();
        let stdout = out_reader.map(join_text).unwrap_or_default();
        let mut stderr = err_reader.map(join_text).unwrap_or_default();
        if status.is_none() {
            stderr.push_str(&format!(
                "\n[e2e: killed after {}s: the snapshot hung]",
                SNAPSHOT_KILL_AFTER.as_secs()
            ));
        }
        let json = serde_json::from_str::<Value>(stdout.trim()).ok();
        Snap {
            args,
            code: status.and_then(|s| s.code()),
            stdout,
            stderr,
            json,
            elapsed,
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        let keep = self.keep || thread::panicking();
        let mut cmd = Command::new("bash");
        cmd.arg(Self::script()).arg("stop").arg(&self.dir);
        if !keep {
            cmd.arg("--purge");
        }
        match cmd.stdin(Stdio::null()).output() {
            Ok(o) if o.status.success() => {
                if keep {
                    eprintln!(
                        "e2e: stack stopped; its logs and data are kept in {}",
                        self.dir.display()
                    );
                } else {
                    eprintln!("e2e: stack stopped and removed");
                }
            }
            Ok(o) => eprintln!(
                "e2e: stopping the stack in {} FAILED ({}):\n{}{}",
                self.dir.display(),
                o.status,
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => eprintln!(
                "e2e: could not run stack.sh stop {}: {e}",
                self.dir.display()
            ),
        }
    }
}

fn read_all<R: Read + Send + 'static>(mut r: R) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

fn join_text(h: thread::JoinHandle<String>) -> String {
    h.join().unwrap_or_default()
}

/// Reads a `KEY=VALUE` env file as written by `scripts/stack.sh start`.
fn read_env(path: &Path) -> Result<HashMap<String, String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|x| x.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
                .unwrap_or(v);
            (k.trim().to_string(), v.to_string())
        })
        .collect())
}
