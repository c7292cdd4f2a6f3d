//! API tests of `gw server`: every test runs on SQLite, and on PostgreSQL when
//! `GW_TEST_POSTGRES_URL` is set (each in a schema of its own, dropped at the end).

mod common;

use std::sync::Arc;

use gw::server::client::Client;
use gw::server::trust::Trust;
use gw::server::{self, ServeOptions, Store};
use http::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const USD: i64 = 1_000_000_000;

/// A database for one test.
struct Db {
    store: Arc<dyn Store>,
    /// Opens another store on the same database (a second replica).
    url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl Db {
    async fn sqlite() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("server.db").display());
        Db {
            store: server::open_store(&url).await.unwrap(),
            url,
            _dir: Some(dir),
            pg: None,
        }
    }

    async fn postgres() -> Option<Db> {
        let base = std::env::var("GW_TEST_POSTGRES_URL")
            .ok()
            .filter(|u| !u.is_empty())?;
        let (url, schema) = common::pg_schema(&base, "gw_test").await;
        let store = server::open_store(&url).await.unwrap();
        Some(Db {
            store,
            url,
            _dir: None,
            pg: Some((base, schema)),
        })
    }

    async fn cleanup(self) {
        if let Some((base, schema)) = self.pg {
            drop(self.store);
            common::drop_pg_schema(&base, &schema).await;
        }
    }
}

struct Srv {
    base: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Srv {
    async fn start(store: Arc<dyn Store>, options: ServeOptions) -> Srv {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(server::serve(listener, store, options, async {
            let _ = rx.await;
        }));
        Srv {
            base,
            stop: Some(tx),
            task,
        }
    }

    fn client(&self, token: &str) -> Client {
        Client::new(&self.base, Some(token.to_string()), &Trust::default()).unwrap()
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap().unwrap();
    }
}

/// An org `acme` (UTC) with team `backend`, developers alice and bob in it, a key each.
struct World {
    admin: Client,
    alice: Client,
    bob: Client,
    alice_key_id: String,
}

async fn world(srv: &Srv, store: &dyn Store) -> World {
    let token = server::init_admin(store, false).await.unwrap().unwrap();
    let admin = srv.client(&token);
    admin
        .call(
            Method::POST,
            "/v1/admin/orgs",
            Some(&json!({"name": "acme", "tz": "UTC"})),
        )
        .await
        .unwrap();
    admin
        .call(
            Method::POST,
            "/v1/admin/teams",
            Some(&json!({"org": "acme", "name": "backend"})),
        )
        .await
        .unwrap();
    let mut keys = Vec::new();
    for who in ["alice@acme.test", "bob@acme.test"] {
        admin
            .call(
                Method::POST,
                "/v1/admin/users",
                Some(&json!({"email": who, "org": "acme", "team": "backend"})),
            )
            .await
            .unwrap();
        let k = admin
            .call(
                Method::POST,
                "/v1/admin/keys",
                Some(&json!({"developer": who})),
            )
            .await
            .unwrap();
        keys.push((
            k["key"].as_str().unwrap().to_string(),
            k["key_id"].as_str().unwrap().to_string(),
        ));
    }
    World {
        alice: srv.client(&keys[0].0),
        bob: srv.client(&keys[1].0),
        alice_key_id: keys[0].1.clone(),
        admin,
    }
}

fn usage_row(session: &str, cost_nanos: i64) -> Value {
    json!({
        "id": uuid::Uuid::now_v7().to_string(),
        "started_at_us": jiff::Timestamp::now().as_microsecond(),
        "ended_at_us": jiff::Timestamp::now().as_microsecond(),
        "provider": "anthropic",
        "endpoint": "/v1/messages",
        "model": "claude-sonnet-4-5",
        "status": 200,
        "input_tokens": 100,
        "output_tokens": 20,
        "cost_nanos": cost_nanos,
        "price_version": "test",
        "session_id": session,
        "project": "gw",
    })
}

async fn budget(admin: &Client, scope: &str, name: &str, usd: &str, period: &str) -> Value {
    admin
        .call(
            Method::POST,
            "/v1/admin/budgets",
            Some(&json!({"scope": scope, "name": name, "limit_usd": usd, "period": period})),
        )
        .await
        .unwrap()
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let db = super::Db::sqlite().await;
                super::$name(&db).await;
                db.cleanup().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                let Some(db) = super::Db::postgres().await else {
                    eprintln!("note: GW_TEST_POSTGRES_URL is not set; the PostgreSQL variant is skipped");
                    return;
                };
                super::$name(&db).await;
                db.cleanup().await;
            }
        }
    )*};
}

on_both!(
    entities_keys_and_whoami,
    leases_follow_the_budget,
    concurrent_leases_never_exceed_a_team_budget,
    concurrent_leases_on_two_replicas,
    same_batch_three_times_counts_once,
    bad_input_changes_nothing,
    keys_see_only_their_own,
    expired_leases_free_their_reservation,
    reports_and_metrics,
    renaming_and_revoking_teams_and_orgs,
    an_overflow_attack_is_refused_and_the_org_keeps_working,
    sums_of_huge_stored_rows_saturate,
    a_failing_ingest_stores_nothing,
    org_prices_set_list_delete_and_reach_whoami,
    a_usage_row_keeps_every_field_from_the_proxy_to_the_report,
    a_stored_value_gw_cannot_read_fails_closed,
    a_strict_budget_makes_its_keys_leases_strict,
    rate_limits_are_shared_out_and_never_granted_past,
    a_row_counts_against_the_lease_its_session_held_when_it_started,
);

async fn renaming_and_revoking_teams_and_orgs(db: &Db) {
    let srv = Srv::start(db.store.clone(), ServeOptions::default()).await;
    let w = world(&srv, db.store.as_ref()).await;
    // carol is in another team of the same org, with her own key.
    let post = |path: &'static str, body: Value| {
        let admin = &w.admin;
        async move { admin.call(Method::POST, path, Some(&body)).await.unwrap() }
    };
    post("/v1/admin/teams", json!({"org": "acme", "name": "web"})).await;
    post(
        "/v1/admin/users",
        json!({"email": "carol@acme.test", "org": "acme", "team": "web"}),
    )
    .await;
    let k = post("/v1/admin/keys", json!({"developer": "carol@acme.test"})).await;
    let carol = srv.client(k["key"].as_str().unwrap());
    // A rename keeps the team's keys and budgets: they refer to it by id.
    budget(&w.admin, "team", "acme/web", "5", "day").await;
    let renamed = w
        .admin
        .call(
            Method::PATCH,
            "/v1/admin/teams/acme/web",
            Some(&json!({"name": "frontend"})),
        )
        .await
        .unwrap();
    assert_eq!(renamed["path"], "acme/frontend");
    let me = carol.call(Method::GET, "/v1/whoami", None).await.unwrap();
    assert_eq!(me["team"], "frontend");
    let budgets = carol.call(Method::GET, "/v1/budgets", None).await.unwrap();
    assert!(
        budgets["budgets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["name"] == "acme/frontend"),
        "{budgets}"
    );

    let revoked = w
        .admin
        .call(Method::POST, "/v1/admin/teams/acme/backend/revoke", None)
        .await
        .unwrap();
    let ids: Vec<&str> = revoked["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["key_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "alice's and bob's keys: {revoked}");
    assert!(ids.contains(&w.alice_key_id.as_str()));
    assert!(revoked["keys"]
        .as_array()
        .unwrap()
        .iter()
        .all(|k| k["active"] == false));
    for (who, client) in [("alice", &w.alice), ("bob", &w.bob)] {
        let (s, _) = client.send(Method::GET, "/v1/whoami", None).await.unwrap();
        assert_eq!(
            s,
            StatusCode::UNAUTHORIZED,
            "{who}'s key is revoked with the team"
        );
    }
    let (s, _) = carol.send(Method::GET, "/v1/whoami", None).await.unwrap();
    assert_eq!(s, StatusCode::OK, "another team's key is untouched");
    let (s, _) = w
        .admin
        .send(Method::POST, "/v1/admin/teams/acme/nope/revoke", None)
        .await
        .unwrap();
    assert_eq!(s, StatusCode::NOT_FOUND);

    let revoked = w
        .admin
        .call(Method::POST, "/v1/admin/orgs/acme/revoke", None)
        .await
        .unwrap();
    assert_eq!(
        revoked["keys"].as_array().unwrap().len(),
        1,
        "only carol's key was still active: {revoked}"
    );
    let (s, _) = carol.send(Method::GET, "/v1/whoami", None).await.unwrap();
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let users = w
        .admin
        .call(Method::GET, "/v1/admin/users?org=acme", None)
        .await
        .unwrap();
    assert!(
        users["users"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["active"] == false),
        "{users}"
    );
    // History stays: the org and its teams are still listed.
    let teams = w
        .admin
        .call(Method::GET, "/v1/admin/teams?org=acme", None)
        .await
        .unwrap();
    assert_eq!(teams["teams"].as_array().unwrap().len(), 2);
    srv.stop().await;
}

async fn entities_keys_and_whoami(db: &Db) {
    let srv = Srv::start(db.store.clone(), ServeOptions::default()).await;
    let w = world(&srv, db.store.as_ref()).await;
    // init again refuses; rotate replaces.
    assert!(server::init_admin(db.store.as_ref(), false)
        .await
        .unwrap()
        .is_none());

    let me = w.alice.call(Method::GET, "/v1/whoami", None).await.unwrap();
    assert_eq!(me["developer"], "alice@acme.test");
    assert_eq!(me["team"], "backend");
    assert_eq!(me["org"], "acme");
    assert_eq!(me["key_id"], w.alice_key_id.as_str());
    assert_eq!(me["models"], Value::Null);

    let orgs = w
        .admin
        .call(Method::GET, "/v1/admin/orgs", None)
        .await
        .unwrap();
    assert_eq!(orgs["orgs"][0]["name"], "acme");
    let users = w
        .admin
        .call(Method::GET, "/v1/admin/users?org=acme", None)
        .await
        .unwrap();
    assert_eq!(users["users"].as_array().unwrap().len(), 2);
    let keys = w
        .admin
        .call(
            Method::GET,
            "/v1/admin/keys?developer=alice%40acme.test",
            None,
        )
        .await
        .unwrap();
    assert_eq!(keys["keys"].as_array().unwrap().len(), 1);
    assert!(
        keys["keys"][0].get("key").is_none(),
        "a key is shown once, at creation"
    );

    // Duplicates conflict; unknown parents are 404.
    let (s, _) = w
        .admin
        .send(
            Method::POST,
            "/v1/admin/orgs",
            Some(&json!({"name": "acme"})),
        )
        .await
        .unwrap();
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = w
        .admin
        .send(
            Method::POST,
            "/v1/admin/teams",
            Some(&json!({"org": "nope", "name": "x"})),
        )
        .await
        .unwrap();
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, b) = w
        .admin
        .send(
            Method::POST,
            "/v1/admin/orgs",
            Some(&json!({"name": "x", "tz": "Mars/Base"})),
        )
        .await
        .unwrap();
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");

    // Key update: model allow-list and expiry; whoami shows them.
    w.admin
        .call(
            Method::PATCH,
            &format!("/v1/admin/keys/{}", w.alice_key_id),
            Some(&json!({"models": ["claude-sonnet-4-5"], "expires_at": "2999-01-01T00:00:00Z"})),
        )
        .await
        .unwrap();
    let me = w.alice.call(Method::GET, "/v1/whoami", None).await.unwrap();
    assert_eq!(me["models"], json!(["claude-sonnet-4-5"]));
    assert_eq!(me["expires_at"], "2999-01-01T00:00:00Z");

    // An expired key and a revoked key are refused.
    w.admin
        .call(
            Method::PATCH,
            &format!("/v1/admin/keys/{}", w.alice_key_id),
            Some(&json!({"expires_at": "2001-01-01T00:00:00Z"})),
        )
        .await
        .unwrap();
    let (s, b) = w.alice.send(Method::GET, "/v1/whoami", None).await.unwrap();
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(
        b["error"]["message"].as_str().unwrap().contains("expired"),
        "{b}"
    );
    w.admin
        .call(Method::POST, "/v1/admin/users/bob%40acme.test/revoke", None)
        .await
        .unwrap();
    let (s, b) = w.bob.send(Method::GET, "/v1/whoami", None).await.unwrap();
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(
        b["error"]["message"].as_str().unwrap().contains("revoked"),
        "{b}"
    );

    // No token, a wrong token, a wrong admin token.
    let anon = Client::new(&srv.base, None, &Trust::default()).unwrap();
    assert_eq!(
        anon.send(Method::GET, "/v1/whoami", None).await.unwrap().0,
        StatusCode::UNAUTHORIZED
    );
    let (_, fake) = gw::server::secret::new_key();
    assert_eq!(
        srv.client(&fake)
            .send(Method::GET, "/v1/whoami", None)
            .await
            .unwrap()
            .0,
        StatusCode::UNAUTHORIZED
    );
    let wrong_admin = srv.client(&gw::server::secret::new_admin_token());
    assert_eq!(
        wrong_admin
            .send(Method::GET, "/v1/admin/orgs", None)
            .await
            .unwrap()
            .0,
        StatusCode::UNAUTHORIZED
    );
    let health = anon.call(Method::GET, "/healthz", None).await.unwrap();
    assert_eq!(health["status"], "ok");
    srv.stop().await;
}

async fn leases_follow_the_budget(db: &Db) {
    let srv = Srv::start(db.store.clone(), ServeOptions::default()).await;
    let w = world(&srv, db.store.as_ref()).await;
    // No budget: the grant is what was asked.
    let l = w
        .alice
        .call(
            Method::POST,
            "/v1/leases",
            Some(&json!({"session_id": "s0", "amount_nanos": USD})),
        )
        .await
        .unwrap();
    assert_eq!(l["granted_nanos"], USD);
    w.alice
        .call(
            Method::POST,
            &format!("/v1/leases/{}/release", l["lease_id"].as_str().unwrap()),
            Some(&json!({"spent_nanos": 0})),
        )
        .await
        .unwrap();

    budget(&w.admin, "developer", "alice@acme.test", "5", "day").await;
    budget(&w.admin, "team", "acme/backend", "3", "month").await;
    let b = w
        .alice
        .call(Method::GET, "/v1/budgets", None)
        .await
        .unwrap();
    let budgets = b["budgets"].as_array().unwrap();
    assert_eq!(budgets.len(), 2);
    assert_eq!(budgets[1]["scope"], "team");
    assert_eq!(budgets[1]["name"], "acme/backend");
    assert_eq!(budgets[1]["remaining_nanos"], 3 * USD);
    assert_eq!(budgets[1]["soft_threshold"], 0.8);
    assert!(budgets[1]["resets_at"].as_str().unwrap().ends_with('Z'));

    // The team's $3 bounds a $5 ask.
    let l = w
        .alice
        .call(
            Method::POST,
            "/v1/leases",
            Some(&json!({"session_id": "s1", "amount_nanos": 5 * USD})),
        )
        .await
        .unwrap();
    assert_eq!(l["granted_nanos"], 3 * USD);
    assert_eq!(l["limited_by"]["scope"], "team");
    let lease = l["lease_id"].as_str().unwrap().to_string();

    // Bob is in the same team: nothing left.
    let (s, e) = w
        .bob
        .send(
            Method::POST,
            "/v1/leases",
            Some(&json!({"session_id": "b1", "amount_nanos": USD})),
        )
        .await
        .unwrap();
    assert_eq!(s, StatusCode::PAYMENT_REQUIRED);
    assert_eq!(e["error"]["type"], "budget_exhausted");
    assert_eq!(e["error"]["budget"]["scope"], "team");
    assert_eq!(e["error"]["budget"]["name"], "acme/backend");
    assert_eq!(e["error"]["budget"]["period"], "month");
    assert_eq!(e["error"]["budget"]["limit_nanos"], 3 * USD);
    assert!(e["error"]["budget"]["resets_at"].is_string());
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("resets at"),
        "{e}"
    );

    // Usage for the lease's session moves reservation into spend, never both.
    let batch = json!({"rows": [usage_row("s1", USD), usage_row("s1", USD / 2)]});
    let r = w
        .alice
        .call(Method::POST, "/v1/usage", Some(&batch))
        .await
        .unwrap();
    assert_eq!(r["accepted"], 2);
    let team = r["budgets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["scope"] == "team")
        .unwrap()
        .clone();
    assert_eq!(team["spent_nanos"], USD + USD / 2);
    assert_eq!(team["reserved_nanos"], USD + USD / 2);
    assert_eq!(team["remaining_nanos"], 0);

    // Renew extends; a top-up finds nothing left.
    let r = w
        .alice
        .call(
            Method::POST,
            &format!("/v1/leases/{lease}/renew"),
            Some(&json!({"amount_nanos": USD})),
        )
        .await
        .unwrap();
    assert_eq!(r["added_nanos"], 0);
    assert_eq!(r["consumed_nanos"], USD + USD / 2);
    assert_eq!(r["limited_by"]["scope"], "team");

    // Release with what was spent: the rest goes back.
    let r = w
        .alice
        .call(
            Method::POST,
            &format!("/v1/leases/{lease}/release"),
            Some(&json!({"spent_nanos": USD + USD / 2})),
        )
        .await
        .unwrap();
    assert_eq!(r["returned_nanos"], USD + USD / 2);
    let again = w
        .alice
        .call(
            Method::POST,
            &format!("/v1/leases/{lease}/release"),
            Some(&json!({"spent_nanos": 7})),
        )
        .await
        .unwrap();
    assert_eq!(again, r, "release is idempotent");
    let (s, _) = w
        .alice
        .send(
            Method::POST,
            &format!("/v1/leases/{lease}/renew"),
            Some(&json!({})),
        )
        .await
        .unwrap();
    assert_eq!(s, StatusCode::CONFLICT);
    let b = w
        .bob
        .call(
            Method::POST,
            "/v1/leases",
            Some(&json!({"session_id": "b2", "amount_nanos": 5 * USD})),
        )
        .await
        .unwrap();
    assert_eq!(b["granted_nanos"], USD + USD / 2);

    // Admin raises the limit; the new room is granted.
    let list = w
        .admin
        .call(
            Method::GET,
            "/v1/admin/budgets?scope=team&name=acme%2Fbackend",
            None,
        )
        .await
        .unwrap();
    let id = list["budgets"][0]["id"].as_i64().unwrap();
    w.admin
        .call(
            Method::PATCH,
            &format!("/v1/admin/budgets/{id}"),
            Some(&json!({"limit_usd": 4})),
        )
        .await
        .unwrap();
    let b = w
        .bob
        .call(
            Method::POST,
            "/v1/leases",
            Some(&json!({"session_id": "b3", "amount_nanos": 5 * USD})),
        )
        .await
        .unwrap();
    assert_eq!(b["granted_nanos"], USD);
    w.admin
        .call(Method::DELETE, &format!("/v1/admin/budgets/{id}"), None)
        .await
        .unwrap();
    // Alice's own $5 day budget still holds: she has spent 1.5.
    let a = w
        .alice
        .call(
            Method::POST,
            "/v1/leases",
            Some(&json!({"session_id": "s2", "amount_nanos": 10 * USD})),
        )
        .await
        .unwrap();
    assert_eq!(a["granted_nanos"], 5 * USD - (USD + USD / 2));
    assert_eq!(a["limited_by"]["scope"], "developer");
    srv.stop().await;
}

async fn grant_burst(clients: &[Client], n: usize, ask: i64) -> (i64, usize, usize) {
    let mut tasks = Vec::new();
    for i in 0..n {
        let c = clients[i % clients.len()].clone();
        tasks.push(tokio::spawn(async move {
            c.send(
                Method::POST,
                "/v1/leases",
                Some(&json!({"session_id": format!("s{i}"), "amount_nanos": ask})),
            )
            .await
            .unwrap()
        }));
    }
    let (mut total, mut granted, mut refused) = (0, 0, 0);
    for t in tasks {
        let (s, b) = t.await.unwrap();
        match s {
            StatusCode::OK => {
                total += b["granted_nanos"].as_i64().unwrap();
                granted += 1;
            }
            StatusCode::PAYMENT_REQUIRED => refused += 1,
            other => panic!("unexpected {other}: {b}"),
        }
    }
    (total, granted, refused)
}

async fn concurrent_leases_never_exceed_a_team_budget(db: &Db) {
    let srv = Srv::start(db.store.clone(), ServeOptions::default()).await;
    let w = world(&srv, db.store.as_ref()).await;
    budget(&w.admin, "team", "acme/backend", "10", "month").await;
    let (total, granted, refused) =
        grant_burst(&[w.alice.clone(), w.bob.clone()], 50, 350_000_000).await;
    assert_eq!(total, 10 * USD, "granted {granted}, refused {refused}");
    assert_eq!(granted + refused, 50);
    let b = w
        .alice
        .call(Method::GET, "/v1/budgets", None)
        .await
        .unwrap();
    assert_eq!(b["budgets"][0]["reserved_nanos"], 10 * USD);
    srv.stop().await;
}

async fn concurrent_leases_on_two_replicas(db: &Db) {
    let second = server::open_store(&db.url).await.unwrap();
    let a = Srv::start(db.store.clone(), ServeOptions::default()).await;
    let b = Srv::start(second, ServeOptions::default()).await;
    let w = world(&a, db.store.as_ref()).await;
    budget(&w.admin, "team", "acme/backend", "10", "month").await;
    // Alice on replica A, Bob on replica B.
    let bob_token = {
        let k = w
            .admin
            .call(
                Method::POST,
                "/v1/admin/keys",
                Some(&json!({"developer": "bob@acme.test"})),
            )
            .await
            .unwrap();
        k["key"].as_str().unwrap().to_string()
    };
    let clients = [w.alice.clone(), b.client(&bob_token)];
    let (total, granted, refused) = grant_burst(&clients, 50, 350_000_000).await;
    assert_eq!(total, 10 * USD, "granted {granted}, refused {refused}");
    a.stop().await;
    b.stop().await;
}

async fn same_batch_three_times_counts_once(db: &Db) {
    let srv = Srv::start(db.store.clone(), ServeOptions::default()).await;
    let w = world(&srv, db.store.as_ref()).await;
    budget(&w.admin, "developer", "alice@acme.test", "100", "total").await;
    let rows: Vec<Value> = (0..120).map(|i| usage_row("s", 1_000 + i)).collect();
    let batch = json!({ "rows": rows });
    let expected: i64 = (0..120).map(|i| 1_000 + i).sum();
    let first = w
        .alice
        .call(Method::POST, "/v1/usage", Some(&batch))
        .await
        .unwrap();
    assert_eq!(
        (first["accepted"].as_u64(), first["duplicates"].as_u64()),
        (Some(120), Some(0))
    );
    // The retries arrive concurrently.
    let (r2, r3) = tokio::join!(
        w.alice.call(Method::POST, "/v1/usage", Some(&batch)),
        w.alice.call(Method::POST, "/v1/usage", Some(&batch))
    );
    for r in [r2.unwrap(), r3.unwrap()] {
        assert_eq!(
            (r["accepted"].as_u64(), r["duplicates"].as_u64()),
            (Some(0), Some(120))
        );
        assert_eq!(r["budgets"][0]["spent_nanos"], expected);
    }
    // Duplicates within one batch count once too.
    let row = usage_row("s", 5);
    let r = w
        .alice
        .call(
            Method::POST,
            "/v1/usage",
            Some(&json!({"rows": [row.clone(), row]})),
        )
        .await
        .unwrap();
    assert_eq!(
        (r["accepted"].as_u64(), r["duplicates"].as_u64()),
        (Some(1), Some(1))
    );
    let report = w
        .alice
        .call(Method::GET, "/v1/reports/spend?period=all", None)
        .await
        .unwrap();
    assert_eq!(report["totals"]["requests"], 121);
    assert_eq!(report["totals"]["cost_nanos"], expected + 5);
    srv.stop().await;
}

async fn bad_input_changes_nothing(db: &Db) {
    let srv = Srv::start(db.store.clone(), ServeOptions::default()).await;
    let w = world(&srv, db.store.as_ref()).await;
    budget(&w.admin, "team", "acme/backend", "10", "day").await;
    let cases: Vec<(&str, &str, StatusCode, &str)> = vec![
        ("/v1/leases", "{not json", StatusCode::BAD_REQUEST, ""),
        (
            "/v1/leases",
            r#"{"session_id":"s","amount_nanos":-5}"#,
            StatusCode::BAD_REQUEST,
            "out of range",
        ),
        (
            "/v1/leases",
            r#"{"session_id":"s","amount_nanos":5,"extra":1}"#,
            StatusCode::BAD_REQUEST,
            "unknown field",
        ),
        (
            "/v1/leases",
            r#"{"session_id":"","amount_nanos":5}"#,
            StatusCode::BAD_REQUEST,
            "session_id",
        ),
        (
            "/v1/usage",
            r#"{"rows":[{"id":"nope","started_at_us":1,"provider":"x","session_id":"s"}]}"#,
            StatusCode::BAD_REQUEST,
            "UUID",
        ),
        (
            "/v1/usage",
            r#"{"rows":[],"more":true}"#,
            StatusCode::BAD_REQUEST,
            "unknown field",
        ),
    ];
    for (path, body, status, needle) in cases {
        let (s, b) = w
            .alice
            .send_raw(Method::POST, path, bytes::Bytes::from(body), true)
            .await
            .unwrap();
        assert_eq!(s, status, "{path} {body}: {b}");
        assert!(
            b["error"]["message"].as_str().unwrap().contains(needle),
            "{body}: {b}"
        );
    }
    // A negative cost in one row refuses the whole batch.
    let mut bad = usage_row("s", 10);
    bad["cost_nanos"] = json!(-1);
    let (s, b) = w
        .alice
        .send(
            Method::POST,
            "/v1/usage",
            Some(&json!({"rows": [usage_row("s", 10), bad]})),
        )
        .await
        .unwrap();
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        b["error"]["message"].as_str().unwrap().contains("rows[1]"),
        "{b}"
    );
    // A token count that would overflow the sums is refused the same way.
    let mut huge = usage_row("s", 10);
    huge["cache_write_5m_tokens"] = json!(i64::MAX);
    let (s, b) = w
        .alice
        .send(Method::POST, "/v1/usage", Some(&json!({"rows": [huge]})))
        .await
        .unwrap();
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cache_write_5m_tokens is implausibly large"),
        "{b}"
    );
    // Another spelling of an id, an over-long model name: each named.
    let mut upper = usage_row("s", 10);
    upper["id"] = json!(upper["id"].as_str().unwrap().to_uppercase());
    let mut long = usage_row("s", 10);
    long["model"] = json!("m".repeat(257));
    let (s, b) = w
        .alice
        .send(
            Method::POST,
            "/v1/usage",
            Some(&json!({"rows": [usage_row("s", 1), upper, long]})),
        )
        .await
        .unwrap();
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let reasons: Vec<(u64, String)> = b["error"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["index"].as_u64().unwrap(),
                r["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(reasons.len(), 2, "{b}");
    assert_eq!(reasons[0].0, 1);
    assert!(reasons[0].1.contains("lowercase hyphenated"), "{b}");
    assert!(
        reasons[1]
            .1
            .contains("model is 257 bytes long; at most 256"),
        "{b}"
    );
    // Too many rows; too many bytes.
    let rows: Vec<Value> = (0..5001).map(|_| usage_row("s", 1)).collect();
    let (s, b) = w
        .alice
        .send(Method::POST, "/v1/usage", Some(&json!({ "rows": rows })))
        .await
        .unwrap();
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{b}");
    assert!(
        b["error"]["message"].as_str().unwrap().contains("5000"),
        "{b}"
    );
    let huge = format!(r#"{{"rows":[{{"id":"{}"}}]}}"#, "x".repeat(9 * 1024 * 1024));
    let (s, b) = w
        .alice
        .send_raw(Method::POST, "/v1/usage", bytes::Bytes::from(huge), true)
        .await
        .unwrap();
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{b}");
    // Admin input.
    for body in [
        json!({"scope": "team", "name": "acme/backend", "limit_usd": "-1", "period": "week"}),
        json!({"scope": "team", "name": "acme/backend", "limit_usd": 1, "period": "fortnight"}),
        json!({"scope": "galaxy", "name": "x", "limit_usd": 1, "period": "day"}),
        json!({"scope": "team", "name": "acme/backend", "limit_usd": 1, "period": "week", "soft_threshold": 2.0}),
    ] {
        let (s, b) = w
            .admin
            .send(Method::POST, "/v1/admin/budgets", Some(&body))
            .await
            .unwrap();
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {b}");
    }
    // Nothing changed: no usage, no lease, one budget.
    let b = w
        .alice
        .call(Method::GET, "/v1/budgets", None)
        .await
        .unwrap();
    assert_eq!(b["budgets"].as_array().unwrap().len(), 1);
    assert_eq!(b["budgets"][0]["spent_nanos"], 0);
    assert_eq!(b["budgets"][0]["reserved_nanos"], 0);
    srv.stop().await;
}

async fn keys_see_only_their_own(db: &Db) {
    let srv = Srv::start(db.store.clone(), ServeOptions::default()).await;
    let w = world(&srv, db.store.as_ref()).await;
    let l = w
        .alice
        .call(
            Method::POST,
            "/v1/leases",
            Some(&json!({"session_id": "a", "amount_nanos": 10})),
        )
        .await
        .unwrap();
    let lease = l["lease_id"].as_str().unwrap();
    let (s, _) = w
        .bob
        .send(
            Method::POST,
            &format!("/v1/leases/{lease}/release"),
            Some(&json!({"spent_nanos": 0})),
        )
        .await
        .unwrap();
    assert_eq!(s, StatusCode::NOT_FOUND);
    for path in ["/v1/admin/orgs", "/v1/admin/keys", "/metrics"] {
        assert_eq!(
            w.bob.send(Method::GET, path, None).await.unwrap().0,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    for q in [
        "scope=team",
        "scope=org",
        "scope=developer&name=alice%40acme.test",
    ] {
        let (s, _) = w
            .bob
            .send(Method::GET, &format!("/v1/reports/spend?{q}"), None)
            .await
            .unwrap();
        assert_eq!(s, StatusCode::FORBIDDEN, "{q}");
    }
    w.alice
        .call(
            Method::POST,
            "/v1/usage",
            Some(&json!({"rows": [usage_row("a", 77)]})),
        )
        .await
        .unwrap();
    let mine = w
        .bob
        .call(Method::GET, "/v1/reports/spend?period=all", None)
        .await
        .unwrap();
    assert_eq!(mine["totals"]["requests"], 0);
    let (s, _) = w
        .admin
        .send(
            Method::POST,
            "/v1/leases",
            Some(&json!({"session_id": "a", "amount_nanos": 10})),
        )
        .await
        .unwrap();
    assert_eq!(s, StatusCode::FORBIDDEN);
    srv.stop().await;
}

async fn expired_leases_free_their_reservation(db: &Db) {
    let srv = Srv::start(
        db.store.clone(),
        ServeOptions {
            lease_ttl_secs: 0,
            ..ServeOptions::default()
        },
    )
    .await;
    let w = world(&srv, db.store.as_ref()).await;
    budget(&w.admin, "org", "acme", "1", "week").await;
    let l = w
        .alice
        .call(
            Method::POST,
            "/v1/leases",
            Some(&json!({"session_id": "a", "amount_nanos": USD})),
        )
        .await
        .unwrap();
    assert_eq!(l["granted_nanos"], USD);
    // With a TTL of 0 the lease is expired as soon as it is granted: the money is free again.
    let b = w
        .bob
        .call(
            Method::POST,
            "/v1/leases",
            Some(&json!({"session_id": "b", "amount_nanos": USD})),
        )
        .await
        .unwrap();
    assert_eq!(b["granted_nanos"], USD);
    let (s, e) = w
        .alice
        .send(
            Method::POST,
            &format!("/v1/leases/{}/renew", l["lease_id"].as_str().unwrap()),
            Some(&json!({})),
        )
        .await
        .unwrap();
    assert_eq!(s, StatusCode::GONE, "{e}");
    srv.stop().await;
}

async fn reports_and_metrics(db: &Db) {
    let srv = Srv::start(db.store.clone(), ServeOptions::default()).await;
    let w = world(&srv, db.store.as_ref()).await;
    budget(&w.admin, "org", "acme", "50", "month").await;
    let mut rows = vec![usage_row("a", 100), usage_row("a", 200)];
    rows[1]["model"] = json!("gpt-5");
    rows.push(usage_row("a", 0));
    rows[2]["cost_nanos"] = Value::Null;
    rows[2]["model"] = Value::Null;
    for _ in 0..2 {
        // The second time, every row is a duplicate: totals must not move.
        w.alice
            .call(Method::POST, "/v1/usage", Some(&json!({ "rows": rows })))
            .await
            .unwrap();
    }
    w.bob
        .call(
            Method::POST,
            "/v1/usage",
            Some(&json!({"rows": [usage_row("b", 1000)]})),
        )
        .await
        .unwrap();

    let mine = w
        .alice
        .call(Method::GET, "/v1/reports/spend?by=model", None)
        .await
        .unwrap();
    assert_eq!(mine["group_by"], json!(["model"]));
    assert_eq!(mine["tz"], "UTC");
    assert_eq!(mine["totals"]["requests"], 3);
    assert_eq!(mine["totals"]["cost_nanos"], 300);
    assert_eq!(mine["totals"]["unpriced_requests"], 1);
    assert_eq!(mine["totals"]["total_tokens"], 360);
    assert_eq!(mine["rows"][0]["key"]["model"], "gpt-5");

    let team = w
        .admin
        .call(
            Method::GET,
            "/v1/reports/spend?scope=team&name=acme%2Fbackend&by=day,developer&tz=Asia/Tokyo",
            None,
        )
        .await
        .unwrap();
    assert_eq!(team["totals"]["cost_nanos"], 1300);
    assert_eq!(team["rows"].as_array().unwrap().len(), 2);
    assert_eq!(team["tz"], "Asia/Tokyo");
    assert!(team["rows"][0]["key"]["day"].is_string());
    let (s, _) = w
        .admin
        .send(Method::GET, "/v1/reports/spend?by=planet", None)
        .await
        .unwrap();
    assert_eq!(s, StatusCode::BAD_REQUEST);

    let (s, text) = w.admin.send(Method::GET, "/metrics", None).await.unwrap();
    assert_eq!(s, StatusCode::OK);
    let text = text.as_str().unwrap();
    let team = r#"org="acme",team="backend""#;
    for line in [
        // Alice's and bob's: developers are not a label unless enabled.
        format!(r#"gw_usage_requests_total{{{team},model="claude-sonnet-4-5",agent=""}} 2"#),
        format!(r#"gw_usage_requests_total{{{team},model="gpt-5",agent=""}} 1"#),
        format!(r#"gw_usage_requests_total{{{team},model="",agent=""}} 1"#),
        format!(r#"gw_usage_tokens_total{{{team},model="gpt-5",agent="",kind="input"}} 100"#),
        format!(r#"gw_usage_tokens_total{{{team},model="gpt-5",agent="",kind="output"}} 20"#),
    ] {
        assert!(text.contains(&line), "{line} in\n{text}");
    }
    assert!(
        text.contains(r#"gw_ingest_rows_total{result="accepted"} 4"#),
        "{text}"
    );
    assert!(
        text.contains(r#"gw_budget_limit_usd{scope="org",name="acme",period="month"} 50"#),
        "{text}"
    );
    assert!(
        text.contains(
            "gw_http_requests_total{method=\"POST\",route=\"/v1/usage\",status=\"200\"} 3"
        ),
        "{text}"
    );
    srv.stop().await;
}

/// The metrics-only token reads `/metrics` and nothing else; developer and project labels
/// appear only when enabled, summed otherwise; budgets show what remains; lease refusals count
/// by scope.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_token_and_opt_in_labels() {
    let db = Db::sqlite().await;
    let options = ServeOptions {
        metrics_labels: server::metrics::MetricsLabels::parse("developer,project").unwrap(),
        ..ServeOptions::default()
    };
    let srv = Srv::start(db.store.clone(), options).await;
    let w = world(&srv, db.store.as_ref()).await;
    let plain = Srv::start(db.store.clone(), ServeOptions::default()).await;
    budget(&w.admin, "team", "acme/backend", "0.000001", "day").await;
    let session = "metrics-session";
    let mut rows = vec![usage_row(session, 5000), usage_row(session, 0)];
    rows[1]["project"] = json!("other");
    rows[1]["agent"] = json!("codex");
    rows[1]["status"] = json!(429);
    w.alice
        .call(Method::POST, "/v1/usage", Some(&json!({"rows": rows})))
        .await
        .unwrap();
    w.bob
        .call(
            Method::POST,
            "/v1/usage",
            Some(&json!({"rows": [usage_row("b", 0)]})),
        )
        .await
        .unwrap();
    let (s, _) = w
        .alice
        .send(
            Method::POST,
            "/v1/leases",
            Some(&json!({"session_id": session, "amount_nanos": USD})),
        )
        .await
        .unwrap();
    assert_eq!(s, StatusCode::PAYMENT_REQUIRED);

    let token = server::init_metrics_token(db.store.as_ref(), false)
        .await
        .unwrap()
        .unwrap();
    assert!(token.starts_with("gwm_"));
    assert_eq!(
        server::init_metrics_token(db.store.as_ref(), false)
            .await
            .unwrap(),
        None,
        "one exists: rotate to replace it"
    );
    let reader = srv.client(&token);
    let (s, text) = reader.send(Method::GET, "/metrics", None).await.unwrap();
    assert_eq!(s, StatusCode::OK);
    let text = text.as_str().unwrap();
    let alice = r#"org="acme",team="backend",developer="alice@acme.test""#;
    for line in [
        format!(
            r#"gw_usage_requests_total{{{alice},project="gw",model="claude-sonnet-4-5",agent=""}} 1"#
        ),
        format!(
            r#"gw_usage_refusals_total{{{alice},project="other",model="claude-sonnet-4-5",agent="codex",status="429"}} 1"#
        ),
        r#"gw_lease_refusals_total{status="402",scope="team"} 1"#.to_string(),
        r#"gw_budget_remaining_usd{scope="team",name="acme/backend",period="day"} 0"#.to_string(),
        r#"gw_ingest_lag_seconds_count 3"#.to_string(),
        "gw_leases_open 0".to_string(),
    ] {
        assert!(text.contains(&line), "{line} in\n{text}");
    }
    // Without the labels, alice's and bob's rows of one model and agent are one series.
    let (_, text) = plain
        .client(&token)
        .send(Method::GET, "/metrics", None)
        .await
        .unwrap();
    let text = text.as_str().unwrap();
    assert!(
        text.contains(
            r#"gw_usage_requests_total{org="acme",team="backend",model="claude-sonnet-4-5",agent=""} 2"#
        ),
        "{text}"
    );
    assert!(!text.contains("developer="), "{text}");
    for (method, path) in [
        (Method::GET, "/v1/admin/orgs"),
        (Method::GET, "/v1/budgets"),
        (Method::GET, "/v1/whoami"),
        (Method::GET, "/v1/reports/spend"),
    ] {
        let (s, _) = reader.send(method, path, None).await.unwrap();
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{path} with the metrics token");
    }
    let forged = format!("gwm_{}", "0".repeat(64));
    let (s, _) = srv
        .client(&forged)
        .send(Method::GET, "/metrics", None)
        .await
        .unwrap();
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = w.alice.send(Method::GET, "/metrics", None).await.unwrap();
    assert_eq!(s, StatusCode::FORBIDDEN, "a developer key reads no metrics");
    plain.stop().await;
    srv.stop().await;
    db.cleanup().await;
}

/// `--tls-cert/--tls-key`: the server answers over TLS with the files' certificate, a client
/// trusting that certificate gets through, and one that does not (or speaks plain HTTP) does not.
#[tokio::test]
async fn serves_tls_from_certificate_files() {
    let dir = tempfile::tempdir().unwrap();
    let ck =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();

    let db = Db::sqlite().await;
    let tls = server::tls::from_files(&cert, &key).unwrap().config;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let options = ServeOptions {
        tls: Some(tls),
        ..ServeOptions::default()
    };
    let task = tokio::spawn(server::serve(listener, db.store.clone(), options, async {
        let _ = stopped.await;
    }));

    let trust = Trust {
        ca: Some(cert.clone()),
        pin: None,
    };
    let trusted = Client::new(&format!("https://{addr}"), None, &trust).unwrap();
    let health = trusted.call(Method::GET, "/healthz", None).await.unwrap();
    assert_eq!(health["status"], "ok", "{health}");

    let untrusting = Client::new(&format!("https://{addr}"), None, &Trust::default()).unwrap();
    let refused = untrusting.call(Method::GET, "/healthz", None).await;
    let refused = refused.unwrap_err().to_string();
    assert!(refused.contains("certificate"), "{refused}");
    let plain = Client::new(&format!("http://{addr}"), None, &Trust::default()).unwrap();
    assert!(plain.call(Method::GET, "/healthz", None).await.is_err());

    // Bad files are named in the error.
    let missing = dir.path().join("missing.pem");
    let err = server::tls::from_files(&missing, &key).err().unwrap();
    assert!(err.contains("missing.pem"), "{err}");
    let err = server::tls::from_files(&key, &key).err().unwrap();
    assert!(err.contains("no certificate in"), "{err}");
    let err = server::tls::from_files(&cert, &cert).err().unwrap();
    assert!(err.contains("cert.pem"), "{err}");

    let _ = stop.send(());
    task.await.unwrap().unwrap();
}

/// Runs statements on the test's database directly (data an older server stored, faults).
async fn exec(db: &Db, sql: &str) {
    let mut tx = db.store.begin(true).await.unwrap();
    for statement in sql.split(";\n").filter(|s| !s.trim().is_empty()) {
        tx.execute(statement, &[]).await.unwrap();
    }
    tx.commit().await.unwrap();
}

/// A key whose stored allow-list does not parse (a hand edit, a bug) is refused with a message
/// saying so; it is not read as "no allow-list", which would let every model through.
async fn a_stored_value_gw_cannot_read_fails_closed(db: &Db) {
    let srv = Srv::start(db.store.clone(), ServeOptions::default()).await;
    let w = world(&srv, db.store.as_ref()).await;
    w.admin
        .call(
            Method::PATCH,
            &format!("/v1/admin/keys/{}", w.alice_key_id),
            Some(&json!({"models": ["claude-sonnet-4-5"]})),
        )
        .await
        .unwrap();
    exec(
        db,
        &format!(
            "UPDATE keys SET models = 'claude-sonnet-4-5' WHERE key_id = '{}'",
            w.alice_key_id
        ),
    )
    .await;
    let (s, b) = w.alice.send(Method::GET, "/v1/whoami", None).await.unwrap();
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{b}");
    let message = b["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("cannot read"), "{b}");
    let (s, _) = w
        .alice
        .send(
            Method::POST,
            "/v1/leases",
            Some(&json!({"session_id": "s", "amount_nanos": 1_000_000})),
        )
        .await
        .unwrap();
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    // Other keys go on working.
    let (s, _) = w.bob.send(Method::GET, "/v1/whoami", None).await.unwrap();
    assert_eq!(s, StatusCode::OK);
    srv.stop().await;
}

/// Requests of a scope on the server, from the admin's report.
async fn stored_requests(w: &World, scope: &str, name: &str) -> i64 {
    let path = format!(
        "/v1/reports/spend?period=all&scope={scope}&name={}",
        gw::server::client::encode(name)
    );
    let r = w.admin.call(Method::GET, &path, None).await.unwrap();
    r["totals"]["requests"].as_i64().unwrap()
}

/// What must keep answering 200 for everyone else in the org, whatever one key sent.
async fn org_still_answers(w: &World) -> Vec<String> {
    let mut failures = Vec::new();
    let lease = json!({"session_id": "bob-session", "amount_nanos": USD});
    let checks: [(&Client, Method, &str, Option<&Value>); 5] = [
        (&w.bob, Method::POST, "/v1/leases", Some(&lease)),
        (&w.bob, Method::GET, "/v1/budgets", None),
        (&w.admin, Method::GET, "/metrics", None),
        (
            &w.admin,
            Method::GET,
            "/v1/reports/spend?period=all&scope=org&name=acme&by=developer,model",
            None,
        ),
        (&w.alice, Method::GET, "/v1/reports/spend?period=all", None),
    ];
    for (client, method, path, body) in checks {
        let (s, b) = client.send(method.clone(), path, body).await.unwrap();
        if s != StatusCode::OK {
            failures.push(format!("{method} {path}: {s} {b}"));
        }
    }
    failures
}

/// Item 9 of the hostile-agent issue: two batches of 5000 rows at $1M each overflowed the org's
/// sums, and every lease, budget, report and scrape of the org answered 500 from then on.
async fn an_overflow_attack_is_refused_and_the_org_keeps_working(db: &Db) {
    let srv = Srv::start(db.store.clone(), ServeOptions::default()).await;
    let w = world(&srv, db.store.as_ref()).await;
    budget(&w.admin, "org", "acme", "10000", "total").await;
    budget(&w.admin, "developer", "bob@acme.test", "50", "total").await;
    let mut answers = Vec::new();
    for _ in 0..2 {
        let rows: Vec<Value> = (0..5000)
            .map(|_| usage_row("attack", 1_000_000 * USD))
            .collect();
        let first_id = rows[0]["id"].clone();
        let answer = w
            .alice
            .send(Method::POST, "/v1/usage", Some(&json!({ "rows": rows })))
            .await
            .unwrap();
        answers.push((first_id, answer));
    }
    // Every row within the per-request bound, the batch past the per-batch one.
    let rows: Vec<Value> = (0..5000).map(|_| usage_row("attack", 1000 * USD)).collect();
    let batch_answer = w
        .alice
        .send(Method::POST, "/v1/usage", Some(&json!({ "rows": rows })))
        .await
        .unwrap();

    let failures = org_still_answers(&w).await;
    assert!(failures.is_empty(), "{failures:#?}");
    for (first_id, (s, b)) in answers {
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
        let message = b["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("cost_nanos") && message.contains("at most 1000000000000"),
            "{message}"
        );
        // Every refused row is named, so a client can set exactly those aside.
        let refused = b["error"]["rows"].as_array().unwrap();
        assert_eq!(refused.len(), 5000);
        assert_eq!(refused[0]["id"], first_id);
        assert_eq!(refused[0]["index"], 0);
        assert!(
            refused[0]["reason"]
                .as_str()
                .unwrap()
                .starts_with("cost_nanos is implausibly large"),
            "{}",
            refused[0]
        );
    }
    let (s, b) = batch_answer;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let message = b["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("batch") && message.contains("100000000000000"),
        "{message}"
    );
    assert!(
        b["error"].get("rows").is_none(),
        "no single row is at fault: {b}"
    );
    assert_eq!(
        stored_requests(&w, "org", "acme").await,
        0,
        "nothing stored"
    );
    let b = w.bob.call(Method::GET, "/v1/budgets", None).await.unwrap();
    assert!(b["budgets"]
        .as_array()
        .unwrap()
        .iter()
        .all(|b| b["spent_nanos"] == 0));
    srv.stop().await;
}

/// Rows an older server accepted (up to $1M each) can already sum past 2^63 nano-dollars:
/// budgets, leases, reports, scrapes and further ingest saturate instead of failing.
async fn sums_of_huge_stored_rows_saturate(db: &Db) {
    let srv = Srv::start(db.store.clone(), ServeOptions::default()).await;
    let w = world(&srv, db.store.as_ref()).await;
    let org_budget = budget(&w.admin, "org", "acme", "10000", "total").await;
    budget(&w.admin, "developer", "bob@acme.test", "50", "total").await;
    let mut tx = db.store.begin(false).await.unwrap();
    let ids = tx
        .one(
            "SELECT id, developer_id, team_id, org_id FROM keys WHERE key_id = $1",
            &[w.alice_key_id.as_str().into()],
        )
        .await
        .unwrap()
        .unwrap();
    drop(tx);
    let (key, dev, team, org) = (
        ids.int(0).unwrap(),
        ids.int(1).unwrap(),
        ids.int(2).unwrap(),
        ids.int(3).unwrap(),
    );
    let now = jiff::Timestamp::now().as_microsecond();
    let huge: i64 = 4_000_000_000_000_000_000;
    let mut sql = String::new();
    for i in 0..3i64 {
        let at = now - i * 900_000_000;
        let bucket = at - at.rem_euclid(900_000_000);
        sql.push_str(&format!(
            "INSERT INTO usage (id, key_ref, developer_id, team_id, org_id, started_at_us,
                ended_at_us, provider, endpoint, model, status, streamed, incomplete,
                input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens,
                cache_write_1h_tokens, reasoning_tokens, cost_nanos, price_version, latency_us,
                session_id, received_at_us)
             VALUES ('{}', {key}, {dev}, {team}, {org}, {at}, {at}, 'anthropic', '/v1/messages',
                'claude-sonnet-4-5', 200, 0, 0, {huge}, {huge}, 0, 0, 0, 0, {huge}, 'v', 1, 'old', {at});\n",
            uuid::Uuid::now_v7()
        ));
        for (kind, id) in [
            ("org", org),
            ("team", team),
            ("developer", dev),
            ("key", key),
        ] {
            sql.push_str(&format!(
                "INSERT INTO usage_rollup (scope_kind, scope_id, bucket_us, cost_nanos)
                 VALUES ('{kind}', {id}, {bucket}, {huge});\n"
            ));
        }
    }
    sql.push_str(&format!(
        "INSERT INTO usage_series VALUES ({org}, {team}, {dev}, 'claude-sonnet-4-5', '', 'gw', 3,
            {max}, {max}, {max}, 0, 0, 0, 0, 0, 0);\n",
        max = i64::MAX
    ));
    exec(db, &sql).await;

    // Alice's new rows are taken (and answered) whole.
    let (s, b) = w
        .alice
        .send(
            Method::POST,
            "/v1/usage",
            Some(&json!({"rows": [usage_row("s", 5), usage_row("s", 7)]})),
        )
        .await
        .unwrap();
    let stored = stored_requests(&w, "developer", "alice@acme.test").await;
    assert_eq!(
        (s, stored),
        (StatusCode::OK, 5),
        "an answer that is not 200 must store nothing: {b}"
    );
    let org_status = b["budgets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["scope"] == "org")
        .unwrap()
        .clone();
    assert_eq!(org_status["spent_nanos"], i64::MAX);
    assert_eq!(org_status["exhausted"], true);

    // The org's budget is spent, so Bob's lease is refused as such, never failed.
    let lease = json!({"session_id": "bob-session", "amount_nanos": USD});
    let (s, b) = w
        .bob
        .send(Method::POST, "/v1/leases", Some(&lease))
        .await
        .unwrap();
    assert_eq!(s, StatusCode::PAYMENT_REQUIRED, "{b}");
    assert_eq!(b["error"]["budget"]["scope"], "org");
    let (s, text) = w.admin.send(Method::GET, "/metrics", None).await.unwrap();
    assert_eq!(s, StatusCode::OK, "{text}");
    let report = w
        .admin
        .call(
            Method::GET,
            "/v1/reports/spend?period=all&scope=org&name=acme&by=developer",
            None,
        )
        .await
        .unwrap();
    assert_eq!(report["totals"]["cost_nanos"], i64::MAX);
    assert_eq!(report["totals"]["input_tokens"], i64::MAX);
    assert_eq!(report["totals"]["total_tokens"], i64::MAX);

    // Without the org budget, the other keys' own budgets decide again.
    let id = org_budget["id"].as_i64().unwrap();
    w.admin
        .call(Method::DELETE, &format!("/v1/admin/budgets/{id}"), None)
        .await
        .unwrap();
    let failures = org_still_answers(&w).await;
    assert!(failures.is_empty(), "{failures:#?}");
    srv.stop().await;
}

/// Ingest is one transaction, budgets included: a failure anywhere stores nothing, and the
/// client's retry then counts every row once.
async fn a_failing_ingest_stores_nothing(db: &Db) {
    let srv = Srv::start(db.store.clone(), ServeOptions::default()).await;
    let w = world(&srv, db.store.as_ref()).await;
    budget(&w.admin, "org", "acme", "100", "total").await;
    match db.store.backend() {
        gw::server::Backend::Sqlite => {
            exec(
                db,
                "CREATE TRIGGER gw_test_fault BEFORE INSERT ON usage_series
                 BEGIN SELECT RAISE(ABORT, 'injected fault'); END",
            )
            .await
        }
        gw::server::Backend::Postgres => {
            exec(
                db,
                "CREATE FUNCTION gw_test_fault() RETURNS trigger LANGUAGE plpgsql
                    AS $$ BEGIN RAISE EXCEPTION 'injected fault'; END $$;
                CREATE TRIGGER gw_test_fault BEFORE INSERT ON usage_series
                    FOR EACH ROW EXECUTE FUNCTION gw_test_fault()",
            )
            .await
        }
    }
    let rows: Vec<Value> = (0..300).map(|i| usage_row("s", 10 + i)).collect();
    let batch = json!({ "rows": rows });
    let (s, b) = w
        .alice
        .send(Method::POST, "/v1/usage", Some(&batch))
        .await
        .unwrap();
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{b}");
    assert_eq!(stored_requests(&w, "org", "acme").await, 0);
    let b = w
        .alice
        .call(Method::GET, "/v1/budgets", None)
        .await
        .unwrap();
    assert_eq!(b["budgets"][0]["spent_nanos"], 0);

    exec(
        db,
        match db.store.backend() {
            gw::server::Backend::Sqlite => "DROP TRIGGER gw_test_fault",
            gw::server::Backend::Postgres => "DROP TRIGGER gw_test_fault ON usage_series",
        },
    )
    .await;
    let r = w
        .alice
        .call(Method::POST, "/v1/usage", Some(&batch))
        .await
        .unwrap();
    assert_eq!(
        (r["accepted"].as_u64(), r["duplicates"].as_u64()),
        (Some(300), Some(0))
    );
    srv.stop().await;
}

/// An admin prices a model for an org; the org's keys learn it from whoami, other orgs do not.
async fn org_prices_set_list_delete_and_reach_whoami(db: &Db) {
    let srv = Srv::start(db.store.clone(), ServeOptions::default()).await;
    let w = world(&srv, db.store.as_ref()).await;
    w.admin
        .call(
            Method::POST,
            "/v1/admin/orgs",
            Some(&json!({"name": "globex"})),
        )
        .await
        .unwrap();
    let set = |org: &str, model: &str, body: Value| {
        let admin = &w.admin;
        let path = format!(
            "/v1/admin/prices/{}/{}",
            server::client::encode(org),
            server::client::encode(model)
        );
        async move { admin.send(Method::PUT, &path, Some(&body)).await.unwrap() }
    };
    let (s, v) = set(
        "acme",
        "Claude-Opus-4-1",
        json!({"input": 15, "output": 75.0, "cache_read": 1.5}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["org"], "acme");
    assert_eq!(v["model"], "claude-opus-4-1", "stored lower-case");
    assert_eq!(
        v["price"],
        json!({"input": 15.0, "output": 75.0, "cache_read": 1.5})
    );
    // Setting again replaces; a name with a slash is one path segment.
    let (s, _) = set(
        "acme",
        "claude-opus-4-1",
        json!({"input": 10, "output": 50}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = set("acme", "vendor/model-x", json!({"input": 1, "output": 2})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = set(
        "globex",
        "claude-opus-4-1",
        json!({"input": 1, "output": 1}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);

    let list = w
        .admin
        .call(Method::GET, "/v1/admin/prices?org=acme", None)
        .await
        .unwrap();
    let models: Vec<&str> = list["prices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["model"].as_str().unwrap())
        .collect();
    assert_eq!(models, ["claude-opus-4-1", "vendor/model-x"]);
    assert_eq!(
        list["prices"][0]["price"],
        json!({"input": 10.0, "output": 50.0})
    );
    let all = w
        .admin
        .call(Method::GET, "/v1/admin/prices", None)
        .await
        .unwrap();
    assert_eq!(all["prices"].as_array().unwrap().len(), 3);

    // A key of acme learns acme's prices, not globex's.
    let me = w.alice.call(Method::GET, "/v1/whoami", None).await.unwrap();
    assert_eq!(
        me["prices"],
        json!({
            "claude-opus-4-1": {"input": 10.0, "output": 50.0},
            "vendor/model-x": {"input": 1.0, "output": 2.0},
        })
    );

    // Bad input: 400 naming the field; nothing changes.
    for (body, field) in [
        (json!({"input": -1, "output": 2}), "input = -1"),
        (json!({"input": 1}), "output"),
        (
            json!({"input": 1, "output": 2, "cache_reads": 1}),
            "cache_reads",
        ),
        (
            json!({"input": 1, "output": 2, "input_above": 3}),
            "above_tokens",
        ),
        (json!({"input": 1, "output": 2e7}), "output"),
        (json!({"input": "x", "output": 2}), "input"),
    ] {
        let (s, v) = set("acme", "claude-opus-4-1", body.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {v}");
        assert_eq!(v["error"]["type"], "invalid_request");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{body}: {message}");
    }
    let (s, v) = set("acme", " ", json!({"input": 1, "output": 2})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, v) = set("initech", "m", json!({"input": 1, "output": 2})).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, v) = w
        .admin
        .send(Method::GET, "/v1/admin/prices?org=initech", None)
        .await
        .unwrap();
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let still = w
        .admin
        .call(Method::GET, "/v1/admin/prices?org=acme", None)
        .await
        .unwrap();
    assert_eq!(still, list, "bad input changed nothing");

    // Admin only.
    for (method, path) in [
        (Method::GET, "/v1/admin/prices"),
        (Method::PUT, "/v1/admin/prices/acme/m"),
        (Method::DELETE, "/v1/admin/prices/acme/claude-opus-4-1"),
    ] {
        let body = json!({"input": 0, "output": 0});
        let (s, v) = w.bob.send(method.clone(), path, Some(&body)).await.unwrap();
        assert_eq!(s, StatusCode::FORBIDDEN, "{method} {path}: {v}");
        assert_eq!(v["error"]["type"], "forbidden");
    }

    // Delete answers what it deleted; a second delete finds nothing.
    let gone = w
        .admin
        .call(
            Method::DELETE,
            "/v1/admin/prices/acme/CLAUDE-OPUS-4-1",
            None,
        )
        .await
        .unwrap();
    assert_eq!(gone["model"], "claude-opus-4-1");
    assert_eq!(gone["price"]["input"], 10.0);
    let (s, v) = w
        .admin
        .send(
            Method::DELETE,
            "/v1/admin/prices/acme/claude-opus-4-1",
            None,
        )
        .await
        .unwrap();
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let me = w.alice.call(Method::GET, "/v1/whoami", None).await.unwrap();
    assert_eq!(
        me["prices"],
        json!({"vendor/model-x": {"input": 1.0, "output": 2.0}})
    );
    srv.stop().await;
}

/// The usage row from end to end: a ledger row as the proxy writes it, read back from the
/// ledger, sent as the wire row, stored by the server, reported. The row is built and taken
/// apart field by field without `..`, so a field added to `Row` or `Attribution` fails to
/// compile here until it is carried (or named as not carried); a field added to the wire row
/// without a server column fails the SELECT below.
async fn a_usage_row_keeps_every_field_from_the_proxy_to_the_report(db: &Db) {
    use gw::api::UsageRow;
    use gw::ledger::{Attribution, Ledger, Row};
    use gw::meter::{Billing, Usage};
    use gw::server::db::Value as DbValue;

    let srv = Srv::start(db.store.clone(), ServeOptions::default()).await;
    let w = world(&srv, db.store.as_ref()).await;
    let now = jiff::Timestamp::now().as_microsecond();
    let row = Row {
        id: uuid::Uuid::now_v7(),
        started_at_us: now - 5_000_000,
        ended_at_us: now - 4_000_000,
        provider: "anthropic".into(),
        endpoint: "/v1/messages".into(),
        requested_model: Some("claude-sonnet-4-5".into()),
        model: Some("claude-sonnet-4-5-20250929".into()),
        status: 200,
        streamed: true,
        incomplete: true,
        usage: Usage {
            input: 11,
            output: 22,
            cache_read: 33,
            cache_write_5m: 44,
            cache_write_1h: 55,
            reasoning: 6,
        },
        cost_nanos: Some(777_000),
        price_version: "pv-roundtrip".into(),
        latency_us: 1_234,
        ttfb_us: Some(567),
        upstream_request_id: Some("req_roundtrip".into()),
        agent_session_id: Some("agent-session".into()),
        error: Some("stream cut".into()),
        billing: Billing::Subscription,
        region: Some("us-east-1".into()),
        attribution: Arc::new(Attribution {
            session_id: "s-roundtrip".into(),
            agent: Some("claude".into()),
            agent_version: Some("2.1.197".into()),
            developer: Some("alice@acme.test".into()),
            project: Some("gw".into()),
            branch: Some("main".into()),
            task: Some("TASK-1".into()),
            cwd: Some("/work/gw".into()),
            host: Some("devbox".into()),
            key_id: Some(w.alice_key_id.clone()),
        }),
        source: gw::ledger::Source::Import,
        response_id: Some("msg_01".into()),
        log_cost_nanos: Some(31_125_000),
    };

    // The ledger keeps every field.
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::open(&dir.path().join("ledger.db")).unwrap();
    ledger.insert([&row]).unwrap();
    assert_eq!(ledger.get(&row.id).unwrap().as_ref(), Some(&row));

    // The wire row carries every field, and what it does not is named here.
    let wire = UsageRow::from(&row);
    let Row {
        id,
        started_at_us,
        ended_at_us,
        provider,
        endpoint,
        requested_model,
        model,
        status,
        streamed,
        incomplete,
        usage,
        cost_nanos,
        price_version,
        latency_us,
        ttfb_us,
        upstream_request_id,
        agent_session_id,
        error,
        billing: _, // local only for now: the server's rows have no billing yet
        region: _,  // nor a region
        source,
        response_id: _,
        log_cost_nanos: _,
        attribution,
    } = &row;
    let Attribution {
        session_id,
        agent,
        agent_version,
        developer,
        project,
        branch,
        task,
        cwd,
        host,
        key_id,
    } = &**attribution;
    let as_json = serde_json::to_value(&wire).unwrap();
    let expected = json!({
        "id": id.to_string(), "started_at_us": started_at_us, "ended_at_us": ended_at_us,
        "provider": provider, "endpoint": endpoint, "requested_model": requested_model,
        "model": model, "status": status, "streamed": streamed, "incomplete": incomplete,
        "input_tokens": usage.input, "output_tokens": usage.output,
        "cache_read_tokens": usage.cache_read, "cache_write_5m_tokens": usage.cache_write_5m,
        "cache_write_1h_tokens": usage.cache_write_1h, "reasoning_tokens": usage.reasoning,
        "cost_nanos": cost_nanos, "price_version": price_version, "latency_us": latency_us,
        "ttfb_us": ttfb_us, "upstream_request_id": upstream_request_id,
        "agent_session_id": agent_session_id, "error": error, "session_id": session_id,
        "agent": agent, "agent_version": agent_version, "developer": developer,
        "project": project, "branch": branch, "task": task, "cwd": cwd, "host": host,
        "key_id": key_id, "source": source,
    });
    assert_eq!(as_json, expected);
    let parsed: UsageRow = serde_json::from_value(as_json.clone()).unwrap();
    assert_eq!(
        serde_json::to_value(&parsed).unwrap(),
        as_json,
        "the server reads it whole"
    );

    // The server stores every field but the two it takes from the key instead.
    let answer = w
        .alice
        .call(Method::POST, "/v1/usage", Some(&json!({ "rows": [wire] })))
        .await
        .unwrap();
    assert_eq!(answer["accepted"], 1);
    let fields: Vec<&String> = as_json
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| !["developer", "key_id"].contains(&k.as_str()))
        .collect();
    let columns: Vec<&str> = fields.iter().map(|f| f.as_str()).collect();
    let sql = format!("SELECT {} FROM usage WHERE id = $1", columns.join(", "));
    let mut tx = db.store.begin(false).await.unwrap();
    let stored = tx
        .query(&sql, &[DbValue::Text(id.to_string())])
        .await
        .unwrap_or_else(|e| panic!("a wire field with no server column? {e}"));
    drop(tx);
    assert_eq!(stored.len(), 1);
    for (i, field) in fields.iter().enumerate() {
        let want = match &as_json[field.as_str()] {
            Value::Null => DbValue::Null,
            Value::Bool(b) => DbValue::Int(i64::from(*b)),
            Value::Number(n) => DbValue::Int(n.as_i64().unwrap()),
            Value::String(s) => DbValue::Text(s.clone()),
            other => panic!("{field}: {other}"),
        };
        assert_eq!(stored[0].0[i], want, "server column `{field}`");
    }

    // And the report counts it.
    let report = w
        .alice
        .call(Method::GET, "/v1/reports/spend?period=all&by=model", None)
        .await
        .unwrap();
    let totals = &report["totals"];
    assert_eq!(totals["requests"], 1, "{report}");
    assert_eq!(totals["input_tokens"], usage.input);
    assert_eq!(totals["output_tokens"], usage.output);
    assert_eq!(totals["cache_read_tokens"], usage.cache_read);
    assert_eq!(
        totals["cache_write_tokens"],
        usage.cache_write_5m + usage.cache_write_1h
    );
    assert_eq!(totals["reasoning_tokens"], usage.reasoning);
    assert_eq!(totals["cost_nanos"], cost_nanos.unwrap());
    assert_eq!(report["rows"][0]["key"]["model"], json!(model), "{report}");
    srv.stop().await;
}

/// A strict budget (migration 5) is shown as such and makes every lease under it strict, until
/// an admin turns it off.
async fn a_strict_budget_makes_its_keys_leases_strict(db: &Db) {
    let srv = Srv::start(db.store.clone(), ServeOptions::default()).await;
    let w = world(&srv, db.store.as_ref()).await;
    let created = w
        .admin
        .call(
            Method::POST,
            "/v1/admin/budgets",
            Some(&json!({"scope": "team", "name": "acme/backend", "limit_usd": "2", "period": "day", "strict": true})),
        )
        .await
        .unwrap();
    assert_eq!(created["strict"], true);
    // A gw that does not say it enforces strict budgets gets no lease under one.
    let key = w
        .admin
        .call(
            Method::POST,
            "/v1/admin/keys",
            Some(&json!({"developer": "alice@acme.test"})),
        )
        .await
        .unwrap();
    let bearer = format!("Bearer {}", key["key"].as_str().unwrap());
    let url = format!("{}/v1/leases", srv.base);
    let body = r#"{"session_id":"old","amount_nanos":1000}"#;
    let (status, _, answer) = common::send(
        "POST",
        &url,
        &[
            ("authorization", &bearer),
            ("content-type", "application/json"),
        ],
        body,
    )
    .await;
    assert_eq!(status, 403);
    assert!(String::from_utf8_lossy(&answer).contains("upgrade gw"));
    let (status, _, _) = common::send(
        "POST",
        &url,
        &[
            ("authorization", &bearer),
            ("content-type", "application/json"),
            (gw::api::FEATURES_HEADER, gw::api::FEATURES),
        ],
        body,
    )
    .await;
    assert_eq!(status, 200);
    let lease = |session: &'static str| {
        let alice = w.alice.clone();
        async move {
            alice
                .call(
                    Method::POST,
                    "/v1/leases",
                    Some(&json!({"session_id": session, "amount_nanos": USD})),
                )
                .await
                .unwrap()
        }
    };
    assert_eq!(lease("s1").await["strict"], true);
    let budgets = w
        .alice
        .call(Method::GET, "/v1/budgets", None)
        .await
        .unwrap();
    assert_eq!(budgets["budgets"][0]["strict"], true);
    let id = created["id"].as_i64().unwrap();
    let updated = w
        .admin
        .call(
            Method::PATCH,
            &format!("/v1/admin/budgets/{id}"),
            Some(&json!({"strict": false})),
        )
        .await
        .unwrap();
    assert_eq!(updated["strict"], false);
    assert_eq!(lease("s2").await["strict"], false);
    srv.stop().await;
}

/// A rate limit is shared out with leases, a quarter of what is left at a time: however many
/// sessions ask, concurrently and on two replicas, the shares in a window never add up to more
/// than the limit. The
/// admin API lists, changes and deletes it; `/v1/budgets` shows it to the key.
async fn rate_limits_are_shared_out_and_never_granted_past(db: &Db) {
    let srv = Srv::start(db.store.clone(), ServeOptions::default()).await;
    // A second replica on the same database: bob's sessions ask it.
    let replica = Srv::start(
        server::open_store(&db.url).await.unwrap(),
        ServeOptions::default(),
    )
    .await;
    let w = world(&srv, db.store.as_ref()).await;
    let bob_on_replica = {
        let k = w
            .admin
            .call(
                Method::POST,
                "/v1/admin/keys",
                Some(&json!({"developer": "bob@acme.test"})),
            )
            .await
            .unwrap();
        replica.client(k["key"].as_str().unwrap())
    };
    let admin = &w.admin;
    for bad in [
        json!({"scope": "team", "name": "acme/backend", "window_secs": 0, "max_requests": 5}),
        json!({"scope": "team", "name": "acme/backend", "window_secs": 60}),
        json!({"scope": "team", "name": "acme/backend", "window_secs": 60, "max_requests": 0}),
    ] {
        let e = admin
            .call(Method::POST, "/v1/admin/limits", Some(&bad))
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains("400")
                || e.to_string().contains("window")
                || e.to_string().contains("max_"),
            "{e}"
        );
    }
    let limit = admin
        .call(
            Method::POST,
            "/v1/admin/limits",
            Some(&json!({"scope": "team", "name": "acme/backend", "window_secs": 3600, "max_requests": 40, "max_tokens": 100000})),
        )
        .await
        .unwrap();
    assert_eq!(limit["max_requests"], 40);
    let id = limit["id"].as_i64().unwrap();
    // 24 leases from two keys, then each asks for more, all at once.
    let mut tasks = Vec::new();
    for i in 0..24 {
        let client = if i % 2 == 0 {
            w.alice.clone()
        } else {
            bob_on_replica.clone()
        };
        tasks.push(tokio::spawn(async move {
            let lease = client
                .call(
                    Method::POST,
                    "/v1/leases",
                    Some(&json!({"session_id": format!("s{i}"), "amount_nanos": 1000})),
                )
                .await
                .unwrap();
            // An idle session holds none of the window: shares come with the first ask.
            assert_eq!(lease["rates"][0]["requests"], 0, "{lease}");
            let lease_id = lease["lease_id"].as_str().unwrap().to_string();
            let renewed = client
                .call(
                    Method::POST,
                    &format!("/v1/leases/{lease_id}/renew"),
                    Some(&json!({"rates": true})),
                )
                .await
                .unwrap();
            let rate = &renewed["rates"][0];
            (
                rate["requests"].as_i64().unwrap(),
                rate["tokens"].as_i64().unwrap(),
            )
        }));
    }
    let (mut requests, mut tokens) = (0, 0);
    for t in tasks {
        let (r, k) = t.await.unwrap();
        requests += r;
        tokens += k;
    }
    assert!(
        requests <= 40 && tokens <= 100_000,
        "{requests} requests, {tokens} tokens"
    );
    assert!(
        requests >= 30,
        "most of the window was shared out: {requests}"
    );
    let budgets = w
        .alice
        .call(Method::GET, "/v1/budgets", None)
        .await
        .unwrap();
    assert_eq!(budgets["limits"][0]["granted_requests"], requests);
    assert_eq!(budgets["limits"][0]["granted_tokens"], tokens);
    assert!(
        tokens >= 75_000,
        "most of the window was shared out: {tokens} tokens"
    );
    let updated = admin
        .call(
            Method::PATCH,
            &format!("/v1/admin/limits/{id}"),
            Some(&json!({"max_requests": 100})),
        )
        .await
        .unwrap();
    assert_eq!(updated["max_requests"], 100);
    let listed = admin
        .call(Method::GET, "/v1/admin/limits", None)
        .await
        .unwrap();
    assert_eq!(listed["limits"].as_array().unwrap().len(), 1);
    admin
        .call(Method::DELETE, &format!("/v1/admin/limits/{id}"), None)
        .await
        .unwrap();
    let listed = admin
        .call(Method::GET, "/v1/admin/limits", None)
        .await
        .unwrap();
    assert!(listed["limits"].as_array().unwrap().is_empty());
    replica.stop().await;
    srv.stop().await;
}

/// A session that gives a lease back (reporting what it spent) and takes another: its rows that
/// started under the first, synced only now, count against the first, not the second, which
/// stays reserved in full.
async fn a_row_counts_against_the_lease_its_session_held_when_it_started(db: &Db) {
    let srv = Srv::start(db.store.clone(), ServeOptions::default()).await;
    let w = world(&srv, db.store.as_ref()).await;
    budget(&w.admin, "team", "acme/backend", "10", "month").await;
    let lease = |amount: i64| {
        let alice = w.alice.clone();
        async move {
            alice
                .call(
                    Method::POST,
                    "/v1/leases",
                    Some(&json!({"session_id": "s", "amount_nanos": amount})),
                )
                .await
                .unwrap()
        }
    };
    let first = lease(USD).await;
    let early = usage_row("s", 300_000_000);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    w.alice
        .call(
            Method::POST,
            &format!("/v1/leases/{}/release", first["lease_id"].as_str().unwrap()),
            Some(&json!({"spent_nanos": 300_000_000})),
        )
        .await
        .unwrap();
    let second = lease(2 * USD).await;
    // The row that ran under the first lease arrives after the second was taken.
    w.alice
        .call(Method::POST, "/v1/usage", Some(&json!({"rows": [early]})))
        .await
        .unwrap();
    let b = w
        .alice
        .call(Method::GET, "/v1/budgets", None)
        .await
        .unwrap();
    // Spent: the row. Reserved: the second lease whole; the first's report is consumed.
    assert_eq!(b["budgets"][0]["spent_nanos"], 300_000_000, "{b}");
    assert_eq!(
        b["budgets"][0]["reserved_nanos"], second["granted_nanos"],
        "{b}"
    );
    // Not charged to the second lease: once the first's report is dropped, the second would be
    // reserved short by the row.
    let renewed = w
        .alice
        .call(
            Method::POST,
            &format!("/v1/leases/{}/renew", second["lease_id"].as_str().unwrap()),
            Some(&json!({})),
        )
        .await
        .unwrap();
    assert_eq!(renewed["consumed_nanos"], 0, "{renewed}");
    srv.stop().await;
}
