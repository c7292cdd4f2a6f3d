//! Incremental usage extraction from provider responses (SSE and JSON, compressed or not).
//!
//! The proxy classifies each request ([`Protocol::classify`]), taps the request body for the model
//! it names ([`RequestTap`]) and every response frame ([`ResponseTap`]), and records the
//! [`Extracted`] usage once the body ends or is cut. Taps never hold a body back and keep memory
//! bounded whatever arrives: they parse only what can carry usage and skip everything else.
//!
//! For OpenAI Chat streams gw may ask for usage the client did not ([`inject_include_usage`]) and
//! then hides the extra chunk from the client ([`ChatUsageChunkFilter`]).

mod body;
mod decode;
mod extracted;
mod extractor;
mod include_usage;
mod json_split;
mod protocol;
mod provider;
mod request_tap;
mod response_tap;
mod scan;
mod sse;
mod usage;
mod wire;

#[cfg(test)]
mod fixtures;

pub use extracted::Extracted;
pub use include_usage::{inject_include_usage, ChatUsageChunkFilter};
pub use protocol::{bedrock_call, gemini_path_model, path_model, Protocol};
pub use provider::{ErrorShape, Provider, ProviderInfo, PROVIDERS};
pub use request_tap::{RequestInfo, RequestTap};
pub use response_tap::ResponseTap;
pub use usage::{Billing, Usage};

/// The largest single SSE event or JSON value held for parsing; a larger one is skipped.
const MAX_EVENT_BYTES: usize = 16 << 20;

/// The most decoded bytes metered from one compressed body: past it the tap stops decoding, so a
/// decompression bomb costs bounded work.
const MAX_DECODED_BYTES: u64 = 256 << 20;

/// A buffer whose capacity grew past this is released once its content is consumed, so one large
/// event does not pin memory for the rest of a long stream.
const SHRINK_ABOVE: usize = 1 << 20;
