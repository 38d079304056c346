//! The config loader on arbitrary text: `config::parse` then `config::resolve` never panic,
//! and an error whose position is known carries a line ≥ 1 (and a column ≥ 1) inside the text.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use fleetboard::cli::Cli;
use fleetboard::config::{self, ConfigError, FileConfig};
use libfuzzer_sys::fuzz_target;

/// A private file the text is written to, so that `resolve` can locate its errors.
fn scratch() -> &'static PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("fleetboard-fuzz-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir.join("config.toml")
    })
}

fn check_position(e: &ConfigError, text: &str, span_known: bool) {
    let lines = text.matches('\n').count() + 1;
    if span_known {
        assert!(e.line >= 1, "line 0 for an error with a span: {e:?}");
        assert!(e.column >= 1, "column 0 for an error with a span: {e:?}");
    }
    assert!(
        e.line <= lines,
        "line {} past the end ({lines} lines): {e:?}",
        e.line
    );
    let _ = e.to_string();
}

/// Secret files are read by `resolve`: keep the fuzzer away from the machine's files.
fn without_files(mut f: FileConfig) -> FileConfig {
    for sf in [f.prometheus.as_mut(), f.alertmanager.as_mut()]
        .into_iter()
        .flatten()
    {
        sf.password_file = None;
        sf.bearer_token_file = None;
        sf.password_env = sf
            .password_env
            .take()
            .filter(|v| v.starts_with("FLEETBOARD_FUZZ_"));
        sf.bearer_token_env = sf
            .bearer_token_env
            .take()
            .filter(|v| v.starts_with("FLEETBOARD_FUZZ_"));
    }
    f
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz.toml");
    let file = match config::parse(text, path) {
        Ok(f) => without_files(f),
        Err(e) => {
            let span_known = toml::from_str::<FileConfig>(text)
                .err()
                .and_then(|e| e.span())
                .is_some();
            check_position(&e, text, span_known);
            return;
        }
    };
    // As the brief's callers do without a file...
    let cli = Cli::default();
    if let Err(e) = config::resolve(&cli, &file, None) {
        assert!(e.line <= 1, "{e:?}");
        let _ = e.to_string();
    }
    // ...and as `fleetboard -c FILE` does, which reads the text back for positions.
    let p = scratch();
    if std::fs::write(p, text).is_ok() {
        match config::resolve(&cli, &file, Some(p)) {
            Ok(s) => {
                assert!(!s.refresh.is_zero());
                assert!(s.stale_after >= 1);
            }
            Err(e) => check_position(&e, text, e.line > 0),
        }
    }
});
