//! Body wrappers on the hot path. Neither buffers nor parses: each frame is forwarded as it
//! arrives, and a reference to it goes to the thread's metering task (see [`super::metering`]).

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::time::{Instant, Sleep};

use crate::meter::{ChatUsageChunkFilter, ResponseTap};

use super::context::InFlight;
use super::metering::MeterFeed;
use crate::meter::Protocol;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A response body that hands each frame to the request's [`MeterFeed`] as it passes and ends the
/// request: at end of stream, on an upstream error, when the upstream sends nothing for `idle`,
/// or, when the client goes away, once gw has read the rest for its usage (see [`Drop`]).
pub struct MeteredBody {
    /// `None` once handed to the drain.
    inner: Option<Incoming>,
    /// Present when gw asked for `include_usage` itself: hides that extra chunk from the client.
    filter: Option<ChatUsageChunkFilter>,
    meter: MeterFeed,
    request: InFlight,
    done: bool,
    idle: Duration,
    /// When the upstream last sent a frame (or the head).
    last_frame: Instant,
    /// Fires `idle` after some earlier frame; when it fires it is moved to `idle` after the last
    /// frame, so passing frames cost a clock read and never touch the timer.
    idle_timer: Pin<Box<Sleep>>,
}

impl MeteredBody {
    /// `idle`: how long the upstream may send nothing before gw cuts the stream.
    pub fn new(
        inner: Incoming,
        tap: ResponseTap,
        filter: Option<ChatUsageChunkFilter>,
        request: InFlight,
        idle: Duration,
    ) -> Self {
        let meter = request.meter();
        meter.response_head(tap);
        let now = Instant::now();
        MeteredBody {
            inner: Some(inner),
            filter,
            meter,
            request,
            done: false,
            idle,
            last_frame: now,
            idle_timer: Box::pin(tokio::time::sleep_until(now + idle)),
        }
    }

    /// Ready once the upstream has sent nothing for `idle`.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            ready!(self.idle_timer.as_mut().poll(cx));
            let deadline = self.last_frame + self.idle;
            if deadline <= Instant::now() {
                return Poll::Ready(());
            }
            self.idle_timer.as_mut().reset(deadline);
        }
    }

    fn finish(&mut self, cut: bool, error: Option<String>) {
        self.request.end(cut, error);
    }
}

impl Body for MeteredBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        loop {
            let Some(inner) = this.inner.as_mut() else {
                return Poll::Ready(None);
            };
            match Pin::new(inner).poll_frame(cx) {
                Poll::Pending => {
                    ready!(this.poll_idle(cx));
                    this.done = true;
                    let message = format!(
                        "upstream sent nothing for {} s; gw cut the stream",
                        this.idle.as_secs_f32()
                    );
                    this.finish(true, Some(message.clone()));
                    return Poll::Ready(Some(Err(message.into())));
                }
                Poll::Ready(Some(Ok(frame))) => {
                    this.last_frame = Instant::now();
                    let Some(data) = frame.data_ref() else {
                        return Poll::Ready(Some(Ok(frame)));
                    };
                    if let Some(context) = this.request.get_mut() {
                        context.mark_first_byte();
                    }
                    this.meter.response(data);
                    match this.filter.as_mut() {
                        None => {
                            // A sized body is over with its last byte: hyper may never poll again.
                            if this.inner.as_ref().is_none_or(|b| b.is_end_stream()) {
                                this.done = true;
                                this.finish(false, None);
                            }
                            return Poll::Ready(Some(Ok(frame)));
                        }
                        Some(filter) => {
                            let out = filter.push(data);
                            if !out.is_empty() {
                                return Poll::Ready(Some(Ok(Frame::data(out))));
                            }
                            // The frame held only (part of) a hidden event: read on.
                        }
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    let e: BoxError = e.into();
                    this.done = true;
                    this.finish(true, Some(format!("upstream body error: {e}")));
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => {
                    this.done = true;
                    let tail = this.filter.as_mut().map(|f| f.finish()).unwrap_or_default();
                    this.finish(false, None);
                    if tail.is_empty() {
                        return Poll::Ready(None);
                    }
                    return Poll::Ready(Some(Ok(Frame::data(tail))));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
            || (self.filter.is_none() && self.inner.as_ref().is_none_or(|b| b.is_end_stream()))
    }

    fn size_hint(&self) -> SizeHint {
        if self.filter.is_some() {
            SizeHint::default()
        } else {
            self.inner
                .as_ref()
                .map_or_else(SizeHint::default, |b| b.size_hint())
        }
    }
}

/// The most a drain reads after the client went away, whatever the upstream sends.
const DRAIN_FOR_AT_MOST: Duration = Duration::from_secs(600);

impl Drop for MeteredBody {
    /// The client went away before the end. A successful metered answer may hold its usage at
    /// the very end (Bedrock's Converse: all of it, in the last event), and the upstream bills
    /// what it generates anyway: gw reads the rest on its own, bounded by the idle timeout and
    /// ten minutes, so the row and the budget get the whole usage, not the part the client saw.
    fn drop(&mut self) {
        if self.request.get_mut().is_none() {
            return;
        }
        let worth_reading = self
            .request
            .get_mut()
            .is_some_and(|c| c.protocol != Protocol::Other && (200..300).contains(&c.status));
        let runtime = tokio::runtime::Handle::try_current();
        let (Some(inner), true, Ok(runtime)) = (self.inner.take(), worth_reading, runtime) else {
            // InFlight's drop ends it as cut.
            return;
        };
        let mut request = self.request.take();
        let meter = self.meter.clone();
        let idle = self.idle;
        drop(runtime.spawn(async move {
            let started = Instant::now();
            let mut inner = inner;
            let why = loop {
                if started.elapsed() > DRAIN_FOR_AT_MOST {
                    break "gw stopped reading after ten minutes";
                }
                let next = tokio::select! {
                    next = tokio::time::timeout(idle, inner.frame()) => next,
                    () = request.proxy_stopping() => break "gw stopped while it read the rest",
                };
                match next {
                    Ok(Some(Ok(frame))) => {
                        if let Some(data) = frame.data_ref() {
                            meter.response(data);
                        }
                    }
                    Ok(None) => break "gw read the rest of the answer for its usage",
                    Ok(Some(Err(_))) => break "the upstream failed while gw read the rest",
                    Err(_) => break "the upstream went silent while gw read the rest",
                }
            };
            request.end(
                true,
                Some(format!("client closed the response before its end; {why}")),
            );
        }));
    }
}

/// A request body that streams to the upstream while handing each frame to the request's
/// [`MeterFeed`], which reads the model and `stream` flag from it beside the stream.
pub struct RequestTapBody<B> {
    inner: B,
    meter: MeterFeed,
}

impl<B> RequestTapBody<B> {
    pub fn new(inner: B, meter: MeterFeed) -> Self {
        RequestTapBody { inner, meter }
    }
}

impl<B> Body for RequestTapBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.meter.request(data);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
