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
    // Output limits, by API (see `OutputLimits::output_limit`); kept in `Peeked::limits`.
    #[serde(default)]
    max_tokens: Option<serde_json::Number>,
    #[serde(default)]
    max_completion_tokens: Option<serde_json::Number>,
    #[serde(default)]
    max_output_tokens: Option<serde_json::Number>,
    /// Chat Completions: how many choices.
    #[serde(default)]
    n: Option<serde_json::Number>,
    #[serde(default, rename = "generationConfig", alias = "generation_config")]
    generation_config: Option<GenerationConfig>,
    #[serde(default, rename = "inferenceConfig")]
    inference_config: Option<InferenceConfig>,
    /// Code Assist wraps Gemini's request.
    #[serde(default)]
    request: Option<Box<CodeAssistRequest>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct GenerationConfig {
    #[serde(default, rename = "maxOutputTokens", alias = "max_output_tokens")]
    max_output_tokens: Option<serde_json::Number>,
    #[serde(default, rename = "candidateCount", alias = "candidate_count")]
    candidate_count: Option<serde_json::Number>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct InferenceConfig {
    #[serde(default, rename = "maxTokens")]
    max_tokens: Option<serde_json::Number>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct CodeAssistRequest {
    #[serde(default, rename = "generationConfig", alias = "generation_config")]
    generation_config: Option<GenerationConfig>,
}

/// The output-limit members of a request body, as read by [`peek`] (each API honours its own:
/// see [`OutputLimits::output_limit`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutputLimits {
    max_tokens: Option<serde_json::Number>,
    max_completion_tokens: Option<serde_json::Number>,
    max_output_tokens: Option<serde_json::Number>,
    n: Option<serde_json::Number>,
    generation_config: Option<GenerationConfig>,
    inference_config: Option<InferenceConfig>,
    request: Option<Box<CodeAssistRequest>>,
}

impl OutputLimits {
    /// The output limit the API `protocol` honours (a field another API reads limits nothing),
    /// and how many outputs the request asks for.
    fn output_limit(&self, protocol: Protocol) -> Result<(Option<u64>, u64), String> {
        // A limit that is not a positive whole number limits nothing (Gemini takes 0 as unset):
        // the model's maximum applies.
        let limit = |v: Option<&serde_json::Number>| {
            v.and_then(serde_json::Number::as_u64).filter(|n| *n > 0)
        };
        // A count must be a whole number gw can read: anything else might mean more outputs.
        let count = |v: Option<&serde_json::Number>, name: &str| match v {
            None => Ok(None),
            Some(n) => match n.as_u64() {
                Some(n) => Ok(Some(n)),
                None if n
                    .as_f64()
                    .is_some_and(|f| f.fract() == 0.0 && (0.0..1e6).contains(&f)) =>
                {
                    Ok(Some(n.as_f64().unwrap_or(1.0) as u64))
                }
                None => Err(format!("its {name} {n} is not a whole number")),
            },
        };
        let gemini = |g: Option<&GenerationConfig>| -> Result<_, String> {
            Ok((
                limit(g.and_then(|g| g.max_output_tokens.as_ref())),
                count(g.and_then(|g| g.candidate_count.as_ref()), "candidateCount")?,
            ))
        };
        let (max, outputs) = match protocol {
            Protocol::AnthropicMessages => (limit(self.max_tokens.as_ref()), None),
            Protocol::OpenAiChat => {
                let (a, b) = (
                    limit(self.max_completion_tokens.as_ref()),
                    limit(self.max_tokens.as_ref()),
                );
                (a.max(b), count(self.n.as_ref(), "n")?)
            }
            Protocol::OpenAiResponses => (limit(self.max_output_tokens.as_ref()), None),
            Protocol::Gemini => gemini(self.generation_config.as_ref())?,
            Protocol::CodeAssist => gemini(
                self.request
                    .as_ref()
                    .and_then(|r| r.generation_config.as_ref()),
            )?,
            Protocol::BedrockConverse => (
                limit(
                    self.inference_config
                        .as_ref()
                        .and_then(|c| c.max_tokens.as_ref()),
                ),
                None,
            ),
            Protocol::Other => (None, None),
        };
        Ok((max, outputs.unwrap_or(1).max(1)))
    }
}

/// Tokens a strict budget allows for each image a request may carry: more than any of the
/// providers' largest image costs (Anthropic ~1,600; OpenAI's gpt-4o-mini up to ~48,000 at
/// high detail; Gemini's tiled images ~4,100).
pub const IMAGE_TOKENS: u64 = 50_000;

/// Input tokens a strict budget allows for what a provider adds to every request (its
/// tool-use system prompt, a built-in tool's definition).
pub const REQUEST_OVERHEAD_TOKENS: u64 = 4_000;

/// Top-level members that make a request's input more than its body, or its price more than
/// its tokens': content the provider holds (a previous response, a conversation, a cache, a
/// stored prompt), runs (MCP servers, containers), audio output, a service tier. Compared with
/// the decoded JSON, so escapes change nothing.
const UNBOUNDED_TOP_KEYS: [&str; 9] = [
    "previous_response_id",
    "conversation",
    "prompt",
    "cachedContent",
    "cached_content",
    "mcp_servers",
    "container",
    "audio",
    "service_tier",
];

/// Members anywhere that do the same: uploaded, stored or fetched files, audio and video input,
/// documents (a PDF page can cost more tokens than its bytes).
const UNBOUNDED_KEYS: [&str; 12] = [
    "file_id",
    "file_ids",
    "fileUri",
    "file_uri",
    "fileData",
    "file_data",
    "file_url",
    "s3Location",
    "input_audio",
    "inputAudio",
    "videoMetadata",
    "document",
];

/// Content and tool types a strict budget cannot bound: fetched URLs, documents, files, and
/// the providers' own tools (search, fetch, code execution, computer use…), which add input
/// and fees the body does not show.
const BOUNDED_TOOL_TYPES: [&str; 2] = ["function", "custom"];
const UNBOUNDED_TYPES: [&str; 6] = [
    "url",
    "document",
    "file",
    "input_file",
    "input_audio",
    "mcp",
];

/// Subtrees that describe tools' parameters (JSON schemas), not content: not looked into.
const SCHEMA_KEYS: [&str; 4] = ["input_schema", "parameters", "properties", "schema"];

/// The size of a request under a strict budget, from its decoded JSON: why its input cannot
/// be bounded, if it cannot; how many images it may carry; whether it asks for caching.
fn walk(value: &serde_json::Value, size: &mut RequestSize, top: bool) {
    use serde_json::Value;
    match value {
        Value::Array(items) => items.iter().for_each(|v| walk(v, size, false)),
        Value::Object(map) => {
            for (key, v) in map {
                if SCHEMA_KEYS.contains(&key.as_str()) {
                    continue;
                }
                let unbounded_key = UNBOUNDED_KEYS.contains(&key.as_str())
                    || (top
                        && UNBOUNDED_TOP_KEYS.contains(&key.as_str())
                        // `service_tier: "auto" | "default"` is the standard price.
                        && !(key == "service_tier"
                            && v.as_str().is_some_and(|t| {
                                matches!(t, "auto" | "default" | "standard")
                            })));
                if unbounded_key && size.unbounded.is_none() {
                    size.unbounded = Some(format!("`{key}`"));
                }
                if key == "cache_control" || key == "cachePoint" {
                    size.caches = true;
                }
                if key.to_ascii_lowercase().contains("image") {
                    size.images += 1;
                }
                // An image by URL is fetched; only a `data:` URL is in the body.
                if key == "image_url" {
                    let url = v.as_str().or_else(|| v.get("url").and_then(Value::as_str));
                    if !url.is_some_and(|u| u.starts_with("data:")) {
                        size.unbounded
                            .get_or_insert_with(|| "an image by URL".into());
                    }
                }
                if key == "tools" {
                    for tool in v.as_array().into_iter().flatten() {
                        let typed = tool.get("type").and_then(Value::as_str);
                        // Gemini's tools are keyed: only function declarations are bounded.
                        let gemini_other = tool.as_object().is_some_and(|t| {
                            t.keys().any(|k| {
                                !matches!(
                                    k.as_str(),
                                    "functionDeclarations"
                                        | "function_declarations"
                                        | "type"
                                        | "name"
                                        | "description"
                                        | "input_schema"
                                        | "function"
                                        | "parameters"
                                        | "strict"
                                        | "cache_control"
                                        | "toolSpec"
                                )
                            })
                        });
                        if typed.is_some_and(|t| !BOUNDED_TOOL_TYPES.contains(&t)) || gemini_other {
                            size.unbounded.get_or_insert_with(|| {
                                format!(
                                    "the provider's own tool `{}`",
                                    typed.unwrap_or("non-function")
                                )
                            });
                        }
                    }
                }
                if let Value::String(text) = v {
                    if key == "type" && UNBOUNDED_TYPES.contains(&text.as_str()) {
                        size.unbounded
                            .get_or_insert_with(|| format!("a `{text}` content part"));
                    }
                    if key == "type" && text.contains("image") {
                        size.images += 1;
                    }
                    if (key == "mimeType" || key == "mime_type" || key == "media_type")
                        && !(text.starts_with("image/") || text.starts_with("text/"))
                    {
                        size.unbounded
                            .get_or_insert_with(|| format!("inline `{text}` content"));
                    }

                    if key == "format"
                        && !matches!(text.as_str(), "png" | "jpeg" | "gif" | "webp")
                        && map.contains_key("source")
                    {
                        size.unbounded
                            .get_or_insert_with(|| format!("a `{text}` document"));
                    }
                }
                walk(v, size, false);
            }
        }
        _ => {}
    }
}

/// What a request under a strict budget may cost at most, from its body: everything the bound
/// needs, read from the decoded JSON (escapes change nothing), or why it cannot be bounded.
/// `body` is one [`peek`] read, and `limits` what it found there.
pub fn strict_size(
    body: &[u8],
    limits: &OutputLimits,
    protocol: Protocol,
) -> Result<RequestSize, String> {
    let (max_output, outputs) = limits.output_limit(protocol)?;
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let mut size = RequestSize {
        body_bytes: body.len() as u64,
        images: 0,
        max_output,
        outputs,
        caches: false,
        unbounded: None,
    };
    walk(&value, &mut size, true);
    Ok(size)
}

/// What a strict budget bounds a request's cost by.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestSize {
    /// The body's length: a bound on its text's input tokens (a token is at least a byte).
    pub body_bytes: u64,
    /// How many images it may carry: every `image` in the body (an overcount is safe).
    pub images: u64,
    /// The output limit its API honours, if it sets one.
    pub max_output: Option<u64>,
    /// How many outputs it asks for (Chat's `n`, Gemini's `candidateCount`).
    pub outputs: u64,
    /// It marks content for prompt caching (`cache_control`), so its input may be charged
    /// as cache writes.
    pub caches: bool,
    /// Why its input cannot be bounded by its body, if it cannot (see [`strict_size`]).
    pub unbounded: Option<String>,
}

impl RequestSize {
    /// The input tokens it can cost at most, when that is bounded.
    pub fn input_bound(&self) -> Option<u64> {
        if self.unbounded.is_some() {
            return None;
        }
        Some(
            self.body_bytes
                .saturating_add(self.images.saturating_mul(IMAGE_TOKENS))
                .saturating_add(REQUEST_OVERHEAD_TOKENS),
        )
    }
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
    /// Its output limits, for a strict budget's bound.
    pub limits: OutputLimits,
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
        limits: OutputLimits {
            max_tokens: peek.max_tokens,
            max_completion_tokens: peek.max_completion_tokens,
            max_output_tokens: peek.max_output_tokens,
            n: peek.n,
            generation_config: peek.generation_config,
            inference_config: peek.inference_config,
            request: peek.request,
        },
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

#[cfg(test)]
mod size_tests {
    use super::*;

    fn size(protocol: Protocol, body: &str) -> RequestSize {
        let peeked = peek(body.as_bytes(), &HeaderMap::new()).unwrap();
        strict_size(body.as_bytes(), &peeked.limits, protocol).unwrap()
    }

    #[test]
    fn the_output_limit_is_the_one_the_api_honours() {
        use Protocol::*;
        let body =
            r#"{"model":"m","max_tokens":100,"max_output_tokens":200,"max_completion_tokens":300}"#;
        assert_eq!(size(AnthropicMessages, body).max_output, Some(100));
        assert_eq!(size(OpenAiResponses, body).max_output, Some(200));
        assert_eq!(size(OpenAiChat, body).max_output, Some(300));
        // A field another API reads limits nothing: the model's maximum applies.
        let ignored = r#"{"model":"m","max_tokens":1}"#;
        assert_eq!(size(OpenAiResponses, ignored).max_output, None);
        assert_eq!(size(Gemini, ignored).max_output, None);
        // Several outputs multiply it.
        let chat = size(OpenAiChat, r#"{"model":"m","max_tokens":10,"n":4}"#);
        assert_eq!((chat.max_output, chat.outputs), (Some(10), 4));
        let gemini = size(
            Gemini,
            r#"{"generationConfig":{"maxOutputTokens":50,"candidateCount":3}}"#,
        );
        assert_eq!((gemini.max_output, gemini.outputs), (Some(50), 3));
        let code_assist = size(
            CodeAssist,
            r#"{"model":"m","request":{"generationConfig":{"maxOutputTokens":7}}}"#,
        );
        assert_eq!(code_assist.max_output, Some(7));
        let converse = size(BedrockConverse, r#"{"inferenceConfig":{"maxTokens":9}}"#);
        assert_eq!(converse.max_output, Some(9));
        // Not a whole number: as if absent, never as 0; Gemini's 0 is unset.
        assert_eq!(
            size(AnthropicMessages, r#"{"max_tokens":1.5}"#).max_output,
            None
        );
        assert_eq!(
            size(Gemini, r#"{"generationConfig":{"maxOutputTokens":0}}"#).max_output,
            None
        );
        // A count gw cannot read might mean more outputs: refused; 4.0 is 4.
        let count = |body: &str| {
            let peeked = peek(body.as_bytes(), &HeaderMap::new()).unwrap();
            strict_size(body.as_bytes(), &peeked.limits, OpenAiChat)
        };
        assert!(count(r#"{"n":2.5}"#).is_err());
        assert!(count(r#"{"n":-1}"#).is_err());
        assert_eq!(count(r#"{"max_tokens":5,"n":4.0}"#).unwrap().outputs, 4);
        let gemini_count = |body: &str| {
            let peeked = peek(body.as_bytes(), &HeaderMap::new()).unwrap();
            strict_size(body.as_bytes(), &peeked.limits, Gemini)
        };
        assert!(gemini_count(r#"{"generationConfig":{"candidateCount":1e9}}"#).is_err());
    }

    #[test]
    fn input_beyond_the_body_is_not_bounded_and_tool_schemas_are_not_mistaken_for_it() {
        use Protocol::*;
        let unbounded = [
            r#"{"model":"m","previous_response_id":"resp_1","input":"hi"}"#,
            r#"{"contents":[],"cachedContent":"cachedContents/x"}"#,
            r#"{"messages":[{"role":"user","content":[{"type":"image","source":{"type": "url","url":"https://x/y.png"}}]}]}"#,
            r#"{"messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBE"}}]}]}"#,
            r#"{"input":[{"role":"user","content":[{"type":"input_image","image_url":"https://x/y.png"}]}]}"#,
            r#"{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"http://x"}}]}]}"#,
            r#"{"contents":[{"parts":[{"fileData":{"fileUri":"gs://b/o"}}]}]}"#,
            r#"{"input":[{"type":"input_file","file_id":"file-1"}]}"#,
        ];
        for body in unbounded {
            let s = size(OpenAiResponses, body);
            assert!(s.unbounded.is_some() && s.input_bound().is_none(), "{body}");
        }
        // Escapes, server-side tools, audio and tiers, decoded before they are looked at.
        for body in [
            r#"{"model":"m","previous_response_\u0069d":"resp_1"}"#,
            r#"{"messages":[{"role":"user","content":[{"type":"d\u006fcument","source":{"type":"base64","media_type":"application\/pdf","data":"x"}}]}]}"#,
            r#"{"tools":[{"type":"web_search_20250305","name":"web_search"}]}"#,
            r#"{"tools":[{"type":"code_interpreter","container":{"type":"auto","file_ids":["f"]}}]}"#,
            r#"{"tools":[{"googleSearch":{}}]}"#,
            r#"{"service_tier":"priority"}"#,
            r#"{"contents":[{"parts":[{"inlineData":{"mimeType":"audio/wav","data":"UklG"}}]}]}"#,
        ] {
            let s = size(OpenAiResponses, body);
            assert!(s.unbounded.is_some(), "{body}");
        }
        // Function tools, a standard tier, and a tool call whose input says "prompt" are fine.
        let s = size(
            AnthropicMessages,
            r#"{"service_tier":"auto","tools":[{"type":"function","name":"f","parameters":{"type":"object","properties":{"prompt":{"type":"string"},"url":{"type":"string"}}}}],
                "messages":[{"role":"assistant","content":[{"type":"tool_use","name":"Task","input":{"prompt":"look","description":"d"}}]}]}"#,
        );
        assert_eq!(s.unbounded, None);
        let cache = size(
            AnthropicMessages,
            r#"{"system":[{"type":"text","text":"x","cache_\u0063ontrol":{"type":"ephemeral"}}]}"#,
        );
        assert!(cache.caches, "an escaped cache_control still counts");
        // Claude Code's WebFetch tool and a call of it; an inline image.
        let bounded = r#"{"model":"m","max_tokens":5,"tools":[{"name":"WebFetch","input_schema":{"type":"object","properties":{"url":{"type":"string"}}}}],
            "messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"WebFetch","input":{"url":"https://example.com"}}]},
            {"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBO"}},
            {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBO"}}]}]}"#;
        let s = size(AnthropicMessages, bounded);
        assert_eq!(s.unbounded, None);
        // Every image part counts (more than once is safe).
        assert!(s.images >= 2, "{s:?}");
        assert_eq!(
            s.input_bound(),
            Some(bounded.len() as u64 + s.images * IMAGE_TOKENS + REQUEST_OVERHEAD_TOKENS)
        );
        assert!(!s.caches);
        assert!(
            size(
                AnthropicMessages,
                r#"{"system":[{"type":"text","text":"x","cache_control":{"type":"ephemeral"}}]}"#
            )
            .caches
        );
    }
}
