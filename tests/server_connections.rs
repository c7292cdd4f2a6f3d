//! `gw server` against untrusted clients: connections that send nothing, or half a request, or
//! no TLS handshake, are closed after their timeout and never keep `/healthz` from answering.

use std::time::Duration;

use gw::server::client::Client;
use gw::server::trust::Trust;
use gw::server::{self, ServeOptions};
use http::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// Generous: the server's timeouts below are one second.
const CLOSED_WITHIN: Duration = Duration::from_secs(30);

/// Starts a server on SQLite with one-second timeouts; returns its address and its stopper.
async fn start(
    dir: &tempfile::TempDir,
    options: ServeOptions,
) -> (
    std::net::SocketAddr,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let url = format!("sqlite://{}", dir.path().join("server.db").display());
    let store = server::open_store(&url).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let options = ServeOptions {
        header_read_timeout: Duration::from_secs(1),
        tls_handshake_timeout: Duration::from_secs(1),
        ..options
    };
    let task = tokio::spawn(server::serve(listener, store, options, async {
        let _ = stopped.await;
    }));
    (addr, stop, task)
}

/// Reads until the server closes the connection; panics if it does not within `CLOSED_WITHIN`.
async fn closed_by_server(mut conn: TcpStream) {
    let mut buf = [0u8; 512];
    let read_to_end = async {
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {} // e.g. a 408 before the close
            }
        }
    };
    tokio::time::timeout(CLOSED_WITHIN, read_to_end)
        .await
        .expect("the server closes a connection that sends no request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_are_closed_and_healthz_still_answers() {
    let dir = tempfile::tempdir().unwrap();
    let options = ServeOptions {
        max_connections: 8,
        ..ServeOptions::default()
    };
    let (addr, stop, task) = start(&dir, options).await;

    // Three times the connection limit: silent ones, and ones that stop half-way through the
    // request line (hyper's own header timer) or the HTTP/2 preface (before hyper knows the
    // version).
    let mut idle = Vec::new();
    for i in 0..24 {
        let mut conn = TcpStream::connect(addr).await.unwrap();
        match i % 3 {
            0 => {}
            1 => conn.write_all(b"GET /heal").await.unwrap(),
            _ => conn.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap(),
        }
        idle.push(conn);
    }

    let client = Client::new(&format!("http://{addr}"), None, &Trust::default()).unwrap();
    let health = tokio::time::timeout(CLOSED_WITHIN, client.call(Method::GET, "/healthz", None))
        .await
        .expect("/healthz answers while idle connections fill every slot")
        .unwrap();
    assert_eq!(health["status"], "ok", "{health}");

    futures_util::future::join_all(idle.into_iter().map(closed_by_server)).await;

    let _ = stop.send(());
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_connection_that_never_starts_tls_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let listen = "127.0.0.1:0".parse().unwrap();
    let own = server::tls::self_signed(
        &dir.path().join("tls"),
        &server::tls::self_signed_names(&listen, &[]),
        jiff::Timestamp::now(),
    )
    .unwrap();
    let options = ServeOptions {
        tls: Some(own.tls.config),
        ..ServeOptions::default()
    };
    let (addr, stop, task) = start(&dir, options).await;

    let silent = TcpStream::connect(addr).await.unwrap();
    closed_by_server(silent).await;

    // A real client still gets through.
    let trust = Trust {
        ca: Some(own.ca_path),
        pin: None,
    };
    let client = Client::new(&format!("https://{addr}"), None, &trust).unwrap();
    let health = client.call(Method::GET, "/healthz", None).await.unwrap();
    assert_eq!(health["status"], "ok", "{health}");

    let _ = stop.send(());
    task.await.unwrap().unwrap();
}
