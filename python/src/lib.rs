//! `fdcred._fdcred`: the libfdcred core exposed to Python through PyO3.
//!
//! Each function is a thin conversion around one call of the Rust core
//! (`fdcred::send_msg`, `fdcred::recv_msg`, `fdcred::peer_cred`, ...): Python
//! objects in, the system call (with the GIL released whenever it may
//! wait), Python objects out.
//! The policy a Python caller relies on lives here and nowhere else:
//!
//! * every error is `OSError(errno, strerror)`, which Python turns into the
//!   subclass for that errno (`BlockingIOError`, `ConnectionResetError`, ...);
//! * a descriptor is handed to Python only once the whole result exists, so
//!   a failure part-way (a truncated message, too many descriptors, a data
//!   truncation, an allocation failure) closes every descriptor it received;
//! * received descriptors are close-on-exec unless the caller opts out;
//! * a blocking call interrupted by a signal runs Python's handlers (with
//!   the GIL held) before it waits again, as CPython's socket calls do: the
//!   core is asked to return `EINTR` (`interruptible`) instead of retrying,
//!   and an `EINTR` means nothing was sent or taken, so a handler's
//!   exception leaves the message queued and the descriptors unsent.

#[macro_use]
mod docs;

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, IntoRawFd, RawFd};

use fdcred::{CredSource, Credentials, Received, RecvOptions, SendOptions, UnixAddr, MAX_FDS};
use pyo3::exceptions::{PyMemoryError, PyOSError, PyOverflowError, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{IntoPyDict, PyBool, PyByteArray, PyBytes, PyInt, PyList, PyMemoryView, PyString, PyTuple};

/// Up to this many bytes, a send that does not wait sends all or nothing,
/// as a blocking one does (Linux puts them in one buffer even at the
/// smallest `SO_SNDBUF`, 4608 bytes, half of which is the most one buffer
/// takes), so trying without waiting first changes nothing the caller sees.
/// Elsewhere a stream may take part of a write that does not wait: 0 there.
const ALL_OR_NOTHING: usize = if cfg!(target_os = "linux") { 2048 } else { 0 };

/// Receives of at most this many bytes use a buffer on the stack.
const STACK_BUF: usize = 512;

/// The `Cred` and `Message` named tuples, made once at import.
static CRED_TYPE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static MESSAGE_TYPE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn strerror(code: i32) -> String {
    let text = io::Error::from_raw_os_error(code).to_string();
    match text.rfind(" (os error ") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

/// `OSError(code, strerror)`: Python picks the subclass for the errno.
fn os_error(code: i32) -> PyErr {
    PyOSError::new_err((code, strerror(code)))
}

/// `OSError(code, strerror + ": " + why)`, for the errors this binding adds
/// on top of the kernel's.
fn os_error_why(code: i32, why: &str) -> PyErr {
    PyOSError::new_err((code, format!("{}: {why}", strerror(code))))
}

fn io_error(e: io::Error) -> PyErr {
    os_error(e.raw_os_error().unwrap_or(libc::EIO))
}

/// A descriptor number from an int (or anything with `__index__`) or from an
/// object with `fileno()`. A number no descriptor can have (negative, or
/// outside a C int) is `EBADF`, as the kernel would say.
fn fd_of(obj: &Bound<'_, PyAny>) -> PyResult<RawFd> {
    if let Ok(int) = obj.cast_exact::<PyInt>() {
        return fd_number(int.as_any());
    }
    let fileno = obj.py().intern_fileno().bind(obj.py());
    match obj.getattr(fileno) {
        Ok(method) => fd_number(&method.call0()?),
        Err(_) if obj.hasattr("__index__")? => fd_number(obj),
        Err(_) => Err(PyTypeError::new_err(format!(
            "expected a descriptor: an int or an object with fileno(), not {}",
            obj.get_type().name()?
        ))),
    }
}

fn fd_number(obj: &Bound<'_, PyAny>) -> PyResult<RawFd> {
    match obj.extract::<i64>() {
        Ok(n) if (0..=i64::from(RawFd::MAX)).contains(&n) => Ok(n as RawFd),
        Ok(_) => Err(os_error(libc::EBADF)),
        Err(e) if e.is_instance_of::<PyOverflowError>(obj.py()) => Err(os_error(libc::EBADF)),
        Err(e) => Err(e),
    }
}

/// The socket of a send: its descriptor, and whether a Python socket object
/// vouches that it is a Unix-domain one.
#[derive(Clone, Copy)]
struct Sock {
    fd: RawFd,
    vouched: bool,
}

/// The core checks, with one `getsockopt` per message carrying descriptors
/// or credentials, that the socket is a Unix one (TCP would drop them
/// silently). A Python socket object already knows its family: the kernel's
/// (Python asks it with `SO_DOMAIN` when it wraps a descriptor), unless the
/// caller stated one explicitly (`socket.fromfd`, `socket(family, ...,
/// fileno=...)`), which is then the caller vouching. Such a socket skips the
/// check; a plain integer keeps it.
fn sock_of(obj: &Bound<'_, PyAny>) -> PyResult<Sock> {
    let py = obj.py();
    if let Some(socket) = socket_methods_for(obj)? {
        let fd = fd_number(&call_with(socket.fileno.bind(py), obj)?)?;
        let family: i32 = call_with(socket.family.bind(py), obj)?.extract()?;
        return Ok(Sock { fd, vouched: family == libc::AF_UNIX });
    }
    Ok(Sock { fd: fd_of(obj)?, vouched: false })
}

/// The descriptor of the socket to receive on: `fd_of`, with a socket
/// object's C-level `fileno` called unbound, as `sock_of` does (no bound
/// method is made per call).
fn recv_sock_of(obj: &Bound<'_, PyAny>) -> PyResult<RawFd> {
    if obj.is_exact_instance_of::<PyInt>() {
        return fd_number(obj);
    }
    match socket_methods_for(obj)? {
        Some(socket) => fd_number(&call_with(socket.fileno.bind(obj.py()), obj)?),
        None => fd_of(obj),
    }
}

/// The `_socket.socket` methods when `obj` is a socket object.
fn socket_methods_for(obj: &Bound<'_, PyAny>) -> PyResult<Option<&'static SocketMethods>> {
    let py = obj.py();
    match socket_type_methods(py)? {
        Some(socket) if obj.is_instance(socket.cls.bind(py))? => Ok(Some(socket)),
        _ => Ok(None),
    }
}

/// `f(arg)`. PyO3's `call1` under the 3.9 limited API packs the argument
/// into a new tuple; `PyObject_CallFunctionObjArgs` (limited API) passes it
/// to a vectorcall callable on the stack (CPython >= 3.9).
fn call_with<'py>(f: &Bound<'py, PyAny>, arg: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: both objects are live; the argument list ends with NULL as
    // the variadic function requires; it returns a new reference or NULL
    // with an exception set.
    unsafe {
        Bound::from_owned_ptr_or_err(
            f.py(),
            pyo3::ffi::PyObject_CallFunctionObjArgs(
                f.as_ptr(),
                arg.as_ptr(),
                core::ptr::null_mut::<pyo3::ffi::PyObject>(),
            ),
        )
    }
}

/// `_socket.socket` and its C-level `fileno` method and `family` getter,
/// called unbound: the Python-level `socket.socket.family` property
/// converts to an enum, and a bound-method lookup per call costs more.
struct SocketMethods {
    cls: Py<PyAny>,
    fileno: Py<PyAny>,
    family: Py<PyAny>,
}

fn socket_type_methods(py: Python<'_>) -> PyResult<Option<&'static SocketMethods>> {
    static METHODS: PyOnceLock<Option<SocketMethods>> = PyOnceLock::new();
    METHODS
        .get_or_try_init(py, || {
            let cls = py.import("_socket")?.getattr("socket")?;
            let members = cls.getattr("__dict__")?;
            let (Ok(fileno), Ok(family)) = (members.get_item("fileno"), members.get_item("family")) else {
                return Ok(None);
            };
            let family = family.getattr("__get__")?;
            Ok(Some(SocketMethods { cls: cls.unbind(), fileno: fileno.unbind(), family: family.unbind() }))
        })
        .map(Option::as_ref)
}

trait InternFileno {
    fn intern_fileno(self) -> &'static Py<PyString>;
}

impl InternFileno for Python<'_> {
    fn intern_fileno(self) -> &'static Py<PyString> {
        static NAME: PyOnceLock<Py<PyString>> = PyOnceLock::new();
        NAME.get_or_init(self, || PyString::intern(self, "fileno").unbind())
    }
}

/// Borrow a descriptor number for one system call.
fn borrow(fd: RawFd) -> BorrowedFd<'static> {
    debug_assert!(fd >= 0);
    // SAFETY: `fd` is not -1 (fd_of refuses negative numbers). The number
    // comes from Python, which cannot promise it stays open; the core only
    // passes it to system calls, where a closed or reused number gives an
    // errno (EBADF, ENOTSOCK) or acts on whatever the caller named, exactly
    // as os.write(fd) does. Nothing is closed through it.
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// Descriptor numbers to send, on the stack; only the first `len` are
/// written (zeroing the whole array cost more than a one-fd message's
/// conversions).
struct FdNumbers {
    len: usize,
    slots: [core::mem::MaybeUninit<RawFd>; MAX_FDS],
}

impl FdNumbers {
    fn new() -> Self {
        FdNumbers { len: 0, slots: [core::mem::MaybeUninit::uninit(); MAX_FDS] }
    }

    fn push(&mut self, fd: RawFd) -> PyResult<()> {
        let slot =
            self.slots.get_mut(self.len).ok_or_else(|| os_error_why(libc::EINVAL, "more than MAX_FDS descriptors"))?;
        slot.write(fd);
        self.len += 1;
        Ok(())
    }

    fn as_slice(&self) -> &[RawFd] {
        // SAFETY: the first `len` slots were written by `push`;
        // MaybeUninit<RawFd> has RawFd's layout.
        unsafe { core::slice::from_raw_parts(self.slots.as_ptr().cast(), self.len) }
    }
}

/// The descriptors of `fds` (a sequence or iterable of ints or objects with
/// fileno()) into `out`, an empty `FdNumbers` of the caller's (returning one,
/// over a kilobyte, cost a memmove per message). More than MAX_FDS is
/// `EINVAL`. Bytes and str iterate as numbers and characters, never as
/// descriptors: swapped `data` and `fds` are a `TypeError` naming `func`'s
/// argument.
fn collect_fds(func: &str, fds: &Bound<'_, PyAny>, out: &mut FdNumbers) -> PyResult<()> {
    if let Ok(list) = fds.cast_exact::<PyList>() {
        for item in list.iter() {
            out.push(fd_of(&item)?)?;
        }
    } else if let Ok(tuple) = fds.cast_exact::<PyTuple>() {
        for item in tuple.iter() {
            out.push(fd_of(&item)?)?;
        }
    } else {
        if fds.is_instance_of::<PyBytes>()
            || fds.is_instance_of::<PyByteArray>()
            || fds.is_instance_of::<PyMemoryView>()
            || fds.is_instance_of::<PyString>()
        {
            return Err(PyTypeError::new_err(format!(
                "{func}() argument 'fds' must be an iterable of descriptors, not '{}'",
                fds.get_type().name()?
            )));
        }
        for item in fds.try_iter()? {
            out.push(fd_of(&item?)?)?;
        }
    }
    Ok(())
}

/// Run `f` over the bytes of `data`: bytes directly, any other object with
/// the buffer protocol (bytearray, memoryview, array, mmap, ...) through a
/// copy, taken while the GIL is held. Anything else is a `TypeError` naming
/// `func`'s argument `arg`: `bytes(3)` would make three NUL bytes of an int
/// and `bytes([3, 4])` data of a list of descriptors. (`memoryview()`
/// accepts exactly the buffer objects; `PyObject_GetBuffer` is not in the
/// 3.9 limited API.)
fn with_bytes<T>(func: &str, arg: &str, data: &Bound<'_, PyAny>, f: impl FnOnce(&[u8]) -> PyResult<T>) -> PyResult<T> {
    if let Ok(bytes) = data.cast_exact::<PyBytes>() {
        return f(bytes.as_bytes());
    }
    let view = PyMemoryView::from(data).map_err(|e| {
        if !e.is_instance_of::<PyTypeError>(data.py()) {
            return e;
        }
        let type_name = data.get_type().name().map(|n| n.to_string()).unwrap_or_default();
        PyTypeError::new_err(format!("{func}() argument '{arg}' must be a bytes-like object, not '{type_name}'"))
    })?;
    let copy = data.py().get_type::<PyBytes>().call1((view,))?;
    f(copy.cast::<PyBytes>()?.as_bytes())
}

/// `call` until it fails with anything but `EINTR`, running Python's signal
/// handlers (with the GIL held) after each `EINTR`: a handler's exception
/// ends the call with it. The core's interruptible calls send or take
/// nothing when they return `EINTR`, so a retry repeats nothing.
fn until_not_interrupted<T>(py: Python<'_>, mut call: impl FnMut() -> io::Result<T>) -> PyResult<T> {
    loop {
        match call() {
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => py.check_signals()?,
            result => return result.map_err(io_error),
        }
    }
}

/// One `sendmsg` through the core, with the GIL released.
fn send(
    py: Python<'_>,
    sock: Sock,
    data: &[u8],
    fds: &[RawFd],
    cred: Option<CredSource>,
    dest: Option<&[u8]>,
    nonblocking: bool,
) -> PyResult<usize> {
    debug_assert!(fds.iter().all(|&fd| fd >= 0));
    // SAFETY: BorrowedFd is repr(transparent) over RawFd, and no number is
    // -1 (fd_of refuses negative ones); see `borrow` for the rest.
    let fds: &[BorrowedFd<'_>] = unsafe { core::slice::from_raw_parts(fds.as_ptr().cast(), fds.len()) };
    // The core may grow options; their defaults are this binding's too.
    #[allow(clippy::needless_update)]
    let opts = SendOptions {
        fds,
        cred,
        dest,
        nonblocking,
        no_socket_check: sock.vouched,
        interruptible: true,
        ..Default::default()
    };
    let fd = borrow(sock.fd);
    if nonblocking || data.len() <= ALL_OR_NOTHING {
        // A send that cannot wait keeps the GIL (no other thread needs to
        // run meanwhile); a blocking one first tries without waiting and
        // releases the GIL only if it must wait.
        let first = SendOptions { nonblocking: true, ..opts };
        match fdcred::send_msg(fd, &[IoSlice::new(data)], &first) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && !nonblocking => {}
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => py.check_signals()?,
            result => return result.map_err(io_error),
        }
    }
    // One sendmsg per attempt: an interrupted one sent nothing, so the
    // retry sends the descriptors once; a partial write on a stream
    // returns its count (the descriptors went with its first byte).
    until_not_interrupted(py, || py.detach(|| fdcred::send_msg(fd, &[IoSlice::new(data)], &opts)))
}

/// One `recvmsg` through the core, with the GIL released, into `buf`; `then`
/// gets `buf`, `addr` and what arrived. The `Received` stays where the core
/// wrote it: it holds MAX_FDS descriptor slots (over a kilobyte), and
/// returning it through a `PyResult` copied it twice per message.
fn recv<T>(
    py: Python<'_>,
    sock: RawFd,
    buf: &mut [u8],
    mut addr: Option<&mut [u8]>,
    opts: &RecvOptions,
    then: impl FnOnce(&mut [u8], Option<&mut [u8]>, &mut Received) -> PyResult<T>,
) -> PyResult<T> {
    let sock = borrow(sock);
    let opts = &RecvOptions { interruptible: true, ..*opts };
    // A message already queued is taken without releasing the GIL (a
    // receive that cannot block needs no other thread to run meanwhile);
    // only when none is, and the caller wants to wait, is the GIL released.
    let first = RecvOptions { nonblocking: true, ..*opts };
    let mut result = fdcred::recv_msg(sock, &mut [IoSliceMut::new(buf)], addr.as_deref_mut(), &first);
    if !opts.nonblocking && matches!(&result, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
        result = py.detach(|| fdcred::recv_msg(sock, &mut [IoSliceMut::new(buf)], addr.as_deref_mut(), opts));
    }
    // An interrupted receive took nothing: the handlers run, and one that
    // raises leaves the message queued. (Not `until_not_interrupted`: the
    // `Received` stays in `result`, as above.)
    while matches!(&result, Err(e) if e.raw_os_error() == Some(libc::EINTR)) {
        py.check_signals()?;
        result = py.detach(|| fdcred::recv_msg(sock, &mut [IoSliceMut::new(buf)], addr.as_deref_mut(), opts));
    }
    match &mut result {
        Ok(received) => then(buf, addr, received),
        Err(e) => Err(os_error(e.raw_os_error().unwrap_or(libc::EIO))),
    }
}

fn socket_type(sock: RawFd) -> io::Result<i32> {
    let mut value: libc::c_int = 0;
    let mut len = core::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` and `len` are live and sized for an int option.
    let r = unsafe {
        libc::getsockopt(sock, libc::SOL_SOCKET, libc::SO_TYPE, (&mut value as *mut libc::c_int).cast(), &mut len)
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(value)
}

/// A read of zero bytes on a stream returns 0, which cannot be told from end
/// of file, and would take the next message's descriptors with it.
fn refuse_empty_stream_read(sock: RawFd, bufsize: usize) -> PyResult<()> {
    if bufsize == 0 && socket_type(sock).map_err(io_error)? == libc::SOCK_STREAM {
        return Err(os_error_why(libc::EINVAL, "a stream needs bufsize >= 1"));
    }
    Ok(())
}

/// The error for a message that lacked what the caller asked for: end of
/// file on a connection (`ECONNRESET`), or a message without it (`ENOMSG`).
fn missing(sock: RawFd, bytes: usize) -> PyErr {
    if bytes != 0 {
        return os_error(libc::ENOMSG);
    }
    match socket_type(sock) {
        Ok(libc::SOCK_DGRAM) => os_error(libc::ENOMSG),
        Ok(_) => os_error(libc::ECONNRESET),
        Err(e) => io_error(e),
    }
}

/// The simple receives' policy: only a complete message is delivered. Its
/// descriptors are already closed (by the core, or by dropping `received`)
/// when this fails.
fn complete(received: &Received) -> PyResult<()> {
    if received.control_truncated {
        return Err(os_error_why(libc::EBADMSG, "the kernel truncated the descriptors; all were closed"));
    }
    if received.fds_overflowed {
        return Err(os_error_why(libc::EMSGSIZE, "more descriptors than asked for; all were closed"));
    }
    if received.data_truncated {
        return Err(os_error_why(libc::EMSGSIZE, "message longer than bufsize; its descriptors were closed"));
    }
    Ok(())
}

fn check_size(value: isize, what: &str) -> PyResult<usize> {
    usize::try_from(value).map_err(|_| os_error_why(libc::EINVAL, what))
}

/// Receive into a stack buffer when `bufsize` is small, else into the heap;
/// `then` gets the filled part and what came with it.
fn with_recv_buf<T>(bufsize: usize, then: impl FnOnce(&mut [u8]) -> PyResult<T>) -> PyResult<T> {
    if bufsize <= STACK_BUF {
        let mut buf = [core::mem::MaybeUninit::<u8>::uninit(); STACK_BUF];
        let used = &mut buf[..bufsize];
        used.fill(core::mem::MaybeUninit::new(0));
        // SAFETY: the first `bufsize` bytes were just initialised; only they
        // are viewed (zeroing all 512 cost more than a small message's copy).
        then(unsafe { core::slice::from_raw_parts_mut(used.as_mut_ptr().cast::<u8>(), bufsize) })
    } else {
        let mut buf = zeroed_heap_buf(bufsize)?;
        then(&mut buf)
    }
}

/// `bufsize` zeroed bytes on the heap, or `MemoryError`: `vec![0; n]`
/// aborts the interpreter when the allocation fails, and a size may come
/// from a peer. Zeroed by the allocator (`calloc`: fresh pages are not
/// written), as `vec!` does.
fn zeroed_heap_buf(bufsize: usize) -> PyResult<Box<[u8]>> {
    let refused = || PyMemoryError::new_err(format!("cannot reserve a receive buffer of {bufsize} bytes"));
    let layout = std::alloc::Layout::array::<u8>(bufsize).map_err(|_| refused())?;
    if layout.size() == 0 {
        return Ok(Box::default());
    }
    // SAFETY: the layout's size is not zero.
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
    if ptr.is_null() {
        return Err(refused());
    }
    // SAFETY: `ptr` is a fresh allocation of the global allocator with the
    // layout of `[u8; bufsize]`, all zero (valid u8s), owned by nothing
    // else: the Box frees it with that layout.
    Ok(unsafe { Box::from_raw(core::ptr::slice_from_raw_parts_mut(ptr, bufsize)) })
}

/// The descriptors as a list of ints, handed over to Python only once the
/// list exists: if building it fails they are still owned, and closed.
fn fd_list<'py>(py: Python<'py>, received: &mut Received) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::new(py, received.fds.as_slice().iter().map(|fd| fd.as_raw_fd()))?;
    for fd in received.fds.drain() {
        let _ = fd.into_raw_fd(); // now the caller's, through `list`
    }
    Ok(list)
}

fn cred_tuple<'py>(py: Python<'py>, c: &Credentials) -> PyResult<Bound<'py, PyAny>> {
    let cls = CRED_TYPE.get(py).expect("Cred is made at import").bind(py);
    cls.call1((c.pid(), c.uid(), c.gid()))
}

/// A claim from a `Cred`-like 3-sequence whose `None` fields are the
/// sender's own; all `None` is the sender's own identity.
fn claim_of(cred: &Bound<'_, PyAny>) -> PyResult<CredSource> {
    let (pid, uid, gid): (Option<libc::pid_t>, Option<libc::uid_t>, Option<libc::gid_t>) = cred.extract()?;
    let mut c = Credentials::unknown();
    if let Some(pid) = pid {
        c = c.with_pid(pid);
    }
    if let Some(uid) = uid {
        c = c.with_uid(uid);
    }
    if let Some(gid) = gid {
        c = c.with_gid(gid);
    }
    Ok(if c.is_unknown() { CredSource::Own } else { CredSource::Claim(c) })
}

/// `cred` of send_msg: None (no credentials), True (my own), or a Cred.
fn cred_source(cred: Option<&Bound<'_, PyAny>>) -> PyResult<Option<CredSource>> {
    match cred {
        None => Ok(None),
        Some(c) if c.is_none() => Ok(None),
        Some(c) if c.is_exact_instance_of::<PyBool>() => Ok(c.is_truthy()?.then_some(CredSource::Own)),
        Some(c) => claim_of(c).map(Some),
    }
}

/// A `sockaddr_un` for `address`: a filesystem path (str or bytes), or an
/// abstract name, written as the socket module does (a leading NUL byte) or
/// as the C library does (`@name`, so a file named `@x` is written `./@x`).
/// The core's `fdcred::UnixAddr` builds it (so a path may fill `sun_path`
/// exactly, and an abstract name needs Linux).
fn unix_address(func: &str, address: &Bound<'_, PyAny>) -> PyResult<UnixAddr> {
    let mut name: Vec<u8> = if let Ok(s) = address.cast::<PyString>() {
        let os = address.py().import("os")?;
        os.call_method1("fsencode", (s,))?.extract()?
    } else {
        with_bytes(func, "address", address, |b| Ok(b.to_vec()))?
    };
    // Python's socket module writes a Linux abstract address with a leading
    // NUL; the core's spelling (and $NOTIFY_SOCKET's) is a leading '@'.
    if let Some(first @ 0) = name.first_mut() {
        *first = b'@';
    }
    UnixAddr::new(&name).map_err(io_error)
}

/// The source address of a received datagram: a str path, bytes for an
/// abstract name (leading NUL) or a path that is not UTF-8, None if unnamed.
fn address_object<'py>(py: Python<'py>, raw: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let base = core::mem::offset_of!(libc::sockaddr_un, sun_path);
    let Some(name) = raw.get(base..).filter(|n| !n.is_empty()) else {
        return Ok(py.None().into_bound(py));
    };
    if name[0] == 0 {
        return Ok(PyBytes::new(py, name).into_any());
    }
    let name = name.split(|&b| b == 0).next().unwrap_or(name);
    match std::str::from_utf8(name) {
        Ok(s) => Ok(PyString::new(py, s).into_any()),
        Err(_) => Ok(PyBytes::new(py, name).into_any()),
    }
}

// ---------------------------------------------------------------------------
// The module's functions. Their docstrings are in docs.rs (and, word for
// word, in python/fdcred/_fdcred.pyi).

#[pyfunction]
#[doc = doc_sendfd!()]
fn sendfd(py: Python<'_>, sock: &Bound<'_, PyAny>, fd: &Bound<'_, PyAny>) -> PyResult<()> {
    let (sock, fd) = (sock_of(sock)?, fd_of(fd)?);
    send(py, sock, b"\0", &[fd], None, None, false)?;
    Ok(())
}

#[pyfunction]
#[doc = doc_recvfd!()]
fn recvfd(py: Python<'_>, sock: &Bound<'_, PyAny>) -> PyResult<RawFd> {
    let sock = recv_sock_of(sock)?;
    let mut byte = [0u8; 1];
    recv(py, sock, &mut byte, None, &RecvOptions { max_fds: 1, ..Default::default() }, |_, _, received| {
        complete(received)?;
        let fd = received.fds.drain().next();
        match fd {
            Some(fd) => Ok(fd.into_raw_fd()),
            None => Err(missing(sock, received.bytes)),
        }
    })
}

#[pyfunction]
#[doc = doc_send_fds!()]
fn send_fds(
    py: Python<'_>,
    sock: &Bound<'_, PyAny>,
    data: &Bound<'_, PyAny>,
    fds: &Bound<'_, PyAny>,
) -> PyResult<usize> {
    let sock = sock_of(sock)?;
    let mut numbers = FdNumbers::new();
    collect_fds("send_fds", fds, &mut numbers)?;
    with_bytes("send_fds", "data", data, |data| send(py, sock, data, numbers.as_slice(), None, None, false))
}

#[pyfunction]
#[doc = doc_sendto_fds!()]
fn sendto_fds(
    py: Python<'_>,
    sock: &Bound<'_, PyAny>,
    data: &Bound<'_, PyAny>,
    fds: &Bound<'_, PyAny>,
    address: &Bound<'_, PyAny>,
) -> PyResult<usize> {
    let sock = sock_of(sock)?;
    let mut numbers = FdNumbers::new();
    collect_fds("sendto_fds", fds, &mut numbers)?;
    let addr = unix_address("sendto_fds", address)?;
    with_bytes("sendto_fds", "data", data, |data| {
        send(py, sock, data, numbers.as_slice(), None, Some(addr.as_bytes()), false)
    })
}

#[pyfunction]
#[doc = doc_recv_fds!()]
fn recv_fds<'py>(
    py: Python<'py>,
    sock: &Bound<'py, PyAny>,
    bufsize: isize,
    maxfds: isize,
) -> PyResult<Bound<'py, PyTuple>> {
    let sock = recv_sock_of(sock)?;
    let bufsize = check_size(bufsize, "negative bufsize")?;
    let maxfds = check_size(maxfds, "negative maxfds")?.min(MAX_FDS);
    refuse_empty_stream_read(sock, bufsize)?;
    with_recv_buf(bufsize, |buf| {
        recv(py, sock, buf, None, &RecvOptions { max_fds: maxfds, ..Default::default() }, |buf, _, received| {
            complete(received)?;
            let data = PyBytes::new(py, &buf[..received.bytes]);
            let fds = fd_list(py, received)?;
            PyTuple::new(py, [data.into_any(), fds.into_any()])
        })
    })
}

#[pyfunction]
// `data` omitted is one NUL byte; the text signature says so (None is
// only the marker for "omitted").
#[pyo3(signature = (sock, data = None, cred = None), text_signature = "(sock, data=b'\\x00', cred=None)")]
#[doc = doc_sendcred!()]
fn sendcred(
    py: Python<'_>,
    sock: &Bound<'_, PyAny>,
    data: Option<&Bound<'_, PyAny>>,
    cred: Option<&Bound<'_, PyAny>>,
) -> PyResult<usize> {
    let sock = sock_of(sock)?;
    let source = match cred {
        Some(c) if !c.is_none() => claim_of(c)?,
        _ => CredSource::Own,
    };
    match data {
        None => send(py, sock, b"\0", &[], Some(source), None, false),
        Some(data) => with_bytes("sendcred", "data", data, |data| send(py, sock, data, &[], Some(source), None, false)),
    }
}

#[pyfunction]
#[doc = doc_recvcred!()]
fn recvcred<'py>(py: Python<'py>, sock: &Bound<'py, PyAny>, bufsize: isize) -> PyResult<Bound<'py, PyTuple>> {
    let sock = fd_of(sock)?;
    let bufsize = check_size(bufsize, "negative bufsize")?;
    if cfg!(any(target_os = "openbsd", target_vendor = "apple")) {
        // No message can carry credentials there: do not consume one.
        peer_check_domain(sock)?;
        return Err(os_error_why(libc::EOPNOTSUPP, "no per-message credentials on this OS"));
    }
    refuse_empty_stream_read(sock, bufsize)?;
    with_recv_buf(bufsize, |buf| {
        recv(py, sock, buf, None, &RecvOptions { max_fds: 0, ..Default::default() }, |buf, _, received| {
            complete(received)?;
            let Some(cred) = received.cred else {
                return Err(missing(sock, received.bytes));
            };
            let data = PyBytes::new(py, &buf[..received.bytes]);
            PyTuple::new(py, [data.into_any(), cred_tuple(py, &cred)?])
        })
    })
}

/// `EOPNOTSUPP` for a socket that is not a Unix one, like the core's checks.
fn peer_check_domain(sock: RawFd) -> PyResult<()> {
    // SAFETY: sockaddr_storage is plain data; all-zero is valid.
    let mut addr: libc::sockaddr_storage = unsafe { core::mem::zeroed() };
    let mut len = core::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: `addr` and `len` are live and describe the buffer.
    if unsafe { libc::getsockname(sock, (&mut addr as *mut libc::sockaddr_storage).cast(), &mut len) } != 0 {
        return Err(io_error(io::Error::last_os_error()));
    }
    if i32::from(addr.ss_family) != libc::AF_UNIX {
        return Err(os_error(libc::EOPNOTSUPP));
    }
    Ok(())
}

#[pyfunction]
#[pyo3(signature = (sock, data, fds = None, *, cred = None, address = None, nonblocking = false))]
#[doc = doc_send_msg!()]
fn send_msg(
    py: Python<'_>,
    sock: &Bound<'_, PyAny>,
    data: &Bound<'_, PyAny>,
    fds: Option<&Bound<'_, PyAny>>,
    cred: Option<&Bound<'_, PyAny>>,
    address: Option<&Bound<'_, PyAny>>,
    nonblocking: bool,
) -> PyResult<usize> {
    let sock = sock_of(sock)?;
    let mut numbers = FdNumbers::new();
    if let Some(fds) = fds.filter(|fds| !fds.is_none()) {
        collect_fds("send_msg", fds, &mut numbers)?;
    }
    let source = cred_source(cred)?;
    let addr = match address {
        Some(a) if !a.is_none() => Some(unix_address("send_msg", a)?),
        _ => None,
    };
    let dest = addr.as_ref().map(UnixAddr::as_bytes);
    with_bytes("send_msg", "data", data, |data| send(py, sock, data, numbers.as_slice(), source, dest, nonblocking))
}

#[pyfunction]
#[pyo3(signature = (sock, bufsize, maxfds = 0, *, pidfd = false, nonblocking = false, cloexec = true))]
#[doc = doc_recv_msg!()]
fn recv_msg<'py>(
    py: Python<'py>,
    sock: &Bound<'py, PyAny>,
    bufsize: isize,
    maxfds: isize,
    pidfd: bool,
    nonblocking: bool,
    cloexec: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let sock = fd_of(sock)?;
    let bufsize = check_size(bufsize, "negative bufsize")?;
    let maxfds = check_size(maxfds, "negative maxfds")?.min(MAX_FDS);
    refuse_empty_stream_read(sock, bufsize)?;
    #[allow(clippy::needless_update)] // as in `send`: new core options keep their defaults
    let opts = RecvOptions { nonblocking, cloexec, max_fds: maxfds, keep_pidfd: pidfd, ..Default::default() };
    with_recv_buf(bufsize, |buf| {
        // SAFETY: sockaddr_un is plain data; all-zero is valid.
        let mut addr: libc::sockaddr_un = unsafe { core::mem::zeroed() };
        // SAFETY: a live, writable sockaddr_un viewed as its bytes.
        let addr_buf = unsafe {
            core::slice::from_raw_parts_mut(
                (&mut addr as *mut libc::sockaddr_un).cast::<u8>(),
                core::mem::size_of::<libc::sockaddr_un>(),
            )
        };
        recv(py, sock, buf, Some(addr_buf), &opts, |buf, addr_buf, received| {
            let addr_buf = addr_buf.unwrap_or_default();
            if received.control_truncated || received.fds_overflowed {
                complete(received)?;
            }
            let data = PyBytes::new(py, &buf[..received.bytes]);
            let cred = match &received.cred {
                Some(c) => cred_tuple(py, c)?,
                None => py.None().into_bound(py),
            };
            let addr_len = received.addr_len.min(addr_buf.len());
            let address = address_object(py, &addr_buf[..addr_len])?;
            let truncated = received.data_truncated;
            let pidfd_num = received.pidfd.as_ref().map(|p| p.as_raw_fd());
            let fds = fd_list(py, received)?;
            let cls = MESSAGE_TYPE.get(py).expect("Message is made at import").bind(py);
            let message = cls.call1((data, fds, cred, pidfd_num, address, truncated))?;
            // Every Python object exists: the pidfd is the caller's now.
            if let Some(p) = received.pidfd.take() {
                let _ = p.into_raw_fd();
            }
            Ok(message)
        })
    })
}

#[pyfunction]
#[doc = doc_allow_recv_cred!()]
fn allow_recv_cred(sock: &Bound<'_, PyAny>) -> PyResult<()> {
    fdcred::allow_recv_cred(borrow(fd_of(sock)?)).map_err(io_error)
}

#[pyfunction]
#[doc = doc_allow_recv_pidfd!()]
fn allow_recv_pidfd(sock: &Bound<'_, PyAny>) -> PyResult<()> {
    fdcred::allow_recv_pidfd(borrow(fd_of(sock)?)).map_err(io_error)
}

#[pyfunction]
#[doc = doc_refuse_fds!()]
fn refuse_fds(sock: &Bound<'_, PyAny>) -> PyResult<()> {
    fdcred::refuse_fds(borrow(fd_of(sock)?)).map_err(io_error)
}

#[pyfunction]
#[doc = doc_peer_cred!()]
fn peer_cred<'py>(py: Python<'py>, sock: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let cred = fdcred::peer_cred(borrow(fd_of(sock)?)).map_err(io_error)?;
    cred_tuple(py, &cred)
}

#[pyfunction]
#[doc = doc_peer_groups!()]
fn peer_groups(sock: &Bound<'_, PyAny>) -> PyResult<Vec<libc::gid_t>> {
    let sock = borrow(fd_of(sock)?);
    loop {
        let count = fdcred::peer_groups(sock, &mut []).map_err(io_error)?;
        let mut groups = vec![0; count];
        match fdcred::peer_groups(sock, &mut groups) {
            Ok(n) => {
                groups.truncate(n);
                return Ok(groups);
            }
            Err(e) if e.raw_os_error() == Some(libc::ERANGE) => continue, // grew meanwhile
            Err(e) => return Err(io_error(e)),
        }
    }
}

#[pyfunction]
#[doc = doc_peer_pidfd!()]
fn peer_pidfd(sock: &Bound<'_, PyAny>) -> PyResult<RawFd> {
    let pidfd = fdcred::peer_pidfd(borrow(fd_of(sock)?)).map_err(io_error)?;
    Ok(pidfd.into_raw_fd())
}

#[pyfunction]
#[doc = doc_peer_security!()]
fn peer_security<'py>(py: Python<'py>, sock: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    let sock = borrow(fd_of(sock)?);
    loop {
        let len = fdcred::peer_security(sock, &mut []).map_err(io_error)?;
        let mut label = vec![0u8; len.max(1)];
        match fdcred::peer_security(sock, &mut label) {
            Ok(n) => {
                let n = n.min(label.len());
                // The kernel may count a trailing NUL; a label never holds one.
                let end = label[..n].iter().position(|&b| b == 0).unwrap_or(n);
                return Ok(PyBytes::new(py, &label[..end]));
            }
            Err(e) if e.raw_os_error() == Some(libc::ERANGE) => continue,
            Err(e) => return Err(io_error(e)),
        }
    }
}

#[pyfunction]
#[doc = doc_cred_handshake_receiver!()]
fn cred_handshake_receiver(py: Python<'_>, sock: &Bound<'_, PyAny>) -> PyResult<()> {
    let sock = borrow(fd_of(sock)?);
    // Interrupted, the opt-in was made and the byte not sent: both again.
    until_not_interrupted(py, || py.detach(|| fdcred::cred_handshake_receiver_interruptible(sock)))
}

#[pyfunction]
#[doc = doc_cred_handshake_sender!()]
fn cred_handshake_sender(py: Python<'_>, sock: &Bound<'_, PyAny>) -> PyResult<()> {
    let sock = borrow(fd_of(sock)?);
    until_not_interrupted(py, || py.detach(|| fdcred::cred_handshake_sender_interruptible(sock)))
}

#[pyfunction]
#[doc = doc_version!()]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

// ---------------------------------------------------------------------------
// METH_FASTCALL entry points for the per-message calls.
//
// Under `abi3-py39` PyO3 registers every function as METH_VARARGS |
// METH_KEYWORDS: each call packs its arguments into a new tuple, which the
// wrapper unpacks again (METH_FASTCALL entered the limited API only in 3.10,
// so PyO3 uses it only for abi3-py310 and up). For `send_fds`, `recv_fds`,
// `sendfd` and `recvfd`, the calls made once per message, the module
// registers its own METH_FASTCALL | METH_KEYWORDS `PyMethodDef` instead.
// Why this is sound in an abi3 wheel for CPython 3.9:
//
// * METH_FASTCALL (0x0080) and METH_FASTCALL | METH_KEYWORDS with the
//   (self, args, nargs, kwnames) signature are documented since CPython 3.7
//   ("New in version 3.7") and honoured by every CPython since; 3.10 only
//   added them to the limited API ("now part of the stable ABI"), which
//   fixes that value and signature for good. The 3.9 interpreter dispatches
//   on `ml_flags` at run time, as for its own builtins. The wheel keeps its
//   tag (`cp39-abi3`, from PyO3's `abi3-py39`), it links no symbol outside
//   the 3.9 stable ABI (`PyCMethod_New` is in it since 3.9), and the stubs
//   (`_fdcred.pyi`) describe the same signatures.
// * Only exact positional calls take the fast path. Any other call (keyword
//   arguments, a wrong count, a size that is no int) goes to the
//   PyO3-generated function, kept in `SLOW`, so such calls and their errors
//   behave as before.
// * The C entry point is PyO3's own fastcall trampoline (the one its macros
//   use without abi3): it marks the thread attached for PyO3, turns an `Err`
//   into the raised exception and a panic into `PanicException`. It lives
//   in PyO3's unstable `impl_` module, hence the exact `pyo3` version in
//   Cargo.toml. `Python::attach` instead (public API) costs a
//   `PyGILState_Ensure`/`Release` pair per call, about 1% of the bench's
//   time per message (docs/benchmark.md).

use pyo3::ffi;
use pyo3::impl_::trampoline::get_trampoline_function;

/// `METH_FASTCALL` (CPython's `methodobject.h`, the same since 3.7).
const METH_FASTCALL: core::ffi::c_int = 0x0080;

type FastFn = unsafe extern "C" fn(
    *mut ffi::PyObject,
    *const *mut ffi::PyObject,
    ffi::Py_ssize_t,
    *mut ffi::PyObject,
) -> *mut ffi::PyObject;

/// A `PyMethodDef` CPython keeps a pointer to for the module's lifetime.
struct MethodDef(core::cell::UnsafeCell<ffi::PyMethodDef>);

// SAFETY: CPython only reads the definition (through the `*mut` its API
// takes); nothing in this module writes it after it is built.
unsafe impl Sync for MethodDef {}

impl MethodDef {
    const fn new(name: &'static core::ffi::CStr, doc: &'static core::ffi::CStr, meth: FastFn) -> Self {
        MethodDef(core::cell::UnsafeCell::new(ffi::PyMethodDef {
            ml_name: name.as_ptr(),
            // SAFETY: a C function pointer stored under the type CPython's
            // `ml_meth` is declared with; CPython calls it with the
            // fastcall signature because `ml_flags` says METH_FASTCALL |
            // METH_KEYWORDS (what C code does with a cast to PyCFunction).
            ml_meth: ffi::PyMethodDefPointer {
                PyCFunction: unsafe { core::mem::transmute::<FastFn, ffi::PyCFunction>(meth) },
            },
            ml_flags: METH_FASTCALL | ffi::METH_KEYWORDS,
            ml_doc: doc.as_ptr(),
        }))
    }
}

/// A function's fast path: its `N` positional arguments in, its result out,
/// or `None` to hand the call to the PyO3 function.
type FastBody<const N: usize> =
    for<'py> fn(Python<'py>, [Borrowed<'_, 'py, PyAny>; N]) -> PyResult<Option<Bound<'py, PyAny>>>;

/// The PyO3-generated functions, for the calls the fast path does not take.
struct Slow {
    sendfd: Py<PyAny>,
    recvfd: Py<PyAny>,
    send_fds: Py<PyAny>,
    recv_fds: Py<PyAny>,
}

static SLOW: PyOnceLock<Slow> = PyOnceLock::new();

/// The body of a fastcall trampoline: `fast` gets the positional arguments
/// when there are exactly `N` and no keywords; otherwise, or when `fast`
/// returns `None` (an argument it does not convert), the PyO3 function
/// `slow` picks out of `SLOW` takes the whole call.
///
/// # Safety
/// CPython's fastcall contract: the thread is attached, `args` holds
/// `nargs` positional arguments followed by one value per name in
/// `kwnames` (NULL or a tuple of str), all borrowed for the call.
unsafe fn fastcall<const N: usize>(
    py: Python<'_>,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
    slow: fn(&Slow) -> &Py<PyAny>,
    fast: FastBody<N>,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: the caller's contract; `kwnames` is NULL or a tuple.
    let kwnames = unsafe { Borrowed::from_ptr_or_opt(py, kwnames) };
    let nkw = kwnames.as_ref().map_or(0, |k| k.len().unwrap_or(0));
    if nargs == N as ffi::Py_ssize_t && nkw == 0 {
        // SAFETY: `args` holds N borrowed, non-NULL objects.
        let argv = core::array::from_fn(|i| unsafe { Borrowed::from_ptr(py, *args.add(i)) });
        if let Some(value) = fast(py, argv)? {
            return Ok(value.into_ptr());
        }
    }
    Ok(slow_call(py, args, nargs, kwnames, slow)?.into_ptr())
}

/// Any call but an exact positional one: handed to the PyO3 function with
/// its arguments as a tuple and a dict, as PyO3's own registration gets them.
fn slow_call<'py>(
    py: Python<'py>,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: Option<Borrowed<'_, 'py, PyAny>>,
    slow: fn(&Slow) -> &Py<PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let Some(functions) = SLOW.get(py) else {
        return Err(PyTypeError::new_err("fdcred._fdcred is not initialised"));
    };
    let arg = |i: usize| {
        // SAFETY: `args` holds nargs + len(kwnames) borrowed objects.
        unsafe { Borrowed::from_ptr(py, *args.add(i)) }.to_owned()
    };
    let nargs = nargs as usize;
    let positional = PyTuple::new(py, (0..nargs).map(arg))?;
    let kwargs = match kwnames {
        Some(names) => {
            let dict = pyo3::types::PyDict::new(py);
            for (i, name) in names.try_iter()?.enumerate() {
                dict.set_item(name?, arg(nargs + i))?;
            }
            Some(dict)
        }
        None => None,
    };
    slow(functions).bind(py).call(positional, kwargs.as_ref())
}

/// `static $def`: the fastcall `PyMethodDef` of `$name`, whose fast path
/// (`fastcall`) takes `$n` positional arguments to `$fast` and leaves every
/// other call to the PyO3 function `SLOW.$name`. Its docstring is `$doc`
/// after the text signature `$sig`, as CPython reads `ml_doc`.
macro_rules! fastcall_def {
    ($def:ident, $entry:ident, $name:ident, $sig:literal, $doc:expr, $n:literal, $fast:expr) => {
        unsafe fn $entry(
            py: Python<'_>,
            _module: *mut ffi::PyObject,
            args: *const *mut ffi::PyObject,
            nargs: ffi::Py_ssize_t,
            kwnames: *mut ffi::PyObject,
        ) -> PyResult<*mut ffi::PyObject> {
            // SAFETY: the trampoline passes on the arguments of a
            // METH_FASTCALL | METH_KEYWORDS call.
            unsafe { fastcall::<$n>(py, args, nargs, kwnames, |s| &s.$name, $fast) }
        }

        static $def: MethodDef = MethodDef::new(
            match core::ffi::CStr::from_bytes_with_nul(concat!(stringify!($name), "\0").as_bytes()) {
                Ok(name) => name,
                Err(_) => panic!("a function name has no NUL"),
            },
            match core::ffi::CStr::from_bytes_with_nul(concat!($sig, "\n--\n\n", $doc, "\0").as_bytes()) {
                Ok(doc) => doc,
                Err(_) => panic!("a docstring has no NUL"),
            },
            get_trampoline_function!(fastcall_cfunction_with_keywords, $entry),
        );
    };
}

fastcall_def!(SENDFD_DEF, sendfd_fast, sendfd, "sendfd(sock, fd)", doc_sendfd!(), 2, |py, [sock, fd]| {
    sendfd(py, &sock, &fd)?;
    Ok(Some(py.None().into_bound(py)))
});
fastcall_def!(RECVFD_DEF, recvfd_fast, recvfd, "recvfd(sock)", doc_recvfd!(), 1, |py, [sock]| {
    Ok(Some(recvfd(py, &sock)?.into_pyobject(py)?.into_any()))
});
fastcall_def!(
    SEND_FDS_DEF,
    send_fds_fast,
    send_fds,
    "send_fds(sock, data, fds)",
    doc_send_fds!(),
    3,
    |py, [sock, data, fds]| { Ok(Some(send_fds(py, &sock, &data, &fds)?.into_pyobject(py)?.into_any())) }
);
fastcall_def!(
    RECV_FDS_DEF,
    recv_fds_fast,
    recv_fds,
    "recv_fds(sock, bufsize, maxfds)",
    doc_recv_fds!(),
    3,
    |py, [sock, bufsize, maxfds]| {
        // A size that is no int: PyO3's function raises its own error.
        let (Ok(bufsize), Ok(maxfds)) = (bufsize.extract::<isize>(), maxfds.extract::<isize>()) else {
            return Ok(None);
        };
        Ok(Some(recv_fds(py, &sock, bufsize, maxfds)?.into_any()))
    }
);

/// Put the fastcall function for `def` in the module in place of its PyO3 twin.
fn add_fast(m: &Bound<'_, PyModule>, def: &'static MethodDef) -> PyResult<()> {
    let py = m.py();
    let name = m.name()?;
    // SAFETY: `def` is a static that outlives the function object; the
    // module (`__self__`, as PyO3 sets it) and `name` (`__module__`) are
    // live objects, which PyCMethod_New takes new references to.
    let function = unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            ffi::PyCMethod_New(def.0.get(), m.as_ptr(), name.as_ptr(), core::ptr::null_mut()),
        )
    }?;
    // Replaces the PyO3 function of the same name (already in `__all__`).
    m.setattr(function.getattr("__name__")?.cast_into::<PyString>()?, function)
}

#[pymodule]
fn _fdcred(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let namedtuple = py.import("collections")?.getattr("namedtuple")?;
    let kwargs = [("module", "fdcred")].into_py_dict(py)?;
    let cred = namedtuple.call(("Cred", "pid uid gid"), Some(&kwargs))?;
    cred.setattr("__doc__", "A process identity as the kernel reported it; None marks a field it did not vouch for.")?;
    let message = namedtuple.call(("Message", "data fds cred pidfd address truncated"), Some(&kwargs))?;
    message.setattr(
        "__doc__",
        "What recv_msg received: data (bytes), fds (list of int, the caller's), cred (Cred or None), \
         pidfd (int or None, the caller's), address (str, bytes or None), truncated (the datagram \
         was longer than bufsize).",
    )?;
    let _ = CRED_TYPE.set(py, cred.clone().unbind());
    let _ = MESSAGE_TYPE.set(py, message.clone().unbind());
    m.add("Cred", cred)?;
    m.add("Message", message)?;
    m.add("MAX_FDS", MAX_FDS)?;
    m.add("CLOEXEC_IS_ATOMIC", fdcred::CLOEXEC_IS_ATOMIC)?;
    m.add("CRED_HANDSHAKE_BYTE", fdcred::FDCRED_CRED_HANDSHAKE_BYTE)?;
    m.add_function(wrap_pyfunction!(sendfd, m)?)?;
    m.add_function(wrap_pyfunction!(recvfd, m)?)?;
    m.add_function(wrap_pyfunction!(send_fds, m)?)?;
    m.add_function(wrap_pyfunction!(sendto_fds, m)?)?;
    m.add_function(wrap_pyfunction!(recv_fds, m)?)?;
    m.add_function(wrap_pyfunction!(sendcred, m)?)?;
    m.add_function(wrap_pyfunction!(recvcred, m)?)?;
    m.add_function(wrap_pyfunction!(send_msg, m)?)?;
    m.add_function(wrap_pyfunction!(recv_msg, m)?)?;
    m.add_function(wrap_pyfunction!(allow_recv_cred, m)?)?;
    m.add_function(wrap_pyfunction!(allow_recv_pidfd, m)?)?;
    m.add_function(wrap_pyfunction!(refuse_fds, m)?)?;
    m.add_function(wrap_pyfunction!(peer_cred, m)?)?;
    m.add_function(wrap_pyfunction!(peer_groups, m)?)?;
    m.add_function(wrap_pyfunction!(peer_pidfd, m)?)?;
    m.add_function(wrap_pyfunction!(peer_security, m)?)?;
    m.add_function(wrap_pyfunction!(cred_handshake_receiver, m)?)?;
    m.add_function(wrap_pyfunction!(cred_handshake_sender, m)?)?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    let slow = |name: &str| m.getattr(name).map(Bound::unbind);
    let functions = Slow {
        sendfd: slow("sendfd")?,
        recvfd: slow("recvfd")?,
        send_fds: slow("send_fds")?,
        recv_fds: slow("recv_fds")?,
    };
    let _ = SLOW.set(py, functions);
    for def in [&SENDFD_DEF, &RECVFD_DEF, &SEND_FDS_DEF, &RECV_FDS_DEF] {
        add_fast(m, def)?;
    }
    Ok(())
}
