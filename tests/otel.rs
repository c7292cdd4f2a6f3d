//! OTLP export: an in-process collector (OTLP/HTTP and OTLP/gRPC, decoded with the protocol's
//! own types) receives what `gw server` ingests and what `gw run` meters; with the collector
//! down, both go on and count what they drop.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use gw::otel::{Exporter, OtelSection, OtelSettings, Record, Role};
use gw::server::client::Client;
use gw::server::ServeOptions;
use http::Method;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::{json, Value};
use tokio::net::TcpListener;

const GW: &str = env!("CARGO_BIN_EXE_gw");
const FAKE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fake_agent.py");

/// What the collector received, and the headers each export came with.
#[derive(Clone, Default)]
struct Collector {
    traces: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
    metrics: Arc<Mutex<Vec<ExportMetricsServiceRequest>>>,
    headers: Arc<Mutex<Vec<String>>>,
}

impl Collector {
    fn spans(&self) -> Vec<Span> {
        self.traces
            .lock()
            .unwrap()
            .iter()
            .flat_map(|r| &r.resource_spans)
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| s.spans.clone())
            .collect()
    }

    fn service_names(&self) -> Vec<String> {
        self.traces
            .lock()
            .unwrap()
            .iter()
            .flat_map(|r| &r.resource_spans)
            .filter_map(|r| text(&r.resource.as_ref()?.attributes, "service.name"))
            .collect()
    }

    /// Sums of the last (cumulative) export: metric name → attributes filter → value. Counters
    /// sum their points; histograms their `sum` and, under `#count`, their `count`.
    fn metric_sum(&self, name: &str, filter: &[(&str, &str)]) -> f64 {
        let all = self.metrics.lock().unwrap();
        let last = all.last().expect("no metrics were exported");
        let mut total = 0.0;
        let (name, count) = match name.strip_suffix("#count") {
            Some(n) => (n, true),
            None => (name, false),
        };
        let matches = |attrs: &[KeyValue]| {
            filter
                .iter()
                .all(|(k, v)| text(attrs, k).as_deref() == Some(*v))
        };
        for m in last
            .resource_metrics
            .iter()
            .flat_map(|r| &r.scope_metrics)
            .flat_map(|s| &s.metrics)
            .filter(|m| m.name == name)
        {
            match m.data.as_ref().unwrap() {
                Data::Sum(s) => {
                    for p in s.data_points.iter().filter(|p| matches(&p.attributes)) {
                        total += match p.value.unwrap() {
                            opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsDouble(d) => d,
                            opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsInt(i) => i as f64,
                        };
                    }
                }
                Data::Histogram(h) => {
                    for p in h.data_points.iter().filter(|p| matches(&p.attributes)) {
                        total += if count {
                            p.count as f64
                        } else {
                            p.sum.unwrap()
                        };
                    }
                }
                other => panic!("unexpected metric kind for {name}: {other:?}"),
            }
        }
        total
    }
}

fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

fn text(attrs: &[KeyValue], key: &str) -> Option<String> {
    match attr(attrs, key)? {
        AnyValue::StringValue(s) => Some(s.clone()),
        other => panic!("{key} is not a string: {other:?}"),
    }
}

fn int(attrs: &[KeyValue], key: &str) -> Option<i64> {
    match attr(attrs, key)? {
        AnyValue::IntValue(i) => Some(*i),
        other => panic!("{key} is not an int: {other:?}"),
    }
}

fn double(attrs: &[KeyValue], key: &str) -> Option<f64> {
    match attr(attrs, key)? {
        AnyValue::DoubleValue(d) => Some(*d),
        other => panic!("{key} is not a double: {other:?}"),
    }
}

async fn http_traces(
    State(c): State<Collector>,
    headers: HeaderMap,
    body: Bytes,
) -> impl axum::response::IntoResponse {
    c.traces
        .lock()
        .unwrap()
        .push(ExportTraceServiceRequest::decode(body).unwrap());
    c.headers.lock().unwrap().push(format!("{headers:?}"));
    (
        [("content-type", "application/x-protobuf")],
        ExportTraceServiceResponse::default().encode_to_vec(),
    )
}

async fn http_metrics(
    State(c): State<Collector>,
    body: Bytes,
) -> impl axum::response::IntoResponse {
    c.metrics
        .lock()
        .unwrap()
        .push(ExportMetricsServiceRequest::decode(body).unwrap());
    (
        [("content-type", "application/x-protobuf")],
        ExportMetricsServiceResponse::default().encode_to_vec(),
    )
}

/// An OTLP/HTTP collector on loopback; answers its base URL.
async fn http_collector(c: Collector) -> String {
    let app = axum::Router::new()
        .route("/v1/traces", post(http_traces))
        .route("/v1/metrics", post(http_metrics))
        .with_state(c);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.headers
            .lock()
            .unwrap()
            .push(format!("{:?}", request.metadata()));
        self.traces.lock().unwrap().push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        self.metrics.lock().unwrap().push(request.into_inner());
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}

/// An OTLP/gRPC collector on loopback; answers its URL.
async fn grpc_collector(c: Collector) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(c.clone()))
            .add_service(MetricsServiceServer::new(c))
            .serve_with_incoming(incoming)
            .await
            .unwrap()
    });
    url
}

/// A loopback port with nothing listening.
async fn dead_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

fn settings(vars: &'static [(&'static str, &'static str)], endpoint: &str) -> OtelSettings {
    let endpoint = endpoint.to_string();
    let env = move |k: &str| match k {
        "OTEL_EXPORTER_OTLP_ENDPOINT" => Some(endpoint.clone()),
        _ => vars
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string()),
    };
    OtelSettings::resolve(&OtelSection::default(), &env)
        .unwrap()
        .unwrap()
}

struct Srv {
    server: common::TestServer,
    keys: Vec<Client>,
}

/// A server exporting through `export`, with org acme, team backend and two developers.
async fn server(export: Option<Exporter>) -> Srv {
    server_with(ServeOptions {
        export,
        ..ServeOptions::default()
    })
    .await
}

/// A server serving with `options`, with org acme, team backend and two developers.
async fn server_with(options: ServeOptions) -> Srv {
    let server = common::TestServer::start(options).await;
    server
        .admin_posts(&[
            ("/v1/admin/orgs", json!({"name": "acme", "tz": "UTC"})),
            ("/v1/admin/teams", json!({"org": "acme", "name": "backend"})),
            (
                "/v1/admin/users",
                json!({"email": "alice@acme.test", "org": "acme", "team": "backend"}),
            ),
            (
                "/v1/admin/users",
                json!({"email": "bob@acme.test", "org": "acme"}),
            ),
        ])
        .await;
    let keys = server
        .keys(&[
            json!({"developer": "alice@acme.test"}),
            json!({"developer": "bob@acme.test"}),
        ])
        .await
        .iter()
        .map(|(key, _)| server.client(key))
        .collect();
    Srv { server, keys }
}

impl Srv {
    async fn metrics(&self) -> String {
        let (_, text) = self
            .server
            .admin
            .send(Method::GET, "/metrics", None)
            .await
            .unwrap();
        text.as_str().unwrap().to_string()
    }

    /// Requests the server stored for org acme.
    async fn org_requests(&self) -> Value {
        let report = self
            .server
            .admin
            .call(
                Method::GET,
                "/v1/reports/spend?period=all&scope=org&name=acme",
                None,
            )
            .await
            .unwrap();
        report["totals"]["requests"].clone()
    }

    async fn stop(self) {
        self.server.stop().await;
    }
}

/// A row of `session` with its own token counts (`i` varies them), priced or not.
fn row(session: &str, i: i64, model: &str, priced: bool) -> Value {
    let start = jiff::Timestamp::now().as_microsecond() - 5_000_000 + i * 1000;
    json!({
        "id": uuid::Uuid::now_v7().to_string(),
        "started_at_us": start,
        "ended_at_us": start + 1_500_000 + i,
        "provider": "anthropic",
        "endpoint": "/v1/messages",
        "requested_model": model,
        "model": format!("{model}-20250929"),
        "status": if i == 3 { 429 } else { 200 },
        "streamed": true,
        "input_tokens": 100 + i,
        "output_tokens": 20 + 2 * i,
        "cache_read_tokens": 1000 * i,
        "cache_write_5m_tokens": 7 * i,
        "cache_write_1h_tokens": i,
        "reasoning_tokens": i,
        "cost_nanos": if priced { Value::from(1_234_567 * (i + 1)) } else { Value::Null },
        "price_version": "test",
        "upstream_request_id": format!("msg_{i}"),
        "session_id": session,
        "agent": "claude",
        "agent_version": "2.1.197",
        "project": "github.com/acme/app",
        "branch": "feat/<x>",
        "task": "T-1",
        "developer": "mallory@evil.test",
    })
}

fn sum(rows: &[Value], f: impl Fn(&Value) -> i64) -> f64 {
    rows.iter().map(f).sum::<i64>() as f64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_exports_each_ingested_row_once_as_a_span_with_matching_metrics() {
    let collector = Collector::default();
    let url = http_collector(collector.clone()).await;
    let export = Exporter::start(
        &settings(
            &[
                ("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=acme"),
                ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test"),
            ],
            &url,
        ),
        Role::Server,
        Vec::new(),
    )
    .unwrap();
    let srv = server(Some(export.clone())).await;
    let session = uuid::Uuid::now_v7().to_string();
    let alice: Vec<Value> = (0..5)
        .map(|i| row(&session, i, "claude-sonnet-4-5", i != 4))
        .collect();
    let bob: Vec<Value> = (5..7)
        .map(|i| row("bob-session", i, "claude-haiku-4-5", true))
        .collect();
    // Sent twice, and with a row twice in the batch: stored once, exported once.
    let mut twice = alice.clone();
    twice.push(alice[0].clone());
    for _ in 0..2 {
        srv.keys[0]
            .call(Method::POST, "/v1/usage", Some(&json!({"rows": twice})))
            .await
            .unwrap();
    }
    srv.keys[1]
        .call(Method::POST, "/v1/usage", Some(&json!({"rows": bob})))
        .await
        .unwrap();
    assert!(export.flush(Duration::from_secs(30)).await);

    let spans = collector.spans();
    assert_eq!(
        spans.len(),
        7,
        "one span per ingested row, none for duplicates"
    );
    assert_eq!(collector.service_names(), vec!["gw-server".to_string()]);
    assert!(collector.headers.lock().unwrap()[0].contains("x-tenant"));
    let all: Vec<&Value> = alice.iter().chain(&bob).collect();
    for r in &all {
        let id = uuid::Uuid::parse_str(r["id"].as_str().unwrap()).unwrap();
        let span = spans
            .iter()
            .find(|s| s.span_id == id.as_bytes()[8..])
            .expect("a span for each row, its id from the row's");
        let a = &span.attributes;
        let is_alice = r["session_id"] == session.as_str();
        assert_eq!(
            span.name,
            format!("chat {}", r["requested_model"].as_str().unwrap())
        );
        assert_eq!(span.kind, 3, "client");
        assert_eq!(
            span.start_time_unix_nano,
            r["started_at_us"].as_i64().unwrap() as u64 * 1000
        );
        assert_eq!(
            span.end_time_unix_nano,
            r["ended_at_us"].as_i64().unwrap() as u64 * 1000
        );
        if is_alice {
            assert_eq!(
                span.trace_id,
                uuid::Uuid::parse_str(&session).unwrap().as_bytes()
            );
        }
        assert_eq!(
            text(a, "gen_ai.provider.name").as_deref(),
            Some("anthropic")
        );
        assert_eq!(text(a, "gen_ai.system").as_deref(), Some("anthropic"));
        assert_eq!(text(a, "gen_ai.operation.name").as_deref(), Some("chat"));
        assert_eq!(
            text(a, "gen_ai.request.model"),
            r["requested_model"].as_str().map(String::from)
        );
        assert_eq!(
            text(a, "gen_ai.response.model"),
            r["model"].as_str().map(String::from)
        );
        assert_eq!(
            text(a, "gen_ai.response.id"),
            r["upstream_request_id"].as_str().map(String::from)
        );
        assert_eq!(
            text(a, "server.address").as_deref(),
            Some("api.anthropic.com")
        );
        let n = |k: &str| r[k].as_i64().unwrap();
        assert_eq!(
            int(a, "gen_ai.usage.input_tokens"),
            Some(
                n("input_tokens")
                    + n("cache_read_tokens")
                    + n("cache_write_5m_tokens")
                    + n("cache_write_1h_tokens")
            )
        );
        assert_eq!(
            int(a, "gen_ai.usage.output_tokens"),
            Some(n("output_tokens"))
        );
        assert_eq!(
            int(a, "gen_ai.usage.cache_read.input_tokens"),
            Some(n("cache_read_tokens"))
        );
        assert_eq!(
            int(a, "gen_ai.usage.cache_creation.input_tokens"),
            Some(n("cache_write_5m_tokens") + n("cache_write_1h_tokens"))
        );
        // Attribution is the key's, whatever the row claimed.
        assert_eq!(text(a, "gw.org").as_deref(), Some("acme"));
        assert_eq!(
            text(a, "gw.team").as_deref(),
            if is_alice { Some("backend") } else { None }
        );
        assert_eq!(
            text(a, "gw.developer").as_deref(),
            Some(if is_alice {
                "alice@acme.test"
            } else {
                "bob@acme.test"
            })
        );
        assert!(text(a, "gw.key_id").unwrap().len() > 4);
        assert_eq!(
            text(a, "gw.project").as_deref(),
            Some("github.com/acme/app")
        );
        assert_eq!(text(a, "gw.branch").as_deref(), Some("feat/<x>"));
        assert_eq!(text(a, "gw.agent").as_deref(), Some("claude"));
        assert_eq!(text(a, "gw.agent.version").as_deref(), Some("2.1.197"));
        assert_eq!(
            text(a, "gw.session.id"),
            r["session_id"].as_str().map(String::from)
        );
        assert_eq!(text(a, "gw.task").as_deref(), Some("T-1"));
        match r["cost_nanos"].as_i64() {
            Some(c) => assert_eq!(double(a, "gw.cost.usd"), Some(c as f64 / 1e9)),
            None => assert_eq!(double(a, "gw.cost.usd"), None, "unpriced is not a zero"),
        }
        if r["status"] == 429 {
            assert_eq!(text(a, "error.type").as_deref(), Some("429"));
            assert_eq!(span.status.as_ref().unwrap().code, 2, "error status");
        } else {
            assert_eq!(text(a, "error.type"), None);
        }
    }

    let rows: Vec<Value> = all.into_iter().cloned().collect();
    let n = |k: &'static str| move |r: &Value| r[k].as_i64().unwrap();
    let m = |name: &str, filter: &[(&str, &str)]| collector.metric_sum(name, filter);
    assert_eq!(
        m(
            "gen_ai.client.token.usage",
            &[("gen_ai.token.type", "input")]
        ),
        sum(&rows, |r| n("input_tokens")(r)
            + n("cache_read_tokens")(r)
            + n("cache_write_5m_tokens")(r)
            + n("cache_write_1h_tokens")(r))
    );
    assert_eq!(
        m(
            "gen_ai.client.token.usage",
            &[("gen_ai.token.type", "output")]
        ),
        sum(&rows, n("output_tokens"))
    );
    assert_eq!(
        m(
            "gen_ai.client.token.usage#count",
            &[("gen_ai.token.type", "output")]
        ),
        7.0
    );
    assert_eq!(m("gen_ai.client.operation.duration#count", &[]), 7.0);
    let seconds = sum(&rows, |r| n("ended_at_us")(r) - n("started_at_us")(r)) / 1e6;
    assert!((m("gen_ai.client.operation.duration", &[]) - seconds).abs() < 1e-6);
    assert_eq!(
        m(
            "gen_ai.client.operation.duration#count",
            &[("error.type", "429")]
        ),
        1.0
    );
    for (kind, field) in [
        ("input", "input_tokens"),
        ("cache_read", "cache_read_tokens"),
        ("output", "output_tokens"),
        ("reasoning", "reasoning_tokens"),
    ] {
        assert_eq!(
            m("gw.tokens", &[("gw.token.type", kind)]),
            sum(&rows, n(field)),
            "{kind}"
        );
    }
    assert_eq!(
        m("gw.tokens", &[("gw.token.type", "cache_write")]),
        sum(&rows, |r| n("cache_write_5m_tokens")(r)
            + n("cache_write_1h_tokens")(r))
    );
    let cost = sum(&rows, |r| r["cost_nanos"].as_i64().unwrap_or(0)) / 1e9;
    assert!(
        (m("gw.cost", &[]) - cost).abs() < 1e-9,
        "cost {} vs {cost}",
        m("gw.cost", &[])
    );
    assert!(
        (m(
            "gw.cost",
            &[
                ("gw.team", "backend"),
                ("gen_ai.request.model", "claude-sonnet-4-5")
            ]
        ) - sum(&alice, |r| r["cost_nanos"].as_i64().unwrap_or(0)) / 1e9)
            .abs()
            < 1e-9
    );
    // The server's own figures agree: what it stored is what it exported.
    assert_eq!(srv.org_requests().await, 7);
    let text = srv.metrics().await;
    assert!(
        text.contains("gw_otel_rows_total{result=\"exported\"} 7"),
        "{text}"
    );
    assert!(text.contains("gw_otel_rows_total{result=\"dropped_queue_full\"} 0"));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_collector_down_ingest_goes_on_and_drops_are_counted() {
    let export =
        Exporter::start(&settings(&[], &dead_port().await), Role::Server, Vec::new()).unwrap();
    let srv = server(Some(export.clone())).await;
    let rows: Vec<Value> = (0..3)
        .map(|i| row("s", i, "claude-sonnet-4-5", true))
        .collect();
    let answer = srv.keys[0]
        .call(Method::POST, "/v1/usage", Some(&json!({"rows": rows})))
        .await
        .unwrap();
    assert_eq!(answer["accepted"], 3, "ingest does not wait for export");
    assert!(export.flush(Duration::from_secs(60)).await);
    let text = srv.metrics().await;
    assert!(
        text.contains("gw_otel_rows_total{result=\"dropped_export_failed\"} 3"),
        "{text}"
    );
    assert!(
        text.contains("gw_otel_metric_exports_total{result=\"failed\"} 1"),
        "{text}"
    );
    assert_eq!(srv.org_requests().await, 3, "the database lost nothing");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_drops_and_counts_instead_of_waiting() {
    // A collector that takes connections and never answers: the first export hangs.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let export = Exporter::start(&settings(&[], &url), Role::Server, Vec::new()).unwrap();
    let total = gw::otel::QUEUE_ROWS * 2;
    let started = std::time::Instant::now();
    for i in 0..total {
        let mut r = gw::api::UsageRow {
            id: uuid::Uuid::now_v7().to_string(),
            session_id: "s".into(),
            provider: "openai".into(),
            started_at_us: 1_700_000_000_000_000 + i as i64,
            ..Default::default()
        };
        r.ended_at_us = r.started_at_us;
        export.send(Record {
            row: r,
            ..Record::default()
        });
    }
    let sent_in = started.elapsed();
    let stats = export.stats();
    let dropped = gw::otel::ExportStats::get(&stats.dropped_queue_full);
    // The queue holds QUEUE_ROWS, the task one batch (512) more.
    assert!(
        dropped as usize >= total - gw::otel::QUEUE_ROWS - 512,
        "dropped {dropped} of {total}"
    );
    eprintln!(
        "{total} rows handed over in {sent_in:?} with the collector hanging; {dropped} dropped"
    );
    // Stopping gives up on the hanging collector after its timeout; every row is accounted for.
    export.shutdown(Duration::from_millis(500)).await;
    assert_eq!(stats.dropped(), total as u64);
    assert_eq!(gw::otel::ExportStats::get(&stats.spans_exported), 0);
}

fn gw_run(dir: &std::path::Path, mock: &common::Mock, otel: &[(&str, &str)]) -> Command {
    let repo = dir.join("app");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    std::fs::write(repo.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    let mut cmd = Command::new(GW);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("USER", "tester")
        .env("GW_CONFIG", dir.join("config.toml"))
        .env("GW_DATA_DIR", dir.join("data"))
        .env("GW_ANTHROPIC_UPSTREAM", mock.url())
        .env("GW_OPENAI_UPSTREAM", mock.url())
        .env("GW_GEMINI_UPSTREAM", mock.url())
        .env("ANTHROPIC_API_KEY", "sk-ant-1")
        .env("OPENAI_API_KEY", "sk-oai-2")
        .env("GEMINI_API_KEY", "gm-3")
        .env("FAKE_OUT", dir.join("fake-out.json"))
        .envs(otel.iter().copied())
        .current_dir(&repo)
        .args(["run", "--", "python3", FAKE])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

async fn run(mut cmd: Command) -> std::process::Output {
    let child = cmd.spawn().unwrap();
    tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gw_run_exports_its_ledger_rows_over_grpc() {
    let collector = Collector::default();
    let url = grpc_collector(collector.clone()).await;
    let mock = common::Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let out = run(gw_run(
        dir.path(),
        &mock,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &url),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=dev"),
            ("OTEL_SERVICE_NAME", "gw-laptop"),
        ],
    ))
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = gw::ledger::Ledger::open(&dir.path().join("data/ledger.db"))
        .unwrap()
        .recent(100)
        .unwrap();
    assert_eq!(rows.len(), 3);
    let spans = collector.spans();
    assert_eq!(
        spans.len(),
        3,
        "every ledger row, once, flushed before gw run exits"
    );
    assert_eq!(collector.service_names()[0], "gw-laptop");
    let agent_env: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("fake-out.json")).unwrap())
            .unwrap();
    assert_eq!(
        agent_env["env"]["OTEL_EXPORTER_OTLP_HEADERS"],
        Value::Null,
        "the collector's credentials stay with gw"
    );
    assert!(collector.headers.lock().unwrap()[0].contains("x-tenant"));
    let mut by_provider = BTreeMap::new();
    for r in &rows {
        let span = spans
            .iter()
            .find(|s| s.span_id == r.id.as_bytes()[8..])
            .expect("a span per ledger row");
        let a = &span.attributes;
        assert_eq!(
            text(a, "gw.session.id").as_deref(),
            Some(r.attribution.session_id.as_str())
        );
        assert_eq!(text(a, "gw.developer").as_deref(), Some("tester"));
        assert_eq!(text(a, "gw.agent").as_deref(), Some("python3"));
        assert_eq!(text(a, "gw.branch").as_deref(), Some("main"));
        assert_eq!(
            int(a, "gen_ai.usage.output_tokens"),
            Some(r.usage.output as i64)
        );
        assert_eq!(
            int(a, "gen_ai.usage.input_tokens"),
            Some(r.usage.total_input() as i64)
        );
        assert_eq!(
            double(a, "gw.cost.usd"),
            r.cost_nanos.map(|c| c as f64 / 1e9)
        );
        let upstream: http::Uri = mock.url().parse().unwrap();
        assert_eq!(text(a, "server.address").as_deref(), upstream.host());
        by_provider.insert(r.provider.clone(), text(a, "gen_ai.provider.name").unwrap());
    }
    assert_eq!(by_provider["gemini"], "gcp.gemini");
    assert_eq!(by_provider["openai"], "openai");
    let m = |name: &str, filter: &[(&str, &str)]| collector.metric_sum(name, filter);
    let ledger = |f: fn(&gw::ledger::Row) -> u64| rows.iter().map(f).sum::<u64>() as f64;
    assert_eq!(
        m("gw.tokens", &[("gw.token.type", "output")]),
        ledger(|r| r.usage.output)
    );
    assert_eq!(
        m("gw.tokens", &[("gw.token.type", "cache_read")]),
        ledger(|r| r.usage.cache_read)
    );
    assert_eq!(
        m(
            "gen_ai.client.token.usage",
            &[("gen_ai.token.type", "input")]
        ),
        ledger(|r| r.usage.total_input())
    );
    let cost: i64 = rows.iter().filter_map(|r| r.cost_nanos).sum();
    assert!((m("gw.cost", &[("gw.agent", "python3")]) - cost as f64 / 1e9).abs() < 1e-9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gw_run_goes_on_with_the_collector_down() {
    let mock = common::Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let url = dead_port().await;
    let out = run(gw_run(
        dir.path(),
        &mock,
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &url), ("GW_LOG", "warn")],
    ))
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = gw::ledger::Ledger::open(&dir.path().join("data/ledger.db"))
        .unwrap()
        .recent(100)
        .unwrap();
    assert_eq!(rows.len(), 3, "the ledger has every row");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("OTLP export dropped 3 of this session's requests"),
        "{stderr}"
    );
    let log = std::fs::read_to_string(dir.path().join("data/gw.log")).unwrap_or_default();
    assert!(
        log.contains("OTLP export to the collector failed") && log.contains("3 spans dropped"),
        "the drop is in the log: {log}"
    );
}

/// Every metric and label the Grafana dashboard's queries name is one gw server serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grafana_dashboard_queries_only_what_metrics_serves() {
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/contrib/grafana/gw.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let collector = Collector::default();
    let url = http_collector(collector.clone()).await;
    let export = Exporter::start(&settings(&[], &url), Role::Server, Vec::new()).unwrap();
    let srv = server_with(ServeOptions {
        export: Some(export.clone()),
        metrics_labels: gw::server::metrics::MetricsLabels::parse("developer,project").unwrap(),
        ..ServeOptions::default()
    })
    .await;
    srv.server.admin
        .call(
            Method::POST,
            "/v1/admin/budgets",
            Some(&json!({"scope": "team", "name": "acme/backend", "limit_usd": "0.001", "period": "day"})),
        )
        .await
        .unwrap();
    let rows: Vec<Value> = (0..4)
        .map(|i| row("s", i, "claude-sonnet-4-5", true))
        .collect();
    srv.keys[0]
        .call(Method::POST, "/v1/usage", Some(&json!({"rows": rows})))
        .await
        .unwrap();
    let (status, _) = srv.keys[0]
        .send(
            Method::POST,
            "/v1/leases",
            Some(&json!({"session_id": "s", "amount_nanos": 1_000_000_000})),
        )
        .await
        .unwrap();
    assert_eq!(status, http::StatusCode::PAYMENT_REQUIRED);
    assert!(export.flush(Duration::from_secs(30)).await);
    let text = srv.metrics().await;
    let series: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();

    let mut queries = Vec::new();
    let mut stack = vec![&dashboard];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v) {
                        ("expr" | "definition", Value::String(q)) => queries.push(q.clone()),
                        _ => stack.push(v),
                    }
                }
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    assert!(queries.len() >= 25, "{} queries", queries.len());
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    for q in &queries {
        let names: Vec<&str> = q
            .split(|c: char| !is_name(c))
            .filter(|w| w.starts_with("gw_"))
            .collect();
        assert!(!names.is_empty(), "a query on no gw metric: {q}");
        for name in &names {
            assert!(
                series
                    .iter()
                    .any(|l| l.starts_with(&format!("{name}{{"))
                        || l.starts_with(&format!("{name} "))),
                "{name} (in {q}) is not in /metrics:\n{text}"
            );
        }
        // Each label a query groups by, or picks values of, is on the series it reads.
        let mut labels: Vec<String> = Vec::new();
        for part in q.split("by (").skip(1) {
            let list = part.split(')').next().unwrap();
            labels.extend(list.split(',').map(|l| l.trim().to_string()));
        }
        if let Some(rest) = q.strip_prefix("label_values(") {
            labels.push(
                rest.rsplit(',')
                    .next()
                    .unwrap()
                    .trim_end_matches(')')
                    .trim()
                    .to_string(),
            );
        }
        for label in labels.iter().filter(|l| !l.is_empty()) {
            assert!(
                series
                    .iter()
                    .any(|l| names.iter().any(|n| l.starts_with(&format!("{n}{{")))
                        && l.contains(&format!("{label}=\""))),
                "label {label} (in {q}) is on no series of {names:?}"
            );
        }
    }
    srv.stop().await;
}
