//! The metering proxy end to end, in process: a mock upstream on 127.0.0.1:0, the proxy in front
//! of it, and the ledger rows it writes.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{fixture, send, Mock};
use gw::config::ProxyPolicy;
use gw::ledger::{Attribution, Ledger, LedgerWriter, Row};
use gw::meter::Usage;
use gw::pricing::PriceTable;
use gw::pricing::UnpricedPolicy;
use gw::proxy::{self, BudgetGate, ProxyState, Recorder, RunningProxy};
use http::StatusCode;
use http_body_util::BodyExt;

struct Harness {
    mock: Mock,
    proxy: Option<RunningProxy>,
    writer: Option<LedgerWriter>,
    _dir: tempfile::TempDir,
    ledger_path: std::path::PathBuf,
}

impl Harness {
    async fn start() -> Harness {
        Harness::start_with_prefix("").await
    }

    async fn start_with_prefix(prefix: &str) -> Harness {
        Harness::start_with(prefix, |state| state).await
    }

    /// A session under a budget of `granted` nano-dollars with a model allow-list, as team
    /// mode or local budgets set up, with `policy` for `[proxy]`.
    async fn start_gated(
        prefix: &str,
        models: Option<Vec<String>>,
        granted: i64,
        policy: ProxyPolicy,
    ) -> Harness {
        let gate = BudgetGate::new(models, gw::proxy::gate::REQUEST_FLOOR_NANOS);
        gate.set_granted(granted);
        Harness::start_with(prefix, move |state| {
            state.with_gate(gate).with_policy(policy)
        })
        .await
    }

    async fn start_with(prefix: &str, setup: impl FnOnce(ProxyState) -> ProxyState) -> Harness {
        Harness::start_priced(prefix, PriceTable::embedded().clone(), setup).await
    }

    async fn start_priced(
        prefix: &str,
        prices: PriceTable,
        setup: impl FnOnce(ProxyState) -> ProxyState,
    ) -> Harness {
        let mock = Mock::start().await;
        let dir = tempfile::tempdir().unwrap();
        let ledger_path = dir.path().join("ledger.db");
        let writer = LedgerWriter::start(&ledger_path).unwrap();
        let upstreams = common::upstreams_at(&format!("{}{prefix}", mock.url()));
        let recorder = Recorder::new(
            writer.handle(),
            prices,
            Attribution {
                session_id: "test-session".into(),
                agent: Some("test".into()),
                ..Default::default()
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let state = setup(ProxyState::new(upstreams, recorder));
        let proxy = proxy::serve(listener, state);
        Harness {
            mock,
            proxy: Some(proxy),
            writer: Some(writer),
            _dir: dir,
            ledger_path,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.proxy.as_ref().unwrap().local_addr())
    }

    /// Stops the proxy and the writer, then reads every row, oldest first.
    async fn rows(mut self) -> Vec<Row> {
        self.proxy
            .take()
            .unwrap()
            .shutdown(Duration::from_secs(5))
            .await;
        let writer = self.writer.take().unwrap();
        tokio::task::spawn_blocking(move || writer.shutdown())
            .await
            .unwrap()
            .unwrap();
        let mut rows = Ledger::open(&self.ledger_path)
            .unwrap()
            .recent(1000)
            .unwrap();
        rows.reverse();
        rows
    }
}

/// A session whose gw holds `key` for `provider`, and its session key.
fn holding(
    provider: gw::meter::Provider,
    key: &str,
) -> (std::sync::Arc<gw::proxy::SessionAuth>, String) {
    with_key(gw::proxy::SessionAuth::new(
        [(provider, key.to_string())].into(),
    ))
}

/// A session whose gw puts its own credential on `provider`'s requests (a Google token, an
/// AWS signature), as `gw run` sets it up, and its session key.
fn signing(provider: gw::meter::Provider) -> (std::sync::Arc<gw::proxy::SessionAuth>, String) {
    with_key(gw::proxy::SessionAuth::new(Default::default()).with_signed(provider))
}

fn with_key(auth: gw::proxy::SessionAuth) -> (std::sync::Arc<gw::proxy::SessionAuth>, String) {
    let key = auth.key().to_string();
    (std::sync::Arc::new(auth), key)
}

/// The same request straight to the mock, for byte comparisons.
async fn direct(
    mock: &Mock,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &'static str,
) -> Bytes {
    send(method, &format!("{}{path}", mock.url()), headers, body)
        .await
        .2
}

const ANTHROPIC_USAGE: Usage = Usage {
    input: 1200,
    output: 85,
    cache_read: 50_000,
    cache_write_5m: 3000,
    cache_write_1h: 0,
    reasoning: 0,
};
const OPENAI_USAGE: Usage = Usage {
    input: 1200,
    output: 85,
    cache_read: 50_000,
    cache_write_5m: 0,
    cache_write_1h: 0,
    reasoning: 40,
};
// Gemini: candidates 85 + thoughts 40 are all output.
const GEMINI_USAGE: Usage = Usage {
    input: 1200,
    output: 125,
    cache_read: 50_000,
    cache_write_5m: 0,
    cache_write_1h: 0,
    reasoning: 40,
};

#[tokio::test]
async fn all_protocols_stream_through_unchanged_and_are_metered() {
    let h = Harness::start().await;
    let cases: &[(&str, &str, &str, Usage, bool)] = &[
        (
            "/anthropic",
            "/v1/messages?beta=true",
            r#"{"model":"claude-sonnet-4-5","stream":true}"#,
            ANTHROPIC_USAGE,
            true,
        ),
        (
            "/anthropic",
            "/v1/messages",
            r#"{"model":"claude-sonnet-4-5"}"#,
            ANTHROPIC_USAGE,
            false,
        ),
        (
            "/openai",
            "/v1/responses",
            r#"{"model":"gpt-5","stream":true}"#,
            OPENAI_USAGE,
            true,
        ),
        (
            "/openai",
            "/v1/responses",
            r#"{"model":"gpt-5"}"#,
            OPENAI_USAGE,
            false,
        ),
        (
            "/openai",
            "/v1/chat/completions",
            r#"{"model":"gpt-4.1","stream":true,"stream_options":{"include_usage":true}}"#,
            OPENAI_USAGE,
            true,
        ),
        (
            "/openai",
            "/v1/chat/completions",
            r#"{"model":"gpt-4.1"}"#,
            OPENAI_USAGE,
            false,
        ),
        (
            "/gemini",
            "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
            "{}",
            GEMINI_USAGE,
            true,
        ),
        (
            "/gemini",
            "/v1beta/models/gemini-2.5-pro:streamGenerateContent",
            "{}",
            GEMINI_USAGE,
            true,
        ),
        (
            "/gemini",
            "/v1beta/models/gemini-2.5-pro:generateContent",
            "{}",
            GEMINI_USAGE,
            false,
        ),
    ];
    for (prefix, path, body, _, _) in cases {
        let (status, _, via_proxy) =
            send("POST", &h.url(&format!("{prefix}{path}")), &[], *body).await;
        assert_eq!(status, StatusCode::OK, "{prefix}{path}");
        assert_eq!(
            via_proxy,
            direct(&h.mock, "POST", path, &[], body).await,
            "{prefix}{path} body changed"
        );
    }
    let seen = h.mock.seen();
    assert!(
        seen.iter()
            .any(|s| s.path_and_query == "/v1/messages?beta=true"),
        "query string kept"
    );
    let rows = h.rows().await;
    assert_eq!(rows.len(), cases.len());
    for (row, (prefix, path, _, usage, streamed)) in rows.iter().zip(cases) {
        assert_eq!(row.usage, *usage, "{prefix}{path}");
        assert_eq!(row.streamed, *streamed, "{prefix}{path}");
        assert_eq!(row.status, 200);
        assert!(!row.incomplete, "{prefix}{path}: {row:?}");
        assert!(!row.endpoint.contains('?'), "queries are never stored");
        assert!(row.cost_nanos.unwrap() > 0, "{prefix}{path} priced");
        assert_eq!(row.attribution.session_id, "test-session");
        assert!(row.ttfb_us.unwrap() <= row.latency_us);
    }
    assert_eq!(rows[0].model.as_deref(), Some("claude-sonnet-4-5"));
    assert_eq!(rows[0].upstream_request_id.as_deref(), Some("req_mock_1"));
    assert_eq!(rows[6].requested_model.as_deref(), Some("gemini-2.5-pro"));
}

#[tokio::test]
async fn chat_stream_without_include_usage_is_metered_and_the_extra_chunk_hidden() {
    let h = Harness::start().await;
    let body = r#"{"model":"gpt-4.1","stream":true,"messages":[]}"#;
    let (status, _, via_proxy) =
        send("POST", &h.url("/openai/v1/chat/completions"), &[], body).await;
    assert_eq!(status, StatusCode::OK);
    let plain = direct(&h.mock, "POST", "/v1/chat/completions", &[], body).await;
    assert_eq!(
        via_proxy, plain,
        "the client sees what it asked for, without the usage chunk"
    );
    let upstream_body: serde_json::Value = serde_json::from_slice(&h.mock.seen()[0].body).unwrap();
    assert_eq!(upstream_body["stream_options"]["include_usage"], true);
    let rows = h.rows().await;
    assert_eq!(rows[0].usage, OPENAI_USAGE);
    assert_eq!(rows[0].requested_model.as_deref(), Some("gpt-4.1"));
}

#[tokio::test]
async fn frames_are_forwarded_without_waiting_for_the_next_one() {
    let h = Harness::start().await;
    let request = http::Request::post(h.url("/anthropic/v1/messages"))
        .header("x-mock", "hold")
        .body(http_body_util::Full::new(Bytes::from_static(
            br#"{"stream":true}"#,
        )))
        .unwrap();
    let response = common::client().request(request).await.unwrap();
    let mut body = response.into_body();
    // The mock holds every event after the first until released: the first must arrive alone.
    let first = tokio::time::timeout(Duration::from_secs(10), body.frame())
        .await
        .expect("first frame forwarded")
        .unwrap()
        .unwrap();
    assert!(first
        .data_ref()
        .unwrap()
        .starts_with(b"event: message_start"));
    h.mock.release.notify_one();
    let rest = body.collect().await.unwrap().to_bytes();
    assert!(rest.ends_with(b"data: {\"type\": \"message_stop\"}\n\n"));
    let rows = h.rows().await;
    assert_eq!(rows[0].usage, ANTHROPIC_USAGE);
}

#[tokio::test]
async fn a_client_that_disconnects_mid_stream_leaves_a_row_with_usage_so_far() {
    let h = Harness::start().await;
    let request = http::Request::post(h.url("/anthropic/v1/messages"))
        .header("x-mock", "hold")
        .body(http_body_util::Full::new(Bytes::from_static(
            br#"{"model":"claude-sonnet-4-5","stream":true}"#,
        )))
        .unwrap();
    let response = common::client().request(request).await.unwrap();
    let mut body = response.into_body();
    body.frame().await.unwrap().unwrap();
    drop(body); // the client goes away while the upstream still holds the stream open
    let rows = h.rows().await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert!(row.incomplete);
    assert_eq!(
        row.usage,
        Usage {
            output: 1,
            ..Usage {
                output: 0,
                ..ANTHROPIC_USAGE
            }
        }
    );
    assert!(row.cost_nanos.unwrap() > 0);
}

/// The client leaves while gw waits for the upstream's answer: the upstream may bill for it, so
/// the request is still recorded (status 499, cut) rather than lost with the dropped handler.
#[tokio::test]
async fn a_client_that_leaves_before_the_response_begins_is_recorded() {
    use tokio::io::AsyncWriteExt;
    let h = Harness::start().await;
    let addr = h.url("").trim_start_matches("http://").to_string();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let body = r#"{"model":"claude-sonnet-4-5"}"#;
    conn.write_all(
        format!(
            "POST /anthropic/v1/messages HTTP/1.1\r\nhost: x\r\nx-mock: slow-head\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while h.mock.seen().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the request never reached the mock"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    drop(conn);
    let mock_release = h.mock.release.clone();
    let rows = h.rows().await;
    mock_release.notify_one();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row.status, 499);
    assert!(row.incomplete);
    assert_eq!(row.requested_model.as_deref(), Some("claude-sonnet-4-5"));
    assert!(
        row.error.as_deref().unwrap().contains("client closed"),
        "{row:?}"
    );
}

#[tokio::test]
async fn an_upstream_that_cuts_the_stream_leaves_a_row_marked_incomplete() {
    let h = Harness::start().await;
    let request = http::Request::post(h.url("/anthropic/v1/messages"))
        .header("x-mock", "truncate")
        .body(http_body_util::Full::new(Bytes::from_static(
            br#"{"stream":true}"#,
        )))
        .unwrap();
    let mut body = common::client().request(request).await.unwrap().into_body();
    let first = body.frame().await.unwrap().unwrap();
    assert!(first
        .data_ref()
        .unwrap()
        .starts_with(b"event: message_start"));
    h.mock.release.notify_one();
    assert!(
        body.collect().await.is_err(),
        "the client sees the cut too, not a clean end"
    );
    let rows = h.rows().await;
    assert_eq!(rows.len(), 1);
    assert!(rows[0].incomplete);
    assert_eq!(rows[0].usage.input, 1200);
    assert!(rows[0].error.is_some());
}

/// A hung upstream no longer holds a request until the client leaves: silent before its head,
/// gw answers 504 in the provider's shape; silent mid-stream, gw cuts the stream. Both are
/// recorded, marked incomplete (the upstream may bill for them).
#[tokio::test]
async fn a_silent_upstream_gets_a_504_or_a_cut_stream_and_both_are_recorded() {
    let h = Harness::start_with("", |state| {
        state.with_upstream_idle_timeout(Duration::from_millis(500))
    })
    .await;
    // The mock never answers `slow-head` (this test does not release it).
    let url = h.url("/anthropic/v1/messages");
    let answer = send(
        "POST",
        &url,
        &[("x-mock", "slow-head")],
        r#"{"model":"claude-sonnet-4-5"}"#,
    );
    let (status, _, body) = tokio::time::timeout(Duration::from_secs(30), answer)
        .await
        .expect("gw answers a hung upstream instead of waiting with it");
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["type"], "error", "{json}");
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("sent no response"),
        "{json}"
    );

    // `hold` sends the first event, then nothing until released (never, here).
    let request = http::Request::post(h.url("/anthropic/v1/messages"))
        .header("x-mock", "hold")
        .body(http_body_util::Full::new(Bytes::from_static(
            br#"{"model":"claude-sonnet-4-5","stream":true}"#,
        )))
        .unwrap();
    let mut body = common::client().request(request).await.unwrap().into_body();
    body.frame().await.unwrap().unwrap();
    let rest = tokio::time::timeout(Duration::from_secs(30), body.collect())
        .await
        .expect("gw cuts a stream the upstream stopped feeding");
    assert!(rest.is_err(), "the client sees the cut, not a clean end");

    let rows = h.rows().await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0].status, 504);
    assert!(rows[0].incomplete);
    assert_eq!(
        rows[0].requested_model.as_deref(),
        Some("claude-sonnet-4-5")
    );
    assert_eq!(rows[1].status, 200);
    assert!(rows[1].incomplete);
    assert_eq!(rows[1].usage.input, 1200, "usage so far is kept");
    assert!(
        rows[1].error.as_deref().unwrap().contains("sent nothing"),
        "{:?}",
        rows[1]
    );
}

#[tokio::test]
async fn gzip_arrives_byte_identical_and_is_metered() {
    let h = Harness::start().await;
    let headers = [("x-mock", "gzip"), ("accept-encoding", "gzip")];
    let (status, response_headers, via_proxy) = send(
        "POST",
        &h.url("/anthropic/v1/messages"),
        &headers,
        r#"{"stream":true}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(response_headers["content-encoding"], "gzip");
    assert_eq!(
        via_proxy,
        direct(
            &h.mock,
            "POST",
            "/v1/messages",
            &headers,
            r#"{"stream":true}"#
        )
        .await
    );
    assert_ne!(
        &via_proxy[..],
        &fixture("anthropic_messages_stream.sse")[..],
        "still compressed"
    );
    let rows = h.rows().await;
    assert_eq!(rows[0].usage, ANTHROPIC_USAGE);
}

#[tokio::test]
async fn garbage_and_huge_bodies_pass_through_unchanged() {
    let h = Harness::start().await;
    for mode in ["garbage", "big"] {
        let headers = [("x-mock", mode)];
        let (status, _, via_proxy) =
            send("POST", &h.url("/anthropic/v1/messages"), &headers, "{").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            via_proxy,
            direct(&h.mock, "POST", "/v1/messages", &headers, "{").await,
            "{mode}"
        );
    }
    let rows = h.rows().await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].usage, Usage::default());
    assert_eq!(
        rows[1].usage,
        Usage {
            input: 10,
            output: 777,
            ..Default::default()
        }
    );
}

#[tokio::test]
async fn errors_are_recorded_with_status_and_zero_tokens() {
    let h = Harness::start().await;
    let (status, _, body) = send(
        "POST",
        &h.url("/anthropic/v1/messages"),
        &[("x-mock", "status-429")],
        "{}",
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(std::str::from_utf8(&body)
        .unwrap()
        .contains("rate_limit_error"));
    let rows = h.rows().await;
    assert_eq!(rows[0].status, 429);
    assert_eq!(rows[0].usage, Usage::default());
    assert_eq!(rows[0].cost_nanos, Some(0));
}

#[tokio::test]
async fn an_unreachable_upstream_gets_a_502_in_the_provider_shape() {
    // A port that was just free: nothing listens there now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let writer = LedgerWriter::start(&dir.path().join("ledger.db")).unwrap();
    let upstreams = common::upstreams_at(&format!("http://127.0.0.1:{port}"));
    let recorder = Recorder::new(
        writer.handle(),
        PriceTable::embedded().clone(),
        Attribution::default(),
    );
    let proxy = proxy::serve(
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        ProxyState::new(upstreams, recorder),
    );
    let (status, _, body) = send(
        "POST",
        &format!(
            "http://{}/gemini/v1beta/models/x:generateContent",
            proxy.local_addr()
        ),
        &[],
        "{}",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["error"]["status"], "UNAVAILABLE");
    proxy.shutdown(Duration::from_secs(5)).await;
    tokio::task::spawn_blocking(move || writer.shutdown())
        .await
        .unwrap()
        .unwrap();
    let rows = Ledger::open(&dir.path().join("ledger.db"))
        .unwrap()
        .recent(10)
        .unwrap();
    assert_eq!(rows[0].status, 502);
    assert!(rows[0].error.as_deref().unwrap().contains("unreachable"));
}

#[tokio::test]
async fn upstream_path_prefixes_are_kept_and_unknown_paths_refused() {
    let h = Harness::start_with_prefix("/corp/gateway").await;
    let (status, _, _) = send(
        "POST",
        &h.url("/openai/v1/responses?trace=1"),
        &[],
        r#"{"model":"gpt-5"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        h.mock.seen()[0].path_and_query,
        "/corp/gateway/v1/responses?trace=1"
    );
    let (status, _, _) = send("POST", &h.url("/v1/messages"), &[], "{}").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let rows = h.rows().await;
    assert_eq!(rows.len(), 1, "refused paths are not upstream requests");
}

#[tokio::test]
async fn unknown_models_are_flagged_not_free() {
    let h = Harness::start().await;
    let headers = [("x-mock-model", "claude-from-the-future-9")];
    let (status, _, _) = send(
        "POST",
        &h.url("/anthropic/v1/messages"),
        &headers,
        r#"{"model":"claude-from-the-future-9"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let rows = h.rows().await;
    assert_eq!(rows[0].model.as_deref(), Some("claude-from-the-future-9"));
    assert_eq!(rows[0].usage, ANTHROPIC_USAGE);
    assert_eq!(
        rows[0].cost_nanos, None,
        "an unknown model has no cost, never $0"
    );
}

/// One model, $1 of budget: what the gate tests below run under.
async fn gated(prefix: &str, policy: ProxyPolicy) -> Harness {
    Harness::start_gated(
        prefix,
        Some(vec!["claude-haiku-4-5".into(), "gemini-2.5-flash".into()]),
        1_000_000_000,
        policy,
    )
    .await
}

fn policy(allow_unmetered: &[&str], unpriced: UnpricedPolicy, max_body_mib: u64) -> ProxyPolicy {
    ProxyPolicy::new(
        allow_unmetered.iter().map(|s| s.to_string()).collect(),
        Some(unpriced),
        Some(max_body_mib),
        || PriceTable::embedded().clone(),
    )
    .unwrap()
}

#[tokio::test]
async fn under_a_budget_unmetered_and_disguised_paths_never_reach_the_upstream() {
    let h = gated(
        "/corp",
        policy(&["/openai/v1/files*"], UnpricedPolicy::Refuse, 32),
    )
    .await;
    let haiku = r#"{"model":"claude-haiku-4-5","max_tokens":1}"#;
    // Billed endpoints gw does not meter: refused, naming the endpoint and the config key.
    for (method, path) in [
        ("POST", "/anthropic/v1/messages/batches"),
        ("POST", "/openai/v1/completions"),
        ("POST", "/openai/v1/embeddings"),
        (
            "POST",
            "/gemini/v1beta/models/gemini-2.5-flash:batchGenerateContent",
        ),
        (
            "POST",
            "/anthropic/v1/messages/batches/%2E%2E/%2E%2E/complete",
        ),
    ] {
        let (status, _, body) = send(method, &h.url(path), &[], haiku).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("allow_unmetered"), "{path}: {text}");
    }
    // An escaped path is the path it spells: metered, so the allow-list applies to it.
    let sonnet = r#"{"model":"claude-sonnet-4-5","max_tokens":1}"#;
    let (status, _, body) = send("POST", &h.url("/anthropic/v1/%6Dessages"), &[], sonnet).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(String::from_utf8_lossy(&body).contains("is not allowed for this gw key"));
    let (status, _, _) = send("POST", &h.url("/anthropic/v1/%6Dessages"), &[], haiku).await;
    assert_eq!(status, StatusCode::OK);
    // Dot segments cannot climb out of the upstream's path prefix.
    let (status, _, body) = send("GET", &h.url("/openai/../../v1/models"), &[], "").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "not under a provider once normalised"
    );
    assert!(String::from_utf8_lossy(&body).contains("gw proxy: unknown path"));
    let (status, _, _) = send(
        "GET",
        &h.url("/anthropic/x/../../openai/v1/models"),
        &[],
        "",
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a free endpoint is forwarded (the mock has no such route)"
    );
    // Free and allowed endpoints pass.
    let (status, _, _) = send(
        "POST",
        &h.url("/anthropic/v1/messages/count_tokens"),
        &[],
        haiku,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = send("GET", &h.url("/openai/v1/files/f1"), &[], "").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "forwarded (no such mock route)"
    );

    let seen: Vec<String> = h
        .mock
        .seen()
        .into_iter()
        .map(|s| s.path_and_query)
        .collect();
    assert_eq!(
        seen,
        [
            "/corp/v1/messages",
            "/corp/v1/models",
            "/corp/v1/messages/count_tokens",
            "/corp/v1/files/f1"
        ]
    );
    let rows = h.rows().await;
    assert_eq!(rows.iter().filter(|r| r.status == 403).count(), 6);
}

#[tokio::test]
async fn escaped_or_repeated_model_keys_cannot_pass_the_allow_list() {
    let h = gated("", policy(&[], UnpricedPolicy::Refuse, 32)).await;
    let cases = [
        (
            "/anthropic/v1/messages",
            r#"{"mod\u0065l":"claude-sonnet-4-5","max_tokens":1}"#,
            403,
        ),
        (
            "/anthropic/v1/messages",
            r#"{"model":"claude-haiku-4-5","model":"claude-opus-4-1"}"#,
            400,
        ),
        (
            "/anthropic/v1/messages",
            r#"{"model":"claude-haiku-4-5","mod\u0065l":"claude-opus-4-1"}"#,
            400,
        ),
        ("/anthropic/v1/messages", r#"{"messages":[]}"#, 400),
        (
            "/anthropic/v1/messages",
            r#"not json {"model":"claude-haiku-4-5"}"#,
            400,
        ),
        (
            "/openai/v1/responses",
            r#"{"model":"gpt-5","input":"hi"}"#,
            403,
        ),
        // Gemini's OpenAI-compatible endpoint names its model in the body, not the path.
        (
            "/gemini/v1beta/openai/chat/completions",
            r#"{"model":"gemini-2.5-pro","messages":[]}"#,
            403,
        ),
        (
            "/gemini/v1beta/models/gemini-2.5-pro:generateContent",
            r#"{"contents":[]}"#,
            403,
        ),
        (
            "/gemini/v1beta/tunedModels/x:generateContent",
            r#"{"contents":[]}"#,
            400,
        ),
    ];
    for (path, body, want) in cases {
        let (status, _, answer) = send("POST", &h.url(path), &[], body).await;
        let answer = String::from_utf8_lossy(&answer);
        assert_eq!(status.as_u16(), want, "{path} {body}: {answer}");
        if want == 403 {
            // Priced models: the allow-list refuses them, not the unpriced policy.
            assert!(
                answer.contains("is not allowed for this gw key"),
                "{answer}"
            );
        }
    }
    let (status, _, _) = send(
        "POST",
        &h.url("/gemini/v1beta/models/gemini-2.5-flash:generateContent"),
        &[],
        r#"{"contents":[]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        h.mock.seen().len(),
        1,
        "no forbidden model reached the upstream"
    );
}

#[tokio::test]
async fn under_a_budget_an_unpriced_model_is_refused_or_charged_as_configured() {
    let unpriced = r#"{"model":"claude-opus-4-1","max_tokens":1}"#;
    let h = Harness::start_gated(
        "",
        None,
        10_000_000,
        policy(&[], UnpricedPolicy::Refuse, 32),
    )
    .await;
    let (status, _, body) = send("POST", &h.url("/anthropic/v1/messages"), &[], unpriced).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.contains("claude-opus-4-1") && text.contains("[prices."),
        "{text}"
    );
    assert!(h.mock.seen().is_empty());
    drop(h);

    // Charged as a priced model: the $0.01 budget runs out as it would for that model.
    let charge = UnpricedPolicy::ChargeAs("claude-sonnet-4-5".into());
    let h = Harness::start_gated("", None, 10_000_000, policy(&[], charge.clone(), 32)).await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let (status, _, _) = send(
            "POST",
            &h.url("/anthropic/v1/messages"),
            &[("x-mock-model", "claude-opus-4-1")],
            unpriced,
        )
        .await;
        statuses.push(status.as_u16());
    }
    assert_eq!(statuses[0], 200);
    assert_eq!(statuses[4], 402, "the budget holds: {statuses:?}");
    let rows = h.rows().await;
    let charged: Vec<&Row> = rows.iter().filter(|r| r.status == 200).collect();
    assert!(!charged.is_empty());
    for row in charged {
        assert!(row.cost_nanos.unwrap() > 0, "charged, not free");
        assert!(
            row.price_version.contains("charge_as:claude-sonnet-4-5"),
            "{}",
            row.price_version
        );
    }
}

#[tokio::test]
async fn bodies_gw_must_read_are_bounded() {
    let h = gated("", policy(&[], UnpricedPolicy::Refuse, 1)).await;
    let big = format!(
        r#"{{"model":"claude-haiku-4-5","messages":[{{"role":"user","content":"{}"}}]}}"#,
        "x".repeat(2 << 20)
    );
    let (status, _, body) = send("POST", &h.url("/anthropic/v1/messages"), &[], big.clone()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let refusal: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        refusal["error"]["type"], "request_too_large",
        "Anthropic's shape"
    );
    assert!(refusal["error"]["message"]
        .as_str()
        .unwrap()
        .contains("max_body_mib"));
    let (status, _, _) = send("POST", &h.url("/openai/v1/chat/completions"), &[], big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(h.mock.seen().is_empty());
}

/// Found by review: requests whose usage the upstream would hide from gw, or that a later hop
/// could read as another path, are refused under a budget; gw's session header never leaves.
#[tokio::test]
async fn under_a_budget_requests_that_hide_their_usage_are_refused() {
    let h = Harness::start_gated(
        "",
        None,
        1_000_000_000,
        policy(&["/anthropic/v1/files*"], UnpricedPolicy::Refuse, 32),
    )
    .await;
    type Headers<'a> = &'a [(&'a str, &'a str)];
    let cases: [(&str, Headers, &str); 6] = [
        (
            "/openai/v1/chat/completions",
            &[],
            r#"{"model":"gpt-5","stream":true,"stream_options":{"include_usage":false},"stream_options":{"include_usage":false}}"#,
        ),
        (
            "/openai/v1/responses",
            &[],
            r#"{"model":"gpt-5","background":true,"input":"x"}"#,
        ),
        (
            "/gemini/v1beta/models/gemini-2.5-pro:generateContent?fields=candidates",
            &[],
            "{}",
        ),
        (
            "/gemini/v1beta/models/gemini-2.5-pro:generateContent",
            &[("x-goog-fieldmask", "candidates")],
            "{}",
        ),
        ("/anthropic/v1/files%2F..%2Fmessages", &[], "{}"),
        ("/anthropic/v1/files\\..\\messages", &[], "{}"),
    ];
    for (path, headers, body) in cases {
        let (status, _, answer) = send("POST", &h.url(path), headers, body).await;
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::FORBIDDEN,
            "{path}: {status} {}",
            String::from_utf8_lossy(&answer)
        );
    }
    // A plain stream passes (gw asks for its usage), without gw's header upstream.
    let (status, _, _) = send(
        "POST",
        &h.url("/openai/v1/chat/completions"),
        &[("x-gw-session-key", "anything")],
        r#"{"model":"gpt-5","stream":true}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let seen = h.mock.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(!seen[0].headers.contains_key("x-gw-session-key"));
}

/// The session key is gw's: in `?key=` it is taken only for Gemini (elsewhere gw would write
/// the held provider key into a URL the upstream logs), and in `x-gw-session-key` it admits a
/// request whose own credentials pass through untouched, without the header going upstream.
#[tokio::test]
async fn session_key_places_are_checked_per_provider() {
    let (auth, key) = holding(gw::meter::Provider::Anthropic, "sk-ant-held");
    let h = Harness::start_with("", move |state| state.with_auth(auth)).await;
    let body = r#"{"model":"claude-sonnet-4-5"}"#;
    let (status, _, _) = send(
        "POST",
        &h.url(&format!("/anthropic/v1/messages?key={key}")),
        &[],
        body,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = send(
        "POST",
        &h.url("/openai/v1/responses"),
        &[
            ("x-gw-session-key", key.as_str()),
            ("authorization", "Bearer own-login"),
        ],
        r#"{"model":"gpt-5"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let seen = h.mock.seen();
    assert_eq!(seen.len(), 1, "the ?key= request never left");
    assert!(!seen[0].path_and_query.contains("sk-ant-held"));
    assert!(!seen[0].headers.contains_key("x-gw-session-key"));
    assert_eq!(seen[0].headers["authorization"], "Bearer own-login");
}

#[tokio::test]
async fn claudes_probe_is_answered_here_and_its_bearer_token_becomes_the_held_key() {
    let (auth, key) = holding(gw::meter::Provider::Anthropic, "sk-ant-held");
    let h = Harness::start_with("", move |state| state.with_auth(auth)).await;
    // The startup probe, with and without the session's path segment and with no key at all.
    for path in ["/anthropic", "/anthropic/", &format!("/{key}/anthropic")] {
        let (status, _, body) = send("HEAD", &h.url(path), &[], "").await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(body.is_empty());
    }
    let bearer = format!("Bearer {key}");
    let (status, _, _) = send(
        "POST",
        &h.url("/anthropic/v1/messages"),
        &[("authorization", bearer.as_str())],
        r#"{"model":"claude-sonnet-4-5"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Own login (claude.ai): its OAuth token passes through, the session proven by the path.
    let (status, _, _) = send(
        "POST",
        &h.url(&format!("/{key}/anthropic/v1/messages")),
        &[("authorization", "Bearer sk-ant-oat01-own")],
        r#"{"model":"claude-sonnet-4-5"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let seen = h.mock.seen();
    assert_eq!(seen.len(), 2, "the probes never left: {seen:?}");
    assert_eq!(seen[0].headers["x-api-key"], "sk-ant-held");
    assert!(!seen[0].headers.contains_key("authorization"));
    assert_eq!(seen[1].headers["authorization"], "Bearer sk-ant-oat01-own");
    let rows = h.rows().await;
    assert_eq!(rows.len(), 2, "no row for a probe");
    assert_eq!(rows[0].billing, gw::meter::Billing::Api);
    assert_eq!(rows[1].billing, gw::meter::Billing::Subscription);
}

#[tokio::test]
async fn codex_gets_refusals_as_plain_text_and_its_chatgpt_login_goes_to_chatgpt() {
    let h = Harness::start_gated("", None, 0, ProxyPolicy::default()).await;
    let body = r#"{"model":"gpt-5","stream":true}"#;
    let (status, headers, text) = send(
        "POST",
        &h.url("/openai/v1/responses"),
        &[("originator", "codex_exec")],
        body,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "codex stops at once on a 400"
    );
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert!(
        String::from_utf8_lossy(&text).starts_with("gw: "),
        "the message alone: {text:?}"
    );
    let (status, _, text) = send("POST", &h.url("/openai/v1/responses"), &[], body).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "others keep the 402");
    assert!(serde_json::from_slice::<serde_json::Value>(&text).is_ok());
    assert!(h.mock.seen().is_empty());
    let rows = h.rows().await;
    assert_eq!(
        rows.iter().map(|r| r.status).collect::<Vec<_>>(),
        [402, 402],
        "the ledger keeps the real status"
    );

    // A ChatGPT login through OpenAI's route: to ChatGPT's backend, billed as a subscription.
    let h = Harness::start().await;
    let headers = [
        ("authorization", "Bearer chatgpt-access-token"),
        ("chatgpt-account-id", "acc-1"),
        ("originator", "codex-tui"),
    ];
    let (status, _, _) = send("POST", &h.url("/openai/v1/responses"), &headers, body).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = send(
        "GET",
        &h.url("/openai/v1/models?client_version=0.171.0"),
        &headers,
        "",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the mock has no model list");
    let seen = h.mock.seen();
    assert_eq!(seen[0].path_and_query, "/backend-api/codex/responses");
    assert_eq!(
        seen[1].path_and_query,
        "/backend-api/codex/models?client_version=0.171.0"
    );
    assert_eq!(
        seen[0].headers["authorization"],
        "Bearer chatgpt-access-token"
    );
    let rows = h.rows().await;
    assert_eq!(rows[0].provider, "chatgpt");
    assert_eq!(rows[0].billing, gw::meter::Billing::Subscription);
    assert_eq!(rows[0].usage, OPENAI_USAGE);
    assert_eq!(
        rows[0].cost_nanos,
        PriceTable::embedded()
            .cost(gw::meter::Provider::OpenAi, "gpt-5", &OPENAI_USAGE)
            .map(|c| c as i64),
        "priced at API rates"
    );
}

#[tokio::test]
async fn under_a_budget_an_answer_without_usage_spends_what_was_left() {
    let h = Harness::start_gated("", None, 1_000_000_000, ProxyPolicy::default()).await;
    let body = r#"{"model":"gpt-5"}"#;
    let (status, _, _) = send(
        "POST",
        &h.url("/openai/v1/responses"),
        &[("x-mock", "no-usage")],
        body,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the answer itself passes");
    let (status, _, _) = send("POST", &h.url("/openai/v1/responses"), &[], body).await;
    assert_eq!(
        status,
        StatusCode::PAYMENT_REQUIRED,
        "what it cost is unknown: the budget counts as spent"
    );
    assert_eq!(h.mock.seen().len(), 1);
    let rows = h.rows().await;
    assert!(
        rows[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("no usage gw could read")),
        "{rows:#?}"
    );
}

#[tokio::test]
async fn subscription_routes_meter_only_their_turn_endpoints() {
    let h = Harness::start_gated("", None, 1_000_000_000, ProxyPolicy::default()).await;
    for path in [
        "/chatgpt/backend-api/other/responses",
        "/codeassist/v1beta/models/gemini-2.5-pro:generateContent",
        "/codeassist/v1internal:setCodeAssistGlobalUserSetting",
    ] {
        let (status, _, text) = send("POST", &h.url(path), &[], r#"{"model":"gpt-5"}"#).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(
            String::from_utf8_lossy(&text).contains(path),
            "names the route it takes: {}",
            String::from_utf8_lossy(&text)
        );
    }
    // A ChatGPT login re-routed from /openai/ is named (and allowed) by its real route.
    let (status, _, text) = send(
        "POST",
        &h.url("/openai/v1/responses/compact"),
        &[("chatgpt-account-id", "acc-1")],
        r#"{"model":"gpt-5"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        String::from_utf8_lossy(&text).contains("/chatgpt/backend-api/codex/responses/compact"),
        "{}",
        String::from_utf8_lossy(&text)
    );
    assert!(h.mock.seen().is_empty());
}

#[tokio::test]
async fn a_held_key_never_follows_a_chatgpt_header_to_chatgpt() {
    let (auth, key) = holding(gw::meter::Provider::OpenAi, "sk-held-openai");
    let bearer = format!("Bearer {key}");
    let h = Harness::start_with("", move |state| state.with_auth(auth)).await;
    // The agent adds ChatGPT's header to a request that carries the session key as its key.
    let (status, _, _) = send(
        "POST",
        &h.url("/openai/v1/responses"),
        &[
            ("authorization", bearer.as_str()),
            ("chatgpt-account-id", "acc-evil"),
        ],
        r#"{"model":"gpt-5"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let seen = h.mock.seen();
    assert_eq!(
        seen[0].path_and_query, "/v1/responses",
        "a request gw swaps a key into stays on OpenAI's route"
    );
    assert_eq!(seen[0].headers["authorization"], "Bearer sk-held-openai");
    let rows = h.rows().await;
    assert_eq!(rows[0].provider, "openai");
    assert_eq!(rows[0].billing, gw::meter::Billing::Api);
}

/// Azure OpenAI: the session key (as `api-key` or a bearer token) becomes the resource key gw
/// holds, sent as `api-key`; the `api-version` goes through; a deployment is priced as the
/// model `[azure.deployments]` maps it to, from the body or from a deployment path.
#[tokio::test]
async fn azure_takes_the_held_key_as_api_key_and_prices_deployments_as_their_models() {
    use gw::meter::Provider;
    let (auth, key) = holding(gw::meter::Provider::Azure, common::AZURE_KEY);
    let prices = PriceTable::embedded().with_aliases(
        Provider::Azure,
        &[("my-gpt5".to_string(), "gpt-5".to_string())].into(),
    );
    let h = Harness::start_priced("", prices, move |state| state.with_auth(auth)).await;
    let bearer = format!("Bearer {key}");
    for auth_header in [
        ("api-key", key.as_str()),
        ("authorization", bearer.as_str()),
    ] {
        let (status, _, _) = send(
            "POST",
            &h.url("/azure/openai/responses?api-version=2025-04-01-preview"),
            &[auth_header, ("x-mock-model", "my-gpt5")],
            r#"{"model":"my-gpt5","stream":true,"input":"hi"}"#,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{auth_header:?}");
    }
    // A deployment path whose body names no model.
    let (status, _, _) = send(
        "POST",
        &h.url("/azure/openai/deployments/my-gpt5/chat/completions?api-version=2025-04-01-preview"),
        &[("api-key", key.as_str()), ("x-mock-model", "my-gpt5")],
        r#"{"messages":[{"role":"user","content":"hi"}]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Without the session key: refused here, never sent.
    let (status, _, _) = send(
        "POST",
        &h.url("/azure/openai/responses?api-version=2025-04-01-preview"),
        &[("api-key", common::AZURE_KEY)],
        r#"{"model":"my-gpt5"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let seen = h.mock.seen();
    assert_eq!(seen.len(), 3, "{seen:?}");
    for s in &seen {
        assert_eq!(s.headers["api-key"], common::AZURE_KEY);
        assert!(!s.headers.contains_key("authorization"), "{:?}", s.headers);
        assert!(s.path_and_query.contains("api-version=2025-04-01-preview"));
    }
    assert_eq!(
        seen[0].path_and_query,
        "/openai/responses?api-version=2025-04-01-preview"
    );
    let rows = h.rows().await;
    assert_eq!(
        rows.len(),
        3,
        "the refused request reached no upstream and is no row"
    );
    for row in &rows {
        assert_eq!(row.provider, "azure");
        assert_eq!(row.requested_model.as_deref(), Some("my-gpt5"), "{row:?}");
        let want = PriceTable::embedded()
            .cost(Provider::OpenAi, "gpt-5", &row.usage)
            .unwrap() as i64;
        assert!(want > 0);
        assert_eq!(row.cost_nanos, Some(want), "{row:?}");
    }
}

/// A provider with no default upstream that nobody configured is named with the fix.
#[tokio::test]
async fn an_azure_request_without_an_azure_upstream_says_how_to_set_one() {
    use gw::meter::Provider;
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let writer = LedgerWriter::start(&dir.path().join("ledger.db")).unwrap();
    let upstream = gw::config::Upstream::parse(&mock.url()).unwrap();
    let upstreams = gw::config::Upstreams::try_from_fn::<()>(|p| {
        Ok((p != Provider::Azure).then(|| upstream.clone()))
    })
    .unwrap();
    let recorder = Recorder::new(
        writer.handle(),
        PriceTable::embedded().clone(),
        Attribution::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = proxy::serve(listener, ProxyState::new(upstreams, recorder));
    let (status, _, body) = send(
        "POST",
        &format!("http://{}/azure/openai/responses", proxy.local_addr()),
        &[],
        r#"{"model":"my-gpt5"}"#,
    )
    .await;
    // The session check comes first when a session has one; this proxy has none.
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body:?}");
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.contains("[upstream] azure") && text.contains("GW_AZURE_UPSTREAM"),
        "{text}"
    );
    assert!(mock.seen().is_empty());
    proxy.shutdown(Duration::from_secs(5)).await;
    writer.shutdown().unwrap();
}

/// Vertex AI with gw's Google credentials: the session key (a header, or an API key) goes, gw's
/// access token from the service account's token endpoint comes in its place; an express-mode
/// path gets gw's project; Claude is priced as Anthropic's model, Gemini as Google's; any path
/// that is not a model call of gw's project is refused before a token is even asked for.
#[tokio::test]
async fn vertex_gets_gws_google_token_and_only_for_model_calls_of_its_project() {
    use gw::meter::Provider;
    let (auth, key) = signing(gw::meter::Provider::Vertex);
    let token_mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sa = common::google_service_account(dir.path(), &token_mock, "acme-ai");
    let google = std::sync::Arc::new(
        gw::proxy::google::GoogleCredentials::from_file(&sa, None, "global").unwrap(),
    );
    assert_eq!(google.project(), "acme-ai");
    let h = Harness::start_with("", move |state| state.with_auth(auth).with_google(google)).await;

    let claude = "/vertex/v1/projects/acme-ai/locations/global/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict";
    let (status, _, _) = send(
        "POST",
        &h.url(claude),
        &[("x-gw-session-key", key.as_str()), ("x-api-key", "leaked")],
        r#"{"anthropic_version":"vertex-2023-10-16","stream":true,"max_tokens":64,"messages":[]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let express =
        "/vertex/v1beta1/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse";
    let (status, _, _) = send(
        "POST",
        &h.url(express),
        &[("x-goog-api-key", key.as_str())],
        r#"{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for path in [
        "/vertex/v1/projects/someone-else/locations/global/publishers/google/models/gemini-2.5-pro:generateContent",
        "/vertex/v1/projects/acme-ai/locations/global/endpoints/e1:predict",
    ] {
        let (status, _, body) = send("POST", &h.url(path), &[("x-goog-api-key", key.as_str())], "{}").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(String::from_utf8_lossy(&body).contains("acme-ai"), "{path}");
    }

    let seen = h.mock.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    for s in &seen {
        assert_eq!(
            s.headers["authorization"],
            format!("Bearer {}", common::GOOGLE_TOKEN)
        );
        for gone in ["x-api-key", "x-goog-api-key", "x-gw-session-key"] {
            assert!(!s.headers.contains_key(gone), "{gone}: {:?}", s.headers);
        }
    }
    assert_eq!(
        seen[1].path_and_query,
        "/v1beta1/projects/acme-ai/locations/global/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
    );
    let tokens: Vec<_> = token_mock.seen();
    assert_eq!(tokens.len(), 1, "one token, reused: {tokens:?}");

    let rows = h.rows().await;
    assert_eq!(rows.len(), 4, "the refused probes are rows too: {rows:#?}");
    for refused in &rows[2..] {
        assert_eq!(refused.status, 403);
        assert_eq!(refused.cost_nanos, Some(0));
        assert!(refused.error.as_deref().unwrap().contains("acme-ai"));
    }
    let prices = PriceTable::embedded();
    let (claude_row, gemini_row) = (&rows[0], &rows[1]);
    assert_eq!(claude_row.provider, "vertex");
    assert_eq!(claude_row.region.as_deref(), Some("global"));
    assert_eq!(
        claude_row.requested_model.as_deref(),
        Some("claude-sonnet-4-5@20250929")
    );
    let want = prices
        .cost(
            Provider::Anthropic,
            claude_row.model.as_deref().unwrap(),
            &claude_row.usage,
        )
        .unwrap() as i64;
    assert!(want > 0);
    assert_eq!(claude_row.cost_nanos, Some(want), "{claude_row:?}");
    assert_eq!(gemini_row.provider, "vertex");
    let want = prices
        .cost(
            Provider::Gemini,
            gemini_row.model.as_deref().unwrap(),
            &gemini_row.usage,
        )
        .unwrap() as i64;
    assert!(want > 0);
    assert_eq!(gemini_row.cost_nanos, Some(want), "{gemini_row:?}");
}

/// Where the path names the model, that is the one checked and charged: a cheap model in the
/// body of a request to an expensive deployment changes nothing; and the session key never
/// leaves the machine, however many places the request carries it.
#[tokio::test]
async fn the_path_names_the_model_and_the_session_key_goes_everywhere_it_hides() {
    use gw::meter::Provider;
    let (auth, key) = holding(gw::meter::Provider::Azure, common::AZURE_KEY);
    let prices = PriceTable::embedded().with_aliases(
        Provider::Azure,
        &[("my-gpt5".to_string(), "gpt-5".to_string())].into(),
    );
    let gate = BudgetGate::new(
        Some(vec!["gpt-4o-mini".to_string()]),
        gw::proxy::gate::REQUEST_FLOOR_NANOS,
    );
    gate.set_granted(1_000_000_000);
    let h = Harness::start_priced("", prices, move |state| {
        state.with_auth(auth).with_gate(gate)
    })
    .await;
    // The allow-list names the body's model, not the deployment's: refused.
    let (status, _, _) = send(
        "POST",
        &h.url("/azure/openai/deployments/my-gpt5/chat/completions?api-version=2025-04-01-preview"),
        &[("api-key", key.as_str())],
        r#"{"model":"gpt-4o-mini","messages":[]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(h.mock.seen().is_empty());
    // Admitted by its header, carrying the key as x-api-key and ?key= too: none of it goes out.
    let (status, _, _) = send(
        "POST",
        &h.url(&format!(
            "/azure/openai/responses?api-version=2025-04-01-preview&key={key}"
        )),
        &[
            ("x-gw-session-key", key.as_str()),
            ("x-api-key", key.as_str()),
            ("x-mock-model", "gpt-4o-mini"),
        ],
        r#"{"model":"gpt-4o-mini","stream":true}"#,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "no resource key: the mock refuses"
    );
    let seen = h.mock.seen();
    assert_eq!(seen.len(), 1);
    assert!(
        !seen[0].path_and_query.contains(&key),
        "{}",
        seen[0].path_and_query
    );
    for (name, value) in &seen[0].headers {
        assert!(
            !value.to_str().unwrap_or("").contains(&key),
            "{name} carries the session key"
        );
    }
    let rows = h.rows().await;
    assert_eq!(rows[0].requested_model.as_deref(), Some("my-gpt5"));
    assert_eq!(rows[0].status, 403);
}

/// Bedrock with gw's AWS keys: the session key (Claude's Bedrock API key) goes, and the request
/// is signed with SigV4 over exactly what arrives (the mock checks the signature); the AWS
/// event stream comes back byte for byte and is metered from the Anthropic events inside it;
/// the inference-profile list is answered here. With a Bedrock API key, that goes instead.
#[tokio::test]
async fn bedrock_is_signed_or_keyed_and_its_event_stream_metered() {
    use gw::meter::Provider;
    for keyed in [false, true] {
        let (auth, key) = if keyed {
            holding(Provider::Bedrock, common::BEDROCK_KEY)
        } else {
            signing(Provider::Bedrock)
        };
        let signer = std::sync::Arc::new(gw::proxy::aws::AwsSigner::new(
            common::AWS_KEYS.0,
            common::AWS_KEYS.1,
            Some("session-token".into()),
            "us-east-1",
            "bedrock",
        ));
        let h = Harness::start_with("", move |state| {
            let state = state.with_auth(auth);
            if keyed {
                state
            } else {
                state.with_aws(signer)
            }
        })
        .await;
        let bearer = format!("Bearer {key}");
        let (status, _, body) = send(
            "GET",
            &h.url("/bedrock/inference-profiles?type=SYSTEM_DEFINED"),
            &[("authorization", bearer.as_str())],
            "",
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(&body[..], br#"{"inferenceProfileSummaries":[]}"#);
        let (status, headers, body) = send(
            "POST",
            &h.url("/bedrock/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/invoke-with-response-stream"),
            &[("authorization", bearer.as_str())],
            r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":64,"messages":[]}"#,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "keyed {keyed}: {body:?}");
        assert_eq!(
            headers["content-type"],
            "application/vnd.amazon.eventstream"
        );
        assert_eq!(
            &body[..],
            &common::bedrock_stream(&fixture("anthropic_messages_stream.sse"))[..],
            "byte for byte"
        );
        // gw's keys, and its API key, go on model calls only: anything else is refused here
        // (400 in AWS's shape, as Claude retries a 403 on this route), recorded as 403.
        let (status, headers, _) = send(
            "POST",
            &h.url("/bedrock/guardrail/g1/version/1/apply"),
            &[("authorization", bearer.as_str())],
            "{}",
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "keyed {keyed}");
        assert_eq!(headers["x-amzn-errortype"], "ValidationException");
        let seen: Vec<_> = h
            .mock
            .seen()
            .into_iter()
            .filter(|s| s.path_and_query.starts_with("/model/"))
            .collect();
        assert_eq!(seen.len(), 1, "the profile list never left: {seen:?}");
        let auth_header = seen[0].headers["authorization"]
            .to_str()
            .unwrap()
            .to_string();
        if keyed {
            assert_eq!(auth_header, format!("Bearer {}", common::BEDROCK_KEY));
        } else {
            assert!(auth_header.starts_with("AWS4-HMAC-SHA256"), "{auth_header}");
            assert_eq!(seen[0].headers["x-amz-security-token"], "session-token");
        }
        let rows = h.rows().await;
        assert_eq!(rows.len(), 2, "{rows:#?}");
        assert_eq!(rows[1].status, 403);
        let row = &rows[0];
        assert_eq!(row.provider, "bedrock");
        // The signer's region; a keyed call to an endpoint naming none has no region.
        assert_eq!(row.region.as_deref(), (!keyed).then_some("us-east-1"));
        assert_eq!(
            row.requested_model.as_deref(),
            Some("us.anthropic.claude-sonnet-4-5-20250929-v1:0")
        );
        assert_eq!((row.usage.input, row.usage.output), (1200, 85));
        // A US cross-region profile costs 10% more than the model in-region.
        let base = PriceTable::embedded()
            .cost(Provider::Anthropic, "claude-sonnet-4-5", &row.usage)
            .unwrap() as i64;
        assert_eq!(row.cost_nanos, Some(base * 11 / 10), "{row:?}");
        assert!(row.streamed && !row.incomplete, "{row:?}");
    }
}

/// Bedrock's Converse API (opencode's): the usage of a stream's `metadata` event, and of a
/// whole answer, as Anthropic counts it (input without cache reads and writes). (A repeated
/// `metadata` cannot lower it: `ConverseUsage::apply` keeps the larger counts.)
#[tokio::test]
async fn bedrock_converse_is_metered_streamed_and_whole() {
    use gw::meter::Provider;
    let (auth, key) = holding(gw::meter::Provider::Bedrock, common::BEDROCK_KEY);
    let h = Harness::start_with("", move |state| state.with_auth(auth)).await;
    let bearer = format!("Bearer {key}");
    for op in ["converse-stream", "converse"] {
        let (status, _, _) = send(
            "POST",
            &h.url(&format!(
                "/bedrock/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/{op}"
            )),
            &[("authorization", bearer.as_str())],
            r#"{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"maxTokens":64}}"#,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{op}");
    }
    let rows = h.rows().await;
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(
            row.endpoint.ends_with("converse-stream"),
            row.streamed,
            "{row:?}"
        );
        assert_eq!(
            (
                row.usage.input,
                row.usage.output,
                row.usage.cache_read,
                row.usage.cache_write_5m
            ),
            (100, 7, 1000, 500),
            "{row:?}"
        );
        assert!(!row.incomplete, "{row:?}");
        // A US cross-region profile costs 10% more than the model in-region.
        let base = PriceTable::embedded()
            .cost(Provider::Anthropic, "claude-sonnet-4-5", &row.usage)
            .unwrap() as i64;
        assert_eq!(row.cost_nanos, Some(base * 11 / 10), "{row:?}");
    }
}

/// A client that leaves a successful answer before its end does not leave its usage unread:
/// Bedrock's Converse puts all of it in the last event, so hanging up at `messageStop` would
/// make every call free under a budget. gw reads the rest itself and charges it all.
#[tokio::test]
async fn a_client_that_leaves_before_the_usage_is_still_charged_the_whole_call() {
    use gw::meter::Provider;
    let (auth, key) = holding(gw::meter::Provider::Bedrock, common::BEDROCK_KEY);
    let gate = BudgetGate::new(None, gw::proxy::gate::REQUEST_FLOOR_NANOS);
    gate.set_granted(1_000_000_000);
    let gate_seen = gate.clone();
    let h = Harness::start_with("", move |state| state.with_auth(auth).with_gate(gate)).await;
    let request = http::Request::post(
        h.url("/bedrock/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream"),
    )
    .header("authorization", format!("Bearer {key}"))
    .header("x-mock", "hold")
    .body(http_body_util::Full::new(Bytes::from_static(
        br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#,
    )))
    .unwrap();
    let response = common::client().request(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    // The answer's text arrives; the client hangs up before the usage.
    let first = body.frame().await.unwrap().unwrap();
    assert!(first.data_ref().is_some_and(|d| !d.is_empty()));
    drop(body);
    tokio::time::sleep(Duration::from_millis(50)).await;
    h.mock.release.notify_one();
    // The charge lands once gw has read the usage on its own.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while gate_seen.figures().charged == 0 {
        assert!(std::time::Instant::now() < deadline, "never charged");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let rows = h.rows().await;
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let row = &rows[0];
    assert_eq!(
        (
            row.usage.input,
            row.usage.output,
            row.usage.cache_read,
            row.usage.cache_write_5m
        ),
        (100, 7, 1000, 500),
        "{row:?}"
    );
    assert!(row.incomplete, "the client did cut it: {row:?}");
    assert!(
        row.error.as_deref().unwrap().contains("read the rest"),
        "{row:?}"
    );
    // A US cross-region profile costs 10% more than the model in-region.
    let want = PriceTable::embedded()
        .cost(Provider::Anthropic, "claude-sonnet-4-5", &row.usage)
        .unwrap() as i64
        * 11
        / 10;
    assert_eq!(row.cost_nanos, Some(want));
    assert_eq!(
        gate_seen.figures().charged,
        want,
        "the budget is charged the whole call"
    );
}

/// Passthrough on the cloud routes: where gw holds no credential, an agent that brings its own
/// bearer credential (a Bedrock API key, an Azure key, a Google token) and proves the session by
/// the path sends it upstream untouched, and is metered like any other.
#[tokio::test]
async fn the_agents_own_cloud_credentials_pass_through_when_gw_holds_none() {
    let (auth, key) = with_key(gw::proxy::SessionAuth::new(Default::default()));
    let h = Harness::start_with("", move |state| state.with_auth(auth)).await;
    let bedrock = format!("Bearer {}", common::BEDROCK_KEY);
    let google = format!("Bearer {}", common::GOOGLE_TOKEN);
    let calls = [
        (
            "/bedrock/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/invoke",
            ("authorization", bedrock.as_str()),
        ),
        (
            "/azure/openai/responses?api-version=2025-04-01-preview",
            ("api-key", common::AZURE_KEY),
        ),
        (
            "/vertex/v1/projects/p/locations/global/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict",
            ("authorization", google.as_str()),
        ),
    ];
    for (path, credential) in calls {
        let (status, _, body) = send(
            "POST",
            &h.url(&format!("/{key}{path}")),
            &[credential],
            r#"{"model":"gpt-5","input":"hi","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{path}: {body:?}");
    }
    let seen = h.mock.seen();
    assert_eq!(seen.len(), 3);
    for (s, (_, (name, value))) in seen.iter().zip(calls) {
        assert_eq!(s.headers[name], value, "{s:?}");
        assert!(!s.path_and_query.contains(&key), "{s:?}");
    }
    let rows = h.rows().await;
    assert_eq!(rows.len(), 3, "{rows:#?}");
    for row in &rows {
        assert!(row.cost_nanos.is_some_and(|c| c > 0), "{row:?}");
    }
}

/// Under a strict budget the gate reserves each request's bound: one whose bound does not fit
/// what is left is refused with both figures before it reaches the upstream, and input the body
/// does not hold cannot be bounded.
#[tokio::test]
async fn a_strict_budget_refuses_what_might_not_fit_and_what_it_cannot_bound() {
    let gate = BudgetGate::new(None, gw::proxy::gate::REQUEST_FLOOR_NANOS);
    gate.set_strict(true);
    // $0.10: a 1,000-token answer of claude-sonnet-4-5 ($0.015) fits, a 10,000-token one
    // ($0.15) does not.
    gate.set_granted(100_000_000);
    let g = gate.clone();
    let h = Harness::start_with("", move |state| state.with_gate(g)).await;
    let ask = |max_tokens: u32, extra: &'static str| {
        let url = h.url("/anthropic/v1/messages");
        async move {
            send(
                "POST",
                &url,
                &[],
                format!(r#"{{"model":"claude-sonnet-4-5","max_tokens":{max_tokens},"messages":[{{"role":"user","content":"hi"}}]{extra}}}"#),
            )
            .await
        }
    };
    let (status, _, _) = ask(1_000, "").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, body) = ask(10_000, "").await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
    let body = String::from_utf8_lossy(&body);
    assert!(
        body.contains("may cost up to") && body.contains("10000 output tokens"),
        "{body}"
    );
    let (status, _, body) = ask(10, r#","container":{"file_id":"file_1"}"#).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
    assert!(String::from_utf8_lossy(&body).contains("`container`"));
    assert_eq!(
        h.mock.seen().len(),
        1,
        "only the request that fit went upstream"
    );
    let f = gate.figures();
    assert!(f.charged > 0 && f.charged <= f.granted, "{f:?}");
}

/// An application inference profile's ARN names no model: `[bedrock.models]` maps it to the id
/// it runs, and gw meters and prices it as that id (unmapped, it is not metered).
#[tokio::test]
async fn a_bedrock_arn_is_metered_and_priced_as_the_model_it_is_mapped_to() {
    use gw::meter::Provider;
    let arn = "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/abc";
    let id = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
    let (auth, key) = holding(Provider::Bedrock, common::BEDROCK_KEY);
    let prices = PriceTable::embedded().with_aliases(
        Provider::Bedrock,
        &[(arn.to_string(), id.to_string())].into(),
    );
    let h = Harness::start_priced("", prices, move |state| state.with_auth(auth)).await;
    let bearer = format!("Bearer {key}");
    let path = format!("/bedrock/model/{}/invoke", arn.replace('/', "%2F"));
    let (status, _, _) = send(
        "POST",
        &h.url(&path),
        &[("authorization", bearer.as_str())],
        r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":5,"messages":[]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let rows = h.rows().await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.requested_model.as_deref(), Some(arn));
    assert_eq!((row.usage.input, row.usage.output), (1200, 85), "{row:?}");
    let want = PriceTable::embedded()
        .cost(Provider::Bedrock, id, &row.usage)
        .unwrap() as i64;
    assert_eq!(row.cost_nanos, Some(want), "{row:?}");
}

/// gw's Azure credential opens more than models (files, fine-tuning, batches): with it only
/// model calls and the model list go upstream.
#[tokio::test]
async fn gws_azure_key_goes_on_model_calls_only() {
    let (auth, key) = holding(gw::meter::Provider::Azure, common::AZURE_KEY);
    let h = Harness::start_with("", move |state| state.with_auth(auth)).await;
    for (method, path) in [
        ("POST", "/azure/openai/files?api-version=2025-04-01-preview"),
        (
            "GET",
            "/azure/openai/fine_tuning/jobs?api-version=2025-04-01-preview",
        ),
        ("POST", "/azure/openai/v1/batches"),
    ] {
        let (status, _, _) = send(method, &h.url(path), &[("api-key", key.as_str())], "{}").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}");
    }
    let (status, _, _) = send(
        "GET",
        &h.url("/azure/openai/models?api-version=2025-04-01-preview"),
        &[("api-key", key.as_str())],
        "",
    )
    .await;
    assert_ne!(status, StatusCode::FORBIDDEN, "the model list passes");
    assert_eq!(h.mock.seen().len(), 1);
}

/// Past a rate limit's share, the agent gets a 429 in its provider's shape with retry-after and
/// the provider's own rate-limit headers, and nothing goes upstream.
#[tokio::test]
async fn a_spent_rate_limit_is_a_429_with_the_providers_headers() {
    let gate = BudgetGate::new(None, gw::proxy::gate::REQUEST_FLOOR_NANOS);
    gate.set_granted(1_000_000_000);
    gate.set_rates(
        &[gw::api::RateAllowance {
            limit_id: 1,
            name: "team acme/backend: 1 requests per 60 s".into(),
            window_start_us: 0,
            window_secs: 60,
            resets_in_ms: 30_000,
            requests: Some(1),
            tokens: None,
        }],
        std::time::Instant::now(),
        true,
    );
    let g = gate.clone();
    let h = Harness::start_with("", move |state| state.with_gate(g)).await;
    let anthropic = r#"{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[]}"#;
    let (status, _, _) = send("POST", &h.url("/anthropic/v1/messages"), &[], anthropic).await;
    assert_eq!(status, StatusCode::OK);
    let (status, headers, body) =
        send("POST", &h.url("/anthropic/v1/messages"), &[], anthropic).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((29..=30).contains(&retry), "{retry}");
    assert_eq!(headers["anthropic-ratelimit-requests-remaining"], "0");
    assert!(headers["anthropic-ratelimit-requests-reset"]
        .to_str()
        .unwrap()
        .ends_with('Z'));
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"]["type"], "rate_limit_error", "{body}");
    let (status, headers, _) = send(
        "POST",
        &h.url("/openai/v1/responses"),
        &[],
        r#"{"model":"gpt-5","input":"hi"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers["x-ratelimit-remaining-requests"], "0");
    assert!(headers["x-ratelimit-reset-requests"]
        .to_str()
        .unwrap()
        .ends_with('s'));
    assert_eq!(h.mock.seen().len(), 1);
}
