//! Timeouts: a unary call is answered within the client's timeout or
//! fails; a streaming call fails once it has been quiet for as long.
//!
//! "Quiet" means no message went either way: for a stream the client only
//! reads, the wait for the next message ([`Limit::per_item`]); for one it
//! also writes (ingest, datasets), the time since the last message sent or
//! received ([`Activity`], [`Limit::unless_quiet`]), counted only while
//! the server owes an answer, so a caller that is slow to hand over its
//! next batch is not the server's fault.

use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::{Stream, StreamExt};
use tokio::time::Instant;

use crate::error::ClientError;

/// A client's timeout, and the server it is reported against.
#[derive(Debug, Clone)]
pub(crate) struct Limit {
    pub(crate) endpoint: Arc<str>,
    pub(crate) timeout: Duration,
}

impl Limit {
    /// The error of a call that waited too long.
    pub(crate) fn error(&self) -> ClientError {
        ClientError::Timeout {
            endpoint: self.endpoint.to_string(),
            timeout: self.timeout,
        }
    }

    /// `future`'s output, or the timeout error once it has taken longer
    /// than the limit.
    pub(crate) async fn within<F: Future>(&self, future: F) -> Result<F::Output, ClientError> {
        tokio::time::timeout(self.timeout, future)
            .await
            .map_err(|_| self.error())
    }

    /// `stream`, ending with the timeout error once its next item takes
    /// longer than the limit. The clock runs only while the caller waits
    /// for an item.
    pub(crate) fn per_item<S, T>(
        &self,
        stream: S,
    ) -> impl Stream<Item = Result<T, ClientError>> + Send + 'static + use<S, T>
    where
        S: Stream<Item = Result<T, ClientError>> + Send + 'static,
        T: Send + 'static,
    {
        let limit = self.clone();
        futures::stream::unfold(Some(Box::pin(stream)), move |stream| {
            let limit = limit.clone();
            async move {
                let mut stream = stream?;
                match limit.within(stream.next()).await {
                    Ok(Some(item)) => Some((item, Some(stream))),
                    Ok(None) => None,
                    Err(timeout) => Some((Err(timeout), None)),
                }
            }
        })
    }

    /// Awaits `future`, a step of a streaming call, until the call has
    /// been quiet for longer than the limit while `owed` says the server
    /// owes an answer.
    pub(crate) async fn unless_quiet<F: Future>(
        &self,
        future: F,
        activity: &Activity,
        owed: impl Fn() -> bool,
    ) -> Result<F::Output, ClientError> {
        let mut future = pin!(future);
        loop {
            let deadline = activity.last() + self.timeout;
            match tokio::time::timeout_at(deadline, future.as_mut()).await {
                Ok(output) => {
                    activity.touch();
                    return Ok(output);
                }
                // A message went out meanwhile: wait on from it.
                Err(_) if activity.last() + self.timeout > Instant::now() => {}
                // The server has answered everything sent; the wait is
                // for the caller's next batch.
                Err(_) if !owed() => activity.touch(),
                Err(_) => return Err(self.error()),
            }
        }
    }
}

/// When a streaming call last made progress (a message sent or received),
/// shared by the request stream and the code awaiting the answers.
#[derive(Debug, Clone)]
pub(crate) struct Activity {
    origin: Instant,
    /// Microseconds from `origin` to the last progress.
    last: Arc<AtomicU64>,
}

impl Activity {
    pub(crate) fn new() -> Self {
        Self {
            origin: Instant::now(),
            last: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Records progress now.
    pub(crate) fn touch(&self) {
        let micros = u64::try_from(self.origin.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.last.fetch_max(micros, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.origin + Duration::from_micros(self.last.load(Ordering::Relaxed))
    }

    /// `stream` (the messages a call sends), each item taken from it
    /// counted as progress.
    pub(crate) fn track<S: Stream>(&self, stream: S) -> impl Stream<Item = S::Item> + use<S> {
        let activity = self.clone();
        stream.inspect(move |_| activity.touch())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::stream;

    const LIMIT: Duration = Duration::from_millis(100);

    fn limit() -> Limit {
        Limit {
            endpoint: "http://server".into(),
            timeout: LIMIT,
        }
    }

    fn is_timeout(result: &Result<u32, ClientError>) -> bool {
        matches!(result, Err(ClientError::Timeout { .. }))
    }

    #[tokio::test]
    async fn a_stream_that_goes_quiet_ends_with_the_timeout() {
        let quiet_after_two = stream::iter([Ok(1), Ok(2)]).chain(stream::pending());
        let items: Vec<_> = limit().per_item(quiet_after_two).collect().await;
        assert_eq!(items.len(), 3, "{items:?}");
        assert!(matches!(items[..2], [Ok(1), Ok(2)]));
        assert!(is_timeout(&items[2]));
        assert_eq!(
            items[2].as_ref().unwrap_err().to_string(),
            "no answer from http://server within 0.1s"
        );
    }

    #[tokio::test]
    async fn the_limit_bounds_each_item_not_the_whole_stream() {
        // Five items 60 ms apart: 300 ms in all, no gap over the limit.
        let slow = stream::iter(0..5).then(|i| async move {
            tokio::time::sleep(Duration::from_millis(60)).await;
            Ok(i)
        });
        let items: Vec<_> = limit().per_item(slow).collect().await;
        assert!(items.iter().all(Result::is_ok), "{items:?}");
        assert_eq!(items.len(), 5);
    }

    #[tokio::test]
    async fn messages_sent_keep_a_call_alive() {
        let activity = Activity::new();
        let sender = activity.clone();
        let sending = tokio::spawn(async move {
            for _ in 0..5 {
                tokio::time::sleep(Duration::from_millis(60)).await;
                sender.touch();
            }
        });
        // The answer comes after 330 ms, but never 100 ms after a message.
        let answer = async {
            tokio::time::sleep(Duration::from_millis(330)).await;
            7
        };
        let result = limit().unless_quiet(answer, &activity, || true).await;
        assert_eq!(result.unwrap(), 7);
        sending.await.unwrap();
    }

    #[tokio::test]
    async fn a_quiet_call_times_out_only_while_an_answer_is_owed() {
        let activity = Activity::new();
        let owed = limit()
            .unless_quiet(std::future::pending::<u32>(), &activity, || true)
            .await;
        assert!(is_timeout(&owed));

        // Nothing owed: the wait is for the caller, not the server.
        let answer = async {
            tokio::time::sleep(Duration::from_millis(250)).await;
            7
        };
        let result = limit().unless_quiet(answer, &activity, || false).await;
        assert_eq!(result.unwrap(), 7);
    }
}
