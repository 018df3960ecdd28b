//! The OpenAI-compatible HTTP client.
//!
//! [`sse`] and [`chunk`] are pure parsers (bytes → events → what a chunk means);
//! [`http`] sends a request and timestamps what comes back, over [`h1`] (the lean
//! HTTP/1.1 client for `http://`) or reqwest (`https://`); [`request`] builds the
//! JSON bodies.

pub mod chunk;
pub mod h1;
pub mod http;
pub mod request;
pub mod sse;

pub use http::{Client, ClientOptions};
pub use request::{Api, BodyTemplate, PreparedBody};
