//! Non-streamed responses: the whole completion as one JSON document, sent
//! when the last token would have been generated, so that `"stream": false`
//! benchmarks see the same end-to-end latency as streamed ones.

use std::io;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

use super::frames;
use super::state::ActiveGuard;
use super::stream::Plan;
use super::timing::Pace;

/// Answers a non-streamed request when its last token would have been
/// generated: TTFT plus one step per further chunk, the same end time as the
/// streamed response.
pub(crate) async fn respond(
    active: ActiveGuard,
    plan: Plan,
    pace: Pace,
    first_deadline: Instant,
) -> Response {
    // The load is read once: without chunks there is no later point to re-read it.
    let step = pace.step(active.active_now());
    // Capped at a year so that `Instant` arithmetic cannot overflow however
    // many tokens were asked for.
    let decode = step
        .saturating_mul(plan.chunks().saturating_sub(1))
        .min(Duration::from_secs(365 * 86_400));
    let mut deadline = first_deadline + decode;
    if plan.faults.stall && plan.midpoint() > 0 {
        deadline += plan.stall;
    }
    active.shared().pacer.sleep_until(deadline).await;
    let now = Instant::now();
    let counters = &active.shared().counters;
    counters.record_lateness(now.saturating_duration_since(deadline));
    counters
        .output_tokens_total
        .fetch_add(u64::from(plan.tokens), Relaxed);

    let mut body = frames::full_response(&plan);
    let faults = plan.faults;
    if faults.disconnect || faults.malformed {
        counters.requests_failed_injected.fetch_add(1, Relaxed);
        // Half a JSON document: invalid if delivered, and for a cut the
        // connection is then aborted mid-body.
        body.truncate(body.len() / 2);
    } else {
        counters.requests_ok.fetch_add(1, Relaxed);
    }
    if let (Some(log), Some(mut stamps)) = (&active.shared().request_log, plan.stamps) {
        stamps.chunk(now);
        let complete = !(faults.disconnect || faults.malformed);
        log.write(&stamps.entry(plan.index, complete));
    }
    drop(active);
    let body = if faults.disconnect {
        Body::from_stream(cut_after(Bytes::from(body)))
    } else {
        Body::from(body)
    };
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// A body that delivers `bytes` and then breaks the connection. It yields
/// once in between because hyper drops unflushed data when a body fails and
/// flushes only while the body is pending.
fn cut_after(bytes: Bytes) -> impl futures_util::Stream<Item = io::Result<Bytes>> {
    let cut = async {
        tokio::task::yield_now().await;
        Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "injected disconnect",
        ))
    };
    futures_util::stream::once(async { Ok(bytes) }).chain(futures_util::stream::once(cut))
}
