//! tokio_handoff: a privileged TCP listener that hands each connection to an
//! unprivileged tokio handler, the async Rust form of portlisten.c +
//! hellofdpass.c (and wire-compatible with them: one connection per
//! datagram, one byte `C` of payload, on a `SOCK_DGRAM` Unix socket).
//!
//! ```text
//! tokio_handoff handle SOCKPATH GREETING [--from-uid UID]
//!     bind SOCKPATH (SOCK_DGRAM), wait for connections, write GREETING to
//!     each and close it. Accepts descriptors only from a sender the kernel
//!     says is UID (default: our own uid; a handler running as 65534 for a
//!     root listener says `--from-uid 0`).
//! tokio_handoff listen PORT SOCKPATH
//!     bind TCP 127.0.0.1:PORT (0: any; below 1024 needs root), then pass
//!     every accepted connection to the handler at SOCKPATH and close ours.
//! tokio_handoff demo
//!     both, as a user would run them: the handler in a child process (as
//!     uid/gid 65534 when run as root), the listener here, three clients.
//! ```
//!
//! Run: `cargo run --features tokio --example tokio_handoff demo`

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use fdcred::tokio::AsyncUnixSocketExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixDatagram};

const NOBODY: u32 = 65534;

fn usage() -> ! {
    eprintln!("usage: tokio_handoff handle SOCKPATH GREETING [--from-uid UID] | listen PORT SOCKPATH | demo");
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["handle", sock, greeting] => rt.block_on(handle(Path::new(sock), greeting, default_sender_uid())),
        ["handle", sock, greeting, "--from-uid", uid] => {
            rt.block_on(handle(Path::new(sock), greeting, uid.parse().unwrap_or_else(|_| usage())))
        }
        ["listen", port, sock] => rt.block_on(listen(port.parse().unwrap_or_else(|_| usage()), Path::new(sock))),
        ["demo"] => rt.block_on(demo()),
        _ => usage(),
    };
    if let Err(e) = result {
        eprintln!("tokio_handoff: {e}");
        std::process::exit(1);
    }
}

/// Without `--from-uid`: a listener running as the same user as we do.
fn default_sender_uid() -> u32 {
    // SAFETY: getuid cannot fail.
    unsafe { libc::getuid() }
}

/// The unprivileged half: every datagram brings one connection.
async fn handle(sock: &Path, greeting: &str, from_uid: u32) -> io::Result<()> {
    let _ = std::fs::remove_file(sock);
    let rx = UnixDatagram::bind(sock)?;
    // Before anyone can send: every datagram now carries the sender's
    // credentials, vouched for by the kernel.
    rx.allow_recv_cred()?;
    // SAFETY: getuid cannot fail.
    let me = unsafe { libc::getuid() };
    println!("tokio_handoff: handler (uid {me}) waiting for descriptors on {}", sock.display());
    loop {
        let mut byte = [0u8; 1];
        let mut fds: Vec<OwnedFd> = Vec::new();
        let info = rx.recv_with_fds(&mut byte, &mut fds).await?;
        let sender = info.cred.and_then(|c| c.uid());
        if sender != Some(from_uid) || !info.is_complete() || byte[0] != b'C' || fds.len() != 1 {
            // Dropping `fds` closes whatever came with it.
            eprintln!("tokio_handoff: ignored a datagram from uid {sender:?} ({} fds, {info:?})", fds.len());
            continue;
        }
        let conn = std::net::TcpStream::from(fds.pop().expect("one fd"));
        conn.set_nonblocking(true)?;
        let mut conn = TcpStream::from_std(conn)?;
        let greeting = greeting.to_owned();
        tokio::spawn(async move {
            if let Err(e) = conn.write_all(greeting.as_bytes()).await {
                eprintln!("tokio_handoff: writing to a client: {e}");
            }
            let _ = conn.shutdown().await;
        });
    }
}

/// The privileged half: accept, pass, close our copy.
async fn listen(port: u16, sock: &Path) -> io::Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("tokio_handoff: listening on {}, passing connections to {}", listener.local_addr()?, sock.display());
    serve(listener, sock).await
}

async fn serve(listener: TcpListener, sock: &Path) -> io::Result<()> {
    let tx = UnixDatagram::unbound()?;
    loop {
        let (conn, _) = listener.accept().await?;
        pass(&tx, sock, conn.as_fd()).await?;
        // `conn` is dropped here: the handler holds the connection now.
    }
}

/// Send one connection, retrying for up to 10 s while no handler is bound
/// (it may be restarting).
async fn pass(tx: &UnixDatagram, sock: &Path, conn: std::os::fd::BorrowedFd<'_>) -> io::Result<()> {
    for _ in 0..100 {
        let sent = match tx.connect(sock) {
            Ok(()) => tx.send_with_fds(b"C", &[conn]).await,
            Err(e) => Err(e),
        };
        match sent {
            Ok(_) => return Ok(()),
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ECONNREFUSED)) => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => return Err(e),
        }
    }
    eprintln!("tokio_handoff: no handler at {} for 10 s: dropping a connection", sock.display());
    Ok(())
}

async fn demo() -> io::Result<()> {
    let dir = std::env::temp_dir().join(format!("tokio_handoff-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    // The unprivileged handler must be able to create its socket here.
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o777))?;
    let sock = dir.join("handler.sock");

    let mut cmd = tokio::process::Command::new(std::env::current_exe()?);
    cmd.arg("handle").arg(&sock).arg("hello from an unprivileged tokio handler\n");
    // SAFETY: getuid cannot fail.
    if unsafe { libc::getuid() } == 0 {
        cmd.uid(NOBODY).gid(NOBODY).arg("--from-uid").arg("0");
    }
    cmd.stdout(std::process::Stdio::piped()).kill_on_drop(true);
    let mut handler = cmd.spawn()?;
    let mut out = handler.stdout.take().expect("piped stdout");
    let mut line = Vec::new();
    while !line.ends_with(b"\n") {
        let mut b = [0u8; 1];
        if out.read(&mut b).await? == 0 {
            return Err(io::Error::other("the handler exited before it was ready"));
        }
        line.push(b[0]);
    }
    print!("{}", String::from_utf8_lossy(&line));

    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    println!("tokio_handoff: listening on {addr}, passing connections to {}", sock.display());
    let server = tokio::spawn({
        let sock = sock.clone();
        async move { serve(listener, &sock).await }
    });
    for i in 0..3 {
        let mut client = TcpStream::connect(addr).await?;
        let mut reply = String::new();
        tokio::time::timeout(Duration::from_secs(10), client.read_to_string(&mut reply))
            .await
            .map_err(|_| io::Error::other("no reply within 10 s"))??;
        print!("client {i} got: {reply}");
    }
    server.abort();
    handler.kill().await?;
    std::fs::remove_dir_all(&dir)?;
    println!("tokio_handoff: demo done");
    Ok(())
}
