//! What an HTTP error status most likely means, read together with the body the
//! server sent: a hint that guesses from the status alone sends users the wrong
//! way (vLLM answers an unknown model with 404, which is not a wrong URL; LiteLLM
//! answers a wrong key with 400, which is not a rejected field).
//!
//! Pure: the client quotes the result in the request's row.

/// `HTTP {code} (hint): {body}`; `body` is the (already shortened) response body.
pub fn status_message(code: u16, body: &str) -> String {
    let hint = hint(code, body)
        .map(|h| format!(" ({h})"))
        .unwrap_or_default();
    if body.is_empty() {
        format!("HTTP {code}{hint}")
    } else {
        format!("HTTP {code}{hint}: {body}")
    }
}

const KEY_HINT: &str =
    "check the API key: targets.yaml `api_key`, OPENAI_API_KEY or the variable --api-key-env names";
const MODEL_HINT: &str = "the server does not serve this model: check --model (or the target's \
                          `model`) against the names GET /v1/models lists";

/// The hint for a status and body, when one fits.
pub fn hint(code: u16, body: &str) -> Option<&'static str> {
    let body = body.to_ascii_lowercase();
    match code {
        401 | 403 => Some(KEY_HINT),
        400 | 422 if about_key(&body) => Some(KEY_HINT),
        400 | 404 | 422 if about_unknown_model(&body) => Some(MODEL_HINT),
        400 | 422 if about_a_field(&body) => Some(
            "the server rejected a field of the request body: if it names one such as \
             `ignore_eos`, remove it from the model's `extra_body` or drop --ignore-eos",
        ),
        400 | 422 => Some("the server rejected the request body; its answer says why"),
        404 => Some("check the base URL: it is the API root, which usually ends in /v1"),
        429 => Some("the server is rate limiting: lower the load"),
        _ => None,
    }
}

/// A wrong or missing key, in the words servers use (LiteLLM: "Authentication
/// Error … Invalid proxy server token", OpenAI: "Incorrect API key provided").
fn about_key(body: &str) -> bool {
    [
        "api key",
        "api_key",
        "apikey",
        "authentication",
        "auth_error",
        "unauthorized",
        "invalid token",
        "server token",
        "bearer",
    ]
    .iter()
    .any(|w| body.contains(w))
}

/// vLLM: "The model `x` does not exist."; OpenAI: "model_not_found"; others "unknown
/// model", "model … not found".
fn about_unknown_model(body: &str) -> bool {
    body.contains("model_not_found")
        || (body.contains("model")
            && [
                "does not exist",
                "not found",
                "unknown model",
                "no such model",
                "invalid model",
            ]
            .iter()
            .any(|w| body.contains(w)))
}

/// A request field the server does not accept (pydantic's "extra_forbidden",
/// "Extra inputs are not permitted", "unexpected keyword", "unrecognized").
fn about_a_field(body: &str) -> bool {
    [
        "ignore_eos",
        "extra",
        "field",
        "parameter",
        "unexpected keyword",
        "unrecognized",
        "not permitted",
        "not supported",
    ]
    .iter()
    .any(|w| body.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bodies as real servers send them.
    #[test]
    fn the_body_decides_the_hint() {
        let vllm_unknown_model = r#"{"object":"error","message":"The model `llama-9` does not exist.","type":"NotFoundError","param":null,"code":404}"#;
        let m = status_message(404, vllm_unknown_model);
        assert!(m.contains("does not serve this model"), "{m}");
        assert!(!m.contains("ends in /v1"), "{m}");

        let litellm_wrong_key = r#"{"error":{"message":"Authentication Error, Invalid proxy server token passed. Received API Key = sk-...wxyz","type":"auth_error","param":"None","code":"400"}}"#;
        let m = status_message(400, litellm_wrong_key);
        assert!(m.contains("check the API key"), "{m}");
        assert!(!m.contains("ignore_eos"), "{m}");

        let strict_field = r#"{"detail":[{"type":"extra_forbidden","loc":["body","ignore_eos"],"msg":"Extra inputs are not permitted"}]}"#;
        assert!(
            status_message(422, strict_field).contains("remove it from the model's `extra_body`")
        );

        let m = status_message(400, "prompt is too long");
        assert!(
            m.contains("rejected the request body") && !m.contains("ignore_eos"),
            "{m}"
        );
        assert!(status_message(404, "<html>Not Found</html>").contains("usually ends in /v1"));
        assert!(status_message(401, "").contains("check the API key"));
        assert_eq!(status_message(502, ""), "HTTP 502");
    }
}
