//! The layers of fleetboard and which may use which, checked from the source.
//!
//! ```text
//!  model  ◄── fleet ◄── sources            (data in: plain types, pure rules, HTTP)
//!    ▲          ▲
//!    └── app ◄──┴── ui                     (state + actions, pure render)
//! ```
//! Every `use crate::…` and inline `crate::…` path of a file under `src/<layer>/` names the
//! module it reaches; an arrow not allowed below fails this test with the file, line and path.

use std::path::{Path, PathBuf};

/// `(layer, forbidden targets, allowed exceptions)`: a path starting with a forbidden target
/// fails unless it starts with one of the exceptions.
const RULES: &[(&str, &[&str], &[&str])] = &[
    // The model imports nothing of the project: it could be a crate of its own.
    (
        "model",
        &[
            "action", "app", "cli", "config", "exec", "fleet", "layout", "perf", "poller",
            "report", "runtime", "sanitize", "setup", "sources", "terminal", "testing", "theme",
            "ui",
        ],
        &[],
    ),
    // The fleet rules are pure: no terminal, no HTTP, no app state.
    (
        "fleet",
        &[
            "action", "app", "cli", "config", "exec", "layout", "perf", "poller", "runtime",
            "setup", "sources", "terminal", "theme", "ui",
        ],
        &[],
    ),
    // Sources never draw and never reach into the app.
    (
        "sources",
        &[
            "action", "app", "exec", "layout", "runtime", "terminal", "theme", "ui",
        ],
        &[],
    ),
    // Render functions read the app and the model; they never fetch.
    (
        "ui",
        &["exec", "poller", "runtime", "setup", "sources", "terminal"],
        &[],
    ),
    // The app does no I/O: query templating is the only part of the sources it may use.
    (
        "app",
        &[
            "exec", "poller", "runtime", "setup", "sources", "terminal", "ui",
        ],
        &["sources::query"],
    ),
];

/// One forbidden arrow: file, line, the path it names.
#[derive(Debug, PartialEq)]
struct Violation {
    file: String,
    line: usize,
    path: String,
}

/// The `crate::…` paths a source text names, with their line numbers. A grouped import
/// (`use crate::{a::X, b::{Y, Z}}`) yields each of `a::X`, `b::Y`, `b::Z`.
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let bytes: Vec<char> = text.chars().collect();
    let mut line = 1usize;
    let mut i = 0usize;
    while i < bytes.len() {
        if bytes[i] == '\n' {
            line += 1;
        }
        // Skip line comments: doc links name paths without depending on them.
        if bytes[i] == '/' && bytes.get(i + 1) == Some(&'/') {
            while i < bytes.len() && bytes[i] != '\n' {
                i += 1;
            }
            continue;
        }
        let rest: String = bytes[i..bytes.len().min(i + 7)].iter().collect();
        let boundary = i == 0 || !(bytes[i - 1].is_alphanumeric() || bytes[i - 1] == '_');
        if boundary && rest == "crate::" {
            let start_line = line;
            let mut j = i + 7;
            let mut depth = 0i32;
            let mut s = String::new();
            while j < bytes.len() {
                let c = bytes[j];
                if c == '{' {
                    depth += 1;
                } else if c == '}' {
                    if depth == 0 {
                        break;
                    }
                    depth -= 1;
                } else if depth == 0 && !(c.is_alphanumeric() || c == '_' || c == ':') {
                    break;
                }
                if c == '\n' {
                    line += 1;
                }
                s.push(c);
                j += 1;
            }
            for p in expand(&s) {
                out.push((start_line, p));
            }
            i = j;
            continue;
        }
        i += 1;
    }
    out
}

/// `a::{b, c::{d, e}}` → `a::b`, `a::c::d`, `a::c::e`.
fn expand(s: &str) -> Vec<String> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = s.find('{') else {
        return vec![s.trim_end_matches(':').to_string()];
    };
    let prefix = &s[..open];
    let inner = &s[open + 1..s.rfind('}').unwrap_or(s.len())];
    let mut parts = Vec::new();
    let (mut depth, mut cur) = (0, String::new());
    for c in inner.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    parts.push(cur);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| {
            expand(&p)
                .into_iter()
                .map(|x| format!("{prefix}{x}"))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn check(layer: &str, file: &str, text: &str) -> Vec<Violation> {
    let Some((_, forbidden, allowed)) = RULES.iter().find(|r| r.0 == layer) else {
        return Vec::new();
    };
    let names = |p: &str, m: &str| p == m || p.starts_with(&format!("{m}::"));
    crate_paths(text)
        .into_iter()
        .filter(|(_, p)| forbidden.iter().any(|f| names(p, f)))
        .filter(|(_, p)| !allowed.iter().any(|a| names(p, a)))
        .map(|(line, path)| Violation {
            file: file.to_string(),
            line,
            path,
        })
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The layer of a file: `src/fleet/mod.rs` → `fleet`, `src/model.rs` → `model`.
fn layer_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel.components().next().expect("component");
    first
        .as_os_str()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_string()
}

#[test]
fn no_forbidden_arrow_between_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut bad = Vec::new();
    let mut checked = 0;
    for f in &files {
        let layer = layer_of(&src, f);
        let text = std::fs::read_to_string(f).expect("read");
        if RULES.iter().any(|r| r.0 == layer) {
            checked += 1;
        }
        bad.extend(check(&layer, &f.display().to_string(), &text));
    }
    assert!(
        checked > 20,
        "only {checked} files under the checked layers"
    );
    let report: Vec<String> = bad
        .iter()
        .map(|v| format!("{}:{}: crate::{}", v.file, v.line, v.path))
        .collect();
    assert!(
        report.is_empty(),
        "forbidden arrows:\n{}",
        report.join("\n")
    );
}

#[test]
fn the_checker_sees_each_kind_of_arrow() {
    // Each row: a layer, a line it must not contain, and a line it may.
    let rows = [
        (
            "model",
            "use crate::sources::http::Endpoint;",
            "use super::labels::Labels;",
        ),
        ("fleet", "use crate::ui::render;", "use crate::model::Host;"),
        (
            "fleet",
            "let x = crate::sources::Vector::default();",
            "use crate::model::{Host, Vector};",
        ),
        (
            "sources",
            "use crate::app::App;",
            "use crate::fleet::metrics::mysql_preset;",
        ),
        ("ui", "use crate::poller::Merger;", "use crate::app::App;"),
        (
            "ui",
            "use crate::{model::Health, sources::prometheus::PromClient};",
            "use crate::{model::Health, sanitize};",
        ),
        (
            "app",
            "use crate::sources::prometheus::PromClient;",
            "use crate::sources::query::host_regex;",
        ),
    ];
    for (layer, bad, good) in rows {
        let v = check(
            layer,
            "x.rs",
            &format!("//! doc crate::sources::x\n{bad}\n"),
        );
        assert_eq!(v.len(), 1, "{layer}: {bad} → {v:?}");
        assert_eq!(v[0].line, 2);
        assert!(check(layer, "x.rs", good).is_empty(), "{layer}: {good}");
    }
    // A path split over lines is still one import.
    let v = check(
        "model",
        "m.rs",
        "use crate::{\n    fleet::health::judge,\n    model::Host,\n};",
    );
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].path, "fleet::health::judge");
}

/// The files that drive the app from outside: they may read it, and change it only by
/// `app.update(action)`.
const DRIVERS: &[&str] = &["runtime.rs", "exec.rs", "main.rs", "setup.rs"];

/// Method names that change what they are called on.
const MUTATING: &[&str] = &[
    "clone_from",
    "push",
    "clear",
    "insert",
    "remove",
    "extend",
    "retain",
    "take",
    "drain",
    "truncate",
    "rebuild_view",
];

/// Statements of `text` (a line and the `.method()` lines that continue it) that change
/// an `App` named `app` other than through `app.update(…)`: an assignment to one of its
/// fields (`app.width = 3`, `app.grid.scroll += 1`), a mutating call on it or a field
/// (`app.themes.push(t)`), or lending it out as `&mut app`. Returns `(line, statement)`.
fn direct_app_writes(text: &str) -> Vec<(usize, String)> {
    let mut stmts: Vec<(usize, String)> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("").trim();
        match stmts.last_mut() {
            Some((_, s)) if code.starts_with('.') => s.push_str(code),
            _ => stmts.push((n + 1, code.to_string())),
        }
    }
    let word = |c: char| c.is_alphanumeric() || c == '_';
    stmts
        .into_iter()
        .filter(|(_, s)| {
            if s.contains("&mut app") && !s.contains("&mut app_") {
                return true;
            }
            let mut from = 0;
            while let Some(k) = s[from..].find("app.").map(|k| k + from) {
                from = k + 4;
                if s[..k].ends_with(|c: char| word(c) || c == '.') {
                    continue;
                }
                let after = &s[k + 4..];
                let len = after
                    .find(|c: char| !(word(c) || c == '.'))
                    .unwrap_or(after.len());
                let (path, tail) = after.split_at(len);
                let tail = tail.trim_start();
                let assigns = (tail.starts_with('=') && !tail.starts_with("=="))
                    || ["+=", "-=", "*=", "/=", "|=", "&=", "^="]
                        .iter()
                        .any(|op| tail.starts_with(op));
                let last = path.rsplit('.').next().unwrap_or(path);
                let mutates = tail.starts_with('(') && MUTATING.contains(&last);
                if assigns || mutates {
                    return true;
                }
            }
            false
        })
        .collect()
}

#[test]
fn the_runtime_changes_the_app_only_through_update() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut report = Vec::new();
    for f in DRIVERS {
        let text = std::fs::read_to_string(src.join(f)).expect("read");
        for (line, stmt) in direct_app_writes(&text) {
            report.push(format!("src/{f}:{line}: {stmt}"));
        }
    }
    assert!(
        report.is_empty(),
        "direct writes to the app (send an Action through app.update instead):\n{}",
        report.join("\n")
    );
}

#[test]
fn the_write_checker_sees_each_kind_of_write() {
    let bad = [
        "app.width = size.width;",
        "app.height=24;",
        "app.grid.scroll += 1;",
        "app.themes.push(t);",
        "app.alerts\n        .host_label\n        .clone_from(&settings.identity.host_label);",
        "let ex = Executor::prepare(&mut app, &settings, source.as_ref());",
        "app.rebuild_view();",
        "    app.dirty = false; // after the draw",
    ];
    for b in bad {
        assert_eq!(direct_app_writes(b).len(), 1, "not seen: {b}");
    }
    let good = [
        "app.update(Action::Resize(size.width, size.height));",
        "let cmds = app.update(a);",
        "if app.replay.is_some() {",
        "let w = app.width;",
        "if app.now == t {",
        "myapp.width = 3;",
        "dirty |= app.dirty;",
        "app.fleet.hosts.iter().map(|h| h.health)",
        "let (themes, i) = Theme::cycle(app.theme.clone(), dir, depth);",
        "// app.width = 3 in a comment",
    ];
    for g in good {
        assert!(direct_app_writes(g).is_empty(), "wrongly seen: {g}");
    }
}
