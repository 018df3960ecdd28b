//! A stateful fake of the GitHub REST API endpoints the comment client uses (wiremock on
//! loopback): `GET /user`, and listing, creating and editing the comments of one pull
//! request of `acme/serving`. Each comment has an author, so tests can plant a comment
//! by someone else. Shared by the GitHub test files through
//! `#[path = "common/fake_github.rs"] mod fake_github;`.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const TOKEN: &str = "ghs_TEST_TOKEN_d0e5c8a1f7b2";
pub const PR: u64 = 7;
/// The author of comments written with the job token.
pub const ACTIONS_BOT: &str = "github-actions[bot]";

/// One comment as the fake stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredComment {
    pub id: u64,
    pub author: String,
    pub body: String,
}

#[derive(Clone, Default)]
pub struct FakeGithub {
    state: Arc<Mutex<State>>,
    /// Path before `/repos/…`: "" for github.com, "/api/v3" for GitHub Enterprise Server.
    prefix: String,
    /// `GET /user` answers this login; `None` answers 403 as GitHub does for the job
    /// token (an installation token), whose comments are by `github-actions[bot]`.
    user: Option<String>,
}

#[derive(Default)]
struct State {
    comments: Vec<StoredComment>,
    requests: Vec<String>,
    bad_auth: usize,
}

impl FakeGithub {
    /// Existing comments, all by `github-actions[bot]`.
    pub fn with_comments(prefix: &str, bodies: impl IntoIterator<Item = String>) -> FakeGithub {
        let fake = FakeGithub {
            prefix: prefix.into(),
            ..FakeGithub::default()
        };
        for body in bodies {
            fake.plant(ACTIONS_BOT, &body);
        }
        fake
    }

    /// A fake whose token belongs to the user `login` (a personal access token).
    pub fn as_user(login: &str) -> FakeGithub {
        FakeGithub {
            user: Some(login.into()),
            ..FakeGithub::default()
        }
    }

    /// Adds a comment by `author`; returns its id.
    pub fn plant(&self, author: &str, body: &str) -> u64 {
        let mut s = self.state.lock().unwrap();
        let id = 1000 + s.comments.len() as u64;
        s.comments.push(StoredComment {
            id,
            author: author.into(),
            body: body.into(),
        });
        id
    }

    pub async fn mount(&self, server: &MockServer) {
        Mock::given(any())
            .respond_with(self.clone())
            .with_priority(10)
            .mount(server)
            .await;
    }

    /// `(id, body)` of every comment, oldest first.
    pub fn comments(&self) -> Vec<(u64, String)> {
        self.stored().into_iter().map(|c| (c.id, c.body)).collect()
    }

    pub fn stored(&self) -> Vec<StoredComment> {
        self.state.lock().unwrap().comments.clone()
    }

    /// Requests that came without the right token.
    pub fn bad_auth(&self) -> usize {
        self.state.lock().unwrap().bad_auth
    }

    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }

    fn identity(&self) -> String {
        self.user.clone().unwrap_or_else(|| ACTIONS_BOT.into())
    }

    fn json(c: &StoredComment) -> serde_json::Value {
        serde_json::json!({
            "id": c.id,
            "body": c.body,
            "html_url": format!("https://github.com/acme/serving/pull/{PR}#issuecomment-{}", c.id),
            "user": {"login": c.author, "type": if c.author.ends_with("[bot]") { "Bot" } else { "User" }},
        })
    }
}

fn not_found() -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(serde_json::json!({"message": "Not Found"}))
}

impl Respond for FakeGithub {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut s = self.state.lock().unwrap();
        let path = request.url.path().to_string();
        let query: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
        s.requests
            .push(format!("{} {}", request.method, request.url));
        let auth = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if auth != format!("Bearer {TOKEN}") {
            s.bad_auth += 1;
            return ResponseTemplate::new(401)
                .set_body_json(serde_json::json!({"message": "Bad credentials"}));
        }
        let user = format!("{}/user", self.prefix);
        let list = format!("{}/repos/acme/serving/issues/{PR}/comments", self.prefix);
        let one = format!("{}/repos/acme/serving/issues/comments/", self.prefix);
        match request.method.as_str() {
            "GET" if path == user => match &self.user {
                Some(login) => ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"login": login, "type": "User"})),
                None => ResponseTemplate::new(403).set_body_json(
                    serde_json::json!({"message": "Resource not accessible by integration"}),
                ),
            },
            "GET" if path == list => {
                let per_page: usize = query
                    .get("per_page")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(30);
                let page: usize = query.get("page").and_then(|v| v.parse().ok()).unwrap_or(1);
                let items: Vec<_> = s
                    .comments
                    .iter()
                    .skip((page - 1) * per_page)
                    .take(per_page)
                    .map(Self::json)
                    .collect();
                ResponseTemplate::new(200).set_body_json(items)
            }
            "POST" if path == list => {
                let body: serde_json::Value = request.body_json().unwrap();
                let comment = StoredComment {
                    id: 1000 + s.comments.len() as u64,
                    author: self.identity(),
                    body: body["body"].as_str().unwrap().to_string(),
                };
                s.comments.push(comment.clone());
                ResponseTemplate::new(201).set_body_json(Self::json(&comment))
            }
            // A token with write access may edit anyone's comment, as on GitHub: only
            // the client's own check keeps it from overwriting another author's.
            "PATCH" if path.starts_with(&one) => {
                let Ok(id) = path[one.len()..].parse::<u64>() else {
                    return not_found();
                };
                let body: serde_json::Value = request.body_json().unwrap();
                let text = body["body"].as_str().unwrap().to_string();
                match s.comments.iter_mut().find(|c| c.id == id) {
                    Some(c) => {
                        c.body = text;
                        ResponseTemplate::new(200).set_body_json(Self::json(c))
                    }
                    None => not_found(),
                }
            }
            _ => not_found(),
        }
    }
}
