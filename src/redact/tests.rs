use std::io::Write;

use super::*;

const KEY: &str = "sk-canary-5ecr3t\"<&>/key";

fn redactor() -> Redactor {
    Redactor::new([KEY.to_string(), "short".to_string()])
}

#[test]
fn every_form_of_a_secret_is_masked() {
    let r = redactor();
    let json = serde_json::to_string(KEY).unwrap();
    let html = "sk-canary-5ecr3t&quot;&lt;&amp;&gt;/key";
    let url = "sk-canary-5ecr3t%22%3C%26%3E%2Fkey";
    let text = format!("raw {KEY} json {json} html {html} url {url} end");
    assert_eq!(
        r.redact(&text),
        "raw *** json \"***\" html *** url *** end",
        "{text}"
    );
    // Too short to be told from ordinary text.
    assert_eq!(r.redact("a short text"), "a short text");
    assert!(matches!(r.redact("nothing here"), Cow::Borrowed(_)));
}

#[test]
fn a_secret_cut_off_by_an_ellipsis_is_masked() {
    let r = redactor();
    assert_eq!(
        r.redact("HTTP 401: invalid key sk-canary-5ecr…"),
        "HTTP 401: invalid key ***…"
    );
    // Fewer than MIN_SECRET_CHARS of it tell nothing.
    assert_eq!(r.redact("about sk-can…"), "about sk-can…");
    assert_eq!(r.redact("a whole sk-x…"), "a whole sk-x…");
}

#[test]
fn overlapping_secrets_mask_the_longest() {
    let r = Redactor::new(["abcdefgh".to_string(), "abcdefghijkl".to_string()]);
    assert_eq!(r.redact("x abcdefghijkl y abcdefgh z"), "x *** y *** z");
}

/// Written in pieces of every size, a stream comes out as the whole text
/// redacted at once.
#[test]
fn a_stream_is_masked_across_write_boundaries() {
    let r = redactor();
    let mut text = String::new();
    for i in 0..3000 {
        text.push_str(&format!("row {i} "));
        if i % 97 == 0 {
            text.push_str(KEY);
        }
        if i % 131 == 0 {
            text.push_str(&KEY[..12]);
            text.push('…');
        }
    }
    let expected = r.redact(&text).into_owned();
    assert!(!expected.contains("canary"));
    for piece in [1, 7, 64, 1000, 70_000] {
        let mut w = r.writer(Vec::new());
        for chunk in text.as_bytes().chunks(piece) {
            w.write_all(chunk).unwrap();
            w.flush().unwrap();
        }
        let out = String::from_utf8(w.finish().unwrap()).unwrap();
        assert_eq!(out, expected, "pieces of {piece}");
    }
    // No secrets: bytes pass through unchanged.
    let mut w = Redactor::default().writer(Vec::new());
    w.write_all(text.as_bytes()).unwrap();
    assert_eq!(w.finish().unwrap(), text.as_bytes());
}

#[test]
fn secrets_are_recognised_by_name() {
    for name in [
        "OPENAI_API_KEY",
        "GITHUB_TOKEN",
        "HF_TOKEN",
        "my_secret",
        "DB_PASSWORD",
    ] {
        assert!(is_secret_name(name), "{name}");
    }
    for name in ["PATH", "HOME", "CUDA_VISIBLE_DEVICES", "KEYBOARD"] {
        assert!(!is_secret_name(name), "{name}");
    }
    assert!(is_secret_header("Authorization") && is_secret_header("X-Api-Key"));
    assert!(!is_secret_header("Content-Type"));
    assert_eq!(
        header_secrets("Bearer sk-1234567890"),
        ["Bearer sk-1234567890", "sk-1234567890"]
    );
    assert_eq!(
        url_secrets("https://user:pa55word-x@h/v1?api_key=k3y-in-the-url&model=m"),
        ["pa55word-x", "k3y-in-the-url"]
    );
    let env = [
        ("OPENAI_API_KEY".to_string(), "sk-env".to_string()),
        ("PATH".to_string(), "/usr/bin".to_string()),
    ];
    assert_eq!(env_secrets(env), ["sk-env"]);
}
