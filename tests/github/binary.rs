//! The `llm-bench comment` process: exit codes, and the token in no output.

use super::command::results_dir;
use super::*;

/// Runs `llm-bench comment DIR ARGS…` in a fake Actions environment pointing at `api`.
async fn comment_binary(api: String, tmp: &Path, args: &[&str]) -> std::process::Output {
    let tmp = tmp.to_path_buf();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let event = tmp.join("event.json");
        std::fs::write(
            &event,
            serde_json::json!({"pull_request": {"number": PR}}).to_string(),
        )
        .unwrap();
        let mut cmd = common::bin();
        // Nothing from a real CI job may leak in.
        for (name, _) in std::env::vars() {
            if name.starts_with("GITHUB_") || name.starts_with("RUNNER_") {
                cmd.env_remove(name);
            }
        }
        cmd.arg("comment")
            .arg(tmp.join("results"))
            .args(&args)
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_TOKEN", TOKEN)
            .env("GITHUB_REPOSITORY", "acme/serving")
            .env("GITHUB_EVENT_NAME", "pull_request")
            .env("GITHUB_EVENT_PATH", &event)
            .env("GITHUB_API_URL", &api)
            .env("GITHUB_STEP_SUMMARY", tmp.join("summary.md"))
            .env("GITHUB_OUTPUT", tmp.join("output"))
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// Every file under `dir`, as text.
pub(super) fn all_files(dir: &Path) -> Vec<(std::path::PathBuf, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(all_files(&path));
        } else {
            out.push((
                path.clone(),
                String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned(),
            ));
        }
    }
    out
}

fn assert_no_token(o: &std::process::Output, tmp: &Path, case: &str) {
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        !stdout.contains(TOKEN),
        "{case}: token in stdout:\n{stdout}"
    );
    assert!(
        !stderr.contains(TOKEN),
        "{case}: token in stderr:\n{stderr}"
    );
    let files = all_files(tmp);
    assert!(
        files.len() >= 4,
        "{case}: summary, outputs and results were written: {files:?}"
    );
    for (path, text) in files {
        assert!(!text.contains(TOKEN), "{case}: token in {}", path.display());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_never_appears_in_any_output() {
    let forbidden = ResponseTemplate::new(403)
        .set_body_json(serde_json::json!({"message": "Resource not accessible by integration"}));
    let unavailable = ResponseTemplate::new(502)
        .insert_header("retry-after", "0")
        .set_body_string("<html>502 Bad Gateway</html>");
    let unauthorized =
        ResponseTemplate::new(401).set_body_json(serde_json::json!({"message": "Bad credentials"}));
    // (case, answer to every POST or None for a working API, --strict, exit code, stderr must contain)
    let cases: [(&str, Option<ResponseTemplate>, bool, i32, &str); 5] = [
        ("created", None, false, 0, "pull-request comment created"),
        (
            "403",
            Some(forbidden.clone()),
            false,
            0,
            "pull-requests: write",
        ),
        (
            "403 strict",
            Some(forbidden),
            true,
            4,
            "pull-requests: write",
        ),
        ("502", Some(unavailable), false, 0, "after 4 attempt(s)"),
        (
            "401",
            Some(unauthorized),
            false,
            0,
            "GitHub rejected the token",
        ),
    ];
    for (case, post_answer, strict, code, expected) in cases {
        let server = MockServer::start().await;
        if let Some(answer) = post_answer {
            Mock::given(method("POST"))
                .respond_with(answer)
                .with_priority(1)
                .mount(&server)
                .await;
        }
        FakeGithub::default().mount(&server).await;
        let tmp = tempfile::tempdir().unwrap();
        results_dir(tmp.path(), "## comparison\n\n⚪ all within noise\n", None);
        let args: &[&str] = if strict {
            &["--strict", "--key", "h100"]
        } else {
            &["--key", "h100"]
        };
        let o = comment_binary(server.uri(), tmp.path(), args).await;
        let stdout = String::from_utf8_lossy(&o.stdout);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(
            o.status.code(),
            Some(code),
            "{case}\nstdout: {stdout}\nstderr: {stderr}"
        );
        assert!(
            format!("{stdout}{stderr}").contains(expected),
            "{case}: `{expected}` missing\nstdout: {stdout}\nstderr: {stderr}"
        );
        if code == 0 && case != "created" {
            assert!(
                stdout.contains("::warning title=llm-bench%3A comment not posted::"),
                "{case}: {stdout}"
            );
        }
        assert_no_token(&o, tmp.path(), case);
        // Each request carried the token, and only in the Authorization header.
        for r in server.received_requests().await.unwrap() {
            assert_eq!(
                r.headers.get("authorization").unwrap().to_str().unwrap(),
                format!("Bearer {TOKEN}")
            );
            assert!(
                !String::from_utf8_lossy(&r.body).contains(TOKEN),
                "{case}: token in a request body"
            );
            assert!(!r.url.as_str().contains(TOKEN));
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_pull_request_means_summary_and_outputs_only() {
    let server = MockServer::start().await;
    let tmp = tempfile::tempdir().unwrap();
    results_dir(tmp.path(), "## nightly\n", None);
    // A push event: no pull request in it, no --pr.
    let o = tokio::task::spawn_blocking({
        let tmp = tmp.path().to_path_buf();
        let api = server.uri();
        move || {
            let event = tmp.join("push.json");
            std::fs::write(&event, r#"{"ref":"refs/heads/main"}"#).unwrap();
            common::bin()
                .args(["comment"])
                .arg(tmp.join("results"))
                .env("GITHUB_ACTIONS", "true")
                .env("GITHUB_TOKEN", TOKEN)
                .env("GITHUB_REPOSITORY", "acme/serving")
                .env("GITHUB_EVENT_NAME", "push")
                .env("GITHUB_EVENT_PATH", &event)
                .env("GITHUB_API_URL", api)
                .env("GITHUB_STEP_SUMMARY", tmp.join("summary.md"))
                .env("GITHUB_OUTPUT", tmp.join("output"))
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains("::notice title=llm-bench%3A comment not posted::"),
        "{stdout}"
    );
    assert!(stdout.contains("event `push`"), "{stdout}");
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "nothing was sent to GitHub"
    );
    assert!(std::fs::read_to_string(tmp.path().join("summary.md"))
        .unwrap()
        .contains("## nightly"));
    assert!(std::fs::read_to_string(tmp.path().join("output"))
        .unwrap()
        .contains("verdict=none\n"));
}
