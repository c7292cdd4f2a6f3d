//! What a response said about its usage: the result of metering one response body.

use super::Usage;

/// What a response said about its usage, once it ended or was cut.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extracted {
    pub usage: Usage,
    /// The model the response names (Anthropic `message.model`, OpenAI `model`, Gemini
    /// `modelVersion`).
    pub model: Option<String>,
    /// Message id, response id, `chatcmpl` id or Gemini `responseId`.
    pub upstream_id: Option<String>,
    /// Any usage object was seen.
    pub saw_usage: bool,
    /// A terminal marker was seen: Anthropic `message_stop`, Responses `response.completed` /
    /// `incomplete` / `failed`, Chat `[DONE]` or the usage chunk, Gemini a `finishReason`; or a
    /// whole JSON body (or closed JSON-array stream).
    pub complete: bool,
    /// The body was SSE or a JSON-array stream.
    pub streamed: bool,
    /// Why metering stopped early (unsupported `Content-Encoding`, corrupt compressed data, a
    /// decompression bomb); the bytes still reached the client.
    pub decode_error: Option<String>,
}
