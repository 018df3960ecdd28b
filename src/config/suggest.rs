//! "Did you mean ...?" for misspelt keys, enum values and names.
//!
//! One place decides how close is close enough, so a typo in a key, in `arrival:`
//! or in a scenario's `prompt:` reference is answered the same way.

/// The candidate closest to `word`, if it is plausibly a typo of it.
pub(crate) fn did_you_mean<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let word = normalize(word);
    if word.is_empty() {
        return None;
    }
    candidates
        .into_iter()
        .filter_map(|c| {
            let candidate = normalize(c);
            let distance = strsim::damerau_levenshtein(&word, &candidate);
            let longest = word.chars().count().max(candidate.chars().count());
            // A few edits, or the same start (`ttft` for `ttft_ms`).
            let close = (distance <= 2.max(longest / 3) && distance < longest)
                || strsim::jaro_winkler(&word, &candidate) >= 0.85;
            close.then_some((c, distance))
        })
        .min_by_key(|(_, distance)| *distance)
        .map(|(c, _)| c)
}

/// Case and `-`/`_` differences count as no difference at all.
fn normalize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c == '-' {
                '_'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// `` `a`, `b`, `c` `` for messages that list the valid choices.
pub(crate) fn list<'a, I>(items: I) -> String
where
    I: IntoIterator<Item = &'a str>,
{
    items
        .into_iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_matches_only() {
        let keys = ["concurrency", "rate", "requests", "max_concurrency"];
        assert_eq!(did_you_mean("concurency", keys), Some("concurrency"));
        assert_eq!(
            did_you_mean("max-concurrency", keys),
            Some("max_concurrency")
        );
        assert_eq!(did_you_mean("Rate", keys), Some("rate"));
        assert_eq!(did_you_mean("rte", keys), Some("rate"));
        assert_eq!(did_you_mean("banana", keys), None);
        assert_eq!(
            did_you_mean("ttft", ["ttft_ms", "tpot_ms", "e2e_ms"]),
            Some("ttft_ms")
        );
        assert_eq!(did_you_mean("seed", ["stream", "trials", "warmup"]), None);
        assert_eq!(did_you_mean("x", ["y"]), None);
        assert_eq!(did_you_mean("", keys), None);
    }

    #[test]
    fn lists_with_backticks() {
        assert_eq!(list(["a", "b"]), "`a`, `b`");
    }
}
