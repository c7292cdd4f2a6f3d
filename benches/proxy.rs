//! Proxy overhead and parser speed, against the same in-process mock the tests use.
//!
//! `cargo bench --bench proxy` prints:
//! - non-streaming request latency p50/p99 at a fixed rate, direct to the mock, through gw and
//!   through a bare hyper forwarder (the cost of the extra hop alone), and the differences;
//! - the time from the mock releasing one SSE frame to the client holding it, direct and through
//!   gw (shows frames are forwarded at once, not held for the next one);
//! - SSE parser (ResponseTap) throughput on Anthropic and OpenAI Responses streams;
//! - with nginx and wrk installed (`apt-get install nginx-light wrk`), the reference: wrk's
//!   p50/p99 and requests/s against an nginx fixed-answer upstream, direct, through nginx as a
//!   plain reverse proxy (keepalive upstream, one worker), through gw and through a bare hyper
//!   forwarder, at 1 and 10 connections and with 500 KB bodies, interleaved rounds, medians
//!   reported, with each proxy's CPU per request. `GW_BENCH_WRK=0` skips it;
//!   `GW_BENCH_WRK_SECS` / `GW_BENCH_WRK_ROUNDS` set its length (5 s × 3);
//!   `GW_BENCH_WRK_PROFILE=<connections>` runs gw alone (for `perf record -t` on the thread id
//!   it prints; with `GW_BENCH_WRK_PROFILE_SPIN=1`, beside a busy loop at idle priority). It
//!   checks the ledger holds a row for every request wrk saw answered, and says how long the
//!   writer's backlog took to commit after a run;
//! - how long a row waits to be committed (the ledger writer runs at idle priority), on a quiet
//!   machine and with every core kept busy at normal priority.
//!
//! `GW_BENCH_CALLGRIND=<n>` instead sends n requests through gw one at a time and exits, for
//! `valgrind --tool=callgrind --separate-threads=yes`: instructions per thread are the same
//! whatever else the machine does, where this VM's noise (±10–20% of CPU per request between
//! runs) hides a change of a few microseconds. Run it with two values of n and divide the
//! difference by theirs for the instructions one request costs gw's proxy thread and writer.

#[path = "../tests/common/mod.rs"]
mod common;

// The allocator the gw binary runs with (src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::Mock;
use gw::ledger::{Attribution, LedgerWriter};
use gw::meter::{Protocol, ResponseTap};
use gw::pricing::PriceTable;
use gw::proxy::{self, ProxyState, Recorder};
use http_body_util::{BodyExt, Full};

const REQUESTS: usize = 3000;
const RATE_PER_SEC: u64 = 500;
const FRAMES: usize = 400;
const WARM_UP: usize = 50;

fn main() {
    let quick = std::env::args().any(|a| a == "--test"); // `cargo test --benches` smoke run

    // As in use, the client, gw and the upstream each get a thread and runtime of their own: the
    // agent and the provider are other processes, and gw runs its proxy on one thread.
    let mock = spawn_mock();
    let dir = tempfile::tempdir().unwrap();
    let writer = LedgerWriter::start(&dir.path().join("ledger.db")).unwrap();
    let upstreams = common::upstreams_at(&mock.url());
    let recorder = Recorder::new(
        writer.handle(),
        PriceTable::embedded().clone(),
        Attribution {
            session_id: "bench".into(),
            ..Default::default()
        },
    );
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    if let Ok(n) = std::env::var("GW_BENCH_CALLGRIND") {
        let n: usize = n.parse().expect("GW_BENCH_CALLGRIND: a number of requests");
        let recorder = Recorder::new(
            writer.handle(),
            PriceTable::embedded().clone(),
            claude_attribution("bench-callgrind"),
        );
        // `GW_BENCH_CALLGRIND_TARGET=hyper` sends them through the bare hyper forwarder instead:
        // gw's own instructions a request are the difference.
        let url = if via_hyper("GW_BENCH_CALLGRIND_TARGET") {
            let addr = spawn_bare_forwarder("bare-proxy-cg", mock.addr);
            format!("http://{addr}/v1/messages")
        } else {
            let addr = spawn_proxy_named("gw-proxy-cg", ProxyState::new(upstreams, recorder));
            format!("http://{addr}/anthropic/v1/messages")
        };
        client_rt.block_on(async {
            let client = common::client();
            let body = Bytes::from_static(
                br#"{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}"#,
            );
            for _ in 0..n {
                let request = http::Request::post(&url)
                    .body(Full::new(body.clone()))
                    .unwrap();
                let response = client.request(request).await.unwrap();
                assert_eq!(response.status(), 200);
                response.into_body().collect().await.unwrap();
            }
            writer.handle().flush().await.unwrap();
        });
        println!("callgrind: {n} requests to {url}");
        return;
    }
    let proxy_addr = spawn_proxy(ProxyState::new(upstreams, recorder));
    let bare_addr = spawn_bare_forwarder("bare-proxy", mock.addr);
    let raw_addr = spawn_byte_forwarder(mock.addr);
    let only_wrk = flag("GW_BENCH_ONLY_WRK");
    client_rt.block_on(async {
        if only_wrk {
            return;
        }
        let direct = format!("{}/v1/messages", mock.url());
        let via = format!("http://{proxy_addr}/anthropic/v1/messages");
        let n = if quick { 20 } else { REQUESTS };

        let bare = format!("http://{bare_addr}/v1/messages");
        let raw = format!("http://{raw_addr}/v1/messages");
        println!(
            "non-streaming POST /v1/messages, {n} requests each at {RATE_PER_SEC}/s, keep-alive, \
             one at a time, direct / via gw / via bare hyper / via a byte copier interleaved"
        );
        let before = [
            ThreadStat::read("gw-proxy"),
            ThreadStat::read("bare-proxy"),
            ThreadStat::read("mock"),
        ];
        let [d, p, b, r] = latencies([&direct, &via, &bare, &raw], n).await;
        let [gw_cpu, bare_cpu, mock_cpu] = [
            ThreadStat::read("gw-proxy").since(&before[0]),
            ThreadStat::read("bare-proxy").since(&before[1]),
            ThreadStat::read("mock").since(&before[2]),
        ];
        report("direct", &d);
        report("via gw", &p);
        report("bare hyper", &b);
        report("byte copier", &r);
        println!(
            "  added        p50 {:>7.1} µs   p99 {:>7.1} µs   (gw over direct)",
            pct(&p, 50.0) - pct(&d, 50.0),
            pct(&p, 99.0) - pct(&d, 99.0)
        );
        println!(
            "  gw's own     p50 {:>7.1} µs   p99 {:>7.1} µs   (gw over a bare hyper forwarder)",
            pct(&p, 50.0) - pct(&b, 50.0),
            pct(&p, 99.0) - pct(&b, 99.0)
        );
        println!(
            "  the hop      p50 {:>7.1} µs   p99 {:>7.1} µs   (a byte copier over direct: no proxy does less)",
            pct(&r, 50.0) - pct(&d, 50.0),
            pct(&r, 99.0) - pct(&d, 99.0)
        );
        let per = (n + WARM_UP) as f64;
        if gw_cpu.slices > 0 {
            println!(
                "  CPU per request: gw thread {:.1} µs, bare hyper thread {:.1} µs, mock {:.1} µs; \
                 times scheduled: gw {:.2}, bare {:.2}",
                gw_cpu.cpu_ns as f64 / per / 1e3,
                bare_cpu.cpu_ns as f64 / per / 1e3,
                mock_cpu.cpu_ns as f64 / per / 4e3,
                gw_cpu.slices as f64 / per,
                bare_cpu.slices as f64 / per,
            );
        }

        let frames = if quick { 5 } else { FRAMES };
        println!("SSE frame release → client receipt, {frames} frames");
        let d = frame_latencies(&mock, &direct, frames).await;
        let p = frame_latencies(&mock, &via, frames).await;
        report("direct", &d);
        report("via gw", &p);
        println!(
            "  added        p50 {:>7.1} µs   p99 {:>7.1} µs",
            pct(&p, 50.0) - pct(&d, 50.0),
            pct(&p, 99.0) - pct(&d, 99.0)
        );
    });

    if !quick && std::env::var("GW_BENCH_WRK").as_deref() != Ok("0") {
        nginx_reference(&writer, &dir.path().join("ledger.db"));
        busy_cores_commit(&writer);
    }

    println!("SSE parser throughput (ResponseTap, frames of 16 KiB)");
    for (name, fixture, protocol) in [
        (
            "anthropic messages",
            "anthropic_messages_stream.sse",
            Protocol::AnthropicMessages,
        ),
        (
            "openai responses",
            "openai_responses_stream.sse",
            Protocol::OpenAiResponses,
        ),
        (
            "openai chat",
            "openai_chat_stream.sse",
            Protocol::OpenAiChat,
        ),
        ("gemini", "gemini_stream.sse", Protocol::Gemini),
    ] {
        let one = common::fixture(fixture);
        let target = if quick { 1 << 20 } else { 64 << 20 };
        let mut body = Vec::with_capacity(target + one.len());
        while body.len() < target {
            body.extend_from_slice(&one);
        }
        let start = Instant::now();
        let mut tap = ResponseTap::new(protocol, Some("text/event-stream"), None);
        for chunk in body.chunks(16 * 1024) {
            tap.feed(chunk);
        }
        let extracted = tap.finish();
        let secs = start.elapsed().as_secs_f64();
        assert!(extracted.saw_usage);
        println!(
            "  {name:<20} {:>8.0} MiB/s",
            body.len() as f64 / (1 << 20) as f64 / secs
        );
    }
}

/// Attributed as `gw run claude` attributes a row (each field is copied into every row, and the
/// agent and response id make the writer look for an imported twin).
fn claude_attribution(session: &str) -> Attribution {
    Attribution {
        session_id: session.into(),
        agent: Some("claude".into()),
        agent_version: Some("2.1.197".into()),
        developer: Some("dev@example.com".into()),
        project: Some("github.com/example/app".into()),
        branch: Some("feature/metering".into()),
        cwd: Some("/home/dev/src/app".into()),
        host: Some("devbox".into()),
        ..Default::default()
    }
}

/// gw's proxy on a thread and runtime of its own, as `gw run` runs it.
fn spawn_proxy(state: ProxyState) -> std::net::SocketAddr {
    spawn_proxy_named("gw-proxy", state)
}

fn spawn_proxy_named(name: &str, state: ProxyState) -> std::net::SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    named_thread(name, move || {
        let rt = gw::proxy::runtime().unwrap();
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let proxy = proxy::serve(listener, state);
            tx.send(proxy.local_addr()).unwrap();
            std::future::pending::<()>().await
        });
    });
    rx.recv().unwrap()
}

/// A baseline: the same hyper server and client forwarding with no metering, no ledger, no
/// routing, so the figures show what gw's own work adds over the hop itself.
fn spawn_bare_forwarder(name: &str, upstream: std::net::SocketAddr) -> std::net::SocketAddr {
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let (tx, rx) = std::sync::mpsc::channel();
    named_thread(name, move || {
        let rt = gw::proxy::runtime().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let client: Client<_, hyper::body::Incoming> =
                Client::builder(TokioExecutor::new()).build_http();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                stream.set_nodelay(true).unwrap();
                let client = client.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(
                        move |mut req: http::Request<hyper::body::Incoming>| {
                            let client = client.clone();
                            async move {
                                let path = req
                                    .uri()
                                    .path_and_query()
                                    .map(|p| p.as_str().to_string())
                                    .unwrap_or_default();
                                *req.uri_mut() =
                                    format!("http://{upstream}{path}").parse().unwrap();
                                client.request(req).await
                            }
                        },
                    );
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    rx.recv().unwrap()
}

fn named_thread(name: &str, f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .unwrap();
}

/// The floor: a forwarder that parses nothing and copies bytes both ways between the client's
/// connection and one of its own to the upstream, on a runtime like gw's.
fn spawn_byte_forwarder(upstream: std::net::SocketAddr) -> std::net::SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    named_thread("byte-copier", move || {
        let rt = gw::proxy::runtime().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            loop {
                let (mut client, _) = listener.accept().await.unwrap();
                client.set_nodelay(true).unwrap();
                tokio::spawn(async move {
                    let mut server = tokio::net::TcpStream::connect(upstream).await.unwrap();
                    server.set_nodelay(true).unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                });
            }
        });
    });
    rx.recv().unwrap()
}

/// The mock upstream on a thread and runtime of its own.
fn spawn_mock() -> Mock {
    let (tx, rx) = std::sync::mpsc::channel();
    named_thread("mock", move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            tx.send(Mock::start().await).unwrap();
            std::future::pending::<()>().await
        });
    });
    rx.recv().unwrap()
}

/// Latencies to each URL, requests to all of them interleaved (rotating which goes first) so a
/// noisy spell on the machine falls on all alike. One keep-alive client per URL.
async fn latencies<const K: usize>(urls: [&str; K], n: usize) -> [Vec<f64>; K] {
    let clients: Vec<_> = urls.iter().map(|_| common::client()).collect();
    let body = Bytes::from_static(br#"{"model":"claude-sonnet-4-5","max_tokens":10}"#);
    let interval = Duration::from_micros(1_000_000 / RATE_PER_SEC);
    let mut ticker = tokio::time::interval(interval);
    let mut out: [Vec<f64>; K] = std::array::from_fn(|_| Vec::with_capacity(n));
    for i in 0..n + WARM_UP {
        for k in 0..K {
            let which = (i + k) % K;
            ticker.tick().await;
            let request = http::Request::post(urls[which])
                .body(Full::new(body.clone()))
                .unwrap();
            let start = Instant::now();
            let response = clients[which].request(request).await.unwrap();
            response.into_body().collect().await.unwrap();
            if i >= WARM_UP {
                out[which].push(start.elapsed().as_secs_f64() * 1e6);
            }
        }
    }
    out
}

/// The mock's `step` mode sends each event only when released: time release → receipt.
async fn frame_latencies(mock: &Mock, url: &str, frames: usize) -> Vec<f64> {
    let client = common::client();
    let mut out = Vec::new();
    while out.len() < frames {
        let request = http::Request::post(url)
            .header("x-mock", "step")
            .body(Full::new(Bytes::from_static(br#"{"stream":true}"#)))
            .unwrap();
        mock.release.notify_one();
        let response = client.request(request).await.unwrap();
        let mut body = response.into_body();
        body.frame().await.unwrap().unwrap();
        loop {
            let start = Instant::now();
            mock.release.notify_one();
            match body.frame().await {
                Some(Ok(_)) => out.push(start.elapsed().as_secs_f64() * 1e6),
                _ => break,
            }
        }
    }
    out.truncate(frames);
    out
}

/// A thread's scheduler figures (`/proc/self/task/<tid>/schedstat`): time on CPU and how many
/// times it was scheduled in. Zero where the file does not exist (not Linux).
#[derive(Default, Clone)]
struct ThreadStat {
    cpu_ns: u64,
    /// Time runnable but waiting for a CPU.
    wait_ns: u64,
    slices: u64,
}

impl ThreadStat {
    fn read(name: &str) -> ThreadStat {
        task_dir(name).map_or_else(ThreadStat::default, |dir| ThreadStat::at(&dir))
    }

    /// Another process's (one thread: nginx's single worker).
    fn of_process(pid: u32) -> ThreadStat {
        ThreadStat::at(std::path::Path::new(&format!("/proc/{pid}")))
    }

    fn at(dir: &std::path::Path) -> ThreadStat {
        let stat = std::fs::read_to_string(dir.join("schedstat")).unwrap_or_default();
        let fields: Vec<u64> = stat
            .split_whitespace()
            .filter_map(|f| f.parse().ok())
            .collect();
        match fields[..] {
            [cpu_ns, wait_ns, slices] => ThreadStat {
                cpu_ns,
                wait_ns,
                slices,
            },
            _ => ThreadStat::default(),
        }
    }

    fn add(&mut self, later: &ThreadStat, earlier: &ThreadStat) {
        let d = later.since(earlier);
        self.cpu_ns += d.cpu_ns;
        self.wait_ns += d.wait_ns;
        self.slices += d.slices;
    }

    fn since(&self, earlier: &ThreadStat) -> ThreadStat {
        ThreadStat {
            cpu_ns: self.cpu_ns.saturating_sub(earlier.cpu_ns),
            wait_ns: self.wait_ns.saturating_sub(earlier.wait_ns),
            slices: self.slices.saturating_sub(earlier.slices),
        }
    }
}

fn pct(samples: &[f64], p: f64) -> f64 {
    let mut s = samples.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    s[((p / 100.0) * (s.len() - 1) as f64).round() as usize]
}

fn report(name: &str, samples: &[f64]) {
    println!(
        "  {name:<12} p50 {:>7.1} µs   p99 {:>7.1} µs",
        pct(samples, 50.0),
        pct(samples, 99.0)
    );
}

/// What wrk measured in one run.
#[derive(Clone, Copy, Default)]
struct WrkRun {
    p50_us: f64,
    p99_us: f64,
    rps: f64,
    /// Requests wrk saw answered.
    requests: u64,
}

/// The nginx reference of issue 17: one nginx (a fixed-answer upstream and a plain reverse proxy
/// with a keepalive upstream, one worker) and gw's proxy in front of the same upstream, driven by
/// wrk in interleaved rounds.
fn nginx_reference(writer: &LedgerWriter, ledger: &std::path::Path) {
    let (Some(nginx), Some(wrk)) = (which("nginx"), which("wrk")) else {
        println!("nginx reference: skipped (needs nginx and wrk: apt-get install nginx-light wrk)");
        return;
    };
    let secs: u64 = std::env::var("GW_BENCH_WRK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let rounds: usize = std::env::var("GW_BENCH_WRK_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let dir = tempfile::tempdir().unwrap();
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (upstream_port, proxy_port) = (free(), free());
    let answer = String::from_utf8(common::fixture("anthropic_messages.json"))
        .unwrap()
        .replace('\n', "")
        .replace('\'', "\\'");
    // Two nginx instances, one worker each: the upstream, and the reverse proxy in front of it.
    // One worker serving both would spare nginx the cross-process hop gw pays (and on two
    // cores, a runnable thread fewer than gw's setup has). Without a master process each is one
    // process: the bench reads its CPU time, and killing it leaves no orphaned worker.
    let conf = |name: &str, server: String| {
        let sub = dir.path().join(name);
        std::fs::create_dir_all(&sub).unwrap();
        let text = format!(
            "master_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
               client_max_body_size 2m;\n  client_body_buffer_size 1m;\n  {server}\n}}\n",
            d = sub.display()
        );
        std::fs::write(sub.join("nginx.conf"), text).unwrap();
        sub
    };
    let upstream_dir = conf(
        "upstream",
        format!("server {{ listen 127.0.0.1:{upstream_port}; location / {{ default_type application/json; return 200 '{answer}'; }} }}"),
    );
    let proxy_dir = conf(
        "proxy",
        format!(
            "upstream fixed {{ server 127.0.0.1:{upstream_port}; keepalive 64; }}\n  \
             server {{ listen 127.0.0.1:{proxy_port}; location / {{ proxy_pass http://fixed; proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_buffering off; }} }}"
        ),
    );
    let start = |sub: &std::path::Path| {
        std::process::Command::new(&nginx)
            .args(["-p"])
            .arg(sub)
            .args(["-c"])
            .arg(sub.join("nginx.conf"))
            .args(["-g", "daemon off;"])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut servers = [start(&upstream_dir), start(&proxy_dir)];
    let upstream = format!("http://127.0.0.1:{upstream_port}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", upstream_port)).is_err()
        || std::net::TcpStream::connect(("127.0.0.1", proxy_port)).is_err()
    {
        assert!(Instant::now() < deadline, "nginx did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    // gw in front of the same upstream, on a thread of its own as in `gw run`.
    let recorder = Recorder::new(
        writer.handle(),
        PriceTable::embedded().clone(),
        claude_attribution("bench-wrk"),
    );
    let gw_addr = spawn_proxy_named(
        "gw-proxy-wrk",
        ProxyState::new(common::upstreams_at(&upstream), recorder),
    );

    let hyper_addr = spawn_bare_forwarder(
        "bare-proxy-wrk",
        format!("127.0.0.1:{upstream_port}").parse().unwrap(),
    );
    let small = r#"{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}"#.to_string();
    let big = format!(
        r#"{{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{{"role":"user","content":"{}"}}]}}"#,
        "x".repeat(500_000)
    );
    // `paced`: each connection waits 1 to 3 ms (at random, so that connections do not move in
    // step) between an answer and its next request (wrk's `delay`, which its latencies leave out).
    let script = |name: &str, body: &str, paced: bool| {
        let path = dir.path().join(name);
        let pause = match paced {
            false => "",
            true => "function delay() return math.random(1, 3) end\n",
        };
        std::fs::write(
            &path,
            format!(
                "wrk.method = \"POST\"\nwrk.headers[\"content-type\"] = \"application/json\"\nwrk.body = [[{body}]]\n{pause}"
            ),
        )
        .unwrap();
        path
    };
    let small_lua = script("small.lua", &small, false);
    let big_lua = script("big.lua", &big, false);
    let paced_lua = script("paced.lua", &small, true);
    let targets = [
        ("direct", format!("{upstream}/v1/messages")),
        (
            "nginx",
            format!("http://127.0.0.1:{proxy_port}/v1/messages"),
        ),
        ("gw", format!("http://{gw_addr}/anthropic/v1/messages")),
        // hyper's server and client forwarding with nothing else (`spawn_bare_forwarder`): the
        // floor of a proxy built on hyper, which gw is.
        ("hyper", format!("http://{hyper_addr}/v1/messages")),
    ];
    // The first three as issue 17 set them: wrk as fast as the target answers, a closed loop, so
    // at ten connections p50 is about ten over the requests/s, and those are set by the proxy's
    // one thread (gw's and the bare forwarder's are busy 87–100% of such a run). The paced ones
    // are agents' pattern: clients that wait between an answer and their next request (1–3 ms:
    // some 4k requests/s from ten, a fraction of what any target here serves), so the proxies'
    // work after an answer (gw's metering and ledger commits) has idle CPU to run in, as it
    // does beside real agents, which wait seconds.
    let cases: [(&str, u32, &std::path::Path); 5] = [
        ("1 connection", 1, &small_lua),
        ("10 connections", 10, &small_lua),
        ("500 KB body, 1 conn", 1, &big_lua),
        ("1 connection, 1–3 ms between requests", 1, &paced_lua),
        ("10 connections, 1–3 ms between requests", 10, &paced_lua),
    ];
    println!(
        "nginx reference (wrk, {rounds} interleaved rounds × {secs} s, medians; upstream and reverse proxy: an nginx of one worker each, keepalive upstream)"
    );
    // Flushes the ledger writer between runs (the profile mode's and the rounds').
    let flush_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // `GW_BENCH_WRK_PROFILE=<connections>`: only gw, at that many connections, for one run of
    // `GW_BENCH_WRK_SECS`, its proxy thread's id printed first (for `perf record -t`).
    if let Ok(conns) = std::env::var("GW_BENCH_WRK_PROFILE") {
        let conns: u32 = conns
            .parse()
            .expect("GW_BENCH_WRK_PROFILE: a number of connections");
        // `GW_BENCH_WRK_PROFILE_TARGET=hyper` drives the bare hyper forwarder instead, to
        // compare its thread's syscalls and profile with gw's.
        let (target, thread) = match via_hyper("GW_BENCH_WRK_PROFILE_TARGET") {
            false => (&targets[2].1, "gw-proxy-wrk"),
            true => (&targets[3].1, "bare-proxy-wrk"),
        };
        println!("profile: {thread} thread {}", thread_id(thread));
        // The writer's share of gw's run too: what earlier phases left is committed before,
        // every row of the run before its CPU is read.
        flush_rt.block_on(writer.handle().flush()).unwrap();
        let spinner = flag("GW_BENCH_WRK_PROFILE_SPIN").then(IdleSpinner::start);
        let before = [ThreadStat::read(thread), ThreadStat::read("gw-ledger")];
        // `GW_BENCH_WRK_PROFILE_PACED=1`: each connection waits 1–3 ms between requests.
        let lua = match flag("GW_BENCH_WRK_PROFILE_PACED") {
            false => &small_lua,
            true => &paced_lua,
        };
        let run = run_wrk(&wrk, target, conns, lua, secs);
        let beside = match spinner {
            Some(spinner) => format!(" ({})", spinner.stop()),
            None => String::new(),
        };
        flush_rt.block_on(writer.handle().flush()).unwrap();
        let [proxy, ledger] = [
            ThreadStat::read(thread).since(&before[0]),
            ThreadStat::read("gw-ledger").since(&before[1]),
        ];
        // Over the requests wrk saw answered (the full bench divides by requests/s × seconds,
        // slightly fewer).
        let per = |ns: u64| ns as f64 / run.requests.max(1) as f64 / 1e3;
        // Runnable but not running: what the proxy thread lost to other threads for its CPU.
        let waited = per(proxy.wait_ns);
        let writer_cpu = match thread {
            "gw-proxy-wrk" => format!(", ledger writer {:.1} µs", per(ledger.cpu_ns)),
            _ => String::new(),
        };
        println!(
            "profile: {conns} connections: p50 {:.0} µs, p99 {:.0} µs, {:.0} req/s ({} requests); CPU a request: {thread} {:.1} µs{writer_cpu}; {thread} waiting for a CPU {waited:.1} µs a request{beside}",
            run.p50_us,
            run.p99_us,
            run.rps,
            run.requests,
            per(proxy.cpu_ns),
        );
        for server in &mut servers {
            let _ = server.kill();
            let _ = server.wait();
        }
        return;
    }
    let mut results = vec![vec![Vec::new(); targets.len()]; cases.len()];
    // Where the proxies' time goes during their runs, per request: gw's proxy thread and ledger
    // writer, and nginx's reverse proxy (one process), CPU and time runnable but waiting for a
    // CPU (schedstat).
    let mut threads = vec![[ThreadStat::default(), ThreadStat::default()]; cases.len()];
    let mut nginx_stat = vec![ThreadStat::default(); cases.len()];
    let mut hyper_stat = vec![ThreadStat::default(); cases.len()];
    let mut served = vec![0.0f64; cases.len()];
    let mut nginx_served = vec![0.0f64; cases.len()];
    let mut hyper_served = vec![0.0f64; cases.len()];
    let nginx_pid = servers[1].id();
    let (mut drained, mut gw_requests) = (Duration::ZERO, 0u64);
    let rows_before = wrk_rows(ledger);
    for _ in 0..rounds {
        for (c, (_, conns, lua)) in cases.iter().enumerate() {
            for (t, (name, url)) in targets.iter().enumerate() {
                let before = [
                    ThreadStat::read("gw-proxy-wrk"),
                    ThreadStat::read("gw-ledger"),
                    ThreadStat::of_process(nginx_pid),
                    ThreadStat::read("bare-proxy-wrk"),
                ];
                let run = run_wrk(&wrk, url, *conns, lua, secs);
                if *name == "gw" {
                    // Every row of the run committed before the next run starts (and before
                    // the writer's CPU is read): the writer, at idle priority, may be behind.
                    let start = Instant::now();
                    flush_rt.block_on(writer.handle().flush()).unwrap();
                    drained = drained.max(start.elapsed());
                    gw_requests += run.requests;
                    threads[c][0].add(&ThreadStat::read("gw-proxy-wrk"), &before[0]);
                    threads[c][1].add(&ThreadStat::read("gw-ledger"), &before[1]);
                    served[c] += run.rps * secs as f64;
                } else if *name == "nginx" {
                    nginx_stat[c].add(&ThreadStat::of_process(nginx_pid), &before[2]);
                    nginx_served[c] += run.rps * secs as f64;
                } else if *name == "hyper" {
                    hyper_stat[c].add(&ThreadStat::read("bare-proxy-wrk"), &before[3]);
                    hyper_served[c] += run.rps * secs as f64;
                }
                results[c][t].push(run);
            }
        }
    }
    let median = |runs: &[WrkRun], f: fn(&WrkRun) -> f64| {
        let mut v: Vec<f64> = runs.iter().map(f).collect();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    for (c, (case, _, _)) in cases.iter().enumerate() {
        let m: Vec<WrkRun> = results[c]
            .iter()
            .map(|runs| WrkRun {
                p50_us: median(runs, |r| r.p50_us),
                p99_us: median(runs, |r| r.p99_us),
                rps: median(runs, |r| r.rps),
                requests: 0,
            })
            .collect();
        println!("  {case}");
        for (t, (name, _)) in targets.iter().enumerate() {
            println!(
                "    {name:<7} p50 {:>8.0} µs   p99 {:>8.0} µs   {:>8.0} req/s",
                m[t].p50_us, m[t].p99_us, m[t].rps
            );
        }
        let n_req = served[c].max(1.0);
        let [proxy, ledger] = &threads[c];
        if proxy.slices > 0 {
            println!(
                "    gw per request: proxy thread {:.1} µs CPU, {:.1} µs waiting for a CPU; ledger writer {:.1} µs CPU, {:.1} µs waiting",
                proxy.cpu_ns as f64 / n_req / 1e3,
                proxy.wait_ns as f64 / n_req / 1e3,
                ledger.cpu_ns as f64 / n_req / 1e3,
                ledger.wait_ns as f64 / n_req / 1e3,
            );
        }
        for (name, stat, n) in [
            ("nginx", &nginx_stat[c], nginx_served[c]),
            ("hyper", &hyper_stat[c], hyper_served[c]),
        ] {
            if stat.slices > 0 {
                println!(
                    "    {name} per request: {:.1} µs CPU, {:.1} µs waiting for a CPU",
                    stat.cpu_ns as f64 / n.max(1.0) / 1e3,
                    stat.wait_ns as f64 / n.max(1.0) / 1e3,
                );
            }
        }
        let (d, n, g) = (m[0], m[1], m[2]);
        println!(
            "    added p50: nginx {:+.0} µs, gw {:+.0} µs ({:.2}× nginx's);  p99 gw/nginx {:.2}×;  req/s gw/nginx {:.0}%",
            n.p50_us - d.p50_us,
            g.p50_us - d.p50_us,
            (g.p50_us - d.p50_us) / (n.p50_us - d.p50_us).max(1.0),
            g.p99_us / n.p99_us.max(1.0),
            100.0 * g.rps / n.rps.max(1.0)
        );
    }
    // Requests cut when wrk stops are rows too: a few more rows than answers, never fewer.
    let rows = wrk_rows(ledger) - rows_before;
    println!(
        "  ledger: {rows} rows for the {gw_requests} requests wrk saw gw answer; after a run, the writer's backlog was committed within {:.1} ms",
        drained.as_secs_f64() * 1e3
    );
    assert!(
        gw_requests > 0 && rows >= gw_requests,
        "a request gw answered has no row"
    );
    for server in &mut servers {
        let _ = server.kill();
        let _ = server.wait();
    }
}

/// Rows the wrk runs left in the bench's ledger.
fn wrk_rows(ledger: &std::path::Path) -> u64 {
    gw::ledger::Ledger::open(ledger)
        .unwrap()
        .conn()
        .query_row(
            "SELECT count(*) FROM requests WHERE session_id = 'bench-wrk'",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

/// `GW_BENCH_WRK_PROFILE_SPIN=1`: a thread at idle priority (`SCHED_IDLE`, the ledger writer's)
/// that only spins, beside the profile run. Idle priority is meant to take only CPU time no
/// other thread wants; what the proxy's p50, p99 and requests/s do beside it says how well it
/// keeps to that on the machine at hand (with `GW_BENCH_WRK_PROFILE_TARGET=hyper` too: a
/// forwarder with no ledger at all). A loop always wants a CPU, where the writer wants some
/// 10% of one: it shows the mechanism, not the writer's own cost.
struct IdleSpinner {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<bool>,
}

impl IdleSpinner {
    fn start() -> IdleSpinner {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let spinning = stop.clone();
        let thread = std::thread::Builder::new()
            .name("idle-spinner".into())
            .spawn(move || {
                let idle = gw::ledger::idle_priority().is_ok();
                let mut x = 0u64;
                while !spinning.load(std::sync::atomic::Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
                }
                idle
            })
            .unwrap();
        IdleSpinner { stop, thread }
    }

    /// Stops the loop; says at which priority it ran and how much CPU it had.
    fn stop(self) -> String {
        // Its CPU since it started, read while it still runs.
        let cpu = ThreadStat::read("idle-spinner").cpu_ns as f64 / 1e9;
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let priority = match self.thread.join().unwrap() {
            true => "idle priority",
            false => "normal priority (SCHED_IDLE refused)",
        };
        format!("beside a busy loop at {priority}, which had {cpu:.2} s of CPU")
    }
}

/// What the ledger writer's idle priority costs: how long a row waits to be committed
/// (`flush`), with the machine otherwise quiet and with every core kept busy by threads at
/// normal priority (a build beside the agent).
fn busy_cores_commit(writer: &LedgerWriter) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let waits = |label: &str| {
        let mut waits: Vec<f64> = (0..20)
            .map(|_| {
                std::thread::sleep(Duration::from_millis(50));
                writer.handle().record(gw::ledger::Row {
                    id: uuid::Uuid::now_v7(),
                    attribution: Arc::new(Attribution {
                        session_id: "bench-busy".into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                });
                let start = Instant::now();
                rt.block_on(writer.handle().flush()).unwrap();
                start.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        waits.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "  {label:<34} p50 {:>7.2} ms   max {:>7.2} ms",
            waits[waits.len() / 2],
            waits[waits.len() - 1]
        );
    };
    println!("ledger writer at idle priority: a row recorded until committed, 20 rows");
    waits("quiet machine");
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let spinners: Vec<_> = (0..cores)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut x = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
                }
            })
        })
        .collect();
    waits(&format!("{cores} threads busy at normal priority"));
    stop.store(true, Ordering::Relaxed);
    for spinner in spinners {
        spinner.join().unwrap();
    }
}

/// Whether the environment variable `var` is set to `1`.
fn flag(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| v == "1")
}

/// Whether the variable `var` picks the bare hyper forwarder over gw (`hyper`; unset or `gw`:
/// gw).
fn via_hyper(var: &str) -> bool {
    match std::env::var(var).as_deref() {
        Err(_) | Ok("gw") => false,
        Ok("hyper") => true,
        Ok(other) => panic!("{var}: gw or hyper, not {other:?}"),
    }
}

/// The kernel's id of this process's thread named `name` (0 where there is none).
fn thread_id(name: &str) -> u64 {
    task_dir(name)
        .and_then(|dir| dir.file_name()?.to_str()?.parse().ok())
        .unwrap_or(0)
}

/// This process's thread named `name`: its `/proc/self/task/<id>` directory.
fn task_dir(name: &str) -> Option<std::path::PathBuf> {
    std::fs::read_dir("/proc/self/task")
        .ok()?
        .flatten()
        .map(|task| task.path())
        .find(|dir| std::fs::read_to_string(dir.join("comm")).is_ok_and(|c| c.trim_end() == name))
}

fn which(binary: &str) -> Option<std::path::PathBuf> {
    ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"]
        .iter()
        .map(|d| std::path::Path::new(d).join(binary))
        .find(|p| p.exists())
}

/// One wrk run; its latency distribution and requests/s.
fn run_wrk(
    wrk: &std::path::Path,
    url: &str,
    conns: u32,
    lua: &std::path::Path,
    secs: u64,
) -> WrkRun {
    let out = std::process::Command::new(wrk)
        .args([
            "-t1",
            &format!("-c{conns}"),
            &format!("-d{secs}s"),
            "--latency",
            "-s",
        ])
        .arg(lua)
        .arg(url)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let time = |v: &str| -> f64 {
        let v = v.trim();
        let (num, scale) = if let Some(n) = v.strip_suffix("us") {
            (n, 1.0)
        } else if let Some(n) = v.strip_suffix("ms") {
            (n, 1e3)
        } else if let Some(n) = v.strip_suffix('s') {
            (n, 1e6)
        } else {
            (v, 1.0)
        };
        num.trim().parse::<f64>().unwrap_or(f64::NAN) * scale
    };
    let mut run = WrkRun::default();
    for line in text.lines() {
        let line = line.trim();
        if let Some(v) = line.strip_prefix("50%") {
            run.p50_us = time(v);
        } else if let Some(v) = line.strip_prefix("99%") {
            run.p99_us = time(v);
        } else if let Some(v) = line.strip_prefix("Requests/sec:") {
            run.rps = v.trim().parse().unwrap_or(0.0);
        } else if let Some((n, _)) = line.split_once(" requests in ") {
            run.requests = n.trim().parse().unwrap_or(0);
        }
    }
    if text.contains("Non-2xx") {
        println!("    note: wrk saw non-2xx answers from {url}:\n{text}");
    }
    run
}
