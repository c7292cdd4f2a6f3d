//! `gw spend` speed on a synthetic ledger of 1,000,000 requests over 90 days.
//!
//! `cargo bench --bench spend` seeds the ledger (timed), then prints the median wall time, process
//! start to exit, of the built `gw` running `spend --today`, `spend --month --by model` (this
//! month, and the last full month), a few heavier reports, and the raw-table path the rollups
//! replace. `GW_BENCH_ROWS` / `GW_BENCH_DAYS` change the ledger; `--test` (as `cargo test
//! --benches` passes) runs a small, quick version.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use gw::ledger::Ledger;
use gw::report::{SeedPlan, Seeder};
use jiff::{Timestamp, ToSpan};

const GW: &str = env!("CARGO_BIN_EXE_gw");

fn main() {
    let quick = std::env::args().any(|a| a == "--test");
    let env_num = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let rows = env_num("GW_BENCH_ROWS", if quick { 20_000 } else { 1_000_000 });
    let days = env_num("GW_BENCH_DAYS", 90) as u32;
    let runs = if quick { 3 } else { 21 };

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let now = Timestamp::now();
    let started = Instant::now();
    let mut ledger = Ledger::open(&path).unwrap();
    let inserted = ledger
        .insert(Seeder::new(SeedPlan {
            rows,
            days,
            end: now,
            seed: 1,
        }))
        .unwrap();
    let seed_time = started.elapsed();
    let count = |table: &str| -> i64 {
        ledger
            .conn()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    };
    println!(
        "seeded {inserted} rows over {days} days in {:.1} s ({:.0} rows/s); ledger {:.0} MB; rollups: spend_1d {} rows, spend_1h {} rows, spend_15m {} rows",
        seed_time.as_secs_f64(),
        inserted as f64 / seed_time.as_secs_f64(),
        std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) as f64 / 1e6,
        count("spend_1d"),
        count("spend_1h"),
        count("spend_15m"),
    );
    drop(ledger);

    // The last day of last month, late evening: `--month` then covers a whole month.
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    let last_month_end = today.first_of_month().checked_sub(1.day()).unwrap();
    let full_month_now = format!("{last_month_end}T23:00:00Z");

    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("spend --today", vec!["spend", "--today"]),
        (
            "spend --month --by model",
            vec!["spend", "--month", "--by", "model"],
        ),
        (
            "spend --month --by model (a full month)",
            vec![
                "spend",
                "--month",
                "--by",
                "model",
                "--now",
                &full_month_now,
            ],
        ),
        (
            "spend --month --by day,model --json",
            vec!["spend", "--month", "--by", "day,model", "--json"],
        ),
        (
            "spend --month --by day --tz America/New_York",
            vec![
                "spend",
                "--month",
                "--by",
                "day",
                "--tz",
                "America/New_York",
            ],
        ),
        (
            "spend --since 90d --by week,agent",
            vec!["spend", "--since", "90d", "--by", "week,agent"],
        ),
        (
            "spend --week --by session",
            vec!["spend", "--week", "--by", "session"],
        ),
        ("sessions", vec!["sessions"]),
        (
            "spend --month --by model --raw (no rollups)",
            vec!["spend", "--month", "--by", "model", "--raw"],
        ),
    ];
    println!("\nprocess start to exit, median of {runs} runs (min … max):");
    for (name, args) in &cases {
        let times = time_runs(dir.path(), args, runs);
        println!(
            "  gw {name:<48} {:>8}  ({} … {})",
            ms(median(&times)),
            ms(times[0]),
            ms(times[times.len() - 1])
        );
    }
}

/// Runs `gw args` `runs` times (after one warm-up) and returns the sorted wall times.
fn time_runs(data_dir: &Path, args: &[&str], runs: usize) -> Vec<Duration> {
    let command = || {
        let mut cmd = Command::new(GW);
        cmd.args(args)
            .env("GW_DATA_DIR", data_dir)
            .env("GW_CONFIG", data_dir.join("config.toml"))
            .env("TZ", "UTC")
            .stdout(std::process::Stdio::null());
        cmd
    };
    let warm = command().status().unwrap();
    assert!(
        warm.success(),
        "gw {args:?} failed; is the spend command wired into the CLI?"
    );
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let status = command().status().unwrap();
            let elapsed = start.elapsed();
            assert!(status.success());
            elapsed
        })
        .collect();
    times.sort();
    times
}

fn median(sorted: &[Duration]) -> Duration {
    sorted[sorted.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
