//! opencode's SQLite database (`$XDG_DATA_HOME/opencode/opencode.db`, or `OPENCODE_DB`): one
//! `message` row per model step, its `data` JSON holding the step's tokens (disjoint: input
//! uncached, output without reasoning) and opencode's own cost. Read-only, beside a running
//! opencode (the database is in WAL mode). The title call opencode makes is not stored.

use std::path::Path;

use rusqlite::{OpenFlags, OptionalExtension};
use serde::Deserialize;

use super::{Call, Skipped};
use crate::meter::{Provider, Usage};

#[derive(Deserialize, Default)]
#[serde(default)]
struct Data {
    role: String,
    #[serde(rename = "modelID")]
    model: String,
    #[serde(rename = "providerID")]
    provider: String,
    cost: f64,
    tokens: Tokens,
    path: PathInfo,
    time: Times,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Tokens {
    input: u64,
    output: u64,
    reasoning: u64,
    cache: Cache,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Cache {
    read: u64,
    write: u64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PathInfo {
    cwd: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Times {
    created: Option<i64>,
    /// Set when the step ended; its tokens are final then.
    completed: Option<i64>,
}

/// A step begun this long ago (ms) without ending is taken as it stands (an opencode that was
/// killed never ends it); a younger one is still running, and read when it ends.
const STILL_RUNNING_MS: i64 = 3_600_000;

/// The provider a step's `providerID` names, as gw prices it.
pub fn provider(id: &str) -> Option<Provider> {
    match id {
        "anthropic" => Some(Provider::Anthropic),
        "openai" => Some(Provider::OpenAi),
        "google" => Some(Provider::Gemini),
        "amazon-bedrock" => Some(Provider::Bedrock),
        "google-vertex" | "google-vertex-anthropic" => Some(Provider::Vertex),
        "azure" => Some(Provider::Azure),
        _ => None,
    }
}

/// Every assistant step in the database, with the provider each names.
pub fn read(path: &Path, skipped: &mut Skipped) -> rusqlite::Result<Vec<(Call, Option<Provider>)>> {
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // The file is another program's: its schema's views and triggers call no function with side
    // effects, and nothing here writes.
    conn.pragma_update(None, "trusted_schema", "OFF")?;
    conn.pragma_update(None, "query_only", "ON")?;
    let now_ms = jiff::Timestamp::now().as_millisecond();
    // A table, as opencode makes it: a view could compute without end.
    let kind: Option<String> = conn
        .query_row(
            "SELECT type FROM sqlite_master WHERE name = 'message'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if kind.as_deref() != Some("table") {
        skipped.add("an opencode database without its message table");
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare(
        "SELECT id, session_id, time_created, data FROM message ORDER BY time_created, id",
    )?;
    let mut rows = stmt.query([])?;
    let mut calls = Vec::new();
    // The texts the database's messages repeat, held once.
    let mut texts = super::Texts::default();
    while let Some(r) = rows.next()? {
        let (Ok(id), Ok(session), Ok(created)) = (
            r.get::<_, String>(0),
            r.get::<_, String>(1),
            r.get::<_, i64>(2),
        ) else {
            skipped.add("a message whose id, session or time is not what opencode writes");
            continue;
        };
        let data: String = match r.get(3) {
            Ok(d) => d,
            Err(_) => {
                skipped.add("a message whose data is not text");
                continue;
            }
        };
        let Ok(d) = serde_json::from_str::<Data>(&data) else {
            skipped.add("a message whose data is not JSON");
            continue;
        };
        if d.role != "assistant" {
            continue;
        }
        let cap = crate::limits::cap_tokens;
        let usage = Usage {
            input: cap(d.tokens.input),
            output: cap(d.tokens.output.saturating_add(d.tokens.reasoning)),
            cache_read: cap(d.tokens.cache.read),
            cache_write_5m: cap(d.tokens.cache.write),
            cache_write_1h: 0,
            reasoning: cap(d.tokens.reasoning),
        };
        if usage.is_zero() {
            skipped.add("a usage record with no tokens");
            continue;
        }
        let at_ms = d.time.created.unwrap_or(created);
        let ended = d.time.completed.is_some();
        if !ended && now_ms.saturating_sub(at_ms) < STILL_RUNNING_MS {
            skipped.add("an opencode step still running (read when it ends)");
            continue;
        }
        let cost = (d.cost.is_finite() && d.cost > 0.0).then(|| {
            (d.cost * 1e9)
                .round()
                .min(crate::limits::MAX_COST_NANOS as f64) as i64
        });
        calls.push((
            Call {
                at_us: at_ms.saturating_mul(1000),
                model: texts.get(&d.model),
                usage,
                response_id: Some(format!("opencode:{id}")),
                request_id: None,
                session: texts.get(&session),
                agent_version: None,
                cwd: d.path.cwd.map(|c| texts.get(&c)),
                branch: None,
                incomplete: !ended,
                log_cost_nanos: cost,
                provider: None,
            },
            provider(&d.provider),
        ));
    }
    Ok(calls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assistant_steps_are_calls_with_opencodes_cost() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("opencode.db");
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE message (id TEXT PRIMARY KEY, session_id TEXT, time_created INTEGER, time_updated INTEGER, data TEXT);",
        )
        .unwrap();
        let step = r#"{"parentID":"msg_1","role":"assistant","path":{"cwd":"/home/me/app","root":"/home/me/app"},"cost":0.031125,"tokens":{"total":54285,"input":1200,"output":85,"reasoning":0,"cache":{"write":3000,"read":50000}},"modelID":"claude-sonnet-4-5","providerID":"anthropic","time":{"created":1795902735707,"completed":1795902736412},"finish":"stop"}"#;
        // A step still running (no end, begun a minute ago), and one that never ended, begun
        // long ago (an opencode killed mid-step).
        let now = jiff::Timestamp::now().as_millisecond();
        let running = step
            .replace("1795902735707", &(now - 60_000).to_string())
            .replace(r#","completed":1795902736412"#, "");
        let abandoned = step
            .replace("1795902735707", "1795902700000")
            .replace(r#","completed":1795902736412"#, "");
        for (id, data) in [
            ("msg_1", r#"{"role":"user"}"#),
            ("msg_2", step),
            ("msg_3", "not json"),
            ("msg_4", &running),
            ("msg_5", &abandoned),
        ] {
            conn.execute(
                "INSERT INTO message VALUES (?1, 'ses_1', 1795902735000, 0, ?2)",
                rusqlite::params![id, data],
            )
            .unwrap();
        }
        drop(conn);
        let mut skipped = Skipped::default();
        let calls = read(&path, &mut skipped).unwrap();
        assert_eq!(calls.len(), 2);
        assert!(!calls[0].0.incomplete && calls[1].0.incomplete);
        assert_eq!(
            skipped.0["an opencode step still running (read when it ends)"],
            1
        );
        let (c, p) = &calls[0];
        assert_eq!(*p, Some(Provider::Anthropic));
        assert_eq!(
            (c.usage.input, c.usage.cache_write_5m, c.usage.cache_read),
            (1200, 3000, 50000)
        );
        assert_eq!(c.log_cost_nanos, Some(31_125_000));
        assert_eq!(c.at_us, 1_795_902_735_707_000);
        assert_eq!(skipped.0["a message whose data is not JSON"], 1);
    }
}
