//! `gw admin org|team|user|key|budget create|list|update|revoke` and `gw admin price
//! set|list|delete`: the server's admin API over HTTP, with the admin token from
//! `GW_ADMIN_TOKEN`; tables, or `--json`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use comfy_table::{presets, Table};
use http::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::api::admin::{
    BudgetUpdate, KeyUpdate, KeyView, NewBudget, NewKey, NewOrg, NewRateLimit, NewTeam, NewUser,
    OrgUpdate, OrgView, PriceView, RateLimitUpdate, TeamUpdate, TeamView, UsdAmount, UserUpdate,
    UserView,
};
use crate::api::{BudgetPeriod, BudgetStatus, RateLimitView, Scope};
use crate::config::{env_vars, Config, Credentials, ServerLogin};
use crate::pricing::PriceOverride;
use crate::server::client::{encode, Client, ClientError};
use crate::server::trust::{Fingerprint, Trust};

#[derive(Debug, Args)]
pub struct AdminArgs {
    /// The gw server's URL.
    #[arg(long, global = true, value_name = "URL", env = env_vars::GW_SERVER, default_value = "http://127.0.0.1:8787")]
    server: String,
    /// Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server
    /// --tls-self-signed`); default: the one `gw login` kept for the same server.
    #[arg(long, global = true, value_name = "PEM", env = env_vars::GW_SERVER_CA)]
    ca_cert: Option<PathBuf>,
    /// Pin the server certificate's SHA-256 fingerprint (as `gw server` prints it at start).
    #[arg(long, global = true, value_name = "SHA256", env = env_vars::GW_SERVER_FINGERPRINT)]
    fingerprint: Option<String>,
    /// Print the server's JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, Subcommand)]
enum What {
    /// Organisations (each with the time zone its budgets align to).
    #[command(subcommand)]
    Org(OrgCmd),
    /// Teams of an org.
    #[command(subcommand)]
    Team(TeamCmd),
    /// Developers.
    #[command(subcommand)]
    User(UserCmd),
    /// Virtual keys.
    #[command(subcommand)]
    Key(KeyCmd),
    /// Budgets on an org, team, developer or key.
    #[command(subcommand)]
    Budget(BudgetCmd),
    /// Rate limits on an org, team, developer or key: requests and tokens per window.
    #[command(subcommand)]
    Limit(LimitCmd),
    /// Model prices for an org (USD per million tokens), for models gw's table lacks or
    /// prices otherwise; the org's sessions charge by them.
    #[command(subcommand)]
    Price(PriceCmd),
}

#[derive(Debug, Subcommand)]
enum OrgCmd {
    /// Create an org.
    Create {
        name: String,
        /// IANA time zone its budgets align to.
        #[arg(long, default_value = "UTC")]
        tz: String,
    },
    /// List orgs.
    List,
    /// Change an org's time zone.
    Update {
        name: String,
        #[arg(long)]
        tz: String,
    },
    /// Deactivate every developer of an org and revoke its keys (the org's history stays).
    Revoke { name: String },
}

#[derive(Debug, Subcommand)]
enum TeamCmd {
    /// Create a team in an org.
    Create {
        name: String,
        #[arg(long)]
        org: String,
    },
    /// List teams.
    List {
        #[arg(long)]
        org: Option<String>,
    },
    /// Rename a team, named org/team (its budgets, keys and history follow).
    Update {
        #[arg(value_parser = team_path, value_name = "ORG/TEAM")]
        team: (String, String),
        /// The new name.
        #[arg(long)]
        name: String,
    },
    /// Revoke every key issued for a team, named org/team (its developers stay).
    Revoke {
        #[arg(value_parser = team_path, value_name = "ORG/TEAM")]
        team: (String, String),
    },
}

#[derive(Debug, Subcommand)]
enum UserCmd {
    /// Create a developer.
    Create {
        email: String,
        #[arg(long)]
        org: String,
        #[arg(long)]
        team: Option<String>,
        #[arg(long)]
        name: Option<String>,
    },
    /// List developers.
    List {
        #[arg(long)]
        org: Option<String>,
    },
    /// Change a developer's name or team (`--team ""` removes the team).
    Update {
        email: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        team: Option<String>,
    },
    /// Deactivate a developer and revoke their keys.
    Revoke { email: String },
}

#[derive(Debug, Subcommand)]
enum KeyCmd {
    /// Create a key for a developer; the key is printed once.
    Create {
        /// The owner's email.
        #[arg(long)]
        user: String,
        /// A team of the owner's org (default: the owner's team).
        #[arg(long)]
        team: Option<String>,
        #[arg(long)]
        name: Option<String>,
        /// RFC 3339 expiry, e.g. 2026-12-31T00:00:00Z.
        #[arg(long)]
        expires: Option<String>,
        /// Comma-separated models the key may use.
        #[arg(long, value_delimiter = ',')]
        models: Option<Vec<String>>,
    },
    /// List keys.
    List {
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        org: Option<String>,
    },
    /// Change a key's name, expiry (`""` removes it) or models (`""` removes the list).
    Update {
        key_id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        expires: Option<String>,
        #[arg(long, value_delimiter = ',')]
        models: Option<Vec<String>>,
    },
    /// Revoke a key.
    Revoke { key_id: String },
}

#[derive(Debug, Subcommand)]
enum BudgetCmd {
    /// Create a budget.
    Create {
        /// org | team | developer | key
        #[arg(long)]
        scope: String,
        /// Org name, org/team, developer email, or key id.
        #[arg(long)]
        name: String,
        /// Limit in USD, e.g. 100 or 2.50.
        #[arg(long)]
        limit: String,
        /// hour | day | week | month | total
        #[arg(long)]
        period: String,
        /// Fraction of the limit at which clients warn (default 0.8).
        #[arg(long)]
        soft: Option<f64>,
        /// Never exceed the limit: each request first reserves its upper-bound cost (its body's
        /// size as input tokens, its output limit), and one that does not fit what is left is
        /// refused.
        #[arg(long)]
        strict: bool,
    },
    /// List budgets with this period's spend.
    List {
        #[arg(long, requires = "name")]
        scope: Option<String>,
        #[arg(long, requires = "scope")]
        name: Option<String>,
    },
    /// Change a budget's limit, soft threshold or strictness.
    Update {
        id: i64,
        #[arg(long)]
        limit: Option<String>,
        #[arg(long)]
        soft: Option<f64>,
        /// true: never exceed the limit (see `create --strict`); false: admit while money is left.
        #[arg(long)]
        strict: Option<bool>,
    },
    /// Delete a budget.
    Revoke { id: i64 },
}

#[derive(Debug, Subcommand)]
enum LimitCmd {
    /// Create a rate limit. Sessions take shares of it with their leases; a request over it
    /// gets a 429 with retry-after, which agents wait out.
    Create {
        /// org | team | developer | key
        #[arg(long)]
        scope: String,
        /// Org name, org/team, developer email, or key id.
        #[arg(long)]
        name: String,
        /// The window in seconds: 60 per minute, 3600 per hour.
        #[arg(long, default_value_t = 60)]
        window: i64,
        /// Most requests per window.
        #[arg(long)]
        requests: Option<i64>,
        /// Most tokens (input, cache and output) per window.
        #[arg(long)]
        tokens: Option<i64>,
    },
    /// List rate limits with what was granted in their current windows.
    List,
    /// Change a rate limit's caps.
    Update {
        id: i64,
        #[arg(long)]
        requests: Option<i64>,
        #[arg(long)]
        tokens: Option<i64>,
    },
    /// Delete a rate limit.
    Delete { id: i64 },
}

#[derive(Debug, Subcommand)]
enum PriceCmd {
    /// Set (create or replace) an org's price of a model, in USD per million tokens.
    Set {
        /// The model name as agents send it (stored lower-case).
        model: String,
        /// The org whose sessions charge by this price.
        #[arg(long)]
        org: String,
        #[command(flatten)]
        price: PriceArgs,
    },
    /// List model prices.
    List {
        #[arg(long)]
        org: Option<String>,
    },
    /// Delete an org's price of a model.
    Delete {
        model: String,
        /// The org whose price it is.
        #[arg(long)]
        org: String,
    },
}

/// A price in USD per million tokens, as `[prices."model"]` in gw's config.
#[derive(Debug, Args)]
struct PriceArgs {
    /// Input tokens.
    #[arg(long, value_name = "USD")]
    input: f64,
    /// Output tokens.
    #[arg(long, value_name = "USD")]
    output: f64,
    /// Cache reads (default: derived from input as for gw's table).
    #[arg(long, value_name = "USD")]
    cache_read: Option<f64>,
    /// Cache writes with a 5-minute lifetime.
    #[arg(long, value_name = "USD")]
    cache_write_5m: Option<f64>,
    /// Cache writes with a 1-hour lifetime.
    #[arg(long, value_name = "USD")]
    cache_write_1h: Option<f64>,
    /// Reasoning tokens, when they differ from output.
    #[arg(long, value_name = "USD")]
    reasoning: Option<f64>,
    /// The long-context threshold: the --*-above prices apply to requests with more input.
    #[arg(long, value_name = "TOKENS")]
    above_tokens: Option<u64>,
    /// Input tokens above --above-tokens.
    #[arg(long, value_name = "USD")]
    input_above: Option<f64>,
    /// Output tokens above --above-tokens.
    #[arg(long, value_name = "USD")]
    output_above: Option<f64>,
    /// Cache reads above --above-tokens.
    #[arg(long, value_name = "USD")]
    cache_read_above: Option<f64>,
    /// 5-minute cache writes above --above-tokens.
    #[arg(long, value_name = "USD")]
    cache_write_5m_above: Option<f64>,
    /// 1-hour cache writes above --above-tokens.
    #[arg(long, value_name = "USD")]
    cache_write_1h_above: Option<f64>,
}

impl From<PriceArgs> for PriceOverride {
    fn from(a: PriceArgs) -> PriceOverride {
        PriceOverride {
            input: a.input,
            output: a.output,
            cache_read: a.cache_read,
            cache_write_5m: a.cache_write_5m,
            cache_write_1h: a.cache_write_1h,
            reasoning: a.reasoning,
            above_tokens: a.above_tokens,
            input_above: a.input_above,
            output_above: a.output_above,
            cache_read_above: a.cache_read_above,
            cache_write_5m_above: a.cache_write_5m_above,
            cache_write_1h_above: a.cache_write_1h_above,
        }
    }
}

/// What `gw admin` trusts of the server's certificate: the flags, else what `gw login` stored
/// for the same server, else the public roots.
fn trust(args: &AdminArgs, stored: Option<&ServerLogin>) -> anyhow::Result<Trust> {
    let stored = stored.filter(|s| crate::sync::same_url(&s.url, &args.server));
    let pin = args
        .fingerprint
        .clone()
        .or_else(|| stored.and_then(|s| s.fingerprint.clone()))
        .map(|f| Fingerprint::parse(&f))
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let ca = args
        .ca_cert
        .clone()
        .or_else(|| stored.and_then(|s| s.ca_cert.clone()));
    Ok(Trust { ca, pin })
}

pub fn run(config: Option<Config>, args: AdminArgs) -> anyhow::Result<ExitCode> {
    let Some(token) = env_vars::var(env_vars::GW_ADMIN_TOKEN) else {
        anyhow::bail!(
            "set {} to the admin token (`gw server init` prints it once; `gw server init --rotate` makes a new one)",
            env_vars::GW_ADMIN_TOKEN
        );
    };
    // An unreadable credentials file only loses the stored trust, not the admin command.
    let stored = config
        .and_then(|c| Credentials::load(&c.credentials_path).ok())
        .and_then(|c| c.server);
    let trust = trust(&args, stored.as_ref())?;
    let client = Client::new(&args.server, Some(token), &trust)?;
    let json_out = args.json;
    let result = super::runtime()?.block_on(dispatch(&client, args.what));
    match result {
        Ok((value, view)) => {
            if json_out {
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                match render(&value, view) {
                    Ok(table) => print!("{table}"),
                    Err(message) => {
                        eprintln!("gw: error: {message}");
                        return Ok(ExitCode::FAILURE);
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(ClientError::Api { message, .. }) => {
            eprintln!("gw: error: {message}");
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Clone, Copy)]
enum View {
    Orgs,
    Teams,
    Users,
    Keys,
    Budgets,
    Limits,
    Prices,
}

/// `acme/backend` → (`acme`, `backend`).
fn team_path(text: &str) -> Result<(String, String), String> {
    match text.split_once('/') {
        Some((org, team)) if !org.is_empty() && !team.is_empty() => Ok((org.into(), team.into())),
        _ => Err(format!(
            "name the team as org/team, e.g. acme/backend (got `{text}`)"
        )),
    }
}

/// A request body, as the server's own type for it.
fn body(request: impl Serialize) -> Value {
    serde_json::to_value(request).expect("request bodies serialize")
}

/// Bad input caught before asking the server, reported as the server would have.
fn bad_request(message: String) -> ClientError {
    ClientError::Api {
        status: http::StatusCode::BAD_REQUEST,
        kind: "invalid_request_error".into(),
        message,
        body: Value::Null,
    }
}

fn parse_scope(text: &str) -> Result<Scope, ClientError> {
    Scope::from_name(text).map_err(bad_request)
}

fn parse_period(text: &str) -> Result<BudgetPeriod, ClientError> {
    BudgetPeriod::parse(text).ok_or_else(|| {
        bad_request(format!(
            "invalid period `{text}`: use {}",
            BudgetPeriod::NAMES
        ))
    })
}

async fn dispatch(c: &Client, what: What) -> Result<(Value, View), ClientError> {
    use Method as M;
    Ok(match what {
        What::Org(cmd) => (
            match cmd {
                OrgCmd::Create { name, tz } => {
                    c.call(
                        M::POST,
                        "/v1/admin/orgs",
                        Some(&body(NewOrg { name, tz: Some(tz) })),
                    )
                    .await?
                }
                OrgCmd::List => c.call(M::GET, "/v1/admin/orgs", None).await?,
                OrgCmd::Update { name, tz } => {
                    c.call(
                        M::PATCH,
                        &format!("/v1/admin/orgs/{}", encode(&name)),
                        Some(&body(OrgUpdate { tz: Some(tz) })),
                    )
                    .await?
                }
                OrgCmd::Revoke { name } => {
                    let path = format!("/v1/admin/orgs/{}/revoke", encode(&name));
                    return Ok((c.call(M::POST, &path, None).await?, View::Keys));
                }
            },
            View::Orgs,
        ),
        What::Team(cmd) => (
            match cmd {
                TeamCmd::Create { name, org } => {
                    c.call(
                        M::POST,
                        "/v1/admin/teams",
                        Some(&body(NewTeam { org, name })),
                    )
                    .await?
                }
                TeamCmd::List { org } => {
                    c.call(
                        M::GET,
                        &format!("/v1/admin/teams{}", query(&[("org", &org)])),
                        None,
                    )
                    .await?
                }
                TeamCmd::Update {
                    team: (org, team),
                    name,
                } => {
                    let path = format!("/v1/admin/teams/{}/{}", encode(&org), encode(&team));
                    c.call(M::PATCH, &path, Some(&body(TeamUpdate { name })))
                        .await?
                }
                TeamCmd::Revoke { team: (org, name) } => {
                    let path = format!("/v1/admin/teams/{}/{}/revoke", encode(&org), encode(&name));
                    return Ok((c.call(M::POST, &path, None).await?, View::Keys));
                }
            },
            View::Teams,
        ),
        What::User(cmd) => (
            match cmd {
                UserCmd::Create {
                    email,
                    org,
                    team,
                    name,
                } => {
                    let body = body(NewUser {
                        email,
                        org,
                        team,
                        name,
                    });
                    c.call(M::POST, "/v1/admin/users", Some(&body)).await?
                }
                UserCmd::List { org } => {
                    c.call(
                        M::GET,
                        &format!("/v1/admin/users{}", query(&[("org", &org)])),
                        None,
                    )
                    .await?
                }
                UserCmd::Update { email, name, team } => {
                    let body = body(UserUpdate { name, team });
                    c.call(
                        M::PATCH,
                        &format!("/v1/admin/users/{}", encode(&email)),
                        Some(&body),
                    )
                    .await?
                }
                UserCmd::Revoke { email } => {
                    c.call(
                        M::POST,
                        &format!("/v1/admin/users/{}/revoke", encode(&email)),
                        None,
                    )
                    .await?
                }
            },
            View::Users,
        ),
        What::Key(cmd) => (
            match cmd {
                KeyCmd::Create {
                    user,
                    team,
                    name,
                    expires,
                    models,
                } => {
                    let body = body(NewKey {
                        developer: user,
                        team,
                        name,
                        expires_at: expires,
                        models,
                    });
                    c.call(M::POST, "/v1/admin/keys", Some(&body)).await?
                }
                KeyCmd::List { user, org } => {
                    c.call(
                        M::GET,
                        &format!(
                            "/v1/admin/keys{}",
                            query(&[("developer", &user), ("org", &org)])
                        ),
                        None,
                    )
                    .await?
                }
                KeyCmd::Update {
                    key_id,
                    name,
                    expires,
                    models,
                } => {
                    let models =
                        models.map(|m| m.into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>());
                    let body = body(KeyUpdate {
                        name,
                        expires_at: expires,
                        models,
                    });
                    c.call(
                        M::PATCH,
                        &format!("/v1/admin/keys/{}", encode(&key_id)),
                        Some(&body),
                    )
                    .await?
                }
                KeyCmd::Revoke { key_id } => {
                    c.call(
                        M::POST,
                        &format!("/v1/admin/keys/{}/revoke", encode(&key_id)),
                        None,
                    )
                    .await?
                }
            },
            View::Keys,
        ),
        What::Budget(cmd) => (
            match cmd {
                BudgetCmd::Create {
                    scope,
                    name,
                    limit,
                    period,
                    soft,
                    strict,
                } => {
                    let body = body(NewBudget {
                        scope: parse_scope(&scope)?,
                        name,
                        limit_usd: UsdAmount::Text(limit),
                        period: parse_period(&period)?,
                        soft_threshold: soft,
                        strict,
                    });
                    c.call(M::POST, "/v1/admin/budgets", Some(&body)).await?
                }
                BudgetCmd::List { scope, name } => {
                    c.call(
                        M::GET,
                        &format!(
                            "/v1/admin/budgets{}",
                            query(&[("scope", &scope), ("name", &name)])
                        ),
                        None,
                    )
                    .await?
                }
                BudgetCmd::Update {
                    id,
                    limit,
                    soft,
                    strict,
                } => {
                    let body = body(BudgetUpdate {
                        limit_usd: limit.map(UsdAmount::Text),
                        soft_threshold: soft,
                        strict,
                    });
                    c.call(M::PATCH, &format!("/v1/admin/budgets/{id}"), Some(&body))
                        .await?
                }
                BudgetCmd::Revoke { id } => {
                    c.call(M::DELETE, &format!("/v1/admin/budgets/{id}"), None)
                        .await?
                }
            },
            View::Budgets,
        ),
        What::Limit(cmd) => (
            match cmd {
                LimitCmd::Create {
                    scope,
                    name,
                    window,
                    requests,
                    tokens,
                } => {
                    let body = body(NewRateLimit {
                        scope: parse_scope(&scope)?,
                        name,
                        window_secs: window,
                        max_requests: requests,
                        max_tokens: tokens,
                    });
                    c.call(M::POST, "/v1/admin/limits", Some(&body)).await?
                }
                LimitCmd::List => c.call(M::GET, "/v1/admin/limits", None).await?,
                LimitCmd::Update {
                    id,
                    requests,
                    tokens,
                } => {
                    let body = body(RateLimitUpdate {
                        max_requests: requests,
                        max_tokens: tokens,
                    });
                    c.call(M::PATCH, &format!("/v1/admin/limits/{id}"), Some(&body))
                        .await?
                }
                LimitCmd::Delete { id } => {
                    c.call(M::DELETE, &format!("/v1/admin/limits/{id}"), None)
                        .await?
                }
            },
            View::Limits,
        ),
        What::Price(cmd) => (
            match cmd {
                PriceCmd::Set { model, org, price } => {
                    let body = body(PriceOverride::from(price));
                    c.call(M::PUT, &price_path(&org, &model), Some(&body))
                        .await?
                }
                PriceCmd::List { org } => {
                    c.call(
                        M::GET,
                        &format!("/v1/admin/prices{}", query(&[("org", &org)])),
                        None,
                    )
                    .await?
                }
                PriceCmd::Delete { model, org } => {
                    c.call(M::DELETE, &price_path(&org, &model), None).await?
                }
            },
            View::Prices,
        ),
    })
}

fn price_path(org: &str, model: &str) -> String {
    format!("/v1/admin/prices/{}/{}", encode(org), encode(model))
}

fn query(pairs: &[(&str, &Option<String>)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", encode(v))))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// An optional text cell: `-` when absent.
fn cell(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".into())
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}

/// A number as the server's JSON writes it (`3.0`, `0.3`).
fn num(x: f64) -> String {
    serde_json::Number::from_f64(x).map_or_else(|| x.to_string(), |n| n.to_string())
}

fn opt_num(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), num)
}

fn usd(x: f64) -> String {
    format!("${x:.2}")
}

/// The items of a list answer (`{"orgs": [...]}`) or of a single answer, read as the server's
/// own type for them: an answer in another shape is an error, not a table of `-`.
fn items<T: DeserializeOwned>(value: &Value, list_key: &str) -> Result<Vec<T>, String> {
    let list = match value.get(list_key) {
        Some(list) => list.clone(),
        None => Value::Array(vec![value.clone()]),
    };
    serde_json::from_value(list).map_err(|e| {
        format!("the gw server answered in a shape this gw does not read ({e}); are gw and the server the same version?")
    })
}

/// A list answer (`{"orgs": [...]}`) or a single object, as a table.
fn render(value: &Value, view: View) -> Result<String, String> {
    let (headers, rows): (&[&str], Vec<Vec<String>>) = match view {
        View::Orgs => (
            &["org", "time zone", "created"],
            items::<OrgView>(value, "orgs")?
                .into_iter()
                .map(|o| vec![o.name, o.tz, o.created_at])
                .collect(),
        ),
        View::Teams => (
            &["team", "created"],
            items::<TeamView>(value, "teams")?
                .into_iter()
                .map(|t| vec![t.path, t.created_at])
                .collect(),
        ),
        View::Users => (
            &["email", "name", "org", "team", "active", "created"],
            items::<UserView>(value, "users")?
                .into_iter()
                .map(|u| {
                    vec![
                        u.email,
                        cell(&u.name),
                        u.org,
                        cell(&u.team),
                        yes_no(u.active),
                        u.created_at,
                    ]
                })
                .collect(),
        ),
        View::Keys => (
            &[
                "key id",
                "name",
                "developer",
                "org",
                "team",
                "active",
                "expires",
                "models",
            ],
            items::<KeyView>(value, "keys")?
                .into_iter()
                .map(|k| {
                    vec![
                        k.key_id,
                        cell(&k.name),
                        k.developer,
                        k.org,
                        cell(&k.team),
                        yes_no(k.active),
                        cell(&k.expires_at),
                        k.models.map_or_else(|| "-".into(), |m| m.join(",")),
                    ]
                })
                .collect(),
        ),
        View::Budgets => (
            &[
                "id",
                "scope",
                "name",
                "period",
                "limit",
                "spent",
                "reserved",
                "remaining",
                "resets at",
            ],
            items::<BudgetStatus>(value, "budgets")?
                .into_iter()
                .map(|b| {
                    vec![
                        b.id.to_string(),
                        b.scope.as_str().into(),
                        b.name,
                        if b.strict {
                            format!("{} (strict)", b.period.as_str())
                        } else {
                            b.period.as_str().into()
                        },
                        usd(b.limit_usd),
                        usd(b.spent_usd),
                        usd(b.reserved_nanos as f64 / 1e9),
                        usd(b.remaining_usd),
                        cell(&b.resets_at),
                    ]
                })
                .collect(),
        ),
        View::Limits => (
            &[
                "id",
                "scope",
                "name",
                "window",
                "requests",
                "tokens",
                "granted this window",
                "window ends",
            ],
            items::<RateLimitView>(value, "limits")?
                .into_iter()
                .map(|l| {
                    let cap = |n: Option<i64>| n.map_or("-".to_string(), |n| n.to_string());
                    vec![
                        l.id.to_string(),
                        l.scope.as_str().into(),
                        l.name,
                        format!("{} s", l.window_secs),
                        cap(l.max_requests),
                        cap(l.max_tokens),
                        format!(
                            "{} requests, {} tokens",
                            l.granted_requests, l.granted_tokens
                        ),
                        l.window_ends_at,
                    ]
                })
                .collect(),
        ),
        View::Prices => (
            &[
                "org",
                "model",
                "input",
                "output",
                "cache read",
                "cache write 5m",
                "cache write 1h",
                "updated",
            ],
            items::<PriceView>(value, "prices")?
                .into_iter()
                .map(|p| {
                    vec![
                        p.org,
                        p.model,
                        num(p.price.input),
                        num(p.price.output),
                        opt_num(p.price.cache_read),
                        opt_num(p.price.cache_write_5m),
                        opt_num(p.price.cache_write_1h),
                        p.updated_at,
                    ]
                })
                .collect(),
        ),
    };
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_BORDERS_ONLY)
        .set_header(headers.to_vec());
    for row in rows {
        table.add_row(row);
    }
    let mut out = format!("{table}\n");
    if let Some(key) = value.get("key").and_then(Value::as_str) {
        out.push_str(&format!(
            "\nkey (shown once; give it to the developer, who runs `gw login`):\n{key}\n"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_as_the_servers_types() {
        let key = serde_json::json!({"keys": [{
            "key_id": "gwk_1", "name": null, "developer": "dev@example.com", "org": "acme",
            "team": "backend", "active": true, "expires_at": null, "models": ["gpt-5", "claude-*"],
            "created_at": "2026-11-29T00:00:00Z",
        }]});
        let table = render(&key, View::Keys).unwrap();
        assert!(
            table.contains("gwk_1") && table.contains("gpt-5,claude-*"),
            "{table}"
        );
        assert!(table.contains(" - "), "absent fields show as -: {table}");
        // A field renamed on the server fails loudly instead of printing `-`.
        let mut renamed = key.clone();
        let row = renamed["keys"][0].as_object_mut().unwrap();
        let id = row.remove("key_id").unwrap();
        row.insert("id".into(), id);
        let error = render(&renamed, View::Keys).unwrap_err();
        assert!(error.contains("key_id"), "{error}");
    }

    #[test]
    fn request_bodies_are_the_servers_types() {
        let budget = body(NewBudget {
            scope: parse_scope("team").unwrap(),
            name: "acme/backend".into(),
            limit_usd: UsdAmount::Text("10.50".into()),
            period: parse_period("day").unwrap(),
            soft_threshold: None,
            strict: true,
        });
        assert_eq!(
            budget,
            serde_json::json!({"scope": "team", "name": "acme/backend", "limit_usd": "10.50",
                "period": "day", "soft_threshold": null, "strict": true})
        );
        assert!(parse_scope("galaxy").is_err());
        assert!(parse_period("fortnight").is_err());
    }
}
