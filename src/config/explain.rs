//! `fleetboard config`: the settings in force and where each one comes from (flag,
//! environment, config file, default). Secrets are never printed, only where they come from.

use std::fmt::Write as _;
use std::path::Path;

use clap::parser::ValueSource;

use super::{FileConfig, Settings, SourceFile};
use crate::cli::Cli;

/// Header names whose values are credentials.
fn sensitive_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "auth", "token", "key", "secret", "cookie", "password", "session",
    ]
    .iter()
    .any(|s| n.contains(s))
}

/// `https://user:pw@host/…` → `https://user:***@host/…`.
pub fn redact_url(u: &str) -> String {
    match url::Url::parse(u) {
        Ok(mut p) if p.password().is_some() => {
            let _ = p.set_password(Some("***"));
            p.to_string()
        }
        _ => u.to_string(),
    }
}

struct Out {
    rows: Vec<(String, String, String)>,
}

impl Out {
    fn row(&mut self, key: &str, value: impl Into<String>, from: impl Into<String>) {
        self.rows.push((key.into(), value.into(), from.into()));
    }
}

fn q(s: &str) -> String {
    format!("{:?}", crate::sanitize::escape(s).as_ref())
}

fn list(v: &[String]) -> String {
    format!(
        "[{}]",
        v.iter().map(|s| q(s)).collect::<Vec<_>>().join(", ")
    )
}

fn dur(d: std::time::Duration) -> String {
    q(&humantime::format_duration(d).to_string())
}

/// The report. `source_of` says where clap took an argument from (by its id, e.g.
/// `"refresh"`); `file` and `path` are the config file as loaded.
#[allow(clippy::too_many_lines)]
pub fn explain(
    cli: &Cli,
    source_of: &dyn Fn(&str) -> Option<ValueSource>,
    file: &FileConfig,
    path: Option<&Path>,
    s: &Settings,
) -> String {
    let fname = path.map_or_else(String::new, |p| p.display().to_string());
    // Booleans have a `--no-` twin; the later of the two on the command line wins.
    const TWINS: [&str; 5] = ["demo", "read_only", "wall", "only_problems", "ascii"];
    let from = |id: &str, in_file: bool| -> String {
        let env = format!("FLEETBOARD_{}", id.to_ascii_uppercase().replace('-', "_"));
        let no = format!("no_{id}");
        let twin = TWINS.contains(&id).then(|| source_of(&no)).flatten();
        match (source_of(id), twin) {
            (_, Some(ValueSource::CommandLine))
                if !matches!(source_of(id), Some(ValueSource::CommandLine)) =>
            {
                format!("flag --no-{}", id.replace('_', "-"))
            }
            (Some(ValueSource::CommandLine), _) => format!("flag --{}", id.replace('_', "-")),
            (Some(ValueSource::EnvVariable), _) => format!("env {env}"),
            _ if in_file => format!("file {fname}"),
            _ => "default".into(),
        }
    };
    let mut o = Out { rows: Vec::new() };

    let (prom_url, prom_from) = match &s.prometheus {
        Some(p) => (q(&redact_url(&p.url)), from("prometheus", true)),
        None => ("(none)".into(), "default".into()),
    };
    o.row("prometheus.url", prom_url, prom_from);
    let first_file = file.prometheus.as_ref().and_then(|p| p.0.first());
    if let (Some(p), Some(sf)) = (&s.prometheus, first_file) {
        auth_rows(&mut o, "prometheus", sf, &fname);
        o.row(
            "prometheus.timeout",
            dur(p.http.timeout),
            if cli.timeout.is_some() {
                from("timeout", false)
            } else if sf.timeout.is_some() {
                format!("file {fname}")
            } else {
                "default (80% of refresh, at most 10s)".into()
            },
        );
    } else if let Some(p) = &s.prometheus {
        o.row(
            "prometheus.timeout",
            dur(p.http.timeout),
            if cli.timeout.is_some() {
                from("timeout", false)
            } else {
                "default (80% of refresh, at most 10s)".into()
            },
        );
    }
    let ams: Vec<String> = s.alertmanagers.iter().map(|a| redact_url(&a.url)).collect();
    o.row(
        "alertmanager.urls",
        list(&ams),
        if ams.is_empty() {
            "default".into()
        } else {
            from("alertmanager", true)
        },
    );
    if let Some(sf) = &file.alertmanager {
        if !ams.is_empty() {
            auth_rows(&mut o, "alertmanager", sf, &fname);
        }
    }
    o.row("demo", s.demo.to_string(), from("demo", false));
    o.row(
        "refresh",
        dur(s.refresh),
        from("refresh", file.refresh.is_some()),
    );
    o.row(
        "stale_after",
        s.stale_after.to_string(),
        if file.stale_after.is_some() {
            format!("file {fname}")
        } else {
            "default".into()
        },
    );
    o.row(
        "forget_after",
        dur(s.forget_after),
        if file.forget_after.is_some() {
            format!("file {fname}")
        } else {
            "default".into()
        },
    );
    o.row("theme", q(&s.theme), from("theme", file.theme.is_some()));
    o.row(
        "clusters",
        list(&s.clusters),
        from("cluster", !file.clusters.is_empty()),
    );
    o.row(
        "preset",
        file.preset
            .as_ref()
            .map_or_else(|| q("mysql"), |p| q(p.get_ref())),
        if file.preset.is_some() {
            format!("file {fname}")
        } else {
            "default".into()
        },
    );
    let keys: Vec<String> = s.metrics.metrics.iter().map(|m| m.key.clone()).collect();
    o.row(
        "metrics",
        list(&keys),
        if file.metrics.is_empty() {
            "preset".into()
        } else {
            format!(
                "preset, changed by file {fname}: {}",
                file.metrics.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        },
    );
    o.row(
        "overrides",
        s.metrics.overrides.len().to_string(),
        if file.overrides.is_empty() {
            "default".into()
        } else {
            format!("file {fname}")
        },
    );
    let wall_on = cli.wall().or(file.wall).unwrap_or(false);
    o.row(
        "read_only",
        s.read_only.to_string(),
        if source_of("read_only") == Some(ValueSource::CommandLine)
            || source_of("read_only") == Some(ValueSource::EnvVariable)
            || file.read_only == Some(true)
        {
            from("read_only", file.read_only.is_some())
        } else if wall_on {
            "implied by wall".into()
        } else {
            from("read_only", file.read_only.is_some())
        },
    );
    o.row(
        "wall",
        s.wall.to_string(),
        from("wall", file.wall.is_some()),
    );
    o.row(
        "wall_page",
        dur(s.wall_page),
        from("wall_page", file.wall_page.is_some()),
    );
    o.row(
        "only_problems",
        s.only_problems.to_string(),
        from("only_problems", file.only_problems.is_some()),
    );
    o.row(
        "tile_sparkline",
        s.sparkline
            .as_ref()
            .map_or_else(|| "(none)".into(), |x| q(&x.metric)),
        from("sparkline", file.tile_sparkline.is_some()),
    );
    o.row(
        "ascii",
        s.ascii.to_string(),
        if cli.ascii().is_some() || file.ascii.is_some() {
            from("ascii", file.ascii.is_some())
        } else {
            "default (from the locale: LC_ALL, LC_CTYPE, LANG)".into()
        },
    );
    o.row(
        "color",
        q(&format!("{:?}", s.color)
            .to_ascii_lowercase()
            .replace("c256", "256")
            .replace("c16", "16")),
        from("color", file.color.is_some()),
    );
    o.row(
        "log_file",
        s.log_file
            .as_ref()
            .map_or_else(|| "(none)".into(), |p| q(&p.display().to_string())),
        from("log_file", file.log_file.is_some()),
    );
    let idf = file.identity.clone().unwrap_or_default();
    let fd = |set: bool| {
        if set {
            format!("file {fname}")
        } else {
            "default".into()
        }
    };
    o.row(
        "identity.host_label",
        q(&s.identity.host_label),
        fd(idf.host_label.is_some()),
    );
    o.row(
        "identity.cluster_label",
        q(&s.identity.cluster_label),
        fd(idf.cluster_label.is_some()),
    );
    o.row(
        "identity.strip_port",
        s.identity.strip_port.to_string(),
        fd(idf.strip_port.is_some()),
    );

    let n = &s.notify;
    let nf = file.notify.clone().unwrap_or_default();
    let levels = |v: &[crate::notify::Level]| {
        format!(
            "[{}]",
            v.iter()
                .map(|l| q(&format!("{l:?}").to_ascii_lowercase()))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    if n.enabled() {
        o.row(
            "notify.bell",
            levels(&n.channels.bell),
            fd(nf.bell.is_some()),
        );
        o.row(
            "notify.desktop",
            levels(&n.channels.desktop),
            fd(nf.desktop.is_some()),
        );
        o.row(
            "notify.desktop_protocol",
            q(&format!("{:?}", n.protocol).to_ascii_lowercase()),
            fd(nf.desktop_protocol.is_some()),
        );
        o.row(
            "notify.recover",
            n.recover.to_string(),
            fd(nf.recover.is_some()),
        );
        o.row(
            "notify.min_interval",
            dur(n.min_interval),
            fd(nf.min_interval.is_some()),
        );
        o.row(
            "notify.flap_count",
            n.flap_count.to_string(),
            fd(nf.flap_count.is_some()),
        );
        o.row(
            "notify.flap_window",
            dur(n.flap_window),
            fd(nf.flap_window.is_some()),
        );
        for (c, ch) in &n.clusters {
            o.row(
                &format!("notify.clusters.{c}.bell"),
                levels(&ch.bell),
                fd(true),
            );
            o.row(
                &format!("notify.clusters.{c}.desktop"),
                levels(&ch.desktop),
                fd(true),
            );
        }
    } else {
        o.row("notify", "off", fd(file.notify.is_some()));
    }
    let l = &s.links;
    let lf = file.links.is_some();
    o.row(
        "links.opener",
        list(&l.opener),
        fd(lf && file.links.as_ref().is_some_and(|x| x.opener.is_some())),
    );
    o.row(
        "links.allow_in_read_only",
        l.allow_in_read_only.to_string(),
        fd(lf),
    );
    for u in &l.urls {
        o.row(&format!("links.urls.{}", u.name), q(&u.template), fd(true));
    }
    for c in &l.commands {
        o.row(
            &format!("links.commands.{}", c.name),
            list(&c.template),
            fd(true),
        );
    }

    let mut out = String::from(
        "# fleetboard: the settings in force, and where each comes from.\n\
         # Precedence: flag > environment (FLEETBOARD_*) > config file > default. Secrets are not shown.\n",
    );
    match path {
        Some(p) => {
            let _ = writeln!(out, "# config file: {}", p.display());
        }
        None => {
            let d = super::default_config_dir().map_or_else(
                || "(no config directory)".into(),
                |d| d.join("config.toml").display().to_string(),
            );
            let _ = writeln!(out, "# config file: none ({d} does not exist)");
        }
    }
    let kw = o.rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let vw = o
        .rows
        .iter()
        .map(|r| r.1.chars().count())
        .max()
        .unwrap_or(0)
        .min(30);
    for (k, v, f) in &o.rows {
        let _ = writeln!(out, "{k:<kw$} = {v:<vw$}  # {f}");
    }
    for w in &s.warnings {
        let _ = writeln!(out, "# warning: {w}");
    }
    out
}

/// Credentials of a source: who, and where the secret comes from, never the secret.
fn auth_rows(o: &mut Out, what: &str, sf: &SourceFile, fname: &str) {
    let file = format!("file {fname}");
    if let Some(u) = &sf.username {
        o.row(&format!("{what}.username"), q(u), file.clone());
    }
    for (key, inline, path, env) in [
        (
            "password",
            &sf.password,
            &sf.password_file,
            &sf.password_env,
        ),
        (
            "bearer_token",
            &sf.bearer_token,
            &sf.bearer_token_file,
            &sf.bearer_token_env,
        ),
    ] {
        let src = if let Some(p) = path {
            Some(format!("{key}_file {}", p.display()))
        } else if let Some(v) = env {
            Some(format!("{key}_env {v}"))
        } else {
            inline.as_ref().map(|_| format!("inline in {fname}"))
        };
        if let Some(src) = src {
            o.row(&format!("{what}.{key}"), "(redacted)", src);
        }
    }
    for (key, p) in [
        ("ca_file", &sf.ca_file),
        ("cert_file", &sf.cert_file),
        ("key_file", &sf.key_file),
    ] {
        if let Some(p) = p {
            o.row(
                &format!("{what}.{key}"),
                q(&p.display().to_string()),
                file.clone(),
            );
        }
    }
    if sf.insecure_skip_verify {
        o.row(
            &format!("{what}.insecure_skip_verify"),
            "true",
            file.clone(),
        );
    }
    for (k, v) in &sf.headers {
        let shown = if sensitive_header(k) {
            "(redacted)".to_string()
        } else {
            q(v)
        };
        o.row(&format!("{what}.headers.{k}"), shown, file.clone());
    }
    if let Some(m) = &sf.max_body {
        o.row(&format!("{what}.max_body"), q(m.get_ref()), file.clone());
    }
}
