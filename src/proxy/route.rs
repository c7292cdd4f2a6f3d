//! Maps a proxy path (`/anthropic/...`) to its provider and the upstream path, and builds the
//! error bodies each provider's clients understand.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::meter::Provider;

/// Splits `/openai/v1/responses?x=1` into the provider and `/v1/responses?x=1`.
pub fn split_prefix(path_and_query: &str) -> Option<(Provider, &str)> {
    let rest = path_and_query.strip_prefix('/')?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let provider = Provider::from_prefix(&rest[..end])?;
    Some((provider, &rest[end..]))
}

/// The path without its query string: queries can carry API keys (`?key=`), so only this is stored.
pub fn path_only(path_and_query: &str) -> &str {
    path_and_query.split('?').next().unwrap_or("")
}

/// An error body in the provider's own shape (AGENTS.md), so agents show the message.
pub fn error_body(
    provider: Option<Provider>,
    status: StatusCode,
    kind: &str,
    message: &str,
) -> Bytes {
    let value = match provider {
        Some(Provider::Anthropic) => {
            serde_json::json!({"type": "error", "error": {"type": kind, "message": message}})
        }
        Some(Provider::OpenAi) | None => {
            serde_json::json!({"error": {"message": message, "type": kind, "code": kind}})
        }
        Some(Provider::Gemini) => serde_json::json!({"error": {
            "code": status.as_u16(),
            "message": message,
            "status": gemini_status(status),
        }}),
    };
    Bytes::from(value.to_string())
}

fn gemini_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        402 | 429 => "RESOURCE_EXHAUSTED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        502..=504 => "UNAVAILABLE",
        _ => "INTERNAL",
    }
}

/// Headers that belong to one connection and must not be forwarded (RFC 9110 §7.6.1), plus any
/// header the `Connection` header names.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(*name);
    }
}

const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The agent's own session id, from the headers each agent sends (AGENTS.md).
pub fn agent_session_id(headers: &HeaderMap) -> Option<String> {
    ["x-claude-code-session-id", "session-id", "x-session-id"]
        .iter()
        .find_map(|name| headers.get(*name))
        .and_then(|v: &HeaderValue| v.to_str().ok())
        .map(|v| v.chars().take(200).collect())
}

/// The upstream's request id, from the response headers providers set.
pub fn upstream_request_id(headers: &HeaderMap) -> Option<String> {
    ["request-id", "x-request-id", "x-goog-request-id", "cf-ray"]
        .iter()
        .find_map(|name| headers.get(*name))
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_prefixes() {
        assert_eq!(
            split_prefix("/anthropic/v1/messages?beta=true"),
            Some((Provider::Anthropic, "/v1/messages?beta=true"))
        );
        assert_eq!(split_prefix("/anthropic"), Some((Provider::Anthropic, "")));
        assert_eq!(split_prefix("/gemini?x"), Some((Provider::Gemini, "?x")));
        assert_eq!(split_prefix("/openaix/v1"), None);
        assert_eq!(split_prefix("/v1/messages"), None);
    }

    #[test]
    fn error_shapes_match_each_provider() {
        let a: serde_json::Value = serde_json::from_slice(&error_body(
            Some(Provider::Anthropic),
            StatusCode::BAD_GATEWAY,
            "api_error",
            "m",
        ))
        .unwrap();
        assert_eq!(a["type"], "error");
        assert_eq!(a["error"]["message"], "m");
        let g: serde_json::Value = serde_json::from_slice(&error_body(
            Some(Provider::Gemini),
            StatusCode::PAYMENT_REQUIRED,
            "x",
            "m",
        ))
        .unwrap();
        assert_eq!(g["error"]["code"], 402);
        assert_eq!(g["error"]["status"], "RESOURCE_EXHAUSTED");
        let o: serde_json::Value = serde_json::from_slice(&error_body(
            Some(Provider::OpenAi),
            StatusCode::UNAUTHORIZED,
            "invalid_api_key",
            "m",
        ))
        .unwrap();
        assert_eq!(o["error"]["code"], "invalid_api_key");
    }

    #[test]
    fn removes_hop_by_hop_and_connection_named_headers() {
        let mut h = HeaderMap::new();
        h.insert("connection", "close, x-private".parse().unwrap());
        h.insert("x-private", "1".parse().unwrap());
        h.insert("transfer-encoding", "chunked".parse().unwrap());
        h.insert("x-api-key", "k".parse().unwrap());
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-api-key"));
    }
}
