//! A decoded response body: tells SSE, a single JSON value and a JSON-array stream apart and feeds
//! their payloads to the usage extractor.

use std::io::{self, Write};

use super::extracted::Extracted;
use super::extractor::UsageExtractor;
use super::json_split::{ChildSink, JsonSplitter};
use super::scan::{contains_ignoring_ascii_case, is_leading_filler};
use super::sse::{SseParser, SseSink};
use super::{Protocol, MAX_EVENT_BYTES};

/// The longest first piece of a single JSON body read whole at once ([`BodyParser::feed`]).
const WHOLE_AT_ONCE: usize = 64 << 10;

/// What the body turned out to be, from its first non-blank byte.
#[derive(Debug)]
enum Format {
    /// Nothing but whitespace so far.
    Sniffing,
    Sse(SseParser),
    /// A single JSON object: only the wanted top-level members are kept.
    Object(JsonSplitter),
    /// A single JSON object that came whole in its first piece and was read at once; what
    /// follows it is ignored, as a closed [`JsonSplitter`] ignores it.
    Whole,
    /// A JSON array stream: each element is a chunk.
    Array(JsonSplitter),
    /// AWS's binary event stream (Bedrock, declared by its content type), each `chunk`
    /// event's payload a base64 provider event.
    EventStream(EventStream),
}

/// The sink at the end of the decoder chain. The first non-blank byte decides the format (`[` an
/// array stream, `{` one JSON value, anything else SSE): mocks and gateways mislabel
/// `Content-Type`, so it only tells whether an empty or odd body was meant to stream.
#[derive(Debug)]
pub(crate) struct BodyParser {
    extractor: UsageExtractor,
    format: Format,
    sse_declared: bool,
    event_stream: bool,
    decoded: u64,
    /// Most decoded bytes accepted (set when the body is compressed).
    limit: Option<u64>,
}

impl BodyParser {
    pub(crate) fn new(protocol: Protocol, content_type: Option<&str>) -> Self {
        let declares = |kind: &str| {
            content_type.is_some_and(|ct| contains_ignoring_ascii_case(ct.as_bytes(), kind))
        };
        let sse_declared = declares("text/event-stream");
        let event_stream = declares("application/vnd.amazon.eventstream");
        BodyParser {
            extractor: UsageExtractor::new(protocol),
            format: if event_stream {
                Format::EventStream(EventStream::default())
            } else {
                Format::Sniffing
            },
            sse_declared,
            event_stream,
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
                b'{' if self.whole_at_once(chunk) => Format::Whole,
                b'{' => Format::Object(JsonSplitter::new(MAX_EVENT_BYTES)),
                _ => Format::Sse(SseParser::new()),
            };
        }
        let extractor = &mut self.extractor;
        match &mut self.format {
            Format::Sniffing | Format::Whole => {}
            Format::Sse(parser) => parser.feed(chunk, extractor),
            Format::Object(splitter) => splitter.feed(chunk, &mut Members(extractor)),
            Format::Array(splitter) => splitter.feed(chunk, &mut Elements(extractor)),
            Format::EventStream(stream) => stream.feed(chunk, extractor),
        }
    }

    /// Reads a single JSON body whose first piece holds all of it in one parse, instead of
    /// splitting it into members and parsing each: half the instructions of metering a short
    /// answer (callgrind, `GW_BENCH_CALLGRIND`). Whether it did. Only a short piece (a longer
    /// one may well be cut, and would be parsed twice) that ends with the object's `}`. Keys
    /// are compared as sent on both paths (`wire::AsSent`), so the two read every body alike.
    fn whole_at_once(&mut self, chunk: &[u8]) -> bool {
        chunk.len() <= WHOLE_AT_ONCE
            && chunk.trim_ascii_end().ends_with(b"}")
            && self.extractor.on_whole_body(chunk)
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
            Format::Whole => {
                extractor.body_closed();
                false
            }
            Format::Array(splitter) => {
                if splitter.is_closed() {
                    extractor.body_closed();
                }
                true
            }
            Format::EventStream(_) => self.event_stream,
        };
        let mut usage = self.extractor.usage;
        let stream_error = match &self.format {
            Format::EventStream(stream) => stream.error.clone().or_else(|| {
                let metrics = stream.metrics.as_ref()?;
                metrics.apply(&mut usage)
            }),
            _ => None,
        };
        let e = &self.extractor;
        Extracted {
            usage: usage.capped(),
            model: e.model.clone(),
            upstream_id: e.upstream_id.clone(),
            saw_usage: e.saw_usage,
            complete: e.complete,
            streamed,
            decode_error: stream_error,
        }
    }

    /// Bytes held in buffers (for bounds checks).
    #[cfg(test)]
    pub(crate) fn buffered(&self) -> usize {
        match &self.format {
            Format::Sniffing | Format::Whole => 0,
            Format::Sse(parser) => parser.buffered(),
            Format::Object(splitter) | Format::Array(splitter) => splitter.buffered(),
            Format::EventStream(stream) => stream.buffer.len(),
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

/// AWS's event stream as Bedrock sends it: binary messages (length-prefixed, CRC-checked,
/// split anywhere across frames), each `chunk` event's payload `{"bytes": "<base64 of one
/// provider event JSON>"}`. A message longer than [`MAX_EVENT_BYTES`], a bad CRC or an
/// exception event stops the metering with the reason; the client still gets every byte.
#[derive(Debug, Default)]
struct EventStream {
    decoder: aws_smithy_eventstream::frame::MessageFrameDecoder,
    buffer: bytes::BytesMut,
    /// The current message's declared length was checked (the decoder consumes its prelude
    /// while it waits for the rest, so it is read once, at the message's start).
    length_checked: bool,
    error: Option<String>,
    /// What Bedrock itself counted, in the last chunk.
    metrics: Option<InvocationMetrics>,
}

/// `amazon-bedrock-invocationMetrics`, which Bedrock adds to a stream's last chunk: the counts
/// AWS bills. Cache counts come only from models that cache.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct InvocationMetrics {
    input_token_count: u64,
    output_token_count: u64,
    cache_read_input_token_count: Option<u64>,
    cache_write_input_token_count: Option<u64>,
}

impl InvocationMetrics {
    /// Cross-checks `usage` (what the model's events said) with what Bedrock counted: where
    /// they differ, Bedrock's counts replace them (they are what AWS bills), and the reason says
    /// so. A cache write keeps its 1-hour share; the rest is taken as 5-minute.
    fn apply(&self, usage: &mut super::Usage) -> Option<String> {
        let ours = *usage;
        usage.input = self.input_token_count;
        usage.output = self.output_token_count;
        if let Some(read) = self.cache_read_input_token_count {
            usage.cache_read = read;
        }
        if let Some(write) = self.cache_write_input_token_count {
            if write != usage.cache_write_5m + usage.cache_write_1h {
                usage.cache_write_1h = usage.cache_write_1h.min(write);
                usage.cache_write_5m = write - usage.cache_write_1h;
            }
        }
        (ours != *usage).then(|| {
            format!(
                "the model's usage (input {}, output {}, cache read {}, cache write {}) differs from Bedrock's invocation metrics (input {}, output {}, cache read {}, cache write {}): charged Bedrock's",
                ours.input,
                ours.output,
                ours.cache_read,
                ours.cache_write_5m + ours.cache_write_1h,
                usage.input,
                usage.output,
                usage.cache_read,
                usage.cache_write_5m + usage.cache_write_1h,
            )
        })
    }
}

impl EventStream {
    fn feed(&mut self, chunk: &[u8], extractor: &mut UsageExtractor) {
        use aws_smithy_eventstream::frame::DecodedFrame;
        if self.error.is_some() {
            return;
        }
        self.buffer.extend_from_slice(chunk);
        loop {
            // The decoder buffers a whole message before it checks anything: bound it first.
            if !self.length_checked && self.buffer.len() >= 4 {
                self.length_checked = true;
                let total = u32::from_be_bytes([
                    self.buffer[0],
                    self.buffer[1],
                    self.buffer[2],
                    self.buffer[3],
                ]) as usize;
                if total > MAX_EVENT_BYTES {
                    self.stop(format!("an event-stream message of {total} bytes"));
                    return;
                }
            }
            match self.decoder.decode_frame(&mut self.buffer) {
                Ok(DecodedFrame::Incomplete) => return,
                Ok(DecodedFrame::Complete(message)) => {
                    self.length_checked = false;
                    self.message(&message, extractor)
                }
                Err(e) => {
                    self.stop(format!("event stream: {e}"));
                    return;
                }
            }
            if self.error.is_some() {
                return;
            }
        }
    }

    fn message(
        &mut self,
        message: &aws_smithy_types::event_stream::Message,
        extractor: &mut UsageExtractor,
    ) {
        let header = |name: &str| {
            message
                .headers()
                .iter()
                .find(|h| h.name().as_str() == name)
                .and_then(|h| h.value().as_string().ok())
                .map(|s| s.as_str().to_owned())
        };
        match header(":message-type").as_deref() {
            Some("event") => {}
            Some("exception") | Some("error") => {
                let kind = header(":exception-type")
                    .or_else(|| header(":error-code"))
                    .unwrap_or_default();
                self.stop(format!("the upstream's stream ended with {kind}"));
                return;
            }
            _ => return,
        }
        let event_type = header(":event-type").unwrap_or_default();
        if event_type != "chunk" {
            // Converse's events carry their JSON as is, named by their type.
            extractor.on_chunk(event_type.as_bytes(), message.payload());
            return;
        }
        #[derive(serde::Deserialize)]
        struct Chunk {
            bytes: String,
        }
        use base64::Engine;
        let event = serde_json::from_slice::<Chunk>(message.payload())
            .ok()
            .and_then(|c| {
                base64::engine::general_purpose::STANDARD
                    .decode(c.bytes)
                    .ok()
            });
        match event {
            Some(json) => {
                extractor.on_chunk(b"", &json);
                const METRICS: &[u8] = b"\"amazon-bedrock-invocationMetrics\"";
                if memchr::memmem::find(&json, METRICS).is_some() {
                    // Only a top-level member counts (text that quotes the name is escaped).
                    #[derive(serde::Deserialize)]
                    struct Last {
                        #[serde(rename = "amazon-bedrock-invocationMetrics")]
                        metrics: InvocationMetrics,
                    }
                    if let Ok(last) = serde_json::from_slice::<Last>(&json) {
                        self.metrics = Some(last.metrics);
                    }
                }
            }
            None => self.stop("an event-stream chunk without base64 `bytes`".into()),
        }
    }

    fn stop(&mut self, reason: String) {
        self.error = Some(format!("{reason}; metering stopped"));
        self.buffer.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parser_after(protocol: Protocol, pieces: &[&[u8]]) -> BodyParser {
        let mut parser = BodyParser::new(protocol, Some("application/json"));
        for piece in pieces {
            parser.feed(piece);
        }
        parser
    }

    fn format_after(piece: &[u8]) -> Format {
        parser_after(Protocol::AnthropicMessages, &[piece]).format
    }

    #[test]
    fn a_short_body_whole_in_its_first_piece_is_read_at_once() {
        let body =
            br#" {"id":"msg_1","model":"m","content":[{"text":"hi"}],"usage":{"input_tokens":3}}"#;
        assert!(matches!(format_after(body), Format::Whole));
        // Escapes in its text (most answers have some) or in a key: still whole, and the
        // escaped key is not usage (the member path never takes it either).
        let escaped: &[u8] =
            br#"{"id":"msg_1","content":[{"text":"a\nb \"q\""}],"us\u0061ge":{"input_tokens":3}}"#;
        let mut parser = parser_after(Protocol::AnthropicMessages, &[escaped]);
        assert!(matches!(parser.format, Format::Whole));
        assert!(!parser.finish().saw_usage);
        // Beside its plain twin, an escaped key is no repeated member: still whole.
        let twins: &[u8] = br#"{"\u0069d":"msg_x","id":"msg_1","usage":{"input_tokens":4}}"#;
        let mut parser = parser_after(Protocol::AnthropicMessages, &[twins]);
        assert!(matches!(parser.format, Format::Whole));
        assert_eq!(parser.finish().upstream_id.as_deref(), Some("msg_1"));
        // Cut, or longer than a first piece read at once: member by member.
        assert!(matches!(format_after(&body[..40]), Format::Object(_)));
        let long = format!(r#"{{"id":"msg_1","text":"{}"}}"#, "x".repeat(WHOLE_AT_ONCE));
        assert!(matches!(format_after(long.as_bytes()), Format::Object(_)));
        // After a byte-order mark and blanks, with a line end after it: still whole. What
        // follows the object in later pieces is ignored, as a closed splitter ignores it.
        let mut framed = b"\xEF\xBB\xBF \n".to_vec();
        framed.extend_from_slice(body);
        framed.extend_from_slice(b"\r\n");
        let later: &[u8] = br#"{"usage":{"input_tokens":99}}"#;
        let mut parser = parser_after(Protocol::AnthropicMessages, &[&framed, later]);
        assert!(matches!(parser.format, Format::Whole));
        let read = parser.finish();
        assert_eq!((read.usage.input, read.complete), (3, true));
        // Chat's `choices` must be an array for the whole parse; else member by member.
        let chat: &[u8] = br#"{"id":"c","model":"gpt-5","choices":5,"usage":{"prompt_tokens":3}}"#;
        let parser = parser_after(Protocol::OpenAiChat, &[chat]);
        assert!(matches!(parser.format, Format::Object(_)));
        // Gemini's body type reads more than its wanted members: never whole.
        let gemini: &[u8] = br#"{"usageMetadata":{"promptTokenCount":3},"modelVersion":"g"}"#;
        let parser = parser_after(Protocol::Gemini, &[gemini]);
        assert!(matches!(parser.format, Format::Object(_)));
    }
}
