//! Authentication: the admin token, and the developer keys whose identity (`KeyCtx`) every
//! other operation runs as.

use super::*;
use subtle::ConstantTimeEq;

/// The server's two tokens, each stored hashed in a one-row table of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerToken {
    /// Everything `gw admin` does.
    Admin,
    /// `GET /metrics` only.
    Metrics,
}

impl ServerToken {
    fn table(self) -> &'static str {
        match self {
            ServerToken::Admin => "admin_tokens",
            ServerToken::Metrics => "metrics_tokens",
        }
    }
}

/// Stores `token` as the server's `kind` token; refuses (`false`) when one exists, unless
/// `rotate`.
pub async fn set_token(
    store: &dyn Store,
    kind: ServerToken,
    token: &str,
    rotate: bool,
) -> Result<bool, StoreError> {
    let table = kind.table();
    let mut tx = store.begin(true).await?;
    let exists = tx
        .one(&format!("SELECT id FROM {table} WHERE id = 1"), &[])
        .await?
        .is_some();
    if exists && !rotate {
        return Ok(false);
    }
    tx.execute(&format!("DELETE FROM {table}"), &[]).await?;
    tx.execute(
        &format!("INSERT INTO {table} (id, token_hash, created_at_us) VALUES (1, $1, $2)"),
        &[secret::hash(token).into(), now_us().into()],
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Whether `token` is the server's `kind` token.
pub async fn is_token(
    store: &dyn Store,
    kind: ServerToken,
    token: &str,
) -> Result<bool, StoreError> {
    let mut tx = store.begin(false).await?;
    let row = tx
        .one(
            &format!("SELECT token_hash FROM {} WHERE id = 1", kind.table()),
            &[],
        )
        .await?;
    Ok(match row {
        Some(r) => secret::matches(token, &r.text(0)?),
        None => false,
    })
}

pub(super) const KEY_CTX_SQL: &str =
    "SELECT k.id, k.key_id, k.name, d.id, d.email, d.name, t.id, t.name, o.id, o.name, o.tz,
        k.models, k.expires_at_us, k.key_hash, k.active, d.active
    FROM keys k JOIN developers d ON d.id = k.developer_id JOIN orgs o ON o.id = k.org_id
    LEFT JOIN teams t ON t.id = k.team_id";

pub(super) fn key_ctx(r: &DbRow) -> Result<KeyCtx, StoreError> {
    Ok(KeyCtx {
        key_ref: r.int(0)?,
        key_id: r.text(1)?,
        key_name: r.opt_text(2)?,
        developer_id: r.int(3)?,
        developer: r.text(4)?,
        developer_name: r.opt_text(5)?,
        team_id: r.opt_int(6)?,
        team: r.opt_text(7)?,
        org_id: r.int(8)?,
        org: r.text(9)?,
        tz: r.text(10)?,
        models: r.opt_json(11)?,
        expires_at: r.opt_int(12)?.map(money::rfc3339_us),
    })
}

/// Resolves a bearer token to the admin or a key, refusing unknown, revoked and expired ones.
pub async fn authenticate(store: &dyn Store, token: &str) -> Result<Caller, ApiError> {
    let unauthorized = || {
        ApiError::Unauthorized(
            "invalid key or token: send `Authorization: Bearer <gw key or admin token>`".into(),
        )
    };
    if token.starts_with(secret::ADMIN_PREFIX) {
        return match is_token(store, ServerToken::Admin, token).await? {
            true => Ok(Caller::Admin),
            false => Err(unauthorized()),
        };
    }
    let Some(id) = secret::key_id(token) else {
        return Err(unauthorized());
    };
    let mut tx = store.begin(false).await?;
    let sql = format!("{KEY_CTX_SQL} WHERE k.key_id = $1");
    let Some(r) = tx.one(&sql, &[id.into()]).await? else {
        return Err(unauthorized());
    };
    if !secret::matches(token, &r.text(13)?) {
        return Err(unauthorized());
    }
    live_key(&r, id).map(|k| Caller::Key(Box::new(k)))
}

/// The key a dashboard session was opened with: `key_id`, whose stored hash must still be
/// `secret_hash` (the hash of the key signed in with), active and unexpired.
pub async fn key_session(
    store: &dyn Store,
    key_id: &str,
    secret_hash: &str,
) -> Result<KeyCtx, ApiError> {
    let mut tx = store.begin(false).await?;
    let sql = format!("{KEY_CTX_SQL} WHERE k.key_id = $1");
    let r = tx
        .one(&sql, &[key_id.into()])
        .await?
        .ok_or_else(|| ApiError::Unauthorized(format!("no key {key_id}")))?;
    let stored = r.text(13)?;
    if !bool::from(stored.as_bytes().ct_eq(secret_hash.as_bytes())) {
        return Err(ApiError::Unauthorized(format!("key {key_id} changed")));
    }
    live_key(&r, key_id)
}

/// A key's identity from its row, unless it was revoked (or its developer) or has expired.
fn live_key(r: &DbRow, id: &str) -> Result<KeyCtx, ApiError> {
    if r.int(14)? == 0 || r.int(15)? == 0 {
        return Err(ApiError::Unauthorized(format!(
            "key {id} has been revoked; ask an admin for a new one"
        )));
    }
    if r.opt_int(12)?.is_some_and(|e| e <= now_us()) {
        return Err(ApiError::Unauthorized(format!(
            "key {id} expired at {}; ask an admin for a new one",
            money::rfc3339_us(r.int(12)?)
        )));
    }
    Ok(key_ctx(r)?)
}
