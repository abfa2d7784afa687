//! The status pages, served by the serverResponse HTTP server:
//!
//! * `/status.xml` — the relay's counters as results (`connections`,
//!   `connections_total`, `reservations`, `auth_ok`, `auth_failed`,
//!   `forwarded`, `responses`, `refused`, `timeouts`, `bytes`), with the
//!   realm and the uptime in seconds;
//! * `/sessions.xml` — a `sessions` table, one `session` row per
//!   reservation: `user`, `session_id`, `peer`, `expires` (seconds left),
//!   `bytes` (body bytes relayed from and to that client).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use super::Hub;
use crate::serverresponse::{Fault, Server, ServerConfig};

pub(super) fn serve(hub: &Arc<Hub>, addr: SocketAddr) -> std::io::Result<Server> {
    let server = Server::bind(addr, ServerConfig::default())?;
    let started = Instant::now();
    let weak = Arc::downgrade(hub);
    server.method("status", move |_req, reply| {
        let hub = weak
            .upgrade()
            .ok_or_else(|| Fault::command_failed("relay stopped"))?;
        reply.result("realm", &hub.config.realm)?;
        reply.result("uptime", &started.elapsed().as_secs().to_string())?;
        for (name, v) in hub.counters().named() {
            reply.result(name, &v.to_string())?;
        }
        Ok(())
    });
    let weak = Arc::downgrade(hub);
    server.method("sessions", move |_req, reply| {
        let hub = weak
            .upgrade()
            .ok_or_else(|| Fault::command_failed("relay stopped"))?;
        reply.begin_lists("sessions")?;
        for r in hub.reservations() {
            reply.begin_row("session")?;
            reply.item("user", &r.user)?;
            reply.item("session_id", &r.session_id)?;
            reply.item("peer", &r.peer.to_string())?;
            reply.item("expires", &r.expires_in.as_secs().to_string())?;
            reply.item("bytes", &r.bytes.to_string())?;
            reply.end_row()?;
        }
        reply.end_lists()?;
        Ok(())
    });
    Ok(server)
}
