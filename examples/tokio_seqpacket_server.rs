//! tokio_seqpacket_server: a tokio server that knows who is talking to it
//! because the kernel says so, the async Rust form of credserver.c.
//!
//! ```text
//! tokio_seqpacket_server serve SOCKPATH UID
//!     listen on SOCKPATH (SOCK_SEQPACKET, mode 0666) and serve only UID:
//!     the connection's peer credentials decide whether it is served at all,
//!     the credentials the kernel attaches to each request whether that
//!     request is. Each request is answered "pid P uid U gid G"; anyone else
//!     gets "refused: ..." and is disconnected. Clients are served
//!     concurrently.
//! tokio_seqpacket_server client SOCKPATH
//!     send one request, print the answer.
//! tokio_seqpacket_server demo
//!     the server for our own uid, a client as us (served) and, when run as
//!     root, a client as uid 65534 (refused).
//! ```
//!
//! Run: `cargo run --features tokio --example tokio_seqpacket_server demo`

use std::io;
use std::path::Path;

use fdcred::tokio::{AsyncUnixSocketExt, UnixSeqpacket, UnixSeqpacketListener};

const NOBODY: u32 = 65534;

fn usage() -> ! {
    eprintln!("usage: tokio_seqpacket_server serve SOCKPATH UID | client SOCKPATH | demo");
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["serve", sock, uid] => rt.block_on(serve(Path::new(sock), uid.parse().unwrap_or_else(|_| usage()))),
        ["client", sock] => rt.block_on(client(Path::new(sock))).map(|reply| println!("{reply}")),
        ["demo"] => rt.block_on(demo()),
        _ => usage(),
    };
    if let Err(e) = result {
        eprintln!("tokio_seqpacket_server: {e}");
        std::process::exit(1);
    }
}

fn bind(sock: &Path) -> io::Result<UnixSeqpacketListener> {
    let _ = std::fs::remove_file(sock);
    let listener = UnixSeqpacketListener::bind(sock)?;
    std::fs::set_permissions(sock, std::os::unix::fs::PermissionsExt::from_mode(0o666))?;
    // On the listener, before any client can connect: accepted sockets
    // inherit it, so no request can arrive without credentials.
    fdcred::allow_recv_cred(std::os::fd::AsFd::as_fd(&listener))?;
    Ok(listener)
}

async fn serve(sock: &Path, allowed: u32) -> io::Result<()> {
    let listener = bind(sock)?;
    println!("tokio_seqpacket_server: serving uid {allowed} on {}", sock.display());
    accept_loop(listener, allowed).await
}

async fn accept_loop(listener: UnixSeqpacketListener, allowed: u32) -> io::Result<()> {
    loop {
        let conn = listener.accept().await?;
        tokio::spawn(async move {
            if let Err(e) = serve_one(conn, allowed).await {
                eprintln!("tokio_seqpacket_server: {e}");
            }
        });
    }
}

async fn serve_one(conn: UnixSeqpacket, allowed: u32) -> io::Result<()> {
    let peer = conn.peer_credentials()?;
    if peer.uid() != Some(allowed) {
        eprintln!("tokio_seqpacket_server: refused a connection from uid {:?} pid {:?}", peer.uid(), peer.pid());
        let reply = format!("refused: uid {} is not served here", peer.uid().map_or(-1, i64::from));
        conn.send_with_fds(reply.as_bytes(), &[]).await?;
        return linger(&conn).await;
    }
    loop {
        let mut buf = [0u8; 256];
        // Descriptors a client attaches are closed: this server takes none.
        let info = conn.recv_with_fds(&mut buf, &mut Vec::new()).await?;
        if info.bytes == 0 && !info.data_truncated {
            return Ok(()); // the client closed the connection
        }
        let reply = match info.cred {
            Some(c) if c.uid() == Some(allowed) => {
                // -1 for a field the kernel did not vouch for.
                format!("pid {} uid {allowed} gid {}", c.pid().unwrap_or(-1), c.gid().map_or(-1, i64::from))
            }
            other => {
                let uid = other.and_then(|c| c.uid()).map_or(-1, i64::from);
                eprintln!("tokio_seqpacket_server: refused a request from uid {uid}");
                conn.send_with_fds(format!("refused: request from uid {uid}").as_bytes(), &[]).await?;
                return linger(&conn).await;
            }
        };
        conn.send_with_fds(reply.as_bytes(), &[]).await?;
    }
}

/// Wait (up to 10 s) for the client to close after a refusal, discarding
/// what it sends: closing with its request unread would make the kernel
/// reset the connection before the client reads the refusal.
async fn linger(conn: &UnixSeqpacket) -> io::Result<()> {
    let drain = async {
        let mut buf = [0u8; 256];
        while conn.recv_with_fds(&mut buf, &mut Vec::new()).await?.bytes > 0 {}
        Ok(())
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), drain).await.unwrap_or(Ok(()))
}

async fn client(sock: &Path) -> io::Result<String> {
    let conn = UnixSeqpacket::connect(sock)?;
    match conn.send_with_fds(b"who am I?", &[]).await {
        // Refused at once: the server's answer is queued, read it.
        Err(e) if e.raw_os_error() == Some(libc::EPIPE) => {}
        other => drop(other?),
    }
    let mut buf = [0u8; 256];
    let info = conn.recv_with_fds(&mut buf, &mut Vec::new()).await?;
    Ok(String::from_utf8_lossy(&buf[..info.bytes]).into_owned())
}

async fn demo() -> io::Result<()> {
    let dir = std::env::temp_dir().join(format!("tokio_seqpacket_server-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    let sock = dir.join("server.sock");
    // SAFETY: getuid cannot fail.
    let me = unsafe { libc::getuid() };
    let listener = bind(&sock)?;
    println!("tokio_seqpacket_server: serving uid {me} on {}", sock.display());
    let server = tokio::spawn(accept_loop(listener, me));

    println!("client as uid {me}: {}", client(&sock).await?);
    if me == 0 {
        let out = tokio::process::Command::new(std::env::current_exe()?)
            .arg("client")
            .arg(&sock)
            .uid(NOBODY)
            .gid(NOBODY)
            .output()
            .await?;
        print!("client as uid {NOBODY}: {}", String::from_utf8_lossy(&out.stdout));
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
    } else {
        println!("client as uid {NOBODY}: skipped (needs root to switch uid)");
    }
    server.abort();
    std::fs::remove_dir_all(&dir)?;
    println!("tokio_seqpacket_server: demo done");
    Ok(())
}
