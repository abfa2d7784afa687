//! The streaming parser as a Python iterator.
//!
//! `feed()` appends bytes to an internal buffer; iterating runs the core
//! [`Parser`] over the buffer and yields one event per step:
//!
//! * `("start", transaction_id, method, code, comment, headers, has_body, raw_head)`
//! * `("data", bytes)`
//! * `("end", contflag, footer)`
//!
//! A protocol violation raises `msrplib.protocol.ChunkParsingError` from
//! `__next__`; the core parser has already recovered, so iterating again
//! goes on with the input after the bad part. Consumed input is dropped as
//! soon as the buffer has been parsed to its end, so memory stays bounded by
//! what the caller feeds between two iterations.

use msgwire_core::msrp::{Event, Parser, ParserConfig};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use pyo3::IntoPyObjectExt;

use crate::chunk::{flag_str, footer, head_parts};
use crate::errors::CoreError;

/// Incremental MSRP parser (see the module docs of `msgwire.msrp`).
#[pyclass(module = "msgwire._native", name = "Parser")]
pub(crate) struct PyParser {
    /// Boxed: the core parser embeds a SIMD searcher aligned to 32 bytes,
    /// more than Python guarantees for the object memory pyo3 places a
    /// class in (16 bytes), so it must live in its own allocation.
    inner: Box<Parser>,
    buf: Vec<u8>,
    pos: usize,
    /// Whether the chunk being parsed has a body (decides the footer bytes).
    has_body: bool,
    /// The transaction id of the chunk being parsed (for its footer).
    tid: String,
}

#[pymethods]
impl PyParser {
    /// A parser; every limit left as `None` keeps the core default
    /// (16,384-byte lines, 64 headers, 64 MiB bodies, lenient Byte-Range).
    #[new]
    #[pyo3(signature = (*, max_line_len=None, max_headers=None, max_body_len=None, strict_byte_range=None))]
    fn new(
        max_line_len: Option<usize>,
        max_headers: Option<usize>,
        max_body_len: Option<u64>,
        strict_byte_range: Option<bool>,
    ) -> Self {
        let mut config = ParserConfig::default();
        if let Some(v) = max_line_len {
            config.max_line_len = v;
        }
        if let Some(v) = max_headers {
            config.max_headers = v;
        }
        if let Some(v) = max_body_len {
            config.max_body_len = v;
        }
        if let Some(v) = strict_byte_range {
            config.strict_byte_range = v;
        }
        PyParser {
            inner: Box::new(Parser::with_config(config)),
            buf: Vec::new(),
            pos: 0,
            has_body: false,
            tid: String::new(),
        }
    }

    /// Appends input; nothing is parsed until the parser is iterated.
    fn feed(&mut self, data: &[u8]) {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        self.buf.extend_from_slice(data);
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let PyParser {
            inner,
            buf,
            pos,
            has_body,
            tid: current_tid,
        } = self;
        let (used, result) = inner.parse(&buf[*pos..]);
        *pos += used;
        let event = match result {
            Ok(Some(event)) => event,
            Ok(None) => {
                buf.clear();
                *pos = 0;
                return Ok(None);
            }
            Err(e) => return Err(CoreError::from(e).into()),
        };
        let tuple = match event {
            Event::Start(head) => {
                *has_body = head.has_body();
                let (tid, method, code, comment, headers) = head_parts(&head);
                current_tid.clone_from(&tid);
                (
                    "start",
                    tid,
                    method,
                    code,
                    comment,
                    headers,
                    head.has_body(),
                    PyBytes::new(py, head.raw().as_bytes()),
                )
                    .into_bound_py_any(py)?
            }
            Event::Data(d) => ("data", PyBytes::new(py, d)).into_bound_py_any(py)?,
            Event::End(flag) => {
                let bytes = footer(current_tid, flag, *has_body);
                ("end", flag_str(flag), PyBytes::new(py, &bytes)).into_bound_py_any(py)?
            }
        };
        Ok(Some(tuple.cast_into::<PyTuple>()?))
    }

    /// Signals the end of input. Raises `ChunkParsingError` (kind
    /// `unexpected_eof`) when a chunk was left incomplete; the parser is
    /// reset either way.
    fn finish(&mut self) -> PyResult<()> {
        self.buf.clear();
        self.pos = 0;
        self.inner.finish().map_err(CoreError::from)?;
        Ok(())
    }

    /// Forgets buffered input and any partial chunk.
    fn reset(&mut self) {
        self.buf.clear();
        self.pos = 0;
        self.inner.reset();
    }

    /// The transaction id of the chunk being parsed, if its start line has
    /// been read.
    #[getter]
    fn transaction_id(&self) -> Option<String> {
        self.inner.current_transaction_id().map(str::to_string)
    }

    /// Whether the parser is between chunks with nothing buffered.
    #[getter]
    fn idle(&self) -> bool {
        self.pos == self.buf.len() && self.inner.is_idle()
    }

    /// Bytes fed but not yet parsed.
    #[getter]
    fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }
}
