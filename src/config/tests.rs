#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use super::*;
use crate::cli::Cli;

fn fixture(name: &str) -> (String, PathBuf) {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(name);
    (std::fs::read_to_string(&p).unwrap(), p)
}

fn load(name: &str) -> Result<Settings, ConfigError> {
    let (text, p) = fixture(name);
    let f = parse(&text, &p)?;
    resolve(&Cli::default(), &f, Some(&p))
}

#[test]
#[allow(clippy::type_complexity)]
fn invalid_configs_name_file_line_key_and_suggest() {
    // (fixture, line, key, text in message, suggestion)
    #[allow(clippy::type_complexity)]
    let cases: &[(&str, usize, Option<&str>, &str, Option<&str>)] = &[
        (
            "unknown_key.toml",
            2,
            Some("refersh"),
            "unknown field",
            Some("refresh"),
        ),
        (
            "unknown_nested_key.toml",
            5,
            Some("timeuot"),
            "in [prometheus]",
            Some("timeout"),
        ),
        (
            "bad_duration.toml",
            1,
            Some("refresh"),
            "not a duration",
            None,
        ),
        ("bad_type.toml", 2, None, "invalid type", None),
        (
            "bad_override_metric.toml",
            3,
            Some("overrides.metric"),
            "unknown metric `lga`",
            Some("lag"),
        ),
        (
            "bad_unit.toml",
            3,
            None,
            "unknown variant `second`",
            Some("seconds"),
        ),
        (
            "new_metric_without_expr.toml",
            1,
            Some("metrics.lagg"),
            "needs `expr`",
            Some("lag"),
        ),
        ("not_toml.toml", 1, None, "", None),
    ];
    for (name, line, key, msg, sugg) in cases {
        let e = load(name).expect_err(name);
        let shown = e.to_string();
        assert!(shown.contains(name), "{name}: file missing in {shown}");
        assert_eq!(e.line, *line, "{name}: {shown}");
        if let Some(k) = key {
            assert_eq!(e.key.as_deref(), Some(*k), "{name}: {shown}");
        }
        assert!(shown.contains(msg), "{name}: {shown}");
        assert_eq!(e.suggestion.as_deref(), *sugg, "{name}: {shown}");
    }
}

#[test]
fn annotated_example_in_readme_is_valid() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme.find("```toml\n").expect("a toml block in README") + 8;
    let end = start + readme[start..].find("```").unwrap();
    let f = parse(&readme[start..end], Path::new("README.md")).unwrap();
    // Secrets in the example come from files/env that do not exist here: drop them.
    let mut f = f;
    let proms = f.prometheus.iter_mut().flat_map(|p| p.0.iter_mut());
    for s in proms.chain(f.alertmanager.iter_mut()) {
        s.password_file = None;
        s.password_env = None;
        s.bearer_token_file = None;
        s.bearer_token_env = None;
    }
    let s = resolve(&Cli::default(), &f, None).unwrap();
    assert!(s.metrics.index("lag").is_some());
}

#[test]
fn precedence_cli_over_file_over_default() {
    let text = "refresh = \"10s\"\ntheme = \"light\"\nclusters = [\"a\"]\n[prometheus]\nurl = \"http://file:9090\"\n";
    let f = parse(text, Path::new("c.toml")).unwrap();
    let s = resolve(&Cli::default(), &f, None).unwrap();
    assert_eq!(s.refresh, Duration::from_secs(10));
    assert_eq!(s.prometheus.as_ref().unwrap().url, "http://file:9090");
    assert_eq!(s.clusters, vec!["a"]);
    // Default timeout: a little under the refresh, at most 10 s.
    assert_eq!(
        s.prometheus.as_ref().unwrap().http.timeout,
        Duration::from_secs(8)
    );
    let cli = Cli {
        prometheus: vec!["http://cli:9090".into()],
        refresh: Some(Duration::from_secs(2)),
        theme: Some("default".into()),
        cluster: vec!["b".into()],
        ..Cli::default()
    };
    let s = resolve(&cli, &f, None).unwrap();
    assert_eq!(s.prometheus.as_ref().unwrap().url, "http://cli:9090");
    assert_eq!(s.refresh, Duration::from_secs(2));
    assert_eq!(s.theme, "default");
    assert_eq!(s.clusters, vec!["b"]);
    let s = resolve(&Cli::default(), &FileConfig::default(), None).unwrap();
    assert_eq!(s.refresh, Duration::from_secs(5));
    assert_eq!(s.theme, "default");
}

#[test]
fn metrics_are_changed_added_and_disabled() {
    let text = r#"
[metrics.lag]
warn = 5.0
crit = 600.0

[metrics.qps]
disabled = true

[metrics.disk_free]
expr = 'node_filesystem_avail_bytes{mountpoint="/var/lib/mysql",cluster=~"$cluster"} / node_filesystem_size_bytes{mountpoint="/var/lib/mysql",cluster=~"$cluster"}'
label = "disk"
unit = "ratio"
direction = "lower"
warn = 0.2
crit = 0.1

[[overrides]]
metric = "lag"
match = { role = "reporting" }
warn = 3600
"#;
    let f = parse(text, Path::new("c.toml")).unwrap();
    let s = resolve(&Cli::default(), &f, None).unwrap();
    let lag = s.metrics.get("lag").unwrap();
    assert_eq!((lag.warn, lag.crit), (Some(5.0), Some(600.0)));
    assert!(s.metrics.get("qps").is_none());
    let d = s.metrics.get("disk_free").unwrap();
    assert_eq!(d.direction, Direction::Lower);
    assert_eq!(d.unit, Unit::Ratio);
    assert_eq!(
        s.metrics.overrides[0].matchers,
        vec![("role".to_string(), "reporting".to_string())]
    );
}

#[test]
fn secrets_come_from_files_and_env_and_never_print() {
    let d = tempfile::tempdir().unwrap();
    let pw = d.path().join("pw");
    std::fs::write(&pw, "s3cret\n").unwrap();
    let text = format!(
        "[prometheus]\nurl = \"https://p\"\nusername = \"board\"\npassword_file = \"{}\"\n",
        pw.display()
    );
    let f = parse(&text, Path::new("c.toml")).unwrap();
    let s = resolve(&Cli::default(), &f, None).unwrap();
    let (user, secret) = s
        .prometheus
        .as_ref()
        .unwrap()
        .http
        .basic_auth
        .clone()
        .unwrap();
    assert_eq!(user, "board");
    assert_eq!(secret.expose(), "s3cret");
    assert!(!format!("{s:?}").contains("s3cret"));

    let text = "[prometheus]\nurl = \"https://p\"\nbearer_token_env = \"FLEETBOARD_TEST_UNSET_TOKEN_VAR\"\n";
    let f = parse(text, Path::new("c.toml")).unwrap();
    let e = resolve(&Cli::default(), &f, None).unwrap_err();
    assert!(
        e.to_string()
            .contains("FLEETBOARD_TEST_UNSET_TOKEN_VAR is not set"),
        "{e}"
    );
}

#[cfg(unix)]
#[test]
fn inline_secret_in_world_readable_file_warns() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("config.toml");
    std::fs::write(
        &p,
        "[prometheus]\nurl = \"https://p\"\nusername = \"u\"\npassword = \"hunter2\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    let f = parse(&std::fs::read_to_string(&p).unwrap(), &p).unwrap();
    let s = resolve(&Cli::default(), &f, Some(&p)).unwrap();
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("readable by other users")),
        "{:?}",
        s.warnings
    );
    assert!(!s.warnings.join(" ").contains("hunter2"));
}

#[test]
fn missing_named_config_is_an_error_but_default_may_be_missing() {
    let cli = Cli {
        config: Some("/nonexistent/fleetboard.toml".into()),
        ..Cli::default()
    };
    let e = load_file(&cli).unwrap_err();
    assert!(
        e.to_string().contains("/nonexistent/fleetboard.toml"),
        "{e}"
    );
}

#[test]
fn sizes() {
    assert_eq!(parse_size("64MiB"), Ok(64 * 1024 * 1024));
    assert_eq!(parse_size("1024"), Ok(1024));
    assert!(parse_size("lots").is_err());
    assert!(parse_size("99999999999999GiB").is_err());
}

#[test]
fn read_only_from_file_or_command_line() {
    let file = parse("read_only = true\n", Path::new("c.toml")).unwrap();
    assert!(resolve(&Cli::default(), &file, None).unwrap().read_only);
    let off = parse("", Path::new("c.toml")).unwrap();
    assert!(!resolve(&Cli::default(), &off, None).unwrap().read_only);
    let cli = Cli {
        read_only: Some(true),
        ..Cli::default()
    };
    assert!(resolve(&cli, &off, None).unwrap().read_only);
    let e = parse("read_onyl = true\n", Path::new("c.toml")).unwrap_err();
    assert_eq!(e.suggestion.as_deref(), Some("read_only"));
}

#[test]
fn keys_rebind_and_conflicts_name_both_bindings() {
    let f = parse(
        "[keys]\nsilence = \"ctrl-s\"\nquit = [\"q\", \"Q\"]\n",
        Path::new("c.toml"),
    )
    .unwrap();
    let s = resolve(&Cli::default(), &f, None).unwrap();
    use crate::app::keymap::{Cmd, Ctx, Key};
    assert_eq!(
        s.keymap.key_of(Ctx::Alerts, Cmd::Silence),
        Some(Key::parse("ctrl-s").unwrap())
    );
    let text = "refresh = \"5s\"\n\n[keys]\nsilence = \"s\"\n";
    let p = Path::new("c.toml");
    let e = resolve(&Cli::default(), &parse(text, p).unwrap(), None).unwrap_err();
    assert_eq!(e.key.as_deref(), Some("keys.silence"));
    assert!(
        e.message.contains("keys.silence") && e.message.contains("sort (default)"),
        "{e}"
    );
    let e = resolve(
        &Cli::default(),
        &parse("[keys]\nsilense = \"x\"\n", p).unwrap(),
        None,
    )
    .unwrap_err();
    assert_eq!(e.suggestion.as_deref(), Some("silence"));
}

#[test]
fn an_empty_secret_file_is_an_error_as_an_empty_variable_is() {
    let d = tempfile::tempdir().unwrap();
    let pw = d.path().join("pw");
    std::fs::write(&pw, "\n").unwrap();
    let text = format!(
        "[prometheus]\nurl = \"https://p\"\nusername = \"board\"\npassword_file = \"{}\"\n",
        pw.display()
    );
    let f = parse(&text, Path::new("c.toml")).unwrap();
    let e = resolve(&Cli::default(), &f, None).unwrap_err();
    assert_eq!(e.key.as_deref(), Some("prometheus.password_file"), "{e}");
    assert!(e.message.contains("is empty"), "{e}");
}
