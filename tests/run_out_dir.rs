//! `run --out` into a folder an earlier run filled is refused (exit 2) before any
//! request, and the folder is left as it was: its `comparison.*` and candidate
//! baselines must not pass for the new run's.

mod common;

#[test]
fn a_non_empty_out_folder_is_refused_and_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    for (name, text) in [
        ("comparison.md", "✅ from last week"),
        ("comparison.json", "{}"),
        ("chat.baseline.json.new", "{}"),
    ] {
        std::fs::write(out.join(name), text).unwrap();
    }
    // Nothing listens here: a request would fail differently (connection refused).
    let o = common::run_against("http://127.0.0.1:9/v1", &out, &["--requests", "1"]);
    let stderr = common::stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("is not empty") && stderr.contains("Pass a new folder"),
        "{stderr}"
    );
    let mut left: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["chat.baseline.json.new", "comparison.json", "comparison.md"]
    );
    assert_eq!(
        std::fs::read_to_string(out.join("comparison.md")).unwrap(),
        "✅ from last week"
    );

    // An empty folder is fine; so is a new one.
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let o = common::run_against("http://127.0.0.1:9/v1", &empty, &["--requests", "1"]);
    assert_ne!(o.status.code(), Some(2), "{}", common::stderr(&o));
    assert!(empty.join("run.json").is_file(), "{}", common::stderr(&o));
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let o = common::run_against("http://127.0.0.1:9/v1", &file, &["--requests", "1"]);
    assert_eq!(o.status.code(), Some(2), "{}", common::stderr(&o));
    assert!(
        common::stderr(&o).contains("is a file"),
        "{}",
        common::stderr(&o)
    );
}
