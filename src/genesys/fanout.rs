//! [`Client::post_chunked`]: one query per chunk of queue ids, run
//! concurrently to completion through [`settle_all`], so that no request
//! already on the wire is abandoned because a sibling failed first. A chunk
//! refused for naming too many predicates halves that endpoint's chunk size
//! for the rest of the process ([`ChunkSizes`]) and is sent again in smaller
//! chunks, within the deadline of the call.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::client::{decode_blocking, Client, Decoder};
use super::endpoint::Endpoint;
use super::error::Error;
use crate::tasks::settle_all;

/// The chunk size of each chunked endpoint, shared by every clone of a client.
#[derive(Debug)]
pub(super) struct ChunkSizes {
    aggregates: AtomicUsize,
    observations: AtomicUsize,
    /// Whether a shrink was logged, per endpoint (aggregates, observations).
    logged: [AtomicBool; 2],
}

impl ChunkSizes {
    /// The endpoints queried in chunks of queue ids.
    pub const ENDPOINTS: [Endpoint; 2] = [Endpoint::Aggregates, Endpoint::Observations];

    /// Starting sizes (each ≥ 1).
    pub fn new(aggregates: usize, observations: usize) -> Self {
        ChunkSizes {
            aggregates: AtomicUsize::new(aggregates.max(1)),
            observations: AtomicUsize::new(observations.max(1)),
            logged: [AtomicBool::new(false), AtomicBool::new(false)],
        }
    }

    fn slot(&self, endpoint: Endpoint) -> (&AtomicUsize, &AtomicBool) {
        match endpoint {
            Endpoint::Observations => (&self.observations, &self.logged[1]),
            _ => (&self.aggregates, &self.logged[0]),
        }
    }

    /// The current size for `endpoint`.
    pub fn get(&self, endpoint: Endpoint) -> usize {
        self.slot(endpoint).0.load(Ordering::Relaxed)
    }

    /// After a refused chunk of `refused` ids: the size becomes at most half
    /// of it (never grows). Returns the size to split with, and whether this
    /// call lowered it.
    fn shrink(&self, endpoint: Endpoint, refused: usize) -> (usize, bool) {
        let target = (refused / 2).max(1);
        let previous = self.slot(endpoint).0.fetch_min(target, Ordering::Relaxed);
        (previous.min(target), target < previous)
    }

    /// True the first time it is asked for `endpoint`.
    fn first_log(&self, endpoint: Endpoint) -> bool {
        !self.slot(endpoint).1.swap(true, Ordering::Relaxed)
    }
}

/// Splits `range` into consecutive pieces of at most `size` (≥ 1).
fn split(range: Range<usize>, size: usize) -> Vec<Range<usize>> {
    let size = size.max(1);
    range
        .clone()
        .step_by(size)
        .map(|start| start..(start + size).min(range.end))
        .collect()
}

impl Client {
    /// POSTs `body(chunk)` to `endpoint` for each chunk of queue ids (at most
    /// [`Client::chunk_size`] each), concurrently under the shared budget, and
    /// returns the parsed answers in queue order. Chunks refused for their
    /// predicate count are split and sent again until every chunk succeeds,
    /// a chunk of one id is refused, or the call deadline passes.
    pub(super) async fn post_chunked<T>(
        &self,
        endpoint: Endpoint,
        queue_ids: &[String],
        body: impl Fn(&[String]) -> Value,
    ) -> Result<Vec<T>, Error>
    where
        T: DeserializeOwned + Send + 'static,
    {
        let decode = Arc::new(move |bytes: &[u8]| super::client::decode(endpoint, bytes));
        self.post_chunked_with(endpoint, queue_ids, body, decode)
            .await
    }

    /// [`Client::post_chunked`] with each chunk's 2xx body handed to
    /// `decode` as it arrives.
    pub(super) async fn post_chunked_with<T>(
        &self,
        endpoint: Endpoint,
        queue_ids: &[String],
        body: impl Fn(&[String]) -> Value,
        decode: Decoder<T>,
    ) -> Result<Vec<T>, Error>
    where
        T: Send + 'static,
    {
        let url = Url::parse(&format!("{}{}", self.inner.api_base, endpoint.path()))
            .map_err(|e| Error::Config(format!("invalid API base URL: {e}")))?;
        let deadline = self.inner.deadline_from_now();
        let mut parts: Vec<(Range<usize>, Option<T>)> =
            split(0..queue_ids.len(), self.chunk_size(endpoint))
                .into_iter()
                .map(|range| (range, None))
                .collect();
        // Each round either finishes or splits at least one part, and a part
        // of one id is never split, so rounds are bounded by log2(chunk size).
        for _ in 0..=usize::BITS {
            let pending: Vec<usize> = (0..parts.len()).filter(|&i| parts[i].1.is_none()).collect();
            if pending.is_empty() {
                break;
            }
            let calls = pending
                .iter()
                .map(|&i| {
                    let body = body(&queue_ids[parts[i].0.clone()]);
                    let client = self.clone();
                    let url = url.clone();
                    let decode = Arc::clone(&decode);
                    async move {
                        let answer = client
                            .inner
                            .call_decode_until(
                                endpoint,
                                Method::POST,
                                url,
                                Some(&body),
                                deadline,
                                |bytes| decode_blocking(endpoint, decode, bytes),
                            )
                            .await;
                        Ok::<_, Error>(answer)
                    }
                })
                .collect::<Vec<_>>();
            let answers = settle_all(calls, |cause| Error::LostTask { endpoint, cause }).await?;
            let mut first_error = None;
            let mut next: Vec<(Range<usize>, Option<T>)> = Vec::with_capacity(parts.len());
            let mut answers = pending.iter().copied().zip(answers).peekable();
            for (i, part) in parts.into_iter().enumerate() {
                let Some((_, answer)) = answers.next_if(|(j, _)| *j == i) else {
                    next.push(part);
                    continue;
                };
                let range = part.0;
                match answer {
                    Ok(value) => next.push((range, Some(value))),
                    Err(e) if e.is_predicate_limit() && range.len() > 1 => {
                        let size = self.shrunk_chunk(endpoint, range.len(), &e);
                        next.extend(split(range, size).into_iter().map(|r| (r, None)));
                    }
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            if let Some(e) = first_error {
                return Err(e);
            }
            parts = next;
        }
        parts
            .into_iter()
            .map(|(_, answer)| {
                answer.ok_or(Error::Deadline {
                    endpoint,
                    deadline: self.inner.config.call_deadline,
                })
            })
            .collect()
    }

    /// Halves `endpoint`'s chunk size after a refused chunk of `refused` ids,
    /// reports the new size and logs the first shrink; returns the size to use.
    fn shrunk_chunk(&self, endpoint: Endpoint, refused: usize, error: &Error) -> usize {
        let chunks = &self.inner.chunks;
        let (size, lowered) = chunks.shrink(endpoint, refused);
        if lowered {
            self.inner.observer.chunk_size_changed(endpoint, size);
            if chunks.first_log(endpoint) {
                tracing::warn!(
                    endpoint = endpoint.as_str(),
                    refused,
                    chunk_size = size,
                    "Genesys refused a query for its predicate count ({error}); \
                     {endpoint} queries carry at most {size} queue ids from now on"
                );
            } else {
                tracing::debug!(
                    endpoint = endpoint.as_str(),
                    chunk_size = size,
                    "chunk size halved again"
                );
            }
        }
        size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ranges split into consecutive pieces covering every index once.
    #[test]
    fn split_covers_the_range() {
        assert_eq!(split(0..5, 2), vec![0..2, 2..4, 4..5]);
        assert_eq!(split(3..6, 10), vec![3..6]);
        assert_eq!(split(0..0, 3), Vec::<Range<usize>>::new());
        assert_eq!(split(0..2, 0), vec![0..1, 1..2]);
    }

    /// A refusal halves the size once per endpoint, never grows it, and a
    /// later refusal of an older, larger chunk does not count again.
    #[test]
    fn shrink_halves_and_never_grows() {
        let sizes = ChunkSizes::new(100, 200);
        assert_eq!(sizes.shrink(Endpoint::Observations, 200), (100, true));
        assert_eq!(sizes.shrink(Endpoint::Observations, 200), (100, false));
        assert_eq!(sizes.shrink(Endpoint::Observations, 100), (50, true));
        assert_eq!(sizes.get(Endpoint::Observations), 50);
        assert_eq!(sizes.get(Endpoint::Aggregates), 100);
        assert_eq!(sizes.shrink(Endpoint::Aggregates, 1), (1, true));
        assert!(sizes.first_log(Endpoint::Aggregates));
        assert!(!sizes.first_log(Endpoint::Aggregates));
        assert!(sizes.first_log(Endpoint::Observations));
    }
}
