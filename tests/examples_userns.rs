//! examples/credserver run inside a user namespace that maps only root (a
//! rootless container's shape): host users it cannot name arrive as the
//! overflow uid 65534, which the library reports as unknown, so a server for
//! uid 65534 refuses them instead of serving whoever the kernel could not
//! name. Needs root (clients as other uids) and user namespaces; skips with
//! the reason otherwise.
#[path = "examples/common.rs"]
mod common;
mod support;

use common::*;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn credserver_in_a_user_namespace_refuses_host_users_it_cannot_name() {
    if skip_unless_root("the user-namespace credserver test (clients as other uids)") {
        return;
    }
    match Command::new("unshare").args(["--user", "--map-root-user", "true"]).output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            println!("SKIP: user namespaces unavailable: {}", String::from_utf8_lossy(&out.stderr).trim());
            return;
        }
        Err(e) => {
            println!("SKIP: unshare (util-linux) cannot run: {e}");
            return;
        }
    }
    let examples = build_examples("examples-userns-bin");
    let sb = Sandbox::new("ex-userns", &examples, 0);
    let path = sb.run.join("cred.sock");
    // `unshare --map-root-user` writes the one-line map "0 0 1": host root is
    // root inside, every other host uid (65534 included) is unmapped.
    let mut cmd = Command::new("unshare");
    cmd.args(["--user", "--map-root-user"]).arg(sb.bin.join("credserver")).arg(&path).arg("65534");
    cmd.env("LD_LIBRARY_PATH", &sb.bin);
    let mut server = Proc::spawn("credserver in a user namespace", &mut cmd);
    server.expect_line("serving only uid 65534", 10);
    for (uid, gid) in [(NOBODY, NOBODY), (1234, 4321)] {
        let mut client = sb.command("credclient");
        client.arg(&path);
        as_user(&mut client, uid, gid);
        let mut p = Proc::spawn("credclient", &mut client);
        let pid = p.pid();
        let status = p.wait(20);
        let out = p.output();
        assert_eq!(status.code(), Some(3), "host uid {uid} must be refused (exit 3); output:\n{out}");
        let logged = format!("REFUSED connection from pid {pid} uid ? gid ?");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !server.output().contains(&logged) {
            assert!(Instant::now() < deadline, "credserver did not log {logged:?}:\n{}", server.output());
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    server.signal(libc::SIGTERM);
    assert!(server.wait(10).success(), "credserver after SIGTERM:\n{}", server.output());
}
