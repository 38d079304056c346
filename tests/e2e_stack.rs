//! End-to-end tests: the real `fleetboard` binary against a real monitoring stack.
//!
//! `scripts/stack.sh start` brings up, on 127.0.0.1 only, five MariaDB servers in two
//! replication clusters (payments = db1 -> db2, db3; orders = db4 -> db5), a mysqld_exporter
//! per server, node_exporter, Prometheus with alert rules, Alertmanager and VictoriaMetrics.
//! The scenarios below break things with `scripts/stack.sh fault` and check what
//! `fleetboard snapshot --format json` reports, polling with deadlines.
//!
//! Each scenario is a `#[test]` of its own (module `scenario`); they share one stack and take
//! turns on it. A scenario that fails is reported (with the last snapshot it saw) under its
//! own name, the stack is healed, and the next one still runs.
//!
//! Knobs (environment):
//! * `FLEETBOARD_SKIP_E2E=1` skips these tests (loudly). Without it, missing stack packages
//!   are installed (`scripts/stack.sh install`, root), and if that is impossible the test fails.
//! * `cargo test --test e2e_stack primary_killed` runs only the scenarios whose name matches.
//! * `FLEETBOARD_E2E_STACK=DIR` uses a stack already started with `scripts/stack.sh start DIR`
//!   (left running afterwards) instead of starting a new one.
//! * `FLEETBOARD_E2E_KEEP=1` keeps the stack's directory (logs, data) after stopping it; it is
//!   kept anyway when a scenario fails. The stack is stopped by its owner watchdog
//!   (`STACK_OWNER_PID`) once the test process has exited.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

#[path = "support/tmux.rs"]
mod tmux;
use tmux::{Screen, Tmux};

#[path = "support/screen.rs"]
mod screen;

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

/// One `#[test]` per scenario, all on one stack (started by the first, stopped when the test
/// process exits): a failure names its scenario, and the others still run. The scenarios
/// change the shared stack, so they take turns (a lock); each leaves it healthy, and one that
/// fails has it healed before the next. `cargo test --test e2e_stack primary_killed` runs one.
mod scenario {
    macro_rules! scenarios {
        ($($name:ident),* $(,)?) => {
            $(
                #[test]
                fn $name() {
                    super::run_scenario(stringify!($name), super::$name);
                }
            )*
        };
    }
    // Snapshot scenarios: `fleetboard snapshot` against the stack.
    scenarios!(
        healthy_fleet,
        victoriametrics_same_fleet,
        sql_thread_stopped,
        replication_delay,
        primary_killed,
        prometheus_unreachable,
    );
    // Interactive scenarios: the board in a real terminal (tmux `new-session -d` with a fixed
    // size, `send-keys` to type, `capture-pane -p` to read the screen). tmux is installed by
    // `scripts/test.sh`.
    scenarios!(
        board_keys,
        board_prometheus_down,
        board_signals,
        board_history_chart,
        board_silence_by_keys,
        board_wall_mode,
        board_replay_keys,
    );
}

/// The stack and what the scenarios measured, shared by the tests of this file. `Err` holds
/// why the stack could not start, so that every scenario fails at once with that reason.
static SHARED: Mutex<Option<Result<Ctx, String>>> = Mutex::new(None);

fn run_scenario(name: &str, scenario: fn(&mut Ctx)) {
    if std::env::var("FLEETBOARD_SKIP_E2E").as_deref() == Ok("1") {
        loud(&format!(
            "\n##################################################################\n\
             ##  FLEETBOARD_SKIP_E2E=1: end-to-end scenario {name} SKIPPED.\n\
             ##  Nothing was checked against a real Prometheus/Alertmanager.  ##\n\
             ##################################################################\n",
        ));
        return;
    }
    // A scenario that failed poisons the lock; the stack is healed below all the same.
    let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
    let ctx = shared.get_or_insert_with(|| {
        panic::catch_unwind(Stack::start)
            .map(|stack| Ctx {
                stack,
                timings: Vec::new(),
                key_latencies: Vec::new(),
                healthy: true,
                ready_at: Instant::now(),
            })
            .map_err(|e| panic_text(&*e))
    });
    let ctx = match ctx {
        Ok(ctx) => ctx,
        Err(why) => panic!("the end-to-end stack did not start: {why}"),
    };
    if !ctx.healthy {
        ctx.stack.heal();
        ctx.healthy = true;
    }
    ctx.timings.clear();
    ctx.key_latencies.clear();
    eprintln!("e2e: --- scenario {name}");
    let t = Instant::now();
    let result = panic::catch_unwind(AssertUnwindSafe(|| scenario(ctx)));
    let mut table = format!(
        "e2e: {name}: seconds from each step (a fault, or the start of a check) to the first snapshot showing its result:\n"
    );
    for (what, s) in &ctx.timings {
        table.push_str(&format!("e2e:   {s:6.2}  {what}\n"));
    }
    if !ctx.key_latencies.is_empty() {
        table.push_str(&format!("e2e: {name}: milliseconds from a key sent to the board (tmux send-keys) to the screen showing its effect:\n"));
        for (what, s) in &ctx.key_latencies {
            table.push_str(&format!("e2e:   {:6.0}  {what}\n", s * 1000.0));
        }
    }
    loud(&table);
    if let Err(e) = result {
        eprintln!(
            "e2e: --- scenario {name}: FAILED after {:.1}s (details above); the stack is healed before the next",
            secs(t.elapsed())
        );
        ctx.healthy = false;
        ctx.stack.keep_on_drop();
        drop(shared);
        panic::resume_unwind(e);
    }
    eprintln!("e2e: --- scenario {name}: ok in {:.1}s", secs(t.elapsed()));
}

fn panic_text(e: &(dyn std::any::Any + Send)) -> String {
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_string()))
        .unwrap_or_else(|| "a panic without text".into())
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

/// (3) Real lag on db2 (FLUSH TABLES WITH READ LOCK held there, so its SQL thread waits) with
/// warn = 5 s for lag: the lag climbs past 5 and db2 is WARN or worse through the `lag` metric;
/// releasing the lock brings it back to OK. (A MASTER_DELAY is intended delay, which the board
/// subtracts from the lag: see tests/e2e_replication.rs.)
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
    ctx.stack.fault(&["hold", "db2", "120"]);
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
    ctx.stack.fault(&["release", "db2"]);
    ctx.poll(
        "all OK after the lock on db2 is released",
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
            // MariaDB's Last_IO_Errno while it retries: 2003 (cannot connect), or 2013
            // (connection lost) before the first retry.
            let reasons = db5["reasons"].to_string();
            if !reasons.contains("io thread stopped (error 20") {
                return Err(format!("db5's reason names no connection error: {reasons}"));
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
// Interactive scenarios: the board in a real terminal (tmux)
// ---------------------------------------------------------------------------------------------

/// Terminal size of every interactive scenario.
const COLS: u16 = 120;
const ROWS: u16 = 40;
/// How long the board may take to show the fleet after it starts.
const BOARD_UP: Duration = Duration::from_secs(30);
/// How long a key may take to show its effect (generous: a loaded 2-core machine).
const KEY_TIMEOUT: Duration = Duration::from_secs(5);
/// After the board exits, the pane's shell prints this line with the exit code, then the
/// terminal modes (`icanon echo` when restored, `-icanon -echo` when left raw).
const EXITED: &str = "EXITED ";
const TTY: &str = "TTY ";

/// The board running in tmux, through a wrapper script that reports how it exited.
struct Board {
    tmux: Tmux,
}

impl Board {
    /// Types a key (or several named keys) and waits for the screen to show `check`;
    /// the time is recorded as a key-to-screen latency.
    fn key(
        &self,
        ctx: &mut Ctx,
        keys: &[&str],
        what: &str,
        check: impl Fn(&Screen) -> Result<(), String>,
    ) -> Screen {
        let t0 = Instant::now();
        self.tmux.keys(keys);
        let (s, took) = self.tmux.wait(what, t0, KEY_TIMEOUT, check);
        eprintln!(
            "e2e:   key {keys:?}: {what} after {:.0} ms",
            secs(took) * 1000.0
        );
        ctx.key_latencies
            .push((format!("{keys:?}: {what}"), secs(took)));
        s
    }

    /// Like `key`, for literal text.
    fn text(
        &self,
        ctx: &mut Ctx,
        text: &str,
        what: &str,
        check: impl Fn(&Screen) -> Result<(), String>,
    ) -> Screen {
        let t0 = Instant::now();
        self.tmux.text(text);
        let (s, took) = self.tmux.wait(what, t0, KEY_TIMEOUT, check);
        eprintln!(
            "e2e:   typed {text:?}: {what} after {:.0} ms",
            secs(took) * 1000.0
        );
        ctx.key_latencies
            .push((format!("typed {text:?}: {what}"), secs(took)));
        s
    }

    /// Waits for the wrapper's `EXITED n` line; checks the terminal is back to normal
    /// (canonical mode and echo on, main screen). Returns the exit code.
    fn expect_exit_restored(&self, what: &str, t0: Instant) -> i32 {
        let (s, took) = self.tmux.wait(
            &format!("{what}: the shell runs again"),
            t0,
            secs_d(10),
            |s| {
                if !s.lines().iter().any(|l| l.starts_with(TTY)) {
                    return Err(
                        "no `TTY` line from the wrapper yet (the board has not exited)".into(),
                    );
                }
                if !s.lines().iter().any(|l| l.starts_with(EXITED)) {
                    return Err("no EXITED line".into());
                }
                Ok(())
            },
        );
        eprintln!(
            "e2e:   {what}: board exited after {:.0} ms",
            secs(took) * 1000.0
        );
        let lines = s.lines();
        let code_line = lines
            .iter()
            .find(|l| l.starts_with(EXITED))
            .map(|l| l.to_string())
            .unwrap_or_default();
        let code: i32 = code_line[EXITED.len()..]
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("{what}: bad exit line {code_line:?}: {e}\n{s}"));
        let tty = lines
            .iter()
            .find(|l| l.starts_with(TTY))
            .map(|l| l.to_string())
            .unwrap_or_default();
        let modes: Vec<&str> = tty[TTY.len()..].split_whitespace().collect();
        assert!(
            modes.contains(&"icanon") && modes.contains(&"echo"),
            "{what}: the terminal was not restored: stty shows {modes:?}, want icanon and echo\n{s}"
        );
        let alt = self.tmux.display("#{alternate_on}");
        assert_eq!(
            alt, "0",
            "{what}: the pane is still on the alternate screen after the board exited\n{s}"
        );
        code
    }
}

impl Ctx {
    /// Starts the board in tmux against the stack's Prometheus and Alertmanager, with the
    /// load thresholds raised and `extra_config` appended to its config file.
    fn board(&self, name: &str, extra_config: &str, extra_args: &str) -> Board {
        let config = self.stack.write_file(
            &format!("{name}.toml"),
            &format!("{BASE_CONFIG}\n{extra_config}"),
        );
        let home = self.stack.dir.join("e2e").join("home");
        std::fs::create_dir_all(&home).unwrap_or_else(|e| panic!("mkdir {}: {e}", home.display()));
        let log = self.stack.dir.join("e2e").join(format!("{name}.log"));
        let script = self.stack.write_file(
            &format!("{name}.sh"),
            &format!(
                "#!/usr/bin/env bash\n\
                 '{BIN}' -p '{prom}' -a '{am}' -c '{config}' --refresh 1s --log-file '{log}' {extra_args}\n\
                 rc=$?\n\
                 echo \"{EXITED}$rc\"\n\
                 echo \"{TTY}$(stty -a | tr ' ;' '\\n\\n' | grep -xE -- '-?(icanon|echo)' | tr '\\n' ' ')\"\n\
                 exec sleep 120\n",
                prom = self.stack.prom_url(),
                am = self.stack.am_url(),
                config = config.display(),
                log = log.display(),
            ),
        );
        let unset: Vec<String> = std::env::vars_os()
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .filter(|k| k.starts_with("FLEETBOARD_") || k == "NO_COLOR")
            .collect();
        let tmux = Tmux::start(
            &format!("bash '{}'", script.display()),
            COLS,
            ROWS,
            &[
                ("HOME", home.as_path()),
                ("XDG_CONFIG_HOME", home.join(".config").as_path()),
            ],
            &unset,
        );
        Board { tmux }
    }
}

/// A cluster title starting with `text` (`payments (`): a packed cluster's title is as
/// wide as its block, so its lead line may be left out.
fn has_title(s: &Screen, text: &str) -> bool {
    s.lines().iter().skip(1).any(|l| {
        l.starts_with(text) || l.contains(&format!("── {text}")) || l.contains(&format!(" {text}"))
    })
}

/// The grid with both clusters and all five hosts, every one OK, Prometheus fresh.
fn screen_full_grid(s: &Screen) -> Result<(), String> {
    for (c, n) in [("payments", 3), ("orders", 2)] {
        if !has_title(s, &format!("{c} ({n})")) {
            return Err(format!("no group title `{c} ({n})`"));
        }
    }
    for (name, ..) in FLEET {
        if !s.has(&format!("✓ {name}")) {
            return Err(format!("no OK tile `✓ {name}`"));
        }
    }
    if !s.header().contains("✓5 OK") {
        return Err(format!("header does not count 5 OK: {:?}", s.header()));
    }
    if !s.status().contains("prometheus ✓") {
        return Err(format!("status bar: {:?}", s.status()));
    }
    Ok(())
}

/// Only the hosts in `want` are on the screen (whole words), the others are not.
fn screen_only_hosts(s: &Screen, want: &[&str]) -> Result<(), String> {
    for (name, ..) in FLEET {
        let shown = s.has_word(name);
        if want.contains(name) && !shown {
            return Err(format!("{name} is not shown"));
        }
        if !want.contains(name) && shown {
            return Err(format!("{name} is still shown, want only {want:?}"));
        }
    }
    Ok(())
}

fn screen_no_help(s: &Screen) -> Result<(), String> {
    if s.has("key closes") {
        Err("the help is still open".into())
    } else {
        Ok(())
    }
}

/// The panel of `host`: its title names host, cluster and role, and the lag chart is there.
fn screen_panel(s: &Screen, host: &str) -> Result<(), String> {
    let (_, cluster, role, _) = FLEET
        .iter()
        .find(|f| f.0 == host)
        .ok_or_else(|| format!("{host} is not in the fleet"))?;
    let title = format!("{host} · {cluster} · {role}");
    let row = s.lines().get(1).map(|l| l.to_string()).unwrap_or_default();
    if !(row.starts_with('┌') && row.contains(&title)) {
        return Err(format!("row 1 is not a panel titled `{title}`: {row:?}"));
    }
    if !s.has(" lag 15m ") {
        return Err("no ` lag 15m ` chart".into());
    }
    Ok(())
}

/// (a) Keys on a healthy fleet: filter, cluster cycling, host panel, quit; the terminal is
/// restored after `q`.
fn board_keys(ctx: &mut Ctx) {
    let b = ctx.board("board-keys", "", "");
    let t0 = Instant::now();
    let (_, up) = b.tmux.wait("the full grid", t0, BOARD_UP, screen_full_grid);
    eprintln!("e2e:   board shows the fleet {:.2}s after start", secs(up));
    ctx.timings
        .push(("board start -> full grid".into(), secs(up)));
    assert_eq!(
        b.tmux.display("#{alternate_on}"),
        "1",
        "the board does not use the alternate screen"
    );
    // colours are drawn (the theme gives OK tiles a colour)
    let styled = b.tmux.capture_styled();
    assert!(
        styled.contains("\x1b["),
        "capture-pane -e shows no colour or attribute at all:\n{styled}"
    );

    b.key(ctx, &["/"], "filter prompt", |s| {
        if s.header().contains("filter /▏") {
            Ok(())
        } else {
            Err(format!("header: {:?}", s.header()))
        }
    });
    b.text(ctx, "db4", "filter narrows to db4 while typing", |s| {
        if !s.header().contains("/db4▏") {
            return Err(format!("header: {:?}", s.header()));
        }
        screen_only_hosts(s, &["db4"])
    });
    b.key(ctx, &["Enter"], "filter applied: only db4", |s| {
        let h = s.header();
        if !h.contains("filter /db4") || h.contains('▏') {
            return Err(format!("header is not an applied filter /db4: {h:?}"));
        }
        if !h.contains("1 hosts") {
            return Err(format!("header does not count 1 host: {h:?}"));
        }
        if has_title(s, "payments (") {
            return Err("the payments group is still shown".into());
        }
        screen_only_hosts(s, &["db4"])
    });
    b.key(ctx, &["Escape"], "filter cleared", |s| {
        if s.header().contains("filter") {
            return Err(format!("header: {:?}", s.header()));
        }
        screen_full_grid(s)
    });

    // c: all -> one cluster -> the other -> all
    let mut seen = Vec::new();
    for _ in 0..2 {
        let prev = seen.clone();
        let s = b.key(ctx, &["c"], "one cluster only", move |s| {
            let shown: Vec<&str> = ["payments", "orders"]
                .into_iter()
                .filter(|c| has_title(s, &format!("{c} (")))
                .collect();
            if shown.len() != 1 {
                return Err(format!("clusters shown: {shown:?}, want exactly one"));
            }
            if prev.contains(&shown[0].to_string()) {
                return Err(format!("still cluster {}", shown[0]));
            }
            if !s.header().contains(&format!("cluster {}", shown[0])) {
                return Err(format!(
                    "header does not name cluster {}: {:?}",
                    shown[0],
                    s.header()
                ));
            }
            let hosts: Vec<&str> = FLEET
                .iter()
                .filter(|f| f.1 == shown[0])
                .map(|f| f.0)
                .collect();
            screen_only_hosts(s, &hosts)
        });
        let c = if has_title(&s, "payments (") {
            "payments"
        } else {
            "orders"
        };
        seen.push(c.to_string());
    }
    b.key(ctx, &["c"], "all clusters again", screen_full_grid);

    // Enter opens the selected host's panel; Esc returns to the grid.
    let s = b.key(ctx, &["Enter"], "a host panel", |s| {
        let row = s.lines().get(1).map(|l| l.to_string()).unwrap_or_default();
        let host = FLEET
            .iter()
            .find(|f| row.contains(&format!(" {} · ", f.0)))
            .ok_or_else(|| format!("row 1 names no host: {row:?}"))?;
        screen_panel(s, host.0)
    });
    let row = s.lines()[1].to_string();
    eprintln!(
        "e2e:   panel title: {}",
        row.trim_matches(|c| c == '┌' || c == '─' || c == '┐')
    );
    b.key(ctx, &["Escape"], "back to the grid", screen_full_grid);

    let t = Instant::now();
    b.tmux.keys(&["q"]);
    let code = b.expect_exit_restored("q", t);
    assert_eq!(
        code,
        0,
        "the board exited {code} after q\n{}",
        b.tmux.capture()
    );
    ctx.key_latencies.push((
        "[\"q\"]: board exited, terminal restored".into(),
        secs(t.elapsed()),
    ));
}

/// (b) Prometheus frozen (SIGSTOP) and then killed: the header turns STALE and the status bar
/// shows the failure within a few refreshes, keys still work, and it recovers.
fn board_prometheus_down(ctx: &mut Ctx) {
    let b = ctx.board("board-prom-down", "", "");
    b.tmux
        .wait("the full grid", Instant::now(), BOARD_UP, screen_full_grid);
    for (stop, start, what) in [
        ("prom-stop", "prom-cont", "SIGSTOP"),
        ("prom-kill", "prom-start", "SIGKILL"),
    ] {
        let t0 = Instant::now();
        ctx.stack.fault(&[stop]);
        let (_, failed) = b.tmux.wait(
            &format!("status bar failure after {what}"),
            t0,
            secs_d(15),
            |s| {
                if s.status().contains("prometheus ✖") {
                    Ok(())
                } else {
                    Err(format!("status bar: {:?}", s.status()))
                }
            },
        );
        let (s, stale) = b
            .tmux
            .wait(&format!("STALE header after {what}"), t0, secs_d(15), |s| {
                if s.header().contains("◌ STALE") && s.header().contains(" old") {
                    Ok(())
                } else {
                    Err(format!("header: {:?}", s.header()))
                }
            });
        eprintln!(
            "e2e:   Prometheus {what}: status bar ✖ after {:.2}s, STALE after {:.2}s\n  header: {}\n  status: {}",
            secs(failed),
            secs(stale),
            s.header().trim_end(),
            s.status().trim_end()
        );
        ctx.timings.push((
            format!("board: prometheus {what} -> status bar ✖"),
            secs(failed),
        ));
        ctx.timings.push((
            format!("board: prometheus {what} -> header STALE"),
            secs(stale),
        ));

        // the board still answers keys while its source hangs or refuses
        b.key(
            ctx,
            &["?"],
            &format!("help opens (Prometheus {what})"),
            |s| {
                if s.has("key closes") {
                    Ok(())
                } else {
                    Err("no help".into())
                }
            },
        );
        b.key(
            ctx,
            &["Escape"],
            &format!("help closes (Prometheus {what})"),
            screen_no_help,
        );
        b.key(
            ctx,
            &["/"],
            &format!("filter prompt (Prometheus {what})"),
            |s| {
                if s.header().contains("filter /▏") {
                    Ok(())
                } else {
                    Err(format!("header: {:?}", s.header()))
                }
            },
        );
        b.text(
            ctx,
            "db1",
            &format!("filter db1 (Prometheus {what})"),
            |s| screen_only_hosts(s, &["db1"]),
        );
        b.key(
            ctx,
            &["Escape"],
            &format!("filter cleared (Prometheus {what})"),
            |s| {
                if s.header().contains("filter") {
                    return Err(format!("header: {:?}", s.header()));
                }
                screen_only_hosts(s, &["db1", "db2", "db3", "db4", "db5"])
            },
        );

        let t1 = Instant::now();
        ctx.stack.fault(&[start]);
        let back = Instant::now();
        let (_, fresh) = b
            .tmux
            .wait(&format!("STALE gone after {start}"), t1, secs_d(60), |s| {
                if s.header().contains("STALE") {
                    return Err(format!("header: {:?}", s.header()));
                }
                screen_full_grid(s)
            });
        eprintln!(
            "e2e:   {start}: fresh again {:.2}s after the fault command ({:.2}s after it returned)",
            secs(fresh),
            secs(fresh.saturating_sub(back - t1))
        );
        ctx.timings
            .push((format!("board: {start} -> STALE gone, ✓"), secs(fresh)));
    }
    b.tmux.keys(&["q"]);
    let code = b.expect_exit_restored("q", Instant::now());
    assert_eq!(code, 0, "exit code after q\n{}", b.tmux.capture());
}

/// (c) SIGTERM and SIGHUP to the board: it exits and the terminal is restored.
fn board_signals(ctx: &mut Ctx) {
    for sig in ["TERM", "HUP"] {
        let b = ctx.board(&format!("board-sig{sig}"), "", "");
        b.tmux
            .wait("the full grid", Instant::now(), BOARD_UP, screen_full_grid);
        let shell = b.tmux.pane_pid();
        let t = Instant::now();
        let pid = loop {
            let kids: Vec<u32> = tmux::children(shell)
                .into_iter()
                .filter(|p| tmux::comm(*p) == "fleetboard")
                .collect();
            if let [p] = kids[..] {
                break p;
            }
            assert!(
                t.elapsed() < secs_d(5),
                "no single fleetboard child of the pane's shell {shell}: {kids:?}"
            );
            thread::sleep(Duration::from_millis(50));
        };
        let t0 = Instant::now();
        let st = Command::new("kill")
            .args([&format!("-{sig}"), &pid.to_string()])
            .status()
            .unwrap_or_else(|e| panic!("cannot run kill: {e}"));
        assert!(st.success(), "kill -{sig} {pid} failed");
        let code = b.expect_exit_restored(&format!("SIG{sig}"), t0);
        eprintln!("e2e:   SIG{sig}: the board exited with {code}, terminal restored");
        ctx.timings.push((
            format!("board: SIG{sig} -> exited, terminal restored"),
            secs(t0.elapsed()),
        ));
        assert!(
            code == 0 || code == 128 + if sig == "TERM" { 15 } else { 1 },
            "SIG{sig}: exit code {code}\n{}",
            b.tmux.capture()
        );
        assert!(
            tmux::comm(pid).is_empty() || tmux::comm(pid) != "fleetboard",
            "the board (pid {pid}) is still running after SIG{sig}"
        );
    }
}

/// The top y-axis label of the panel's lag chart, in seconds (`7s`, `1m05s`, `5.3s`).
fn lag_chart_top(s: &Screen) -> Result<f64, String> {
    let lines = s.lines();
    let (i, col) = lines
        .iter()
        .enumerate()
        .find_map(|(i, l)| {
            let chars: Vec<char> = l.chars().collect();
            let title: Vec<char> = " lag ".chars().collect();
            chars
                .windows(title.len())
                .position(|w| w == title.as_slice())
                .map(|p| (i, p))
        })
        .ok_or("no lag chart")?;
    // the chart's corner is the char just before the title; its first plot row is below
    let row: Vec<char> = lines
        .get(i + 1)
        .ok_or("no row below the lag chart title")?
        .chars()
        .collect();
    let rest: String = row.iter().skip(col).collect();
    let label: String = rest.chars().take_while(|c| *c != '│').collect();
    parse_seconds(label.trim()).ok_or_else(|| {
        format!(
            "lag chart top label {:?} (row {:?}) is not a duration",
            label.trim(),
            rest
        )
    })
}

fn parse_seconds(t: &str) -> Option<f64> {
    if let Some((m, s)) = t.split_once('m') {
        let s = s.strip_suffix('s')?;
        return Some(m.parse::<f64>().ok()? * 60.0 + s.parse::<f64>().ok()?);
    }
    t.strip_suffix('s')?.parse().ok()
}

/// (d) History charts and time travel: MASTER_DELAY=30 on db2 makes the lag chart of db2's
/// panel rise; `snapshot --at` a time before the fault says db2 OK, a time during it not OK.
fn board_history_chart(ctx: &mut Ctx) {
    let lag_cfg = "[metrics.lag]\nwarn = 5.0\ncrit = 600.0\n";
    let config = ctx.stack.write_file(
        "history-lag-warn-5.toml",
        &format!("{BASE_CONFIG}\n{lag_cfg}"),
    );
    let config = config.to_string_lossy().into_owned();
    let args = ["-c", config.as_str()];
    let prom = ctx.stack.prom_url();
    ctx.poll(
        "healthy before the delay",
        Instant::now(),
        secs_d(45),
        &prom,
        &args,
        check_healthy,
    );
    let before_fault = chrono::Utc::now();

    let b = ctx.board("board-history", lag_cfg, "");
    b.tmux
        .wait("the full grid", Instant::now(), BOARD_UP, screen_full_grid);
    b.key(ctx, &["/"], "filter prompt", |s| {
        if s.header().contains("filter /▏") {
            Ok(())
        } else {
            Err(format!("header: {:?}", s.header()))
        }
    });
    b.text(ctx, "db2", "filter db2 while typing", |s| {
        screen_only_hosts(s, &["db2"])
    });
    b.key(ctx, &["Enter"], "filter db2 applied", |s| {
        if s.header().contains('▏') {
            return Err(format!("header: {:?}", s.header()));
        }
        screen_only_hosts(s, &["db2"])
    });
    b.key(ctx, &["Enter"], "db2's panel", |s| screen_panel(s, "db2"));
    let (s, _) = b
        .tmux
        .wait("db2's lag chart loaded", Instant::now(), secs_d(15), |s| {
            lag_chart_top(s).map(|_| ())
        });
    let before = lag_chart_top(&s).unwrap_or(0.0);
    eprintln!("e2e:   db2 lag chart before the delay: top label {before}s");
    let want = before.max(5.0) + 3.0;

    let t0 = Instant::now();
    // A held read lock makes real lag; a MASTER_DELAY would be intended and judged net of it.
    ctx.stack.fault(&["hold", "db2", "120"]);
    let (s, rose) = b.tmux.wait(
        &format!("db2 lag chart top label past {want}s"),
        t0,
        secs_d(60),
        |s| {
            screen_panel(s, "db2")?;
            let top = lag_chart_top(s)?;
            if top >= want {
                Ok(())
            } else {
                Err(format!("top label {top}s, want >= {want}s"))
            }
        },
    );
    let after = lag_chart_top(&s).unwrap_or(0.0);
    eprintln!(
        "e2e:   db2 lag chart: top label {before}s -> {after}s, {:.2}s after a held lock on db2",
        secs(rose)
    );
    ctx.timings.push((
        "board: lock held on db2 -> lag chart rises".into(),
        secs(rose),
    ));
    let during = ctx.poll(
        "db2 lag above 5 s (live)",
        t0,
        secs_d(60),
        &prom,
        &args,
        |s| {
            let v = metric(s.host("db2")?, "lag")
                .and_then(|m| m["value"].as_f64())
                .ok_or("db2 has no lag value")?;
            if v > 5.0 {
                Ok(())
            } else {
                Err(format!("db2 lag {v}"))
            }
        },
    );
    drop(during);
    let during_fault = chrono::Utc::now();

    // time travel in the board: `[` steps back into replay, `.` returns to live
    b.key(ctx, &["["], "replay header", |s| {
        if s.header().contains("◀◀ REPLAY") && s.header().contains(" UTC") {
            Ok(())
        } else {
            Err(format!("header: {:?}", s.header()))
        }
    });
    b.key(ctx, &["."], "live again", |s| {
        if s.header().contains("REPLAY") {
            Err(format!("header: {:?}", s.header()))
        } else {
            Ok(())
        }
    });
    b.tmux.keys(&["q"]);
    let code = b.expect_exit_restored("q", Instant::now());
    assert_eq!(code, 0, "exit code after q\n{}", b.tmux.capture());

    let t1 = Instant::now();
    ctx.stack.fault(&["release", "db2"]);
    ctx.poll(
        "all OK after MASTER_DELAY=0 on db2",
        t1,
        secs_d(60),
        &prom,
        &args,
        check_healthy,
    );

    // snapshot --at: the past as Prometheus stored it
    let fmt =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    for (when, t, want_ok) in [
        ("before", before_fault, true),
        ("during", during_fault, false),
    ] {
        let at = fmt(t);
        let mut a: Vec<&str> = args.to_vec();
        a.extend(["--at", at.as_str()]);
        let s = ctx.stack.snapshot(&prom, &a);
        if let Err(e) = check_invariants(&s) {
            panic!("snapshot --at {at}: {e}\n{s}");
        }
        let j = s.json();
        assert!(
            j["at"].is_string(),
            "snapshot --at {at}: `at` is not set\n{s}"
        );
        let db2 = s.host("db2").unwrap_or_else(|e| panic!("{e}\n{s}"));
        let health = hstr(db2, "health");
        let lag = metric(db2, "lag").map(|m| m["value"].clone());
        eprintln!("e2e:   snapshot --at {at} ({when} the delay): db2 {health}, lag {lag:?}");
        if want_ok {
            assert_eq!(
                health, "OK",
                "db2 at {at} ({when} the delay) should be OK\n{s}"
            );
        } else {
            assert_ne!(
                health, "OK",
                "db2 at {at} ({when} the delay) should not be OK\n{s}"
            );
            let v = lag.and_then(|v| v.as_f64()).unwrap_or(0.0);
            assert!(v > 5.0, "db2 lag at {at} is {v}, want > 5\n{s}");
        }
    }
}

/// Host names of the fleet, in `FLEET` order.
fn fleet_names() -> Vec<&'static str> {
    FLEET.iter().map(|f| f.0).collect()
}

/// `host`'s tile title on the grid (symbol, name, badges).
fn tile(s: &Screen, host: &str) -> Result<String, String> {
    screen::tile_title(&s.lines(), host, &fleet_names())
        .ok_or_else(|| format!("no tile for {host} on the grid"))
}

/// The alerts view is open and its row for `alert` on `host` shows `state`.
fn alert_row<'a>(s: &'a Screen, alert: &str, host: &str) -> Result<&'a str, String> {
    if !s.has("┌ alerts ") {
        return Err("the alerts view is not open".into());
    }
    s.lines()
        .into_iter()
        .find(|l| l.contains(alert) && l.split_whitespace().any(|w| w == host))
        .ok_or_else(|| format!("no row for {alert} on {host}"))
}

fn alert_row_state(s: &Screen, alert: &str, host: &str, state: &str) -> Result<(), String> {
    let row = alert_row(s, alert, host)?;
    if row.split_whitespace().any(|w| w == state) {
        Ok(())
    } else {
        Err(format!(
            "the {alert} row of {host} is not `{state}`: {row:?}"
        ))
    }
}

/// Alertmanager's state of the alerts on instance `host` (`active`, `suppressed`, …), with
/// the ids of the silences that suppress them.
fn am_alert_states(ctx: &Ctx, alert: &str, host: &str) -> Vec<(String, Vec<String>)> {
    let alerts = ctx
        .stack
        .am_get(&format!("/api/v2/alerts?filter=instance%3D%22{host}%22"));
    alerts
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["labels"]["alertname"].as_str() == Some(alert))
        .map(|a| {
            let st = a["status"]["state"].as_str().unwrap_or("").to_string();
            let by = a["status"]["silencedBy"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(String::from))
                .collect();
            (st, by)
        })
        .collect()
}

/// Polls Alertmanager until `check` accepts the states of `alert` on `host`.
fn wait_am_state(
    ctx: &Ctx,
    what: &str,
    alert: &str,
    host: &str,
    timeout: Duration,
    check: impl Fn(&[(String, Vec<String>)]) -> bool,
) -> Duration {
    let t0 = Instant::now();
    loop {
        let st = am_alert_states(ctx, alert, host);
        if check(&st) {
            return t0.elapsed();
        }
        assert!(
            t0.elapsed() < timeout,
            "{what}: Alertmanager still says {st:?} after {:.1}s",
            timeout.as_secs_f64()
        );
        thread::sleep(POLL_EVERY);
    }
}

/// (e) A real alert silenced and unsilenced with the board's keys: `stop-sql db3` fires
/// MySQLReplicationStopped; in the alerts view `S` opens the form, a comment and author are
/// typed, `Enter` creates the silence (id in the status bar); the alert shows as silenced,
/// the tile's badge turns from `⚑1` to `⊘1`, and Alertmanager says suppressed. In the
/// silences list `x` `y` expires it: Alertmanager says expired and the alert is active again
/// on the board. With `--read-only`, `S` and `x` say why and nothing is created.
#[allow(clippy::too_many_lines)]
fn board_silence_by_keys(ctx: &mut Ctx) {
    const ALERT: &str = "MySQLReplicationStopped";
    const AUTHOR: &str = "e2e-oncall";
    // silences of an earlier, failed run would mute the alert from the start
    let cleanup = SilenceCleanup {
        am_url: ctx.stack.am_url(),
        author: AUTHOR,
    };
    cleanup.run();
    let t_fault = Instant::now();
    let t0_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    ctx.stack.fault(&["stop-sql", "db3"]);
    let in_am = ctx.stack.wait_alert(&[
        ALERT,
        "db3",
        "--t0",
        &format!("{t0_epoch:.3}"),
        "--timeout",
        "90",
    ]);
    eprintln!("e2e:   {ALERT} for db3 in Alertmanager {in_am:.2}s after stop-sql");
    ctx.timings
        .push((format!("stop-sql db3 -> {ALERT} in Alertmanager"), in_am));

    // short and unique: the silences list shows only the start of a comment
    let tag = format!(
        "e2e-{:08x}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos() ^ std::process::id())
            .unwrap_or(0)
    );
    let comment = format!("drill {tag}");
    let b = ctx.board("board-silence", "", "");
    let (_, seen) = b.tmux.wait(
        "db3 CRIT with an active alert badge on the grid",
        t_fault,
        BOARD_UP + secs_d(60),
        |s| {
            let t = tile(s, "db3")?;
            if t.starts_with("✖ db3") && t.contains("⚑1") && !t.contains('⊘') {
                Ok(())
            } else {
                Err(format!("db3 tile: {t:?}"))
            }
        },
    );
    ctx.timings.push((
        "board: stop-sql db3 -> ✖ db3 ⚑1 on the grid".into(),
        secs(seen),
    ));

    b.key(
        ctx,
        &["a"],
        "the alerts view with db3's alert active",
        |s| alert_row_state(s, ALERT, "db3", "active"),
    );
    // select db3's row: j/k until the `▸` marker is on it
    for i in 0..=10 {
        let s = b.tmux.capture();
        let lines = s.lines();
        let sel = screen::selected_row(&lines).unwrap_or("");
        if sel.contains(ALERT) && sel.split_whitespace().any(|w| w == "db3") {
            break;
        }
        assert!(i < 10, "could not select db3's {ALERT} row with j\n{s}");
        b.key(ctx, &["j"], "the selection moves", |s2| {
            if s2.text == s.text {
                Err("the screen did not change".into())
            } else {
                Ok(())
            }
        });
    }

    let before = ctx.stack.am_silences().len();
    b.key(ctx, &["S"], "the silence form, prefilled", |s| {
        if !s.has("┌ new silence ") {
            return Err("no silence form".into());
        }
        if !s.has(&format!("alertname=\"{ALERT}\", instance=\"db3\"")) {
            return Err("the matchers are not alertname and instance of db3".into());
        }
        if !s.lines().iter().any(|l| l.contains("comment  ▸ ")) {
            return Err("the comment field does not have the focus".into());
        }
        Ok(())
    });
    b.text(ctx, &comment, "the comment typed", |s| {
        if s.lines()
            .iter()
            .any(|l| l.contains("comment  ▸ ") && l.contains(&format!("{comment}▏")))
        {
            Ok(())
        } else {
            Err("the comment is not in its field".into())
        }
    });
    // the author is prefilled from $USER, which may be empty here: set it
    b.key(ctx, &["Tab"], "the focus on the author field", |s| {
        if s.lines().iter().any(|l| l.contains("author   ▸ ")) {
            Ok(())
        } else {
            Err("the author field does not have the focus".into())
        }
    });
    b.key(ctx, &["C-u"], "the author field cleared", |s| {
        if s.lines().iter().any(|l| l.contains("author   ▸ ▏")) {
            Ok(())
        } else {
            Err("the author field is not empty".into())
        }
    });
    b.text(ctx, AUTHOR, "the author typed", |s| {
        if !s
            .lines()
            .iter()
            .any(|l| l.contains(&format!("author   ▸ {AUTHOR}▏")))
        {
            return Err("the author is not in its field".into());
        }
        if !s.has(" until ") {
            return Err("no `until` line: the form is not valid yet".into());
        }
        Ok(())
    });
    let t_create = Instant::now();
    let s = b.key(
        ctx,
        &["Enter"],
        "the new silence's id in the status bar",
        |s| {
            if s.has("┌ new silence ") {
                return Err("the form is still open".into());
            }
            if s.status().contains("silence ") && s.status().contains(" created") {
                Ok(())
            } else {
                Err(format!("status bar: {:?}", s.status()))
            }
        },
    );
    let status = s.status().to_string();
    let id = status
        .split_whitespace()
        .skip_while(|w| *w != "silence")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let created: Vec<Value> = ctx
        .stack
        .am_silences()
        .into_iter()
        .filter(|x| x["comment"].as_str() == Some(comment.as_str()))
        .collect();
    assert_eq!(
        created.len(),
        1,
        "Alertmanager should hold exactly one silence with our comment: {created:?}"
    );
    let sil = &created[0];
    assert_eq!(
        sil["id"].as_str(),
        Some(id.as_str()),
        "the status bar names silence {id:?}, Alertmanager holds {sil}"
    );
    assert_eq!(sil["createdBy"].as_str(), Some(AUTHOR), "{sil}");
    assert_eq!(sil["status"]["state"].as_str(), Some("active"), "{sil}");
    let matchers: Vec<(String, String, bool)> = sil["matchers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            (
                m["name"].as_str().unwrap_or("").to_string(),
                m["value"].as_str().unwrap_or("").to_string(),
                m["isRegex"].as_bool().unwrap_or(true),
            )
        })
        .collect();
    assert!(
        matchers.contains(&("alertname".into(), ALERT.into(), false))
            && matchers.contains(&("instance".into(), "db3".into(), false))
            && matchers.len() == 2,
        "silence matchers: {matchers:?}"
    );
    let (_, shown) = b.tmux.wait(
        "db3's alert silenced in the alerts view",
        t_create,
        secs_d(15),
        |s| alert_row_state(s, ALERT, "db3", "silenced"),
    );
    ctx.timings.push((
        "board: Enter in the silence form -> alert row `silenced`".into(),
        secs(shown),
    ));
    let am = wait_am_state(
        ctx,
        "db3's alert suppressed",
        ALERT,
        "db3",
        secs_d(15),
        |st| {
            !st.is_empty()
                && st
                    .iter()
                    .all(|(s, by)| s == "suppressed" && by.contains(&id))
        },
    );
    eprintln!(
        "e2e:   silence {id}: row `silenced` after {:.2}s; Alertmanager suppressed (checked {:.2}s later)",
        secs(shown),
        secs(am)
    );
    b.key(ctx, &["Escape"], "the grid: db3's badge is muted", |s| {
        let t = tile(s, "db3")?;
        if t.contains("⊘1") && !t.contains('⚑') {
            Ok(())
        } else {
            Err(format!("db3 tile: {t:?}"))
        }
    });

    // expire it from the silences list
    b.key(ctx, &["A"], "the silences list with ours", |s| {
        if !s.has("┌ silences ") {
            return Err("the silences list is not open".into());
        }
        if s.has(&tag) {
            Ok(())
        } else {
            Err(format!("no silence with comment {comment:?}"))
        }
    });
    for i in 0..=20 {
        let s = b.tmux.capture();
        let lines = s.lines();
        if screen::selected_row(&lines).is_some_and(|r| r.contains(&tag)) {
            break;
        }
        assert!(i < 20, "could not select our silence with j\n{s}");
        b.key(ctx, &["j"], "the selection moves", |s2| {
            if s2.text == s.text {
                Err("the screen did not change".into())
            } else {
                Ok(())
            }
        });
    }
    b.key(ctx, &["x"], "the expire question", |s| {
        let short: String = id.chars().take(8).collect();
        if s.has("Expire silence ") && s.has(&short) && s.has(" y expire") {
            Ok(())
        } else {
            Err(format!("no question about expiring silence {id}"))
        }
    });
    let t_expire = Instant::now();
    b.key(ctx, &["y"], "the silence expired (status bar)", |s| {
        if s.status().contains(&format!("silence {id} expired")) {
            Ok(())
        } else {
            Err(format!("status bar: {:?}", s.status()))
        }
    });
    let state = ctx.stack.am_get(&format!("/api/v2/silence/{id}"))["status"]["state"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert_eq!(state, "expired", "Alertmanager's state of silence {id}");
    b.tmux.wait(
        "our silence gone from the list",
        t_expire,
        secs_d(10),
        |s| {
            if s.has(&tag) {
                Err("the expired silence is still listed".into())
            } else {
                Ok(())
            }
        },
    );
    wait_am_state(
        ctx,
        "db3's alert active again",
        ALERT,
        "db3",
        secs_d(15),
        |st| !st.is_empty() && st.iter().all(|(s, _)| s == "active"),
    );
    b.key(ctx, &["a"], "the alerts view", |s| {
        if s.has("┌ alerts ") {
            Ok(())
        } else {
            Err("the alerts view is not open".into())
        }
    });
    let (_, active) = b.tmux.wait(
        "db3's alert active again in the alerts view",
        t_expire,
        secs_d(15),
        |s| alert_row_state(s, ALERT, "db3", "active"),
    );
    ctx.timings.push((
        "board: y (expire) -> alert row `active` again".into(),
        secs(active),
    ));
    b.key(
        ctx,
        &["Escape"],
        "the grid: db3's badge is active again",
        |s| {
            let t = tile(s, "db3")?;
            if t.contains("⚑1") && !t.contains('⊘') {
                Ok(())
            } else {
                Err(format!("db3 tile: {t:?}"))
            }
        },
    );
    b.tmux.keys(&["q"]);
    let code = b.expect_exit_restored("q", Instant::now());
    assert_eq!(code, 0, "exit code after q\n{}", b.tmux.capture());
    drop(b);

    // read-only: S and x refuse, saying why; nothing is written
    let before_ro = ctx.stack.am_silences().len();
    assert_eq!(
        before_ro,
        before + 1,
        "silences in Alertmanager: {before} before, one created (now expired)"
    );
    let b = ctx.board("board-silence-ro", "", "--read-only");
    b.tmux.wait(
        "db3 with its alert on the read-only board",
        Instant::now(),
        BOARD_UP,
        |s| {
            let t = tile(s, "db3")?;
            if t.contains("⚑1") {
                Ok(())
            } else {
                Err(format!("db3 tile: {t:?}"))
            }
        },
    );
    b.key(ctx, &["a"], "the alerts view (read-only)", |s| {
        alert_row_state(s, ALERT, "db3", "active")
    });
    let s = b.key(ctx, &["S"], "S refused in read-only mode", |s| {
        if s.has("┌ new silence ") {
            return Err("the silence form opened in read-only mode".into());
        }
        if s.status().contains("read-only") {
            Ok(())
        } else {
            Err(format!("status bar: {:?}", s.status()))
        }
    });
    eprintln!("e2e:   read-only S: {}", s.status().trim());
    b.key(ctx, &["A"], "the silences list (read-only)", |s| {
        if s.has("┌ silences ") && s.has("read-only: x is disabled") {
            Ok(())
        } else {
            Err("no silences list saying x is disabled".into())
        }
    });
    b.key(ctx, &["x"], "x refused in read-only mode", |s| {
        if s.status().contains("read-only") && s.status().contains("expiring") {
            Ok(())
        } else {
            Err(format!("status bar: {:?}", s.status()))
        }
    });
    thread::sleep(Duration::from_millis(500));
    let after = ctx.stack.am_silences().len();
    assert_eq!(
        after, before_ro,
        "the read-only board changed Alertmanager's silences"
    );
    b.tmux.keys(&["q"]);
    let code = b.expect_exit_restored("q (read-only)", Instant::now());
    assert_eq!(code, 0, "exit code after q\n{}", b.tmux.capture());
    drop(b);

    // heal: replication running again, the alert resolved
    let t_heal = Instant::now();
    ctx.stack.fault(&["start-slave", "db3"]);
    let prom = ctx.stack.prom_url();
    ctx.poll(
        "all OK after start-slave db3",
        t_heal,
        secs_d(120),
        &prom,
        &[],
        check_healthy,
    );
}

/// The wall's big UTC clock in the top right: the current time (or the minute before, at a
/// minute's turn) in the block font on rows 0-2, `UTC` beside its bottom row.
fn wall_clock(s: &Screen) -> Result<(), String> {
    let lines = s.lines();
    let head: Vec<&str> = lines.iter().take(3).copied().collect();
    let now = chrono::Utc::now();
    let found = [now, now - chrono::Duration::seconds(60)]
        .iter()
        .find_map(|t| screen::find_big(&head, &t.format("%H:%M").to_string()));
    let Some((row, col)) = found else {
        return Err(format!(
            "no big clock showing {} UTC in rows 0-2",
            now.format("%H:%M")
        ));
    };
    if row != 0 || col < usize::from(COLS) / 2 {
        return Err(format!(
            "the big clock is at row {row}, column {col}: not in the top right"
        ));
    }
    let utc = head
        .get(2)
        .and_then(|l| l.chars().skip(col).collect::<String>().find("UTC"));
    if utc.is_none() {
        return Err("no `UTC` beside the big clock".into());
    }
    Ok(())
}

/// Row 1 of the wall says how fresh the data is: ` data of HH:MM:SS · refresh every 1s`
/// (UTC) while it is on time, ` data Ns old · …` once it is late. The data's age, seconds.
fn wall_data_age(s: &Screen) -> Result<u64, String> {
    let row = s.lines().get(1).map(|l| l.to_string()).unwrap_or_default();
    let rest = row.split_once(" data ").map_or("", |(_, r)| r);
    if let Some(n) = rest
        .split_once("s old")
        .and_then(|(n, _)| n.trim().parse::<u64>().ok())
    {
        return Ok(n);
    }
    let at = rest
        .strip_prefix("of ")
        .and_then(|r| r.get(..8))
        .and_then(|t| chrono::NaiveTime::parse_from_str(t, "%H:%M:%S").ok());
    at.map(|t| {
        let d = (chrono::Utc::now().time() - t).num_seconds();
        // Just after midnight the data can be from the day before.
        u64::try_from(if d < 0 { d + 86_400 } else { d }).unwrap_or(0)
    })
    .ok_or_else(|| format!("row 1 says neither `data of HH:MM:SS` nor `data Ns old`: {row:?}"))
}

/// `only problems: N OK hidden` on the wall's third row: N.
fn wall_hidden(s: &Screen) -> Result<usize, String> {
    let row = s.lines().get(2).map(|l| l.to_string()).unwrap_or_default();
    row.split_once("only problems: ")
        .and_then(|(_, r)| r.split_once(" OK hidden"))
        .and_then(|(n, _)| n.trim().parse().ok())
        .ok_or_else(|| format!("row 2 does not say `only problems: N OK hidden`: {row:?}"))
}

/// (f) The wall monitor against the stack: big clock, every host, the data's age; a killed
/// primary comes first; `p` hides the healthy hosts and counts them; healed, the screen
/// says ALL OK in big letters; `S` and `x` write nothing; `q` restores the terminal.
#[allow(clippy::too_many_lines)]
fn board_wall_mode(ctx: &mut Ctx) {
    let b = ctx.board("board-wall", "", "--wall");
    let t0 = Instant::now();
    let (s, up) = b.tmux.wait(
        "the wall: big clock, five OK hosts, data age",
        t0,
        BOARD_UP,
        |s| {
            wall_clock(s)?;
            for (name, ..) in FLEET {
                let t = tile(s, name)?;
                if !t.starts_with(&format!("✓ {name}")) {
                    return Err(format!("{name} tile: {t:?}"));
                }
            }
            let age = wall_data_age(s)?;
            if age > 5 {
                return Err(format!("data {age}s old"));
            }
            Ok(())
        },
    );
    eprintln!(
        "e2e:   wall up after {:.2}s; rows 0-2:\n{}",
        secs(up),
        s.lines()
            .iter()
            .take(3)
            .copied()
            .collect::<Vec<_>>()
            .join("\n")
    );
    ctx.timings
        .push(("wall: start -> clock, five hosts".into(), secs(up)));

    let t_kill = Instant::now();
    ctx.stack.fault(&["kill", "db4"]);
    let (s, down) = b
        .tmux
        .wait("db4 DOWN, first on the wall", t_kill, secs_d(30), |s| {
            let t = tile(s, "db4")?;
            if !t.starts_with("▼ db4") {
                return Err(format!("db4 tile: {t:?}"));
            }
            if !s.header().contains("▼1 DOWN") {
                return Err(format!("header: {:?}", s.header()));
            }
            let order = screen::host_order(&s.lines(), &fleet_names());
            if order.first() != Some(&"db4") {
                return Err(format!("hosts in screen order: {order:?}"));
            }
            Ok(())
        });
    eprintln!(
        "e2e:   kill db4: ▼ db4 first on the wall after {:.2}s (order {:?})",
        secs(down),
        screen::host_order(&s.lines(), &fleet_names())
    );
    ctx.timings
        .push(("wall: kill db4 -> ▼ db4 first".into(), secs(down)));

    b.key(
        ctx,
        &["p"],
        "only problems: healthy hosts hidden and counted",
        |s| {
            let hidden = wall_hidden(s)?;
            let shown: Vec<&str> = FLEET
                .iter()
                .map(|f| f.0)
                .filter(|h| tile(s, h).is_ok())
                .collect();
            if !shown.contains(&"db4") {
                return Err("db4 is hidden".into());
            }
            for h in &shown {
                if tile(s, h)?.starts_with('✓') {
                    return Err(format!("healthy {h} is still shown"));
                }
            }
            if hidden + shown.len() != FLEET.len() {
                return Err(format!("{hidden} hidden + {shown:?} shown != 5 hosts"));
            }
            Ok(())
        },
    );

    let t_heal = Instant::now();
    ctx.stack.fault(&["start", "db4"]);
    ctx.stack.fault(&["heal"]);
    let (s, ok) = b
        .tmux
        .wait("ALL OK in big letters", t_heal, secs_d(120), |s| {
            let lines = s.lines();
            let Some((row, _)) = screen::find_big(&lines, "ALL OK") else {
                return Err("no big ALL OK".into());
            };
            let line = "5 hosts in 2 clusters, none with a problem";
            if lines.get(row + 4).is_none_or(|l| l.trim() != line) {
                return Err(format!("no `{line}` under ALL OK"));
            }
            if wall_hidden(s)? != 5 {
                return Err("not 5 OK hidden".into());
            }
            if screen::host_order(&lines, &fleet_names()).is_empty() {
                Ok(())
            } else {
                Err("hosts are still shown".into())
            }
        });
    eprintln!("e2e:   start db4 + heal: ALL OK after {:.2}s", secs(ok));
    ctx.timings
        .push(("wall: start db4 + heal -> ALL OK".into(), secs(ok)));
    wall_clock(&s).unwrap_or_else(|e| panic!("with ALL OK: {e}\n{s}"));

    // a wall never writes: S and x only say so, or do nothing
    let before = ctx.stack.am_silences().len();
    b.key(ctx, &["S"], "S refused on the wall", |s| {
        if s.has("┌ new silence ") {
            return Err("the silence form opened on the wall".into());
        }
        if s.status().contains("read-only") {
            Ok(())
        } else {
            Err(format!("status bar: {:?}", s.status()))
        }
    });
    b.tmux.keys(&["x"]);
    thread::sleep(Duration::from_millis(500));
    let s = b.tmux.capture();
    assert!(
        screen::find_big(&s.lines(), "ALL OK").is_some() && !s.has("┌ "),
        "x changed the wall\n{s}"
    );
    assert_eq!(
        ctx.stack.am_silences().len(),
        before,
        "the wall created or changed a silence"
    );

    let t = Instant::now();
    b.tmux.keys(&["q"]);
    let code = b.expect_exit_restored("q (wall)", t);
    assert_eq!(code, 0, "exit code after q\n{}", b.tmux.capture());
    ctx.key_latencies.push((
        "[\"q\"]: wall exited, terminal restored".into(),
        secs(t.elapsed()),
    ));
}

/// The time in the header's `◀◀ REPLAY <date> <time> UTC`.
fn replay_time(s: &Screen) -> Result<chrono::DateTime<chrono::Utc>, String> {
    let h = s.header();
    let rest = h
        .split_once("◀◀ REPLAY ")
        .map(|(_, r)| r)
        .ok_or_else(|| format!("no `◀◀ REPLAY` in the header: {h:?}"))?;
    let (t, _) = rest
        .split_once(" UTC")
        .ok_or_else(|| format!("no ` UTC` after REPLAY: {h:?}"))?;
    chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S")
        .map(|t| t.and_utc())
        .map_err(|e| format!("REPLAY time {t:?}: {e}"))
}

/// (g) Replay by keys: `[` ten times steps ten refresh intervals (10 s) back, the header
/// says `◀◀ REPLAY <time> UTC` and the fleet still shows; `.` returns to live.
fn board_replay_keys(ctx: &mut Ctx) {
    // Ten seconds back must be inside the stack's history, whichever scenario ran first.
    let age = ctx.ready_at.elapsed();
    if age < secs_d(15) {
        thread::sleep(secs_d(15) - age);
    }
    let b = ctx.board("board-replay", "", "");
    b.tmux
        .wait("the full grid", Instant::now(), BOARD_UP, screen_full_grid);
    thread::sleep(secs_d(3));
    let sent = chrono::Utc::now();
    let s = b.key(
        ctx,
        &["[", "[", "[", "[", "[", "[", "[", "[", "[", "["],
        "REPLAY 10 s back, with data",
        |s| {
            let at = replay_time(s)?;
            let back = (chrono::Utc::now() - at).num_milliseconds() as f64 / 1000.0;
            if !(9.0..=14.0).contains(&back) {
                return Err(format!("REPLAY {at} is {back:.1}s back, want ~10s"));
            }
            screen_only_hosts(s, &fleet_names())?;
            if !s.status().contains("prometheus ✓") {
                return Err(format!("status bar: {:?}", s.status()));
            }
            Ok(())
        },
    );
    let at = replay_time(&s).unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "e2e:   replay at {at} ({:.1}s before the keys)\n  header: {}\n  status: {}",
        (sent - at).num_milliseconds() as f64 / 1000.0,
        s.header().trim_end(),
        s.status().trim_end()
    );
    b.key(ctx, &["."], "live again", |s| {
        if s.header().contains("REPLAY") {
            return Err(format!("header: {:?}", s.header()));
        }
        screen_full_grid(s)
    });
    b.tmux.keys(&["q"]);
    let code = b.expect_exit_restored("q (replay)", Instant::now());
    assert_eq!(code, 0, "exit code after q\n{}", b.tmux.capture());
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
    /// The last scenario failed: heal the stack before the next.
    healthy: bool,
    /// When the stack became ready (scenarios that look back in time wait for history).
    ready_at: Instant,
    /// (what, seconds from the fault to the first snapshot or screen showing it)
    timings: Vec<(String, f64)>,
    /// (what, seconds from a key sent to the board to the screen showing its effect)
    key_latencies: Vec<(String, f64)>,
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

    /// Keeps the stack's logs and data when it stops: when dropped, and when its owner
    /// watchdog stops it after the test process exited (the `keep` file tells it).
    fn keep_on_drop(&mut self) {
        self.keep = true;
        let _ = std::fs::write(self.dir.join("keep"), "a scenario failed\n");
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

    /// `scripts/stack.sh wait-alert DIR ARGS...` (an alert reaching, or with `--gone`
    /// leaving, Alertmanager); panics with its output when it times out. Returns the seconds
    /// it reports until Alertmanager showed it (or the time it took).
    fn wait_alert(&self, args: &[&str]) -> f64 {
        let t = Instant::now();
        let out = Command::new("bash")
            .arg(Self::script())
            .arg("wait-alert")
            .arg(&self.dir)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("could not run stack.sh wait-alert: {e}"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "stack.sh wait-alert {} failed ({}):\n{stdout}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let reported = stdout
            .lines()
            .last()
            .and_then(|l| serde_json::from_str::<Value>(l).ok())
            .and_then(|j| j["timings_s"]["am"].as_f64());
        reported.unwrap_or_else(|| secs(t.elapsed()))
    }

    /// `GET` of `path_and_query` on the stack's Alertmanager: its JSON answer; panics on
    /// anything but 200.
    fn am_get(&self, path_and_query: &str) -> Value {
        let (status, body) = am_request(&self.am_url(), "GET", path_and_query)
            .unwrap_or_else(|e| panic!("GET {path_and_query} from Alertmanager: {e}"));
        assert!(
            status == 200,
            "GET {path_and_query} from Alertmanager: HTTP {status}\n{body}"
        );
        serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("GET {path_and_query}: not JSON ({e}): {body}"))
    }

    /// Every silence Alertmanager holds (active, pending and expired).
    fn am_silences(&self) -> Vec<Value> {
        self.am_get("/api/v2/silences")
            .as_array()
            .cloned()
            .unwrap_or_default()
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

/// One plain HTTP/1.0 request to Alertmanager at `am_url` (`http://127.0.0.1:PORT`):
/// (status code, body).
fn am_request(am_url: &str, method: &str, path_and_query: &str) -> Result<(u16, String), String> {
    let hostport = am_url
        .strip_prefix("http://")
        .ok_or_else(|| format!("AM_URL {am_url} is not http://"))?
        .trim_end_matches('/');
    let mut conn = std::net::TcpStream::connect(hostport)
        .map_err(|e| format!("connect to {hostport}: {e}"))?;
    conn.set_read_timeout(Some(secs_d(10)))
        .map_err(|e| format!("set_read_timeout: {e}"))?;
    write!(
        conn,
        "{method} {path_and_query} HTTP/1.0\r\nHost: {hostport}\r\nAccept: application/json\r\n\r\n"
    )
    .map_err(|e| format!("write: {e}"))?;
    let mut raw = String::new();
    conn.read_to_string(&mut raw)
        .map_err(|e| format!("read: {e}"))?;
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no end of the HTTP header in {raw:?}"))?;
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("no HTTP status in {head:?}"))?;
    Ok((status, body.to_string()))
}

/// Expires, when dropped, every active or pending silence in Alertmanager created by
/// `author` (the silences an interactive scenario makes), also when the scenario fails.
struct SilenceCleanup {
    am_url: String,
    author: &'static str,
}

impl SilenceCleanup {
    fn run(&self) {
        let list = match am_request(&self.am_url, "GET", "/api/v2/silences") {
            Ok((200, body)) => serde_json::from_str::<Value>(&body).unwrap_or(Value::Null),
            Ok((code, body)) => {
                eprintln!("e2e: listing silences for cleanup: HTTP {code} {body}");
                return;
            }
            Err(e) => {
                eprintln!("e2e: listing silences for cleanup: {e}");
                return;
            }
        };
        for s in list.as_array().into_iter().flatten() {
            let live = matches!(s["status"]["state"].as_str(), Some("active" | "pending"));
            if live && s["createdBy"].as_str() == Some(self.author) {
                let id = s["id"].as_str().unwrap_or_default();
                match am_request(&self.am_url, "DELETE", &format!("/api/v2/silence/{id}")) {
                    Ok((200, _)) => eprintln!("e2e:   expired leftover silence {id}"),
                    Ok((code, body)) => eprintln!("e2e: expiring silence {id}: HTTP {code} {body}"),
                    Err(e) => eprintln!("e2e: expiring silence {id}: {e}"),
                }
            }
        }
    }
}

impl Drop for SilenceCleanup {
    fn drop(&mut self) {
        self.run();
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
