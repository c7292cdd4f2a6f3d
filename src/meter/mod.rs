//! Incremental usage extraction from provider responses (SSE and JSON, compressed or not).

mod usage;

pub use usage::{Provider, Usage};
