//! End-to-end: the real binary against the simulated server over loopback, checking
//! the numbers that matter against what the server was told to do.
//!
//! One test binary, grouped by feature: [`measures`] (TTFT, ITL, request ids,
//! open-loop rates and token counts against what the server was told),
//! [`failures`] (faults, rejected fields, stalls and Ctrl-C recorded, the run
//! going on) and [`outputs`] (the API key never written, the default configs,
//! `summary.json` against its schema).

#[path = "../common/mod.rs"]
mod common;

mod failures;
mod measures;
mod outputs;

use common::*;
use llm_bench::record::{ErrorKind, TokenSource};
use llm_bench::sim::{SimConfig, UsageMode};

fn sim(f: impl FnOnce(&mut SimConfig)) -> Sim {
    let mut config = SimConfig::default();
    f(&mut config);
    Sim::start(config)
}
