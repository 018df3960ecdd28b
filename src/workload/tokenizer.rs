//! A model's own tokenizer (models.yaml `tokenizer: PATH`, a Hugging Face
//! `tokenizer.json`), for exact token counts.
//!
//! Without one, synthetic prompts are common words of about one token each and a
//! response's length is the server's `usage` (or one token per chunk). With one,
//! a synthetic prompt is cut or extended until the tokenizer counts exactly the
//! length asked for, and a response that came without `usage` is counted by
//! tokenizing its text. Counts are of the text alone, without special tokens and
//! without the chat template the server wraps around a chat message (which adds a
//! model-specific handful of tokens). The file is read from disk once: nothing is
//! ever downloaded.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokenizers::Tokenizer;

/// A loaded tokenizer; cheap to clone and shared read-only by every request.
#[derive(Clone)]
pub struct TokenCounter {
    tokenizer: Arc<Tokenizer>,
    path: PathBuf,
    /// SHA-256 (hex) of the file: which tokenizer measured the lengths.
    sha256: String,
}

impl std::fmt::Debug for TokenCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenCounter({})", self.path.display())
    }
}

/// Why a tokenizer file could not be used.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot use tokenizer {path}: {reason}; point `tokenizer:` at a Hugging Face tokenizer.json"
)]
pub struct TokenizerError {
    pub path: String,
    pub reason: String,
}

/// Rounds of cutting and extending before [`TokenCounter::fit`] settles for the
/// closest text it has: tokenizers merge across the cut, so one round may not do.
const FIT_ROUNDS: usize = 8;

impl TokenCounter {
    /// Parses a tokenizer.json read from `path` (named in errors only); the
    /// caller reads the file, so this module stays free of I/O.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<TokenCounter, TokenizerError> {
        let error = |reason: String| TokenizerError {
            path: path.display().to_string(),
            reason,
        };
        let tokenizer = Tokenizer::from_bytes(bytes).map_err(|e| error(e.to_string()))?;
        Ok(TokenCounter {
            tokenizer: Arc::new(tokenizer),
            path: path.to_path_buf(),
            sha256: crate::hash::sha256_hex(bytes),
        })
    }

    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Tokens in `text`, without special tokens. A text the tokenizer fails on
    /// counts as `None`.
    pub fn count(&self, text: &str) -> Option<usize> {
        self.tokenizer
            .encode_fast(text, false)
            .ok()
            .map(|e| e.len())
    }

    /// `text` cut or extended (by `more`, which appends a little text) until it is
    /// exactly `target` tokens long; after `FIT_ROUNDS` rounds the last text is
    /// returned as it is. The first `keep` bytes are never cut (a salt): when they
    /// alone are longer than `target`, they are the text. Returns the text and its
    /// count.
    pub fn fit(
        &self,
        mut text: String,
        target: usize,
        keep: usize,
        mut more: impl FnMut(&mut String),
    ) -> (String, usize) {
        let mut count = 0;
        for _ in 0..FIT_ROUNDS {
            let Ok(encoding) = self.tokenizer.encode(text.as_str(), false) else {
                return (text, 0);
            };
            count = encoding.len();
            if count == target {
                break;
            }
            if count < target {
                for _ in count..target {
                    more(&mut text);
                }
            } else {
                // Keep the text up to the end of token `target` (byte offsets).
                let end = encoding.get_offsets()[target.max(1) - 1].1;
                let mut end = end.max(keep).min(text.len());
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                if end >= text.len() {
                    break;
                }
                text.truncate(end);
            }
        }
        (text, count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> TokenCounter {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/tokenizer/tiny-wordpiece.json");
        let bytes = std::fs::read(&path).expect("the test tokenizer is in the repository");
        TokenCounter::from_bytes(&path, &bytes).expect("the test tokenizer loads")
    }

    #[test]
    fn the_test_tokenizer_splits_unknown_words_into_pieces() {
        let t = tiny();
        // "the" is one word of the vocabulary; "zebra" is spelled out letter by letter.
        assert_eq!(t.count("the"), Some(1));
        assert_eq!(t.count("the zebra"), Some(6));
    }

    #[test]
    fn fit_reaches_the_exact_count_from_above_and_below() {
        let t = tiny();
        for target in [1, 2, 7, 50, 333] {
            let (text, n) = t.fit("zebra the river".into(), target, 0, |s| {
                s.push_str(" paper")
            });
            assert_eq!(n, target);
            assert_eq!(t.count(&text), Some(target), "{text:?}");
        }
    }

    #[test]
    fn fit_never_cuts_the_kept_start() {
        let t = tiny();
        // "zebra" alone is 5 tokens: asked for 2, the kept word stays whole.
        let (text, n) = t.fit("zebra the".into(), 2, 5, |s| s.push_str(" the"));
        assert_eq!((text.as_str(), n), ("zebra", 5));
        let (text, n) = t.fit("zebra the the".into(), 6, 5, |s| s.push_str(" the"));
        assert_eq!((text.as_str(), n), ("zebra the", 6));
    }

    #[test]
    fn a_broken_file_says_which_and_why() {
        let bad = Path::new("/config/tokenizer.json");
        let e = TokenCounter::from_bytes(bad, b"{\"model\": 3}").unwrap_err();
        assert!(e.to_string().contains("tokenizer.json"), "{e}");
    }
}
