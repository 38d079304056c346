//! fleetboard: a terminal status board for database fleets.
pub mod sources;
