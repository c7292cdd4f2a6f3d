//! The web dashboard's state in the server's `AppState`: whether it serves TLS (the session
//! cookie's name and attributes follow) and its failed sign-ins per client address.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The client address a connection came from (set by the server for each request).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// The session cookie's name over plain HTTP (loopback), and under TLS, where the `__Host-`
/// prefix makes browsers refuse one set by a sibling domain or without `Secure` and `Path=/`.
const COOKIE: &str = "gw_session";
const TLS_COOKIE: &str = "__Host-gw_session";
/// Sign-in sessions one admin token or key may hold; the oldest go first.
pub const MAX_SESSIONS: i64 = 20;
/// How long a signed-in session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Failed sign-ins a client address may make per [`FAIL_WINDOW`].
const MAX_FAILS: u32 = 5;
const FAIL_WINDOW: Duration = Duration::from_secs(60);

/// The dashboard's own state: failed sign-ins per client address.
#[derive(Debug, Default)]
pub struct WebState {
    fails: Mutex<Fails>,
    /// Whether the server serves TLS (the cookie is then `Secure`, `__Host-` and HSTS is sent).
    pub tls: bool,
}

#[derive(Debug, Default)]
struct Fails {
    by_client: HashMap<IpAddr, (u32, Instant)>,
    swept: Option<Instant>,
}

impl WebState {
    pub fn new(tls: bool) -> WebState {
        WebState {
            tls,
            ..WebState::default()
        }
    }

    /// Whether a client may have a wrong token checked now. A right one always signs in: the
    /// secrets are 256-bit, so the limit only bounds what failures cost, and an attacker
    /// failing from the same address (every client behind one proxy) locks nobody out.
    pub fn may_fail(&self, ip: IpAddr) -> bool {
        let fails = self.fails.lock().unwrap_or_else(|e| e.into_inner());
        match fails.by_client.get(&client(ip)) {
            Some((n, since)) => since.elapsed() >= FAIL_WINDOW || *n < MAX_FAILS,
            None => true,
        }
    }

    pub fn failed(&self, ip: IpAddr) {
        let mut fails = self.fails.lock().unwrap_or_else(|e| e.into_inner());
        // Bounded: past 10,000 clients, those whose window passed are forgotten, at most once
        // a second.
        if fails.by_client.len() > 10_000
            && fails
                .swept
                .is_none_or(|at| at.elapsed() >= Duration::from_secs(1))
        {
            fails
                .by_client
                .retain(|_, (_, since)| since.elapsed() < FAIL_WINDOW);
            fails.swept = Some(Instant::now());
        }
        let entry = fails
            .by_client
            .entry(client(ip))
            .or_insert((0, Instant::now()));
        if entry.1.elapsed() >= FAIL_WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    pub fn cookie(&self) -> &'static str {
        if self.tls {
            TLS_COOKIE
        } else {
            COOKIE
        }
    }
}

/// One client for the sign-in limit: an IPv4 address, or an IPv6 /64 (one site's).
fn client(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let mut o = v6.octets();
            o[8..].fill(0);
            IpAddr::from(o)
        }
    }
}
