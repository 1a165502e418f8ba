//! systemd's readiness protocol (sd_notify(3)): with `Type=notify` the unit is started once
//! `serve` sends `READY=1`, which it does as soon as its ports are bound (before it waits for
//! ctdbd), so units ordered after clusapid (CTDB, and with it samba-dcerpcd) start only when
//! port 135 is clusapid's. `STATUS=` lines say what it is doing. Without `NOTIFY_SOCKET` in
//! the environment nothing is sent.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixDatagram;

/// Sends `state` (e.g. `READY=1\nSTATUS=...`) to the service manager, if there is one.
/// Returns whether it was sent.
pub fn notify(state: &str) -> bool {
    match std::env::var_os("NOTIFY_SOCKET") {
        Some(path) => match notify_to(&path, state) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "Cannot notify the service manager (NOTIFY_SOCKET)");
                false
            }
        },
        None => false,
    }
}

/// Sends `state` to the datagram socket `path` (a leading `@` names an abstract socket).
pub fn notify_to(path: &OsStr, state: &str) -> std::io::Result<()> {
    let sock = UnixDatagram::unbound()?;
    let bytes = path.as_bytes();
    match bytes.strip_prefix(b"@") {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            sock.send_to_addr(state.as_bytes(), &addr)?;
        }
        None => {
            sock.send_to(state.as_bytes(), path)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_to_a_path_and_to_an_abstract_socket() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("notify");
        let rx = UnixDatagram::bind(&p).unwrap();
        notify_to(p.as_os_str(), "READY=1").unwrap();
        let mut buf = [0u8; 64];
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");

        use std::os::linux::net::SocketAddrExt;
        let name = format!("clusapid-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let rx = UnixDatagram::bind_addr(&addr).unwrap();
        notify_to(OsStr::new(&format!("@{name}")), "STATUS=x").unwrap();
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"STATUS=x");
        assert!(notify_to(dir.path().join("none").as_os_str(), "READY=1").is_err());
    }
}
