//! The whole `rpc.clusapi` smbtorture suite against a demo, checked against `tests/knownfail`
//! (the ratchet: a new failure fails, and so does a listed test that now passes).

use std::time::Duration;

use tests::*;

#[test]
fn smbtorture_rpc_clusapi_matches_knownfail() {
    if !require_tool("smbtorture") {
        return;
    }
    let mut demo = Demo::start(&[]);
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
    check_against_knownfail(&run, "rpc.clusapi");
    demo.assert_alive();
}
