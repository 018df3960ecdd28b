//! The generated text of a chunk, for counting a response's tokens with the
//! model's tokenizer when the server sends no `usage`.
//!
//! The timing parser (`chunk`) only measures text; this reads it, and runs only
//! for a model with a `tokenizer:` and only on chunks that carried text, so
//! benchmarks without a tokenizer pay nothing for it.

use serde_json::Value;

/// Appends the content text of every choice of `payload` to `out`: streamed chat
/// (`delta.content`), non-streamed chat (`message.content`) or completions
/// (`text`). A payload that is not JSON adds nothing (the timing parser has
/// already recorded why).
pub fn append_content(payload: &str, out: &mut String) {
    let Ok(value) = serde_json::from_str::<Value>(payload) else {
        return;
    };
    let Some(choices) = value.get("choices").and_then(Value::as_array) else {
        return;
    };
    for choice in choices {
        let text = choice
            .pointer("/delta/content")
            .or_else(|| choice.pointer("/message/content"))
            .or_else(|| choice.get("text"))
            .and_then(Value::as_str);
        if let Some(text) = text {
            out.push_str(text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_shape_gives_its_text() {
        let mut out = String::new();
        append_content(r#"{"choices":[{"delta":{"content":"Hel"}}]}"#, &mut out);
        append_content(r#"{"choices":[{"text":"lo \"w\""}]}"#, &mut out);
        append_content(r#"{"choices":[{"message":{"content":"!"}}]}"#, &mut out);
        append_content(r#"{"choices":[{"delta":{"role":"assistant"}}]}"#, &mut out);
        append_content("not json", &mut out);
        assert_eq!(out, "Hello \"w\"!");
    }
}
