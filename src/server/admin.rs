//! Admin operations on orgs, teams, developers, keys, budgets and model prices (the
//! `/v1/admin/…` endpoints).
//! Entities are named, not numbered: an org by its name, a team as `org/team`, a developer by
//! email, a key by its key id, a budget by its id.

use std::collections::BTreeMap;

use super::db::{DbRow, Store, StoreError, Tx};
use super::error::ApiError;
use super::money;
use super::ops::{now_us, BudgetStatus, Scope};
use super::secret;
pub use crate::api::admin::{
    BudgetUpdate, KeyUpdate, KeyView, NewBudget, NewKey, NewOrg, NewRateLimit, NewTeam, NewUser,
    OrgUpdate, OrgView, PriceView, RateLimitUpdate, TeamUpdate, TeamView, UserUpdate, UserView,
};
use crate::api::RateLimitView;
use crate::pricing::{PriceOverride, PricingError};

fn valid_name(kind: &str, name: &str) -> Result<(), ApiError> {
    if name.is_empty() || name.len() > 200 || name.contains('/') || name.trim() != name {
        return Err(ApiError::BadRequest(format!(
            "invalid {kind} name `{name}`: 1-200 characters, no `/`, no leading or trailing spaces"
        )));
    }
    Ok(())
}

fn conflict_or(e: super::db::StoreError, what: String) -> ApiError {
    if e.is_unique_violation() {
        ApiError::Conflict(format!("{what} already exists"))
    } else {
        ApiError::Store(e)
    }
}

// ---- orgs

fn check_tz(tz: &str) -> Result<String, ApiError> {
    money::parse_zone(tz).map_err(ApiError::BadRequest)?;
    Ok(if tz.eq_ignore_ascii_case("utc") {
        "UTC".into()
    } else {
        tz.to_string()
    })
}

pub async fn create_org(store: &dyn Store, new: NewOrg) -> Result<OrgView, ApiError> {
    valid_name("org", &new.name)?;
    let tz = check_tz(new.tz.as_deref().unwrap_or("UTC"))?;
    let now = now_us();
    let mut tx = store.begin(true).await?;
    tx.execute(
        "INSERT INTO orgs (name, tz, created_at_us) VALUES ($1, $2, $3)",
        &[(&new.name).into(), (&tz).into(), now.into()],
    )
    .await
    .map_err(|e| conflict_or(e, format!("org `{}`", new.name)))?;
    tx.commit().await?;
    Ok(OrgView {
        name: new.name,
        tz,
        created_at: money::rfc3339_us(now),
    })
}

pub async fn list_orgs(store: &dyn Store) -> Result<Vec<OrgView>, ApiError> {
    let mut tx = store.begin(false).await?;
    let rows = tx
        .query(
            "SELECT name, tz, created_at_us FROM orgs ORDER BY name",
            &[],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(OrgView {
                name: r.text(0)?,
                tz: r.text(1)?,
                created_at: money::rfc3339_us(r.int(2)?),
            })
        })
        .collect()
}

pub async fn update_org(
    store: &dyn Store,
    name: &str,
    update: OrgUpdate,
) -> Result<OrgView, ApiError> {
    let mut tx = store.begin(true).await?;
    if let Some(tz) = &update.tz {
        let tz = check_tz(tz)?;
        tx.execute(
            "UPDATE orgs SET tz = $1 WHERE name = $2",
            &[tz.into(), name.into()],
        )
        .await?;
    }
    let r = tx
        .one(
            "SELECT name, tz, created_at_us FROM orgs WHERE name = $1",
            &[name.into()],
        )
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no org `{name}`")))?;
    tx.commit().await?;
    Ok(OrgView {
        name: r.text(0)?,
        tz: r.text(1)?,
        created_at: money::rfc3339_us(r.int(2)?),
    })
}

async fn org_id(tx: &mut dyn Tx, name: &str) -> Result<i64, ApiError> {
    tx.one("SELECT id FROM orgs WHERE name = $1", &[name.into()])
        .await?
        .map(|r| r.int(0))
        .transpose()?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "no org `{name}`; create it with `gw admin org create`"
            ))
        })
}

// ---- teams

pub async fn create_team(store: &dyn Store, new: NewTeam) -> Result<TeamView, ApiError> {
    valid_name("team", &new.name)?;
    let now = now_us();
    let mut tx = store.begin(true).await?;
    let org = org_id(&mut *tx, &new.org).await?;
    tx.execute(
        "INSERT INTO teams (org_id, name, created_at_us) VALUES ($1, $2, $3)",
        &[org.into(), (&new.name).into(), now.into()],
    )
    .await
    .map_err(|e| conflict_or(e, format!("team `{}/{}`", new.org, new.name)))?;
    tx.commit().await?;
    Ok(TeamView {
        path: format!("{}/{}", new.org, new.name),
        org: new.org,
        name: new.name,
        created_at: money::rfc3339_us(now),
    })
}

pub async fn update_team(
    store: &dyn Store,
    org_name: &str,
    team_name: &str,
    update: TeamUpdate,
) -> Result<TeamView, ApiError> {
    valid_name("team", &update.name)?;
    let mut tx = store.begin(true).await?;
    let org = org_id(&mut *tx, org_name).await?;
    let team = team_id(&mut *tx, org, org_name, team_name).await?;
    tx.execute(
        "UPDATE teams SET name = $1 WHERE id = $2",
        &[(&update.name).into(), team.into()],
    )
    .await
    .map_err(|e| conflict_or(e, format!("team `{org_name}/{}`", update.name)))?;
    let r = tx
        .one(
            "SELECT created_at_us FROM teams WHERE id = $1",
            &[team.into()],
        )
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no team `{org_name}/{team_name}`")))?;
    tx.commit().await?;
    Ok(TeamView {
        path: format!("{org_name}/{}", update.name),
        org: org_name.to_string(),
        name: update.name,
        created_at: money::rfc3339_us(r.int(0)?),
    })
}

pub async fn list_teams(store: &dyn Store, org: Option<&str>) -> Result<Vec<TeamView>, ApiError> {
    let mut tx = store.begin(false).await?;
    let rows = tx
        .query(
            "SELECT o.name, t.name, t.created_at_us FROM teams t JOIN orgs o ON o.id = t.org_id
             WHERE (CAST($1 AS TEXT) = '' OR o.name = $1) ORDER BY o.name, t.name",
            &[org.unwrap_or("").into()],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(TeamView {
                path: format!("{}/{}", r.text(0)?, r.text(1)?),
                org: r.text(0)?,
                name: r.text(1)?,
                created_at: money::rfc3339_us(r.int(2)?),
            })
        })
        .collect()
}

async fn team_id(tx: &mut dyn Tx, org: i64, org_name: &str, team: &str) -> Result<i64, ApiError> {
    tx.one(
        "SELECT id FROM teams WHERE org_id = $1 AND name = $2",
        &[org.into(), team.into()],
    )
    .await?
    .map(|r| r.int(0))
    .transpose()?
    .ok_or_else(|| ApiError::NotFound(format!("no team `{org_name}/{team}`")))
}

// ---- developers

const USER_SQL: &str = "SELECT d.email, d.name, o.name, t.name, d.active, d.created_at_us
    FROM developers d JOIN orgs o ON o.id = d.org_id LEFT JOIN teams t ON t.id = d.team_id";

fn user_view(r: &DbRow) -> Result<UserView, StoreError> {
    Ok(UserView {
        email: r.text(0)?,
        name: r.opt_text(1)?,
        org: r.text(2)?,
        team: r.opt_text(3)?,
        active: r.flag(4)?,
        created_at: money::rfc3339_us(r.int(5)?),
    })
}

pub async fn create_user(store: &dyn Store, new: NewUser) -> Result<UserView, ApiError> {
    if !new.email.contains('@') || new.email.len() > 320 || new.email.trim() != new.email {
        return Err(ApiError::BadRequest(format!(
            "invalid email `{}`",
            new.email
        )));
    }
    let now = now_us();
    let mut tx = store.begin(true).await?;
    let org = org_id(&mut *tx, &new.org).await?;
    let team = match &new.team {
        Some(t) => Some(team_id(&mut *tx, org, &new.org, t).await?),
        None => None,
    };
    tx.execute(
        "INSERT INTO developers (org_id, team_id, email, name, created_at_us) VALUES ($1, $2, $3, $4, $5)",
        &[org.into(), team.into(), (&new.email).into(), new.name.clone().into(), now.into()],
    )
    .await
    .map_err(|e| conflict_or(e, format!("user `{}`", new.email)))?;
    let view = user_by_email(&mut *tx, &new.email).await?;
    tx.commit().await?;
    Ok(view)
}

async fn user_by_email(tx: &mut dyn Tx, email: &str) -> Result<UserView, ApiError> {
    let sql = format!("{USER_SQL} WHERE d.email = $1");
    tx.one(&sql, &[email.into()])
        .await?
        .map(|r| user_view(&r))
        .transpose()?
        .ok_or_else(|| ApiError::NotFound(format!("no user `{email}`")))
}

pub async fn list_users(store: &dyn Store, org: Option<&str>) -> Result<Vec<UserView>, ApiError> {
    let mut tx = store.begin(false).await?;
    let sql =
        format!("{USER_SQL} WHERE (CAST($1 AS TEXT) = '' OR o.name = $1) ORDER BY o.name, d.email");
    let rows = tx.query(&sql, &[org.unwrap_or("").into()]).await?;
    Ok(rows.iter().map(user_view).collect::<Result<_, _>>()?)
}

pub async fn update_user(
    store: &dyn Store,
    email: &str,
    update: UserUpdate,
) -> Result<UserView, ApiError> {
    let mut tx = store.begin(true).await?;
    let r = tx
        .one(
            "SELECT d.id, d.org_id, o.name FROM developers d JOIN orgs o ON o.id = d.org_id WHERE d.email = $1",
            &[email.into()],
        )
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no user `{email}`")))?;
    let (id, org, org_name) = (r.int(0)?, r.int(1)?, r.text(2)?);
    if let Some(name) = &update.name {
        tx.execute(
            "UPDATE developers SET name = $1 WHERE id = $2",
            &[name.into(), id.into()],
        )
        .await?;
    }
    if let Some(team) = &update.team {
        let team = match team.as_str() {
            "" => None,
            t => Some(team_id(&mut *tx, org, &org_name, t).await?),
        };
        tx.execute(
            "UPDATE developers SET team_id = $1 WHERE id = $2",
            &[team.into(), id.into()],
        )
        .await?;
    }
    let view = user_by_email(&mut *tx, email).await?;
    tx.commit().await?;
    Ok(view)
}

/// Deactivates a developer and revokes every key they hold.
pub async fn revoke_user(store: &dyn Store, email: &str) -> Result<UserView, ApiError> {
    let mut tx = store.begin(true).await?;
    let now = now_us();
    let n = tx
        .execute(
            "UPDATE developers SET active = 0 WHERE email = $1",
            &[email.into()],
        )
        .await?;
    if n == 0 {
        return Err(ApiError::NotFound(format!("no user `{email}`")));
    }
    tx.execute(
        "UPDATE keys SET active = 0, revoked_at_us = $1
         WHERE active = 1 AND developer_id = (SELECT id FROM developers WHERE email = $2)",
        &[now.into(), email.into()],
    )
    .await?;
    let view = user_by_email(&mut *tx, email).await?;
    tx.commit().await?;
    Ok(view)
}

// ---- keys

const KEY_SQL: &str = "SELECT k.key_id, k.name, d.email, o.name, t.name, k.active, k.expires_at_us, k.models, k.created_at_us
    FROM keys k JOIN developers d ON d.id = k.developer_id JOIN orgs o ON o.id = k.org_id
    LEFT JOIN teams t ON t.id = k.team_id";

fn key_view(r: &DbRow) -> Result<KeyView, StoreError> {
    Ok(KeyView {
        key_id: r.text(0)?,
        name: r.opt_text(1)?,
        developer: r.text(2)?,
        org: r.text(3)?,
        team: r.opt_text(4)?,
        active: r.flag(5)?,
        expires_at: r.opt_int(6)?.map(money::rfc3339_us),
        models: r.opt_text(7)?.and_then(|m| serde_json::from_str(&m).ok()),
        created_at: money::rfc3339_us(r.int(8)?),
        key: None,
    })
}

fn parse_time(field: &str, text: &str) -> Result<i64, ApiError> {
    text.parse::<jiff::Timestamp>()
        .map(|t| t.as_microsecond())
        .map_err(|_| {
            ApiError::BadRequest(format!(
                "invalid {field} `{text}`: use RFC 3339, e.g. 2026-01-31T00:00:00Z"
            ))
        })
}

fn models_json(models: &[String]) -> Result<Option<String>, ApiError> {
    if models.iter().any(|m| m.trim().is_empty()) {
        return Err(ApiError::BadRequest("models: empty model name".into()));
    }
    Ok((!models.is_empty()).then(|| serde_json::to_string(models).unwrap_or_default()))
}

async fn key_by_id(tx: &mut dyn Tx, key_id: &str) -> Result<KeyView, ApiError> {
    let sql = format!("{KEY_SQL} WHERE k.key_id = $1");
    tx.one(&sql, &[key_id.into()])
        .await?
        .map(|r| key_view(&r))
        .transpose()?
        .ok_or_else(|| ApiError::NotFound(format!("no key `{key_id}`")))
}

pub async fn create_key(store: &dyn Store, new: NewKey) -> Result<KeyView, ApiError> {
    let expires = new
        .expires_at
        .as_deref()
        .map(|t| parse_time("expires_at", t))
        .transpose()?;
    let models = models_json(new.models.as_deref().unwrap_or_default())?;
    let now = now_us();
    let mut tx = store.begin(true).await?;
    let r = tx
        .one(
            "SELECT d.id, d.org_id, d.team_id, o.name, d.active FROM developers d JOIN orgs o ON o.id = d.org_id
             WHERE d.email = $1",
            &[(&new.developer).into()],
        )
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no user `{}`; create it with `gw admin user create`", new.developer)))?;
    if r.int(4)? == 0 {
        return Err(ApiError::Conflict(format!(
            "user `{}` is revoked",
            new.developer
        )));
    }
    let (dev, org, org_name) = (r.int(0)?, r.int(1)?, r.text(3)?);
    let team = match &new.team {
        Some(t) => Some(team_id(&mut *tx, org, &org_name, t).await?),
        None => r.opt_int(2)?,
    };
    let (key_id, key) = secret::new_key();
    tx.execute(
        "INSERT INTO keys (key_id, key_hash, developer_id, team_id, org_id, name, expires_at_us, models, created_at_us)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            (&key_id).into(),
            secret::hash(&key).into(),
            dev.into(),
            team.into(),
            org.into(),
            new.name.clone().into(),
            expires.into(),
            models.into(),
            now.into(),
        ],
    )
    .await?;
    let mut view = key_by_id(&mut *tx, &key_id).await?;
    tx.commit().await?;
    view.key = Some(key);
    Ok(view)
}

pub async fn list_keys(
    store: &dyn Store,
    developer: Option<&str>,
    org: Option<&str>,
) -> Result<Vec<KeyView>, ApiError> {
    let mut tx = store.begin(false).await?;
    let sql = format!(
        "{KEY_SQL} WHERE (CAST($1 AS TEXT) = '' OR d.email = $1) AND (CAST($2 AS TEXT) = '' OR o.name = $2) ORDER BY o.name, d.email, k.created_at_us"
    );
    let rows = tx
        .query(
            &sql,
            &[developer.unwrap_or("").into(), org.unwrap_or("").into()],
        )
        .await?;
    Ok(rows.iter().map(key_view).collect::<Result<_, _>>()?)
}

pub async fn update_key(
    store: &dyn Store,
    key_id: &str,
    update: KeyUpdate,
) -> Result<KeyView, ApiError> {
    let mut tx = store.begin(true).await?;
    key_by_id(&mut *tx, key_id).await?;
    if let Some(name) = &update.name {
        tx.execute(
            "UPDATE keys SET name = $1 WHERE key_id = $2",
            &[name.into(), key_id.into()],
        )
        .await?;
    }
    if let Some(exp) = &update.expires_at {
        let exp = if exp.is_empty() {
            None
        } else {
            Some(parse_time("expires_at", exp)?)
        };
        tx.execute(
            "UPDATE keys SET expires_at_us = $1 WHERE key_id = $2",
            &[exp.into(), key_id.into()],
        )
        .await?;
    }
    if let Some(models) = &update.models {
        let models = models_json(models)?;
        tx.execute(
            "UPDATE keys SET models = $1 WHERE key_id = $2",
            &[models.into(), key_id.into()],
        )
        .await?;
    }
    let view = key_by_id(&mut *tx, key_id).await?;
    tx.commit().await?;
    Ok(view)
}

pub async fn revoke_key(store: &dyn Store, key_id: &str) -> Result<KeyView, ApiError> {
    let mut tx = store.begin(true).await?;
    key_by_id(&mut *tx, key_id).await?;
    tx.execute(
        "UPDATE keys SET active = 0, revoked_at_us = $1 WHERE key_id = $2 AND active = 1",
        &[now_us().into(), key_id.into()],
    )
    .await?;
    let view = key_by_id(&mut *tx, key_id).await?;
    tx.commit().await?;
    Ok(view)
}

/// Revokes every active key of an org and deactivates its developers; returns the keys it
/// revoked. The org, its teams and its budgets stay, so reports and history keep their names.
pub async fn revoke_org(store: &dyn Store, name: &str) -> Result<Vec<KeyView>, ApiError> {
    let mut tx = store.begin(true).await?;
    let org = org_id(&mut *tx, name).await?;
    let sql =
        format!("{KEY_SQL} WHERE k.org_id = $1 AND k.active = 1 ORDER BY d.email, k.created_at_us");
    let revoked: Vec<String> = tx
        .query(&sql, &[org.into()])
        .await?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<_, _>>()?;
    tx.execute(
        "UPDATE developers SET active = 0 WHERE org_id = $1",
        &[org.into()],
    )
    .await?;
    tx.execute(
        "UPDATE keys SET active = 0, revoked_at_us = $1 WHERE org_id = $2 AND active = 1",
        &[now_us().into(), org.into()],
    )
    .await?;
    let views = keys_by_ids(&mut *tx, &revoked).await?;
    tx.commit().await?;
    Ok(views)
}

/// Revokes every active key issued for a team (`org/team`); returns the keys it revoked. Its
/// developers stay active and may get keys for another team.
pub async fn revoke_team(store: &dyn Store, path: &str) -> Result<Vec<KeyView>, ApiError> {
    let (org_name, team_name) = path
        .split_once('/')
        .ok_or_else(|| ApiError::BadRequest(format!("team `{path}`: name a team as org/team")))?;
    let mut tx = store.begin(true).await?;
    let org = org_id(&mut *tx, org_name).await?;
    let team = team_id(&mut *tx, org, org_name, team_name).await?;
    let sql = format!(
        "{KEY_SQL} WHERE k.team_id = $1 AND k.active = 1 ORDER BY d.email, k.created_at_us"
    );
    let revoked: Vec<String> = tx
        .query(&sql, &[team.into()])
        .await?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<_, _>>()?;
    tx.execute(
        "UPDATE keys SET active = 0, revoked_at_us = $1 WHERE team_id = $2 AND active = 1",
        &[now_us().into(), team.into()],
    )
    .await?;
    let views = keys_by_ids(&mut *tx, &revoked).await?;
    tx.commit().await?;
    Ok(views)
}

async fn keys_by_ids(tx: &mut dyn Tx, key_ids: &[String]) -> Result<Vec<KeyView>, ApiError> {
    let mut views = Vec::with_capacity(key_ids.len());
    for key_id in key_ids {
        views.push(key_by_id(tx, key_id).await?);
    }
    Ok(views)
}

// ---- budgets

fn soft_bp(soft: Option<f64>) -> Result<Option<i64>, ApiError> {
    match soft {
        None => Ok(None),
        Some(f) if (0.0..=1.0).contains(&f) => Ok(Some((f * 10_000.0).round() as i64)),
        Some(f) => Err(ApiError::BadRequest(format!(
            "soft_threshold {f} is not a fraction between 0 and 1"
        ))),
    }
}

/// A scope's row id and its org's time zone.
pub(super) async fn resolve_scope(
    tx: &mut dyn Tx,
    scope: Scope,
    name: &str,
) -> Result<(i64, String), ApiError> {
    let row = match scope {
        Scope::Org => tx.one("SELECT id, tz FROM orgs WHERE name = $1", &[name.into()]).await?,
        Scope::Team => {
            let Some((org, team)) = name.split_once('/') else {
                return Err(ApiError::BadRequest(format!("team `{name}`: name teams as org/team")));
            };
            tx.one(
                "SELECT t.id, o.tz FROM teams t JOIN orgs o ON o.id = t.org_id WHERE o.name = $1 AND t.name = $2",
                &[org.into(), team.into()],
            )
            .await?
        }
        Scope::Developer => {
            tx.one(
                "SELECT d.id, o.tz FROM developers d JOIN orgs o ON o.id = d.org_id WHERE d.email = $1",
                &[name.into()],
            )
            .await?
        }
        Scope::Key => {
            tx.one("SELECT k.id, o.tz FROM keys k JOIN orgs o ON o.id = k.org_id WHERE k.key_id = $1", &[name.into()])
                .await?
        }
    };
    row.map(|r| Ok::<_, StoreError>((r.int(0)?, r.text(1)?)))
        .transpose()?
        .ok_or_else(|| ApiError::NotFound(format!("no {} `{name}`", scope.as_str())))
}

/// A scope's display name and time zone from its row id.
async fn scope_name(tx: &mut dyn Tx, scope: Scope, id: i64) -> Result<(String, String), ApiError> {
    let sql = match scope {
        Scope::Org => "SELECT name, tz FROM orgs WHERE id = $1",
        Scope::Team => "SELECT o.name || '/' || t.name, o.tz FROM teams t JOIN orgs o ON o.id = t.org_id WHERE t.id = $1",
        Scope::Developer => "SELECT d.email, o.tz FROM developers d JOIN orgs o ON o.id = d.org_id WHERE d.id = $1",
        Scope::Key => "SELECT k.key_id, o.tz FROM keys k JOIN orgs o ON o.id = k.org_id WHERE k.id = $1",
    };
    Ok(tx
        .one(sql, &[id.into()])
        .await?
        .map(|r| Ok::<_, StoreError>((r.text(0)?, r.text(1)?)))
        .transpose()?
        .unwrap_or_default())
}

async fn budget_status(tx: &mut dyn Tx, id: i64) -> Result<BudgetStatus, ApiError> {
    let row = tx
        .one(
            &format!(
                "SELECT {} FROM budgets WHERE id = $1",
                super::ops::BUDGET_COLUMNS
            ),
            &[id.into()],
        )
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no budget {id}")))?;
    let b = super::ops::budget_def(&row)?;
    let (name, tz) = scope_name(tx, b.scope, b.scope_id).await?;
    Ok(super::ops::status_of(tx, &b, name, &tz, now_us()).await?)
}

pub async fn create_budget(store: &dyn Store, new: NewBudget) -> Result<BudgetStatus, ApiError> {
    let limit = new.limit_usd.to_nanos().map_err(ApiError::BadRequest)?;
    let soft = soft_bp(new.soft_threshold)?.unwrap_or(8_000);
    let mut tx = store.begin(true).await?;
    let (scope_id, _) = resolve_scope(&mut *tx, new.scope, &new.name).await?;
    let row = tx
        .query(
            "INSERT INTO budgets (scope_kind, scope_id, limit_nanos, period, soft_bp, created_at_us, strict)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &[
                new.scope.as_str().into(),
                scope_id.into(),
                limit.into(),
                new.period.as_str().into(),
                soft.into(),
                now_us().into(),
                i64::from(new.strict).into(),
            ],
        )
        .await
        .map_err(|e| {
            conflict_or(
                e,
                format!(
                    "a {} budget on {} `{}` (update it with `gw admin budget update`)",
                    new.period.as_str(),
                    new.scope.as_str(),
                    new.name
                ),
            )
        })?;
    let id = row.first().map_or(Ok(0), |r| r.int(0))?;
    let status = budget_status(&mut *tx, id).await?;
    tx.commit().await?;
    Ok(status)
}

pub async fn list_budgets(
    store: &dyn Store,
    scope: Option<Scope>,
    name: Option<&str>,
) -> Result<Vec<BudgetStatus>, ApiError> {
    let mut tx = store.begin(false).await?;
    let ids: Vec<i64> = match (scope, name) {
        (Some(scope), Some(name)) => {
            let (sid, _) = resolve_scope(&mut *tx, scope, name).await?;
            tx.query(
                "SELECT id FROM budgets WHERE scope_kind = $1 AND scope_id = $2 ORDER BY id",
                &[scope.as_str().into(), sid.into()],
            )
            .await?
        }
        (Some(scope), None) => {
            tx.query(
                "SELECT id FROM budgets WHERE scope_kind = $1 ORDER BY id",
                &[scope.as_str().into()],
            )
            .await?
        }
        _ => tx.query("SELECT id FROM budgets ORDER BY id", &[]).await?,
    }
    .iter()
    .map(|r| r.int(0))
    .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(budget_status(&mut *tx, id).await?);
    }
    Ok(out)
}

pub async fn update_budget(
    store: &dyn Store,
    id: i64,
    update: BudgetUpdate,
) -> Result<BudgetStatus, ApiError> {
    let limit = update
        .limit_usd
        .as_ref()
        .map(|l| l.to_nanos().map_err(ApiError::BadRequest))
        .transpose()?;
    let soft = soft_bp(update.soft_threshold)?;
    let mut tx = store.begin(true).await?;
    budget_status(&mut *tx, id).await?;
    if let Some(limit) = limit {
        tx.execute(
            "UPDATE budgets SET limit_nanos = $1 WHERE id = $2",
            &[limit.into(), id.into()],
        )
        .await?;
    }
    if let Some(soft) = soft {
        tx.execute(
            "UPDATE budgets SET soft_bp = $1 WHERE id = $2",
            &[soft.into(), id.into()],
        )
        .await?;
    }
    if let Some(strict) = update.strict {
        tx.execute(
            "UPDATE budgets SET strict = $1 WHERE id = $2",
            &[i64::from(strict).into(), id.into()],
        )
        .await?;
    }
    let status = budget_status(&mut *tx, id).await?;
    tx.commit().await?;
    Ok(status)
}

pub async fn delete_budget(store: &dyn Store, id: i64) -> Result<BudgetStatus, ApiError> {
    let mut tx = store.begin(true).await?;
    let status = budget_status(&mut *tx, id).await?;
    tx.execute("DELETE FROM budgets WHERE id = $1", &[id.into()])
        .await?;
    tx.commit().await?;
    Ok(status)
}

// ---- rate limits

/// The longest window a rate limit may have: a day.
const MAX_WINDOW_SECS: i64 = 86_400;

fn check_caps(requests: Option<i64>, tokens: Option<i64>) -> Result<(), ApiError> {
    for (what, cap) in [("max_requests", requests), ("max_tokens", tokens)] {
        if cap.is_some_and(|n| !(1..=1_000_000_000_000).contains(&n)) {
            return Err(ApiError::BadRequest(format!(
                "{what} must be from 1 to 10^12"
            )));
        }
    }
    Ok(())
}

async fn limit_view_by_id(tx: &mut dyn Tx, id: i64) -> Result<RateLimitView, ApiError> {
    let limit = super::ops::stored_limit(tx, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no rate limit {id}")))?;
    let (name, _) = scope_name(tx, limit.scope, limit.scope_id).await?;
    Ok(super::ops::limit_view(tx, limit, name).await?)
}

pub async fn create_limit(store: &dyn Store, new: NewRateLimit) -> Result<RateLimitView, ApiError> {
    if !(1..=MAX_WINDOW_SECS).contains(&new.window_secs) {
        return Err(ApiError::BadRequest(format!(
            "window_secs must be from 1 to {MAX_WINDOW_SECS} (60: per minute, 3600: per hour)"
        )));
    }
    if new.max_requests.is_none() && new.max_tokens.is_none() {
        return Err(ApiError::BadRequest(
            "a rate limit needs max_requests, max_tokens or both".into(),
        ));
    }
    check_caps(new.max_requests, new.max_tokens)?;
    let mut tx = store.begin(true).await?;
    let (scope_id, _) = resolve_scope(&mut *tx, new.scope, &new.name).await?;
    let row = tx
        .query(
            "INSERT INTO rate_limits (scope_kind, scope_id, window_secs, max_requests, max_tokens, created_at_us)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[
                new.scope.as_str().into(),
                scope_id.into(),
                new.window_secs.into(),
                new.max_requests.into(),
                new.max_tokens.into(),
                now_us().into(),
            ],
        )
        .await
        .map_err(|e| {
            conflict_or(
                e,
                format!(
                    "a rate limit per {} s on {} `{}` (update it with `gw admin limit update`)",
                    new.window_secs,
                    new.scope.as_str(),
                    new.name
                ),
            )
        })?;
    let id = row.first().map_or(Ok(0), |r| r.int(0))?;
    let view = limit_view_by_id(&mut *tx, id).await?;
    tx.commit().await?;
    Ok(view)
}

pub async fn list_limits(store: &dyn Store) -> Result<Vec<RateLimitView>, ApiError> {
    let mut tx = store.begin(false).await?;
    let ids: Vec<i64> = tx
        .query("SELECT id FROM rate_limits ORDER BY id", &[])
        .await?
        .iter()
        .map(|r| r.int(0))
        .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(limit_view_by_id(&mut *tx, id).await?);
    }
    Ok(out)
}

pub async fn update_limit(
    store: &dyn Store,
    id: i64,
    update: RateLimitUpdate,
) -> Result<RateLimitView, ApiError> {
    check_caps(update.max_requests, update.max_tokens)?;
    let mut tx = store.begin(true).await?;
    limit_view_by_id(&mut *tx, id).await?;
    for (column, cap) in [
        ("max_requests", update.max_requests),
        ("max_tokens", update.max_tokens),
    ] {
        if let Some(cap) = cap {
            tx.execute(
                &format!("UPDATE rate_limits SET {column} = $1 WHERE id = $2"),
                &[cap.into(), id.into()],
            )
            .await?;
        }
    }
    let view = limit_view_by_id(&mut *tx, id).await?;
    tx.commit().await?;
    Ok(view)
}

pub async fn delete_limit(store: &dyn Store, id: i64) -> Result<RateLimitView, ApiError> {
    let mut tx = store.begin(true).await?;
    let view = limit_view_by_id(&mut *tx, id).await?;
    // The limit's row first, as grants lock it before touching theirs.
    tx.execute("DELETE FROM rate_limits WHERE id = $1", &[id.into()])
        .await?;
    tx.execute("DELETE FROM rate_grants WHERE limit_id = $1", &[id.into()])
        .await?;
    tx.commit().await?;
    Ok(view)
}

// ---- prices

/// The model name a price is stored under, checked; the price checked with it.
fn price_model(model: &str, price: Option<&PriceOverride>) -> Result<String, ApiError> {
    let name = model.trim().to_lowercase();
    if name.is_empty() || name.len() > 200 {
        return Err(ApiError::BadRequest(format!(
            "invalid model name `{model}`: 1-200 characters"
        )));
    }
    if let Some(price) = price {
        price.validate(&name).map_err(|e| match e {
            PricingError::BadOverride { reason, .. } => ApiError::BadRequest(format!(
                "invalid price for `{name}`: {reason}; prices are USD per million tokens"
            )),
            other => ApiError::BadRequest(other.to_string()),
        })?;
    }
    Ok(name)
}

fn price_view(r: &DbRow) -> Result<PriceView, StoreError> {
    Ok(PriceView {
        org: r.text(0)?,
        model: r.text(1)?,
        // Written by `set_price` from a checked entry; a row that does not parse reads as free
        // and unusable rather than failing every list.
        price: serde_json::from_str(&r.text(2)?).unwrap_or_else(|_| PriceOverride::new(0.0, 0.0)),
        updated_at: money::rfc3339_us(r.int(3)?),
    })
}

const PRICE_SQL: &str = "SELECT o.name, p.model, p.price_json, p.updated_at_us
    FROM model_prices p JOIN orgs o ON o.id = p.org_id";

/// Sets (creates or replaces) an org's price of a model.
pub async fn set_price(
    store: &dyn Store,
    org_name: &str,
    model: &str,
    price: PriceOverride,
) -> Result<PriceView, ApiError> {
    let model = price_model(model, Some(&price))?;
    let json = serde_json::to_string(&price)
        .map_err(|e| ApiError::BadRequest(format!("invalid price: {e}")))?;
    let now = now_us();
    let mut tx = store.begin(true).await?;
    let org = org_id(&mut *tx, org_name).await?;
    tx.execute(
        "INSERT INTO model_prices (org_id, model, price_json, updated_at_us) VALUES ($1, $2, $3, $4)
         ON CONFLICT (org_id, model) DO UPDATE SET price_json = excluded.price_json,
            updated_at_us = excluded.updated_at_us",
        &[org.into(), (&model).into(), json.into(), now.into()],
    )
    .await?;
    tx.commit().await?;
    Ok(PriceView {
        org: org_name.to_string(),
        model,
        price,
        updated_at: money::rfc3339_us(now),
    })
}

/// Every price, or one org's, by org and model.
pub async fn list_prices(store: &dyn Store, org: Option<&str>) -> Result<Vec<PriceView>, ApiError> {
    let mut tx = store.begin(false).await?;
    if let Some(org) = org {
        org_id(&mut *tx, org).await?;
    }
    let sql = format!(
        "{PRICE_SQL} WHERE (CAST($1 AS TEXT) = '' OR o.name = $1) ORDER BY o.name, p.model"
    );
    let rows = tx.query(&sql, &[org.unwrap_or("").into()]).await?;
    Ok(rows.iter().map(price_view).collect::<Result<_, _>>()?)
}

/// Deletes an org's price of a model; answers the price it deleted.
pub async fn delete_price(
    store: &dyn Store,
    org_name: &str,
    model: &str,
) -> Result<PriceView, ApiError> {
    let model = price_model(model, None)?;
    let mut tx = store.begin(true).await?;
    let org = org_id(&mut *tx, org_name).await?;
    let sql = format!("{PRICE_SQL} WHERE p.org_id = $1 AND p.model = $2");
    let view = tx
        .one(&sql, &[org.into(), (&model).into()])
        .await?
        .map(|r| price_view(&r))
        .transpose()?
        .ok_or_else(|| {
            ApiError::NotFound(format!("org `{org_name}` has no price for `{model}`"))
        })?;
    tx.execute(
        "DELETE FROM model_prices WHERE org_id = $1 AND model = $2",
        &[org.into(), (&model).into()],
    )
    .await?;
    tx.commit().await?;
    Ok(view)
}

/// The prices an org's keys charge by, by model (what whoami tells a key).
pub async fn org_prices(
    store: &dyn Store,
    org_id: i64,
) -> Result<BTreeMap<String, PriceOverride>, ApiError> {
    let mut tx = store.begin(false).await?;
    let sql = format!("{PRICE_SQL} WHERE p.org_id = $1 ORDER BY p.model");
    let rows = tx.query(&sql, &[org_id.into()]).await?;
    // A row that does not parse is left out: that model stays unpriced (refused under a
    // budget), never free.
    Ok(rows
        .iter()
        .filter_map(|r| {
            let model = r.text(1).ok()?;
            Some((model, serde_json::from_str(&r.text(2).ok()?).ok()?))
        })
        .collect())
}
