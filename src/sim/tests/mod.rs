//! End-to-end tests: a real server on an ephemeral loopback port, driven by
//! reqwest as a benchmark client would drive it.

mod config;
mod endpoints;
mod faults;
mod request_log;
mod streaming;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::Value;

use super::{SimConfig, SimServer};

/// A config with no delays, for tests that check content rather than timing.
fn instant() -> SimConfig {
    SimConfig {
        ttft_ms: 0.0,
        itl_ms: 0.0,
        ..SimConfig::default()
    }
}

async fn start(config: SimConfig) -> SimServer {
    config.validate().expect("test config is valid");
    SimServer::start(config, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .expect("server starts")
}

/// What a client saw of one streamed response.
#[derive(Debug)]
struct Sse {
    status: StatusCode,
    /// Each event's `data:` payload and when its last byte arrived, measured
    /// from just before the request was sent.
    events: Vec<(Duration, String)>,
    /// Set when the body ended in an error instead of cleanly.
    body_error: Option<String>,
}

impl Sse {
    /// Events that are JSON (everything but `[DONE]`); panics on invalid JSON.
    fn chunks(&self) -> Vec<Value> {
        self.events
            .iter()
            .filter(|(_, data)| data != "[DONE]")
            .map(|(_, data)| {
                serde_json::from_str(data).unwrap_or_else(|e| panic!("bad chunk {data}: {e}"))
            })
            .collect()
    }

    /// Arrival times and texts of the chunks that carry generated text.
    fn content(&self) -> Vec<(Duration, String)> {
        self.events
            .iter()
            .filter_map(|(t, data)| {
                let chunk: Value = serde_json::from_str(data).ok()?;
                let choice = chunk["choices"].get(0)?;
                let text = choice["delta"]["content"]
                    .as_str()
                    .or(choice["text"].as_str())?;
                (!text.is_empty()).then(|| (*t, text.to_string()))
            })
            .collect()
    }

    /// Generated tokens: the words of all content.
    fn tokens(&self) -> usize {
        self.content()
            .iter()
            .map(|(_, text)| text.split_whitespace().count())
            .sum()
    }

    fn has_done(&self) -> bool {
        self.events.last().is_some_and(|(_, data)| data == "[DONE]")
    }
}

/// POSTs `body` to `path` (under /v1) and collects the SSE events.
async fn stream(server: &SimServer, path: &str, body: Value) -> Sse {
    let client = reqwest::Client::new();
    let started = Instant::now();
    let response = client
        .post(format!("{}{path}", server.base_url()))
        .json(&body)
        .send()
        .await
        .expect("request is answered");
    let status = response.status();
    let mut bytes = response.bytes_stream();
    let mut pending = String::new();
    let mut events = Vec::new();
    let mut body_error = None;
    while let Some(item) = bytes.next().await {
        match item {
            Ok(bytes) => {
                let arrived = started.elapsed();
                pending.push_str(std::str::from_utf8(&bytes).expect("utf-8"));
                while let Some(end) = pending.find("\n\n") {
                    let event: String = pending.drain(..end + 2).collect();
                    let data = event
                        .trim_end()
                        .strip_prefix("data: ")
                        .unwrap_or(&event)
                        .to_string();
                    events.push((arrived, data));
                }
            }
            Err(error) => {
                body_error = Some(format!("{error:?}"));
                break;
            }
        }
    }
    Sse {
        status,
        events,
        body_error,
    }
}

/// A chat request body with a four-word prompt.
fn chat_body(extra: Value) -> Value {
    let mut body = serde_json::json!({
        "model": "sim-model",
        "messages": [{"role": "user", "content": "say hello to me"}],
        "stream": true,
    });
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    body
}
