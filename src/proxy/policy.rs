//! What a session under a budget or a model allow-list lets through, decided before a request
//! goes upstream. The agent is untrusted: whatever gw cannot check is refused, never forwarded
//! for free.
//!
//! - [`endpoint`] sorts a request into metered (gw reads its usage), free (known to cost
//!   nothing: model lists, token counting) and unmetered (anything else, billed or not: batches,
//!   legacy completions, embeddings, files…), which passes only where `[proxy]
//!   allow_unmetered` names it.
//! - [`read_body`] reads a body gw must look inside, up to `[proxy] max_body_mib`.
//! - [`peek`] finds the model with a real JSON parser: an escaped key (`"mod\u0065l"`) is the
//!   same key, a repeated `model` is refused rather than guessed at.

use bytes::Bytes;
use http::{HeaderMap, Method};
use http_body_util::{BodyExt, Limited};
use serde::Deserialize;

use crate::meter::{Protocol, Provider, RequestInfo};

/// How a request's endpoint is treated under a budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// Its usage is metered: it goes through the budget gate.
    Metered,
    /// Known to cost nothing.
    Free,
    /// Not metered by gw: refused under a budget unless allowed by config.
    Unmetered,
}

/// Sorts a request by its provider, method, protocol and upstream path (normalised, no query).
pub fn endpoint(provider: Provider, method: &Method, protocol: Protocol, path: &str) -> Endpoint {
    if protocol != Protocol::Other {
        return Endpoint::Metered;
    }
    let path = path.split('?').next().unwrap_or_default();
    let path = path.trim_end_matches('/');
    let read = method == Method::GET || method == Method::HEAD;
    let post = method == Method::POST;
    let free = if path.is_empty() {
        // A read of the provider's root (Claude Code's `HEAD $B` probe is answered before
        // the policy, by the proxy itself).
        read
    } else {
        match provider {
            Provider::Anthropic => {
                (read && model_list(path, "/v1/models"))
                    || (post && path == "/v1/messages/count_tokens")
            }
            Provider::OpenAi => {
                (read && model_list(path, "/v1/models"))
                    || (post && path == "/v1/responses/input_tokens")
            }
            Provider::Gemini => {
                (read
                    && ["/v1beta/models", "/v1/models", "/v1beta/openai/models"]
                        .iter()
                        .any(|base| model_list(path, base)))
                    || (post && gemini_count_tokens(path))
            }
            // Azure OpenAI's model and deployment lists, on the v1 API and the dated one.
            Provider::Azure => {
                read && ["/openai/v1/models", "/openai/models", "/openai/deployments"]
                    .iter()
                    .any(|base| model_list(path, base))
            }
            // Bedrock: the inference-profile lists Claude Code reads at start, token counting.
            Provider::Bedrock => {
                (read && path.starts_with("/inference-profiles"))
                    || (post && path.starts_with("/model/") && path.ends_with("/count-tokens"))
            }
            // Vertex: token counting, for Claude and for Gemini.
            Provider::Vertex => {
                post && (path.ends_with("/publishers/anthropic/models/count-tokens:rawPredict")
                    || gemini_count_tokens(path))
            }
            // Codex on a ChatGPT plan lists its models before a turn.
            Provider::ChatGpt => read && model_list(path, "/backend-api/codex/models"),
            // Gemini CLI on a Google login: setup, quota, experiments and telemetry calls,
            // and reading the operation its onboarding started.
            Provider::CodeAssist => {
                (read && path.starts_with("/v1internal/operations/"))
                    || (post
                        && path.strip_prefix("/v1internal:").is_some_and(|method| {
                            matches!(
                                method,
                                "loadCodeAssist"
                                    | "onboardUser"
                                    | "countTokens"
                                    | "listExperiments"
                                    | "retrieveUserQuota"
                                    | "recordCodeAssistMetrics"
                                    | "fetchAdminControls"
                                    | "getCodeAssistGlobalUserSetting"
                            )
                        }))
            }
        }
    };
    if free {
        Endpoint::Free
    } else {
        Endpoint::Unmetered
    }
}

/// `base` itself or `base/<one segment>`.
fn model_list(path: &str, base: &str) -> bool {
    match path.strip_prefix(base) {
        Some("") => true,
        Some(rest) => rest.strip_prefix('/').is_some_and(|id| {
            !id.is_empty()
                && !id.contains('/')
                && !id.contains(':')
                && !id.to_ascii_lowercase().contains("%3a")
        }),
        None => false,
    }
}

/// `/v1beta/models/<model>:countTokens` (the colon possibly escaped).
fn gemini_count_tokens(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or_default();
    let lower = last.to_ascii_lowercase();
    path.contains("/models/")
        && (lower.ends_with(":counttokens") || lower.ends_with("%3acounttokens"))
}

/// Why a body gw must look inside could not be read.
#[derive(Debug)]
pub enum BodyError {
    TooLarge { limit: usize },
    Read(String),
}

/// Reads a body of at most `limit` bytes; a larger one (by its `content-length` or as it
/// arrives) is refused without reading the rest.
pub async fn read_body<B>(body: B, headers: &HeaderMap, limit: usize) -> Result<Bytes, BodyError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(BodyError::TooLarge { limit }),
        Err(e) => Err(BodyError::Read(e.to_string())),
    }
}

/// The top-level members of a request gw checks. Unknown members are skipped; a repeated
/// member is an error (serde refuses duplicate fields), so gw never reads one value where the
/// upstream reads another.
#[derive(Deserialize)]
struct Peek {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    stream: Option<bool>,
    /// OpenAI Responses: answered at once with no usage, billed later.
    #[serde(default)]
    background: Option<bool>,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
}

#[derive(Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: Option<bool>,
}

/// What gw read of a request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peeked {
    pub info: RequestInfo,
    /// `background: true`: the upstream bills after its first answer, which carries no usage.
    pub background: bool,
    /// `stream_options.include_usage: true`: a Chat Completions stream reports its usage.
    pub include_usage: bool,
}

/// Why a request under a budget could not be metered, from its path, query and headers: bytes
/// gw does not normalise (a later hop might read `\` or `%2F` as `/`), or Google's system
/// parameters that strip usage from a response (`fields`, `alt=proto`, a field mask).
pub fn unmeterable(path_and_query: &str, headers: &HeaderMap) -> Option<String> {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let lower = path.to_ascii_lowercase();
    if path.contains('\\') || lower.contains("%2f") || lower.contains("%5c") || !path.is_ascii() {
        return Some("its path holds an escaped slash, a backslash or non-ASCII bytes".into());
    }
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = name.to_ascii_lowercase().replace("%24", "$");
        let bad = match name.trim_start_matches('$') {
            "fields" | "ct" | "callback" => true,
            "alt" => !matches!(value, "sse" | "json"),
            _ => false,
        };
        if bad {
            return Some(format!(
                "its query sets `{name}`, which can hide usage from gw"
            ));
        }
    }
    for name in ["x-goog-fieldmask", "x-http-method-override"] {
        if headers.contains_key(name) {
            return Some(format!("it sends `{name}`, which can hide usage from gw"));
        }
    }
    None
}

/// The model and stream flag of a JSON request body, or why they cannot be known.
pub fn peek(body: &[u8], headers: &HeaderMap) -> Result<Peeked, String> {
    let encoding = headers
        .get(http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && !v.eq_ignore_ascii_case("identity"));
    if let Some(encoding) = encoding {
        return Err(format!("the body is compressed ({encoding})"));
    }
    // A struct also deserializes from an array (`["m"]`): only an object is a request.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err("the body is not a JSON object".into());
    }
    let peek: Peek = serde_json::from_slice(body)
        .map_err(|e| format!("the body is not the JSON gw expects: {e}"))?;
    Ok(Peeked {
        info: RequestInfo {
            model: peek.model.filter(|m| !m.is_empty()),
            stream: peek.stream,
        },
        background: peek.background == Some(true),
        include_usage: peek
            .stream_options
            .and_then(|o| o.include_usage)
            .unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_endpoints() {
        use Endpoint::*;
        use Provider::{Anthropic, Gemini as G, OpenAi};
        let get = Method::GET;
        let post = Method::POST;
        let head = Method::HEAD;
        let cases = [
            (Anthropic, &post, "/v1/messages", Metered),
            (Anthropic, &head, "", Free),
            (Anthropic, &head, "/", Free),
            (Anthropic, &post, "/", Unmetered),
            (Anthropic, &get, "/v1/models", Free),
            (Anthropic, &get, "/v1/models/claude-opus-4-1", Free),
            (Anthropic, &post, "/v1/models", Unmetered),
            (Anthropic, &post, "/v1/messages/count_tokens", Free),
            (Anthropic, &post, "/v1/messages/batches", Unmetered),
            (
                Anthropic,
                &get,
                "/v1/messages/batches/b1/results",
                Unmetered,
            ),
            (Anthropic, &post, "/v1/complete", Unmetered),
            (OpenAi, &post, "/v1/responses", Metered),
            (OpenAi, &post, "/v1/chat/completions", Metered),
            (OpenAi, &post, "/v1/completions", Unmetered),
            (OpenAi, &post, "/v1/embeddings", Unmetered),
            (OpenAi, &get, "/v1/models?client_version=1", Free),
            (OpenAi, &post, "/v1/responses/input_tokens", Free),
            (
                G,
                &post,
                "/v1beta/models/gemini-2.5-pro:streamGenerateContent",
                Metered,
            ),
            (G, &post, "/v1beta/models/gemini-2.5-pro:countTokens", Free),
            (
                G,
                &post,
                "/v1beta/models/gemini-2.5-pro%3AcountTokens",
                Free,
            ),
            (G, &get, "/v1beta/models", Free),
            (G, &get, "/v1beta/models/gemini-2.5-pro", Free),
            (
                G,
                &get,
                "/v1beta/models/gemini-2.5-pro:embedContent",
                Unmetered,
            ),
            (
                G,
                &post,
                "/v1beta/models/gemini-2.5-pro:embedContent",
                Unmetered,
            ),
            (G, &post, "/v1beta/models/m:batchGenerateContent", Unmetered),
            (G, &post, "/v1beta/cachedContents", Unmetered),
        ];
        for (provider, method, path, want) in cases {
            let protocol = Protocol::classify(provider, path);
            assert_eq!(
                endpoint(provider, method, protocol, path),
                want,
                "{provider} {method} {path}"
            );
        }
    }

    #[test]
    fn peeks_with_a_real_parser() {
        let h = HeaderMap::new();
        let model = |b: &str| peek(b.as_bytes(), &h).map(|p| p.info.model);
        assert_eq!(
            model(r#"{"model":"claude-haiku-4-5","stream":true}"#)
                .unwrap()
                .as_deref(),
            Some("claude-haiku-4-5")
        );
        assert_eq!(
            model(r#"{"mod\u0065l":"claude-opus-4-1"}"#)
                .unwrap()
                .as_deref(),
            Some("claude-opus-4-1"),
            "an escaped key is the same key"
        );
        assert!(model(r#"{"model":"claude-haiku-4-5","model":"claude-opus-4-1"}"#).is_err());
        assert!(model(r#"{"model":"a","mod\u0065l":"b"}"#).is_err());
        assert!(model(r#"{"model":5}"#).is_err());
        assert!(model(r#"["model"]"#).is_err());
        assert!(model(r#"{"model":"m""#).is_err());
        assert_eq!(model(r#"{"messages":[]}"#).unwrap(), None);
        assert_eq!(model(r#"{"model":""}"#).unwrap(), None);
        let mut gz = HeaderMap::new();
        gz.insert("content-encoding", "gzip".parse().unwrap());
        assert!(peek(br#"{"model":"m"}"#, &gz).unwrap_err().contains("gzip"));
    }

    #[test]
    fn sees_what_hides_usage() {
        let h = HeaderMap::new();
        let p = |b: &str| peek(b.as_bytes(), &h);
        assert!(
            p(r#"{"model":"gpt-5","background":true}"#)
                .unwrap()
                .background
        );
        assert!(
            p(r#"{"model":"m","stream_options":{"include_usage":true}}"#)
                .unwrap()
                .include_usage
        );
        assert!(p(r#"{"model":"m","stream_options":{"include_usage":false},"stream_options":{"include_usage":false}}"#).is_err());
        assert!(p(
            r#"{"model":"m","stream_optio\u006es":{"include_usage":true},"stream_options":{}}"#
        )
        .is_err());
        for bad in [
            "/v1beta/models/m:generateContent?fields=candidates",
            "/v1beta/models/m:generateContent?%24fields=candidates",
            "/v1beta/models/m:generateContent?$alt=proto",
            "/v1beta/models/m:streamGenerateContent?alt=proto",
            "/v1/files\\..\\messages",
            "/v1/files%2F..%2Fmessages",
        ] {
            assert!(unmeterable(bad, &h).is_some(), "{bad}");
        }
        assert!(unmeterable("/v1beta/models/m:streamGenerateContent?alt=sse&key=k", &h).is_none());
        let mut masked = HeaderMap::new();
        masked.insert("x-goog-fieldmask", "candidates".parse().unwrap());
        assert!(unmeterable("/v1/messages", &masked).is_some());
    }

    #[tokio::test]
    async fn reads_at_most_the_limit() {
        use http_body_util::Full;
        let h = HeaderMap::new();
        let body = Full::new(Bytes::from(vec![b' '; 100]));
        assert_eq!(read_body(body, &h, 100).await.unwrap().len(), 100);
        let body = Full::new(Bytes::from(vec![b' '; 101]));
        assert!(matches!(
            read_body(body, &h, 100).await,
            Err(BodyError::TooLarge { limit: 100 })
        ));
        let mut declared = HeaderMap::new();
        declared.insert("content-length", "1000000000".parse().unwrap());
        let body = Full::new(Bytes::new());
        assert!(matches!(
            read_body(body, &declared, 100).await,
            Err(BodyError::TooLarge { .. })
        ));
    }
}
