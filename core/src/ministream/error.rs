//! The ministreaming error type.

use std::io;

use super::frame::FrameError;

/// What went wrong with a ministreaming stream or manager. Each variant says
/// what the caller can do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The peer answered our SYN with a Close: nobody accepts streams there
    /// (no server socket, or no `accept()` within its accept timeout).
    /// Retrying later may work.
    #[error("the peer refused the stream")]
    Refused,
    /// A connect, accept, read, write or ping did not complete in time.
    /// The stream (if any) is still usable for reads and writes that did
    /// not time out; a connect that timed out is abandoned.
    #[error("timed out")]
    TimedOut,
    /// The peer closed the stream while we were still writing: the bytes
    /// of this write (and later ones) will never be read.
    #[error("the peer closed the stream")]
    Reset,
    /// This side closed the stream (or the manager was destroyed) and it
    /// cannot be used any more.
    #[error("the stream is closed")]
    Closed,
    /// The transport connection carrying the stream failed or closed
    /// (including a transport framing error from the peer). Streams on it
    /// are gone; a new connect opens a new transport connection.
    #[error("transport failure: {0}")]
    Transport(#[source] io::Error),
    /// The manager was destroyed; nothing more can be done with it.
    #[error("the socket manager was destroyed")]
    Destroyed,
    /// A destination the transport cannot use (for TCP: not `host:port`;
    /// in memory: no manager with that name).
    #[error("invalid destination: {0}")]
    InvalidDestination(String),
    /// A server socket already exists or an argument was out of range.
    #[error("invalid use: {0}")]
    Invalid(String),
    /// Bytes that are not a frame (from [`Frame`](super::Frame) decoding).
    #[error(transparent)]
    Frame(#[from] FrameError),
}

impl Error {
    /// The closest `std::io::ErrorKind`, used when the error travels inside
    /// an `io::Error` (socket reads and writes).
    pub fn io_kind(&self) -> io::ErrorKind {
        match self {
            Error::Refused => io::ErrorKind::ConnectionRefused,
            Error::TimedOut => io::ErrorKind::TimedOut,
            Error::Reset => io::ErrorKind::ConnectionReset,
            Error::Closed | Error::Destroyed => io::ErrorKind::NotConnected,
            Error::Transport(_) => io::ErrorKind::BrokenPipe,
            Error::InvalidDestination(_) | Error::Invalid(_) => io::ErrorKind::InvalidInput,
            Error::Frame(_) => io::ErrorKind::InvalidData,
        }
    }

    /// Recovers a ministreaming error from an `io::Error` made by
    /// [`From<Error> for io::Error`]; other errors become
    /// [`Error::Transport`].
    pub fn from_io(err: io::Error) -> Error {
        if !err.get_ref().is_some_and(|e| e.is::<Error>()) {
            return Error::Transport(err);
        }
        let kind = err.kind();
        match err.into_inner().map(|inner| inner.downcast::<Error>()) {
            Some(Ok(inner)) => *inner,
            _ => Error::Transport(io::Error::from(kind)),
        }
    }

    /// A copy for handing the same failure to several waiters (an
    /// `io::Error` is not `Clone`; its kind and message are kept).
    pub fn duplicate(&self) -> Error {
        match self {
            Error::Refused => Error::Refused,
            Error::TimedOut => Error::TimedOut,
            Error::Reset => Error::Reset,
            Error::Closed => Error::Closed,
            Error::Transport(e) => Error::Transport(io::Error::new(e.kind(), e.to_string())),
            Error::Destroyed => Error::Destroyed,
            Error::InvalidDestination(s) => Error::InvalidDestination(s.clone()),
            Error::Invalid(s) => Error::Invalid(s.clone()),
            Error::Frame(f) => Error::Frame(f.clone()),
        }
    }
}

impl From<Error> for io::Error {
    fn from(err: Error) -> io::Error {
        io::Error::new(err.io_kind(), err)
    }
}
