//! Runs concurrent futures to completion: the answers in submission order, or
//! the first error — reported only after every future has finished, so that
//! no request already on the wire is abandoned with its answer unread and
//! uncounted because a sibling failed first.

use std::future::Future;

use tokio::task::JoinSet;

/// Spawns every future, waits for all of them, and returns their values in
/// the order given, or the first error to arrive. A task that panics or is
/// aborted becomes an error through `lost`.
pub async fn settle_all<T, E, F>(
    futures: impl IntoIterator<Item = F>,
    lost: impl Fn(String) -> E,
) -> Result<Vec<T>, E>
where
    F: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    let mut tasks = JoinSet::new();
    let mut count = 0;
    for (index, future) in futures.into_iter().enumerate() {
        tasks.spawn(async move { (index, future.await) });
        count += 1;
    }
    let mut slots: Vec<Option<T>> = (0..count).map(|_| None).collect();
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, Ok(value))) => slots[index] = Some(value),
            Ok((_, Err(e))) => {
                first_error.get_or_insert(e);
            }
            Err(e) => {
                first_error.get_or_insert_with(|| lost(e.to_string()));
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(slots.into_iter().flatten().collect()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    /// Values come back in submission order, whatever order they finish in.
    #[tokio::test]
    async fn keeps_submission_order() {
        let futures = [30u64, 0, 10].map(|ms| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<u64, String>(ms)
        });
        assert_eq!(settle_all(futures, |e| e).await, Ok(vec![30, 0, 10]));
    }

    /// An early failure does not abandon the slower siblings: every call
    /// finishes before the first error is returned.
    #[tokio::test]
    async fn failure_waits_for_siblings() {
        let finished = Arc::new(AtomicUsize::new(0));
        let futures = [0u64, 20, 40].map(|ms| {
            let finished = Arc::clone(&finished);
            async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                finished.fetch_add(1, Ordering::SeqCst);
                if ms == 0 {
                    Err(format!("failed after {ms} ms"))
                } else {
                    Ok(ms)
                }
            }
        });
        let result = settle_all(futures, |e| e).await;
        assert_eq!(result, Err(String::from("failed after 0 ms")));
        assert_eq!(finished.load(Ordering::SeqCst), 3);
    }

    /// A panicking task becomes an error instead of taking the caller down.
    #[tokio::test]
    async fn panic_becomes_error() {
        let futures = [true, false].map(|boom| async move {
            assert!(!boom, "boom");
            Ok::<(), String>(())
        });
        let result = settle_all(futures, |e| format!("lost: {e}")).await;
        assert!(result.is_err_and(|e| e.starts_with("lost:")));
    }
}
