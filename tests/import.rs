//! `gw import`: Claude Code's and Codex's logs (in their real formats, with their duplicate
//! traps) into the ledger, once; again only what was appended; never a call gw's proxy metered.

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

use gw::ledger::{Ledger, Row, Source};

const GW: &str = env!("CARGO_BIN_EXE_gw");

struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, text: &[u8]) -> PathBuf {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    fn append(&self, rel: &str, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(self.path(rel))
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    fn gw(&self, args: &[&str]) -> (bool, String) {
        let out = Command::new(GW)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("USER", "tester")
            .env("GW_CONFIG", self.path("config.toml"))
            .env("GW_DATA_DIR", self.path("data"))
            .env("CLAUDE_CONFIG_DIR", self.path("claude"))
            .env("CODEX_HOME", self.path("codex"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned()
                + &String::from_utf8_lossy(&out.stdout),
        )
    }

    fn ledger(&self) -> Ledger {
        Ledger::open(&self.path("data/ledger.db")).unwrap()
    }

    fn rows(&self) -> Vec<Row> {
        let mut rows = self.ledger().recent(10_000).unwrap();
        rows.reverse();
        rows
    }
}

/// A Claude Code assistant line: one content block of message `msg` (request `req`).
fn claude_line(msg: &str, req: &str, session: &str, at: &str, output: u64, block: &str) -> String {
    format!(
        r#"{{"parentUuid":"p","isSidechain":false,"message":{{"id":"{msg}","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{{"type":"{block}"}}],"stop_reason":"tool_use","usage":{{"input_tokens":1200,"cache_creation_input_tokens":3000,"cache_read_input_tokens":50000,"output_tokens":{output},"cache_creation":{{"ephemeral_1h_input_tokens":0,"ephemeral_5m_input_tokens":3000}}}}}},"requestId":"{req}","type":"assistant","uuid":"u-{block}","timestamp":"{at}","cwd":"/home/me/app","sessionId":"{session}","version":"2.1.197","gitBranch":"feat/import"}}
"#
    )
}

const USER: &str = r#"{"type":"user","message":{"role":"user","content":"hi"},"toolUseResult":{"usage":{"input_tokens":999,"output_tokens":999}},"timestamp":"2026-11-28T10:00:00Z","sessionId":"s1"}
"#;
const SYNTHETIC: &str = r#"{"type":"assistant","isApiErrorMessage":true,"message":{"id":"6b0e","model":"<synthetic>","usage":{"input_tokens":0,"output_tokens":0}},"timestamp":"2026-11-28T10:00:09Z","sessionId":"s1"}
"#;

fn claude_session() -> String {
    // msg_a streamed as three blocks (one call), msg_b, msg_c (gw's proxy metered it), an API
    // error, the user's turn with a sub-agent's usage copy.
    let mut s = String::new();
    s += USER;
    for block in ["thinking", "text", "tool_use"] {
        s += &claude_line("msg_a", "req_a", "s1", "2026-11-28T10:00:01Z", 85, block);
    }
    s += &claude_line("msg_b", "req_b", "s1", "2026-11-28T10:00:05Z", 40, "text");
    s += &claude_line("msg_c", "req_c", "s1", "2026-11-28T10:00:07Z", 10, "text");
    s += SYNTHETIC;
    s
}

/// A ledger row gw's proxy recorded for `req_c` (as `gw run claude` would have).
fn proxy_row(home: &Home) {
    let row = Row {
        id: uuid::Uuid::now_v7(),
        started_at_us: 1_795_860_000_000_000,
        ended_at_us: 1_795_860_001_000_000,
        provider: "anthropic".into(),
        endpoint: "/v1/messages".into(),
        model: Some("claude-sonnet-4-5".into()),
        status: 200,
        upstream_request_id: Some("req_c".into()),
        response_id: Some("msg_c".into()),
        source: Source::Proxy,
        price_version: "t".into(),
        ..Row::default()
    };
    home.ledger().insert([&row]).unwrap();
}

#[test]
fn claude_code_logs_import_once_and_never_a_call_the_proxy_metered() {
    let home = Home::new();
    let log = "claude/projects/-home-me-app/s1.jsonl";
    home.write(log, claude_session().as_bytes());
    // A sub-agent's file, and a forked session copying msg_a with its ids and times.
    home.write(
        "claude/projects/-home-me-app/s1/subagents/agent-1.jsonl",
        claude_line("msg_d", "req_d", "s1", "2026-11-28T10:00:06Z", 7, "text").as_bytes(),
    );
    home.write(
        "claude/projects/-home-me-app/s2.jsonl",
        (claude_line("msg_a", "req_a", "s2", "2026-11-28T10:00:01Z", 85, "text")
            + &claude_line("msg_e", "req_e", "s2", "2026-11-28T11:00:00Z", 3, "text"))
            .as_bytes(),
    );
    proxy_row(&home);

    let (ok, dry) = home.gw(&["import", "claude", "--dry-run"]);
    assert!(ok, "{dry}");
    assert!(dry.contains("would add 4 calls"), "{dry}");
    assert_eq!(home.rows().len(), 1, "a dry run changes nothing");

    let (ok, out) = home.gw(&["import", "claude"]);
    assert!(ok, "{out}");
    assert!(out.contains("added 4 calls"), "{out}");
    assert!(out.contains("1 calls gw's proxy metered"), "{out}");
    assert!(
        out.contains("an API error the agent logged (no call billed) (1)"),
        "{out}"
    );
    let rows: Vec<Row> = home
        .rows()
        .into_iter()
        .filter(|r| r.source == Source::Import)
        .collect();
    let mut ids: Vec<&str> = rows
        .iter()
        .filter_map(|r| r.response_id.as_deref())
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        ["msg_a", "msg_b", "msg_d", "msg_e"],
        "each call once; msg_c is the proxy's"
    );
    let a = rows
        .iter()
        .find(|r| r.response_id.as_deref() == Some("msg_a"))
        .unwrap();
    assert_eq!(
        (
            a.usage.input,
            a.usage.output,
            a.usage.cache_read,
            a.usage.cache_write_5m
        ),
        (1200, 85, 50000, 3000)
    );
    assert_eq!(a.upstream_request_id.as_deref(), Some("req_a"));
    assert_eq!(a.attribution.agent.as_deref(), Some("claude"));
    assert_eq!(a.attribution.branch.as_deref(), Some("feat/import"));
    assert_eq!(a.attribution.cwd.as_deref(), Some("/home/me/app"));
    assert_eq!(a.attribution.developer.as_deref(), Some("tester"));
    assert_eq!(a.started_at_us, 1_795_860_001_000_000);
    // Sonnet 4.5: 1200 × $3 + 85 × $15 + 50000 × $0.30 + 3000 × $3.75 per million.
    assert_eq!(a.cost_nanos, Some(31_125_000));

    // Again: nothing new, read in no time.
    let (ok, out) = home.gw(&["import", "claude"]);
    assert!(ok && out.contains("added 0 calls"), "{out}");
    assert!(out.contains("3 files read (3 unchanged"), "{out}");

    // Appended, with a last line still being written: only the new call, once.
    home.append(
        log,
        &(claude_line("msg_f", "req_f", "s1", "2026-11-28T12:00:00Z", 9, "text")
            + r#"{"type":"assistant","message":{"id":"msg_g""#),
    );
    let (_, out) = home.gw(&["import", "claude"]);
    assert!(out.contains("added 1 calls"), "{out}");
    assert!(out.contains("a last line still being written"), "{out}");
    // A call's next content block appended after an import (its own time): the same call.
    home.append(
        log,
        &claude_line(
            "msg_f",
            "req_f",
            "s1",
            "2026-11-28T12:00:03Z",
            9,
            "tool_use",
        ),
    );
    let (_, out) = home.gw(&["import", "claude"]);
    assert!(out.contains("added 0 calls"), "{out}");
    // The file replaced under gw (truncated and rewritten): read again, nothing counted twice.
    home.write(log, claude_session().as_bytes());
    let (_, out) = home.gw(&["import", "claude"]);
    assert!(out.contains("added 0 calls"), "{out}");
    assert_eq!(
        home.rows()
            .iter()
            .filter(|r| r.source == Source::Import)
            .count(),
        5
    );

    // gw spend counts them with the rest.
    let (ok, spend) = home.gw(&["spend", "--since", "2026-11-01", "--json"]);
    assert!(ok, "{spend}");
    let json_start = spend.find('{').unwrap();
    let report: serde_json::Value = serde_json::from_str(&spend[json_start..]).unwrap();
    assert_eq!(report["totals"]["requests"], 6, "{report}");
    let json = |args: &[&str]| -> serde_json::Value {
        let (ok, out) = home.gw(args);
        assert!(ok, "{out}");
        serde_json::from_str(&out[out.find(['{', '[']).unwrap()..]).unwrap()
    };
    // --source: the imported calls, or the proxy's, alone; and as a key.
    for (source, requests) in [("import", 5), ("proxy", 1)] {
        let r = json(&[
            "spend",
            "--since",
            "2026-11-01",
            "--source",
            source,
            "--json",
        ]);
        assert_eq!(r["totals"]["requests"], requests, "{source}: {r}");
    }
    let r = json(&["spend", "--since", "2026-11-01", "--by", "source", "--json"]);
    let by: Vec<(String, i64)> = r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["key"]["source"].as_str().unwrap().to_string(),
                row["requests"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(
        by.contains(&("import".into(), 5)) && by.contains(&("proxy".into(), 1)),
        "{r}"
    );
    // The bulk insert summed the rollups as the triggers would: the rollup's report is the
    // raw rows'; and the triggers are back (a row written after is rolled up too).
    let mut later = Row {
        id: uuid::Uuid::now_v7(),
        started_at_us: 1_795_870_000_000_000,
        ended_at_us: 1_795_870_000_000_000,
        provider: "anthropic".into(),
        endpoint: "/v1/messages".into(),
        model: Some("claude-sonnet-4-5".into()),
        status: 200,
        price_version: "t".into(),
        cost_nanos: Some(5),
        ..Row::default()
    };
    later.usage.input = 10;
    home.ledger().insert([&later]).unwrap();
    let args = [
        "spend",
        "--since",
        "2026-11-01",
        "--by",
        "day,source,model",
        "--json",
    ];
    let rolled = json(&args);
    let raw = json(&[&args[..], &["--raw"]].concat());
    assert_eq!(rolled["rows"], raw["rows"]);
    assert_eq!(rolled["totals"]["requests"], 7, "{rolled}");
    // --since leaves earlier calls for a later import: it keeps no offsets.
    let later_log = "claude/projects/-home-me-app/s3.jsonl";
    home.write(
        later_log,
        (claude_line("msg_x", "req_x", "s3", "2026-10-01T10:00:00Z", 4, "text")
            + &claude_line("msg_y", "req_y", "s3", "2026-11-20T10:00:00Z", 4, "text"))
            .as_bytes(),
    );
    let (_, out) = home.gw(&["import", "claude", "--since", "2026-11-01"]);
    assert!(
        out.contains("added 1 calls") && out.contains("1 before --since"),
        "{out}"
    );
    let (_, out) = home.gw(&["import", "claude"]);
    assert!(out.contains("added 1 calls"), "the October call: {out}");
    let (ok, sessions) = home.gw(&["sessions", "--source", "import"]);
    assert!(
        ok && sessions.contains("claude:s1") && sessions.contains("claude:s2"),
        "{sessions}"
    );
}

#[test]
fn codex_rollouts_import_each_response_once() {
    let home = Home::new();
    let rollout = r#"{"timestamp":"2026-11-28T21:51:30.000Z","type":"session_meta","payload":{"id":"01a22424-699c","cwd":"/home/me/app","cli_version":"0.171.0","git":{"branch":"main"}}}
{"timestamp":"2026-11-28T21:51:31.000Z","type":"turn_context","payload":{"turn_id":"t1","model":"gpt-5"}}
{"timestamp":"2026-11-28T21:51:36.280Z","type":"token_usage_record","payload":{"turn_id":"t1","response_id":"resp_1","usage":{"input_tokens":51200,"cached_input_tokens":50000,"output_tokens":85,"reasoning_output_tokens":30,"total_tokens":51285}}}
{"timestamp":"2026-11-28T21:51:36.282Z","type":"event_msg","payload":{"type":"token_count","info":{"total_token_usage":{"input_tokens":51200,"output_tokens":85,"total_tokens":51285},"last_token_usage":{"input_tokens":51200,"cached_input_tokens":50000,"output_tokens":85,"total_tokens":51285}}}}
{"timestamp":"2026-11-28T21:51:40.000Z","type":"something_new","payload":{}}
{"timestamp":"2026-11-28T21:51:41.000Z","type":"token_usage_record","payload":{"turn_id":"t1","response_id":"resp_2","usage":{"input_tokens":52000,"cached_input_tokens":51200,"output_tokens":40,"reasoning_output_tokens":0,"total_tokens":52040}}}
"#;
    let rel = "codex/sessions/2026/11/28/rollout-2026-11-28T21-51-30-01a22424-699c.jsonl";
    home.write(rel, rollout.as_bytes());
    let (ok, out) = home.gw(&["import", "codex"]);
    assert!(ok, "{out}");
    assert!(out.contains("added 2 calls"), "{out}");
    let rows = home.rows();
    let first = rows
        .iter()
        .find(|r| r.response_id.as_deref() == Some("resp_1"))
        .unwrap();
    assert_eq!(
        (
            first.usage.input,
            first.usage.cache_read,
            first.usage.output,
            first.usage.reasoning
        ),
        (1200, 50000, 85, 30)
    );
    assert_eq!(first.model.as_deref(), Some("gpt-5"));
    assert_eq!(first.provider, "openai");
    assert!(first.cost_nanos.is_some());
    // A resumed thread appends to the same file: only the new response.
    home.append(
        rel,
        r#"{"timestamp":"2026-11-28T22:00:00.000Z","type":"token_usage_record","payload":{"turn_id":"t1","response_id":"resp_3","usage":{"input_tokens":100,"output_tokens":5,"total_tokens":105}}}
"#,
    );
    let (_, out) = home.gw(&["import", "codex"]);
    assert!(out.contains("added 1 calls"), "{out}");
    assert_eq!(rows.len() + 1, home.rows().len());
}

#[test]
fn calls_across_read_chunks_are_each_read_once() {
    // Some 5 MB: gw reads a log a megabyte at a time, so lines straddle the chunks' ends.
    let home = Home::new();
    let filler = "y".repeat(700);
    let mut log = String::new();
    for i in 0..4000 {
        log += &format!(
            "{{\"type\":\"user\",\"message\":{{\"role\":\"user\",\"content\":\"{filler}{i}\"}}}}\n"
        );
        let at = format!("2026-11-28T10:{:02}:{:02}Z", i / 60 % 60, i % 60);
        log += &claude_line(
            &format!("msg_{i}"),
            &format!("req_{i}"),
            "s7",
            &at,
            5,
            "text",
        );
    }
    assert!(log.len() > 4 << 20);
    home.write("claude/projects/x/s7.jsonl", log.as_bytes());
    let (ok, out) = home.gw(&["import", "claude"]);
    assert!(ok && out.contains("added 4000 calls"), "{out}");
}

#[test]
fn bad_input_is_counted_and_skipped_never_a_crash() {
    let home = Home::new();
    let mut bytes = b"\xff\xfe not utf-8 \"assistant\"\n".to_vec();
    bytes.extend_from_slice(b"{\"type\":\"assistant\", \"message\": [}\n");
    bytes.extend_from_slice(
        claude_line("msg_z", "req_z", "s9", "2026-11-28T10:00:01Z", 5, "text").as_bytes(),
    );
    // Times no agent logged: they would make buckets overflow, or spend appear in years ahead.
    for (msg, at) in [
        ("msg_t1", "1969-12-31T23:59:59Z"),
        ("msg_t2", "2099-12-31T00:00:00Z"),
    ] {
        bytes.extend_from_slice(claude_line(msg, msg, "s9", at, 5, "text").as_bytes());
    }
    home.write("claude/projects/x/s9.jsonl", &bytes);
    home.write("claude/projects/x/empty.jsonl", b"");
    // A line no agent writes (90 MiB) between two calls: dropped, the calls kept.
    let mut long =
        claude_line("msg_l1", "req_l1", "s8", "2026-11-28T10:00:01Z", 5, "text").into_bytes();
    long.extend(std::iter::repeat_n(b'x', 90 << 20));
    long.push(b'\n');
    long.extend(
        claude_line("msg_l2", "req_l2", "s8", "2026-11-28T10:00:02Z", 5, "text").into_bytes(),
    );
    home.write("claude/projects/x/s8.jsonl", &long);
    let (ok, out) = home.gw(&["import", "claude"]);
    assert!(ok, "{out}");
    assert!(out.contains("added 3 calls"), "{out}");
    assert!(
        out.contains("a line longer than 64 MiB (not one an agent wrote) (1)"),
        "{out}"
    );
    assert!(out.contains("a line that is not UTF-8 (1)"), "{out}");
    assert!(out.contains("a line that is not JSON (1)"), "{out}");
    assert!(
        out.contains("a call with an impossible time (before 2000, or over a day ahead) (2)"),
        "{out}"
    );
    // Agents with nothing on this machine: nothing to do, said so.
    let (ok, out) = home.gw(&["import", "gemini"]);
    assert!(ok && out.contains("added 0 calls"), "{out}");
    let (ok, out) = home.gw(&["import", "--path", "/nonexistent"]);
    assert!(!ok && out.contains("name it"), "{out}");
    let (ok, out) = home.gw(&["import", "claude", "--since", "yesterday-ish"]);
    assert!(!ok && out.contains("YYYY-MM-DD"), "{out}");
}

/// A one-block Claude Code line of session `s1` for message `msg`, `second`s after 10:00, with
/// this version, branch and working directory.
fn claude_line_in(msg: &str, second: u32, version: &str, branch: &str, cwd: &str) -> String {
    claude_line(
        msg,
        &format!("req_{msg}"),
        "s1",
        &format!("2026-11-28T10:{:02}:{:02}Z", second / 60, second % 60),
        10,
        "text",
    )
    .replace(
        r#""version":"2.1.197""#,
        &format!(r#""version":"{version}""#),
    )
    .replace(
        r#""gitBranch":"feat/import""#,
        &format!(r#""gitBranch":"{branch}""#),
    )
    .replace(r#""cwd":"/home/me/app""#, &format!(r#""cwd":"{cwd}""#))
}

#[test]
fn each_call_keeps_the_version_branch_and_directory_its_line_gave() {
    // The calls of a session share one attribution while these stay the same: a change, and a
    // change back, must each show on their own rows.
    let home = Home::new();
    let line = claude_line_in;
    let log = [
        line("msg_1", 1, "2.1.197", "main", "/home/me/app"),
        line("msg_2", 2, "2.1.197", "main", "/home/me/app"),
        line("msg_3", 3, "2.1.197", "feat/x", "/home/me/app"),
        line("msg_4", 4, "2.1.198", "feat/x", "/home/me/app"),
        line("msg_5", 5, "2.1.198", "feat/x", "/home/me/lib"),
        line("msg_6", 6, "2.1.197", "main", "/home/me/app"),
        line("msg_7", 7, "2.1.197", "HEAD", "/home/me/app"),
        line("msg_8", 8, "2.1.197", "main", "/home/me/app"),
    ]
    .concat();
    home.write("claude/projects/x/s1.jsonl", log.as_bytes());
    let (ok, out) = home.gw(&["import", "claude"]);
    assert!(ok, "{out}");
    let got: Vec<_> = home
        .rows()
        .iter()
        .map(|r| {
            let a = &r.attribution;
            (
                r.response_id.clone().unwrap(),
                a.agent_version.clone().unwrap(),
                a.branch.clone(),
                a.cwd.clone().unwrap(),
            )
        })
        .collect();
    let want = |msg: &str, version: &str, branch: Option<&str>, cwd: &str| {
        (
            msg.to_string(),
            version.to_string(),
            branch.map(str::to_string),
            cwd.to_string(),
        )
    };
    assert_eq!(
        got,
        [
            want("msg_1", "2.1.197", Some("main"), "/home/me/app"),
            want("msg_2", "2.1.197", Some("main"), "/home/me/app"),
            want("msg_3", "2.1.197", Some("feat/x"), "/home/me/app"),
            want("msg_4", "2.1.198", Some("feat/x"), "/home/me/app"),
            want("msg_5", "2.1.198", Some("feat/x"), "/home/me/lib"),
            want("msg_6", "2.1.197", Some("main"), "/home/me/app"),
            // A detached head: the branch of the directory's repository (none here).
            want("msg_7", "2.1.197", None, "/home/me/app"),
            want("msg_8", "2.1.197", Some("main"), "/home/me/app"),
        ]
    );
}

#[test]
fn a_session_that_keeps_changing_branch_and_directory_still_imports_each_call_as_logged() {
    // A log (a hostile one, or a long session) whose lines cycle through more branch and
    // directory pairs (20) than `gw import` keeps for a session to share: each call still carries
    // its own line's. Each pair comes on two lines running (the second shares the first's), and
    // a branch comes back with another directory four pairs on.
    let home = Home::new();
    let pairs = |i: u32| {
        (
            format!("b{}", i / 2 % 4),
            format!("/home/me/d{}", i / 2 % 5),
        )
    };
    let log: String = (0..60)
        .map(|i| {
            let (branch, cwd) = pairs(i);
            claude_line_in(&format!("msg_{i}"), i, "2.1.197", &branch, &cwd)
        })
        .collect();
    home.write("claude/projects/x/s1.jsonl", log.as_bytes());
    let (ok, out) = home.gw(&["import", "claude"]);
    assert!(ok, "{out}");
    let rows = home.rows();
    assert_eq!(rows.len(), 60);
    for (i, row) in (0..).zip(&rows) {
        let (branch, cwd) = pairs(i);
        assert_eq!(
            row.response_id.as_deref(),
            Some(format!("msg_{i}").as_str())
        );
        assert_eq!(
            row.attribution.branch.as_deref(),
            Some(branch.as_str()),
            "{i}"
        );
        assert_eq!(row.attribution.cwd.as_deref(), Some(cwd.as_str()), "{i}");
    }
}
