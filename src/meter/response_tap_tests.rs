use std::io::Write;

use super::*;
use crate::meter::fixtures::*;

const SSE: Option<&str> = Some("text/event-stream");
const JSON: Option<&str> = Some("application/json");

fn anthropic_usage() -> Usage {
    Usage {
        input: 1200,
        output: 85,
        cache_read: 50000,
        cache_write_5m: 3000,
        ..Usage::default()
    }
}

fn openai_usage() -> Usage {
    Usage {
        input: 1200,
        output: 85,
        cache_read: 50000,
        reasoning: 40,
        ..Usage::default()
    }
}

fn gemini_usage() -> Usage {
    Usage {
        input: 1200,
        output: 125,
        cache_read: 50000,
        reasoning: 40,
        ..Usage::default()
    }
}

fn full(usage: Usage, model: &str, id: &str, streamed: bool) -> Extracted {
    Extracted {
        usage,
        model: Some(model.to_owned()),
        upstream_id: Some(id.to_owned()),
        saw_usage: true,
        complete: true,
        streamed,
        decode_error: None,
    }
}

struct Case {
    name: &'static str,
    protocol: Protocol,
    content_type: Option<&'static str>,
    body: &'static [u8],
    want: Extracted,
}

fn cases() -> Vec<Case> {
    use Protocol::*;
    let case = |name, protocol, content_type, body, want| Case {
        name,
        protocol,
        content_type,
        body,
        want,
    };
    vec![
        case(
            "anthropic json",
            AnthropicMessages,
            JSON,
            ANTHROPIC_JSON,
            full(
                anthropic_usage(),
                "claude-sonnet-4-5",
                "msg_5f39142a0da0444ea81bb7d8",
                false,
            ),
        ),
        case(
            "anthropic sse",
            AnthropicMessages,
            SSE,
            ANTHROPIC_SSE,
            full(
                anthropic_usage(),
                "claude-sonnet-4-5",
                "msg_fe4b6fb747684e66a5dafbed",
                true,
            ),
        ),
        case(
            "gemini json",
            Gemini,
            JSON,
            GEMINI_JSON,
            full(
                gemini_usage(),
                "gemini-2.5-pro",
                "641c7bc52af0410ab55ac8",
                false,
            ),
        ),
        case(
            "gemini sse",
            Gemini,
            SSE,
            GEMINI_SSE,
            full(
                gemini_usage(),
                "gemini-2.5-pro",
                "b5393e328f7a4b2c82d736",
                true,
            ),
        ),
        case(
            "chat json",
            OpenAiChat,
            JSON,
            CHAT_JSON,
            full(
                openai_usage(),
                "gpt-4.1",
                "chatcmpl-a5618a1cc928423e8e1bcbdd",
                false,
            ),
        ),
        case(
            "chat sse",
            OpenAiChat,
            SSE,
            CHAT_SSE,
            full(
                openai_usage(),
                "gpt-4.1",
                "chatcmpl-7efcbd31acb540d0989d78a0",
                true,
            ),
        ),
        case(
            "responses json",
            OpenAiResponses,
            JSON,
            RESPONSES_JSON,
            full(
                openai_usage(),
                "gpt-5",
                "resp_6b1678619d7b42bc8d832809",
                false,
            ),
        ),
        case(
            "responses sse",
            OpenAiResponses,
            SSE,
            RESPONSES_SSE,
            full(
                openai_usage(),
                "gpt-5",
                "resp_a95c56e4e6c74cb28c63d839",
                true,
            ),
        ),
    ]
}

fn tap<'a>(
    protocol: Protocol,
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    pieces: impl IntoIterator<Item = &'a [u8]>,
) -> Extracted {
    let mut tap = ResponseTap::new(protocol, content_type, content_encoding);
    for piece in pieces {
        tap.feed(piece);
    }
    tap.finish()
}

/// Whole, split in two at every byte and byte by byte: all give `want`.
fn assert_any_chunking(
    name: &str,
    protocol: Protocol,
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    body: &[u8],
    want: &Extracted,
) {
    let whole = tap(protocol, content_type, content_encoding, [body]);
    assert_eq!(&whole, want, "{name}: whole");
    for at in 0..=body.len() {
        let (a, b) = body.split_at(at);
        let got = tap(protocol, content_type, content_encoding, [a, b]);
        assert_eq!(&got, want, "{name}: split at {at}");
    }
    let got = tap(protocol, content_type, content_encoding, body.chunks(1));
    assert_eq!(&got, want, "{name}: byte by byte");
}

#[test]
fn fixtures_under_any_chunking() {
    for c in cases() {
        assert_any_chunking(c.name, c.protocol, c.content_type, None, c.body, &c.want);
    }
}

#[test]
fn sse_fixtures_with_crlf_and_cr_line_ends() {
    for c in cases().into_iter().filter(|c| c.want.streamed) {
        for ending in ["\r\n", "\r"] {
            let body = with_line_ending(c.body, ending);
            let name = format!("{} {ending:?}", c.name);
            assert_any_chunking(&name, c.protocol, c.content_type, None, &body, &c.want);
        }
    }
}

fn encode(coding: &str, data: &[u8]) -> Vec<u8> {
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    use flate2::Compression;
    match coding {
        "gzip" | "x-gzip" => {
            let mut e = GzEncoder::new(Vec::new(), Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "deflate" => {
            let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "raw-deflate" => {
            let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "br" => {
            let mut out = Vec::new();
            {
                let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                w.write_all(data).unwrap();
            }
            out
        }
        "zstd" => zstd::stream::encode_all(data, 3).unwrap(),
        "identity" => data.to_vec(),
        other => panic!("no encoder for {other}"),
    }
}

/// Applies the codings of a `Content-Encoding` value in order.
fn encode_all(header: &str, data: &[u8]) -> Vec<u8> {
    header
        .split(',')
        .map(str::trim)
        .fold(data.to_vec(), |data, coding| encode(coding, &data))
}

#[test]
fn compressed_fixtures() {
    // (what is applied, the header the upstream sends)
    let encodings = [
        ("gzip", "gzip"),
        ("x-gzip", "x-gzip"),
        ("deflate", "deflate"),
        ("raw-deflate", "deflate"),
        ("br", "br"),
        ("zstd", "zstd"),
        ("gzip, br", "gzip, br"),
        ("br, zstd, gzip", "BR, zstd , gzip"),
        ("identity", "identity"),
    ];
    for c in cases() {
        for (applied, header) in encodings {
            let body = encode_all(applied, c.body);
            let name = format!("{} {applied}", c.name);
            if matches!(applied, "gzip" | "br" | "zstd" | "raw-deflate") {
                assert_any_chunking(
                    &name,
                    c.protocol,
                    c.content_type,
                    Some(header),
                    &body,
                    &c.want,
                );
            } else {
                assert_eq!(
                    tap(c.protocol, c.content_type, Some(header), [&body[..]]),
                    c.want,
                    "{name}"
                );
                assert_eq!(
                    tap(c.protocol, c.content_type, Some(header), body.chunks(1)),
                    c.want,
                    "{name} byte by byte"
                );
            }
        }
    }
}

/// Where the data line of each stream's terminal event ends.
fn terminal_line_end(body: &[u8], marker: &str) -> usize {
    let text = std::str::from_utf8(body).unwrap();
    let start = text.find(marker).unwrap();
    start + text[start..].find(['\r', '\n']).unwrap()
}

#[test]
fn cut_streams_are_incomplete_until_the_terminal_event() {
    let markers = [
        ("anthropic sse", "data: {\"type\": \"message_stop\""),
        ("responses sse", "data: {\"type\": \"response.completed\""),
        ("chat sse", "\"choices\": [], \"usage\": {"),
        ("gemini sse", "\"finishReason\""),
    ];
    for c in cases() {
        let Some((_, marker)) = markers.iter().find(|(name, _)| *name == c.name) else {
            continue;
        };
        let end = terminal_line_end(c.body, marker);
        for cut in 0..=c.body.len() {
            let got = tap(c.protocol, c.content_type, None, [&c.body[..cut]]);
            assert_eq!(got.complete, cut >= end, "{} cut at {cut}", c.name);
            if cut >= end {
                assert_eq!(got, c.want, "{} cut at {cut}", c.name);
            }
        }
    }
}

fn cut_before(body: &[u8], marker: &str) -> Vec<u8> {
    let text = std::str::from_utf8(body).unwrap();
    let at = text.find(marker).unwrap();
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    body[..line_start].to_vec()
}

#[test]
fn cut_streams_keep_the_usage_seen_so_far() {
    use Protocol::*;
    let got = tap(
        AnthropicMessages,
        SSE,
        None,
        [&cut_before(ANTHROPIC_SSE, "event: message_delta")[..]],
    );
    let want = Extracted {
        usage: Usage {
            output: 1,
            ..anthropic_usage()
        },
        model: Some("claude-sonnet-4-5".into()),
        upstream_id: Some("msg_fe4b6fb747684e66a5dafbed".into()),
        saw_usage: true,
        complete: false,
        streamed: true,
        decode_error: None,
    };
    assert_eq!(got, want);

    let got = tap(
        AnthropicMessages,
        SSE,
        None,
        [&cut_before(ANTHROPIC_SSE, "event: message_stop")[..]],
    );
    assert_eq!(
        got,
        Extracted {
            usage: anthropic_usage(),
            ..want
        }
    );

    let got = tap(
        OpenAiResponses,
        SSE,
        None,
        [&cut_before(RESPONSES_SSE, "event: response.completed")[..]],
    );
    assert_eq!(
        got,
        Extracted {
            model: Some("gpt-5".into()),
            upstream_id: Some("resp_a95c56e4e6c74cb28c63d839".into()),
            streamed: true,
            ..Extracted::default()
        }
    );

    let got = tap(
        OpenAiChat,
        SSE,
        None,
        [&cut_before(CHAT_SSE, "\"choices\": [], \"usage\"")[..]],
    );
    assert_eq!(
        got,
        Extracted {
            model: Some("gpt-4.1".into()),
            upstream_id: Some("chatcmpl-7efcbd31acb540d0989d78a0".into()),
            streamed: true,
            ..Extracted::default()
        }
    );

    let got = tap(
        Gemini,
        SSE,
        None,
        [&cut_before(GEMINI_SSE, "\"finishReason\"")[..]],
    );
    assert_eq!(
        got.usage,
        Usage {
            input: 51200,
            ..Usage::default()
        }
    );
    assert!(got.saw_usage && !got.complete);

    // A compressed stream cut anywhere: what was decoded so far, and no decode error (the
    // cut is what `complete: false` says).
    let long = [&b": padding\n".repeat(2000)[..], ANTHROPIC_SSE].concat();
    let codings = [
        ("gzip", "gzip"),
        ("deflate", "deflate"),
        ("raw-deflate", "deflate"),
        ("br", "br"),
        ("zstd", "zstd"),
    ];
    for (applied, header) in codings {
        let body = encode(applied, &long);
        for cut in 0..body.len() {
            let got = tap(AnthropicMessages, SSE, Some(header), [&body[..cut]]);
            assert_eq!(got.decode_error, None, "{applied} cut at {cut}");
            if cut <= body.len() / 2 {
                assert!(!got.complete, "{applied} cut at {cut}");
            }
        }
        // With only the last byte missing, (nearly) everything was still decoded. Not so for
        // zstd, which decodes whole blocks: `encode` makes one block, a stream flushes many.
        if applied != "zstd" {
            let cut = &body[..body.len() - 1];
            let got = tap(AnthropicMessages, SSE, Some(header), [cut]);
            assert!(got.saw_usage && got.upstream_id.is_some(), "{applied}");
        }
    }
}

#[test]
fn odd_json_bodies_read_alike_whole_and_member_by_member() {
    // A body whole in one piece is parsed at once; byte by byte it goes member by member. The
    // two must agree on bodies that trip either: an escaped key, a repeated or mistyped member,
    // trailing bytes, deep nesting in a member neither reads, a field only the whole type has.
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    let anthropic = [
        r#"{"id":"msg_1","us\u0061ge":{"input_tokens":5,"output_tokens":1},"model":"m"}"#.to_string(),
        r#"{"usage":{"input_tokens":1,"output_tokens":1},"usage":{"input_tokens":9,"output_tokens":9}}"#.to_string(),
        r#"{"id":"msg_1","model":"m","usage":"lots","content":[]}"#.to_string(),
        r#"{"id":"msg_1","model":"m","usage":{"input_tokens":4,"output_tokens":2}} trailing"#.to_string(),
        format!(r#"{{"id":"msg_1","content":{deep},"usage":{{"input_tokens":4,"output_tokens":2}}}}"#),
        r#"{"id":7,"model":"m","usage":{"input_tokens":4,"output_tokens":2}}"#.to_string(),
        r#"{"\u0069d":"msg_x","id":"msg_1","content":[{"text":"a\nb \"q\" \\"}],"usage":{"input_tokens":4,"output_tokens":2}}"#.to_string(),
        r#"{"id":"msg_1","model":"m","usage":{"input_tokens":4,"output_tokens":2},"\u0075sage":{"input_tokens":8}}"#.to_string(),
    ];
    let chat = [
        r#"{"id":"c","model":"gpt-5","choices":5,"usage":{"prompt_tokens":3,"completion_tokens":2}}"#,
        r#"{"id":"c","model":"gpt-5","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}"#,
        r#"{"id":"c","us\u0061ge":{"prompt_tokens":3},"ch\u006fices":5,"model":"gpt-5"}"#,
    ];
    let bodies = anthropic
        .iter()
        .map(|b| (Protocol::AnthropicMessages, b.as_str()))
        .chain(chat.iter().map(|b| (Protocol::OpenAiChat, *b)))
        .chain(chat.iter().map(|b| (Protocol::OpenAiResponses, *b)));
    for (protocol, body) in bodies {
        let ct = Some("application/json");
        let whole = tap(protocol, ct, None, [body.as_bytes()]);
        let bytewise = tap(protocol, ct, None, body.as_bytes().chunks(1));
        assert_eq!(whole, bytewise, "{protocol:?} {body}");
    }
    // An escaped key is none of the wanted members either way, beside its plain twin too;
    // the repeated member's last value stands.
    let whole = |body: &str| tap(Protocol::AnthropicMessages, None, None, [body.as_bytes()]);
    assert_eq!(whole(&anthropic[6]).upstream_id.as_deref(), Some("msg_1"));
    assert_eq!(whole(&anthropic[7]).usage.input, 4);
    assert!(!whole(&anthropic[0]).saw_usage);
    assert_eq!(whole(&anthropic[1]).usage.input, 9);
}

#[test]
fn cut_json_bodies_are_incomplete() {
    for c in cases().into_iter().filter(|c| !c.want.streamed) {
        let body = c.body.trim_ascii_end();
        for cut in 0..body.len() {
            let got = tap(c.protocol, c.content_type, None, [&body[..cut]]);
            assert!(!got.complete, "{} cut at {cut}", c.name);
        }
    }
}

fn gemini_array_stream() -> Vec<u8> {
    format!("[{}]", data_lines(GEMINI_SSE).join(",\n ")).into_bytes()
}

#[test]
fn gemini_json_array_stream() {
    let body = gemini_array_stream();
    let mut want = cases().remove(3).want;
    assert!(want.streamed);
    for content_type in [JSON, None, SSE] {
        assert_any_chunking(
            "gemini array",
            Protocol::Gemini,
            content_type,
            None,
            &body,
            &want,
        );
    }
    // Cut inside the second element: the first element's usage, not complete.
    let cut = body.len() - 40;
    let got = tap(Protocol::Gemini, JSON, None, [&body[..cut]]);
    want.usage = Usage {
        input: 51200,
        ..Usage::default()
    };
    want.complete = false;
    assert_eq!(got, want);
    // Closed without a finishReason: complete all the same.
    let body = format!("[{}]", data_lines(GEMINI_SSE)[0]);
    let got = tap(Protocol::Gemini, JSON, None, [body.as_bytes()]);
    assert!(got.complete && got.saw_usage);
}

#[test]
fn code_assist_wraps_gemini_responses() {
    // Gemini CLI on a Google login: each chunk is `{"response": <Gemini chunk>, "traceId"}`.
    let wrap = |chunk: &str| format!(r#"{{"response": {chunk}, "traceId": "trace-1"}}"#);
    let sse: String = data_lines(GEMINI_SSE)
        .iter()
        .map(|c| format!("data: {}\r\n\r\n", wrap(c)))
        .collect();
    let want = cases().remove(3).want;
    assert_any_chunking(
        "code assist sse",
        Protocol::CodeAssist,
        SSE,
        None,
        sse.as_bytes(),
        &want,
    );
    let json = wrap(std::str::from_utf8(GEMINI_JSON).unwrap());
    let got = tap(Protocol::CodeAssist, JSON, None, [json.as_bytes()]);
    let plain = tap(Protocol::Gemini, JSON, None, [GEMINI_JSON]);
    assert_eq!(got.usage, plain.usage);
    assert_eq!(got.model, plain.model);
    assert!(got.complete && got.saw_usage);
    assert_eq!(got.upstream_id, plain.upstream_id);
    let bare = wrap(r#"{"candidates": []}"#);
    let got = tap(Protocol::CodeAssist, JSON, None, [bare.as_bytes()]);
    assert_eq!(got.upstream_id.as_deref(), Some("trace-1"));
}

#[test]
fn code_assist_answers_in_odd_shapes_keep_or_lose_only_what_they_should() {
    let last = data_lines(GEMINI_SSE).pop().unwrap();
    let plain = tap(Protocol::Gemini, SSE, None, [GEMINI_SSE]);
    // A trace id of another type costs the chunk nothing.
    for trace in ["5", "null", "{\"x\": 1}", "[\"a\"]"] {
        let chunk = format!("data: {{\"response\": {last}, \"traceId\": {trace}}}\r\n\r\n");
        let got = tap(Protocol::CodeAssist, SSE, None, [chunk.as_bytes()]);
        assert_eq!(got.usage, plain.usage, "traceId {trace}");
        assert!(got.saw_usage && got.complete, "traceId {trace}");
    }
    // Usage beside the response, not in it, is not the answer's: nothing is read, so a
    // whole answer with no usage is what the proxy fails closed on.
    let beside = r#"{"usageMetadata": {"promptTokenCount": 1}, "response": {"candidates": []}}"#;
    let got = tap(Protocol::CodeAssist, JSON, None, [beside.as_bytes()]);
    assert!(!got.saw_usage && got.complete, "{got:?}");
    // A response that is not an object, or a body that is not JSON, reads as nothing.
    for body in [
        r#"{"response": "pong"}"#,
        r#"{"response": [1, 2]}"#,
        "not json",
    ] {
        let got = tap(Protocol::CodeAssist, JSON, None, [body.as_bytes()]);
        assert!(!got.saw_usage, "{body}: {got:?}");
    }
}

#[test]
fn error_bodies_yield_zero_usage() {
    use Protocol::*;
    let anthropic =
        br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
    let openai =
        br#"{"error":{"message":"Rate limit","type":"rate_limit_error","code":"rate_limit"}}"#;
    let gemini =
        br#"{"error":{"code":429,"message":"Resource exhausted","status":"RESOURCE_EXHAUSTED"}}"#;
    let gemini_array = br#"[{"error":{"code":500,"message":"x","status":"INTERNAL"}}]"#;
    let whole_json = Extracted {
        complete: true,
        ..Extracted::default()
    };
    for (protocol, body) in [
        (AnthropicMessages, &anthropic[..]),
        (OpenAiChat, openai),
        (OpenAiResponses, openai),
        (Gemini, gemini),
    ] {
        assert_eq!(tap(protocol, JSON, None, [body]), whole_json);
    }
    let got = tap(Gemini, JSON, None, [&gemini_array[..]]);
    assert_eq!(
        got,
        Extracted {
            complete: true,
            streamed: true,
            ..Extracted::default()
        }
    );

    let sse_error = b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"x\"}}\n\n";
    assert_eq!(
        tap(AnthropicMessages, SSE, None, [&sse_error[..]]),
        Extracted {
            streamed: true,
            ..Extracted::default()
        }
    );
    let text = b"Internal Server Error";
    for protocol in [AnthropicMessages, OpenAiChat, OpenAiResponses, Gemini] {
        assert!(tap(protocol, Some("text/plain"), None, [&text[..]])
            .usage
            .is_zero());
        assert_eq!(tap(protocol, JSON, None, []), Extracted::default());
        assert_eq!(
            tap(protocol, SSE, None, [&b"\n\n"[..]]),
            Extracted {
                streamed: true,
                ..Extracted::default()
            }
        );
    }
}

#[test]
fn null_usage_fields_are_fine() {
    use Protocol::*;
    let anthropic = b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":null,\"usage\":{\"input_tokens\":null,\"output_tokens\":3,\"cache_creation\":null}}}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":null}\n\n";
    let got = tap(AnthropicMessages, SSE, None, [&anthropic[..]]);
    assert_eq!(
        got.usage,
        Usage {
            output: 3,
            ..Usage::default()
        }
    );
    assert_eq!((got.model, got.upstream_id.as_deref()), (None, Some("m")));

    let responses = b"event: response.failed\ndata: {\"type\":\"response.failed\",\"response\":{\"id\":\"r\",\"usage\":null}}\n\n";
    let got = tap(OpenAiResponses, SSE, None, [&responses[..]]);
    assert!(got.complete && !got.saw_usage && got.usage.is_zero());

    let gemini = b"data: {\"usageMetadata\":null,\"candidates\":[{\"finishReason\":null}]}\n\n";
    let got = tap(Gemini, SSE, None, [&gemini[..]]);
    assert!(!got.complete && !got.saw_usage);

    let chat = br#"{"id":"c","usage":{"prompt_tokens":10,"completion_tokens":2,"prompt_tokens_details":null,"completion_tokens_details":null}}"#;
    let got = tap(OpenAiChat, JSON, None, [&chat[..]]);
    assert_eq!(
        got.usage,
        Usage {
            input: 10,
            output: 2,
            ..Usage::default()
        }
    );
}

fn anthropic_stream(start_usage: &str, delta_usage: &str) -> Vec<u8> {
    format!(
        "event: message_start\ndata: {{\"type\":\"message_start\",\"message\":{{\"id\":\"m\",\"model\":\"c\",\"usage\":{start_usage}}}}}\n\n\
         event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"hi\"}}}}\n\n\
         event: message_delta\ndata: {{\"type\":\"message_delta\",\"delta\":{{}},\"usage\":{delta_usage}}}\n\n\
         event: message_stop\ndata: {{\"type\":\"message_stop\"}}\n\n"
    )
    .into_bytes()
}

#[test]
fn anthropic_usage_variants() {
    let run = |start: &str, delta: &str| {
        tap(
            Protocol::AnthropicMessages,
            SSE,
            None,
            [&anthropic_stream(start, delta)[..]],
        )
        .usage
    };
    // No breakdown: all cache writes are 5-minute writes.
    let u = run(
        r#"{"input_tokens":5,"cache_creation_input_tokens":700,"output_tokens":1}"#,
        r#"{"output_tokens":9}"#,
    );
    assert_eq!(
        u,
        Usage {
            input: 5,
            cache_write_5m: 700,
            output: 9,
            ..Usage::default()
        }
    );
    // 1-hour writes.
    let u = run(
        r#"{"input_tokens":5,"cache_creation_input_tokens":700,"cache_creation":{"ephemeral_5m_input_tokens":200,"ephemeral_1h_input_tokens":500}}"#,
        r#"{"output_tokens":9}"#,
    );
    assert_eq!((u.cache_write_5m, u.cache_write_1h), (200, 500));
    // The delta restates input counts: final values win, zeros do not erase.
    let u = run(
        r#"{"input_tokens":5,"cache_read_input_tokens":10,"cache_creation_input_tokens":700,"output_tokens":1}"#,
        r#"{"input_tokens":6,"cache_read_input_tokens":0,"cache_creation_input_tokens":800,"output_tokens":9}"#,
    );
    assert_eq!(
        u,
        Usage {
            input: 6,
            cache_read: 10,
            cache_write_5m: 800,
            output: 9,
            ..Usage::default()
        }
    );
}

/// `body` without its `event:` lines.
fn without_event_lines(body: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(body).unwrap();
    text.split_inclusive('\n')
        .filter(|line| !line.starts_with("event:"))
        .collect::<String>()
        .into_bytes()
}

#[test]
fn streams_without_event_names() {
    for c in cases().into_iter().filter(|c| c.want.streamed) {
        let body = without_event_lines(c.body);
        assert_any_chunking(c.name, c.protocol, c.content_type, None, &body, &c.want);
    }
}

#[test]
fn responses_incomplete_ends_the_stream() {
    let body = br#"event: response.incomplete
data: {"type":"response.incomplete","response":{"id":"r1","model":"gpt-5","status":"incomplete","usage":{"input_tokens":100,"input_tokens_details":{"cached_tokens":60},"output_tokens":50,"output_tokens_details":{"reasoning_tokens":50}}}}

"#;
    let got = tap(Protocol::OpenAiResponses, SSE, None, [&body[..]]);
    assert_eq!(
        got,
        Extracted {
            usage: Usage {
                input: 40,
                cache_read: 60,
                output: 50,
                reasoning: 50,
                ..Usage::default()
            },
            model: Some("gpt-5".into()),
            upstream_id: Some("r1".into()),
            saw_usage: true,
            complete: true,
            streamed: true,
            decode_error: None,
        }
    );
}

#[test]
fn chat_stream_without_usage_chunk() {
    let text = std::str::from_utf8(CHAT_SSE).unwrap();
    let body: String = text
        .split_inclusive("\n\n")
        .filter(|event| !event.contains("\"choices\": []"))
        .collect();
    let got = tap(Protocol::OpenAiChat, SSE, None, [body.as_bytes()]);
    assert_eq!(
        got,
        Extracted {
            model: Some("gpt-4.1".into()),
            upstream_id: Some("chatcmpl-7efcbd31acb540d0989d78a0".into()),
            complete: true,
            streamed: true,
            ..Extracted::default()
        }
    );
}

#[test]
fn body_kind_is_sniffed_not_trusted() {
    for c in cases() {
        for content_type in [None, JSON, SSE, Some("text/plain")] {
            let got = tap(c.protocol, content_type, None, [c.body]);
            let want = Extracted {
                streamed: c.want.streamed || (content_type == SSE && !c.body.starts_with(b"{")),
                ..c.want.clone()
            };
            assert_eq!(got, want, "{} as {content_type:?}", c.name);
        }
        let mut padded = "\u{feff}\n\r\n ".as_bytes().to_vec();
        padded.extend_from_slice(c.body);
        assert_eq!(
            tap(c.protocol, c.content_type, None, [&padded[..]]),
            c.want,
            "{} padded",
            c.name
        );
    }
}

#[test]
fn other_protocol_is_not_metered() {
    for c in cases() {
        assert_eq!(
            tap(Protocol::Other, c.content_type, None, [c.body]),
            Extracted::default()
        );
    }
}

#[test]
fn finish_twice_and_feed_after_finish() {
    let mut t = ResponseTap::new(Protocol::OpenAiChat, SSE, None);
    t.feed(CHAT_SSE);
    let first = t.finish();
    t.feed(b"data: garbage\n\n");
    assert_eq!(t.finish(), first);
    assert!(first.saw_usage);
}

#[test]
fn unsupported_and_corrupt_encodings_stop_metering() {
    let got = tap(Protocol::OpenAiChat, SSE, Some("compress"), [CHAT_SSE]);
    assert!(got.decode_error.as_deref().unwrap().contains("compress"));
    assert!(!got.saw_usage && got.usage.is_zero());

    let mut corrupt = encode("gzip", CHAT_SSE)[..10].to_vec();
    corrupt.extend_from_slice(&[0xFF; 100]);
    let got = tap(Protocol::OpenAiChat, SSE, Some("gzip"), [&corrupt[..]]);
    assert!(got.decode_error.is_some());

    // Not compressed at all although the header says so.
    for coding in ["gzip", "deflate", "br", "zstd"] {
        let got = tap(Protocol::OpenAiChat, SSE, Some(coding), [CHAT_SSE]);
        assert!(got.decode_error.is_some(), "{coding}");
    }

    // Data after the end of a compressed body.
    let mut trailing = encode("br", CHAT_SSE);
    trailing.extend_from_slice(b"junk");
    let got = tap(Protocol::OpenAiChat, SSE, Some("br"), [&trailing[..]]);
    assert!(got.saw_usage);
    assert!(got.decode_error.is_some());

    let got = tap(
        Protocol::OpenAiChat,
        SSE,
        Some("gzip, gzip, gzip, gzip, gzip"),
        [CHAT_SSE],
    );
    assert!(got.decode_error.is_some());
}

#[test]
fn decompression_bombs_are_capped() {
    let zeros = vec![b' '; 8 << 20];
    for coding in ["gzip", "br", "zstd", "deflate"] {
        let bomb = encode(coding, &zeros);
        assert!(bomb.len() < 64 << 10, "{coding} {}", bomb.len());
        let mut t =
            ResponseTap::new(Protocol::Gemini, SSE, Some(coding)).with_decoded_limit(1 << 20);
        t.feed(&bomb);
        let got = t.finish();
        assert!(
            got.decode_error.as_deref().unwrap().contains("exceeds"),
            "{coding}: {got:?}"
        );
    }
}

#[test]
fn garbage_never_panics() {
    use Protocol::*;
    let mut noise = Noise(7);
    let prefixes: [&[u8]; 6] = [
        b"",
        b"data: ",
        b"[",
        b"{",
        b"event: message_start\ndata: {",
        b"[{\"usageMetadata\":",
    ];
    for protocol in [
        AnthropicMessages,
        OpenAiResponses,
        OpenAiChat,
        Gemini,
        Other,
    ] {
        for content_type in [None, SSE, JSON] {
            for encoding in [
                None,
                Some("gzip"),
                Some("br"),
                Some("zstd"),
                Some("deflate"),
            ] {
                for prefix in prefixes {
                    let mut body = prefix.to_vec();
                    body.extend(noise.bytes(4096));
                    let mut t = ResponseTap::new(protocol, content_type, encoding);
                    let mut rest = &body[..];
                    while !rest.is_empty() {
                        let n = (noise.next() as usize % 300 + 1).min(rest.len());
                        t.feed(&rest[..n]);
                        rest = &rest[n..];
                    }
                    // Noise may well close a JSON array (`complete`), but never has usage.
                    let got = t.finish();
                    assert!(!got.saw_usage, "{protocol:?} {encoding:?} {got:?}");
                    if encoding == Some("gzip") && protocol != Other {
                        assert!(got.decode_error.is_some());
                    }
                }
            }
        }
    }
}

#[test]
fn mangled_fixtures_and_json_shaped_noise_never_panic() {
    let mut noise = Noise(11);
    for c in cases() {
        for _ in 0..200 {
            let body = noise.mangle(c.body);
            let pieces = noise.pieces(&body);
            let got = tap(c.protocol, c.content_type, None, pieces.iter().copied());
            // Whatever the numbers became, sums of them cannot overflow.
            assert!(got.usage.total() < u64::MAX / 2, "{}", c.name);
        }
    }
    for protocol in [
        Protocol::AnthropicMessages,
        Protocol::OpenAiResponses,
        Protocol::OpenAiChat,
        Protocol::Gemini,
    ] {
        for _ in 0..300 {
            let body = noise.json_ish(2000);
            let pieces = noise.pieces(&body);
            tap(protocol, None, None, pieces.iter().copied());
        }
    }
}

#[test]
fn non_utf8_payloads_do_not_hide_usage() {
    let mut body = ANTHROPIC_SSE.to_vec();
    let at = body.windows(4).position(|w| w == b"\"po\"").unwrap();
    body.splice(at + 1..at + 3, [0xFF, 0xC3, 0x28]);
    let want = &cases()[1].want;
    assert_any_chunking(
        "anthropic non-utf8",
        Protocol::AnthropicMessages,
        SSE,
        None,
        &body,
        want,
    );

    let mut body = GEMINI_JSON.to_vec();
    let at = body.windows(4).position(|w| w == b"pong").unwrap();
    body.splice(at..at + 4, [0xFE, 0xFF, 0x80]);
    assert_eq!(
        tap(Protocol::Gemini, JSON, None, [&body[..]]),
        cases()[2].want
    );
}

#[test]
fn huge_line_stays_bounded() {
    let mut t = ResponseTap::new(Protocol::OpenAiResponses, SSE, None);
    t.feed(b"event: response.completed\ndata: ");
    let piece = vec![b'x'; 1 << 16];
    for _ in 0..(40 << 20) / piece.len() {
        t.feed(&piece);
    }
    assert!(
        t.buffered() <= 2 * crate::meter::MAX_EVENT_BYTES + 1024,
        "{}",
        t.buffered()
    );
    t.feed(b"\n\n");
    t.feed(RESPONSES_SSE);
    assert_eq!(t.finish(), cases()[7].want);
}

#[test]
fn long_streams_and_big_bodies() {
    // 50 000 deltas, then the usage.
    let text = std::str::from_utf8(RESPONSES_SSE).unwrap();
    let delta = "event: response.output_text.delta\ndata: {\"type\": \"response.output_text.delta\", \"delta\": \"word \"}\n\n";
    let at = text.find("event: response.output_text.delta").unwrap();
    let body = [&text[..at], &delta.repeat(50_000), &text[at..]].concat();
    let mut t = ResponseTap::new(Protocol::OpenAiResponses, SSE, None);
    for piece in body.as_bytes().chunks(1500) {
        t.feed(piece);
        assert!(t.buffered() < 1 << 16);
    }
    assert_eq!(t.finish(), cases()[7].want);

    // A 20 MiB non-streamed body: the content is skipped, the usage after it is read.
    let big_text = "y".repeat(20 << 20);
    let body = String::from_utf8(ANTHROPIC_JSON.to_vec())
        .unwrap()
        .replace("\"pong\"", &format!("\"{big_text}\""));
    let mut t = ResponseTap::new(Protocol::AnthropicMessages, JSON, None);
    for piece in body.as_bytes().chunks(1 << 16) {
        t.feed(piece);
        assert!(t.buffered() < 1 << 16);
    }
    assert_eq!(t.finish(), cases()[0].want);

    // A JSON-array element over the limit is skipped; the next one still counts.
    let lines = data_lines(GEMINI_SSE);
    let huge = lines[0].replace("\"po\"", &format!("\"{}\"", "z".repeat(17 << 20)));
    let body = format!("[{huge},{}]", lines[1]);
    let got = tap(
        Protocol::Gemini,
        JSON,
        None,
        body.as_bytes().chunks(1 << 16),
    );
    assert_eq!(got, cases()[3].want);
}

const EVENT_STREAM: Option<&str> = Some("application/vnd.amazon.eventstream");

#[path = "../../tests/common/bedrock_stream.rs"]
mod bedrock_stream;
use bedrock_stream::bedrock_stream;

#[test]
fn bedrock_event_streams_under_any_chunking() {
    let body = bedrock_stream(ANTHROPIC_SSE);
    let want = full(anthropic_usage(), "claude-sonnet-4-5", "msg_mock_1", true);
    let got = tap(Protocol::AnthropicMessages, EVENT_STREAM, None, [&body[..]]);
    assert_eq!(got.usage, want.usage);
    assert_any_chunking(
        "bedrock",
        Protocol::AnthropicMessages,
        EVENT_STREAM,
        None,
        &body,
        &got,
    );
    assert!(
        got.complete && got.saw_usage && got.decode_error.is_none(),
        "{got:?}"
    );
}

#[test]
fn a_broken_or_failed_event_stream_stops_metering_with_the_reason() {
    use aws_smithy_eventstream::frame::write_message_to;
    use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
    let good = bedrock_stream(ANTHROPIC_SSE);
    // A flipped byte in the last message: its CRC fails.
    let mut bad = good.clone();
    let at = bad.len() - 10;
    bad[at] ^= 0xff;
    let got = tap(Protocol::AnthropicMessages, EVENT_STREAM, None, [&bad[..]]);
    assert!(
        got.decode_error
            .as_deref()
            .unwrap()
            .contains("event stream"),
        "{got:?}"
    );
    assert!(!got.complete);
    // An exception event mid-stream.
    let mut failed = bedrock_stream(&ANTHROPIC_SSE[..ANTHROPIC_SSE.len() / 2]);
    let exception = Message::new(br#"{"message":"throttled"}"#.to_vec())
        .add_header(Header::new(
            ":message-type",
            HeaderValue::String("exception".into()),
        ))
        .add_header(Header::new(
            ":exception-type",
            HeaderValue::String("throttlingException".into()),
        ));
    write_message_to(&exception, &mut failed).unwrap();
    let got = tap(
        Protocol::AnthropicMessages,
        EVENT_STREAM,
        None,
        [&failed[..]],
    );
    assert!(
        got.decode_error
            .as_deref()
            .unwrap()
            .contains("throttlingException"),
        "{got:?}"
    );
    assert!(!got.complete);
    // A message declaring more than gw holds is refused before it is buffered.
    let mut huge = vec![0x7f, 0xff, 0xff, 0xff];
    huge.extend([0u8; 64]);
    let got = tap(Protocol::AnthropicMessages, EVENT_STREAM, None, [&huge[..]]);
    assert!(
        got.decode_error.as_deref().unwrap().contains("bytes"),
        "{got:?}"
    );
}

#[test]
fn a_second_converse_usage_cannot_lower_the_first() {
    let mut body = Vec::new();
    for (event, payload) in [
        (
            "metadata",
            r#"{"usage":{"inputTokens":1000,"outputTokens":70}}"#,
        ),
        (
            "metadata",
            r#"{"usage":{"inputTokens":1,"outputTokens":1}}"#,
        ),
    ] {
        bedrock_stream::event_message(event, payload.as_bytes(), &mut body);
    }
    let got = tap(Protocol::BedrockConverse, EVENT_STREAM, None, [&body[..]]);
    assert_eq!((got.usage.input, got.usage.output), (1000, 70), "{got:?}");
}

#[test]
fn bedrock_invocation_metrics_cross_check_the_usage_and_win_where_they_differ() {
    let sse = String::from_utf8(ANTHROPIC_SSE.to_vec()).unwrap();
    let with_metrics = |metrics: &str| {
        let stop =
            format!(r#"{{"type":"message_stop","amazon-bedrock-invocationMetrics":{metrics}}}"#);
        let sse = sse.replace(r#"{"type": "message_stop"}"#, &stop);
        assert!(
            sse.contains("invocationMetrics"),
            "the fixture has a message_stop"
        );
        bedrock_stream(sse.as_bytes())
    };
    let want = anthropic_usage();
    // Agreeing: nothing to say.
    let agreeing = format!(
        r#"{{"inputTokenCount":{},"outputTokenCount":{},"invocationLatency":9,"firstByteLatency":3,"cacheReadInputTokenCount":{},"cacheWriteInputTokenCount":{}}}"#,
        want.input,
        want.output,
        want.cache_read,
        want.cache_write_5m + want.cache_write_1h
    );
    let got = tap(
        Protocol::AnthropicMessages,
        EVENT_STREAM,
        None,
        [&with_metrics(&agreeing)[..]],
    );
    assert_eq!(
        (got.usage, got.decode_error.clone()),
        (want, None),
        "{got:?}"
    );
    // Bedrock counted ten times more: its counts are what AWS bills, and the row says so.
    let more = r#"{"inputTokenCount":12000,"outputTokenCount":850,"invocationLatency":9,"firstByteLatency":3}"#;
    let got = tap(
        Protocol::AnthropicMessages,
        EVENT_STREAM,
        None,
        [&with_metrics(more)[..]],
    );
    assert_eq!((got.usage.input, got.usage.output), (12000, 850), "{got:?}");
    assert_eq!(got.usage.cache_read, want.cache_read, "not counted: kept");
    assert!(
        got.decode_error
            .as_deref()
            .is_some_and(|e| e.contains("invocation metrics")),
        "{got:?}"
    );
    assert!(got.complete, "{got:?}");
}
