//! The bytes the board writes to a real pseudo-terminal (tests/support/pty_run.py): the bell
//! and desktop notifications (OSC 777, tmux passthrough) with their rate limit and
//! sanitising, OSC 8 hyperlinks in the host panel, and a command run from the panel
//! without a shell. The fleet is served by wiremock as a Prometheus answering `mysql_up`,
//! changed between phases; each phase waits for the bytes it expects (with a timeout).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

#[path = "support/united.rs"]
mod united;

/// `(cluster, host, up)` as a Prometheus instant vector.
fn answer(hosts: &[(&str, &str, u8)]) -> String {
    let series: Vec<String> = hosts
        .iter()
        .map(|(c, h, up)| {
            format!(
                r#"{{"metric":{{"cluster":{},"instance":{},"job":"mysql"}},"value":[1795554331.174,"{up}"]}}"#,
                serde_json::to_string(c).unwrap(),
                serde_json::to_string(h).unwrap()
            )
        })
        .collect();
    format!(
        r#"{{"status":"success","data":{{"resultType":"vector","result":[{}]}}}}"#,
        series.join(",")
    )
}

async fn serve(server: &MockServer, hosts: &[(&str, &str, u8)]) {
    server.reset().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/query"))
        .respond_with(united::EveryPart(answer(hosts)))
        .mount(server)
        .await;
}

struct Board {
    child: Child,
    stdin: Option<ChildStdin>,
    out: PathBuf,
    _dir: tempfile::TempDir,
}

impl Board {
    fn start(config: &str, prom: &str, env: &[(&str, &str)]) -> Board {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("config.toml");
        std::fs::write(&cfg, config).unwrap();
        let out = dir.path().join("out");
        let harness = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/pty_run.py");
        let mut cmd = Command::new("python3");
        cmd.arg(harness)
            .args(["120", "40"])
            .arg(&out)
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_fleetboard"))
            .args([
                "-c",
                cfg.to_str().unwrap(),
                "-p",
                prom,
                "--refresh",
                "200ms",
            ])
            .env_remove("TMUX")
            .env_remove("FLEETBOARD_ALERTMANAGER")
            .env("NO_COLOR", "1")
            .env("FLEETBOARD_LOG_FILE", dir.path().join("log"))
            .env("FLEETBOARD_LOG", "debug")
            .stdin(Stdio::piped())
            .stdout(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("python3 runs the pty harness");
        let stdin = child.stdin.take();
        Board {
            child,
            stdin,
            out,
            _dir: dir,
        }
    }

    fn bytes(&self) -> Vec<u8> {
        std::fs::read(&self.out).unwrap_or_default()
    }

    /// Waits until `pred` holds for the bytes so far; panics with them after 20 s.
    async fn wait(&self, what: &str, pred: impl Fn(&[u8]) -> bool) -> Vec<u8> {
        let t0 = Instant::now();
        loop {
            let b = self.bytes();
            if pred(&b) {
                return b;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "timed out waiting for {what}; the terminal got:\n{}\nlog:\n{}",
                String::from_utf8_lossy(&b[b.len().saturating_sub(3000)..]).escape_debug(),
                std::fs::read_to_string(self._dir.path().join("log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn keys(&mut self, k: &str) {
        let s = self.stdin.as_mut().unwrap();
        s.write_all(k.as_bytes()).unwrap();
        s.flush().unwrap();
    }

    fn stop(mut self) -> Vec<u8> {
        drop(self.stdin.take());
        let st = self.child.wait().unwrap();
        assert!(st.success(), "the board exited with {st}");
        self.bytes()
    }
}

fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

const UP_ONLY: &str = r#"
preset = "none"
[metrics.up]
expr = "mysql_up"
kind = "up"
"#;

const NOTIFY: &str = r#"
[notify]
bell = ["crit", "down"]
desktop = ["down"]
desktop_protocol = "osc777"
min_interval = "2s"
"#;

const OSC777: &[u8] = b"\x1b]777;notify;";
const EVIL: &str = "db4\u{1b}]0;pwned\u{7};x";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_ring_once_then_summarise_and_are_sanitised() {
    let server = MockServer::start().await;
    let fleet = |d1, d2, d3, d4| {
        vec![
            ("p", "db1", d1),
            ("p", "db2", d2),
            ("p", "db3", d3),
            ("q", EVIL, d4),
        ]
    };
    serve(&server, &fleet(1, 1, 1, 1)).await;
    let board = Board::start(&format!("{UP_ONLY}{NOTIFY}"), &server.uri(), &[]);
    // Phase 1: the baseline, all up. Several refreshes, no notification.
    board.wait("the board", |b| count(b, b"db3") > 0).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(count(&board.bytes(), OSC777), 0);
    assert_eq!(
        count(&board.bytes(), b"\x07"),
        0,
        "no bell for a healthy fleet"
    );

    // Phase 2: db1 goes down: one bell, one desktop notification.
    serve(&server, &fleet(0, 1, 1, 1)).await;
    let b = board
        .wait("db1's notification", |b| count(b, OSC777) >= 1)
        .await;
    let at = find(&b, OSC777).unwrap();
    assert!(
        b[at..].starts_with(b"\x1b]777;notify;fleetboard: db1 DOWN;cluster p: db1 DOWN\x1b\\"),
        "{}",
        String::from_utf8_lossy(&b[at..(at + 80).min(b.len())]).escape_debug()
    );
    assert_eq!(b[at - 1], 0x07, "the bell comes first");

    // Phase 3: a mass outage right after, within min_interval (2 s): held back, then one
    // summary for all three.
    serve(&server, &fleet(0, 0, 0, 0)).await;
    let b = board.wait("the summary", |b| count(b, OSC777) >= 2).await;
    let second = &b[find(&b[at + 1..], OSC777).unwrap() + at + 1..];
    let end = find(second, b"\x1b\\").unwrap();
    let text = String::from_utf8_lossy(&second[OSC777.len()..end]).into_owned();
    assert!(
        text.starts_with("fleetboard: 3 hosts changed: 3 DOWN;"),
        "{text:?}"
    );
    // The hostile name arrives escaped as text, its `;` made harmless.
    assert!(text.contains(r"db4\x1b]0,pwned\x07,x DOWN"), "{text:?}");
    // Steady now: nothing more, however many refreshes.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let b = board.stop();
    assert_eq!(count(&b, OSC777), 2);
    assert_eq!(count(&b, b"\x07"), 2, "one bell per notification");
    assert_eq!(
        count(&b, b"\x1b]0;pwned"),
        0,
        "a label must never reach the terminal raw"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_pass_through_tmux() {
    let server = MockServer::start().await;
    serve(&server, &[("p", "db1", 1), ("p", "db2", 1)]).await;
    let board = Board::start(
        &format!("{UP_ONLY}{NOTIFY}"),
        &server.uri(),
        &[("TMUX", "/tmp/tmux-0/default,1,0")],
    );
    board.wait("the board", |b| count(b, b"db2") > 0).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    serve(&server, &[("p", "db1", 1), ("p", "db2", 0)]).await;
    let wrapped: &[u8] = b"\x07\x1bPtmux;\x1b\x1b]777;notify;fleetboard: db2 DOWN;cluster p: db2 DOWN\x1b\x1b\\\x1b\\";
    board
        .wait("the wrapped notification", |b| count(b, wrapped) == 1)
        .await;
    let b = board.stop();
    assert_eq!(
        count(&b, OSC777),
        count(&b, b"\x1bPtmux;\x1b\x1b]777;notify;"),
        "inside tmux the OSC is always wrapped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panel_links_are_hyperlinks_and_commands_run_without_a_shell() {
    let server = MockServer::start().await;
    serve(&server, &[("p", "db1", 1), ("p", "db2", 1)]).await;
    let config = format!(
        r#"{UP_ONLY}
[links]
urls = [{{ name = "Grafana", url = "https://grafana.example/d/mysql?var-host={{host}}" }}]
commands = [{{ name = "say", argv = ["echo", "ran-for-{{host}}", "$(id)", ";", "{{cluster}}"] }}]
"#
    );
    let mut board = Board::start(&config, &server.uri(), &[]);
    board.wait("the board", |b| count(b, b"db2") > 0).await;
    board.keys("\r");
    let link = b"\x1b]8;;https://grafana.example/d/mysql?var-host=db1\x1b\\";
    let b = board.wait("the hyperlink", |b| count(b, link) >= 1).await;
    let at = find(&b, link).unwrap() + link.len();
    let close = find(&b[at..], b"\x1b]8;;\x1b\\").expect("the link is closed");
    assert!(
        String::from_utf8_lossy(&b[at..at + close]).contains("Grafana"),
        "the link covers its name"
    );
    let entered = count(&b, b"\x1b[?1049h");
    board.keys("x");
    // The argv is passed as is: `$(id)` and `;` are plain words for echo, not shell.
    let b = board
        .wait("the command's output", |b| {
            count(b, b"\r\nran-for-db1 $(id) ; p\r\n") == 1
        })
        .await;
    assert!(count(&b, b"fleetboard: running echo ran-for-db1") == 1);
    // Back on the alternate screen, in the same panel, with what happened; the screen was
    // cleared, so the link is written again. (One wait for all three: a frame can reach the
    // reader in pieces, the link after the notice.)
    board
        .wait("the board again, with the hyperlink", |b| {
            let after = &b[find(b, b"ran-for-db1 $(id)").unwrap()..];
            count(b, b"\x1b[?1049h") > entered
                && count(after, b"finished") > 0
                && count(after, link) >= 1
        })
        .await;
    board.stop();
}
