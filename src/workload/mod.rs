//! What to send and when: prompts and arrival schedules.
//!
//! A scenario from the config becomes a [`ScenarioPlan`]: the request bodies come from
//! a seeded prompt generator and, for an open loop, the send times from a seeded
//! arrival process, so the same seed always produces the same load.

pub mod arrival;
pub mod capacity;
pub mod conversation;
pub mod dataset;
pub mod lengths;
pub mod prompts;
pub mod tokenizer;
pub mod trace;

pub use arrival::{ArrivalKind, ArrivalSchedule};
pub use prompts::PromptGenerator;
pub use trace::TraceReplay;

use std::time::Duration;

use crate::manifest::ScenarioSpec;

/// How load is applied.
#[derive(Debug, Clone, PartialEq)]
pub enum LoadPlan {
    /// N long-lived workers, each sending its next request when the last completes.
    Closed { concurrency: u32 },
    /// Requests sent on an absolute schedule, whatever the server's latency.
    Open {
        rate: f64,
        arrival: ArrivalKind,
        /// Requests beyond this many in flight wait for a slot (and are counted late).
        max_concurrency: Option<u32>,
    },
    /// A recorded trace replayed on its own schedule (see [`trace`]).
    Trace {
        replay: TraceReplay,
        max_concurrency: Option<u32>,
    },
}

impl LoadPlan {
    /// Connections worth opening before the clock starts: one per worker, the cap of
    /// an open loop, or about a second's arrivals when it has none (at most 1,024).
    pub fn expected_connections(&self) -> usize {
        match *self {
            LoadPlan::Closed { concurrency } => concurrency as usize,
            LoadPlan::Open {
                max_concurrency: Some(cap),
                ..
            } => cap as usize,
            LoadPlan::Open { rate, .. } => rate.ceil().clamp(1.0, 1024.0) as usize,
            LoadPlan::Trace {
                max_concurrency: Some(cap),
                ..
            } => cap as usize,
            // The first second's rows.
            LoadPlan::Trace { ref replay, .. } => {
                let within = replay.schedule().take_while(|d| d.as_secs_f64() < 1.0);
                within.count().clamp(1, 1024)
            }
        }
    }
}

/// A scenario ready to run.
#[derive(Debug, Clone)]
pub struct ScenarioPlan {
    /// What is written to `run.json` and `summary.json`.
    pub spec: ScenarioSpec,
    pub load: LoadPlan,
    pub prompts: PromptGenerator,
    /// Requests to send including warm-up; `None` when only a duration limits the run.
    pub total_requests: Option<u64>,
    pub duration: Option<Duration>,
    /// Each request's `max_tokens`, drawn (`output_tokens:`); `None`: the body's.
    pub output_tokens: Option<lengths::Lengths>,
    /// The model's tokenizer: counts responses that come without usage.
    pub tokenizer: Option<tokenizer::TokenCounter>,
    /// `capacity:`: run this plan as the steps of a capacity search (see
    /// [`capacity`]) instead of as its trials.
    pub capacity: Option<capacity::SearchSettings>,
    /// `conversation:`: requests are conversations' turns (see [`conversation`]);
    /// `total_requests` then counts turns.
    pub conversation: Option<conversation::ConversationPlan>,
}

impl ScenarioPlan {
    /// Connections worth opening before a trial's clock starts: the load's, but no
    /// more than the requests the trial sends.
    pub fn warm_connections(&self) -> usize {
        let sent = self
            .total_requests
            .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
        self.load.expected_connections().min(sent).max(1)
    }

    /// The output length request `index` of `trial` asks for, when drawn (or
    /// read from its dataset record).
    pub fn output_tokens_of(&self, trial: u32, index: u64) -> Option<u32> {
        // A dataset record's own length first; `output_tokens` is then the
        // length of the records without one.
        let drawn = || {
            self.output_tokens
                .as_ref()
                .map(|l| lengths::output_tokens(l, self.spec.seed, trial, index))
        };
        self.prompts.record_output_tokens(index).or_else(drawn)
    }

    pub fn is_warmup(&self, index: u64) -> bool {
        index < self.spec.warmup
    }

    /// The arrival schedule of one trial; each trial gets its own seed so trials are
    /// independent replicates.
    pub fn schedule(&self, trial: u32) -> Option<ArrivalSchedule> {
        match &self.load {
            LoadPlan::Open { rate, arrival, .. } => Some(ArrivalSchedule::new(
                *arrival,
                *rate,
                self.spec.seed.wrapping_add(u64::from(trial)),
            )),
            LoadPlan::Closed { .. } | LoadPlan::Trace { .. } => None,
        }
    }

    /// The trace row request `index` replays, for a trace scenario.
    pub fn trace_row(&self, index: u64) -> Option<&crate::config::TraceRequest> {
        match &self.load {
            LoadPlan::Trace { replay, .. } => replay.row(index),
            _ => None,
        }
    }
}
