//! The integration tests that run inside the test process (no stack, no child binary, no
//! process-wide environment changes), as one test binary: one link instead of one per file.
//! Each file is a module; `cargo test --test suite ui_snapshots::` runs one of them.

#[path = "../support/ports.rs"]
mod ports;
#[path = "../support/united.rs"]
mod united;

mod alerts_wiremock;
mod architecture;
mod board_faults;
mod field_cases;
mod field_labels;
mod health_prop;
mod keys_doc;
mod postgres_fleet;
mod request_budget;
mod sources_partial;
mod sources_proptest;
mod sources_tls;
mod sources_wiremock;
mod ui_alerts;
mod ui_scale;
mod ui_snapshots;
