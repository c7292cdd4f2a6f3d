//! A decoded response body: tells SSE, a single JSON value and a JSON-array stream apart and feeds
//! their payloads to the usage extractor.

use std::io::{self, Write};

use super::extracted::Extracted;
use super::extractor::UsageExtractor;
use super::json_split::{ChildSink, JsonSplitter};
use super::scan::is_leading_filler;
use super::sse::{SseParser, SseSink};
use super::{Protocol, MAX_EVENT_BYTES};

/// What the body turned out to be, from its first non-blank byte.
#[derive(Debug)]
enum Format {
    /// Nothing but whitespace so far.
    Sniffing,
    Sse(SseParser),
    /// A single JSON object: only the wanted top-level members are kept.
    Object(JsonSplitter),
    /// A JSON array stream: each element is a chunk.
    Array(JsonSplitter),
}

/// The sink at the end of the decoder chain. The first non-blank byte decides the format (`[` an
/// array stream, `{` one JSON value, anything else SSE): mocks and gateways mislabel
/// `Content-Type`, so it only tells whether an empty or odd body was meant to stream.
#[derive(Debug)]
pub(crate) struct BodyParser {
    extractor: UsageExtractor,
    format: Format,
    sse_declared: bool,
    decoded: u64,
    /// Most decoded bytes accepted (set when the body is compressed).
    limit: Option<u64>,
}

impl BodyParser {
    pub(crate) fn new(protocol: Protocol, content_type: Option<&str>) -> Self {
        let sse_declared =
            content_type.is_some_and(|ct| ct.to_ascii_lowercase().contains("text/event-stream"));
        BodyParser {
            extractor: UsageExtractor::new(protocol),
            format: Format::Sniffing,
            sse_declared,
            decoded: 0,
            limit: None,
        }
    }

    pub(crate) fn set_limit(&mut self, limit: u64) {
        self.limit = Some(limit);
    }

    pub(crate) fn feed(&mut self, mut chunk: &[u8]) {
        if let Format::Sniffing = self.format {
            let Some(start) = chunk.iter().position(|&b| !is_leading_filler(b)) else {
                return;
            };
            chunk = &chunk[start..];
            self.format = match chunk[0] {
                b'[' => Format::Array(JsonSplitter::new(MAX_EVENT_BYTES)),
                b'{' => Format::Object(JsonSplitter::new(MAX_EVENT_BYTES)),
                _ => Format::Sse(SseParser::new()),
            };
        }
        let extractor = &mut self.extractor;
        match &mut self.format {
            Format::Sniffing => {}
            Format::Sse(parser) => parser.feed(chunk, extractor),
            Format::Object(splitter) => splitter.feed(chunk, &mut Members(extractor)),
            Format::Array(splitter) => splitter.feed(chunk, &mut Elements(extractor)),
        }
    }

    /// The body ended (or was cut): what it said.
    pub(crate) fn finish(&mut self) -> Extracted {
        let extractor = &mut self.extractor;
        let streamed = match &mut self.format {
            Format::Sniffing => self.sse_declared,
            Format::Sse(parser) => {
                parser.finish(extractor);
                self.sse_declared || parser.events() > 0
            }
            Format::Object(splitter) => {
                if splitter.is_closed() {
                    extractor.body_closed();
                }
                false
            }
            Format::Array(splitter) => {
                if splitter.is_closed() {
                    extractor.body_closed();
                }
                true
            }
        };
        let e = &self.extractor;
        Extracted {
            usage: e.usage.capped(),
            model: e.model.clone(),
            upstream_id: e.upstream_id.clone(),
            saw_usage: e.saw_usage,
            complete: e.complete,
            streamed,
            decode_error: None,
        }
    }

    /// Bytes held in buffers (for bounds checks).
    #[cfg(test)]
    pub(crate) fn buffered(&self) -> usize {
        match &self.format {
            Format::Sniffing => 0,
            Format::Sse(parser) => parser.buffered(),
            Format::Object(splitter) | Format::Array(splitter) => splitter.buffered(),
        }
    }
}

/// Decoded bytes arrive here; past the limit the write fails, which stops the decoders.
impl Write for BodyParser {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.decoded = self.decoded.saturating_add(buf.len() as u64);
        if let Some(limit) = self.limit.filter(|&limit| self.decoded > limit) {
            return Err(io::Error::other(format!(
                "decoded body exceeds {} MiB",
                limit >> 20
            )));
        }
        self.feed(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl SseSink for UsageExtractor {
    fn wants(&self, event: &[u8]) -> bool {
        self.wants_event(event)
    }

    fn event(&mut self, event: &[u8], data: &[u8]) {
        self.on_chunk(event, data);
    }
}

/// Top-level members of a single JSON body.
struct Members<'a>(&'a mut UsageExtractor);

impl ChildSink for Members<'_> {
    fn wants_member(&mut self, key: &[u8]) -> bool {
        self.0.wants_member(key)
    }

    fn child(&mut self, json: &[u8]) {
        self.0.on_member(json);
    }
}

/// Elements of a JSON-array stream: each one a chunk.
struct Elements<'a>(&'a mut UsageExtractor);

impl ChildSink for Elements<'_> {
    fn wants_member(&mut self, _key: &[u8]) -> bool {
        false
    }

    fn child(&mut self, json: &[u8]) {
        self.0.on_chunk(b"", json);
    }
}
