//! Team mode end to end: an in-process `gw server`, the in-process mock upstream, and real
//! `gw run` sessions of a fake agent (tests/budget_agent.py) spending one team budget through
//! leases; the server stopped and restarted mid-session; `gw login`/`budget`/`sync`/`logout`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Mock;
use gw::ledger::{Attribution, Ledger, PendingFilter, Row};
use gw::meter::Usage;
use gw::server::client::Client;
use gw::server::trust::Trust;
use gw::server::{self, ServeOptions, Store};
use http::Method;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const GW: &str = env!("CARGO_BIN_EXE_gw");
const AGENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/budget_agent.py");

/// A `gw server` on loopback, stoppable and restartable on the same address and database.
struct Srv {
    addr: std::net::SocketAddr,
    db_url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Srv {
    async fn start(db_url: &str, addr: &str) -> Srv {
        let store: Arc<dyn Store> = server::open_store(db_url).await.unwrap();
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(server::serve(
            listener,
            store,
            ServeOptions::default(),
            async {
                let _ = rx.await;
            },
        ));
        Srv {
            addr,
            db_url: db_url.to_string(),
            stop: Some(tx),
            task: Some(task),
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }

    async fn restart(&mut self) {
        self.stop().await;
        *self = Srv::start(&self.db_url, &self.addr.to_string()).await;
    }
}

/// Org `acme` (UTC), team `backend` with a total budget, and an admin client.
struct World {
    _db: tempfile::TempDir,
    srv: Srv,
    admin: Client,
    /// The admin token, for `gw admin`.
    token: String,
}

impl World {
    async fn new(team_budget_usd: &str) -> World {
        World::with_budget(team_budget_usd, false).await
    }

    async fn with_budget(team_budget_usd: &str, strict: bool) -> World {
        let db = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", db.path().join("server.db").display());
        let srv = Srv::start(&url, "127.0.0.1:0").await;
        let store = server::open_store(&url).await.unwrap();
        let token = server::init_admin(store.as_ref(), false)
            .await
            .unwrap()
            .unwrap();
        let admin = Client::new(&srv.url(), Some(token.clone()), &Trust::default()).unwrap();
        for (path, body) in [
            ("/v1/admin/orgs", json!({"name": "acme", "tz": "UTC"})),
            ("/v1/admin/teams", json!({"org": "acme", "name": "backend"})),
            (
                "/v1/admin/budgets",
                json!({"scope": "team", "name": "acme/backend", "limit_usd": team_budget_usd, "period": "total", "strict": strict}),
            ),
        ] {
            admin.call(Method::POST, path, Some(&body)).await.unwrap();
        }
        World {
            _db: db,
            srv,
            admin,
            token,
        }
    }

    /// A developer of the team with a key and a home of their own.
    async fn developer(&self, name: &str, config: &str, models: Option<&[&str]>) -> Dev {
        let email = format!("{name}@acme.test");
        self.admin
            .call(
                Method::POST,
                "/v1/admin/users",
                Some(&json!({"email": email, "org": "acme", "team": "backend"})),
            )
            .await
            .unwrap();
        let mut body = json!({"developer": email});
        if let Some(models) = models {
            body["models"] = json!(models);
        }
        let key = self
            .admin
            .call(Method::POST, "/v1/admin/keys", Some(&body))
            .await
            .unwrap();
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        Dev {
            dir,
            key: key["key"].as_str().unwrap().to_string(),
            key_id: key["key_id"].as_str().unwrap().to_string(),
        }
    }

    /// The server's spend for a scope, to the nano-dollar.
    async fn spent(&self, scope: &str, name: &str) -> i64 {
        let path = format!(
            "/v1/reports/spend?period=all&scope={scope}&name={}",
            server::client::encode(name)
        );
        let report = self.admin.call(Method::GET, &path, None).await.unwrap();
        report["totals"]["cost_nanos"].as_i64().unwrap_or(0)
    }
}

struct Dev {
    dir: tempfile::TempDir,
    key: String,
    key_id: String,
}

impl Dev {
    fn out(&self) -> PathBuf {
        self.dir.path().join("agent-out.json")
    }

    fn stop_file(&self) -> PathBuf {
        self.dir.path().join("stop")
    }

    fn gw(&self, mock: &Mock, server_url: &str) -> Command {
        let mut cmd = Command::new(GW);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("USER", "tester")
            .env("GW_CONFIG", self.dir.path().join("config.toml"))
            .env("GW_DATA_DIR", self.dir.path().join("data"))
            .env("GW_ANTHROPIC_UPSTREAM", mock.url())
            .env("GW_OPENAI_UPSTREAM", mock.url())
            .env("GW_GEMINI_UPSTREAM", mock.url())
            .env("ANTHROPIC_API_KEY", "sk-ant-test")
            .env("GW_SERVER", server_url)
            .env("GW_KEY", &self.key)
            .env("FAKE_OUT", self.out())
            .env("BUDGET_STOP", self.stop_file())
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    fn run_agent(&self, mock: &Mock, server_url: &str, extra: &[(&str, &str)]) -> Child {
        self.gw(mock, server_url)
            .args(["run", "--", "python3", AGENT])
            .envs(extra.iter().copied())
            .spawn()
            .unwrap()
    }

    fn report(&self) -> Value {
        std::fs::read_to_string(self.out())
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(json!({"ok": 0}))
    }

    fn ok(&self) -> i64 {
        self.report()["ok"].as_i64().unwrap_or(0)
    }

    fn ledger(&self) -> Ledger {
        Ledger::open(&self.dir.path().join("data/ledger.db")).unwrap()
    }

    /// (total cost, most expensive request, rows not yet synced) from the local ledger.
    fn local(&self) -> (i64, i64, u64) {
        let ledger = self.ledger();
        let rows = ledger.recent(100_000).unwrap();
        let total = rows.iter().filter_map(|r| r.cost_nanos).sum();
        let max = rows.iter().filter_map(|r| r.cost_nanos).max().unwrap_or(0);
        let pending = ledger
            .pending_count(PendingFilter {
                key_id: &self.key_id,
                session_id: None,
            })
            .unwrap();
        (total, max, pending)
    }
}

/// Waits for a child with a deadline (polling, no sleep-as-synchronisation of results).
async fn finish(child: Child, within: Duration) -> std::process::Output {
    let pid = child.id();
    let waiter = tokio::task::spawn_blocking(move || child.wait_with_output());
    match tokio::time::timeout(within, waiter).await {
        Ok(output) => output.unwrap().unwrap(),
        Err(_) => {
            // SAFETY: kill(2) on a child we started.
            unsafe {
                libc::kill(pid as i32, libc::SIGKILL);
            }
            panic!("gw run (pid {pid}) did not finish within {within:?}");
        }
    }
}

async fn wait_until(what: &str, within: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_sessions_stop_at_the_team_budget_and_totals_match() {
    const SESSIONS: usize = 10;
    let mock = Mock::start().await;
    let world = World::new("1.00").await;
    let mut devs = Vec::new();
    for i in 0..SESSIONS {
        devs.push(
            world
                .developer(&format!("dev{i}"), "[server]\nlease_usd = 0.05\n", None)
                .await,
        );
    }
    let url = world.srv.url();
    let children: Vec<Child> = devs.iter().map(|d| d.run_agent(&mock, &url, &[])).collect();
    let mut outputs = Vec::new();
    for child in children {
        outputs.push(finish(child, Duration::from_secs(180)).await);
    }

    let mut local_total = 0;
    let mut max_cost = 0;
    let mut requests = 0;
    for (dev, output) in devs.iter().zip(&outputs) {
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
        let report = dev.report();
        assert_eq!(
            report["status"], 402,
            "every session ends refused: {report}"
        );
        let body: Value = serde_json::from_str(report["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["type"], "error", "Anthropic's error shape: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("team budget `acme/backend` is exhausted")
                && message.contains("of $1.00"),
            "the message names the budget and its limit: {message}"
        );
        assert!(
            message.contains("total budget"),
            "says when it resets: {message}"
        );
        assert!(
            text(&output.stdout).contains("is exhausted"),
            "the agent printed it"
        );
        let (total, max, pending) = dev.local();
        assert_eq!(pending, 0, "every row synced at exit");
        local_total += total;
        max_cost = max_cost.max(max);
        requests += report["ok"].as_i64().unwrap();
    }
    let server_total = world.spent("team", "acme/backend").await;
    assert_eq!(
        server_total, local_total,
        "server and ledgers agree to the nano-dollar"
    );
    for dev in &devs {
        assert_eq!(world.spent("key", &dev.key_id).await, dev.local().0);
    }
    let limit = 1_000_000_000;
    let overshoot = server_total - limit;
    eprintln!(
        "team budget $1.00: {requests} requests served, spent {server_total} nanos, overshoot {overshoot} nanos ({:.2} requests of {max_cost} nanos)",
        overshoot as f64 / max_cost as f64
    );
    assert!(
        server_total <= limit + SESSIONS as i64 * max_cost,
        "spent {server_total} > limit + one request per session"
    );
    assert!(
        server_total > limit - max_cost * SESSIONS as i64,
        "the budget was used up"
    );
}

/// Issue 15's scenario: 20 sessions sending requests in a loop on one $1.00 team budget, with
/// the default lease, small leases ($0.05), and a strict budget. Prints served, spent, unused
/// and overshoot for each; the strict budget is never passed, the others by at most one
/// request per session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_sessions_on_one_budget_default_small_leases_and_strict() {
    const SESSIONS: usize = 20;
    let limit: i64 = 1_000_000_000;
    // A 55 KB prompt with a 1,000-token output limit: the mock answers 54,200 input tokens (most
    // of them cache reads) and 85 output tokens, about $0.031.
    let agent_env = [("BUDGET_PAD", "55000"), ("BUDGET_MAX_TOKENS", "1000")];
    for (mode, config, strict) in [
        ("default lease", "", false),
        ("lease_usd 0.05", "[server]\nlease_usd = 0.05\n", false),
        ("strict", "", true),
    ] {
        let mock = Mock::start().await;
        let world = World::with_budget("1.00", strict).await;
        let mut devs = Vec::new();
        for i in 0..SESSIONS {
            devs.push(world.developer(&format!("dev{i}"), config, None).await);
        }
        let url = world.srv.url();
        let children: Vec<Child> = devs
            .iter()
            .map(|d| d.run_agent(&mock, &url, &agent_env))
            .collect();
        let (mut served, mut retried) = (0, 0);
        let mut max_cost = 0;
        for (dev, child) in devs.iter().zip(children) {
            let output = finish(child, Duration::from_secs(240)).await;
            assert_eq!(
                output.status.code(),
                Some(0),
                "{mode}: {}",
                text(&output.stderr)
            );
            let report = dev.report();
            assert_eq!(
                report["status"], 402,
                "{mode}: every session ends refused: {report}"
            );
            served += report["ok"].as_i64().unwrap();
            retried += report["retries"].as_i64().unwrap_or(0);
            max_cost = max_cost.max(dev.local().1);
        }
        let spent = world.spent("team", "acme/backend").await;
        eprintln!(
            "20 sessions, $1.00 team budget, {mode}: {served} requests served ({retried} 429s waited out), spent ${:.4}, unused ${:.4} ({:.1}% of the budget), overshoot ${:.4} ({:.2} requests of ${:.4})",
            spent as f64 / 1e9,
            (limit - spent).max(0) as f64 / 1e9,
            (limit - spent).max(0) as f64 / limit as f64 * 100.0,
            (spent - limit).max(0) as f64 / 1e9,
            (spent - limit).max(0) as f64 / max_cost.max(1) as f64,
            max_cost as f64 / 1e9,
        );
        if strict {
            assert!(
                spent <= limit,
                "a strict budget is never passed: spent {spent}"
            );
        } else {
            assert!(
                spent <= limit + SESSIONS as i64 * max_cost,
                "{mode}: spent {spent}"
            );
        }
        assert!(served > 0, "{mode}");
    }
}

/// A team rate limit of 3 requests per 4 s window over 3 sessions of 5 requests each: sessions
/// take shares with their leases, a request past the team's limit gets a 429 with retry-after
/// that the agent waits out, and no window ever sees more than 3 requests upstream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_rate_limit_holds_across_sessions_and_its_429s_are_waited_out() {
    const WINDOW_SECS: u64 = 4;
    let mock = Mock::start().await;
    let world = World::new("100").await;
    world
        .admin
        .call(
            Method::POST,
            "/v1/admin/limits",
            Some(&json!({"scope": "team", "name": "acme/backend", "window_secs": WINDOW_SECS, "max_requests": 3})),
        )
        .await
        .unwrap();
    let mut devs = Vec::new();
    for i in 0..3 {
        devs.push(world.developer(&format!("dev{i}"), "", None).await);
    }
    let url = world.srv.url();
    let children: Vec<Child> = devs
        .iter()
        .map(|d| d.run_agent(&mock, &url, &[("BUDGET_REQUESTS", "5")]))
        .collect();
    let mut waited = 0;
    for (dev, child) in devs.iter().zip(children) {
        let output = finish(child, Duration::from_secs(120)).await;
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        let report = dev.report();
        assert_eq!(
            report["ok"], 5,
            "every request got through in the end: {report}"
        );
        waited += report["retries"].as_i64().unwrap_or(0);
    }
    let mut per_window = std::collections::BTreeMap::new();
    for s in mock.seen() {
        let secs =
            s.at.duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
        *per_window.entry(secs / WINDOW_SECS).or_insert(0) += 1;
    }
    eprintln!(
        "team rate limit 3 requests / {WINDOW_SECS} s, 3 sessions x 5 requests: {} requests upstream over {} windows {:?}, {waited} 429s waited out",
        per_window.values().sum::<i32>(),
        per_window.len(),
        per_window.values().collect::<Vec<_>>()
    );
    assert_eq!(per_window.values().sum::<i32>(), 15);
    // 15 requests at 3 a window take 5 windows at least. (A request admitted in a window's last
    // milliseconds may reach the mock in the next: one straggler is not a breach.)
    assert!(per_window.len() >= 5, "{per_window:?}");
    assert!(per_window.values().all(|n| *n <= 4), "{per_window:?}");
    assert!(waited > 0, "the limit was reached");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_restart_mid_session_allow_goes_on_deny_refuses_and_totals_match() {
    let mock = Mock::start().await;
    let mut world = World::new("100").await;
    let allow = world
        .developer(
            "allow",
            "[server]\nlease_usd = 0.05\noffline = \"allow\"\noffline_allowance_usd = 2\n",
            None,
        )
        .await;
    let deny = world
        .developer(
            "deny",
            "[server]\nlease_usd = 0.05\noffline = \"deny\"\n",
            None,
        )
        .await;
    let url = world.srv.url();
    let pace = [("BUDGET_PAUSE", "0.05")];
    let allow_child = allow.run_agent(&mock, &url, &pace);
    let deny_child = deny.run_agent(&mock, &url, &pace);
    wait_until("both sessions spend", Duration::from_secs(60), || {
        allow.ok() >= 3 && deny.ok() >= 3
    })
    .await;

    world.srv.stop().await;
    let at_stop = allow.ok();
    // More than a lease ($0.05, ~1.6 requests) past the outage: only the allowance pays; the
    // deny session stops once its lease is spent.
    wait_until(
        "allow goes on offline and deny refuses",
        Duration::from_secs(60),
        || allow.ok() >= at_stop + 5 && deny.report()["status"] == 402,
    )
    .await;
    let report = deny.report();
    assert!(
        report["body"].as_str().unwrap().contains("unreachable"),
        "{report}"
    );
    let deny_out = finish(deny_child, Duration::from_secs(60)).await;
    assert!(
        text(&deny_out.stderr).contains("offline = \"deny\""),
        "a warning at exit: {}",
        text(&deny_out.stderr)
    );
    assert_eq!(allow.report()["status"], 200, "allow was never refused");

    world.srv.restart().await;
    let at_restart = allow.ok();
    wait_until(
        "the allow session goes on after recovery",
        Duration::from_secs(60),
        || allow.ok() >= at_restart + 3,
    )
    .await;
    std::fs::write(allow.stop_file(), "").unwrap();
    let allow_out = finish(allow_child, Duration::from_secs(60)).await;
    assert_eq!(allow_out.status.code(), Some(0));
    assert_eq!(
        allow.report()["status"],
        200,
        "never refused: {}",
        allow.report()
    );
    let stderr = text(&allow_out.stderr);
    assert!(
        stderr.contains("offline allowance"),
        "warned once: {stderr}"
    );
    assert_eq!(stderr.matches("cannot reach").count(), 1, "once: {stderr}");

    // The deny session's rows made while the server was down go with `gw sync`.
    let sync = deny
        .gw(&mock, &world.srv.url())
        .arg("sync")
        .output()
        .unwrap();
    assert!(sync.status.success(), "{}", text(&sync.stderr));
    for dev in [&allow, &deny] {
        let (total, _, pending) = dev.local();
        assert_eq!(pending, 0);
        assert_eq!(
            world.spent("key", &dev.key_id).await,
            total,
            "exact after recovery"
        );
    }
    world.srv.stop().await;
}

/// `gw proxy` (for IDE agents) is a team-mode session like `gw run`: its requests spend against
/// the lease and stop with 402 at the budget, and its rows reach the server when it stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gw_proxy_spends_against_the_team_budget_and_syncs_at_stop() {
    let mock = Mock::start().await;
    let world = World::new("0.05").await;
    let dev = world.developer("ide", "", None).await;
    let mut child = dev
        .gw(&mock, &world.srv.url())
        .env("GW_LOG", "debug")
        .arg("proxy")
        .spawn()
        .unwrap();
    let _kill = common::KillOnPanic(child.id());
    let stdout = child.stdout.take().unwrap();
    let exports = common::proxy_exports(stdout).await;
    let base = &exports["ANTHROPIC_BASE_URL"];
    let key = ("x-api-key", exports["ANTHROPIC_API_KEY"].as_str());
    let mut statuses = Vec::new();
    let mut refusal = String::new();
    for _ in 0..10 {
        let (status, _, body) = common::send(
            "POST",
            &format!("{base}/v1/messages"),
            &[key],
            r#"{"model":"claude-sonnet-4-5","max_tokens":10}"#,
        )
        .await;
        statuses.push(status.as_u16());
        if status == 402 {
            refusal = String::from_utf8_lossy(&body).into_owned();
            break;
        }
    }
    assert_eq!(statuses.last(), Some(&402), "{statuses:?}");
    assert!(
        refusal.contains("acme/backend") && refusal.contains("exhausted"),
        "{refusal}"
    );
    let served = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!(
        mock.seen().len(),
        served,
        "refused requests never reach the upstream"
    );

    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let out = finish(child, Duration::from_secs(30)).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (local, _, pending) = dev.local();
    assert_eq!(pending, 0, "every row synced at stop");
    assert!(local > 0);
    assert_eq!(world.spent("team", "acme/backend").await, local);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_outside_the_allow_list_are_forbidden() {
    let mock = Mock::start().await;
    let world = World::new("10").await;
    let dev = world
        .developer("picky", "", Some(&["claude-haiku-*"]))
        .await;
    let child = dev.run_agent(&mock, &world.srv.url(), &[]);
    let out = finish(child, Duration::from_secs(60)).await;
    let report = dev.report();
    assert_eq!(report["status"], 403, "{report} {}", text(&out.stderr));
    assert!(report["body"]
        .as_str()
        .unwrap()
        .contains("claude-sonnet-4-5"));
    assert!(mock.seen().is_empty(), "nothing reached the upstream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_budget_sync_logout() {
    let mock = Mock::start().await;
    let world = World::new("2.50").await;
    let dev = world.developer("cli", "", None).await;
    let url = world.srv.url();
    let creds = dev.dir.path().join("credentials.toml");
    let gw = |args: &[&str]| {
        let mut cmd = dev.gw(&mock, &url);
        cmd.env_remove("GW_SERVER").env_remove("GW_KEY").args(args);
        cmd.output().unwrap()
    };

    let bad = gw(&["login", &url, "--key", "gwk_000000000000_nope"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(!creds.exists());
    let ok = gw(&["login", &url, "--key", &dev.key]);
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert!(text(&ok.stderr).contains("cli@acme.test"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&creds).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    // A session from the stored login, then `gw budget`.
    let run = gw(&["run", "--", "python3", AGENT]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let json_out = gw(&["budget", "--json"]);
    assert!(json_out.status.success(), "{}", text(&json_out.stderr));
    let budgets: Value = serde_json::from_slice(&json_out.stdout).unwrap();
    let team = &budgets["budgets"][0];
    assert_eq!(team["scope"], "team");
    assert_eq!(team["limit_nanos"], 2_500_000_000i64);
    assert_eq!(team["spent_nanos"], dev.local().0);
    let table = text(&gw(&["budget"]).stdout);
    assert!(
        table.contains("acme/backend") && table.contains("$2.50"),
        "{table}"
    );
    assert!(table.contains('#'), "a plain bar when piped: {table}");

    // Rows the server has not seen (marked unsynced again) go with `gw sync`, counted once.
    let ledger = dev.ledger();
    let changed = ledger
        .conn()
        .execute("UPDATE requests SET synced = 0", [])
        .unwrap();
    assert!(changed > 0);
    let before = world.spent("key", &dev.key_id).await;
    let sync = gw(&["sync"]);
    assert!(sync.status.success(), "{}", text(&sync.stderr));
    assert!(
        text(&sync.stderr).contains("already there"),
        "{}",
        text(&sync.stderr)
    );
    assert_eq!(
        world.spent("key", &dev.key_id).await,
        before,
        "duplicates count once"
    );
    assert_eq!(dev.local().2, 0);

    let out = gw(&["logout"]);
    assert!(out.status.success());
    let text_after = std::fs::read_to_string(&creds).unwrap();
    assert!(!text_after.contains("gwk_"), "{text_after}");
    let not_in = gw(&["budget"]);
    assert_eq!(not_in.status.code(), Some(1));
    assert!(text(&not_in.stderr).contains("gw login"));
}

/// Issue item 10: a row the server refuses (here a token count the meter of an older gw let
/// through) is quarantined with the server's reason, the rows around it sync, and the next
/// `gw sync` does not send it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_row_is_quarantined_and_the_rest_sync() {
    let mock = Mock::start().await;
    let world = World::new("100").await;
    let dev = world.developer("q", "", None).await;
    let url = world.srv.url();
    let now = jiff::Timestamp::now().as_microsecond();
    let mut rows: Vec<Row> = (0..3)
        .map(|i| Row {
            id: uuid::Uuid::now_v7(),
            started_at_us: now + i,
            ended_at_us: now + i + 1_000,
            provider: "anthropic".into(),
            endpoint: "/v1/messages".into(),
            model: Some("claude-sonnet-4-5".into()),
            status: 200,
            usage: Usage {
                input: 100,
                output: 10,
                ..Usage::default()
            },
            cost_nanos: Some(1_000),
            price_version: "test".into(),
            latency_us: 1_000,
            attribution: Arc::new(Attribution {
                session_id: "old-session".into(),
                key_id: Some(dev.key_id.clone()),
                ..Attribution::default()
            }),
            ..Row::default()
        })
        .collect();
    rows[1].usage.input = 1 << 48;
    dev.ledger().insert(&rows).unwrap();
    let usage_400 = || async {
        let (_, m) = world
            .admin
            .send(Method::GET, "/metrics", None)
            .await
            .unwrap();
        let line = r#"gw_http_requests_total{method="POST",route="/v1/usage",status="400"} "#;
        m.as_str()
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix(line))
            .map_or(0, |n| n.parse::<u64>().unwrap())
    };

    let sync = dev.gw(&mock, &url).arg("sync").output().unwrap();
    let err = text(&sync.stderr);
    assert!(sync.status.success(), "{err}");
    assert!(err.contains("synced 2 request(s)"), "{err}");
    assert!(err.contains("1 request(s) quarantined"), "{err}");
    assert!(
        err.contains("1 × input_tokens is implausibly large (281474976710656; at most 1000000000)"),
        "{err}"
    );
    assert_eq!(
        world.spent("key", &dev.key_id).await,
        2_000,
        "the good rows"
    );
    assert_eq!(
        usage_400().await,
        1,
        "the server named the row in one answer"
    );
    let ledger = dev.ledger();
    let (synced, reason): (i64, Option<String>) = ledger
        .conn()
        .query_row(
            "SELECT synced, sync_error FROM requests WHERE id = ?1",
            [rows[1].id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(synced, 2, "kept, quarantined");
    assert!(reason.unwrap().starts_with("input_tokens"));
    assert_eq!(dev.local().2, 0, "nothing left to send");

    let again = dev.gw(&mock, &url).arg("sync").output().unwrap();
    let err = text(&again.stderr);
    assert!(again.status.success(), "{err}");
    assert!(err.contains("nothing to sync"), "{err}");
    assert!(err.contains("1 request(s) quarantined"), "{err}");
    assert_eq!(usage_400().await, 1, "not sent again");
    assert_eq!(world.spent("key", &dev.key_id).await, 2_000);
}

fn agents_bin() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("GW_TEST_AGENTS_BIN")?);
    dir.join("claude").exists().then_some(dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_code_stops_at_once_on_an_exhausted_budget() {
    let Some(bin) = agents_bin() else {
        eprintln!("skipped: GW_TEST_AGENTS_BIN does not hold claude");
        return;
    };
    let mock = Mock::start().await;
    let world = World::new("0.01").await;
    let dev = world.developer("claude", "", None).await;
    // Spend the budget first, so the session starts exhausted.
    let spender = dev.run_agent(&mock, &world.srv.url(), &[]);
    finish(spender, Duration::from_secs(60)).await;
    assert_eq!(dev.report()["status"], 402);
    let home = dev.dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let started = Instant::now();
    let child = dev
        .gw(&mock, &world.srv.url())
        .env("PATH", path_with(&bin))
        .env("HOME", &home)
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .args(["run", "claude", "--", "-p", "say pong"])
        .spawn()
        .unwrap();
    let out = finish(child, Duration::from_secs(90)).await;
    let took = started.elapsed();
    let all = text(&out.stdout) + &text(&out.stderr);
    eprintln!("claude took {took:?}: {all}");
    assert!(
        all.contains("team budget `acme/backend` is exhausted"),
        "{all}"
    );
    assert!(
        took < Duration::from_secs(30),
        "stopped at once, not after retries: {took:?}"
    );
}

fn path_with(dir: &Path) -> String {
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

const HOSTILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/hostile_agent.py");

/// A prompt-injected agent (tests/hostile_agent.py) under a $0.05 team budget and a one-model
/// allow-list tries every bypass: unmetered and disguised paths, hidden model keys, an unpriced
/// model, an oversized body, and reading secrets from its environment and every process's
/// command line. None gets through: the budget holds within one request, no forbidden model
/// reaches the upstream, no secret is found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_agent_cannot_pass_the_budget_the_allow_list_or_find_a_secret() {
    const ALLOWED: &str = "claude-haiku-4-5";
    let mock = Mock::start().await;
    let world = World::new("0.05").await;
    let dev = world
        .developer("mallory", "", Some(&[&format!("{ALLOWED}*")]))
        .await;
    let admin_token = "gwa_hostiletestadmintoken0123456789";
    let openai_key = "sk-oai-hostile-test-key";
    let child = dev
        .gw(&mock, &world.srv.url())
        .args(["run", "--", "python3", HOSTILE])
        .env("HOSTILE_ALLOWED_MODEL", ALLOWED)
        .env("GW_ADMIN_TOKEN", admin_token)
        .env("OPENAI_API_KEY", openai_key)
        .spawn()
        .unwrap();
    let out = finish(child, Duration::from_secs(120)).await;
    let report: Value = std::fs::read_to_string(dev.out())
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| panic!("the agent wrote no report: {}", text(&out.stderr)));

    let status = |name: &str| report["attempts"][name][0].as_i64().unwrap();
    for (name, want) in [
        ("batches", 403),
        ("legacy_completions", 403),
        ("embeddings", 403),
        ("encoded_path", 403),
        ("dot_segments", 403),
        ("dot_segments_batches", 403),
        ("escaped_key", 403),
        ("repeated_key", 400),
        ("array_body", 400),
        ("unpriced_model", 403),
    ] {
        assert_eq!(status(name), want, "{name}: {}", report["attempts"][name]);
    }
    for name in ["encoded_path", "escaped_key"] {
        let body = report["attempts"][name][1].as_str().unwrap();
        assert!(
            body.contains("is not allowed for this gw key"),
            "{name}: {body}"
        );
    }
    // gw answers 413 from the declared length and closes; a client still writing may see only
    // the closed connection.
    let oversized = &report["attempts"]["oversized_body"];
    assert!(
        status("oversized_body") == 413 || oversized[1].as_str().unwrap().contains("Broken pipe"),
        "oversized_body: {oversized}"
    );

    // Only requests for the allowed model reached the upstream, all to the metered endpoint.
    let seen = mock.seen();
    assert_eq!(seen.len() as i64, report["spent_ok"].as_i64().unwrap());
    for request in &seen {
        assert_eq!(request.path_and_query, "/v1/messages");
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(
            body["model"], ALLOWED,
            "a forbidden model reached the upstream"
        );
    }

    // The budget held: spent no more than $0.05 plus one request.
    assert_eq!(report["last"][0], 402, "{}", report["last"]);
    let (local, max_request, _) = dev.local();
    assert!(report["spent_ok"].as_i64().unwrap() > 0);
    assert!(
        local <= 50_000_000 + max_request,
        "spent {local} nanos on a $0.05 budget (one request: {max_request})"
    );
    assert_eq!(world.spent("team", "acme/backend").await, local);

    // No secret of gw's: not the admin token, the gw key or a provider key.
    let found: Vec<&str> = report["found"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for secret in [admin_token, dev.key.as_str(), openai_key, "sk-ant-test"] {
        assert!(
            !found
                .iter()
                .any(|f| secret.contains(f) || f.contains(secret)),
            "the agent found {secret:?}: {found:?}"
        );
    }
}

/// A model gw's table does not price is refused under the team budget, naming the model and
/// the fix; once an admin prices it for the org, new sessions charge by that price (over a
/// developer's own lower `[prices]` entry) and the budget stops them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_org_price_makes_an_unpriced_model_count_against_the_team_budget() {
    const MODEL: &str = "claude-opus-4-1";
    let mock = Mock::start().await;
    let world = World::new("1.00").await;
    let dev = world
        .developer("opus", "[server]\nlease_usd = 0.2\n", None)
        .await;
    let url = world.srv.url();
    let model = [("BUDGET_MODEL", MODEL)];

    let out = finish(dev.run_agent(&mock, &url, &model), Duration::from_secs(60)).await;
    let report = dev.report();
    assert_eq!(report["status"], 403, "{report} {}", text(&out.stderr));
    let body = report["body"].as_str().unwrap();
    assert!(
        body.contains(MODEL) && body.contains("gw admin price set"),
        "names the model and the fix: {body}"
    );
    assert!(mock.seen().is_empty(), "nothing reached the upstream");

    // The admin prices it for the org (USD per million tokens).
    let set = Command::new(GW)
        .env_clear()
        .env("GW_ADMIN_TOKEN", &world.token)
        .args(["admin", "price", "set", MODEL, "--org", "acme"])
        .args(["--input", "15", "--output", "75"])
        .args(["--cache-read", "1.5", "--cache-write-5m", "18.75"])
        .args(["--server", &url])
        .output()
        .unwrap();
    assert!(set.status.success(), "{}", text(&set.stderr));
    assert!(text(&set.stdout).contains(MODEL), "{}", text(&set.stdout));
    let list = Command::new(GW)
        .env_clear()
        .env("GW_ADMIN_TOKEN", &world.token)
        .args([
            "admin", "price", "list", "--org", "acme", "--json", "--server", &url,
        ])
        .output()
        .unwrap();
    let listed: Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(listed["prices"][0]["price"]["output"], 75.0, "{listed}");

    // The developer's own cheaper entry does not undercut the org's price.
    std::fs::write(
        dev.dir.path().join("config.toml"),
        format!("[server]\nlease_usd = 0.2\n\n[prices.\"{MODEL}\"]\ninput = 0.01\noutput = 0.01\n"),
    )
    .unwrap();
    let out = finish(dev.run_agent(&mock, &url, &model), Duration::from_secs(120)).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = dev.report();
    assert_eq!(report["status"], 402, "stopped by the budget: {report}");
    assert!(report["body"].as_str().unwrap().contains("acme/backend"));
    assert!(report["ok"].as_i64().unwrap() >= 3, "{report}");

    // The mock's usage: 1200 input, 50000 cache read, 3000 5-minute cache write, 85 output.
    let per_request = 1200 * 15_000 + 50_000 * 1_500 + 3000 * 18_750 + 85 * 75_000;
    let rows = dev.ledger().recent(1000).unwrap();
    let served: Vec<&Row> = rows.iter().filter(|r| r.status == 200).collect();
    assert_eq!(served.len() as i64, report["ok"].as_i64().unwrap());
    for row in &served {
        assert_eq!(row.model.as_deref(), Some(MODEL));
        assert_eq!(
            row.cost_nanos,
            Some(per_request),
            "charged at the org's price"
        );
    }
    let (local, _, pending) = dev.local();
    assert_eq!(pending, 0, "every row synced at exit");
    assert_eq!(local, per_request * served.len() as i64);
    assert_eq!(world.spent("team", "acme/backend").await, local);
    assert!(
        local <= 1_000_000_000 + per_request,
        "the budget held: {local}"
    );
}

/// `gw import --sync`: rows read from an agent's own log reach the server only when asked,
/// flagged as imported (a report `by=source` tells them apart), charge no budget, and go once,
/// with those imported before the flag was given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_rows_sync_only_when_asked_flagged_and_charging_no_budget() {
    let mock = Mock::start().await;
    let world = World::new("2.50").await;
    let dev = world.developer("imp", "", None).await;
    let url = world.srv.url();
    let claude = dev.dir.path().join("claude");
    let gw = |args: &[&str]| {
        let mut cmd = dev.gw(&mock, &url);
        cmd.env("CLAUDE_CONFIG_DIR", &claude).args(args);
        cmd.output().unwrap()
    };
    let now = jiff::Timestamp::now();
    let line = |msg: &str, at: jiff::Timestamp| {
        format!(
            r#"{{"message":{{"id":"{msg}","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":"end_turn","usage":{{"input_tokens":1000,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":500}}}},"requestId":"req_{msg}","type":"assistant","timestamp":"{at}","cwd":"/tmp","sessionId":"imp-1","version":"2.1.197"}}
"#
        )
    };
    let log = claude.join("projects/-tmp/imp-1.jsonl");
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    std::fs::write(
        &log,
        line("msg_i1", now - jiff::SignedDuration::from_mins(30)),
    )
    .unwrap();

    // Imported without --sync: kept on this machine.
    let out = gw(&["import", "claude"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let sync = gw(&["sync"]);
    assert!(
        text(&sync.stderr).contains("nothing to sync"),
        "{}",
        text(&sync.stderr)
    );

    // A metered session spends from the team budget.
    let run = gw(&["run", "--", "python3", AGENT]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let budget = || {
        let out = gw(&["budget", "--json"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["budgets"][0]["spent_nanos"].as_i64().unwrap()
    };
    let spent = budget();
    assert!(spent > 0);

    // A second call appended; --sync sends it and the one imported before, flagged.
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    use std::io::Write as _;
    f.write_all(line("msg_i2", now - jiff::SignedDuration::from_mins(10)).as_bytes())
        .unwrap();
    let out = gw(&["import", "claude", "--sync"]);
    let said = text(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("added 1 call"), "{said}");
    assert!(said.contains("1 call(s) imported before"), "{said}");
    assert!(said.contains("synced 2 request(s)"), "{said}");
    let report = world
        .admin
        .call(Method::GET, "/v1/reports/spend?period=all&by=source", None)
        .await
        .unwrap();
    let by_source = |source: &str| {
        report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"]["source"] == source)
            .map(|r| {
                (
                    r["requests"].as_i64().unwrap(),
                    r["cost_nanos"].as_i64().unwrap(),
                )
            })
    };
    let (imported, imported_cost) = by_source("import").expect("imported rows reported");
    assert_eq!(imported, 2, "{report}");
    // Sonnet 4.5: 1,000 in at $3/M and 500 out at $15/M, twice.
    assert_eq!(imported_cost, 2 * 10_500_000, "{report}");
    assert!(by_source("proxy").is_some_and(|(n, _)| n > 0), "{report}");
    assert_eq!(budget(), spent, "imported usage charges no budget");

    // Again: nothing new, nothing sent twice.
    let out = gw(&["import", "claude", "--sync"]);
    let said = text(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("nothing to sync"), "{said}");
    let again = world
        .admin
        .call(Method::GET, "/v1/reports/spend?period=all&by=source", None)
        .await
        .unwrap();
    assert_eq!(again["totals"], report["totals"]);
    // --sync and --dry-run contradict each other.
    let out = gw(&["import", "claude", "--sync", "--dry-run"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}
