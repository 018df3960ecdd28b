//! Multi-turn conversations (`conversation:`): what each turn sends.
//!
//! Conversation `c` of a trial draws its number of turns; turn `k` sends the
//! whole history so far — the shared system prompt (when the scenario's prompt has
//! `shared_prefix:`), user 1, assistant 1 (the server's actual answer), ..., user
//! `k` — so turns within a conversation share a growing prefix, as chat traffic
//! does. The per-run salt (see `workload::prompts`) starts the first user message
//! only: one run's cache never helps the next, while a conversation's own turns
//! still hit the cache the previous turn left. Every draw is seeded by the
//! scenario's seed, the trial, the conversation and the turn, so it does not
//! depend on how conversations interleave.

use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use super::lengths::{self, Lengths};
use super::prompts::{request_salt, Synthetic};
use super::tokenizer::TokenCounter;
use super::PromptGenerator;
use crate::config::Conversation;

/// Conversations ready to run.
#[derive(Debug, Clone)]
pub struct ConversationPlan {
    pub turns: Lengths,
    /// In milliseconds; may be 0.
    pub think_time_ms: Lengths,
    /// User messages, unsalted and without the shared prefix.
    user: PromptGenerator,
    /// The scenario's prompts as configured, for the shared system prompt.
    prompts: PromptGenerator,
    /// The run's random number, when requests are salted.
    run_salt: Option<u64>,
    seed: u64,
}

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One conversation so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    pub messages: Vec<(Role, String)>,
}

impl History {
    pub fn push(&mut self, role: Role, text: String) {
        self.messages.push((role, text));
    }

    /// The chat API's `messages` array.
    pub fn to_json(&self) -> Value {
        Value::Array(
            self.messages
                .iter()
                .map(|(role, content)| json!({"role": role.name(), "content": content}))
                .collect(),
        )
    }
}

/// Streams of the seed kept apart from the prompts' and the output lengths'.
const TURNS_STREAM: u64 = 0x7475_726E_7300_0000;
const THINK_STREAM: u64 = 0x7468_696E_6B00_0000;
/// Spaces user messages' generator indices: `conversation * STRIDE + turn`.
const STRIDE: u64 = 1 << 16;

impl ConversationPlan {
    /// `prompts` is the scenario's generator as a single-turn scenario would send
    /// it (salted unless it allows sharing, with its shared prefix, if any);
    /// `tokenizer` makes `user_tokens` exact.
    pub fn new(
        conversation: &Conversation,
        prompts: PromptGenerator,
        tokenizer: Option<TokenCounter>,
        seed: u64,
    ) -> ConversationPlan {
        let (inner, run_salt) = match &prompts {
            PromptGenerator::Salted { prompts, run_salt } => ((**prompts).clone(), Some(*run_salt)),
            other => (other.clone(), None),
        };
        let user = match &conversation.user_tokens {
            Some(lengths) => PromptGenerator::Synthetic(Synthetic {
                lengths: lengths.clone(),
                seed,
                tokenizer,
                prefix: None,
            }),
            None => inner.with_shared_prefix(None),
        };
        ConversationPlan {
            turns: conversation.turns.clone(),
            think_time_ms: conversation.think_time_ms.clone(),
            user,
            prompts,
            run_salt,
            seed,
        }
    }

    fn rng(&self, stream: u64, trial: u32, key: u64) -> SmallRng {
        SmallRng::seed_from_u64(
            (self.seed ^ stream)
                ^ (u64::from(trial) << 40)
                ^ key.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        )
    }

    /// How many turns conversation `conversation` of `trial` has (at least 1).
    pub fn turns_of(&self, trial: u32, conversation: u64) -> u32 {
        let mut rng = self.rng(TURNS_STREAM, trial, conversation);
        lengths::draw(&self.turns, &mut rng).clamp(1, crate::config::MAX_TURNS)
    }

    /// The think time before turn `turn` (2 or later) of a conversation.
    pub fn think_before(&self, trial: u32, conversation: u64, turn: u32) -> Duration {
        let mut rng = self.rng(THINK_STREAM, trial, conversation * STRIDE + u64::from(turn));
        Duration::from_millis(u64::from(draw_ms(&self.think_time_ms, &mut rng)))
    }

    /// The history a conversation starts with: its group's shared system prompt,
    /// when the scenario's prompt has one.
    pub fn start(&self, conversation: u64) -> History {
        let mut history = History::default();
        if let Some(system) = self.prompts.shared_prefix_text(conversation) {
            history.push(Role::System, system);
        }
        history
    }

    /// The user message of turn `turn` (1-based); the first starts with the
    /// conversation's salt when requests are salted.
    pub fn user_message(&self, trial: u32, conversation: u64, turn: u32) -> String {
        let text = self
            .user
            .prompt(trial, conversation * STRIDE + u64::from(turn));
        match self.run_salt {
            Some(run_salt) if turn == 1 => {
                format!("{} {text}", request_salt(run_salt, trial, conversation))
            }
            _ => text,
        }
    }
}

/// A think time in milliseconds: like a token length, but 0 stays 0.
fn draw_ms(lengths: &Lengths, rng: &mut impl Rng) -> u32 {
    match lengths {
        Lengths::Fixed(n) => *n,
        Lengths::Uniform { lo, hi } => rng.gen_range(*lo..=*hi),
        Lengths::Empirical(values) => values[rng.gen_range(0..values.len())],
        Lengths::Normal { mean, .. } | Lengths::LogNormal { mean, .. } if *mean < 1.0 => 0,
        other => lengths::draw(other, rng),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SharedPrefix;

    fn conversation(turns: Lengths, think: Lengths, user: Option<Lengths>) -> Conversation {
        Conversation {
            turns,
            think_time_ms: think,
            user_tokens: user,
            written_at: String::new(),
        }
    }

    #[test]
    fn the_salt_starts_the_first_user_message_only() {
        let prompts = PromptGenerator::synthetic(8, 0.0, 3).salted(41);
        let c = conversation(Lengths::Fixed(3), Lengths::Fixed(0), None);
        let plan = ConversationPlan::new(&c, prompts, None, 3);
        let first = plan.user_message(0, 5, 1);
        let words: Vec<&str> = first.split(' ').collect();
        assert_eq!(words.len(), 9, "{first}");
        assert!(words[0].len() == 8 && words[0].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(plan.user_message(0, 5, 2).split(' ').count(), 8);
        assert_ne!(plan.user_message(0, 5, 1), plan.user_message(0, 6, 1));
        assert_ne!(plan.user_message(0, 5, 2), plan.user_message(0, 5, 3));
        assert_eq!(plan.user_message(0, 5, 2), plan.user_message(0, 5, 2));
        assert!(plan.start(5).messages.is_empty());
    }

    #[test]
    fn user_tokens_set_the_length_and_shared_prefixes_become_the_system_prompt() {
        let prompts = PromptGenerator::synthetic(8, 0.0, 3)
            .with_shared_prefix(Some(SharedPrefix {
                groups: 2,
                tokens: 20,
            }))
            .salted(7);
        let c = conversation(
            Lengths::Fixed(2),
            Lengths::Fixed(0),
            Some(Lengths::Fixed(30)),
        );
        let plan = ConversationPlan::new(&c, prompts.clone(), None, 3);
        assert_eq!(plan.user_message(0, 1, 2).split(' ').count(), 30);
        let system = &plan.start(1).messages[0];
        assert_eq!(system.0, Role::System);
        assert_eq!(system.1.split(' ').count(), 20);
        assert_eq!(plan.start(1), plan.start(3), "same group");
        assert_ne!(plan.start(0), plan.start(1));
        assert!(prompts.prompt(0, 1).starts_with(&system.1));
    }

    #[test]
    fn turns_and_think_times_are_drawn_per_conversation_and_seeded() {
        let c = conversation(
            Lengths::Uniform { lo: 2, hi: 9 },
            Lengths::Uniform { lo: 0, hi: 100 },
            None,
        );
        let plan = ConversationPlan::new(&c, PromptGenerator::Template("hi".into()), None, 1);
        let turns: Vec<u32> = (0..200).map(|c| plan.turns_of(0, c)).collect();
        assert!(turns.iter().all(|t| (2..=9).contains(t)));
        assert!(turns.contains(&2) && turns.contains(&9));
        assert_eq!(plan.turns_of(1, 4), plan.turns_of(1, 4));
        let thinks: Vec<u128> = (0..200)
            .map(|c| plan.think_before(0, c, 2).as_millis())
            .collect();
        assert!(thinks.iter().all(|&t| t <= 100) && thinks.contains(&0));
        let still = conversation(Lengths::Fixed(1), Lengths::Fixed(0), None);
        let plan = ConversationPlan::new(&still, PromptGenerator::Template("hi".into()), None, 1);
        assert_eq!(plan.think_before(0, 0, 2), Duration::ZERO);
        assert_eq!(plan.user_message(0, 0, 1), "hi");
    }

    #[test]
    fn history_renders_the_chat_messages_in_order() {
        let mut h = History::default();
        h.push(Role::User, "a \"q\"".into());
        h.push(Role::Assistant, "b".into());
        assert_eq!(
            h.to_json(),
            json!([{"role": "user", "content": "a \"q\""}, {"role": "assistant", "content": "b"}])
        );
    }
}
