//! The error of a mistake the user can fix in flags or config (exit code 2).
//!
//! At the bottom of the crate so that any module can refuse bad input with it
//! without importing the module that parses flags ([`crate::options`]
//! re-exports it, where most call sites look for it).

/// A mistake in flags or config: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);
