//! Team mode over HTTPS as a new user sets it up, with the real binary: `gw server
//! --tls-self-signed`, restarted; `gw admin` with the server's CA; `gw login --ca-cert` (or
//! `--fingerprint`); then `gw budget` and a metered `gw run` in an environment without any TLS
//! variable. And the refusals: each certificate problem named, with its fix.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::Mock;
use gw::server::client::{Client, ClientError};
use gw::server::trust::{Fingerprint, Trust};
use gw::server::{self, ServeOptions};
use http::Method;
use serde_json::Value;

const GW: &str = env!("CARGO_BIN_EXE_gw");
const AGENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/budget_agent.py");

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// A command with nothing of the test's environment but PATH: no `GW_*` variable at all.
fn clean(home: &Path) -> Command {
    let mut cmd = Command::new(GW);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("USER", "tester")
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .current_dir(home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// `gw server --tls-self-signed` as its admin runs it, and the lines it printed at start.
struct ServerProcess {
    child: Child,
    lines: Vec<String>,
}

impl ServerProcess {
    fn start(home: &Path, listen: &str) -> ServerProcess {
        let mut child = clean(home)
            .args(["server", "--tls-self-signed", "--listen", listen])
            .spawn()
            .unwrap();
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut lines = Vec::new();
        loop {
            match rx.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => {
                    let up = line.contains("listening on");
                    lines.push(line);
                    if up {
                        break;
                    }
                }
                Err(e) => panic!("gw server did not start ({e}): {lines:#?}"),
            }
        }
        ServerProcess { child, lines }
    }

    /// The fingerprint the server printed at start.
    fn fingerprint(&self) -> String {
        let line = self
            .lines
            .iter()
            .find(|l| l.contains("fingerprint"))
            .unwrap_or_else(|| panic!("no fingerprint in {:#?}", self.lines));
        let fp = line
            .split_whitespace()
            .find(|w| w.len() == 95 && w.matches(':').count() == 31)
            .unwrap_or_else(|| panic!("no fingerprint in `{line}`"));
        Fingerprint::parse(fp).unwrap().to_string()
    }

    fn said(&self, what: &str) -> bool {
        self.lines.iter().any(|l| l.contains(what))
    }

    fn stop(mut self) {
        // SAFETY: SIGINT to a child we started; it stops gracefully on Ctrl-C.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGINT);
        }
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_signed_server_keeps_its_certificate_and_a_login_keeps_its_ca() {
    let mock = Mock::start().await;
    let admin_home = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let dev_home = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let url = format!("https://{listen}");

    // The admin: init, start, restart. The certificate survives the restart.
    let token = ok(clean(admin_home.path())
        .args(["server", "init"])
        .output()
        .unwrap());
    let token = token.trim().to_string();
    let first = ServerProcess::start(admin_home.path(), &listen);
    assert!(first.said("made a CA"), "{:#?}", first.lines);
    let fingerprint = first.fingerprint();
    first.stop();
    let second = ServerProcess::start(admin_home.path(), &listen);
    assert_eq!(second.fingerprint(), fingerprint, "{:#?}", second.lines);
    assert!(
        !second.said("made a"),
        "nothing made again: {:#?}",
        second.lines
    );
    let data_dir = admin_home.path().join(".local/share/gw");
    let ca = data_dir.join("tls/ca.pem");
    assert!(ca.exists(), "{:#?}", second.lines);

    // `gw admin` with the CA: org, team, developer, key, budget.
    let admin = |args: &[&str]| {
        let mut cmd = clean(admin_home.path());
        cmd.env("GW_ADMIN_TOKEN", &token)
            .args(["admin", "--server", &url, "--ca-cert"])
            .arg(&ca)
            .args(args);
        cmd.output().unwrap()
    };
    ok(admin(&["org", "create", "acme"]));
    ok(admin(&["team", "create", "backend", "--org", "acme"]));
    ok(admin(&[
        "user",
        "create",
        "dev@acme.test",
        "--org",
        "acme",
        "--team",
        "backend",
    ]));
    ok(admin(&[
        "budget",
        "create",
        "--scope",
        "team",
        "--name",
        "acme/backend",
        "--limit",
        "2.50",
        "--period",
        "total",
    ]));
    let key: Value = serde_json::from_str(&ok(admin(&[
        "--json",
        "key",
        "create",
        "--user",
        "dev@acme.test",
    ])))
    .unwrap();
    let key = key["key"].as_str().unwrap().to_string();

    // The developer got the CA by hand; the copy they were given goes away after the login.
    let given = dev_home.path().join("from-admin.pem");
    std::fs::copy(&ca, &given).unwrap();
    let dev = |args: &[&str]| {
        let mut cmd = clean(dev_home.path());
        cmd.env("GW_ANTHROPIC_UPSTREAM", mock.url())
            .env("ANTHROPIC_API_KEY", "sk-ant-test")
            .env("FAKE_OUT", dev_home.path().join("out.json"))
            .args(args);
        cmd.output().unwrap()
    };

    // Without the CA: refused, with the cause and the fingerprint to compare.
    let untrusted = dev(&["login", &url, "--key", &key]);
    assert_eq!(untrusted.status.code(), Some(1));
    let said = text(&untrusted.stderr);
    assert!(said.contains("no CA trusted here has signed"), "{said}");
    assert!(
        said.contains(&fingerprint),
        "the fingerprint to compare: {said}"
    );
    assert!(
        said.contains("--ca-cert") && said.contains("--fingerprint"),
        "{said}"
    );
    assert!(!said.contains("is `gw server` running"), "{said}");

    let login = dev(&[
        "login",
        &url,
        "--key",
        &key,
        "--ca-cert",
        given.to_str().unwrap(),
    ]);
    let said = text(&login.stderr);
    assert!(login.status.success(), "{said}");
    std::fs::remove_file(&given).unwrap();
    let kept = dev_home.path().join(".config/gw/server-ca.pem");
    assert_eq!(std::fs::read(&kept).unwrap(), std::fs::read(&ca).unwrap());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&kept).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    // A login that fails leaves the kept CA as it was; trust flags on plain HTTP are refused.
    let stranger = dev_home.path().join("stranger.pem");
    let other = server::tls::self_signed(
        &dev_home.path().join("other-ca"),
        &["localhost".to_string()],
        jiff::Timestamp::now(),
    )
    .unwrap();
    std::fs::copy(&other.ca_path, &stranger).unwrap();
    let failed = dev(&[
        "login",
        &url,
        "--key",
        &key,
        "--ca-cert",
        stranger.to_str().unwrap(),
    ]);
    assert_eq!(failed.status.code(), Some(1));
    assert_eq!(std::fs::read(&kept).unwrap(), std::fs::read(&ca).unwrap());
    let plain = url.replace("https://", "http://");
    let clear = dev(&[
        "login",
        &plain,
        "--key",
        &key,
        "--fingerprint",
        &fingerprint,
    ]);
    assert!(
        text(&clear.stderr).contains("plain HTTP"),
        "{}",
        text(&clear.stderr)
    );

    // The server restarts again; every team command goes on trusting it.
    second.stop();
    let third = ServerProcess::start(admin_home.path(), &listen);
    assert_eq!(third.fingerprint(), fingerprint);

    let budget = dev(&["budget", "--json"]);
    let budgets: Value = serde_json::from_str(&ok(budget)).unwrap();
    assert_eq!(budgets["budgets"][0]["limit_nanos"], 2_500_000_000i64);

    let run = dev(&["run", "--", "python3", AGENT]);
    let said = text(&run.stderr);
    assert!(run.status.success(), "{said}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dev_home.path().join("out.json")).unwrap())
            .unwrap();
    let requests = report["ok"].as_i64().unwrap();
    assert!(requests > 0, "{report}");
    assert_eq!(mock.seen().len() as i64, requests);

    // The server counted what the session metered.
    let budget = dev(&["budget", "--json"]);
    let budgets: Value = serde_json::from_str(&ok(budget)).unwrap();
    let spent = budgets["budgets"][0]["spent_nanos"].as_i64().unwrap();
    assert!(spent > 0, "{budgets}");
    let local = ok(dev(&["spend", "--today", "--json"]));
    let local: Value = serde_json::from_str(&local).unwrap();
    // Every request the agent sent is a row: those answered, and the one refused (402) when
    // the team budget ran out, if it did.
    let refused = i64::from(report["status"] != 200);
    assert_eq!(
        local["totals"]["requests"].as_i64(),
        Some(requests + refused),
        "{report} {local}"
    );
    assert_eq!(
        local["totals"]["cost_nanos"].as_i64(),
        Some(spent),
        "{local}"
    );

    // `gw admin` on the developer's machine uses the login's CA for the same server.
    let mut cmd = clean(dev_home.path());
    let listed = cmd
        .env("GW_ADMIN_TOKEN", &token)
        .args(["admin", "--server", &url, "org", "list"])
        .output()
        .unwrap();
    assert!(ok(listed).contains("acme"));

    // Logout removes the kept CA.
    ok(dev(&["logout"]));
    assert!(!kept.exists());

    // A pin alone is enough; a wrong pin is refused as a changed certificate.
    let pinned = dev(&["login", &url, "--key", &key, "--fingerprint", &fingerprint]);
    assert!(pinned.status.success(), "{}", text(&pinned.stderr));
    ok(dev(&["budget"]));
    let wrong = Fingerprint::of(b"another server").to_string();
    let mismatch = dev(&["login", &url, "--key", &key, "--fingerprint", &wrong]);
    assert_eq!(mismatch.status.code(), Some(1));
    let said = text(&mismatch.stderr);
    assert!(said.contains("the server's certificate changed"), "{said}");
    assert!(
        said.contains(&fingerprint) && said.contains(&wrong),
        "{said}"
    );
    // With a CA as well, both must hold: the right CA and a wrong pin is refused.
    let both = dev(&[
        "login",
        &url,
        "--key",
        &key,
        "--ca-cert",
        ca.to_str().unwrap(),
        "--fingerprint",
        &wrong,
    ]);
    assert!(
        text(&both.stderr).contains("certificate changed"),
        "{}",
        text(&both.stderr)
    );
    let garbled = dev(&["login", &url, "--key", &key, "--fingerprint", "AB:CD"]);
    assert!(text(&garbled.stderr).contains("not a SHA-256 fingerprint"));

    third.stop();
}

/// An in-process HTTPS server with the given chain and key; its address.
async fn https_server(tls: std::sync::Arc<rustls::ServerConfig>) -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("server.db").display());
    let store = server::open_store(&url).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let options = ServeOptions {
        tls: Some(tls),
        ..ServeOptions::default()
    };
    tokio::spawn(server::serve(
        listener,
        store,
        options,
        std::future::pending(),
    ));
    (format!("https://{addr}"), dir)
}

async fn refusal(url: &str, trust: Trust) -> String {
    let client = Client::new(url, None, &trust).unwrap();
    match client.call(Method::GET, "/healthz", None).await {
        Err(ClientError::Certificate(message)) => message,
        other => panic!("expected a certificate refusal, got {other:?}"),
    }
}

fn pem_files(dir: &Path, cert: &str, key: &str) -> (PathBuf, PathBuf) {
    let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&c, cert).unwrap();
    std::fs::write(&k, key).unwrap();
    (c, k)
}

#[tokio::test]
async fn each_certificate_problem_is_named_with_its_fix() {
    let dir = tempfile::tempdir().unwrap();

    // Issued for other names than the one dialled.
    let own = server::tls::self_signed(
        &dir.path().join("named"),
        &["gw.internal".to_string(), "localhost".to_string()],
        jiff::Timestamp::now(),
    )
    .unwrap();
    let (own_url, _db) = https_server(own.tls.config.clone()).await;
    let url = own_url.clone();
    let said = refusal(
        &url,
        Trust {
            ca: Some(own.ca_path.clone()),
            pin: None,
        },
    )
    .await;
    assert!(
        said.contains("not issued for `127.0.0.1`") && said.contains("gw.internal"),
        "{said}"
    );
    assert!(said.contains("--tls-name 127.0.0.1"), "{said}");
    // A pin alone does not look at names, as SSH does not.
    let client = Client::new(
        &url,
        None,
        &Trust {
            ca: None,
            pin: Some(own.tls.fingerprint),
        },
    )
    .unwrap();
    client.call(Method::GET, "/healthz", None).await.unwrap();

    // Expired.
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    let cert = params.self_signed(&key).unwrap();
    let (c, k) = pem_files(dir.path(), &cert.pem(), &key.serialize_pem());
    let tls = server::tls::from_files(&c, &k).unwrap();
    let (url, _db2) = https_server(tls.config).await;
    let said = refusal(
        &url,
        Trust {
            ca: Some(c.clone()),
            pin: None,
        },
    )
    .await;
    assert!(
        said.contains("expired certificate") && said.contains("renew"),
        "{said}"
    );

    // Not signed by the CA given (gw's own CA, dialled by a name it carries): the fingerprint
    // to compare is the one presented.
    let own_url = own_url.replace("127.0.0.1", "localhost");
    let said = refusal(
        &own_url,
        Trust {
            ca: Some(c.clone()),
            pin: None,
        },
    )
    .await;
    assert!(said.contains("no CA trusted here has signed"), "{said}");
    assert!(said.contains(&own.tls.fingerprint.to_string()), "{said}");

    // A pin that is not the certificate's.
    let said = refusal(
        &url,
        Trust {
            ca: None,
            pin: Some(own.tls.fingerprint),
        },
    )
    .await;
    assert!(said.contains("certificate changed"), "{said}");
}
