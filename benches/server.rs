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
