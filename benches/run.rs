//! `gw run -- true` against `true` alone: what a session adds to an agent's start and exit
//! (config, ledger, proxy bind, attribution, spawn, flush, summary).
//!
//! `cargo bench --bench run` prints the median and p90 of each over 200 runs, and the difference.

use std::process::{Command, Stdio};
use std::time::Instant;

const RUNS: usize = 200;

fn main() {
    let quick = std::env::args().any(|a| a == "--test");
    let runs = if quick { 5 } else { RUNS };
    let dir = tempfile::tempdir().unwrap();
    let true_bin = which("true");
    let time = |program: &str, args: &[&str]| -> Vec<f64> {
        let mut samples = Vec::with_capacity(runs);
        for i in 0..runs + 10 {
            let start = Instant::now();
            let status = Command::new(program)
                .args(args)
                .env("GW_DATA_DIR", dir.path().join("data"))
                .env("GW_CONFIG", dir.path().join("config.toml"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap();
            assert!(status.success());
            if i >= 10 {
                samples.push(start.elapsed().as_secs_f64() * 1e3); // warm-up excluded
            }
        }
        samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
        samples
    };
    let alone = time(&true_bin, &[]);
    let via = time(env!("CARGO_BIN_EXE_gw"), &["run", "-q", "--", &true_bin]);
    let at = |s: &[f64], p: f64| s[((p / 100.0) * (s.len() - 1) as f64).round() as usize];
    println!("{runs} runs each, process start to exit");
    println!(
        "  true alone        median {:>6.2} ms   p90 {:>6.2} ms",
        at(&alone, 50.0),
        at(&alone, 90.0)
    );
    println!(
        "  gw run -- true    median {:>6.2} ms   p90 {:>6.2} ms",
        at(&via, 50.0),
        at(&via, 90.0)
    );
    println!(
        "  added             median {:>6.2} ms   p90 {:>6.2} ms",
        at(&via, 50.0) - at(&alone, 50.0),
        at(&via, 90.0) - at(&alone, 90.0)
    );
}

fn which(name: &str) -> String {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| panic!("{name} not on PATH"))
}
