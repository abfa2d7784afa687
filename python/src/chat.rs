//! `msgwire.chat`'s native half: the core [`Chat`] as `_native.Chat`.
//!
//! The pure-Python `msgwire.chat.MSRPChat` owns one of these and a thread
//! that reads its events with [`PyChat::next_event`] (the GIL released
//! while waiting) and hands them to the observers. Events cross as
//! `(name, fields)` with the fields a dict of plain values; chunks become
//! `msrplib.protocol.MSRPData` objects. Media cross as SDP text that
//! `msgwire.sdp.MSRPMedia` parses and encodes. Every decision (wrapping,
//! ordering, is-composing, expiry) is the core's.

use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError};
use msgwire_core::msrp::chat::iscomposing::ComposingState;
use msgwire_core::msrp::chat::{Chat, ChatConfig, ChatError, ChatEvent, ChatTls};
use msgwire_core::msrp::cpim::DateTime;
use msgwire_core::msrp::relay::RelaySettings;
use msgwire_core::msrp::sdp::MsrpMedia;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::chunk::{body_bytes, chunk_object};
use crate::tls::{PyTlsClientConfig, PyTlsServerConfig};

pyo3::import_exception!(msgwire.chat, MSRPChatError);

/// `(domain, username, password, host, port, use_tls)` of a relay.
type RelayParts = (String, String, String, Option<String>, Option<u16>, bool);

fn chat_error(e: ChatError) -> PyErr {
    MSRPChatError::new_err(e.to_string())
}

fn parse_dt(text: Option<&str>, what: &str) -> PyResult<Option<DateTime>> {
    match text {
        None => Ok(None),
        Some(t) => DateTime::parse(t)
            .map(Some)
            .ok_or_else(|| MSRPChatError::new_err(format!("invalid {what} {t:?}"))),
    }
}

fn media_text(media: &MsrpMedia) -> PyResult<String> {
    media
        .encode()
        .map_err(|e| MSRPChatError::new_err(format!("cannot encode the local media: {e}")))
}

/// One chat (see `msgwire.chat.MSRPChat`).
#[pyclass(name = "Chat", module = "msgwire._native", frozen)]
pub(crate) struct PyChat {
    chat: Chat,
    events: Receiver<ChatEvent>,
}

#[pymethods]
impl PyChat {
    #[new]
    #[pyo3(signature = (local_identity, remote_identity, outgoing, accept_types, accept_wrapped_types, local_address=None, relay=None, relay_tls=None, tls=false, tls_server=None, tls_client=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        local_identity: String,
        remote_identity: String,
        outgoing: bool,
        accept_types: Vec<String>,
        accept_wrapped_types: Vec<String>,
        local_address: Option<String>,
        relay: Option<RelayParts>,
        relay_tls: Option<PyRef<'_, PyTlsClientConfig>>,
        tls: bool,
        tls_server: Option<PyRef<'_, PyTlsServerConfig>>,
        tls_client: Option<PyRef<'_, PyTlsClientConfig>>,
    ) -> PyResult<Self> {
        let mut config = ChatConfig::new(local_identity, remote_identity, outgoing);
        config.accept_types = accept_types;
        config.accept_wrapped_types = accept_wrapped_types;
        config.local_address = local_address;
        if let Some((domain, username, password, host, port, use_tls)) = relay {
            let mut s = RelaySettings::new(&domain, &username, &password);
            s.host = host;
            s.port = port;
            s.use_tls = use_tls;
            s.tls = relay_tls.map(|t| t.inner.clone());
            config.relay = Some(s);
        }
        if tls {
            config.tls = Some(ChatTls {
                server: tls_server.map(|t| t.inner.clone()),
                client: tls_client.map(|t| t.inner.clone()),
            });
        }
        let (chat, events) = Chat::with_channel(config).map_err(chat_error)?;
        Ok(PyChat { chat, events })
    }

    /// Prepares the connection; returns the local media as SDP text.
    fn initialize(&self, py: Python<'_>) -> PyResult<String> {
        let media = py.detach(|| self.chat.initialize()).map_err(chat_error)?;
        media_text(&media)
    }

    /// Completes the connection with the peer's media (SDP text).
    fn start(&self, py: Python<'_>, remote_media: &str) -> PyResult<()> {
        let media = MsrpMedia::parse(remote_media)
            .map_err(|e| MSRPChatError::new_err(format!("invalid remote media: {e}")))?;
        py.detach(|| self.chat.start(&media)).map_err(chat_error)
    }

    /// Ends the chat (blocks until the session is closed).
    fn end(&self, py: Python<'_>) {
        py.detach(|| self.chat.end());
    }

    /// Sends (or queues) a message; returns the SEND as `MSRPData`.
    /// `dt`: an RFC 3339 date-time text.
    #[pyo3(signature = (content, content_type, to_uri=None, dt=None))]
    fn send_message<'py>(
        &self,
        py: Python<'py>,
        content: &Bound<'py, PyAny>,
        content_type: &str,
        to_uri: Option<&str>,
        dt: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let body = bytes::Bytes::copy_from_slice(&body_bytes(content)?);
        let dt = parse_dt(dt, "dt")?;
        let chunk = py
            .detach(|| self.chat.send_message(body, content_type, to_uri, dt))
            .map_err(chat_error)?;
        chunk_object(py, chunk)
    }

    /// Sends (or queues) an is-composing indication; returns the SEND.
    #[pyo3(signature = (state, refresh=None, last_active=None))]
    fn send_composing_indication<'py>(
        &self,
        py: Python<'py>,
        state: &str,
        refresh: Option<u32>,
        last_active: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let state = ComposingState::parse(state).ok_or_else(|| {
            MSRPChatError::new_err(format!("invalid is-composing state {state:?}"))
        })?;
        let last_active = parse_dt(last_active, "last_active")?;
        let chunk = py
            .detach(|| {
                self.chat
                    .send_composing_indication(state, refresh, last_active)
            })
            .map_err(chat_error)?;
        chunk_object(py, chunk)
    }

    /// The next event as `(name, fields)`, waiting at most `timeout`
    /// seconds (`None`: until one comes); `None` on timeout. Raises
    /// `EOFError` once the chat is gone and every event was read.
    #[pyo3(signature = (timeout=None))]
    fn next_event<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
    ) -> PyResult<Option<(&'static str, Bound<'py, PyDict>)>> {
        let got = py.detach(|| match timeout {
            Some(t) => self
                .events
                .recv_timeout(Duration::from_secs_f64(t.max(0.0))),
            None => self
                .events
                .recv()
                .map_err(|_| RecvTimeoutError::Disconnected),
        });
        let event = match got {
            Ok(ev) => ev,
            Err(RecvTimeoutError::Timeout) => return Ok(None),
            Err(RecvTimeoutError::Disconnected) => {
                return Err(pyo3::exceptions::PyEOFError::new_err("the chat is gone"))
            }
        };
        let name = event.name();
        Ok(Some((name, event_fields(py, event)?)))
    }
}

/// The fields of an event as the notification data carries them.
fn event_fields(py: Python<'_>, event: ChatEvent) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    match event {
        ChatEvent::DidInitialize { media } => d.set_item("sdpmedia", media_text(&media)?)?,
        ChatEvent::DidFail {
            context,
            reason,
            failure,
        } => {
            d.set_item("context", context.as_str())?;
            d.set_item("reason", reason)?;
            d.set_item("failure", failure)?;
        }
        ChatEvent::GotMessage(m) => {
            match m.text() {
                Some(text) => d.set_item("content", text)?,
                None => d.set_item("content", PyBytes::new(py, &m.content))?,
            }
            d.set_item("content_type", m.content_type)?;
            let headers = PyDict::new(py);
            for (name, value) in m.cpim_headers {
                // The first of repeated headers (several To lines) wins.
                if !headers.contains(&name)? {
                    headers.set_item(name, value)?;
                }
            }
            d.set_item("cpim_headers", headers)?;
            d.set_item("message", chunk_object(py, m.message)?)?;
        }
        ChatEvent::DidDeliverMessage(r) | ChatEvent::DidNotDeliverMessage(r) => {
            d.set_item("message_id", r.message_id)?;
            d.set_item("code", r.code)?;
            d.set_item("reason", r.reason)?;
            d.set_item("message", chunk_object(py, r.message)?)?;
        }
        ChatEvent::GotComposingIndication(c) => {
            d.set_item("state", c.state.as_str())?;
            d.set_item("refresh", c.refresh)?;
            d.set_item("last_active", c.last_active.map(|t| t.to_string()))?;
            d.set_item("content_type", c.content_type)?;
        }
        // DidStart, WillEnd, DidEnd and any later field-less event.
        _ => {}
    }
    Ok(d)
}
