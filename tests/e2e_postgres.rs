//! End-to-end: PostgreSQL streaming replication and a mixed MySQL + PostgreSQL board, read
//! by the real binary through a real Prometheus.
//!
//! `STACK_POSTGRES=1 scripts/stack.sh start` (with one MariaDB cluster, node_exporter and
//! VictoriaMetrics off) brings up, on 127.0.0.1 only: MariaDB `payments` = db1 -> db2, db3,
//! and PostgreSQL `ledger` = pg1 -> pg2, pg3, and pg4 cascading from pg2 (initdb +
//! `pg_basebackup -R`, a slot each), one postgres_exporter per server. Each fault comes from `scripts/stack.sh fault`; every check
//! polls `fleetboard snapshot --preset mixed --format json` and prints the time from the
//! fault to the board showing it.
//!
//! Knobs: `FLEETBOARD_SKIP_E2E=1` skips (loudly); `FLEETBOARD_E2E_SCENARIOS=a,b` runs only the
//! named scenarios (and nothing at all when it names none of these);
//! `FLEETBOARD_E2E_PG_STACK=DIR` uses a stack already started that way (left running).
//! About 60 s.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_fleetboard");
const SCENARIOS: &[&str] = &[
    "pg_mixed_healthy",
    "pg_doctor",
    "pg_replica_cut",
    "pg_replay_paused",
    "pg_inactive_slot",
    "pg_server_stopped",
    "pg_cascade_upstream_stopped",
    "patroni_healthy",
    "patroni_failover",
    "patroni_no_leader",
];

/// Lag thresholds low enough that a paused replay shows within seconds.
const CONFIG: &str = r#"
[[overrides]]
metric = "lag"
cluster = "ledger"
warn = 5.0
crit = 120.0
"#;

struct Stack {
    dir: PathBuf,
    env: HashMap<String, String>,
    owned: bool,
}

impl Stack {
    fn start() -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        if let Ok(d) = std::env::var("FLEETBOARD_E2E_PG_STACK") {
            let dir = PathBuf::from(d);
            let env = read_env(&dir.join("stack.env"));
            return Self {
                dir,
                env,
                owned: false,
            };
        }
        let dir = tempfile::Builder::new()
            .prefix("fleetpg.")
            .tempdir()
            .unwrap()
            .keep();
        let out = Command::new("bash")
            .arg(root.join("scripts/stack.sh"))
            .args(["start", dir.to_str().unwrap()])
            .env("STACK_ORDERS", "0")
            .env("STACK_VM", "0")
            .env("STACK_NODE", "0")
            .env("STACK_POSTGRES", "1")
            .env("STACK_PG_CASCADE", "1")
            .env("STACK_PATRONI", "1")
            .env("STACK_OWNER_PID", std::process::id().to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "the PostgreSQL stack did not start (run `scripts/stack.sh install` as root when \
             packages are missing; FLEETBOARD_SKIP_E2E=1 skips):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let env = read_env(&dir.join("stack.env"));
        Self {
            dir,
            env,
            owned: true,
        }
    }

    fn var(&self, k: &str) -> &str {
        self.env.get(k).map_or("", String::as_str)
    }

    /// Runs a fault and returns when it has been applied.
    fn fault(&self, args: &[&str]) -> Instant {
        self.fault_out(args).0
    }

    /// Runs a fault; returns when it has been applied, and what it printed on stdout.
    fn fault_out(&self, args: &[&str]) -> (Instant, String) {
        let out = Command::new("bash")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/stack.sh"))
            .arg("fault")
            .arg(&self.dir)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "fault {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (
            Instant::now(),
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        )
    }

    fn snapshot(&self) -> Result<(i32, Value), String> {
        let cfg = self.dir.join("fb-pg.toml");
        std::fs::write(&cfg, CONFIG).unwrap();
        let out = Command::new(BIN)
            .args(["snapshot", "--format", "json", "--preset", "mixed", "-p"])
            .arg(self.var("PROM_URL"))
            .arg("-a")
            .arg(self.var("AM_URL"))
            .arg("-c")
            .arg(&cfg)
            .output()
            .map_err(|e| e.to_string())?;
        let j: Value = serde_json::from_slice(&out.stdout).map_err(|e| {
            format!(
                "not JSON ({e}): {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        Ok((out.status.code().unwrap_or(-1), j))
    }

    /// `fleetboard doctor --format json` on the stack, with the board's config.
    fn doctor(&self, preset: &str) -> Value {
        let cfg = self.dir.join("fb-pg.toml");
        std::fs::write(&cfg, CONFIG).unwrap();
        let out = Command::new(BIN)
            .args(["doctor", "--format", "json", "--preset", preset, "-p"])
            .arg(self.var("PROM_URL"))
            .arg("-a")
            .arg(self.var("AM_URL"))
            .arg("-c")
            .arg(&cfg)
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "doctor: not JSON ({e}): {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }

    /// Polls snapshots until `check` passes, for at most `limit`; prints the time since `t0`.
    fn poll(
        &self,
        what: &str,
        t0: Instant,
        limit: Duration,
        check: impl Fn(&Value) -> Result<(), String>,
    ) -> Value {
        loop {
            let last = match self.snapshot() {
                Ok((_, j)) => match check(&j) {
                    Ok(()) => {
                        eprintln!(
                            "e2e-pg: {what}: board shows it {:.1}s after the fault",
                            t0.elapsed().as_secs_f64()
                        );
                        return j;
                    }
                    Err(e) => format!("{e}\n{}", summary(&j)),
                },
                Err(e) => e,
            };
            assert!(
                t0.elapsed() < limit,
                "{what}: not within {limit:?}; last: {last}"
            );
            thread::sleep(Duration::from_millis(250));
        }
    }

    /// An instant query's values by instance.
    fn query(&self, expr: &str) -> HashMap<String, f64> {
        let out = Command::new("curl")
            .args(["-fsS", "--data-urlencode"])
            .arg(format!("query={expr}"))
            .arg(format!("{}/api/v1/query", self.var("PROM_URL")))
            .output()
            .unwrap();
        let j: Value = serde_json::from_slice(&out.stdout).unwrap();
        j["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["metric"]["instance"].as_str().unwrap_or("").to_string(),
                    r["value"][1].as_str().unwrap().parse().unwrap(),
                )
            })
            .collect()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if self.owned {
            let purge = if thread::panicking() { "" } else { "--purge" };
            let _ = Command::new("bash")
                .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/stack.sh"))
                .arg("stop")
                .arg(&self.dir)
                .arg(purge)
                .output();
        }
    }
}

fn read_env(path: &Path) -> HashMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
        .collect()
}

fn summary(j: &Value) -> String {
    j["hosts"]
        .as_array()
        .map(|hs| {
            hs.iter()
                .map(|h| {
                    format!(
                        "  {}/{} {} {} {} {} {}\n",
                        h["cluster"],
                        h["name"],
                        h["health"],
                        h["engine"],
                        h["role"],
                        h["reasons"],
                        h["replication"]
                    )
                })
                .collect()
        })
        .unwrap_or_else(|| j.to_string())
}

fn host<'a>(j: &'a Value, name: &str) -> Result<&'a Value, String> {
    j["hosts"]
        .as_array()
        .and_then(|hs| hs.iter().find(|h| h["name"] == name))
        .ok_or_else(|| format!("no host {name}"))
}

fn want(h: &Value, key: &str, value: &str) -> Result<(), String> {
    if h[key] == value {
        Ok(())
    } else {
        Err(format!("{}: {key} is {}, want {value}", h["name"], h[key]))
    }
}

fn reason_has(h: &Value, text: &str) -> Result<(), String> {
    let rs = h["reasons"].as_array().cloned().unwrap_or_default();
    if rs
        .iter()
        .any(|r| r.as_str().is_some_and(|r| r.contains(text)))
    {
        Ok(())
    } else {
        Err(format!("{}: no reason with {text:?} in {rs:?}", h["name"]))
    }
}

/// Every server of both clusters healthy, each judged by its own engine.
fn all_healthy(j: &Value) -> Result<(), String> {
    for (name, engine, role) in [
        ("db1", "mysql", "primary"),
        ("db2", "mysql", "replica"),
        ("db3", "mysql", "replica"),
        ("pg1", "postgres", "primary"),
        ("pg2", "postgres", "replica"),
        ("pg3", "postgres", "replica"),
        ("pg4", "postgres", "replica"),
    ] {
        let h = host(j, name)?;
        want(h, "health", "OK")?;
        want(h, "engine", engine)?;
        want(h, "role", role)?;
        let (source, cascading) = if name == "pg4" {
            ("pg2", true)
        } else {
            ("pg1", false)
        };
        if engine == "postgres"
            && role == "replica"
            && (h["replication"]["streaming"] != true
                || h["replication"]["source"] != source
                || (h["replication"]["cascading"] == true) != cascading)
        {
            return Err(format!("{name}: replication {}", h["replication"]));
        }
    }
    Ok(())
}

/// The Patroni cluster `billing` healthy: one leader named by Patroni, two replicas streaming
/// from it. Returns the leader.
fn billing_ok(j: &Value) -> Result<String, String> {
    let nodes = ["pgp1", "pgp2", "pgp3"];
    let mut leader = None;
    for n in nodes {
        let h = host(j, n)?;
        want(h, "health", "OK")?;
        want(h, "engine", "postgres")?;
        if !h["role_evidence"]
            .as_str()
            .is_some_and(|w| w.starts_with("patroni"))
        {
            return Err(format!("{n}: role evidence {}", h["role_evidence"]));
        }
        if h["role"] == "primary" {
            if leader.is_some() {
                return Err(format!("two leaders: {leader:?} and {n}"));
            }
            leader = Some(n.to_string());
        }
    }
    let leader = leader.ok_or("no leader")?;
    for n in nodes.iter().filter(|n| **n != leader) {
        let h = host(j, n)?;
        want(h, "role", "replica")?;
        if h["replication"]["streaming"] != true || h["replication"]["source"] != leader.as_str() {
            return Err(format!("{n}: replication {}", h["replication"]));
        }
    }
    Ok(leader)
}

#[test]
fn e2e_postgres() {
    if std::env::var("FLEETBOARD_SKIP_E2E").as_deref() == Ok("1") {
        eprintln!(
            "\n##  FLEETBOARD_SKIP_E2E=1: the PostgreSQL end-to-end tests were SKIPPED  ##\n"
        );
        return;
    }
    let only: Option<Vec<String>> = std::env::var("FLEETBOARD_E2E_SCENARIOS")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.split(',').map(|x| x.trim().to_string()).collect());
    let run = |s: &str| only.as_ref().is_none_or(|o| o.iter().any(|x| x == s));
    if !SCENARIOS.iter().any(|s| run(s)) {
        eprintln!("e2e-pg: no scenario of this file selected");
        return;
    }
    let st = Stack::start();
    let slow = Duration::from_secs(60);

    if run("pg_mixed_healthy") {
        let j = st.poll("mixed board healthy", Instant::now(), slow, all_healthy);
        // one query per metric for the whole fleet, both engines included
        assert!(j["notes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| !n.as_str().unwrap().contains("failed")));
    }

    if run("pg_doctor") {
        // Every replica's receiver is collected and every walsender row is named after its
        // replica (application_name = cluster_name = pgN): nothing to fix for PostgreSQL,
        // and no MySQL rule misreads the PostgreSQL series.
        for preset in ["postgres", "mixed"] {
            let d = st.doctor(preset);
            let findings = d["findings"].as_array().unwrap();
            let topics: Vec<&str> = findings
                .iter()
                .map(|f| f["topic"].as_str().unwrap())
                .collect();
            for bad in [
                "postgres receiver",
                "postgres application_name",
                "postgres replication",
                "replication",
                "naming",
            ] {
                assert!(
                    !topics.contains(&bad) || (bad == "naming" && preset == "mixed"),
                    "doctor --preset {preset}: unexpected [{bad}]: {d:#}"
                );
            }
            assert!(d["hosts"].as_u64().unwrap() >= 4, "{d:#}");
        }
    }

    if run("pg_replica_cut") {
        let t0 = st.fault(&["pg-cut", "pg3"]);
        st.poll("pg3 cut from pg1: CRIT, not streaming", t0, slow, |j| {
            let h = host(j, "pg3")?;
            want(h, "health", "CRIT")?;
            reason_has(h, "not streaming")?;
            if h["replication"]["streaming"] != false || !h["replication"]["lag_seconds"].is_null()
            {
                return Err(format!("pg3: replication {}", h["replication"]));
            }
            Ok(())
        });
        // the trap the board avoids: the exporter still says 0 s behind
        thread::sleep(Duration::from_secs(3));
        let lag = st.query("pg_replication_lag_seconds");
        assert_eq!(lag.get("pg3"), Some(&0.0), "{lag:?}");
        let j = st.snapshot().unwrap().1;
        want(host(&j, "pg3").unwrap(), "health", "CRIT").unwrap();
        let t0 = st.fault(&["pg-uncut", "pg3"]);
        st.poll("pg3 streaming again", t0, slow, all_healthy);
    }

    if run("pg_replay_paused") {
        let t0 = st.fault(&["pg-pause", "pg2"]);
        st.poll("pg2 replay paused under writes: lag WARN", t0, slow, |j| {
            let h = host(j, "pg2")?;
            want(h, "health", "WARN")?;
            reason_has(h, "lag ")?;
            if h["replication"]["streaming"] != true {
                return Err("pg2 still receives WAL: streaming".into());
            }
            Ok(())
        });
        let t0 = st.fault(&["pg-resume", "pg2"]);
        st.poll("pg2 caught up", t0, slow, all_healthy);
    }

    if run("pg_inactive_slot") {
        let t0 = st.fault(&["pg-slot"]);
        st.poll("inactive slot on pg1: WARN", t0, slow, |j| {
            let h = host(j, "pg1")?;
            want(h, "health", "WARN")?;
            reason_has(h, "idle slots 1")
        });
        let t0 = st.fault(&["pg-drop-slot"]);
        st.poll("slot dropped", t0, slow, all_healthy);
    }

    if run("pg_server_stopped") {
        let t0 = st.fault(&["pg-stop", "pg3"]);
        st.poll("pg3 stopped: DOWN", t0, slow, |j| {
            let h = host(j, "pg3")?;
            want(h, "health", "DOWN")?;
            reason_has(h, "postgres is down")
        });
        let t0 = st.fault(&["pg-start", "pg3"]);
        st.poll("pg3 back and streaming", t0, slow, all_healthy);
    }

    if run("pg_cascade_upstream_stopped") {
        let t0 = st.fault(&["pg-stop", "pg2"]);
        st.poll(
            "pg2 stopped: its cascading replica pg4 CRIT",
            t0,
            slow,
            |j| {
                want(host(j, "pg2")?, "health", "DOWN")?;
                let h = host(j, "pg4")?;
                want(h, "health", "CRIT")?;
                reason_has(h, "not streaming")
            },
        );
        let t0 = st.fault(&["pg-start", "pg2"]);
        st.poll(
            "pg2 back, pg4 streaming from it again",
            t0,
            slow,
            all_healthy,
        );
    }

    if run("patroni_healthy") {
        let j = st.poll(
            "Patroni cluster billing healthy",
            Instant::now(),
            slow,
            |j| billing_ok(j).map(|_| ()),
        );
        eprintln!("e2e-pg: billing's leader: {:?}", billing_ok(&j));
    }

    if run("patroni_failover") {
        let (t0, out) = st.fault_out(&["patroni", "stop-leader"]);
        let old = out.lines().last().unwrap_or_default().trim().to_string();
        assert!(old.starts_with("pgp"), "stop-leader printed {old:?}");
        st.poll(
            "billing's leader stopped: DOWN, another node leads",
            t0,
            slow,
            |j| {
                want(host(j, &old)?, "health", "DOWN")?;
                let others: Vec<&Value> = ["pgp1", "pgp2", "pgp3"]
                    .iter()
                    .filter(|n| **n != old)
                    .map(|n| host(j, n))
                    .collect::<Result<_, _>>()?;
                let leaders = others.iter().filter(|h| h["role"] == "primary").count();
                if leaders != 1 {
                    return Err(format!("{leaders} leaders among the survivors"));
                }
                for h in others {
                    want(h, "health", "OK")?;
                }
                Ok(())
            },
        );
        let t0 = st.fault(&["patroni", "start", &old]);
        st.poll("the old leader back as a replica", t0, slow, |j| {
            let leader = billing_ok(j)?;
            if leader == old {
                return Err(format!("{old} leads again"));
            }
            Ok(())
        });
    }

    if run("patroni_no_leader") {
        let (t0, out) = st.fault_out(&["patroni", "no-leader"]);
        // patronictl's own words come first; the old leader's name is the last line
        let old = out.lines().last().unwrap_or_default().trim().to_string();
        assert!(old.starts_with("pgp"), "no-leader printed {old:?}");
        st.poll("billing without leader: CRIT", t0, slow, |j| {
            want(host(j, &old)?, "health", "DOWN")?;
            for n in ["pgp1", "pgp2", "pgp3"].iter().filter(|n| **n != old) {
                let h = host(j, n)?;
                want(h, "health", "CRIT")?;
                reason_has(h, "billing has no leader")?;
            }
            Ok(())
        });
        let t0 = st.fault(&["patroni", "heal"]);
        st.poll("billing has a leader again", t0, slow, |j| {
            billing_ok(j).map(|_| ())
        });
    }
}
