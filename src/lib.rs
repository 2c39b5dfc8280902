//! coord: a terminal coordination console for fleets of agents.
//!
//! The crate is a pure engine (`engine`) fed by a thin shell: the sources
//! (`ingest`), the journal, the runtime loop, the console (`console`, `ui`), the
//! outbox and the commands (`cli`). See the Layout section of the README.

pub mod adapter;
pub mod allocator;
pub mod cli;
pub mod config;
pub mod console;
pub mod demo;
pub mod engine;
pub mod helper;
pub mod hooks;
pub mod ingest;
pub mod journal;
pub mod logging;
pub mod model;
pub mod outbox;
pub mod prefetch;
pub mod publish;
pub mod runtime;
pub mod sanitize;
pub mod signals;
pub mod stream;
pub mod text;
pub mod ui;
