//! Prompt text for each request.
//!
//! Templates are sent as written. Synthetic prompts are seeded random sequences of
//! common English words, each about one token in the tokenizers of Llama, Qwen and
//! GPT-style models, so a target of N tokens gives a prompt of roughly N tokens
//! without shipping a tokenizer. The server's `usage.prompt_tokens` records the
//! exact count. How they are drawn is `prompts/synthetic.rs`'s; this file
//! chooses among the kinds of prompts and salts them.
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

mod synthetic;

use super::lengths::Lengths;
use super::tokenizer::TokenCounter;
use crate::config::SharedPrefix;
pub use synthetic::Synthetic;

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

#[cfg(test)]
mod tests;
