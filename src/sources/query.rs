//! Query templating for Prometheus-compatible engines: `$cluster` and `$host` in a metric's
//! expression, with PromQL string and RE2 regex escaping so that no label value can end a
//! string and inject PromQL.

use std::fmt::Write as _;

/// Escapes a string for use inside a double-quoted PromQL string literal.
pub fn promql_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Whether a label name is a classic Prometheus identifier (`[a-zA-Z_][a-zA-Z0-9_]*`),
/// which every engine accepts unquoted.
pub fn is_classic_label(name: &str) -> bool {
    let mut b = name.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// A label name as written in PromQL matchers and `by`/`on` lists: unchanged when classic,
/// else quoted (`"host.name"`), the form Prometheus 3 accepts for UTF-8 names
/// (`{"host.name"=~"db1"}`, `by ("host.name")`).
pub fn label_ref(name: &str) -> String {
    if is_classic_label(name) {
        name.to_string()
    } else {
        format!("\"{}\"", promql_string(name))
    }
}

/// Escapes regex metacharacters (RE2 syntax) so a value matches literally.
pub fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The value that replaces `$cluster` in expressions: the regex body (already
/// escaped for a PromQL string) matching exactly the given clusters.
pub fn cluster_regex(clusters: &[String]) -> String {
    if clusters.is_empty() {
        return ".*".to_string();
    }
    let alts: Vec<String> = clusters.iter().map(|c| regex_escape(c)).collect();
    promql_string(&alts.join("|"))
}

/// Expands `$cluster` in an expression for the given cluster filter (and `$host` to
/// every host).
pub fn expand(expr: &str, clusters: &[String]) -> String {
    expr.replace("$cluster", &cluster_regex(clusters))
        .replace("$host", ".*")
}

/// Expands an expression for one host's history. Returns the expression and whether
/// the server narrows it to the host (`false` when the expression has no `$host`: the
/// caller must keep only the host's series from the answer).
pub fn expand_for_host(expr: &str, cluster: &str, host: &str, strip_port: bool) -> (String, bool) {
    expand_for_host_in(expr, &[cluster.to_string()], &[host], strip_port)
}

/// As [`expand_for_host`], the cluster matcher accepting any of `clusters` (an empty one
/// matches series without the cluster label, which join a host whose name is unique).
/// `names` are the host's name and its aliases (other forms of its name, see
/// [`crate::model::Host::aliases`]).
pub fn expand_for_host_in(
    expr: &str,
    clusters: &[String],
    names: &[&str],
    strip_port: bool,
) -> (String, bool) {
    let narrowed = expr.contains("$host");
    let e = expr
        .replace("$cluster", &cluster_regex(clusters))
        .replace("$host", &promql_string(&names_regex(names, strip_port)));
    (e, narrowed)
}

/// A regex (RE2, as Prometheus and Alertmanager use) matching one host's label value:
/// the name itself, or with any `:port` when ports are stripped from host names.
pub fn host_regex(host: &str, strip_port: bool) -> String {
    names_regex(&[host], strip_port)
}

/// As [`host_regex`], matching any of `names` (a host and its aliases).
pub fn names_regex(names: &[&str], strip_port: bool) -> String {
    let alt = match names {
        [one] => regex_escape(one),
        many => format!(
            "(?:{})",
            many.iter()
                .map(|n| regex_escape(n))
                .collect::<Vec<_>>()
                .join("|")
        ),
    };
    if strip_port {
        format!("{alt}(:[0-9]+)?")
    } else {
        alt
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::metrics::mysql_preset;

    #[test]
    fn cluster_filter_is_escaped_for_promql_and_regex() {
        assert_eq!(cluster_regex(&[]), ".*");
        assert_eq!(cluster_regex(&["payments".into()]), "payments");
        assert_eq!(cluster_regex(&["a".into(), "b.c".into()]), "a|b\\\\.c");
        // A quote or newline cannot end the string and inject PromQL.
        let evil = vec!["x\"} or vector(1) #\n".to_string()];
        let e = expand("mysql_up{cluster=~\"$cluster\"}", &evil);
        assert_eq!(
            e,
            "mysql_up{cluster=~\"x\\\"\\\\} or vector\\\\(1\\\\) #\\n\"}"
        );
    }

    #[test]
    fn preset_expands_without_filter() {
        let p = mysql_preset("instance", "cluster");
        let lag = p.get("lag").expect("lag");
        assert_eq!(
            expand(&lag.expr, &[]),
            "mysql_slave_status_seconds_behind_master{cluster=~\".*\",instance=~\".*\"} or mysql_slave_status_seconds_behind_source{cluster=~\".*\",instance=~\".*\"}"
        );
        let load = p.get("load").expect("load");
        assert!(expand(&load.expr, &[])
            .contains("count by (cluster, instance, exported_cluster, exported_instance)"));
    }

    #[test]
    fn utf8_label_names_are_quoted_in_selectors_and_groupings() {
        assert_eq!(label_ref("instance"), "instance");
        assert_eq!(label_ref("_x9"), "_x9");
        assert_eq!(label_ref("host.name"), "\"host.name\"");
        assert_eq!(label_ref("9lives"), "\"9lives\"");
        assert_eq!(label_ref("a\"b"), "\"a\\\"b\"");
        let p = mysql_preset(
            &label_ref("host.name"),
            &label_ref("deployment.environment"),
        );
        let load = expand(&p.get("load").expect("load").expr, &[]);
        assert!(
            load.contains("node_load1{\"deployment.environment\"=~\".*\",\"host.name\"=~\".*\"}"),
            "{load}"
        );
        assert!(
            load.contains("count by (\"deployment.environment\", \"host.name\", \"exported_deployment.environment\", \"exported_host.name\")"),
            "{load}"
        );
        assert!(
            load.contains("on(\"deployment.environment\", \"host.name\", \"exported_deployment.environment\", \"exported_host.name\")"),
            "{load}"
        );
    }

    #[test]
    fn history_expressions_are_narrowed_to_the_host() {
        let p = mysql_preset("instance", "cluster");
        let (e, narrowed) = expand_for_host(
            &p.get("lag").expect("lag").expr,
            "pay.ments",
            "db-1.x",
            true,
        );
        assert!(narrowed);
        assert_eq!(
            e,
            "mysql_slave_status_seconds_behind_master{cluster=~\"pay\\\\.ments\",instance=~\"db-1\\\\.x(:[0-9]+)?\"} or mysql_slave_status_seconds_behind_source{cluster=~\"pay\\\\.ments\",instance=~\"db-1\\\\.x(:[0-9]+)?\"}"
        );
        let (e, narrowed) = expand_for_host("my_metric{cluster=~\"$cluster\"}", "c", "h", true);
        assert!(!narrowed);
        assert_eq!(e, "my_metric{cluster=~\"c\"}");
    }

    #[test]
    fn host_regex_escapes() {
        assert_eq!(host_regex("db1.x", true), "db1\\.x(:[0-9]+)?");
        assert_eq!(host_regex("a(b", false), "a\\(b");
        assert_eq!(
            names_regex(&["db1", "db1.prod.example.com"], true),
            "(?:db1|db1\\.prod\\.example\\.com)(:[0-9]+)?"
        );
    }
}
