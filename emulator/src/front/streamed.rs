//! An invocation whose answer is taken as the function streams it, shared by the callers that
//! pass it on as it comes: function URLs with `InvokeMode: RESPONSE_STREAM` (`url_stream`) and
//! InvokeWithResponseStream (`invoke_stream`).
//!
//! The invocation runs in its own task with a [`Tap`](crate::runtime_api::Tap); the caller
//! waits for its first piece (or for its end, if it answered whole or was refused), then takes
//! the rest with [`Pieces::poll_next`]: every piece, then the invocation's end.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::instance::{Invocation, InvokeResult, Refused};
use crate::pool::Function;
use crate::runtime_api::Piece;

/// How many pieces may wait between the function and a slow client; past that the function's
/// `/response` stream waits (backpressure).
const BUFFERED_PIECES: usize = 16;

type Invoked = JoinHandle<Result<InvokeResult, Refused>>;

/// How a streamed invocation started.
#[derive(Debug)]
pub(super) enum Start {
    /// It ended before streaming anything: it answered whole, or was refused. `Err(Internal)`
    /// if its task failed.
    Ended(Result<InvokeResult, Refused>),
    /// It streams: its first piece, and the rest.
    Streaming(Piece, Pieces),
}

/// Invokes `function` with `invocation` and returns as soon as its stream starts (or it ends).
pub(super) async fn start(function: Arc<Function>, mut invocation: Invocation) -> Start {
    let (tap, mut pieces) = mpsc::channel(BUFFERED_PIECES);
    invocation.stream = Some(tap);
    let mut invoked: Invoked =
        tokio::spawn(async move { function.invoke(invocation, false).await });
    // Pieces are passed on before the invocation ends: one waiting is seen first.
    tokio::select! {
        biased;
        Some(piece) = pieces.recv() => Start::Streaming(piece, Pieces {
            pieces,
            invoked: Some(invoked),
            result: None,
        }),
        result = &mut invoked => Start::Ended(result.unwrap_or(Err(Refused::Internal))),
    }
}

/// What comes next in a stream.
#[derive(Debug)]
pub(super) enum Next {
    /// A piece of the function's answer.
    Piece(Piece),
    /// The invocation's end, after its last piece: its result, `None` if it could not be had
    /// (its task failed).
    End(Option<InvokeResult>),
}

/// The rest of a streamed invocation.
#[derive(Debug)]
pub(super) struct Pieces {
    pieces: mpsc::Receiver<Piece>,
    /// The invocation, until it has ended.
    invoked: Option<Invoked>,
    /// Its result, from its end until [`Next::End`] is returned.
    result: Option<Option<InvokeResult>>,
}

impl Pieces {
    /// The next piece, then the end; `None` once the end was returned.
    pub(super) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Next>> {
        loop {
            let Some(invoked) = &mut self.invoked else {
                // The invocation has ended: every piece it sent is waiting (a claim it never
                // made may keep the channel open, so nothing more is awaited).
                return Poll::Ready(match self.pieces.try_recv() {
                    Ok(piece) => Some(Next::Piece(piece)),
                    Err(_) => self.result.take().map(Next::End),
                });
            };
            if let Poll::Ready(Some(piece)) = self.pieces.poll_recv(cx) {
                return Poll::Ready(Some(Next::Piece(piece)));
            }
            let result = std::task::ready!(Pin::new(invoked).poll(cx));
            self.result = Some(result.ok().and_then(Result::ok));
            self.invoked = None;
        }
    }
}
