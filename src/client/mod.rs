//! The OpenAI-compatible HTTP client.
//!
//! [`sse`] and [`chunk`] are pure parsers (bytes → events → what a chunk means);
//! [`http`] sends a request and timestamps what comes back, over [`h1`] (the lean
//! HTTP/1.1 client for `http://` and `https://`, driven by `plain`) or reqwest
//! (URLs with credentials, `tls`), both feeding one `exchange`; [`trust`] reads a
//! CA file to trust; [`status`] words what a failed response
//! says; [`limits`] caps what a server can make one request buffer; [`request`]
//! builds the JSON bodies.

pub mod chunk;
mod content;
mod exchange;
pub mod h1;
pub mod http;
pub mod limits;
mod plain;
pub mod request;
pub mod sse;
pub mod status;
mod tls;
pub mod trust;

pub use http::{Client, ClientOptions};
pub use request::{Api, BodyTemplate, PreparedBody};
pub use trust::{CaCert, CaCertError};
