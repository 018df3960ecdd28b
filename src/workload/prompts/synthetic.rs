//! Synthetic prompts: seeded words, one token each, in each request's drawn
//! length; with a tokenizer, fitted to exactly that length; with shared prefixes,
//! each group's prefix before the request's own part.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::super::lengths::{self, Lengths};
use super::super::tokenizer::TokenCounter;
use super::salt;
use crate::config::SharedPrefix;

/// Words that are a single token in common BPE vocabularies (with a leading space).
const WORDS: &[&str] = &[
    "the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "was", "with", "be", "by",
    "on", "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an",
    "had", "they", "you", "were", "their", "one", "all", "we", "can", "her", "has", "there",
    "been", "if", "more", "when", "will", "would", "who", "so", "no", "time", "people", "year",
    "way", "day", "man", "thing", "world", "life", "hand", "part", "child", "eye", "place", "work",
    "week", "case", "point", "number", "group", "problem", "fact", "good", "new", "first", "last",
    "long", "great", "little", "own", "other", "old", "right", "big", "high", "small", "large",
    "next", "early", "young", "water", "light", "house", "story", "music", "river", "city",
    "table", "paper",
];

/// Seeded generated prompts.
#[derive(Debug, Clone)]
pub struct Synthetic {
    /// Each request's length in tokens.
    pub lengths: Lengths,
    pub seed: u64,
    /// When set, every prompt (salt included) is exactly the drawn length as this
    /// tokenizer counts it; otherwise one word stands for one token.
    pub tokenizer: Option<TokenCounter>,
    /// Groups of requests whose prompts start with the same text; the drawn
    /// length is then that of each request's own part after it.
    pub prefix: Option<SharedPrefix>,
}

/// Mixed into the run's random number for the salts of shared prefixes, so they
/// never equal a request's salt.
const PREFIX_SALT: u64 = 0x5348_4152_4544_5046;

impl Synthetic {
    /// The generator of request `index` of `trial`: its own seed, so prompts do
    /// not depend on the order they are generated in. A small, fast generator:
    /// statistical quality is plenty for picking words.
    fn rng(&self, trial: u32, index: u64) -> SmallRng {
        SmallRng::seed_from_u64(
            self.seed ^ (u64::from(trial) << 40) ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        )
    }

    /// Calls `f` with each word of a prompt of one word per token.
    pub(super) fn each_word(&self, trial: u32, index: u64, mut f: impl FnMut(&'static str)) {
        let mut rng = self.rng(trial, index);
        let len = lengths::draw(&self.lengths, &mut rng);
        for _ in 0..len {
            f(WORDS[rng.gen_range(0..WORDS.len())]);
        }
    }

    /// The prompt of one request: its group's shared prefix (if any), then its
    /// own salt (when salted) and words.
    pub(super) fn text(&self, run_salt: Option<u64>, trial: u32, index: u64) -> String {
        let salt = run_salt.map(|r| salt(r, trial, index));
        let own = self.own_text(salt.as_deref(), trial, index);
        match &self.prefix {
            None => own,
            Some(prefix) => {
                let group = (index % u64::from(prefix.groups.max(1))) as u32;
                format!("{} {own}", self.prefix_text(prefix, group, run_salt))
            }
        }
    }

    /// The shared prefix of `group`: the same for every request of the group in
    /// every trial of the run. Salted runs start it with a salt of the group's
    /// own, drawn from the run's random number, so it is shared within the run
    /// and never with an earlier run's cache.
    pub(super) fn prefix_text(
        &self,
        prefix: &SharedPrefix,
        group: u32,
        run_salt: Option<u64>,
    ) -> String {
        let mut rng = SmallRng::seed_from_u64(
            self.seed
                ^ 0x7072_6566_6978_0000
                ^ u64::from(group).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        let mut text = run_salt
            .map(|r| salt(r ^ PREFIX_SALT, u32::MAX, u64::from(group)))
            .unwrap_or_default();
        let mut word = |out: &mut String| {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(WORDS[rng.gen_range(0..WORDS.len())]);
        };
        // The group's salt is never cut.
        let keep = text.len();
        if text.is_empty() {
            word(&mut text);
        }
        match &self.tokenizer {
            Some(tokenizer) => tokenizer.fit(text, prefix.tokens as usize, keep, word).0,
            None => {
                // One word (or the salt) per token.
                for _ in 1..prefix.tokens {
                    word(&mut text);
                }
                text
            }
        }
    }

    /// A request's own part of its prompt, after `salt` when given.
    fn own_text(&self, salt: Option<&str>, trial: u32, index: u64) -> String {
        let Some(tokenizer) = &self.tokenizer else {
            let mut out = salt.map(|s| format!("{s} ")).unwrap_or_default();
            let start = out.len();
            self.each_word(trial, index, |word| {
                if out.len() > start {
                    out.push(' ');
                }
                out.push_str(word);
            });
            return out;
        };
        let mut rng = self.rng(trial, index);
        let target = lengths::draw(&self.lengths, &mut rng) as usize;
        let mut text = salt.map(str::to_string).unwrap_or_default();
        let mut word = |out: &mut String| {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(WORDS[rng.gen_range(0..WORDS.len())]);
        };
        // The salt is never cut: a prompt shorter than its salt is the salt.
        let keep = text.len();
        if text.is_empty() {
            word(&mut text);
        }
        tokenizer.fit(text, target, keep, word).0
    }
}
