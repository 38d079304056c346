//! End-to-end: `fleetboard snapshot` against a real HTTPS Prometheus with basic auth, and a
//! real bearer-token proxy (vmauth, HTTPS) in front of VictoriaMetrics under a path prefix.
//!
//! The test makes a CA and a server certificate for 127.0.0.1 (openssl), a bcrypt password
//! hash (htpasswd, Debian's apache2-utils), starts `scripts/stack.sh start` with
//! `STACK_PROM_WEB_CONFIG` (payments cluster only, no orders), and `vmauth -tls` with a
//! bearer-token user whose only route is `/prometheus/api/v1/...` on VictoriaMetrics.
//!
//! `FLEETBOARD_SKIP_E2E=1` skips it (loudly); otherwise a missing tool fails it.

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_fleetboard");
const USER: &str = "board";
const PASSWORD: &str = "Pw-e2e-7f3a9c1d";
const WRONG_PASSWORD: &str = "Wrong-e2e-55aa01";
const TOKEN: &str = "Tok-e2e-b81c4e6f0d";
const WRONG_TOKEN: &str = "Tok-e2e-wrong-000";
const HOSTS: [&str; 3] = ["db1", "db2", "db3"];

fn sh(what: &str, cmd: &mut Command) -> String {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{what}: {cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn need(tool: &str, package: &str) {
    let ok = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "`{tool}` is missing: install the Debian package {package} (scripts/stack.sh install does), \
         or set FLEETBOARD_SKIP_E2E=1 to skip the end-to-end tests"
    );
}

/// CA + server certificate for 127.0.0.1, in `dir`: ca.pem, server.pem, server.key.
fn make_certs(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    sh(
        "CA",
        Command::new("openssl")
            .current_dir(dir)
            .args(["req", "-x509"])
            .args(ec)
            .args(["-keyout", "ca.key", "-out", "ca.pem", "-days", "2"])
            .args(["-subj", "/CN=fleetboard e2e CA"])
            .args(["-addext", "basicConstraints=critical,CA:TRUE"])
            .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]),
    );
    sh(
        "server key",
        Command::new("openssl")
            .current_dir(dir)
            .arg("req")
            .args(ec)
            .args(["-keyout", "server.key", "-out", "server.csr"])
            .args(["-subj", "/CN=127.0.0.1"]),
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write server.ext");
    sh(
        "server certificate",
        Command::new("openssl")
            .current_dir(dir)
            .args(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem"])
            .args(["-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem"])
            .args(["-days", "2", "-extfile", "server.ext"]),
    );
}

/// The stack started with a TLS + basic auth web config; stopped (by PID, via stack.sh) on drop.
struct Stack {
    dir: PathBuf,
    env: Vec<(String, String)>,
}

impl Stack {
    fn script() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/stack.sh")
    }

    fn get(&self, k: &str) -> String {
        self.env
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.trim_matches(|c| c == '\'' || c == '"').to_string())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| panic!("{k} is not in {}/stack.env", self.dir.display()))
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let mut cmd = Command::new("bash");
        cmd.arg(Self::script()).arg("stop").arg(&self.dir);
        if !thread::panicking() {
            cmd.arg("--purge");
        }
        match cmd.stdin(Stdio::null()).output() {
            Ok(o) if o.status.success() => eprintln!("e2e-tls: stack stopped"),
            Ok(o) => eprintln!(
                "e2e-tls: stopping the stack in {} FAILED:\n{}{}",
                self.dir.display(),
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => eprintln!("e2e-tls: cannot run stack.sh stop: {e}"),
        }
    }
}

/// A child process killed (by its PID) and reaped on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[path = "support/ports.rs"]
mod ports;

/// Starts vmauth (HTTPS) on a free port and waits until it listens; another port is tried
/// when the one picked was taken before vmauth could bind it.
fn start_vmauth(dir: &Path, auth_cfg: &Path) -> (Proc, u16) {
    let d = dir.display();
    for _ in 0..5 {
        let port = ports::candidate_port();
        let log = std::fs::File::create(dir.join("vmauth.log")).expect("vmauth.log");
        let child = Command::new("vmauth")
            .arg(format!("-auth.config={}", auth_cfg.display()))
            .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
            .arg("-tls")
            .arg(format!("-tlsCertFile={d}/server.pem"))
            .arg(format!("-tlsKeyFile={d}/server.key"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start vmauth");
        let mut p = Proc(child);
        let t = Instant::now();
        loop {
            let log = std::fs::read_to_string(dir.join("vmauth.log")).unwrap_or_default();
            if p.0.try_wait().ok().flatten().is_some() {
                assert!(ports::in_use(&log), "vmauth exited at start:\n{log}");
                break; // taken: another port
            }
            // listening, and still ours (a process that took the port would make it exit)
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                thread::sleep(Duration::from_millis(200));
                if p.0.try_wait().ok().flatten().is_none() {
                    return (p, port);
                }
                continue;
            }
            assert!(
                t.elapsed() < Duration::from_secs(15),
                "vmauth is not listening on 127.0.0.1:{port}:\n{log}"
            );
            thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("vmauth found its port taken five times in a row");
}

struct Snap {
    desc: String,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Snap {
    fn json(&self) -> Option<Value> {
        serde_json::from_str(self.stdout.trim()).ok()
    }

    fn healthy(&self) -> Result<(), String> {
        if self.code != Some(0) {
            return Err(format!("exit code {:?}, want 0", self.code));
        }
        let j = self.json().ok_or("stdout is not JSON")?;
        let names: Vec<&str> = j["hosts"]
            .as_array()
            .map(|a| a.iter().filter_map(|h| h["name"].as_str()).collect())
            .unwrap_or_default();
        if names != HOSTS {
            return Err(format!("hosts {names:?}, want {HOSTS:?}"));
        }
        for h in j["hosts"].as_array().into_iter().flatten() {
            if h["health"].as_str() != Some("OK") {
                return Err(format!("{} is {}", h["name"], h["health"]));
            }
        }
        Ok(())
    }

    /// The configured secrets never show. A wrong token that the server itself echoes in its
    /// error body (vmauth 1.79 does: `cannot find the provided auth token "Bearer ..."`) and
    /// fleetboard passes on is reported loudly, not failed on: the server chose to print it.
    fn no_secrets(&self) {
        for secret in [PASSWORD, WRONG_PASSWORD, TOKEN] {
            assert!(
                !self.stdout.contains(secret) && !self.stderr.contains(secret),
                "a secret was printed\n{self}"
            );
        }
        if self.stdout.contains(WRONG_TOKEN) || self.stderr.contains(WRONG_TOKEN) {
            let _ = std::io::stderr().write_all(
                format!(
                    "e2e-tls: NOTE: the rejected bearer token shows in fleetboard's output \
                     (echoed by the server's error body, not redacted):\n{self}\n"
                )
                .as_bytes(),
            );
        }
    }
}

impl std::fmt::Display for Snap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "--- {}", self.desc)?;
        writeln!(f, "exit code: {:?}", self.code)?;
        writeln!(f, "stderr: {}", self.stderr.trim_end())?;
        let out = self.stdout.trim_end();
        let cut = out.char_indices().nth(3000).map_or(out.len(), |(i, _)| i);
        write!(f, "stdout: {}", &out[..cut])
    }
}

struct Env {
    dir: PathBuf,
    am: String,
    n: usize,
}

impl Env {
    /// One `snapshot --format json -p URL -c CONFIG`, with `config` after the load thresholds.
    fn snapshot(&mut self, desc: &str, url: &str, config: &str) -> Snap {
        self.n += 1;
        let cfg = self.dir.join(format!("snap-{}.toml", self.n));
        std::fs::write(
            &cfg,
            format!("[metrics.load]\nwarn = 10000.0\ncrit = 20000.0\n\n[prometheus]\n{config}"),
        )
        .expect("write config");
        let home = self.dir.join("home");
        let mut cmd = Command::new(BIN);
        cmd.args(["snapshot", "--format", "json", "--timeout", "5s", "-p", url])
            .args(["-a", &self.am, "-c"])
            .arg(&cfg)
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("FLEETBOARD_") {
                cmd.env_remove(&k);
            }
        }
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"));
        let s = Snap {
            desc: format!("{desc}: fleetboard snapshot -p {url} with\n{config}"),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        s.no_secrets();
        s
    }

    /// Snapshots until one is healthy (the first scrapes may still be missing), 30 s at most.
    fn healthy(&mut self, desc: &str, url: &str, config: &str) -> Snap {
        let t = Instant::now();
        loop {
            let s = self.snapshot(desc, url, config);
            match s.healthy() {
                Ok(()) => {
                    eprintln!("e2e-tls: ok: {desc} ({:.2}s)", t.elapsed().as_secs_f64());
                    return s;
                }
                Err(e) if t.elapsed() > Duration::from_secs(30) => {
                    panic!("{desc}: not healthy within 30 s: {e}\n{s}")
                }
                Err(_) => thread::sleep(Duration::from_millis(300)),
            }
        }
    }

    /// One snapshot that must exit 3 with `needle` (case-insensitive) on stderr.
    fn unknown(&mut self, desc: &str, url: &str, config: &str, needles: &[&str]) -> Snap {
        let s = self.snapshot(desc, url, config);
        assert_eq!(s.code, Some(3), "{desc}: want exit 3\n{s}");
        let err = s.stderr.to_lowercase();
        assert!(
            needles.iter().any(|n| err.contains(&n.to_lowercase())),
            "{desc}: stderr names none of {needles:?}\n{s}"
        );
        eprintln!(
            "e2e-tls: ok: {desc}: exit 3, stderr: {}",
            s.stderr.trim().lines().last().unwrap_or("")
        );
        s
    }
}

#[test]
fn e2e_tls_basic_auth_bearer() {
    if std::env::var("FLEETBOARD_SKIP_E2E").as_deref() == Ok("1") {
        let _ = std::io::stderr().write_all(
            b"\n##  FLEETBOARD_SKIP_E2E=1: the TLS / auth end-to-end test was SKIPPED.  ##\n",
        );
        return;
    }
    need("openssl", "openssl");
    need("htpasswd", "apache2-utils");
    need("vmauth", "victoria-metrics");
    let t_all = Instant::now();
    let tmp = tempfile::Builder::new()
        .prefix("fleetboard-e2e-tls-")
        .tempdir()
        .expect("tempdir");
    let dir = tmp.path().to_path_buf();
    make_certs(&dir);
    let hash = sh(
        "bcrypt hash",
        Command::new("htpasswd").args(["-bnBC", "10", "", PASSWORD]),
    );
    let hash = hash.trim().trim_start_matches(':').to_string();
    assert!(
        hash.starts_with("$2"),
        "htpasswd printed no bcrypt hash: {hash:?}"
    );
    let web = dir.join("web.yml");
    std::fs::write(
        &web,
        format!(
            "tls_server_config:\n  cert_file: {d}/server.pem\n  key_file: {d}/server.key\n\
             basic_auth_users:\n  {USER}: '{hash}'\n",
            d = dir.display()
        ),
    )
    .expect("write web.yml");
    let ca = dir.join("ca.pem");
    std::fs::write(dir.join("password"), format!("{PASSWORD}\n")).expect("write password");
    std::fs::write(dir.join("wrong-password"), WRONG_PASSWORD).expect("write");
    std::fs::write(dir.join("token"), format!("{TOKEN}\n")).expect("write token");
    std::fs::write(dir.join("wrong-token"), WRONG_TOKEN).expect("write");
    std::fs::create_dir_all(dir.join("home")).expect("mkdir home");

    // the stack: HTTPS + basic auth Prometheus, payments cluster only
    let stack_dir = dir.join("stack");
    let t = Instant::now();
    let out = Command::new("bash")
        .arg(Stack::script())
        .arg("start")
        .arg(&stack_dir)
        .env("STACK_OWNER_PID", std::process::id().to_string())
        .env("STACK_ORDERS", "0")
        .env("STACK_PROM_WEB_CONFIG", &web)
        .env("STACK_PROM_CACERT", &ca)
        .env("STACK_PROM_BASIC_AUTH", format!("{USER}:{PASSWORD}"))
        .stdin(Stdio::null())
        .output()
        .expect("run stack.sh start");
    let env_text = std::fs::read_to_string(stack_dir.join("stack.env")).unwrap_or_default();
    let stack = Stack {
        dir: stack_dir.clone(),
        env: env_text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    assert!(
        out.status.success(),
        "the TLS stack did not start (logs in {}/logs):\n{}{}",
        stack_dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("e2e-tls: stack ready in {:.1}s", t.elapsed().as_secs_f64());
    let prom = stack.get("PROM_URL");
    assert!(prom.starts_with("https://"), "PROM_URL {prom} is not https");
    let vm = stack.get("VM_URL");
    let mut env = Env {
        dir: dir.clone(),
        am: stack.get("AM_URL"),
        n: 0,
    };

    let d = dir.display();
    let auth = format!("username = \"{USER}\"\npassword_file = \"{d}/password\"\n");
    let ca_line = format!("ca_file = \"{d}/ca.pem\"\n");

    // 1. the right CA and password
    let s = env.healthy(
        "HTTPS + CA + basic auth",
        &prom,
        &format!("{ca_line}{auth}"),
    );
    let j = s.json().unwrap_or_default();
    let src = j["sources"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["name"] == "prometheus").cloned())
        .unwrap_or_default();
    assert_eq!(src["ok"], true, "prometheus source not ok\n{s}");
    // 2. no CA: the system roots do not know ours
    env.unknown(
        "HTTPS without the CA",
        &prom,
        &auth,
        &["certificate", "unknownissuer", "unknown issuer"],
    );
    // 3. wrong password
    env.unknown(
        "wrong password",
        &prom,
        &format!("{ca_line}username = \"{USER}\"\npassword_file = \"{d}/wrong-password\"\n"),
        &["401"],
    );
    // 4. no credentials at all
    env.unknown("no credentials", &prom, &ca_line, &["401"]);
    // 5. insecure_skip_verify: works, and says so
    let s = env.healthy(
        "insecure_skip_verify without the CA",
        &prom,
        &format!("insecure_skip_verify = true\n{auth}"),
    );
    assert!(
        s.stderr.to_lowercase().contains("warning") && s.stderr.contains("insecure_skip_verify"),
        "insecure_skip_verify = true printed no warning\n{s}"
    );

    // bearer token: vmauth (HTTPS, same certificate) in front of VictoriaMetrics; its only
    // route is the /prometheus prefix, which VictoriaMetrics also serves its API under
    let auth_cfg = dir.join("vmauth.yml");
    std::fs::write(
        &auth_cfg,
        format!(
            "users:\n  - bearer_token: \"{TOKEN}\"\n    url_map:\n      \
             - src_paths: [\"/prometheus/api/v1/.*\"]\n        url_prefix: \"{vm}\"\n"
        ),
    )
    .expect("write vmauth.yml");
    let (_vmauth, port) = start_vmauth(&dir, &auth_cfg);
    let base = format!("https://127.0.0.1:{port}");
    let prefixed = format!("{base}/prometheus");
    let token = format!("bearer_token_file = \"{d}/token\"\n");
    // 6. bearer token + CA + path prefix
    env.healthy(
        "bearer token through vmauth under /prometheus",
        &prefixed,
        &format!("{ca_line}{token}"),
    );
    // 7. the prefix is kept: without it vmauth has no route
    let s = env.snapshot(
        "bearer token, no path prefix",
        &base,
        &format!("{ca_line}{token}"),
    );
    assert_eq!(
        s.code,
        Some(3),
        "without the /prometheus prefix, want exit 3\n{s}"
    );
    eprintln!(
        "e2e-tls: ok: no path prefix: exit 3, stderr: {}",
        s.stderr.trim().lines().last().unwrap_or("")
    );
    // 8. wrong token, and no token
    env.unknown(
        "wrong bearer token",
        &prefixed,
        &format!("{ca_line}bearer_token_file = \"{d}/wrong-token\"\n"),
        &["401", "auth token"],
    );
    env.unknown(
        "no bearer token",
        &prefixed,
        &ca_line,
        &["401", "authorization", "auth token"],
    );

    drop(stack);
    eprintln!(
        "e2e-tls: all checks passed in {:.1}s",
        t_all.elapsed().as_secs_f64()
    );
}
