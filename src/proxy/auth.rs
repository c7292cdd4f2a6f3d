//! Session authentication: only the agent gw launched may spend through its proxy.
//!
//! A request is let in when its path starts with `/<session key>/` (the agent uses its own login,
//! whose credentials pass through untouched) or when its API key *is* the session key (gw holds
//! the provider key and swaps it in upstream). Anything else gets a 401.

use std::collections::HashMap;

use http::{header, HeaderMap, HeaderValue};
use rand::RngCore;

use crate::meter::Provider;

pub struct SessionAuth {
    key: String,
    /// Provider keys gw holds; swapped in for the session key upstream.
    held: HashMap<Provider, String>,
    /// Providers whose credential gw puts on a request itself (a Google token, an AWS
    /// signature): the session key is only removed there.
    signed: std::collections::HashSet<Provider>,
}

pub use crate::agents::SESSION_KEY_HEADER;

/// How a request proved it belongs to the session.
#[derive(Debug, PartialEq, Eq)]
pub enum Admission<'a> {
    /// By the path segment; the rest of the path follows.
    Path(&'a str),
    /// By its credential, found in the header (or `key` query parameter for Gemini).
    Credential(CredentialPlace),
    /// By [`SESSION_KEY_HEADER`]; the request's own credentials pass through.
    Header,
    Refused,
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum CredentialPlace {
    XApiKey,
    Bearer,
    XGoogApiKey,
    /// Azure OpenAI's `api-key` header.
    ApiKey,
    QueryKey,
}

impl SessionAuth {
    pub fn new(held: HashMap<Provider, String>) -> SessionAuth {
        let mut bytes = [0u8; 24]; // 192 bits
        rand::rng().fill_bytes(&mut bytes);
        let key = format!(
            "gws-{}",
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        SessionAuth {
            key,
            held,
            signed: Default::default(),
        }
    }

    /// gw holds `provider`'s credential as something it puts on each request itself.
    pub fn with_signed(mut self, provider: Provider) -> SessionAuth {
        self.signed.insert(provider);
        self
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn holds(&self, provider: Provider) -> bool {
        self.held.contains_key(&provider) || self.signed.contains(&provider)
    }

    /// Decides whether `path_and_query` with `headers` belongs to this session.
    pub fn admit<'a>(&self, path_and_query: &'a str, headers: &HeaderMap) -> Admission<'a> {
        if let Some(rest) = path_and_query.strip_prefix('/') {
            if let Some((segment, _)) = rest.split_once('/') {
                if constant_time_eq(segment.as_bytes(), self.key.as_bytes()) {
                    return Admission::Path(&rest[segment.len()..]);
                }
            }
        }
        let is_key = |value: Option<&str>| {
            value.is_some_and(|v| constant_time_eq(v.trim().as_bytes(), self.key.as_bytes()))
        };
        let header_str = |name| {
            headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        if is_key(header_str(SESSION_KEY_HEADER)) {
            return Admission::Header;
        }
        if is_key(header_str("x-api-key")) {
            return Admission::Credential(CredentialPlace::XApiKey);
        }
        if is_key(
            header_str(header::AUTHORIZATION.as_str()).and_then(|v| v.strip_prefix("Bearer ")),
        ) {
            return Admission::Credential(CredentialPlace::Bearer);
        }
        if is_key(header_str("x-goog-api-key")) {
            return Admission::Credential(CredentialPlace::XGoogApiKey);
        }
        if is_key(header_str("api-key")) {
            return Admission::Credential(CredentialPlace::ApiKey);
        }
        let query_key = path_and_query
            .split_once('?')
            .and_then(|(_, q)| q.split('&').find_map(|pair| pair.strip_prefix("key=")));
        if is_key(query_key) {
            return Admission::Credential(CredentialPlace::QueryKey);
        }
        Admission::Refused
    }

    /// Replaces the session key with the provider key gw holds, where it was found. Without a
    /// held key the session key is removed, so it never leaves the machine.
    pub fn swap(
        &self,
        provider: Provider,
        place: CredentialPlace,
        headers: &mut HeaderMap,
        path_and_query: &mut String,
    ) {
        if self.signed.contains(&provider) {
            // gw's own credential replaces it (proxy::google, proxy::aws): the session key only
            // goes.
            match place {
                CredentialPlace::XApiKey => drop(headers.remove("x-api-key")),
                CredentialPlace::Bearer => drop(headers.remove(header::AUTHORIZATION)),
                CredentialPlace::XGoogApiKey => drop(headers.remove("x-goog-api-key")),
                CredentialPlace::ApiKey => drop(headers.remove("api-key")),
                CredentialPlace::QueryKey => {
                    *path_and_query = without_query_key(path_and_query);
                }
            }
            return;
        }
        let real = self.held.get(&provider);
        let set = |headers: &mut HeaderMap, name: &'static str, value: Option<String>| match value
            .and_then(|v| HeaderValue::from_str(&v).ok())
        {
            Some(mut v) => {
                v.set_sensitive(true);
                headers.insert(name, v);
            }
            None => {
                headers.remove(name);
            }
        };
        match place {
            CredentialPlace::XApiKey => set(headers, "x-api-key", real.cloned()),
            // Claude Code takes the session key as `ANTHROPIC_AUTH_TOKEN` (as an API key it
            // asks the user to approve it on every launch) and sends it as a bearer token;
            // Anthropic wants an API key in `x-api-key`.
            CredentialPlace::Bearer if provider == Provider::Anthropic => {
                headers.remove(header::AUTHORIZATION);
                set(headers, "x-api-key", real.cloned());
            }
            // Azure OpenAI takes its resource key as `api-key`, however the agent sent it.
            CredentialPlace::Bearer | CredentialPlace::ApiKey if provider == Provider::Azure => {
                headers.remove(header::AUTHORIZATION);
                set(headers, "api-key", real.cloned());
            }
            CredentialPlace::Bearer => set(
                headers,
                "authorization",
                real.map(|k| format!("Bearer {k}")),
            ),
            CredentialPlace::ApiKey => set(headers, "api-key", real.cloned()),
            CredentialPlace::XGoogApiKey => set(headers, "x-goog-api-key", real.cloned()),
            CredentialPlace::QueryKey => {
                let (path, query) = path_and_query
                    .split_once('?')
                    .unwrap_or((path_and_query, ""));
                let query: Vec<String> = query
                    .split('&')
                    .filter_map(|pair| match pair.strip_prefix("key=") {
                        Some(_) => real.map(|k| format!("key={k}")),
                        None => Some(pair.to_string()),
                    })
                    .collect();
                *path_and_query = if query.is_empty() {
                    path.to_string()
                } else {
                    format!("{path}?{}", query.join("&"))
                };
            }
        }
    }
}

/// `path?a=1&key=k&b=2` → `path?a=1&b=2`.
fn without_query_key(path_and_query: &str) -> String {
    let Some((path, query)) = path_and_query.split_once('?') else {
        return path_and_query.to_string();
    };
    let rest: Vec<&str> = query
        .split('&')
        .filter(|pair| !pair.starts_with("key="))
        .collect();
    if rest.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", rest.join("&"))
    }
}

impl SessionAuth {
    /// Removes the session key from wherever else the request carries it (a header admitted
    /// the request, yet an API-key header or `?key=` holds the key too): it never leaves the
    /// machine, whichever way the request got in.
    pub fn scrub(&self, headers: &mut HeaderMap, path_and_query: &mut String) {
        let is_key = |v: &HeaderValue| {
            v.to_str().is_ok_and(|v| {
                let v = v.trim();
                let v = v.strip_prefix("Bearer ").unwrap_or(v);
                constant_time_eq(v.trim().as_bytes(), self.key.as_bytes())
            })
        };
        for name in [
            "x-api-key",
            "x-goog-api-key",
            "api-key",
            "authorization",
            SESSION_KEY_HEADER,
        ] {
            if headers.get(name).is_some_and(is_key) {
                headers.remove(name);
            }
        }
        let carries_key = path_and_query.split_once('?').is_some_and(|(_, q)| {
            q.split('&').any(|pair| {
                pair.strip_prefix("key=")
                    .is_some_and(|v| constant_time_eq(v.as_bytes(), self.key.as_bytes()))
            })
        });
        if carries_key {
            *path_and_query = without_query_key(path_and_query);
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> SessionAuth {
        SessionAuth::new(HashMap::from([(
            Provider::Anthropic,
            "sk-real".to_string(),
        )]))
    }

    #[test]
    fn keys_are_long_and_random() {
        let (a, b) = (auth(), auth());
        assert_ne!(a.key(), b.key());
        assert!(a.key().len() >= 4 + 32, "at least 128 bits");
    }

    #[test]
    fn admits_by_path_segment_or_credential_only() {
        let a = auth();
        let path = format!("/{}/anthropic/v1/messages", a.key());
        assert_eq!(
            a.admit(&path, &HeaderMap::new()),
            Admission::Path("/anthropic/v1/messages")
        );
        let mut h = HeaderMap::new();
        assert_eq!(a.admit("/anthropic/v1/messages", &h), Admission::Refused);
        h.insert("x-api-key", "wrong".parse().unwrap());
        assert_eq!(a.admit("/anthropic/v1/messages", &h), Admission::Refused);
        h.insert("x-api-key", a.key().parse().unwrap());
        assert_eq!(
            a.admit("/anthropic/v1/messages", &h),
            Admission::Credential(CredentialPlace::XApiKey)
        );
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            format!("Bearer {}", a.key()).parse().unwrap(),
        );
        assert_eq!(
            a.admit("/openai/v1/responses", &h),
            Admission::Credential(CredentialPlace::Bearer)
        );
        let q = format!(
            "/gemini/v1beta/models/m:generateContent?alt=sse&key={}",
            a.key()
        );
        assert_eq!(
            a.admit(&q, &HeaderMap::new()),
            Admission::Credential(CredentialPlace::QueryKey)
        );
        assert_eq!(
            a.admit(&format!("/{}x/anthropic", a.key()), &HeaderMap::new()),
            Admission::Refused
        );
    }

    #[test]
    fn swaps_in_the_held_key_or_removes_the_session_key() {
        let a = auth();
        let mut h = HeaderMap::new();
        h.insert("x-api-key", a.key().parse().unwrap());
        let mut p = String::new();
        a.swap(
            Provider::Anthropic,
            CredentialPlace::XApiKey,
            &mut h,
            &mut p,
        );
        assert_eq!(h["x-api-key"], "sk-real");
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            format!("Bearer {}", a.key()).parse().unwrap(),
        );
        let mut anthropic = h.clone();
        a.swap(
            Provider::Anthropic,
            CredentialPlace::Bearer,
            &mut anthropic,
            &mut p,
        );
        assert_eq!(
            anthropic["x-api-key"], "sk-real",
            "Anthropic takes x-api-key"
        );
        assert!(!anthropic.contains_key("authorization"));
        a.swap(Provider::OpenAi, CredentialPlace::Bearer, &mut h, &mut p);
        assert!(
            !h.contains_key("authorization"),
            "no held OpenAI key: the session key is not forwarded"
        );
        let mut q = format!("/v1beta/m:generateContent?alt=sse&key={}", a.key());
        a.swap(
            Provider::Gemini,
            CredentialPlace::QueryKey,
            &mut HeaderMap::new(),
            &mut q,
        );
        assert_eq!(q, "/v1beta/m:generateContent?alt=sse");
    }
}
