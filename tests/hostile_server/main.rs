//! The client against a server that misbehaves on purpose (`script`: raw TCP on
//! loopback, byte-exact responses): every request still gets a row that says what
//! happened, memory stays bounded, nothing is replayed behind the user's back, and
//! token counts that do not fit what arrived are flagged.
//!
//! One test binary, grouped by feature: [`limits`] (caps on gaps, lines and
//! probed pages), [`connections`] (the stall timeout before the head, no silent
//! replays, connections recorded), [`answers`] (statuses, content types, usage,
//! error bodies) and [`summary`] (kinds and flags reach `summary.json`).

#[path = "../common/mod.rs"]
mod common;
mod script;

mod answers;
mod connections;
mod limits;
mod summary;

use std::time::{Duration, Instant};

use llm_bench::client::{Api, Client, ClientOptions};
use llm_bench::record::{ErrorKind, RequestRow, RowContext, RowFlag, ITL_EXACT_CAP};
use script::{chunk, response, sse_response, token_event, Server, Step, SSE_HEAD};

const STALL: Duration = Duration::from_millis(300);

fn client(server: &Server, max_connections: usize) -> Client {
    Client::new(ClientOptions {
        base_url: server.url(),
        api: Api::Chat,
        api_key: None,
        headers: Vec::new(),
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(10),
        stall_timeout: STALL,
        max_connections,
        ca_cert: None,
    })
    .unwrap()
}

/// Sends one request and returns its row, as the runner would write it, with
/// `max_tokens` 16.
async fn send(client: &Client, stream: bool) -> RequestRow {
    let start = Instant::now();
    let body = br#"{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":16}"#;
    let outcome = client.send(body.to_vec(), None, start, stream).await;
    let ctx = RowContext {
        scenario: "s",
        trial: 0,
        index: 0,
        request_id: None,
        warmup: false,
        trial_start: start,
        in_flight: 1,
        max_tokens: Some(16),
        requested_output_tokens: None,
        tokenizer_output_tokens: None,
    };
    let row = RequestRow::new(ctx, &outcome);
    // What the run writes reads back as the same row.
    let line = serde_json::to_string(&row).unwrap();
    assert_eq!(serde_json::from_str::<RequestRow>(&line).unwrap(), row);
    row
}

fn kind_and_message(row: &RequestRow) -> (ErrorKind, &str) {
    let kind = row
        .error_kind
        .unwrap_or_else(|| panic!("expected a failure: {row:?}"));
    (kind, row.error.as_deref().unwrap_or_default())
}
