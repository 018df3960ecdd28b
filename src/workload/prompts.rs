//! Prompt text for each request.
//!
//! Templates are sent as written. Synthetic prompts are seeded random sequences of
//! common English words, each about one token in the tokenizers of Llama, Qwen and
//! GPT-style models, so a target of N tokens gives a prompt of roughly N tokens
//! without shipping a tokenizer. The server's `usage.prompt_tokens` records the
//! exact count.
//!
//! **The salt.** With the same seed, every run sends the same prompts, so a server
//! with a prefix cache (vLLM's is on by default) would answer a rerun from what the
//! previous run left behind: a warm baseline against a cold candidate reads as a
//! regression, and the reverse as an improvement. Unless a prompt opts in to
//! sharing (`prefix_cache: allow`), each request's prompt therefore starts with a
//! salt of its own: 8 hexadecimal digits and a space (about 4–6 tokens in common
//! tokenizers), derived from a per-run random number, the trial and the request
//! index. A rerun with the same seed sends different salts; within a run no two
//! requests share a salt, so no two share a cacheable prefix block. Everything
//! after the salt (and the arrival times) stays seeded, and the salt is not part of
//! the workload hash.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::lengths::{self, Lengths};
use super::tokenizer::TokenCounter;
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

#[derive(Debug, Clone)]
pub enum PromptGenerator {
    /// The same text for every request.
    Template(String),
    /// Seeded random words, each request's length drawn from a distribution.
    Synthetic(Synthetic),
    /// Another generator's prompts, each preceded by its request's salt
    /// ([`PromptGenerator::salted`]).
    Salted {
        prompts: Box<PromptGenerator>,
        /// Drawn once per run from a random source, never from the seed.
        run_salt: u64,
    },
    /// Records of a dataset file (`dataset:` on a scenario).
    Dataset(std::sync::Arc<super::dataset::DatasetPrompts>),
}

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

/// Characters a salt adds before a prompt: 8 hex digits and a space.
pub const SALT_LEN: usize = 9;

impl PromptGenerator {
    /// Seeded words of `tokens` tokens on average, with a standard deviation of
    /// `spread * tokens` (`synthetic_tokens` and `spread` of workloads.yaml).
    pub fn synthetic(tokens: u32, spread: f64, seed: u64) -> PromptGenerator {
        let mean = f64::from(tokens.max(1));
        let lengths = if spread > 0.0 {
            Lengths::Normal {
                mean,
                sd: mean * spread,
            }
        } else {
            Lengths::Fixed(tokens.max(1))
        };
        PromptGenerator::Synthetic(Synthetic {
            lengths,
            seed,
            tokenizer: None,
            prefix: None,
        })
    }

    /// The same prompts measured with `tokenizer` (synthetic prompts only).
    pub fn with_tokenizer(self, tokenizer: Option<TokenCounter>) -> PromptGenerator {
        match self {
            PromptGenerator::Synthetic(s) => {
                PromptGenerator::Synthetic(Synthetic { tokenizer, ..s })
            }
            PromptGenerator::Salted { prompts, run_salt } => PromptGenerator::Salted {
                prompts: Box::new(prompts.with_tokenizer(tokenizer)),
                run_salt,
            },
            other => other,
        }
    }

    /// The same prompts in groups sharing a prefix (synthetic prompts only).
    pub fn with_shared_prefix(self, prefix: Option<SharedPrefix>) -> PromptGenerator {
        match self {
            PromptGenerator::Synthetic(s) => PromptGenerator::Synthetic(Synthetic { prefix, ..s }),
            PromptGenerator::Salted { prompts, run_salt } => PromptGenerator::Salted {
                prompts: Box::new(prompts.with_shared_prefix(prefix)),
                run_salt,
            },
            other => other,
        }
    }

    /// Whether synthetic lengths are exact (a tokenizer counts them); `None` when
    /// the prompts are not synthetic.
    pub fn exact_lengths(&self) -> Option<bool> {
        match self {
            PromptGenerator::Template(_) => None,
            PromptGenerator::Synthetic(s) => Some(s.tokenizer.is_some()),
            PromptGenerator::Dataset(d) => Some(d.exact()),
            PromptGenerator::Salted { prompts, .. } => prompts.exact_lengths(),
        }
    }

    /// Whether a prompt must be built whole before it is written: exact lengths
    /// are counted on the whole text, and shared prefixes go before the salt.
    fn needs_whole_text(&self) -> bool {
        match self {
            PromptGenerator::Template(_) | PromptGenerator::Dataset(_) => false,
            PromptGenerator::Synthetic(s) => s.tokenizer.is_some() || s.prefix.is_some(),
            PromptGenerator::Salted { prompts, .. } => prompts.needs_whole_text(),
        }
    }

    /// These prompts, each starting with a salt of its own drawn from `run_salt`
    /// (pass a fresh random number per run).
    pub fn salted(self, run_salt: u64) -> PromptGenerator {
        PromptGenerator::Salted {
            prompts: Box::new(self),
            run_salt,
        }
    }

    /// The prompt of request `index` of `trial`: deterministic for a given seed
    /// (and, when salted, run salt).
    pub fn prompt(&self, trial: u32, index: u64) -> String {
        match self {
            PromptGenerator::Template(text) => text.clone(),
            PromptGenerator::Dataset(d) => d.prompt(index),
            PromptGenerator::Salted { prompts, run_salt } => match &**prompts {
                PromptGenerator::Synthetic(s) => s.text(Some(*run_salt), trial, index),
                other => format!(
                    "{} {}",
                    salt(*run_salt, trial, index),
                    other.prompt(trial, index)
                ),
            },
            PromptGenerator::Synthetic(s) => s.text(None, trial, index),
        }
    }

    /// Appends the same prompt as [`PromptGenerator::prompt`] as a JSON string,
    /// quotes included, without building it first (this runs once per request).
    pub fn write_json(&self, trial: u32, index: u64, out: &mut Vec<u8>) {
        match self {
            // Writing to a Vec cannot fail.
            PromptGenerator::Template(text) => {
                let _ = serde_json::to_writer(out, text);
            }
            PromptGenerator::Dataset(d) => {
                let _ = serde_json::to_writer(out, &d.prompt(index));
            }
            // Exact lengths need the whole text to count it.
            _ if self.needs_whole_text() => {
                let _ = serde_json::to_writer(out, &self.prompt(trial, index));
            }
            PromptGenerator::Salted { prompts, run_salt } => {
                // The inner prompt as a JSON string, its opening quote replaced by
                // the quote and the salt (hex digits and a space need no escaping).
                let start = out.len();
                prompts.write_json(trial, index, out);
                let salt = format!("\"{} ", salt(*run_salt, trial, index));
                out.splice(start..start + 1, salt.bytes());
            }
            PromptGenerator::Synthetic(s) => {
                // The words are plain lowercase ASCII: nothing to escape.
                out.push(b'"');
                let mut first = true;
                s.each_word(trial, index, |word| {
                    if !std::mem::take(&mut first) {
                        out.push(b' ');
                    }
                    out.extend_from_slice(word.as_bytes());
                });
                out.push(b'"');
            }
        }
    }

    /// About how many bytes a prompt takes, to size buffers.
    pub fn len_hint(&self) -> usize {
        match self {
            PromptGenerator::Template(text) => text.len() + text.len() / 8,
            PromptGenerator::Synthetic(s) => {
                let prefix = s.prefix.map_or(0.0, |p| f64::from(p.tokens));
                ((s.lengths.mean() + prefix) * 8.0) as usize
            }
            PromptGenerator::Salted { prompts, .. } => prompts.len_hint() + SALT_LEN,
            PromptGenerator::Dataset(d) => d.len_hint(),
        }
    }

    /// Approximate prompt length in tokens, for display.
    pub fn approx_tokens(&self) -> u32 {
        match self {
            PromptGenerator::Template(text) => text.split_whitespace().count() as u32,
            PromptGenerator::Synthetic(s) => {
                let prefix = s.prefix.map_or(0.0, |p| f64::from(p.tokens));
                (s.lengths.mean() + prefix).round() as u32
            }
            PromptGenerator::Salted { prompts, .. } => prompts.approx_tokens(),
            PromptGenerator::Dataset(d) => d.mean_input_tokens(),
        }
    }

    /// The output length a dataset record asks for (request `index`), when the
    /// prompts are a dataset's and its records carry one.
    pub fn record_output_tokens(&self, index: u64) -> Option<u32> {
        match self {
            PromptGenerator::Dataset(d) => d.output_tokens(index),
            PromptGenerator::Salted { prompts, .. } => prompts.record_output_tokens(index),
            PromptGenerator::Template(_) | PromptGenerator::Synthetic(_) => None,
        }
    }
}

/// The salt of request `index` of `trial` (8 hex digits, no space), for callers
/// that place it themselves: a conversation's first user message.
pub fn request_salt(run_salt: u64, trial: u32, index: u64) -> String {
    salt(run_salt, trial, index)
}

impl PromptGenerator {
    /// The shared prefix of request `index`'s group (`shared_prefix:`), as
    /// [`PromptGenerator::prompt`] starts it; `None` without shared prefixes.
    pub fn shared_prefix_text(&self, index: u64) -> Option<String> {
        let (s, run_salt) = match self {
            PromptGenerator::Synthetic(s) => (s, None),
            PromptGenerator::Salted { prompts, run_salt } => match &**prompts {
                PromptGenerator::Synthetic(s) => (s, Some(*run_salt)),
                _ => return None,
            },
            PromptGenerator::Template(_) | PromptGenerator::Dataset(_) => return None,
        };
        let prefix = s.prefix.as_ref()?;
        let group = (index % u64::from(prefix.groups.max(1))) as u32;
        Some(s.prefix_text(prefix, group, run_salt))
    }
}

/// The salt of one request: 8 hex digits from SplitMix64 (Steele, Lea & Flood
/// 2014, "Fast splittable pseudorandom number generators", OOPSLA) of the run's
/// random number, the trial and the index, so every request of every run gets its
/// own, whatever order prompts are generated in.
fn salt(run_salt: u64, trial: u32, index: u64) -> String {
    let mut z = run_salt
        ^ (u64::from(trial) << 40)
        ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ 0xD1B5_4A32_D192_ED03;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    format!("{:08x}", z as u32)
}

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
    fn each_word(&self, trial: u32, index: u64, mut f: impl FnMut(&'static str)) {
        let mut rng = self.rng(trial, index);
        let len = lengths::draw(&self.lengths, &mut rng);
        for _ in 0..len {
            f(WORDS[rng.gen_range(0..WORDS.len())]);
        }
    }

    /// The prompt of one request: its group's shared prefix (if any), then its
    /// own salt (when salted) and words.
    fn text(&self, run_salt: Option<u64>, trial: u32, index: u64) -> String {
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
    fn prefix_text(&self, prefix: &SharedPrefix, group: u32, run_salt: Option<u64>) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_prompts_have_the_requested_length_and_differ() {
        let g = PromptGenerator::synthetic(64, 0.0, 1);
        let a = g.prompt(0, 0);
        assert_eq!(a.split_whitespace().count(), 64);
        assert_ne!(a, g.prompt(0, 1));
        assert_eq!(a, g.prompt(0, 0));
    }

    #[test]
    fn spread_varies_length_around_the_mean() {
        let g = PromptGenerator::synthetic(200, 0.1, 3);
        let lens: Vec<usize> = (0..400)
            .map(|i| g.prompt(0, i).split_whitespace().count())
            .collect();
        let mean = lens.iter().sum::<usize>() as f64 / lens.len() as f64;
        assert!((mean - 200.0).abs() < 5.0, "mean {mean}");
        assert!(lens.iter().any(|&l| l != 200));
    }

    #[test]
    fn json_prompts_are_the_prompts_as_json_strings() {
        let generators = [
            PromptGenerator::synthetic(50, 0.2, 9),
            PromptGenerator::Template("say \"hi\"\n\tand é".into()),
            PromptGenerator::Template("say \"hi\"".into()).salted(77),
            PromptGenerator::synthetic(5, 0.0, 9).salted(78),
        ];
        for g in generators {
            for index in 0..20 {
                let mut out = b"x".to_vec();
                g.write_json(1, index, &mut out);
                let expected = serde_json::to_vec(&g.prompt(1, index)).unwrap();
                assert_eq!(out[1..], expected[..], "{g:?} {index}");
            }
        }
    }

    /// Salted prompts: the seeded text after a salt that differs per request and
    /// per run (two runs with one seed send different prompts), 9 characters long.
    #[test]
    fn salts_differ_per_request_and_per_run_and_keep_the_seeded_text() {
        let plain = PromptGenerator::synthetic(16, 0.0, 1);
        let run_a = plain.clone().salted(1);
        let run_b = plain.clone().salted(2);
        let a = run_a.prompt(0, 0);
        assert_eq!(a.len(), plain.prompt(0, 0).len() + SALT_LEN);
        assert_eq!(&a[SALT_LEN..], plain.prompt(0, 0));
        assert!(a[..8].bytes().all(|b| b.is_ascii_hexdigit()) && &a[8..9] == " ");
        assert_ne!(a, run_b.prompt(0, 0), "another run, another salt");
        assert_eq!(a, run_a.prompt(0, 0), "one run: stable");
        let salts: std::collections::HashSet<String> = (0..2)
            .flat_map(|trial| (0..5000).map(move |i| (trial, i)))
            .map(|(trial, i)| run_a.prompt(trial, i)[..8].to_string())
            .collect();
        assert_eq!(salts.len(), 10_000, "no two requests of a run share a salt");
        let template = PromptGenerator::Template("Say hello.".into()).salted(5);
        assert!(template.prompt(0, 3).ends_with(" Say hello."));
        assert_ne!(template.prompt(0, 3), template.prompt(0, 4));
        assert_eq!(template.approx_tokens(), 2);
    }

    /// Shared prefixes: requests of a group start with the same text, groups
    /// differ, each request's salt comes after the prefix, and another run (run
    /// salt) shares nothing with this one.
    #[test]
    fn shared_prefixes_are_shared_per_group_and_per_run_only() {
        let plain = PromptGenerator::synthetic(5, 0.0, 1).with_shared_prefix(Some(SharedPrefix {
            groups: 3,
            tokens: 12,
        }));
        let run_a = plain.clone().salted(1);
        let run_b = plain.salted(2);
        let prefix_of = |p: &str| p.split(' ').take(12).collect::<Vec<_>>().join(" ");
        let a: Vec<String> = (0..9).map(|i| run_a.prompt(0, i)).collect();
        for (i, p) in a.iter().enumerate() {
            let words: Vec<&str> = p.split(' ').collect();
            // 12 prefix tokens (group salt + 11 words), request salt, 5 words.
            assert_eq!(words.len(), 12 + 1 + 5, "{p}");
            assert!(words[12].len() == 8 && words[12].bytes().all(|b| b.is_ascii_hexdigit()));
            assert_eq!(
                prefix_of(p),
                prefix_of(&a[i % 3]),
                "same group, same prefix"
            );
            assert_eq!(
                prefix_of(p),
                prefix_of(&run_a.prompt(1, i as u64)),
                "every trial"
            );
        }
        assert_ne!(prefix_of(&a[0]), prefix_of(&a[1]));
        assert_ne!(a[0], a[3], "own salt and words differ");
        assert_ne!(
            prefix_of(&a[0]),
            prefix_of(&run_b.prompt(0, 0)),
            "runs share nothing"
        );
        let mut json = Vec::new();
        run_a.write_json(0, 4, &mut json);
        assert_eq!(json, serde_json::to_vec(&a[4]).unwrap());
    }
}
