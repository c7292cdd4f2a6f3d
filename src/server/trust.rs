//! Which gw server certificates a client trusts: the public roots, a CA the team gave (a PEM
//! file), a pinned SHA-256 fingerprint, or a CA and a pin together. The verifier notes what the
//! server presented, so a refused handshake is reported by its cause (untrusted issuer, wrong
//! name, expired, changed fingerprint) with the fingerprint to compare, not as "unreachable".

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};

/// The SHA-256 of a certificate's DER, shown as `AB:CD:…` (as `openssl x509 -fingerprint
/// -sha256` prints it, so an admin can check it with the tool at hand).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    pub fn of(der: &[u8]) -> Fingerprint {
        Fingerprint(Sha256::digest(der).into())
    }

    /// Reads `AB:CD:…`, `abcd…` or `SHA256:AB:CD:…` (case and colons do not matter).
    pub fn parse(text: &str) -> Result<Fingerprint, String> {
        let text = text.trim();
        let hex_part = text
            .strip_prefix("SHA256:")
            .or_else(|| text.strip_prefix("sha256:"))
            .unwrap_or(text);
        let digits: String = hex_part
            .chars()
            .filter(|c| *c != ':' && !c.is_whitespace())
            .collect();
        let bad = || {
            format!(
                "`{text}` is not a SHA-256 fingerprint: give the 64 hex digits `gw server` prints at start \
                 (AB:CD:… or abcd…)"
            )
        };
        if digits.len() != 64 || !digits.is_ascii() {
            return Err(bad());
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(Fingerprint(bytes))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// What a client trusts. Neither field: the public web roots. A CA: that CA instead of the
/// public roots. A pin: exactly the certificate with that fingerprint (names and issuer
/// unchecked, as SSH trusts a host key). Both: the CA's checks and the pin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trust {
    pub ca: Option<PathBuf>,
    pub pin: Option<Fingerprint>,
}

/// Why the client refused the server's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertProblem {
    /// Not signed by a CA this client trusts.
    UnknownIssuer,
    /// Issued for other names than the one dialled.
    WrongName {
        expected: String,
        presented: Vec<String>,
    },
    Expired,
    NotYetValid,
    /// The certificate is not the pinned one.
    PinMismatch {
        pinned: Fingerprint,
    },
    /// Any other refusal (bad signature, wrong purpose, …), as rustls words it.
    Other(String),
}

/// The certificate the server presented at the last handshake, and why it was refused.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    pub fingerprint: Option<Fingerprint>,
    pub problem: Option<CertProblem>,
}

/// The TLS configuration for `trust`, and the slot its verifier notes each handshake in.
pub fn client_config(trust: &Trust) -> Result<(rustls::ClientConfig, Arc<Mutex<Seen>>), String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = match &trust.ca {
        Some(path) => read_roots(path)?,
        None => RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        },
    };
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("cannot use the CA certificates: {e}"))?;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let verifier = Verifier {
        // A pin alone replaces the CA checks; with a CA the pin is checked on top.
        webpki: (trust.pin.is_none() || trust.ca.is_some()).then_some(webpki),
        pin: trust.pin,
        provider: provider.clone(),
        seen: seen.clone(),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok((config, seen))
}

fn read_roots(path: &Path) -> Result<RootCertStore, String> {
    use rustls::pki_types::pem::PemObject;
    let fail = |e: &dyn fmt::Display| {
        format!(
            "cannot read the CA certificate {}: {e}; give the PEM file of the CA that signed the server's \
             certificate (`gw server --tls-self-signed` writes its own to tls/ca.pem in its data dir)",
            path.display()
        )
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| fail(&e))? {
        roots
            .add(cert.map_err(|e| fail(&e))?)
            .map_err(|e| fail(&e))?;
    }
    if roots.is_empty() {
        return Err(fail(&"it holds no certificate"));
    }
    Ok(roots)
}

#[derive(Debug)]
struct Verifier {
    webpki: Option<Arc<WebPkiServerVerifier>>,
    pin: Option<Fingerprint>,
    provider: Arc<CryptoProvider>,
    seen: Arc<Mutex<Seen>>,
}

impl Verifier {
    fn note(&self, fingerprint: Fingerprint, problem: Option<CertProblem>) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        *seen = Seen {
            fingerprint: Some(fingerprint),
            problem,
        };
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fingerprint = Fingerprint::of(end_entity);
        if let Some(webpki) = &self.webpki {
            if let Err(e) = webpki.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ) {
                self.note(fingerprint, Some(CertProblem::from_rustls(&e)));
                return Err(e);
            }
        }
        if let Some(pinned) = self.pin {
            if pinned != fingerprint {
                self.note(fingerprint, Some(CertProblem::PinMismatch { pinned }));
                return Err(rustls::Error::InvalidCertificate(
                    CertificateError::ApplicationVerificationFailure,
                ));
            }
        }
        self.note(fingerprint, None);
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
            &self.provider.signature_verification_algorithms,
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
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

impl CertProblem {
    pub(crate) fn from_rustls(e: &rustls::Error) -> CertProblem {
        let rustls::Error::InvalidCertificate(e) = e else {
            return CertProblem::Other(e.to_string());
        };
        match e {
            CertificateError::UnknownIssuer => CertProblem::UnknownIssuer,
            CertificateError::NotValidForNameContext {
                expected,
                presented,
            } => CertProblem::WrongName {
                expected: expected.to_str().into_owned(),
                presented: presented.clone(),
            },
            CertificateError::NotValidForName => CertProblem::WrongName {
                expected: String::new(),
                presented: Vec::new(),
            },
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                CertProblem::Expired
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                CertProblem::NotYetValid
            }
            other => CertProblem::Other(format!("{other:?}")),
        }
    }

    /// The cause and the fix, in words, for the server at `url` whose certificate has
    /// `fingerprint`.
    pub fn explain(&self, url: &str, fingerprint: Option<Fingerprint>) -> String {
        let fp = fingerprint
            .map(|f| f.to_string())
            .unwrap_or_else(|| "<fingerprint>".into());
        let compare = format!(
            "compare its SHA-256 fingerprint\n    {fp}\n  with the one `gw server` printed at start; if they match, pin it: \
             `gw login {url} --fingerprint {fp}` (without --ca-cert; `gw admin --fingerprint` likewise)"
        );
        match self {
            CertProblem::UnknownIssuer => format!(
                "the gw server at {url} presented a certificate no CA trusted here has signed\n  \
                 if the server makes its own (`gw server --tls-self-signed`), copy its CA (tls/ca.pem in the server's data dir) \
                 and trust it: `gw login {url} --ca-cert <pem>` (`gw admin --ca-cert <pem>`); or {compare}"
            ),
            CertProblem::WrongName { expected, presented } => {
                let names = if presented.is_empty() {
                    "other names".to_string()
                } else {
                    presented.join(", ")
                };
                format!(
                    "the gw server at {url} has a certificate not issued for `{expected}` (it names {names})\n  \
                     use a URL with one of those names, or give the server a certificate for `{expected}` \
                     (`gw server --tls-self-signed --tls-name {expected}`); or {compare}"
                )
            }
            CertProblem::Expired => format!(
                "the gw server at {url} presented an expired certificate\n  \
                 renew it on the server (`gw server --tls-self-signed` renews its own at start); or {compare}"
            ),
            CertProblem::NotYetValid => format!(
                "the gw server at {url} presented a certificate that is not valid yet\n  \
                 check this machine's clock (and the server's)"
            ),
            CertProblem::PinMismatch { pinned } => format!(
                "the gw server at {url} presented a certificate with fingerprint\n    {fp}\n  \
                 but the login pins\n    {pinned}\n  \
                 the server's certificate changed, or this is not your server: ask your gw admin for the fingerprint \
                 `gw server` prints now, then run `gw login {url} --fingerprint <it>` again"
            ),
            CertProblem::Other(cause) => format!(
                "the gw server at {url} presented a certificate that was refused ({cause}); {compare}"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_read_in_every_common_spelling() {
        let f = Fingerprint::of(b"certificate");
        let shown = f.to_string();
        assert_eq!(shown.len(), 32 * 3 - 1);
        assert_eq!(Fingerprint::parse(&shown).unwrap(), f);
        assert_eq!(Fingerprint::parse(&shown.to_lowercase()).unwrap(), f);
        assert_eq!(Fingerprint::parse(&shown.replace(':', "")).unwrap(), f);
        assert_eq!(
            Fingerprint::parse(&format!(" SHA256:{shown}\n")).unwrap(),
            f
        );
        for bad in [
            "",
            "AB:CD",
            &shown[3..],
            &format!("{shown}:00"),
            &shown.replace('A', "G"),
        ] {
            let e = Fingerprint::parse(bad).unwrap_err();
            assert!(e.contains("not a SHA-256 fingerprint"), "{bad}: {e}");
        }
        // Multi-byte text of the right length in bytes is refused, not sliced mid-character.
        assert!(Fingerprint::parse(&"é".repeat(32)).is_err());
    }

    #[test]
    fn a_ca_file_without_a_certificate_is_named_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let e = client_config(&Trust {
            ca: Some(path),
            pin: None,
        })
        .unwrap_err();
        assert!(
            e.contains("holds no certificate") && e.contains("tls/ca.pem"),
            "{e}"
        );
        let e = client_config(&Trust {
            ca: Some(dir.path().join("missing.pem")),
            pin: None,
        })
        .unwrap_err();
        assert!(e.contains("cannot read the CA certificate"), "{e}");
    }
}
