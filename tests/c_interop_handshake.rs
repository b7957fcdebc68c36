//! c-tests/interop_handshake.c: the credentials handshake pair
//! (`fdcred_cred_handshake_receiver` / `fdcred_cred_handshake_sender`)
//! against plain read/write/sendmsg/recvmsg peers, on Linux.
mod support;
use support::{run_c, Link};

#[test]
fn interop_handshake_against_plain_peers() {
    run_c("interop-handshake", &["interop_handshake.c"], Link::Dynamic, &[]);
}
