//! Shared HTTP client settings for every data source (timeouts, body cap, TLS, auth).
//! SKELETON: the real implementation replaces this file.

use std::path::PathBuf;
use std::time::Duration;

/// A secret value (password, token). Never printed: `Debug` and `Display` show `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Connection settings of one data source.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub timeout: Duration,
    pub max_body_bytes: u64,
    pub basic_auth: Option<(String, Secret)>,
    pub bearer_token: Option<Secret>,
    pub ca_file: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub insecure_skip_verify: bool,
    pub headers: Vec<(String, String)>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(4),
            max_body_bytes: 64 * 1024 * 1024,
            basic_auth: None,
            bearer_token: None,
            ca_file: None,
            client_cert: None,
            client_key: None,
            insecure_skip_verify: false,
            headers: Vec::new(),
        }
    }
}
