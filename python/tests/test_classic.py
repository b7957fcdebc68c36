"""fdcred.classic: the 2004 module's five calls, run as the 2004 README shows
them: one program opens a file and sends its descriptor and its
credentials, the other receives them, reads the file and prints who sent
it. Each program is its own process (the sender uid 65534 when root), and
its source uses only `import fdcred.classic as fdcred`."""

import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap

import pytest

import fdcred.classic
from helpers import IS_ROOT, NOBODY, TIMEOUT, become_nobody, forked, forked_output, open_fds, reaped

RECEIVER = textwrap.dedent(
    """
    import os, socket, sys
    import fdcred.classic as fdcred

    path = sys.argv[1]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    os.chmod(path, 0o666)
    if not fdcred.allowrecvcred(s.fileno()):
        sys.exit("allowrecvcred failed")
    s.listen(1)
    print("ready", flush=True)
    conn, _ = s.accept()
    succ, pid, uid, gid = fdcred.recvcred(conn.fileno())
    if not succ:
        sys.exit("recvcred failed")
    succ, fd = fdcred.recvfd(conn.fileno())
    if not succ:
        sys.exit("recvfd failed")
    f = os.fdopen(fd)
    print("first line: " + f.readline().rstrip())
    print("sent by pid %d uid %d gid %d" % (pid, uid, gid))
    # a forged identity never arrives: the next message is the honest one
    succ, pid, uid, gid = fdcred.recvcred(conn.fileno())
    print("then pid %d uid %d gid %d" % (pid, uid, gid))
    succ, pid, uid, gid = fdcred.recvcred(conn.fileno())
    print("at end of file: succ %d" % succ)
    """
)

SENDER = textwrap.dedent(
    """
    import os, socket, sys
    import fdcred.classic as fdcred

    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    f = open("/etc/passwd")
    if fdcred.sendcred(s.fileno(), os.getpid(), os.getuid(), os.getgid()) != 0:
        sys.exit("sendcred failed")
    if fdcred.sendfd(s.fileno(), f.fileno()) != 0:
        sys.exit("sendfd failed")
    forged = fdcred.sendcred(s.fileno(), os.getpid(), 0, 0)
    print("forged root: %s" % ("refused" if forged != 0 else "sent"))
    if fdcred.sendcred(s.fileno(), os.getpid(), os.getuid(), os.getgid()) != 0:
        sys.exit("second sendcred failed")
    """
)


@pytest.fixture
def public_dir():
    """A directory uid 65534 can reach (pytest's tmp_path is 0700)."""
    d = tempfile.mkdtemp(prefix="fdcred-classic-")
    os.chmod(d, 0o755)
    yield pathlib.Path(d)
    shutil.rmtree(d)


def run_pair(tmp_path, as_nobody):
    path = str(tmp_path / "classic.sock")
    for name, text in (("receiver.py", RECEIVER), ("sender.py", SENDER)):
        (tmp_path / name).write_text(text)
        os.chmod(tmp_path / name, 0o644)
    receiver = subprocess.Popen([sys.executable, str(tmp_path / "receiver.py"), path], stdout=subprocess.PIPE, text=True)
    with reaped(receiver):
        assert receiver.stdout.readline() == "ready\n"

        # The sender runs as uid 65534, which cannot reach this venv's
        # interpreter (under root's home): a forked child drops to it and
        # runs the program's text.
        def sender_program():
            if as_nobody:
                become_nobody()
            sys.argv = ["sender.py", path]
            exec(compile(SENDER, "sender.py", "exec"), {"__name__": "__main__"})

        status, sender_out = forked_output(sender_program)
        assert status == 0, sender_out
        out, _ = receiver.communicate(timeout=TIMEOUT)
    assert receiver.returncode == 0, out
    return sender_out, out


def test_two_programs_in_the_2004_style(public_dir):
    sender_out, out = run_pair(public_dir, IS_ROOT)
    uid = NOBODY if IS_ROOT else os.getuid()
    gid = NOBODY if IS_ROOT else os.getgid()
    with open("/etc/passwd") as f:
        assert "first line: " + f.readline().rstrip() in out
    assert "uid %d gid %d" % (uid, gid) in out.splitlines()[1]
    # uid 0 is not the sender's to claim (when root runs it as itself, it is)
    assert ("forged root: refused" if uid != 0 else "forged root: sent") in sender_out
    assert out.splitlines()[2].startswith("then pid") and out.splitlines()[2].endswith("uid %d gid %d" % (uid, gid))
    assert "at end of file: succ 0" in out


def test_return_conventions():
    before = open_fds()
    a, b = socket.socketpair()
    with a, b:
        assert fdcred.classic.allowrecvcred(b.fileno()) == 1
        assert fdcred.classic.sendcred(a.fileno(), os.getpid(), os.getuid(), os.getgid()) == 0
        assert fdcred.classic.recvcred(b.fileno()) == (1, os.getpid(), os.getuid(), os.getgid())
        assert fdcred.classic.sendfd(a.fileno(), 0) == 0
        succ, fd = fdcred.classic.recvfd(b.fileno())
        assert succ == 1 and fd >= 0 and not os.get_inheritable(fd)
        os.close(fd)
        # failures: non-zero / succ 0, never an exception
        assert fdcred.classic.sendfd(a.fileno(), 10**6) != 0
        assert fdcred.classic.last_errno == 9  # EBADF
        a.send(b"?")
        assert fdcred.classic.recvfd(b.fileno()) == (0, -1)
        a.close()
        assert fdcred.classic.recvcred(b.fileno()) == (0, -1, -1, -1)
    r, w = os.pipe()
    assert fdcred.classic.allowrecvcred(r) == 0
    os.close(r)
    os.close(w)
    assert open_fds() == before


def test_forged_identity_is_refused_and_nothing_sent():
    if not IS_ROOT:
        pytest.skip("needs root to switch to uid %d" % NOBODY)
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    fdcred.classic.allowrecvcred(b)

    def forger():
        become_nobody()
        assert fdcred.classic.sendcred(a.fileno(), os.getpid(), 0, 0) != 0
        assert fdcred.classic.sendcred(a.fileno(), os.getpid(), NOBODY, NOBODY) == 0

    with forked(forger) as pid:
        pass
    with a, b:
        assert fdcred.classic.recvcred(b.fileno()) == (1, pid, NOBODY, NOBODY)
        b.setblocking(False)
        assert fdcred.classic.recvcred(b.fileno()) == (0, -1, -1, -1)  # nothing else was queued
        assert fdcred.classic.last_errno == 11  # EAGAIN
