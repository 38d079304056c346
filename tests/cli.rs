//! The binary as scripts and monitors call it: exit codes and output.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

/// The binary with nothing of the developer's environment: no `FLEETBOARD_*`, `NO_COLOR` or
/// locale of theirs, and no config file (HOME and XDG_CONFIG_HOME point into `home`, empty).
fn fleetboard(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fleetboard"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("LANG", "C.UTF-8");
    c
}

fn run(args: &[&str]) -> (i32, String, String) {
    let home = tempfile::tempdir().unwrap();
    let out = fleetboard(home.path())
        .args(args)
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

#[test]
fn config_example_is_the_readme_example_and_is_valid() {
    let (code, out, err) = run(&["config", "--example"]);
    assert_eq!(code, 0, "{err}");
    let readme = include_str!("../README.md");
    let start = "<!-- config-example: generated from examples/config.toml; `fleetboard config --example` prints it -->\n```toml\n";
    let from = readme.find(start).expect("README marks the example") + start.len();
    let len = readme[from..].find("```\n").expect("end of the example");
    assert_eq!(
        &readme[from..from + len],
        out,
        "README's example differs from examples/config.toml: copy the file into README"
    );
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("config.toml");
    std::fs::write(&p, &out).unwrap();
    let (code, shown, err) = run(&["config", "-c", p.to_str().unwrap()]);
    assert_eq!(code, 0, "the example must load: {err}");
    assert!(shown.contains("notify.bell"), "{shown}");
    assert!(shown.contains("links.commands.ssh"), "{shown}");
}

#[test]
fn config_says_where_each_value_comes_from_and_hides_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let pass = dir.path().join("pass");
    std::fs::write(&pass, "s3cret-from-file\n").unwrap();
    let p = dir.path().join("config.toml");
    std::fs::write(
        &p,
        format!(
            r#"theme = "light"
refresh = "7s"
[prometheus]
url = "http://file-prom:9090"
username = "board"
password_file = "{}"
headers = {{ "Authorization" = "Bearer s3cret-header", "X-Scope-OrgID" = "tenant-1" }}
[alertmanager]
url = "http://am:9093"
bearer_token = "s3cret-inline"
"#,
            pass.display()
        ),
    )
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let out = fleetboard(home.path())
        .args([
            "config",
            "-c",
            p.to_str().unwrap(),
            "-p",
            "http://u:pw-in-url@flag-prom:9090",
        ])
        .env("FLEETBOARD_REFRESH", "9s")
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{s} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(&format!("{k} ")))
            .unwrap_or_else(|| panic!("no {k} in {s}"))
            .to_string()
    };
    assert!(
        row("prometheus.url").contains("flag-prom")
            && row("prometheus.url").ends_with("# flag --prometheus")
    );
    assert!(
        row("refresh").contains("\"9s\"") && row("refresh").ends_with("# env FLEETBOARD_REFRESH")
    );
    assert!(row("theme").contains("light") && row("theme").contains("# file "));
    assert!(row("stale_after").ends_with("# default"));
    assert!(row("prometheus.password").contains("password_file"));
    assert!(row("prometheus.headers.X-Scope-OrgID").contains("tenant-1"));
    for secret in ["s3cret", "pw-in-url"] {
        assert!(!s.contains(secret), "{secret} printed:\n{s}");
    }
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, err) = run(&["completions", shell]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("snapshot"), "{shell}");
    }
    let (_, bash, _) = run(&["completions", "bash"]);
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("fleetboard.bash");
    std::fs::write(&f, bash).unwrap();
    let st = Command::new("bash").arg("-n").arg(&f).status().unwrap();
    assert!(st.success(), "bash -n rejects the completion script");
    let (code, man, _) = run(&["man"]);
    assert_eq!(code, 0);
    assert!(
        man.starts_with(".ie") || man.contains(".TH fleetboard"),
        "{}",
        &man[..200.min(man.len())]
    );
    // Rendered by man itself (scripts/test.sh installs man-db).
    assert!(
        Command::new("man").arg("--version").output().is_ok(),
        "man is missing: apt-get install man-db"
    );
    {
        let p = dir.path().join("fleetboard.1");
        std::fs::write(&p, &man).unwrap();
        let out = Command::new("man")
            .args(["-l", p.to_str().unwrap()])
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "80")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("fleetboard") && text.contains("EXIT STATUS"),
            "{text}"
        );
        let warn = String::from_utf8_lossy(&out.stderr);
        assert!(!warn.contains("warning"), "groff warnings: {warn}");
    }
}
