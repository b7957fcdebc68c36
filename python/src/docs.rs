//! The docstrings of the module's functions, as `help()` shows them. The
//! stubs (`fdcred/_fdcred.pyi`) carry the same text word for word, for
//! editors and type checkers; `tests/test_docs.py` compares the two.
//! Macros, not consts: PyO3's `#[doc = ...]` and the fastcall definitions'
//! `concat!` both need a literal.

/// What a blocking send does when a signal interrupts its wait.
macro_rules! doc_send_signals {
    () => {
        "A signal handler that raises while the call waits (a full socket buffer)
ends it with that exception, nothing sent; one that returns lets it wait
again, as socket.send does."
    };
}

/// What a blocking receive does when a signal interrupts its wait.
macro_rules! doc_recv_signals {
    () => {
        "A signal handler that raises while the call waits ends it with that
exception, nothing taken: the message stays queued. One that returns lets
it wait again, as socket.recv does."
    };
}

/// A receive on a socket that is not a Unix one (fdcred_recv_fds(3)).
macro_rules! doc_recv_not_unix {
    () => {
        "On a socket that is not a Unix one the bytes are read, and lost, before
EOPNOTSUPP is raised."
    };
}

macro_rules! doc_sendfd {
    () => {
        concat!(
            "Send one descriptor with exactly one data byte (the classic protocol).

",
            doc_send_signals!()
        )
    };
}

macro_rules! doc_recvfd {
    () => {
        concat!(
            "Receive one descriptor sent with one byte; returns it (the caller's).

ENOMSG if the message had no descriptor, ECONNRESET at end of file,
EMSGSIZE (all closed) for more than one descriptor or more than one byte
in a datagram, EBADMSG when the kernel truncated them.
",
            doc_recv_not_unix!(),
            "
",
            doc_recv_signals!()
        )
    };
}

macro_rules! doc_send_fds {
    () => {
        concat!(
            "Send `data` with the descriptors `fds` (at most MAX_FDS) in one message.

Returns the bytes sent (on a stream possibly fewer than len(data); the
descriptors went with the first byte). `data` is a bytes-like object,
`fds` an iterable of descriptors (TypeError otherwise). EINVAL for more
than MAX_FDS, or descriptors with no data on a stream; EOPNOTSUPP on a
socket that is not a Unix one (TCP would drop them silently).
",
            doc_send_signals!()
        )
    };
}

macro_rules! doc_sendto_fds {
    () => {
        concat!(
            "send_fds to `address` on an unconnected SOCK_DGRAM socket.

`address` is a path, or an abstract name (\"\\0name\" or \"@name\"). EINVAL
for an empty name or a NUL inside, ENAMETOOLONG beyond sun_path (108
bytes on Linux).
",
            doc_send_signals!()
        )
    };
}

macro_rules! doc_recv_fds {
    () => {
        concat!(
            "Receive up to `bufsize` bytes and up to `maxfds` descriptors.

Returns (data, fds). Raises, after closing every descriptor of the
message: EMSGSIZE for more than `maxfds` descriptors or a datagram longer
than `bufsize`, EBADMSG when the kernel truncated them. (b\"\", []) is end
of file on a stream. MemoryError when no buffer of `bufsize` bytes can be
reserved.
",
            doc_recv_not_unix!(),
            "
",
            doc_recv_signals!()
        )
    };
}

macro_rules! doc_sendcred {
    () => {
        concat!(
            "Send `data` with credentials.

They are my own pid and real ids when `cred` is None, else `cred` (its
None fields are my own). EPERM (PermissionError) for ids this process may
not claim; nothing is sent then.
",
            doc_send_signals!()
        )
    };
}

macro_rules! doc_recvcred {
    () => {
        concat!(
            "Receive up to `bufsize` bytes and the sender's credentials.

Needs allow_recv_cred() on the receiving socket before the peer sends.
ENOMSG when the message carries no credentials (the data is consumed);
EMSGSIZE (all closed) when it carried descriptors. MemoryError when no
buffer of `bufsize` bytes can be reserved.
",
            doc_recv_not_unix!(),
            "
",
            doc_recv_signals!()
        )
    };
}

macro_rules! doc_send_msg {
    () => {
        concat!(
            "Send one message: `data`, the descriptors `fds`, credentials.

`cred` True sends my own, a Cred that claim. The message goes to
`address` if given; with `nonblocking`, BlockingIOError instead of
waiting. Returns bytes sent.
",
            doc_send_signals!()
        )
    };
}

macro_rules! doc_recv_msg {
    () => {
        concat!(
            "Receive one message with its descriptors, credentials and address.

At most `maxfds` descriptors, else EMSGSIZE with all closed; EBADMSG
when the kernel truncated them. The credentials and pidfd are those the
kernel attached. MemoryError when no buffer of `bufsize` bytes can be
reserved.
",
            doc_recv_not_unix!(),
            "
",
            doc_recv_signals!()
        )
    };
}

macro_rules! doc_allow_recv_cred {
    () => {
        "Have the kernel attach the sender's credentials to every message.

Applies to what `sock` receives from now on. Call it before the peer
sends: on a listening socket before accept, or use the handshake pair."
    };
}

macro_rules! doc_allow_recv_pidfd {
    () => {
        "Have the kernel attach a pidfd of the sender to every message.

SO_PASSPIDFD, Linux 6.5+; ENOPROTOOPT before."
    };
}

macro_rules! doc_refuse_fds {
    () => {
        "Have the kernel refuse descriptors sent to `sock` (Linux 6.16+; ENOPROTOOPT before)."
    };
}

macro_rules! doc_cred_handshake_receiver {
    () => {
        concat!(
            "Receiver's half: allow_recv_cred, then send the one-byte \"go on\".

",
            doc_send_signals!()
        )
    };
}

macro_rules! doc_cred_handshake_sender {
    () => {
        concat!(
            "Sender's half: wait for the \"go on\"; messages sent after it carry credentials.

",
            doc_recv_not_unix!(),
            "
",
            doc_recv_signals!()
        )
    };
}

macro_rules! doc_peer_cred {
    () => {
        "The pid/uid/gid of the peer of a connected Unix socket, recorded at connect."
    };
}

macro_rules! doc_peer_groups {
    () => {
        "The peer's supplementary group ids."
    };
}

macro_rules! doc_peer_pidfd {
    () => {
        "A pidfd naming the peer process (the caller's, close-on-exec); ENOPROTOOPT before Linux 6.5."
    };
}

macro_rules! doc_peer_security {
    () => {
        "The peer's security label (LSM context); ENOPROTOOPT when no LSM labels sockets."
    };
}

macro_rules! doc_version {
    () => {
        "The library's version, \"MAJOR.MINOR.PATCH\"."
    };
}
