//! Splits the top level of a JSON document into its children as bytes arrive.

use super::scan::{is_json_space, is_leading_filler};
use super::SHRINK_ABOVE;

/// Receives the children a [`JsonSplitter`] completes.
pub(crate) trait ChildSink {
    /// Whether the value of the top-level object member `key` (raw, still escaped) is wanted.
    /// Unwanted values are scanned past without being copied.
    fn wants_member(&mut self, key: &[u8]) -> bool;
    /// One complete child: an array element, or a wanted object member as `{"key":value}`.
    fn child(&mut self, json: &[u8]);
}

/// Longer keys are never wanted (no key gw looks for is anywhere near this).
const MAX_KEY: usize = 256;

/// What the child buffer starts with: room for the members gw reads (a usage object is about
/// 250 bytes), so it is not regrown byte range by byte range on every request.
const FIRST_CAPACITY: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the document's first byte.
    Start,
    /// Inside the top-level container, between children.
    BeforeChild,
    /// Inside an object member's key.
    Key,
    /// After a key, before its colon.
    AfterKey,
    /// After a colon, before the value.
    BeforeValue,
    Value,
    /// The top-level container closed; anything after it is ignored.
    Closed,
    /// Not an array or object: nothing to split.
    Invalid,
}

/// Hands over the elements of a top-level JSON array (a Gemini stream without `alt=sse`), or the
/// wanted members of a top-level object (a non-streamed body), each as soon as it closes. Holds at
/// most one child, up to a limit; a larger one is skipped. Tracks strings, escapes and nesting
/// itself and validates nothing else: each child is parsed by the sink.
#[derive(Debug)]
pub(crate) struct JsonSplitter {
    state: State,
    object: bool,
    /// The child being captured; for a member it starts with `{"key":`.
    buf: Vec<u8>,
    capture: bool,
    /// Whether the value about to start is captured (decided at its key).
    capture_next: bool,
    key_overflow: bool,
    max: usize,
    depth: u32,
    in_string: bool,
    escape: bool,
}

impl JsonSplitter {
    /// `max_child`: the largest child held, in bytes.
    pub(crate) fn new(max_child: usize) -> Self {
        JsonSplitter {
            state: State::Start,
            object: false,
            buf: Vec::new(),
            capture: false,
            capture_next: false,
            key_overflow: false,
            max: max_child,
            depth: 0,
            in_string: false,
            escape: false,
        }
    }

    /// Whether the top-level array or object has closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Bytes held in buffers (for bounds checks).
    #[cfg(test)]
    pub(crate) fn buffered(&self) -> usize {
        self.buf.capacity()
    }

    pub(crate) fn feed(&mut self, mut input: &[u8], sink: &mut impl ChildSink) {
        while let Some((&b, rest)) = input.split_first() {
            match self.state {
                State::Closed | State::Invalid => return,
                State::Start => {
                    input = rest;
                    match b {
                        b'[' | b'{' => {
                            self.object = b == b'{';
                            self.state = State::BeforeChild;
                        }
                        _ if is_leading_filler(b) => {}
                        _ => self.state = State::Invalid,
                    }
                }
                State::BeforeChild => {
                    if is_json_space(b) || b == b',' {
                        input = rest;
                    } else if b == if self.object { b'}' } else { b']' } {
                        self.state = State::Closed;
                        self.buf = Vec::new();
                        return;
                    } else if b == b'}' || b == b']' {
                        // A mismatched closer: a value would end before it began.
                        self.state = State::Invalid;
                    } else if !self.object {
                        self.begin_value(true);
                    } else if b == b'"' {
                        input = rest;
                        self.buf.clear();
                        self.buf.reserve(FIRST_CAPACITY);
                        self.buf.extend_from_slice(b"{\"");
                        self.key_overflow = false;
                        self.escape = false;
                        self.state = State::Key;
                    } else {
                        self.state = State::Invalid;
                    }
                }
                State::Key => {
                    let used = self.key(input);
                    input = &input[used..];
                }
                State::AfterKey => {
                    input = rest;
                    if b == b':' {
                        self.capture_next = !self.key_overflow && sink.wants_member(&self.buf[2..]);
                        if self.capture_next {
                            self.buf.extend_from_slice(b"\":");
                        }
                        self.state = State::BeforeValue;
                    } else if !is_json_space(b) {
                        self.state = State::Invalid;
                    }
                }
                State::BeforeValue => {
                    if is_json_space(b) {
                        input = rest;
                    } else if matches!(b, b'}' | b']' | b',') {
                        self.state = State::Invalid;
                    } else {
                        self.begin_value(self.capture_next);
                    }
                }
                State::Value => {
                    let used = self.value(input, sink);
                    input = &input[used..];
                }
            }
        }
    }

    /// Scans key bytes up to the closing quote; returns how many were used.
    fn key(&mut self, input: &[u8]) -> usize {
        let mut i = 0;
        while i < input.len() {
            if self.escape {
                self.escape = false;
                i += 1;
                continue;
            }
            match memchr::memchr2(b'"', b'\\', &input[i..]) {
                None => i = input.len(),
                Some(p) if input[i + p] == b'\\' => {
                    self.escape = true;
                    i += p + 1;
                }
                Some(p) => {
                    self.push_key(&input[..i + p]);
                    self.state = State::AfterKey;
                    return i + p + 1;
                }
            }
        }
        self.push_key(input);
        input.len()
    }

    fn push_key(&mut self, bytes: &[u8]) {
        if self.key_overflow {
            return;
        }
        if self.buf.len() + bytes.len() > 2 + MAX_KEY {
            self.key_overflow = true;
        } else {
            self.buf.extend_from_slice(bytes);
        }
    }

    fn begin_value(&mut self, capture: bool) {
        if !capture || !self.object {
            self.buf.clear();
        }
        if capture {
            // Room for the whole member, key included (`reserve` counts from the length).
            self.buf
                .reserve(FIRST_CAPACITY.saturating_sub(self.buf.len()));
        }
        self.capture = capture;
        self.depth = 0;
        self.in_string = false;
        self.escape = false;
        self.state = State::Value;
    }

    /// Scans value bytes up to the value's end; returns how many were used.
    fn value(&mut self, input: &[u8], sink: &mut impl ChildSink) -> usize {
        let mut i = 0;
        while i < input.len() {
            if self.in_string {
                if self.escape {
                    self.escape = false;
                    i += 1;
                    continue;
                }
                match memchr::memchr2(b'"', b'\\', &input[i..]) {
                    None => i = input.len(),
                    Some(p) => {
                        i += p + 1;
                        if input[i - 1] == b'\\' {
                            self.escape = true;
                        } else {
                            self.in_string = false;
                            if self.depth == 0 {
                                return self.end_value(&input[..i], sink);
                            }
                        }
                    }
                }
                continue;
            }
            match input[i] {
                b'"' => {
                    self.in_string = true;
                    i += 1;
                }
                b'{' | b'[' => {
                    self.depth = self.depth.saturating_add(1);
                    i += 1;
                }
                b'}' | b']' => {
                    // At depth 0 this closes the top level and ends a scalar: not ours to use.
                    if self.depth == 0 {
                        return self.end_value(&input[..i], sink);
                    }
                    self.depth -= 1;
                    i += 1;
                    if self.depth == 0 {
                        return self.end_value(&input[..i], sink);
                    }
                }
                b if self.depth == 0 && (b == b',' || is_json_space(b)) => {
                    return self.end_value(&input[..i], sink);
                }
                _ => i += 1,
            }
        }
        self.keep(input);
        input.len()
    }

    fn keep(&mut self, bytes: &[u8]) {
        if !self.capture {
            return;
        }
        if self.buf.len() + bytes.len() > self.max {
            self.capture = false;
            self.buf = Vec::new();
        } else {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// The value ends with `tail`; hands the child over. Returns `tail.len()`.
    fn end_value(&mut self, tail: &[u8], sink: &mut impl ChildSink) -> usize {
        self.keep(tail);
        if self.capture {
            if self.object {
                self.buf.push(b'}');
            }
            sink.child(&self.buf);
        }
        self.capture = false;
        if self.buf.capacity() > SHRINK_ABOVE {
            self.buf = Vec::new();
        }
        self.buf.clear();
        self.state = State::BeforeChild;
        tail.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wants the members named in `keys`; records every child.
    struct Children {
        keys: Vec<&'static str>,
        got: Vec<String>,
    }

    impl ChildSink for Children {
        fn wants_member(&mut self, key: &[u8]) -> bool {
            self.keys.iter().any(|k| k.as_bytes() == key)
        }
        fn child(&mut self, json: &[u8]) {
            self.got.push(String::from_utf8_lossy(json).into_owned());
        }
    }

    fn split(doc: &[u8], keys: &[&'static str], max: usize) -> (Vec<String>, bool) {
        let mut every = None;
        // Whole, every two-piece split and byte by byte must agree.
        let mut runs: Vec<Vec<&[u8]>> = vec![vec![doc], doc.chunks(1).collect()];
        for at in 0..=doc.len() {
            let (a, b) = doc.split_at(at);
            runs.push(vec![a, b]);
        }
        for pieces in runs {
            let mut splitter = JsonSplitter::new(max);
            let mut sink = Children {
                keys: keys.to_vec(),
                got: Vec::new(),
            };
            for piece in &pieces {
                splitter.feed(piece, &mut sink);
            }
            let result = (sink.got, splitter.is_closed());
            match &every {
                None => every = Some(result),
                Some(first) => assert_eq!(first, &result, "{pieces:?}"),
            }
        }
        every.unwrap()
    }

    #[test]
    fn splits_array_elements() {
        let doc = br#" [{"a": [1, "x]\"}"]}, 2 ,"s\\" , true,null,{}]  trailing"#;
        let (got, closed) = split(doc, &[], 1 << 20);
        assert_eq!(
            got,
            [
                r#"{"a": [1, "x]\"}"]}"#,
                "2",
                r#""s\\""#,
                "true",
                "null",
                "{}"
            ]
        );
        assert!(closed);
    }

    #[test]
    fn captures_wanted_members_only() {
        let doc = br#"{"id":"x","content":[{"text":"\"usage\": {}"}],"us\"age":1, "usage" : {"n": 1} ,"model":"m"}"#;
        let (got, closed) = split(doc, &["usage", "model", "us\\\"age"], 1 << 20);
        assert_eq!(
            got,
            [
                r#"{"us\"age":1}"#,
                r#"{"usage":{"n": 1}}"#,
                r#"{"model":"m"}"#
            ]
        );
        assert!(closed);
        for json in &got {
            serde_json::from_str::<serde_json::Value>(json).unwrap();
        }
    }

    #[test]
    fn oversized_children_are_skipped() {
        let doc = br#"[{"big":"0123456789012345678901234567890123456789"},{"small":1}]"#;
        let (got, closed) = split(doc, &[], 30);
        assert_eq!(got, [r#"{"small":1}"#]);
        assert!(closed);
    }

    #[test]
    fn cut_and_invalid_documents() {
        let (got, closed) = split(br#"[{"a":1},{"b":"#, &[], 100);
        assert_eq!(got, [r#"{"a":1}"#]);
        assert!(!closed);
        for doc in [
            &b"garbage"[..],
            b"\"str\"",
            b"12",
            b"{1:2}",
            b"{\"a\" 1}",
            b"",
            b"[}",
            b"{\"a\":}",
            b"{\"a\":,",
            b"{\"a\":]",
        ] {
            let (got, closed) = split(doc, &["a"], 100);
            assert!(got.is_empty() && !closed, "{doc:?}");
        }
        let (got, closed) = split(b"[1,}]", &[], 100);
        assert_eq!((got, closed), (vec!["1".to_owned()], false));
    }
}
