//! A real terminal for end-to-end tests: one command in a detached tmux session on a private
//! socket (`tmux -L NAME`, never the user's server), keys sent with `send-keys`, the screen read
//! with `capture-pane -p`. The server is killed (by its own socket) when the value is dropped.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Pause between two screen reads while waiting for something to show.
const READ_EVERY: Duration = Duration::from_millis(20);

/// One screen as `capture-pane -p` printed it.
#[derive(Clone, Debug)]
pub struct Screen {
    pub text: String,
}

impl Screen {
    pub fn lines(&self) -> Vec<&str> {
        self.text.lines().collect()
    }

    /// Row 0.
    pub fn header(&self) -> &str {
        self.text.lines().next().unwrap_or("")
    }

    /// The last non-empty row (the status bar while the board is up).
    pub fn status(&self) -> &str {
        self.text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
    }

    pub fn has(&self, s: &str) -> bool {
        self.text.contains(s)
    }

    /// Whether `word` shows as a whole word (so `db1` does not match `db12`).
    pub fn has_word(&self, word: &str) -> bool {
        self.text
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
            .any(|w| w == word)
    }
}

impl std::fmt::Display for Screen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "+{}", "-".repeat(40))?;
        for l in self.text.lines() {
            writeln!(f, "|{l}")?;
        }
        write!(f, "+{}", "-".repeat(40))
    }
}

pub struct Tmux {
    socket: String,
    /// The server's socket file, removed on drop.
    socket_path: Option<std::path::PathBuf>,
}

impl Tmux {
    /// Starts `shell_command` (run by `sh -c`) in a `cols`x`rows` session; `env` is added to
    /// (and `unset` removed from) the environment the tmux server, and so the command, gets.
    pub fn start(
        shell_command: &str,
        cols: u16,
        rows: u16,
        env: &[(&str, &Path)],
        unset: &[String],
    ) -> Tmux {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let mut t = Tmux {
            socket: format!("fleetboard-e2e-{}-{nanos}", std::process::id()),
            socket_path: None,
        };
        let mut cmd = Command::new("tmux");
        // -f /dev/null: no user or system tmux.conf
        cmd.args(["-L", &t.socket, "-f", "/dev/null", "new-session", "-d"])
            .args([
                "-s",
                "e2e",
                "-x",
                &cols.to_string(),
                "-y",
                &rows.to_string(),
            ])
            .arg(shell_command)
            .env("TERM", "xterm-256color")
            .stdin(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        for k in unset {
            cmd.env_remove(k);
        }
        let out = cmd.output().unwrap_or_else(|e| {
            panic!("cannot run tmux (is it installed? scripts/test.sh installs it): {e}")
        });
        assert!(
            out.status.success(),
            "tmux new-session failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        t.socket_path = Some(t.display("#{socket_path}").into());
        // keep the pane (and its last screen) if the command exits
        let _ = t.tmux(&["set-option", "-t", "e2e", "remain-on-exit", "on"]);
        t
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run tmux {args:?}: {e}"))
    }

    fn tmux_ok(&self, args: &[&str]) -> String {
        let out = self.tmux(args);
        assert!(
            out.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The screen as plain text.
    pub fn capture(&self) -> Screen {
        Screen {
            text: self.tmux_ok(&["capture-pane", "-p", "-t", "e2e"]),
        }
    }

    /// The screen with its colours and attributes as escape sequences.
    pub fn capture_styled(&self) -> String {
        self.tmux_ok(&["capture-pane", "-p", "-e", "-t", "e2e"])
    }

    /// Named keys (`Enter`, `Escape`, `q`, `/`), one `send-keys` call.
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend_from_slice(keys);
        self.tmux_ok(&args);
    }

    /// Literal text, as if typed.
    pub fn text(&self, text: &str) {
        self.tmux_ok(&["send-keys", "-t", "e2e", "-l", text]);
    }

    /// A tmux format of the pane, e.g. `#{pane_pid}`, `#{alternate_on}`.
    pub fn display(&self, format: &str) -> String {
        self.tmux_ok(&["display-message", "-p", "-t", "e2e", format])
            .trim()
            .to_string()
    }

    /// PID of the process the pane runs (the shell).
    pub fn pane_pid(&self) -> u32 {
        let s = self.display("#{pane_pid}");
        s.parse()
            .unwrap_or_else(|e| panic!("pane_pid {s:?} is not a number: {e}"))
    }

    /// Reads the screen until `check` accepts it, or panics after `timeout` with the last
    /// screen and what was missing. Returns that screen and the time from `t0`.
    pub fn wait(
        &self,
        what: &str,
        t0: Instant,
        timeout: Duration,
        check: impl Fn(&Screen) -> Result<(), String>,
    ) -> (Screen, Duration) {
        loop {
            let s = self.capture();
            match check(&s) {
                Ok(()) => return (s, t0.elapsed()),
                Err(why) => {
                    if t0.elapsed() >= timeout {
                        panic!(
                            "{what}: not on the screen within {:.1}s; last: {why}\n{s}",
                            timeout.as_secs_f64()
                        );
                    }
                }
            }
            thread::sleep(READ_EVERY);
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // Only this test's private server (its own socket): it hangs up on what runs in it.
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if let Some(p) = &self.socket_path {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Children of `pid` (from /proc), e.g. the board started by the pane's shell.
pub fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect()
}

/// `/proc/PID/comm`, empty when the process is gone.
pub fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_string()
}
