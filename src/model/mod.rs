//! Plain data: events, levels, the plan. Serde and validation, no behaviour.

pub mod event;
mod fast_event;
pub mod level;
pub mod parse;
pub mod plan;
mod quotes;

pub use event::{Category, Event, EventType, ParseError};
pub use level::{Escalation, Level};
pub use plan::Plan;
