"""fdcred.aio: many concurrent tasks, cancellation at every await, and
the promise that a cancelled task leaks no descriptor and loses no message
it already took."""

import asyncio
import errno
import os
import socket

import pytest

import fdcred
from fdcred import aio
from helpers import open_fds

DEADLINE = 30


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, DEADLINE))


@pytest.fixture(autouse=True)
def no_fd_leaked():
    before = open_fds()
    yield
    assert open_fds() == before, "descriptors leaked (or closed) by the test"


def test_send_and_receive_fds_and_credentials():
    async def main():
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with a, b:
            fdcred.allow_recv_cred(b)
            receiver = asyncio.ensure_future(aio.recvfd(b))
            await asyncio.sleep(0.01)  # it waits: nothing is queued yet
            assert not receiver.done()
            await aio.sendfd(a, 0)
            fd = await receiver
            assert not os.get_inheritable(fd)
            os.close(fd)
            await aio.sendcred(a, b"cred")
            assert await aio.recvcred(b, 8) == (b"cred", fdcred.Cred(os.getpid(), os.getuid(), os.getgid()))
            await aio.send_fds(a, b"two", [0, 1])
            data, fds = await aio.recv_fds(b, 8, 2)
            assert (data, len(fds)) == (b"two", 2)
            for fd in fds:
                os.close(fd)
            await aio.send_msg(a, b"msg", [0], cred=True)
            m = await aio.recv_msg(b, 8, 1)
            assert (m.data, len(m.fds), m.cred.pid) == (b"msg", 1, os.getpid())
            os.close(m.fds[0])

    run(main())


def test_many_concurrent_tasks_on_one_socket_each_message_once():
    n = 200

    async def main():
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        with a, b:
            receivers = [asyncio.ensure_future(aio.recv_fds(b, 16, 1)) for _ in range(n)]
            await asyncio.sleep(0)
            senders = [aio.send_fds(a, b"%d" % i, [0]) for i in range(n)]
            await asyncio.gather(*senders)
            results = await asyncio.gather(*receivers)
            seen = sorted(int(data) for data, _ in results)
            assert seen == list(range(n))
            for _, fds in results:
                assert len(fds) == 1
                os.close(fds[0])

    run(main())


def test_many_pairs_in_parallel_with_a_full_stream_buffer():
    # Stream sends that fill the socket buffer wait for writability, and a
    # partial write is completed without sending the descriptors twice.
    async def pair_task(i):
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with a, b:
            a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            big = bytes([i % 256]) * 200000
            send = asyncio.ensure_future(aio.send_fds(a, big, [0]))
            data, fds = await aio.recv_fds(b, 65536, 1)
            assert len(fds) == 1
            os.close(fds[0])
            got = len(data)
            while got < len(big):
                m = await aio.recv_msg(b, 65536, 0)  # any descriptor here would raise EMSGSIZE
                got += len(m.data)
            assert await send == len(big)

    async def main():
        await asyncio.gather(*[pair_task(i) for i in range(20)])

    run(main())


def test_cancelled_waiters_take_nothing_and_leak_nothing():
    async def main():
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        with a, b:
            waiters = [asyncio.ensure_future(aio.recv_fds(b, 8, 4)) for _ in range(50)]
            await asyncio.sleep(0.01)
            for w in waiters:
                w.cancel()
            # a message queued now is not lost: the cancelled tasks took nothing
            fdcred.send_fds(a, b"kept", [0, 1])
            for w in waiters:
                with pytest.raises(asyncio.CancelledError):
                    await w
            data, fds = await aio.recv_fds(b, 8, 4)
            assert (data, len(fds)) == (b"kept", 2)
            for fd in fds:
                os.close(fd)
            loop = asyncio.get_running_loop()
            assert not loop.remove_reader(b.fileno()), "a cancelled waiter left its reader registered"

    run(main())


def test_cancellation_at_every_point_under_load():
    # Receivers are cancelled at random moments while messages stream in;
    # every message sent is received exactly once by some task or by the
    # drain at the end, and no descriptor is left open.
    import random

    rng = random.Random(1234)
    n = 300

    async def main():
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with a, b:
            got = []

            async def receiver():
                data, fds = await aio.recv_fds(b, 16, 2)
                got.append(data)
                for fd in fds:
                    os.close(fd)

            tasks = []
            for i in range(n):
                tasks.append(asyncio.ensure_future(receiver()))
                if rng.random() < 0.5:
                    await asyncio.sleep(0)
                fdcred.send_fds(a, b"%d" % i, [0, 1])
                victim = rng.choice(tasks)
                victim.cancel()
                if rng.random() < 0.3:
                    await asyncio.sleep(0)
            results = await asyncio.gather(*tasks, return_exceptions=True)
            assert all(r is None or isinstance(r, asyncio.CancelledError) for r in results), results
            b.setblocking(False)
            while True:
                try:
                    data, fds = fdcred.recv_fds(b, 16, 2)
                except BlockingIOError:
                    break
                got.append(data)
                for fd in fds:
                    os.close(fd)
            assert sorted(int(d) for d in got) == list(range(n))

    run(main())


def test_errors_arrive_as_oserror():
    async def main():
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with b:
            a.close()
            with pytest.raises(ConnectionResetError):
                await aio.recvfd(b)
            with pytest.raises(BrokenPipeError):
                await aio.sendfd(b, 0)
        c, d = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        with c, d:
            fdcred.send_fds(c, b"xyz", [0, 1])
            with pytest.raises(OSError) as e:
                await aio.recv_fds(d, 8, 1)
            assert e.value.errno == errno.EMSGSIZE

    run(main())


def test_cancelled_sender_sent_nothing():
    async def main():
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        with a, b:
            a.setblocking(False)
            sent = 0
            while True:  # fill the queue
                try:
                    fdcred.send_msg(a, b"fill", nonblocking=True)
                    sent += 1
                except BlockingIOError:
                    break
            sender = asyncio.ensure_future(aio.send_fds(a, b"never", [0, 1]))
            await asyncio.sleep(0.01)
            assert not sender.done()
            sender.cancel()
            with pytest.raises(asyncio.CancelledError):
                await sender
            b.setblocking(False)
            got = []
            while True:
                try:
                    got.append(fdcred.recv_fds(b, 8, 2))
                except BlockingIOError:
                    break
            assert got == [(b"fill", [])] * sent

    run(main())


def test_a_socket_with_a_timeout_works_too():
    async def main():
        a, b = socket.socketpair()
        with a, b:
            a.settimeout(5)
            b.settimeout(5)
            task = asyncio.ensure_future(aio.recvfd(b))
            await asyncio.sleep(0.01)
            await aio.sendfd(a, 0)
            os.close(await task)

    run(main())


def test_an_fds_iterator_is_read_once_and_a_retry_after_a_full_socket_sends_the_same_fds():
    async def main():
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        with a, b:
            a.setblocking(False)
            filled = 0
            try:
                while True:
                    a.send(b"f")
                    filled += 1
            except BlockingIOError:
                pass
            # The first attempt meets the full queue; the retry must still
            # carry both descriptors, not an exhausted iterator's none.
            sender = asyncio.ensure_future(aio.send_fds(a, b"s", iter([0, 1])))
            await asyncio.sleep(0.05)
            assert not sender.done(), "the send waits for room"
            messages = []
            while len(messages) <= filled:
                m = await aio.recv_msg(b, 8, 4)
                messages.append((m.data, len(m.fds)))
                for fd in m.fds:
                    os.close(fd)
            assert await sender == 1
            assert messages == [(b"f", 0)] * filled + [(b"s", 2)]

    run(main())


def test_data_that_is_not_bytes_like_is_a_type_error_naming_it():
    async def main():
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        with a, b:
            for data in (3, [0], None):
                with pytest.raises(TypeError, match="'data'"):
                    await aio.send_fds(a, data, [])
            with pytest.raises(TypeError, match="'fds'"):
                await aio.send_fds(a, b"x", b"\x03")
            b.setblocking(False)
            with pytest.raises(BlockingIOError):
                b.recv(1)  # nothing was sent

    run(main())
