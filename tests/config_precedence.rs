//! Precedence of every setting: command line > `FLEETBOARD_*` environment > config file >
//! default, one row per setting, both directions for booleans (a file or environment that
//! turns a flag on can be overridden off, and the other way round).
//!
//! The environment is process-wide: this binary holds this one test, which sets and
//! removes variables in turn, and starts from an environment without any `FLEETBOARD_*`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use fleetboard::cli::Cli;
use fleetboard::config::{self, Settings};

struct Row {
    setting: &'static str,
    /// Command-line arguments that set it.
    flag: &'static [&'static str],
    /// `(variable, value)` that sets it, if the environment can.
    env: Option<(&'static str, &'static str)>,
    /// Config file text that sets it, if the file can.
    file: Option<&'static str>,
    /// Expected value with: nothing, the file, file + env, file + env + flag.
    want: [&'static str; 4],
    get: fn(&Settings) -> String,
}

fn prom(s: &Settings) -> String {
    s.prometheus.as_ref().map_or("-".into(), |e| e.url.clone())
}

#[allow(clippy::too_many_lines)]
fn rows() -> Vec<Row> {
    vec![
        Row {
            setting: "prometheus",
            flag: &["-p", "http://flag:9090"],
            env: Some(("FLEETBOARD_PROMETHEUS", "http://env:9090")),
            file: Some("[prometheus]\nurl = \"http://file:9090\"\n"),
            want: [
                "-",
                "http://file:9090",
                "http://env:9090",
                "http://flag:9090",
            ],
            get: prom,
        },
        Row {
            setting: "alertmanager",
            flag: &["-a", "http://flag:9093"],
            env: Some(("FLEETBOARD_ALERTMANAGER", "http://env:9093")),
            file: Some("[alertmanager]\nurl = \"http://file:9093\"\n"),
            want: [
                "",
                "http://file:9093",
                "http://env:9093",
                "http://flag:9093",
            ],
            get: |s| {
                s.alertmanagers
                    .iter()
                    .map(|e| e.url.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            },
        },
        Row {
            setting: "clusters",
            flag: &["--cluster", "flag"],
            env: Some(("FLEETBOARD_CLUSTER", "env")),
            file: Some("clusters = [\"file\"]\n"),
            want: ["", "file", "env", "flag"],
            get: |s| s.clusters.join(","),
        },
        Row {
            setting: "refresh",
            flag: &["--refresh", "7s"],
            env: Some(("FLEETBOARD_REFRESH", "3s")),
            file: Some("refresh = \"2s\"\n"),
            want: ["5s", "2s", "3s", "7s"],
            get: |s| humantime::format_duration(s.refresh).to_string(),
        },
        Row {
            setting: "timeout",
            flag: &["--timeout", "7s"],
            env: Some(("FLEETBOARD_TIMEOUT", "3s")),
            file: Some("[prometheus]\nurl = \"http://p:9090\"\ntimeout = \"2s\"\n"),
            // Without a source there is no timeout to show.
            want: ["-", "2s", "3s", "7s"],
            get: |s| {
                s.prometheus.as_ref().map_or("-".into(), |e| {
                    humantime::format_duration(e.http.timeout).to_string()
                })
            },
        },
        Row {
            setting: "theme",
            flag: &["--theme", "light"],
            env: Some(("FLEETBOARD_THEME", "colorblind")),
            file: Some("theme = \"high-contrast\"\n"),
            want: ["default", "high-contrast", "colorblind", "light"],
            get: |s| s.theme.clone(),
        },
        Row {
            setting: "read_only on",
            flag: &["--read-only"],
            env: Some(("FLEETBOARD_READ_ONLY", "false")),
            file: Some("read_only = true\n"),
            want: ["false", "true", "false", "true"],
            get: |s| s.read_only.to_string(),
        },
        Row {
            setting: "read_only off",
            flag: &["--no-read-only"],
            env: Some(("FLEETBOARD_READ_ONLY", "true")),
            file: Some("read_only = false\n"),
            want: ["false", "false", "true", "false"],
            get: |s| s.read_only.to_string(),
        },
        Row {
            setting: "wall on",
            flag: &["--wall"],
            env: Some(("FLEETBOARD_WALL", "0")),
            file: Some("wall = true\n"),
            want: ["false", "true", "false", "true"],
            get: |s| s.wall.to_string(),
        },
        Row {
            setting: "wall off",
            flag: &["--no-wall"],
            env: Some(("FLEETBOARD_WALL", "1")),
            file: Some("wall = false\n"),
            want: ["false", "false", "true", "false"],
            get: |s| s.wall.to_string(),
        },
        Row {
            setting: "wall_page",
            flag: &["--wall-page", "7s"],
            env: Some(("FLEETBOARD_WALL_PAGE", "3s")),
            file: Some("wall_page = \"2s\"\n"),
            want: ["10s", "2s", "3s", "7s"],
            get: |s| humantime::format_duration(s.wall_page).to_string(),
        },
        Row {
            setting: "only_problems on",
            flag: &["--only-problems"],
            env: Some(("FLEETBOARD_ONLY_PROBLEMS", "no")),
            file: Some("only_problems = true\n"),
            want: ["false", "true", "false", "true"],
            get: |s| s.only_problems.to_string(),
        },
        Row {
            setting: "only_problems off",
            flag: &["--no-only-problems"],
            env: Some(("FLEETBOARD_ONLY_PROBLEMS", "yes")),
            file: Some("only_problems = false\n"),
            want: ["false", "false", "true", "false"],
            get: |s| s.only_problems.to_string(),
        },
        Row {
            setting: "ascii on",
            flag: &["--ascii"],
            env: Some(("FLEETBOARD_ASCII", "false")),
            file: Some("ascii = true\n"),
            want: ["false", "true", "false", "true"],
            get: |s| s.ascii.to_string(),
        },
        Row {
            setting: "ascii off",
            flag: &["--no-ascii"],
            env: Some(("FLEETBOARD_ASCII", "true")),
            file: Some("ascii = false\n"),
            want: ["false", "false", "true", "false"],
            get: |s| s.ascii.to_string(),
        },
        Row {
            setting: "sparkline",
            flag: &["--sparkline", "lag"],
            env: Some(("FLEETBOARD_SPARKLINE", "connections")),
            file: Some("tile_sparkline = \"qps\"\n"),
            want: ["-", "qps", "connections", "lag"],
            get: |s| {
                s.sparkline
                    .as_ref()
                    .map_or("-".into(), |q| q.metric.clone())
            },
        },
        Row {
            setting: "color",
            flag: &["--color", "16"],
            env: Some(("FLEETBOARD_COLOR", "none")),
            file: Some("color = \"256\"\n"),
            want: ["Auto", "C256", "None", "C16"],
            get: |s| format!("{:?}", s.color),
        },
        Row {
            setting: "log_file",
            flag: &["--log-file", "/flag.log"],
            env: Some(("FLEETBOARD_LOG_FILE", "/env.log")),
            file: Some("log_file = \"/file.log\"\n"),
            want: ["-", "/file.log", "/env.log", "/flag.log"],
            get: |s| {
                s.log_file
                    .as_ref()
                    .map_or("-".into(), |p| p.display().to_string())
            },
        },
        Row {
            setting: "demo off",
            flag: &["--no-demo"],
            env: Some(("FLEETBOARD_DEMO", "true")),
            file: None,
            want: ["false", "false", "true", "false"],
            get: |s| s.demo.to_string(),
        },
        Row {
            setting: "demo on",
            flag: &["--demo"],
            env: Some(("FLEETBOARD_DEMO", "false")),
            file: None,
            want: ["false", "false", "false", "true"],
            get: |s| s.demo.to_string(),
        },
        Row {
            setting: "at",
            flag: &["--at", "2026-11-24T03:00:00Z"],
            env: Some(("FLEETBOARD_AT", "2026-11-24T02:00:00Z")),
            file: None,
            want: ["-", "-", "2026-11-24T02:00:00Z", "2026-11-24T03:00:00Z"],
            get: |s| {
                s.at.map_or("-".into(), |t| {
                    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                })
            },
        },
    ]
}

fn resolve(args: &[&str], file: &str) -> Settings {
    let cli = Cli::parse_args(std::iter::once("fleetboard").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    let f = config::parse(file, Path::new("test.toml")).unwrap();
    config::resolve(&cli, &f, None).unwrap_or_else(|e| panic!("{args:?} {file:?}: {e}"))
}

#[test]
fn flag_beats_env_beats_file_beats_default() {
    for (k, _) in std::env::vars() {
        if k.starts_with("FLEETBOARD_") {
            std::env::remove_var(k);
        }
    }
    // The ASCII default follows the locale: make it UTF-8.
    std::env::remove_var("LC_ALL");
    std::env::remove_var("LC_CTYPE");
    std::env::set_var("LANG", "C.UTF-8");
    let mut failures = Vec::new();
    for r in rows() {
        let file = r.file.unwrap_or("");
        let levels: [(&str, &[&str], bool, &str); 4] = [
            ("default", &[], false, ""),
            ("file", &[], false, file),
            ("env", &[], true, file),
            ("flag", r.flag, true, file),
        ];
        for (i, (level, args, env, text)) in levels.into_iter().enumerate() {
            if let (true, Some((k, v))) = (env, r.env) {
                std::env::set_var(k, v);
            }
            let got = (r.get)(&resolve(args, text));
            if let Some((k, _)) = r.env {
                std::env::remove_var(k);
            }
            if got != r.want[i] {
                failures.push(format!(
                    "{}: with {level}: got {got:?}, want {:?}",
                    r.setting, r.want[i]
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_flag_and_its_no_twin_the_last_one_wins() {
    // Only the command line here (no environment is read for these two flags).
    let on = Cli::parse_args(["fleetboard", "--no-wall", "--wall"]).unwrap();
    assert_eq!(on.wall(), Some(true));
    let off = Cli::parse_args(["fleetboard", "--wall", "--no-wall"]).unwrap();
    assert_eq!(off.wall(), Some(false));
    // `--wall` takes no separate value: the next word is still a subcommand.
    let c = Cli::parse_args(["fleetboard", "--wall", "snapshot"]).unwrap();
    assert_eq!(c.wall(), Some(true));
    assert!(c.command.is_some());
}
