//! The loopback proxy: routes `/anthropic`, `/openai` and `/gemini` to their upstreams, streams
//! both directions unchanged and meters every response into the ledger.

mod auth;
pub mod aws;
pub mod azure;
mod body;
mod context;
pub mod gate;
pub mod google;
mod metering;
mod policy;
pub mod route;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{ProxyPolicy, Upstreams};
use crate::first_request::FirstRequest;
use crate::meter::{
    gemini_path_model, inject_include_usage, path_model, ChatUsageChunkFilter, ErrorShape,
    Protocol, Provider, RequestTap, ResponseTap,
};
use crate::pricing::UnpricedPolicy;
use policy::{BodyError, Endpoint};

pub use auth::{SessionAuth, SESSION_KEY_HEADER};
pub use body::{BoxError, MeteredBody, RequestTapBody};
pub use context::{unix_micros, InFlight, Recorder, RequestContext};
pub use gate::{BudgetGate, LeaseSource, Refusal, Refusals};

pub type ProxyBody = BoxBody<Bytes, BoxError>;
type UpstreamClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, ProxyBody>;

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("cannot listen on {addr}: {error}\n  pick another address with --listen (or GW_LISTEN), or use port 0 for any free port")]
    Bind {
        addr: SocketAddr,
        /// In the message, not a `source`: the cause would otherwise print twice.
        error: std::io::Error,
    },
}

/// How long an upstream may send nothing, while gw waits for the response's head (504 in the
/// provider's error shape) or between frames of its body (the stream is cut). Long, because a
/// model may think for minutes before its first byte; what it bounds is a hung upstream.
pub const UPSTREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// How long an agent has to send a request's head, counted from the connection's start for the
/// first request and from the previous response on a kept-alive connection (so it also bounds
/// idle connections).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// What the proxy needs: upstreams and the recorder rows go to.
pub struct ProxyState {
    upstreams: Upstreams,
    client: UpstreamClient,
    recorder: Arc<Recorder>,
    auth: Option<Arc<SessionAuth>>,
    gate: Option<Arc<BudgetGate>>,
    policy: ProxyPolicy,
    upstream_idle: Duration,
    refusals: Arc<Refusals>,
    /// gw's Google credentials, put on every Vertex request.
    google: Option<Arc<google::GoogleCredentials>>,
    /// gw's AWS keys, signing every Bedrock request.
    aws: Option<Arc<aws::AwsSigner>>,
    azure: Option<Arc<azure::AzureEntra>>,
}

impl ProxyState {
    pub fn new(upstreams: Upstreams, recorder: Recorder) -> ProxyState {
        ProxyState {
            upstreams,
            client: upstream_client(),
            recorder: Arc::new(recorder),
            auth: None,
            gate: None,
            policy: ProxyPolicy::default(),
            upstream_idle: UPSTREAM_IDLE_TIMEOUT,
            refusals: Arc::default(),
            google: None,
            aws: None,
            azure: None,
        }
    }

    /// What gw refused in this proxy's session, by reason (for the summary line).
    pub fn refusals(&self) -> Arc<Refusals> {
        self.refusals.clone()
    }

    /// What a gated session lets through (`[proxy]` settings), and how its recorder charges a
    /// model without a price. Call it while building the state.
    pub fn with_policy(mut self, policy: ProxyPolicy) -> ProxyState {
        Arc::get_mut(&mut self.recorder)
            .expect("with_policy is called before the proxy serves")
            .unpriced = policy.unpriced.clone();
        self.policy = policy;
        self
    }

    /// Replaces [`UPSTREAM_IDLE_TIMEOUT`] (tests wait seconds, not minutes).
    pub fn with_upstream_idle_timeout(mut self, idle: Duration) -> ProxyState {
        self.upstream_idle = idle;
        self
    }

    /// Spends every metered request against a budget lease (team mode).
    pub fn with_gate(mut self, gate: Arc<BudgetGate>) -> ProxyState {
        self.gate = Some(gate);
        self
    }

    /// Requires every request to carry the session key (see [`SessionAuth`]).
    pub fn with_auth(mut self, auth: Arc<SessionAuth>) -> ProxyState {
        self.auth = Some(auth);
        self
    }

    /// Signs Bedrock requests with gw's AWS keys (see [`aws::AwsSigner`]).
    pub fn with_aws(mut self, aws: Arc<aws::AwsSigner>) -> ProxyState {
        self.aws = Some(aws);
        self
    }

    /// Sends Azure OpenAI requests with gw's Entra ID token (see [`azure::AzureEntra`]).
    pub fn with_azure(mut self, azure: Arc<azure::AzureEntra>) -> ProxyState {
        self.azure = Some(azure);
        self
    }

    /// Sends Vertex requests with gw's Google credentials (see [`google::GoogleCredentials`]).
    pub fn with_google(mut self, google: Arc<google::GoogleCredentials>) -> ProxyState {
        self.google = Some(google);
        self
    }
}

/// A running proxy; dropping it without `shutdown` leaves the server task running.
pub struct RunningProxy {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    open: Arc<context::OpenRequests>,
}

impl RunningProxy {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL agents use for a provider, e.g. `http://127.0.0.1:4711/anthropic`.
    pub fn base_url(&self, provider: Provider) -> String {
        format!("http://{}/{}", self.addr, provider.as_str())
    }

    /// The base URL for a client of a session: where gw holds the provider's key the client
    /// sends the session key as its API key; elsewhere the client's own key passes through and
    /// the session key is a path segment (`http://127.0.0.1:4711/<key>/anthropic`).
    pub fn session_base_url(&self, auth: &SessionAuth, provider: Provider) -> String {
        if auth.holds(provider) {
            self.base_url(provider)
        } else {
            format!("http://{}/{}/{}", self.addr, auth.key(), provider.as_str())
        }
    }

    /// Stops accepting, lets open requests finish (those still open after `grace` are cut),
    /// then waits until every request's row is handed to the ledger writer.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(true);
        self.open.stop();
        let abort = self.task.abort_handle();
        if tokio::time::timeout(grace, self.task).await.is_err() {
            abort.abort();
        }
        // Rows are built by the thread's metering task, which may not have run yet.
        if tokio::time::timeout(RECORD_GRACE, self.open.all_recorded())
            .await
            .is_err()
        {
            tracing::warn!("shutdown: some requests were not recorded in time");
        }
    }
}

/// How long a stopping proxy waits for the rows of requests that already ended.
const RECORD_GRACE: Duration = Duration::from_secs(2);

/// The runtime gw runs a proxy on: one thread. A session's proxy serves one agent, and on one
/// thread a request crosses no worker boundaries (each costs a wake-up of tens of
/// microseconds on small machines).
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// Binds the proxy's address, to [`serve`] on once the session around it is ready.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ProxyError> {
    TcpListener::bind(addr)
        .await
        .map_err(|error| ProxyError::Bind { addr, error })
}

/// Serves on a bound listener in a background task.
pub fn serve(listener: TcpListener, state: ProxyState) -> RunningProxy {
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    let (stop, mut stopped) = watch::channel(false);
    let open = state.recorder.open_requests();
    let state = Arc::new(state);
    let task = tokio::spawn(async move {
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, _) = match accepted {
                        Ok(pair) => pair,
                        Err(e) => {
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let state = state.clone();
                    let first = FirstRequest::default();
                    let arrived = first.clone();
                    let service = hyper::service::service_fn(move |req| {
                        arrived.arrived();
                        let state = state.clone();
                        async move {
                            let plain = route::wants_plain_errors(req.headers());
                            let response = handle(&state, req).await;
                            Ok::<_, Infallible>(if plain {
                                plain_error(response)
                            } else {
                                response
                            })
                        }
                    });
                    let conn = builder.serve_connection(TokioIo::new(stream), service).into_owned();
                    let conn = graceful.watch(conn);
                    tokio::spawn(async move {
                        match first.guard(conn, HEADER_READ_TIMEOUT).await {
                            Some(Err(e)) => tracing::debug!(error = %e, "connection ended with an error"),
                            None => tracing::debug!("closed a connection that sent no request in time"),
                            Some(Ok(())) => {}
                        }
                    });
                }
                _ = stopped.changed() => break,
            }
        }
        drop(listener);
        graceful.shutdown().await;
    });
    RunningProxy {
        addr,
        stop,
        task,
        open,
    }
}

fn upstream_client() -> UpstreamClient {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(Duration::from_secs(30)));
    http.set_keepalive(Some(Duration::from_secs(60)));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_all_versions()
        .wrap_connector(http);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(64)
        .build(https)
}

fn full(bytes: Bytes) -> ProxyBody {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}

/// Marks a response gw answered itself, with its message.
#[derive(Clone)]
struct GwAnswer(String);

fn error_response(
    provider: Option<Provider>,
    status: StatusCode,
    kind: &str,
    message: &str,
) -> Response<ProxyBody> {
    let aws = provider.is_some_and(|p| p.info().error_shape == ErrorShape::Aws);
    // Claude Code on AWS takes any 403 for stale credentials and retries it for three minutes:
    // gw's own refusals (an allow-list, an unpriced model) are 400 there. The ledger keeps 403.
    let status = if aws && status == StatusCode::FORBIDDEN {
        StatusCode::BAD_REQUEST
    } else {
        status
    };
    let mut response = Response::new(full(route::error_body(provider, status, kind, message)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if aws {
        response.headers_mut().insert(
            "x-amzn-errortype",
            HeaderValue::from_static(route::aws_error_type(status)),
        );
    }
    response
        .extensions_mut()
        .insert(GwAnswer(message.to_string()));
    response
}

/// For a client that shows only a plain-text 400 at once (Codex retries every other 4xx five
/// times, then prints it wrapped in its own words; see [`route::wants_plain_errors`]): gw's own
/// refusals but 429 become `400 text/plain` holding the message. The ledger keeps the real
/// status.
fn plain_error(response: Response<ProxyBody>) -> Response<ProxyBody> {
    // A 429 with retry-after stays one: Codex waits it out and sends again, as it should.
    let refusal =
        response.status().is_client_error() && response.status() != StatusCode::TOO_MANY_REQUESTS;
    match response.extensions().get::<GwAnswer>() {
        Some(GwAnswer(message)) if refusal => {
            let mut plain = Response::new(full(Bytes::from(message.clone())));
            *plain.status_mut() = StatusCode::BAD_REQUEST;
            plain.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            if let Some(retry) = response.headers().get(header::RETRY_AFTER) {
                plain
                    .headers_mut()
                    .insert(header::RETRY_AFTER, retry.clone());
            }
            plain
        }
        _ => response,
    }
}

/// A request gw answers itself: recorded with `status`, zero tokens and `message`, and
/// answered in the provider's error shape. `cut` marks a request that broke off mid-way.
fn answer_failure(
    mut context: InFlight,
    cut: bool,
    status: StatusCode,
    kind: &str,
    message: String,
) -> Response<ProxyBody> {
    let provider = context.provider;
    context.status = status.as_u16();
    let response = error_response(Some(provider), status, kind, &message);
    context.end(cut, Some(message));
    response
}

/// A request let in: where it goes and with which headers, the session key already swapped for
/// a held provider key or removed.
struct Admitted {
    provider: Provider,
    /// Path and query after gw's prefix, as the upstream gets them.
    upstream_path: String,
    headers: http::HeaderMap,
    /// How the request proved it belongs to the session, when by a credential gw swapped.
    credential: Option<auth::CredentialPlace>,
}

/// The first phase: answers the agent's probe, checks the session key, picks the route (a
/// ChatGPT login on OpenAI's goes to ChatGPT's) and swaps the key. `Err` is the answer for a
/// request that goes no further.
fn admit(
    state: &ProxyState,
    req: &mut Request<Incoming>,
) -> Result<Admitted, Box<Response<ProxyBody>>> {
    // One spelling of the path for every check below and for the upstream: `%6Dessages` is
    // `messages`, and `/../` cannot climb out of an upstream's path prefix.
    let mut path_and_query = route::normalize(
        req.uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/"),
    )
    .into_owned();
    if route::is_base_probe(req.method(), &path_and_query) {
        // Claude Code checks its base URL answers before its first request: gw answers for the
        // upstream, with no session key needed and nothing recorded, as it costs nothing.
        return Err(Box::new(Response::new(full(Bytes::new()))));
    }
    let mut credential = None;
    if let Some(auth) = &state.auth {
        match auth.admit(&path_and_query, req.headers()) {
            auth::Admission::Path(rest) => path_and_query = rest.to_string(),
            auth::Admission::Credential(place) => credential = Some(place),
            auth::Admission::Header => {}
            auth::Admission::Refused => {
                tracing::warn!(
                    path = route::path_only(&path_and_query),
                    "refused a request without the session key"
                );
                let provider = route::split_prefix(&path_and_query).map(|(p, _)| p);
                return Err(Box::new(error_response(
                    provider,
                    StatusCode::UNAUTHORIZED,
                    "authentication_error",
                    "gw proxy: this proxy belongs to one gw session; send its session key (gw run sets it for the agent)",
                )));
            }
        }
    }
    let Some((provider, upstream_path)) = route::split_prefix(&path_and_query) else {
        return Err(Box::new(error_response(
            None,
            StatusCode::NOT_FOUND,
            "not_found",
            &format!(
                "gw proxy: unknown path; requests go under {}",
                crate::meter::PROVIDERS
                    .iter()
                    .map(|p| format!("/{}/", p.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )));
    };
    let mut upstream_path = upstream_path.to_string();
    let mut provider = provider;
    if provider == Provider::Bedrock
        && req.method() == http::Method::GET
        && route::path_only(&upstream_path).trim_end_matches('/') == "/inference-profiles"
    {
        // Claude Code lists the account's inference profiles at start, from the control plane
        // (another host than the runtime gw forwards to); none is needed: answered here, free.
        let mut answer = Response::new(full(Bytes::from_static(
            br#"{"inferenceProfileSummaries":[]}"#,
        )));
        answer.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return Err(Box::new(answer));
    }
    if credential.is_none() {
        // Codex signed in with a ChatGPT plan sends its turns to the base URL gw gave it, but
        // only ChatGPT's backend takes that login: route there what says it is one.
        if let Some(path) = route::chatgpt_route(provider, &upstream_path, req.headers()) {
            provider = Provider::ChatGpt;
            upstream_path = path;
        }
    }
    let mut headers = std::mem::take(req.headers_mut());
    // gw's own header never leaves the machine, however the request was admitted.
    headers.remove(auth::SESSION_KEY_HEADER);
    if credential == Some(auth::CredentialPlace::QueryKey) && provider != Provider::Gemini {
        // `?key=` is Gemini's: elsewhere gw would put a held key in a URL the upstream logs.
        return Err(Box::new(error_response(
            Some(provider),
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "gw proxy: send the session key in this provider's auth header, not in `?key=`",
        )));
    }
    if let (Some(auth), Some(place)) = (&state.auth, credential) {
        auth.swap(provider, place, &mut headers, &mut upstream_path);
    }
    if let Some(auth) = &state.auth {
        auth.scrub(&mut headers, &mut upstream_path);
    }
    Ok(Admitted {
        provider,
        upstream_path,
        headers,
        credential,
    })
}

async fn handle(state: &ProxyState, mut req: Request<Incoming>) -> Response<ProxyBody> {
    let Admitted {
        provider,
        upstream_path,
        headers,
        credential,
    } = match admit(state, &mut req) {
        Ok(admitted) => admitted,
        Err(answer) => return *answer,
    };
    let (mut headers, mut upstream_path) = (headers, upstream_path);
    if let (Provider::Vertex, Some(google)) = (provider, &state.google) {
        upstream_path = google.with_project(&upstream_path);
    }
    let upstream_path = upstream_path.as_str();
    // Every request from here on is a row: taken on only when the ledger writer has room.
    state.recorder.writer.room().await;
    let mut context = InFlight::new(RequestContext::new(
        state.recorder.clone(),
        provider,
        upstream_path,
        route::agent_session_id(&headers),
    ));
    // Refused here, these are rows too: an agent probing what gw's credentials open is seen.
    if let (Provider::Vertex, Some(google)) = (provider, &state.google) {
        if let Err(refused) = google.authorize(&mut headers, upstream_path).await {
            let (status, kind, reason, message) = match refused {
                google::Unauthorized::Forbidden(m) => (
                    StatusCode::FORBIDDEN,
                    "permission_error",
                    "not a model call",
                    m,
                ),
                google::Unauthorized::NoToken(m) => {
                    (StatusCode::BAD_GATEWAY, "api_error", "no Google token", m)
                }
            };
            tracing::warn!(path = route::path_only(upstream_path), %message, "a Vertex request did not get gw's token");
            state.refusals.count(reason);
            return answer_failure(context, false, status, kind, message);
        }
    }
    // gw's own cloud credential (an AWS signature or Bedrock key, an Azure key or Entra ID token)
    // opens more than models: it goes on model calls only (Vertex's token: `google::authorize`).
    if let Some(message) = cloud_credential_refusal(
        state,
        provider,
        credential.is_some(),
        context.protocol,
        req.method(),
        upstream_path,
    ) {
        state.refusals.count("not a model call");
        return answer_failure(
            context,
            false,
            StatusCode::FORBIDDEN,
            "permission_error",
            message,
        );
    }
    if let (Provider::Azure, Some(azure)) = (provider, &state.azure) {
        if let Err(message) = azure.authorize(&mut headers).await {
            tracing::warn!(%message, "an Azure request did not get gw's Entra ID token");
            state.refusals.count("no Entra ID token");
            return answer_failure(
                context,
                false,
                StatusCode::BAD_GATEWAY,
                "api_error",
                message,
            );
        }
    }
    let Some(upstream) = state.upstreams.get(provider) else {
        let info = provider.info();
        let message = format!(
            "gw proxy: no upstream for {name}: set [upstream] {name} in gw's config file, or {var} ({doc})",
            name = info.name,
            var = info.upstream_var,
            doc = info.upstream_doc
        );
        return answer_failure(
            context,
            false,
            StatusCode::BAD_GATEWAY,
            "api_error",
            message,
        );
    };
    if provider == Provider::Bedrock {
        context.region = match &state.aws {
            Some(signer) => Some(signer.region().to_string()),
            None => aws::region_of_host(upstream.host()),
        };
    }
    if credential.is_none() && route::subscription_login(provider, &headers) {
        context.billing = crate::meter::Billing::Subscription;
    }
    let uri = match upstream.join(upstream_path) {
        Ok(uri) => uri,
        Err(e) => {
            let message = format!("gw proxy: cannot build the upstream URL: {e}");
            return answer_failure(
                context,
                false,
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                message,
            );
        }
    };

    let (mut parts, incoming) = req.into_parts();
    parts.headers = headers;
    route::strip_hop_by_hop(&mut parts.headers);
    if let Ok(host) = HeaderValue::from_str(upstream.host()) {
        parts.headers.insert(header::HOST, host);
    }
    parts.uri = uri;

    // Under a budget or allow-list only what gw can meter, or knows to be free, goes upstream.
    let gate = match gate_for(
        state,
        provider,
        &parts.method,
        context.protocol,
        upstream_path,
    ) {
        Ok(gate) => gate,
        Err(refusal) => {
            state.refusals.count(&refusal.reason);
            return answer_failure(
                context,
                false,
                refusal.status,
                refusal.kind,
                refusal.message,
            );
        }
    };

    let RequestBody {
        body,
        filter,
        peeked,
        unmeterable,
        size,
    } = match read_request(
        state,
        gate.map(|g| &**g),
        context.protocol,
        context.meter(),
        &mut parts,
        incoming,
        upstream_path,
    )
    .await
    {
        Ok(read) => read,
        Err(f) => return answer_failure(context, f.cut, f.status, f.kind, f.message),
    };

    if let Some(gate) = gate {
        let model = match context.protocol {
            Protocol::Gemini => gemini_path_model(route::path_only(upstream_path))
                .ok_or_else(|| "the path names no model".to_string()),
            // Where the path names the model (Vertex, Bedrock, an Azure deployment) it is what
            // runs, whatever the body says: the gate checks that one.
            _ => match path_model(provider, route::path_only(upstream_path)) {
                Some(model) => Ok(model),
                None => peeked.and_then(|m| m.ok_or_else(|| "the body names no model".to_string())),
            },
        };
        let admitted = admit_to_gate(
            state,
            gate,
            provider,
            context.price_provider,
            unmeterable,
            model,
            size,
        )
        .await;
        match admitted {
            Ok(ticket) => context.ticket = Some(ticket),
            Err(refusal) => {
                tracing::info!(status = refusal.status.as_u16(), message = %refusal.message, "budget gate refused a request");
                state.refusals.count(&refusal.reason);
                // The request goes no further, but its body says which model was refused: let
                // the tap read it (bounded in size and time) so the row names the model.
                read_for_the_tap(body).await;
                let (retry_after, rate_limited) = (refusal.retry_after, refusal.rate_limited);
                let mut response = answer_failure(
                    context,
                    false,
                    refusal.status,
                    refusal.kind,
                    refusal.message,
                );
                if let Some(secs) = retry_after {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
                    if let Some(dimension) = rate_limited {
                        route::rate_limit_headers(
                            provider.family(),
                            dimension,
                            secs,
                            response.headers_mut(),
                        );
                    }
                }
                return response;
            }
        }
    }

    let body = match (provider, &state.aws) {
        (Provider::Bedrock, Some(signer)) => {
            match sign_for_aws(
                signer,
                &mut parts,
                body,
                state.policy.max_body_bytes,
                state.upstream_idle,
            )
            .await
            {
                Ok(body) => body,
                Err(f) => return answer_failure(context, f.cut, f.status, f.kind, f.message),
            }
        }
        _ => body,
    };
    let upstream_response =
        match forward(state, upstream.host(), Request::from_parts(parts, body)).await {
            Ok(response) => response,
            Err(f) => return answer_failure(context, f.cut, f.status, f.kind, f.message),
        };
    wrap_response(state, context, upstream_response, filter)
}

/// Bedrock with gw's AWS keys: the body is read whole (bounded, as any body gw reads) and the
/// request signed over exactly what goes upstream.
async fn sign_for_aws(
    signer: &aws::AwsSigner,
    parts: &mut http::request::Parts,
    body: ProxyBody,
    limit: usize,
    idle: Duration,
) -> Result<ProxyBody, Failure> {
    let mut body = body;
    let mut bytes = bytes::BytesMut::new();
    loop {
        // A client that drips its body holds the request no longer than the idle timeout.
        let Ok(next) = tokio::time::timeout(idle, body.frame()).await else {
            return Err(Failure {
                cut: true,
                status: StatusCode::REQUEST_TIMEOUT,
                kind: "invalid_request_error",
                message: format!(
                    "gw proxy: the request body stalled for {} s",
                    idle.as_secs()
                ),
            });
        };
        let Some(frame) = next else {
            break;
        };
        let frame = frame.map_err(|e| Failure {
            cut: true,
            status: StatusCode::BAD_REQUEST,
            kind: "invalid_request_error",
            message: format!("gw proxy: reading the request body failed: {e}"),
        })?;
        let Some(data) = frame.data_ref() else {
            continue;
        };
        if bytes.len() + data.len() > limit {
            return Err(Failure {
                cut: false,
                status: StatusCode::PAYLOAD_TOO_LARGE,
                kind: "request_too_large",
                message: format!(
                    "gw proxy: the request body is larger than {} MiB, the most gw reads to sign a request; raise [proxy] max_body_mib in gw's config file",
                    limit >> 20
                ),
            });
        }
        bytes.extend_from_slice(data);
    }
    let bytes = bytes.freeze();
    let credentials = signer.credentials().await.map_err(|message| {
        tracing::warn!(%message, "no AWS credentials");
        Failure {
            cut: false,
            status: StatusCode::BAD_GATEWAY,
            kind: "api_error",
            message: format!("gw proxy: {message}"),
        }
    })?;
    signer
        .sign(
            &credentials,
            &parts.method,
            &parts.uri,
            &mut parts.headers,
            &bytes,
            std::time::SystemTime::now(),
        )
        .map_err(|message| Failure {
            cut: false,
            status: StatusCode::BAD_GATEWAY,
            kind: "api_error",
            message: format!("gw proxy: {message}"),
        })?;
    Ok(full(bytes))
}

/// Why a request on a cloud route may not carry gw's own credential, if it may not: gw holds
/// one for `provider` (one it signs or fetches, or the held key the request's session key
/// stands for) and the request is not a model call (Bedrock: `/model/<id>/<operation>`; Azure:
/// responses, chat completions, the model list).
fn cloud_credential_refusal(
    state: &ProxyState,
    provider: Provider,
    keyed: bool,
    protocol: Protocol,
    method: &http::Method,
    upstream_path: &str,
) -> Option<String> {
    let signs = match provider {
        Provider::Bedrock => state.aws.is_some(),
        Provider::Azure => state.azure.is_some(),
        _ => return None,
    };
    let holds = keyed && state.auth.as_ref().is_some_and(|a| a.holds(provider));
    if !(signs || holds) {
        return None;
    }
    let path = route::path_only(upstream_path);
    let (model_call, which, calls) = match provider {
        Provider::Bedrock => (
            aws::is_model_call(upstream_path),
            "AWS",
            "Bedrock model calls pass (/model/<id>/invoke, converse…)",
        ),
        _ => (
            matches!(protocol, Protocol::OpenAiResponses | Protocol::OpenAiChat)
                || (method == http::Method::GET && path.ends_with("/models")),
            "Azure",
            "Azure OpenAI model calls pass (responses, chat/completions, the model list)",
        ),
    };
    (!model_call).then(|| format!("gw: with gw's {which} credentials only {calls}, not {path}"))
}

/// The forward phase: the request goes upstream, within the idle timeout (which also runs
/// while the body streams up: agents send theirs at once). `Err` is gw's answer instead: 504 for
/// a silent upstream (cut: it may still bill for what it received), 502 for an unreachable one.
async fn forward(
    state: &ProxyState,
    upstream_host: &str,
    request: Request<ProxyBody>,
) -> Result<Response<Incoming>, Failure> {
    match tokio::time::timeout(state.upstream_idle, state.client.request(request)).await {
        Ok(Ok(response)) => Ok(response),
        Err(_) => {
            let message = format!(
                "gw proxy: upstream {upstream_host} sent no response in {} s",
                state.upstream_idle.as_secs_f32()
            );
            tracing::warn!(%message);
            Err(Failure {
                cut: true,
                status: StatusCode::GATEWAY_TIMEOUT,
                kind: "api_error",
                message,
            })
        }
        Ok(Err(e)) => {
            let message = format!(
                "gw proxy: upstream {upstream_host} unreachable: {}",
                error_chain(&e)
            );
            tracing::warn!(%message);
            Err(Failure {
                cut: false,
                status: StatusCode::BAD_GATEWAY,
                kind: "api_error",
                message,
            })
        }
    }
}

/// The last phase: the upstream's response goes back to the agent unchanged, through the
/// meter (and the filter that hides a usage chunk gw asked for, unless the upstream compressed
/// the stream anyway); the request is recorded when its body ends.
fn wrap_response(
    state: &ProxyState,
    mut context: InFlight,
    response: Response<Incoming>,
    mut filter: Option<ChatUsageChunkFilter>,
) -> Response<ProxyBody> {
    let (mut parts, incoming) = response.into_parts();
    context.status = parts.status.as_u16();
    context.upstream_request_id = route::upstream_request_id(&parts.headers);
    let header_str = |name| {
        parts
            .headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let tap = ResponseTap::new(
        context.protocol,
        header_str(header::CONTENT_TYPE),
        header_str(header::CONTENT_ENCODING),
    );
    route::strip_hop_by_hop(&mut parts.headers);
    if header_str_encoded(&parts.headers) {
        // An upstream that compresses anyway: pass its bytes untouched rather than filter them.
        filter = None;
    }
    if filter.is_some() {
        parts.headers.remove(header::CONTENT_LENGTH);
    }
    Response::from_parts(
        parts,
        MeteredBody::new(
            incoming,
            tap,
            filter,
            context.responding(),
            state.upstream_idle,
        )
        .boxed(),
    )
}

/// What the body phase learnt of a request, and the body to send on.
struct RequestBody {
    body: ProxyBody,
    /// Hides from the client the usage chunk gw asked for.
    filter: Option<ChatUsageChunkFilter>,
    /// The model the body names, or why that cannot be told.
    peeked: Result<Option<String>, String>,
    /// Why a gated request cannot be metered, model or not.
    unmeterable: Option<String>,
    /// Its size, for a strict budget's bound (read under a strict budget only), or why it has
    /// none.
    size: Option<Result<policy::RequestSize, String>>,
}

/// An answer gw gives instead of forwarding; `cut` when the request broke off.
struct Failure {
    cut: bool,
    status: StatusCode,
    kind: &'static str,
    message: String,
}

/// The body phase: a body gw must read (Chat Completions, where gw asks for the usage; a gated
/// request, whose model must be checked first) is read, bounded, and parsed once; any other
/// streams through to the upstream while the meter reads it.
async fn read_request(
    state: &ProxyState,
    gate: Option<&BudgetGate>,
    protocol: Protocol,
    meter: metering::MeterFeed,
    parts: &mut http::request::Parts,
    incoming: Incoming,
    upstream_path: &str,
) -> Result<RequestBody, Failure> {
    // Chat Completions streams carry usage only when asked: gw asks, and hides the extra chunk.
    // A gated request needs its model before it goes out: read the body (bounded) and parse it.
    // Gemini names the model in the path instead.
    let (gated, strict) = (gate.is_some(), gate.is_some_and(BudgetGate::is_strict));
    // A strict budget bounds a request by its body: read Gemini's too.
    let read_body = parts.method == http::Method::POST
        && (protocol == Protocol::OpenAiChat
            || (gated && (protocol != Protocol::Gemini || strict)));
    let mut filter = None;
    let mut peeked: Result<Option<String>, String> = Err("the body was not read".into());
    // A stream that does not ask for its usage: gw must ask for it, or cannot meter it.
    let mut stream_without_usage = false;
    let mut size = None;
    // Why a gated request could not be metered even with its model known.
    let mut unmeterable = if gated {
        policy::unmeterable(upstream_path, &parts.headers)
    } else {
        None
    };
    let body = if read_body {
        let bytes = match policy::read_body(incoming, &parts.headers, state.policy.max_body_bytes)
            .await
        {
            Ok(bytes) => bytes,
            Err(BodyError::TooLarge { limit }) => {
                let message = format!(
                        "gw proxy: the request body is larger than {} MiB, the most gw reads to check a request; raise [proxy] max_body_mib in gw's config file if your agent really sends such requests",
                        limit >> 20
                    );
                return Err(Failure {
                    cut: false,
                    status: StatusCode::PAYLOAD_TOO_LARGE,
                    kind: "request_too_large",
                    message,
                });
            }
            Err(BodyError::Read(e)) => {
                let message = format!("gw proxy: reading the request body failed: {e}");
                return Err(Failure {
                    cut: true,
                    status: StatusCode::BAD_REQUEST,
                    kind: "invalid_request_error",
                    message,
                });
            }
        };
        let info = match policy::peek(&bytes, &parts.headers) {
            Ok(checked) => {
                if strict {
                    size = Some(policy::strict_size(&bytes, &checked.limits, protocol));
                }
                peeked = Ok(checked.info.model.clone());
                stream_without_usage = checked.info.stream == Some(true) && !checked.include_usage;
                if checked.background && gated {
                    unmeterable.get_or_insert_with(|| {
                        "it asks for a background response, billed after an answer that carries no usage".into()
                    });
                }
                checked.info
            }
            Err(why) => {
                if strict {
                    size = Some(Err(why.clone()));
                }
                peeked = Err(why);
                // Still name what can be seen on the ledger row.
                let mut tap = RequestTap::new();
                tap.feed(&bytes);
                tap.finish()
            }
        };
        meter.request_info(info);
        let injected = if protocol == Protocol::OpenAiChat {
            inject_include_usage(&bytes)
        } else {
            None
        };
        if gated && protocol == Protocol::OpenAiChat && stream_without_usage && injected.is_none() {
            unmeterable.get_or_insert_with(|| {
                "it is a stream whose usage gw cannot ask for (check stream_options)".into()
            });
        }
        let bytes = match injected {
            Some(changed) => {
                filter = Some(ChatUsageChunkFilter::new());
                // The filter works on plain SSE, so ask for it uncompressed.
                parts.headers.insert(
                    header::ACCEPT_ENCODING,
                    HeaderValue::from_static("identity"),
                );
                Bytes::from(changed)
            }
            None => bytes,
        };
        parts
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
        full(bytes)
    } else {
        RequestTapBody::new(incoming, meter).boxed()
    };
    Ok(RequestBody {
        body,
        filter,
        peeked,
        unmeterable,
        size,
    })
}

/// The gate phase's first half: which budget gate, if any, a request answers to. Under a budget
/// or a model allow-list, an endpoint gw does not meter is refused unless `[proxy]
/// allow_unmetered` names it; one gw meters goes through the gate; a free one does not.
fn gate_for<'s>(
    state: &'s ProxyState,
    provider: Provider,
    method: &http::Method,
    protocol: Protocol,
    upstream_path: &str,
) -> Result<Option<&'s Arc<BudgetGate>>, Refusal> {
    let endpoint = policy::endpoint(provider, method, protocol, route::path_only(upstream_path));
    match (&state.gate, endpoint) {
        (None, _) | (Some(_), Endpoint::Free) => Ok(None),
        (Some(gate), Endpoint::Metered) => Ok(Some(gate)),
        (Some(_), Endpoint::Unmetered) => {
            // The route the request really takes: a ChatGPT login re-routed from `/openai/`
            // is checked (and named) as `/chatgpt/…`.
            let path = format!("/{provider}{}", route::path_only(upstream_path));
            if state.policy.allows_unmetered(&path) {
                return Ok(None);
            }
            Err(Refusal::new(
                StatusCode::FORBIDDEN,
                "permission_error",
                "unmetered endpoint",
                format!(
                    "gw: {method} {path} is not an endpoint gw meters, and this session has a budget or a model allow-list, so gw does not forward it. To let it through unmetered, add \"{path}\" to [proxy] allow_unmetered in gw's config file (`gw config` shows where)"
                ),
            ))
        }
    }
}

/// The gate phase's second half: a metered request goes upstream only when gw can meter it,
/// knows its model, can price it, and the gate (budget and allow-list) admits it.
/// `provider` is the route the request is priced as, `route` the one it is sent to (whose
/// aliases name its models).
async fn admit_to_gate(
    state: &ProxyState,
    gate: &Arc<BudgetGate>,
    route: Provider,
    provider: Provider,
    unmeterable: Option<String>,
    model: Result<String, String>,
    size: Option<Result<policy::RequestSize, String>>,
) -> Result<gate::Ticket, Refusal> {
    match (unmeterable, model) {
        (Some(why), _) => Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "cannot be metered",
            format!(
                "gw: this request cannot be metered: {why}; under a budget gw forwards only requests it can meter"
            ),
        )),
        (None, Err(why)) => Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "model unknown",
            format!(
                "gw: cannot tell which model this request is for ({why}); under a budget or a model allow-list gw forwards only requests whose model it can check"
            ),
        )),
        (None, Ok(model)) => {
            let prices = state.recorder.prices();
            let price = prices.lookup(provider, prices.requested(route, model.as_str()));
            if let Some(refusal) = unpriced_refusal(state, price.is_some(), &model) {
                return Err(refusal);
            }
            let bound = match price {
                Some(price) if gate.is_strict() => strict_bound(price, provider, &model, size)?,
                _ => None,
            };
            gate.admit(Some(&model), bound.as_ref()).await
        }
    }
}

/// What a request may cost at most, for a strict gate: its body's bytes (and a share per image)
/// as input tokens at the dearest input rate, its output limit (the model's own when it sets
/// none) at the dearest output rate, by `price`. `None` when gw knows no output limit for the
/// model; a refusal when its input is not in its body.
fn strict_bound(
    price: &crate::pricing::ModelPrice,
    provider: Provider,
    model: &str,
    size: Option<Result<policy::RequestSize, String>>,
) -> Result<Option<gate::Bound>, Refusal> {
    let refuse = |why: &str| {
        Refusal::budget(
            "strict budget",
            format!(
                "gw: a strict budget is over this session and this request's input is not all in its body ({why}), so gw cannot bound what it may cost and does not forward it"
            ),
        )
    };
    let size = match size {
        Some(Ok(size)) => size,
        Some(Err(why)) => return Err(refuse(&why)),
        None => return Err(refuse("gw could not read it")),
    };
    let Some(input) = size.input_bound() else {
        return Err(refuse(size.unbounded.as_deref().unwrap_or("unknown")));
    };
    let Some(limit) = size.max_output.or(price.max_output) else {
        return Ok(None);
    };
    let output = limit.saturating_mul(size.outputs);
    let nanos = price.upper_bound_nanos(provider.family(), input, output, size.caches);
    let reckoned = format!(
        "{input} input tokens at most{}, {output} output tokens{} at {model}'s rates",
        if size.images > 0 {
            format!(
                " (its {} bytes and {} possible images)",
                size.body_bytes, size.images
            )
        } else {
            format!(" (its {} bytes)", size.body_bytes)
        },
        if size.max_output.is_some() {
            ""
        } else {
            " (the model's maximum: the request sets no limit)"
        },
    );
    Ok(Some(gate::Bound {
        nanos: i64::try_from(nanos).unwrap_or(i64::MAX),
        reckoned,
    }))
}

/// Under a budget, a model gw has no price for (`priced` is false) would settle at $0: refused
/// unless `[proxy] unpriced` says otherwise.
fn unpriced_refusal(state: &ProxyState, priced: bool, model: &str) -> Option<Refusal> {
    if state.recorder.unpriced != UnpricedPolicy::Refuse || priced {
        return None;
    }
    Some(Refusal::new(
        StatusCode::FORBIDDEN,
        "permission_error",
        "unpriced model",
        format!(
            "gw: model `{model}` has no price in gw's table, and this session has a budget: gw cannot count what it costs, so it refuses it. Price it with [prices.\"{model}\"] in gw's config file (input and output USD per million tokens), ask an admin to price it on the gw server (gw admin price set), or set [proxy] unpriced = \"allow\" or {{ charge_as = \"<a priced model>\" }}"
        ),
    ))
}

/// Reads a refused request's body so its [`RequestTapBody`] passes it to the tap: up to 4 MiB
/// and 2 s, whichever comes first (the model is near the start of every agent's request).
async fn read_for_the_tap(mut body: ProxyBody) {
    const MAX_BYTES: usize = 4 << 20;
    let read = async {
        let mut seen = 0;
        while seen < MAX_BYTES {
            match body.frame().await {
                Some(Ok(frame)) => seen += frame.data_ref().map_or(0, |d| d.len()),
                _ => break,
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), read).await;
}

fn header_str_encoded(headers: &http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| !v.trim().eq_ignore_ascii_case("identity"))
}

/// The error and its causes on one line: hyper's own message alone rarely says what went wrong.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
