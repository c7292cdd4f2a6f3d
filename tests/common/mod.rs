//! Shared test helpers: an in-process mock upstream speaking all four protocols on 127.0.0.1:0,
//! a small HTTP client, and a PostgreSQL schema of a test's own.
#![allow(dead_code)]

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::sync::{mpsc, Notify};

pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// A temporary directory no other user can write above: Gemini CLI ignores a settings file
/// below a world-writable directory such as /tmp, and a checkout may itself live under /tmp.
pub fn secure_tempdir() -> tempfile::TempDir {
    let candidates = [
        std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache/gw-tests")),
        Some(std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))),
    ];
    for base in candidates.into_iter().flatten() {
        if std::fs::create_dir_all(&base).is_ok() && gw::agents::writable_by_others(&base).is_none()
        {
            if let Ok(dir) = tempfile::tempdir_in(&base) {
                return dir;
            }
        }
    }
    panic!("no directory without world-writable ancestors for the agents' files: set HOME to one");
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}")).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

mod bedrock_stream;
pub use bedrock_stream::bedrock_stream;

/// A Converse answer (non-streamed), with its usage.
pub const CONVERSE_JSON: &str = r#"{"output":{"message":{"role":"assistant","content":[{"text":"pong"}]}},"stopReason":"end_turn","usage":{"inputTokens":100,"outputTokens":7,"totalTokens":1607,"cacheReadInputTokens":1000,"cacheWriteInputTokens":500},"metrics":{"latencyMs":5}}"#;

/// A Converse stream as Bedrock sends it: named events, JSON payloads, the usage in `metadata`.
pub fn converse_stream() -> Vec<u8> {
    converse_messages().concat()
}

/// [`converse_stream`]'s messages, one each (the usage in the last).
pub fn converse_messages() -> Vec<Vec<u8>> {
    [
        ("messageStart", r#"{"role":"assistant"}"#),
        ("contentBlockDelta", r#"{"contentBlockIndex":0,"delta":{"text":"pong"}}"#),
        ("contentBlockStop", r#"{"contentBlockIndex":0}"#),
        ("messageStop", r#"{"stopReason":"end_turn"}"#),
        ("metadata", r#"{"usage":{"inputTokens":100,"outputTokens":7,"totalTokens":1607,"cacheReadInputTokens":1000,"cacheWriteInputTokens":500},"metrics":{"latencyMs":5}}"#),
    ]
    .into_iter()
    .map(|(event, payload)| {
        let mut out = Vec::new();
        bedrock_stream::event_message(event, payload.as_bytes(), &mut out);
        out
    })
    .collect()
}

/// The Bedrock API key the mock takes as a bearer token.
pub const BEDROCK_KEY: &str = "bedrock-test-api-key";
/// The AWS keys whose SigV4 signature the mock's Bedrock routes take (region us-east-1).
pub const AWS_KEYS: (&str, &str) = ("AKIAGWTEST", "gw-test-secret-key");

/// Whether a Bedrock request carries gw's API key, or a SigV4 signature by [`AWS_KEYS`] that
/// verifies over the method, URI, host and body that arrived.
fn bedrock_authorized(parts: &http::request::Parts, path: &str, body: &[u8]) -> bool {
    let auth = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth == format!("Bearer {BEDROCK_KEY}") {
        return true;
    }
    if !auth.starts_with(&format!("AWS4-HMAC-SHA256 Credential={}/", AWS_KEYS.0)) {
        return false;
    }
    let Some(date) = parts
        .headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Ok(time) = jiff::fmt::strtime::parse("%Y%m%dT%H%M%SZ", date)
        .and_then(|t| t.to_datetime())
        .and_then(|t| t.to_zoned(jiff::tz::TimeZone::UTC))
    else {
        return false;
    };
    let host = parts
        .headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let uri: http::Uri = format!("http://{host}{path}").parse().unwrap();
    let signer =
        gw::proxy::aws::AwsSigner::new(AWS_KEYS.0, AWS_KEYS.1, None, "us-east-1", "bedrock");
    let credentials = aws_credential_types::Credentials::new(
        AWS_KEYS.0,
        AWS_KEYS.1,
        parts
            .headers
            .get("x-amz-security-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        None,
        "mock",
    );
    let mut expected = http::HeaderMap::new();
    signer
        .sign(
            &credentials,
            &parts.method,
            &uri,
            &mut expected,
            body,
            std::time::SystemTime::from(time.timestamp()),
        )
        .unwrap();
    expected.get("authorization").and_then(|v| v.to_str().ok()) == Some(auth)
}

/// The tenant and service principal (client id, secret) the mock's Entra ID endpoint takes,
/// and the token it gives, which its Azure routes take.
pub const AZURE_TENANT: &str = "contoso.onmicrosoft.com";
pub const AZURE_CLIENT: (&str, &str) = ("gw-client-id", "gw-client-secret");
pub const AZURE_ENTRA_TOKEN: &str = "eyJ0eXAi.gw-entra-test-token";

/// The access token the mock's Google token endpoint gives, and its Vertex routes take.
pub const GOOGLE_TOKEN: &str = "ya29.gw-test-token";

/// A Google service-account key file whose `token_uri` is the mock's, in `dir`.
pub fn google_service_account(
    dir: &std::path::Path,
    mock: &Mock,
    project: &str,
) -> std::path::PathBuf {
    let key = String::from_utf8(fixture("google-test-service-account.pem")).unwrap();
    let json = serde_json::json!({
        "type": "service_account",
        "project_id": project,
        "private_key_id": "test",
        "private_key": key,
        "client_email": "gw-test@example.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": format!("{}/token", mock.url()),
    });
    let path = dir.join("service-account.json");
    std::fs::write(&path, json.to_string()).unwrap();
    path
}

/// The Azure OpenAI resource key the mock takes (as `api-key`).
pub const AZURE_KEY: &str = "azure-test-key";

/// A request the mock received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path_and_query: String,
    pub headers: http::HeaderMap,
    pub body: Bytes,
    /// When it arrived.
    pub at: std::time::SystemTime,
}

/// The mock upstream. Behaviour is chosen by the request (path, `stream` flag) and by an
/// `x-mock` header: `gzip`, `truncate` (cuts the stream half-way, once released), `garbage`, `big`, `status-429`, `hold` (sends the first
/// SSE event, then waits for `release`), `step` (waits for `release` before every event),
/// `slow-head` (waits for `release` before answering at all).
pub struct Mock {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    pub release: Arc<Notify>,
}

impl Mock {
    pub async fn start() -> Mock {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let release = Arc::new(Notify::new());
        let (seen2, release2) = (seen.clone(), release.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (seen, release) = (seen2.clone(), release2.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let (seen, release) = (seen.clone(), release.clone());
                        async move { Ok::<_, Infallible>(respond(req, seen, release).await) }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Mock {
            addr,
            seen,
            release,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// A body fed from a channel, so the mock controls when each frame goes out (or fails).
pub struct ChannelBody(pub mpsc::Receiver<Result<Frame<Bytes>, std::io::Error>>);

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.0.poll_recv(cx)
    }
}

type MockBody = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

fn full(bytes: impl Into<Bytes>) -> MockBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// SSE events of a fixture, one frame each.
pub fn sse_events(text: &[u8]) -> Vec<Bytes> {
    let text = String::from_utf8_lossy(text);
    text.split_inclusive("\n\n")
        .map(|e| Bytes::from(e.to_string()))
        .collect()
}

async fn respond(
    req: Request<Incoming>,
    seen: Arc<Mutex<Vec<Seen>>>,
    release: Arc<Notify>,
) -> Response<MockBody> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    seen.lock().unwrap().push(Seen {
        method: parts.method.to_string(),
        path_and_query: path.clone(),
        headers: parts.headers.clone(),
        body: body.clone(),
        at: std::time::SystemTime::now(),
    });
    let mode = parts
        .headers
        .get("x-mock")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let stream = json["stream"] == true || path.contains("streamGenerateContent");

    if mode == "slow-head" {
        release.notified().await;
    }
    if mode == "status-429" {
        return reply(
            StatusCode::TOO_MANY_REQUESTS,
            "application/json",
            full(r#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#),
        );
    }
    if mode == "no-usage" {
        // A whole, successful answer that states no usage.
        return reply(
            StatusCode::OK,
            "application/json",
            full(r#"{"id":"resp_1","object":"response","model":"gpt-5","output":[]}"#),
        );
    }
    if mode == "garbage" {
        let mut junk = vec![0xffu8, 0xfe, b'{', b'"', 0x00, 0xc3];
        junk.extend((0..5000u32).map(|i| (i * 7 % 251) as u8));
        return reply(StatusCode::OK, "text/event-stream", full(junk));
    }
    if mode == "big" {
        // 4 MiB of SSE deltas, then the usage.
        let mut text = String::from(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_big\",\"model\":\"claude-sonnet-4-5\",\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\n",
        );
        let delta = format!("event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"{}\"}}}}\n\n", "x".repeat(4000));
        while text.len() < 4 << 20 {
            text.push_str(&delta);
        }
        text.push_str("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{},\"usage\":{\"output_tokens\":777}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
        return reply(StatusCode::OK, "text/event-stream", full(text));
    }

    if let Some(method) = path.split("/v1internal:").nth(1) {
        return code_assist(method, &body);
    }
    // Bedrock: gw's Bedrock API key, or a SigV4 signature by gw's AWS keys over what arrived.
    if let Some(rest) = path.strip_prefix("/model/") {
        if !bedrock_authorized(&parts, &path, &body) {
            return reply(
                StatusCode::FORBIDDEN,
                "application/json",
                full(r#"{"message":"The security token included in the request is invalid."}"#),
            );
        }
        if rest.ends_with("/invoke-with-response-stream") {
            return reply(
                StatusCode::OK,
                "application/vnd.amazon.eventstream",
                full(bedrock_stream(&fixture("anthropic_messages_stream.sse"))),
            );
        }
        if rest.ends_with("/converse-stream") {
            if mode != "hold" {
                return reply(
                    StatusCode::OK,
                    "application/vnd.amazon.eventstream",
                    full(converse_stream()),
                );
            }
            // `hold`: everything but the usage, then the usage once released.
            let mut messages = converse_messages();
            let usage = messages.pop().unwrap();
            let (tx, rx) = mpsc::channel(2);
            tokio::spawn(async move {
                let _ = tx
                    .send(Ok(Frame::data(Bytes::from(messages.concat()))))
                    .await;
                release.notified().await;
                let _ = tx.send(Ok(Frame::data(Bytes::from(usage)))).await;
            });
            return reply(
                StatusCode::OK,
                "application/vnd.amazon.eventstream",
                ChannelBody(rx).boxed(),
            );
        }
        if rest.ends_with("/converse") {
            return reply(StatusCode::OK, "application/json", full(CONVERSE_JSON));
        }
        if rest.ends_with("/invoke") {
            return reply(
                StatusCode::OK,
                "application/json",
                full(fixture("anthropic_messages.json")),
            );
        }
    }
    // Google's token endpoint: a service account's signed JWT for an access token.
    if path == "/token" {
        let form = String::from_utf8_lossy(&body);
        if !form.contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer")
            || !form.contains("assertion=")
        {
            return reply(
                StatusCode::BAD_REQUEST,
                "application/json",
                full(r#"{"error":"invalid_grant"}"#),
            );
        }
        return reply(
            StatusCode::OK,
            "application/json",
            full(format!(
                r#"{{"access_token":"{GOOGLE_TOKEN}","expires_in":3600,"token_type":"Bearer"}}"#
            )),
        );
    }
    // Vertex AI: gw's access token, and the project path.
    if path.contains("/publishers/") {
        let bearer = format!("Bearer {GOOGLE_TOKEN}");
        if parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            != Some(&bearer)
            || !path.contains("/projects/")
        {
            return reply(
                StatusCode::UNAUTHORIZED,
                "application/json",
                full(
                    r#"{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}"#,
                ),
            );
        }
    }
    // Microsoft Entra ID's token endpoint: a service principal's client credentials (in the
    // form) for an access token to Cognitive Services.
    if path.ends_with("/oauth2/v2.0/token") {
        let form = String::from_utf8_lossy(&body);
        let ok = path == format!("/{AZURE_TENANT}/oauth2/v2.0/token")
            && form.contains("grant_type=client_credentials")
            && form.contains(&format!("client_id={}", AZURE_CLIENT.0))
            && form.contains(&format!("client_secret={}", AZURE_CLIENT.1))
            && form.contains("scope=https%3A%2F%2Fcognitiveservices.azure.com%2F.default");
        if !ok {
            return reply(
                StatusCode::UNAUTHORIZED,
                "application/json",
                full(
                    r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}"#,
                ),
            );
        }
        let token = format!(
            r#"{{"token_type":"Bearer","expires_in":3599,"access_token":"{AZURE_ENTRA_TOKEN}"}}"#
        );
        return reply(StatusCode::OK, "application/json", full(token));
    }
    // Azure OpenAI: the resource key in `api-key` (or an Entra ID token), and `api-version` off
    // the v1 API.
    if path.starts_with("/openai/") {
        let entra = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            == Some(&format!("Bearer {AZURE_ENTRA_TOKEN}"));
        if !entra && parts.headers.get("api-key").and_then(|v| v.to_str().ok()) != Some(AZURE_KEY) {
            return reply(
                StatusCode::UNAUTHORIZED,
                "application/json",
                full(
                    r#"{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint."}}"#,
                ),
            );
        }
        if !path.starts_with("/openai/v1/") && !path.contains("api-version=") {
            return reply(
                StatusCode::NOT_FOUND,
                "application/json",
                full(r#"{"error":{"code":"404","message":"Resource not found"}}"#),
            );
        }
    }
    let (fixture_name, content_type) = match () {
        _ if path.contains("/v1/messages") || path.contains("/publishers/anthropic/models/") => {
            if stream {
                ("anthropic_messages_stream.sse", "text/event-stream")
            } else {
                ("anthropic_messages.json", "application/json")
            }
        }
        // OpenAI's API, ChatGPT's backend for Codex on a ChatGPT plan, or Azure OpenAI.
        _ if path.contains("/v1/responses")
            || path.contains("/backend-api/codex/responses")
            || (path.starts_with("/openai/")
                && path.split('?').next().unwrap_or("").ends_with("/responses")) =>
        {
            if stream {
                ("openai_responses_stream.sse", "text/event-stream")
            } else {
                ("openai_responses.json", "application/json")
            }
        }
        _ if path.contains("/v1/chat/completions")
            || (path.starts_with("/openai/")
                && path
                    .split('?')
                    .next()
                    .unwrap_or("")
                    .ends_with("/chat/completions")) =>
        {
            if stream {
                ("openai_chat_stream.sse", "text/event-stream")
            } else {
                ("openai_chat.json", "application/json")
            }
        }
        _ if path.contains(":streamGenerateContent") && path.contains("alt=sse") => {
            ("gemini_stream.sse", "text/event-stream")
        }
        _ if path.contains(":streamGenerateContent") => ("gemini_stream.sse", "application/json"),
        _ if path.contains(":generateContent") => ("gemini.json", "application/json"),
        _ => {
            return reply(
                StatusCode::NOT_FOUND,
                "application/json",
                full(r#"{"error":"no such mock route"}"#),
            )
        }
    };
    let mut payload = fixture(fixture_name);
    if let Some(model) = parts
        .headers
        .get("x-mock-model")
        .and_then(|v| v.to_str().ok())
    {
        let mut text = String::from_utf8(payload).unwrap();
        for known in ["claude-sonnet-4-5", "gpt-5", "gpt-4.1", "gemini-2.5-pro"] {
            text = text.replace(&format!("\"{known}\""), &format!("\"{model}\""));
        }
        payload = text.into_bytes();
    }
    if fixture_name == "openai_chat_stream.sse" && json["stream_options"]["include_usage"] != true {
        // Like the real API: no usage chunk unless asked.
        let events = sse_events(&payload);
        payload = events
            .iter()
            .filter(|e| {
                !e.windows(8).any(|w| w == b"\"usage\":")
                    || e.windows(13).any(|w| w == b"\"usage\": null")
            })
            .flat_map(|e| e.to_vec())
            .collect();
    }
    if fixture_name == "gemini.json" {
        payload = gemini_routed(&payload, &body);
    }
    if path.contains(":streamGenerateContent") && !path.contains("alt=sse") {
        // Gemini without alt=sse: a JSON array of the chunks.
        let chunks: Vec<String> = sse_events(&payload)
            .iter()
            .filter_map(|e| {
                std::str::from_utf8(e)
                    .ok()?
                    .trim()
                    .strip_prefix("data: ")
                    .map(str::to_string)
            })
            .collect();
        payload = format!("[{}]", chunks.join(",\r\n")).into_bytes();
    }

    if mode == "gzip" {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&payload).unwrap();
        let mut response = reply(
            StatusCode::OK,
            content_type,
            full(encoder.finish().unwrap()),
        );
        response
            .headers_mut()
            .insert("content-encoding", "gzip".parse().unwrap());
        return response;
    }
    if content_type != "text/event-stream" {
        return reply(StatusCode::OK, content_type, full(payload));
    }
    // Streams go out one event per frame, as providers send them.
    let events = sse_events(&payload);
    let (tx, rx) = mpsc::channel(events.len() + 1);
    tokio::spawn(async move {
        let n = events.len();
        for (i, event) in events.into_iter().enumerate() {
            if mode == "step" {
                release.notified().await;
            }
            if mode == "truncate" && i == n / 2 {
                // Cut only once the test has seen the first half arrive.
                release.notified().await;
                let _ = tx
                    .send(Err(std::io::Error::other("mock cut the stream")))
                    .await;
                return;
            }
            if tx.send(Ok(Frame::data(event))).await.is_err() {
                return;
            }
            if mode == "hold" && i == 0 {
                release.notified().await;
            }
        }
    });
    let mut response = reply(StatusCode::OK, content_type, ChannelBody(rx).boxed());
    response
        .headers_mut()
        .insert("request-id", "req_mock_1".parse().unwrap());
    response
}

/// Google's Code Assist API (Gemini CLI on a Google login): its setup calls, and Gemini's
/// responses wrapped in `{"response": …, "traceId": …}`.
fn code_assist(method_and_query: &str, body: &[u8]) -> Response<MockBody> {
    let json = |value: serde_json::Value| {
        reply(StatusCode::OK, "application/json", full(value.to_string()))
    };
    let method = method_and_query.split('?').next().unwrap_or_default();
    let wrap = |chunk: &str| format!(r#"{{"response":{chunk},"traceId":"trace-mock"}}"#);
    match method {
        "loadCodeAssist" => json(serde_json::json!({
            "currentTier": {"id": "standard-tier", "name": "Gemini Code Assist Standard",
                "userDefinedCloudaicompanionProject": false, "hasOnboardedPreviously": true},
            "allowedTiers": [{"id": "standard-tier", "name": "Gemini Code Assist Standard",
                "isDefault": true, "userDefinedCloudaicompanionProject": false}],
            "cloudaicompanionProject": "gw-mock-project",
        })),
        "onboardUser" => json(serde_json::json!({"name": "operations/mock", "done": true,
            "response": {"cloudaicompanionProject": {"id": "gw-mock-project", "name": "gw-mock-project"}}})),
        "streamGenerateContent" => {
            let text: String = String::from_utf8(fixture("gemini_stream.sse"))
                .unwrap()
                .lines()
                .filter_map(|line| line.strip_prefix("data: "))
                .map(|data| format!("data: {}\r\n\r\n", wrap(data.trim())))
                .collect();
            reply(StatusCode::OK, "text/event-stream", full(text))
        }
        "generateContent" => {
            let answer = gemini_routed(&fixture("gemini.json"), body);
            let answer = String::from_utf8(answer).unwrap();
            reply(StatusCode::OK, "application/json", full(wrap(&answer)))
        }
        "countTokens" => json(serde_json::json!({"totalTokens": 42})),
        "listExperiments" => json(serde_json::json!({"experimentIds": [], "flags": []})),
        "retrieveUserQuota" => json(serde_json::json!({"buckets": []})),
        _ => json(serde_json::json!({})),
    }
}

/// Gemini CLI's model router asks for JSON that scores the prompt or names a model; answers as
/// the real API would, or it retries for a minute and a half.
fn gemini_routed(payload: &[u8], body: &[u8]) -> Vec<u8> {
    let has = |needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
    let routed = if has(b"complexity_score") {
        Some(r#""{\"complexity_reasoning\": \"simple\", \"complexity_score\": 10}""#)
    } else if has(b"model_choice") {
        Some(r#""{\"reasoning\": \"simple\", \"model_choice\": \"flash\"}""#)
    } else {
        None
    };
    match routed {
        Some(answer) => String::from_utf8(payload.to_vec())
            .unwrap()
            .replace("\"pong\"", answer)
            .into_bytes(),
        None => payload.to_vec(),
    }
}

fn reply(status: StatusCode, content_type: &str, body: MockBody) -> Response<MockBody> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", content_type.parse().unwrap());
    response
}

/// A plain HTTP/1.1 client for tests.
pub fn client() -> hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    Full<Bytes>,
> {
    hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http()
}

/// Sends a request and returns status, headers and the whole body.
pub async fn send(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> (StatusCode, http::HeaderMap, Bytes) {
    let mut builder = Request::builder().method(method).uri(url);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let response = client()
        .request(builder.body(Full::new(body.into())).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    (
        parts.status,
        parts.headers,
        body.collect().await.unwrap().to_bytes(),
    )
}

/// Kills a child process (by pid) if the test panics before it would have stopped it: a failed
/// assertion must not leave a `gw proxy` serving after the test.
pub struct KillOnPanic(pub u32);

impl Drop for KillOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = std::process::Command::new("kill")
                .arg(self.0.to_string())
                .status();
        }
    }
}

/// What `gw proxy` prints on stdout before it serves: its `export NAME=value` lines, read up to
/// the last one (`GW_SESSION_ID`).
pub async fn proxy_exports(
    stdout: std::process::ChildStdout,
) -> std::collections::HashMap<String, String> {
    tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut exports = std::collections::HashMap::new();
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if let Some((name, value)) =
                line.strip_prefix("export ").and_then(|l| l.split_once('='))
            {
                exports.insert(name.to_string(), value.to_string());
                if name == "GW_SESSION_ID" {
                    break;
                }
            }
        }
        exports
    })
    .await
    .unwrap()
}

/// Every provider's upstream at one base URL (the mock, usually).
pub fn upstreams_at(url: &str) -> gw::config::Upstreams {
    let upstream = gw::config::Upstream::parse(url).unwrap();
    gw::config::Upstreams::from_fn(|_| upstream.clone())
}

/// A fresh schema named `<prefix>_<uuid>` in the database at `base`, and a URL whose
/// connections use it, so one test's migrations never touch another's. Returns (url, schema).
pub async fn pg_schema(base: &str, prefix: &str) -> (String, String) {
    let schema = format!("{prefix}_{}", uuid::Uuid::now_v7().simple());
    let (client, conn) = tokio_postgres::connect(base, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    (
        format!("{base}{sep}options=-c%20search_path%3D{schema}"),
        schema,
    )
}

/// Drops a schema [`pg_schema`] made (best effort: a test's cleanup must not fail it).
pub async fn drop_pg_schema(base: &str, schema: &str) {
    if let Ok((client, conn)) = tokio_postgres::connect(base, tokio_postgres::NoTls).await {
        tokio::spawn(conn);
        let _ = client
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await;
    }
}

/// A gw server on a SQLite database of its own (in a temporary directory), serving on
/// 127.0.0.1:0 with `options` until [`TestServer::stop`]; each test seeds it as it needs.
pub struct TestServer {
    pub base: String,
    pub admin_token: String,
    pub admin: gw::server::client::Client,
    pub store: Arc<dyn gw::server::Store>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start(options: gw::server::ServeOptions) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("server.db").display());
        let store = gw::server::open_store(&url).await.unwrap();
        let admin_token = gw::server::init_admin(store.as_ref(), false)
            .await
            .unwrap()
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(gw::server::serve(listener, store.clone(), options, async {
            let _ = stopped.await;
        }));
        let admin = api_client(&base, &admin_token);
        TestServer {
            base,
            admin_token,
            admin,
            store,
            stop: Some(stop),
            task,
            _dir: dir,
        }
    }

    /// A client of the server's API with `token`.
    pub fn client(&self, token: &str) -> gw::server::client::Client {
        api_client(&self.base, token)
    }

    /// Posts each body to its admin path, in order.
    pub async fn admin_posts(&self, calls: &[(&str, serde_json::Value)]) {
        for (path, body) in calls {
            self.admin
                .call(http::Method::POST, path, Some(body))
                .await
                .unwrap();
        }
    }

    /// A key for each body of `POST /v1/admin/keys`: the key and its id.
    pub async fn keys(&self, bodies: &[serde_json::Value]) -> Vec<(String, String)> {
        let mut keys = Vec::new();
        for body in bodies {
            let k = self
                .admin
                .call(http::Method::POST, "/v1/admin/keys", Some(body))
                .await
                .unwrap();
            keys.push((
                k["key"].as_str().unwrap().to_string(),
                k["key_id"].as_str().unwrap().to_string(),
            ));
        }
        keys
    }

    /// Stops serving and waits for the server to end cleanly.
    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap().unwrap();
    }
}

fn api_client(base: &str, token: &str) -> gw::server::client::Client {
    gw::server::client::Client::new(
        base,
        Some(token.to_string()),
        &gw::server::trust::Trust::default(),
    )
    .unwrap()
}
