//! The recorded provider responses in `shared/fixtures`, for tests.

pub(crate) const ANTHROPIC_JSON: &[u8] =
    include_bytes!("../../../shared/fixtures/anthropic_messages.json");
pub(crate) const ANTHROPIC_SSE: &[u8] =
    include_bytes!("../../../shared/fixtures/anthropic_messages_stream.sse");
pub(crate) const GEMINI_JSON: &[u8] = include_bytes!("../../../shared/fixtures/gemini.json");
pub(crate) const GEMINI_SSE: &[u8] = include_bytes!("../../../shared/fixtures/gemini_stream.sse");
pub(crate) const CHAT_JSON: &[u8] = include_bytes!("../../../shared/fixtures/openai_chat.json");
pub(crate) const CHAT_SSE: &[u8] =
    include_bytes!("../../../shared/fixtures/openai_chat_stream.sse");
pub(crate) const RESPONSES_JSON: &[u8] =
    include_bytes!("../../../shared/fixtures/openai_responses.json");
pub(crate) const RESPONSES_SSE: &[u8] =
    include_bytes!("../../../shared/fixtures/openai_responses_stream.sse");

/// `body` with every line end (the Gemini fixture has CRLF, the others LF) turned into `ending`.
pub(crate) fn with_line_ending(body: &[u8], ending: &str) -> Vec<u8> {
    String::from_utf8(body.to_vec())
        .unwrap()
        .replace("\r\n", "\n")
        .replace('\n', ending)
        .into_bytes()
}

/// The `data:` payloads of an SSE fixture, in order.
pub(crate) fn data_lines(body: &[u8]) -> Vec<&str> {
    std::str::from_utf8(body)
        .unwrap()
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .collect()
}
