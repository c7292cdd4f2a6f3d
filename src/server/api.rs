//! The HTTP API of `gw server`, version 1.
//!
//! Every endpoint but `/healthz` needs `Authorization: Bearer <token>`: a virtual key
//! (`gwk_<key id>_<secret>`) or the admin token (`gwa_…`, from `gw server init`). A key sees
//! only its own identity, budgets, leases and spend. Bodies are JSON (`Content-Type:
//! application/json`); unknown fields are refused. Money is integer nano-dollars (`*_nanos`),
//! with USD numbers beside it for reading (`*_usd`); admin inputs take `limit_usd` as a number
//! or decimal string. Times are RFC 3339 (UTC) or, on usage rows, Unix microseconds.
//!
//! Errors: `{"error": {"type": "...", "message": "..."}}` with 400 `invalid_request`,
//! 401 `unauthorized`, 403 `forbidden`, 404 `not_found`, 409 `conflict`, 410 `gone`,
//! 413 `too_large`, 402 `budget_exhausted` (plus `"budget": <budget status>`), 500 `server_error`.
//! A usage batch refused for rows that can never be taken answers 400 with
//! `"rows": [{index, id, reason}]`, every such row named: the client sets those aside and sends
//! the rest again.
//!
//! | method and path | who | body → answer |
//! | --- | --- | --- |
//! | `GET /healthz` | anyone | `{"status":"ok","backend":"sqlite"}` (503 when the database is unreachable) |
//! | `GET /metrics` | admin | Prometheus text |
//! | `GET /v1/whoami` | key | `{key_id, key_name, developer, developer_name, team, org, tz, models, expires_at, prices}` (`prices`: the org's model prices, model → price); admin: `{"admin": true}` |
//! | `GET /v1/budgets` | key | `{"budgets": [budget status]}`: every budget on the key, its developer, team and org |
//! | `POST /v1/leases` | key | `{session_id, amount_nanos}` → `{lease_id, session_id, granted_nanos, expires_at, ttl_secs, limited_by}`; 402 when nothing is left |
//! | `POST /v1/leases/{lease_id}/renew` | key | `{amount_nanos?}` (top-up) → `{lease_id, session_id, granted_nanos, added_nanos, consumed_nanos, expires_at, ttl_secs, limited_by}`; 410 once expired, 409 once released |
//! | `POST /v1/leases/{lease_id}/release` | key | `{spent_nanos}` → `{lease_id, granted_nanos, spent_nanos, returned_nanos}` (idempotent) |
//! | `POST /v1/usage` | key | `{"rows": [usage row]}` (≤ 5000 rows, ≤ 8 MiB, ≤ $100,000 in all) → `{accepted, duplicates, budgets: [budget status]}`; all or nothing |
//! | `GET /v1/reports/spend` | key, admin | query `period=today\|yesterday\|week\|month\|all`, `since`, `until`, `tz`, `by=day,model,…`, `scope`, `name` → the `gw spend --json` shape plus `scope` |
//! | `GET/POST /v1/admin/orgs`, `PATCH /v1/admin/orgs/{name}`, `POST /v1/admin/orgs/{name}/revoke` | admin | `{name, tz?}` / `{tz}` → org `{name, tz, created_at}`; list `{"orgs": [...]}`; revoke deactivates the org's developers and revokes its keys → `{"keys": [revoked key]}` |
//! | `GET/POST /v1/admin/teams` (`?org=`), `PATCH /v1/admin/teams/{org}/{team}`, `POST /v1/admin/teams/{org}/{team}/revoke` | admin | `{org, name}` / `{name}` (rename) → `{org, name, path, created_at}`; list `{"teams": [...]}`; revoke revokes the keys issued for the team → `{"keys": [revoked key]}` |
//! | `GET/POST /v1/admin/users` (`?org=`), `PATCH /v1/admin/users/{email}`, `POST /v1/admin/users/{email}/revoke` | admin | `{email, org, team?, name?}` / `{name?, team?}` → `{email, name, org, team, active, created_at}`; list `{"users": [...]}`; revoke also revokes the user's keys |
//! | `GET/POST /v1/admin/keys` (`?developer=&org=`), `PATCH /v1/admin/keys/{key_id}`, `POST /v1/admin/keys/{key_id}/revoke` | admin | `{developer, team?, name?, expires_at?, models?}` / `{name?, expires_at?, models?}` → `{key_id, name, developer, org, team, active, expires_at, models, created_at, key}` (`key` only on create); list `{"keys": [...]}` |
//! | `GET/POST /v1/admin/budgets` (`?scope=&name=`), `PATCH/DELETE /v1/admin/budgets/{id}` | admin | `{scope, name, limit_usd, period, soft_threshold?}` / `{limit_usd?, soft_threshold?}` → budget status; list `{"budgets": [...]}` |
//! | `GET/POST /v1/admin/limits`, `PATCH/DELETE /v1/admin/limits/{id}` | admin | `{scope, name, window_secs, max_requests?, max_tokens?}` / `{max_requests?, max_tokens?}` → rate limit (with what was granted in its current window); list `{"limits": [...]}` |
//! | `GET /v1/admin/prices` (`?org=`), `PUT/DELETE /v1/admin/prices/{org}/{model}` | admin | a price → `{org, model, price, updated_at}`; list `{"prices": [...]}`; delete answers the price it deleted |
//!
//! A price is USD per million tokens, as `[prices."model"]` in gw's config (`PriceOverride`):
//! `{input, output, cache_read?, cache_write_5m?, cache_write_1h?, reasoning?, above_tokens?,
//! input_above?, output_above?, cache_read_above?, cache_write_5m_above?, cache_write_1h_above?}`.
//! Model names are stored lower-case; setting one again replaces it.
//!
//! A budget status: `{id, scope: org|team|developer|key, name, period: hour|day|week|month|total,
//! limit_nanos, limit_usd, spent_nanos, spent_usd, reserved_nanos, remaining_nanos,
//! remaining_usd, soft_threshold, soft_exceeded, exhausted, period_start, resets_at, tz}`.
//! Scope names: org name, `org/team`, developer email, key id.
//!
//! A usage row mirrors `ledger::Row`: `{id (UUIDv7), started_at_us, ended_at_us, provider,
//! endpoint, requested_model, model, status, streamed, incomplete, input_tokens, output_tokens,
//! cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, reasoning_tokens,
//! cost_nanos (null: unpriced), price_version, latency_us, ttfb_us, upstream_request_id,
//! session_id, agent, agent_version, agent_session_id, developer, project, branch, task, cwd,
//! host, key_id, error}`; `id`, `started_at_us`, `provider` and `session_id` are required, the
//! rest default. Token counts are at most 10^9 each and `cost_nanos` at most $1,000 per row
//! (`crate::limits`). A row's cost is charged to the latest lease of its key and `session_id`.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{
    DefaultBodyLimit, FromRequest, FromRequestParts, MatchedPath, Path, Request, State,
};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

use super::admin;
use super::db::Store;
use super::error::ApiError;
use super::metrics::Metrics;
use super::ops::{self, Caller, KeyCtx};
use super::report::{self, ReportScope, SpendParams};
use crate::api::{LeaseRequest, ReleaseRequest, RenewRequest, Scope, UsageBatch, UsageRow};
use crate::otel;
use crate::pricing::PriceOverride;

pub use crate::api::{MAX_AMOUNT_NANOS, MAX_BATCH_ROWS, MAX_BODY_BYTES};

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub metrics: Arc<Metrics>,
    pub lease_ttl_secs: i64,
    /// OTLP export of ingested rows, when configured.
    pub export: Option<otel::Exporter>,
    /// The web dashboard's state.
    pub web: Arc<super::web_state::WebState>,
}

/// The API, with `pages` (the web dashboard) served beside it.
pub fn router(state: AppState, pages: Router<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/v1/whoami", get(whoami))
        .route("/v1/budgets", get(budgets))
        .route("/v1/leases", post(create_lease))
        .route("/v1/leases/{id}/renew", post(renew_lease))
        .route("/v1/leases/{id}/release", post(release_lease))
        .route("/v1/usage", post(ingest))
        .route("/v1/reports/spend", get(spend))
        .route("/v1/admin/orgs", get(list_orgs).post(create_org))
        .route("/v1/admin/orgs/{name}", patch(update_org))
        .route("/v1/admin/orgs/{name}/revoke", post(revoke_org))
        .route("/v1/admin/teams/{org}/{team}", patch(update_team))
        .route("/v1/admin/teams/{org}/{team}/revoke", post(revoke_team))
        .route("/v1/admin/teams", get(list_teams).post(create_team))
        .route("/v1/admin/users", get(list_users).post(create_user))
        .route("/v1/admin/users/{email}", patch(update_user))
        .route("/v1/admin/users/{email}/revoke", post(revoke_user))
        .route("/v1/admin/keys", get(list_keys).post(create_key))
        .route("/v1/admin/keys/{key_id}", patch(update_key))
        .route("/v1/admin/keys/{key_id}/revoke", post(revoke_key))
        .route("/v1/admin/budgets", get(list_budgets).post(create_budget))
        .route(
            "/v1/admin/budgets/{id}",
            patch(update_budget).delete(delete_budget),
        )
        .route("/v1/admin/limits", get(list_limits).post(create_limit))
        .route(
            "/v1/admin/limits/{id}",
            patch(update_limit).delete(delete_limit),
        )
        .route("/v1/admin/prices", get(list_prices))
        .route(
            "/v1/admin/prices/{org}/{model}",
            put(set_price).delete(delete_price),
        )
        .merge(pages)
        .fallback(|| async {
            ApiError::NotFound("no such endpoint; see the API in src/server/api.rs".into())
        })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

async fn count_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // Any method a client makes up would be a series of its own.
    let method = match *req.method() {
        Method::GET | Method::POST | Method::PUT | Method::PATCH | Method::DELETE => {
            req.method().to_string()
        }
        _ => "other".to_string(),
    };
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let resp = next.run(req).await;
    state
        .metrics
        .count_http(&method, &route, resp.status().as_u16());
    resp
}

/// `Json<T>` whose rejections are API errors with a clear message.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(e) => Err(json_error(e)),
        }
    }
}

fn json_error(e: JsonRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::TooLarge(format!(
            "request body over {} MiB: send at most {MAX_BATCH_ROWS} rows per batch",
            MAX_BODY_BYTES / (1024 * 1024)
        ));
    }
    ApiError::BadRequest(e.body_text())
}

/// `Query<T>` whose rejections are API errors.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or("");
        serde_urlencoded_like(q).map(ApiQuery)
    }
}

/// Parses a query string into `T` (values percent-decoded) through serde_json.
fn serde_urlencoded_like<T: DeserializeOwned>(q: &str) -> Result<T, ApiError> {
    let mut map = serde_json::Map::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        map.insert(decode(k), serde_json::Value::String(decode(v)));
    }
    serde_json::from_value(serde_json::Value::Object(map))
        .map_err(|e| ApiError::BadRequest(format!("invalid query string: {e}")))
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(
                    std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                    16,
                ) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    ops::authenticate(state.store.as_ref(), bearer(headers)?).await
}

/// The bearer token of a request.
fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or_else(|| {
            ApiError::Unauthorized(
                "missing credentials: send `Authorization: Bearer <gw key or admin token>`".into(),
            )
        })
}

async fn key(state: &AppState, headers: &HeaderMap) -> Result<KeyCtx, ApiError> {
    match caller(state, headers).await? {
        Caller::Key(k) => Ok(*k),
        Caller::Admin => Err(ApiError::Forbidden(
            "this endpoint needs a gw key, not the admin token".into(),
        )),
    }
}

/// Extracting it proves the caller holds the admin token; admin handlers take it first, so a
/// caller without the token is refused before its request is read.
struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match caller(state, &parts.headers).await? {
            Caller::Admin => Ok(Admin),
            Caller::Key(_) => Err(ApiError::Forbidden(
                "this endpoint needs the admin token (GW_ADMIN_TOKEN)".into(),
            )),
        }
    }
}

async fn healthz(State(state): State<AppState>) -> Response {
    let backend = state.store.backend().name();
    match state.store.begin(false).await {
        Ok(_) => Json(json!({"status": "ok", "backend": backend})).into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "backend": backend, "message": e.to_string()})),
        )
            .into_response(),
    }
}

/// The admin, or the metrics-only token (`gwm_…`), which reads `/metrics` and nothing else.
struct MetricsReader;

impl FromRequestParts<AppState> for MetricsReader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let metrics_token = bearer(&parts.headers)
            .ok()
            .filter(|t| t.starts_with(super::secret::METRICS_PREFIX));
        match metrics_token {
            Some(token) => {
                match ops::is_token(state.store.as_ref(), ops::ServerToken::Metrics, token).await? {
                    true => Ok(MetricsReader),
                    false => Err(ApiError::Unauthorized(
                        "invalid metrics token: create one with `gw server init --metrics-token`"
                            .into(),
                    )),
                }
            }
            None => Admin::from_request_parts(parts, state)
                .await
                .map(|_| MetricsReader),
        }
    }
}

async fn metrics(State(state): State<AppState>, _: MetricsReader) -> Result<Response, ApiError> {
    let text = super::metrics::render(state.store.as_ref(), &state.metrics).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}

async fn whoami(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    Ok(match caller(&state, &headers).await? {
        Caller::Admin => Json(json!({"admin": true})).into_response(),
        Caller::Key(k) => {
            let prices = admin::org_prices(state.store.as_ref(), k.org_id).await?;
            Json(k.whoami(prices)).into_response()
        }
    })
}

async fn budgets(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let k = key(&state, &headers).await?;
    let budgets = ops::budgets_for_key(state.store.as_ref(), &k).await?;
    let limits = ops::limits_for_key(state.store.as_ref(), &k).await?;
    Ok(Json(json!({ "budgets": budgets, "limits": limits })).into_response())
}

fn check_amount(field: &str, v: i64, allow_zero: bool) -> Result<i64, ApiError> {
    if v < 0 || (!allow_zero && v == 0) || v > MAX_AMOUNT_NANOS {
        let min = if allow_zero { "0" } else { "1" };
        return Err(ApiError::BadRequest(format!(
            "{field} {v} is out of range: from {min} to {MAX_AMOUNT_NANOS} (nano-dollars)"
        )));
    }
    Ok(v)
}

async fn create_lease(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<LeaseRequest>,
) -> Result<Response, ApiError> {
    let k = key(&state, &headers).await?;
    let amount = check_amount("amount_nanos", req.amount_nanos, false)?;
    let features = headers
        .get(crate::api::FEATURES_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let enforces = |feature: &str| features.split(',').any(|f| f.trim() == feature);
    if req.session_id.is_empty() || req.session_id.len() > 200 {
        return Err(ApiError::BadRequest(
            "session_id must be 1-200 characters".into(),
        ));
    }
    match ops::create_lease(
        state.store.as_ref(),
        &k,
        &req.session_id,
        amount,
        state.lease_ttl_secs,
    )
    .await
    {
        // An older gw would spend past a strict budget or a rate limit: no lease for it.
        Ok(grant)
            if (grant.strict && !enforces("strict-budgets"))
                || (!grant.rates.is_empty() && !enforces("rate-limits")) =>
        {
            ops::release_lease(state.store.as_ref(), &k, &grant.lease_id, 0).await?;
            Err(ApiError::Forbidden(
                "a strict budget or a rate limit is over this key, and this gw does not enforce it: upgrade gw (./install.sh) and start the session again".into(),
            ))
        }
        Ok(grant) => {
            Metrics::add(&state.metrics.leases_granted, 1);
            Metrics::add(
                &state.metrics.lease_granted_nanos,
                grant.granted_nanos as u64,
            );
            Ok(Json(grant).into_response())
        }
        Err(e) => {
            if let ApiError::BudgetExhausted { budget, .. } = &e {
                Metrics::add(&state.metrics.leases_denied, 1);
                state.metrics.count_lease_refusal(budget.scope);
            }
            Err(e)
        }
    }
}

async fn renew_lease(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<RenewRequest>,
) -> Result<Response, ApiError> {
    let k = key(&state, &headers).await?;
    let top_up = check_amount("amount_nanos", req.amount_nanos.unwrap_or(0), true)?;
    let lease = ops::renew_lease(
        state.store.as_ref(),
        &k,
        &id,
        top_up,
        req.rates,
        state.lease_ttl_secs,
    )
    .await
    .inspect_err(|e| {
        if let ApiError::BudgetExhausted { budget, .. } = e {
            state.metrics.count_lease_refusal(budget.scope);
        }
    })?;
    Metrics::add(&state.metrics.lease_granted_nanos, lease.added_nanos as u64);
    Ok(Json(lease).into_response())
}

async fn release_lease(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ReleaseRequest>,
) -> Result<Response, ApiError> {
    let k = key(&state, &headers).await?;
    let spent = check_amount("spent_nanos", req.spent_nanos, true)?;
    Ok(Json(ops::release_lease(state.store.as_ref(), &k, &id, spent).await?).into_response())
}

async fn ingest(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<UsageBatch>, JsonRejection>,
) -> Result<Response, ApiError> {
    let k = key(&state, &headers).await?;
    let result = async {
        let Json(batch) = body.map_err(json_error)?;
        if batch.rows.len() > MAX_BATCH_ROWS {
            return Err(ApiError::TooLarge(format!(
                "{} rows in one batch: send at most {MAX_BATCH_ROWS} per request",
                batch.rows.len()
            )));
        }
        ops::check_batch(&batch.rows)?;
        let (result, new_ids) = ops::ingest(state.store.as_ref(), &k, &batch.rows).await?;
        // The rows stored: of an id new to the server, its first copy in the batch (a later
        // copy was a duplicate, whatever figures it carried).
        let mut fresh: std::collections::HashSet<&str> =
            new_ids.iter().map(String::as_str).collect();
        // Imported rows (history from agents' logs) are kept and reported, and are no live
        // traffic: no ingest lag, no OTLP export (migration 9).
        let stored: Vec<usize> = (0..batch.rows.len())
            .filter(|&i| fresh.remove(batch.rows[i].id.as_str()))
            .filter(|&i| batch.rows[i].source.is_proxy())
            .collect();
        state.metrics.observe_lag(
            stored
                .iter()
                .map(|&i| batch.rows[i].ended_at_us.max(batch.rows[i].started_at_us)),
            ops::now_us(),
        );
        if let Some(export) = &state.export {
            let mut rows = batch.rows;
            export_rows(
                export,
                &k,
                stored.iter().map(|&i| std::mem::take(&mut rows[i])),
            );
        }
        Ok(result)
    }
    .await;
    match result {
        Ok(r) => {
            Metrics::add(&state.metrics.ingest_batches, 1);
            Metrics::add(&state.metrics.ingest_accepted, r.accepted);
            Metrics::add(&state.metrics.ingest_duplicates, r.duplicates);
            Ok(Json(r).into_response())
        }
        Err(e) => {
            Metrics::add(&state.metrics.ingest_rejected, 1);
            Err(e)
        }
    }
}

/// Hands the batch's new rows to OTLP export, attributed as stored: to the key's developer,
/// team and org, whatever the rows said.
fn export_rows(export: &otel::Exporter, k: &KeyCtx, rows: impl Iterator<Item = UsageRow>) {
    for mut row in rows {
        row.developer = Some(k.developer.clone());
        row.key_id = Some(k.key_id.clone());
        export.send(otel::Record {
            row,
            org: Some(k.org.clone()),
            team: k.team.clone(),
        });
    }
}

async fn spend(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<SpendParams>,
) -> Result<Response, ApiError> {
    let scope = match caller(&state, &headers).await? {
        Caller::Key(k) => {
            if params.name.is_some() {
                return Err(ApiError::Forbidden(
                    "a key reads only its own spend: drop `name`".into(),
                ));
            }
            match params.scope.as_deref().unwrap_or("developer") {
                "developer" | "user" => Some(ReportScope {
                    scope: Scope::Developer,
                    id: k.developer_id,
                    name: k.developer.clone(),
                    tz: k.tz.clone(),
                }),
                "key" => Some(ReportScope {
                    scope: Scope::Key,
                    id: k.key_ref,
                    name: k.key_id.clone(),
                    tz: k.tz.clone(),
                }),
                other => {
                    return Err(ApiError::Forbidden(format!(
                        "a key reads only its own spend (scope developer or key), not `{other}`"
                    )))
                }
            }
        }
        Caller::Admin => match (&params.scope, &params.name) {
            (None, None) => None,
            (Some(scope), Some(name)) => {
                let scope = Scope::from_name(scope).map_err(ApiError::BadRequest)?;
                let mut tx = state.store.begin(false).await?;
                let (id, tz) = admin::resolve_scope(&mut *tx, scope, name).await?;
                Some(ReportScope {
                    scope,
                    id,
                    name: name.clone(),
                    tz,
                })
            }
            _ => {
                return Err(ApiError::BadRequest(
                    "give both scope and name, or neither".into(),
                ))
            }
        },
    };
    Ok(Json(report::spend(state.store.as_ref(), &params, scope).await?).into_response())
}

// ---- admin

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct ListFilter {
    org: Option<String>,
    developer: Option<String>,
    scope: Option<String>,
    name: Option<String>,
}

async fn create_org(
    State(s): State<AppState>,
    _: Admin,
    ApiJson(b): ApiJson<admin::NewOrg>,
) -> Result<Response, ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(admin::create_org(s.store.as_ref(), b).await?),
    )
        .into_response())
}

async fn list_orgs(State(s): State<AppState>, _: Admin) -> Result<Response, ApiError> {
    Ok(Json(json!({"orgs": admin::list_orgs(s.store.as_ref()).await?})).into_response())
}

async fn update_org(
    State(s): State<AppState>,
    _: Admin,
    Path(name): Path<String>,
    ApiJson(b): ApiJson<admin::OrgUpdate>,
) -> Result<Response, ApiError> {
    Ok(Json(admin::update_org(s.store.as_ref(), &name, b).await?).into_response())
}

async fn create_team(
    State(s): State<AppState>,
    _: Admin,
    ApiJson(b): ApiJson<admin::NewTeam>,
) -> Result<Response, ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(admin::create_team(s.store.as_ref(), b).await?),
    )
        .into_response())
}

async fn list_teams(
    State(s): State<AppState>,
    _: Admin,
    ApiQuery(f): ApiQuery<ListFilter>,
) -> Result<Response, ApiError> {
    Ok(
        Json(json!({"teams": admin::list_teams(s.store.as_ref(), f.org.as_deref()).await?}))
            .into_response(),
    )
}

async fn create_user(
    State(s): State<AppState>,
    _: Admin,
    ApiJson(b): ApiJson<admin::NewUser>,
) -> Result<Response, ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(admin::create_user(s.store.as_ref(), b).await?),
    )
        .into_response())
}

async fn list_users(
    State(s): State<AppState>,
    _: Admin,
    ApiQuery(f): ApiQuery<ListFilter>,
) -> Result<Response, ApiError> {
    Ok(
        Json(json!({"users": admin::list_users(s.store.as_ref(), f.org.as_deref()).await?}))
            .into_response(),
    )
}

async fn update_user(
    State(s): State<AppState>,
    _: Admin,
    Path(email): Path<String>,
    ApiJson(b): ApiJson<admin::UserUpdate>,
) -> Result<Response, ApiError> {
    Ok(Json(admin::update_user(s.store.as_ref(), &email, b).await?).into_response())
}

async fn revoke_user(
    State(s): State<AppState>,
    _: Admin,
    Path(email): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(admin::revoke_user(s.store.as_ref(), &email).await?).into_response())
}

async fn create_key(
    State(s): State<AppState>,
    _: Admin,
    ApiJson(b): ApiJson<admin::NewKey>,
) -> Result<Response, ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(admin::create_key(s.store.as_ref(), b).await?),
    )
        .into_response())
}

async fn list_keys(
    State(s): State<AppState>,
    _: Admin,
    ApiQuery(f): ApiQuery<ListFilter>,
) -> Result<Response, ApiError> {
    let keys = admin::list_keys(s.store.as_ref(), f.developer.as_deref(), f.org.as_deref()).await?;
    Ok(Json(json!({ "keys": keys })).into_response())
}

async fn update_key(
    State(s): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<admin::KeyUpdate>,
) -> Result<Response, ApiError> {
    Ok(Json(admin::update_key(s.store.as_ref(), &id, b).await?).into_response())
}

async fn revoke_org(
    State(s): State<AppState>,
    _: Admin,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let keys = admin::revoke_org(s.store.as_ref(), &name).await?;
    Ok(Json(json!({ "keys": keys })).into_response())
}

async fn update_team(
    State(s): State<AppState>,
    _: Admin,
    Path((org, team)): Path<(String, String)>,
    ApiJson(b): ApiJson<admin::TeamUpdate>,
) -> Result<Response, ApiError> {
    Ok(Json(admin::update_team(s.store.as_ref(), &org, &team, b).await?).into_response())
}

async fn revoke_team(
    State(s): State<AppState>,
    _: Admin,
    Path((org, team)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let keys = admin::revoke_team(s.store.as_ref(), &format!("{org}/{team}")).await?;
    Ok(Json(json!({ "keys": keys })).into_response())
}

async fn revoke_key(
    State(s): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(admin::revoke_key(s.store.as_ref(), &id).await?).into_response())
}

async fn create_budget(
    State(s): State<AppState>,
    _: Admin,
    ApiJson(b): ApiJson<admin::NewBudget>,
) -> Result<Response, ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(admin::create_budget(s.store.as_ref(), b).await?),
    )
        .into_response())
}

async fn list_budgets(
    State(s): State<AppState>,
    _: Admin,
    ApiQuery(f): ApiQuery<ListFilter>,
) -> Result<Response, ApiError> {
    let scope = f
        .scope
        .as_deref()
        .map(|x| Scope::from_name(x).map_err(ApiError::BadRequest))
        .transpose()?;
    if f.name.is_some() && scope.is_none() {
        return Err(ApiError::BadRequest("give scope with name".into()));
    }
    let budgets = admin::list_budgets(s.store.as_ref(), scope, f.name.as_deref()).await?;
    Ok(Json(json!({ "budgets": budgets })).into_response())
}

fn budget_id(id: &str) -> Result<i64, ApiError> {
    id.parse().map_err(|_| {
        ApiError::BadRequest(format!(
            "invalid budget id `{id}`: a number, as `gw admin budget list` shows"
        ))
    })
}

async fn update_budget(
    State(s): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<admin::BudgetUpdate>,
) -> Result<Response, ApiError> {
    Ok(Json(admin::update_budget(s.store.as_ref(), budget_id(&id)?, b).await?).into_response())
}

async fn delete_budget(
    State(s): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(admin::delete_budget(s.store.as_ref(), budget_id(&id)?).await?).into_response())
}

async fn create_limit(
    State(s): State<AppState>,
    _: Admin,
    ApiJson(l): ApiJson<admin::NewRateLimit>,
) -> Result<Response, ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(admin::create_limit(s.store.as_ref(), l).await?),
    )
        .into_response())
}

async fn list_limits(State(s): State<AppState>, _: Admin) -> Result<Response, ApiError> {
    let limits = admin::list_limits(s.store.as_ref()).await?;
    Ok(Json(json!({ "limits": limits })).into_response())
}

fn limit_id(id: &str) -> Result<i64, ApiError> {
    id.parse().map_err(|_| {
        ApiError::BadRequest(format!(
            "invalid rate limit id `{id}`: a number, as `gw admin limit list` shows"
        ))
    })
}

async fn update_limit(
    State(s): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
    ApiJson(l): ApiJson<admin::RateLimitUpdate>,
) -> Result<Response, ApiError> {
    Ok(Json(admin::update_limit(s.store.as_ref(), limit_id(&id)?, l).await?).into_response())
}

async fn delete_limit(
    State(s): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(admin::delete_limit(s.store.as_ref(), limit_id(&id)?).await?).into_response())
}

async fn list_prices(
    State(s): State<AppState>,
    _: Admin,
    ApiQuery(f): ApiQuery<ListFilter>,
) -> Result<Response, ApiError> {
    let prices = admin::list_prices(s.store.as_ref(), f.org.as_deref()).await?;
    Ok(Json(json!({ "prices": prices })).into_response())
}

async fn set_price(
    State(s): State<AppState>,
    _: Admin,
    Path((org, model)): Path<(String, String)>,
    ApiJson(price): ApiJson<PriceOverride>,
) -> Result<Response, ApiError> {
    Ok(Json(admin::set_price(s.store.as_ref(), &org, &model, price).await?).into_response())
}

async fn delete_price(
    State(s): State<AppState>,
    _: Admin,
    Path((org, model)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(Json(admin::delete_price(s.store.as_ref(), &org, &model).await?).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_decode() {
        assert_eq!(decode("a%40b.com"), "a@b.com");
        assert_eq!(decode("acme%2Fbackend+x"), "acme/backend x");
        assert_eq!(decode("100%"), "100%");
        let f: ListFilter = serde_urlencoded_like("org=acme&developer=a%40x").unwrap();
        assert_eq!(f.org.as_deref(), Some("acme"));
        assert!(serde_urlencoded_like::<ListFilter>("bogus=1").is_err());
    }
}
