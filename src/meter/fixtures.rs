//! The recorded provider responses in `tests/fixtures`, for tests.

pub(crate) const ANTHROPIC_JSON: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/anthropic_messages.json"
));
pub(crate) const ANTHROPIC_SSE: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/anthropic_messages_stream.sse"
));
pub(crate) const GEMINI_JSON: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/gemini.json"
));
pub(crate) const GEMINI_SSE: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/gemini_stream.sse"
));
pub(crate) const CHAT_JSON: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/openai_chat.json"
));
pub(crate) const CHAT_SSE: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/openai_chat_stream.sse"
));
pub(crate) const RESPONSES_JSON: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/openai_responses.json"
));
pub(crate) const RESPONSES_SSE: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/openai_responses_stream.sse"
));

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

/// A deterministic source of noise for robustness tests (no dependency needed).
pub(crate) struct Noise(pub(crate) u64);

impl Noise {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.next() as usize % n.max(1)
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }

    /// Text made of JSON and SSE tokens, the worst case for the scanners.
    pub(crate) fn json_ish(&mut self, n: usize) -> Vec<u8> {
        const TOKENS: &[&[u8]] = &[
            b"{",
            b"}",
            b"[",
            b"]",
            b"\"",
            b"\\",
            b",",
            b":",
            b" ",
            b"\n",
            b"\r",
            b"\r\n",
            b"\n\n",
            b"data:",
            b"data: ",
            b"event: ",
            b": ping",
            b"usage",
            b"\"usage\":",
            b"\"usageMetadata\":",
            b"\"model\":",
            b"\"id\":",
            b"\"type\":",
            b"\"message_start\"",
            b"\"message_delta\"",
            b"\"response.completed\"",
            b"\"choices\":[]",
            b"null",
            b"12",
            b"-1",
            b"1e999",
            b"\"x\"",
            b"[DONE]",
            b"\xff",
            b"\xef\xbb\xbf",
        ];
        let mut out = Vec::new();
        while out.len() < n {
            out.extend_from_slice(TOKENS[self.below(TOKENS.len())]);
        }
        out
    }

    /// `body` with a few bytes flipped, dropped, duplicated or moved.
    pub(crate) fn mangle(&mut self, body: &[u8]) -> Vec<u8> {
        let mut out = body.to_vec();
        for _ in 0..=self.below(4) {
            if out.is_empty() {
                break;
            }
            let at = self.below(out.len());
            match self.below(4) {
                0 => out[at] = self.next() as u8,
                1 => {
                    out.remove(at);
                }
                2 => {
                    let end = (at + self.below(64)).min(out.len());
                    let copy = out[at..end].to_vec();
                    let to = self.below(out.len());
                    out.splice(to..to, copy);
                }
                _ => out.truncate(at),
            }
        }
        out
    }

    /// `body` cut into random pieces.
    pub(crate) fn pieces<'a>(&mut self, body: &'a [u8]) -> Vec<&'a [u8]> {
        let mut pieces = Vec::new();
        let mut rest = body;
        while !rest.is_empty() {
            let n = (self.below(300) + 1).min(rest.len());
            pieces.push(&rest[..n]);
            rest = &rest[n..];
        }
        pieces
    }
}
