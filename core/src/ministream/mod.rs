//! I2P ministreaming: many reliable byte streams multiplexed over one
//! message transport between two destinations.
//!
//! * [`frame`] — the wire format (sans-IO): frames of 1 type byte, a 3-byte
//!   id and a payload, and the 4-byte length prefix that carries them over
//!   a byte stream. Its docs list where this crate follows the Java code
//!   rather than the protocol document.
//! * [`stream`] — one stream's state machine (sans-IO): handshake, held
//!   data, receive buffer, closing.
//! * [`transport`] — what a manager runs over: TCP (optionally TLS) or an
//!   in-memory network.
//! * [`manager`] — [`SocketManager`], [`ServerSocket`] and [`Socket`]:
//!   blocking sockets over the engine's connections (`net::conn`).
//!
//! # Example
//!
//! Two in-memory managers; one accepts and echoes.
//!
//! ```
//! use std::io::{Read, Write};
//! use msgwire::ministream::{ManagerConfig, SocketManager, SocketOptions};
//!
//! let (a, b) = SocketManager::in_memory_pair(ManagerConfig::default())?;
//! let server = b.server_socket()?;
//! let echo = std::thread::spawn(move || {
//!     let mut s = server.accept(None).unwrap();
//!     let mut buf = [0u8; 5];
//!     s.read_exact(&mut buf).unwrap();
//!     s.write_all(&buf).unwrap();
//! });
//! let mut s = a.connect(b.destination(), &SocketOptions::default())?;
//! s.write_all(b"hello")?;
//! let mut back = [0u8; 5];
//! s.read_exact(&mut back)?;
//! assert_eq!(&back, b"hello");
//! echo.join().unwrap();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod error;
pub mod frame;
pub mod manager;
pub mod stream;
pub mod transport;

pub use error::Error;
pub use frame::{Frame, FrameError, FrameReader, FrameType, Message, StreamId};
pub use manager::{
    ManagerConfig, ServerSocket, Socket, SocketInfo, SocketManager, SocketOptions, Stats,
};
pub use stream::{End, Phase, Role, StreamState};
pub use transport::{MemoryNetwork, MemoryTransport, TcpTransport, Transport};
