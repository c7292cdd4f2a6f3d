//! Gemini CLI's chats: `tmp/<project>/chats/session-*.jsonl` under `~/.gemini` (or
//! `$GEMINI_CLI_HOME/.gemini`). The first line is the session's header; then message records,
//! `{"$set": {...}}` patches (`messages` replaces the whole list) and `{"$rewindTo": id}`. A
//! billed call is a `type:"gemini"` message with `tokens`; one can be written twice (again with
//! its tool calls): upsert by id, the last wins. A rewind drops messages from the chat, not
//! the tokens they cost. The legacy `session-*.json` is one JSON object with `messages`.
//! The chat holds no provider id and no cwd (the project's root is in `.project_root`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use super::{json_line, lines, micros, Call, Skipped};
use crate::meter::Usage;

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(default)]
struct Tokens {
    input: u64,
    output: u64,
    cached: u64,
    thoughts: u64,
}

impl Tokens {
    /// As gw's proxy counts Gemini's usage (`meter::wire`): `input` (the prompt) holds the
    /// cached part; thoughts are output. Tool-use prompt tokens are left out, as the proxy
    /// leaves them: counted here, no call with them would match its proxy row.
    fn usage(self) -> Usage {
        let cap = crate::limits::cap_tokens;
        Usage {
            input: cap(self.input.saturating_sub(self.cached)),
            output: cap(self.output.saturating_add(self.thoughts)),
            cache_read: cap(self.cached),
            cache_write_5m: 0,
            cache_write_1h: 0,
            reasoning: cap(self.thoughts),
        }
    }
}

/// A chat file's calls. `path` locates the project's root (`../.project_root`).
pub fn parse(path: &Path, bytes: &[u8], skipped: &mut Skipped) -> Vec<Call> {
    let mut session = String::new();
    // By message id, in first-seen order; a later copy replaces an earlier one.
    let mut messages: Vec<(String, Value)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut take = |m: &Value, messages: &mut Vec<(String, Value)>| {
        if m.get("type").and_then(Value::as_str) != Some("gemini") || m.get("tokens").is_none() {
            return;
        }
        let Some(id) = m.get("id").and_then(Value::as_str) else {
            return;
        };
        match index.get(id) {
            Some(&i) => messages[i].1 = m.clone(),
            None => {
                index.insert(id.to_string(), messages.len());
                messages.push((id.to_string(), m.clone()));
            }
        }
    };
    let legacy = path.extension().and_then(|e| e.to_str()) == Some("json");
    if legacy {
        match json_line::<Value>(bytes, skipped) {
            Some(doc) => {
                session = doc
                    .get("sessionId")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                for m in doc
                    .get("messages")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    take(m, &mut messages);
                }
            }
            None => return Vec::new(),
        }
    } else {
        for line in lines(bytes) {
            let Some(v) = json_line::<Value>(line, skipped) else {
                continue;
            };
            if let Some(id) = v.get("sessionId").and_then(Value::as_str) {
                if session.is_empty() {
                    session = id.to_string();
                }
                continue;
            }
            if let Some(set) = v.get("$set") {
                for m in set
                    .get("messages")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    take(m, &mut messages);
                }
                continue;
            }
            if v.get("$rewindTo").is_some() {
                // The tokens were spent: nothing is dropped.
                continue;
            }
            take(&v, &mut messages);
        }
    }
    if session.is_empty() {
        if !messages.is_empty() {
            skipped.add("a chat without its session header");
        }
        return Vec::new();
    }
    let root = path
        .parent()
        .and_then(Path::parent)
        .and_then(|p| std::fs::read_to_string(p.join(".project_root")).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    // Held once, shared by the chat's calls.
    let session: Arc<str> = session.into();
    let root: Option<Arc<str>> = root.map(Into::into);
    let mut calls = Vec::new();
    for (id, m) in messages {
        let tokens: Tokens = m
            .get("tokens")
            .and_then(|t| serde_json::from_value(t.clone()).ok())
            .unwrap_or_default();
        let usage = tokens.usage();
        let Some(at) = m.get("timestamp").and_then(Value::as_str).and_then(micros) else {
            skipped.add("a reply without a time");
            continue;
        };
        if usage.is_zero() {
            skipped.add("a usage record with no tokens");
            continue;
        }
        calls.push(Call {
            at_us: at,
            model: m.get("model").and_then(Value::as_str).unwrap_or("").into(),
            usage,
            // The chat's own message id: unique, though no provider's.
            response_id: Some(format!("gemini-cli:{id}")),
            request_id: None,
            session: session.clone(),
            agent_version: None,
            cwd: root.clone(),
            branch: None,
            incomplete: false,
            log_cost_nanos: None,
            provider: None,
        });
    }
    calls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_upsert_by_id_and_rewinds_keep_their_tokens() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".project_root"), "/home/me/app\n").unwrap();
        let chats = dir.path().join("chats");
        std::fs::create_dir_all(&chats).unwrap();
        let path = chats.join("session-2026-11-28T21-51-4c0719fc.jsonl");
        let text = r#"{"sessionId":"4c0719fc-1","projectHash":"ab","startTime":"2026-11-28T21:51:00Z","kind":"main"}
{"$set":{"messages":[{"id":"u1","type":"user","content":"hi","timestamp":"2026-11-28T21:51:50Z"}]}}
{"id":"g1","timestamp":"2026-11-28T21:51:57.397Z","type":"gemini","content":"","tokens":{"input":51200,"output":85,"cached":50000,"thoughts":30,"tool":0,"total":51315},"model":"gemini-2.5-pro"}
{"id":"g1","timestamp":"2026-11-28T21:51:57.397Z","type":"gemini","content":"","toolCalls":[{"id":"c"}],"tokens":{"input":51200,"output":85,"cached":50000,"thoughts":30,"tool":0,"total":51315},"model":"gemini-2.5-pro"}
{"id":"g2","timestamp":"2026-11-28T21:52:10Z","type":"gemini","content":"pong","tokens":{"input":100,"output":5,"cached":0,"thoughts":0,"tool":0,"total":105},"model":"gemini-2.5-pro"}
{"$rewindTo":"g2"}
"#;
        let mut skipped = Skipped::default();
        let calls = parse(&path, text.as_bytes(), &mut skipped);
        assert_eq!(calls.len(), 2, "{skipped:?}");
        assert_eq!(
            calls[0].usage,
            Usage {
                input: 1200,
                output: 115,
                cache_read: 50000,
                cache_write_5m: 0,
                cache_write_1h: 0,
                reasoning: 30
            }
        );
        assert_eq!(&*calls[0].session, "4c0719fc-1");
        assert_eq!(calls[0].cwd.as_deref(), Some("/home/me/app"));
        assert_eq!(calls[1].usage.output, 5);
    }
}
