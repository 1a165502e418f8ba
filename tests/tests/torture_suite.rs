//! The whole `rpc.clusapi` smbtorture suite against a demo, checked against `tests/knownfail`
//! (the ratchet: a new failure fails, and so does a listed test that now passes), once for the
//! default profile (Windows Server 2022: smbtorture runs its group set tests) and once for
//! `--windows-version 2012r2` (it skips them).

use std::time::Duration;

use tests::*;

fn run_suite(profile: &str) {
    if !require_tool("smbtorture") {
        return;
    }
    let mut demo = Demo::start(&["--windows-version", profile]);
    let run = smbtorture_timeout(&demo.binding("seal"), ALICE, &["rpc.clusapi"], &[], Duration::from_secs(900));
    assert!(!run.timed_out, "smbtorture rpc.clusapi did not finish in 15 minutes:\n{}", run.output);
    assert!(!run.outcomes.is_empty(), "smbtorture reported no test at all:\n$ {}\n{}", run.command, run.output);
    if let Some(n) = run.announced {
        assert_eq!(
            run.outcomes.len(),
            n,
            "smbtorture announced {n} tests but reported {}:\n{}",
            run.outcomes.len(),
            run.output
        );
    }
    // the tests the daemon already passes must be among them (a sanity check of the parse)
    for t in ["cluster.OpenCluster", "cluster.GetClusterName", "cluster.GetClusterVersion2"] {
        assert!(run.outcomes.contains_key(t), "{t} missing from the run:\n{}", run.output);
    }
    // smbtorture runs its group set tests from OS major 10 on, and skips them below
    let groupset = run.outcome("groupset.OpenGroupSet").unwrap_or_else(|| panic!("no groupset.OpenGroupSet"));
    assert_eq!(groupset.is_skip(), profile == "2012r2", "groupset.OpenGroupSet on {profile}: {groupset:?}");
    check_against_knownfail_for(&run, "rpc.clusapi", profile);
    demo.assert_alive();
}

#[test]
fn smbtorture_rpc_clusapi_matches_knownfail() {
    run_suite(DEFAULT_PROFILE);
}

#[test]
fn smbtorture_rpc_clusapi_matches_knownfail_2012r2() {
    run_suite("2012r2");
}
