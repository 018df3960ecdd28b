//! One redactor for every text that leaves the process: result files, stdout,
//! stderr and what `llm-bench comment` publishes to GitHub.
//!
//! Secrets reach outputs by ways no single module can foresee: a server echoing the
//! key in an error body or an SSE error event, a proxy's HTML page quoting the
//! `Authorization` header, a `/version` answer. So instead of trusting each source,
//! every configured secret is removed at the edges: the sink's rows, the atomic
//! writes of `results` (summary, reports, comparisons, baselines), the crate's
//! `println!`/`eprintln!` (shadowed in `lib.rs`), the binary's error line and the
//! job summary and comment.
//!
//! What counts as a secret: the API key (`--api-key-env`, targets.yaml `api_key`),
//! credential-like header values, a password or key in the URL, and the value of
//! every environment variable whose name says it is one (`*_API_KEY`, `*_TOKEN`,
//! `GITHUB_TOKEN`, ...). Each is also matched as JSON-, HTML- and URL-escaped, and
//! as a prefix cut off by an ellipsis (error excerpts are shortened with `…`).
//! Values shorter than [`MIN_SECRET_CHARS`] are not matched: hiding every `abc`
//! would mangle numbers and names, and so short a key protects nothing.

mod writer;

use std::borrow::Cow;
use std::ops::Range;
use std::sync::{Arc, LazyLock, RwLock};

pub use writer::RedactingWriter;

/// What a secret is replaced with (GitHub's own mask).
pub const MASK: &str = "***";
/// Shorter values are not treated as secrets.
pub const MIN_SECRET_CHARS: usize = 8;

/// Replaces every known secret in a text.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// The secrets as given, for [`Redactor::with`].
    secrets: Vec<String>,
    /// Byte patterns to replace, longest first.
    needles: Vec<Vec<u8>>,
    /// Finds the leftmost, longest needle in one pass; `None` without needles.
    matcher: Option<aho_corasick::AhoCorasick>,
}

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Redactor {
        Redactor::default().with(secrets)
    }

    /// This redactor plus `more` secrets.
    pub fn with(&self, more: impl IntoIterator<Item = String>) -> Redactor {
        let mut secrets = self.secrets.clone();
        for s in more {
            if s.chars().count() >= MIN_SECRET_CHARS && !secrets.contains(&s) {
                secrets.push(s);
            }
        }
        let mut needles: Vec<Vec<u8>> = secrets.iter().flat_map(|s| variants(s)).collect();
        needles.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        needles.dedup();
        let matcher = (!needles.is_empty())
            .then(|| {
                aho_corasick::AhoCorasick::builder()
                    .match_kind(aho_corasick::MatchKind::LeftmostLongest)
                    .build(&needles)
                    .ok()
            })
            .flatten();
        Redactor {
            secrets,
            needles,
            matcher,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    /// `text` with every secret replaced by [`MASK`].
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match self.redact_bytes(text.as_bytes()) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            // Needles are whole UTF-8 strings, so cuts fall on character boundaries.
            Cow::Owned(bytes) => Cow::Owned(String::from_utf8_lossy(&bytes).into_owned()),
        }
    }

    /// `bytes` with every secret replaced by [`MASK`].
    pub fn redact_bytes<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        let regions = self.regions(bytes);
        if regions.is_empty() {
            return Cow::Borrowed(bytes);
        }
        Cow::Owned(apply(bytes, &regions))
    }

    /// Wraps a writer so everything written through it is redacted.
    pub fn writer<W: std::io::Write>(&self, inner: W) -> RedactingWriter<W> {
        RedactingWriter::new(self.clone(), inner)
    }

    /// The byte ranges of `bytes` to mask, in order and disjoint: every whole
    /// secret (the longest at each position), and a secret's start (at least
    /// [`MIN_SECRET_CHARS`] bytes) cut off by an ellipsis, as error excerpts end.
    fn regions(&self, bytes: &[u8]) -> Vec<Range<usize>> {
        if self.is_empty() {
            return Vec::new();
        }
        let mut regions: Vec<Range<usize>> = match &self.matcher {
            Some(matcher) => matcher.find_iter(bytes).map(|m| m.range()).collect(),
            None => Vec::new(),
        };
        let mut from = 0;
        while let Some(i) = memchr::memmem::find(&bytes[from..], ELLIPSIS) {
            let q = from + i;
            let cut = self
                .needles
                .iter()
                .filter_map(|n| cut_prefix_len(&bytes[..q], n))
                .max();
            if let Some(cut) = cut {
                let region = q - cut..q;
                if !regions
                    .iter()
                    .any(|r| r.start < region.end && region.start < r.end)
                {
                    regions.push(region);
                }
            }
            from = q + ELLIPSIS.len();
        }
        regions.sort_by_key(|r| r.start);
        regions
    }

    /// How many trailing bytes of a stream may still become part of a match.
    fn hold_back(&self) -> usize {
        self.needles.first().map_or(0, Vec::len) + ELLIPSIS.len()
    }
}

/// How excerpts mark a cut.
const ELLIPSIS: &[u8] = "…".as_bytes();

/// `bytes` with each region replaced by [`MASK`].
fn apply(bytes: &[u8], regions: &[Range<usize>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    for r in regions {
        out.extend_from_slice(&bytes[at..r.start]);
        out.extend_from_slice(MASK.as_bytes());
        at = r.end;
    }
    out.extend_from_slice(&bytes[at..]);
    out
}

/// Length of the longest start of `needle` (at least [`MIN_SECRET_CHARS`] bytes,
/// shorter than the whole) that `before` ends with.
fn cut_prefix_len(before: &[u8], needle: &[u8]) -> Option<usize> {
    (MIN_SECRET_CHARS..needle.len())
        .rev()
        .find(|&n| before.ends_with(&needle[..n]))
}

/// The secret as it may appear in JSON, HTML and URLs.
fn variants(secret: &str) -> Vec<Vec<u8>> {
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json.trim_matches('"').to_string();
    let html: String = secret
        .chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect();
    let url: String = secret
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect();
    [secret.to_string(), json, html, url]
        .into_iter()
        .filter(|v| !v.is_empty())
        .map(String::into_bytes)
        .collect()
}

/// Whether an environment variable's name says it holds a credential.
pub fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_uppercase();
    const SUFFIXES: [&str; 7] = [
        "_KEY",
        "_TOKEN",
        "_SECRET",
        "_PASSWORD",
        "_PASS",
        "_CREDENTIALS",
        "_APIKEY",
    ];
    SUFFIXES.iter().any(|s| name.ends_with(s))
        || matches!(name.as_str(), "TOKEN" | "API_KEY" | "APIKEY" | "PASSWORD")
}

/// Whether an HTTP header's name says its value is a credential.
pub fn is_secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "auth", "key", "token", "secret", "cookie", "password", "session",
    ]
    .iter()
    .any(|w| name.contains(w))
}

/// The secret part of a header value: the value, and for `Bearer sk-…` the
/// credential after the scheme.
pub fn header_secrets(value: &str) -> Vec<String> {
    let mut out = vec![value.to_string()];
    if let Some((_, credential)) = value.split_once(' ') {
        out.push(credential.trim().to_string());
    }
    out
}

/// Credentials in a URL: the userinfo password and credential-like query values.
pub fn url_secrets(url: &str) -> Vec<String> {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return Vec::new();
    };
    let mut out: Vec<String> = parsed.password().map(str::to_string).into_iter().collect();
    for (key, value) in parsed.query_pairs() {
        if is_secret_header(&key) {
            out.push(value.into_owned());
        }
    }
    out
}

/// The secrets in a process environment (see [`is_secret_name`]).
pub fn env_secrets(vars: impl IntoIterator<Item = (String, String)>) -> Vec<String> {
    vars.into_iter()
        .filter(|(name, _)| is_secret_name(name))
        .map(|(_, value)| value)
        .collect()
}

static GLOBAL: LazyLock<RwLock<Arc<Redactor>>> = LazyLock::new(RwLock::default);

/// The process's redactor: every secret registered so far.
pub fn global() -> Arc<Redactor> {
    GLOBAL
        .read()
        .map_or_else(|p| Arc::clone(&p.into_inner()), |g| Arc::clone(&g))
}

/// Adds secrets to the process's redactor.
pub fn register(secrets: impl IntoIterator<Item = String>) {
    let mut guard = GLOBAL.write().unwrap_or_else(|p| p.into_inner());
    *guard = Arc::new(guard.with(secrets));
}

/// [`Redactor::redact`] with the process's redactor.
pub fn text(text: &str) -> String {
    global().redact(text).into_owned()
}

/// Removes `user:password@` from a URL before it is written anywhere.
pub fn strip_credentials(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string().trim_end_matches('/').to_string()
        }
        Err(_) => url.to_string(),
    }
}

#[cfg(test)]
mod tests;
