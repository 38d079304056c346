//! End-to-end: replication setups real fleets run, read by the real binary through a real
//! Prometheus.
//!
//! `STACK_REPLICATION=1 scripts/stack.sh start` (with the main MariaDB clusters, node_exporter
//! and VictoriaMetrics off) brings up, on 127.0.0.1 only: MariaDB `src1`, `src2` (primaries),
//! `agg1` (multi-source replica of both, connections 'a' and 'b'), `dr1` (MASTER_DELAY replica
//! of src1), pt-heartbeat on src1, a mysqld_exporter per server with `--collect.heartbeat`, and
//! fixture exporters (MySQL 8.4 replica names, Group Replication, Galera: exporter text written
//! from the documented metric names) scraped with `honor_labels`, and a three-node MariaDB
//! Galera cluster `g1`..`g3` (galera-4, rsync state transfer). Faults come from
//! `scripts/stack.sh fault`; every check polls `fleetboard snapshot --format json`.
//!
//! Knobs: `FLEETBOARD_SKIP_E2E=1` skips (loudly); `FLEETBOARD_E2E_SCENARIOS=a,b` runs only the
//! named scenarios (and nothing at all when it names none of these);
//! `FLEETBOARD_E2E_REPL_STACK=DIR` uses a stack already started that way (left running).
//! About 2 minutes (the stack starts in 30-50 s, dr1 needs its intended delay to settle).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_fleetboard");
const SCENARIOS: &[&str] = &[
    "fixtures_via_prometheus",
    "multisource_connection_stopped",
    "delayed_replica",
    "heartbeat_lag",
    "exporter_down",
    "galera",
];
/// The intended delay of dr1, seconds (REPL_DELAY of the stack).
const DELAY: u64 = 20;

/// The config snippet the README gives for pt-heartbeat lag.
const HEARTBEAT: &str = r#"
[metrics.lag]
expr = 'mysql_heartbeat_now_timestamp_seconds{cluster=~"$cluster",instance=~"$host"} - mysql_heartbeat_stored_timestamp_seconds{cluster=~"$cluster",instance=~"$host"}'
"#;

struct Stack {
    dir: PathBuf,
    env: HashMap<String, String>,
    owned: bool,
}

impl Stack {
    fn start() -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        if let Ok(d) = std::env::var("FLEETBOARD_E2E_REPL_STACK") {
            let dir = PathBuf::from(d);
            let env = read_env(&dir.join("stack.env"));
            return Self {
                dir,
                env,
                owned: false,
            };
        }
        let dir = tempfile::Builder::new()
            .prefix("fleetrepl.")
            .tempdir()
            .unwrap()
            .keep();
        let out = Command::new("bash")
            .arg(root.join("scripts/stack.sh"))
            .args(["start", dir.to_str().unwrap()])
            .env("STACK_MARIADB", "0")
            .env("STACK_VM", "0")
            .env("STACK_NODE", "0")
            .env("STACK_REPLICATION", "1")
            .env("REPL_DELAY", DELAY.to_string())
            .env("STACK_OWNER_PID", std::process::id().to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "the replication stack did not start (run `scripts/stack.sh install` as root when \
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

    fn fault(&self, args: &[&str]) {
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
    }

    /// One snapshot: exit code and JSON.
    fn snapshot(&self, config: &str) -> Result<(i32, Value), String> {
        let cfg = self.dir.join(format!("fb-{}.toml", config.len()));
        std::fs::write(&cfg, config).unwrap();
        let out = Command::new(BIN)
            .args(["snapshot", "--format", "json", "-p"])
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

    /// Polls snapshots until `check` passes, for at most `limit`.
    fn poll(
        &self,
        what: &str,
        config: &str,
        limit: Duration,
        check: impl Fn(&Value) -> Result<(), String>,
    ) -> Value {
        let t0 = Instant::now();
        loop {
            let last = match self.snapshot(config) {
                Ok((_, j)) => match check(&j) {
                    Ok(()) => {
                        eprintln!(
                            "e2e-repl: {what}: ok after {:.1}s",
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
            thread::sleep(Duration::from_millis(500));
        }
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
                        "  {}/{} {} {} {} {}\n",
                        h["cluster"],
                        h["name"],
                        h["health"],
                        h["role"],
                        h["reasons"],
                        h["replication"]
                    )
                })
                .collect()
        })
        .unwrap_or_else(|| j.to_string())
}

fn host<'a>(j: &'a Value, cluster: &str, name: &str) -> Result<&'a Value, String> {
    j["hosts"]
        .as_array()
        .and_then(|hs| {
            hs.iter()
                .find(|h| h["cluster"] == cluster && h["name"] == name)
        })
        .ok_or_else(|| format!("no host {cluster}/{name}"))
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

fn channel<'a>(h: &'a Value, name: &str) -> Result<&'a Value, String> {
    h["replication"]["channels"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .ok_or_else(|| format!("{}: no channel {name}", h["name"]))
}

#[test]
fn e2e_replication_variants() {
    if std::env::var("FLEETBOARD_SKIP_E2E").as_deref() == Ok("1") {
        eprintln!(
            "\n##  FLEETBOARD_SKIP_E2E=1: the replication end-to-end tests were SKIPPED  ##\n"
        );
        return;
    }
    let only: Option<Vec<String>> = std::env::var("FLEETBOARD_E2E_SCENARIOS")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.split(',').map(|x| x.trim().to_string()).collect());
    let run = |name: &str| only.as_ref().is_none_or(|o| o.iter().any(|n| n == name));
    if !SCENARIOS.iter().any(|s| run(s)) {
        eprintln!("e2e-repl: FLEETBOARD_E2E_SCENARIOS names none of {SCENARIOS:?}; nothing to do");
        return;
    }
    let t0 = Instant::now();
    let stack = Stack::start();
    eprintln!(
        "e2e-repl: stack ready in {:.1}s",
        t0.elapsed().as_secs_f64()
    );
    let limit = Duration::from_secs(60);

    if run("fixtures_via_prometheus") {
        // MySQL 8.4 names, Group Replication and Galera as exporter text, scraped by Prometheus.
        stack.poll("fixtures read through Prometheus", "", limit, |j| {
            let db2 = host(j, "fx-orders", "db2")?;
            want(db2, "health", "OK")?;
            want(db2, "role", "replica")?;
            if db2["replication"]["naming"] != "source_replica" {
                return Err(format!("db2 naming {}", db2["replication"]["naming"]));
            }
            for n in ["db3", "db4", "db5"] {
                let h = host(j, "fx-orders", n)?;
                want(h, "health", "CRIT")?;
                want(h, "role", "replica")?;
            }
            want(host(j, "fx-orders", "db1")?, "role", "primary")?;
            let gr1 = host(j, "fx-alpha", "gr1")?;
            want(gr1, "role", "group_primary")?;
            want(gr1, "health", "OK")?;
            for n in ["gr2", "gr3"] {
                let h = host(j, "fx-alpha", n)?;
                want(h, "role", "group_secondary")?;
                want(h, "health", "OK")?;
            }
            let gr5 = host(j, "fx-beta", "gr5")?;
            want(gr5, "health", "CRIT")?;
            reason_has(gr5, "no quorum")?;
            // The same servers scraped twice (a replica label apart): one host each, every
            // figure read once (the load per core of 4 cores, not of 8), and the matching
            // of `/ on(...)` does not fail for the rest of the fleet.
            let metric = |h: &Value, k: &str| {
                h["metrics"]
                    .as_array()
                    .and_then(|ms| ms.iter().find(|m| m["name"] == k))
                    .map(|m| (m["value"].as_f64(), m["state"].as_str().map(str::to_owned)))
                    .ok_or_else(|| format!("{}: no metric {k}", h["name"]))
            };
            let d1 = host(j, "fx-dup", "d1")?;
            let d1_conn = metric(d1, "connections")?;
            let d1_load = metric(d1, "load")?;
            if d1_conn.0 != Some(0.6) || d1_load != (Some(1.5), Some("WARN".into())) {
                return Err(format!("d1 connections {d1_conn:?}, load {d1_load:?}"));
            }
            want(d1, "health", "WARN")?;
            want(host(j, "fx-dup", "d2")?, "health", "OK")?;
            let db1_conn = metric(host(j, "fx-orders", "db1")?, "connections")?;
            if db1_conn.0.is_none() {
                return Err(format!("fx-orders/db1 connections {db1_conn:?}"));
            }
            want(host(j, "fx-galera", "g1")?, "health", "OK")?;
            want(host(j, "fx-galera", "g2")?, "health", "WARN")?;
            want(host(j, "fx-galera", "g3")?, "health", "CRIT")?;
            // Real MariaDB has wsrep compiled in (wsrep_cluster_status 0): no Galera node.
            for n in ["src1", "src2"] {
                let h = host(j, "hub", n)?;
                want(h, "role", "primary")?;
                want(h, "health", "OK")?;
            }
            let agg1 = host(j, "hub", "agg1")?;
            want(agg1, "role", "replica")?;
            want(agg1, "health", "OK")?;
            channel(agg1, "a")?;
            channel(agg1, "b")?;
            if agg1["replication"]["naming"] != "master_slave" {
                return Err(format!("agg1 naming {}", agg1["replication"]["naming"]));
            }
            Ok(())
        });
    }

    if run("multisource_connection_stopped") {
        stack.fault(&["sql", "agg1", "STOP SLAVE 'b' SQL_THREAD"]);
        stack.poll("agg1 CRIT naming connection b", "", limit, |j| {
            let agg1 = host(j, "hub", "agg1")?;
            want(agg1, "health", "CRIT")?;
            reason_has(agg1, "sql thread stopped on channel 'b'")?;
            let b = channel(agg1, "b")?;
            if !(b["lag_seconds"].is_null() && b["sql_running"] == false) {
                return Err(format!("channel b: {b}"));
            }
            // The other connection keeps its lag.
            let a = channel(agg1, "a")?;
            if !a["lag_seconds"].is_number() || a["health"] != "OK" {
                return Err(format!("channel a: {a}"));
            }
            Ok(())
        });
        stack.fault(&["sql", "agg1", "START SLAVE 'b'"]);
        stack.poll("agg1 OK again", "", limit, |j| {
            want(host(j, "hub", "agg1")?, "health", "OK")
        });
    }

    if run("delayed_replica") {
        let tight = "[metrics.lag]\nwarn = 3.0\ncrit = 6.0\n";
        // Settled at its intended delay, dr1 is OK with lag thresholds far below the delay.
        let j = stack.poll(
            "dr1 OK at its intended delay",
            tight,
            Duration::from_secs(u64::max(60, DELAY * 3)),
            |j| {
                let dr1 = host(j, "hub", "dr1")?;
                want(dr1, "health", "OK")?;
                let r = &dr1["replication"];
                if r["delay_seconds"].as_f64() != Some(DELAY as f64) {
                    return Err(format!("dr1 delay {}", r["delay_seconds"]));
                }
                match r["lag_seconds"].as_f64() {
                    Some(l) if l >= (DELAY - 3) as f64 => Ok(()),
                    l => Err(format!("dr1 lag {l:?}, not at its delay yet")),
                }
            },
        );
        eprintln!(
            "e2e-repl: dr1 {}",
            host(&j, "hub", "dr1").unwrap()["replication"]
        );
        // Its SQL thread held back: real lag beyond the delay, CRIT saying so.
        stack.fault(&["hold", "dr1", "120"]);
        stack.poll("dr1 CRIT beyond its delay", tight, limit, |j| {
            let dr1 = host(j, "hub", "dr1")?;
            want(dr1, "health", "CRIT")?;
            reason_has(dr1, &format!("beyond its intended {DELAY}s delay"))
        });
        stack.fault(&["release", "dr1"]);
        stack.poll("dr1 OK after the release", tight, limit, |j| {
            want(host(j, "hub", "dr1")?, "health", "OK")
        });
    }

    if run("heartbeat_lag") {
        let lag = |j: &Value| -> Result<f64, String> {
            host(j, "hub", "agg1")?["replication"]["lag_seconds"]
                .as_f64()
                .ok_or_else(|| "agg1 has no lag".to_string())
        };
        stack.poll(
            "heartbeat lag: src1 primary, agg1 lag small",
            HEARTBEAT,
            limit,
            |j| {
                let src1 = host(j, "hub", "src1")?;
                want(src1, "role", "primary")?;
                want(src1, "health", "OK")?;
                let l = lag(j)?;
                if l < 5.0 {
                    Ok(())
                } else {
                    Err(format!("agg1 heartbeat lag {l}"))
                }
            },
        );
        // The heartbeat arrives through connection 'a': stop it and the lag grows.
        stack.fault(&["sql", "agg1", "STOP SLAVE 'a'"]);
        let first = stack.poll("agg1 heartbeat lag growing", HEARTBEAT, limit, |j| {
            let l = lag(j)?;
            if l >= 3.0 {
                Ok(())
            } else {
                Err(format!("agg1 heartbeat lag {l}"))
            }
        });
        let l1 = lag(&first).unwrap();
        stack.poll("agg1 heartbeat lag still growing", HEARTBEAT, limit, |j| {
            let src1 = host(j, "hub", "src1")?;
            want(src1, "role", "primary")?;
            let l = lag(j)?;
            if l >= l1 + 2.0 {
                Ok(())
            } else {
                Err(format!("agg1 heartbeat lag {l}, was {l1}"))
            }
        });
        stack.fault(&["sql", "agg1", "START SLAVE 'a'"]);
        stack.poll("agg1 OK again", "", limit, |j| {
            want(host(j, "hub", "agg1")?, "health", "OK")
        });
    }

    if run("exporter_down") {
        stack.fault(&["kill-exporter", "src2"]);
        stack.poll("src2 exporter down, not DOWN", "", limit, |j| {
            let src2 = host(j, "hub", "src2")?;
            if src2["exporter_down"] != true {
                return Err(format!("src2 exporter_down {}", src2["exporter_down"]));
            }
            want(src2, "health", "UNKNOWN")?;
            reason_has(src2, "exporter down")?;
            // One refresh, loopback `master_host`, no server_id: nothing can tell its role.
            reason_has(src2, "up=0")
        });
        stack.fault(&["start-exporter", "src2"]);
        stack.poll("src2 back", "", limit, |j| {
            let src2 = host(j, "hub", "src2")?;
            want(src2, "health", "OK")?;
            if src2["exporter_down"] == false {
                Ok(())
            } else {
                Err("still exporter down".into())
            }
        });
    }
    if run("galera") {
        // A real three-node MariaDB Galera cluster (galera-4). Last: it is not healed.
        stack.poll("galera synced", "", limit, |j| {
            for n in ["g1", "g2", "g3"] {
                let h = host(j, "galera", n)?;
                want(h, "role", "galera_node")?;
                want(h, "health", "OK")?;
                if h["galera"]["state_name"] != "Synced" || h["galera"]["cluster_size"] != 3.0 {
                    return Err(format!("{n}: {}", h["galera"]));
                }
            }
            Ok(())
        });
        stack.fault(&["sql", "g2", "SET GLOBAL wsrep_desync=ON"]);
        stack.poll("g2 desynced: WARN", "", limit, |j| {
            let g2 = host(j, "galera", "g2")?;
            want(g2, "health", "WARN")?;
            reason_has(g2, "Donor/Desynced")
        });
        stack.fault(&["sql", "g2", "SET GLOBAL wsrep_desync=OFF"]);
        stack.poll("g2 synced again", "", limit, |j| {
            want(host(j, "galera", "g2")?, "health", "OK")
        });
        // Two of three killed: g1 is left outside the primary component.
        stack.fault(&["kill", "g3"]);
        stack.fault(&["kill", "g2"]);
        stack.poll("g1 non-primary: CRIT; g2, g3 DOWN", "", limit, |j| {
            let g1 = host(j, "galera", "g1")?;
            want(g1, "health", "CRIT")?;
            reason_has(g1, "not in the primary component")?;
            want(host(j, "galera", "g2")?, "health", "DOWN")?;
            want(host(j, "galera", "g3")?, "health", "DOWN")
        });
    }
    eprintln!("e2e-repl: done in {:.1}s", t0.elapsed().as_secs_f64());
}
