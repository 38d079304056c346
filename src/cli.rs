//! Command line. Precedence: command line > `FLEETBOARD_*` environment > config file > defaults.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use clap::builder::BoolishValueParser;
use clap::{Parser, Subcommand, ValueEnum};

const EXAMPLES: &str = "\
Examples:
  fleetboard --demo                                   simulated fleet, nothing needed
  fleetboard -p http://prometheus:9090 -a http://alertmanager:9093
  fleetboard -p http://vm:8428 --cluster payments --cluster orders
  fleetboard -p http://prometheus:9090 --preset postgres          postgres_exporter fleets
  fleetboard -p http://prometheus:9090 --preset mixed             MySQL and PostgreSQL together
  fleetboard --read-only -p http://prometheus:9090 -a http://am-1:9093 -a http://am-2:9093
  FLEETBOARD_PROMETHEUS=http://prometheus:9090 fleetboard snapshot --format json
  fleetboard snapshot -p http://prometheus:9090; echo \"exit $?\"   (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)

Secrets (passwords, bearer tokens) are read from files or environment variables named
in the config file, never from the command line.";

/// The built-in metric sets.
// Each variant is a value of its flag, named by clap; a doc comment here would become
// that value's help text in `--help` and the man page.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Preset {
    Mysql,
    Postgres,
    Mixed,
    None,
}

impl Preset {
    /// The preset's name as written on the command line and in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Mysql => "mysql",
            Preset::Postgres => "postgres",
            Preset::Mixed => "mixed",
            Preset::None => "none",
        }
    }
}

/// A terminal status board for MySQL/MariaDB and PostgreSQL fleets, fed by Prometheus and
/// Alertmanager.
#[derive(Debug, Parser, Clone, Default)]
#[command(name = "fleetboard", version, about, after_help = EXAMPLES)]
pub struct Cli {
    /// Prometheus-compatible query API (Prometheus, VictoriaMetrics, Thanos, Mimir);
    /// repeat for several sources, `NAME=URL` to name one (the same name twice: an HA pair).
    #[arg(
        short,
        long,
        value_name = "[NAME=]URL",
        env = "FLEETBOARD_PROMETHEUS",
        value_delimiter = ',',
        global = true
    )]
    pub prometheus: Vec<String>,

    /// Alertmanager API base URL; repeat for an HA pair.
    #[arg(
        short,
        long,
        value_name = "URL",
        env = "FLEETBOARD_ALERTMANAGER",
        value_delimiter = ',',
        global = true
    )]
    pub alertmanager: Vec<String>,

    /// Config file [default: config.toml in the platform config directory].
    #[arg(
        short,
        long,
        value_name = "FILE",
        env = "FLEETBOARD_CONFIG",
        global = true
    )]
    pub config: Option<PathBuf>,

    /// Show only these clusters (repeatable); narrows the queries on the server.
    #[arg(
        long,
        value_name = "NAME",
        env = "FLEETBOARD_CLUSTER",
        value_delimiter = ',',
        global = true
    )]
    pub cluster: Vec<String>,

    /// Refresh interval, e.g. 500ms, 10s, 1m [default: 5s].
    #[arg(short, long, value_name = "DURATION", env = "FLEETBOARD_REFRESH", value_parser = parse_duration, global = true)]
    pub refresh: Option<Duration>,

    /// Per-request timeout [default: a little under the refresh interval, at most 10s].
    #[arg(long, value_name = "DURATION", env = "FLEETBOARD_TIMEOUT", value_parser = parse_duration, global = true)]
    pub timeout: Option<Duration>,

    /// Colour theme: default, light, high-contrast, colorblind, or the config dir's themes/NAME.toml.
    #[arg(long, value_name = "NAME", env = "FLEETBOARD_THEME", global = true)]
    pub theme: Option<String>,

    /// Run against a simulated fleet; no Prometheus needed (`--no-demo` undoes the
    /// environment).
    #[arg(long, env = "FLEETBOARD_DEMO", global = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new(), value_name = "BOOL")]
    pub demo: Option<bool>,
    /// `--no-demo`: undoes `--demo` set by the config file or environment (hidden;
    /// named in `--demo`'s help).
    #[arg(long, global = true, hide = true)]
    pub no_demo: bool,

    /// Show the fleet as it was at TIME: RFC 3339, `2026-11-24 03:14` (UTC), or
    /// relative like `-2h`.
    #[arg(long, value_name = "TIME", env = "FLEETBOARD_AT", value_parser = parse_at, global = true)]
    pub at: Option<DateTime<Utc>>,
    /// Disable every write to Alertmanager (creating or expiring silences);
    /// `--no-read-only` undoes the config file or environment.
    #[arg(long, env = "FLEETBOARD_READ_ONLY", global = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new(), value_name = "BOOL")]
    pub read_only: Option<bool>,
    /// `--no-read-only`: undoes `--read-only` set by the config file or environment (hidden;
    /// named in `--read-only`'s help).
    #[arg(long, global = true, hide = true)]
    pub no_read_only: bool,

    /// Wall monitor: tiles fill the screen, problems first, pages flip by themselves,
    /// a big clock; read-only, no input needed. `--no-wall` undoes the config file or
    /// environment.
    #[arg(long, env = "FLEETBOARD_WALL", global = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new(), value_name = "BOOL")]
    pub wall: Option<bool>,
    /// `--no-wall`: undoes `--wall` set by the config file or environment (hidden;
    /// named in `--wall`'s help).
    #[arg(long, global = true, hide = true)]
    pub no_wall: bool,

    /// Time between wall pages when the fleet does not fit one screen [default: 10s].
    #[arg(long, value_name = "DURATION", env = "FLEETBOARD_WALL_PAGE", value_parser = parse_duration, global = true)]
    pub wall_page: Option<Duration>,

    /// Tiles tall enough show a sparkline of this metric's last 15 minutes (e.g. `lag`):
    /// one more range query per refresh for the whole fleet.
    #[arg(
        long,
        value_name = "METRIC",
        env = "FLEETBOARD_SPARKLINE",
        global = true
    )]
    pub sparkline: Option<String>,

    /// Which exporters' metrics to read: mysql (mysqld_exporter), postgres
    /// (postgres_exporter), mixed (both on one board; each host judged by its engine's
    /// series), none (only the config file's [metrics.*]) [default: mysql, or the config's
    /// `preset`; mixed with --demo].
    #[arg(long, value_name = "NAME", env = "FLEETBOARD_PRESET", global = true)]
    pub preset: Option<Preset>,

    /// Show only hosts with a problem (toggle with `p`); `--no-only-problems` undoes
    /// the config file or environment.
    #[arg(long, env = "FLEETBOARD_ONLY_PROBLEMS", global = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new(), value_name = "BOOL")]
    pub only_problems: Option<bool>,
    /// `--no-only-problems`: undoes `--only-problems` set by the config file or environment (hidden;
    /// named in `--only-problems`'s help).
    #[arg(long, global = true, hide = true)]
    pub no_only_problems: bool,

    /// Start on the map: one cell per host, coloured by health (toggle with `m`);
    /// `--no-map` undoes the config file or environment.
    #[arg(long, env = "FLEETBOARD_MAP", global = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new(), value_name = "BOOL")]
    pub map: Option<bool>,
    /// `--no-map`: undoes `--map` set by the config file or environment (hidden;
    /// named in `--map`'s help).
    #[arg(long, global = true, hide = true)]
    pub no_map: bool,

    /// Draw with ASCII only [default: when the locale is not UTF-8]; `--no-ascii` draws
    /// with Unicode whatever the locale, file or environment say.
    #[arg(long, env = "FLEETBOARD_ASCII", global = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new(), value_name = "BOOL")]
    pub ascii: Option<bool>,
    /// `--no-ascii`: undoes `--ascii` set by the config file or environment (hidden;
    /// named in `--ascii`'s help).
    #[arg(long, global = true, hide = true)]
    pub no_ascii: bool,

    /// Colours: auto (from NO_COLOR, COLORTERM and TERM), truecolor, 256, 16 or none.
    #[arg(long, value_name = "DEPTH", env = "FLEETBOARD_COLOR", global = true)]
    pub color: Option<ColorChoice>,

    /// Write logs to this file (logs never go to the terminal).
    #[arg(long, value_name = "FILE", env = "FLEETBOARD_LOG_FILE", global = true)]
    pub log_file: Option<PathBuf>,

    /// Measurement hook: quit after this many refreshes have been drawn.
    #[arg(long, value_name = "N", hide = true, global = true)]
    pub exit_after: Option<u32>,

    /// Measurement hook: a synthetic fleet of N hosts in process (no server).
    #[arg(long, value_name = "N", hide = true, global = true)]
    pub synthetic: Option<usize>,

    /// What to do instead of running the board (`snapshot`, `doctor`, ...).
    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// Parses `args` (the program name first) like `Cli::try_parse_from`, and when a flag
    /// and its `--no-` twin are both on the command line, keeps the later one (an alias
    /// holding `--no-wall` can be overridden by a `--wall` typed after it).
    ///
    /// # Errors
    /// Clap's usage error (or the `--help` / `--version` text, as clap reports them).
    pub fn parse_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::{CommandFactory, FromArgMatches};
        let m = Self::command().try_get_matches_from(args)?;
        let mut cli = Self::from_arg_matches(&m)?;
        let later = |on: &str, off: &str| {
            let from_line = m.value_source(on) == Some(clap::parser::ValueSource::CommandLine);
            match (from_line, m.index_of(on), m.index_of(off)) {
                (true, Some(a), Some(b)) => a > b,
                _ => false,
            }
        };
        if later("demo", "no_demo") {
            cli.no_demo = false;
        }
        if later("read_only", "no_read_only") {
            cli.no_read_only = false;
        }
        if later("wall", "no_wall") {
            cli.no_wall = false;
        }
        if later("only_problems", "no_only_problems") {
            cli.no_only_problems = false;
        }
        if later("ascii", "no_ascii") {
            cli.no_ascii = false;
        }
        if later("map", "no_map") {
            cli.no_map = false;
        }
        Ok(cli)
    }

    /// `--demo` / `--no-demo` (or `FLEETBOARD_DEMO`): `None` when neither was given.
    pub fn demo(&self) -> Option<bool> {
        either(self.demo, self.no_demo)
    }
    /// `--read-only` / `--no-read-only` (or `FLEETBOARD_READ_ONLY`).
    pub fn read_only(&self) -> Option<bool> {
        either(self.read_only, self.no_read_only)
    }
    /// `--wall` / `--no-wall` (or `FLEETBOARD_WALL`).
    pub fn wall(&self) -> Option<bool> {
        either(self.wall, self.no_wall)
    }
    /// `--only-problems` / `--no-only-problems` (or `FLEETBOARD_ONLY_PROBLEMS`).
    pub fn only_problems(&self) -> Option<bool> {
        either(self.only_problems, self.no_only_problems)
    }
    /// `--ascii` / `--no-ascii` (or `FLEETBOARD_ASCII`).
    pub fn ascii(&self) -> Option<bool> {
        either(self.ascii, self.no_ascii)
    }
    /// `--map` / `--no-map` (or `FLEETBOARD_MAP`).
    pub fn map(&self) -> Option<bool> {
        either(self.map, self.no_map)
    }
}

/// A flag and its `--no-` twin; the twin is a command-line flag only, so it beats the
/// environment that may have set the flag ([`Cli::parse_args`] keeps the later of the two
/// when both are on the command line).
fn either(on: Option<bool>, off: bool) -> Option<bool> {
    if off {
        Some(false)
    } else {
        on
    }
}

/// The subcommands; without one the board runs.
//
// clap takes a doc comment on this enum as the program's `about` text, replacing the
// description at the top of `--help`.
#[allow(missing_docs)]
#[derive(Debug, Subcommand, Clone)]
pub enum Command {
    /// Poll once, print every host, exit 0 OK / 1 WARNING / 2 CRITICAL / 3 UNKNOWN.
    Snapshot {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// What the monitoring is missing, with the fix for each: exit 0 nothing to do,
    /// 1 something to fix, 2 the board cannot work, 3 a source cannot be reached.
    Doctor {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Print a shell completion script: `fleetboard completions bash > /etc/bash_completion.d/fleetboard`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `fleetboard man | man -l -`.
    Man,
    /// Print the settings in force and where each comes from (flag, env, file, default);
    /// secrets are redacted.
    Config {
        /// Print the annotated example config instead (every key, commented).
        #[arg(long)]
        example: bool,
    },
    /// Measurement hook: time RUNS refreshes (queries, parsing, merging) and print figures.
    #[command(hide = true)]
    BenchRefresh {
        /// Refreshes to time.
        #[arg(long, default_value_t = 10)]
        runs: usize,
        /// Print the expanded queries, one per line, and exit.
        #[arg(long)]
        print_queries: bool,
    },
}

/// `--color`.
// Each variant is a value of its flag, named by clap; a doc comment here would become
// that value's help text in `--help` and the man page.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColorChoice {
    Auto,
    Truecolor,
    #[value(name = "256")]
    #[serde(rename = "256")]
    C256,
    #[value(name = "16")]
    #[serde(rename = "16")]
    C16,
    None,
}

/// The output format of `snapshot` and `doctor` (`--format`).
// Each variant is a value of its flag, named by clap; a doc comment here would become
// that value's help text in `--help` and the man page.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// A duration flag or config value (`500ms`, `10s`, `1m`; surrounding blanks ignored).
///
/// # Errors
///
/// A message when `s` is not a humantime duration (`500ms`, `10s`, `1m`) or is zero.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s.trim())
        .map_err(|e| format!("`{s}` is not a duration ({e}); use e.g. 500ms, 10s, 1m"))?;
    if d.is_zero() {
        return Err("a duration must be greater than zero".into());
    }
    Ok(d)
}

/// `--at`: RFC 3339, `YYYY-MM-DD HH:MM[:SS]` in UTC (like every time the board
/// shows), or `-2h` / `2h ago`.
///
/// # Errors
///
/// As [`parse_at_from`], against the current time.
pub fn parse_at(s: &str) -> Result<DateTime<Utc>, String> {
    parse_at_from(s, Utc::now())
}

/// [`parse_at`] with `now` given, so that relative times can be tested.
///
/// # Errors
///
/// A message when `s` is none of RFC 3339, `YYYY-MM-DD HH:MM[:SS]` (with a space or `T`),
/// `-DURATION` or `DURATION ago`, or the duration is too large to subtract.
pub fn parse_at_from(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let t = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(t, f) {
            return Ok(n.and_utc());
        }
    }
    let rel = t
        .strip_prefix('-')
        .or_else(|| t.strip_suffix("ago"))
        .map(str::trim);
    if let Some(r) = rel {
        let d = humantime::parse_duration(r).map_err(|e| format!("`{s}`: {e}"))?;
        let d = chrono::Duration::from_std(d).map_err(|e| format!("`{s}`: {e}"))?;
        return Ok(now - d);
    }
    Err(format!(
        "`{s}` is not a time; use RFC 3339 (2026-11-24T03:14:00Z), `2026-11-24 03:14` (UTC) or `-2h`"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_times() {
        let now = DateTime::parse_from_rfc3339("2026-11-24T05:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default();
        assert_eq!(
            parse_at_from("2026-11-24T03:14:00Z", now).map(|d| d.to_rfc3339()),
            Ok("2026-11-24T03:14:00+00:00".into())
        );
        assert_eq!(
            parse_at_from("-2h", now).map(|d| d.to_rfc3339()),
            Ok("2026-11-24T03:00:00+00:00".into())
        );
        assert_eq!(
            parse_at_from("30m ago", now).map(|d| d.to_rfc3339()),
            Ok("2026-11-24T04:30:00+00:00".into())
        );
        assert_eq!(
            parse_at_from("2026-11-24 03:14", now).map(|d| d.to_rfc3339()),
            Ok("2026-11-24T03:14:00+00:00".into())
        );
        assert!(parse_at_from("yesterday-ish", now).is_err());
    }

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
