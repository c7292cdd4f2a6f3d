//! `cargo bench --bench server`: usage ingest rows/s and lease latency (p50/p99) of `gw server`
//! over HTTP on loopback, on SQLite and, when `GW_TEST_POSTGRES_URL` is set, on PostgreSQL (in a
//! schema of its own, dropped afterwards).

use std::sync::Arc;
use std::time::{Duration, Instant};

use gw::server::client::Client;
use gw::server::trust::Trust;
use gw::server::{self, ServeOptions, Store};
use http::Method;
use serde_json::{json, Value};

const BATCHES: usize = 100;
const BATCH_ROWS: usize = 1000;
const LEASES: usize = 1000;
const PARALLEL: usize = 16;

fn row(session: &str) -> Value {
    let now = jiff::Timestamp::now().as_microsecond();
    json!({
        "id": uuid::Uuid::now_v7().to_string(), "started_at_us": now, "ended_at_us": now + 1_200_000,
        "provider": "anthropic", "endpoint": "/v1/messages", "model": "claude-sonnet-4-5",
        "status": 200, "streamed": true, "input_tokens": 1200, "output_tokens": 300,
        "cache_read_tokens": 20000, "cost_nanos": 12_345_678, "price_version": "bench",
        "latency_us": 1_200_000, "session_id": session, "agent": "claude", "project": "gw", "branch": "main",
    })
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

/// A server on `store` with one org, team, developer (budgets on all three) and key.
struct Running {
    admin: Client,
    key: Client,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap().unwrap();
    }
}

async fn start(store: Arc<dyn Store>, options: ServeOptions) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server::serve(listener, store.clone(), options, async {
        let _ = stopped.await;
    }));
    let token = server::init_admin(store.as_ref(), true)
        .await
        .unwrap()
        .unwrap();
    let admin = Client::new(&base, Some(token), &Trust::default()).unwrap();
    let call = |c: &Client, m: Method, p: &str, b: Value| {
        let c = c.clone();
        let p = p.to_string();
        async move { c.call(m, &p, Some(&b)).await.unwrap() }
    };
    call(
        &admin,
        Method::POST,
        "/v1/admin/orgs",
        json!({"name": "acme"}),
    )
    .await;
    call(
        &admin,
        Method::POST,
        "/v1/admin/teams",
        json!({"org": "acme", "name": "t"}),
    )
    .await;
    call(
        &admin,
        Method::POST,
        "/v1/admin/users",
        json!({"email": "a@x", "org": "acme", "team": "t"}),
    )
    .await;
    let k = call(
        &admin,
        Method::POST,
        "/v1/admin/keys",
        json!({"developer": "a@x"}),
    )
    .await;
    for (scope, name) in [("org", "acme"), ("team", "acme/t"), ("developer", "a@x")] {
        call(
            &admin,
            Method::POST,
            "/v1/admin/budgets",
            json!({"scope": scope, "name": name, "limit_usd": 1_000_000, "period": "month"}),
        )
        .await;
    }
    let key = Client::new(
        &base,
        Some(k["key"].as_str().unwrap().to_string()),
        &Trust::default(),
    )
    .unwrap();

    Running {
        admin,
        key,
        stop,
        task,
    }
}

async fn bench(name: &str, store: Arc<dyn Store>) {
    let Running {
        admin,
        key,
        stop,
        task,
    } = start(store, ServeOptions::default()).await;
    // Ingest: batches of 1000 rows, sequentially.
    let batches: Vec<Value> = (0..BATCHES)
        .map(|b| json!({"rows": (0..BATCH_ROWS).map(|_| row(&format!("s{}", b % 4))).collect::<Vec<_>>()}))
        .collect();
    let t = Instant::now();
    for b in &batches {
        let r = key.call(Method::POST, "/v1/usage", Some(b)).await.unwrap();
        assert_eq!(r["accepted"], BATCH_ROWS);
    }
    let ingest = (BATCHES * BATCH_ROWS) as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    for b in batches.iter().take(5) {
        key.call(Method::POST, "/v1/usage", Some(b)).await.unwrap();
    }
    let dup = (5 * BATCH_ROWS) as f64 / t.elapsed().as_secs_f64();

    // A Prometheus scrape over all that usage (median of 5).
    let mut scrapes: Vec<Duration> = (0..5).map(|_| Duration::ZERO).collect();
    for s in scrapes.iter_mut() {
        let t = Instant::now();
        let (status, _) = admin.send(Method::GET, "/metrics", None).await.unwrap();
        assert!(status.is_success());
        *s = t.elapsed();
    }
    scrapes.sort();

    // Lease latency, one at a time, against three budgets.
    let mut lat = Vec::with_capacity(LEASES);
    for i in 0..LEASES {
        let t = Instant::now();
        key.call(
            Method::POST,
            "/v1/leases",
            Some(&json!({"session_id": format!("l{i}"), "amount_nanos": 1000})),
        )
        .await
        .unwrap();
        lat.push(t.elapsed());
    }
    lat.sort();
    // And 16 at a time.
    let t = Instant::now();
    let mut conc = Vec::new();
    let mut tasks = Vec::new();
    for w in 0..PARALLEL {
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for i in 0..LEASES / PARALLEL {
                let t = Instant::now();
                key.call(
                    Method::POST,
                    "/v1/leases",
                    Some(&json!({"session_id": format!("c{w}-{i}"), "amount_nanos": 1000})),
                )
                .await
                .unwrap();
                out.push(t.elapsed());
            }
            out
        }));
    }
    for t in tasks {
        conc.extend(t.await.unwrap());
    }
    let conc_rate = conc.len() as f64 / t.elapsed().as_secs_f64();
    conc.sort();
    println!(
        "{name:<9} ingest {ingest:>8.0} rows/s (duplicates {dup:>8.0} rows/s) | /metrics {:.2} ms | lease p50 {:.2} ms p99 {:.2} ms | \
         {PARALLEL} parallel: p50 {:.2} ms p99 {:.2} ms, {conc_rate:.0} leases/s",
        pct(&scrapes, 0.5),
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        pct(&conc, 0.5),
        pct(&conc, 0.99),
    );
    let _ = stop.send(());
    task.await.unwrap().unwrap();
}

/// An OTLP/HTTP sink on loopback that takes every export (an empty protobuf answer is a
/// success); answers its base URL.
async fn otlp_sink() -> String {
    let app = axum::Router::new().route(
        "/v1/{signal}",
        axum::routing::post(|_: axum::body::Bytes| async {
            (
                [("content-type", "application/x-protobuf")],
                Vec::<u8>::new(),
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// Ingest rows/s on SQLite with OTLP export off and on, interleaved (off, on, off, on…) on a
/// fresh database each round; with export on, the round ends when every span was sent.
async fn export_on_off() {
    const ROUNDS: usize = 3;
    const ROUND_BATCHES: usize = 30;
    let sink = otlp_sink().await;
    let settings = gw::otel::OtelSettings::resolve(
        &gw::otel::OtelSection {
            endpoint: Some(sink),
            ..Default::default()
        },
        &|_| None,
    )
    .unwrap()
    .unwrap();
    let mut rates: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for round in 0..ROUNDS * 2 {
        let on = round % 2 == 1;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("server.db").display());
        let export = on.then(|| {
            gw::otel::Exporter::start(&settings, gw::otel::Role::Server, Vec::new()).unwrap()
        });
        let running = start(
            server::open_store(&url).await.unwrap(),
            ServeOptions {
                export: export.clone(),
                ..ServeOptions::default()
            },
        )
        .await;
        let batches: Vec<Value> = (0..ROUND_BATCHES)
            .map(|b| json!({"rows": (0..BATCH_ROWS).map(|_| row(&format!("s{}", b % 4))).collect::<Vec<_>>()}))
            .collect();
        let t = Instant::now();
        for b in &batches {
            running
                .key
                .call(Method::POST, "/v1/usage", Some(b))
                .await
                .unwrap();
        }
        let ingest = t.elapsed();
        if let Some(export) = &export {
            assert!(export.flush(Duration::from_secs(60)).await);
            let stats = export.stats();
            let sent = gw::otel::ExportStats::get(&stats.spans_exported);
            assert_eq!(
                sent as usize,
                ROUND_BATCHES * BATCH_ROWS,
                "every row exported"
            );
            assert_eq!(stats.dropped(), 0);
        }
        rates[on as usize].push((ROUND_BATCHES * BATCH_ROWS) as f64 / ingest.as_secs_f64());
        running.stop().await;
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (off, on) = (median(&mut rates[0]), median(&mut rates[1]));
    println!(
        "sqlite    ingest with OTLP export off {off:>8.0} rows/s, on {on:>8.0} rows/s ({:+.1}%; medians of {ROUNDS} interleaved rounds of {} rows, every span sent)",
        (on / off - 1.0) * 100.0,
        ROUND_BATCHES * BATCH_ROWS
    );
}

/// The dashboard on a server holding 1,000,000 usage rows: 24 developers in 3 teams, sessions
/// of 50 requests each (one model, agent, project and branch per session, as developers work),
/// spread over the month so far. Times the overview, sessions and budgets pages (server time,
/// seen from the client on loopback; medians of 5).
async fn dashboard() {
    const ROWS: usize = 1_000_000;
    const DEVELOPERS: usize = 24;
    const SESSION: usize = 50;
    const BATCH: usize = 5000;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("server.db").display());
    let store = server::open_store(&url).await.unwrap();
    let running = start(store.clone(), ServeOptions::default()).await;
    let token = server::init_admin(store.as_ref(), true)
        .await
        .unwrap()
        .unwrap();
    let admin = Client::new(running.admin.base(), Some(token.clone()), &Trust::default()).unwrap();
    for t in 0..3 {
        admin
            .call(
                Method::POST,
                "/v1/admin/teams",
                Some(&json!({"org": "acme", "name": format!("team{t}")})),
            )
            .await
            .unwrap();
        admin
            .call(Method::POST, "/v1/admin/budgets", Some(&json!({"scope": "team", "name": format!("acme/team{t}"), "limit_usd": 50_000, "period": "month"})))
            .await
            .unwrap();
    }
    let mut keys = Vec::new();
    for d in 0..DEVELOPERS {
        let email = format!("dev{d}@acme.example");
        admin
            .call(
                Method::POST,
                "/v1/admin/users",
                Some(&json!({"email": email, "org": "acme", "team": format!("team{}", d % 3)})),
            )
            .await
            .unwrap();
        let k = admin
            .call(
                Method::POST,
                "/v1/admin/keys",
                Some(&json!({"developer": email})),
            )
            .await
            .unwrap();
        keys.push(
            Client::new(
                running.admin.base(),
                k["key"].as_str().map(String::from),
                &Trust::default(),
            )
            .unwrap(),
        );
    }
    let models = [
        "claude-sonnet-4-5",
        "claude-opus-4-1",
        "gpt-5",
        "gemini-2.5-pro",
    ];
    let agents = ["claude", "codex", "gemini", "opencode"];
    let now = jiff::Timestamp::now().as_microsecond();
    // The month so far, less an hour: every row is in `period=month`.
    let month_start = {
        let z = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
        z.first_of_month()
            .unwrap()
            .start_of_day()
            .unwrap()
            .timestamp()
            .as_microsecond()
    };
    let span = (now - month_start - 3_600_000_000).max(3_600_000_000);
    let t = Instant::now();
    let per_dev = ROWS / DEVELOPERS;
    for (d, key) in keys.iter().enumerate() {
        let mut rows = Vec::with_capacity(BATCH);
        for i in 0..per_dev {
            let session = i / SESSION;
            let pick = d * 7 + session;
            let at = month_start + (span / per_dev as i64) * i as i64;
            rows.push(json!({
                "id": uuid::Uuid::now_v7().to_string(), "started_at_us": at, "ended_at_us": at + 3_000_000,
                "provider": "anthropic", "endpoint": "/v1/messages", "model": models[pick % 4],
                "status": 200, "streamed": true, "input_tokens": 800 + (i % 400) as i64, "output_tokens": 300,
                "cache_read_tokens": 40_000, "cache_write_5m_tokens": 1200, "cost_nanos": 21_000_000 + (i % 1000) as i64,
                "price_version": "bench", "latency_us": 3_000_000, "session_id": format!("dev{d}-s{session}"),
                "agent": agents[pick % 4], "project": format!("github.com/acme/repo{}", pick % 9),
                "branch": format!("feature/{}", pick % 13), "task": format!("T-{}", pick % 50),
            }));
            if rows.len() == BATCH || i + 1 == per_dev {
                let batch = json!({ "rows": std::mem::take(&mut rows) });
                key.call(Method::POST, "/v1/usage", Some(&batch))
                    .await
                    .unwrap();
            }
        }
    }
    let seeded_in = t.elapsed();
    // Sign in as the admin, as a browser does.
    let base = running.admin.base().to_string();
    let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let login = http
        .request(
            http::Request::post(format!("{base}/ui/login"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(http_body_util::Full::new(bytes::Bytes::from(format!(
                    "token={token}"
                ))))
                .unwrap(),
        )
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let mut results = Vec::new();
    for path in [
        "/ui/overview?period=month",
        "/ui/overview?period=month&by=model",
        "/ui/overview?period=today",
        "/ui/overview?period=month&team=acme%2Fteam1&agent=codex",
        "/ui/sessions?period=month",
        "/ui/budgets",
    ] {
        let mut times = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            let resp = http
                .request(
                    http::Request::get(format!("{base}{path}"))
                        .header("cookie", &cookie)
                        .body(http_body_util::Full::new(bytes::Bytes::new()))
                        .unwrap(),
                )
                .await
                .unwrap();
            assert_eq!(resp.status(), 200, "{path}");
            http_body_util::BodyExt::collect(resp.into_body())
                .await
                .unwrap();
            times.push(t.elapsed());
        }
        times.sort();
        results.push(format!("{path} {:.1} ms", pct(&times, 0.5)));
    }
    let quarters = {
        let mut tx = store.begin(false).await.unwrap();
        tx.one("SELECT count(*) FROM usage_quarters", &[])
            .await
            .unwrap()
            .unwrap()
            .int(0)
            .unwrap()
    };
    println!(
        "sqlite    dashboard on {ROWS} usage rows ({quarters} quarter-hour sums; seeded in {:.1} s): {}",
        seeded_in.as_secs_f64(),
        results.join(" | ")
    );
    running.stop().await;
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("server.db").display());
        bench("sqlite", server::open_store(&url).await.unwrap()).await;
        export_on_off().await;
        if std::env::var("GW_BENCH_DASHBOARD").as_deref() != Ok("0") {
            dashboard().await;
        }

        let Some(base) = std::env::var("GW_TEST_POSTGRES_URL")
            .ok()
            .filter(|u| !u.is_empty())
        else {
            println!("postgres  skipped: set GW_TEST_POSTGRES_URL to run it");
            return;
        };
        let schema = format!("gw_bench_{}", uuid::Uuid::now_v7().simple());
        let (client, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .await
            .unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        let store = server::open_store(&format!("{base}{sep}options=-c%20search_path%3D{schema}"))
            .await
            .unwrap();
        bench("postgres", store).await;
        client
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await
            .unwrap();
    });
}
