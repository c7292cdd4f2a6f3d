//! Reads the `model` and `stream` fields of a request body as it streams to the upstream.

use serde::Deserialize;
use serde_json::Value;

use super::json_split::{ChildSink, JsonSplitter};

/// The largest `model` or `stream` value looked at.
const MAX_FIELD_BYTES: usize = 64 * 1024;

/// What a request body said about the call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestInfo {
    pub model: Option<String>,
    pub stream: Option<bool>,
}

/// An incremental tap over a request body (streamed through the proxy, never held back). Only the
/// top-level `model` and `stream` members are kept, so any body size costs a few bytes of memory.
/// Bodies that are not a JSON object (or are compressed) simply yield nothing.
#[derive(Debug)]
pub struct RequestTap {
    splitter: JsonSplitter,
    fields: Fields,
}

#[derive(Debug, Default)]
struct Fields(RequestInfo);

/// One top-level member, `{"model": ...}` or `{"stream": ...}`.
#[derive(Deserialize)]
struct Member {
    model: Option<Value>,
    stream: Option<Value>,
}

impl ChildSink for Fields {
    fn wants_member(&mut self, key: &[u8]) -> bool {
        matches!(key, b"model" | b"stream")
    }

    fn child(&mut self, json: &[u8]) {
        let Ok(member) = super::wire::from_json::<Member>(json) else {
            return;
        };
        if let Some(model) = member.model {
            self.0.model = model.as_str().filter(|m| !m.is_empty()).map(str::to_owned);
        }
        if let Some(stream) = member.stream {
            self.0.stream = stream.as_bool();
        }
    }
}

impl RequestTap {
    pub fn new() -> Self {
        RequestTap {
            splitter: JsonSplitter::new(MAX_FIELD_BYTES),
            fields: Fields::default(),
        }
    }

    pub fn feed(&mut self, chunk: &[u8]) {
        self.splitter.feed(chunk, &mut self.fields);
    }

    /// What the body said so far (a cut body still gives the fields seen before the cut).
    pub fn finish(&mut self) -> RequestInfo {
        self.fields.0.clone()
    }
}

impl Default for RequestTap {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(body: &[u8]) -> RequestInfo {
        let mut whole = RequestTap::new();
        whole.feed(body);
        let want = whole.finish();
        for at in 0..=body.len().min(2000) {
            let mut tap = RequestTap::new();
            tap.feed(&body[..at]);
            tap.feed(&body[at..]);
            assert_eq!(tap.finish(), want, "split at {at}");
        }
        let mut tap = RequestTap::new();
        body.chunks(1).for_each(|b| tap.feed(b));
        assert_eq!(tap.finish(), want, "byte by byte");
        want
    }

    fn want(model: Option<&str>, stream: Option<bool>) -> RequestInfo {
        RequestInfo {
            model: model.map(str::to_owned),
            stream,
        }
    }

    #[test]
    fn reads_model_and_stream() {
        let body = br#"{"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role":"user","content":"{\"model\": \"x\", \"stream\": false}"}], "stream": true}"#;
        assert_eq!(info(body), want(Some("claude-sonnet-4-5"), Some(true)));
        assert_eq!(
            info(br#" {"stream":false,"model":"gpt-5"} "#),
            want(Some("gpt-5"), Some(false))
        );
        assert_eq!(
            info(br#"{"contents":[{"parts":[{"text":"hi"}]}]}"#),
            want(None, None)
        );
    }

    #[test]
    fn odd_values_and_bodies() {
        assert_eq!(info(br#"{"model": 5, "stream": "yes"}"#), want(None, None));
        assert_eq!(
            info(br#"{"model": null, "stream": null}"#),
            want(None, None)
        );
        assert_eq!(
            info(br#"{"model": "a\"b", "stream": true"#),
            want(Some("a\"b"), None)
        );
        assert_eq!(info(b"[1, 2]"), want(None, None));
        assert_eq!(info(b""), want(None, None));
        assert_eq!(info(b"\xff\xfe{\"model\":\"m\"}"), want(None, None));
        assert_eq!(info(b"{\"model\":\"m\xff\"}"), want(None, None));
        assert_eq!(
            info(b"{\"prompt\":\"\xff\xfe\",\"model\":\"m\"}"),
            want(Some("m"), None)
        );
    }

    #[test]
    fn noise_never_panics() {
        let mut noise = crate::meter::fixtures::Noise(5);
        for _ in 0..300 {
            let mut body = b"{".to_vec();
            body.extend(noise.json_ish(1000));
            let mut tap = RequestTap::new();
            for piece in noise.pieces(&body) {
                tap.feed(piece);
            }
            tap.finish();
        }
    }

    #[test]
    fn big_bodies_cost_no_memory() {
        let filler = "x".repeat(30 << 20);
        let body =
            format!(r#"{{"messages":[{{"content":"{filler}"}}],"model":"gpt-4.1","stream":true}}"#);
        let mut tap = RequestTap::new();
        for piece in body.as_bytes().chunks(1 << 16) {
            tap.feed(piece);
            assert!(tap.splitter.buffered() < 1024);
        }
        assert_eq!(tap.finish(), want(Some("gpt-4.1"), Some(true)));
    }
}
