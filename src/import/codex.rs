//! Codex's rollouts: `sessions/YYYY/MM/DD/rollout-…-<thread>.jsonl`, lines of
//! `{"timestamp","type","payload"}`. Each response is a `token_usage_record` (with its
//! `response_id` and this response's `usage`) and a `token_count` event (the same usage, as
//! `last_token_usage`, beside the thread's running `total_token_usage`, which must never be
//! added). Older files have only `token_count`. The model is in the `turn_context` of the
//! response's turn; the session's cwd, version and branch in `session_meta`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use super::{json_line, lines, micros, Call, Skipped};
use crate::meter::Usage;

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default)]
    payload: Value,
}

#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(default)]
struct TokenUsage {
    input_tokens: u64,
    cached_input_tokens: u64,
    cache_write_input_tokens: u64,
    output_tokens: u64,
    reasoning_output_tokens: u64,
    total_tokens: u64,
}

impl TokenUsage {
    /// As gw counts: input without what was read from or written to the cache (OpenAI counts
    /// both inside `input_tokens`); output with its reasoning.
    fn usage(self) -> Usage {
        let cap = crate::limits::cap_tokens;
        Usage {
            input: cap(self
                .input_tokens
                .saturating_sub(self.cached_input_tokens)
                .saturating_sub(self.cache_write_input_tokens)),
            output: cap(self.output_tokens),
            cache_read: cap(self.cached_input_tokens),
            cache_write_5m: cap(self.cache_write_input_tokens),
            cache_write_1h: 0,
            reasoning: cap(self.reasoning_output_tokens),
        }
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn usage_of(v: Option<&Value>) -> Option<TokenUsage> {
    serde_json::from_value(v?.clone()).ok()
}

/// The calls in a whole rollout file.
pub fn parse(bytes: &[u8], skipped: &mut Skipped) -> Vec<Call> {
    let mut session = String::new();
    let mut version = None;
    let mut cwd = None;
    let mut branch = None;
    let mut models: HashMap<String, String> = HashMap::new();
    let mut last_model = String::new();
    let mut records = Vec::new();
    // `token_count` events, used only when the file has no `token_usage_record`.
    let mut counts = Vec::new();
    let mut last_total: Option<TokenUsage> = None;
    for line in lines(bytes) {
        let Some(parsed) = json_line::<Line>(line, skipped) else {
            continue;
        };
        let p = &parsed.payload;
        let at = parsed.timestamp.as_deref().and_then(micros);
        match parsed.kind.as_ref() {
            "session_meta" => {
                session = text(p, "id")
                    .or_else(|| text(p, "session_id"))
                    .unwrap_or_default();
                version = text(p, "cli_version");
                cwd = text(p, "cwd");
                branch = p.get("git").and_then(|g| text(g, "branch"));
            }
            "turn_context" => {
                if let Some(model) = text(p, "model") {
                    if let Some(turn) = text(p, "turn_id") {
                        models.insert(turn, model.clone());
                    }
                    last_model = model;
                }
            }
            "token_usage_record" => {
                let (Some(at), Some(u)) = (at, usage_of(p.get("usage"))) else {
                    skipped.add("a token_usage_record without a time or usage");
                    continue;
                };
                let model = text(p, "turn_id")
                    .and_then(|t| models.get(&t).cloned())
                    .unwrap_or_else(|| last_model.clone());
                records.push((at, model, u, text(p, "response_id")));
            }
            "event_msg" if p.get("type").and_then(Value::as_str) == Some("token_count") => {
                let info = p.get("info");
                let last = usage_of(info.and_then(|i| i.get("last_token_usage")));
                let total = usage_of(info.and_then(|i| i.get("total_token_usage")));
                // A repeated event carries the same running total: the same response.
                if total.is_some() && total == last_total {
                    continue;
                }
                let this = match (last, total, last_total) {
                    (Some(l), _, _) => Some(l),
                    (None, Some(t), Some(prev)) => Some(TokenUsage {
                        input_tokens: t.input_tokens.saturating_sub(prev.input_tokens),
                        cached_input_tokens: t
                            .cached_input_tokens
                            .saturating_sub(prev.cached_input_tokens),
                        cache_write_input_tokens: t
                            .cache_write_input_tokens
                            .saturating_sub(prev.cache_write_input_tokens),
                        output_tokens: t.output_tokens.saturating_sub(prev.output_tokens),
                        reasoning_output_tokens: t
                            .reasoning_output_tokens
                            .saturating_sub(prev.reasoning_output_tokens),
                        total_tokens: t.total_tokens.saturating_sub(prev.total_tokens),
                    }),
                    (None, Some(t), None) => Some(t),
                    (None, None, _) => None,
                };
                if total.is_some() {
                    last_total = total;
                }
                if let (Some(at), Some(u)) = (at, this) {
                    counts.push((at, last_model.clone(), u, total.map(|t| t.total_tokens)));
                }
            }
            _ => {}
        }
    }
    if session.is_empty() {
        if !records.is_empty() || !counts.is_empty() {
            skipped.add("a rollout without its session_meta line");
        }
        return Vec::new();
    }
    // Held once, shared by the rollout's calls.
    let session: Arc<str> = session.into();
    let [version, cwd, branch] = [version, cwd, branch].map(|t| t.map(Arc::<str>::from));
    let call = |at: i64, model: String, u: TokenUsage, response_id: Option<String>| Call {
        at_us: at,
        model: model.into(),
        usage: u.usage(),
        response_id,
        request_id: None,
        session: session.clone(),
        agent_version: version.clone(),
        cwd: cwd.clone(),
        branch: branch.clone(),
        incomplete: false,
        log_cost_nanos: None,
        provider: None,
    };
    let calls: Vec<Call> = if records.is_empty() {
        // No response ids: the thread's running total after the call names it.
        counts
            .into_iter()
            .map(|(at, model, u, total)| {
                let id = total.map(|t| format!("{session}#{t}"));
                call(at, model, u, id)
            })
            .collect()
    } else {
        records
            .into_iter()
            .map(|(at, model, u, id)| call(at, model, u, id))
            .collect()
    };
    calls
        .into_iter()
        .filter(|c| {
            let real = !c.usage.is_zero();
            if !real {
                skipped.add("a usage record with no tokens");
            }
            real
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLLOUT: &str = r#"{"timestamp":"2026-11-28T21:51:30.000Z","ordinal":0,"type":"session_meta","payload":{"id":"01a22424-699c","cwd":"/home/me/app","cli_version":"0.171.0","git":{"branch":"feat/x"}}}
{"timestamp":"2026-11-28T21:51:31.000Z","ordinal":1,"type":"turn_context","payload":{"turn_id":"t1","model":"gpt-5"}}
{"timestamp":"2026-11-28T21:51:36.280Z","ordinal":18,"type":"token_usage_record","payload":{"turn_id":"t1","response_id":"resp_7bb","usage":{"input_tokens":51200,"cached_input_tokens":50000,"cache_write_input_tokens":0,"output_tokens":85,"reasoning_output_tokens":30,"total_tokens":51285},"thread_token_usage":{"input_tokens":51200}}}
{"timestamp":"2026-11-28T21:51:36.282Z","ordinal":19,"type":"event_msg","payload":{"type":"token_count","info":{"total_token_usage":{"input_tokens":51200,"output_tokens":85,"total_tokens":51285},"last_token_usage":{"input_tokens":51200,"cached_input_tokens":50000,"output_tokens":85,"reasoning_output_tokens":30,"total_tokens":51285}}}}
"#;

    #[test]
    fn a_usage_record_is_a_call_with_its_turns_model() {
        let mut skipped = Skipped::default();
        let calls = parse(ROLLOUT.as_bytes(), &mut skipped);
        assert_eq!(calls.len(), 1, "the token_count is the same response");
        let c = &calls[0];
        assert_eq!(&*c.model, "gpt-5");
        assert_eq!(c.response_id.as_deref(), Some("resp_7bb"));
        assert_eq!(
            c.usage,
            Usage {
                input: 1200,
                output: 85,
                cache_read: 50000,
                cache_write_5m: 0,
                cache_write_1h: 0,
                reasoning: 30
            }
        );
        assert_eq!(
            (&*c.session, c.branch.as_deref()),
            ("01a22424-699c", Some("feat/x"))
        );
    }

    #[test]
    fn older_files_count_token_count_events_once_and_never_add_totals() {
        let old: String = ROLLOUT
            .lines()
            .filter(|l| !l.contains("token_usage_record"))
            .map(|l| format!("{l}\n"))
            .collect();
        // The same event again (older versions re-emitted it), then a second response.
        let again = old.lines().last().unwrap().to_string();
        let second = again
            .replace(
                "\"total_tokens\":51285},\"last",
                "\"total_tokens\":102570},\"last",
            )
            .replace(
                "\"input_tokens\":51200,\"output_tokens\":85",
                "\"input_tokens\":102400,\"output_tokens\":170",
            );
        let text = format!("{old}{again}\n{second}\n");
        let mut skipped = Skipped::default();
        let calls = parse(text.as_bytes(), &mut skipped);
        assert_eq!(
            calls.len(),
            2,
            "{:?}",
            calls.iter().map(|c| c.usage).collect::<Vec<_>>()
        );
        assert!(
            calls.iter().all(|c| c.usage.output == 85),
            "each response's own usage"
        );
        assert_ne!(calls[0].response_id, calls[1].response_id);
    }
}
