//! The load: `--concurrency`, `--rate` and friends → a config `Load`, and a `Load`
//! → what `run.json` records of it (`LoadSpec`) and what the runner executes
//! (`LoadPlan`, in-flight bounds checked).

use std::time::Duration;

use anyhow::bail;

use crate::cli::{ArrivalArg, RunArgs};
use crate::config::{self, Load};
use crate::manifest::{LoadSpec, ScenarioSpec};
use crate::usage_error::UsageError;
use crate::workload::{ArrivalKind, LoadPlan, PromptGenerator, ScenarioPlan};

/// Load flags, if any were given.
pub(super) fn cli_load(args: &RunArgs) -> anyhow::Result<Option<Load>> {
    if let Some(concurrency) = args.concurrency {
        if concurrency == 0 {
            bail!(UsageError("--concurrency must be at least 1".into()));
        }
        return Ok(Some(Load::Closed { concurrency }));
    }
    let Some(rate) = args.rate else {
        return Ok(None);
    };
    if !(rate.is_finite() && rate > 0.0) {
        bail!(UsageError(format!(
            "--rate must be a positive number of requests per second (got {rate})"
        )));
    }
    let arrival = match (args.arrival, args.burstiness) {
        (Some(ArrivalArg::Gamma), Some(b)) | (None, Some(b)) if b > 0.0 && b.is_finite() => {
            config::Arrival::Gamma { burstiness: b }
        }
        (_, Some(b)) if !(b > 0.0 && b.is_finite()) => {
            bail!(UsageError(format!("--burstiness must be > 0 (got {b})")))
        }
        (Some(ArrivalArg::Gamma), None) => bail!(UsageError(
            "--arrival gamma needs --burstiness K (1 is Poisson, < 1 burstier)".into()
        )),
        (Some(ArrivalArg::Constant), _) => config::Arrival::Constant,
        _ => config::Arrival::Poisson,
    };
    if args.max_concurrency == Some(0) {
        bail!(UsageError("--max-concurrency must be at least 1".into()));
    }
    Ok(Some(Load::Open {
        rate,
        arrival,
        max_concurrency: args.max_concurrency,
    }))
}

pub(super) fn load_spec(load: &Load) -> LoadSpec {
    match load {
        Load::Closed { concurrency } => LoadSpec::Closed {
            concurrency: *concurrency,
        },
        Load::Open {
            rate,
            arrival,
            max_concurrency,
        } => LoadSpec::Open {
            rate: *rate,
            arrival: arrival_kind(arrival).name().to_string(),
            burstiness: match arrival {
                config::Arrival::Gamma { burstiness } => Some(*burstiness),
                _ => None,
            },
            max_concurrency: *max_concurrency,
        },
        Load::Trace {
            trace,
            max_concurrency,
        } => LoadSpec::Trace {
            file: trace.file.clone(),
            format: trace.format.name().to_string(),
            rows: trace.requests.len() as u64,
            time_scale: trace.time_scale,
            sha256: trace.sha256.clone(),
            mean_rate: trace.mean_rate(),
            max_concurrency: *max_concurrency,
        },
    }
}

fn arrival_kind(arrival: &config::Arrival) -> ArrivalKind {
    match arrival {
        config::Arrival::Constant => ArrivalKind::Constant,
        config::Arrival::Poisson => ArrivalKind::Poisson,
        config::Arrival::Gamma { burstiness } => ArrivalKind::Gamma {
            burstiness: *burstiness,
        },
    }
}

/// The plan of one scenario. Its in-flight bound is capped by the requests it sends
/// (the spec keeps the value asked for), and must then fit
/// [`config::MAX_CONCURRENCY`].
pub(super) fn plan(
    spec: ScenarioSpec,
    load: &Load,
    prompts: PromptGenerator,
    requests: Option<u64>,
    duration: Option<Duration>,
) -> anyhow::Result<ScenarioPlan> {
    let total_requests = requests.map(|n| n + spec.warmup);
    let usable = |asked: u32| -> anyhow::Result<u32> {
        let n = config::usable_concurrency(asked, total_requests);
        if n > config::MAX_CONCURRENCY {
            bail!(UsageError(format!(
                "scenario `{}`: {}",
                spec.name,
                config::too_many_in_flight(asked)
            )));
        }
        Ok(n)
    };
    let load = match load {
        Load::Closed { concurrency } => LoadPlan::Closed {
            concurrency: usable(*concurrency)?,
        },
        Load::Open {
            rate,
            arrival,
            max_concurrency,
        } => LoadPlan::Open {
            rate: *rate,
            arrival: arrival_kind(arrival),
            max_concurrency: max_concurrency.map(usable).transpose()?,
        },
        Load::Trace {
            trace,
            max_concurrency,
        } => LoadPlan::Trace {
            replay: crate::workload::TraceReplay {
                requests: trace.requests.clone(),
                time_scale: trace.time_scale,
            },
            max_concurrency: max_concurrency.map(usable).transpose()?,
        },
    };
    // A trace ends at its last row, whatever `requests` asks for.
    let total_requests = match &load {
        LoadPlan::Trace { replay, .. } => {
            Some(total_requests.map_or(replay.len(), |n| n.min(replay.len())))
        }
        _ => total_requests,
    };
    Ok(ScenarioPlan {
        spec,
        load,
        prompts,
        total_requests,
        duration,
        output_tokens: None,
        tokenizer: None,
        capacity: None,
        conversation: None,
    })
}
