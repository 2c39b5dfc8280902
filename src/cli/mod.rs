//! One file per subcommand; each parses nothing (clap does) and does its I/O here.

pub mod as_of;
pub mod audit;
pub mod check;
pub mod demo;
pub mod digest;
pub mod explain;
pub mod hook;
pub mod journal;
pub mod publish;
pub mod report;
pub mod status;
pub mod watch;
pub mod whatif;
pub mod wrap;
