//! Data sources: Prometheus-compatible query engines, Alertmanager, and the demo fleet.
//!
//! Nothing in here knows about the terminal. A source turns one request into owned,
//! parsed model values or a typed [`crate::model::SourceError`]; the fleet model merges that data into hosts.

pub mod alertmanager;
pub mod http;
pub mod multi;
pub mod prometheus;
pub mod query;
pub mod silences;
pub mod united;

pub mod demo;

pub mod poll;
pub mod synthetic;

pub use poll::{AlertsResult, FleetSource, PollRequest, PollResult, PromSource, SparkQuery};
