//! OTLP export of metered requests, following the OpenTelemetry GenAI semantic conventions.
//!
//! Each usage row becomes one span (kind client, its real start and end, named
//! `{gen_ai.operation.name} {gen_ai.request.model}`) and feeds three metrics:
//! `gen_ai.client.token.usage` (histogram by `gen_ai.token.type`, `input` counting cached input
//! too, as the conventions define it), `gen_ai.client.operation.duration` (seconds) and gw's own
//! `gw.cost` (USD) and `gw.tokens` (by `gw.token.type`: `input` uncached, `cache_read`,
//! `cache_write`, `output`, `reasoning`), whose sums equal the ledger's. Metrics are cumulative,
//! so an export that fails loses nothing: the next one carries the totals.
//!
//! `gw server` exports every row it ingests (once: a duplicate is not exported again), `gw run`
//! and `gw proxy` every row their ledger commits. Export never slows either: rows go to a
//! bounded queue with `try_send`, a task batches them (512 spans or 1 s) and exports with the
//! OTLP exporter's retry and backoff. What the queue cannot hold, or an export that fails for
//! good, is dropped and counted ([`ExportStats`], on the server's `/metrics` and in the log).
//! The ledger and the server's database stay the record: export is a copy.
//!
//! A span's trace id is derived from the gw session id and its span id from the row's UUIDv7,
//! so all of a session's requests share one trace and a row exported twice (a retry the
//! collector received) is the same span.

mod http_client;

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::metrics::{Counter, Histogram, MeterProvider as _};
use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{
    InstrumentKind, ManualReader, Pipeline, SdkMeterProvider, Temporality,
};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanExporter, SpanLinks};
use opentelemetry_sdk::Resource;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};

use crate::api::UsageRow;
use crate::meter::Provider;

pub use crate::config::{OtelSection, OtelSettings, OtlpProtocol};

/// Rows waiting for export at most; beyond it rows are dropped (and counted), never waited for.
pub const QUEUE_ROWS: usize = 8192;
/// Spans per export request at most.
const BATCH_SPANS: usize = 512;
/// How long a span waits for company before its batch goes.
const BATCH_DELAY: Duration = Duration::from_secs(1);
/// A client string longer than this is cut (at a character boundary) before it is queued, so
/// a full queue holds at most a few tens of MB.
const MAX_ATTRIBUTE_BYTES: usize = 256;
/// An export attempt's time limit: under the 5 s a stopping `gw run` gives export.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(4);
/// A request longer than this is a client's bad clock, not a request: its duration is capped.
const MAX_DURATION_US: i64 = 86_400_000_000;

/// The variables that carry a collector's credentials: withheld from the agent while gw exports.
pub const CREDENTIAL_VARS: [&str; 4] = [
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
    "OTEL_EXPORTER_OTLP_LOGS_HEADERS",
];

/// One row to export, with the organisation it belongs to (the server's; locally, the team
/// login's when there is one).
#[derive(Debug, Clone, Default)]
pub struct Record {
    pub row: UsageRow,
    pub org: Option<String>,
    pub team: Option<String>,
}

/// What export did and dropped, since the process started.
#[derive(Debug, Default)]
pub struct ExportStats {
    /// Rows the queue took.
    pub queued: AtomicU64,
    pub spans_exported: AtomicU64,
    /// Rows the queue could not take (the exporter was behind).
    pub dropped_queue_full: AtomicU64,
    /// Rows whose export failed after its retries (the collector down or refusing), or that
    /// were still waiting when export stopped.
    pub dropped_export_failed: AtomicU64,
    pub metric_exports: AtomicU64,
    pub metric_exports_failed: AtomicU64,
}

impl ExportStats {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub fn dropped(&self) -> u64 {
        Self::get(&self.dropped_queue_full) + Self::get(&self.dropped_export_failed)
    }
}

/// The org and team a record without its own is attributed to.
type Identity = (Option<String>, Option<String>);

/// Who exports: the default `service.name` and the instrumentation scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `gw run` and `gw proxy`, from the local ledger.
    Local,
    /// `gw server`, from ingested rows.
    Server,
}

enum Message {
    Row(Box<Record>),
    /// Export everything queued before it, spans and metrics, then answer.
    Flush(oneshot::Sender<()>),
}

/// A cheap, cloneable handle that queues rows for export.
#[derive(Clone)]
pub struct Exporter {
    tx: mpsc::Sender<Message>,
    stats: Arc<ExportStats>,
    identity: Arc<Mutex<Identity>>,
    task: Arc<Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

impl std::fmt::Debug for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exporter")
            .field("stats", &self.stats)
            .finish()
    }
}

impl Exporter {
    /// Builds the OTLP exporters and starts the export task on the current Tokio runtime.
    /// `hosts` names each provider's upstream host (`server.address`); a provider missing from
    /// it gets its default upstream's.
    pub fn start(
        settings: &OtelSettings,
        role: Role,
        hosts: Vec<(String, String)>,
    ) -> Result<Exporter, String> {
        let service = settings.service_name.clone().unwrap_or_else(|| {
            match role {
                Role::Local => "gw",
                Role::Server => "gw-server",
            }
            .to_string()
        });
        let resource = Resource::builder_empty()
            .with_attributes(
                settings
                    .resource_attributes
                    .iter()
                    .filter(|(k, _)| k.as_str() != "service.name")
                    .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
            )
            .with_service_name(service)
            .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
            // Each process's cumulative metrics are a stream of their own: without an instance
            // id, two laptops' (or replicas') `gw.cost` would be one series jumping between them.
            .with_attribute(KeyValue::new(
                "service.instance.id",
                settings
                    .resource_attributes
                    .get("service.instance.id")
                    .cloned()
                    .unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
            ))
            .build();
        let (mut spans, metrics) = build_exporters(settings)?;
        spans.set_resource(&resource);
        let reader = SharedReader(Arc::new(
            ManualReader::builder()
                .with_temporality(Temporality::Cumulative)
                .build(),
        ));
        let provider = SdkMeterProvider::builder()
            .with_resource(resource.clone())
            .with_reader(reader.clone())
            .build();
        let scope = InstrumentationScope::builder(match role {
            Role::Local => "gw.proxy",
            Role::Server => "gw.server",
        })
        .with_version(env!("CARGO_PKG_VERSION"))
        .build();
        let instruments = Instruments::new(&provider, scope.clone());
        let stats = Arc::new(ExportStats::default());
        let identity = Arc::new(Mutex::new((None, None)));
        let (tx, rx) = mpsc::channel(QUEUE_ROWS);
        let worker = Worker {
            rx,
            spans,
            metrics,
            reader,
            provider,
            instruments,
            scope,
            hosts,
            identity: identity.clone(),
            developer_labels: settings.metric_developer_labels,
            pending: Vec::with_capacity(BATCH_SPANS),
            stats: stats.clone(),
            metric_interval: settings.metric_interval,
            endpoint: crate::config::redact_url(&settings.endpoint),
            warned_at: [None; 2],
        };
        let task = tokio::spawn(worker.run());
        tracing::info!(
            endpoint = %crate::config::redact_url(&settings.endpoint),
            protocol = settings.protocol.as_str(),
            "exporting usage over OTLP"
        );
        Ok(Exporter {
            tx,
            stats,
            identity,
            task: Arc::new(Mutex::new(Some(task))),
        })
    }

    /// The org and team of rows that name none (a team login's, for `gw run`).
    pub fn set_identity(&self, org: Option<String>, team: Option<String>) {
        let bounded = |mut s: String| {
            crate::limits::truncate(&mut s, MAX_ATTRIBUTE_BYTES);
            s
        };
        *self.identity.lock().unwrap_or_else(|e| e.into_inner()) =
            (org.map(bounded), team.map(bounded));
    }

    pub fn stats(&self) -> Arc<ExportStats> {
        self.stats.clone()
    }

    /// Queues one row (its strings cut to what export sends); when the queue is full the row
    /// is dropped and counted. Never waits.
    pub fn send(&self, mut record: Record) {
        bound(&mut record);
        match self.tx.try_send(Message::Row(Box::new(record))) {
            Ok(()) => self.stats.queued.fetch_add(1, Ordering::Relaxed),
            Err(_) => self
                .stats
                .dropped_queue_full
                .fetch_add(1, Ordering::Relaxed),
        };
    }

    /// Resolves once every row queued before it is exported (or dropped) and the metrics are
    /// exported, or after `timeout`.
    pub async fn flush(&self, timeout: Duration) -> bool {
        let (tx, rx) = oneshot::channel();
        let sent = async { self.tx.send(Message::Flush(tx)).await.is_ok() && rx.await.is_ok() };
        tokio::time::timeout(timeout, sent).await.unwrap_or(false)
    }

    /// Flushes, then stops the export task (every clone of this handle stops exporting). What
    /// was not sent by then counts as dropped.
    pub async fn shutdown(&self, timeout: Duration) {
        let flushed = self.flush(timeout).await;
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
        let s = &self.stats;
        let unsent = ExportStats::get(&s.queued)
            .saturating_sub(ExportStats::get(&s.spans_exported))
            .saturating_sub(ExportStats::get(&s.dropped_export_failed));
        s.dropped_export_failed.fetch_add(unsent, Ordering::Relaxed);
        if !flushed {
            tracing::warn!(
                unsent,
                "OTLP export did not finish within {timeout:?}; what it still held is dropped"
            );
        }
    }
}

fn build_exporters(
    settings: &OtelSettings,
) -> Result<
    (
        opentelemetry_otlp::SpanExporter,
        opentelemetry_otlp::MetricExporter,
    ),
    String,
> {
    let headers: std::collections::HashMap<String, String> = settings
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let timeout = EXPORT_TIMEOUT;
    let built = match settings.protocol {
        OtlpProtocol::HttpProtobuf => {
            let spans = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_http_client(http_client::OtlpHttpClient::new())
                .with_endpoint(settings.signal_url("traces"))
                .with_headers(headers.clone())
                .with_timeout(timeout)
                .build();
            let metrics = opentelemetry_otlp::MetricExporter::builder()
                .with_http()
                .with_http_client(http_client::OtlpHttpClient::new())
                .with_endpoint(settings.signal_url("metrics"))
                .with_headers(headers)
                .with_timeout(timeout)
                .with_temporality(Temporality::Cumulative)
                .build();
            spans.and_then(|s| Ok((s, metrics?)))
        }
        OtlpProtocol::Grpc => {
            let mut metadata = tonic::metadata::MetadataMap::new();
            for (k, v) in &headers {
                let key =
                    tonic::metadata::MetadataKey::from_bytes(k.to_ascii_lowercase().as_bytes())
                        .map_err(|_| format!("OTLP header {k:?} cannot be gRPC metadata"))?;
                let value = v
                    .parse()
                    .map_err(|_| format!("OTLP header {k:?} has a value gRPC cannot carry"))?;
                metadata.insert(key, value);
            }
            let tls = settings
                .endpoint
                .starts_with("https:")
                .then(|| tonic::transport::ClientTlsConfig::new().with_webpki_roots());
            let mut spans = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(settings.endpoint.clone())
                .with_metadata(metadata.clone())
                .with_timeout(timeout);
            let mut metrics = opentelemetry_otlp::MetricExporter::builder()
                .with_tonic()
                .with_endpoint(settings.endpoint.clone())
                .with_metadata(metadata)
                .with_timeout(timeout)
                .with_temporality(Temporality::Cumulative);
            if let Some(tls) = tls {
                spans = spans.with_tls_config(tls.clone());
                metrics = metrics.with_tls_config(tls);
            }
            spans.build().and_then(|s| Ok((s, metrics.build()?)))
        }
    };
    built.map_err(|e| {
        format!(
            "cannot set up OTLP export to {}: {e}",
            crate::config::redact_url(&settings.endpoint)
        )
    })
}

/// A [`ManualReader`] the export task keeps a handle on while the meter provider owns it.
#[derive(Debug, Clone)]
struct SharedReader(Arc<ManualReader>);

impl MetricReader for SharedReader {
    fn register_pipeline(&self, pipeline: Weak<Pipeline>) {
        self.0.register_pipeline(pipeline)
    }
    fn collect(&self, rm: &mut ResourceMetrics) -> OTelSdkResult {
        self.0.collect(rm)
    }
    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
    fn temporality(&self, kind: InstrumentKind) -> Temporality {
        self.0.temporality(kind)
    }
}

struct Instruments {
    tokens: Histogram<u64>,
    duration: Histogram<f64>,
    cost: Counter<f64>,
    token_kinds: Counter<u64>,
}

impl Instruments {
    fn new(provider: &SdkMeterProvider, scope: InstrumentationScope) -> Instruments {
        let meter = provider.meter_with_scope(scope);
        Instruments {
            tokens: meter
                .u64_histogram("gen_ai.client.token.usage")
                .with_unit("{token}")
                .with_description("Number of input and output tokens used.")
                .with_boundaries(vec![
                    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0,
                    1048576.0, 4194304.0, 16777216.0, 67108864.0,
                ])
                .build(),
            duration: meter
                .f64_histogram("gen_ai.client.operation.duration")
                .with_unit("s")
                .with_description("GenAI operation duration.")
                .with_boundaries(vec![
                    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48,
                    40.96, 81.92,
                ])
                .build(),
            cost: meter
                .f64_counter("gw.cost")
                .with_unit("USD")
                .with_description("Cost of metered requests, as gw priced them (unpriced: none).")
                .build(),
            token_kinds: meter
                .u64_counter("gw.tokens")
                .with_unit("{token}")
                .with_description(
                    "Tokens by gw.token.type: input (uncached), cache_read, cache_write, output, reasoning (part of output).",
                )
                .build(),
        }
    }
}

/// Which signal a warning is about, in [`Worker::warned_at`].
const SPANS: usize = 0;
const METRICS: usize = 1;

struct Worker {
    rx: mpsc::Receiver<Message>,
    spans: opentelemetry_otlp::SpanExporter,
    metrics: opentelemetry_otlp::MetricExporter,
    reader: SharedReader,
    /// Kept alive: dropping it would shut the reader down.
    #[allow(dead_code)]
    provider: SdkMeterProvider,
    instruments: Instruments,
    scope: InstrumentationScope,
    hosts: Vec<(String, String)>,
    identity: Arc<Mutex<Identity>>,
    developer_labels: bool,
    pending: Vec<SpanData>,
    stats: Arc<ExportStats>,
    metric_interval: Duration,
    endpoint: String,
    /// When the last span and metric export failures were logged: one warning a minute at
    /// most of each.
    warned_at: [Option<std::time::Instant>; 2],
}

impl Worker {
    async fn run(mut self) {
        let mut batch_tick = tokio::time::interval(BATCH_DELAY);
        let mut metric_tick = tokio::time::interval(self.metric_interval);
        metric_tick.tick().await;
        loop {
            tokio::select! {
                message = self.rx.recv() => match message {
                    Some(Message::Row(record)) => {
                        self.take(&record);
                        if self.pending.len() >= BATCH_SPANS {
                            self.export_spans().await;
                        }
                    }
                    Some(Message::Flush(done)) => {
                        while let Ok(message) = self.rx.try_recv() {
                            match message {
                                Message::Row(record) => self.take(&record),
                                Message::Flush(other) => { let _ = other.send(()); }
                            }
                            if self.pending.len() >= BATCH_SPANS {
                                self.export_spans().await;
                            }
                        }
                        // Metrics first: one small request that carries every total, so a
                        // stop that runs out of time loses spans rather than the sums.
                        self.export_metrics().await;
                        self.export_spans().await;
                        let _ = done.send(());
                    }
                    None => {
                        self.export_spans().await;
                        self.export_metrics().await;
                        return;
                    }
                },
                _ = batch_tick.tick() => self.export_spans().await,
                _ = metric_tick.tick() => self.export_metrics().await,
            }
        }
    }

    fn host(&self, provider: &str) -> Option<String> {
        if let Some((_, h)) = self.hosts.iter().find(|(p, _)| p == provider) {
            return Some(h.clone());
        }
        let info = Provider::from_prefix(provider)?.info();
        let uri: http::Uri = info.default_upstream.parse().ok()?;
        uri.host().map(str::to_string)
    }

    /// Records the row's metrics and queues its span.
    fn take(&mut self, record: &Record) {
        let (org, team) = match &record.org {
            Some(org) => (Some(org.clone()), record.team.clone()),
            None => self
                .identity
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        };
        let r = &record.row;
        let op = operation(&r.endpoint);
        let system = system(&r.provider);
        // Every string was cut to MAX_ATTRIBUTE_BYTES when the row was queued (`bound`).
        let requested = r.requested_model.clone().or_else(|| r.model.clone());
        let mut common = vec![
            KeyValue::new("gen_ai.operation.name", op),
            KeyValue::new("gen_ai.provider.name", system),
        ];
        if let Some(m) = &requested {
            common.push(KeyValue::new("gen_ai.request.model", m.clone()));
        }
        if let Some(m) = r.model.as_deref() {
            common.push(KeyValue::new("gen_ai.response.model", m.to_string()));
        }
        if let Some(h) = self.host(&r.provider) {
            common.push(KeyValue::new("server.address", h));
        }
        let mut metric_attrs = common.clone();
        for (key, value) in [
            ("gw.org", org.as_deref()),
            ("gw.team", team.as_deref()),
            ("gw.agent", r.agent.as_deref()),
        ] {
            metric_attrs.push(KeyValue::new(key, value.unwrap_or_default().to_string()));
        }
        if self.developer_labels {
            metric_attrs.push(KeyValue::new(
                "gw.developer",
                r.developer.clone().unwrap_or_default(),
            ));
            metric_attrs.push(KeyValue::new(
                "gw.project",
                r.project.clone().unwrap_or_default(),
            ));
        }
        let error = error_type(r);
        let all_input = all_input(r).max(0) as u64;
        let output = r.output_tokens.max(0) as u64;
        let with = |attrs: &[KeyValue], k: &'static str, v: &'static str| {
            let mut a = attrs.to_vec();
            a.push(KeyValue::new(k, v));
            a
        };
        // A refused or failed request used no tokens: recorded, it would skew the histogram.
        if all_input > 0 || output > 0 {
            self.instruments.tokens.record(
                all_input,
                &with(&metric_attrs, "gen_ai.token.type", "input"),
            );
            self.instruments
                .tokens
                .record(output, &with(&metric_attrs, "gen_ai.token.type", "output"));
        }
        let mut duration_attrs = metric_attrs.clone();
        if let Some(e) = &error {
            duration_attrs.push(KeyValue::new("error.type", e.clone()));
        }
        let duration = ended(r) - r.started_at_us;
        self.instruments
            .duration
            .record(duration as f64 / 1e6, &duration_attrs);
        if let Some(nanos) = r.cost_nanos {
            self.instruments.cost.add(nanos as f64 / 1e9, &metric_attrs);
        }
        for (kind, n) in [
            ("input", r.input_tokens),
            ("cache_read", r.cache_read_tokens),
            ("cache_write", cache_write(r)),
            ("output", r.output_tokens),
            ("reasoning", r.reasoning_tokens),
        ] {
            if n > 0 {
                self.instruments
                    .token_kinds
                    .add(n as u64, &with(&metric_attrs, "gw.token.type", kind));
            }
        }
        self.pending
            .push(span(r, (org, team), common, error, &self.scope));
    }

    async fn export_spans(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.pending);
        self.pending.reserve(BATCH_SPANS);
        let n = batch.len() as u64;
        match self.spans.export(batch).await {
            Ok(()) => {
                self.stats.spans_exported.fetch_add(n, Ordering::Relaxed);
            }
            Err(e) => {
                self.stats
                    .dropped_export_failed
                    .fetch_add(n, Ordering::Relaxed);
                self.warn(SPANS, &format!("{n} spans dropped: {e}"));
            }
        }
    }

    async fn export_metrics(&mut self) {
        let mut rm = ResourceMetrics::default();
        if let Err(e) = self.reader.collect(&mut rm) {
            self.warn(METRICS, &format!("cannot collect metrics: {e}"));
            return;
        }
        match self.metrics.export(&rm).await {
            Ok(()) => {
                self.stats.metric_exports.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.stats
                    .metric_exports_failed
                    .fetch_add(1, Ordering::Relaxed);
                self.warn(
                    METRICS,
                    &format!("metrics not exported (the next export carries the totals): {e}"),
                );
            }
        }
    }

    fn warn(&mut self, signal: usize, what: &str) {
        let due = self.warned_at[signal].is_none_or(|at| at.elapsed() >= Duration::from_secs(60));
        if due {
            self.warned_at[signal] = Some(std::time::Instant::now());
            tracing::warn!(
                endpoint = %self.endpoint,
                dropped = self.stats.dropped(),
                "OTLP export to the collector failed: {what}"
            );
        }
    }
}

fn span(
    r: &UsageRow,
    (org, team): Identity,
    mut attributes: Vec<KeyValue>,
    error: Option<String>,
    scope: &InstrumentationScope,
) -> SpanData {
    let name = match attributes
        .iter()
        .find(|kv| kv.key.as_str() == "gen_ai.request.model")
    {
        Some(m) => format!("{} {}", operation(&r.endpoint), m.value),
        None => operation(&r.endpoint).to_string(),
    };
    attributes.push(KeyValue::new("gen_ai.system", system(&r.provider)));
    let ints = [
        ("gen_ai.usage.input_tokens", all_input(r)),
        ("gen_ai.usage.output_tokens", r.output_tokens),
        ("gen_ai.usage.cache_read.input_tokens", r.cache_read_tokens),
        ("gen_ai.usage.cache_creation.input_tokens", cache_write(r)),
        ("gw.usage.uncached_input_tokens", r.input_tokens),
        ("gw.usage.reasoning_tokens", r.reasoning_tokens),
        ("http.response.status_code", r.status),
    ];
    for (k, v) in ints {
        attributes.push(KeyValue::new(k, v));
    }
    let strings = [
        ("gen_ai.response.id", r.upstream_request_id.as_deref()),
        ("gw.org", org.as_deref()),
        ("gw.team", team.as_deref()),
        ("gw.developer", r.developer.as_deref()),
        ("gw.key_id", r.key_id.as_deref()),
        ("gw.project", r.project.as_deref()),
        ("gw.branch", r.branch.as_deref()),
        ("gw.agent", r.agent.as_deref()),
        ("gw.agent.version", r.agent_version.as_deref()),
        ("gw.session.id", Some(r.session_id.as_str())),
        ("gw.agent.session.id", r.agent_session_id.as_deref()),
        ("gw.task", r.task.as_deref()),
        ("gw.provider", Some(r.provider.as_str())),
        ("gw.endpoint", Some(r.endpoint.as_str())),
    ];
    for (k, v) in strings {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            attributes.push(KeyValue::new(k, v.to_string()));
        }
    }
    match r.cost_nanos {
        Some(nanos) => attributes.push(KeyValue::new("gw.cost.usd", nanos as f64 / 1e9)),
        None => attributes.push(KeyValue::new("gw.unpriced", true)),
    }
    attributes.push(KeyValue::new("gw.streamed", r.streamed));
    if r.incomplete {
        attributes.push(KeyValue::new("gw.incomplete", true));
    }
    if let Some(ttfb) = r.ttfb_us {
        attributes.push(KeyValue::new("gw.ttfb_ms", ttfb as f64 / 1e3));
    }
    let status = match &error {
        Some(e) => {
            attributes.push(KeyValue::new("error.type", e.clone()));
            Status::error(r.error.clone().unwrap_or_else(|| e.clone()))
        }
        None => Status::Unset,
    };
    let start = time(r.started_at_us);
    SpanData {
        span_context: SpanContext::new(
            trace_id(&r.session_id),
            span_id(&r.id),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: SpanKind::Client,
        name: Cow::Owned(name),
        start_time: start,
        end_time: time(ended(r)),
        attributes,
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status,
        instrumentation_scope: scope.clone(),
    }
}

/// Every input token, cached or not, as `gen_ai.usage.input_tokens` counts them.
fn all_input(r: &UsageRow) -> i64 {
    r.input_tokens
        .saturating_add(r.cache_read_tokens)
        .saturating_add(cache_write(r))
}

fn cache_write(r: &UsageRow) -> i64 {
    r.cache_write_5m_tokens
        .saturating_add(r.cache_write_1h_tokens)
}

/// A client's time: before 1970 reads as 1970, beyond what `SystemTime` holds as the epoch.
fn time(us: i64) -> SystemTime {
    UNIX_EPOCH
        .checked_add(Duration::from_micros(us.max(0) as u64))
        .unwrap_or(UNIX_EPOCH)
}

/// A row's end: at or after its start, at most a day later.
fn ended(r: &UsageRow) -> i64 {
    r.ended_at_us.clamp(
        r.started_at_us,
        r.started_at_us.saturating_add(MAX_DURATION_US),
    )
}

/// Cuts every string of the record to [`MAX_ATTRIBUTE_BYTES`] and drops what export never sends.
fn bound(record: &mut Record) {
    let r = &mut record.row;
    r.cwd = None;
    r.host = None;
    for s in [
        &mut r.id,
        &mut r.provider,
        &mut r.endpoint,
        &mut r.price_version,
        &mut r.session_id,
    ] {
        crate::limits::truncate(s, MAX_ATTRIBUTE_BYTES);
    }
    for s in [
        &mut r.requested_model,
        &mut r.model,
        &mut r.upstream_request_id,
        &mut r.agent,
        &mut r.agent_version,
        &mut r.agent_session_id,
        &mut r.developer,
        &mut r.project,
        &mut r.branch,
        &mut r.task,
        &mut r.key_id,
        &mut r.error,
        &mut record.org,
        &mut record.team,
    ]
    .into_iter()
    .flatten()
    {
        crate::limits::truncate(s, MAX_ATTRIBUTE_BYTES);
    }
}

/// The session's trace: its UUID's bytes, or a hash of any other session id.
fn trace_id(session: &str) -> TraceId {
    let bytes = match uuid::Uuid::parse_str(session) {
        Ok(u) if !u.is_nil() => *u.as_bytes(),
        _ => {
            let digest = Sha256::digest(session.as_bytes());
            let mut b = [0u8; 16];
            b.copy_from_slice(&digest[..16]);
            b
        }
    };
    TraceId::from_bytes(bytes)
}

/// The row's span: the random half of its UUIDv7 (never all zero for a real v7 id).
fn span_id(id: &str) -> SpanId {
    let mut b = [0u8; 8];
    match uuid::Uuid::parse_str(id) {
        Ok(u) if u.as_bytes()[8..] != [0; 8] => b.copy_from_slice(&u.as_bytes()[8..]),
        _ => b.copy_from_slice(&Sha256::digest(id.as_bytes())[..8]),
    }
    if b == [0; 8] {
        b[7] = 1;
    }
    SpanId::from_bytes(b)
}

/// `gen_ai.operation.name` for an endpoint path.
fn operation(endpoint: &str) -> &'static str {
    let e = endpoint.to_ascii_lowercase();
    if e.contains("embed") {
        "embeddings"
    } else if e.contains("count_tokens") || e.contains("counttokens") {
        "count_tokens"
    } else if e.ends_with("/completions") && !e.ends_with("/chat/completions") {
        "text_completion"
    } else if e.contains("generatecontent") {
        "generate_content"
    } else {
        "chat"
    }
}

/// `gen_ai.provider.name` (and the older `gen_ai.system`) for a gw provider; one the
/// conventions do not name keeps gw's name.
fn system(provider: &str) -> String {
    match provider {
        "anthropic" => "anthropic",
        "openai" | "chatgpt" => "openai",
        "gemini" | "codeassist" => "gcp.gemini",
        "vertex" => "gcp.vertex_ai",
        "bedrock" => "aws.bedrock",
        "azure" => "azure.ai.openai",
        other => other,
    }
    .to_string()
}

/// `error.type`: the HTTP status of a refused or failed request, or gw's own error.
fn error_type(r: &UsageRow) -> Option<String> {
    if r.status >= 400 {
        Some(r.status.to_string())
    } else if r.status == 0 || r.error.is_some() {
        Some(if r.incomplete { "incomplete" } else { "_OTHER" }.to_string())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_follow_the_session_and_row() {
        let session = "0190d1d0-0000-7000-8000-000000000001";
        let row = "0190d1d0-1111-7222-9333-444455556666";
        assert_eq!(trace_id(session), trace_id(session));
        assert_eq!(
            trace_id(session).to_bytes(),
            *uuid::Uuid::parse_str(session).unwrap().as_bytes()
        );
        assert_eq!(
            span_id(row).to_bytes(),
            [0x93, 0x33, 0x44, 0x44, 0x55, 0x55, 0x66, 0x66]
        );
        assert_ne!(trace_id("not-a-uuid"), TraceId::INVALID);
        assert_ne!(
            span_id("0190d1d0-1111-7222-0000-000000000000"),
            SpanId::INVALID
        );
    }

    #[test]
    fn operations_and_systems_follow_the_conventions() {
        assert_eq!(operation("/v1/messages"), "chat");
        assert_eq!(operation("/v1/messages/count_tokens"), "count_tokens");
        assert_eq!(operation("/v1/chat/completions"), "chat");
        assert_eq!(operation("/v1/completions"), "text_completion");
        assert_eq!(operation("/v1/embeddings"), "embeddings");
        assert_eq!(
            operation("/v1beta/models/gemini-2.5-pro:streamGenerateContent"),
            "generate_content"
        );
        assert_eq!(system("bedrock"), "aws.bedrock");
        assert_eq!(system("chatgpt"), "openai");
        assert_eq!(system("something"), "something");
    }

    #[test]
    fn long_client_strings_are_cut_at_a_character_boundary() {
        let s = "é".repeat(1000);
        let mut record = Record {
            row: UsageRow {
                model: Some(s.clone()),
                ..Default::default()
            },
            ..Default::default()
        };
        bound(&mut record);
        let c = record.row.model.unwrap();
        assert!(c.len() <= MAX_ATTRIBUTE_BYTES && s.starts_with(&c));
    }
}
