//! One dataset record's bytes → the prompt it sends and the output length it asks.
//!
//! The same functions run in the index pass (to check every record and measure
//! it) and per request (to read the sampled record back by its offset), so a
//! record that passed validation reads back the same way.

use serde::Deserialize;

/// What a request takes from a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordText {
    pub prompt: String,
    /// The record's own output length, when it has one: a JSONL record's
    /// `output_tokens` (or `max_tokens`) as a number of tokens, or a ShareGPT
    /// record's first answer as text, to be measured.
    pub output: Option<Output>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Tokens(u32),
    Text(String),
}

/// A JSONL line: `prompt` and, optionally, an output length under one of the
/// accepted names; other keys are ignored.
#[derive(Deserialize)]
struct JsonlRecord {
    prompt: String,
    output_tokens: Option<u32>,
    max_tokens: Option<u32>,
}

/// A ShareGPT conversation; other keys (`id`, ...) are ignored.
#[derive(Deserialize)]
struct ShareGptRecord {
    conversations: Vec<Turn>,
}

#[derive(Deserialize)]
struct Turn {
    from: String,
    value: String,
}

/// Speakers read as the user's turn (`human` in ShareGPT dumps).
const HUMAN: [&str; 2] = ["human", "user"];
/// Speakers read as the answer (`gpt` in ShareGPT dumps).
const ANSWER: [&str; 3] = ["gpt", "assistant", "chatgpt"];

/// Why a record cannot be used: the reason alone (the caller says where).
pub type Problem = String;

/// A JSONL line's prompt and output length.
pub fn jsonl(line: &[u8]) -> Result<RecordText, Problem> {
    let record: JsonlRecord = serde_json::from_slice(line).map_err(|e| {
        format!(
            "{}; each line must be a JSON object with `prompt` (a string) and optionally \
             `output_tokens` or `max_tokens` (a whole number of tokens)",
            without_position(&e)
        )
    })?;
    let output = match (record.output_tokens, record.max_tokens) {
        (Some(n), _) | (None, Some(n)) => Some(n),
        (None, None) => None,
    };
    if output == Some(0) {
        return Err("the output length must be at least 1 token (it becomes `max_tokens`)".into());
    }
    if record.prompt.trim().is_empty() {
        return Err("`prompt` is empty".into());
    }
    Ok(RecordText {
        prompt: record.prompt,
        output: output.map(Output::Tokens),
    })
}

/// A ShareGPT conversation's first human turn and the first answer after it.
/// `Ok(None)` for a conversation with no turns at all, which ShareGPT dumps
/// hold many of and which are skipped (as vLLM's `bench serve` does).
pub fn sharegpt(element: &[u8]) -> Result<Option<RecordText>, Problem> {
    let record: ShareGptRecord = serde_json::from_slice(element).map_err(|e| {
        format!(
            "{}; each record must be an object with `conversations`, a list of \
             `{{\"from\": \"human\"|\"gpt\", \"value\": TEXT}}`",
            without_position(&e)
        )
    })?;
    if record.conversations.is_empty() {
        return Ok(None);
    }
    let mut turns = record.conversations.into_iter();
    let Some(human) = turns.find(|t| HUMAN.contains(&t.from.as_str())) else {
        return Err(format!(
            "no human turn (a turn with `\"from\": \"human\"`); the first human turn is the \
             prompt (speakers read as human: {})",
            HUMAN.join(", ")
        ));
    };
    if human.value.trim().is_empty() {
        return Err("the first human turn is empty".into());
    }
    let answer = turns.find(|t| ANSWER.contains(&t.from.as_str()));
    Ok(Some(RecordText {
        prompt: human.value,
        output: answer.map(|t| Output::Text(t.value)),
    }))
}

/// serde_json's message without its own position (within the record; the
/// caller names the line or record).
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    text.rsplit_once(" at line ")
        .map_or(text.as_str(), |(m, _)| m)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_reads_the_prompt_and_either_length_name() {
        let r = jsonl(br#"{"prompt": "Say hi", "output_tokens": 12, "id": 3}"#).unwrap();
        assert_eq!(r.prompt, "Say hi");
        assert_eq!(r.output, Some(Output::Tokens(12)));
        let r = jsonl(br#"{"prompt": "x", "max_tokens": 7}"#).unwrap();
        assert_eq!(r.output, Some(Output::Tokens(7)));
        assert_eq!(jsonl(br#"{"prompt": "x"}"#).unwrap().output, None);
    }

    #[test]
    fn jsonl_problems_say_what_is_wrong() {
        let missing = jsonl(br#"{"text": "x"}"#).unwrap_err();
        assert!(missing.contains("missing field `prompt`"), "{missing}");
        let wrong = jsonl(br#"{"prompt": 5}"#).unwrap_err();
        assert!(wrong.contains("invalid type"), "{wrong}");
        assert!(jsonl(b"not json").unwrap_err().contains("expected"));
        assert!(jsonl(br#"{"prompt": "x", "output_tokens": 0}"#)
            .unwrap_err()
            .contains("at least 1"));
        assert!(jsonl(br#"{"prompt": "  "}"#).unwrap_err().contains("empty"));
    }

    #[test]
    fn sharegpt_takes_the_first_human_turn_and_the_answer_after_it() {
        let text = br#"{"id": "a", "conversations": [
            {"from": "system", "value": "be brief"},
            {"from": "human", "value": "What is 2+2?"},
            {"from": "gpt", "value": "It is four."},
            {"from": "human", "value": "And 3+3?"}]}"#;
        let r = sharegpt(text).unwrap().unwrap();
        assert_eq!(r.prompt, "What is 2+2?");
        assert_eq!(r.output, Some(Output::Text("It is four.".into())));
        assert_eq!(sharegpt(br#"{"conversations": []}"#).unwrap(), None);
        let no_human = sharegpt(br#"{"conversations": [{"from": "gpt", "value": "hi"}]}"#);
        assert!(no_human.unwrap_err().contains("no human turn"));
        let no_list = sharegpt(br#"{"items": []}"#).unwrap_err();
        assert!(no_list.contains("conversations"), "{no_list}");
    }
}
