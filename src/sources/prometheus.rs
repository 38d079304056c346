//! SKELETON: the real implementation replaces this file.
use chrono::{DateTime, Utc};
use std::time::Duration;

use super::http::HttpConfig;
use super::{RangeSeries, Sample, SourceError};

#[derive(Debug, Clone)]
pub struct PromClient {
    base: url::Url,
}

impl PromClient {
    pub fn new(base: &str, _cfg: &HttpConfig) -> Result<Self, SourceError> {
        let base = url::Url::parse(base).map_err(|e| SourceError::Config(e.to_string()))?;
        Ok(Self { base })
    }
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }
    pub async fn query(
        &self,
        _expr: &str,
        _at: Option<DateTime<Utc>>,
    ) -> Result<Vec<Sample>, SourceError> {
        unimplemented!()
    }
    pub async fn query_range(
        &self,
        _expr: &str,
        _start: DateTime<Utc>,
        _end: DateTime<Utc>,
        _step: Duration,
    ) -> Result<Vec<RangeSeries>, SourceError> {
        unimplemented!()
    }
}

pub fn parse_instant(_body: &[u8]) -> Result<Vec<Sample>, SourceError> {
    unimplemented!()
}
