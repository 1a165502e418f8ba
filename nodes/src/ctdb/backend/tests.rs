//! Unit tests of the backend's pure helpers; the behaviour against a real
//! ctdbd is covered by `nodes/tests/ctdb_cluster.rs`.

use super::*;

fn v4(d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 100, d))
}

fn entry(pnn: u32, d: u8) -> PublicIpEntry {
    PublicIpEntry { pnn, addr: Some(v4(d)) }
}

#[test]
fn merge_takes_the_claiming_node() {
    // node 0 thinks .1 is on 1 and .2 on 2; node 1 claims .1; node 2 says
    // .2 is on 0 (stale) and nobody claims it.
    let answers = vec![
        (0, vec![entry(1, 1), entry(2, 2), entry(0, 3)]),
        (1, vec![entry(1, 1), entry(2, 2), entry(0, 3)]),
        (2, vec![entry(1, 1), entry(0, 2), entry(0, 3)]),
    ];
    // nobody claims .2; the local node (0) names 2, which is not active
    assert_eq!(merge_public_ips(&answers, 0, &[0, 1]), vec![(v4(1), Some(1)), (v4(2), None), (v4(3), Some(0))]);
    // ... and when 2 is active (an address in the middle of a move to 2)
    assert_eq!(merge_public_ips(&answers, 0, &[0, 1, 2]), vec![(v4(1), Some(1)), (v4(2), Some(2)), (v4(3), Some(0))]);
    // node 2 as the local node names 0, which does not claim .2 but is active
    assert_eq!(merge_public_ips(&answers, 2, &[0, 1, 2])[1], (v4(2), Some(0)));
}

#[test]
fn merge_sorts_and_skips_unknown_families() {
    let v6: IpAddr = "fd00::1".parse().expect("v6");
    let answers = vec![(
        0,
        vec![
            PublicIpEntry { pnn: 0, addr: Some(v6) },
            entry(0, 9),
            PublicIpEntry { pnn: 0, addr: None },
            entry(protocol::CTDB_UNKNOWN_PNN, 2),
        ],
    )];
    assert_eq!(merge_public_ips(&answers, 0, &[0]), vec![(v4(2), None), (v4(9), Some(0)), (v6, Some(0))]);
    assert!(merge_public_ips(&[], 0, &[0]).is_empty());
}

#[test]
fn public_addresses_file() {
    let text = "# comment\n\
                127.0.100.1/24 lo\n\
                \n\
                127.0.100.2/16  eth0,eth1  # trailing\n\
                fd00::5/64 eth0\n\
                bogus line\n\
                10.0.0.1/33 eth0\n\
                10.0.0.2 eth0\n";
    let m = parse_public_addresses(text);
    assert_eq!(m.get(&v4(1)), Some(&24));
    assert_eq!(m.get(&v4(2)), Some(&16));
    assert_eq!(m.get(&"fd00::5".parse::<IpAddr>().expect("v6")), Some(&64));
    assert_eq!(m.len(), 3, "{m:?}");
}

#[test]
fn public_addresses_location() {
    assert_eq!(
        public_addresses_candidates(Path::new("/tmp/c/node.0/run/ctdbd.socket")),
        vec![PathBuf::from("/tmp/c/node.0/public_addresses"), PathBuf::from("/etc/ctdb/public_addresses")]
    );
    assert_eq!(
        public_addresses_candidates(Path::new("/var/lib/ctdb/ctdbd.socket")),
        vec![PathBuf::from("/etc/ctdb/public_addresses")]
    );
    assert_eq!(default_prefix(v4(1)), 24);
    assert_eq!(default_prefix("::1".parse().expect("v6")), 64);
}

#[test]
fn view_queries() {
    let node = |pnn: u32, flags: CtdbNodeFlags| CtdbNodeInfo {
        pnn,
        address: IpAddr::V4(Ipv4Addr::new(127, 0, 0, pnn as u8 + 1)),
        flags,
    };
    let v = CtdbView {
        this_pnn: 0,
        nodes: vec![
            node(0, CtdbNodeFlags::OK),
            node(1, CtdbNodeFlags::PERMANENTLY_DISABLED),
            node(2, CtdbNodeFlags::DISCONNECTED),
            node(3, CtdbNodeFlags::DELETED),
        ],
        generation: 5,
        recovery_active: false,
        ips: vec![(v4(1), Some(0)), (v4(2), None)],
    };
    assert_eq!(v.active_pnns(), vec![0, 1]);
    assert_eq!(v.flags(1), Ok(CtdbNodeFlags::PERMANENTLY_DISABLED));
    assert_eq!(v.flags(3), Err(BackendError::NodeNotFound(3)));
    assert_eq!(v.flags(9), Err(BackendError::NodeNotFound(9)));
    assert_eq!(v.host(v4(2)), Some(None));
    assert_eq!(v.host(v4(7)), None);
    assert!(v.hosts_any(0));
    assert!(!v.hosts_any(1));
    assert_eq!(Shared::query_nodes(&v), vec![0, 1]);
}

#[test]
fn client_errors_map_to_backend_errors() {
    assert!(matches!(client_err(ClientError::Disconnected), BackendError::Unavailable(_)));
    assert!(matches!(client_err(ClientError::Connect("x".into())), BackendError::Unavailable(_)));
    assert!(matches!(client_err(ClientError::Status { opcode: 157, status: -1, errmsg: None }), BackendError::Ctdb(_)));
    assert!(matches!(client_err(ClientError::Timeout { opcode: 91 }), BackendError::Ctdb(_)));
}

#[tokio::test]
async fn connect_to_missing_socket_is_unavailable() {
    let cfg = CtdbConfig::new("/nonexistent/run/ctdbd.socket", "CLUSTER");
    let e = CtdbBackend::connect(cfg).await.expect_err("no ctdbd");
    assert!(matches!(e, BackendError::Unavailable(_)), "{e:?}");
    let e = CtdbBackend::connect(CtdbConfig::new("/x", " ")).await.expect_err("empty name");
    assert!(matches!(e, BackendError::InvalidParameter(_)));
}

#[test]
fn node_flags_come_from_the_node_itself() {
    use protocol::NodeAndFlags;
    let n = |pnn: u32, flags: u32| NodeAndFlags {
        pnn,
        flags,
        addr: Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, pnn as u8 + 1))),
    };
    // local view: 1 OK (stale), 2 DISCONNECTED, 3 OK (no answer)
    let local = vec![n(0, 0), n(1, 0), n(2, 1), n(3, 0)];
    let remote = vec![
        // node 1 already disabled itself; its view of node 0 is ignored
        (1, vec![n(0, 8), n(1, 4), n(2, 0), n(3, 0)]),
        // node 2 answered (race) but the local daemon lost it: stays DISCONNECTED
        (2, vec![n(2, 0)]),
    ];
    let merged = merge_node_flags(&local, &remote);
    let flags: Vec<u32> = merged.iter().map(|e| e.flags).collect();
    assert_eq!(flags, [0, 4, 1, 0]);
    assert_eq!(merged[1].addr, local[1].addr);
    assert_eq!(merge_node_flags(&local, &[]), local);
}

#[test]
fn connect_time_errors() {
    assert!(matches!(open_err(ClientError::Disconnected), BackendError::Unavailable(_)));
    assert!(matches!(open_err(ClientError::Timeout { opcode: 61 }), BackendError::Unavailable(_)));
    assert!(matches!(open_err(ClientError::Status { opcode: 61, status: -1, errmsg: None }), BackendError::Ctdb(_)));
}

#[test]
fn retry_pauses_are_short_and_grow() {
    for attempt in 1..50 {
        let p = retry_pause(attempt);
        assert!(p >= Duration::from_millis(10 + 20 * u64::from(attempt.min(10))), "{p:?}");
        assert!(p < Duration::from_millis(260), "{p:?}");
    }
}

#[test]
fn record_keys() {
    assert_eq!(OVERLAY_KEY, b"overlay");
    assert_eq!(REGISTRY_KEY, b"registry");
    assert_ne!(OVERLAY_KEY, pdb::TXN_KEY);
}
