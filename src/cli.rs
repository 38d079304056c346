//! Command line. Precedence: command line > `FLEETBOARD_*` environment > config file > defaults.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

const EXAMPLES: &str = "\
Examples:
  fleetboard --demo                                   simulated fleet, nothing needed
  fleetboard -p http://prometheus:9090 -a http://alertmanager:9093
  fleetboard -p http://vm:8428 --cluster payments --cluster orders
  fleetboard --read-only -p http://prometheus:9090 -a http://am-1:9093 -a http://am-2:9093
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

    /// Disable every write to Alertmanager (creating or expiring silences).
    #[arg(long, env = "FLEETBOARD_READ_ONLY", global = true)]
    pub read_only: bool,

    /// Write logs to this file (logs never go to the terminal).
    #[arg(long, value_name = "FILE", env = "FLEETBOARD_LOG_FILE", global = true)]
    pub log_file: Option<PathBuf>,

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
