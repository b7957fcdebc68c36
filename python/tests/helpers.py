"""Shared by the tests: a second identity, forked children with deadlines,
and the check that no test leaks (or closes) a descriptor."""

import contextlib
import errno
import os
import select
import signal
import struct
import sys
import tempfile
import time
import unittest

NOBODY = 65534
TIMEOUT = 20
IS_ROOT = os.geteuid() == 0
UCRED = struct.Struct("iII")  # struct ucred: pid, uid, gid


def open_fds():
    return sorted(int(n) for n in os.listdir("/proc/self/fd"))


def wait_readable(sock, what, timeout=TIMEOUT):
    """The library's calls block like the syscalls they wrap; wait first so
    a broken test fails instead of hanging. (A Python socket timeout would
    make the fd non-blocking, and the calls would raise BlockingIOError.)"""
    r, _, _ = select.select([sock], [], [], timeout)
    if not r:
        raise AssertionError("%s: nothing to read within %d s" % (what, timeout))


def same_file(fd, path):
    a, b = os.fstat(fd), os.stat(path)
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def become_nobody():
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


@contextlib.contextmanager
def forked(body):
    """Run body() in a forked child (exit 0 if it returns, 1 if it raises);
    on leaving, require that it exited 0 within the deadline."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            signal.alarm(TIMEOUT)
            body()
            code = 0
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    try:
        yield pid
    finally:
        deadline = time.monotonic() + TIMEOUT
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise AssertionError("child %d still running after %d s" % (pid, TIMEOUT))
            time.sleep(0.01)
    if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
        raise AssertionError("child %d failed: status %#x (its traceback is above)" % (pid, status))


class Base(unittest.TestCase):
    def setUp(self):
        # Registered first, so it runs last: after the other cleanups.
        self.addCleanup(self.check_no_fd_leaked, open_fds())
        self.tmp = tempfile.mkdtemp(prefix="fdcred-py-")
        os.chmod(self.tmp, 0o755)
        self.addCleanup(self.remove_tmp)

    def remove_tmp(self):
        for name in os.listdir(self.tmp):
            os.unlink(os.path.join(self.tmp, name))
        os.rmdir(self.tmp)

    def check_no_fd_leaked(self, before):
        self.assertEqual(open_fds(), before, "descriptors leaked (or closed) by the test")




def forked_output(body, timeout=TIMEOUT):
    """Run body() in a forked child whose sys.stdout is a pipe (not fd 1,
    which pytest captures); returns (exit status, what it printed). The exit
    status is body()'s return value (None: 0), 1 if it raised."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(r)
            signal.alarm(timeout)
            sys.stdout = os.fdopen(w, "w")
            code = body() or 0
            sys.stdout.flush()
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r) as pipe:
        out = pipe.read()
    _, status = os.waitpid(pid, 0)
    if not os.WIFEXITED(status):
        raise AssertionError("child %d killed: status %#x" % (pid, status))
    return os.WEXITSTATUS(status), out


@contextlib.contextmanager
def reaped(process):
    """Yield a subprocess.Popen; on leaving, kill it if it still runs."""
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def kernel_feature(call, *args, why):
    """call(*args), or skip the test (saying `why`) when the kernel lacks the
    feature (ENOPROTOOPT)."""
    import pytest

    try:
        return call(*args)
    except OSError as e:
        if e.errno != errno.ENOPROTOOPT:
            raise
        pytest.skip(why + " (ENOPROTOOPT here)")
