//! workloads.yaml: what to send (prompts) and how hard (scenarios).
//!
//! Scenarios are model- and target-independent, so the same file benchmarks every
//! server. The parsed result carries a content hash that ignores formatting and
//! comments, which is how two runs are known to have used the same workload.

mod capacity;
pub mod conversation;
pub mod dataset;
mod hash;
pub mod lengths;
pub mod prefix;
mod prompts;
mod raw;
mod scenario;
mod settings;
mod sweep;
mod trace;

pub use capacity::CapacitySpec;
pub use conversation::Conversation;
pub use dataset::{Dataset, DatasetFormat, Sampling};
pub use trace::{Trace, TraceFormat, TraceRequest};

use std::time::Duration;

pub use lengths::Lengths;
pub use prefix::SharedPrefix;
use raw::RawFile;
use scenario::Inherited;

use super::error::ConfigError;
use super::references::unknown_name;
use super::source::Source;
use super::thresholds::{self, Thresholds};

pub(crate) const FILE: &str = "workloads.yaml";
const EXPECTED: &str =
    "`prompts:` and `scenarios:` mappings (and optionally `defaults:` and `thresholds:`)";

/// workloads.yaml, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Workloads {
    /// In file order.
    pub scenarios: Vec<Scenario>,
    /// In file order.
    pub prompts: Vec<PromptSpec>,
    /// SHA-256 (hex) of the canonical JSON of `scenarios` and `prompts`: equal for
    /// files that differ only in comments, formatting or key order.
    pub hash: String,
}

impl Workloads {
    pub fn prompt(&self, name: &str) -> Option<&PromptSpec> {
        self.prompts.iter().find(|p| p.name == name)
    }

    pub fn scenario(&self, name: &str) -> Option<&Scenario> {
        self.scenarios.iter().find(|s| s.name == name)
    }

    /// What `--scenario NAME` picks, in file order: the scenario of that name, or
    /// every point of the load sweep of that name (`sweep` picks `sweep.c1`,
    /// `sweep.c4`, ...). Empty when nothing matches.
    pub fn select(&self, name: &str) -> Vec<&Scenario> {
        self.scenarios
            .iter()
            .filter(|s| sweep::selects(&s.name, name))
            .collect()
    }
}

/// A named prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptSpec {
    pub name: String,
    pub source: PromptSource,
    /// `prefix_cache:`; [`PrefixCache::Avoid`] unless the prompt opts in.
    pub prefix_cache: PrefixCache,
    /// `shared_prefix:` (synthetic prompts only): groups of requests whose prompts
    /// start with the same text.
    pub shared_prefix: Option<SharedPrefix>,
}

/// Whether the requests of a prompt may share a cacheable prefix, with each other
/// or with an earlier run's (`prefix_cache:` on a prompt).
///
/// With the same `seed`, every run sends the same prompts, so a server with a
/// prefix cache (vLLM's is on by default) answers a rerun from what the last run
/// left and a warm baseline against a cold candidate reads as a regression. By
/// default each prompt therefore starts with a salt of its own, drawn from a
/// per-run random source (see `workload::prompts`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrefixCache {
    /// Each request starts with its own salt: no cache hits within a run or across
    /// runs (the default).
    #[default]
    Avoid,
    /// Prompts are sent as generated, so a server may serve them from its cache:
    /// for measuring caching itself.
    Allow,
}

impl PrefixCache {
    pub fn is_avoid(&self) -> bool {
        *self == PrefixCache::Avoid
    }
}

/// Where a prompt's text comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum PromptSource {
    /// The same text for every request.
    Template { text: String },
    /// Seeded generated text of about `tokens` tokens; each request's length is drawn
    /// with a standard deviation of `spread * tokens` (0 = every prompt equally long).
    Synthetic { tokens: u32, spread: f64 },
    /// Seeded generated text whose length each request draws from a distribution
    /// (`synthetic_tokens: {uniform: [LO, HI]}`, ...).
    SyntheticLengths { lengths: Lengths },
}

/// One benchmark scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    /// The name of a [`PromptSpec`]; checked to exist.
    pub prompt: String,
    pub load: Load,
    pub stop: Stop,
    /// Requests sent first and left out of the statistics.
    pub warmup: u64,
    /// Overrides the model's `max_tokens`.
    pub max_tokens: Option<u32>,
    /// Each request's `max_tokens` drawn from this distribution (`output_tokens:`);
    /// replaces `max_tokens`.
    pub output_tokens: Option<Lengths>,
    /// Ask the server to ignore end-of-sequence so every response is `max_tokens` long.
    pub ignore_eos: bool,
    pub stream: bool,
    pub seed: u64,
    /// Independent repetitions, for confidence intervals.
    pub trials: u32,
    pub slo: Slo,
    /// The run fails when a larger fraction of requests fail.
    pub max_error_rate: f64,
    /// The smallest changes the regression gate reports (project `thresholds:`
    /// overridden by the scenario's own).
    pub thresholds: Thresholds,
    /// `capacity:`: search the highest rate meeting the SLO, from `load`'s rate.
    pub capacity: Option<CapacitySpec>,
    /// `dataset:`: prompts (and output lengths) read from a file; `prompt` then
    /// names the file.
    pub dataset: Option<Dataset>,
    /// `conversation:`: requests are the turns of multi-turn conversations, each
    /// carrying the history so far (chat API only).
    pub conversation: Option<Conversation>,
}

/// Most requests one client keeps in flight: each needs a connection of its own,
/// and one client address reaches one server port through at most 65,535 ports.
pub const MAX_CONCURRENCY: u32 = 65_535;

/// The in-flight bound a loop actually uses: a scenario that stops after `total`
/// requests (warm-up included) never has more than that in flight, so a larger
/// `concurrency` would only open connections nothing uses.
pub fn usable_concurrency(concurrency: u32, total: Option<u64>) -> u32 {
    let cap = total.map_or(u32::MAX, |n| u32::try_from(n).unwrap_or(u32::MAX));
    concurrency.min(cap).max(1)
}

/// The message for a `concurrency` (or `max_concurrency`) over [`MAX_CONCURRENCY`].
pub fn too_many_in_flight(concurrency: u32) -> String {
    format!(
        "at most {MAX_CONCURRENCY} requests can be in flight (each holds a connection, and \
         one client address has no more ports than that to reach a server); got \
         {concurrency}. For more load run several clients"
    )
}

/// How load is applied.
#[derive(Debug, Clone, PartialEq)]
pub enum Load {
    /// `concurrency` requests in flight at all times; each completion starts the next.
    Closed { concurrency: u32 },
    /// Requests sent at `rate` per second whatever the latency, optionally capped at
    /// `max_concurrency` in flight.
    Open {
        rate: f64,
        arrival: Arrival,
        max_concurrency: Option<u32>,
    },
    /// Requests sent when a recorded trace says, each with the trace's input and
    /// output lengths, optionally capped at `max_concurrency` in flight.
    Trace {
        trace: Trace,
        max_concurrency: Option<u32>,
    },
}

/// The gaps between open-loop arrivals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arrival {
    /// Evenly spaced.
    Constant,
    /// Exponential gaps (a Poisson process): the default.
    Poisson,
    /// Gamma gaps with this shape: 1 is Poisson, below 1 burstier, above 1 more regular.
    Gamma { burstiness: f64 },
}

/// When a trial ends: after `requests` measured requests or after `duration`,
/// whichever comes first. At least one is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stop {
    pub requests: Option<u64>,
    pub duration: Option<Duration>,
}

/// Latency bounds for goodput: a request meets the SLO when every given bound holds.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Slo {
    pub ttft_ms: Option<f64>,
    pub tpot_ms: Option<f64>,
    pub e2e_ms: Option<f64>,
}

/// Reads and validates workloads.yaml; problems go to `errors`. Returns `None` only
/// when the file could not be parsed at all.
pub(crate) fn load(source: &Source, errors: &mut Vec<ConfigError>) -> Option<Workloads> {
    let raw: RawFile = match source.parse(EXPECTED, &[&["prompts"], &["scenarios"]]) {
        Ok(raw) => raw,
        Err(e) => {
            errors.extend(e);
            return None;
        }
    };
    let defaults = raw.defaults.unwrap_or_default();
    let default_settings = settings::check(source, &["defaults"], defaults.settings(), errors);

    let raw_prompts = raw.prompts.unwrap_or_default();
    if raw_prompts.0.is_empty() {
        errors.push(source.at_key(
            &["prompts"],
            "no prompts; add at least one, e.g. `prompts: { short: { text: \"Hello\" } }`",
        ));
    }
    let prompt_names: Vec<String> = raw_prompts.names().map(str::to_string).collect();
    let prompts: Vec<PromptSpec> = raw_prompts
        .0
        .into_iter()
        .map(|(name, raw)| prompts::check(source, name, raw, errors))
        .collect();

    let raw_scenarios = raw.scenarios.unwrap_or_default();
    if raw_scenarios.0.is_empty() {
        errors.push(source.at_key(
            &["scenarios"],
            "no scenarios; add at least one, e.g. \
             `scenarios: { smoke: { prompt: short, concurrency: 1, requests: 10 } }`",
        ));
    }
    let name_refs: Vec<&str> = prompt_names.iter().map(String::as_str).collect();
    if let Some(prompt) = defaults.prompt.as_deref() {
        if !name_refs.contains(&prompt) {
            let message = unknown_name("prompt", prompt, &name_refs, "`prompts:`");
            errors.push(source.at_value(&["defaults", "prompt"], message));
        }
    }
    let project_thresholds = raw.thresholds.unwrap_or_default();
    thresholds::check(source, &[], &project_thresholds, errors);
    let inherited = Inherited {
        thresholds: &project_thresholds,
        prompt: defaults.prompt.as_deref(),
        settings: &default_settings,
        prompt_names: &name_refs,
    };
    let mut scenarios: Vec<Scenario> = Vec::new();
    // Each name and the scenario (as written) it came from, to place a collision.
    let mut written_as: Vec<(String, String)> = Vec::new();
    for (name, raw) in raw_scenarios.0 {
        let points = sweep::points(source, &name, &raw, errors);
        let checked = scenario::check(source, name.clone(), raw, &inherited, errors);
        let expanded = match points {
            Some(points) => sweep::expand(checked, points),
            None => vec![checked],
        };
        for s in expanded {
            if let Some((_, other)) = written_as.iter().find(|(n, _)| *n == s.name) {
                errors.push(source.at_key(
                    &["scenarios", name.as_str()],
                    format!(
                        "`{}` is already the name of a scenario made from `{other}` (a load \
                         sweep names its points `NAME.cN` / `NAME.rR`); rename one of them",
                        s.name
                    ),
                ));
            }
            written_as.push((s.name.clone(), name.clone()));
            scenarios.push(s);
        }
    }

    let hash = hash::workloads_hash(&scenarios, &prompts);
    Some(Workloads {
        scenarios,
        prompts,
        hash,
    })
}
