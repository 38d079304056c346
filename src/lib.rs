//! fleetboard: a terminal status board for database fleets.
//!
//! Data flows one way: [`sources`] (Prometheus, Alertmanager, demo) → [`fleet`]
//! (hosts, clusters, health) → [`app`] (state + actions) → [`ui`] (pure render). All of
//! them share the plain types of [`model`], which depends on none of them.

#![warn(missing_docs)]
#![warn(clippy::missing_errors_doc)]

pub mod action;
pub mod app;
pub mod cli;
pub mod config;
pub mod docs;
pub mod doctor;
pub mod exec;
pub mod fleet;
pub mod layout;
pub mod links;
pub mod memory;
pub mod model;
pub mod notify;
pub mod packing;
pub mod perf;
pub mod poller;
pub mod report;
pub mod runtime;
pub mod sanitize;
pub mod setup;
pub mod sources;
pub mod terminal;
#[cfg(any(test, feature = "testing"))]
#[doc(hidden)]
pub mod testing;
pub mod theme;
pub mod ui;
