//! `gw server --database postgres://…?sslmode=…`: TLS is really used when asked for, certificates
//! are checked as libpq checks them, and plain connections still work. Needs
//! `GW_TEST_POSTGRES_URL` (skipped with a note otherwise).

mod common;

use gw::server::postgres::PgStore;
use gw::server::{Store, StoreError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The test database, or `None` (with a note) when none is configured.
fn base_url() -> Option<String> {
    let url = std::env::var("GW_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        eprintln!("note: GW_TEST_POSTGRES_URL is not set; the PostgreSQL TLS test is skipped");
    }
    url
}

/// Whether the store's connection is encrypted, as the server sees it.
async fn encrypted(store: &PgStore) -> bool {
    let mut tx = store.begin(false).await.unwrap();
    let row = tx
        .one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .unwrap();
    row.int(0).unwrap() == 1
}

/// Whether the server answers an SSLRequest with `S`.
async fn offers_tls(addr: &str) -> bool {
    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])
        .await
        .unwrap();
    let mut answer = [0u8];
    conn.read_exact(&mut answer).await.unwrap();
    answer[0] == b'S'
}

fn host_port(url: &str) -> String {
    let config: tokio_postgres::Config = url.parse().unwrap();
    let host = match &config.get_hosts()[0] {
        tokio_postgres::config::Host::Tcp(h) => h.clone(),
        #[cfg(unix)]
        tokio_postgres::config::Host::Unix(_) => panic!("the TLS test needs a TCP URL"),
    };
    format!(
        "{host}:{}",
        config.get_ports().first().copied().unwrap_or(5432)
    )
}

#[tokio::test]
async fn sslmode_require_uses_tls_and_disable_does_not() {
    let Some(base) = base_url() else { return };
    let (url, schema) = common::pg_schema(&base, "gw_tls").await;

    let plain = PgStore::connect(&format!("{url}&sslmode=disable"), 2)
        .await
        .unwrap();
    assert!(!encrypted(&plain).await, "sslmode=disable stays plain");
    let default = PgStore::connect(&url, 2).await.unwrap();
    assert!(
        !encrypted(&default).await,
        "loopback without sslmode stays as it was"
    );

    let required = PgStore::connect(&format!("{url}&sslmode=require"), 2).await;
    if offers_tls(&host_port(&base)).await {
        let required = required.expect("sslmode=require connects to a server with TLS");
        assert!(encrypted(&required).await, "sslmode=require encrypts");
    } else {
        let err = required
            .err()
            .expect("sslmode=require never falls back to plain");
        assert!(matches!(err, StoreError::Tls { .. }), "{err}");
        assert!(err.to_string().contains("sslmode=require"), "{err}");
    }

    // verify-full checks the certificate against the webpki roots: a test server's is not there.
    let err = PgStore::connect(&format!("{url}&sslmode=verify-full"), 2)
        .await
        .err()
        .expect("verify-full refuses an unverifiable server");
    assert!(err.to_string().contains("sslmode=verify-full"), "{err}");

    let err = PgStore::connect(
        &format!("{url}&sslmode=verify-full&sslrootcert=/nonexistent/root.pem"),
        2,
    )
    .await
    .err()
    .expect("a missing sslrootcert is an error");
    assert!(err.to_string().contains("/nonexistent/root.pem"), "{err}");

    common::drop_pg_schema(&base, &schema).await;
}

/// A TLS front for the test database with a certificate for `localhost` only: answers the
/// SSLRequest with `S`, terminates TLS and passes the bytes on in plain.
async fn tls_front(database: String, dir: &tempfile::TempDir) -> (u16, std::path::PathBuf) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    let acceptor =
        tokio_rustls::TlsAcceptor::from(gw::server::tls::from_files(&cert, &key).unwrap().config);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let (acceptor, database) = (acceptor.clone(), database.clone());
            tokio::spawn(async move {
                let mut request = [0u8; 8];
                client.read_exact(&mut request).await?;
                client.write_all(b"S").await?;
                let mut tls = acceptor.accept(client).await?;
                let mut upstream = TcpStream::connect(&database).await?;
                tokio::io::copy_bidirectional(&mut tls, &mut upstream).await?;
                Ok::<_, std::io::Error>(())
            });
        }
    });
    (port, cert)
}

#[tokio::test]
async fn certificates_are_checked_as_libpq_checks_them() {
    let Some(base) = base_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (port, ca) = tls_front(host_port(&base), &dir).await;
    let (url, schema) = common::pg_schema(&base, "gw_tls").await;
    let config: tokio_postgres::Config = base.parse().unwrap();
    let user = config.get_user().unwrap_or("postgres");
    let db = config.get_dbname().unwrap_or("postgres");
    let options = url.split_once('?').unwrap().1;
    let at =
        |host: &str, tls: &str| format!("postgres://{user}@{host}:{port}/{db}?{options}&{tls}");
    let ca = ca.display();

    let connects = |url: String| async move { PgStore::connect(&url, 1).await.map(|_| ()) };
    // require: encrypted, any certificate.
    connects(at("127.0.0.1", "sslmode=require")).await.unwrap();
    // verify-ca: the chain must lead to sslrootcert; the name may differ.
    connects(at(
        "127.0.0.1",
        &format!("sslmode=verify-ca&sslrootcert={ca}"),
    ))
    .await
    .unwrap();
    // verify-full: the name must match too.
    connects(at(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    ))
    .await
    .unwrap();
    let err = connects(at(
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    ))
    .await
    .unwrap_err();
    assert!(err.to_string().contains("not valid for name"), "{err}");
    let err = connects(at("localhost", "sslmode=verify-full"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");

    common::drop_pg_schema(&base, &schema).await;
}
