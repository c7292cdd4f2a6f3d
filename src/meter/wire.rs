//! The provider payload shapes gw reads usage from. Every field is optional and unknown fields are
//! skipped, so a new field or a `null` never costs a request its usage.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::Usage;

/// JSON bytes read as `T`. Up to [`TEXT_CHECKED_UP_TO`], JSON whose bytes are UTF-8 is read as
/// a `str`, checked once, whole (with SIMD): serde_json's slice reader checks each string it
/// reads apart (a short answer's body has some twenty): bodies of 400 B to 1.4 KB parsed 7–19%
/// faster, ASCII or Japanese. Larger JSON is mostly text no field reads, which the slice reader
/// skips unchecked (checked whole, 8 KB of Japanese text parsed 21% slower), so it goes to the
/// slice reader, as all JSON did; so do bytes that are not UTF-8: that reader skips a bad byte
/// inside a value no field reads, so such a body still meters. On UTF-8 the two readers
/// give the same values and lend the same strings (which [`AsSent`] relies on).
pub(crate) fn from_json<'de, T: Deserialize<'de>>(json: &'de [u8]) -> serde_json::Result<T> {
    match checked_text(json) {
        Some(text) => serde_json::from_str(text),
        None => serde_json::from_slice(json),
    }
}

/// The largest JSON [`from_json`] checks whole.
const TEXT_CHECKED_UP_TO: usize = 2 << 10;

/// `json` as text, when [`from_json`] reads it so: small enough, and UTF-8.
fn checked_text(json: &[u8]) -> Option<&str> {
    (json.len() <= TEXT_CHECKED_UP_TO)
        .then(|| simdutf8::basic::from_utf8(json).ok())
        .flatten()
}

/// A JSON object read as `T`, its own keys compared as sent: a key written with an escape
/// (`"us\u0061ge"`) is none of `T`'s fields, as it is none of the members the member path
/// ([`super::json_split::JsonSplitter`], which compares keys as sent) hands over. So a whole
/// single body read this way says what its members say one by one. Keys inside its values are
/// read as usual, on either path. Only from a slice or a `str` (`serde_json::from_slice`): it
/// tells a key as sent by serde_json lending it from the input, which a reader or a `Value`
/// never does (every key would read as escaped, and every field as absent).
pub(crate) struct AsSent<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for AsSent<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(std::marker::PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = AsSent<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<AsSent<T>, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(KeysAsSent(
                    map,
                )))
                .map(AsSent)
            }
        }

        deserializer.deserialize_map(ObjectVisitor(std::marker::PhantomData))
    }
}

/// Hands `T` each key as sent, or, for a key written with an escape, a name no field has.
struct KeysAsSent<A>(A);

/// What an escaped key is handed over as: not a field name of any payload type.
const ESCAPED_KEY: &str = "\\escaped key";

impl<'de, A: MapAccess<'de>> MapAccess<'de> for KeysAsSent<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let Some(key) = self.0.next_key::<KeyAsSent<'de>>()? else {
            return Ok(None);
        };
        let name = key.0.unwrap_or(ESCAPED_KEY);
        seed.deserialize(serde::de::value::BorrowedStrDeserializer::new(name))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.0.next_value_seed(seed)
    }
}

/// A key borrowed from the input as it was sent (serde_json lends a key that needed no
/// unescaping), or `None` for one that was unescaped into a copy.
struct KeyAsSent<'de>(Option<&'de str>);

impl<'de> Deserialize<'de> for KeyAsSent<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = KeyAsSent<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<KeyAsSent<'de>, E> {
                Ok(KeyAsSent(Some(v)))
            }
            fn visit_str<E>(self, _: &str) -> Result<KeyAsSent<'de>, E> {
                Ok(KeyAsSent(None))
            }
        }

        deserializer.deserialize_str(KeyVisitor)
    }
}

/// A token count that tolerates `null`, floats, negative numbers and numeric strings; anything
/// that is not a count reads as absent. Counts are capped at [`MAX_COUNT`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Count(Option<u64>);

/// No real count comes near this ([`crate::limits::MAX_TOKENS`], the bound the gw server
/// refuses past); capping here keeps sums of a [`Usage`]'s fields, and costs computed from them,
/// far from overflow whatever an upstream sends.
pub(crate) const MAX_COUNT: u64 = crate::limits::MAX_TOKENS as u64;

impl Count {
    pub(crate) fn get(self) -> Option<u64> {
        self.0.map(|v| v.min(MAX_COUNT))
    }

    fn or_zero(self) -> u64 {
        self.get().unwrap_or(0)
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CountVisitor;

        impl<'de> Visitor<'de> for CountVisitor {
            type Value = Count;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a token count")
            }
            fn visit_u64<E>(self, v: u64) -> Result<Count, E> {
                Ok(Count(Some(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Count, E> {
                Ok(Count(u64::try_from(v).ok()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Count, E> {
                // `as` saturates, which is what an absurd float deserves.
                Ok(Count((v.is_finite() && v >= 0.0).then_some(v as u64)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Count, E> {
                Ok(Count(v.trim().parse().ok()))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Count, E> {
                Ok(Count(None))
            }
            fn visit_unit<E>(self) -> Result<Count, E> {
                Ok(Count(None))
            }
            fn visit_none<E>(self) -> Result<Count, E> {
                Ok(Count(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Count, D::Error> {
                Count::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Count, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Count(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Count, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Count(None))
            }
        }

        deserializer.deserialize_any(CountVisitor)
    }
}

/// The `type` of a streamed event (Anthropic, OpenAI Responses), as far as metering cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub(crate) enum Kind {
    #[serde(rename = "message")]
    Message,
    #[serde(rename = "message_start")]
    MessageStart,
    #[serde(rename = "message_delta")]
    MessageDelta,
    #[serde(rename = "message_stop")]
    MessageStop,
    #[serde(rename = "response.created")]
    ResponseCreated,
    #[serde(rename = "response.in_progress")]
    ResponseInProgress,
    #[serde(rename = "response.completed")]
    ResponseCompleted,
    #[serde(rename = "response.incomplete")]
    ResponseIncomplete,
    #[serde(rename = "response.failed")]
    ResponseFailed,
    #[serde(other)]
    Other,
}

// ---- Anthropic Messages ----

/// A streamed event; with `type: "message"` also a whole message in an unusual envelope.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct AnthropicEvent {
    #[serde(rename = "type")]
    pub kind: Option<Kind>,
    pub message: Option<AnthropicMessage>,
    pub id: Option<String>,
    pub model: Option<String>,
    pub usage: Option<AnthropicUsage>,
}

/// A message: the non-streamed response body, or `message_start.message`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct AnthropicMessage {
    pub id: Option<String>,
    pub model: Option<String>,
    pub usage: Option<AnthropicUsage>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct AnthropicUsage {
    pub input_tokens: Count,
    pub output_tokens: Count,
    pub cache_read_input_tokens: Count,
    pub cache_creation_input_tokens: Count,
    pub cache_creation: Option<AnthropicCacheCreation>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct AnthropicCacheCreation {
    pub ephemeral_5m_input_tokens: Count,
    pub ephemeral_1h_input_tokens: Count,
}

impl AnthropicUsage {
    /// Writes the counts present here into `usage`. `input_tokens` already excludes cache reads and
    /// writes. A `message_delta` (`delta`) restates input counts at most, so there a zero never
    /// overwrites a count already known; its `output_tokens` is cumulative and always wins.
    pub(crate) fn apply(&self, usage: &mut Usage, delta: bool) {
        let keep = |v: Option<u64>| v.filter(|&v| !delta || v > 0);
        if let Some(v) = keep(self.input_tokens.get()) {
            usage.input = v;
        }
        if let Some(v) = keep(self.cache_read_input_tokens.get()) {
            usage.cache_read = v;
        }
        if let Some((m5, h1)) = self
            .cache_writes()
            .filter(|&(m5, h1)| !delta || m5.saturating_add(h1) > 0)
        {
            usage.cache_write_5m = m5;
            usage.cache_write_1h = h1;
        }
        if let Some(v) = self.output_tokens.get() {
            usage.output = v;
        }
    }

    /// Cache writes by TTL: the `cache_creation` breakdown when it says anything, otherwise all of
    /// `cache_creation_input_tokens` as 5-minute writes (the default TTL).
    fn cache_writes(&self) -> Option<(u64, u64)> {
        let split = self.cache_creation.as_ref().map(|c| {
            (
                c.ephemeral_5m_input_tokens.or_zero(),
                c.ephemeral_1h_input_tokens.or_zero(),
            )
        });
        match (split, self.cache_creation_input_tokens.get()) {
            (Some((m5, h1)), _) if m5.saturating_add(h1) > 0 => Some((m5, h1)),
            (_, Some(total)) => Some((total, 0)),
            (split, None) => split,
        }
    }
}

// ---- OpenAI (Responses and Chat Completions) ----

/// Usage in either OpenAI API: Responses names `input_tokens`/`output_tokens`, Chat
/// `prompt_tokens`/`completion_tokens`; the meaning is the same.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct OpenAiUsage {
    #[serde(alias = "prompt_tokens")]
    pub input_tokens: Count,
    #[serde(alias = "completion_tokens")]
    pub output_tokens: Count,
    #[serde(alias = "prompt_tokens_details")]
    pub input_tokens_details: Option<OpenAiInputDetails>,
    #[serde(alias = "completion_tokens_details")]
    pub output_tokens_details: Option<OpenAiOutputDetails>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct OpenAiInputDetails {
    pub cached_tokens: Count,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct OpenAiOutputDetails {
    pub reasoning_tokens: Count,
}

impl OpenAiUsage {
    /// Input includes cached tokens and output includes reasoning: split the first, keep the second.
    pub(crate) fn to_usage(&self) -> Usage {
        let cached = self
            .input_tokens_details
            .as_ref()
            .map_or(0, |d| d.cached_tokens.or_zero());
        Usage {
            input: self.input_tokens.or_zero().saturating_sub(cached),
            cache_read: cached,
            output: self.output_tokens.or_zero(),
            reasoning: self
                .output_tokens_details
                .as_ref()
                .map_or(0, |d| d.reasoning_tokens.or_zero()),
            ..Usage::default()
        }
    }
}

/// A Responses stream event (`response.created`, `response.completed`, ...).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ResponsesEvent {
    #[serde(rename = "type")]
    pub kind: Option<Kind>,
    pub response: Option<ResponseObject>,
}

/// A Responses `response` object: the non-streamed body, or the one inside stream events.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ResponseObject {
    pub id: Option<String>,
    pub model: Option<String>,
    pub usage: Option<OpenAiUsage>,
}

/// A Chat Completions chunk, or the non-streamed completion.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ChatChunk {
    pub id: Option<String>,
    pub model: Option<String>,
    pub choices: Option<Vec<IgnoredAny>>,
    pub usage: Option<OpenAiUsage>,
}

impl ChatChunk {
    /// The chunk `stream_options.include_usage` adds at the end: no choices, only usage.
    pub(crate) fn is_usage_only(&self) -> bool {
        self.usage.is_some() && self.choices.as_ref().is_some_and(Vec::is_empty)
    }
}

// ---- Gemini ----

/// A `GenerateContentResponse`: the non-streamed body or one chunk of a stream.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct GeminiChunk {
    #[serde(alias = "usage_metadata")]
    pub usage_metadata: Option<GeminiUsage>,
    #[serde(alias = "model_version")]
    pub model_version: Option<String>,
    #[serde(alias = "response_id")]
    pub response_id: Option<String>,
    pub candidates: Option<Vec<GeminiCandidate>>,
}

/// A Code Assist response (Gemini CLI on a Google login): a Gemini response wrapped with the
/// API's trace id, `{"response": {…}, "traceId": "…"}`; streamed, each chunk is one.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct CodeAssistChunk {
    pub response: Option<GeminiChunk>,
    /// Read leniently: a trace id of another type must not cost the chunk its usage.
    pub trace_id: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct GeminiCandidate {
    #[serde(alias = "finish_reason")]
    pub finish_reason: Option<IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct GeminiUsage {
    #[serde(alias = "prompt_token_count")]
    pub prompt_token_count: Count,
    #[serde(alias = "cached_content_token_count")]
    pub cached_content_token_count: Count,
    #[serde(alias = "candidates_token_count")]
    pub candidates_token_count: Count,
    #[serde(alias = "thoughts_token_count")]
    pub thoughts_token_count: Count,
}

impl GeminiChunk {
    pub(crate) fn has_finish_reason(&self) -> bool {
        self.candidates
            .iter()
            .flatten()
            .any(|c| c.finish_reason.is_some())
    }
}

impl GeminiUsage {
    /// The prompt includes cached tokens; thoughts are billed as output but are not part of
    /// `candidatesTokenCount`.
    pub(crate) fn to_usage(&self) -> Usage {
        let cached = self.cached_content_token_count.or_zero();
        let thoughts = self.thoughts_token_count.or_zero();
        Usage {
            input: self.prompt_token_count.or_zero().saturating_sub(cached),
            cache_read: cached,
            output: self
                .candidates_token_count
                .or_zero()
                .saturating_add(thoughts),
            reasoning: thoughts,
            ..Usage::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_read_as_sent_takes_plain_keys_only() {
        let read = |json: &str| {
            serde_json::from_str::<AsSent<AnthropicMessage>>(json)
                .unwrap()
                .0
        };
        let plain = read(r#"{"id":"msg_1","usage":{"input_tokens":5}}"#);
        assert_eq!(plain.id.as_deref(), Some("msg_1"));
        assert_eq!(plain.usage.unwrap().input_tokens.get(), Some(5));
        // Escaped top-level keys are none of the fields; keys inside values are read as usual.
        let escaped =
            read(r#"{"\u0069d":"msg_1","us\u0061ge":{"input_tokens":5},"\u0069d":"msg_2"}"#);
        assert!(escaped.id.is_none() && escaped.usage.is_none());
        let inner = read(r#"{"usage":{"input\u005ftokens":5}}"#);
        assert_eq!(inner.usage.unwrap().input_tokens.get(), Some(5));
    }

    /// What `from_json` reads is what the slice reader reads: on UTF-8 text (escaped keys,
    /// escapes in values, non-ASCII text and keys), and on bytes that are not UTF-8, which go to
    /// the slice reader itself (a bad byte inside a value no field reads still meters; one inside
    /// a value a field reads, or in a key, fails both).
    #[test]
    fn json_read_as_text_reads_as_the_slice_reader_does() {
        let read = |json: &[u8]| {
            let body = |m: AsSent<AnthropicMessage>| {
                let u =
                    m.0.usage
                        .map(|u| (u.input_tokens.get(), u.output_tokens.get()));
                (m.0.id, m.0.model, u)
            };
            let text = from_json::<AsSent<AnthropicMessage>>(json).ok().map(body);
            let slice = serde_json::from_slice::<AsSent<AnthropicMessage>>(json)
                .ok()
                .map(body);
            assert_eq!(text, slice, "{}", String::from_utf8_lossy(json));
            text
        };
        let whole = Some((
            Some("msg_1".to_string()),
            Some("claude-x".to_string()),
            Some((Some(5), Some(7))),
        ));
        let tail =
            r#""id":"msg_1","model":"claude-x","usage":{"input_tokens":"5","output_tokens":7}}"#;
        for content in [
            &b""[..],
            br#""content":[{"text":"h\u00e9 \"q\" \\ \ud83d\ude00"}],"#,
            "\"content\":\"日本語 é\",\"ключ\":1,".as_bytes(),
            br#""content":"lone \ud800 surrogate","#,
            b"\"content\":\"bad \xff byte\",",
            b"\"content\":\"overlong \xc0\x80 and surrogate \xed\xa0\x80\",",
        ] {
            let json = [b"{", content, tail.as_bytes()].concat();
            assert!(json.len() <= TEXT_CHECKED_UP_TO);
            // Read as text exactly when std says UTF-8 (past 64 bytes, simdutf8's SIMD path).
            assert_eq!(
                checked_text(&json).is_some(),
                std::str::from_utf8(&json).is_ok()
            );
            assert_eq!(read(&json), whole);
        }
        // Escaped top-level keys are none of the fields, read either way.
        let escaped = read(br#"{"\u0069d":"msg_1","model":"claude-x"}"#).unwrap();
        assert_eq!((escaped.0, escaped.1.as_deref()), (None, Some("claude-x")));
        // A bad byte inside a value a field reads, or in a key, a lone surrogate in one, a cut
        // body, a byte-order mark: nothing either way.
        for json in [
            &b"{\"id\":\"msg_\xff\",\"model\":\"claude-x\"}"[..],
            b"{\"model\":\"claude-x\",\"stop_reason\":\"end_turn\",\"id\":\"msg_0123456789\xff\"}",
            b"{\"id\xff\":\"msg_1\",\"model\":\"claude-x\"}",
            br#"{"id":"msg_\ud800","model":"claude-x"}"#,
            br#"{"id":"msg_1","model":"#,
            "\u{feff}{\"id\":\"msg_1\"}".as_bytes(),
        ] {
            assert_eq!(read(json), None);
        }
        // Read as text up to the bound, and only UTF-8.
        let sized = |n: usize| format!(r#"{{"content":"{}"}}"#, "x".repeat(n - 14));
        assert_eq!(sized(TEXT_CHECKED_UP_TO).len(), TEXT_CHECKED_UP_TO);
        assert!(checked_text(sized(TEXT_CHECKED_UP_TO).as_bytes()).is_some());
        assert!(checked_text(sized(TEXT_CHECKED_UP_TO + 1).as_bytes()).is_none());
        assert!(checked_text(b"{\"content\":\"\xff\"}").is_none());
        let long = format!(r#"{{"content":"{}",{tail}"#, "x".repeat(TEXT_CHECKED_UP_TO));
        assert_eq!(read(long.as_bytes()), whole);
    }

    fn count(json: &str) -> Option<u64> {
        serde_json::from_str::<Count>(json).unwrap().get()
    }

    #[test]
    fn counts_are_lenient() {
        assert_eq!(count("12"), Some(12));
        assert_eq!(count("null"), None);
        assert_eq!(count("-3"), None);
        assert_eq!(count("12.0"), Some(12));
        assert_eq!(count("1e300"), Some(MAX_COUNT));
        assert_eq!(count("\"42\""), Some(42));
        assert_eq!(count("\"x\""), None);
        assert_eq!(count("true"), None);
        assert_eq!(count("[1,2]"), None);
        assert_eq!(count("{\"a\":1}"), None);
        assert_eq!(count("18446744073709551616"), Some(MAX_COUNT));
        assert_eq!(count("18446744073709551615"), Some(MAX_COUNT));
    }

    fn anthropic(json: &str) -> AnthropicUsage {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn anthropic_cache_writes() {
        let mut u = Usage::default();
        anthropic(r#"{"input_tokens":5,"cache_creation_input_tokens":300}"#).apply(&mut u, false);
        assert_eq!((u.input, u.cache_write_5m, u.cache_write_1h), (5, 300, 0));

        let mut u = Usage::default();
        anthropic(
            r#"{"cache_creation_input_tokens":300,
                "cache_creation":{"ephemeral_5m_input_tokens":100,"ephemeral_1h_input_tokens":200}}"#,
        )
        .apply(&mut u, false);
        assert_eq!((u.cache_write_5m, u.cache_write_1h), (100, 200));

        // An all-zero breakdown next to a non-zero total: trust the total.
        let mut u = Usage::default();
        anthropic(
            r#"{"cache_creation_input_tokens":300,
                "cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0}}"#,
        )
        .apply(&mut u, false);
        assert_eq!((u.cache_write_5m, u.cache_write_1h), (300, 0));

        let mut u = Usage::default();
        anthropic(r#"{"cache_creation":null,"cache_creation_input_tokens":null}"#)
            .apply(&mut u, false);
        assert!(u.is_zero());
    }

    #[test]
    fn anthropic_delta_keeps_known_counts() {
        let mut u = Usage::default();
        anthropic(r#"{"input_tokens":10,"cache_read_input_tokens":20,"cache_creation_input_tokens":30,"output_tokens":1}"#)
            .apply(&mut u, false);
        anthropic(r#"{"input_tokens":0,"cache_read_input_tokens":0,"output_tokens":7}"#)
            .apply(&mut u, true);
        assert_eq!(
            (u.input, u.cache_read, u.cache_write_5m, u.output),
            (10, 20, 30, 7)
        );
        anthropic(r#"{"input_tokens":11,"cache_read_input_tokens":21,"cache_creation_input_tokens":31,"output_tokens":9}"#)
            .apply(&mut u, true);
        assert_eq!(
            (u.input, u.cache_read, u.cache_write_5m, u.output),
            (11, 21, 31, 9)
        );
    }

    #[test]
    fn openai_usage_splits_cached_input() {
        let u: OpenAiUsage = serde_json::from_str(
            r#"{"prompt_tokens":100,"completion_tokens":30,
                "prompt_tokens_details":{"cached_tokens":150},
                "completion_tokens_details":{"reasoning_tokens":null}}"#,
        )
        .unwrap();
        let u = u.to_usage();
        assert_eq!(
            (u.input, u.cache_read, u.output, u.reasoning),
            (0, 150, 30, 0)
        );
    }

    #[test]
    fn gemini_thoughts_are_output() {
        let u: GeminiUsage = serde_json::from_str(
            r#"{"promptTokenCount":100,"cachedContentTokenCount":60,"candidatesTokenCount":5,"thoughtsTokenCount":7}"#,
        )
        .unwrap();
        let u = u.to_usage();
        assert_eq!(
            (u.input, u.cache_read, u.output, u.reasoning),
            (40, 60, 12, 7)
        );
    }
}

/// Bedrock Converse usage: the response's `usage`, or the stream's `metadata` event's.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct ConverseUsage {
    pub input_tokens: Count,
    pub output_tokens: Count,
    pub cache_read_input_tokens: Count,
    pub cache_write_input_tokens: Count,
}

/// A Converse response body, or a `metadata` event: both carry `usage` at the top.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ConverseUsageHolder {
    pub usage: Option<ConverseUsage>,
}

impl ConverseUsage {
    /// `inputTokens` leaves out cache reads and writes, as Anthropic's `input_tokens` does;
    /// writes are at the default (5-minute) TTL.
    /// A stream states its usage once; should it state it again, the larger counts stand (an
    /// upstream cannot talk a call down after the fact).
    pub(crate) fn apply(&self, usage: &mut Usage) {
        usage.input = usage.input.max(self.input_tokens.or_zero());
        usage.output = usage.output.max(self.output_tokens.or_zero());
        usage.cache_read = usage.cache_read.max(self.cache_read_input_tokens.or_zero());
        usage.cache_write_5m = usage
            .cache_write_5m
            .max(self.cache_write_input_tokens.or_zero());
    }
}
