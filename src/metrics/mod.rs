//! Request rows → statistics, computed once.
//!
//! Everything here is pure: no clock, no I/O. The same rows give the same summary,
//! whether they come straight from a run or from `requests.jsonl` years later.

pub mod health;
pub mod output_length;
pub mod percentile;
pub mod samples;
pub mod stats;
pub mod summary;
pub mod turns;

pub use health::ClientHealth;
pub use stats::Stats;
pub use summary::{Metrics, ScenarioSummary, Summary};
