//! The REST calls against the fake API: find or create the sticky comment, paging,
//! keys, retries, rate limits, permission errors, GitHub Enterprise Server.

use super::*;

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
