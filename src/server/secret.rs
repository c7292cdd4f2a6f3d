//! Virtual keys and the admin token: generated from the OS RNG, shown once, stored only as a
//! SHA-256 hash (enough for 256-bit random secrets), compared in constant time.
//!
//! A key reads `gwk_<key id>_<secret>`: the 12-hex-digit key id is not secret and is how the
//! server finds the key's row; the secret is 32 random bytes in hex.

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const KEY_PREFIX: &str = "gwk_";
pub const ADMIN_PREFIX: &str = "gwa_";
/// A token that reads `/metrics` and nothing else (for Prometheus).
pub const METRICS_PREFIX: &str = "gwm_";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    rand::rng().fill_bytes(&mut buf);
    hex(&buf)
}

/// A new key: `(key id, full key)`.
pub fn new_key() -> (String, String) {
    let id = random_hex(6);
    let key = format!("{KEY_PREFIX}{id}_{}", random_hex(32));
    (id, key)
}

/// A new admin token.
pub fn new_admin_token() -> String {
    format!("{ADMIN_PREFIX}{}", random_hex(32))
}

/// A new random value for the dashboard (a session id or a CSRF token): `gws_` and 64 hex
/// digits, a prefix no secret scanner takes for an admin token.
pub fn new_web_secret() -> String {
    format!("gws_{}", random_hex(32))
}

/// A new metrics-only token.
pub fn new_metrics_token() -> String {
    format!("{METRICS_PREFIX}{}", random_hex(32))
}

/// The key id of a well-formed key.
pub fn key_id(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let hexish = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hexish(id, 12) && hexish(secret, 64)).then_some(id)
}

/// SHA-256 of a secret, hex.
pub fn hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// Whether `secret` hashes to `stored_hash`, in time independent of where they differ.
pub fn matches(secret: &str, stored_hash: &str) -> bool {
    hash(secret).as_bytes().ct_eq(stored_hash.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        let (id, key) = new_key();
        assert_eq!(key_id(&key), Some(id.as_str()));
        assert_eq!(key.len(), 4 + 12 + 1 + 64);
        let h = hash(&key);
        assert!(matches(&key, &h));
        assert!(!matches(&format!("{key}x"), &h));
        assert_eq!(key_id("gwk_short_abc"), None);
        assert_eq!(key_id(&new_admin_token()), None);
        assert_ne!(new_key().1, new_key().1);
    }
}
