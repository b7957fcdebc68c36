"""Every blocking call under signals, as CPython's socket calls behave: a
signal that interrupts the wait runs Python's handlers; a handler that
raises ends the call promptly with its exception, having taken no message
(it stays queued, nothing leaks) or sent nothing; one that returns lets the
call wait again and complete normally. SIGALRM comes from setitimer,
SIGINT from another thread (pthread_kill to the main thread, where Python
runs handlers) and raises KeyboardInterrupt through Python's own handler.

Each handler first does what a racing peer would (queues the message the
receive waits for, or makes room for the send), so the tests also prove
that a message arriving together with the signal is not lost."""

import contextlib
import os
import signal
import socket
import threading
import time

import pytest

import fdcred
import fdcred.classic as classic
from helpers import open_fds

PROMPT = 5.0  # the signal comes after 0.1 s; the call must end well before this
WATCHDOG = 20.0  # a call that ignores signals is unblocked then, and fails


class Alarm(Exception):
    pass


class AlarmOSError(TimeoutError):
    """An OSError subclass, as alarm handlers often raise: classic must not
    take it for the call failing."""


@pytest.fixture(autouse=True)
def no_fd_leaked():
    before = open_fds()
    yield
    assert open_fds() == before, "descriptors leaked (or closed) by the test"


@pytest.fixture
def devnull():
    fd = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    yield fd
    os.close(fd)


def in_thread(body):
    """Run body() in a thread that blocks SIGALRM and SIGINT, so that both
    go to the main thread, the one blocked in the call under test."""

    def run():
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM, signal.SIGINT})
        body()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


@contextlib.contextmanager
def watchdog(*socks):
    """If the call under test ignores the signal, shut its sockets down
    after WATCHDOG seconds: the test then fails instead of hanging."""
    done = threading.Event()

    def body():
        if not done.wait(WATCHDOG):
            for s in socks:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    t = in_thread(body)
    try:
        yield
    finally:
        done.set()
        t.join()


@contextlib.contextmanager
def signal_during(signame, action, raises):
    """One `signame` to the main thread 0.1 s from now. Its handler runs
    action(), then raises (Alarm, or KeyboardInterrupt for SIGINT through
    Python's default handler) if `raises`, else returns."""
    signum = getattr(signal, signame)
    calls = []

    def handler(num, frame):
        calls.append(num)
        action()
        if raises:
            if num == signal.SIGINT:
                signal.default_int_handler(num, frame)
            raise raises
    old = signal.signal(signum, handler)
    try:
        if signum == signal.SIGALRM:
            signal.setitimer(signal.ITIMER_REAL, 0.1)
        else:
            main = threading.main_thread().ident
            in_thread(lambda: (time.sleep(0.1), signal.pthread_kill(main, signum)))
        yield calls
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signum, old)
    assert calls == [signum], "the handler ran once"


def expected(signame, raises):
    return KeyboardInterrupt if signame == "SIGINT" else raises


# --- receives -------------------------------------------------------------
# (name, setup(b), queue(a, fd): what the peer sends, call(b), fds of the result)


def _queue_fd(a, fd):
    fdcred.send_fds(a, b"m", [fd])


def _queue_cred(a, fd):
    fdcred.sendcred(a, b"m")


RECEIVES = [
    ("recvfd", None, lambda a, fd: fdcred.sendfd(a, fd), lambda b: fdcred.recvfd(b), lambda r: [r]),
    ("recv_fds", None, _queue_fd, lambda b: fdcred.recv_fds(b, 8, 1), lambda r: r[1]),
    ("recv_msg", None, _queue_fd, lambda b: fdcred.recv_msg(b, 8, 1), lambda r: r.fds),
    ("recvcred", fdcred.allow_recv_cred, _queue_cred, lambda b: fdcred.recvcred(b, 8), lambda r: []),
    (
        "cred_handshake_sender",
        None,
        lambda a, fd: a.send(bytes([fdcred.CRED_HANDSHAKE_BYTE])),
        fdcred.cred_handshake_sender,
        lambda r: [],
    ),
    ("classic.recvfd", None, lambda a, fd: fdcred.sendfd(a, fd), classic.recvfd, lambda r: [r[1]]),
    ("classic.recvcred", fdcred.allow_recv_cred, _queue_cred, classic.recvcred, lambda r: []),
]


def check_received(name, result, fds_of, queue):
    fds = fds_of(result)
    want = 1 if queue not in (_queue_cred,) and "cred" not in name else 0
    assert len(fds) == want, "%s: %r" % (name, result)
    if name.startswith("classic."):
        assert result[0] == 1, "%s: %r" % (name, result)
    for fd in fds:
        os.close(fd)


@pytest.mark.parametrize("signame", ["SIGALRM", "SIGINT"])
@pytest.mark.parametrize("name,setup,queue,call,fds_of", RECEIVES, ids=[c[0] for c in RECEIVES])
def test_a_raising_handler_ends_a_waiting_receive_and_the_message_stays_queued(
    signame, name, setup, queue, call, fds_of, devnull
):
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    with a, b:
        if setup:
            setup(b)
        before = open_fds()
        raises = AlarmOSError("alarm") if name.startswith("classic.") else Alarm("alarm")
        start = time.monotonic()
        with watchdog(a, b), pytest.raises(expected(signame, type(raises))):
            with signal_during(signame, lambda: queue(a, devnull), raises):
                call(b)
        assert time.monotonic() - start < PROMPT, "%s: the handler's exception came late" % name
        assert open_fds() == before, "%s: the interrupted call took the message's descriptor" % name
        # The message the handler queued was not taken by the interrupted call.
        check_received(name, call(b), fds_of, queue)


@pytest.mark.parametrize("signame", ["SIGALRM", "SIGINT"])
@pytest.mark.parametrize("name,setup,queue,call,fds_of", RECEIVES, ids=[c[0] for c in RECEIVES])
def test_a_returning_handler_lets_the_receive_wait_on_and_complete(signame, name, setup, queue, call, fds_of, devnull):
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    with a, b:
        if setup:
            setup(b)
        with watchdog(a, b), signal_during(signame, lambda: queue(a, devnull), None):
            result = call(b)
        check_received(name, result, fds_of, queue)


# --- sends on a full socket -------------------------------------------------
# (name, call(a, fd, address), what arrives: (data, number of fds))

OWN = (os.getpid(), os.getuid(), os.getgid())

SENDS = [
    ("sendfd", lambda a, fd, addr: fdcred.sendfd(a, fd), (b"\0", 1)),
    ("send_fds", lambda a, fd, addr: fdcred.send_fds(a, b"s", [fd]), (b"s", 1)),
    ("sendto_fds", lambda a, fd, addr: fdcred.sendto_fds(a, b"s", [fd], addr), (b"s", 1)),
    ("send_msg", lambda a, fd, addr: fdcred.send_msg(a, b"s", [fd], cred=True), (b"s", 1)),
    ("sendcred", lambda a, fd, addr: fdcred.sendcred(a, b"s"), (b"s", 0)),
    ("cred_handshake_receiver", lambda a, fd, addr: fdcred.cred_handshake_receiver(a), (b"\x06", 0)),
    ("classic.sendfd", lambda a, fd, addr: classic.sendfd(a, fd), (b"\0", 1)),
    ("classic.sendcred", lambda a, fd, addr: classic.sendcred(a, *OWN), (b"\0", 0)),
]


@contextlib.contextmanager
def full_datagram_socket(tmp_path, name):
    """(a, b, address): a's datagrams to b block, b's queue being full;
    unconnected for sendto_fds."""
    b = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    address = str(tmp_path / "b.sock")
    b.bind(address)
    a = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if name != "sendto_fds":
        a.connect(address)
    with a, b:
        a.setblocking(False)
        filled = 0
        with contextlib.suppress(BlockingIOError):
            while True:
                a.sendto(b"f", address)
                filled += 1
        a.setblocking(True)
        yield a, b, address, filled


def drain(b):
    """Every queued message: [(data, fds)], the fds closed."""
    messages = []
    while True:
        try:
            m = fdcred.recv_msg(b, 16, 4, nonblocking=True)
        except BlockingIOError:
            return messages
        for fd in m.fds:
            os.close(fd)
        messages.append((m.data, len(m.fds)))


@pytest.mark.parametrize("signame", ["SIGALRM", "SIGINT"])
@pytest.mark.parametrize("name,call,arrives", SENDS, ids=[c[0] for c in SENDS])
def test_a_raising_handler_ends_a_send_waiting_on_a_full_socket_with_nothing_sent(
    signame, name, call, arrives, devnull, tmp_path
):
    with full_datagram_socket(tmp_path, name) as (a, b, address, filled):
        raises = AlarmOSError("alarm") if name.startswith("classic.") else Alarm("alarm")
        start = time.monotonic()
        with watchdog(a, b), pytest.raises(expected(signame, type(raises))):
            with signal_during(signame, lambda: None, raises):
                call(a, devnull, address)
        assert time.monotonic() - start < PROMPT, "%s: the handler's exception came late" % name
        assert drain(b) == [(b"f", 0)] * filled, "%s: the interrupted send sent something" % name


@pytest.mark.parametrize("signame", ["SIGALRM", "SIGINT"])
@pytest.mark.parametrize("name,call,arrives", SENDS, ids=[c[0] for c in SENDS])
def test_a_returning_handler_lets_the_send_complete_once_and_return_normally(
    signame, name, call, arrives, devnull, tmp_path
):
    with full_datagram_socket(tmp_path, name) as (a, b, address, filled):
        # The handler makes room, as a reader would, and returns.
        with watchdog(a, b), signal_during(signame, lambda: b.recv(16), None):
            result = call(a, devnull, address)
        if name.startswith("classic."):
            assert result == 0, "%s: %r (errno %d)" % (name, result, classic.last_errno)
        assert drain(b) == [(b"f", 0)] * (filled - 1) + [arrives], "%s: sent once, with its descriptors" % name


def test_a_stream_send_interrupted_part_way_returns_its_count_and_the_fds_go_once(devnull):
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with a, b:
        data = b"d" * (4 << 20)  # far more than the socket buffers hold
        with watchdog(a, b), signal_during("SIGALRM", lambda: None, None):
            sent = fdcred.send_fds(a, data, [devnull])
        assert 0 < sent < len(data), "the signal ended the write part-way (%d of %d)" % (sent, len(data))
        # The rest goes without descriptors, as the caller of a partial send does.
        t = in_thread(lambda: a.sendall(data[sent:]))
        got, nfds = 0, 0
        while got < len(data):
            chunk, fds = fdcred.recv_fds(b, 1 << 20, 4)
            got += len(chunk)
            nfds += len(fds)
            for fd in fds:
                os.close(fd)
        t.join()
        assert (got, nfds) == (len(data), 1), "every byte once, the descriptor once"


def test_a_stream_send_waiting_for_room_sends_its_descriptors_once_after_a_handler_returns(devnull):
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with a, b:
        a.setblocking(False)
        filled = 0
        with contextlib.suppress(BlockingIOError):
            while True:
                filled += a.send(b"f" * 4096)
        a.setblocking(True)
        with watchdog(a, b), signal_during("SIGALRM", lambda: None, Alarm("alarm")), pytest.raises(Alarm):
            fdcred.send_fds(a, b"s", [devnull])
        drained = 0
        while drained < filled:
            chunk, fds = fdcred.recv_fds(b, 1 << 16, 4)
            assert fds == [], "the interrupted send attached nothing"
            drained += len(chunk)
        assert drained == filled
        # Again, the handler now making room and returning: sent once.
        with contextlib.suppress(BlockingIOError):
            a.setblocking(False)
            while True:
                filled += a.send(b"f" * 4096)
        a.setblocking(True)
        with watchdog(a, b), signal_during("SIGALRM", lambda: b.recv(1 << 16), None):
            assert fdcred.send_fds(a, b"s", [devnull]) == 1
        b.setblocking(False)
        data, nfds = b"", 0
        with contextlib.suppress(BlockingIOError):
            while True:
                chunk, fds = fdcred.recv_fds(b, 1 << 16, 4)
                data += chunk
                nfds += len(fds)
                for fd in fds:
                    os.close(fd)
        assert data.endswith(b"s") and nfds == 1, "the descriptor went once, with the byte"
