//! `cargo bench --bench import`: `gw import claude` against `ccusage daily --json` on the same
//! generated Claude Code logs, in one run: CPU time (user and system) and peak RSS of each (from
//! `wait4`), a second import (nothing new), and both tools' totals. The tools take turns for
//! `GW_BENCH_IMPORT_ROUNDS` rounds (default 3), each gw import into a fresh ledger, and medians
//! are compared: on this VM one run's CPU time moves by ±15%.
//!
//! The logs are Claude Code's real format: a streamed answer written once per content block
//! (each line with the full usage), the user's turns and tool results between, sub-agent files,
//! and forked sessions that copy their parent's lines (the cross-file duplicates). Records:
//! `GW_BENCH_IMPORT_RECORDS` lines (default 1,000,000, about 3 GB); `GW_BENCH_IMPORT_TEXT=ja` writes
//! the text in Japanese instead of ASCII (UTF-8 of three bytes a character). ccusage is looked for in
//! `target/ccusage` (`npm install --prefix target/ccusage ccusage@20.0.24`); without it, gw's
//! side runs alone.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const GW: &str = env!("CARGO_BIN_EXE_gw");

/// A small, fast, deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const MODELS: [(&str, u64); 3] = [
    ("claude-sonnet-4-5-20250929", 70),
    ("claude-opus-4-5-20251101", 20),
    ("claude-haiku-4-5-20251001", 10),
];

struct Message {
    line_base: String,
    blocks: usize,
}

/// One assistant message's lines (one per content block), as Claude Code writes them.
fn message(rng: &mut Rng, session: &str, at: &str, filler: &str) -> Message {
    let pick = rng.below(100);
    let model = if pick < MODELS[0].1 {
        MODELS[0].0
    } else if pick < MODELS[0].1 + MODELS[1].1 {
        MODELS[1].0
    } else {
        MODELS[2].0
    };
    let input = 1 + rng.below(4000);
    let cache_write = rng.below(8000);
    let cache_read = rng.below(120_000);
    let output = 20 + rng.below(3000);
    let id = rng.next();
    let text = prefix(filler, 800 + rng.below(1400) as usize);
    let line_base = format!(
        r#"{{"parentUuid":"{:016x}","isSidechain":false,"userType":"external","cwd":"/home/dev/src/app{}","sessionId":"{session}","version":"2.1.197","gitBranch":"main","message":{{"id":"msg_{id:024x}","type":"message","role":"assistant","model":"{model}","content":[{{"type":"BLOCK","text":"{text}"}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{{"input_tokens":{input},"cache_creation_input_tokens":{cache_write},"cache_read_input_tokens":{cache_read},"output_tokens":{output},"service_tier":"standard","cache_creation":{{"ephemeral_1h_input_tokens":0,"ephemeral_5m_input_tokens":{cache_write}}}}}}},"requestId":"req_{id:024x}","type":"assistant","uuid":"UUID","timestamp":"{at}"}}"#,
        rng.next(),
        rng.below(12),
    );
    Message {
        line_base,
        blocks: 1 + rng.below(3) as usize,
    }
}

/// The first `bytes` bytes of `text`, or fewer, to end on a character.
fn prefix(text: &str, mut bytes: usize) -> &str {
    while !text.is_char_boundary(bytes) {
        bytes -= 1;
    }
    &text[..bytes]
}

/// Writes the logs; answers the number of lines.
fn generate(root: &Path, records: u64) -> u64 {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // The replies' and tool results' text: ASCII, or with `GW_BENCH_IMPORT_TEXT=ja` Japanese
    // (three bytes a character), as a Japanese developer's logs hold.
    let filler: String = match std::env::var("GW_BENCH_IMPORT_TEXT").as_deref() {
        Ok(other) if other != "ja" && other != "ascii" => {
            panic!("GW_BENCH_IMPORT_TEXT={other}: say ja (Japanese) or ascii (the default)")
        }
        Ok("ja") => {
            let chars: Vec<char> = "日本語のテキストです。漢字と仮名、関数を直しました。"
                .chars()
                .collect();
            (0..1400).map(|i| chars[i * 7 % chars.len()]).collect()
        }
        _ => (0..4000)
            .map(|i| (b'a' + (i * 7 % 26) as u8) as char)
            .collect(),
    };
    let start = jiff::Timestamp::now().as_second() - 60 * 86_400;
    let mut lines = 0u64;
    let mut session_no = 0u64;
    let mut parent: Vec<String> = Vec::new();
    while lines < records {
        session_no += 1;
        let session = format!("{:08x}-0000-4000-8000-{:012x}", session_no, session_no);
        let project = root.join(format!("-home-dev-src-app{}", session_no % 12));
        std::fs::create_dir_all(&project).unwrap();
        let mut out = BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(project.join(format!("{session}.jsonl"))).unwrap(),
        );
        // One session in twenty is a fork: it starts with a copy of the last one's lines.
        if session_no.is_multiple_of(20) {
            for line in parent.iter().take(200) {
                writeln!(out, "{line}").unwrap();
                lines += 1;
            }
        }
        parent.clear();
        let mut t = start + rng.below(59 * 86_400) as i64;
        for _ in 0..(50 + rng.below(150)) {
            t += 1 + rng.below(60) as i64;
            let at = jiff::Timestamp::from_second(t).unwrap().to_string();
            let user = format!(
                r#"{{"parentUuid":"{:016x}","isSidechain":false,"cwd":"/home/dev/src/app","sessionId":"{session}","version":"2.1.197","gitBranch":"main","type":"user","message":{{"role":"user","content":[{{"type":"tool_result","tool_use_id":"toolu_{:016x}","content":"{}"}}]}},"uuid":"{:016x}","timestamp":"{at}"}}"#,
                rng.next(),
                rng.next(),
                prefix(&filler, 1500 + rng.below(2500) as usize),
                rng.next()
            );
            writeln!(out, "{user}").unwrap();
            lines += 1;
            let m = message(&mut rng, &session, &at, &filler);
            for block in ["thinking", "text", "tool_use"].iter().take(m.blocks) {
                let line = m.line_base.replacen("BLOCK", block, 1).replacen(
                    "UUID",
                    &format!("{:016x}", rng.next()),
                    1,
                );
                writeln!(out, "{line}").unwrap();
                parent.push(line);
                lines += 1;
            }
            if lines >= records {
                break;
            }
        }
        out.flush().unwrap();
    }
    lines
}

/// What one run of a command cost, from `wait4`.
struct Cost {
    wall: Duration,
    user: Duration,
    sys: Duration,
    rss_mb: f64,
    status: std::process::ExitStatus,
    said: String,
}

impl Cost {
    fn cpu(&self) -> Duration {
        self.user + self.sys
    }

    /// `6.12 s CPU (4.40 user + 1.72 sys), 7.01 s wall, 340 MB`
    fn describe(&self) -> String {
        format!(
            "{:.2} s CPU ({:.2} user + {:.2} sys), {:.2} s wall, {:.0} MB peak RSS",
            self.cpu().as_secs_f64(),
            self.user.as_secs_f64(),
            self.sys.as_secs_f64(),
            self.wall.as_secs_f64(),
            self.rss_mb
        )
    }
}

/// Runs `cmd` and answers what it cost: wall time, user and system CPU time, peak RSS.
// The child is reaped by `wait4` (which gives its own resource use), not `Child::wait`.
#[allow(clippy::zombie_processes)]
fn measure(cmd: &mut Command) -> Cost {
    let out_path = std::env::temp_dir().join(format!("gw-bench-out-{}", std::process::id()));
    let out = std::fs::File::create(&out_path).unwrap();
    let t = Instant::now();
    let child = cmd
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our own child, with valid pointers to a status and a rusage.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32);
    let wall = t.elapsed();
    let cpu = |tv: libc::timeval| Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000);
    let said = std::fs::read_to_string(&out_path).unwrap_or_default();
    let _ = std::fs::remove_file(&out_path);
    use std::os::unix::process::ExitStatusExt;
    Cost {
        wall,
        user: cpu(usage.ru_utime),
        sys: cpu(usage.ru_stime),
        rss_mb: usage.ru_maxrss as f64 / 1024.0,
        status: std::process::ExitStatus::from_raw(status),
        said,
    }
}

/// The middle value (the lower of the two middle ones for an even count).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[(values.len() - 1) / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let records: u64 = std::env::var("GW_BENCH_IMPORT_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir_in(concat!(env!("CARGO_MANIFEST_DIR"), "/target")).unwrap();
    // `GW_BENCH_IMPORT_KEEP=DIR` keeps the logs there (generated once, reused), to profile
    // an import of them afterwards.
    let kept = std::env::var_os("GW_BENCH_IMPORT_KEEP").map(PathBuf::from);
    let claude = kept.clone().unwrap_or_else(|| dir.path().join("claude"));
    let projects = claude.join("projects");
    let t = Instant::now();
    let lines = if kept.is_some() && projects.exists() {
        records
    } else {
        generate(&projects, records)
    };
    let bytes: u64 = walk(&projects)
        .iter()
        .map(|p| p.metadata().unwrap().len())
        .sum();
    println!(
        "import    {lines} log lines, {:.2} GB, generated in {:.1} s",
        bytes as f64 / 1e9,
        t.elapsed().as_secs_f64()
    );
    let gw = |home: &Path| {
        let mut cmd = Command::new(GW);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("GW_DATA_DIR", home.join("data"))
            .env("GW_CONFIG", home.join("config.toml"))
            .env("CLAUDE_CONFIG_DIR", &claude)
            .args(["import", "claude"]);
        cmd
    };
    let ccusage = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/target/ccusage/node_modules/.bin/ccusage"
    ));
    if !ccusage.exists() {
        println!("import    ccusage skipped: npm install --prefix target/ccusage ccusage@20.0.24");
    }
    // This VM's CPU time for one binary and input moves by ±15% from run to run, and more
    // between spells: gw and ccusage take turns, round after round, and medians are compared.
    let rounds: usize = std::env::var("GW_BENCH_IMPORT_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    println!("import    {rounds} rounds, each: gw dry run, gw first import (a fresh ledger), gw again, ccusage");
    let (mut dry, mut first, mut again, mut theirs) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut gw_totals = String::new();
    let mut their_totals = String::new();
    for round in 1..=rounds {
        let home = dir.path().join(format!("home{round}"));
        std::fs::create_dir_all(&home).unwrap();
        // Reading and parsing alone (a dry run writes nothing), then the real import.
        let d = measure(gw(&home).arg("--dry-run"));
        assert!(d.status.success(), "{}", d.said);
        println!(
            "import    round {round}: gw import --dry-run: {}",
            d.describe()
        );
        let f = measure(&mut gw(&home));
        assert!(f.status.success(), "{}", f.said);
        println!(
            "import    round {round}: gw import (first):  {}",
            f.describe()
        );
        if round == 1 {
            println!("{}", f.said.trim_end());
        }
        let a = measure(&mut gw(&home));
        assert!(
            a.status.success() && a.said.contains("added 0 calls"),
            "{}",
            a.said
        );
        println!(
            "import    round {round}: gw import (again):  {:.3} s CPU, {:.3} s wall",
            a.cpu().as_secs_f64(),
            a.wall.as_secs_f64()
        );
        let conn = rusqlite::Connection::open(home.join("data/ledger.db")).unwrap();
        let t: (i64, i64, i64, i64, i64, i64) = conn
            .query_row(
                "SELECT count(*), sum(input_tokens), sum(output_tokens), sum(cache_write_5m_tokens + cache_write_1h_tokens),
                    sum(cache_read_tokens), sum(coalesce(cost_nanos, 0)) FROM requests",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
            )
            .unwrap();
        drop(conn);
        gw_totals = format!(
            "{} calls, input {}, output {}, cache write {}, cache read {}, ${:.4}",
            t.0,
            t.1,
            t.2,
            t.3,
            t.4,
            t.5 as f64 / 1e9
        );
        std::fs::remove_dir_all(&home).unwrap();
        dry.push(d);
        first.push(f);
        again.push(a);
        if !ccusage.exists() {
            continue;
        }
        let home = dir.path().join("ccusage-home");
        std::fs::create_dir_all(&home).unwrap();
        let mut cmd = Command::new(&ccusage);
        cmd.env("CLAUDE_CONFIG_DIR", &claude)
            .env("HOME", &home)
            .env("TZ", "UTC")
            .args(["daily", "--json", "--offline"]);
        let c = measure(&mut cmd);
        assert!(c.status.success(), "{}", c.said);
        println!(
            "import    round {round}: ccusage daily --json: {}",
            c.describe()
        );
        let json_start = c.said.find('{').unwrap_or(0);
        let report: serde_json::Value =
            serde_json::from_str(&c.said[json_start..]).unwrap_or_default();
        let totals = &report["totals"];
        their_totals = format!(
            "input {}, output {}, cache write {}, cache read {}, ${:.4}",
            totals["inputTokens"],
            totals["outputTokens"],
            totals["cacheCreationTokens"],
            totals["cacheReadTokens"],
            totals["totalCost"].as_f64().unwrap_or(0.0)
        );
        theirs.push(c);
    }
    let cpu = |runs: &[Cost]| median(runs.iter().map(|r| r.cpu().as_secs_f64()).collect());
    let rss = |runs: &[Cost]| median(runs.iter().map(|r| r.rss_mb).collect());
    println!(
        "import    medians: gw dry run {:.2} s CPU ({:.0} MB); gw first import {:.2} s CPU ({:.0} MB peak RSS); gw again {:.3} s CPU",
        cpu(&dry),
        rss(&dry),
        cpu(&first),
        rss(&first),
        cpu(&again)
    );
    println!("import    gw totals:       {gw_totals}");
    if theirs.is_empty() {
        return;
    }
    println!("import    ccusage totals:  {their_totals}");
    let ratios: Vec<f64> = first
        .iter()
        .zip(&theirs)
        .map(|(g, c)| c.cpu().as_secs_f64() / g.cpu().as_secs_f64().max(1e-9))
        .collect();
    let (low, high) = ratios
        .iter()
        .fold((f64::MAX, 0f64), |(l, h), r| (l.min(*r), h.max(*r)));
    println!(
        "import    CPU, medians: gw {:.2} s vs ccusage {:.2} s ({:.1}× less; {low:.1}–{high:.1}× round by round); ccusage {:.0} MB peak RSS",
        cpu(&first),
        cpu(&theirs),
        cpu(&theirs) / cpu(&first).max(1e-9),
        rss(&theirs)
    );
}

fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}
