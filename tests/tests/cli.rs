//! The command line: `clusapid user add|list|del` on an accounts file, and `clusapid serve
//! --config FILE` answering clients with the accounts `user add` wrote.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use dcerpc::pdu::auth_level;
use idl::clusapi::*;
use idl::ByteOrder;
use tests::*;

fn clusapid(args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(clusapid_bin());
    cmd.args(args).env("NO_COLOR", "1");
    let (out, timed_out) = run_with_timeout(&mut cmd, stdin.map(str::as_bytes), Duration::from_secs(30));
    assert!(!timed_out, "clusapid {args:?} timed out");
    out
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn user_add(accounts: &Path, name: &str, password: &str, read_only: bool) -> Output {
    let a = accounts.to_str().unwrap();
    let mut args = vec!["user", "add", "--accounts", a];
    if read_only {
        args.push("--read-only");
    }
    args.push(name);
    clusapid(&args, Some(&format!("{password}\n")))
}

fn user_list(accounts: &Path) -> Vec<(String, String)> {
    let out = clusapid(&["user", "list", "--accounts", accounts.to_str().unwrap()], None);
    assert!(out.status.success(), "user list: {}", output_text(&out));
    stdout(&out)
        .lines()
        .map(|l| {
            let mut it = l.split_whitespace();
            (it.next().unwrap_or("").to_string(), it.next().unwrap_or("").to_string())
        })
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

#[test]
fn user_add_list_del() {
    let dir = scratch_dir();
    let acc = dir.path().join("accounts");

    let out = user_add(&acc, "alice", ALICE_PASSWORD, false);
    assert!(out.status.success(), "user add alice: {}", output_text(&out));
    assert!(stdout(&out).contains("alice"), "{}", output_text(&out));
    let out = user_add(&acc, "bob", BOB_PASSWORD, true);
    assert!(out.status.success(), "user add bob: {}", output_text(&out));

    assert_eq!(
        user_list(&acc),
        vec![("alice".to_string(), "full".to_string()), ("bob".to_string(), "read-only".to_string())]
    );

    let mode = std::fs::metadata(&acc).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "accounts file mode {mode:o}");
    let raw = std::fs::read(&acc).unwrap();
    let text = String::from_utf8_lossy(&raw).to_lowercase();
    for pw in [ALICE_PASSWORD, BOB_PASSWORD] {
        assert!(!text.contains(&pw.to_lowercase()), "the accounts file holds a password in clear:\n{text}");
        assert!(
            !raw.windows(pw.len() * 2).any(|w| w == utf16le(pw).as_slice()),
            "the accounts file holds a UTF-16 password"
        );
    }
    // what it holds instead: the NT hash
    assert!(text.contains(&hex(&auth::nt_hash(ALICE_PASSWORD))), "alice's NT hash not in the file:\n{text}");

    // an empty password is refused and changes nothing
    let before = std::fs::read(&acc).unwrap();
    let out = user_add(&acc, "carol", "", false);
    assert!(!out.status.success(), "empty password accepted: {}", output_text(&out));
    assert_eq!(std::fs::read(&acc).unwrap(), before);
    // so is a bad name
    let out = user_add(&acc, "bad:name", "x", false);
    assert!(!out.status.success(), "bad name accepted: {}", output_text(&out));
    assert_eq!(std::fs::read(&acc).unwrap(), before);

    // re-adding replaces (level change)
    let out = user_add(&acc, "bob", BOB_PASSWORD, false);
    assert!(out.status.success(), "{}", output_text(&out));
    assert!(user_list(&acc).contains(&("bob".to_string(), "full".to_string())));

    let out = clusapid(&["user", "del", "--accounts", acc.to_str().unwrap(), "bob"], None);
    assert!(out.status.success(), "user del: {}", output_text(&out));
    assert_eq!(user_list(&acc), vec![("alice".to_string(), "full".to_string())]);
    let out = clusapid(&["user", "del", "--accounts", acc.to_str().unwrap(), "bob"], None);
    assert!(!out.status.success(), "deleting a missing account succeeded: {}", output_text(&out));
    let mode = std::fs::metadata(&acc).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "accounts file mode after del {mode:o}");
}

fn write_config(dir: &Path, accounts: &Path, epm_port: u16) -> std::path::PathBuf {
    let cfg = dir.join("clusapid.toml");
    let state = dir.join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(
        &cfg,
        format!(
            "cluster_name = \"CLITEST\"\nlisten = [\"127.0.0.1\"]\nport = 0\nepm_port = {epm_port}\naccounts = \"{}\"\n\
             backend = \"simulated\"\nnodes = 2\nstate_dir = \"{}\"\n",
            accounts.display(),
            state.display()
        ),
    )
    .unwrap();
    cfg
}

/// Checks a `serve` daemon with the Rust client: the configured cluster name, the accounts
/// and their levels.
fn check_served(d: &mut Demo) {
    let mut c = RpcClient::clusapi(d.port);
    let stub = c.call(ApiGetClusterNameRequest::OPNUM, &ApiGetClusterNameRequest {}.to_stub()).expect("GetClusterName");
    let r = ApiGetClusterNameResponse::decode_stub(&stub, ByteOrder::Little).unwrap();
    assert_eq!(r.cluster_name.unwrap().0, "CLITEST", "the configured cluster name");

    let mut bob = RpcClient::clusapi_as(
        d.port,
        Auth::Spnego { user: BOB_USER, password: BOB_PASSWORD, level: auth_level::PKT_PRIVACY },
    );
    let stub = bob
        .call(ApiOpenClusterExRequest::OPNUM, &ApiOpenClusterExRequest { desired_access: 0x0200_0000 }.to_stub())
        .expect("OpenClusterEx");
    let r = ApiOpenClusterExResponse::decode_stub(&stub, ByteOrder::Little).unwrap();
    assert_eq!((r.status.0, r.granted_access), (0, 0x8000_0000), "bob is read-only in the accounts file");

    let mut wrong =
        RpcClient::connect(d.port, Auth::Ntlm { user: ALICE_USER, password: "not-it", level: auth_level::PKT_PRIVACY });
    if wrong.bind(clusapi_syntax(), 0).is_ok() {
        assert!(wrong.try_call(ApiGetClusterNameRequest::OPNUM, &[]).is_err(), "a wrong password got an answer");
    }
    d.assert_alive();
}

#[test]
fn serve_with_a_config_file_and_the_accounts_user_add_wrote() {
    let dir = scratch_dir();
    let acc = dir.path().join("accounts");
    assert!(user_add(&acc, "alice", ALICE_PASSWORD, false).status.success());
    assert!(user_add(&acc, "bob", BOB_PASSWORD, true).status.success());

    let _guard = port135_lock();
    // rpcclient needs the endpoint mapper on port 135
    let can_135 = std::net::TcpListener::bind(("127.0.0.1", 135)).is_ok();
    let cfg = write_config(dir.path(), &acc, if can_135 { 135 } else { 0 });
    let mut d = match Demo::serve(&cfg) {
        Ok(d) => d,
        Err(e) => panic!("clusapid serve --config {}: {e}", cfg.display()),
    };
    assert_ne!(d.port, 0);
    check_served(&mut d);

    if !can_135 || d.epm_port != 135 {
        skip_or_fail!("the rpcclient half needs 127.0.0.1:135 (not root, or taken)");
    }
    if !require_tool("rpcclient") {
        return;
    }
    let out = rpcclient(&d.binding("seal"), ALICE, "clusapi_get_cluster_name");
    assert!(out.status.success(), "{}", output_text(&out));
    assert!(stdout(&out).contains("ClusterName: CLITEST"), "{}", output_text(&out));
    let out = rpcclient(&d.binding("seal,ntlm"), BOB, "clusapi_get_cluster_name; clusapi_get_cluster_version2");
    assert!(out.status.success(), "{}", output_text(&out));
    assert!(stdout(&out).contains("NodeName: CTDB_NODE_0"), "{}", output_text(&out));
    let out = rpcclient(&d.binding("seal"), "alice%Passw0rd-2", "clusapi_get_cluster_name");
    assert!(!out.status.success(), "a wrong password worked: {}", output_text(&out));
    d.assert_alive();
}

#[test]
fn serve_refuses_a_bad_config() {
    let dir = scratch_dir();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "prot = 4135\n").unwrap();
    let out = clusapid(&["serve", "--config", cfg.to_str().unwrap()], None);
    assert!(!out.status.success(), "an unknown key was accepted: {}", output_text(&out));
    std::fs::write(&cfg, "nodes = 0\nport = 0\nepm_port = 0\n").unwrap();
    let out = clusapid(&["serve", "--config", cfg.to_str().unwrap()], None);
    assert!(!out.status.success(), "nodes = 0 was accepted: {}", output_text(&out));
}
