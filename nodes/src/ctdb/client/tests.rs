//! Client tests against a scripted fake ctdbd on a temporary Unix socket.

use super::*;
use crate::ctdb::protocol::{self, encode_node_map, operation, Header, LtdbHeader, ReplyControl};

/// The database id the fake daemon knows.
const DB_ID: u32 = 0x0f00_e77b;
use std::sync::atomic::AtomicUsize;
use tokio::net::UnixListener;

static DIR_SEQ: AtomicUsize = AtomicUsize::new(0);

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let p = std::env::temp_dir().join(format!(
            "nodes-ctdb-client-{}-{}",
            std::process::id(),
            DIR_SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Opcode the fake never answers.
const HANG: u32 = 999;
/// Opcode after which the fake closes the connection.
const CLOSE: u32 = 998;
/// Opcode after which the fake sends garbage.
const GARBAGE: u32 = 997;
/// Opcode after which the fake sends a LEADER message, then the reply.
const PUSH_MESSAGE: u32 = 996;

fn reply(reqid: u32, status: i32, data: Vec<u8>, errmsg: Option<&str>) -> Vec<u8> {
    ReplyControl { reqid, generation: 7, status, data, errmsg: errmsg.map(str::to_string) }.encode()
}

async fn read_packet(s: &mut UnixStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).await.ok()?;
    let n = protocol::packet_length(&len).ok()??;
    let mut buf = vec![0u8; n];
    buf[..4].copy_from_slice(&len);
    s.read_exact(&mut buf[4..]).await.ok()?;
    Some(buf)
}

/// Serves one connection; returns the srvids registered.
async fn fake_ctdbd(listener: UnixListener) -> Vec<u64> {
    let (mut s, _) = listener.accept().await.expect("accept");
    let mut registered = Vec::new();
    while let Some(p) = read_packet(&mut s).await {
        let h = Header::decode(&p).expect("header");
        if h.operation == operation::REQ_MESSAGE {
            let m = ReqMessage::decode(&p).expect("message");
            if m.srvid == srvid::TAKEOVER_RUN {
                let sm = SrvidMessage::decode(&m.data).expect("srvid message");
                let answer = ReqMessage {
                    destnode: sm.pnn,
                    srcnode: 0,
                    reqid: 0,
                    srvid: sm.srvid,
                    data: 0i32.to_le_bytes().to_vec(),
                };
                s.write_all(&answer.encode()).await.expect("write");
            }
            continue;
        }
        let c = ReqControl::decode(&p).expect("control");
        let out = match c.opcode {
            opcode::GET_PNN => reply(c.reqid, 2, vec![], None),
            opcode::REGISTER_SRVID => {
                registered.push(c.srvid);
                reply(c.reqid, 0, vec![], None)
            }
            opcode::DEREGISTER_SRVID => reply(c.reqid, 0, vec![], None),
            opcode::GET_NODEMAP => reply(
                c.reqid,
                0,
                encode_node_map(&[protocol::NodeAndFlags {
                    pnn: 2,
                    flags: 4,
                    addr: Some("127.0.0.3".parse().expect("ip")),
                }]),
                None,
            ),
            opcode::DISABLE_NODE => reply(c.reqid, -1, vec![], Some("nope")),
            opcode::DB_ATTACH_PERSISTENT => {
                assert_eq!(c.data, b"clusapid.tdb\0");
                reply(c.reqid, 0, DB_ID.to_le_bytes().to_vec(), None)
            }
            opcode::GET_DBMAP => {
                reply(c.reqid, 0, protocol::encode_dbid_map(&[DbIdEntry { db_id: DB_ID, flags: 1 }]), None)
            }
            opcode::GETDBPATH => reply(c.reqid, 0, b"/db/clusapid.tdb.2\0".to_vec(), None),
            opcode::GET_DB_SEQNUM => {
                assert_eq!(c.data, protocol::encode_db_seqnum_request(DB_ID));
                reply(c.reqid, 0, 5u64.to_le_bytes().to_vec(), None)
            }
            opcode::TRAVERSE_START => {
                let t = TraverseStart::decode(&c.data).expect("traverse start");
                if t.db_id != DB_ID {
                    reply(c.reqid, -1, vec![], None)
                } else {
                    s.write_all(&reply(c.reqid, 0, vec![], None)).await.expect("write");
                    let h = LtdbHeader { rsn: 3, dmaster: 0, flags: 0 };
                    let recs = [
                        RecData::with_header(t.reqid.wrapping_add(1), b"other traverse", &h, b"x"),
                        RecData::with_header(t.reqid, b"a", &h, b"1"),
                        RecData::with_header(t.reqid, b"b", &h, b"2"),
                        RecData { reqid: t.reqid, key: vec![], data: vec![] },
                    ];
                    for r in recs {
                        let mut data = Vec::new();
                        r.encode(&mut data);
                        let m = ReqMessage { destnode: 2, srcnode: 2, reqid: 0, srvid: t.srvid, data };
                        s.write_all(&m.encode()).await.expect("write");
                    }
                    continue;
                }
            }
            opcode::TRANS3_COMMIT => {
                // answers with the number of records, to show they arrived
                let b = RecBuffer::decode(&c.data).expect("record buffer");
                reply(c.reqid, b.records.len() as i32, vec![], None)
            }
            HANG => continue,
            CLOSE => break,
            GARBAGE => {
                // a whole 48-byte packet with a zero magic
                let mut g = vec![0u8; 48];
                g[0] = 0x30;
                s.write_all(&g).await.expect("write");
                continue;
            }
            PUSH_MESSAGE => {
                let m = ReqMessage {
                    destnode: 2,
                    srcnode: 0,
                    reqid: 0,
                    srvid: srvid::LEADER,
                    data: 1u32.to_le_bytes().to_vec(),
                };
                s.write_all(&m.encode()).await.expect("write");
                reply(c.reqid, 0, vec![], None)
            }
            _ => reply(c.reqid, -1, vec![], None),
        };
        if s.write_all(&out).await.is_err() {
            break;
        }
    }
    registered
}

async fn setup() -> (TempDir, Arc<Connection>, mpsc::Receiver<ReqMessage>, tokio::task::JoinHandle<Vec<u64>>) {
    let dir = TempDir::new();
    let path = dir.0.join("ctdbd.socket");
    let listener = UnixListener::bind(&path).expect("bind");
    let server = tokio::spawn(fake_ctdbd(listener));
    let (conn, rx) = Connection::connect(&path, &[srvid::LEADER, srvid::TAKE_IP]).await.expect("connect");
    (dir, conn, rx, server)
}

#[tokio::test]
async fn connect_learns_pnn_and_registers() {
    let (_dir, conn, _rx, server) = setup().await;
    assert_eq!(conn.pnn(), 2);
    let nodes = conn.get_nodemap(CTDB_CURRENT_NODE).await.expect("nodemap");
    assert_eq!(nodes.len(), 1);
    assert_eq!(nodes[0].flags, 4);
    conn.close();
    assert!(conn.is_closed());
    let registered = server.await.expect("server");
    assert_eq!(registered, vec![srvid::LEADER, srvid::TAKE_IP]);
}

#[tokio::test]
async fn timeout_leaves_connection_usable() {
    let (_dir, conn, _rx, _server) = setup().await;
    let t = std::time::Instant::now();
    let e =
        conn.control(ReqControl::new(CTDB_CURRENT_NODE, HANG), Duration::from_millis(200)).await.expect_err("no reply");
    assert_eq!(e, ClientError::Timeout { opcode: HANG });
    assert!(t.elapsed() < Duration::from_secs(2));
    assert!(e.is_connection_error());
    assert!(conn.get_nodemap(CTDB_CURRENT_NODE).await.is_ok());
}

#[tokio::test]
async fn status_errors_carry_text() {
    let (_dir, conn, _rx, _server) = setup().await;
    let e = conn.simple_control(1, opcode::DISABLE_NODE).await.expect_err("refused");
    assert_eq!(e, ClientError::Status { opcode: opcode::DISABLE_NODE, status: -1, errmsg: Some("nope".into()) });
    assert!(!e.is_connection_error());
    assert!(e.to_string().contains("nope"));
}

#[tokio::test]
async fn takeover_run_waits_for_the_reply_message() {
    let (_dir, conn, _rx, _server) = setup().await;
    let status = conn.takeover_run(Duration::from_millis(500), Duration::from_secs(3)).await.expect("takeover run");
    assert_eq!(status, 0);
}

#[tokio::test]
async fn messages_arrive_on_the_channel() {
    let (_dir, conn, mut rx, _server) = setup().await;
    conn.control_ok(ReqControl::new(CTDB_CURRENT_NODE, PUSH_MESSAGE), CONTROL_TIMEOUT).await.expect("control");
    let m = tokio::time::timeout(Duration::from_secs(2), rx.recv()).await.expect("in time").expect("message");
    assert_eq!(m.srvid, srvid::LEADER);
    assert_eq!(protocol::decode_u32(&m.data), Ok(1));
}

#[tokio::test]
async fn peer_close_fails_everything_fast() {
    let (_dir, conn, mut rx, _server) = setup().await;
    let hanging =
        conn.start_control(ReqControl::new(CTDB_CURRENT_NODE, HANG), Duration::from_secs(30)).await.expect("sent");
    let t = std::time::Instant::now();
    let _ = conn.control(ReqControl::new(CTDB_CURRENT_NODE, CLOSE), CONTROL_TIMEOUT).await;
    assert_eq!(hanging.wait().await, Err(ClientError::Disconnected));
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    // the message channel closes
    assert!(tokio::time::timeout(Duration::from_secs(2), rx.recv()).await.expect("closed in time").is_none());
    assert!(conn.is_closed());
    assert!(conn.close_reason().is_some());
    assert_eq!(conn.get_nodemap(CTDB_CURRENT_NODE).await, Err(ClientError::Disconnected));
}

#[tokio::test]
async fn garbage_closes_the_connection() {
    let (_dir, conn, mut rx, _server) = setup().await;
    let e = conn.control(ReqControl::new(CTDB_CURRENT_NODE, GARBAGE), CONTROL_TIMEOUT).await.expect_err("garbage");
    assert_eq!(e, ClientError::Disconnected);
    assert!(rx.recv().await.is_none());
    assert!(conn.close_reason().unwrap_or_default().contains("bad packet"));
}

#[tokio::test]
async fn connect_to_missing_socket_fails() {
    let dir = TempDir::new();
    let e = Connection::connect(&dir.0.join("nothing.socket"), &[]).await.expect_err("no socket");
    assert!(matches!(e, ClientError::Connect(_)), "{e:?}");
}

#[tokio::test]
async fn persistent_database_controls() {
    let (_dir, conn, _rx, _server) = setup().await;
    assert_eq!(conn.attach_persistent("clusapid.tdb").await, Ok(DB_ID));
    assert_eq!(conn.get_dbmap(CTDB_CURRENT_NODE).await, Ok(vec![DbIdEntry { db_id: DB_ID, flags: 1 }]));
    assert_eq!(conn.get_db_path(CTDB_CURRENT_NODE, DB_ID).await.as_deref(), Ok("/db/clusapid.tdb.2"));
    assert_eq!(conn.get_db_seqnum(CTDB_CURRENT_NODE, DB_ID).await, Ok(5));
    let buf = RecBuffer { db_id: DB_ID, records: vec![RecData::with_header(0, b"a", &LtdbHeader::default(), b"1"); 2] };
    let r = conn.trans3_commit(&buf, CONTROL_TIMEOUT).await.expect("reply");
    assert_eq!(r.status, 2, "any status comes back as is");
}

#[tokio::test]
async fn traverse_collects_records_until_the_end_marker() {
    let (_dir, conn, mut rx, server) = setup().await;
    let recs = conn.traverse(DB_ID, Duration::from_secs(2)).await.expect("traverse");
    let keys: Vec<&[u8]> = recs.iter().map(|r| r.key.as_slice()).collect();
    assert_eq!(keys, [&b"a"[..], b"b"], "records of other traverses are skipped");
    assert_eq!(recs[1].split_header().expect("header").1, b"2");
    // the records did not leak onto the general message channel
    assert!(rx.try_recv().is_err());
    // a refused traverse fails at once instead of waiting for records
    let t = std::time::Instant::now();
    let e = conn.traverse(0xdead, Duration::from_secs(5)).await.expect_err("refused");
    assert!(matches!(e, ClientError::Status { opcode: opcode::TRAVERSE_START, status: -1, .. }), "{e:?}");
    assert!(t.elapsed() < Duration::from_secs(1));
    conn.close();
    let registered = server.await.expect("server");
    let private: Vec<_> = registered.iter().filter(|s| **s & 0xFF00_0000_0000_0000 == srvid::CLIENT_RANGE).collect();
    assert_eq!(private.len(), 2, "one private srvid per traverse: {registered:x?}");
}

#[test]
fn backoff_doubles_to_five_seconds() {
    let mut b = Backoff::new();
    let seq: Vec<u64> = (0..9).map(|_| b.next_delay().as_millis() as u64).collect();
    assert_eq!(seq, [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
    b.reset();
    assert_eq!(b.next_delay(), Duration::from_millis(100));
}
