//! The server's TLS: a certificate chain and key from PEM files, or gw's own self-signed CA and
//! a certificate it signs, kept in the data dir so clients that trust them go on trusting them
//! across restarts.
//!
//! `gw server --tls-self-signed` keeps, in `<data dir>/tls/`:
//! - `ca.pem` and `ca-key.pem`: a CA made once (20 years). Clients trust it with
//!   `gw login <url> --ca-cert ca.pem`; it never changes unless deleted.
//! - `cert.pem` and `key.pem`: the server's certificate, signed by that CA, for `localhost`, the
//!   listen address and any `--tls-name`. Made again, signed by the same CA, when it is missing,
//!   within 30 days of expiry or lacks a name the server now needs: clients trusting the CA
//!   carry on; a client that pinned the old certificate's fingerprint is told it changed.
//!
//! The keys are 0600; the directory 0700.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use super::trust::{CertProblem, Fingerprint};

/// A self-signed certificate is made again this long before it expires.
pub const RENEW_BEFORE: Duration = Duration::from_secs(30 * 86_400);
/// Lifetime of the server certificate gw signs (the longest private CAs commonly allow).
const LEAF_DAYS: i64 = 825;
const CA_YEARS: i16 = 20;

/// A server TLS configuration and the fingerprint of the certificate it presents.
pub struct ServerTls {
    pub config: Arc<rustls::ServerConfig>,
    pub fingerprint: Fingerprint,
}

/// `--tls-self-signed`: the configuration, where the CA is, and what was made this time (one
/// line each, for the start-up log).
pub struct SelfSigned {
    pub tls: ServerTls,
    pub ca_path: PathBuf,
    pub made: Vec<String>,
}

/// TLS from PEM files: a certificate chain (server first) and its private key.
pub fn from_files(cert: &Path, key: &Path) -> Result<ServerTls, String> {
    let certs = read_chain(cert)?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("cannot read the private key {}: {e}", key.display()))?;
    server_tls(certs, key)
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read the certificate {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("no certificate in {}", path.display()));
    }
    Ok(certs)
}

fn server_tls(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<ServerTls, String> {
    let fingerprint = Fingerprint::of(&certs[0]);
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| format!("invalid certificate or key: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(ServerTls {
        config: Arc::new(config),
        fingerprint,
    })
}

/// The names a self-signed certificate for `listen` carries: `localhost`, the loopback
/// addresses, the listen address (or, listening on every address, this host's name), and
/// `extra` (`--tls-name`).
pub fn self_signed_names(listen: &std::net::SocketAddr, extra: &[String]) -> Vec<String> {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
    if listen.ip().is_unspecified() {
        if let Some(host) = host_name() {
            names.push(host);
        }
    } else {
        names.push(listen.ip().to_string());
    }
    names.extend(extra.iter().map(|n| n.trim().to_string()));
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| !n.is_empty() && seen.insert(n.to_ascii_lowercase()));
    names
}

fn host_name() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `len` bytes into the buffer we own.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    let name = std::str::from_utf8(&buf[..end]).ok()?.trim().to_string();
    (!name.is_empty() && name != "localhost").then_some(name)
}

/// Loads gw's CA and server certificate from `dir`, making what is missing, expiring or short
/// of a name in `names`. Refuses (never replaces) a CA it cannot read: clients trust it.
pub fn self_signed(
    dir: &Path,
    names: &[String],
    now: jiff::Timestamp,
) -> Result<SelfSigned, String> {
    for name in names {
        let valid = ServerName::try_from(name.as_str()).is_ok() && !name.contains('*');
        if !valid {
            return Err(format!(
                "`{name}` cannot be a name in the server's certificate: give a host name (gw.example.com) \
                 or an IP address to --tls-name"
            ));
        }
    }
    crate::private_fs::private_dir(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let ca_path = dir.join("ca.pem");
    let ca_key_path = dir.join("ca-key.pem");
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    let mut made = Vec::new();

    let (ca_der, ca_key) = match (ca_path.exists(), ca_key_path.exists()) {
        (true, true) => load_ca(&ca_path, &ca_key_path)?,
        (false, false) => {
            let key = KeyPair::generate().map_err(|e| format!("cannot make a key: {e}"))?;
            let mut params = ca_params(&key);
            let today = utc_date(now);
            params.not_before = rcgen::date_time_ymd(
                today.year() as i32,
                today.month() as u8,
                today.day() as u8,
            );
            params.not_after = rcgen::date_time_ymd(
                (today.year() + CA_YEARS) as i32,
                today.month() as u8,
                today.day().min(28) as u8,
            );
            let cert = params
                .self_signed(&key)
                .map_err(|e| format!("cannot make a CA: {e}"))?;
            write(&ca_key_path, key.serialize_pem().as_bytes())?;
            write(&ca_path, cert.pem().as_bytes())?;
            made.push(format!(
                "made a CA for this server in {} (clients trust it with --ca-cert)",
                ca_path.display()
            ));
            (cert.der().clone(), key)
        }
        _ => {
            return Err(format!(
                "{} holds only half of gw's CA (ca.pem and ca-key.pem go together); restore the missing file, \
                 or delete both to make a new CA (every client must then trust the new ca.pem)",
                dir.display()
            ))
        }
    };

    let reuse = match (cert_path.exists(), key_path.exists()) {
        (true, true) => match check_leaf(&cert_path, &key_path, &ca_der, names, now) {
            Ok(tls) => Some(tls),
            Err(why) => {
                made.push(format!("made a new server certificate: the old one {why}"));
                None
            }
        },
        _ => {
            made.push(format!(
                "made a server certificate for {} in {}",
                names.join(", "),
                cert_path.display()
            ));
            None
        }
    };
    let tls = match reuse {
        Some(tls) => tls,
        None => {
            let key = KeyPair::generate().map_err(|e| format!("cannot make a key: {e}"))?;
            let params = leaf_params(names, now)?;
            let issuer = Issuer::new(ca_params(&ca_key), &ca_key);
            let cert = params
                .signed_by(&key, &issuer)
                .map_err(|e| format!("cannot sign the server certificate: {e}"))?;
            verify_leaf(cert.der(), &ca_der, names, now).map_err(|why| {
                format!(
                    "the certificate signed with {} {why}: that key does not belong to {}; restore the CA's own key, \
                     or delete ca.pem and ca-key.pem to make a new CA (every client must then trust the new ca.pem)",
                    ca_key_path.display(),
                    ca_path.display()
                )
            })?;
            let chain_pem = format!(
                "{}{}",
                cert.pem(),
                std::fs::read_to_string(&ca_path).unwrap_or_default()
            );
            write(&key_path, key.serialize_pem().as_bytes())?;
            write(&cert_path, chain_pem.as_bytes())?;
            let key = PrivateKeyDer::Pkcs8(key.serialize_der().into());
            server_tls(vec![cert.der().clone(), ca_der.clone()], key)?
        }
    };
    Ok(SelfSigned { tls, ca_path, made })
}

fn load_ca(cert: &Path, key: &Path) -> Result<(CertificateDer<'static>, KeyPair), String> {
    let refuse = |what: &Path, e: &dyn std::fmt::Display| {
        format!(
            "cannot read gw's CA {}: {e}; restore it, or delete ca.pem and ca-key.pem in {} to make a new CA \
             (every client must then trust the new ca.pem)",
            what.display(),
            what.parent().unwrap_or(Path::new(".")).display()
        )
    };
    let der = read_chain(cert)
        .map_err(|e| refuse(cert, &e))?
        .swap_remove(0);
    let pem = std::fs::read_to_string(key).map_err(|e| refuse(key, &e))?;
    let key_pair = KeyPair::from_pem(&pem).map_err(|e| refuse(key, &e))?;
    crate::private_fs::tighten(key).map_err(|e| refuse(key, &e))?;
    Ok((der, key_pair))
}

/// The reused certificate when it is signed by the CA and valid for every name for at least
/// `RENEW_BEFORE` more; else why not ("expires within 30 days", …).
fn check_leaf(
    cert: &Path,
    key: &Path,
    ca: &CertificateDer<'static>,
    names: &[String],
    now: jiff::Timestamp,
) -> Result<ServerTls, String> {
    let chain = read_chain(cert).map_err(|e| format!("could not be read ({e})"))?;
    let leaf = chain[0].clone();
    verify_leaf(&leaf, ca, names, now)?;
    crate::private_fs::tighten(key)
        .map_err(|e| format!("has a key that cannot be made private ({e})"))?;
    let key =
        PrivateKeyDer::from_pem_file(key).map_err(|e| format!("has no readable key ({e})"))?;
    server_tls(vec![leaf, ca.clone()], key).map_err(|e| format!("does not match its key ({e})"))
}

/// Whether `leaf` is signed by `ca` and valid for every name for at least `RENEW_BEFORE` more;
/// else why not ("expires within 30 days", …).
fn verify_leaf(
    leaf: &CertificateDer<'_>,
    ca: &CertificateDer<'static>,
    names: &[String],
    now: jiff::Timestamp,
) -> Result<(), String> {
    use rustls::client::danger::ServerCertVerifier;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(ca.clone())
        .map_err(|e| format!("could not be checked ({e})"))?;
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        Arc::new(rustls::crypto::ring::default_provider()),
    )
    .build()
    .map_err(|e| format!("could not be checked ({e})"))?;
    let later = UnixTime::since_unix_epoch(Duration::from_secs(
        now.as_second().max(0) as u64 + RENEW_BEFORE.as_secs(),
    ));
    for name in names {
        let server_name =
            ServerName::try_from(name.clone()).map_err(|_| format!("cannot name `{name}`"))?;
        if let Err(e) = verifier.verify_server_cert(leaf, &[], &server_name, &[], later) {
            return Err(match CertProblem::from_rustls(&e) {
                CertProblem::Expired => "expires within 30 days".into(),
                CertProblem::WrongName { .. } => format!("is not issued for `{name}`"),
                CertProblem::UnknownIssuer => "is not signed by the CA in ca.pem".into(),
                other => format!("was refused ({other:?})"),
            });
        }
    }
    Ok(())
}

/// The CA's parameters, a function of its key alone, so the CA can sign again after a restart
/// with the same issuer name.
fn ca_params(key: &KeyPair) -> CertificateParams {
    use rcgen::PublicKeyData;
    let id = Fingerprint::of(key.subject_public_key_info().as_ref()).to_string();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "gw server CA");
    dn.push(DnType::OrganizationName, format!("gw {}", &id[..23]));
    let mut params = CertificateParams::default();
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

fn leaf_params(names: &[String], now: jiff::Timestamp) -> Result<CertificateParams, String> {
    let mut params = CertificateParams::new(names.to_vec()).map_err(|e| {
        format!(
            "cannot put the names {} in a certificate: {e}",
            names.join(", ")
        )
    })?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "gw server");
    params.distinguished_name = dn;
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let from = utc_date(now - jiff::SignedDuration::from_hours(24));
    let until = utc_date(now + jiff::SignedDuration::from_hours(24 * LEAF_DAYS));
    params.not_before =
        rcgen::date_time_ymd(from.year() as i32, from.month() as u8, from.day() as u8);
    params.not_after =
        rcgen::date_time_ymd(until.year() as i32, until.month() as u8, until.day() as u8);
    Ok(params)
}

fn utc_date(t: jiff::Timestamp) -> jiff::civil::Date {
    t.to_zoned(jiff::tz::TimeZone::UTC).date()
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    crate::private_fs::write_private(path, bytes)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
#[path = "tls_tests.rs"]
mod tests;
