//! Installing and starting clusapid on a node: `clusapid check` run for real (a port taken by
//! another process is a FAIL naming it; ports held by a running clusapid are OK), the systemd
//! unit through `systemd-analyze verify`, the CTDB event script with a stand-in systemctl, and
//! the Debian package built by packaging/build-deb.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use tests::{clusapid_bin, output_text, scratch_dir, workspace_root, ALICE_PASSWORD, ALICE_USER};

/// A port nothing listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Writes a simulated-backend configuration on 127.0.0.1 with an accounts file holding alice.
fn node_config(dir: &Path, epm_port: u16, port: u16) -> PathBuf {
    let accounts = dir.join("accounts");
    let mut add = Command::new(clusapid_bin())
        .args(["user", "add", "--accounts"])
        .arg(&accounts)
        .arg(ALICE_USER)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(add.stdin.take().unwrap(), "{ALICE_PASSWORD}").unwrap();
    assert!(add.wait().unwrap().success());
    let cfg = dir.join("clusapid.toml");
    std::fs::write(
        &cfg,
        format!(
            "cluster_name = \"DEPLOYTEST\"\nlisten = [\"127.0.0.1\"]\nepm_port = {epm_port}\nport = {port}\n\
             backend = \"simulated\"\naccounts = \"{}\"\nadmin_socket = \"\"\nsmb_conf = \"{}\"\n",
            accounts.display(),
            dir.join("smb.conf").display()
        ),
    )
    .unwrap();
    cfg
}

fn check(cfg: &Path, extra: &[&str]) -> Output {
    Command::new(clusapid_bin()).arg("check").arg("--config").arg(cfg).args(extra).output().unwrap()
}

#[test]
fn check_names_the_process_holding_a_port_and_passes_once_it_is_free() {
    let dir = scratch_dir();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let epm = taken.local_addr().unwrap().port();
    let port = free_port();
    let cfg = node_config(dir.path(), epm, port);

    let out = check(&cfg, &[]);
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "a taken port is a FAIL: {text}");
    let me = std::env::current_exe().unwrap();
    let me = me.file_name().unwrap().to_string_lossy();
    let line = text.lines().find(|l| l.starts_with(&format!("FAIL  port {epm} (endpoint mapper)"))).expect(&text);
    assert!(line.contains(&format!("held by {me} (pid {}", std::process::id())), "names this test process: {text}");
    assert!(text.contains("fix: stop that program") && text.contains("epm_port = ..."), "{text}");
    assert!(text.contains(&format!("OK    port {port} (clusapi): free on 127.0.0.1")), "{text}");
    assert!(text.contains("OK    accounts: ") && text.contains("1 full and 0 read-only"), "{text}");
    assert!(text.contains("Result: FAIL ("), "{text}");

    drop(taken);
    let out = check(&cfg, &[]);
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains(&format!("OK    port {epm} (endpoint mapper): free on 127.0.0.1")), "{text}");
    assert!(!text.lines().any(|l| l.starts_with("FAIL")), "{text}");

    // --running: the ports must be held, by clusapid
    let out = check(&cfg, &["--running"]);
    assert_eq!(out.status.code(), Some(1), "nothing runs yet: {}", output_text(&out));
    let mut serve = Command::new(clusapid_bin())
        .args(["serve", "--config"])
        .arg(&cfg)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let text = loop {
        let out = check(&cfg, &["--running"]);
        let text = output_text(&out);
        if out.status.success() {
            break text;
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "clusapid serve does not hold its ports: {text}");
        std::thread::sleep(Duration::from_millis(100));
    };
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(serve.id() as libc::pid_t, libc::SIGTERM) };
    let _ = serve.wait();
    let held = format!("OK    port {epm} (endpoint mapper): held by clusapid (pid {})", serve.id());
    assert!(text.contains(&held), "{text}");
}

/// The unit and the binary laid out under a scratch root with the machine's own systemd units
/// (sysinit.target and the rest a unit is checked against), so that `systemd-analyze verify
/// --root` checks the unit's ExecStart against the built binary without installing anything.
fn verify_root(dir: &Path, unit_text: &str) -> Output {
    let root = dir.join("root");
    let units = root.join("usr/lib/systemd/system");
    std::fs::create_dir_all(root.join("usr/sbin")).unwrap();
    std::fs::create_dir_all(root.join("usr/lib/systemd")).unwrap();
    if !units.exists() {
        let cp = Command::new("cp").arg("-a").arg("/usr/lib/systemd/system").arg(&units).status().unwrap();
        assert!(cp.success());
        std::fs::copy(clusapid_bin(), root.join("usr/sbin/clusapid")).unwrap();
    }
    let unit = units.join("clusapid.service");
    std::fs::write(&unit, unit_text).unwrap();
    Command::new("systemd-analyze").arg("verify").arg(format!("--root={}", root.display())).arg(&unit).output().unwrap()
}

#[test]
fn the_unit_passes_systemd_analyze_verify() {
    if !tests::require_tool("systemd-analyze") {
        return;
    }
    if !Path::new("/usr/lib/systemd/system/sysinit.target").exists() {
        tests::skip_or_fail!("no systemd units in /usr/lib/systemd/system to verify against (Debian: systemd)");
    }
    let unit = std::fs::read_to_string(workspace_root().join("packaging/clusapid.service")).unwrap();
    for (key, value) in [
        ("Type", "notify"),
        ("ExecStart", "/usr/sbin/clusapid serve --config /etc/clusapid/clusapid.toml"),
        ("Before", "ctdb.service"),
    ] {
        assert!(unit.lines().any(|l| l == format!("{key}={value}")), "{key}={value} in the unit");
    }
    let dir = scratch_dir();
    let out = verify_root(dir.path(), &unit);
    assert!(out.status.success() && out.stderr.is_empty(), "systemd-analyze verify: {}", output_text(&out));
    // the check is not blind: a misspelt key and a missing binary are reported
    let out = verify_root(dir.path(), &unit.replace("NoNewPrivileges=", "NoNewPrivilege="));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Unknown key"), "{}", output_text(&out));
    std::fs::remove_file(dir.path().join("root/usr/sbin/clusapid")).unwrap();
    let out = verify_root(dir.path(), &unit);
    assert!(!out.status.success(), "{}", output_text(&out));
}

/// Runs the event script for `event` with a stand-in systemctl whose unit state is the file
/// `state` ("active" or not) and whose `start`/`restart` write `after_start` into it (or fail
/// while the file `fail-start` exists).
fn event(dir: &Path, event: &str, port: u16, after_start: &str, env: &[(&str, &str)]) -> Output {
    let systemctl = dir.join("systemctl");
    let state = dir.join("state");
    let calls = dir.join("calls");
    std::fs::write(
        &systemctl,
        format!(
            "#!/bin/sh\necho \"$*\" >>{calls}\ncase \"$1\" in\nis-active) [ \"$(cat {state})\" = active ] ;;\n\
             start|restart) [ -e {fail} ] && exit 1; echo {after_start} >{state} ;;\nesac\n",
            calls = calls.display(),
            state = state.display(),
            fail = dir.join("fail-start").display()
        ),
    )
    .unwrap();
    let _ = Command::new("chmod").arg("755").arg(&systemctl).status();
    let mut cmd = Command::new(workspace_root().join("packaging/46.clusapid.script"));
    cmd.arg(event)
        .env("CTDB_BASE", dir)
        .env("CTDB_CLUSAPID_SYSTEMCTL", &systemctl)
        .env("CTDB_CLUSAPID_PORT", port.to_string())
        .env("CTDB_CLUSAPID_WAIT", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn the_ctdb_event_script_starts_clusapid_before_samba_and_fails_monitor_without_it() {
    if !tests::require_tool("ss") {
        return;
    }
    let dir = scratch_dir();
    let d = dir.path();
    let calls = || std::fs::read_to_string(d.join("calls")).unwrap_or_default();
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();

    // startup: not running → started; returns once the port is held
    std::fs::write(d.join("state"), "inactive").unwrap();
    let out = event(d, "startup", port, "active", &[]);
    assert!(out.status.success(), "{}", output_text(&out));
    assert!(calls().contains("start clusapid"), "{}", calls());
    // startup: running already → nothing started
    std::fs::remove_file(d.join("calls")).unwrap();
    let out = event(d, "startup", port, "active", &[]);
    assert!(out.status.success() && !calls().contains("start"), "{}\n{}", output_text(&out), calls());
    // startup: the port never gets held → the event fails, naming the port
    let out = event(d, "startup", free_port(), "active", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    assert!(output_text(&out).contains("nothing listens on TCP"), "{}", output_text(&out));
    // startup: cannot start → fails
    std::fs::write(d.join("state"), "inactive").unwrap();
    std::fs::write(d.join("fail-start"), "").unwrap();
    let out = event(d, "startup", port, "active", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    assert!(output_text(&out).contains("cannot start clusapid"), "{}", output_text(&out));
    std::fs::remove_file(d.join("fail-start")).unwrap();

    // monitor: running → OK; not running and a restart does not help → UNHEALTHY
    std::fs::write(d.join("state"), "active").unwrap();
    assert!(event(d, "monitor", port, "active", &[]).status.success());
    std::fs::write(d.join("state"), "inactive").unwrap();
    let out = event(d, "monitor", port, "inactive", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    assert!(calls().contains("restart clusapid"));
    // ... unless a restart brings it back, or monitoring is off
    std::fs::write(d.join("state"), "inactive").unwrap();
    assert!(event(d, "monitor", port, "active", &[]).status.success());
    std::fs::write(d.join("state"), "inactive").unwrap();
    assert!(event(d, "monitor", port, "inactive", &[("CTDB_CLUSAPID_MONITOR", "no")]).status.success());
    // an options file is read
    std::fs::create_dir_all(d.join("events/legacy")).unwrap();
    std::fs::write(d.join("events/legacy/46.clusapid.options"), "CTDB_CLUSAPID_MONITOR=no\n").unwrap();
    assert!(event(d, "monitor", port, "inactive", &[]).status.success());
    // other events are no-ops
    assert!(event(d, "takeip", port, "inactive", &[]).status.success());
    drop(held);
}

#[test]
fn the_debian_package_holds_the_program_the_unit_the_event_script_and_the_config() {
    if !tests::require_tool("dpkg-deb") {
        return;
    }
    let dir = scratch_dir();
    let out = Command::new(workspace_root().join("packaging/build-deb"))
        .arg(dir.path())
        .env("CLUSAPID_BIN", clusapid_bin())
        .output()
        .unwrap();
    assert!(out.status.success(), "build-deb: {}", output_text(&out));
    let deb = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(deb.starts_with(dir.path()) && deb.exists(), "{deb:?}");
    let field = |f: &str| {
        let o = Command::new("dpkg-deb").arg("-f").arg(&deb).arg(f).output().unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    assert_eq!(field("Package"), "clusapid");
    assert!(field("Depends").starts_with("libc6 (>= "), "{}", field("Depends"));
    let root = dir.path().join("x");
    assert!(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root).status().unwrap().success());
    for (path, mode) in [
        ("usr/sbin/clusapid", 0o755),
        ("lib/systemd/system/clusapid.service", 0o644),
        ("etc/clusapid/clusapid.toml", 0o644),
        ("usr/share/ctdb/events/legacy/46.clusapid.script", 0o755),
        ("usr/share/doc/clusapid/README.md", 0o644),
        ("var/lib/clusapid", 0o700),
    ] {
        use std::os::unix::fs::PermissionsExt;
        let m = std::fs::metadata(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(m.permissions().mode() & 0o777, mode, "{path}");
    }
    let control = dir.path().join("control");
    assert!(Command::new("dpkg-deb").arg("-e").arg(&deb).arg(&control).status().unwrap().success());
    assert_eq!(std::fs::read_to_string(control.join("conffiles")).unwrap().trim(), "/etc/clusapid/clusapid.toml");
    // the packaged program runs, and reads the packaged configuration
    let out = Command::new(root.join("usr/sbin/clusapid"))
        .args(["check", "--config"])
        .arg(root.join("etc/clusapid/clusapid.toml"))
        .output()
        .unwrap();
    let text = output_text(&out);
    assert!(text.contains("OK    configuration: ") && text.contains("backend ctdb, listen 0.0.0.0"), "{text}");
}
