//! An incremental Server-Sent Events parser (WHATWG rules) that holds at most one event.

use super::scan::find_eol;
use super::{MAX_EVENT_BYTES, SHRINK_ABOVE};

/// Receives the events an [`SseParser`] completes.
pub(crate) trait SseSink {
    /// Whether the data of an event of this type is worth buffering; `event` is empty while no
    /// `event:` field has come. Refused data is never copied.
    fn wants(&self, event: &[u8]) -> bool;
    /// One complete event: its type (empty if unnamed) and its data lines joined with `\n`.
    fn event(&mut self, event: &[u8], data: &[u8]);
}

/// Longer event types are cut (no type gw cares about is anywhere near this).
const MAX_EVENT_NAME: usize = 128;

/// Splits an SSE byte stream into events whatever the chunking: LF, CRLF or CR line ends, a CRLF
/// split across chunks, `:` comments, an optional space after the colon, multi-line `data:`.
#[derive(Debug)]
pub(crate) struct SseParser {
    /// The start of a line whose end has not arrived.
    line: Vec<u8>,
    /// The current line outgrew the limit and is being dropped.
    line_overflow: bool,
    /// The last chunk ended in CR: an LF opening the next one ends no line.
    after_cr: bool,
    event: Vec<u8>,
    data: Vec<u8>,
    has_data: bool,
    /// The current event's data is not wanted or did not fit: drop it.
    skip_data: bool,
    dispatched: u64,
    max: usize,
}

impl SseParser {
    pub(crate) fn new() -> Self {
        Self::with_limit(MAX_EVENT_BYTES)
    }

    pub(crate) fn with_limit(max: usize) -> Self {
        SseParser {
            line: Vec::new(),
            line_overflow: false,
            after_cr: false,
            event: Vec::new(),
            data: Vec::new(),
            has_data: false,
            skip_data: false,
            dispatched: 0,
            max,
        }
    }

    /// How many events with data were seen, kept or not.
    pub(crate) fn events(&self) -> u64 {
        self.dispatched
    }

    /// Bytes held in buffers (for bounds checks).
    #[cfg(test)]
    pub(crate) fn buffered(&self) -> usize {
        self.line.capacity() + self.data.capacity() + self.event.capacity()
    }

    pub(crate) fn feed(&mut self, mut chunk: &[u8], sink: &mut impl SseSink) {
        if chunk.is_empty() {
            return;
        }
        if std::mem::take(&mut self.after_cr) {
            if let [b'\n', rest @ ..] = chunk {
                chunk = rest;
            }
        }
        while let Some(i) = find_eol(chunk) {
            let (line, cr) = (&chunk[..i], chunk[i] == b'\r');
            chunk = &chunk[i + 1..];
            if cr {
                match chunk {
                    [b'\n', rest @ ..] => chunk = rest,
                    [] => self.after_cr = true,
                    _ => {}
                }
            }
            if self.line.is_empty() && !self.line_overflow {
                self.line(line, sink);
            } else {
                self.push_partial(line);
                let buffered = std::mem::take(&mut self.line);
                if std::mem::take(&mut self.line_overflow) {
                    self.lost_line();
                } else {
                    self.line(&buffered, sink);
                }
                self.line = recycle(buffered);
            }
        }
        self.push_partial(chunk);
    }

    /// The stream ended. Unlike a browser, deliver a last event that lacks its blank line: a cut
    /// payload fails to parse anyway, and a whole one is worth having.
    pub(crate) fn finish(&mut self, sink: &mut impl SseSink) {
        self.after_cr = false;
        let line = std::mem::take(&mut self.line);
        if std::mem::take(&mut self.line_overflow) {
            self.lost_line();
        } else if !line.is_empty() {
            self.line(&line, sink);
        }
        self.line = recycle(line);
        self.dispatch(sink);
    }

    fn push_partial(&mut self, bytes: &[u8]) {
        if self.line_overflow || bytes.is_empty() {
            return;
        }
        if self.line.len() + bytes.len() > self.max {
            self.line_overflow = true;
            self.line = Vec::new();
        } else {
            self.line.extend_from_slice(bytes);
        }
    }

    /// A line too long to hold ended: whatever it was, the event it belonged to is broken.
    fn lost_line(&mut self) {
        self.has_data = true;
        self.skip_data = true;
        self.data.clear();
    }

    fn line(&mut self, line: &[u8], sink: &mut impl SseSink) {
        let Some(&first) = line.first() else {
            return self.dispatch(sink);
        };
        if first == b':' {
            return;
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(i) => {
                let value = &line[i + 1..];
                (&line[..i], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match name {
            b"data" => self.data(value, sink),
            b"event" => {
                self.event.clear();
                self.event
                    .extend_from_slice(&value[..value.len().min(MAX_EVENT_NAME)]);
            }
            _ => {}
        }
    }

    fn data(&mut self, value: &[u8], sink: &impl SseSink) {
        self.has_data = true;
        if self.skip_data {
            return;
        }
        if !sink.wants(&self.event) || self.data.len() + value.len() + 1 > self.max {
            self.skip_data = true;
            self.data.clear();
            return;
        }
        self.data.extend_from_slice(value);
        self.data.push(b'\n');
    }

    fn dispatch(&mut self, sink: &mut impl SseSink) {
        if self.has_data {
            self.dispatched += 1;
            if !self.skip_data {
                let data = self.data.strip_suffix(b"\n").unwrap_or(&self.data);
                sink.event(&self.event, data);
            }
        }
        self.event.clear();
        self.data = recycle(std::mem::take(&mut self.data));
        self.has_data = false;
        self.skip_data = false;
    }
}

/// An emptied buffer, released if one large item made it big.
fn recycle(mut buf: Vec<u8>) -> Vec<u8> {
    if buf.capacity() > SHRINK_ABOVE {
        return Vec::new();
    }
    buf.clear();
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records every event; refuses the data of events named `skip`.
    #[derive(Default)]
    struct Events(Vec<(String, String)>);

    impl SseSink for Events {
        fn wants(&self, event: &[u8]) -> bool {
            event != b"skip"
        }
        fn event(&mut self, event: &[u8], data: &[u8]) {
            self.0.push((
                String::from_utf8_lossy(event).into_owned(),
                String::from_utf8_lossy(data).into_owned(),
            ));
        }
    }

    fn parse_pieces(pieces: &[&[u8]]) -> Vec<(String, String)> {
        let mut parser = SseParser::new();
        let mut sink = Events::default();
        for piece in pieces {
            parser.feed(piece, &mut sink);
        }
        parser.finish(&mut sink);
        sink.0
    }

    fn ev(event: &str, data: &str) -> (String, String) {
        (event.to_owned(), data.to_owned())
    }

    const STREAM: &[u8] = b": hello\n\nevent: a\ndata: 1\n\ndata:2\ndata:  3\n\nevent: skip\ndata: x\n\nid: 7\nretry: 10\ndata\n\ndata: last";

    fn expected() -> Vec<(String, String)> {
        vec![ev("a", "1"), ev("", "2\n 3"), ev("", ""), ev("", "last")]
    }

    #[test]
    fn parses_fields_and_events() {
        assert_eq!(parse_pieces(&[STREAM]), expected());
    }

    #[test]
    fn any_split_and_any_line_end() {
        for ending in ["\n", "\r\n", "\r"] {
            let text = String::from_utf8(STREAM.to_vec())
                .unwrap()
                .replace('\n', ending);
            let bytes = text.as_bytes();
            for at in 0..=bytes.len() {
                let (a, b) = bytes.split_at(at);
                assert_eq!(
                    parse_pieces(&[a, b]),
                    expected(),
                    "{ending:?} split at {at}"
                );
            }
            let singles: Vec<&[u8]> = bytes.chunks(1).collect();
            assert_eq!(
                parse_pieces(&singles),
                expected(),
                "{ending:?} byte by byte"
            );
        }
    }

    #[test]
    fn crlf_split_between_chunks_is_one_line_end() {
        let got = parse_pieces(&[b"data: 1\r", b"\n", b"\r", b"\ndata: 2\r", b"\r"]);
        assert_eq!(got, vec![ev("", "1"), ev("", "2")]);
    }

    #[test]
    fn oversized_lines_and_events_are_dropped_within_bounds() {
        let mut parser = SseParser::with_limit(1000);
        let mut sink = Events::default();
        parser.feed(b"data: ", &mut sink);
        for _ in 0..100 {
            parser.feed(&[b'x'; 100], &mut sink);
            assert!(parser.buffered() <= 2100);
        }
        parser.feed(b"\n\ndata: ok\n\n", &mut sink);
        // Many lines that together exceed the limit.
        for _ in 0..30 {
            parser.feed(
                b"data: 0123456789012345678901234567890123456789\n",
                &mut sink,
            );
        }
        parser.feed(b"\ndata: fine\n\n", &mut sink);
        parser.finish(&mut sink);
        assert_eq!(sink.0, vec![ev("", "ok"), ev("", "fine")]);
        assert_eq!(parser.events(), 4);
    }
}
