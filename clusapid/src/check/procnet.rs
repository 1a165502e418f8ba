//! Parsers for what `/proc` says about sockets and processes: the listening sockets of
//! `/proc/net/tcp` and `/proc/net/tcp6` (addresses in the kernel's hex notation) and the
//! socket inode a `/proc/PID/fd/N` link names. Pure; malformed lines are skipped.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::ListenSocket;

/// The TCP state LISTEN in `/proc/net/tcp*`.
const TCP_LISTEN: &str = "0A";

/// The listening sockets in the text of `/proc/net/tcp` (`v6 = false`) or `/proc/net/tcp6`.
pub fn parse_listening(text: &str, v6: bool) -> Vec<ListenSocket> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() < 10 || cols[3] != TCP_LISTEN {
                return None;
            }
            let (addr, port) = cols[1].split_once(':')?;
            let port = u16::from_str_radix(port, 16).ok()?;
            let addr = if v6 { parse_v6(addr)? } else { parse_v4(addr)? };
            let inode = cols[9].parse().ok()?;
            Some(ListenSocket { addr, port, inode })
        })
        .collect()
}

/// An IPv4 address as `/proc/net/tcp` writes it: the 32-bit value in host order (x86: bytes
/// reversed), as 8 hex digits.
fn parse_v4(hex: &str) -> Option<IpAddr> {
    if hex.len() != 8 {
        return None;
    }
    let v = u32::from_str_radix(hex, 16).ok()?;
    Some(IpAddr::V4(Ipv4Addr::from(v.to_ne_bytes())))
}

/// An IPv6 address as `/proc/net/tcp6` writes it: four 32-bit words in host order.
fn parse_v6(hex: &str) -> Option<IpAddr> {
    if hex.len() != 32 {
        return None;
    }
    let mut b = [0u8; 16];
    for i in 0..4 {
        let w = u32::from_str_radix(hex.get(i * 8..i * 8 + 8)?, 16).ok()?;
        b[i * 4..i * 4 + 4].copy_from_slice(&w.to_ne_bytes());
    }
    let v6 = Ipv6Addr::from(b);
    // an IPv4-mapped listener is the IPv4 address's
    Some(match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(v6),
    })
}

/// The inode of a `socket:[12345]` link target.
pub fn socket_inode(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
}

#[cfg(all(test, target_endian = "little"))]
mod tests {
    use super::*;

    #[test]
    fn listening_sockets_of_tcp_and_tcp6() {
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:0087 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1894688 1 0 100 0 0 10 0\n\
   1: 00000000:1027 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1684 1 0 100 0 0 10 0\n\
   2: 0100007F:0087 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 999 1 0 100 0 0 10 0\n\
   3: garbage\n";
        let l = parse_listening(tcp, false);
        assert_eq!(
            l,
            vec![
                ListenSocket { addr: "127.0.0.1".parse().unwrap(), port: 135, inode: 1894688 },
                ListenSocket { addr: "0.0.0.0".parse().unwrap(), port: 4135, inode: 1684 },
            ],
            "established connections and junk are skipped"
        );
        let tcp6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 00000000000000000000000000000000:0087 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77 1 0 100 0 0 10 0\n\
   1: 00000000000000000000000001000000:1027 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 78 1 0 100 0 0 10 0\n\
   2: 0000000000000000FFFF00000B0200C0:0087 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 79 1 0 100 0 0 10 0\n";
        let l = parse_listening(tcp6, true);
        assert_eq!(l[0].addr, "::".parse::<IpAddr>().unwrap());
        assert_eq!(l[1].addr, "::1".parse::<IpAddr>().unwrap());
        assert_eq!(l[1].port, 4135);
        assert_eq!(l[2].addr, "192.0.2.11".parse::<IpAddr>().unwrap(), "IPv4-mapped");
    }

    #[test]
    fn socket_links() {
        assert_eq!(socket_inode("socket:[1894688]"), Some(1894688));
        assert_eq!(socket_inode("pipe:[5]"), None);
        assert_eq!(socket_inode("socket:[x]"), None);
    }
}
