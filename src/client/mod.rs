//! The OpenAI-compatible HTTP client.
//!
//! [`sse`] and [`chunk`] are pure parsers (bytes → events → what a chunk means);
//! [`http`] is the only part that touches the network and the clock; [`request`]
//! builds the JSON bodies.

pub mod chunk;
pub mod http;
pub mod request;
pub mod sse;

pub use http::{Client, ClientOptions};
pub use request::{Api, BodyTemplate};
