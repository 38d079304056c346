//! End-to-end: PMM's label layout on the real stack, and `fleetboard doctor`.
//!
//! `STACK_PMM=1 scripts/stack.sh start` adds (scripts/stack/pmm.sh) a second Prometheus
//! whose `relabel_configs` give the stack's real exporters PMM's labels (an `instance` per
//! exporter, `node_name` on both, `service_name` and `cluster` on mysqld_exporter only, no
//! cluster on node_exporter), a PMM-style alert rule (`by (service_name, node_name)`), its
//! own Alertmanager, and VictoriaMetrics serving the API under `/prometheus`.
//!
//! Knobs: `FLEETBOARD_SKIP_E2E=1` skips; `FLEETBOARD_E2E_PMM_STACK=DIR` uses a stack already
//! started with `STACK_PMM=1 scripts/stack.sh start DIR` (left running).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_fleetboard");

/// PMM in one line, plus load thresholds: node_exporter reports this (busy, shared)
/// machine's real load, and the test is about labels, not about this machine.
const PMM_CONFIG: &str = "\
[identity]
preset = \"pmm\"

[metrics.load]
warn = 10000.0
crit = 20000.0
";

const FLEET: &[(&str, &str)] = &[
    ("orders", "db4"),
    ("orders", "db5"),
    ("payments", "db1"),
    ("payments", "db2"),
    ("payments", "db3"),
];

struct Stack {
    dir: PathBuf,
    env: HashMap<String, String>,
    owned: bool,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

impl Stack {
    fn start() -> Self {
        if let Ok(d) = std::env::var("FLEETBOARD_E2E_PMM_STACK") {
            let dir = PathBuf::from(d);
            return Self {
                env: read_env(&dir),
                dir,
                owned: false,
            };
        }
        let dir = std::env::temp_dir().join(format!("fleetboard-e2e-pmm-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let st = Command::new(root().join("scripts/stack.sh"))
            .arg("start")
            .arg(&dir)
            .env("STACK_PMM", "1")
            .env("STACK_VM", "0")
            .env("STACK_OWNER_PID", std::process::id().to_string())
            .status()
            .expect("run scripts/stack.sh start");
        assert!(
            st.success(),
            "the stack did not start (logs in {})",
            dir.display()
        );
        Self {
            env: read_env(&dir),
            dir,
            owned: true,
        }
    }

    fn get(&self, k: &str) -> &str {
        self.env
            .get(k)
            .unwrap_or_else(|| panic!("{k} missing from stack.env"))
    }

    fn fault(&self, args: &[&str]) {
        let st = Command::new(root().join("scripts/stack.sh"))
            .arg("fault")
            .arg(&self.dir)
            .args(args)
            .status()
            .unwrap();
        assert!(st.success(), "fault {args:?} failed");
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if self.owned {
            let mut c = Command::new(root().join("scripts/stack.sh"));
            c.arg("stop").arg(&self.dir);
            if !thread::panicking() {
                c.arg("--purge");
            }
            let _ = c.status();
        }
    }
}

fn read_env(dir: &Path) -> HashMap<String, String> {
    std::fs::read_to_string(dir.join("stack.env"))
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
        .collect()
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str], config: &Path) -> Run {
    let out = Command::new(BIN)
        .args(args)
        .arg("-c")
        .arg(config)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Polls `f` until it returns `Ok`, or fails with the last `Err` after `within`.
fn eventually<T>(what: &str, within: Duration, mut f: impl FnMut() -> Result<T, String>) -> T {
    let t = Instant::now();
    loop {
        match f() {
            Ok(v) => {
                eprintln!("e2e pmm: {what}: after {:.1}s", t.elapsed().as_secs_f64());
                return v;
            }
            Err(e) if t.elapsed() > within => panic!("{what}: not within {within:?}: {e}"),
            Err(_) => thread::sleep(Duration::from_millis(500)),
        }
    }
}

fn hosts(snap: &Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = snap["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["cluster"].as_str().unwrap().to_string(),
                h["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn pmm_snapshot(url: &str, am: &str, cfg: &Path) -> Result<Value, String> {
    let r = run(&["snapshot", "-p", url, "-a", am, "--format", "json"], cfg);
    serde_json::from_str(&r.stdout).map_err(|e| format!("{e}: {} {}", r.stdout, r.stderr))
}

fn fleet_is(snap: &Value) -> Result<(), String> {
    let want: Vec<(String, String)> = FLEET
        .iter()
        .map(|(c, h)| ((*c).to_string(), (*h).to_string()))
        .collect();
    let got = hosts(snap);
    if got != want {
        return Err(format!("hosts {got:?}, want each server once: {want:?}"));
    }
    Ok(())
}

fn healthy(snap: &Value) -> Result<(), String> {
    fleet_is(snap)?;
    let load_everywhere = snap["hosts"].as_array().unwrap().iter().all(|h| {
        h["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == "load" && m["value"].is_number())
    });
    if snap["exit_code"] != 0 || !load_everywhere || snap["notes"] != serde_json::json!([]) {
        return Err(format!("not a healthy fleet with load joined: {snap}"));
    }
    Ok(())
}

#[test]
fn e2e_pmm_layout_and_doctor() {
    if std::env::var("FLEETBOARD_SKIP_E2E").as_deref() == Ok("1") {
        eprintln!("FLEETBOARD_SKIP_E2E=1: the PMM end-to-end test was SKIPPED");
        return;
    }
    let t0 = Instant::now();
    let stack = Stack::start();
    eprintln!(
        "e2e pmm: stack ready after {:.1}s",
        t0.elapsed().as_secs_f64()
    );
    let tmp = tempfile::tempdir().unwrap();
    let pmm_cfg = tmp.path().join("pmm.toml");
    std::fs::write(&pmm_cfg, PMM_CONFIG).unwrap();
    let plain_cfg = tmp.path().join("plain.toml");
    std::fs::write(&plain_cfg, "").unwrap();
    let (vm, prom, am) = (
        stack.get("PMM_VM_URL").to_string(),
        stack.get("PMM_PROM_URL").to_string(),
        stack.get("PMM_AM_URL").to_string(),
    );
    assert!(vm.ends_with("/prometheus"), "{vm}");

    // Each server once (node series joined, no "(no cluster)" twin), a healthy fleet exits
    // 0: through VictoriaMetrics under /prometheus as PMM serves it, and through Prometheus.
    for url in [&vm, &prom] {
        eventually(
            &format!("healthy PMM fleet via {url}"),
            Duration::from_secs(60),
            || healthy(&pmm_snapshot(url, &am, &pmm_cfg)?),
        );
    }

    // The PMM alert (no instance, no cluster) lands on db3 and only there.
    stack.fault(&["stop-sql", "db3"]);
    let snap = eventually("PMM alert on db3", Duration::from_secs(60), || {
        let s = pmm_snapshot(&vm, &am, &pmm_cfg)?;
        fleet_is(&s)?;
        let db3 = s["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["name"] == "db3")
            .cloned()
            .unwrap();
        let names: Vec<&str> = db3["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| a["name"].as_str())
            .collect();
        if db3["health"] == "CRIT" && names == ["MySQLReplicationSQLNotRunning"] {
            Ok(s)
        } else {
            Err(format!("{db3}"))
        }
    });
    assert_eq!(snap["exit_code"], 2);
    assert_eq!(snap["unattached_alerts"], serde_json::json!([]), "{snap}");
    for h in snap["hosts"].as_array().unwrap() {
        if h["name"] != "db3" {
            assert_eq!(h["alerts"], serde_json::json!([]), "{h}");
            assert_eq!(h["health"], "OK", "{h}");
        }
    }
    stack.fault(&["start-slave", "db3"]);
    eventually("PMM fleet healthy again", Duration::from_secs(60), || {
        healthy(&pmm_snapshot(&vm, &am, &pmm_cfg)?)
    });

    // doctor on the plain stack: nothing to do.
    let (p, a) = (stack.get("PROM_URL"), stack.get("AM_URL"));
    // (Polled: on a loaded machine a 1 s scrape can fail, and doctor then rightly reports
    // the series it did not find.)
    let ok = |args: &[&str], cfg: &Path| {
        let r = run(args, cfg);
        if r.code == 0 {
            Ok(r)
        } else {
            Err(format!("exit {}: {}{}", r.code, r.stdout, r.stderr))
        }
    };
    let r = eventually(
        "doctor exits 0 on the plain stack",
        Duration::from_secs(60),
        || ok(&["doctor", "-p", p, "-a", a], &plain_cfg),
    );
    assert!(r.stdout.contains("Prometheus 2."), "{}", r.stdout);
    // And on the PMM engine: VictoriaMetrics under the /prometheus prefix.
    let r = eventually("doctor exits 0 on PMM", Duration::from_secs(60), || {
        ok(
            &["doctor", "-p", &vm, "-a", &am, "--format", "json"],
            &pmm_cfg,
        )
    });
    let d: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(d["engine"]["name"], "VictoriaMetrics", "{d}");
    assert_eq!(d["engine"]["path_prefix"], "/prometheus", "{d}");
    assert_eq!(d["hosts"], 5, "{d}");

    // db2's exporter without the slave_status collector (on by default in mysqld_exporter,
    // so turned off with --no-collect.slave_status): doctor names the flag and exits 1.
    let run_sh = stack.dir.join("db2/exporter-run.sh");
    let orig = std::fs::read_to_string(&run_sh).unwrap();
    std::fs::write(
        &run_sh,
        orig.replace("--collect.slave_status", "--no-collect.slave_status"),
    )
    .unwrap();
    stack.fault(&["kill-exporter", "db2"]);
    stack.fault(&["start-exporter", "db2"]);
    let r = eventually(
        "doctor names the collector flag",
        Duration::from_secs(60),
        || {
            let r = run(&["doctor", "-p", p, "-a", a], &plain_cfg);
            if r.code == 1
                && r.stdout.contains("payments/db2")
                && r.stdout.contains("--collect.slave_status")
            {
                Ok(r)
            } else {
                Err(format!("exit {}: {}{}", r.code, r.stdout, r.stderr))
            }
        },
    );
    eprintln!("{}", r.stdout);
    std::fs::write(&run_sh, orig).unwrap();
    stack.fault(&["kill-exporter", "db2"]);
    stack.fault(&["start-exporter", "db2"]);
    eprintln!("e2e pmm: done in {:.1}s", t0.elapsed().as_secs_f64());
}
