//! The web dashboard of `gw server`, under `/ui/`: the org's spend, budgets, keys and sessions,
//! served by the same binary with every asset embedded (no CDN, works air-gapped).
//!
//! - **Sign in** with the admin token or a developer's gw key. The server keeps a session (a
//!   random id in an `HttpOnly; SameSite=Strict` cookie, `Secure` under TLS, 12 hours) stored
//!   hashed with the hash of the secret it was opened with: rotating the admin token, or
//!   revoking or expiring the key, ends it. Failed sign-ins are limited per client address.
//!   The token is never stored in the browser, and no secret is put in a page or a URL (a key
//!   created here is shown once, on a page that is not cached).
//! - A developer sees what the API shows a key: their own spend, sessions, budgets and keys.
//! - Every write (create or revoke a key, create or change a budget) is an admin's, by a POST
//!   form carrying the session's CSRF token.
//! - Every value from clients (models, branches, projects, tasks arrive in usage rows) goes
//!   through maud's escaping; CSV cells that a spreadsheet would run as a formula are quoted.
//!   Pages are served with a Content-Security-Policy allowing only the server's own scripts and
//!   styles (no inline script), `X-Frame-Options: DENY` and `no-store`.
//! - Pages read the quarter-hour and per-session sums ingest keeps (`usage_quarters`,
//!   `usage_sessions`), not the usage rows, so they stay fast on millions of rows.

mod data;
mod pages;

use std::net::IpAddr;
use std::time::Duration;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use cookie::Cookie;
use serde::Deserialize;

use super::api::{ApiQuery, AppState};
use super::error::ApiError;
use super::ops::{self, Caller, KeyCtx, ServerToken};
use super::secret;

pub use data::Filters;

pub use super::web_state::{Peer, WebState};
use super::web_state::{MAX_SESSIONS, SESSION_TTL};

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/ui", get(|| async { Redirect::to("/ui/overview") }))
        .route("/ui/", get(|| async { Redirect::to("/ui/overview") }))
        .route("/ui/login", get(login_page).post(login))
        .route("/ui/logout", post(logout))
        .route("/ui/overview", get(overview))
        .route("/ui/budgets", get(budgets).post(create_budget))
        .route("/ui/budgets/{id}", post(update_budget))
        .route("/ui/keys", get(keys).post(create_key))
        .route("/ui/keys/{key_id}/revoke", post(revoke_key))
        .route("/ui/sessions", get(sessions))
        .route("/ui/sessions/{key_id}/{session_id}", get(session))
        .route("/ui/assets/{name}", get(asset))
        .layer(axum::middleware::from_fn_with_state(state, guard))
}

/// Every dashboard answer gets the security headers; a POST must come from the dashboard
/// itself (`Sec-Fetch-Site`, else `Origin`), which stops cross-site sign-in and writes before
/// any handler runs (writes also check the session's CSRF token).
async fn guard(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let cross_site = req.method() == axum::http::Method::POST && !same_origin(req.headers());
    let mut response = if cross_site {
        WebError::Api(ApiError::Forbidden(
            "this form was sent from another site; open the dashboard and send it from there"
                .into(),
        ))
        .into_response()
    } else {
        next.run(req).await
    };
    let h = response.headers_mut();
    harden(h);
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if state.web.tls {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

/// Whether a request came from a page of this server: the browser's `Sec-Fetch-Site` says so,
/// or its `Origin` is this host. A client that sends neither (not a browser) passes: cookies
/// are `SameSite=Strict`, and writes need the CSRF token.
fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    origin
        .split_once("://")
        .is_some_and(|(_, authority)| !host.is_empty() && authority == host)
}

/// Who is signed in, with the session's CSRF token.
pub struct Viewer {
    pub who: Caller,
    pub csrf: String,
    id_hash: String,
}

impl Viewer {
    pub fn is_admin(&self) -> bool {
        matches!(self.who, Caller::Admin)
    }

    pub fn key(&self) -> Option<&KeyCtx> {
        match &self.who {
            Caller::Admin => None,
            Caller::Key(k) => Some(k),
        }
    }

    fn admin(&self) -> Result<(), WebError> {
        match self.who {
            Caller::Admin => Ok(()),
            Caller::Key(_) => Err(WebError::Api(ApiError::Forbidden(
                "only an admin can change this; sign in with the admin token".into(),
            ))),
        }
    }

    /// Checks a form's CSRF token (constant time).
    fn check_csrf(&self, token: &str) -> Result<(), WebError> {
        if secret::matches(token, &secret::hash(&self.csrf)) {
            Ok(())
        } else {
            Err(WebError::Api(ApiError::Forbidden(
                "this form is stale or did not come from this dashboard; reload the page and try again".into(),
            )))
        }
    }
}

/// A page's failure: to the sign-in page when there is no valid session, else an error page.
pub enum WebError {
    SignIn,
    Api(ApiError),
}

impl From<ApiError> for WebError {
    fn from(e: ApiError) -> WebError {
        WebError::Api(e)
    }
}

impl From<super::db::StoreError> for WebError {
    fn from(e: super::db::StoreError) -> WebError {
        WebError::Api(e.into())
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::SignIn => Redirect::to("/ui/login").into_response(),
            WebError::Api(e) => {
                let status = e.status();
                if status.is_server_error() {
                    tracing::error!("dashboard: {e}");
                }
                let message = if status.is_server_error() {
                    "the server failed; its log has the details".to_string()
                } else {
                    e.to_string()
                };
                page_response(status, pages::error(status, &message))
            }
        }
    }
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

/// The session cookie: `value` for `ttl` (zero: removed).
fn session_cookie(web: &WebState, value: String, ttl: Duration) -> Option<HeaderValue> {
    let cookie = Cookie::build((web.cookie(), value))
        .path(if web.tls { "/" } else { "/ui" })
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .secure(web.tls)
        .max_age(cookie::time::Duration::seconds(ttl.as_secs() as i64));
    HeaderValue::from_str(&cookie.to_string()).ok()
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let Some(id) = cookie_value(&parts.headers, state.web.cookie()) else {
            return Err(WebError::SignIn);
        };
        let id_hash = secret::hash(&id);
        let store = state.store.as_ref();
        let now = ops::now_us();
        let mut tx = store.begin(false).await?;
        let row = tx
            .one(
                "SELECT kind, key_id, secret_hash, csrf FROM web_sessions
                 WHERE id_hash = $1 AND expires_at_us > $2",
                &[(&id_hash).into(), now.into()],
            )
            .await?;
        drop(tx);
        let Some(row) = row else {
            return Err(WebError::SignIn);
        };
        let (kind, key_id, secret_hash, csrf) =
            (row.text(0)?, row.opt_text(1)?, row.text(2)?, row.text(3)?);
        let who = match (kind.as_str(), key_id) {
            ("admin", _) => {
                // The admin token it was opened with must still be the admin token.
                let mut tx = store.begin(false).await?;
                let current = tx
                    .one("SELECT token_hash FROM admin_tokens WHERE id = 1", &[])
                    .await?
                    .map(|r| r.text(0))
                    .transpose()?;
                if current.as_deref() != Some(secret_hash.as_str()) {
                    return Err(WebError::SignIn);
                }
                Caller::Admin
            }
            ("key", Some(key_id)) => match ops::key_session(store, &key_id, &secret_hash).await {
                Ok(ctx) => Caller::Key(Box::new(ctx)),
                Err(_) => return Err(WebError::SignIn),
            },
            _ => return Err(WebError::SignIn),
        };
        Ok(Viewer { who, csrf, id_hash })
    }
}

/// Security headers every dashboard answer carries.
fn harden(headers: &mut HeaderMap) {
    for (name, value) in [
        (
            "content-security-policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

/// A page; `guard` adds the security headers and `no-store`.
fn page_response(status: StatusCode, markup: maud::Markup) -> Response {
    (status, markup).into_response()
}

fn page(markup: maud::Markup) -> Response {
    page_response(StatusCode::OK, markup)
}

/// A table as CSV, downloaded as `name.csv` (`guard` adds `no-store`).
fn csv(name: &str, table: &data::Table) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ),
        ],
        table.to_csv(),
    )
        .into_response()
}

async fn login_page() -> Response {
    page(pages::login(None))
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

async fn login(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    let ip = parts
        .extensions
        .get::<Peer>()
        .map_or(IpAddr::from([127, 0, 0, 1]), |p| p.0.ip());
    let token = form.token.trim();
    let store = state.store.as_ref();
    let (kind, key_id) = if token.starts_with(secret::ADMIN_PREFIX)
        && ops::is_token(store, ServerToken::Admin, token).await?
    {
        ("admin", None)
    } else if secret::key_id(token).is_some() {
        match ops::authenticate(store, token).await {
            Ok(Caller::Key(k)) => ("key", Some(k.key_id.clone())),
            _ => ("", None),
        }
    } else {
        ("", None)
    };
    if kind.is_empty() {
        let limited = !state.web.may_fail(ip);
        state.web.failed(ip);
        let (status, message) = if limited {
            (
                StatusCode::TOO_MANY_REQUESTS,
                "too many failed sign-ins from this address; wait a minute and try again",
            )
        } else {
            (
                StatusCode::UNAUTHORIZED,
                "that is not a valid admin token or gw key (a revoked or expired key cannot sign in)",
            )
        };
        return Ok(page_response(status, pages::login(Some(message))));
    }
    let id = secret::new_web_secret();
    let csrf = secret::new_web_secret();
    let now = ops::now_us();
    let secret_hash = secret::hash(token);
    let mut tx = store.begin(true).await?;
    // Sessions that ended are forgotten as new ones begin, and one secret holds at most
    // MAX_SESSIONS: its oldest go.
    tx.execute(
        "DELETE FROM web_sessions WHERE expires_at_us <= $1",
        &[now.into()],
    )
    .await?;
    tx.execute(
        &format!(
            "DELETE FROM web_sessions WHERE secret_hash = $1 AND id_hash NOT IN
                (SELECT id_hash FROM web_sessions WHERE secret_hash = $1
                 ORDER BY created_at_us DESC LIMIT {})",
            MAX_SESSIONS - 1
        ),
        &[(&secret_hash).into()],
    )
    .await?;
    tx.execute(
        "INSERT INTO web_sessions (id_hash, kind, key_id, secret_hash, csrf, created_at_us, expires_at_us)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            secret::hash(&id).into(),
            kind.into(),
            key_id.into(),
            secret_hash.into(),
            csrf.into(),
            now.into(),
            (now + SESSION_TTL.as_micros() as i64).into(),
        ],
    )
    .await?;
    tx.commit().await?;
    let mut response = Redirect::to("/ui/overview").into_response();
    let cookie = session_cookie(&state.web, id, SESSION_TTL)
        .ok_or_else(|| ApiError::BadRequest("cannot set the session cookie".into()))?;
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    viewer.check_csrf(&form.csrf)?;
    let mut tx = state.store.begin(true).await?;
    tx.execute(
        "DELETE FROM web_sessions WHERE id_hash = $1",
        &[viewer.id_hash.clone().into()],
    )
    .await?;
    tx.commit().await?;
    let mut response = Redirect::to("/ui/login").into_response();
    if let Some(gone) = session_cookie(&state.web, String::new(), Duration::ZERO) {
        response.headers_mut().insert(header::SET_COOKIE, gone);
    }
    Ok(response)
}

async fn overview(
    State(state): State<AppState>,
    viewer: Viewer,
    ApiQuery(filters): ApiQuery<Filters>,
) -> Result<Response, WebError> {
    let view = data::overview(state.store.as_ref(), &viewer, &filters).await?;
    Ok(match filters.format.as_deref() {
        Some("csv") => {
            let (name, table) = view.table(filters.table.as_deref());
            csv(&format!("gw-{name}"), table)
        }
        _ => page(pages::overview(&viewer, &filters, &view)),
    })
}

async fn budgets(
    State(state): State<AppState>,
    viewer: Viewer,
    ApiQuery(filters): ApiQuery<Filters>,
) -> Result<Response, WebError> {
    let view = data::budgets(state.store.as_ref(), &viewer).await?;
    Ok(match filters.format.as_deref() {
        Some("csv") => csv("gw-budgets", &view.table),
        _ => page(pages::budgets(&viewer, &view)),
    })
}

#[derive(Deserialize)]
struct NewBudgetForm {
    csrf: String,
    scope: String,
    name: String,
    limit_usd: String,
    period: String,
    #[serde(default)]
    soft_threshold: String,
}

async fn create_budget(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<NewBudgetForm>,
) -> Result<Response, WebError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.admin()?;
    let new: crate::api::admin::NewBudget = serde_json::from_value(serde_json::json!({
        "scope": form.scope.trim(),
        "name": form.name.trim(),
        "limit_usd": form.limit_usd.trim(),
        "period": form.period.trim(),
        "soft_threshold": soft(&form.soft_threshold)?,
    }))
    .map_err(|e| ApiError::BadRequest(format!("invalid budget: {e}")))?;
    super::admin::create_budget(state.store.as_ref(), new).await?;
    Ok(Redirect::to("/ui/budgets").into_response())
}

/// A soft threshold as typed: empty (the default), a fraction or a percentage.
fn soft(text: &str) -> Result<Option<f64>, ApiError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let (number, scale) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), 100.0),
        None => (t, 1.0),
    };
    number
        .parse::<f64>()
        .map(|v| Some(v / scale))
        .map_err(|_| ApiError::BadRequest(format!("soft threshold `{t}`: write 0.8 or 80%")))
}

#[derive(Deserialize)]
struct BudgetUpdateForm {
    csrf: String,
    #[serde(default)]
    limit_usd: String,
    #[serde(default)]
    soft_threshold: String,
}

async fn update_budget(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<BudgetUpdateForm>,
) -> Result<Response, WebError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.admin()?;
    let mut update = serde_json::Map::new();
    if !form.limit_usd.trim().is_empty() {
        update.insert("limit_usd".into(), form.limit_usd.trim().into());
    }
    if let Some(s) = soft(&form.soft_threshold)? {
        update.insert("soft_threshold".into(), s.into());
    }
    let update: crate::api::admin::BudgetUpdate = serde_json::from_value(update.into())
        .map_err(|e| ApiError::BadRequest(format!("invalid change: {e}")))?;
    super::admin::update_budget(state.store.as_ref(), id, update).await?;
    Ok(Redirect::to("/ui/budgets").into_response())
}

async fn keys(
    State(state): State<AppState>,
    viewer: Viewer,
    ApiQuery(filters): ApiQuery<Filters>,
) -> Result<Response, WebError> {
    let view = data::keys(state.store.as_ref(), &viewer).await?;
    Ok(match filters.format.as_deref() {
        Some("csv") => csv("gw-keys", &view.table),
        _ => page(pages::keys(&viewer, &view, None)),
    })
}

#[derive(Deserialize)]
struct NewKeyForm {
    csrf: String,
    developer: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    models: String,
    #[serde(default)]
    expires_at: String,
}

async fn create_key(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<NewKeyForm>,
) -> Result<Response, WebError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.admin()?;
    let models: Vec<String> = form
        .models
        .split(',')
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty())
        .collect();
    let expires = form.expires_at.trim();
    let new: crate::api::admin::NewKey = serde_json::from_value(serde_json::json!({
        "developer": form.developer.trim(),
        "name": (!form.name.trim().is_empty()).then(|| form.name.trim()),
        "models": (!models.is_empty()).then_some(models),
        // A date is the end of that day, UTC.
        "expires_at": (!expires.is_empty()).then(|| if expires.len() == 10 { format!("{expires}T23:59:59Z") } else { expires.to_string() }),
    }))
    .map_err(|e| ApiError::BadRequest(format!("invalid key: {e}")))?;
    let created = super::admin::create_key(state.store.as_ref(), new).await?;
    let view = data::keys(state.store.as_ref(), &viewer).await?;
    // The key is on this page once: the answer to a POST, never cached, never in a URL.
    Ok(page(pages::keys(&viewer, &view, Some(&created))))
}

async fn revoke_key(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(key_id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.admin()?;
    super::admin::revoke_key(state.store.as_ref(), &key_id).await?;
    Ok(Redirect::to("/ui/keys").into_response())
}

async fn sessions(
    State(state): State<AppState>,
    viewer: Viewer,
    ApiQuery(filters): ApiQuery<Filters>,
) -> Result<Response, WebError> {
    let view = data::sessions(state.store.as_ref(), &viewer, &filters).await?;
    Ok(match filters.format.as_deref() {
        Some("csv") => csv("gw-sessions", &view.table),
        _ => page(pages::sessions(&viewer, &filters, &view)),
    })
}

async fn session(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((key_id, session_id)): Path<(String, String)>,
    ApiQuery(filters): ApiQuery<Filters>,
) -> Result<Response, WebError> {
    let view = data::session(state.store.as_ref(), &viewer, &key_id, &session_id).await?;
    Ok(match filters.format.as_deref() {
        Some("csv") => csv("gw-session", &view.table),
        _ => page(pages::session(&viewer, &view)),
    })
}

/// The embedded assets: uPlot (MIT, `uPlot.LICENSE`), the dashboard's script and styles.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "uPlot.iife.min.js",
        "text/javascript",
        include_bytes!("assets/uPlot.iife.min.js"),
    ),
    (
        "uPlot.min.css",
        "text/css",
        include_bytes!("assets/uPlot.min.css"),
    ),
    (
        "uPlot.LICENSE",
        "text/plain; charset=utf-8",
        include_bytes!("assets/uPlot.LICENSE"),
    ),
    ("app.js", "text/javascript", include_bytes!("assets/app.js")),
    ("app.css", "text/css", include_bytes!("assets/app.css")),
];

async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, kind, body)) => {
            let cache = (header::CACHE_CONTROL, "public, max-age=3600");
            ([(header::CONTENT_TYPE, *kind), cache], *body).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
