//! Wiremock helpers for the united query: a canned answer stands for every part of it.
#![allow(dead_code)]

use wiremock::{Request, Respond, ResponseTemplate};

/// The `query` form field of a request.
pub fn query_of(r: &Request) -> String {
    url::form_urlencoded::parse(&r.body)
        .find(|(k, _)| k == "query")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The part tags of a united query (`label_replace(e, "fb_metric", "KEY", "", "")`), in order;
/// empty for a plain query.
pub fn parts_of(query: &str) -> Vec<String> {
    let marker = "\"fb_metric\", \"";
    let mut out = Vec::new();
    let mut rest = query;
    while let Some(i) = rest.find(marker) {
        rest = &rest[i + marker.len()..];
        if let Some(end) = rest.find('"') {
            out.push(rest[..end].to_string());
            rest = &rest[end..];
        }
    }
    out
}

/// `result` as the answer to `query`: unchanged for a plain query; for a united query, once
/// per metric part (tagged), as if every metric answered the same series. Monitoring parts
/// (`fb_mon_*`) answer nothing.
pub fn answer_for(query: &str, result: &[serde_json::Value]) -> Vec<serde_json::Value> {
    let parts = parts_of(query);
    if parts.is_empty() {
        return result.to_vec();
    }
    let mut out = Vec::new();
    for p in parts.iter().filter(|p| !p.starts_with("fb_mon_")) {
        for s in result {
            let mut s = s.clone();
            s["metric"]["fb_metric"] = serde_json::Value::String(p.clone());
            out.push(s);
        }
    }
    out
}

/// Answers every query with the same vector body (for a united query: for every part).
pub struct EveryPart(pub String);

impl Respond for EveryPart {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        let mut v: serde_json::Value = serde_json::from_str(&self.0).expect("fixture JSON");
        let result = v["data"]["result"].as_array().cloned().unwrap_or_default();
        v["data"]["result"] = serde_json::Value::Array(answer_for(&query_of(r), &result));
        ResponseTemplate::new(200).set_body_json(v)
    }
}
