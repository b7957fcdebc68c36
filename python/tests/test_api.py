"""What the package adds to the ctypes module's calls: peer groups, pidfd and
security label, the handshake pair, sendto_fds, the general send/receive,
the policy on truncated messages, and the installation itself."""

import contextlib
import errno
import os
import resource
import shutil
import socket
import tempfile

import pytest

import fdcred
from helpers import IS_ROOT, NOBODY, UCRED, become_nobody, forked, kernel_feature, open_fds, same_file, wait_readable


@pytest.fixture(autouse=True)
def no_fd_leaked():
    before = open_fds()
    yield
    assert open_fds() == before, "descriptors leaked (or closed) by the test"


def pair(kind=socket.SOCK_DGRAM):
    return socket.socketpair(socket.AF_UNIX, kind)


def close_all(fds):
    for fd in fds:
        os.close(fd)


def test_installed_package_needs_no_library_path():
    assert "site-packages" in fdcred.__file__, "tests must run against the installed package, not %s" % fdcred.__file__
    assert "FDCRED_LIBRARY" not in os.environ and "LD_LIBRARY_PATH" not in os.environ
    assert fdcred._fdcred.__file__.endswith(".abi3.so"), fdcred._fdcred.__file__
    with open("/proc/self/maps") as maps:
        assert "libfdcred" not in maps.read(), "the package must not load libfdcred.so"


def test_version_matches_the_crate():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "Cargo.toml")) as f:
        want = next(line.split('"')[1] for line in f if line.startswith("version ="))
    assert fdcred.version() == fdcred.__version__ == want


def test_errors_are_oserror_subclasses_with_errno():
    a, b = pair(socket.SOCK_STREAM)
    with a, b:
        b.setblocking(False)
        with pytest.raises(BlockingIOError) as e:
            fdcred.recv_fds(b, 8, 1)
        assert e.value.errno == errno.EAGAIN
        a.close()
        with pytest.raises(ConnectionResetError) as e:
            fdcred.recvfd(b)
        assert e.value.errno == errno.ECONNRESET


def test_received_fds_are_cloexec_unless_asked_otherwise():
    a, b = pair()
    with a, b:
        fdcred.send_fds(a, b"x", [0, 1])
        data, fds = fdcred.recv_fds(b, 8, 2)
        assert [os.get_inheritable(fd) for fd in fds] == [False, False]
        close_all(fds)
        fdcred.send_msg(a, b"y", [0])
        m = fdcred.recv_msg(b, 8, 1, cloexec=False)
        assert os.get_inheritable(m.fds[0]) is True
        close_all(m.fds)


def test_data_truncation_raises_and_closes_the_fds():
    a, b = pair(socket.SOCK_SEQPACKET)
    with a, b:
        for call in (lambda: fdcred.recv_fds(b, 4, 2), lambda: fdcred.recvfd(b)):
            socket.send_fds(a, [b"longer than four"], [0, 1])
            before = open_fds()
            with pytest.raises(OSError) as e:
                call()
            assert e.value.errno == errno.EMSGSIZE
            assert open_fds() == before
        # recv_msg reports it instead, with the complete descriptor set
        socket.send_fds(a, [b"longer than four"], [0, 1])
        m = fdcred.recv_msg(b, 4, 2)
        assert (m.data, len(m.fds), m.truncated) == (b"long", 2, True)
        close_all(m.fds)


def test_fd_limit_truncation_raises_ebadmsg_and_closes_everything():
    # RLIMIT_NOFILE makes the kernel cut the descriptor array part-way
    # (MSG_CTRUNC): the call must not hand out the part that fit.
    a, b = pair()
    with a, b:
        socket.send_fds(a, [b"x"], [0] * 8)
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        before = open_fds()
        limit, free = 0, 0
        while free < 3:  # a limit that leaves room for 3 of the 8
            free += limit not in before
            limit += 1
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
        try:
            with pytest.raises(OSError) as e:
                fdcred.recv_fds(b, 8, 8)
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        assert e.value.errno == errno.EBADMSG
        assert open_fds() == before


def test_sendto_fds_path_and_abstract_address():
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as rx, socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as tx:
        name = b"\0fdcred-py-test-%d" % os.getpid()
        rx.bind(name)
        assert fdcred.sendto_fds(tx, b"abstract", [0], name) == 8
        data, fds, _, _ = socket.recv_fds(rx, 16, 2)
        assert (data, len(fds)) == (b"abstract", 1)
        close_all(fds)
    path = "/tmp/fdcred-py-sendto-%d.sock" % os.getpid()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as rx, socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as tx:
        rx.bind(path)
        try:
            tx.bind("\0fdcred-py-src-%d" % os.getpid())
            assert fdcred.sendto_fds(tx, b"path", [0, 1], path) == 4
            m = fdcred.recv_msg(rx, 16, 2)
            assert (m.data, len(m.fds)) == (b"path", 2)
            assert m.address == b"\0fdcred-py-src-%d" % os.getpid()
            close_all(m.fds)
            with pytest.raises(OSError) as e:
                fdcred.sendto_fds(tx, b"x", [0], "/nonexistent/fdcred.sock")
            assert e.value.errno == errno.ENOENT
            with pytest.raises(OSError) as e:
                fdcred.sendto_fds(tx, b"x", [0], "/" + "x" * 200)
            assert e.value.errno == errno.ENAMETOOLONG
        finally:
            os.unlink(path)


def test_send_msg_fds_and_credentials_in_one_message_to_cpython():
    a, b = pair(socket.SOCK_SEQPACKET)
    b.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    with a, b, open("/etc/passwd", "rb") as f:
        assert fdcred.send_msg(a, b"both", [f, 0], cred=True) == 4
        data, anc, flags, _ = b.recvmsg(16, socket.CMSG_SPACE(8) + socket.CMSG_SPACE(UCRED.size))
        assert data == b"both" and flags & socket.MSG_CTRUNC == 0
        got = {(lvl, typ): d for lvl, typ, d in anc}
        fds = list(memoryview(got[(socket.SOL_SOCKET, socket.SCM_RIGHTS)]).cast("i"))
        assert len(fds) == 2 and same_file(fds[0], "/etc/passwd")
        close_all(fds)
        assert UCRED.unpack(got[(socket.SOL_SOCKET, socket.SCM_CREDENTIALS)]) == (os.getpid(), os.getuid(), os.getgid())


def test_recv_msg_fds_and_credentials_in_one_message():
    a, b = pair(socket.SOCK_SEQPACKET)
    with a, b:
        fdcred.allow_recv_cred(b)
        me = (os.getpid(), os.getuid(), os.getgid())
        rights = (socket.SOL_SOCKET, socket.SCM_RIGHTS, memoryview(bytes(4)).cast("i"))
        a.sendmsg([b"all"], [rights, (socket.SOL_SOCKET, socket.SCM_CREDENTIALS, UCRED.pack(*me))])
        m = fdcred.recv_msg(b, 8, 1, pidfd=True)
        assert (m.data, len(m.fds), m.cred, m.truncated) == (b"all", 1, fdcred.Cred(*me), False)
        close_all(m.fds)
        if m.pidfd is not None:
            os.close(m.pidfd)


def test_recv_msg_pidfd_with_fds_and_credentials():
    a, b = pair(socket.SOCK_SEQPACKET)
    with a, b:
        fdcred.allow_recv_cred(b)
        kernel_feature(fdcred.allow_recv_pidfd, b, why="SO_PASSPIDFD needs Linux 6.5")
        fdcred.send_msg(a, b"all", [0], cred=True)
        m = fdcred.recv_msg(b, 8, 1, pidfd=True)
        assert (m.data, len(m.fds), m.cred.pid) == (b"all", 1, os.getpid())
        close_all(m.fds)
        assert m.pidfd is not None and not os.get_inheritable(m.pidfd)
        with open("/proc/self/fdinfo/%d" % m.pidfd) as info:
            assert "Pid:\t%d" % os.getpid() in info.read()
        os.close(m.pidfd)
        # Without pidfd=True the kernel's pidfd is closed, not handed out
        # (the fixture checks that nothing is left open).
        fdcred.sendcred(a, b"again")
        m = fdcred.recv_msg(b, 8)
        assert (m.data, m.pidfd, m.cred.pid) == (b"again", None, os.getpid())


def test_recv_msg_more_fds_than_maxfds_closes_all():
    a, b = pair()
    with a, b:
        socket.send_fds(a, [b"x"], [0, 1, 2])
        before = open_fds()
        with pytest.raises(OSError) as e:
            fdcred.recv_msg(b, 8, 2)
        assert e.value.errno == errno.EMSGSIZE and open_fds() == before


def test_send_msg_claim_and_nonblocking():
    a, b = pair()
    with a, b:
        fdcred.allow_recv_cred(b)
        fdcred.send_msg(a, b"claim", cred=fdcred.Cred(os.getpid(), os.getuid(), None))
        assert fdcred.recvcred(b, 8) == (b"claim", fdcred.Cred(os.getpid(), os.getuid(), os.getgid()))
        with pytest.raises(BlockingIOError):
            fdcred.recv_msg(b, 8, nonblocking=True)
        if not IS_ROOT:
            with pytest.raises(PermissionError):
                fdcred.send_msg(a, b"x", cred=fdcred.Cred(None, 0, None))


@contextlib.contextmanager
def accepted_from_child(groups):
    """A connection accepted from a forked child (uid 65534 with `groups`
    when root); yields (conn, child pid)."""
    d = tempfile.mkdtemp(prefix="fdcred-py-peer-")
    os.chmod(d, 0o755)
    path = os.path.join(d, "peer.sock")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as srv:
            srv.bind(path)
            os.chmod(path, 0o666)
            srv.listen(1)

            def client():
                srv.close()
                if IS_ROOT:
                    os.setgroups(groups)
                    os.setgid(NOBODY)
                    os.setuid(NOBODY)
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
                    c.connect(path)
                    wait_readable(c, "server's bye")

            with forked(client) as pid:
                wait_readable(srv, "the connection")
                conn, _ = srv.accept()
                with conn:
                    try:
                        yield conn, pid
                    finally:
                        conn.send(b"!")
    finally:
        shutil.rmtree(d)


def test_peer_groups_of_another_process():
    with accepted_from_child([NOBODY, 4242]) as (conn, _):
        want = [4242, NOBODY] if IS_ROOT else sorted(set(os.getgroups()))
        assert sorted(fdcred.peer_groups(conn)) == want


def test_peer_pidfd_names_the_peer():
    with accepted_from_child([]) as (conn, pid):
        pidfd = kernel_feature(fdcred.peer_pidfd, conn, why="SO_PEERPIDFD needs Linux 6.5")
        with open("/proc/self/fdinfo/%d" % pidfd) as info:
            assert "Pid:\t%d" % pid in info.read()
        assert not os.get_inheritable(pidfd)
        os.close(pidfd)


def test_peer_security_matches_so_peersec():
    with accepted_from_child([]) as (conn, _):
        label = kernel_feature(fdcred.peer_security, conn, why="no LSM labels sockets on this machine (SO_PEERSEC)")
        raw = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERSEC, 256)
        assert label == raw.rstrip(b"\0")


def test_handshake_pair_between_processes():
    a, b = pair(socket.SOCK_STREAM)

    def sender():
        b.close()
        if IS_ROOT:
            become_nobody()
        fdcred.cred_handshake_sender(a)
        fdcred.sendcred(a, b"after the go-on")

    with forked(sender) as pid:
        a.close()
        fdcred.cred_handshake_receiver(b)
        wait_readable(b, "the credentials")
        data, cred = fdcred.recvcred(b, 64)
    b.close()
    uid = NOBODY if IS_ROOT else os.getuid()
    assert (data, cred.pid, cred.uid) == (b"after the go-on", pid, uid)


def test_iterables_and_bytes_likes():
    a, b = pair()
    with a, b:
        assert fdcred.send_fds(a, bytearray(b"ba"), iter([0, 1])) == 2
        data, fds = fdcred.recv_fds(b, 8, 2)
        assert (data, len(fds)) == (b"ba", 2)
        close_all(fds)
        assert fdcred.send_fds(a, memoryview(b"mv"), (0,)) == 2
        data, fds = fdcred.recv_fds(b, 8, 2)
        close_all(fds)
        with pytest.raises(OSError) as e:
            fdcred.send_fds(a, b"x", iter([0] * (fdcred.MAX_FDS + 1)))
        assert e.value.errno == errno.EINVAL


def test_a_socket_object_of_another_family_is_still_refused():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        with pytest.raises(OSError) as e:
            fdcred.send_fds(udp, b"x", [0])
        assert e.value.errno in (errno.EOPNOTSUPP, errno.EDESTADDRREQ)
        # the same descriptor as a plain int gets the library's own check
        with pytest.raises(OSError) as e:
            fdcred.send_fds(udp.fileno(), b"x", [0])
        assert e.value.errno == errno.EOPNOTSUPP


def test_blocking_calls_release_the_gil():
    import threading

    a, b = pair()
    got = []
    t = threading.Thread(target=lambda: got.append(fdcred.recv_fds(b, 8, 1)))
    t.start()
    # the main thread runs while the other blocks in recvmsg
    for _ in range(3):
        t.join(0.05)
    fdcred.send_fds(a, b"go", [0])
    t.join(10)
    assert not t.is_alive()
    (data, fds), = got
    close_all(fds)
    a.close()
    b.close()


def test_sendto_fds_library_abstract_form_and_a_full_length_path():
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as rx, socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as tx:
        rx.bind(b"\0fdcred-py-at-%d" % os.getpid())
        assert fdcred.sendto_fds(tx, b"at", [0], "@fdcred-py-at-%d" % os.getpid()) == 2
        data, fds = fdcred.recv_fds(rx, 8, 1)
        assert (data, len(fds)) == (b"at", 1)
        close_all(fds)
        for bad in ("", "@", b"\0"):
            with pytest.raises(OSError) as e:
                fdcred.sendto_fds(tx, b"x", [0], bad)
            assert e.value.errno == errno.EINVAL
    # A path of exactly sizeof(sun_path) = 108 bytes (no room for a NUL)
    # reaches the kernel, which finds no such socket; one byte more is refused
    # before. (CPython's bind refuses 108 bytes, so nothing can listen there.)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as tx:
        name = "/tmp/" + "p" * 103
        with pytest.raises(OSError) as e:
            fdcred.sendto_fds(tx, b"x", [0], name)
        assert e.value.errno == errno.ENOENT
        with pytest.raises(OSError) as e:
            fdcred.sendto_fds(tx, b"x", [0], name + "p")
        assert e.value.errno == errno.ENAMETOOLONG
