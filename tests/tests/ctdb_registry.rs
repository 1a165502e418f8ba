//! Admin writes to the cluster registry are cluster-wide and durable: a value written with
//! ApiSetValue through node 0's clusapid is read back through node 1's clusapid (both `serve`
//! on a real 3-node CTDB cluster, the registry kept in a CTDB persistent database), after
//! restarting both daemons, and while node 0's ctdbd is gone.
//!
//! Skipped loudly when ctdbd is not installed, unless CI=true (then it must run).

use std::time::{Duration, Instant};

use idl::clusapi::*;
use idl::{ByteOrder, ConfBytes, ContextHandle, WString};
use tests::ctdb::LocalCluster;
use tests::win::MAXIMUM_ALLOWED;
use tests::*;

const REG_SZ: u32 = 1;

fn utf16z(s: &str) -> Vec<u8> {
    s.encode_utf16().chain(std::iter::once(0)).flat_map(u16::to_le_bytes).collect()
}

fn root_key(c: &mut RpcClient) -> ContextHandle {
    let stub = ApiGetRootKeyRequest { sam_desired: MAXIMUM_ALLOWED }.to_stub();
    let r =
        ApiGetRootKeyResponse::decode_stub(&c.call(28, &stub).expect("no fault"), ByteOrder::Little).expect("decodes");
    assert_eq!(r.status.0, 0, "ApiGetRootKey");
    r.key
}

fn create_key(c: &mut RpcClient, parent: ContextHandle, name: &str) -> ContextHandle {
    let stub = ApiCreateKeyRequest {
        key: parent,
        sub_key: WString::new(name),
        options: 0,
        sam_desired: MAXIMUM_ALLOWED,
        security_attributes: None,
    }
    .to_stub();
    let r =
        ApiCreateKeyResponse::decode_stub(&c.call(29, &stub).expect("no fault"), ByteOrder::Little).expect("decodes");
    assert_eq!(r.status.0, 0, "ApiCreateKey {name}");
    r.key
}

/// `Ok(handle)` or the Win32 status.
fn open_key(c: &mut RpcClient, parent: ContextHandle, name: &str) -> Result<ContextHandle, u32> {
    let stub = ApiOpenKeyRequest { key: parent, sub_key: WString::new(name), sam_desired: MAXIMUM_ALLOWED }.to_stub();
    let r = ApiOpenKeyResponse::decode_stub(&c.call(30, &stub).expect("no fault"), ByteOrder::Little).expect("decodes");
    if r.status.0 == 0 {
        Ok(r.key)
    } else {
        Err(r.status.0)
    }
}

fn set_value(c: &mut RpcClient, key: ContextHandle, name: &str, text: &str) {
    let data = utf16z(text);
    let cb = data.len() as u32;
    let stub = ApiSetValueRequest {
        key,
        value_name: WString::new(name),
        value_type: REG_SZ,
        data: ConfBytes(data),
        cb_data: cb,
    }
    .to_stub();
    let r =
        ApiSetValueResponse::decode_stub(&c.call(32, &stub).expect("no fault"), ByteOrder::Little).expect("decodes");
    assert_eq!(r.result.0, 0, "ApiSetValue {name}");
}

/// `Ok(bytes)` or the Win32 status.
fn query_value(c: &mut RpcClient, key: ContextHandle, name: &str) -> Result<Vec<u8>, u32> {
    let stub = ApiQueryValueRequest { key, value_name: WString::new(name), cb_data: 1024 }.to_stub();
    let r =
        ApiQueryValueResponse::decode_stub(&c.call(34, &stub).expect("no fault"), ByteOrder::Little).expect("decodes");
    if r.result.0 != 0 {
        return Err(r.result.0);
    }
    let mut d = r.data.0;
    d.truncate(r.cb_required as usize);
    Ok(d)
}

/// Reads `Admin\Note` through `port`, polling until it has `want` (writes replicate through
/// CTDB; the reader learns of them by polling the database sequence number).
fn read_back(port: u16, want: &[u8], timeout: Duration) -> Duration {
    let t = Instant::now();
    let mut c = RpcClient::clusapi(port);
    let root = root_key(&mut c);
    loop {
        let got = open_key(&mut c, root, "Admin").and_then(|k| query_value(&mut c, k, "Note"));
        if got.as_deref() == Ok(want) {
            return t.elapsed();
        }
        assert!(t.elapsed() < timeout, "Admin\\Note through port {port}: {got:?} after {:?}", t.elapsed());
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn config(cluster: &LocalCluster, dir: &std::path::Path, pnn: u32, accounts: &std::path::Path) -> std::path::PathBuf {
    let state = dir.join(format!("state.{pnn}"));
    std::fs::create_dir_all(&state).expect("state dir");
    let smb_conf = dir.join("smb.conf");
    std::fs::write(&smb_conf, "[global]\n netbios name = CTDB-CLUSTER\n[share]\n path = /tmp\n").expect("smb.conf");
    let cfg = dir.join(format!("clusapid.{pnn}.toml"));
    std::fs::write(
        &cfg,
        format!(
            "listen = [\"127.0.0.1\"]\nport = 0\nepm_port = 0\naccounts = \"{}\"\nbackend = \"ctdb\"\nctdb_socket = \"{}\"\nstate_dir = \"{}\"\nsmb_conf = \"{}\"\n",
            accounts.display(),
            cluster.socket(pnn).display(),
            state.display(),
            smb_conf.display()
        ),
    )
    .expect("config");
    cfg
}

#[test]
fn registry_writes_are_cluster_wide_and_durable() {
    if !require_tool("ctdbd") {
        return;
    }
    let cluster = LocalCluster::start(3);
    let scratch = scratch_dir();
    let accounts = scratch.path().join("accounts");
    let (name, pw) = ALICE.split_once('%').expect("NAME%PASSWORD");
    let mut cmd = std::process::Command::new(clusapid_bin());
    cmd.args(["user", "add", "--accounts", accounts.to_str().expect("utf-8"), name]);
    let (o, timed_out) = run_with_timeout(&mut cmd, Some(format!("{pw}\n").as_bytes()), Duration::from_secs(30));
    assert!(!timed_out && o.status.success(), "user add: {}", output_text(&o));
    let cfg0 = config(&cluster, scratch.path(), 0, &accounts);
    let cfg1 = config(&cluster, scratch.path(), 1, &accounts);

    let text = format!("written through node 0 at {:?}", std::time::SystemTime::now());
    let want = utf16z(&text);
    {
        let d0 = Demo::serve(&cfg0).unwrap_or_else(|e| panic!("{e}"));
        let d1 = Demo::serve(&cfg1).unwrap_or_else(|e| panic!("{e}"));
        let mut c0 = RpcClient::clusapi(d0.port);
        let root = root_key(&mut c0);
        let key = create_key(&mut c0, root, "Admin");
        set_value(&mut c0, key, "Note", &text);
        let took = read_back(d1.port, &want, Duration::from_secs(5));
        eprintln!("node 1's clusapid read node 0's write after {took:?}");
    }
    // both daemons stopped (Demo's drop): start them again
    {
        let d0 = Demo::serve(&cfg0).unwrap_or_else(|e| panic!("{e}"));
        let d1 = Demo::serve(&cfg1).unwrap_or_else(|e| panic!("{e}"));
        read_back(d0.port, &want, Duration::from_secs(5));
        read_back(d1.port, &want, Duration::from_secs(5));
        // the loss of node 0: its ctdbd is killed, node 1 still has the record
        let pid = cluster.pid(0);
        // SAFETY: kill(2) of the ctdbd this test's cluster started, by its pid file
        assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
        read_back(d1.port, &want, Duration::from_secs(10));
    }
}
