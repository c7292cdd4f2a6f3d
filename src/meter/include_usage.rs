//! Asking OpenAI Chat streams for usage the client did not ask for, and hiding the extra chunk.

use bytes::Bytes;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::scan::{contains, find_eol, has_usage_value};
use super::wire::ChatChunk;
use super::{MAX_EVENT_BYTES, SHRINK_ABOVE};

/// If `request_body` is a JSON object with `"stream": true` and without
/// `stream_options.include_usage == true`, the body with `stream_options.include_usage = true`
/// (other `stream_options` fields kept). Otherwise `None`.
///
/// When the body has no `stream_options` the member is spliced in after the opening brace and
/// every other byte is kept; otherwise the body is re-serialised (keys may be reordered).
pub fn inject_include_usage(request_body: &[u8]) -> Option<Vec<u8>> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(default)]
        stream: Option<Value>,
        /// `None` when absent, `Some(Value::Null)` for an explicit `null`.
        #[serde(default, deserialize_with = "present")]
        stream_options: Option<Value>,
    }

    fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
        Value::deserialize(d).map(Some)
    }

    let open = request_body
        .iter()
        .position(|&b| !b.is_ascii_whitespace())?;
    if request_body[open] != b'{' {
        return None;
    }
    let probe: Probe = serde_json::from_slice(request_body).ok()?;
    if probe.stream != Some(Value::Bool(true)) {
        return None;
    }
    match probe.stream_options {
        None => {
            const MEMBER: &[u8] = br#""stream_options":{"include_usage":true},"#;
            let mut body = Vec::with_capacity(request_body.len() + MEMBER.len());
            body.extend_from_slice(&request_body[..=open]);
            body.extend_from_slice(MEMBER);
            body.extend_from_slice(&request_body[open + 1..]);
            Some(body)
        }
        Some(Value::Object(options))
            if options.get("include_usage") == Some(&Value::Bool(true)) =>
        {
            None
        }
        Some(_) => {
            let mut body: Map<String, Value> = serde_json::from_slice(request_body).ok()?;
            let options = body
                .entry("stream_options")
                .or_insert_with(|| Value::Object(Map::new()));
            if !options.is_object() {
                *options = Value::Object(Map::new());
            }
            if let Value::Object(options) = options {
                options.insert("include_usage".to_owned(), Value::Bool(true));
            }
            serde_json::to_vec(&body).ok()
        }
    }
}

/// What the previous chunk's final CR ended, so an LF opening the next chunk joins it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum AfterCr {
    #[default]
    No,
    /// A line inside the current event.
    InEvent,
    /// An event that was forwarded.
    Forwarded,
    /// The usage chunk, which was dropped.
    Dropped,
}

/// Removes the usage-only chunk (a `data:` event whose JSON has an empty `choices` array and a
/// non-null `usage`) from an uncompressed Chat SSE stream, for clients that did not ask for it.
/// Every other byte is forwarded unchanged, each event as soon as it is complete.
#[derive(Debug, Default)]
pub struct ChatUsageChunkFilter {
    /// The raw bytes of the current, incomplete event.
    event: Vec<u8>,
    /// Length of the current line so far (without its end).
    line_len: usize,
    after_cr: AfterCr,
    /// The current event outgrew the limit: forwarded as it comes, uninspected.
    passthrough: bool,
}

impl ChatUsageChunkFilter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the next response bytes; returns the bytes ready to forward.
    pub fn push(&mut self, chunk: &[u8]) -> Bytes {
        let mut out = Vec::new();
        let mut rest = chunk;
        if let [b'\n', tail @ ..] = rest {
            match std::mem::take(&mut self.after_cr) {
                AfterCr::No => {}
                AfterCr::InEvent => {
                    self.append(b"\n", &mut out);
                    rest = tail;
                }
                AfterCr::Forwarded => {
                    out.push(b'\n');
                    rest = tail;
                }
                AfterCr::Dropped => rest = tail,
            }
        } else if !rest.is_empty() {
            self.after_cr = AfterCr::No;
        }
        while let Some(i) = find_eol(rest) {
            let mut end = i + 1;
            let mut open_cr = false;
            if rest[i] == b'\r' {
                match rest.get(end) {
                    Some(b'\n') => end += 1,
                    None => open_cr = true,
                    Some(_) => {}
                }
            }
            let blank = i == 0 && self.line_len == 0;
            self.append(&rest[..end], &mut out);
            rest = &rest[end..];
            self.line_len = 0;
            if blank {
                let kept = self.end_event(&mut out);
                if open_cr {
                    self.after_cr = if kept {
                        AfterCr::Forwarded
                    } else {
                        AfterCr::Dropped
                    };
                }
            } else if open_cr {
                self.after_cr = AfterCr::InEvent;
            }
        }
        self.line_len += rest.len();
        self.append(rest, &mut out);
        Bytes::from(out)
    }

    /// The stream ended: any trailing partial event, forwarded as is.
    pub fn finish(&mut self) -> Bytes {
        self.line_len = 0;
        self.passthrough = false;
        self.after_cr = AfterCr::No;
        Bytes::from(std::mem::take(&mut self.event))
    }

    fn append(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        if self.passthrough {
            out.extend_from_slice(bytes);
        } else if self.event.len() + bytes.len() > MAX_EVENT_BYTES {
            self.passthrough = true;
            out.append(&mut self.event);
            out.extend_from_slice(bytes);
        } else {
            self.event.extend_from_slice(bytes);
        }
    }

    /// The current event is complete: forward it unless it is the usage chunk. Returns whether it
    /// was forwarded.
    fn end_event(&mut self, out: &mut Vec<u8>) -> bool {
        if std::mem::take(&mut self.passthrough) {
            return true;
        }
        let keep = !is_usage_chunk(&self.event);
        if keep {
            out.extend_from_slice(&self.event);
        }
        if self.event.capacity() > SHRINK_ABOVE {
            self.event = Vec::new();
        }
        self.event.clear();
        keep
    }
}

/// Whether the raw SSE event is the usage-only chunk.
fn is_usage_chunk(event: &[u8]) -> bool {
    // Every other chunk of such a stream has `"usage": null`: don't parse those.
    if !has_usage_value(event) || !contains(event, b"\"choices\"") {
        return false;
    }
    let mut data = Vec::new();
    let mut has_data = false;
    let mut rest = event;
    while !rest.is_empty() {
        let (line, next) = match find_eol(rest) {
            Some(i) => {
                let skip = if rest[i] == b'\r' && rest.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                (&rest[..i], &rest[i + skip..])
            }
            None => (rest, &[][..]),
        };
        rest = next;
        let value = match line.strip_prefix(b"data") {
            Some([]) => &[][..],
            Some([b':', value @ ..]) => value.strip_prefix(b" ").unwrap_or(value),
            _ => continue,
        };
        if has_data {
            data.push(b'\n');
        }
        data.extend_from_slice(value);
        has_data = true;
    }
    serde_json::from_slice::<ChatChunk>(&data).is_ok_and(|chunk| chunk.is_usage_only())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meter::fixtures::{with_line_ending, Noise, CHAT_SSE};

    fn inject(body: &str) -> Option<Value> {
        let out = inject_include_usage(body.as_bytes())?;
        Some(serde_json::from_slice(&out).expect("valid JSON"))
    }

    #[test]
    fn injects_when_streaming_without_usage() {
        let body =
            r#"  {"model":"gpt-4.1", "stream": true,"messages":[{"role":"user","content":"hi"}]}"#;
        let out = inject_include_usage(body.as_bytes()).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"  {"stream_options":{"include_usage":true},"model":"gpt-4.1", "stream": true,"messages":[{"role":"user","content":"hi"}]}"#
        );

        let v =
            inject(r#"{"stream":true,"stream_options":{"include_obfuscation":false}}"#).unwrap();
        assert_eq!(
            v["stream_options"],
            serde_json::json!({"include_obfuscation": false, "include_usage": true})
        );

        let v =
            inject(r#"{"stream":true,"stream_options":{"include_usage":false},"n":1.5}"#).unwrap();
        assert_eq!(v["stream_options"]["include_usage"], true);
        assert_eq!(v["n"], 1.5);

        for options in ["null", "5", "[]"] {
            let v = inject(&format!(r#"{{"stream":true,"stream_options":{options}}}"#)).unwrap();
            assert_eq!(
                v["stream_options"],
                serde_json::json!({"include_usage": true}),
                "{options}"
            );
        }
    }

    #[test]
    fn leaves_other_bodies_alone() {
        for body in [
            r#"{"stream":true,"stream_options":{"include_usage":true}}"#,
            r#"{"stream":false}"#,
            r#"{"stream":"true"}"#,
            r#"{"model":"x"}"#,
            r#"[{"stream":true}]"#,
            r#"{"stream":true"#,
            "",
            "garbage",
            "\u{feff}{\"stream\":true}",
        ] {
            assert_eq!(inject_include_usage(body.as_bytes()), None, "{body}");
        }
    }

    /// The chat fixture with its usage chunk cut out.
    fn without_usage_chunk(stream: &[u8], event_end: &str) -> Vec<u8> {
        let text = std::str::from_utf8(stream).unwrap();
        let at = text.find("\"choices\": []").unwrap();
        let start = text[..at].rfind("data:").unwrap();
        let end = at + text[at..].find(event_end).unwrap() + event_end.len();
        [&text[..start], &text[end..]].concat().into_bytes()
    }

    fn filter<'a>(pieces: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
        let mut f = ChatUsageChunkFilter::new();
        let mut out = Vec::new();
        for piece in pieces {
            out.extend_from_slice(&f.push(piece));
        }
        out.extend_from_slice(&f.finish());
        out
    }

    #[test]
    fn drops_exactly_the_usage_chunk_at_any_split() {
        for ending in ["\n", "\r\n", "\r"] {
            let stream = with_line_ending(CHAT_SSE, ending);
            let want = without_usage_chunk(&stream, &ending.repeat(2));
            assert_eq!(filter([&stream[..]]), want, "{ending:?}");
            for at in 0..=stream.len() {
                let (a, b) = stream.split_at(at);
                assert_eq!(filter([a, b]), want, "{ending:?} split at {at}");
            }
            assert_eq!(filter(stream.chunks(1)), want, "{ending:?} byte by byte");
        }
    }

    #[test]
    fn forwards_each_event_once_complete() {
        let mut f = ChatUsageChunkFilter::new();
        assert_eq!(&f.push(b"data: {\"choices\":[{\"delta\":{}}]}\n")[..], b"");
        assert_eq!(
            &f.push(b"\ndata: [DO")[..],
            b"data: {\"choices\":[{\"delta\":{}}]}\n\n"
        );
        assert_eq!(&f.push(b"NE]\n\n")[..], b"data: [DONE]\n\n");
        assert_eq!(&f.push(b": ping\n\n")[..], b": ping\n\n");
        assert_eq!(&f.push(b"data: partial")[..], b"");
        assert_eq!(&f.finish()[..], b"data: partial");
    }

    #[test]
    fn keeps_everything_that_is_not_the_usage_chunk() {
        let stream: &[u8] = b"data: {\"choices\":[],\"usage\":null}\n\n\
            data: {\"choices\":[{\"index\":0}],\"usage\":{\"prompt_tokens\":1}}\n\n\
            data: {\"usage\":{\"prompt_tokens\":1}}\n\n\
            event: x\ndata: not json \"usage\" \"choices\"\n\n\
            data: {\"choices\":[],\n\
            data: \"usage\":{\"prompt_tokens\":1}}\n\n\
            data: [DONE]\n\n";
        let want: &[u8] = b"data: {\"choices\":[],\"usage\":null}\n\n\
            data: {\"choices\":[{\"index\":0}],\"usage\":{\"prompt_tokens\":1}}\n\n\
            data: {\"usage\":{\"prompt_tokens\":1}}\n\n\
            event: x\ndata: not json \"usage\" \"choices\"\n\n\
            data: [DONE]\n\n";
        assert_eq!(filter([stream]), want);
        assert_eq!(filter(stream.chunks(1)), want);
        assert_eq!(filter([&b"\xff\xfe\n\n\r\r"[..]]), b"\xff\xfe\n\n\r\r");
    }

    #[test]
    fn noise_without_usage_chunks_passes_unchanged() {
        let mut noise = Noise(3);
        for _ in 0..300 {
            let mut body = noise.json_ish(3000);
            if noise.below(2) == 0 {
                body = noise.bytes(3000);
            }
            if contains(&body, b"\"choices\":[]") && contains(&body, b"\"usage\":") {
                continue;
            }
            assert_eq!(filter(noise.pieces(&body)), body);
        }
    }

    #[test]
    fn oversized_events_pass_through() {
        let big = format!(
            "data: {{\"x\":\"{}\"}}\n\ndata: [DONE]\n\n",
            "a".repeat(MAX_EVENT_BYTES)
        );
        let out = filter(big.as_bytes().chunks(1 << 16));
        assert_eq!(out, big.as_bytes());
    }
}
