//! Where a request goes: which URIs are ours, the path rewriting, and the
//! refusals (see the table in the [parent module](super)).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use bytes::{BufMut, BytesMut};

use super::peer::Peer;
use super::Hub;
use crate::msrp::{Head, Uri, DEFAULT_PORT};

/// A refusal: the status code and the reason (logged, and sent as the
/// response's comment).
pub(super) type Refusal = (u16, String);

fn refuse<T>(code: u16, why: impl Into<String>) -> Result<T, Refusal> {
    Err((code, why.into()))
}

/// A request ready to go to its next hop.
#[derive(Debug)]
pub(super) struct Routed {
    pub target: Arc<Peer>,
    /// The start line and headers for the next hop (with the blank line
    /// that opens a body, when there is one).
    pub head: BytesMut,
    /// The new transaction id.
    pub tid: String,
    /// The reservations passed, first to last.
    pub sessions: Vec<String>,
}

/// The key of a connection to the authority of `uri`.
pub(super) fn authority(uri: &Uri) -> (String, u16, bool) {
    (
        uri.host.to_ascii_lowercase(),
        uri.port.unwrap_or(DEFAULT_PORT),
        uri.secure,
    )
}

impl Hub {
    /// Whether `uri`'s host and port name this relay: the domain (any
    /// port), or an address we listen on or `local` (the address the
    /// request's connection was made to).
    pub(super) fn names_us(&self, uri: &Uri, local: SocketAddr) -> bool {
        if uri.host.eq_ignore_ascii_case(&self.config.domain) {
            return true;
        }
        let Ok(ip) = uri.host.parse::<IpAddr>() else {
            return false;
        };
        let port = uri.port.unwrap_or(DEFAULT_PORT);
        let same = |a: &SocketAddr| a.port() == port && (a.ip() == ip || a.ip().is_unspecified());
        same(&local) || self.bound.lock().iter().any(same)
    }

    /// Decides where the request `head`, received on `from`, goes, and
    /// rewrites its paths; see the [parent module](super).
    pub(super) fn route(
        self: &Arc<Self>,
        from: &Arc<Peer>,
        head: &Head<'_>,
    ) -> Result<Routed, Refusal> {
        let path = |name: &str| -> Result<Vec<Uri>, Refusal> {
            let Some(v) = head.header(name) else {
                return refuse(400, format!("no {name}"));
            };
            let p: Result<Vec<Uri>, _> = v.split_ascii_whitespace().map(str::parse).collect();
            match p {
                Ok(p) if !p.is_empty() => Ok(p),
                _ => refuse(400, format!("a malformed {name}")),
            }
        };
        let mut to = path("To-Path")?;
        let mut from_path = path("From-Path")?;
        let clients = from.clients();
        let authenticated = !clients.is_empty();
        if authenticated && !clients.iter().any(|(c, _)| *c == from_path[0]) {
            return refuse(
                403,
                format!("From-Path {} is not the authenticated URI", from_path[0]),
            );
        }
        let sender_authority = from_path[0].clone();
        let mut sessions = Vec::new();
        let mut last_client = None;
        while to.first().is_some_and(|u| self.names_us(u, from.local)) {
            let uri = to.remove(0);
            let sid = uri.session_id.clone().unwrap_or_default();
            let reservations = self.reservations.lock();
            let Some(r) = reservations.get(&sid).filter(|r| {
                r.uri.session_id == uri.session_id && r.expires > std::time::Instant::now()
            }) else {
                return refuse(481, format!("no session {sid:?} here"));
            };
            last_client = Some((r.client.clone(), r.peer.clone()));
            drop(reservations);
            sessions.push(sid);
            from_path.insert(0, uri);
        }
        if sessions.is_empty() {
            return refuse(403, format!("{} is not this relay", to[0]));
        }
        let Some(next) = to.first() else {
            return refuse(400, "the To-Path ends at the relay");
        };
        let (client, client_peer) = last_client.expect("a session was passed");
        let to_client = *next == client;
        let own_first = clients.iter().any(|(_, sid)| *sid == sessions[0]);
        let toward_one_of_ours = sessions.len() == 1 && to_client;
        if !(toward_one_of_ours || (authenticated && own_first)) {
            return refuse(
                403,
                if authenticated {
                    "not through this connection's own reservation"
                } else {
                    "an unauthenticated connection may only send to one of our clients"
                },
            );
        }
        let target = if to_client {
            match client_peer.upgrade() {
                Some(p) => p,
                None => {
                    return refuse(
                        481,
                        format!("the client of {} is gone", sessions.last().unwrap()),
                    )
                }
            }
        } else {
            self.link_to(next)?
        };
        if target.id == from.id {
            return refuse(403, "the request would go back where it came from");
        }
        if !authenticated {
            // Later requests toward this peer's authority (a direct
            // endpoint or a relay) reuse its connection.
            self.links
                .lock()
                .entry(authority(&sender_authority))
                .and_modify(|w| {
                    if w.strong_count() == 0 {
                        *w = Arc::downgrade(from);
                    }
                })
                .or_insert_with(|| Arc::downgrade(from));
        }
        let tid = crate::msrp::random_id();
        let join = |v: &[Uri]| {
            let mut s = String::new();
            for (i, u) in v.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                u.write_to(&mut s);
            }
            s
        };
        let mut out = BytesMut::with_capacity(head.raw().len() + 128);
        let method = head.method().unwrap_or("SEND");
        out.put_slice(format!("MSRP {tid} {method}").as_bytes());
        let mut wrote = (false, false);
        for (name, value) in head.headers() {
            out.put_slice(b"\r\n");
            out.put_slice(name.as_bytes());
            out.put_slice(b": ");
            if name.eq_ignore_ascii_case("To-Path") && !wrote.0 {
                wrote.0 = true;
                out.put_slice(join(&to).as_bytes());
            } else if name.eq_ignore_ascii_case("From-Path") && !wrote.1 {
                wrote.1 = true;
                out.put_slice(join(&from_path).as_bytes());
            } else {
                out.put_slice(value.as_bytes());
            }
        }
        if head.has_body() {
            out.put_slice(b"\r\n\r\n");
        }
        Ok(Routed {
            target,
            head: out,
            tid,
            sessions,
        })
    }
}
