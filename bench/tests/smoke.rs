//! Smoke run of the load generator: `clusapid demo` on free loopback ports, then one second of
//! sealed calls for epm_map and mgmt_inq with NTLMSSP and SPNEGO (and one second of sealed
//! connection setups); every run must complete operations and count no error.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The cargo profile directory this test was built in (`<target>/<profile>/deps/<test>`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let mut dir = exe.parent().expect("deps dir").to_path_buf();
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.pop();
    }
    dir
}

/// Builds clusapid with this test's profile and returns its path.
fn clusapid_bin() -> PathBuf {
    let dir = profile_dir();
    let profile = dir.file_name().and_then(|n| n.to_str()).unwrap_or("debug").to_string();
    let target = dir.parent().expect("target dir").to_path_buf();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace").to_path_buf();
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(&root).args(["build", "-p", "clusapid", "--bin", "clusapid"]).env("CARGO_TARGET_DIR", &target);
    match profile.as_str() {
        "debug" => {}
        "release" => {
            cmd.arg("--release");
        }
        p => {
            cmd.args(["--profile", p]);
        }
    }
    let out = cmd.output().expect("cargo build -p clusapid");
    assert!(out.status.success(), "cargo build -p clusapid failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let bin = dir.join("clusapid");
    assert!(bin.is_file(), "{} missing", bin.display());
    bin
}

/// A running demo, stopped (by its pid) when dropped.
struct Demo {
    child: Child,
    epm_port: u16,
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // SAFETY: kill(2) on our own, not yet reaped child.
            unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn start_demo() -> Demo {
    let mut child = Command::new(clusapid_bin())
        .args(["demo", "--listen", "127.0.0.1", "--port", "0", "--epm-port", "0", "--user", "alice%Passw0rd-1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start clusapid demo");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut demo = Demo { child, epm_port: 0 };
    let deadline = Instant::now() + Duration::from_secs(30);
    while demo.epm_port == 0 {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(line) if line.contains("endpoint mapper") => {
                demo.epm_port =
                    line.split('[').nth(1).and_then(|s| s.split(']').next()).and_then(|p| p.parse().ok()).unwrap_or(0);
            }
            _ => {}
        }
        assert!(Instant::now() < deadline, "clusapid demo did not announce its endpoint mapper within 30 s");
        if let Ok(Some(status)) = demo.child.try_wait() {
            panic!("clusapid demo exited: {status}");
        }
    }
    demo
}

/// The integer value of `"key": N` in a flat JSON line.
fn int_field(json: &str, key: &str) -> Option<i64> {
    let at = json.find(&format!("\"{key}\": "))? + key.len() + 4;
    let rest = &json[at..];
    let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '-')).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

fn bench(demo: &Demo, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_clusapid-bench"))
        .args(["--host", "127.0.0.1", "--epm-port", &demo.epm_port.to_string(), "--duration", "1", "--warmup", "0.2"])
        .args(["--server-pid", &demo.child.id().to_string()])
        .args(args)
        .output()
        .expect("run clusapid-bench");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "clusapid-bench {args:?} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.lines().last().unwrap_or_default().to_string()
}

#[test]
fn one_second_of_sealed_calls_and_binds() {
    let demo = start_demo();
    let runs: &[&[&str]] = &[
        &["--profile", "epm_map", "--auth", "ntlm"],
        &["--profile", "epm_map", "--auth", "spnego"],
        &["--profile", "mgmt_inq", "--auth", "ntlm"],
        &["--profile", "mgmt_inq", "--auth", "spnego", "--conns", "4"],
        &["--profile", "epm_map", "--auth", "ntlm", "--mode", "bind"],
        &["--profile", "mgmt_inq", "--auth", "spnego", "--mode", "bind", "--no-nodelay"],
    ];
    for args in runs {
        let line = bench(&demo, args);
        let ops = int_field(&line, "ops").unwrap_or(-1);
        let errors = int_field(&line, "errors").unwrap_or(-1);
        assert!(ops > 0, "{args:?}: no operation completed: {line}");
        assert_eq!(errors, 0, "{args:?}: errors: {line}");
        assert!(
            line.contains("\"server_cpu_us_per_op\": ") && !line.contains("\"server_cpu_us_per_op\": null"),
            "{line}"
        );
    }
}
