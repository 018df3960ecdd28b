//! `--prefix-cache`: an automatic prefix cache as vLLM keeps one, so the state a
//! real server carries from one run to the next can be reproduced in tests.
//!
//! A prompt's words (the simulator's tokens) are cut into blocks of
//! [`BLOCK_TOKENS`]; each full block is identified by a hash chained through the
//! blocks before it, so a block matches only when everything before it matched
//! too. A request is served from the cache for its leading blocks that an earlier
//! request already computed; those tokens skip the per-token prefill cost, and
//! `/metrics` counts them under vLLM's names (`vllm:prefix_cache_queries_total`:
//! prompt tokens looked up; `vllm:prefix_cache_hits_total`: tokens found), which is
//! how llm-bench reads a server's hit rate.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

/// Tokens per cache block (vLLM's default block size).
pub(crate) const BLOCK_TOKENS: usize = 16;
/// Blocks kept at most; the cache starts afresh when full (a real one evicts the
/// least recently used), so a long-running simulator stays bounded.
const MAX_BLOCKS: usize = 1 << 20;

/// The cache and its counters; one per server.
#[derive(Debug, Default)]
pub(crate) struct PrefixCache {
    blocks: Mutex<HashSet<u64>>,
    pub queries: AtomicU64,
    pub hits: AtomicU64,
}

impl PrefixCache {
    /// Serves one prompt of `prompt_tokens` tokens whose full blocks hash to
    /// `blocks`: returns how many of its tokens were cached (its leading blocks
    /// already seen), then remembers every block.
    pub fn serve(&self, prompt_tokens: u64, blocks: &[u64]) -> u64 {
        let mut cached = self
            .blocks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let found = blocks.iter().take_while(|b| cached.contains(b)).count();
        if cached.len() + blocks.len() > MAX_BLOCKS {
            cached.clear();
        }
        cached.extend(blocks.iter().copied());
        drop(cached);
        let hit_tokens = (found * BLOCK_TOKENS) as u64;
        self.queries.fetch_add(prompt_tokens, Relaxed);
        self.hits.fetch_add(hit_tokens, Relaxed);
        hit_tokens
    }
}

/// The chained hash of each full block of [`BLOCK_TOKENS`] words.
pub(crate) fn block_hashes<'a>(words: impl Iterator<Item = &'a str>) -> Vec<u64> {
    let mut hashes = Vec::new();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let mut in_block = 0;
    for word in words {
        word.hash(&mut hasher);
        in_block += 1;
        if in_block == BLOCK_TOKENS {
            let h = hasher.finish();
            hashes.push(h);
            // The next block's hash starts from this one: a chain.
            hasher = std::collections::hash_map::DefaultHasher::new();
            h.hash(&mut hasher);
            in_block = 0;
        }
    }
    hashes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(n: usize, salt: &str) -> Vec<String> {
        std::iter::once(salt.to_string())
            .chain((1..n).map(|i| format!("w{i}")))
            .collect()
    }

    #[test]
    fn leading_full_blocks_hit_and_a_different_first_word_misses_everything() {
        let cache = PrefixCache::default();
        let a = words(40, "a");
        let blocks_a = block_hashes(a.iter().map(String::as_str));
        assert_eq!(blocks_a.len(), 2, "40 words: two full blocks");
        assert_eq!(cache.serve(40, &blocks_a), 0, "cold");
        assert_eq!(
            cache.serve(40, &blocks_a),
            32,
            "the same prompt: both blocks"
        );
        let b = words(40, "b");
        let blocks_b = block_hashes(b.iter().map(String::as_str));
        assert_eq!(
            cache.serve(40, &blocks_b),
            0,
            "another first word: no block"
        );
        let mut c = a.clone();
        c[20] = "changed".into();
        let blocks_c = block_hashes(c.iter().map(String::as_str));
        assert_eq!(cache.serve(40, &blocks_c), 16, "the first block only");
        assert_eq!(cache.queries.load(Relaxed), 160);
        assert_eq!(cache.hits.load(Relaxed), 48);
    }
}
