//! The domain model: plain types every other layer shares.
//!
//! Hosts, clusters, health, roles, replication, alerts, silences, labels, the metric
//! definitions of a board, source errors and the update one refresh produces. Sources turn
//! answers into these values, the fleet layer judges them, the app and the UI read them.
//!
//! This module imports nothing of the rest of the project (an architecture test checks it):
//! no terminal, no HTTP, no runtime. It could be a crate of its own.

pub mod alert;
pub mod format;
pub mod health;
pub mod host;
pub mod labels;
pub mod metric;
pub mod source;
pub mod status;
pub mod topology;
pub mod update;
pub mod vector;

pub use alert::{Alert, AlertState, Matcher, NewSilence, Severity, Silence, SilenceState};
pub use health::{Health, MetricState};
pub use host::{
    exported, naming_values, ClusterAlerts, Fleet, Host, HostId, Identity, Reading, Replication,
    Role, NO_CLUSTER,
};
pub use labels::{pairs, HostLabels, Labels};
pub use metric::{
    AppliesTo, Direction, Engine, Kind, MetricDef, MetricSet, Override, Signal, Unit,
};
pub use source::{RangeRequest, RangeSeries, Sample, SourceError};
pub use status::{DeadMansSwitch, JobCount, Monitoring, SourceStatus, SOURCE_LABEL};
pub use topology::{Channel, GaleraNode, GroupMember, Naming};
pub use update::Update;
pub use vector::{SampleRef, Vector, VectorBuilder};
