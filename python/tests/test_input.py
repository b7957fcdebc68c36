"""Bad input raises, never sends or crashes: data that is not bytes-like
(an int, a list of descriptors in the data position) is a TypeError naming
the argument, and a receive buffer that cannot be reserved is a
MemoryError, not an abort of the interpreter."""

import os
import socket

import pytest

import fdcred
from helpers import open_fds


@pytest.fixture(autouse=True)
def no_fd_leaked():
    before = open_fds()
    yield
    assert open_fds() == before, "descriptors leaked (or closed) by the test"


def nothing_queued(b):
    b.setblocking(False)
    with pytest.raises(BlockingIOError):
        b.recv(16)


SENDS = [
    ("send_fds", lambda a, data, fds, addr: fdcred.send_fds(a, data, fds)),
    ("sendto_fds", lambda a, data, fds, addr: fdcred.sendto_fds(a, data, fds, addr)),
    ("send_msg", lambda a, data, fds, addr: fdcred.send_msg(a, data, fds)),
    ("sendcred", lambda a, data, fds, addr: fdcred.sendcred(a, data)),
]


@pytest.mark.parametrize("name,call", SENDS, ids=[s[0] for s in SENDS])
def test_data_without_the_buffer_protocol_is_a_type_error_naming_the_argument(name, call, tmp_path):
    b = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    address = str(tmp_path / "b.sock")
    b.bind(address)
    a = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    with a, b:
        for data in (3, [0, 1], 1.5, "text", object()):
            with pytest.raises(TypeError) as e:
                call(a, data, [], address)
            assert "%s() argument 'data'" % name in str(e.value), str(e.value)
            assert type(data).__name__ in str(e.value)
        nothing_queued(b)


@pytest.mark.parametrize("name,call", SENDS[:3], ids=[s[0] for s in SENDS[:3]])
def test_swapped_data_and_fds_are_a_type_error_not_fd_numbers(name, call, tmp_path):
    b = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    address = str(tmp_path / "b.sock")
    b.bind(address)
    a = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    with a, b:
        with pytest.raises(TypeError, match="argument '(data|fds)'"):
            call(a, [0], b"\x00\x01", address)
        for fds in (b"\x00", bytearray(b"\x01"), memoryview(b"\x02"), "0"):
            with pytest.raises(TypeError, match="%s\\(\\) argument 'fds'" % name):
                call(a, b"x", fds, address)
        nothing_queued(b)


def test_every_buffer_object_is_data():
    import array

    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    with a, b:
        for data, want in (
            (bytearray(b"ba"), b"ba"),
            (memoryview(b"xmvx")[1:3], b"mv"),
            (array.array("B", b"ar"), b"ar"),
            (memoryview(b"abcd")[::2], b"ac"),  # not contiguous
        ):
            assert fdcred.send_fds(a, data, []) == len(want)
            assert fdcred.recv_fds(b, 8, 0) == (want, [])


def overcommits_everything():
    try:
        with open("/proc/sys/vm/overcommit_memory") as f:
            return f.read().strip() == "1"
    except OSError:
        return False


RECEIVES = [
    ("recv_fds", lambda b, n: fdcred.recv_fds(b, n, 1)),
    ("recvcred", lambda b, n: fdcred.recvcred(b, n)),
    ("recv_msg", lambda b, n: fdcred.recv_msg(b, n, 1)),
]


@pytest.mark.parametrize("name,call", RECEIVES, ids=[r[0] for r in RECEIVES])
def test_an_impossible_bufsize_is_a_memory_error_and_the_message_stays(name, call):
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    with a, b:
        fdcred.allow_recv_cred(b)
        fdcred.send_msg(a, b"kept", [0], cred=True)
        sizes = [2**62]  # past any address space: refused everywhere
        if not overcommits_everything():
            sizes.append(2**46)  # 64 TiB: refused unless vm.overcommit_memory is 1
        for n in sizes:
            with pytest.raises(MemoryError):
                call(b, n)
        m = fdcred.recv_msg(b, 8, 1)
        assert (m.data, len(m.fds)) == (b"kept", 1)
        os.close(m.fds[0])
    if overcommits_everything():
        pytest.skip("2**46 not tried: vm.overcommit_memory is 1 here (2**62 was)")
