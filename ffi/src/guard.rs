//! The machinery every exported function shares: the panic guard, NULL
//! checks, handle allocation, and the string and buffer conventions.
//!
//! Keeping these in one place keeps the exported functions uniform: each one
//! is `guard(|| { check arguments; call the core; write outputs })`.
//!
//! # Pointer contract
//!
//! C passes raw pointers. This module checks them for NULL and reports
//! `MSGWIRE_NULL_PARAMETER`; everything else about a non-NULL pointer (that
//! it points to a live object of the right type, is aligned, and is not used
//! concurrently for writing) is the caller's side of the contract stated in
//! the header. The `unsafe` helpers below are where that trust is taken.
//!
//! # Handles
//!
//! Every handle is a `Box` turned into a raw pointer; [`new_handle`] and
//! [`free_handle`] are the only places that know it. Nothing is shared
//! between handles, so no reference counting is needed.

use std::any::Any;
use std::ffi::{c_char, CStr};
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;

use crate::error::{msgwire_status, set_last_error, Error};

/// A borrowed string handed out by msgwire: `ptr` points at `len` bytes of
/// UTF-8 followed by a NUL byte, so `ptr` can be used as a C string.
///
/// `len` is authoritative: text received from the network may itself
/// contain NUL bytes, which a C-string reading would cut short. The memory
/// belongs to the object it was read from; the function that returns a
/// `msgwire_str` says how long it stays valid.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct msgwire_str {
    /// The first byte; never NULL; `ptr[len]` is `'\0'`.
    pub ptr: *const c_char,
    /// The number of bytes before the terminating NUL.
    pub len: usize,
}

/// Runs the body of an exported function that returns a status.
///
/// `Ok` becomes `MSGWIRE_OK`; an [`Error`] stores its message for
/// `msgwire_last_error()` and returns its status; a panic stores a message
/// and returns `MSGWIRE_PANIC`.
pub fn guard(body: impl FnOnce() -> Result<(), Error>) -> msgwire_status {
    guard_value(msgwire_status::MSGWIRE_PANIC, || match body() {
        Ok(()) => msgwire_status::MSGWIRE_OK,
        Err(e) => {
            set_last_error(&e.message);
            e.status
        }
    })
}

/// Runs the body of an exported function that returns a plain value,
/// returning `on_panic` if the body panics. [`guard`] is built on it, so
/// this is the one place where unwinding stops.
pub fn guard_value<R>(on_panic: R, body: impl FnOnce() -> R) -> R {
    // AssertUnwindSafe: after a panic the only state we keep using is the
    // handles the caller passed in. Their Rust values stay memory-safe
    // whatever step panicked; at worst they hold partial results, which
    // MSGWIRE_PANIC documents.
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(payload) => {
            set_last_error(&format!(
                "internal error (panic) in msgwire: {}",
                panic_text(&*payload)
            ));
            on_panic
        }
    }
}

fn panic_text(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "unknown panic"
    }
}

/// Moves `value` to the heap and hands ownership to C.
pub fn new_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Takes ownership back from C and drops the value; NULL is a no-op.
///
/// # Safety
///
/// `handle` is NULL or came from [`new_handle`] with the same `T` and has not
/// been freed; it is not used afterwards.
pub unsafe fn free_handle<T>(handle: *mut T) {
    if !handle.is_null() {
        // SAFETY: per this function's contract the pointer came from
        // Box::into_raw for a T and is freed exactly once.
        drop(unsafe { Box::from_raw(handle) });
    }
}

/// Borrows the object behind a non-NULL pointer, or reports which parameter
/// was NULL.
///
/// # Safety
///
/// A non-NULL `ptr` points to a live `T` that nobody mutates during `'a`.
pub unsafe fn arg_ref<'a, T>(ptr: *const T, name: &str) -> Result<&'a T, Error> {
    // SAFETY: guaranteed by the caller as documented above.
    unsafe { ptr.as_ref() }.ok_or_else(|| Error::null(name))
}

/// Mutably borrows the object behind a non-NULL pointer.
///
/// # Safety
///
/// A non-NULL `ptr` points to a live `T` that nothing else accesses during
/// `'a`.
pub unsafe fn arg_mut<'a, T>(ptr: *mut T, name: &str) -> Result<&'a mut T, Error> {
    // SAFETY: guaranteed by the caller as documented above.
    unsafe { ptr.as_mut() }.ok_or_else(|| Error::null(name))
}

/// Reads a NUL-terminated UTF-8 string argument.
///
/// # Safety
///
/// A non-NULL `ptr` points to a NUL-terminated string that stays unchanged
/// during `'a`.
pub unsafe fn arg_str<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, Error> {
    if ptr.is_null() {
        return Err(Error::null(name));
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    let text = unsafe { CStr::from_ptr(ptr) };
    text.to_str().map_err(|e| {
        Error::new(
            msgwire_status::MSGWIRE_INVALID_UTF8,
            format!("{name} is not valid UTF-8: {e}"),
        )
    })
}

/// Reads an optional string argument: NULL gives `None`.
///
/// # Safety
///
/// As for [`arg_str`].
pub unsafe fn arg_opt_str<'a>(ptr: *const c_char, name: &str) -> Result<Option<&'a str>, Error> {
    if ptr.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded contract.
        unsafe { arg_str(ptr, name) }.map(Some)
    }
}

/// Reads a `(pointer, length)` byte argument; the pointer may be NULL only
/// when the length is 0.
///
/// # Safety
///
/// A non-NULL `ptr` points to `len` readable bytes that stay unchanged during
/// `'a`.
pub unsafe fn arg_bytes<'a>(ptr: *const u8, len: usize, name: &str) -> Result<&'a [u8], Error> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Error::null(name));
    }
    // SAFETY: non-NULL and valid for `len` bytes per the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A checked out-pointer. It is created before any work is done (so a NULL
/// is reported up front) and written only once the result is known, which
/// is how "outputs are written only on success" is kept.
pub struct Out<'a, T> {
    ptr: NonNull<T>,
    _lifetime: PhantomData<&'a mut T>,
}

impl<T> Out<'_, T> {
    /// Stores the result (without reading or dropping what was there).
    pub fn set(self, value: T) {
        // SAFETY: the pointer was checked non-NULL in `arg_out`, whose caller
        // vouched that it is valid and aligned for writing a T.
        unsafe { self.ptr.as_ptr().write(value) }
    }
}

/// Checks an out-pointer argument.
///
/// # Safety
///
/// A non-NULL `ptr` is valid and aligned for writing a `T` during `'a`.
pub unsafe fn arg_out<'a, T>(ptr: *mut T, name: &str) -> Result<Out<'a, T>, Error> {
    NonNull::new(ptr)
        .map(|ptr| Out {
            ptr,
            _lifetime: PhantomData,
        })
        .ok_or_else(|| Error::null(name))
}

/// A caller-supplied output buffer `(buf, cap, out_len)`.
pub struct OutBuf<'a> {
    buf: *mut u8,
    cap: usize,
    out_len: Out<'a, usize>,
}

/// Checks a caller buffer: `buf` may be NULL only when `cap` is 0 (to ask
/// for the needed length); `out_len` must not be NULL.
///
/// # Safety
///
/// A non-NULL `buf` is valid for writing `cap` bytes, and a non-NULL
/// `out_len` for writing a `size_t`, during `'a`.
pub unsafe fn arg_buf<'a>(
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> Result<OutBuf<'a>, Error> {
    if buf.is_null() && cap != 0 {
        return Err(Error::null("buf"));
    }
    Ok(OutBuf {
        buf,
        cap,
        // SAFETY: forwarded contract.
        out_len: unsafe { arg_out(out_len, "out_len")? },
    })
}

impl OutBuf<'_> {
    /// Copies `bytes`, followed by a NUL when `nul` is set, into the buffer
    /// and stores `bytes.len()` (never counting the NUL) in `*out_len`.
    ///
    /// When the buffer is too small nothing is copied, `*out_len` still
    /// receives `bytes.len()` so the caller can retry with a buffer of
    /// `bytes.len()` (+1 for text) bytes, and `MSGWIRE_BUFFER_TOO_SMALL` is
    /// returned.
    pub fn fill(self, bytes: &[u8], nul: bool) -> Result<(), Error> {
        let needed = bytes.len() + usize::from(nul);
        if needed > self.cap {
            self.out_len.set(bytes.len());
            return Err(Error::new(
                msgwire_status::MSGWIRE_BUFFER_TOO_SMALL,
                format!(
                    "buffer of {} bytes is too small: {} bytes needed",
                    self.cap, needed
                ),
            ));
        }
        // SAFETY: `buf` is non-NULL here (cap >= needed > 0, or needed == 0
        // and nothing is written) and valid for `cap` bytes per `arg_buf`.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.buf, bytes.len());
            if nul {
                self.buf.add(bytes.len()).write(0);
            }
        }
        self.out_len.set(bytes.len());
        Ok(())
    }
}

/// A NUL-terminated copy of a string, kept by a handle so it can lend
/// [`msgwire_str`]s to C.
#[derive(Debug, Clone)]
pub struct CText(Box<[u8]>);

impl CText {
    /// Copies `text` and appends a NUL.
    pub fn new(text: &str) -> Self {
        let mut v = Vec::with_capacity(text.len() + 1);
        v.extend_from_slice(text.as_bytes());
        v.push(0);
        CText(v.into_boxed_slice())
    }

    /// The text without its NUL.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0[..self.0.len() - 1]
    }

    /// A borrowed view for C, valid as long as `self` is neither moved out
    /// of its box nor dropped.
    pub fn view(&self) -> msgwire_str {
        msgwire_str {
            ptr: self.0.as_ptr().cast(),
            len: self.0.len() - 1,
        }
    }

    /// A view of the bytes from `start` to the end (still NUL-terminated).
    pub fn view_from(&self, start: usize) -> msgwire_str {
        let start = start.min(self.0.len() - 1);
        msgwire_str {
            ptr: self.0[start..].as_ptr().cast(),
            len: self.0.len() - 1 - start,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::msgwire_last_error;

    fn last_error() -> String {
        // SAFETY: msgwire_last_error never returns NULL.
        unsafe { CStr::from_ptr(msgwire_last_error()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn guard_turns_panics_into_status() {
        let status = guard(|| panic!("boom"));
        assert_eq!(status, msgwire_status::MSGWIRE_PANIC);
        assert!(last_error().contains("boom"), "{}", last_error());
        assert_eq!(guard_value(7, || -> i32 { panic!("x") }), 7);
    }

    #[test]
    fn guard_reports_errors() {
        let status = guard(|| Err(Error::not_found("no such header")));
        assert_eq!(status, msgwire_status::MSGWIRE_NOT_FOUND);
        assert_eq!(last_error(), "no such header");
        assert_eq!(guard(|| Ok(())), msgwire_status::MSGWIRE_OK);
        assert_eq!(last_error(), "no such header");
    }

    #[test]
    fn out_buf_reports_needed_length() {
        let mut len = 0usize;
        let mut small = [0u8; 3];
        // SAFETY: local buffers of the stated sizes.
        let b = unsafe { arg_buf(small.as_mut_ptr(), small.len(), &mut len) }.unwrap();
        let e = b.fill(b"abc", true).unwrap_err();
        assert_eq!(e.status, msgwire_status::MSGWIRE_BUFFER_TOO_SMALL);
        assert_eq!(len, 3);
        let mut big = [0xffu8; 4];
        // SAFETY: as above.
        let b = unsafe { arg_buf(big.as_mut_ptr(), big.len(), &mut len) }.unwrap();
        b.fill(b"abc", true).unwrap();
        assert_eq!(&big, b"abc\0");
        // SAFETY: NULL buffer with zero capacity is a size query.
        let b = unsafe { arg_buf(std::ptr::null_mut(), 0, &mut len) }.unwrap();
        assert!(b.fill(b"", false).is_ok());
        assert_eq!(len, 0);
    }

    #[test]
    fn ctext_views() {
        let t = CText::new("000 200 OK");
        let v = t.view_from(8);
        assert_eq!(v.len, 2);
        // SAFETY: the view points into `t`, NUL-terminated.
        assert_eq!(unsafe { CStr::from_ptr(v.ptr) }.to_str().unwrap(), "OK");
    }
}
