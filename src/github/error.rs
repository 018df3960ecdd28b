//! Why a comment was not posted, worded so the user can fix it.

/// Why a comment was not posted. Each message says how to fix it, and none contains
/// the token.
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    #[error("{0}")]
    Config(String),
    #[error("not posting the comment: {0}")]
    NotConfigured(String),
    #[error(
        "GitHub rejected the token (HTTP 401: {message}): it is invalid, expired or revoked. \
         Pass a valid token as GITHUB_TOKEN (in a workflow: `GITHUB_TOKEN: ${{{{ github.token }}}}`)"
    )]
    Unauthorized { message: String },
    #[error(
        "GitHub refused to write the comment (HTTP 403: {message}). The token may not write \
         pull-request comments. Fix: give the job `permissions: {{ contents: read, pull-requests: write }}`. \
         On a pull request from a fork, GITHUB_TOKEN is read-only whatever `permissions:` says: the \
         report is still in the job summary and the results artifact; to comment on fork pull \
         requests, post it from a separate `workflow_run` workflow, or use `pull_request_target` \
         only if that workflow never checks out or runs the fork's code (see {})",
        crate::docs_url("github-actions.md")
    )]
    Forbidden { message: String },
    #[error(
        "GitHub answered 404 for {repo} ({message}). Check GITHUB_REPOSITORY and the pull-request \
         number (--pr); a token that cannot read the repository also gets 404: give the job \
         `permissions: {{ contents: read, pull-requests: write }}`"
    )]
    NotFound { message: String, repo: String },
    #[error("GitHub API error (HTTP {status}): {message}")]
    Api { status: u16, message: String },
    #[error(
        "GitHub did not take the comment after {attempts} attempt(s): {last}. GitHub may be \
         degraded (https://www.githubstatus.com); the report is in the job summary and the results folder"
    )]
    GaveUp { attempts: u32, last: String },
    #[error("cannot reach GitHub: {0}")]
    Transport(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_say_how_to_fix() {
        let forbidden = GithubError::Forbidden {
            message: "Resource not accessible by integration".into(),
        }
        .to_string();
        assert!(forbidden.contains("pull-requests: write"));
        assert!(forbidden.contains("pull_request_target"));
        assert!(forbidden.contains("fork"));
        let unauthorized = GithubError::Unauthorized {
            message: "Bad credentials".into(),
        }
        .to_string();
        assert!(
            unauthorized.contains("${{ github.token }}"),
            "{unauthorized}"
        );
    }
}
