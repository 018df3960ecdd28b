//! The action's first steps: the fork guard (before anything is downloaded or
//! sent), boolean inputs and GitHub Enterprise Server.

use super::*;

fn event(dir: &Path, head: Option<&str>, base: &str) -> PathBuf {
    let path = dir.join("event.json");
    let head_repo = match head {
        Some(name) => serde_json::json!({"full_name": name}),
        None => serde_json::Value::Null,
    };
    std::fs::write(
        &path,
        serde_json::json!({"number": 3, "pull_request": {
            "number": 3,
            "head": {"sha": "1111111111111111111111111111111111111111", "repo": head_repo},
            "base": {"sha": "2222222222222222222222222222222222222222", "repo": {"full_name": base}},
        }})
        .to_string(),
    )
    .unwrap();
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn pull_requests_from_forks_are_refused_before_anything_else() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    // (event, head repository, allow-fork-pull-requests, exit code)
    let cases: [(&str, Option<&str>, &str, i32); 7] = [
        ("pull_request", Some("acme/serving"), "false", 0),
        ("pull_request", Some("ACME/Serving"), "false", 0),
        ("pull_request", Some("mallory/serving"), "false", 1),
        ("pull_request_target", Some("mallory/serving"), "false", 1),
        ("pull_request", None, "false", 1),
        ("pull_request", Some("mallory/serving"), "yes", 0),
        ("push", Some("mallory/serving"), "false", 0),
    ];
    for (name, head, allow, code) in cases {
        let event = event(tmp.path(), head, "acme/serving");
        let output = tmp.path().join("guard-output");
        let _ = std::fs::remove_file(&output);
        let o = action_step(
            &repo,
            "guard",
            vec![
                ("GITHUB_EVENT_NAME", name.into()),
                ("GITHUB_EVENT_PATH", event.display().to_string()),
                ("GITHUB_OUTPUT", output.display().to_string()),
                ("LB_ALLOW_FORKS", allow.into()),
            ],
        )
        .await;
        let case = format!("{name} from {head:?}, allow {allow}");
        assert_eq!(o.status.code(), Some(code), "{case}\n{}", show(&o));
        if code == 1 {
            let err = stderr(&o);
            assert!(
                err.contains("::error title=llm-bench::refusing to run on a")
                    && err.contains("securing-a-self-hosted-gpu-runner"),
                "{case}: {err}"
            );
            assert!(!output.exists(), "{case}: nothing after the refusal");
        } else {
            assert_eq!(read_outputs(&output)["upload"], "true", "{case}");
        }
        if allow == "yes" {
            assert!(stderr(&o).contains(
                "::warning title=llm-bench::running on a pull request from mallory/serving"
            ));
        }
    }

    // An event that cannot be read is not waved through.
    let o = action_step(
        &repo,
        "guard",
        vec![
            ("GITHUB_EVENT_NAME", "pull_request".into()),
            (
                "GITHUB_EVENT_PATH",
                tmp.path().join("missing.json").display().to_string(),
            ),
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
}

#[tokio::test(flavor = "multi_thread")]
async fn boolean_inputs_and_github_enterprise_server() {
    let tmp = tempfile::tempdir().unwrap();
    // (upload-artifact, GITHUB_SERVER_URL, upload output, warns about GHES)
    for (input, server, upload, ghes) in [
        ("yes", "https://github.com", "true", false),
        ("On", "https://github.com", "true", false),
        ("0", "https://github.com", "false", false),
        ("true", "https://acme.ghe.com", "true", false),
        ("true", "https://github.acme.internal/", "false", true),
        ("false", "https://github.acme.internal", "false", false),
    ] {
        let output = tmp.path().join(format!("out-{input}-{upload}"));
        let o = action_step(
            &scratch_repo(tmp.path()),
            "guard",
            vec![
                ("GITHUB_EVENT_NAME", "push".into()),
                ("GITHUB_SERVER_URL", server.into()),
                ("GITHUB_OUTPUT", output.display().to_string()),
                ("LB_UPLOAD_ARTIFACT", input.into()),
            ],
        )
        .await;
        assert_eq!(o.status.code(), Some(0), "{}", show(&o));
        assert_eq!(read_outputs(&output)["upload"], upload, "{input} {server}");
        assert_eq!(
            stderr(&o).contains("actions/upload-artifact@v3"),
            ghes,
            "{input} {server}: {}",
            show(&o)
        );
    }
    let o = action_step(
        &scratch_repo(tmp.path()),
        "guard",
        vec![("LB_UPLOAD_ARTIFACT", "maybe".into())],
    )
    .await;
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("input upload-artifact must be true or false (got 'maybe')"));
}
