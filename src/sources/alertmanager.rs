//! SKELETON: the real implementation replaces this file.
use super::http::HttpConfig;
use super::{Alert, SourceError};

#[derive(Debug, Clone)]
pub struct AmClient {
    base: url::Url,
}

impl AmClient {
    pub fn new(base: &str, _cfg: &HttpConfig) -> Result<Self, SourceError> {
        let base = url::Url::parse(base).map_err(|e| SourceError::Config(e.to_string()))?;
        Ok(Self { base })
    }
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }
    pub async fn alerts(&self) -> Result<Vec<Alert>, SourceError> {
        unimplemented!()
    }
}

pub fn parse_alerts(_body: &[u8]) -> Result<Vec<Alert>, SourceError> {
    unimplemented!()
}
