//! The whole run: kinds and flags reach `summary.json`.

use super::*;

// ---- the whole run: kinds and flags reach summary.json ----

#[test]
fn flags_and_new_kinds_are_counted_in_the_summary() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut long = vec![Step::Write(SSE_HEAD.to_vec())];
    long.push(Step::Tokens {
        count: ITL_EXACT_CAP + 100,
        per_write: 8,
    });
    let mut script = vec![long];
    script.push(vec![Step::Write(response(
        "308 Permanent Redirect",
        "Location: http://elsewhere/v1\r\n",
        "",
    ))]);
    let server = runtime.block_on(Server::start(script));
    let tmp = tempfile::tempdir().unwrap();
    let out = common::out_dir(&tmp);
    let o = common::run_against(
        &server.url(),
        &out,
        &[
            "--requests",
            "2",
            "--concurrency",
            "1",
            "--max-tokens",
            "16",
        ],
    );
    assert!(out.join("summary.json").exists(), "{}", common::stderr(&o));
    let summary = common::validated_summary(&out);
    let m = &summary["scenarios"][0]["metrics"];
    let outcomes: Vec<_> = common::rows(&out)
        .iter()
        .map(|r| (r.index, r.error_kind, r.error.clone(), r.chunks))
        .collect();
    assert_eq!(m["errors"]["redirect"], 1, "{outcomes:?}");
    assert_eq!(m["flags"]["itl_folded"], 1, "{m:#}");
    assert_eq!(m["flags"]["over_max_tokens"], 1, "{m:#}");
    // Every gap reaches the summary, the folded ones included.
    assert_eq!(m["itl_ms"]["count"], (ITL_EXACT_CAP + 99) as u64, "{m:#}");
    let rows = common::rows(&out);
    assert_eq!(
        rows.iter().map(|r| r.itl_ms.len()).max(),
        Some(ITL_EXACT_CAP)
    );
}
