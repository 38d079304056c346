//! `[identity]`: which labels name a host and its cluster, alone or from a preset.

use std::ops::Range;

use toml::Spanned;

use super::{closest, ConfigError, IdentityFile};
use crate::model::Identity;

/// Identity presets: `(name, host label, cluster label, strip port)`.
///
/// `pmm`: Percona Monitoring and Management gives each exporter its own `instance`
/// (`/agent_id/<uuid>`), so the database and node exporters of one server never share it;
/// `node_name` is on both, `cluster` only on the database exporter's series (node series
/// without it join their host by name, see `fleet::join`).
pub const PRESETS: &[(&str, &str, &str, bool)] = &[
    ("prometheus", "instance", "cluster", true),
    ("pmm", "node_name", "cluster", false),
];

/// Builds a config error at a span of the file, for a key.
pub type ErrAt<'a> = &'a dyn Fn(Option<Range<usize>>, &str, String) -> ConfigError;

/// Resolves `[identity]`: the preset's labels, then any key given beside it.
/// Errors name the key: an unknown preset, or an empty label name.
///
/// # Errors
///
/// The error `err_at` builds for `identity.preset` when the preset is unknown (with the closest
/// name as suggestion), or for `identity.host_label` / `identity.cluster_label` when set empty.
pub fn resolve(idf: &IdentityFile, err_at: ErrAt<'_>) -> Result<Identity, ConfigError> {
    let (host, cluster, strip) = match &idf.preset {
        None => ("instance", "cluster", true),
        Some(p) => match PRESETS.iter().find(|x| x.0 == p.get_ref()) {
            Some(&(_, h, c, s)) => (h, c, s),
            None => {
                let names: Vec<&str> = PRESETS.iter().map(|x| x.0).collect();
                let mut e = err_at(
                    Some(p.span()),
                    "identity.preset",
                    format!(
                        "unknown identity preset `{}`; valid: {}",
                        p.get_ref(),
                        names.join(", ")
                    ),
                );
                e.suggestion = closest(p.get_ref(), &names);
                return Err(e);
            }
        },
    };
    let label = |v: &Option<Spanned<String>>, key: &str, default: &str| {
        match v {
            None => Ok(default.to_string()),
            // Prometheus 3 accepts any UTF-8 label name (quoted in PromQL); only an empty
            // one can name nothing.
            Some(s) if s.get_ref().is_empty() => Err(err_at(
                Some(s.span()),
                key,
                "a label name cannot be empty".into(),
            )),
            Some(s) => Ok(s.get_ref().clone()),
        }
    };
    Ok(Identity {
        host_label: label(&idf.host_label, "identity.host_label", host)?,
        cluster_label: label(&idf.cluster_label, "identity.cluster_label", cluster)?,
        strip_port: idf.strip_port.unwrap_or(strip),
    })
}
