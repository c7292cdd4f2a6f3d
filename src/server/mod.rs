//! `gw server`: the central budget server. Virtual keys, teams, orgs, hierarchical budgets,
//! leases and idempotent usage ingest over HTTP (see `api` for the API), on SQLite or
//! PostgreSQL behind one `Store` trait, with `/metrics` and graceful shutdown.

pub mod admin;
pub mod api;
pub mod client;
pub mod db;
mod error;
pub mod metrics;
pub mod money;
pub mod ops;
pub mod pg_tls;
pub mod postgres;
pub mod report;
pub mod schema;
pub mod secret;
pub mod sqlite;
pub mod tls;
pub mod trust;
pub mod web;
pub mod web_state;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower_service::Service;

use crate::first_request::FirstRequest;

pub use db::{Backend, Store, StoreError};
pub use error::ApiError;

/// Default listen address of `gw server`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";
/// Default lease lifetime without a renewal.
pub const DEFAULT_LEASE_TTL_SECS: i64 = 60;
/// How long shutdown waits for requests in flight.
const DRAIN: Duration = Duration::from_secs(10);
/// How long a client has to send a request's head, counted from the connection's start (or
/// the TLS handshake's end) for the first request. On a kept-alive HTTP/1 connection the same
/// timer bounds the idle time before the next request, so idle and half-open connections give
/// their slot back within this time. gw's own client drops idle connections sooner.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client has to complete the TLS handshake.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; further ones wait in the kernel's accept backlog (using no file
/// descriptor of gw's) until a slot is free. Lowered to fit the open-file limit, see
/// [`connection_limit`].
pub const MAX_CONNECTIONS: usize = 1024;
/// File descriptors left for the database, the listener and stdio when the open-file limit
/// lowers the connection limit.
const RESERVED_FDS: libc::rlim_t = 32;
/// An idle HTTP/2 connection is pinged this often, and closed when a ping goes unanswered for
/// [`H2_KEEP_ALIVE_TIMEOUT`]: a vanished client's connection does not stay open.
const H2_KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(20);
const H2_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// How the server runs, besides its listener and store.
#[derive(Clone)]
pub struct ServeOptions {
    /// Serve HTTPS with this configuration.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub lease_ttl_secs: i64,
    /// See [`HEADER_READ_TIMEOUT`].
    pub header_read_timeout: Duration,
    /// See [`TLS_HANDSHAKE_TIMEOUT`].
    pub tls_handshake_timeout: Duration,
    /// See [`MAX_CONNECTIONS`].
    pub max_connections: usize,
    /// Export every ingested row over OTLP (flushed when the server stops).
    pub export: Option<crate::otel::Exporter>,
    /// Developer and project labels on `/metrics`' usage series.
    pub metrics_labels: metrics::MetricsLabels,
}

impl Default for ServeOptions {
    fn default() -> ServeOptions {
        ServeOptions {
            tls: None,
            lease_ttl_secs: DEFAULT_LEASE_TTL_SECS,
            header_read_timeout: HEADER_READ_TIMEOUT,
            tls_handshake_timeout: TLS_HANDSHAKE_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
            export: None,
            metrics_labels: metrics::MetricsLabels::default(),
        }
    }
}

/// How long a stopping server waits for OTLP export to send what it holds.
const EXPORT_DRAIN: Duration = Duration::from_secs(5);

/// `wanted` connections, lowered so that they fit the process's open-file limit with
/// [`RESERVED_FDS`] to spare (at least 4): past the limit `accept` fails, and a server that
/// cannot accept cannot answer `/healthz` either.
pub fn connection_limit(wanted: usize) -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes to the struct it is given and reads nothing else.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0
        || limit.rlim_cur == libc::RLIM_INFINITY
    {
        return wanted.max(1);
    }
    let fit = limit.rlim_cur.saturating_sub(RESERVED_FDS).max(4);
    wanted.clamp(1, usize::try_from(fit).unwrap_or(usize::MAX))
}

/// Opens the store a `--database` URL names: `sqlite://PATH` (or a bare path) or
/// `postgres://…` / `postgresql://…`.
pub async fn open_store(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(postgres::PgStore::connect(url, 16).await?));
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    if path.is_empty() || url.contains("://") && !url.starts_with("sqlite://") {
        return Err(StoreError::BadUrl(url.to_string()));
    }
    let path = PathBuf::from(path);
    Ok(Arc::new(
        tokio::task::spawn_blocking(move || sqlite::SqliteStore::open(&path))
            .await
            .map_err(|_| StoreError::Gone)??,
    ))
}

/// The default database: `server.db` in gw's data dir.
pub fn default_database(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("server.db").display())
}

/// Serves the API on `listener` until `shutdown` completes, then drains requests in flight
/// (for up to 10 s). Tests hand in a listener bound to port 0.
///
/// The client is untrusted: each connection has [`ServeOptions::tls_handshake_timeout`] to
/// finish TLS and [`ServeOptions::header_read_timeout`] to send each request's head, and at
/// most [`connection_limit`]`(max_connections)` are served at once, so connections that send
/// nothing cannot keep `/healthz` from answering.
pub async fn serve(
    listener: TcpListener,
    store: Arc<dyn Store>,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let export = options.export.clone();
    let state = api::AppState {
        store,
        metrics: Arc::new(metrics::Metrics::new(
            export.as_ref().map(|e| e.stats()),
            options.metrics_labels,
        )),
        lease_ttl_secs: options.lease_ttl_secs,
        export: export.clone(),
        web: Arc::new(web_state::WebState::new(options.tls.is_some())),
    };
    let app = api::router(state.clone(), web::router(state));
    let acceptor = options.tls.map(tokio_rustls::TlsAcceptor::from);
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(H2_KEEP_ALIVE_INTERVAL)
        .keep_alive_timeout(H2_KEEP_ALIVE_TIMEOUT);
    let slots = Arc::new(Semaphore::new(connection_limit(options.max_connections)));
    let (header_read_timeout, tls_handshake_timeout) =
        (options.header_read_timeout, options.tls_handshake_timeout);
    tokio::pin!(shutdown);
    loop {
        let (slot, stream, peer) = tokio::select! {
            accepted = accept(&listener, &slots) => accepted,
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let first = FirstRequest::default();
        let app = app.clone();
        let arrived = first.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            arrived.arrived();
            req.extensions_mut().insert(web_state::Peer(peer));
            let mut app = app.clone();
            async move { app.call(req.map(axum::body::Body::new)).await }
        });
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let result = match acceptor {
                None => {
                    let conn = builder.serve_connection(TokioIo::new(stream), service);
                    first.guard(watcher.watch(conn), header_read_timeout).await
                }
                Some(acceptor) => {
                    match tokio::time::timeout(tls_handshake_timeout, acceptor.accept(stream)).await
                    {
                        Ok(Ok(tls)) => {
                            let conn = builder.serve_connection(TokioIo::new(tls), service);
                            first.guard(watcher.watch(conn), header_read_timeout).await
                        }
                        Ok(Err(e)) => {
                            tracing::debug!("TLS handshake with {peer} failed: {e}");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!("TLS handshake with {peer} timed out");
                            return;
                        }
                    }
                }
            };
            match result {
                None => tracing::debug!("closed the connection from {peer}: no request in time"),
                Some(Err(e)) => tracing::debug!("connection from {peer}: {e}"),
                Some(Ok(())) => {}
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN) => tracing::warn!("shutdown: gave up waiting for requests in flight"),
    }
    if let Some(export) = export {
        export.shutdown(EXPORT_DRAIN).await;
    }
    Ok(())
}

/// Waits for a free connection slot, then for a connection. While every slot is taken, new
/// connections wait in the kernel's backlog rather than take a file descriptor.
async fn accept(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> (OwnedSemaphorePermit, TcpStream, SocketAddr) {
    let slot = slots
        .clone()
        .acquire_owned()
        .await
        .expect("the connection semaphore is never closed");
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => return (slot, stream, peer),
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Creates the admin token (or replaces it with `rotate`); `None` when one exists and
/// `rotate` is off.
pub async fn init_admin(store: &dyn Store, rotate: bool) -> Result<Option<String>, StoreError> {
    let token = secret::new_admin_token();
    Ok(
        ops::set_token(store, ops::ServerToken::Admin, &token, rotate)
            .await?
            .then_some(token),
    )
}

/// Creates the metrics-only token (or replaces it with `rotate`); `None` when one exists and
/// `rotate` is off.
pub async fn init_metrics_token(
    store: &dyn Store,
    rotate: bool,
) -> Result<Option<String>, StoreError> {
    let token = secret::new_metrics_token();
    Ok(
        ops::set_token(store, ops::ServerToken::Metrics, &token, rotate)
            .await?
            .then_some(token),
    )
}

/// Whether `gw server init` has run on this database.
pub async fn has_admin_token(store: &dyn Store) -> Result<bool, StoreError> {
    let mut tx = store.begin(false).await?;
    Ok(tx
        .one("SELECT id FROM admin_tokens WHERE id = 1", &[])
        .await?
        .is_some())
}
