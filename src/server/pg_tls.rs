//! TLS for PostgreSQL connections, as libpq's `sslmode` and `sslrootcert` URL parameters ask.
//! tokio-postgres knows only `disable`, `prefer` and `require`, rejects `sslrootcert`, and does
//! nothing secure without a TLS connector; this module reads both parameters from the URL,
//! decides how to connect ([`connector`], a pure function) and builds the rustls connector.
//!
//! | `sslmode`            | gw does                                                        |
//! |----------------------|----------------------------------------------------------------|
//! | `disable`, `allow`   | no TLS (`allow` would try TLS only after a plain refusal)      |
//! | `prefer` (default)   | no TLS on loopback (as before); elsewhere TLS if offered, unverified |
//! | `require`            | TLS or no connection; certificate unverified (verified like `verify-ca` with `sslrootcert`) |
//! | `verify-ca`          | TLS; the chain must lead to a webpki root or `sslrootcert`     |
//! | `verify-full`        | as `verify-ca`, and the certificate must name the host         |

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use tokio_postgres::config::Host;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::db::StoreError;

/// libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<SslMode, StoreError> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return Err(StoreError::SslMode(value.to_string())),
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// What a `postgres://` URL asks of TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsRequest {
    /// The URL without `sslmode` and `sslrootcert`, for tokio-postgres to parse.
    pub url: String,
    pub mode: SslMode,
    pub root_cert: Option<PathBuf>,
}

impl TlsRequest {
    /// Takes `sslmode` (default `prefer`, as libpq) and `sslrootcert` out of the URL's query.
    /// `sslrootcert=system` means the webpki roots alone.
    pub fn from_url(url: &str) -> Result<TlsRequest, StoreError> {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut mode = SslMode::Prefer;
        let mut root_cert = None;
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "sslmode" => mode = SslMode::parse(&percent_decode(value))?,
                "sslrootcert" => {
                    let path = percent_decode(value);
                    root_cert = (path != "system").then(|| PathBuf::from(path));
                }
                _ => kept.push(pair),
            }
        }
        let url = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        Ok(TlsRequest {
            url,
            mode,
            root_cert,
        })
    }
}

/// How gw checks the server's certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// Not at all: encryption against eavesdroppers only (libpq's `require`).
    Nothing,
    /// The chain must lead to a trusted root; any name (`verify-ca`).
    Chain,
    /// The chain, and the certificate must name the host (`verify-full`).
    ChainAndName,
}

/// How gw connects to PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connector {
    /// No TLS: no SSLRequest is sent.
    Plain,
    /// TLS when the server offers it, plain when it refuses; the certificate is not checked.
    Opportunistic,
    /// TLS or no connection.
    Required(Verify),
}

/// The decision table in the module docs. `root_cert`: whether `sslrootcert` names a file;
/// `loopback`: whether every host of the URL is on this machine.
pub fn connector(mode: SslMode, root_cert: bool, loopback: bool) -> Connector {
    match mode {
        SslMode::Disable | SslMode::Allow => Connector::Plain,
        SslMode::Prefer if loopback => Connector::Plain,
        SslMode::Prefer => Connector::Opportunistic,
        SslMode::Require if root_cert => Connector::Required(Verify::Chain),
        SslMode::Require => Connector::Required(Verify::Nothing),
        SslMode::VerifyCa => Connector::Required(Verify::Chain),
        SslMode::VerifyFull => Connector::Required(Verify::ChainAndName),
    }
}

/// Whether every host the configuration names is this machine (or a Unix socket).
pub fn is_loopback(config: &tokio_postgres::Config) -> bool {
    let hosts_local = config.get_hosts().iter().all(|host| match host {
        Host::Tcp(name) => {
            name.eq_ignore_ascii_case("localhost")
                || name
                    .trim_matches(|c| c == '[' || c == ']')
                    .parse::<IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        #[cfg(unix)]
        Host::Unix(_) => true,
    });
    hosts_local && config.get_hostaddrs().iter().all(|ip| ip.is_loopback())
}

/// The rustls connector for `verify`, trusting the webpki roots and the certificates in
/// `root_cert` (PEM).
pub fn make_connector(
    verify: Verify,
    root_cert: Option<&std::path::Path>,
) -> Result<MakeRustlsConnect, StoreError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Pool(format!("cannot set up TLS: {e}")))?;
    let config = match verify {
        Verify::Nothing => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth(),
        Verify::Chain | Verify::ChainAndName => {
            let mut roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            if let Some(path) = root_cert {
                let bad = |message: String| StoreError::RootCert {
                    path: path.display().to_string(),
                    message,
                };
                let mut added = 0;
                for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))? {
                    let cert = cert.map_err(|e| bad(e.to_string()))?;
                    roots.add(cert).map_err(|e| bad(e.to_string()))?;
                    added += 1;
                }
                if added == 0 {
                    return Err(bad("no PEM certificate in it".into()));
                }
            }
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| StoreError::Pool(format!("cannot set up TLS: {e}")))?;
            let verifier: Arc<dyn ServerCertVerifier> = match verify {
                Verify::Chain => Arc::new(AnyName(webpki)),
                _ => webpki,
            };
            builder
                .dangerous()
                .with_custom_certificate_verifier(verifier)
                .with_no_client_auth()
        }
    };
    Ok(MakeRustlsConnect::new(config))
}

/// Accepts any certificate, for `sslmode=require` (and `prefer`) without `sslrootcert`: libpq's
/// semantics are "encrypted, not authenticated", so this protects against eavesdroppers but not
/// against an active attacker posing as the server. Users who need that ask for `verify-full`.
/// Handshake signatures are still checked, so the peer holds the key of the certificate it sent.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the webpki verifier, except that a certificate for another name passes. rustls
/// checks the chain before the name, so a name error means the chain was good.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `%XX` escapes decoded (a path in a URL may carry them); anything malformed is kept as is.
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_mode_gets_its_connector() {
        use Connector::*;
        use SslMode::*;
        for loopback in [true, false] {
            for root in [true, false] {
                let expect = |mode| connector(mode, root, loopback);
                assert_eq!(expect(Disable), Plain);
                assert_eq!(expect(Allow), Plain);
                assert_eq!(expect(VerifyCa), Required(Verify::Chain));
                assert_eq!(expect(VerifyFull), Required(Verify::ChainAndName));
            }
        }
        // prefer: as before on this machine, opportunistic elsewhere.
        assert_eq!(connector(Prefer, false, true), Plain);
        assert_eq!(connector(Prefer, false, false), Opportunistic);
        // require never falls back to plain; a root certificate makes it verify the chain.
        assert_eq!(connector(Require, false, true), Required(Verify::Nothing));
        assert_eq!(connector(Require, false, false), Required(Verify::Nothing));
        assert_eq!(connector(Require, true, false), Required(Verify::Chain));
    }

    #[test]
    fn tls_parameters_are_taken_out_of_the_url() {
        let r = TlsRequest::from_url(
            "postgres://gw@db:5432/gw?sslmode=verify-full&options=-c%20x%3D1&sslrootcert=%2Fetc%2Fca%20dir%2Froot.pem",
        )
        .unwrap();
        assert_eq!(r.url, "postgres://gw@db:5432/gw?options=-c%20x%3D1");
        assert_eq!(r.mode, SslMode::VerifyFull);
        assert_eq!(r.root_cert, Some(PathBuf::from("/etc/ca dir/root.pem")));

        let r = TlsRequest::from_url("postgres://gw@db/gw").unwrap();
        assert_eq!(
            (r.url.as_str(), r.mode),
            ("postgres://gw@db/gw", SslMode::Prefer)
        );
        let r =
            TlsRequest::from_url("postgres://db/gw?sslmode=require&sslrootcert=system").unwrap();
        assert_eq!((r.mode, r.root_cert), (SslMode::Require, None));

        let err = TlsRequest::from_url("postgres://db/gw?sslmode=verify").unwrap_err();
        assert!(err.to_string().contains("verify-full"), "{err}");
    }

    #[test]
    fn loopback_hosts_are_recognised() {
        let local = |url: &str| is_loopback(&url.parse().unwrap());
        assert!(local("postgres://u@127.0.0.1:5432/db"));
        assert!(local("postgres://u@localhost/db"));
        assert!(local("postgres://u@[::1]:5432/db"));
        assert!(!local("postgres://u@db.example.com/db"));
        assert!(!local("postgres://u@localhost,db.example.com/db"));
    }

    #[test]
    fn a_bad_root_certificate_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing-root.pem");
        let err = make_connector(Verify::ChainAndName, Some(&missing))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("missing-root.pem") && err.contains("sslrootcert"),
            "{err}"
        );
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = make_connector(Verify::Chain, Some(&empty))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("empty.pem") && err.contains("no PEM certificate"),
            "{err}"
        );
    }
}
