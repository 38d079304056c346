//! The binary as scripts and monitors call it: exit codes and output.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fleetboard"))
        .args(args)
        .env_remove("FLEETBOARD_PROMETHEUS")
        .env_remove("FLEETBOARD_CONFIG")
        .output()
        .expect("run fleetboard");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn usage_errors_are_unknown_not_critical() {
    // A monitor reads exit 2 as CRITICAL: a typo must not page anyone.
    let (code, _, err) = run(&["snapshot", "--bogus"]);
    assert_eq!(code, 3, "{err}");
    let (code, _, err) = run(&["--refresh", "0s", "snapshot", "--demo"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("greater than zero"), "{err}");
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("snapshot") && out.contains("--prometheus"));
}

#[test]
fn missing_source_is_unknown_with_a_reason() {
    let (code, _, err) = run(&["snapshot"]);
    assert_eq!(code, 3);
    assert!(
        err.contains("no Prometheus URL") && err.contains("--demo"),
        "{err}"
    );
}

#[test]
fn demo_snapshot_json_is_complete() {
    let (code, out, err) = run(&["snapshot", "--demo", "--format", "json"]);
    // The demo fleet always has a DOWN host: CRITICAL.
    assert_eq!(code, 2, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], "CRITICAL");
    assert_eq!(v["exit_code"], 2);
    let hosts = v["hosts"].as_array().unwrap();
    // three MySQL clusters (40 hosts) and one PostgreSQL cluster (5)
    assert_eq!(hosts.len(), 45);
    let pg: Vec<_> = hosts.iter().filter(|h| h["engine"] == "postgres").collect();
    assert_eq!(pg.len(), 5);
    // the cut replica: exporter lag 0, the board says not streaming
    let cut = hosts.iter().find(|h| h["name"] == "ledger-pg03").unwrap();
    assert_eq!(cut["health"], "CRIT", "{cut}");
    assert_eq!(cut["replication"]["streaming"], false);
    assert!(cut["replication"]["lag_seconds"].is_null());
    let cascading = hosts.iter().find(|h| h["name"] == "ledger-pg04").unwrap();
    assert_eq!(cascading["replication"]["source"], "ledger-pg02");
    assert_eq!(cascading["replication"]["cascading"], true);
    let down: Vec<_> = hosts.iter().filter(|h| h["health"] == "DOWN").collect();
    assert_eq!(down.len(), 1);
    for h in hosts {
        for k in [
            "name", "cluster", "health", "reasons", "role", "metrics", "alerts", "labels",
        ] {
            assert!(h.get(k).is_some(), "{k} missing in {h}");
        }
    }
    let (code, text, _) = run(&["snapshot", "--demo", "--cluster", "analytics"]);
    assert_eq!(code, 2);
    assert!(
        text.lines().count() >= 11 && !text.contains("payments-db"),
        "{text}"
    );
}
