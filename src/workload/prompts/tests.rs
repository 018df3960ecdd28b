//! Synthetic, salted and shared-prefix prompts: lengths, determinism, the salts'
//! uniqueness, and `write_json` writing exactly `prompt`'s text.

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
