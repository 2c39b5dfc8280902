//! `coord demo`'s simulated fleet: the story as data (`scenario`) and the thread
//! that publishes it (`fleet`).

pub mod fleet;
pub mod scenario;
