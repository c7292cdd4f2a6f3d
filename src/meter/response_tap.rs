//! Meters one response body as the proxy streams it: decoding, format detection, usage extraction.

use std::io::{self, Write};

use super::body::BodyParser;
use super::decode::Decoder;
use super::extracted::Extracted;
#[cfg(test)]
use super::Usage;
use super::{Protocol, MAX_DECODED_BYTES};

/// An incremental tap over a response body. [`feed`](Self::feed) every frame exactly as the
/// upstream sent it (compressed or not, split anywhere), then [`finish`](Self::finish) once, at
/// the end of the stream or when it is cut. Never panics, keeps memory bounded (one event or JSON
/// value, up to 16 MiB, plus decoder state) and parses only payloads that can carry usage.
pub struct ResponseTap {
    /// `None` for [`Protocol::Other`], an unsupported encoding, or once finished.
    decoder: Option<Decoder<BodyParser>>,
    encoding: String,
    decode_error: Option<String>,
    stopped: bool,
    result: Option<Extracted>,
}

// The proxy moves taps between threads with the body they meter.
const _: fn() = || {
    fn assert_send<T: Send>() {}
    assert_send::<ResponseTap>();
};

impl ResponseTap {
    /// `content_type` / `content_encoding`: the response headers' values, if any.
    pub fn new(
        protocol: Protocol,
        content_type: Option<&str>,
        content_encoding: Option<&str>,
    ) -> Self {
        let mut tap = ResponseTap {
            decoder: None,
            encoding: content_encoding.unwrap_or_default().trim().to_owned(),
            decode_error: None,
            stopped: false,
            result: None,
        };
        if protocol == Protocol::Other {
            return tap;
        }
        match Decoder::new(BodyParser::new(protocol, content_type), content_encoding) {
            Ok(mut decoder) => {
                if !decoder.is_identity() {
                    decoder.sink_mut().set_limit(MAX_DECODED_BYTES);
                }
                tap.decoder = Some(decoder);
            }
            Err((_, reason)) => tap.decode_error = Some(format!("{reason}; metering stopped")),
        }
        tap
    }

    pub fn feed(&mut self, chunk: &[u8]) {
        if self.stopped {
            return;
        }
        let Some(decoder) = &mut self.decoder else {
            return;
        };
        if let Err(e) = decoder.write_all(chunk) {
            self.stop(e);
        }
    }

    /// What the body said. Callable once; later calls return the same.
    pub fn finish(&mut self) -> Extracted {
        if let Some(done) = &self.result {
            return done.clone();
        }
        let mut extracted = Extracted::default();
        if let Some(mut decoder) = self.decoder.take() {
            // Decoders may hold decoded bytes until flushed. A body cut mid-way leaves them
            // waiting for more, which `complete: false` already says.
            if !self.stopped {
                if let Err(e) = decoder.flush() {
                    self.stop(e);
                }
            }
            extracted = decoder.sink_mut().finish();
        }
        // The decoder's own error (an encoding), else the parser's (an event stream).
        extracted.decode_error = self.decode_error.clone().or(extracted.decode_error);
        self.result = Some(extracted.clone());
        extracted
    }

    fn stop(&mut self, e: io::Error) {
        self.stopped = true;
        let reason = match e.kind() {
            io::ErrorKind::WriteZero => "data after the end of the compressed body".to_owned(),
            _ => e.to_string(),
        };
        self.decode_error = Some(format!(
            "content-encoding {:?}: {reason}; metering stopped",
            self.encoding
        ));
    }

    #[cfg(test)]
    fn with_decoded_limit(mut self, limit: u64) -> Self {
        if let Some(decoder) = &mut self.decoder {
            decoder.sink_mut().set_limit(limit);
        }
        self
    }

    /// Bytes the parsers hold (not counting decoder state).
    #[cfg(test)]
    fn buffered(&mut self) -> usize {
        self.decoder
            .as_mut()
            .map_or(0, |decoder| decoder.sink_mut().buffered())
    }
}

#[cfg(test)]
#[path = "response_tap_tests.rs"]
mod tests;
