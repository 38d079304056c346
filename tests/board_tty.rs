//! The board in terminals that misbehave: one that never answers a query (serial consoles,
//! some web terminals) and one that goes away under it (a dropped SSH session). Driven by
//! `support/mute_pty.py` (python3, standard library only).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

/// Runs the demo board in a pty that never answers, waits for a host to be drawn, then
/// leaves as `then` says (`quit`: types `q`; `close`: closes the pty). Returns the JSON
/// report of the driver and the log file's text.
fn run_board(then: &str) -> (serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("board.log");
    let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/mute_pty.py");
    let out = Command::new("python3")
        .arg(driver)
        .args(["--cols", "120", "--rows", "40", "--timeout", "30"])
        .args(["--wait-for", "payments-db1", "--then", then, "--"])
        .arg(env!("CARGO_BIN_EXE_fleetboard"))
        .arg("--demo")
        .arg("--log-file")
        .arg(&log)
        // The board must not read the developer's settings.
        .env("XDG_CONFIG_HOME", dir.path())
        .env("HOME", dir.path())
        .env_remove("FLEETBOARD_CONFIG")
        .output()
        .expect("python3 runs the pty driver");
    assert!(
        out.status.success(),
        "driver failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    (v, log)
}

#[test]
fn a_terminal_that_never_answers_gets_the_board() {
    let (v, log) = run_board("quit");
    assert_eq!(
        v["cursor_queries"], 0,
        "the board asked the cursor position: {v}"
    );
    assert_eq!(v["seen"], true, "the fleet was never drawn: {v}\n{log}");
    assert_eq!(v["exit"], 0, "{v}\n{log}");
    // Left the alternate screen on the way out.
    assert!(v["tail"].as_str().unwrap().contains("\u{1b}[?1049l"), "{v}");
}

#[test]
fn a_terminal_that_goes_away_ends_the_board_cleanly_with_the_reason_logged() {
    let (v, log) = run_board("close");
    assert_eq!(v["seen"], true, "{v}\n{log}");
    // Not 101 (a panic writing to the lost terminal), not a signal.
    assert_eq!(v["exit"], 0, "{v}\n{log}");
    assert!(log.contains("the terminal went away"), "log: {log}");
    assert!(!log.contains("panicked"), "log: {log}");
}
