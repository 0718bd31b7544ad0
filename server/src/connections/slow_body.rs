//! [`MinRateBody`]: a request body that must keep arriving at a minimum average rate, so a
//! client trickling a body a byte at a time cannot hold a connection (and a handler) forever.
//!
//! The rule: by `grace + n / rate` after the handler starts reading, at least `n` bytes must have
//! arrived. An honest phone on a poor link (a few KB/s) stays far above it; a stall mid-upload is
//! tolerated for as long as the bytes already sent have earned. Time spent before the handler
//! reads (waiting for its turn) does not count against the client.

use std::error::Error as StdError;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Bytes, HttpBody};
use http_body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

type BoxError = Box<dyn StdError + Send + Sync>;

/// The body fell behind the minimum rate; the request ends and the connection is closed.
#[derive(Debug)]
pub(crate) struct BodyTooSlow;

impl fmt::Display for BodyTooSlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the request body arrived too slowly")
    }
}

impl StdError for BodyTooSlow {}

/// `inner`, failing with [`BodyTooSlow`] when it falls behind.
#[derive(Debug)]
pub(crate) struct MinRateBody<B> {
    inner: B,
    /// Bytes per second; 0 turns the rule off.
    rate: u64,
    grace: Duration,
    started: Option<Instant>,
    received: u64,
    deadline: Option<Pin<Box<Sleep>>>,
}

impl<B> MinRateBody<B> {
    pub fn new(inner: B, rate: u64, grace: Duration) -> Self {
        MinRateBody {
            inner,
            rate,
            grace,
            started: None,
            received: 0,
            deadline: None,
        }
    }

    /// When the bytes received so far run out of credit.
    fn due(&self, started: Instant) -> Instant {
        let earned_ms = self.received.saturating_mul(1000) / self.rate.max(1);
        started + self.grace + Duration::from_millis(earned_ms)
    }
}

impl<B> HttpBody for MinRateBody<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let started = *this.started.get_or_insert_with(Instant::now);
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received = this.received.saturating_add(data.len() as u64);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(error.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending if this.rate == 0 => Poll::Pending,
            Poll::Pending => {
                let due = this.due(started);
                let deadline = this
                    .deadline
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(due)));
                if deadline.deadline() != due {
                    deadline.as_mut().reset(due);
                }
                match deadline.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTooSlow)))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;
    use http_body_util::{BodyExt, StreamBody};

    use super::*;

    /// A body whose frames the test hands over one by one.
    fn channel_body() -> (
        tokio::sync::mpsc::Sender<Bytes>,
        impl HttpBody<Data = Bytes, Error = BoxError> + Unpin,
    ) {
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
        let stream = tokio_stream_from(rx).map(|b| Ok::<_, BoxError>(Frame::data(b)));
        (tx, StreamBody::new(Box::pin(stream)))
    }

    fn tokio_stream_from(
        mut rx: tokio::sync::mpsc::Receiver<Bytes>,
    ) -> impl futures_util::Stream<Item = Bytes> {
        futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
    }

    #[tokio::test]
    async fn a_stalled_body_fails_once_its_credit_runs_out() {
        let (tx, inner) = channel_body();
        let mut body = MinRateBody::new(inner, 1000, Duration::from_millis(20));
        tx.send(Bytes::from_static(b"0123456789"))
            .await
            .expect("sent");
        let first = body.frame().await.expect("a frame").expect("in time");
        assert_eq!(first.into_data().expect("data").len(), 10);
        // Nothing more comes: 20 ms of grace + 10 ms earned, then the body fails.
        let stalled = body.frame().await.expect("an answer");
        assert!(stalled.is_err_and(|e| e.is::<BodyTooSlow>()));
        drop(tx);
    }

    #[tokio::test]
    async fn a_body_that_keeps_coming_is_read_whole() {
        let (tx, inner) = channel_body();
        let body = MinRateBody::new(inner, 1, Duration::from_secs(60));
        tokio::spawn(async move {
            for _ in 0..3 {
                let _ = tx.send(Bytes::from_static(b"abc")).await;
            }
        });
        let whole = body.collect().await.expect("whole body").to_bytes();
        assert_eq!(&whole[..], b"abcabcabc");
    }
}
