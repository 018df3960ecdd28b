//! HTTP routes of the simulated server and the per-request flow: count,
//! authorise, parse, draw faults, then stream or answer in one piece.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;

use super::error::ApiError;
use super::faults::{Faults, Reject};
use super::frames::Frames;
use super::metrics;
use super::request::{Api, CompletionRequest};
use super::request_log::Stamps;
use super::state::{unix_now, ActiveGuard, Shared};
use super::stream::{Plan, TokenStream};
use super::timing::{millis, Pace};
use super::whole;
use crate::config::SimConfig;

/// Long prompts (tens of thousands of words) exceed axum's 2 MB default.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/v1/completions", post(completions))
        .route("/v1/models", get(models))
        .route("/metrics", get(prometheus))
        .route("/health", get(|| async { StatusCode::OK }))
        .fallback(|uri: Uri| async move { ApiError::not_found(uri.path()) })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(shared)
}

async fn chat(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    complete(shared, Api::Chat, &headers, body).await
}

async fn completions(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    complete(shared, Api::Completions, &headers, body).await
}

async fn models(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Err(error) = authorize(&shared, &headers) {
        return error.into_response();
    }
    axum::Json(json!({
        "object": "list",
        "data": [{
            "id": shared.config.model,
            "object": "model",
            "created": shared.started_unix,
            "owned_by": "llm-bench-sim",
        }],
    }))
    .into_response()
}

async fn prometheus(State(shared): State<Arc<Shared>>) -> Response {
    let text = metrics::render(&shared);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// Checks `Authorization: Bearer <key>` when a key is configured. Messages
/// never echo either key.
fn authorize(shared: &Shared, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = &shared.config.api_key else {
        return Ok(());
    };
    let Some(given) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::unauthorized(
            "Missing API key: send `Authorization: Bearer <key>`.",
        ));
    };
    let given = given.as_bytes().strip_prefix(b"Bearer ").unwrap_or(b"");
    if constant_time_eq(given, expected.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::unauthorized("Incorrect API key provided."))
    }
}

/// Compares without an early exit so response timing does not leak how much
/// of a guessed key was right (cheap to do, even for a test server).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The flow shared by both completion endpoints.
async fn complete(
    shared: Arc<Shared>,
    api: Api,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    // Taken first so TTFT counts from the moment the request was read.
    let arrival = Instant::now();
    let created = unix_now();
    let index = shared.next_index();
    shared.counters.requests_total.fetch_add(1, Relaxed);

    if let Err(error) = authorize(&shared, headers) {
        return error.into_response();
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            return ApiError::unreadable_body(rejection.status(), rejection.body_text())
                .into_response()
        }
    };
    let config = &shared.config;
    let request = match CompletionRequest::parse(
        api,
        &body,
        config.strict_fields,
        shared.prefix_cache.is_some(),
    ) {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    let logged_prompt = shared
        .request_log
        .as_ref()
        .and_then(|_| super::request::logged_prompt(api, &body));
    let logged_roles = shared
        .request_log
        .as_ref()
        .and_then(|_| super::request::logged_roles(api, &body));
    drop(body);

    let faults = Faults::draw(config, index);
    if let Some(reject) = faults.reject {
        shared
            .counters
            .requests_failed_injected
            .fetch_add(1, Relaxed);
        return match reject {
            Reject::TooManyRequests => ApiError::rate_limited(),
            Reject::Internal => ApiError::internal(),
        }
        .into_response();
    }

    let (tokens, finish) = output_length(config, &request);
    let model = request.model.unwrap_or_else(|| config.model.clone());
    let plan = Plan {
        api,
        index,
        created,
        frames: Frames::new(api, index, created, &model),
        model,
        tokens,
        finish,
        prompt_tokens: request.prompt_tokens,
        tokens_per_chunk: config.tokens_per_chunk.max(1),
        usage: (request.stream && request.include_usage).then_some(config.usage),
        send_done: config.send_done,
        faults,
        stall: millis(config.stall_ms as f64 * config.speed_factor),
        stamps: shared.request_log.as_ref().map(|_| {
            let mut stamps = Stamps::new(request_id(headers), arrival);
            stamps.max_tokens = request.max_tokens;
            stamps.prompt = logged_prompt;
            stamps.roles = logged_roles;
            stamps
        }),
    };
    shared
        .counters
        .prompt_tokens_total
        .fetch_add(request.prompt_tokens, Relaxed);
    // Tokens served from the prefix cache skip their prefill cost.
    let cached_tokens = shared.prefix_cache.as_ref().map_or(0, |cache| {
        cache.serve(request.prompt_tokens, &request.prefix_blocks)
    });
    let pace = Pace::new(config);
    let (active, load) = ActiveGuard::enter(Arc::clone(&shared));
    let mut first_deadline =
        arrival + pace.ttft(request.prompt_tokens.saturating_sub(cached_tokens), load);
    if faults.stall && plan.midpoint() == 0 {
        first_deadline += plan.stall;
    }

    if request.stream {
        let stream = TokenStream::new(active, plan, pace, first_deadline);
        Response::builder()
            .header(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            )
            .header(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))
            .body(Body::from_stream(stream))
            .unwrap_or_else(|_| ApiError::internal().into_response())
    } else {
        whole::respond(active, plan, pace, first_deadline).await
    }
}

/// The client's `X-Request-Id`, when it is printable.
fn request_id(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("x-request-id")?.to_str().ok()?;
    Some(value.chars().take(200).collect())
}

/// Output length and finish reason: the request's max_tokens (or the
/// configured default), cut short at `eos_tokens` unless `ignore_eos`.
fn output_length(config: &SimConfig, request: &CompletionRequest) -> (u32, &'static str) {
    let wanted = request.max_tokens.unwrap_or(config.output_tokens).max(1);
    match config.eos_tokens {
        Some(eos) if !request.ignore_eos && eos < wanted => (eos.max(1), "stop"),
        // Without max_tokens the model stops on its own: "stop".
        _ if request.max_tokens.is_none() => (wanted, "stop"),
        _ => (wanted, "length"),
    }
}
