//! The web dashboard: sign-in and sessions, what an admin and a developer each see, escaping,
//! CSRF, CSV, and (when Chromium, Node and playwright-core are present) a walk through it in a
//! real headless browser, with screenshots under `target/web-screenshots/`.

mod common;

use std::process::Command;

use gw::server::{self, ServeOptions};
use http::{Method, StatusCode};
use serde_json::{json, Value};

const XSS: &str = "<img src=x onerror=alert(1)>";

struct Seeded {
    server: common::TestServer,
    alice_key: String,
    alice_key_id: String,
    alice_session: String,
    bob_session: String,
}

fn row(session: &str, i: i64, model: &str, branch: &str, cost: Option<i64>) -> Value {
    let start = jiff::Timestamp::now().as_microsecond() - 3_600_000_000 + i * 60_000_000;
    json!({
        "id": uuid::Uuid::now_v7().to_string(),
        "started_at_us": start,
        "ended_at_us": start + 2_000_000,
        "provider": "anthropic",
        "endpoint": "/v1/messages",
        "model": model,
        "status": 200,
        "input_tokens": 100 + i,
        "output_tokens": 50,
        "cache_read_tokens": 1000,
        "cache_write_5m_tokens": 10,
        "cost_nanos": cost,
        "price_version": "t",
        "latency_us": 2_000_000,
        "session_id": session,
        "agent": "claude",
        "project": "github.com/acme/app",
        "branch": branch,
        "task": "=cmd|' /C calc'!A0",
    })
}

/// A server with org acme (team backend: alice; bob without a team), a budget, and usage:
/// alice's session on a branch named like an XSS attack, bob's, and an unpriced request.
async fn seeded() -> Seeded {
    let server = common::TestServer::start(ServeOptions::default()).await;
    server
        .admin_posts(&[
            (
                "/v1/admin/orgs",
                json!({"name": "acme", "tz": "Europe/Berlin"}),
            ),
            ("/v1/admin/teams", json!({"org": "acme", "name": "backend"})),
            (
                "/v1/admin/users",
                json!({"email": "alice@acme.test", "org": "acme", "team": "backend"}),
            ),
            (
                "/v1/admin/users",
                json!({"email": "bob@acme.test", "org": "acme"}),
            ),
            (
                "/v1/admin/budgets",
                json!({"scope": "team", "name": "acme/backend", "limit_usd": "5", "period": "month"}),
            ),
        ])
        .await;
    let keys = server
        .keys(&[
            json!({"developer": "alice@acme.test", "name": "laptop"}),
            json!({"developer": "bob@acme.test", "name": "laptop"}),
        ])
        .await;
    let alice_session = uuid::Uuid::now_v7().to_string();
    let bob_session = uuid::Uuid::now_v7().to_string();
    let mut alice_rows: Vec<Value> = (0..6)
        .map(|i| {
            row(
                &alice_session,
                i,
                "claude-sonnet-4-5",
                XSS,
                Some(10_000_000 + i),
            )
        })
        .collect();
    alice_rows.push(row(&alice_session, 7, "mystery-model", XSS, None));
    server
        .client(&keys[0].0)
        .call(
            Method::POST,
            "/v1/usage",
            Some(&json!({"rows": alice_rows})),
        )
        .await
        .unwrap();
    let bob_rows: Vec<Value> = (0..3)
        .map(|i| row(&bob_session, i, "gpt-5", "main", Some(30_000_000)))
        .collect();
    server
        .client(&keys[1].0)
        .call(Method::POST, "/v1/usage", Some(&json!({"rows": bob_rows})))
        .await
        .unwrap();
    Seeded {
        server,
        alice_key: keys[0].0.clone(),
        alice_key_id: keys[0].1.clone(),
        alice_session,
        bob_session,
    }
}

impl Seeded {
    async fn get(&self, path: &str, cookie: &str) -> (StatusCode, http::HeaderMap, String) {
        let (s, h, b) = common::send(
            "GET",
            &format!("{}{path}", self.server.base),
            &[("cookie", cookie)],
            "",
        )
        .await;
        (s, h, String::from_utf8_lossy(&b).into_owned())
    }

    async fn post(
        &self,
        path: &str,
        cookie: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, http::HeaderMap, String) {
        let body: Vec<String> = form
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    gw::server::client::encode(k),
                    gw::server::client::encode(v)
                )
            })
            .collect();
        let (s, h, b) = common::send(
            "POST",
            &format!("{}{path}", self.server.base),
            &[
                ("cookie", cookie),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            body.join("&"),
        )
        .await;
        (s, h, String::from_utf8_lossy(&b).into_owned())
    }

    /// Signs in; answers the session cookie (`gw_session=…`).
    async fn sign_in(&self, token: &str) -> String {
        let (s, h, body) = self.post("/ui/login", "", &[("token", token)]).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
        let set = h["set-cookie"].to_str().unwrap().to_string();
        for flag in ["HttpOnly", "SameSite=Strict", "Path=/ui", "Max-Age="] {
            assert!(set.contains(flag), "{flag} in {set}");
        }
        assert!(!set.contains(token), "the token is not the cookie");
        set.split(';').next().unwrap().to_string()
    }

    async fn csrf(&self, cookie: &str) -> String {
        let (_, _, page) = self.get("/ui/keys", cookie).await;
        let at = page.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
        page[at..at + page[at..].find('"').unwrap()].to_string()
    }

    async fn stop(self) {
        self.server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_sees_the_org_and_a_developer_only_their_own() {
    let s = seeded().await;
    // Signed out, every page sends to the sign-in page.
    let (status, h, _) = s.get("/ui/overview", "").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(h["location"], "/ui/login");

    let admin = s.sign_in(&s.server.admin_token).await;
    let (status, h, page) = s.get("/ui/overview?period=month", &admin).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    assert!(
        !page.contains("<script>") && !page.contains(" style="),
        "no inline script or style"
    );
    // The totals are the API's.
    let report = s
        .server
        .admin
        .call(
            Method::GET,
            "/v1/reports/spend?period=month&scope=org&name=acme",
            None,
        )
        .await
        .unwrap();
    let cost = report["totals"]["cost_usd"].as_f64().unwrap();
    assert!(
        page.contains(&format!("<strong id=\"total-cost\">${cost:.4}</strong>"))
            || page.contains(&format!("<strong id=\"total-cost\">${cost:.2}</strong>")),
        "{cost} in {page}"
    );
    assert!(page.contains(&format!(
        "<strong id=\"total-requests\">{}</strong>",
        report["totals"]["requests"]
    )));
    assert!(
        page.contains("<strong id=\"total-unpriced\">1</strong>"),
        "the unpriced request is flagged"
    );
    assert!(page.contains("alice@acme.test") && page.contains("bob@acme.test"));
    assert!(page.contains("team acme/backend"), "the team budget's bar");
    // The branch named like markup is text wherever it appears.
    let (_, _, sessions) = s.get("/ui/sessions?period=month", &admin).await;
    assert!(
        sessions.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{sessions}"
    );
    assert!(!sessions.contains(XSS));
    let (_, _, filtered) = s
        .get(
            &format!(
                "/ui/overview?period=month&branch={}",
                gw::server::client::encode(XSS)
            ),
            &admin,
        )
        .await;
    assert!(
        !filtered.contains(XSS) && filtered.contains("&lt;img"),
        "a filter echoed is escaped"
    );
    // One session's requests.
    let (status, _, session) = s
        .get(
            &format!("/ui/sessions/{}/{}", s.alice_key_id, s.alice_session),
            &admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(session.contains("claude-sonnet-4-5") && session.contains("unpriced"));
    // CSV: formulas from clients are defused.
    let (status, h, csv) = s
        .get(
            &format!(
                "/ui/sessions/{}/{}?format=csv",
                s.alice_key_id, s.alice_session
            ),
            &admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(h["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(csv.starts_with("started,model,status"), "{csv}");
    let (_, _, sessions_csv) = s.get("/ui/sessions?period=month&format=csv", &admin).await;
    assert!(sessions_csv.contains("'=cmd|"), "{sessions_csv}");
    let (_, _, models_csv) = s
        .get("/ui/overview?period=month&format=csv&table=models", &admin)
        .await;
    assert!(
        models_csv.starts_with("model,cost,requests"),
        "{models_csv}"
    );

    // A developer sees their own spend and sessions, not bob's, and changes nothing.
    let alice = s.sign_in(&s.alice_key).await;
    let (_, _, page) = s.get("/ui/overview?period=month", &alice).await;
    assert!(
        !page.contains("bob@acme.test") && !page.contains("gpt-5"),
        "{page}"
    );
    let (_, _, sessions) = s
        .get(
            "/ui/sessions?period=month&developer=bob%40acme.test",
            &alice,
        )
        .await;
    assert!(!sessions.contains(&s.bob_session));
    let bob_key_id = s
        .server
        .admin
        .call(
            Method::GET,
            "/v1/admin/keys?developer=bob%40acme.test",
            None,
        )
        .await
        .unwrap()["keys"][0]["key_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _, _) = s
        .get(
            &format!("/ui/sessions/{bob_key_id}/{}", s.bob_session),
            &alice,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, _, keys) = s.get("/ui/keys", &alice).await;
    assert!(keys.contains(&s.alice_key_id) && !keys.contains(&bob_key_id));
    assert!(!keys.contains(&s.alice_key), "no secret in a page");
    let csrf = s.csrf(&alice).await;
    let (status, _, _) = s
        .post(
            &format!("/ui/keys/{bob_key_id}/revoke"),
            &alice,
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_need_the_admin_and_the_sessions_csrf_token() {
    let s = seeded().await;
    let admin = s.sign_in(&s.server.admin_token).await;
    let csrf = s.csrf(&admin).await;
    let form = |csrf: &'static str| {
        vec![
            ("csrf", csrf),
            ("developer", "bob@acme.test"),
            ("name", "ci"),
        ]
    };
    for bad in ["", "not-the-token"] {
        let (status, _, _) = s.post("/ui/keys", &admin, &form(bad)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "csrf {bad:?}");
    }
    let mut good = form("");
    good[0].1 = &csrf;
    let (status, h, page) = s.post("/ui/keys", &admin, &good).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(h["cache-control"], "no-store");
    let at = page.find("<code id=\"new-key\">").unwrap() + 19;
    let key = &page[at..at + page[at..].find('<').unwrap()];
    assert!(key.starts_with("gwk_"), "the new key is shown once: {key}");
    let (_, _, again) = s.get("/ui/keys", &admin).await;
    assert!(!again.contains(key), "and never again");
    let key_id = gw::server::secret::key_id(key).unwrap().to_string();
    let (status, _, _) = s
        .post(
            &format!("/ui/keys/{key_id}/revoke"),
            &admin,
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let keys = s
        .server
        .admin
        .call(
            Method::GET,
            "/v1/admin/keys?developer=bob%40acme.test",
            None,
        )
        .await
        .unwrap();
    let revoked = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key_id"] == key_id.as_str())
        .unwrap();
    assert_eq!(revoked["active"], false);
    // A budget created and changed.
    let (status, _, page) = s
        .post(
            "/ui/budgets",
            &admin,
            &[
                ("csrf", &csrf),
                ("scope", "developer"),
                ("name", "bob@acme.test"),
                ("limit_usd", "2.50"),
                ("period", "day"),
                ("soft_threshold", "70%"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    let budgets = s
        .server
        .admin
        .call(
            Method::GET,
            "/v1/admin/budgets?scope=developer&name=bob%40acme.test",
            None,
        )
        .await
        .unwrap();
    let id = budgets["budgets"][0]["id"].as_i64().unwrap();
    assert_eq!(budgets["budgets"][0]["soft_threshold"], 0.7);
    let (status, _, _) = s
        .post(
            &format!("/ui/budgets/{id}"),
            &admin,
            &[("csrf", &csrf), ("limit_usd", "4")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let budgets = s
        .server
        .admin
        .call(
            Method::GET,
            "/v1/admin/budgets?scope=developer&name=bob%40acme.test",
            None,
        )
        .await
        .unwrap();
    assert_eq!(budgets["budgets"][0]["limit_usd"], 4.0);
    let (status, _, page) = s
        .post(
            "/ui/budgets",
            &admin,
            &[
                ("csrf", &csrf),
                ("scope", "team"),
                ("name", "acme/nope"),
                ("limit_usd", "1"),
                ("period", "day"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a clear error page: {page}");
    assert!(page.contains("acme/nope"));

    // Signing out ends the session; so does rotating the admin token.
    let (status, _, _) = s.post("/ui/logout", &admin, &[("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _, _) = s.get("/ui/overview", &admin).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "signed out");
    let admin = s.sign_in(&s.server.admin_token).await;
    let (status, _, _) = s.get("/ui/overview", &admin).await;
    assert_eq!(status, StatusCode::OK);
    server::init_admin(s.server.store.as_ref(), true)
        .await
        .unwrap()
        .unwrap();
    let (status, _, _) = s.get("/ui/overview", &admin).await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "a rotated admin token ends its sessions"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_are_limited_and_revoked_keys_end_their_sessions() {
    let s = seeded().await;
    let alice = s.sign_in(&s.alice_key).await;
    for _ in 0..5 {
        let (status, _, page) = s.post("/ui/login", "", &[("token", "gwa_wrong")]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(page.contains("not a valid admin token or gw key"));
    }
    let (status, _, _) = s.post("/ui/login", "", &[("token", "gwa_wrong")]).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the sixth failure waits"
    );
    // The right token still signs in: one client failing (or every client behind one proxy)
    // locks nobody out.
    let admin = s.sign_in(&s.server.admin_token).await;
    // A form posted from another site is refused before anything runs, sign-in included.
    for (name, value) in [
        ("sec-fetch-site", "cross-site"),
        ("origin", "https://evil.example"),
    ] {
        let (status, _, _) = common::send(
            "POST",
            &format!("{}/ui/login", s.server.base),
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                (name, value),
            ],
            format!("token={}", s.server.admin_token),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}: {value}");
    }
    // A CSV's file name is the table's, whatever the query says; errors carry the headers too.
    let (_, h, _) = s
        .get(
            "/ui/overview?format=csv&table=x.html%22%3B%20x%3D%22",
            &admin,
        )
        .await;
    assert_eq!(
        h["content-disposition"],
        "attachment; filename=\"gw-spend.csv\""
    );
    let (status, h, _) = s.get("/ui/overview?nonsense=1", &admin).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(h.contains_key("content-security-policy"));
    s.server
        .admin
        .call(
            Method::POST,
            &format!("/v1/admin/keys/{}/revoke", s.alice_key_id),
            None,
        )
        .await
        .unwrap();
    let (status, h, _) = s.get("/ui/overview", &alice).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(h["location"], "/ui/login");
    let (status, h, js) = s.get("/ui/assets/app.js", "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(h["content-type"].to_str().unwrap().contains("javascript"));
    assert!(js.contains("uPlot"));
    assert_eq!(
        s.get("/ui/assets/../server.db", "").await.0,
        StatusCode::NOT_FOUND
    );
    s.stop().await;
}

/// The headless browser: Debian's chromium driven by playwright-core (from npm) through
/// `tests/web_browser.mjs`. Skipped, with a message, when either is missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_walks_through_the_dashboard() {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let modules = std::env::var("GW_TEST_PLAYWRIGHT_MODULES").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/target/browser/node_modules").to_string()
    });
    let playwright = std::path::Path::new(&modules).join("playwright-core");
    let node = Command::new("node").arg("--version").output().is_ok();
    let (Some(chromium), true, true) = (chromium, playwright.exists(), node) else {
        eprintln!(
            "note: the browser test is skipped: it needs /usr/bin/chromium (apt-get install chromium), node, and playwright-core in {modules} (npm install --prefix target/browser playwright-core); .ci/run installs them"
        );
        return;
    };
    let s = seeded().await;
    let report = s
        .server
        .admin
        .call(
            Method::GET,
            "/v1/reports/spend?period=month&scope=org&name=acme",
            None,
        )
        .await
        .unwrap();
    let shots = concat!(env!("CARGO_MANIFEST_DIR"), "/target/web-screenshots");
    std::fs::create_dir_all(shots).unwrap();
    let config = json!({
        "base": s.server.base,
        "admin_token": s.server.admin_token,
        "dev_key": s.alice_key,
        "dev_session": s.alice_session,
        "bob_session": s.bob_session,
        "xss": XSS,
        "total_requests": report["totals"]["requests"],
        "shots": shots,
        "chromium": chromium,
    });
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/web_browser.mjs");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .arg(config.to_string())
            .env("NODE_PATH", &modules)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the browser walk failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("walk: ok"), "{stdout}\n{stderr}");
    eprintln!("{stdout}");
    s.stop().await;
}
