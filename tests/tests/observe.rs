//! Observing a running clusapid: the status and metrics endpoint scraped for real over HTTP
//! (rpcclient and smbtorture calls and logons move its counters), and the log output (no
//! colour codes off a terminal, `--log-format json`).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dcerpc::pdu::{self, SyntaxId};
use idl::clusapi::*;
use idl::witness::*;
use idl::{ByteOrder, WString};
use tests::http::{get, request, sample};
use tests::{clusapid_bin, output_text, port135_lock, rpcclient, Auth, Demo, RpcClient, ALICE};

/// The status endpoint's address from the demo's banner.
fn metrics_addr(demo: &Demo) -> SocketAddr {
    let line = demo.stdout.lines().find(|l| l.contains("status, metrics")).unwrap_or_else(|| panic!("{}", demo.stdout));
    let url = line.split_whitespace().find(|w| w.starts_with("http://")).expect("a URL");
    url.trim_start_matches("http://").trim_end_matches('/').parse().expect("ADDR:PORT")
}

const GET_NAME: &str =
    "clusapid_rpc_calls_total{interface=\"clusapi\",opnum=\"3\",op=\"ApiGetClusterName\",status=\"0\"}";

#[test]
fn an_rpcclient_call_moves_its_counter_and_logons_are_counted() {
    if !tests::require_tool("rpcclient") {
        return;
    }
    let _port = port135_lock();
    let demo = match Demo::start_with_epm_135(&["--metrics-listen", "127.0.0.1:0"]) {
        Ok(d) => d,
        Err(e) => tests::skip_or_fail!("rpcclient needs the endpoint mapper on 135: {e}"),
    };
    let m = metrics_addr(&demo);
    let before = get(m, "/metrics");
    assert_eq!(sample(&before, GET_NAME), None, "no call yet:\n{before}");

    let out = rpcclient("ncacn_ip_tcp:127.0.0.1[seal]", ALICE, "clusapi_get_cluster_name");
    assert!(out.status.success(), "{}", output_text(&out));
    let after = get(m, "/metrics");
    assert_eq!(sample(&after, GET_NAME), Some(1.0), "{after}");
    assert_eq!(
        sample(
            &after,
            "clusapid_rpc_call_duration_seconds_count{interface=\"clusapi\",opnum=\"3\",op=\"ApiGetClusterName\"}"
        ),
        Some(1.0)
    );
    // rpcclient found the port through the endpoint mapper
    let ept_map = "clusapid_rpc_calls_total{interface=\"epmapper\",opnum=\"3\",op=\"EptMap\",status=\"0\"}";
    assert!(sample(&after, ept_map).unwrap_or(0.0) >= 1.0, "{after}");
    assert_eq!(
        sample(&after, "clusapid_auth_total{auth_type=\"ntlmssp\",mechanism=\"ntlm\",result=\"success\"}"),
        Some(1.0),
        "{after}"
    );

    let out = rpcclient("ncacn_ip_tcp:127.0.0.1[seal]", "alice%wrong-password", "clusapi_get_cluster_name");
    assert!(!out.status.success(), "{}", output_text(&out));
    let after = get(m, "/metrics");
    assert_eq!(
        sample(&after, "clusapid_auth_total{auth_type=\"ntlmssp\",mechanism=\"ntlm\",result=\"failure\"}"),
        Some(1.0),
        "a wrong password is one failure: {after}"
    );
    assert_eq!(sample(&after, GET_NAME), Some(1.0), "the refused caller ran nothing");

    // an open connection: listed with its user, and counted in the gauges
    let mut c = RpcClient::clusapi(demo.port);
    let stub = c.call(ApiOpenClusterRequest::OPNUM, &ApiOpenClusterRequest {}.to_stub()).unwrap();
    let r = ApiOpenClusterResponse::decode_stub(&stub, ByteOrder::Little).unwrap();
    assert_eq!(r.status.0, 0);
    let status: serde_json::Value = serde_json::from_str(&get(m, "/status")).expect("JSON");
    let conns = status["connections"].as_array().expect("connections");
    assert!(
        conns.iter().any(|c| c["user"].as_str().is_some_and(|u| u.ends_with("alice")) && c["calls"] == 1),
        "{status:#}"
    );
    assert_eq!(status["nodes"].as_array().map(Vec::len), Some(3));
    assert_eq!(status["cluster"], "CTDB-CLUSTER");
    let now = get(m, "/metrics");
    assert_eq!(sample(&now, "clusapid_connections{endpoint=\"clusapi\"}"), Some(1.0), "{now}");
    assert!(sample(&now, "clusapid_context_handles").unwrap_or(0.0) >= 1.0, "{now}");
    assert!(sample(&now, "clusapid_associations").unwrap_or(0.0) >= 1.0, "{now}");
    drop(c);
    let t0 = Instant::now();
    loop {
        let now = get(m, "/metrics");
        if sample(&now, "clusapid_connections{endpoint=\"clusapi\"}") == Some(0.0) {
            assert_eq!(sample(&now, "clusapid_context_handles"), Some(0.0), "handles die with the association");
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "the closed connection is still listed: {now}");
        std::thread::sleep(Duration::from_millis(50));
    }

    let page = get(m, "/");
    assert!(page.contains("<td>CTDB_NODE_2</td>") && page.contains("Cluster Group"), "{page}");
    let r = request(m, "POST", "/metrics").unwrap();
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    assert_eq!(request(m, "GET", "/nothing").unwrap().status, 404);
    let r = request(m, "GET", "/metrics").unwrap();
    assert!(r.header("content-type").is_some_and(|t| t.starts_with("text/plain; version=0.0.4")), "{r:?}");
}

#[test]
fn witness_registrations_show_in_the_gauges() {
    let demo = Demo::start(&["--metrics-listen", "127.0.0.1:0"]);
    let m = metrics_addr(&demo);
    let mut w = RpcClient::connect(demo.port, Auth::alice());
    let syntax = SyntaxId::new(Witness::UUID, Witness::VERSION_MAJOR, Witness::VERSION_MINOR);
    let r = w.bind(syntax, 0).expect("witness bind");
    assert_eq!(r[0].result, pdu::result::ACCEPTANCE);
    let req = WitnessrRegisterRequest {
        version: WITNESS_V1,
        net_name: Some(WString::new("CTDB-CLUSTER")),
        ip_address: Some(WString::new("127.0.100.1")),
        client_computer_name: Some(WString::new("CLIENT1")),
    };
    let out = w.call(WitnessrRegisterRequest::OPNUM, &req.to_stub()).unwrap();
    assert_eq!(WitnessrRegisterResponse::decode_stub(&out, ByteOrder::Little).unwrap().result.0, 0);
    let now = get(m, "/metrics");
    assert_eq!(sample(&now, "clusapid_witness_registrations"), Some(1.0), "{now}");
    assert_eq!(sample(&now, "clusapid_witness_pending{kind=\"waiting\"}"), Some(0.0));
    let status: serde_json::Value = serde_json::from_str(&get(m, "/status")).unwrap();
    assert_eq!(status["witness_registrations"][0]["client_name"], "CLIENT1", "{status:#}");
}

#[test]
fn off_by_default() {
    let demo = Demo::start(&[]);
    assert!(!demo.stdout.contains("status, metrics"), "{}", demo.stdout);
    assert!(!demo.stderr().contains("Status and metrics endpoint"), "{}", demo.stderr());
}

/// Starts `clusapid ARGS demo ...` with stderr into a file and NO_COLOR unset (unlike the
/// harness), waits for its banner, stops it, and returns its log.
fn demo_log(global: &[&str]) -> String {
    let dir = tests::scratch_dir();
    let log = dir.path().join("log");
    let mut child = Command::new(clusapid_bin())
        .args(global)
        .args(["demo", "--port", "0", "--epm-port", "0", "--user", ALICE, "--metrics-listen", "127.0.0.1:0"])
        .arg("--admin-socket")
        .arg(dir.path().join("admin.sock"))
        .env_remove("NO_COLOR")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut banner = String::new();
    while let Some(Ok(l)) = lines.next() {
        banner.push_str(&l);
        banner.push('\n');
        if l.starts_with("Try:") {
            break;
        }
    }
    // one connection, so the log has a line with fields from a connection task
    let port: u16 = banner
        .lines()
        .find(|l| l.contains("clusapi v3.0"))
        .and_then(|l| l.split('[').nth(1)?.split(']').next()?.parse().ok())
        .unwrap_or_else(|| panic!("{banner}"));
    drop(RpcClient::clusapi(port));
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let _ = child.wait();
    std::fs::read_to_string(&log).unwrap()
}

#[test]
fn logs_carry_no_colour_codes_off_a_terminal() {
    let log = demo_log(&[]);
    assert!(log.contains("Connection closed"), "{log}");
    assert!(!log.contains('\u{1b}'), "escape codes in a log file: {log:?}");
}

#[test]
fn json_logs_are_one_object_per_line() {
    let log = demo_log(&["--log-format", "json"]);
    let mut seen_connection = false;
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["timestamp"].is_string() && v["level"].is_string() && v["target"].is_string(), "{line}");
        if v["message"] == "Connection closed" {
            seen_connection = true;
            assert!(v["user"].as_str().is_some_and(|u| u.ends_with("alice")), "fields beside the message: {line}");
        }
    }
    assert!(seen_connection, "{log}");
}
