//! coord: a terminal coordination console for fleets of agents.
//!
//! The crate is a pure engine (`engine`) fed by a thin shell (`cli`, and later
//! ingestion, journal and console). See ARCHITECTURE in the README.

pub mod cli;
pub mod config;
pub mod console;
pub mod engine;
pub mod ingest;
pub mod journal;
pub mod logging;
pub mod model;
pub mod publish;
pub mod runtime;
pub mod sanitize;
pub mod ui;
