//! The `/metrics` response body: the stored parts (each one gzip member)
//! followed by the per-scrape self-metrics, streamed with an exact length.
//!
//! - gzip scrapes get the stored members as they are (shared buffers, no
//!   copy); concatenated members are one valid gzip stream (RFC 1952, 2.2),
//!   which every HTTP client reads as one body.
//! - plain scrapes get each member decompressed as it is sent, in chunks of
//!   [`CHUNK`] bytes, so a plain scrape holds one chunk and one decoder, never
//!   a plain copy of the body.

use std::collections::VecDeque;
use std::io::{Cursor, Read};
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Bytes, HttpBody};
use flate2::bufread::GzDecoder;
use http_body::{Frame, SizeHint};

use super::render::Rendered;

/// Size of one decompressed chunk of a plain scrape.
pub const CHUNK: usize = 128 * 1024;

/// One piece of the body.
#[derive(Debug)]
enum Piece {
    /// Sent as it is.
    Raw(Bytes),
    /// A gzip member sent decompressed.
    Inflate(Bytes),
}

/// A streamed `/metrics` body with an exact length (so `Content-Length` is set).
#[derive(Debug)]
pub struct MetricsBody {
    pieces: VecDeque<Piece>,
    /// The member being decompressed.
    current: Option<Box<GzDecoder<Cursor<Bytes>>>>,
    remaining: u64,
}

impl MetricsBody {
    /// The gzip body: each part's member, then `own_gzip` (a gzip member too).
    pub fn gzip<'a>(parts: impl IntoIterator<Item = &'a Rendered>, own_gzip: Bytes) -> MetricsBody {
        let pieces = parts
            .into_iter()
            .map(|p| p.gzip().clone())
            .chain([own_gzip])
            .filter(|b| !b.is_empty())
            .map(Piece::Raw);
        MetricsBody::new(pieces.collect(), None)
    }

    /// The plain body: each part decompressed as it is sent, then `own` (text).
    pub fn plain<'a>(parts: impl IntoIterator<Item = &'a Rendered>, own: Bytes) -> MetricsBody {
        let mut length = own.len() as u64;
        let mut pieces: VecDeque<Piece> = parts
            .into_iter()
            .filter(|p| p.plain_len() > 0)
            .map(|p| {
                length += p.plain_len();
                Piece::Inflate(p.gzip().clone())
            })
            .collect();
        if !own.is_empty() {
            pieces.push_back(Piece::Raw(own));
        }
        MetricsBody::new(pieces, Some(length))
    }

    fn new(pieces: VecDeque<Piece>, length: Option<u64>) -> MetricsBody {
        let remaining = length.unwrap_or_else(|| {
            pieces
                .iter()
                .map(|p| match p {
                    Piece::Raw(b) | Piece::Inflate(b) => b.len() as u64,
                })
                .sum()
        });
        MetricsBody {
            pieces,
            current: None,
            remaining,
        }
    }

    /// The next chunk of the member being decompressed; `None` at its end.
    fn inflate_next(&mut self) -> Option<std::io::Result<Bytes>> {
        let decoder = self.current.as_mut()?;
        let want = CHUNK.min(usize::try_from(self.remaining).unwrap_or(CHUNK));
        let mut chunk = vec![0u8; want];
        let mut filled = 0;
        while filled < want {
            match decoder.read(&mut chunk[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Some(Err(e)),
            }
        }
        if filled == 0 {
            self.current = None;
            return None;
        }
        chunk.truncate(filled);
        Some(Ok(Bytes::from(chunk)))
    }
}

impl HttpBody for MetricsBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        loop {
            if self.remaining == 0 {
                return Poll::Ready(None);
            }
            if let Some(next) = self.inflate_next() {
                let chunk = next?;
                self.remaining = self.remaining.saturating_sub(chunk.len() as u64);
                return Poll::Ready(Some(Ok(Frame::data(chunk))));
            }
            match self.pieces.pop_front() {
                Some(Piece::Raw(chunk)) => {
                    self.remaining = self.remaining.saturating_sub(chunk.len() as u64);
                    return Poll::Ready(Some(Ok(Frame::data(chunk))));
                }
                Some(Piece::Inflate(member)) => {
                    self.current = Some(Box::new(GzDecoder::new(Cursor::new(member))));
                }
                None => {
                    // Fewer bytes than announced: a stored member was damaged.
                    return Poll::Ready(Some(Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "a stored part decompressed short of its length",
                    ))));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn part(text: &str) -> Rendered {
        Rendered::from_text(text.as_bytes(), 1)
    }

    /// Drains a body synchronously (every frame is ready at once).
    fn drain(mut body: MetricsBody) -> (Vec<u8>, usize) {
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let announced = body.size_hint().exact().expect("exact");
        let mut out = Vec::new();
        let mut frames = 0;
        while let Poll::Ready(Some(frame)) = Pin::new(&mut body).poll_frame(&mut cx) {
            let data = frame.expect("frame").into_data().expect("data");
            assert!(data.len() <= CHUNK.max(1 << 20));
            out.extend_from_slice(&data);
            frames += 1;
        }
        assert!(body.is_end_stream());
        assert_eq!(out.len() as u64, announced, "exact length announced");
        (out, frames)
    }

    fn big_text() -> String {
        (0..40_000)
            .map(|i| format!("genesys_queue_offered{{queue=\"Q {i}\"}} {i}\n"))
            .collect()
    }

    /// A plain body is the parts' texts then the self-metrics, in chunks,
    /// with the exact length announced; empty parts are skipped.
    #[test]
    fn plain_streams_the_text() {
        let big = big_text();
        let parts = [part("a 1\n"), Rendered::default(), part(&big)];
        let (out, frames) = drain(MetricsBody::plain(&parts, Bytes::from("own 1\n")));
        assert_eq!(out, format!("a 1\n{big}own 1\n").into_bytes());
        assert!(frames > 3, "the big part comes in several chunks");
    }

    /// A gzip body is the stored members then the self-metrics member, and
    /// decodes (multi-member) to the same text as the plain body.
    #[test]
    fn gzip_is_concatenated_members() {
        let big = big_text();
        let parts = [part(&big), Rendered::default(), part("b 2\n")];
        let own = Bytes::from(crate::exporter::render::gzip(b"own 1\n"));
        let (out, _) = drain(MetricsBody::gzip(&parts, own));
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(&out[..])
            .read_to_string(&mut text)
            .expect("gzip");
        assert_eq!(text, format!("{big}b 2\nown 1\n"));
    }

    /// A damaged member ends the body with an error, never with wrong bytes
    /// passed off as complete.
    #[test]
    fn damaged_member_is_an_error() {
        let good = part(&big_text());
        let mut bytes = good.gzip().to_vec();
        let mid = bytes.len() / 2;
        bytes.truncate(mid);
        let damaged = MetricsBody {
            pieces: VecDeque::from([Piece::Inflate(Bytes::from(bytes))]),
            current: None,
            remaining: good.plain_len(),
        };
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut body = damaged;
        let mut failed = false;
        for _ in 0..1_000 {
            match Pin::new(&mut body).poll_frame(&mut cx) {
                Poll::Ready(Some(Ok(_))) => {}
                Poll::Ready(Some(Err(_))) => {
                    failed = true;
                    break;
                }
                Poll::Ready(None) | Poll::Pending => break,
            }
        }
        assert!(failed);
    }
}
