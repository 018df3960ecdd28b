//! The sticky comment belongs to the token that writes it: a comment that carries this
//! job's hidden marker but was written by someone else is never edited (it would
//! otherwise receive the results, or block them where the token may not edit it).

use std::time::Duration;

use llm_bench::config::Secret;
use llm_bench::github::comment::{marker, CommentClient, Posted, RetryPolicy};
use llm_bench::github::Repo;
use wiremock::MockServer;

#[path = "common/fake_github.rs"]
mod fake_github;
use fake_github::{FakeGithub, StoredComment, ACTIONS_BOT, PR, TOKEN};

fn client(server: &MockServer) -> CommentClient {
    CommentClient::new(
        &server.uri(),
        &Secret::new(TOKEN),
        Repo::parse("acme/serving").unwrap(),
        RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(1),
            secondary_rate_limit_delay: Duration::from_millis(10),
        },
    )
    .unwrap()
}

fn body(text: &str) -> String {
    format!("{}\n{text}", marker("default"))
}

/// The job token cannot call `GET /user`; its comments are by `github-actions[bot]`.
#[tokio::test]
async fn a_planted_marker_comment_is_not_overwritten_with_the_job_token() {
    let server = MockServer::start().await;
    let fake = FakeGithub::default();
    let planted = fake.plant("mallory", &body("[click here](https://evil.example)"));
    fake.mount(&server).await;

    let first = client(&server)
        .upsert(PR, "default", &body("results 1"))
        .await
        .unwrap();
    assert!(matches!(first, Posted::Created { .. }), "{first:?}");
    let second = client(&server)
        .upsert(PR, "default", &body("results 2"))
        .await
        .unwrap();
    assert!(
        matches!(second, Posted::Updated { id, .. } if id == first_id(&first)),
        "the second run edits its own comment: {second:?}"
    );
    assert_eq!(
        fake.stored(),
        [
            StoredComment {
                id: planted,
                author: "mallory".into(),
                body: body("[click here](https://evil.example)")
            },
            StoredComment {
                id: first_id(&first),
                author: ACTIONS_BOT.into(),
                body: body("results 2")
            },
        ]
    );
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.starts_with("GET") && r.ends_with("/user")),
        "the identity was asked for: {:?}",
        fake.requests()
    );
}

/// A personal token is whoever `GET /user` says: not even the bot's comments are its own.
#[tokio::test]
async fn a_personal_token_edits_only_its_users_comment() {
    let server = MockServer::start().await;
    let fake = FakeGithub::as_user("octocat");
    fake.plant(ACTIONS_BOT, &body("from the job token"));
    fake.plant("mallory", &body("planted"));
    let own = fake.plant("OctoCat", &body("octocat's old results"));
    fake.mount(&server).await;

    let posted = client(&server)
        .upsert(PR, "default", &body("new"))
        .await
        .unwrap();
    assert!(
        matches!(posted, Posted::Updated { id, .. } if id == own),
        "logins compare without case: {posted:?}"
    );
    let bodies: Vec<String> = fake.stored().into_iter().map(|c| c.body).collect();
    assert_eq!(
        bodies,
        [body("from the job token"), body("planted"), body("new")]
    );
}

/// A GitHub App's token names its bot; no `GET /user` is needed.
#[tokio::test]
async fn an_explicit_author_is_matched_without_asking() {
    let server = MockServer::start().await;
    let fake = FakeGithub::default();
    fake.plant(ACTIONS_BOT, &body("the job token's"));
    let app = fake.plant("bench-app[bot]", &body("the app's"));
    fake.mount(&server).await;

    let posted = client(&server)
        .with_author(Some("bench-app[bot]".into()))
        .upsert(PR, "default", &body("new"))
        .await
        .unwrap();
    assert!(
        matches!(posted, Posted::Updated { id, .. } if id == app),
        "{posted:?}"
    );
    assert!(
        fake.requests().iter().all(|r| !r.ends_with("/user")),
        "{:?}",
        fake.requests()
    );
    assert_eq!(fake.stored()[0].body, body("the job token's"));
}

fn first_id(p: &Posted) -> u64 {
    match p {
        Posted::Created { id, .. } | Posted::Updated { id, .. } | Posted::Unchanged { id, .. } => {
            *id
        }
    }
}
