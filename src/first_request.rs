//! The deadline for a connection's first request, shared by `gw server` and the proxy. hyper's
//! HTTP/1 header-read timeout starts only once hyper-util's auto builder knows the HTTP version,
//! so a client that sends nothing (or part of the HTTP/2 preface) would otherwise hold its
//! connection, and a file descriptor, for as long as it likes.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Sleep;

/// Set by the connection's service when a request arrives; [`FirstRequest::guard`] closes a
/// connection that received none in time.
#[derive(Clone, Default)]
pub struct FirstRequest(Arc<AtomicBool>);

impl FirstRequest {
    /// Marks that a request arrived (called by the service, once per request).
    pub fn arrived(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Runs `conn` to its end, unless no request arrived within `limit`: then `conn` is dropped,
    /// which closes the connection, and the result is `None`. Later requests on a kept-alive
    /// connection are bounded by hyper's own header-read timeout.
    pub fn guard<F: Future>(self, conn: F, limit: Duration) -> Guarded<F> {
        Guarded {
            conn: Box::pin(conn),
            deadline: Some(Box::pin(tokio::time::sleep(limit))),
            first: self,
        }
    }
}

/// A connection under [`FirstRequest::guard`]. A hand-written future rather than an `async fn`:
/// hyper's connection futures trip a higher-ranked lifetime error inside generic async code.
pub struct Guarded<F> {
    conn: Pin<Box<F>>,
    /// Dropped once it fired after a request arrived.
    deadline: Option<Pin<Box<Sleep>>>,
    first: FirstRequest,
}

impl<F: Future> Future for Guarded<F> {
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(out) = self.conn.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        if let Some(deadline) = self.deadline.as_mut() {
            if deadline.as_mut().poll(cx).is_ready() {
                if !self.first.0.load(Ordering::Relaxed) {
                    return Poll::Ready(None);
                }
                self.deadline = None;
            }
        }
        Poll::Pending
    }
}
