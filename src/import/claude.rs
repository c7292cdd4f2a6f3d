//! Claude Code's session logs: `projects/<cwd>/<session>.jsonl` (and `<session>/subagents/
//! agent-*.jsonl`), one JSON object a line. A billed call is a `type:"assistant"` line with
//! `message.usage`; a streamed answer is written once per content block, each line with the
//! same message id, request id and full usage (one call); a forked session's file copies its
//! parent's lines (the same call again). API errors are `<synthetic>` lines with zero usage.

use std::borrow::Cow;

use serde::Deserialize;

use super::{json_text, micros, utf8_line, Call, Skipped};
use crate::meter::Usage;

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(rename = "isApiErrorMessage", default)]
    api_error: bool,
    #[serde(borrow)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(rename = "sessionId", borrow)]
    session: Option<Cow<'a, str>>,
    #[serde(borrow)]
    cwd: Option<Cow<'a, str>>,
    #[serde(rename = "gitBranch", borrow)]
    branch: Option<Cow<'a, str>>,
    #[serde(borrow)]
    version: Option<Cow<'a, str>>,
    #[serde(rename = "requestId", borrow)]
    request_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    message: Option<Message<'a>>,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(borrow)]
    stop_reason: Option<Cow<'a, str>>,
    usage: Option<LogUsage>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LogUsage {
    input_tokens: u64,
    output_tokens: u64,
    cache_read_input_tokens: u64,
    cache_creation_input_tokens: u64,
    cache_creation: Option<CacheCreation>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CacheCreation {
    ephemeral_5m_input_tokens: u64,
    ephemeral_1h_input_tokens: u64,
}

/// The calls an import has met, by a hash of their message and request ids: a line of one
/// (the same answer's next content block, a forked session's copy) is a duplicate, known
/// without parsing it.
#[derive(Default)]
pub struct Seen {
    /// Seeded at random for each import (foldhash, not SipHash with fixed keys): a log's writer
    /// cannot make another call's ids hash like one of its lines, to have that call skipped.
    hasher: foldhash::quality::RandomState,
    keys: std::collections::HashSet<u64, foldhash::quality::RandomState>,
    /// The texts of the calls met so far.
    texts: super::Texts,
}

/// The value of `"key":"` in a line: up to the next quote (JSON escapes quotes in strings, so
/// the pattern cannot start inside one).
fn value_after<'a>(line: &'a [u8], key: &memchr::memmem::Finder<'_>) -> Option<&'a [u8]> {
    let at = key.find(line)? + key.needle().len();
    let len = memchr::memchr(b'"', &line[at..])?;
    Some(&line[at..at + len])
}

fn quick_key(line: &[u8], seen: &Seen) -> Option<u64> {
    use std::hash::BuildHasher;
    use std::sync::LazyLock;
    // Built once: a searcher's set-up costs as much as searching a line.
    static ID: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new(b"\"id\":\"msg_"));
    static REQUEST: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new(b"\"requestId\":\""));
    let id = value_after(line, &ID)?;
    let request = value_after(line, &REQUEST).unwrap_or_default();
    Some(seen.hasher.hash_one((id, request)))
}

/// The line with the value after its first `"content":` (the reply's blocks: most of an
/// assistant line, and nothing gw reads) replaced by `0`, found by a scan that follows only
/// strings and brackets, so serde parses the rest alone. In valid JSON the match's second quote
/// closes a key (`content`, or one ending in `\"content`), and gw reads no member of either name
/// at any depth: the cut changes nothing gw reads. A value that does not end on the line, or whose
/// brackets do not match, is left as it is. Not checked inside the cut value: a control byte in a
/// string, a bad escape, commas between values (serde refused those; the line's call now counts).
/// Both ends of the cut are ASCII bytes (a colon; a quote, bracket or comma, or the line's end),
/// so the text stays UTF-8 with no second check.
fn without_content(line: &str) -> Cow<'_, str> {
    use std::sync::LazyLock;
    static CONTENT: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new(b"\"content\":"));
    let Some(start) = CONTENT
        .find(line.as_bytes())
        .map(|at| at + CONTENT.needle().len())
    else {
        return Cow::Borrowed(line);
    };
    let Some(end) = value_end(line.as_bytes(), start) else {
        return Cow::Borrowed(line);
    };
    let mut cut = String::with_capacity(line.len() + 1 - (end - start));
    cut.push_str(&line[..start]);
    cut.push('0');
    cut.push_str(&line[end..]);
    Cow::Owned(cut)
}

/// Where the JSON value that starts at `from` (after any whitespace) ends: strings are skipped
/// by searching for their quote (most of a reply is text), brackets matched (up to 128 deep),
/// nothing else read. None for a value that does not end, or whose brackets do not match.
fn value_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    let mut depth = 0u32;
    // Bit n: whether the bracket open at depth n + 1 is a brace.
    let mut braces = 0u128;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => {
                i += 1;
                loop {
                    i += memchr::memchr2(b'"', b'\\', bytes.get(i..)?)?;
                    if bytes[i] == b'"' {
                        i += 1;
                        break;
                    }
                    // An escape: the byte after the backslash is never the string's end.
                    i += 2;
                }
                if depth == 0 {
                    return Some(i);
                }
            }
            b'[' | b'{' if depth < u128::BITS => {
                braces = braces & !(1 << depth) | u128::from(b == b'{') << depth;
                depth += 1;
                i += 1;
            }
            b'[' | b'{' => return None,
            // At depth 0 a close or a comma ends a number, `true`, `false` or `null`.
            b']' | b'}' if depth == 0 => return Some(i),
            b']' | b'}' => {
                depth -= 1;
                if (braces >> depth & 1 == 1) != (b == b'}') {
                    return None;
                }
                i += 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            b',' if depth == 0 => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// The whole lines of a Claude Code log that hold `"assistant"`, found by searching the
/// bytes once (logs run to gigabytes, most of them the user's turns and tool output, which are
/// then never split into lines).
fn assistant_lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    use std::sync::LazyLock;
    static ASSISTANT: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new(b"\"assistant\""));
    let mut from = 0;
    std::iter::from_fn(move || {
        let rest = bytes.get(from..)?;
        let at = from + ASSISTANT.find(rest)?;
        let start = memchr::memrchr(b'\n', &bytes[from..at]).map_or(from, |i| from + i + 1);
        let end = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |i| at + i);
        from = end + 1;
        Some(&bytes[start..end])
    })
}

/// Adds the calls in whole lines of a Claude Code log to `calls`; answers how many lines were
/// copies of calls `seen` already holds (not parsed: every copy carries the same usage).
pub fn parse(bytes: &[u8], skipped: &mut Skipped, seen: &mut Seen, calls: &mut Vec<Call>) -> u64 {
    let mut copies = 0;
    // Most lines are the user's turns and tool output: no JSON parse for those.
    for line in assistant_lines(bytes) {
        let key = quick_key(line, seen);
        if key.is_some_and(|k| seen.keys.contains(&k)) {
            copies += 1;
            continue;
        }
        // UTF-8 over the whole line (the cut part too), as before the cut.
        let Some(line) = utf8_line(line, skipped) else {
            continue;
        };
        let line = without_content(line);
        let Some(parsed) = json_text::<Line>(&line, skipped) else {
            continue;
        };
        if parsed.kind.as_deref() != Some("assistant") {
            continue;
        }
        let Some(message) = parsed.message else {
            skipped.add("an assistant line without a message");
            continue;
        };
        let model = message.model.as_deref().unwrap_or("");
        if parsed.api_error || model == "<synthetic>" {
            skipped.add("an API error the agent logged (no call billed)");
            continue;
        }
        let Some(u) = message.usage else {
            skipped.add("an assistant line without usage");
            continue;
        };
        let (Some(at), Some(session)) = (
            parsed.timestamp.as_deref().and_then(micros),
            parsed.session.as_deref(),
        ) else {
            skipped.add("an assistant line without a time or session");
            continue;
        };
        // The 5m/1h split only when it adds up to the total (message_delta can replace the
        // total while the split stays message_start's).
        let split = u.cache_creation.unwrap_or_default();
        let one_hour = if split
            .ephemeral_5m_input_tokens
            .checked_add(split.ephemeral_1h_input_tokens)
            == Some(u.cache_creation_input_tokens)
        {
            split.ephemeral_1h_input_tokens
        } else {
            0
        };
        let usage = Usage {
            input: crate::limits::cap_tokens(u.input_tokens),
            output: crate::limits::cap_tokens(u.output_tokens),
            cache_read: crate::limits::cap_tokens(u.cache_read_input_tokens),
            cache_write_5m: crate::limits::cap_tokens(u.cache_creation_input_tokens - one_hour),
            cache_write_1h: crate::limits::cap_tokens(one_hour),
            reasoning: 0,
        };
        if usage.is_zero() {
            skipped.add("an assistant line with no usage");
            continue;
        }
        let texts = &mut seen.texts;
        calls.push(Call {
            at_us: at,
            model: texts.get(model),
            usage,
            response_id: message.id.map(Cow::into_owned),
            request_id: parsed.request_id.map(Cow::into_owned),
            session: texts.get(session),
            agent_version: parsed.version.map(|v| texts.get(&v)),
            cwd: parsed.cwd.map(|c| texts.get(&c)),
            branch: parsed.branch.map(|b| texts.get(&b)),
            incomplete: message.stop_reason.is_none(),
            log_cost_nanos: None,
            provider: None,
        });
        if let Some(k) = key {
            seen.keys.insert(k);
        }
    }
    copies
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"parentUuid":"6e9b","isSidechain":false,"message":{"id":"msg_f06","type":"message","role":"assistant","model":"claude-opus-4-8","content":[{"type":"thinking"}],"stop_reason":"tool_use","usage":{"input_tokens":1200,"cache_creation_input_tokens":3000,"cache_read_input_tokens":50000,"output_tokens":85,"server_tool_use":{"web_search_requests":0},"service_tier":"standard","cache_creation":{"ephemeral_1h_input_tokens":1000,"ephemeral_5m_input_tokens":2000}}},"requestId":"req_0f4","type":"assistant","uuid":"4ba5","timestamp":"2026-11-28T21:49:38.206Z","cwd":"/home/me/src/app","sessionId":"4f5ef541","version":"2.1.197","gitBranch":"main"}"#;

    /// What gw reads of a line, or why not (serde's error kind).
    fn read(json: &[u8]) -> Result<String, String> {
        let l: Line = serde_json::from_slice(json).map_err(|e| format!("{:?}", e.classify()))?;
        let m = l.message.as_ref();
        let u = m.and_then(|m| m.usage.as_ref());
        Ok(format!(
            "{:?} {} {:?} {:?} {:?} {:?} {:?} {:?} | {:?} {:?} {:?} | {:?}",
            l.kind,
            l.api_error,
            l.timestamp,
            l.session,
            l.cwd,
            l.branch,
            l.version,
            l.request_id,
            m.map(|m| &m.id),
            m.map(|m| &m.model),
            m.map(|m| &m.stop_reason),
            u.map(|u| (
                u.input_tokens,
                u.output_tokens,
                u.cache_read_input_tokens,
                u.cache_creation_input_tokens,
                u.cache_creation
                    .as_ref()
                    .map(|c| (c.ephemeral_5m_input_tokens, c.ephemeral_1h_input_tokens))
            )),
        ))
    }

    #[test]
    fn a_line_without_its_content_reads_as_the_whole_line() {
        const BLOCKS: &str = r#""content":[{"type":"thinking"}],"#;
        let tool_use = r#""content":[{"type":"tool_use","input":{"usage":{"input_tokens":9},"id":"msg_x","content":{"model":"m"}}},{"type":"text","text":"a \"quoted\" \\ }] {[ \\\\"}],"#;
        let cases = [
            (LINE.to_string(), true),
            // What the reply's content holds, however it is written, is not gw's.
            (LINE.replace(BLOCKS, tool_use), true),
            (LINE.replace(BLOCKS, r#""content" : "text \" ],","#), false),
            (LINE.replace(BLOCKS, r#""content":"a\\","#), true),
            (LINE.replace(BLOCKS, r#""content":  12.5e3 ,"#), true),
            (LINE.replace(BLOCKS, r#""content":null}, "x":{"#), true),
            (LINE.replace(BLOCKS, r#""content":[],"#), true),
            // A content that does not end, and one that does not parse: left to serde.
            (LINE.replace(BLOCKS, r#""content":[{"type":"x"],"#), false),
            (LINE[..LINE.find(BLOCKS).unwrap() + 14].to_string(), false),
            (r#"{"type":"assistant","content":[1,"#.to_string(), false),
            // A backslash as the line's last byte, inside a string: the scan stops, no cut.
            (r#"{"type":"assistant","content":"abc\"#.to_string(), false),
            // Deeper than the scan follows (and than serde parses).
            (
                LINE.replace(
                    BLOCKS,
                    &format!("\"content\":{}{},", "[".repeat(200), "]".repeat(200)),
                ),
                false,
            ),
            // The cut at the top level: the usage beside it is read as before.
            (
                r#"{"content":[{"a":"]"}],"type":"assistant","message":{"usage":{"output_tokens":3}}}"#
                    .to_string(),
                true,
            ),
        ];
        for (line, cut) in &cases {
            let without = without_content(line);
            assert_eq!(matches!(without, Cow::Owned(_)), *cut, "{line}");
            assert_eq!(read(without.as_bytes()), read(line.as_bytes()), "{line}");
        }
        // A bad byte in the cut part is still a line that is not UTF-8.
        let mut bad = LINE
            .replace(BLOCKS, r#""content":[{"text":"a?b"}],"#)
            .into_bytes();
        let at = bad.iter().position(|&b| b == b'?').unwrap();
        bad[at] = 0xff;
        bad.push(b'\n');
        let (mut skipped, mut calls) = (Skipped::default(), Vec::new());
        parse(&bad, &mut skipped, &mut Seen::default(), &mut calls);
        assert!(calls.is_empty());
        assert_eq!(skipped.0["a line that is not UTF-8"], 1);
    }

    #[test]
    fn assistant_lines_are_the_whole_lines_holding_it() {
        let bytes = b"\"assistant\" first\nuser\nx \"assistant\" and \"assistant\"\n\n\"assistan\"\nlast \"assistant\"";
        let found: Vec<&[u8]> = assistant_lines(bytes).collect();
        assert_eq!(
            found,
            [
                &b"\"assistant\" first"[..],
                b"x \"assistant\" and \"assistant\"",
                b"last \"assistant\""
            ]
        );
        assert_eq!(assistant_lines(b"").count(), 0);
        assert_eq!(assistant_lines(b"\n\"assistant\"\n").count(), 1);
    }

    #[test]
    fn an_assistant_line_is_a_call() {
        let mut skipped = Skipped::default();
        let mut calls = Vec::new();
        parse(
            format!("{LINE}\n").as_bytes(),
            &mut skipped,
            &mut Seen::default(),
            &mut calls,
        );
        assert_eq!(calls.len(), 1, "{skipped:?}");
        let c = &calls[0];
        assert_eq!(&*c.model, "claude-opus-4-8");
        assert_eq!(
            c.usage,
            Usage {
                input: 1200,
                output: 85,
                cache_read: 50000,
                cache_write_5m: 2000,
                cache_write_1h: 1000,
                reasoning: 0
            }
        );
        assert_eq!(c.response_id.as_deref(), Some("msg_f06"));
        assert_eq!(c.request_id.as_deref(), Some("req_0f4"));
        assert_eq!(
            (&*c.session, c.branch.as_deref()),
            ("4f5ef541", Some("main"))
        );
        assert!(!c.incomplete);
    }

    #[test]
    fn errors_junk_and_split_totals_are_handled() {
        let synthetic = r#"{"type":"assistant","isApiErrorMessage":true,"message":{"id":"0a1b","model":"<synthetic>","usage":{"input_tokens":0,"output_tokens":0}},"timestamp":"2026-11-28T21:49:38Z","sessionId":"s"}"#;
        // message_delta replaced the total; the split stayed message_start's: all 5m.
        let replaced = LINE
            .replace(
                "\"ephemeral_1h_input_tokens\":1000",
                "\"ephemeral_1h_input_tokens\":0",
            )
            .replace(
                "\"ephemeral_5m_input_tokens\":2000",
                "\"ephemeral_5m_input_tokens\":0",
            );
        let mut bytes = format!(
            "{synthetic}\n{{\"type\":\"assistant\", broken\n{replaced}\n{{\"type\":\"user\",\"message\":{{\"role\":\"user\"}}}}\n"
        )
        .into_bytes();
        bytes.extend_from_slice(b"\xff\"assistant\"\n");
        let mut skipped = Skipped::default();
        let mut calls = Vec::new();
        parse(&bytes, &mut skipped, &mut Seen::default(), &mut calls);
        assert_eq!(calls.len(), 1);
        assert_eq!(
            (calls[0].usage.cache_write_5m, calls[0].usage.cache_write_1h),
            (3000, 0)
        );
        assert_eq!(
            skipped.0["an API error the agent logged (no call billed)"],
            1
        );
        assert_eq!(skipped.0["a line that is not JSON"], 1);
        assert_eq!(skipped.0["a line that is not UTF-8"], 1);
    }
}
