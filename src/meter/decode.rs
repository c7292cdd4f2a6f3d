//! Undoes a response's `Content-Encoding` chain incrementally, writing decoded bytes to a sink.

use std::io::{self, Write};

use flate2::write::MultiGzDecoder;
use flate2::{Decompress, FlushDecompress, Status};

/// Size of each decoder's output buffer: decoded bytes reach the sink in pieces at most this big.
const OUT_BUF: usize = 32 * 1024;

/// More codings than this in one header is not a real response.
const MAX_CODINGS: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    Gzip,
    Deflate,
    Brotli,
    Zstd,
}

/// A chain of decoders ending in the sink `W`. Bytes written in come out decoded, in pieces of
/// bounded size, however much a small input expands.
pub(crate) enum Decoder<W: Write> {
    Identity(W),
    Gzip(Box<MultiGzDecoder<Decoder<W>>>),
    Deflate(Box<InflateWriter<Decoder<W>>>),
    Brotli(Box<brotli::DecompressorWriter<Decoder<W>>>),
    Zstd(Box<zstd::stream::write::Decoder<'static, Decoder<W>>>),
}

impl<W: Write> Decoder<W> {
    /// Decodes what `content_encoding` (e.g. `gzip`, `br`, `gzip, br`) says was applied, in
    /// reverse order. An unsupported coding hands the sink back with the reason.
    pub(crate) fn new(sink: W, content_encoding: Option<&str>) -> Result<Self, (W, String)> {
        let codings = match content_encoding.map(parse_codings).transpose() {
            Ok(codings) => codings.unwrap_or_default(),
            Err(reason) => return Err((sink, reason)),
        };
        // Contexts are made up front so a failure can still hand the sink back.
        let mut zstd_contexts = match codings
            .iter()
            .filter(|&&c| c == Coding::Zstd)
            .map(|_| zstd::stream::raw::Decoder::new())
            .collect::<io::Result<Vec<_>>>()
        {
            Ok(contexts) => contexts,
            Err(e) => return Err((sink, format!("zstd decoder: {e}"))),
        };
        // The first coding listed was applied first, so it is undone last: innermost.
        let mut decoder = Decoder::Identity(sink);
        for coding in codings {
            decoder = match coding {
                Coding::Gzip => Decoder::Gzip(Box::new(MultiGzDecoder::new(decoder))),
                Coding::Deflate => Decoder::Deflate(Box::new(InflateWriter::new(decoder))),
                Coding::Brotli => {
                    Decoder::Brotli(Box::new(brotli::DecompressorWriter::new(decoder, OUT_BUF)))
                }
                Coding::Zstd => match zstd_contexts.pop() {
                    Some(raw) => Decoder::Zstd(Box::new(
                        zstd::stream::write::Decoder::with_decoder(decoder, raw),
                    )),
                    None => decoder, // one context per zstd coding was made above
                },
            };
        }
        Ok(decoder)
    }

    pub(crate) fn is_identity(&self) -> bool {
        matches!(self, Decoder::Identity(_))
    }

    /// The sink at the end of the chain.
    pub(crate) fn sink_mut(&mut self) -> &mut W {
        match self {
            Decoder::Identity(sink) => sink,
            Decoder::Gzip(d) => d.get_mut().sink_mut(),
            Decoder::Deflate(d) => d.get_mut().sink_mut(),
            Decoder::Brotli(d) => d.get_mut().sink_mut(),
            Decoder::Zstd(d) => d.get_mut().sink_mut(),
        }
    }
}

impl<W: Write> Write for Decoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Decoder::Identity(sink) => sink.write(buf),
            Decoder::Gzip(d) => d.write(buf),
            Decoder::Deflate(d) => d.write(buf),
            Decoder::Brotli(d) => d.write(buf),
            Decoder::Zstd(d) => d.write(buf),
        }
    }

    /// Pushes out whatever the decoders decoded but still hold.
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Decoder::Identity(sink) => sink.flush(),
            Decoder::Gzip(d) => d.flush(),
            Decoder::Deflate(d) => d.flush(),
            Decoder::Brotli(d) => d.flush(),
            Decoder::Zstd(d) => d.flush(),
        }
    }
}

fn parse_codings(header: &str) -> Result<Vec<Coding>, String> {
    let codings = header
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("identity"))
        .map(|c| match c.to_ascii_lowercase().as_str() {
            "gzip" | "x-gzip" => Ok(Coding::Gzip),
            "deflate" => Ok(Coding::Deflate),
            "br" => Ok(Coding::Brotli),
            "zstd" => Ok(Coding::Zstd),
            _ => Err(format!("unsupported content-encoding {c:?}")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if codings.len() > MAX_CODINGS {
        return Err(format!("too many content-encodings in {header:?}"));
    }
    Ok(codings)
}

/// HTTP `deflate`: zlib-wrapped as the standard says, or raw deflate as some servers send it;
/// the first two bytes tell which.
pub(crate) struct InflateWriter<W: Write> {
    inner: W,
    inflate: Option<Decompress>,
    head: Vec<u8>,
    out: Box<[u8]>,
    done: bool,
}

impl<W: Write> InflateWriter<W> {
    fn new(inner: W) -> Self {
        InflateWriter {
            inner,
            inflate: None,
            head: Vec::with_capacity(2),
            out: vec![0; OUT_BUF].into_boxed_slice(),
            done: false,
        }
    }

    fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    fn inflate(&mut self, mut input: &[u8]) -> io::Result<()> {
        let Some(inflate) = self.inflate.as_mut() else {
            return Ok(());
        };
        while !self.done {
            let (in_before, out_before) = (inflate.total_in(), inflate.total_out());
            let status = inflate
                .decompress(input, &mut self.out, FlushDecompress::None)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            let consumed = (inflate.total_in() - in_before) as usize;
            let produced = (inflate.total_out() - out_before) as usize;
            input = &input[consumed..];
            self.inner.write_all(&self.out[..produced])?;
            match status {
                // Bytes after the end of the stream are ignored.
                Status::StreamEnd => self.done = true,
                _ if consumed == 0 && produced == 0 => break,
                _ if input.is_empty() && produced < self.out.len() => break,
                _ => {}
            }
        }
        Ok(())
    }
}

impl<W: Write> Write for InflateWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.inflate.is_some() {
            self.inflate(buf)?;
            return Ok(buf.len());
        }
        let take = buf.len().min(2 - self.head.len());
        self.head.extend_from_slice(&buf[..take]);
        if let [cmf, flg] = self.head[..] {
            let zlib = cmf & 0x0f == 8 && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0;
            self.inflate = Some(Decompress::new(zlib));
            let head = std::mem::take(&mut self.head);
            self.inflate(&head)?;
            self.inflate(&buf[take..])?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
