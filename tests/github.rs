//! The GitHub module against a local fake of the GitHub REST API (wiremock on loopback):
//! the sticky comment, paging, keys, truncation, retries, permission errors, GitHub
//! Enterprise Server's base URL, and that the token never reaches any output.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use llm_bench::cli::CommentArgs;
use llm_bench::config::Secret;
use llm_bench::github::comment::{marker, CommentClient, Posted, RetryPolicy};
use llm_bench::github::{run_comment, CommentOptions, GithubEnv, GithubError, Repo};
use wiremock::matchers::{any, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[path = "common/fake_github.rs"]
mod fake_github;
use fake_github::{FakeGithub, PR, TOKEN};

/// Fast retries: the tests check behaviour, not GitHub's patience.
fn fast() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_secs(5),
        secondary_rate_limit_delay: Duration::from_millis(50),
    }
}

fn repo() -> Repo {
    Repo::parse("acme/serving").unwrap()
}

fn client(server: &MockServer, prefix: &str) -> CommentClient {
    CommentClient::new(
        &format!("{}{prefix}", server.uri()),
        &Secret::new(TOKEN),
        repo(),
        fast(),
    )
    .unwrap()
}

fn body(key: &str, text: &str) -> String {
    format!("{}\n{text}", marker(key))
}

#[tokio::test]
async fn creates_the_comment_when_absent() {
    let server = MockServer::start().await;
    let fake = FakeGithub::with_comments("", ["LGTM".to_string()]);
    fake.mount(&server).await;
    let posted = client(&server, "")
        .upsert(PR, "default", &body("default", "report v1"))
        .await
        .unwrap();
    assert!(
        matches!(posted, Posted::Created { id: 1001, .. }),
        "{posted:?}"
    );
    assert!(posted.url().ends_with("#issuecomment-1001"));
    let comments = fake.comments();
    assert_eq!(comments.len(), 2);
    assert_eq!(comments[1].1, body("default", "report v1"));
    assert_eq!(fake.bad_auth(), 0, "every request carried the token");
}

#[tokio::test]
async fn updates_the_comment_found_on_page_three() {
    let server = MockServer::start().await;
    // 230 other comments, then ours: it is on page 3 of 100.
    let mut bodies: Vec<String> = (0..230).map(|i| format!("comment {i}")).collect();
    bodies.push(body("default", "old report"));
    bodies.extend((0..5).map(|i| format!("later {i}")));
    let fake = FakeGithub::with_comments("", bodies);
    fake.mount(&server).await;
    let posted = client(&server, "")
        .upsert(PR, "default", &body("default", "new report"))
        .await
        .unwrap();
    assert!(
        matches!(posted, Posted::Updated { id: 1230, .. }),
        "{posted:?}"
    );
    let comments = fake.comments();
    assert_eq!(comments.len(), 236, "updated in place, nothing created");
    assert_eq!(comments[230].1, body("default", "new report"));
    let requests = fake.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("GET") && r.contains("page=3")),
        "{requests:?}"
    );
    assert!(
        requests.iter().all(|r| !r.starts_with("POST")),
        "{requests:?}"
    );
    assert!(requests
        .iter()
        .any(|r| r.starts_with("PATCH") && r.ends_with("/issues/comments/1230")));

    // The same body again: nothing to write.
    let again = client(&server, "")
        .upsert(PR, "default", &body("default", "new report"))
        .await
        .unwrap();
    assert!(
        matches!(again, Posted::Unchanged { id: 1230, .. }),
        "{again:?}"
    );
}

#[tokio::test]
async fn two_keys_keep_two_comments() {
    let server = MockServer::start().await;
    let fake = FakeGithub::default();
    fake.mount(&server).await;
    let c = client(&server, "");
    c.upsert(PR, "vllm-h100", &body("vllm-h100", "vllm 1"))
        .await
        .unwrap();
    c.upsert(PR, "sglang-h100", &body("sglang-h100", "sglang 1"))
        .await
        .unwrap();
    let posted = c
        .upsert(PR, "vllm-h100", &body("vllm-h100", "vllm 2"))
        .await
        .unwrap();
    assert!(matches!(posted, Posted::Updated { .. }), "{posted:?}");
    // A key that is a prefix of another finds only its own comment.
    c.upsert(PR, "vllm", &body("vllm", "plain vllm"))
        .await
        .unwrap();
    let bodies: Vec<String> = fake.comments().into_iter().map(|(_, b)| b).collect();
    assert_eq!(
        bodies,
        [
            body("vllm-h100", "vllm 2"),
            body("sglang-h100", "sglang 1"),
            body("vllm", "plain vllm")
        ]
    );
}

#[tokio::test]
async fn retries_a_502_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(502).set_body_string("<html><h1>502 Bad Gateway</h1></html>"),
        )
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    let fake = FakeGithub::default();
    fake.mount(&server).await;
    let posted = client(&server, "")
        .upsert(PR, "default", &body("default", "r"))
        .await
        .unwrap();
    assert!(matches!(posted, Posted::Created { .. }));
    assert_eq!(fake.comments().len(), 1, "one comment despite the retries");
}

#[tokio::test]
async fn waits_for_retry_after_on_a_secondary_rate_limit() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("retry-after", "1")
                .set_body_json(serde_json::json!({"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let fake = FakeGithub::default();
    fake.mount(&server).await;
    let start = Instant::now();
    let posted = client(&server, "")
        .upsert(PR, "default", &body("default", "r"))
        .await
        .unwrap();
    assert!(matches!(posted, Posted::Created { .. }));
    assert!(
        start.elapsed() >= Duration::from_millis(950),
        "waited {:?}, Retry-After said 1 s",
        start.elapsed()
    );
    assert_eq!(fake.comments().len(), 1);
}

#[tokio::test]
async fn gives_up_after_a_bounded_number_of_5xx() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(503)
                .set_body_json(serde_json::json!({"message": "Service Unavailable"})),
        )
        .mount(&server)
        .await;
    let err = client(&server, "")
        .upsert(PR, "default", &body("default", "r"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, GithubError::GaveUp { attempts: 3, .. }),
        "{err:?}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    assert!(err.to_string().contains("HTTP 503"), "{err}");
}

#[tokio::test]
async fn a_403_is_a_clear_final_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(403).set_body_json(
            serde_json::json!({"message": "Resource not accessible by integration"}),
        ))
        .with_priority(1)
        .mount(&server)
        .await;
    FakeGithub::default().mount(&server).await;
    let err = client(&server, "")
        .upsert(PR, "default", &body("default", "r"))
        .await
        .unwrap_err();
    assert!(matches!(err, GithubError::Forbidden { .. }), "{err:?}");
    let text = err.to_string();
    for needle in [
        "HTTP 403",
        "Resource not accessible by integration",
        "pull-requests: write",
        "fork",
        "pull_request_target",
    ] {
        assert!(text.contains(needle), "`{needle}` missing from: {text}");
    }
    let posts = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .count();
    assert_eq!(posts, 1, "a 403 without a rate limit is not retried");
}

#[tokio::test]
async fn github_enterprise_server_base_url() {
    let server = MockServer::start().await;
    let fake = FakeGithub::with_comments("/api/v3", [body("default", "old")]);
    fake.mount(&server).await;
    let posted = client(&server, "/api/v3")
        .upsert(PR, "default", &body("default", "new"))
        .await
        .unwrap();
    assert!(
        matches!(posted, Posted::Updated { id: 1000, .. }),
        "{posted:?}"
    );
    assert!(
        fake.requests()
            .iter()
            .all(|r| r.contains("/api/v3/repos/acme/serving/") || r.ends_with("/api/v3/user")),
        "{:?}",
        fake.requests()
    );
}

// ---- the whole command: step summary, outputs, truncation -------------------------------

fn results_dir(
    tmp: &Path,
    markdown: &str,
    comparison: Option<serde_json::Value>,
) -> std::path::PathBuf {
    let dir = tmp.join("results");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("report.md"), "## report.md: not this one\n").unwrap();
    std::fs::write(dir.join("comparison.md"), markdown).unwrap();
    if let Some(json) = comparison {
        std::fs::write(
            dir.join("comparison.json"),
            serde_json::to_string_pretty(&json).unwrap(),
        )
        .unwrap();
    }
    dir
}

fn env_for(server: &MockServer, tmp: &Path) -> GithubEnv {
    let event = tmp.join("event.json");
    std::fs::write(
        &event,
        serde_json::json!({"pull_request": {"number": PR}, "number": PR}).to_string(),
    )
    .unwrap();
    let vars: HashMap<&str, String> = HashMap::from([
        ("GITHUB_ACTIONS", "true".to_string()),
        ("GITHUB_TOKEN", TOKEN.to_string()),
        ("GITHUB_REPOSITORY", "acme/serving".to_string()),
        ("GITHUB_EVENT_NAME", "pull_request".to_string()),
        ("GITHUB_EVENT_PATH", event.display().to_string()),
        ("GITHUB_API_URL", server.uri()),
        ("GITHUB_SERVER_URL", "https://github.com".to_string()),
        ("GITHUB_RUN_ID", "99".to_string()),
        (
            "GITHUB_STEP_SUMMARY",
            tmp.join("summary.md").display().to_string(),
        ),
        ("GITHUB_OUTPUT", tmp.join("output").display().to_string()),
    ]);
    GithubEnv::from_lookup(&move |k| vars.get(k).cloned())
}

fn options(dir: &Path, strict: bool) -> CommentOptions {
    let args = CommentArgs {
        results_dir: dir.to_path_buf(),
        key: "default".into(),
        pr: None,
        strict,
        file: None,
        notes: vec!["This pull request changes `baselines/`.".into()],
        artifact_url: None,
        dry_run: false,
        author: None,
        path_aliases: vec![],
        run_failed: None,
        error: None,
        bless_workflow: None,
    };
    CommentOptions::try_from(&args).unwrap()
}

/// A comparison far over 65,536 characters: per-scenario details go first, the note
/// says so and points at the run's artifacts, and the job summary keeps it all.
#[tokio::test]
async fn long_reports_are_shortened_to_the_limit() {
    let server = MockServer::start().await;
    let fake = FakeGithub::default();
    fake.mount(&server).await;
    let tmp = tempfile::tempdir().unwrap();
    let mut md = String::from("## llm-bench comparison\n\n❌ 1 regression\n\n");
    for i in 0..12 {
        md.push_str(&format!(
            "<details><summary><b>scenario-{i}</b></summary>\n\n{}\n\n</details>\n\n",
            "| x | y |\n".repeat(1000)
        ));
    }
    let dir = results_dir(tmp.path(), &md, None);
    let code = run_comment(&options(&dir, false), &env_for(&server, tmp.path()), fast())
        .await
        .unwrap();
    assert_eq!(code, 0);
    let comments = fake.comments();
    assert_eq!(comments.len(), 1);
    let posted = &comments[0].1;
    assert!(
        posted.chars().count() <= 65_536,
        "{} characters",
        posted.chars().count()
    );
    assert!(posted.starts_with(&marker("default")));
    assert!(
        posted.contains("> [!WARNING]\n> This pull request changes `baselines/`."),
        "the note comes first"
    );
    assert!(posted.contains("❌ 1 regression"));
    assert!(
        posted.contains("`scenario-11`"),
        "the note names what was left out"
    );
    assert!(posted.contains("https://github.com/acme/serving/actions/runs/99"));
    let summary = std::fs::read_to_string(tmp.path().join("summary.md")).unwrap();
    assert!(
        summary.contains("scenario-11</b>"),
        "the job summary (1 MiB) keeps every scenario"
    );
    assert!(
        !summary.contains("llm-bench:default"),
        "no marker in the summary"
    );
}

#[tokio::test]
async fn outputs_and_summary_are_written_even_when_posting_is_refused() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(403).set_body_json(
            serde_json::json!({"message": "Resource not accessible by integration"}),
        ))
        .with_priority(1)
        .mount(&server)
        .await;
    FakeGithub::default().mount(&server).await;
    let tmp = tempfile::tempdir().unwrap();
    let comparison = serde_json::json!({
        "schema_version": 1, "tool_version": "0.1.0", "run_id": "r1", "target": "sim", "baseline_dir": "baselines",
        "correction": "holm", "gated_tests": 8, "strict": false,
        "totals": {"regressions": 2, "improvements": 0, "within_noise": 6, "inconclusive": 0, "not_comparable": 0, "new": 0},
        "outcome": "regression", "scenarios": []
    });
    let dir = results_dir(
        tmp.path(),
        "## comparison\n\n❌ 2 regressions\n",
        Some(comparison),
    );
    let env = env_for(&server, tmp.path());
    // Not strict: a warning, exit 0.
    assert_eq!(
        run_comment(&options(&dir, false), &env, fast())
            .await
            .unwrap(),
        0
    );
    let outputs = std::fs::read_to_string(tmp.path().join("output")).unwrap();
    assert!(outputs.contains("verdict=regression\n"), "{outputs}");
    assert!(outputs.contains("regressions=2\n"), "{outputs}");
    assert!(
        outputs.contains(&format!("results-dir={}\n", dir.display())),
        "{outputs}"
    );
    assert!(
        outputs.contains(&format!("report={}\n", dir.join("comparison.md").display())),
        "{outputs}"
    );
    assert!(std::fs::read_to_string(tmp.path().join("summary.md"))
        .unwrap()
        .contains("❌ 2 regressions"));
    // Strict: the same refusal fails the command, with the fix in the message.
    let err = run_comment(&options(&dir, true), &env, fast())
        .await
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("pull-requests: write"),
        "{err:#}"
    );
}

// ---- the binary: exit codes, and the token in no output ------------------------------

mod common;

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
fn all_files(dir: &Path) -> Vec<(std::path::PathBuf, String)> {
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

// ---- the action's shell steps (.github/action/run.sh) with a fake Actions environment ----

#[path = "common/action_env.rs"]
mod action_env;
use action_env::{
    action_step, config_repo, git, read_outputs, show, CONFIG_MODELS, CONFIG_TARGETS,
    CONFIG_WORKLOADS,
};

/// The action end to end, as a pull request sees it: bless a baseline on the base
/// branch, change `baselines/` in the pull request, run, compare (against the base
/// branch's baselines), publish the comment, job summary and outputs, and gate.
#[tokio::test(flavor = "multi_thread")]
async fn the_action_steps_run_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = config_repo(tmp.path(), CONFIG_TARGETS, CONFIG_WORKLOADS);
    std::fs::write(repo.join(".gitignore"), "llm-bench-results/\n").unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "configs"]);

    // 1. The bless workflow: run with bless on a workflow_dispatch event.
    let o = action_step(
        &repo,
        "bench",
        vec![
            ("GITHUB_EVENT_NAME", "workflow_dispatch".into()),
            (
                "GITHUB_OUTPUT",
                tmp.path().join("bless-output").display().to_string(),
            ),
            ("LB_BLESS", "true".into()),
            ("LB_BLESS_REASON", "first baseline".into()),
            ("LB_BLESSED_BY", "octocat".into()),
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("::group::llm-bench run"),
        "long logs are grouped"
    );
    let baseline = repo.join("baselines/sim/smoke.json");
    assert!(baseline.is_file(), "bless wrote the baseline\n{}", show(&o));
    assert!(
        std::fs::read_to_string(&baseline)
            .unwrap()
            .contains("octocat"),
        "blessed by the actor"
    );
    // The same workflow with `append`: the run joins the baseline's window of runs.
    let o = action_step(
        &repo,
        "bench",
        vec![
            ("GITHUB_EVENT_NAME", "workflow_dispatch".into()),
            (
                "GITHUB_OUTPUT",
                tmp.path().join("append-output").display().to_string(),
            ),
            ("LB_BLESS", "true".into()),
            ("LB_BLESS_APPEND", "true".into()),
            ("LB_BLESS_REASON", "second run".into()),
            ("LB_BLESSED_BY", "octocat".into()),
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let appended: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&baseline).unwrap()).unwrap();
    assert_eq!(
        appended["runs"].as_array().map(Vec::len),
        Some(2),
        "bless-append keeps both runs\n{}",
        show(&o)
    );
    git(&repo, &["add", "baselines"]);
    git(&repo, &["commit", "-q", "-m", "bless"]);
    let base_sha = git(&repo, &["rev-parse", "HEAD"]);

    // 2. The pull request deletes that baseline: were its own baselines used, the
    // scenario would be "new"; the base branch's make it "compared".
    git(&repo, &["checkout", "-q", "-b", "pr"]);
    git(&repo, &["rm", "-q", "baselines/sim/smoke.json"]);
    git(&repo, &["commit", "-q", "-m", "drop the baseline"]);

    let bench_out = tmp.path().join("bench-output");
    let o = action_step(
        &repo,
        "bench",
        vec![
            ("GITHUB_EVENT_NAME", "pull_request".into()),
            ("GITHUB_OUTPUT", bench_out.display().to_string()),
            ("LB_BASE_SHA", base_sha.clone()),
            ("LB_WORKLOADS", "smoke".into()),
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let bench = read_outputs(&bench_out);
    assert_eq!(bench["results-dir"], "llm-bench-results");
    assert_eq!(bench["baselines-changed"], "baselines/sim/smoke.json");
    let (code, dir) = bench["runs"].split_once(' ').unwrap();
    assert_eq!(dir, "llm-bench-results");
    assert!(["0", "1"].contains(&code), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("::warning title=llm-bench::this pull request changes baselines/"),
        "{}",
        show(&o)
    );
    let results = repo.join("llm-bench-results");
    let comparison: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(results.join("comparison.json")).unwrap())
            .unwrap();
    assert_eq!(
        comparison["scenarios"][0]["status"], "compared",
        "judged by the base branch's baseline"
    );

    // 3. Publish: the sticky comment on the mock API, the job summary, the outputs.
    let server = MockServer::start().await;
    let fake = FakeGithub::default();
    fake.mount(&server).await;
    let head_sha = git(&repo, &["rev-parse", "HEAD"]);
    let event = tmp.path().join("event.json");
    std::fs::write(
        &event,
        serde_json::json!({"pull_request": {"number": PR, "base": {"sha": base_sha}, "head": {"sha": head_sha}}})
            .to_string(),
    )
    .unwrap();
    let summary = tmp.path().join("step-summary.md");
    let publish_out = tmp.path().join("publish-output");
    let publish_env = || {
        vec![
            ("GITHUB_EVENT_NAME", "pull_request".to_string()),
            ("GITHUB_EVENT_PATH", event.display().to_string()),
            ("GITHUB_REPOSITORY", "acme/serving".to_string()),
            ("GITHUB_API_URL", server.uri()),
            ("GITHUB_SERVER_URL", "https://github.com".to_string()),
            ("GITHUB_RUN_ID", "4242".to_string()),
            ("GITHUB_TOKEN", TOKEN.to_string()),
            ("GITHUB_STEP_SUMMARY", summary.display().to_string()),
            ("GITHUB_OUTPUT", publish_out.display().to_string()),
            ("LB_RUNS", bench["runs"].clone()),
            ("LB_RESULTS_DIR", bench["results-dir"].clone()),
            ("LB_BASELINES_CHANGED", bench["baselines-changed"].clone()),
            ("LB_ERRORS", bench["errors"].clone()),
            ("LB_PATH_ALIAS", bench["path-alias"].clone()),
            ("GITHUB_RUN_NUMBER", "12".to_string()),
            ("LB_BASELINE_DIR", "baselines".to_string()),
            ("LB_COMMENT", "true".to_string()),
            ("LB_COMMENT_KEY", "sim-pr".to_string()),
            (
                "LB_ARTIFACT_URL",
                "https://github.com/acme/serving/actions/runs/4242/artifacts/1".to_string(),
            ),
        ]
    };
    let o = action_step(&repo, "publish", publish_env()).await;
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let comments = fake.comments();
    assert_eq!(comments.len(), 1, "{}", show(&o));
    let posted = &comments[0].1;
    let mut lines = posted.lines();
    assert_eq!(lines.next(), Some("<!-- llm-bench:sim-pr -->"));
    let headline = lines.next().unwrap();
    assert!(
        (headline.starts_with("✅ No regression in 1 scenario · `")
            || headline.starts_with("❌ Regression in `smoke`: "))
            && headline.contains(&format!(" · `{}` · [run #12]", &head_sha[..7])),
        "the verdict comes first, with the pull request's head commit: {headline}"
    );
    assert!(
        headline.contains(" · [run #12](https://github.com/acme/serving/actions/runs/4242) · [results artifact](https://github.com/acme/serving/actions/runs/4242/artifacts/1)"),
        "the verdict comes first: {headline}"
    );
    assert!(
        posted.contains(
            "> [!WARNING]\n> This pull request changes `baselines/` (`baselines/sim/smoke.json`)."
        ),
        "{posted}"
    );
    assert!(
        posted.contains("### ") && posted.contains("`smoke`"),
        "{posted}"
    );
    assert!(
        !posted.contains("runner-temp") && posted.contains("baselines in `baselines`"),
        "the base commit's baselines are shown under their own name, not the runner's scratch path: {posted}"
    );
    let step_summary = std::fs::read_to_string(&summary).unwrap();
    assert!(
        step_summary.starts_with(&format!("## llm-bench · target `sim`\n\n{headline}\n")),
        "the job summary has a heading per target: {step_summary}"
    );
    assert!(step_summary.contains("This pull request changes `baselines/`"));
    let outputs = read_outputs(&publish_out);
    let expected_verdict = match comparison["outcome"].as_str().unwrap() {
        "not_comparable" => "not-comparable",
        other => other,
    };
    assert_eq!(outputs["verdict"], expected_verdict);
    assert_eq!(
        outputs["regressions"],
        comparison["totals"]["regressions"].to_string()
    );
    assert_eq!(outputs["results-dir"], "llm-bench-results");
    assert_eq!(outputs["report"], "llm-bench-results/comparison.md");
    assert!(
        outputs["comment-url"].ends_with("#issuecomment-1000"),
        "{outputs:?}"
    );

    // Publishing again (a re-run) edits the same comment.
    std::fs::remove_file(&publish_out).unwrap();
    let o = action_step(&repo, "publish", publish_env()).await;
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert_eq!(fake.comments().len(), 1);
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains(TOKEN)
            && !String::from_utf8_lossy(&o.stderr).contains(TOKEN),
        "{}",
        show(&o)
    );
    for (path, text) in all_files(tmp.path()) {
        assert!(!text.contains(TOKEN), "token in {}", path.display());
    }

    // 4. The gate: the real verdict, then each verdict on its own.
    let gate = |verdict: &str, fail: &str| {
        vec![
            ("LB_VERDICT", verdict.to_string()),
            ("LB_REGRESSIONS", "2".to_string()),
            ("LB_FAIL_ON_REGRESSION", fail.to_string()),
        ]
    };
    let o = action_step(&repo, "gate", gate(&outputs["verdict"], "true")).await;
    assert_eq!(
        o.status.code(),
        Some(if outputs["verdict"] == "regression" {
            1
        } else {
            0
        }),
        "{}",
        show(&o)
    );
    for (verdict, fail, code) in [
        ("pass", "true", 0),
        ("regression", "true", 1),
        ("regression", "false", 0),
        ("not-comparable", "true", 0),
        ("error", "false", 1),
        ("", "true", 1),
    ] {
        let o = action_step(&repo, "gate", gate(verdict, fail)).await;
        assert_eq!(
            o.status.code(),
            Some(code),
            "gate {verdict:?} fail-on-regression {fail}\n{}",
            show(&o)
        );
        if code == 1 {
            assert!(
                String::from_utf8_lossy(&o.stderr).contains("::error title=llm-bench::"),
                "{}",
                show(&o)
            );
        }
    }

    // 5. A pull request may not bless.
    let o = action_step(
        &repo,
        "bench",
        vec![
            ("LB_BLESS", "true".into()),
            ("LB_BLESS_REASON", "sneaky".into()),
            ("LB_BASE_SHA", base_sha.clone()),
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("bless is refused on pull requests and merge queues"),
        "{}",
        show(&o)
    );
}

// ---- action.yml and the workflows: documented inputs, no script injection ----------

fn yaml(path: &str) -> serde_yaml::Value {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every `run:` script of a list of steps.
fn run_scripts(steps: &serde_yaml::Value) -> Vec<String> {
    steps
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|s| s["run"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn action_yml_documents_every_input_and_never_expands_inside_scripts() {
    let action = yaml("action.yml");
    assert!(action["name"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(action["description"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
    assert_eq!(action["runs"]["using"], "composite");
    let inputs = action["inputs"].as_mapping().expect("inputs");
    for required in [
        "config-dir",
        "targets",
        "workloads",
        "baseline-dir",
        "results-dir",
        "fail-on-regression",
        "comment",
        "comment-key",
        "bless",
        "github-token",
        "binary",
    ] {
        assert!(inputs.contains_key(required), "input `{required}` missing");
    }
    for (name, input) in inputs {
        let name = name.as_str().unwrap();
        assert!(
            name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
            "input `{name}` is not kebab-case"
        );
        assert!(
            input["description"].as_str().is_some_and(|d| d.len() > 10),
            "input `{name}` has no description"
        );
        assert!(
            input["default"].is_string(),
            "input `{name}` has no default"
        );
    }
    let outputs = action["outputs"].as_mapping().expect("outputs");
    for required in ["verdict", "regressions", "results-dir", "report"] {
        let o = &outputs[required];
        assert!(
            o["description"].is_string() && o["value"].is_string(),
            "output `{required}`"
        );
    }
    let steps = &action["runs"]["steps"];
    let scripts = run_scripts(steps);
    assert!(scripts.len() >= 4);
    for script in &scripts {
        assert!(!script.contains("${{"), "`${{{{ }}}}` inside run: {script}");
    }
    for step in steps.as_sequence().unwrap() {
        if step["run"].is_string() {
            assert_eq!(step["shell"], "bash", "{step:?}");
        }
    }
    assert!(steps.as_sequence().unwrap().iter().any(|s| s["uses"]
        .as_str()
        .is_some_and(|u| u.starts_with("actions/upload-artifact@"))));
}

#[test]
fn workflows_exist_and_keep_expressions_out_of_scripts() {
    for file in [
        "ci.yml",
        "benchmark-pr.yml",
        "nightly.yml",
        "bless.yml",
        "release.yml",
    ] {
        let wf = yaml(&format!(".github/workflows/{file}"));
        for (job_name, job) in wf["jobs"].as_mapping().unwrap() {
            for script in run_scripts(&job["steps"]) {
                assert!(
                    !script.contains("${{"),
                    "{file}: job {job_name:?}: `${{{{ }}}}` inside run: {script}"
                );
            }
        }
    }

    let ci = yaml(".github/workflows/ci.yml");
    let uses_itself = ci["jobs"].as_mapping().unwrap().values().any(|job| {
        job["runs-on"] == "ubuntu-latest"
            && job["steps"]
                .as_sequence()
                .unwrap()
                .iter()
                .any(|s| s["uses"] == "./")
    });
    assert!(
        uses_itself,
        "ci.yml runs the action with `uses: ./` on ubuntu-latest"
    );

    let pr = yaml(".github/workflows/benchmark-pr.yml");
    assert!(
        pr["on"]["pull_request"]["paths"].is_sequence(),
        "only for paths that affect serving"
    );
    assert_eq!(pr["concurrency"]["cancel-in-progress"], true);
    let job = &pr["jobs"]["benchmark"];
    assert_eq!(job["permissions"]["contents"], "read");
    assert_eq!(job["permissions"]["pull-requests"], "write");
    let labels: Vec<&str> = job["runs-on"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(labels, ["self-hosted", "gpu"]);
    assert!(
        job["if"]
            .as_str()
            .unwrap()
            .contains("github.event.pull_request.head.repo.full_name == github.repository"),
        "no fork code on the GPU runner"
    );

    let nightly = yaml(".github/workflows/nightly.yml");
    assert!(nightly["on"]["schedule"][0]["cron"].is_string());
    assert!(nightly["on"]
        .as_mapping()
        .unwrap()
        .contains_key("workflow_dispatch"));
    assert_eq!(nightly["jobs"]["track"]["permissions"]["issues"], "write");

    let bless = yaml(".github/workflows/bless.yml");
    assert_eq!(
        bless["on"]["workflow_dispatch"]["inputs"]["reason"]["required"],
        true
    );
    let steps = bless["jobs"]["bless"]["steps"].as_sequence().unwrap();
    assert!(steps
        .iter()
        .any(|s| s["uses"] == "./" && s["with"]["bless"] == "true"));
    assert!(run_scripts(&bless["jobs"]["pull-request"]["steps"])
        .iter()
        .any(|s| s.contains("gh pr create")));
}

/// A real regression and a real not-comparable baseline become `::error::` and
/// `::warning::` annotations and the `verdict`/`regressions` outputs.
#[test]
fn regressions_and_not_comparable_baselines_are_annotated() {
    let tmp = tempfile::tempdir().unwrap();
    let configs = tmp.path().join("configs");
    std::fs::create_dir_all(&configs).unwrap();
    std::fs::write(configs.join("models.yaml"), CONFIG_MODELS).unwrap();
    std::fs::write(configs.join("workloads.yaml"), CONFIG_WORKLOADS).unwrap();
    let baselines = tmp.path().join("baselines");
    let run = |name: &str, ttft_ms: u32, extra: &[&str]| {
        std::fs::write(
            configs.join("targets.yaml"),
            CONFIG_TARGETS.replace("ttft_ms: 3", &format!("ttft_ms: {ttft_ms}")),
        )
        .unwrap();
        let out = tmp.path().join(name);
        let o = common::bin()
            .arg("run")
            .arg("--config-dir")
            .arg(&configs)
            .arg("--out")
            .arg(&out)
            .arg("--baseline-dir")
            .arg(&baselines)
            .args(extra)
            .output()
            .unwrap();
        (out, o)
    };
    let (_, o) = run("base", 3, &["--bless", "--reason", "base"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));

    // Ten times the time to first token: a regression.
    let (slow, o) = run("slow", 30, &["--compare"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    // Another max_tokens: the measurement changed, not comparable.
    let (changed, o) = run("changed", 3, &["--compare", "--max-tokens", "8"]);
    assert_eq!(o.status.code(), Some(3), "{}", show(&o));

    for (dir, verdict, annotation) in [
        (
            &slow,
            "regression",
            "::error title=llm-bench%3A regression::smoke: TTFT p50 +",
        ),
        (
            &changed,
            "not-comparable",
            "::warning title=llm-bench%3A not comparable::smoke: not comparable with ",
        ),
    ] {
        let output = tmp.path().join(format!("{verdict}.output"));
        let o = common::bin()
            .arg("comment")
            .arg(dir)
            .arg("--dry-run")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", &output)
            .env_remove("GITHUB_STEP_SUMMARY")
            .env_remove("GITHUB_TOKEN")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(0), "{}", show(&o));
        assert!(
            stdout.contains(annotation),
            "`{annotation}` missing:\n{stdout}"
        );
        assert!(
            stdout.contains("::group::llm-bench comment (dry run: not posted)"),
            "{stdout}"
        );
        assert!(
            stdout.contains("<!-- llm-bench:default -->"),
            "the dry run prints the comment"
        );
        let outputs = read_outputs(&output);
        assert_eq!(outputs["verdict"], verdict);
        if verdict == "regression" {
            assert!(
                outputs["regressions"].parse::<u32>().unwrap() >= 1,
                "{outputs:?}"
            );
        }
    }
}
