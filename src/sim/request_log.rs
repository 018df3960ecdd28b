//! `serve-sim --request-log FILE`: what the server really did for each request,
//! one JSON line per request, on the host's shared `CLOCK_MONOTONIC`.
//!
//! The injected delays say what the server was asked to do; a loaded server
//! queues requests before its handler and writes chunks late. This log is the
//! ground truth a client's timing is checked against: llm-bench sends each
//! request with an `X-Request-Id` and records the `CLOCK_MONOTONIC` of each
//! trial's start (`client_health.jsonl`), so `scripts/side_by_side.py` pairs
//! every measured TTFT with the moment the first token actually left.

use std::fs::File;
use std::io::{self, LineWriter, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;

use crate::clock::monotonic_ns;

/// The open log file. Each line is written (and flushed) when its request ends,
/// so a server stopped with Ctrl-C or killed keeps every finished line.
#[derive(Debug)]
pub(crate) struct RequestLog {
    out: Mutex<LineWriter<File>>,
}

/// One request, as a line of the log.
#[derive(Debug, Serialize)]
pub(crate) struct Entry<'a> {
    /// The client's `X-Request-Id`, if it sent one.
    pub request_id: Option<&'a str>,
    /// The response id's number (`chatcmpl-<index>`).
    pub index: u64,
    /// When the handler read the request (`CLOCK_MONOTONIC`, ns).
    pub arrival_ns: Option<u64>,
    /// When the first chunk (the first token) was handed to the connection.
    pub first_chunk_ns: Option<u64>,
    /// When the last chunk sent was handed to the connection.
    pub last_chunk_ns: Option<u64>,
    /// Chunks handed to the connection.
    pub chunks: u32,
    /// Whether the response went out in full (no injected fault, no disconnect).
    pub complete: bool,
    /// The request's `max_tokens` (or `max_completion_tokens`), when it set one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// The prompt as received (message contents joined by newlines), to check
    /// what a workload sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<&'a str>,
    /// The chat messages' roles in order (`system`, `user`, `assistant`, ...),
    /// to check a conversation's history.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<&'a [String]>,
}

impl RequestLog {
    /// Creates (or truncates) `path`.
    pub fn create(path: &Path) -> io::Result<RequestLog> {
        Ok(RequestLog {
            out: Mutex::new(LineWriter::new(File::create(path)?)),
        })
    }

    /// Appends one line. A failed write is reported once per failure on stderr
    /// and otherwise ignored: the log must never break the server it describes.
    pub fn write(&self, entry: &Entry<'_>) {
        let mut line = match serde_json::to_vec(entry) {
            Ok(line) => line,
            Err(_) => return,
        };
        line.push(b'\n');
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = out.write_all(&line) {
            eprintln!("cannot write the request log: {e}");
        }
    }
}

/// A request's timestamps while it is served.
#[derive(Debug)]
pub(crate) struct Stamps {
    pub request_id: Option<String>,
    pub arrival: Instant,
    pub first_chunk: Option<Instant>,
    pub last_chunk: Option<Instant>,
    pub chunks: u32,
    pub max_tokens: Option<u32>,
    pub prompt: Option<String>,
    pub roles: Option<Vec<String>>,
}

impl Stamps {
    pub fn new(request_id: Option<String>, arrival: Instant) -> Stamps {
        Stamps {
            request_id,
            arrival,
            first_chunk: None,
            last_chunk: None,
            chunks: 0,
            max_tokens: None,
            prompt: None,
            roles: None,
        }
    }

    /// A chunk is being handed to the connection now.
    pub fn chunk(&mut self, at: Instant) {
        self.first_chunk.get_or_insert(at);
        self.last_chunk = Some(at);
        self.chunks += 1;
    }

    pub fn entry(&self, index: u64, complete: bool) -> Entry<'_> {
        Entry {
            request_id: self.request_id.as_deref(),
            index,
            arrival_ns: monotonic_ns(self.arrival),
            first_chunk_ns: self.first_chunk.and_then(monotonic_ns),
            last_chunk_ns: self.last_chunk.and_then(monotonic_ns),
            chunks: self.chunks,
            complete,
            max_tokens: self.max_tokens,
            prompt: self.prompt.as_deref(),
            roles: self.roles.as_deref(),
        }
    }
}
