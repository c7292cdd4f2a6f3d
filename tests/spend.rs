//! `gw spend`, `gw sessions` and `gw session`: exact totals, period edges across time zones and
//! DST, grouping and filters, the rollups against the raw rows, table snapshots, and the binary's
//! exit codes and JSON on empty and missing ledgers.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use gw::ledger::query::{Filter, Source, Sums};
use gw::ledger::{Attribution, Ledger, Row};
use gw::meter::Usage;
use gw::report::{
    DateSpec, Dimension, Period, PeriodSpec, SeedPlan, Seeder, SessionDetail, SessionList,
    SpendReport, SpendRequest, Style, Zone,
};
use jiff::tz::TimeZone;
use jiff::Timestamp;

const GW: &str = env!("CARGO_BIN_EXE_gw");

// ---------------------------------------------------------------------------------------------
// Fixtures

struct Req {
    at: &'static str,
    model: Option<&'static str>,
    agent: &'static str,
    project: &'static str,
    branch: &'static str,
    session: &'static str,
    /// input, output, cache read, cache write 5m, cache write 1h, reasoning
    tokens: [u64; 6],
    cost: Option<i64>,
}

fn row(r: &Req, n: u128) -> Row {
    let started: Timestamp = r.at.parse().unwrap();
    let us = started.as_microsecond();
    let [input, output, cache_read, cache_write_5m, cache_write_1h, reasoning] = r.tokens;
    Row {
        id: uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 + n),
        started_at_us: us,
        ended_at_us: us + 2_500_000,
        provider: match r.model {
            Some(m) if m.starts_with("gpt") || m.starts_with("qwen") => "openai".into(),
            Some(m) if m.starts_with("gemini") => "gemini".into(),
            _ => "anthropic".into(),
        },
        endpoint: "/v1/messages".into(),
        requested_model: r.model.map(Into::into),
        model: r.model.map(Into::into),
        status: if r.model.is_some() { 200 } else { 502 },
        streamed: true,
        incomplete: false,
        usage: Usage {
            input,
            output,
            cache_read,
            cache_write_5m,
            cache_write_1h,
            reasoning,
        },
        cost_nanos: r.cost,
        price_version: "test".into(),
        latency_us: 2_500_000,
        ttfb_us: Some(400_000),
        upstream_request_id: None,
        agent_session_id: None,
        error: r.model.is_none().then(|| "upstream unreachable".into()),
        billing: Default::default(),
        region: None,
        attribution: Arc::new(Attribution {
            session_id: r.session.into(),
            agent: Some(r.agent.into()),
            agent_version: Some("1.0.0".into()),
            developer: Some("dev@example.com".into()),
            project: Some(r.project.into()),
            branch: Some(r.branch.into()),
            task: None,
            cwd: None,
            host: Some("laptop".into()),
            key_id: None,
        }),
        source: Default::default(),
        response_id: None,
        log_cost_nanos: None,
    }
}

/// Three days of work in March 2025 (UTC), with an unpriced model and a failed request.
const WEEK: &[Req] = &[
    Req {
        at: "2025-03-10T09:00:00Z",
        model: Some("claude-sonnet-4-5"),
        agent: "claude",
        project: "gw",
        branch: "main",
        session: "0195a1b2-0000-7000-8000-00000000aaaa",
        tokens: [100, 2_000, 50_000, 3_000, 0, 0],
        cost: Some(60_555_555),
    },
    Req {
        at: "2025-03-10T09:05:00Z",
        model: Some("claude-sonnet-4-5"),
        agent: "claude",
        project: "gw",
        branch: "main",
        session: "0195a1b2-0000-7000-8000-00000000aaaa",
        tokens: [120, 1_500, 53_000, 1_000, 1_000, 300],
        cost: Some(55_000_001),
    },
    Req {
        at: "2025-03-10T09:20:00Z",
        model: Some("claude-haiku-4-5"),
        agent: "claude",
        project: "gw",
        branch: "main",
        session: "0195a1b2-0000-7000-8000-00000000aaaa",
        tokens: [900, 300, 0, 0, 0, 0],
        cost: Some(2_400_000),
    },
    Req {
        at: "2025-03-11T14:00:00Z",
        model: Some("gpt-5"),
        agent: "codex",
        project: "webshop",
        branch: "feat/search",
        session: "0195a1b2-0000-7000-8000-00000000bbbb",
        tokens: [4_000, 1_200, 20_000, 0, 0, 800],
        cost: Some(19_500_000),
    },
    Req {
        at: "2025-03-11T14:02:00Z",
        model: Some("gpt-5"),
        agent: "codex",
        project: "webshop",
        branch: "feat/search",
        session: "0195a1b2-0000-7000-8000-00000000bbbb",
        tokens: [3_000, 900, 24_000, 0, 0, 500],
        cost: Some(15_750_000),
    },
    Req {
        at: "2025-03-11T14:03:00Z",
        model: None,
        agent: "codex",
        project: "webshop",
        branch: "feat/search",
        session: "0195a1b2-0000-7000-8000-00000000bbbb",
        tokens: [0, 0, 0, 0, 0, 0],
        cost: Some(0),
    },
    Req {
        at: "2025-03-12T08:00:00Z",
        model: Some("qwen3-coder-local"),
        agent: "opencode",
        project: "gw",
        branch: "main",
        session: "0195a1b2-0000-7000-8000-00000000cccc",
        tokens: [7_000, 700, 0, 0, 0, 0],
        cost: None,
    },
    Req {
        at: "2025-03-12T08:01:00Z",
        model: Some("qwen3-coder-local"),
        agent: "opencode",
        project: "gw",
        branch: "main",
        session: "0195a1b2-0000-7000-8000-00000000cccc",
        tokens: [8_000, 650, 0, 0, 0, 0],
        cost: None,
    },
    Req {
        at: "2025-03-12T08:10:00Z",
        model: Some("claude-sonnet-4-5"),
        agent: "opencode",
        project: "gw",
        branch: "main",
        session: "0195a1b2-0000-7000-8000-00000000cccc",
        tokens: [50, 400, 12_000, 2_000, 0, 0],
        cost: Some(17_123_456),
    },
];

fn ledger_with(dir: &Path, reqs: &[Req]) -> Ledger {
    let mut ledger = Ledger::open(&dir.join("ledger.db")).unwrap();
    let rows: Vec<Row> = reqs
        .iter()
        .enumerate()
        .map(|(i, r)| row(r, i as u128))
        .collect();
    ledger.insert(&rows).unwrap();
    ledger
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn zone(name: &str) -> TimeZone {
    name.parse::<Zone>().unwrap().0
}

fn request(spec: PeriodSpec, now: &str, tz: &str, by: &[Dimension]) -> SpendRequest {
    let period = Period::resolve(spec, ts(now), &zone(tz)).unwrap();
    SpendRequest {
        period,
        group_by: by.to_vec(),
        breakdown: false,
        filters: Vec::new(),
        source: Source::Rollup,
    }
}

fn range(since: &str, until: &str) -> PeriodSpec {
    PeriodSpec::Range {
        since: Some(since.parse::<DateSpec>().unwrap()),
        until: Some(until.parse::<DateSpec>().unwrap()),
    }
}

/// Sums of the fixture rows whose start is in `[since, until)`: the reference totals.
fn expected(reqs: &[Req], since: &str, until: &str) -> Sums {
    let (since, until) = (ts(since), ts(until));
    let mut sums = Sums::default();
    for (i, r) in reqs.iter().enumerate() {
        let at = ts(r.at);
        if at >= since && at < until {
            sums.add(&Sums::of_row(&row(r, i as u128)));
        }
    }
    sums
}

fn key_of(report: &SpendReport) -> Vec<Vec<Option<String>>> {
    report.rows.iter().map(|r| r.key.clone()).collect()
}

fn some(values: &[&str]) -> Vec<Option<String>> {
    values.iter().map(|v| Some(v.to_string())).collect()
}

// ---------------------------------------------------------------------------------------------
// Totals, grouping, filters

#[test]
fn totals_are_exact_to_the_nano_dollar() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_with(dir.path(), WEEK);
    let req = request(
        range("2025-03-10", "2025-03-12"),
        "2025-03-12T18:00:00Z",
        "UTC",
        &[Dimension::Day],
    );
    let report = SpendReport::build(Some(&ledger), &req).unwrap();
    let want = expected(WEEK, "2025-03-10T00:00:00Z", "2025-03-13T00:00:00Z");
    assert_eq!(report.totals.0, want);
    assert_eq!(
        want.cost_nanos,
        60_555_555 + 55_000_001 + 2_400_000 + 19_500_000 + 15_750_000 + 17_123_456
    );
    assert_eq!(want.unpriced_requests, 2);
    assert_eq!(
        report.totals.total_tokens(),
        want.input_tokens + want.output_tokens + want.cache_read_tokens + want.cache_write_tokens
    );
    assert_eq!(
        key_of(&report),
        vec![
            some(&["2025-03-10"]),
            some(&["2025-03-11"]),
            some(&["2025-03-12"])
        ]
    );
    assert_eq!(
        report.rows[0].counters.0,
        expected(WEEK, "2025-03-10T00:00:00Z", "2025-03-11T00:00:00Z")
    );
    assert_eq!(report.rows[0].counters.0.cost_nanos, 117_955_556);
    assert_eq!(
        report.rows[0].counters.0.cache_write_tokens, 5_000,
        "5m and 1h writes add up"
    );
    assert_eq!(
        report.unpriced_models,
        vec![(Some("qwen3-coder-local".to_string()), 2)]
    );
}

#[test]
fn grouping_by_two_keys_and_sorting() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_with(dir.path(), WEEK);
    let req = request(
        range("2025-03-10", "2025-03-12"),
        "2025-03-12T18:00:00Z",
        "UTC",
        &[Dimension::Agent, Dimension::Model],
    );
    let report = SpendReport::build(Some(&ledger), &req).unwrap();
    // Agents by cost (claude 117.9m, codex 35.25m, opencode 17.1m), models by cost inside each.
    assert_eq!(
        key_of(&report),
        vec![
            some(&["claude", "claude-sonnet-4-5"]),
            some(&["claude", "claude-haiku-4-5"]),
            some(&["codex", "gpt-5"]),
            vec![Some("codex".into()), None],
            some(&["opencode", "claude-sonnet-4-5"]),
            some(&["opencode", "qwen3-coder-local"]),
        ]
    );
    let qwen = &report.rows[5].counters;
    assert!(qwen.all_unpriced());
    assert_eq!(qwen.0.requests, 2);
    assert_eq!(qwen.0.cost_nanos, 0);
}

#[test]
fn filters_with_lists_and_globs() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_with(dir.path(), WEEK);
    let mut req = request(
        range("2025-03-01", "2025-03-31"),
        "2025-03-31T18:00:00Z",
        "UTC",
        &[Dimension::Project],
    );
    req.filters = vec![Filter {
        column: Dimension::Model,
        values: vec!["claude-*".into()],
    }];
    let report = SpendReport::build(Some(&ledger), &req).unwrap();
    assert_eq!(key_of(&report), vec![some(&["gw"])]);
    assert_eq!(report.totals.0.requests, 4);
    assert_eq!(
        report.totals.0.cost_nanos,
        60_555_555 + 55_000_001 + 2_400_000 + 17_123_456
    );

    req.filters = vec![
        Filter {
            column: Dimension::Agent,
            values: vec!["codex".into(), "opencode".into()],
        },
        Filter {
            column: Dimension::Branch,
            values: vec!["main".into()],
        },
    ];
    let report = SpendReport::build(Some(&ledger), &req).unwrap();
    assert_eq!(report.totals.0.requests, 3);
    assert_eq!(report.totals.0.unpriced_requests, 2);
}

#[test]
fn breakdown_adds_model_rows_that_sum_to_their_row() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_with(dir.path(), WEEK);
    let mut req = request(
        range("2025-03-10", "2025-03-12"),
        "2025-03-12T18:00:00Z",
        "UTC",
        &[Dimension::Day],
    );
    req.breakdown = true;
    let report = SpendReport::build(Some(&ledger), &req).unwrap();
    for row in &report.rows {
        let mut sum = Sums::default();
        for sub in &row.breakdown {
            sum.add(&sub.counters.0);
        }
        assert_eq!(sum, row.counters.0);
    }
    assert_eq!(report.rows[0].breakdown.len(), 2);
}

// ---------------------------------------------------------------------------------------------
// Periods across zones and DST

#[test]
fn new_york_spring_forward_day_has_23_hours_and_its_edges_are_exact() {
    let dir = tempfile::tempdir().unwrap();
    let reqs = [
        Req {
            at: "2025-03-09T04:59:59Z",
            ..WEEK[0]
        }, // 23:59:59 EST on the 8th
        Req {
            at: "2025-03-09T05:00:00Z",
            ..WEEK[1]
        }, // 00:00 EST on the 9th
        Req {
            at: "2025-03-09T06:59:59Z",
            ..WEEK[2]
        }, // 01:59:59 EST
        Req {
            at: "2025-03-09T07:00:00Z",
            ..WEEK[3]
        }, // 03:00 EDT: 02:xx does not exist
        Req {
            at: "2025-03-10T03:59:59Z",
            ..WEEK[4]
        }, // 23:59:59 EDT on the 9th
        Req {
            at: "2025-03-10T04:00:00Z",
            ..WEEK[8]
        }, // 00:00 EDT on the 10th
    ];
    let ledger = ledger_with(dir.path(), &reqs);
    let req = request(
        PeriodSpec::Today,
        "2025-03-09T20:00:00Z",
        "America/New_York",
        &[Dimension::Day],
    );
    assert_eq!(
        req.period.until_us() - req.period.since_us().unwrap(),
        23 * 3_600_000_000
    );
    let report = SpendReport::build(Some(&ledger), &req).unwrap();
    assert_eq!(key_of(&report), vec![some(&["2025-03-09"])]);
    assert_eq!(
        report.totals.0,
        expected(&reqs, "2025-03-09T05:00:00Z", "2025-03-10T04:00:00Z")
    );
    assert_eq!(report.totals.0.requests, 4);

    // The same rows by day over three days: 1 / 4 / 1.
    let req = request(
        range("2025-03-08", "2025-03-10"),
        "2025-03-20T00:00:00Z",
        "America/New_York",
        &[Dimension::Day],
    );
    let report = SpendReport::build(Some(&ledger), &req).unwrap();
    let counts: Vec<i64> = report.rows.iter().map(|r| r.counters.0.requests).collect();
    assert_eq!(
        key_of(&report),
        vec![
            some(&["2025-03-08"]),
            some(&["2025-03-09"]),
            some(&["2025-03-10"])
        ]
    );
    assert_eq!(counts, [1, 4, 1]);
}

#[test]
fn a_row_at_23_30_on_the_last_day_of_the_month_belongs_to_that_month_locally() {
    let dir = tempfile::tempdir().unwrap();
    let reqs = [
        Req {
            at: "2025-04-01T03:30:00Z",
            ..WEEK[0]
        }, // 23:30 EDT on March 31st
        Req {
            at: "2025-04-01T04:30:00Z",
            ..WEEK[3]
        }, // 00:30 EDT on April 1st
    ];
    let ledger = ledger_with(dir.path(), &reqs);
    let month = |tz: &str| {
        let req = request(
            PeriodSpec::Month,
            "2025-03-15T12:00:00Z",
            tz,
            &[Dimension::Month],
        );
        SpendReport::build(Some(&ledger), &req).unwrap()
    };
    let ny = month("America/New_York");
    assert_eq!(key_of(&ny), vec![some(&["2025-03"])]);
    assert_eq!(ny.totals.0.cost_nanos, 60_555_555);
    assert!(
        month("UTC").rows.is_empty(),
        "in UTC both rows are in April"
    );

    let req = request(
        range("2025-03-01", "2025-04-30"),
        "2025-05-01T12:00:00Z",
        "America/New_York",
        &[Dimension::Month],
    );
    let both = SpendReport::build(Some(&ledger), &req).unwrap();
    assert_eq!(key_of(&both), vec![some(&["2025-03"]), some(&["2025-04"])]);
}

#[test]
fn zones_with_quarter_hour_and_odd_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let reqs = [
        Req {
            at: "2025-03-10T18:14:59Z",
            ..WEEK[0]
        }, // Kathmandu (+05:45): 23:59:59 on the 10th
        Req {
            at: "2025-03-10T18:15:00Z",
            ..WEEK[1]
        }, // 00:00 on the 11th
        Req {
            at: "2025-03-10T18:42:59Z",
            ..WEEK[2]
        }, // +05:17: 23:59:59 on the 10th
        Req {
            at: "2025-03-10T18:43:00Z",
            ..WEEK[3]
        }, // +05:17: 00:00 on the 11th
    ];
    let ledger = ledger_with(dir.path(), &reqs);
    for (tz, counts) in [("Asia/Kathmandu", [1, 3]), ("+05:17", [3, 1])] {
        for source in [Source::Rollup, Source::Raw] {
            let mut req = request(
                range("2025-03-10", "2025-03-11"),
                "2025-03-20T00:00:00Z",
                tz,
                &[Dimension::Day],
            );
            req.source = source;
            let report = SpendReport::build(Some(&ledger), &req).unwrap();
            let got: Vec<i64> = report.rows.iter().map(|r| r.counters.0.requests).collect();
            assert_eq!(
                key_of(&report),
                vec![some(&["2025-03-10"]), some(&["2025-03-11"])],
                "{tz} {source:?}"
            );
            assert_eq!(got, counts, "{tz} {source:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The rollups against the raw rows

fn seeded(dir: &Path, rows: u64) -> Ledger {
    let mut ledger = Ledger::open(&dir.join("ledger.db")).unwrap();
    let plan = SeedPlan {
        rows,
        days: 20,
        end: ts("2025-03-20T15:00:00Z"),
        seed: 42,
    };
    assert_eq!(ledger.insert(Seeder::new(plan)).unwrap(), rows as usize);
    ledger
}

fn assert_rollup_matches_raw(ledger: &Ledger) {
    let cases: &[(&str, &str, &str, &[Dimension])] = &[
        ("2025-03-01", "2025-03-20", "UTC", &[Dimension::Model]),
        (
            "2025-03-01",
            "2025-03-20",
            "America/New_York",
            &[Dimension::Day],
        ),
        (
            "2025-03-05T10:07",
            "2025-03-18T13:01:02Z",
            "+05:17",
            &[Dimension::Day, Dimension::Model],
        ),
        (
            "2025-03-02",
            "2025-03-19",
            "Asia/Kathmandu",
            &[Dimension::Week, Dimension::Agent],
        ),
        (
            "2025-03-01",
            "2025-03-20",
            "Australia/Lord_Howe",
            &[Dimension::Month, Dimension::Provider],
        ),
        (
            "2025-03-10",
            "2025-03-12",
            "Europe/Berlin",
            &[Dimension::Session],
        ),
        (
            "2025-03-01",
            "2025-03-20",
            "UTC",
            &[Dimension::Project, Dimension::Branch, Dimension::Task],
        ),
        (
            "2025-03-01",
            "2025-03-20",
            "UTC",
            &[Dimension::Developer, Dimension::Key],
        ),
    ];
    for &(since, until, tz, by) in cases {
        for filters in [
            vec![],
            vec![Filter {
                column: Dimension::Model,
                values: vec!["claude-*".into(), "gpt-5".into()],
            }],
        ] {
            let mut req = request(range(since, until), "2025-03-25T00:00:00Z", tz, by);
            req.filters = filters;
            req.breakdown = true;
            let fast = SpendReport::build(Some(ledger), &req).unwrap();
            req.source = Source::Raw;
            let raw = SpendReport::build(Some(ledger), &req).unwrap();
            assert!(fast.totals.0.requests > 0, "{since} {until} {tz} {by:?}");
            assert_eq!(fast.rows, raw.rows, "{since} {until} {tz} {by:?}");
            assert_eq!(fast.totals, raw.totals);
            assert_eq!(fast.unpriced_models, raw.unpriced_models);
        }
    }
}

#[test]
fn rollups_agree_with_raw_rows_in_every_zone_and_grouping() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = seeded(dir.path(), 20_000);
    assert_rollup_matches_raw(&ledger);
}

#[test]
fn rollups_follow_deletes_updates_and_duplicate_inserts() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = seeded(dir.path(), 5_000);
    let conn = ledger.conn();
    conn.execute("DELETE FROM requests WHERE rowid % 7 = 0", [])
        .unwrap();
    conn.execute(
        "UPDATE requests SET cost_nanos = NULL WHERE rowid % 11 = 0",
        [],
    )
    .unwrap();
    conn.execute("UPDATE requests SET started_at = started_at + 3600000000, model = 'moved' WHERE rowid % 13 = 0", [])
        .unwrap();
    conn.execute("UPDATE requests SET synced = 1", []).unwrap();
    // Re-inserting rows that exist changes nothing.
    let again: Vec<Row> = Seeder::new(SeedPlan {
        rows: 5_000,
        days: 20,
        end: ts("2025-03-20T15:00:00Z"),
        seed: 42,
    })
    .take(100)
    .collect();
    assert_eq!(
        ledger.insert(&again).unwrap(),
        14,
        "only the deleted ones come back"
    );
    let conn = ledger.conn();
    for table in ["spend_1d", "spend_1h", "spend_15m"] {
        let (rollup, raw): (i64, i64) = conn
            .query_row(
                &format!(
                    "SELECT (SELECT sum(requests) FROM {table}), (SELECT count(*) FROM requests)"
                ),
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(rollup, raw, "{table}");
        let empty: i64 = conn
            .query_row(
                &format!("SELECT count(*) FROM {table} WHERE requests = 0"),
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(empty, 0, "{table} drops groups that empty");
    }
    assert_rollup_matches_raw(&ledger);
}

#[test]
fn an_older_ledger_is_migrated_and_its_rows_rolled_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    {
        let ledger = ledger_with(dir.path(), WEEK);
        // Back to schema 1: no rollups.
        ledger
            .conn()
            .execute_batch(
                "DROP TRIGGER spend_rollup_delete; DROP TRIGGER spend_rollup_update;
                 DROP TABLE spend_1d; DROP TABLE spend_1h; DROP TABLE spend_15m;
                 DROP INDEX requests_quarantined; ALTER TABLE requests DROP COLUMN sync_error;
                 ALTER TABLE requests DROP COLUMN billing; ALTER TABLE requests DROP COLUMN region;
                 DROP INDEX requests_imported_call;
                 ALTER TABLE requests DROP COLUMN source; ALTER TABLE requests DROP COLUMN response_id;
                 ALTER TABLE requests DROP COLUMN log_cost_nanos; DROP TABLE import_files;
                 DROP TABLE rollup_mark;
                 PRAGMA user_version = 1;",
            )
            .unwrap();
    }
    let ledger = Ledger::open_existing(&path).unwrap().unwrap();
    let req = request(
        range("2025-03-10", "2025-03-12"),
        "2025-03-12T18:00:00Z",
        "UTC",
        &[Dimension::Model],
    );
    let report = SpendReport::build(Some(&ledger), &req).unwrap();
    assert_eq!(
        report.totals.0,
        expected(WEEK, "2025-03-10T00:00:00Z", "2025-03-13T00:00:00Z")
    );
}

#[test]
fn a_missing_ledger_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data/ledger.db");
    assert!(Ledger::open_existing(&path).unwrap().is_none());
    assert!(!dir.path().join("data").exists());
}

// ---------------------------------------------------------------------------------------------
// Output: JSON, CSV, tables

#[test]
fn json_has_the_documented_shape() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_with(dir.path(), WEEK);
    let req = request(
        PeriodSpec::Today,
        "2025-03-12T18:00:00Z",
        "America/New_York",
        &[Dimension::Day, Dimension::Model],
    );
    let report = SpendReport::build(Some(&ledger), &req).unwrap();
    insta::assert_snapshot!("spend_json", report.to_json());
    let v: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let mut sorted = vec!["since", "until", "tz", "group_by", "rows", "totals"];
    sorted.sort();
    assert_eq!(keys, sorted);
    assert_eq!(v["totals"]["cost_nanos"], 17_123_456);
}

#[test]
fn csv_has_a_header_and_exact_amounts() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_with(dir.path(), WEEK);
    let req = request(
        range("2025-03-10", "2025-03-12"),
        "2025-03-12T18:00:00Z",
        "UTC",
        &[Dimension::Day],
    );
    let report = SpendReport::build(Some(&ledger), &req).unwrap();
    insta::assert_snapshot!("spend_csv", report.to_csv());
}

fn week_report(by: &[Dimension], breakdown: bool) -> SpendReport {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_with(dir.path(), WEEK);
    let mut req = request(
        range("2025-03-10", "2025-03-12"),
        "2025-03-12T18:00:00Z",
        "UTC",
        by,
    );
    req.breakdown = breakdown;
    SpendReport::build(Some(&ledger), &req).unwrap()
}

#[test]
fn table_by_day_with_breakdown_and_unpriced_footnote() {
    insta::assert_snapshot!(
        "table_day_breakdown",
        week_report(&[Dimension::Day], true).render(&Style::plain())
    );
}

#[test]
fn table_by_agent_and_model_in_a_terminal() {
    let style = Style {
        color: false,
        boxed: true,
        width: Some(200),
    };
    insta::assert_snapshot!(
        "table_agent_model_boxed",
        week_report(&[Dimension::Agent, Dimension::Model], false).render(&style)
    );
}

#[test]
fn table_compact_on_a_narrow_terminal() {
    let style = Style {
        color: false,
        boxed: true,
        width: Some(60),
    };
    let text = week_report(&[Dimension::Day], false).render(&style);
    insta::assert_snapshot!("table_compact", text);
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
}

#[test]
fn colours_only_when_asked() {
    let report = week_report(&[Dimension::Model], false);
    assert!(!report.render(&Style::plain()).contains('\x1b'));
    let colored = report.render(&Style {
        color: true,
        boxed: true,
        width: None,
    });
    assert!(colored.contains('\x1b'));
}

#[test]
fn today_by_model_single_day_default_and_empty_messages() {
    let period = Period::resolve(
        PeriodSpec::Today,
        ts("2025-03-12T18:00:00Z"),
        &TimeZone::UTC,
    )
    .unwrap();
    assert_eq!(
        SpendRequest::default_group_by(&period),
        vec![Dimension::Model]
    );
    let week =
        Period::resolve(PeriodSpec::Week, ts("2025-03-12T18:00:00Z"), &TimeZone::UTC).unwrap();
    assert_eq!(SpendRequest::default_group_by(&week), vec![Dimension::Day]);

    let req = request(
        PeriodSpec::Today,
        "2025-03-12T18:00:00Z",
        "UTC",
        &[Dimension::Model],
    );
    let missing = SpendReport::build(None, &req).unwrap();
    insta::assert_snapshot!("empty_ledger", missing.render(&Style::plain()));
    insta::assert_snapshot!("empty_ledger_json", missing.to_json());

    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_with(dir.path(), WEEK);
    let req = request(
        PeriodSpec::Today,
        "2025-04-12T18:00:00Z",
        "UTC",
        &[Dimension::Model],
    );
    let quiet = SpendReport::build(Some(&ledger), &req).unwrap();
    assert_eq!(
        quiet.render(&Style::plain()),
        "Spend 2025-04-12 (UTC)\nNo requests in this period.\n"
    );
}

#[test]
fn sessions_list_and_detail() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_with(dir.path(), WEEK);
    let list = SessionList::build(Some(&ledger), 10, None, zone("Europe/Berlin")).unwrap();
    let ids: Vec<&str> = list
        .sessions
        .iter()
        .map(|s| s.session_id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "0195a1b2-0000-7000-8000-00000000cccc",
            "0195a1b2-0000-7000-8000-00000000bbbb",
            "0195a1b2-0000-7000-8000-00000000aaaa"
        ]
    );
    insta::assert_snapshot!("sessions", list.render(&Style::plain()));
    insta::assert_snapshot!("sessions_json", list.to_json());

    let detail = SessionDetail::build(
        &ledger,
        "0195a1b2-0000-7000-8000-00000000aaaa",
        zone("Europe/Berlin"),
    )
    .unwrap();
    // cache read / (input + cache read + cache write) = 103,000 / (1,120 + 103,000 + 5,000)
    assert_eq!(detail.totals.cache_hit_ratio(), Some(103_000.0 / 109_120.0));
    insta::assert_snapshot!("session", detail.render(&Style::plain()));
    insta::assert_snapshot!("session_json", detail.to_json());
}

#[test]
fn recent_sessions_are_ordered_by_their_last_request() {
    let dir = tempfile::tempdir().unwrap();
    // Both sessions are active in the same quarter hour; "late" ends last although it comes
    // first in the rollup's key order.
    let reqs = [
        Req {
            at: "2025-03-12T10:01:00Z",
            session: "late",
            ..WEEK[0]
        },
        Req {
            at: "2025-03-12T10:05:00Z",
            session: "early",
            ..WEEK[1]
        },
        Req {
            at: "2025-03-12T10:09:00Z",
            session: "late",
            ..WEEK[2]
        },
        Req {
            at: "2025-03-11T10:00:00Z",
            session: "old",
            ..WEEK[3]
        },
    ];
    let ledger = ledger_with(dir.path(), &reqs);
    let ids = |limit| -> Vec<String> {
        SessionList::build(Some(&ledger), limit, None, TimeZone::UTC)
            .unwrap()
            .sessions
            .into_iter()
            .map(|s| s.session_id)
            .collect()
    };
    assert_eq!(ids(1), ["late"]);
    assert_eq!(ids(2), ["late", "early"]);
    assert_eq!(ids(10), ["late", "early", "old"]);
    assert!(ids(0).is_empty());
}

#[test]
fn short_session_ids_resolve_when_unique() {
    use gw::ledger::query::SessionMatch;
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_with(dir.path(), WEEK);
    assert_eq!(
        ledger.find_session("bbbb").unwrap(),
        SessionMatch::One("0195a1b2-0000-7000-8000-00000000bbbb".into())
    );
    assert_eq!(
        ledger
            .find_session("0195a1b2-0000-7000-8000-00000000aaaa")
            .unwrap(),
        SessionMatch::One("0195a1b2-0000-7000-8000-00000000aaaa".into())
    );
    assert!(
        matches!(ledger.find_session("0195").unwrap(), SessionMatch::Ambiguous(ids) if ids.len() == 3)
    );
    assert_eq!(ledger.find_session("zzzz").unwrap(), SessionMatch::None);
}

// ---------------------------------------------------------------------------------------------
// The binary

fn gw(dir: &Path) -> Command {
    let mut cmd = Command::new(GW);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("GW_CONFIG", dir.join("config.toml"))
        .env("GW_DATA_DIR", dir.join("data"))
        .env("TZ", "UTC")
        .current_dir(dir);
    cmd
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_on_a_missing_ledger_is_friendly_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run(gw(dir.path()).args(["spend", "--month"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("No requests recorded yet"), "{stdout}");
    let (code, stdout, _) =
        run(gw(dir.path()).args(["spend", "--json", "--now", "2025-03-12T18:00:00Z"]));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["rows"], serde_json::json!([]));
    assert_eq!(v["totals"]["requests"], 0);
    assert_eq!(v["totals"]["cost_usd"], 0.0);
    assert_eq!(v["since"], "2025-03-12T00:00:00+00:00");
    let (code, stdout, _) = run(gw(dir.path()).args(["sessions", "--json"]));
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&stdout).unwrap()["sessions"],
        serde_json::json!([])
    );
    assert!(
        !dir.path().join("data").exists(),
        "reports never create the ledger"
    );
}

#[test]
fn cli_usage_errors_exit_2_with_the_accepted_forms() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run(gw(dir.path()).args(["spend", "--since", "last tuesday"]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("2025-03-09") && stderr.contains("7d"),
        "{stderr}"
    );
    let (code, _, stderr) =
        run(gw(dir.path()).args(["spend", "--since", "2025-03-05", "--until", "2025-03-01"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("not before"), "{stderr}");
    let (code, _, stderr) = run(gw(dir.path()).args(["spend", "--tz", "Mars/Olympus"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("IANA"), "{stderr}");
    let (code, _, _) = run(gw(dir.path()).args(["spend", "--by", "colour"]));
    assert_eq!(code, 2);
    let (code, _, _) = run(gw(dir.path()).args(["spend", "--today", "--month"]));
    assert_eq!(code, 2);
}

#[test]
fn cli_reports_on_a_ledger() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    drop(ledger_with(&dir.path().join("data"), WEEK));
    let now = "2025-03-12T18:00:00Z";

    let (code, stdout, stderr) = run(gw(dir.path()).args([
        "spend",
        "--since",
        "2025-03-10",
        "--by",
        "day,model",
        "--tz",
        "UTC",
        "--json",
        "--now",
        now,
    ]));
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["group_by"], serde_json::json!(["day", "model"]));
    assert_eq!(v["since"], "2025-03-10T00:00:00+00:00");
    assert_eq!(v["until"], "2025-03-13T00:00:00+00:00");
    assert_eq!(v["totals"]["cost_nanos"], 170_329_012);
    assert_eq!(v["totals"]["unpriced_requests"], 2);
    assert_eq!(
        v["rows"][0]["key"],
        serde_json::json!({"day": "2025-03-10", "model": "claude-sonnet-4-5"})
    );

    // Piped: plain, no escapes, even without NO_COLOR.
    let (code, stdout, _) =
        run(gw(dir.path()).args(["spend", "--week", "--tz", "UTC", "--now", now]));
    assert_eq!(code, 0);
    assert!(!stdout.contains('\x1b'));
    assert!(
        stdout.contains("$0.02*") && stdout.contains("qwen3-coder-local (2)"),
        "{stdout}"
    );

    let (code, stdout, _) = run(gw(dir.path()).args([
        "spend", "--month", "--csv", "--agent", "codex", "--now", now,
    ]));
    assert_eq!(code, 0);
    assert_eq!(stdout.lines().count(), 2, "{stdout}");

    let (code, stdout, _) = run(gw(dir.path()).args(["session", "aaaa", "--json", "--tz", "UTC"]));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["requests"].as_array().unwrap().len(), 3);
    assert_eq!(v["totals"]["cost_nanos"], 117_955_556);

    let (code, _, stderr) = run(gw(dir.path()).args(["session", "0195"]));
    assert_eq!(code, 1);
    assert!(stderr.contains("several sessions"), "{stderr}");
}

#[test]
fn cli_seed_ledger_then_report() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) =
        run(gw(dir.path()).args(["debug", "seed-ledger", "--rows", "3000", "--days", "3"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("seeded 3000 rows"), "{stderr}");
    let (code, stdout, _) = run(gw(dir.path()).args(["spend", "--since", "2d", "--json"]));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["totals"]["requests"], 3000);
}

#[test]
fn subscription_use_gets_a_billing_column_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let mut ledger = Ledger::open(&dir.path().join("data/ledger.db")).unwrap();
    let mut rows: Vec<Row> = WEEK
        .iter()
        .enumerate()
        .map(|(i, r)| row(r, i as u128))
        .collect();
    let on_plan = rows
        .iter_mut()
        .find(|r| r.model.as_deref() == Some("gpt-5"))
        .unwrap();
    on_plan.billing = gw::meter::Billing::Subscription;
    let day = on_plan.started_at_us;
    ledger.insert(&rows).unwrap();
    drop(ledger);
    let now = Timestamp::from_microsecond(day)
        .unwrap()
        .checked_add(jiff::SignedDuration::from_mins(1))
        .unwrap()
        .to_string();
    let (code, stdout, stderr) = run(gw(dir.path()).args(["spend", "--today", "--now", &now]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("Billing"), "{stdout}");
    assert!(stdout.contains("subscription"), "{stdout}");
    // A period with no subscription use keeps its usual columns.
    let (code, stdout, _) =
        run(gw(dir.path()).args(["spend", "--today", "--now", "2025-03-20T12:00:00Z"]));
    assert_eq!(code, 0);
    assert!(!stdout.contains("Billing"), "{stdout}");
    // Asked for, it groups like any key, in JSON too.
    let (_, stdout, _) = run(gw(dir.path()).args([
        "spend", "--week", "--by", "billing", "--json", "--now", &now,
    ]));
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let keys: Vec<&str> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"]["billing"].as_str().unwrap())
        .collect();
    assert!(
        keys.contains(&"api") && keys.contains(&"subscription"),
        "{v}"
    );
}

#[test]
fn the_ledger_takes_no_billing_but_api_and_subscription() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_with(dir.path(), WEEK);
    // Another writer (sqlite3, an older or hostile tool) cannot store a third kind.
    let refused = ledger
        .conn()
        .execute("UPDATE requests SET billing = 'free'", []);
    assert!(refused.is_err(), "the CHECK constraint holds");
    let refused = ledger
        .conn()
        .execute("UPDATE requests SET billing = NULL", []);
    assert!(refused.is_err(), "NOT NULL holds");
    let rows = ledger.recent(100).unwrap();
    assert!(rows.iter().all(|r| r.billing == gw::meter::Billing::Api));
}
