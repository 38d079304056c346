//! Command line. Precedence: command line > `FLEETBOARD_*` environment > config file > defaults.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

const EXAMPLES: &str = "\
Examples:
  fleetboard --demo                                   simulated fleet, nothing needed
  fleetboard -p http://prometheus:9090 -a http://alertmanager:9093
  fleetboard -p http://vm:8428 --cluster payments --cluster orders
  FLEETBOARD_PROMETHEUS=http://prometheus:9090 fleetboard snapshot --format json
  fleetboard snapshot -p http://prometheus:9090; echo \"exit $?\"   (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)

Secrets (passwords, bearer tokens) are read from files or environment variables named
in the config file, never from the command line.";

/// A terminal status board for MySQL/MariaDB fleets, fed by Prometheus and Alertmanager.
#[derive(Debug, Parser, Clone, Default)]
#[command(name = "fleetboard", version, about, after_help = EXAMPLES)]
pub struct Cli {
    /// Prometheus-compatible query API (Prometheus, VictoriaMetrics, Thanos, Mimir).
    #[arg(
        short,
        long,
        value_name = "URL",
        env = "FLEETBOARD_PROMETHEUS",
        global = true
    )]
    pub prometheus: Option<String>,

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

    /// Colour theme (built in: default, light; more from the config dir's themes/).
    #[arg(long, value_name = "NAME", env = "FLEETBOARD_THEME", global = true)]
    pub theme: Option<String>,

    /// Run against a simulated fleet; no Prometheus needed.
    #[arg(long, env = "FLEETBOARD_DEMO", global = true)]
    pub demo: bool,

    /// Write logs to this file (logs never go to the terminal).
    #[arg(long, value_name = "FILE", env = "FLEETBOARD_LOG_FILE", global = true)]
    pub log_file: Option<PathBuf>,

    /// Measurement hook: quit after this many refreshes have been drawn.
    #[arg(long, value_name = "N", hide = true, global = true)]
    pub exit_after: Option<u32>,

    /// Measurement hook: a synthetic fleet of N hosts in process (no server).
    #[arg(long, value_name = "N", hide = true, global = true)]
    pub synthetic: Option<usize>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand, Clone)]
pub enum Command {
    /// Poll once, print every host, exit 0 OK / 1 WARNING / 2 CRITICAL / 3 UNKNOWN.
    Snapshot {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s.trim())
        .map_err(|e| format!("`{s}` is not a duration ({e}); use e.g. 500ms, 10s, 1m"))?;
    if d.is_zero() {
        return Err("a duration must be greater than zero".into());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

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
