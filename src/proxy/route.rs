//! Maps a proxy path (`/anthropic/...`) to its provider and the upstream path, and builds the
//! error bodies each provider's clients understand.

use bytes::Bytes;
use http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::meter::{ErrorShape, Provider};

/// One spelling of a request's path, so that every check and the upstream see the same one:
/// percent-encoded unreserved characters decoded (`%6D` is `m`), dot segments removed
/// (`/a/../b` is `/b`; RFC 3986 §2.3 and §5.2.4). Other escapes (`%2F`, `%3A`) are kept as
/// sent, hex in upper case. The query is left alone. Borrows when there is nothing to do.
pub fn normalize(path_and_query: &str) -> std::borrow::Cow<'_, str> {
    let (path, query) = match path_and_query.find('?') {
        Some(at) => path_and_query.split_at(at),
        None => (path_and_query, ""),
    };
    if !path.contains('%') && !path.contains("/.") {
        return std::borrow::Cow::Borrowed(path_and_query);
    }
    let decoded = decode_unreserved(path);
    let mut out = remove_dot_segments(&decoded);
    out.push_str(query);
    std::borrow::Cow::Owned(out)
}

fn decode_unreserved(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        // `i + 2` is the escape's last byte, which may end the path (`/v1/message%73`).
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                let b = (h * 16 + l) as u8;
                if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                    out.push(b);
                } else {
                    out.extend_from_slice(format!("%{b:02X}").as_bytes());
                }
                i += 3;
                continue;
            }
        }
        // Any other byte as sent: a request target may hold raw bytes past ASCII.
        out.push(bytes[i]);
        i += 1;
    }
    // Valid UTF-8: the input's bytes are copied whole, and decoded bytes are ASCII.
    String::from_utf8(out).expect("decoding unreserved escapes keeps UTF-8 valid")
}

/// RFC 3986 §5.2.4 for an absolute path: `.` segments dropped, `..` removes the one before
/// (never above the root).
fn remove_dot_segments(path: &str) -> String {
    let Some(rest) = path.strip_prefix('/') else {
        return path.to_string();
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let last = segments.len() - 1;
    let mut out: Vec<&str> = Vec::with_capacity(segments.len());
    for (i, segment) in segments.iter().enumerate() {
        match *segment {
            "." | ".." => {
                if *segment == ".." {
                    out.pop();
                }
                if i == last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    format!("/{}", out.join("/"))
}

/// Splits `/openai/v1/responses?x=1` into the provider and `/v1/responses?x=1`.
pub fn split_prefix(path_and_query: &str) -> Option<(Provider, &str)> {
    let rest = path_and_query.strip_prefix('/')?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let provider = Provider::from_prefix(&rest[..end])?;
    Some((provider, &rest[end..]))
}

/// The provider's own headers for a rate limit reached (`dimension`: `requests` or `tokens`),
/// reset in `secs`: Anthropic's `anthropic-ratelimit-*` (an RFC 3339 time), OpenAI's
/// `x-ratelimit-*` (a duration). Other providers have none.
pub fn rate_limit_headers(
    family: Provider,
    dimension: &str,
    secs: u64,
    headers: &mut http::HeaderMap,
) {
    let (remaining, reset, value) = match family {
        Provider::Anthropic => {
            let at = jiff::Timestamp::now()
                .checked_add(jiff::SignedDuration::from_secs(secs as i64))
                .unwrap_or(jiff::Timestamp::MAX);
            (
                format!("anthropic-ratelimit-{dimension}-remaining"),
                format!("anthropic-ratelimit-{dimension}-reset"),
                at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            )
        }
        Provider::OpenAi => (
            format!("x-ratelimit-remaining-{dimension}"),
            format!("x-ratelimit-reset-{dimension}"),
            format!("{secs}s"),
        ),
        _ => return,
    };
    for (name, value) in [(remaining, "0".to_string()), (reset, value)] {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            headers.insert(name, value);
        }
    }
}

/// Whether the client is one that shows a gw refusal only as a plain-text 400: Codex (its
/// `originator` header is `codex_exec`, `codex-tui`, …) retries every other 4xx five times
/// and then prints it wrapped in its own words, or shows its own text for a quota error.
pub fn wants_plain_errors(headers: &http::HeaderMap) -> bool {
    headers
        .get("originator")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("codex"))
}

/// Where a request to OpenAI's route that carries a ChatGPT login goes instead: ChatGPT's
/// backend (`/v1/responses` → `/backend-api/codex/responses`, `/v1/models` likewise). Codex
/// sends `chatgpt-account-id` with that login and only with it.
pub fn chatgpt_route(
    provider: Provider,
    path_and_query: &str,
    headers: &http::HeaderMap,
) -> Option<String> {
    if provider != Provider::OpenAi || !headers.contains_key("chatgpt-account-id") {
        return None;
    }
    let rest = path_and_query.strip_prefix("/v1")?;
    (rest.starts_with('/') || rest.starts_with('?') || rest.is_empty())
        .then(|| format!("/backend-api/codex{rest}"))
}

/// Whether a request's own credentials are a plan's login rather than an API key: Claude Code
/// signed in with claude.ai sends an OAuth access token (`sk-ant-oat…`) as a bearer token.
pub fn subscription_login(provider: Provider, headers: &http::HeaderMap) -> bool {
    match provider {
        // An API key beside it is what Anthropic bills: then it is not a plan's login.
        Provider::Anthropic if !headers.contains_key("x-api-key") => headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .is_some_and(|(scheme, token)| {
                scheme.eq_ignore_ascii_case("bearer")
                    && token.trim_start().starts_with("sk-ant-oat")
            }),
        _ => false,
    }
}

/// Whether a request is an agent's check that its base URL answers (Claude Code's `HEAD $B` at
/// startup): a `HEAD` of a provider's root, with or without the session's path segment before it.
pub fn is_base_probe(method: &http::Method, path_and_query: &str) -> bool {
    if method != http::Method::HEAD {
        return false;
    }
    let segments: Vec<&str> = path_only(path_and_query)
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    match segments.as_slice() {
        [provider] | [_, provider] => Provider::from_prefix(provider).is_some(),
        _ => false,
    }
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
    // Off every provider's route, OpenAI's shape: the one most clients read.
    let shape = provider.map_or(ErrorShape::OpenAi, |p| p.info().error_shape);
    let value = match shape {
        ErrorShape::Anthropic => {
            serde_json::json!({"type": "error", "error": {"type": kind, "message": message}})
        }
        ErrorShape::OpenAi => {
            serde_json::json!({"error": {"message": message, "type": kind, "code": kind}})
        }
        ErrorShape::Google => serde_json::json!({"error": {
            "code": status.as_u16(),
            "message": message,
            "status": gemini_status(status),
        }}),
        ErrorShape::Aws => serde_json::json!({"message": message}),
    };
    Bytes::from(value.to_string())
}

/// AWS's error kind for a status, sent as `x-amzn-ErrorType` beside an [`ErrorShape::Aws`] body.
pub fn aws_error_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "ValidationException",
        401 | 403 => "AccessDeniedException",
        402 => "ServiceQuotaExceededException",
        404 => "ResourceNotFoundException",
        413 => "ValidationException",
        429 => "ThrottlingException",
        503 => "ServiceUnavailableException",
        504 => "ModelTimeoutException",
        _ => "InternalServerException",
    }
}

fn gemini_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        402 | 429 => "RESOURCE_EXHAUSTED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        502 | 503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "INTERNAL",
    }
}

/// Headers that belong to one connection and must not be forwarded (RFC 9110 §7.6.1), plus any
/// header the `Connection` header names. One pass over the names finds them: most messages carry
/// few or none, and removing each by name would cost a hash lookup apiece.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let mut doomed: Vec<HeaderName> = headers
        .keys()
        .filter(|name| HOP_BY_HOP.contains(name))
        .cloned()
        .collect();
    if doomed.is_empty() {
        return; // no `Connection` header either: it is one of them
    }
    doomed.extend(
        headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok()),
    );
    for name in doomed {
        headers.remove(name);
    }
}

const HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// The agent's own session id, from the headers each agent sends (AGENTS.md).
pub fn agent_session_id(headers: &HeaderMap) -> Option<String> {
    const NAMES: [HeaderName; 3] = [
        HeaderName::from_static("x-claude-code-session-id"),
        HeaderName::from_static("session-id"),
        HeaderName::from_static("x-session-id"),
    ];
    first_value(headers, &NAMES)
}

/// The upstream's request id, from the response headers providers set.
pub fn upstream_request_id(headers: &HeaderMap) -> Option<String> {
    const NAMES: [HeaderName; 4] = [
        HeaderName::from_static("request-id"),
        HeaderName::from_static("x-request-id"),
        HeaderName::from_static("x-goog-request-id"),
        HeaderName::from_static("cf-ray"),
    ];
    first_value(headers, &NAMES)
}

/// The first of `names` present, as text of at most 200 characters.
fn first_value(headers: &HeaderMap, names: &[HeaderName]) -> Option<String> {
    names
        .iter()
        .find_map(|name| headers.get(name))
        .and_then(|v: &HeaderValue| v.to_str().ok())
        .map(|v| v.chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatgpt_logins_go_to_chatgpts_backend() {
        let mut h = http::HeaderMap::new();
        assert_eq!(chatgpt_route(Provider::OpenAi, "/v1/responses", &h), None);
        h.insert("chatgpt-account-id", "acc-1".parse().unwrap());
        assert_eq!(
            chatgpt_route(Provider::OpenAi, "/v1/responses", &h).as_deref(),
            Some("/backend-api/codex/responses")
        );
        assert_eq!(
            chatgpt_route(Provider::OpenAi, "/v1/models?client_version=1", &h).as_deref(),
            Some("/backend-api/codex/models?client_version=1")
        );
        assert_eq!(chatgpt_route(Provider::OpenAi, "/v1x/responses", &h), None);
        assert_eq!(chatgpt_route(Provider::Anthropic, "/v1/messages", &h), None);
    }

    #[test]
    fn only_an_oauth_token_alone_marks_a_plans_login() {
        let mut h = http::HeaderMap::new();
        h.insert("authorization", "bearer sk-ant-oat01-x".parse().unwrap());
        assert!(subscription_login(Provider::Anthropic, &h));
        h.insert("x-api-key", "sk-ant-api03-x".parse().unwrap());
        assert!(
            !subscription_login(Provider::Anthropic, &h),
            "an API key pays"
        );
        let mut h = http::HeaderMap::new();
        h.insert("authorization", "Bearer sk-ant-api03-x".parse().unwrap());
        assert!(!subscription_login(Provider::Anthropic, &h));
    }

    #[test]
    fn base_probes_are_heads_of_a_provider_root() {
        let head = http::Method::HEAD;
        for yes in [
            "/anthropic",
            "/anthropic/",
            "/gws-k/anthropic",
            "/openai?x=1",
        ] {
            assert!(is_base_probe(&head, yes), "{yes}");
        }
        for no in [
            "/anthropic/v1/messages",
            "/",
            "/gws-k/other",
            "/a/b/anthropic",
        ] {
            assert!(!is_base_probe(&head, no), "{no}");
        }
        assert!(!is_base_probe(&http::Method::GET, "/anthropic"));
    }

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
    fn paths_have_one_spelling() {
        assert_eq!(
            normalize("/v1/message%73"),
            "/v1/messages",
            "an escape at the very end"
        );
        assert_eq!(
            normalize("/v1/message%73?beta=true"),
            "/v1/messages?beta=true"
        );
        let n = |p| normalize(p).into_owned();
        assert_eq!(
            n("/anthropic/v1/messages?beta=true"),
            "/anthropic/v1/messages?beta=true"
        );
        assert_eq!(n("/anthropic/v1/%6Dessages"), "/anthropic/v1/messages");
        assert_eq!(
            n("/anthropic/v1/%6dessages?q=%2e"),
            "/anthropic/v1/messages?q=%2e"
        );
        assert_eq!(n("/../openai/v1/models"), "/openai/v1/models");
        assert_eq!(n("/anthropic/../openai/v1/models"), "/openai/v1/models");
        assert_eq!(n("/anthropic/v1/%2e%2E/%2E/x"), "/anthropic/x");
        assert_eq!(n("/anthropic/v1/.."), "/anthropic/");
        assert_eq!(n("/a/b/."), "/a/b/");
        assert_eq!(n("/a/..b/.c"), "/a/..b/.c", "only whole segments are dots");
        assert_eq!(
            n("/gemini/v1beta/models/m%3agenerateContent"),
            "/gemini/v1beta/models/m%3AgenerateContent"
        );
        assert_eq!(n("/a%2Fb"), "/a%2Fb", "an encoded slash stays encoded");
        assert_eq!(n("/a%zz%4"), "/a%zz%4", "broken escapes pass as sent");
        assert_eq!(n("/"), "/");
        assert_eq!(
            n("/a%41/\u{e9}t\u{e9}"),
            "/aA/\u{e9}t\u{e9}",
            "other bytes as sent"
        );
        assert!(matches!(
            normalize("/openai/v1/responses"),
            std::borrow::Cow::Borrowed(_)
        ));
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

        let mut h = HeaderMap::new();
        h.insert("keep-alive", "timeout=5".parse().unwrap());
        h.insert("te", "trailers".parse().unwrap());
        h.insert("x-private", "1".parse().unwrap());
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1, "only what Connection names goes with them");
        assert!(h.contains_key("x-private"));
    }
}
