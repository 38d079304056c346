use std::process::ExitCode;

use fleetboard::cli::{Cli, Command};
use fleetboard::sources::synthetic::SyntheticSource;
use fleetboard::{config, runtime, setup, theme::Theme};

fn main() -> ExitCode {
    fleetboard::memory::one_arena();
    // Usage errors exit 3 (UNKNOWN), not clap's 2, which a monitor would read as CRITICAL.
    let cli = match Cli::parse_args(std::env::args_os()) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 3 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    if let Some(Command::Doctor { format }) = cli.command {
        return fleetboard::doctor::run_cli(&cli, format);
    }
    // These need no config and no network: they work on a machine with nothing set up.
    match &cli.command {
        Some(Command::Completions { shell }) => {
            return write_out(&fleetboard::docs::completions(*shell));
        }
        Some(Command::Man) => return write_out(&fleetboard::docs::man_page()),
        Some(Command::Config { example: true }) => {
            return write_out(config::EXAMPLE.as_bytes());
        }
        _ => {}
    }
    let (file, path) = match config::load_file(&cli) {
        Ok(x) => x,
        Err(e) => return fail(&format!("config error: {e}")),
    };
    let settings = match config::resolve(&cli, &file, path.as_deref()) {
        Ok(s) => s,
        Err(e) => return fail(&format!("config error: {e}")),
    };
    if let Some(p) = &settings.log_file {
        if let Err(e) = init_logging(p) {
            return fail(&format!("cannot open log file {}: {e}", p.display()));
        }
    }
    for w in &settings.warnings {
        err_write(&format!("warning: {w}\n"));
        tracing::warn!("{w}");
    }
    if let Some(Command::Config { .. }) = cli.command {
        let matches = <Cli as clap::CommandFactory>::command().get_matches();
        let out = config::explain::explain(
            &cli,
            &|id| matches.value_source(id),
            &file,
            path.as_deref(),
            &settings,
        );
        return write_out(out.as_bytes());
    }
    if let Some(Command::BenchRefresh {
        print_queries: true,
        ..
    }) = cli.command
    {
        out_write(&fleetboard::perf::queries(&settings));
        return ExitCode::SUCCESS;
    }
    let source = match cli.synthetic {
        Some(n) => {
            let keys = settings.metrics.metrics.iter().map(|m| m.key.clone());
            // Share of hosts whose values move each refresh, per mille (measurements).
            let churn = std::env::var("FLEETBOARD_SYNTHETIC_CHURN")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(10);
            std::sync::Arc::new(SyntheticSource::with_churn(n, keys.collect(), churn)) as _
        }
        None => match setup::make_source(&settings) {
            Ok(s) => s,
            Err(e) => return fail(&e),
        },
    };
    // The UI runs on this thread (block_on); polling, parsing and merging run on one worker.
    // A second worker would buy nothing (a refresh is one task) and would cost a second
    // glibc arena holding its own peak: 85 instead of 61 MB at 10,000 hosts.
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    match cli.command {
        Some(Command::Snapshot { format }) => {
            let out = rt.block_on(setup::snapshot(&settings, source.as_ref(), format));
            out_write(&out.stdout);
            err_write(&out.stderr);
            ExitCode::from(u8::try_from(out.exit_code).unwrap_or(3))
        }
        // Handled before the config is loaded (a config error is its exit 2).
        Some(Command::Doctor { format }) => fleetboard::doctor::run_cli(&cli, format),
        Some(Command::BenchRefresh { runs, .. }) => {
            match rt.block_on(fleetboard::perf::bench_refresh(&settings, runs)) {
                Ok(out) => {
                    out_write(&out);
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        // Answered before the configuration was even resolved.
        Some(Command::Completions { .. } | Command::Man | Command::Config { .. }) => {
            ExitCode::SUCCESS
        }
        None => {
            let theme = match Theme::load(&settings.theme, settings.config_dir.as_deref()) {
                Ok(t) => t,
                Err(e) => return fail(&e),
            };
            match rt.block_on(runtime::run_with(settings, theme, source, cli.exit_after)) {
                Ok(()) => ExitCode::SUCCESS,
                // Nobody is left to read a message: the reason goes to the log only, and
                // leaving is the right thing to do, not a failure.
                Err(runtime::RunError::TerminalGone(e)) => {
                    tracing::warn!("the terminal went away ({e}); leaving");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&format!("{e:#}")),
            }
        }
    }
}

fn write_out(bytes: &[u8]) -> ExitCode {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    // A closed pipe (`fleetboard man | head`) is not worth a message.
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => fail(&format!("cannot write: {e}")),
    }
}

fn fail(msg: &str) -> ExitCode {
    tracing::error!("{msg}");
    err_write(&format!("fleetboard: {msg}\n"));
    // 3 is UNKNOWN in the Nagios convention that `snapshot` follows.
    ExitCode::from(3)
}

// `print!` and `eprintln!` panic when the write fails (a closed pipe, a terminal gone):
// output that cannot be delivered is dropped instead.
fn out_write(s: &str) {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(s.as_bytes());
    let _ = o.flush();
}

fn err_write(s: &str) {
    use std::io::Write;
    let _ = std::io::stderr().lock().write_all(s.as_bytes());
}

fn init_logging(path: &std::path::Path) -> std::io::Result<()> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("FLEETBOARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .init();
    Ok(())
}
