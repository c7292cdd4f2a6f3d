//! Proxy overhead and parser speed, against the same in-process mock the tests use.
//!
//! `cargo bench --bench proxy` prints:
//! - non-streaming request latency p50/p99 at a fixed rate, direct to the mock, through gw and
//!   through a bare hyper forwarder (the cost of the extra hop alone), and the differences;
//! - the time from the mock releasing one SSE frame to the client holding it, direct and through
//!   gw (shows frames are forwarded at once, not held for the next one);
//! - SSE parser (ResponseTap) throughput on Anthropic and OpenAI Responses streams.

#[path = "../tests/common/mod.rs"]
mod common;

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
    let proxy_addr = spawn_proxy(ProxyState::new(upstreams, recorder));
    let bare_addr = spawn_bare_forwarder(mock.addr);
    let raw_addr = spawn_byte_forwarder(mock.addr);
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    client_rt.block_on(async {
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

/// gw's proxy on a thread and runtime of its own, as `gw run` runs it.
fn spawn_proxy(state: ProxyState) -> std::net::SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    named_thread("gw-proxy", move || {
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
fn spawn_bare_forwarder(upstream: std::net::SocketAddr) -> std::net::SocketAddr {
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let (tx, rx) = std::sync::mpsc::channel();
    named_thread("bare-proxy", move || {
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
#[derive(Default)]
struct ThreadStat {
    cpu_ns: u64,
    slices: u64,
}

impl ThreadStat {
    fn read(name: &str) -> ThreadStat {
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return ThreadStat::default();
        };
        for task in tasks.flatten() {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            if comm.trim_end() != name {
                continue;
            }
            let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
            let fields: Vec<u64> = stat
                .split_whitespace()
                .filter_map(|f| f.parse().ok())
                .collect();
            if let [cpu_ns, _, slices] = fields[..] {
                return ThreadStat { cpu_ns, slices };
            }
        }
        ThreadStat::default()
    }

    fn since(&self, earlier: &ThreadStat) -> ThreadStat {
        ThreadStat {
            cpu_ns: self.cpu_ns.saturating_sub(earlier.cpu_ns),
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
