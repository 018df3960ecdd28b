//! Executes scenario plans on tokio and hands every finished request to the sink.
//!
//! Closed loops run N long-lived workers; open loops send on an absolute schedule
//! (`trial_start + offset`) so a late send never shifts the ones after it, and
//! latency is also measured from the scheduled time. Workers share nothing but an
//! in-flight counter and the channel to the sink. Stopping has two stages: `soft`
//! stops new sends (Ctrl-C, the duration limit), `hard` abandons what is still in
//! flight after a grace time, recording it as cancelled.
//!
//! A watchdog (`health`) runs beside every trial; its verdict on whether the client
//! was the bottleneck goes to the sink after the trial's rows.

mod closed;
mod conversation;
mod health;
mod interrupt;
mod open;
mod run_delay;
pub mod signals;
pub mod sink;
mod stall_watch;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::client::{BodyTemplate, Client, PreparedBody};
use crate::live::{LiveRun, TrialProbe};
use crate::manifest::Part;
use crate::record::{ErrorKind, Outcome, RequestRow, RequestTiming, RowContext};
use crate::workload::{LoadPlan, ScenarioPlan};
pub use interrupt::{Interrupt, StopCause};
use sink::{SinkHandle, TrialHealth};

/// What every trial of a run shares.
pub struct RunEnv<'a> {
    pub client: &'a Client,
    pub sink: &'a SinkHandle,
    pub interrupt: &'a Interrupt,
    /// How long in-flight requests may finish after a stop.
    pub grace: Duration,
    /// The run's id: the first part of every `X-Request-Id` llm-bench sends.
    pub run_id: &'a str,
    /// Live metrics (`--metrics-listen`, `--pushgateway`), when on.
    pub live: Option<&'a LiveRun>,
    /// `--generator I/N`: send only this share of each schedule (see `split`).
    pub generator: Option<Part>,
    /// `--start-at`: the trial's clock starts no earlier than this, after its
    /// connections are opened, so generators on several machines start together.
    pub start_not_before: Option<Instant>,
}

/// Runs one trial of one scenario; returns when every request has been recorded.
pub async fn run_trial(plan: &ScenarioPlan, trial: u32, body: &BodyTemplate, env: &RunEnv<'_>) {
    let RunEnv {
        client,
        sink,
        interrupt,
        grace,
        run_id,
        live,
        generator,
        start_not_before,
    } = *env;
    let probe = live.map(|l| l.probe(&plan.spec.name, trial));
    let soft = interrupt.soft.child_token();
    let hard = interrupt.hard.child_token();
    tokio::select! {
        () = client.warm_up(plan.warm_connections()) => {}
        () = soft.cancelled() => {}
    }
    if let Some(at) = start_not_before {
        tokio::select! {
            () = crate::timer::sleep_until(at) => {}
            () = soft.cancelled() => {}
        }
    }
    let start = Instant::now();
    let deadline = plan.duration.map(|d| {
        let (soft, hard) = (soft.clone(), hard.clone());
        tokio::spawn(async move {
            tokio::time::sleep(d).await;
            soft.cancel();
            tokio::time::sleep(grace).await;
            hard.cancel();
        })
    });
    let watchdog = health::Watchdog::start(probe.clone());
    let ctx = Arc::new(TrialContext {
        plan: plan.clone(),
        trial,
        // A conversation's next turn carries the server's answer to the last.
        client: match plan.conversation {
            Some(_) => client.clone().keeping_text(true),
            None => client.clone(),
        },
        body: match plan.output_tokens {
            Some(_) => body.prepare_per_request_output(),
            None => body.prepare(),
        },
        template: body.clone(),
        sink: sink.clone(),
        soft,
        hard,
        start,
        in_flight: AtomicU32::new(0),
        probe,
        generator,
        stalls: watchdog.stall_log(),
        id_prefix: client
            .sends_request_ids()
            .then(|| format!("{run_id}-{}-{trial}-", plan.spec.name)),
    });
    let dispatch_lags = match plan.load {
        _ if plan.conversation.is_some() => conversation::run(ctx, plan.schedule(trial)).await,
        LoadPlan::Closed { concurrency } => {
            closed::run(ctx, concurrency).await;
            None
        }
        LoadPlan::Open {
            max_concurrency, ..
        } => {
            let schedule = plan.schedule(trial).into_iter().flatten();
            Some(open::run(ctx, schedule, max_concurrency).await)
        }
        LoadPlan::Trace {
            ref replay,
            max_concurrency,
        } => Some(open::run(ctx, replay.schedule(), max_concurrency).await),
    };
    if let Some(task) = deadline {
        task.abort();
    }
    let health = watchdog.finish(dispatch_lags.as_ref()).await;
    sink.send_health(TrialHealth {
        scenario: plan.spec.name.clone(),
        trial,
        clock_start_ns: crate::clock::monotonic_ns(start),
        health,
    });
}

/// What every request of a trial shares.
struct TrialContext {
    plan: ScenarioPlan,
    trial: u32,
    client: Client,
    body: PreparedBody,
    /// The body before preparing, for trace rows (each has its own `max_tokens`).
    template: BodyTemplate,
    sink: SinkHandle,
    soft: CancellationToken,
    hard: CancellationToken,
    start: Instant,
    in_flight: AtomicU32,
    /// Live metrics' sent and in-flight counts, when on.
    probe: Option<TrialProbe>,
    /// `--generator I/N`: which requests of the schedule are this process's.
    generator: Option<Part>,
    /// Process stalls seen so far: a row whose first token fell in one is marked.
    stalls: Arc<stall_watch::StallLog>,
    /// `<run id>-<scenario>-<trial>-`: a request's `X-Request-Id` is this plus its
    /// index. `None` when the target's own headers set `X-Request-Id`.
    id_prefix: Option<String>,
}

impl TrialContext {
    /// Whether request `index` is beyond the scenario's request count.
    fn exhausted(&self, index: u64) -> bool {
        self.plan.total_requests.is_some_and(|n| index >= n)
    }

    /// Whether request `index` of the schedule is this generator's to send.
    fn is_mine(&self, index: u64) -> bool {
        self.generator
            .is_none_or(|part| crate::split::is_mine(index, part))
    }

    /// The `local`-th request this process sends, as an index of the schedule.
    fn global_index(&self, local: u64) -> u64 {
        self.generator
            .map_or(local, |part| crate::split::global_index(local, part))
    }

    /// Sends request `index`, scheduled at `scheduled`, and records it.
    async fn execute(&self, index: u64, scheduled: Instant) {
        // (what the body asks for, what the request may receive, per request)
        let (body, output_tokens, output_limit) = match self.plan.trace_row(index) {
            Some(row) => {
                let (body, limit) = trace_body(&self.plan, &self.template, row, self.trial, index);
                (body, limit, limit)
            }
            None => {
                let prompts = &self.plan.prompts;
                let output_tokens = self.plan.output_tokens_of(self.trial, index);
                let body = self
                    .body
                    .render_with(prompts.len_hint(), output_tokens, |out| {
                        prompts.write_json(self.trial, index, out);
                    });
                let limit = self.body.output_limit_of(output_tokens);
                (body, output_tokens.map(u64::from), limit)
            }
        };
        let sent = Sent {
            output_tokens,
            output_limit,
            turn: None,
        };
        self.send_recorded(index, scheduled, body, sent).await;
    }

    /// Sends `body` as request `index`, scheduled at `scheduled`, records it and
    /// returns its outcome.
    async fn send_recorded(
        &self,
        index: u64,
        scheduled: Instant,
        body: Vec<u8>,
        sent: Sent,
    ) -> Outcome {
        let request_id = self.id_prefix.as_ref().map(|p| format!("{p}{index}"));
        let in_flight = self.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(probe) = &self.probe {
            probe.request_sent();
        }
        let send = self
            .client
            .send(body, request_id.as_deref(), scheduled, self.body.stream);
        let outcome = tokio::select! {
            outcome = send => outcome,
            _ = self.hard.cancelled() => cancelled(scheduled),
        };
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        if let Some(probe) = &self.probe {
            probe.request_done();
        }
        self.record(index, request_id.as_deref(), in_flight, &sent, &outcome);
        outcome
    }

    fn record(
        &self,
        index: u64,
        request_id: Option<&str>,
        in_flight: u32,
        sent: &Sent,
        outcome: &Outcome,
    ) {
        // Counted here, off the client's read loop, and only when the server
        // sent no usage.
        let tokenizer_output_tokens = match (&self.plan.tokenizer, outcome.usage_output_tokens) {
            (Some(tokenizer), None) => outcome
                .content_text
                .as_deref()
                .and_then(|text| tokenizer.count(text))
                .map(|n| n as u64),
            _ => None,
        };
        let ctx = RowContext {
            scenario: &self.plan.spec.name,
            trial: self.trial,
            index,
            request_id,
            warmup: self.plan.is_warmup(index),
            trial_start: self.start,
            in_flight,
            max_tokens: sent.output_limit,
            requested_output_tokens: sent.output_tokens,
            tokenizer_output_tokens,
        };
        let mut row = RequestRow::new(ctx, outcome);
        if let Some((conversation, turn)) = sent.turn {
            row.conversation = Some(conversation);
            row.turn = Some(turn);
        }
        row.client_stall = self.stalls.check(
            outcome.timing.tokens.first(),
            outcome.timing.first_token_wait,
        );
        self.sink.send(row);
    }
}

/// What a request asked for, beside its body.
struct Sent {
    /// The output length drawn for it, if any.
    output_tokens: Option<u64>,
    /// The most output tokens its body allows.
    output_limit: Option<u64>,
    /// (conversation, turn from 1) when it is a conversation's turn.
    turn: Option<(u64, u32)>,
}

/// The body of one trace row: a prompt of the row's input length and `max_tokens`
/// of its output length (rendered per request; a trace's rate is what a server
/// took in production, far below what this costs), and that body's output limit.
fn trace_body(
    plan: &ScenarioPlan,
    template: &BodyTemplate,
    row: &crate::config::TraceRequest,
    trial: u32,
    index: u64,
) -> (Vec<u8>, Option<u64>) {
    let prompts = crate::workload::trace::with_length(&plan.prompts, row.input_tokens);
    let body = BodyTemplate {
        max_tokens: row.output_tokens,
        ..template.clone()
    }
    .prepare();
    let rendered = body.render(prompts.len_hint(), |out| {
        prompts.write_json(trial, index, out);
    });
    (rendered, body.output_limit)
}

fn cancelled(scheduled: Instant) -> Outcome {
    let now = Instant::now();
    let mut timing = RequestTiming::new(scheduled, now);
    timing.end = now;
    let mut outcome = Outcome::new(timing);
    outcome.error = Some((
        ErrorKind::Cancelled,
        "still in flight when the run stopped and the grace time ran out".into(),
    ));
    outcome
}
