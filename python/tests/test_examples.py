"""python/examples run as a user would run them: the update server answering
one uid and refusing another, the ctypes example of the C ABI, and the
package interoperating with the C examples (examples/*.c)."""

import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile

import pytest

import fdcred
from helpers import IS_ROOT, NOBODY, TIMEOUT, forked_output, reaped, wait_readable

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(os.path.dirname(HERE), "examples")
sys.path.insert(0, EXAMPLES)
import update_server  # noqa: E402

# Set by scripts/test-python: the C library's directory and the C examples.
LIBDIR = os.environ.get("FDCRED_TEST_LIBDIR")
C_EXAMPLES = os.environ.get("FDCRED_TEST_EXAMPLES")


@pytest.fixture
def public_dir():
    d = tempfile.mkdtemp(prefix="fdcred-examples-")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d)


def run_client(path, uid):
    """update_server.py --client as `uid` (forked: uid 65534 cannot reach
    this venv's interpreter); returns (exit status, output)."""

    def client():
        if uid != os.getuid():
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        return update_server.client(path)

    return forked_output(client)


def test_update_server_answers_one_uid_and_refuses_another(public_dir):
    path = os.path.join(public_dir, "update.sock")
    update_file = os.path.join(public_dir, "update.txt")
    with open(update_file, "w") as f:
        f.write("version 2\n")
    os.chmod(update_file, 0o600)  # only the server can open it
    allowed, refused = (NOBODY, 0) if IS_ROOT else (os.getuid() + 1, os.getuid())
    server = subprocess.Popen(
        [sys.executable, os.path.join(EXAMPLES, "update_server.py"), path, update_file, str(allowed), "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    with reaped(server):
        assert "serving" in server.stdout.readline()
        if IS_ROOT:
            code, out = run_client(path, allowed)
            assert (code, out) == (0, "client uid %d: got the update: version 2\n" % allowed)
        else:
            print("SKIP part: the allowed uid needs root (setuid); the refusal is tested")
            with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:  # the server counts connections
                s.connect(path)
        code, out = run_client(path, refused)
        assert (code, out) == (3, "client uid %d: refused uid %d\n" % (refused, refused))
        log, _ = server.communicate(timeout=TIMEOUT)
    assert server.returncode == 0, log
    assert "refused pid" in log


@pytest.mark.skipif(not LIBDIR, reason="FDCRED_TEST_LIBDIR unset (scripts/test-python sets it to the built libfdcred.so)")
def test_ctypes_example_of_the_c_abi():
    env = dict(os.environ, LD_LIBRARY_PATH=LIBDIR)
    out = subprocess.run(
        [sys.executable, os.path.join(EXAMPLES, "ctypes_sendfd.py")], env=env, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert out.returncode == 0, out.stderr
    with open("/etc/passwd") as f:
        first = f.readline().rstrip()
    assert "close-on-exec True, reads %r" % first in out.stdout
    assert out.stdout.startswith("libfdcred %s:" % fdcred.version())


needs_c = pytest.mark.skipif(
    not (LIBDIR and C_EXAMPLES), reason="FDCRED_TEST_EXAMPLES unset (scripts/test-python builds the C examples)"
)


def start(name, *args, first_line=True):
    p = subprocess.Popen(
        [os.path.join(C_EXAMPLES, name)] + list(args),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=dict(os.environ, LD_LIBRARY_PATH=LIBDIR),
    )
    if not first_line:
        return p, None
    r, _, _ = select.select([p.stdout], [], [], TIMEOUT)
    assert r, "%s printed nothing within %d s" % (name, TIMEOUT)
    return p, p.stdout.readline()


def stop(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    p.stdout.close()


@needs_c
def test_python_client_is_answered_by_c_credserver(public_dir):
    path = os.path.join(public_dir, "cred.sock")
    p, _ = start("credserver", path, str(os.getuid()))
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
            s.connect(path)
            assert fdcred.peer_cred(s).uid == os.getuid()
            fdcred.sendcred(s, b"who am I?")
            wait_readable(s, "credserver's answer")
            answer = s.recv(256).decode()
        assert answer == "pid %d uid %d gid %d" % (os.getpid(), os.getuid(), os.getgid())
    finally:
        stop(p)


@needs_c
def test_c_credclient_is_answered_by_a_python_server(public_dir):
    path = os.path.join(public_dir, "pycred.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as srv:
        srv.bind(path)
        fdcred.allow_recv_cred(srv)
        srv.listen(1)
        # The server is this test's uid (credclient trusts root unless told).
        client, _ = start("credclient", "--server-user", str(os.getuid()), path, "hello python", first_line=False)
        try:
            wait_readable(srv, "credclient's connection")
            conn, _ = srv.accept()
            with conn:
                wait_readable(conn, "credclient's request")
                data, cred = fdcred.recvcred(conn, 256)
                assert (data, cred) == (b"hello python", fdcred.Cred(client.pid, os.getuid(), os.getgid()))
                assert fdcred.peer_cred(conn) == cred
                conn.send(b"pid %d uid %d gid %d" % cred)
            out, _ = client.communicate(timeout=TIMEOUT)
            assert client.returncode == 0, out
            assert "the server says: pid %d" % client.pid in out
        finally:
            stop(client)


@needs_c
def test_python_handler_receives_connections_from_c_portlisten(public_dir):
    path = os.path.join(public_dir, "handler.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as handler:
        handler.bind(path)
        # The handler's socket is this test's: portlisten (which as root would
        # become nobody once bound) runs as this test's uid too.
        p, line = start("portlisten", "--user", str(os.getuid()), "0", path)
        try:
            port = int(line.split("127.0.0.1:")[1].split(",")[0])
            for i in range(3):
                with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as client:
                    wait_readable(handler, "connection %d from portlisten" % i)
                    data, fds = fdcred.recv_fds(handler, 16, 1)
                    assert len(fds) == 1
                    with socket.socket(fileno=fds[0]) as conn:
                        assert conn.getpeername() == client.getsockname()
                        conn.sendall(b"hello from python %d" % i)
                    assert client.recv(64) == b"hello from python %d" % i
        finally:
            stop(p)


def test_readme_python_snippet_runs():
    """The README's Python section runs as written (against the installed package)."""
    root = os.path.dirname(os.path.dirname(HERE))
    with open(os.path.join(root, "README.md")) as f:
        text = f.read()
    blocks = [b.split("```", 1)[0] for b in text.split("```python\n")[1:]]
    snippet = next((b for b in blocks if "fdcred.classic" in b), None)
    assert snippet, "README.md has no Python example using fdcred and fdcred.classic"
    out = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, timeout=TIMEOUT, cwd="/")
    assert out.returncode == 0, out.stderr
