//! Conversation scenarios (`conversation:`): each conversation runs its turns in
//! sequence, the next turn sent a think time after the last one's answer.
//!
//! Closed loop: `concurrency` conversations in flight, each worker starting the
//! next conversation when its last one ends. Open loop: conversations *start* on
//! the scenario's arrival schedule, capped at `max_concurrency` conversations in
//! flight. A turn's latency is measured from its own scheduled send (the end of
//! its think time), so think time is never counted as latency. Requests (turns)
//! are numbered from one counter in send order: `requests:` and `warmup:` count
//! turns, and a conversation stops where the count runs out. A failed turn, or an
//! answer whose text could not be kept, ends its conversation (the row says why);
//! the run goes on.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::health::{lag_histogram, record_lag};
use super::{Sent, TrialContext};
use crate::client::BodyTemplate;
use crate::timer;
use crate::workload::conversation::{History, Role};
use crate::workload::LoadPlan;

/// Runs a trial of a conversation scenario; the open loop's dispatch lags, as
/// [`super::open::run`] returns them.
pub(super) async fn run(
    ctx: Arc<TrialContext>,
    schedule: Option<impl Iterator<Item = Duration>>,
) -> Option<Histogram<u64>> {
    let turns = Arc::new(AtomicU64::new(0));
    match (&ctx.plan.load, schedule) {
        (
            LoadPlan::Open {
                max_concurrency, ..
            },
            Some(schedule),
        ) => {
            let cap = *max_concurrency;
            Some(open(ctx, turns, schedule, cap).await)
        }
        (LoadPlan::Closed { concurrency }, _) => {
            let concurrency = *concurrency;
            closed(ctx, turns, concurrency).await;
            None
        }
        // Refused by the config (`trace:` with `conversation:`): one conversation
        // after another.
        _ => {
            closed(ctx, turns, 1).await;
            None
        }
    }
}

async fn closed(ctx: Arc<TrialContext>, turns: Arc<AtomicU64>, concurrency: u32) {
    let next = Arc::new(AtomicU64::new(0));
    let mut workers = JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (ctx, next, turns) = (ctx.clone(), next.clone(), turns.clone());
        workers.spawn(async move {
            while !ctx.soft.is_cancelled() {
                let conversation = ctx.global_index(next.fetch_add(1, Ordering::Relaxed));
                if converse(&ctx, &turns, conversation, Instant::now()).await == Ended::Budget {
                    break;
                }
            }
        });
    }
    while workers.join_next().await.is_some() {}
}

async fn open(
    ctx: Arc<TrialContext>,
    turns: Arc<AtomicU64>,
    schedule: impl Iterator<Item = Duration>,
    max_concurrency: Option<u32>,
) -> Histogram<u64> {
    let mut lags = lag_histogram();
    let slots = max_concurrency.map(|n| Arc::new(Semaphore::new(n.max(1) as usize)));
    let mut in_flight = JoinSet::new();
    for (conversation, offset) in (0u64..).zip(schedule) {
        let spent = ctx.exhausted(ctx.global_index(turns.load(Ordering::Relaxed)));
        if spent || ctx.plan.duration.is_some_and(|d| offset >= d) {
            break;
        }
        if !ctx.is_mine(conversation) {
            continue;
        }
        let at = ctx.start + offset;
        tokio::select! {
            _ = timer::sleep_until(at) => {}
            _ = ctx.soft.cancelled() => break,
        }
        record_lag(&mut lags, Instant::now().saturating_duration_since(at));
        let permit = match &slots {
            Some(slots) => tokio::select! {
                permit = slots.clone().acquire_owned() => permit.ok(),
                _ = ctx.soft.cancelled() => break,
            },
            None => None,
        };
        let (ctx, turns) = (ctx.clone(), turns.clone());
        in_flight.spawn(async move {
            converse(&ctx, &turns, conversation, at).await;
            drop(permit);
        });
        while in_flight.try_join_next().is_some() {}
    }
    while in_flight.join_next().await.is_some() {}
    lags
}

/// Why a conversation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// All its turns were answered, a turn failed, or the run is stopping.
    Done,
    /// The trial's request count ran out: start no more conversations.
    Budget,
}

/// Runs conversation `conversation`, its first turn scheduled at `first`.
async fn converse(
    ctx: &TrialContext,
    turns: &AtomicU64,
    conversation: u64,
    first: Instant,
) -> Ended {
    let Some(plan) = ctx.plan.conversation.as_ref() else {
        return Ended::Budget;
    };
    let trial = ctx.trial;
    let mut history = plan.start(conversation);
    let mut scheduled = first;
    for turn in 1..=plan.turns_of(trial, conversation) {
        if turn > 1 {
            scheduled = Instant::now() + plan.think_before(trial, conversation, turn);
            tokio::select! {
                _ = timer::sleep_until(scheduled) => {}
                _ = ctx.soft.cancelled() => return Ended::Done,
            }
        }
        if ctx.soft.is_cancelled() {
            return Ended::Done;
        }
        let index = ctx.global_index(turns.fetch_add(1, Ordering::Relaxed));
        if ctx.exhausted(index) {
            return Ended::Budget;
        }
        history.push(Role::User, plan.user_message(trial, conversation, turn));
        let (body, sent) = turn_body(ctx, index, &history, (conversation, turn));
        let outcome = ctx.send_recorded(index, scheduled, body, sent).await;
        match outcome.content_text {
            Some(answer) if outcome.error.is_none() => history.push(Role::Assistant, answer),
            _ => return Ended::Done,
        }
    }
    Ended::Done
}

/// The body of one turn: the scenario's body with `messages` replaced by the
/// history, and its own `max_tokens` when the scenario draws output lengths.
fn turn_body(
    ctx: &TrialContext,
    index: u64,
    history: &History,
    turn: (u64, u32),
) -> (Vec<u8>, Sent) {
    let output_tokens = ctx.plan.output_tokens_of(ctx.trial, index);
    let template = match output_tokens {
        Some(n) => BodyTemplate {
            max_tokens: n,
            ..ctx.template.clone()
        },
        None => ctx.template.clone(),
    };
    let mut body: Value = serde_json::from_slice(&template.body("")).unwrap_or_else(|_| json!({}));
    if let Some(fields) = body.as_object_mut() {
        fields.insert("messages".into(), history.to_json());
        if let (Some(n), Some(min)) = (output_tokens, fields.get_mut("min_tokens")) {
            *min = json!(n);
        }
    }
    let sent = Sent {
        output_tokens: output_tokens.map(u64::from),
        output_limit: ctx.body.output_limit_of(output_tokens),
        turn: Some(turn),
    };
    (serde_json::to_vec(&body).unwrap_or_default(), sent)
}
