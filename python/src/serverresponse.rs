//! serverResponse for Python: the native half of `msgwire.serverresponse`.
//!
//! Translation only: the document layout, escaping, parsing, HTTP serving
//! and fetching are the core's (`msgwire::serverresponse`).
//!
//! Coming in (`sr_parse`, `sr_get`), a document is built straight into the
//! Python model, whose classes the caller passes as `model = (Result,
//! Item, List, Lists)`: the result is `(server, service, is_fault,
//! entries, faults, ignored)` with `entries` a list of `Result` and
//! `Lists` objects, `faults` a list of `Item` objects and `ignored` the
//! count of what the parser skipped. (Building the objects here, rather
//! than handing Python tuples to rebuild, parses a large table about
//! twice as fast.)
//!
//! Going out (`sr_to_xml`, server handlers), documents cross as plain
//! data: an entry is `("result", id, value)` or `("lists", id, rows)`, a
//! row `(id, [(id, value), ...])`, faults `[(id, value), ...]`; `rows` may
//! be any iterable and is consumed lazily.
//!
//! # Threads and the GIL
//!
//! `sr_get` and the server's shutdown release the GIL. Server handlers are
//! Python callables run on the server's worker threads: the worker takes
//! the GIL for the call and for pulling the next rows from a returned
//! iterable (256 at a time), and releases it while writing them to the
//! client, so a slow client never holds the GIL.

use std::io::{self, Write};
use std::sync::Mutex;

use msgwire_core::serverresponse::{
    self as sr, ClientError, EntryView, Fault, GetOptions, ParseErrorKind, Reply, Response, Server,
    ServerConfig, WriteError, Writer,
};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyIterator, PyList, PyTuple};

use crate::endpoint::{lock, seconds};
use crate::session::attach;
use crate::tls::{PyTlsClientConfig, PyTlsServerConfig};

/// The exception classes, defined in Python (`msgwire/serverresponse.py`).
mod exc {
    pyo3::import_exception!(msgwire.serverresponse, ParseError);
    pyo3::import_exception!(msgwire.serverresponse, ClientError);
}
use exc::{ClientError as PyClientError, ParseError};

/// Rows pulled from a Python iterable per GIL acquisition.
const ROW_BATCH: usize = 256;

fn parse_error(e: &sr::ParseError) -> PyErr {
    let kind = match e.kind {
        ParseErrorKind::Xml(_) => "xml",
        ParseErrorKind::NotUtf8 => "not_utf8",
        ParseErrorKind::Empty => "empty",
        ParseErrorKind::NotServerResponse(_) => "not_server_response",
        ParseErrorKind::Structure(_) => "structure",
        ParseErrorKind::MissingId { .. } => "missing_id",
        ParseErrorKind::TooLarge(_) => "too_large",
        ParseErrorKind::TooDeep(_) => "too_deep",
        _ => "io",
    };
    ParseError::new_err((e.to_string(), e.position, kind))
}

fn client_error(e: ClientError) -> PyErr {
    let (kind, status, position) = match &e {
        ClientError::BadUrl(_) => ("bad_url", None, None),
        ClientError::Connect(_) => ("connect", None, None),
        ClientError::Tls(_) => ("tls", None, None),
        ClientError::Io(_) => ("io", None, None),
        ClientError::Timeout => ("timeout", None, None),
        ClientError::BadReply(_) => ("bad_reply", None, None),
        ClientError::Http { status, .. } => ("http", Some(*status), None),
        ClientError::Document { status, error } => {
            ("document", Some(*status), Some(error.position))
        }
        _ => ("io", None, None),
    };
    PyClientError::new_err((e.to_string(), kind, status, position))
}

fn write_error(e: WriteError, sink_error: Option<PyErr>) -> PyErr {
    match (e, sink_error) {
        (_, Some(original)) => original,
        (WriteError::Order(why), None) => PyValueError::new_err(why),
        (e, None) => PyRuntimeError::new_err(e.to_string()),
    }
}

/// The Python model's classes, as the caller passes them: `(Result,
/// Item, List, Lists)`.
type Model<'py> = (
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
);

/// A document built into the Python model (see the module docs).
fn doc_object<'py>(
    py: Python<'py>,
    doc: &Response,
    model: &Model<'py>,
) -> PyResult<Bound<'py, PyTuple>> {
    let (result, item, list, lists) = model;
    let pair = |class: &Bound<'py, PyAny>, f: sr::FieldView<'_>| class.call1((f.id, f.value));
    let mut entries = Vec::with_capacity(doc.entries().len());
    for e in doc.entries() {
        entries.push(match e {
            EntryView::Result(f) => pair(result, f)?,
            EntryView::Lists(l) => {
                let mut rows = Vec::with_capacity(l.len());
                for r in l.rows() {
                    let items = r
                        .items()
                        .map(|f| pair(item, f))
                        .collect::<PyResult<Vec<_>>>()?;
                    rows.push(list.call1((r.id(), PyList::new(py, items)?))?);
                }
                lists.call1((l.id(), PyList::new(py, rows)?))?
            }
        });
    }
    let faults = doc
        .fault_fields()
        .map(|f| pair(item, f))
        .collect::<PyResult<Vec<_>>>()?;
    (
        doc.server.as_str(),
        doc.service.as_str(),
        doc.is_fault(),
        PyList::new(py, entries)?,
        PyList::new(py, faults)?,
        doc.ignored.len(),
    )
        .into_pyobject(py)
}

/// Parses a document (GIL released) into the model `(Result, Item, List,
/// Lists)`; raises `msgwire.serverresponse.ParseError(message, position,
/// kind)`.
#[pyfunction]
pub(crate) fn sr_parse<'py>(
    py: Python<'py>,
    data: &[u8],
    model: Model<'py>,
) -> PyResult<Bound<'py, PyTuple>> {
    let doc = py.detach(|| sr::parse(data)).map_err(|e| parse_error(&e))?;
    doc_object(py, &doc, &model)
}

/// Fetches a URL (GIL released) and returns the document built into the
/// model `(Result, Item, List, Lists)`; raises
/// `msgwire.serverresponse.ClientError(message, kind, status, position)`.
/// `tls` (what the client trusts) is needed for `https://`.
#[pyfunction]
#[pyo3(signature = (url, model, timeout=10.0, tls=None))]
pub(crate) fn sr_get<'py>(
    py: Python<'py>,
    url: &str,
    model: Model<'py>,
    timeout: f64,
    tls: Option<PyRef<'py, PyTlsClientConfig>>,
) -> PyResult<Bound<'py, PyTuple>> {
    let mut options = GetOptions::default().with_timeout(seconds(timeout, "timeout")?);
    if let Some(tls) = tls {
        options = options.with_tls(tls.inner.clone());
    }
    let doc = py
        .detach(|| sr::get_with(url, &options))
        .map_err(client_error)?;
    doc_object(py, &doc, &model)
}

/// Writes a document from plain data (`faults` is `None` for a results
/// document) and returns its bytes.
#[pyfunction]
#[pyo3(signature = (server, service, entries, faults=None))]
pub(crate) fn sr_to_xml<'py>(
    py: Python<'py>,
    server: &str,
    service: &str,
    entries: &Bound<'py, PyAny>,
    faults: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let order = |e| write_error(e, None);
    let mut w = Writer::new(Vec::new(), server, service);
    match faults {
        Some(faults) => {
            w.open_faults().map_err(order)?;
            for f in faults.try_iter()? {
                let (id, value): (String, String) = f?.extract()?;
                w.fault(&id, &value).map_err(order)?;
            }
        }
        None => {
            for e in entries.try_iter()? {
                match py_entry(&e?)? {
                    PyEntry::Result(id, value) => w.result(&id, &value).map_err(order)?,
                    PyEntry::Lists(id, rows) => {
                        w.begin_lists(&id).map_err(order)?;
                        for row in rows {
                            let (rid, items): PyRow = row?.extract()?;
                            w.row(&rid, items.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                                .map_err(order)?;
                        }
                        w.end_lists().map_err(order)?;
                    }
                }
            }
        }
    }
    w.finish().map_err(order)?;
    Ok(PyBytes::new(py, &w.into_inner()))
}

/// One outgoing entry: a result, or a table with its rows still to pull.
enum PyEntry<'py> {
    Result(String, String),
    Lists(String, Bound<'py, PyIterator>),
}

fn py_entry<'py>(e: &Bound<'py, PyAny>) -> PyResult<PyEntry<'py>> {
    let t = e.cast::<PyTuple>()?;
    let tag: String = t.get_item(0)?.extract()?;
    let id: String = t.get_item(1)?.extract()?;
    match tag.as_str() {
        "result" => Ok(PyEntry::Result(id, t.get_item(2)?.extract()?)),
        "lists" => Ok(PyEntry::Lists(id, t.get_item(2)?.try_iter()?)),
        other => Err(PyValueError::new_err(format!(
            "unknown entry kind {other:?}"
        ))),
    }
}

type PyRow = (String, Vec<(String, String)>);

/// A sink calling a Python `write(bytes)` callable; keeps the Python
/// exception of a failed call so it can be raised as it was.
struct PySink {
    write: Py<PyAny>,
    error: Option<PyErr>,
}

impl Write for PySink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let result = Python::attach(|py| self.write.call1(py, (PyBytes::new(py, data),)).map(drop));
        match result {
            Ok(()) => Ok(data.len()),
            Err(e) => {
                let text = e.to_string();
                self.error = Some(e);
                Err(io::Error::other(text))
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The streaming writer behind `msgwire.serverresponse.Writer`: each call
/// passes its piece to `write` at once.
#[pyclass(module = "msgwire._native", name = "SrWriter")]
pub(crate) struct PySrWriter {
    inner: Writer<PySink>,
}

impl PySrWriter {
    fn run(
        &mut self,
        f: impl FnOnce(&mut Writer<PySink>) -> Result<(), WriteError>,
    ) -> PyResult<()> {
        f(&mut self.inner).map_err(|e| write_error(e, self.inner.get_mut().error.take()))
    }
}

#[pymethods]
impl PySrWriter {
    /// A writer passing its bytes to `write` (e.g. a file's `write`).
    #[new]
    fn new(write: Py<PyAny>, server: &str, service: &str) -> Self {
        PySrWriter {
            inner: Writer::new(PySink { write, error: None }, server, service),
        }
    }

    /// `<result id value/>`.
    fn result(&mut self, id: &str, value: &str) -> PyResult<()> {
        self.run(|w| w.result(id, value))
    }

    /// Opens a `<lists id>` table.
    fn begin_lists(&mut self, id: &str) -> PyResult<()> {
        self.run(|w| w.begin_lists(id))
    }

    /// Opens a `<list id>` row.
    fn begin_row(&mut self, id: &str) -> PyResult<()> {
        self.run(|w| w.begin_row(id))
    }

    /// `<item id value/>` in the open row.
    fn item(&mut self, id: &str, value: &str) -> PyResult<()> {
        self.run(|w| w.item(id, value))
    }

    /// Closes the open row.
    fn end_row(&mut self) -> PyResult<()> {
        self.run(|w| w.end_row())
    }

    /// Closes the open table.
    fn end_lists(&mut self) -> PyResult<()> {
        self.run(|w| w.end_lists())
    }

    /// `<fault id value/>`.
    fn fault(&mut self, id: &str, value: &str) -> PyResult<()> {
        self.run(|w| w.fault(id, value))
    }

    /// Closes the document.
    fn finish(&mut self) -> PyResult<()> {
        self.run(|w| w.finish())
    }

    /// Whether `finish` ran.
    #[getter]
    fn finished(&self) -> bool {
        self.inner.is_finished()
    }
}

/// The embedded server behind `msgwire.serverresponse.Server`.
#[pyclass(module = "msgwire._native", name = "SrServer", frozen)]
pub(crate) struct PySrServer {
    server: Mutex<Option<Server>>,
    port: u16,
}

#[pymethods]
impl PySrServer {
    /// Listens on `host:port` and starts the worker threads; with `tls`
    /// (certificate and key), serves HTTPS.
    #[new]
    #[pyo3(signature = (host="127.0.0.1", port=0, read_timeout=10.0, max_connections=256, workers=16, server_name="msgwire", max_head=8192, tls=None, write_timeout=30.0, shutdown_timeout=2.0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        host: &str,
        port: u16,
        read_timeout: f64,
        max_connections: usize,
        workers: usize,
        server_name: &str,
        max_head: usize,
        tls: Option<PyRef<'_, PyTlsServerConfig>>,
        write_timeout: f64,
        shutdown_timeout: f64,
    ) -> PyResult<Self> {
        if max_connections == 0 || workers == 0 {
            return Err(PyValueError::new_err(
                "max_connections and workers must be at least 1",
            ));
        }
        let config = ServerConfig {
            server_name: server_name.to_string(),
            read_timeout: seconds(read_timeout, "read_timeout")?,
            write_timeout: seconds(write_timeout, "write_timeout")?,
            shutdown_timeout: seconds(shutdown_timeout, "shutdown_timeout")?,
            max_connections,
            workers,
            max_head,
            tls: tls.map(|t| t.inner.clone()),
        };
        let host = host.to_string();
        let server = py
            .detach(|| {
                let bare = host.trim_start_matches('[').trim_end_matches(']');
                Server::bind((bare, port), config)
            })
            .map_err(|e| pyo3::exceptions::PyOSError::new_err(e.to_string()))?;
        let port = server.local_addr().port();
        Ok(PySrServer {
            server: Mutex::new(Some(server)),
            port,
        })
    }

    /// The port listened on.
    #[getter]
    fn port(&self) -> u16 {
        self.port
    }

    /// Serves `name` with `dispatch(args) -> outcome`, called with the
    /// GIL on a worker thread: `args` is a list of `(key, value)` pairs;
    /// the outcome is `("ok", entries)` or `("fault", code, text)`.
    fn method(&self, name: &str, dispatch: Py<PyAny>) -> PyResult<()> {
        let guard = lock(&self.server);
        let server = guard
            .as_ref()
            .ok_or_else(|| PyRuntimeError::new_err("the server is closed"))?;
        server.method(name, move |req, reply| serve(&dispatch, req, reply));
        Ok(())
    }

    /// Stops the server and releases its port (GIL released while the
    /// running handlers finish, for at most `shutdown_timeout`: a handler
    /// still running then is left to return on its own thread). Calling
    /// it again does nothing.
    fn close(&self, py: Python<'_>) {
        let server = lock(&self.server).take();
        if let Some(s) = server {
            py.detach(move || {
                s.shutdown();
                drop(s);
            });
        }
    }
}

/// Runs a Python handler for one request and writes its outcome.
fn serve(dispatch: &Py<PyAny>, req: &sr::Request, reply: &mut Reply) -> Result<(), Fault> {
    // The handler's outcome: an iterator of entries (tables' rows still to
    // pull), or a fault.
    let entries: Py<PyIterator> = with_gil(|py| {
        let out = dispatch.call1(py, (req.args.clone(),))?;
        let t = out.bind(py).cast::<PyTuple>()?;
        let tag: String = t.get_item(0)?.extract()?;
        if tag == "fault" {
            let code: u32 = t.get_item(1)?.extract()?;
            let text: String = t.get_item(2)?.extract()?;
            return Ok(Err(Fault::new(code, text)));
        }
        Ok(Ok(t.get_item(1)?.try_iter()?.unbind()))
    })??;
    loop {
        let next = with_gil(|py| {
            let Some(e) = entries.bind(py).clone().next() else {
                return Ok(None);
            };
            Ok(Some(match py_entry(&e?)? {
                PyEntry::Result(id, value) => (id, Some(value), None),
                PyEntry::Lists(id, rows) => (id, None, Some(rows.unbind())),
            }))
        })?;
        match next {
            None => return Ok(()),
            Some((id, Some(value), _)) => reply.result(&id, &value)?,
            Some((id, _, rows)) => {
                reply.begin_lists(&id)?;
                while let Some(rows) = &rows {
                    let batch = with_gil(|py| {
                        let mut it = rows.bind(py).clone();
                        let mut batch: Vec<PyRow> = Vec::with_capacity(ROW_BATCH);
                        for row in it.by_ref().take(ROW_BATCH) {
                            batch.push(row?.extract()?);
                        }
                        Ok(batch)
                    })?;
                    if batch.is_empty() {
                        break;
                    }
                    // Written without the GIL (the worker does not hold it).
                    for (rid, items) in &batch {
                        reply.row(rid, items.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
                    }
                }
                reply.end_lists()?;
            }
        }
    }
}

/// Runs `f` with the GIL on a worker thread; a Python error (or an
/// interpreter on its way out) becomes a 600 fault.
fn with_gil<R>(f: impl FnOnce(Python<'_>) -> PyResult<R>) -> Result<R, Fault> {
    attach(f)
        .ok_or_else(|| Fault::command_failed("the interpreter is exiting"))?
        .map_err(|e| Fault::command_failed(format!("handler failed: {e}")))
}
