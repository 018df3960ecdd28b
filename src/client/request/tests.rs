//! Request bodies: what each API asks for, prepared bodies byte-identical to built
//! ones, the output limit and per-request output lengths, `extra_body` overrides.

use super::*;

#[test]
fn chat_body_asks_for_usage_and_merges_extra() {
    let mut extra = Map::new();
    extra.insert("min_tokens".into(), json!(16));
    let t = BodyTemplate {
        api: Api::Chat,
        model: "m".into(),
        max_tokens: 16,
        ignore_eos: true,
        stream: true,
        extra,
    };
    let v: Value = serde_json::from_slice(&t.body("hi \"there\"")).unwrap();
    assert_eq!(v["messages"][0]["content"], "hi \"there\"");
    assert_eq!(v["stream_options"]["include_usage"], true);
    assert_eq!(v["ignore_eos"], true);
    assert_eq!(v["min_tokens"], 16);
    assert_eq!(v["max_tokens"], 16);
}

#[test]
fn completions_body_without_stream_has_no_stream_options() {
    let t = BodyTemplate {
        api: Api::Completions,
        model: "m".into(),
        max_tokens: 4,
        ignore_eos: false,
        stream: false,
        extra: Map::new(),
    };
    let v: Value = serde_json::from_slice(&t.body("p")).unwrap();
    assert_eq!(v["prompt"], "p");
    assert!(v.get("stream_options").is_none());
    assert!(v.get("ignore_eos").is_none());
}

fn prepared(t: &BodyTemplate, prompt: &str) -> Vec<u8> {
    t.prepare().render(prompt.len(), |out| {
        serde_json::to_writer(out, prompt).unwrap()
    })
}

#[test]
fn prepared_bodies_are_byte_identical_to_built_ones() {
    let mut extra = Map::new();
    extra.insert("min_tokens".into(), json!(16));
    extra.insert("zz".into(), json!({"nested": ["a", 1]}));
    for api in [Api::Chat, Api::Completions] {
        for stream in [true, false] {
            let t = BodyTemplate {
                api,
                model: "org/model \"v2\"".into(),
                max_tokens: 7,
                ignore_eos: stream,
                stream,
                extra: extra.clone(),
            };
            for prompt in ["", "hello world", "quote \" and \\ and \n and é ✓"] {
                assert_eq!(prepared(&t, prompt), t.body(prompt), "{api:?} {prompt}");
            }
        }
    }
}

#[test]
fn the_output_limit_follows_what_the_body_asks_for() {
    let mut t = BodyTemplate {
        api: Api::Chat,
        model: "m".into(),
        max_tokens: 16,
        ignore_eos: false,
        stream: true,
        extra: Map::new(),
    };
    assert_eq!(t.output_limit(), Some(16));
    t.extra.insert("n".into(), json!(3));
    assert_eq!(t.output_limit(), Some(48));
    t.extra.insert("max_completion_tokens".into(), json!(10));
    assert_eq!(t.output_limit(), Some(30));
    t.extra.insert("max_tokens".into(), json!(4));
    assert_eq!(t.prepare().output_limit, Some(12));
    t.extra.insert("max_tokens".into(), Value::Null);
    assert_eq!(t.output_limit(), None);
}

/// Each request's own `max_tokens` (and `min_tokens` where `extra_body` sets
/// it) lands in the body, which stays otherwise the one `body` builds.
#[test]
fn per_request_output_lengths_fill_max_tokens_and_min_tokens() {
    let mut extra = Map::new();
    extra.insert("min_tokens".into(), json!(1));
    extra.insert("n".into(), json!(2));
    let t = BodyTemplate {
        api: Api::Chat,
        model: "m".into(),
        max_tokens: 16,
        ignore_eos: true,
        stream: true,
        extra,
    };
    let prepared = t.prepare_per_request_output();
    let body = prepared.render_with(8, Some(77), |out| {
        serde_json::to_writer(out, "hi \"x\"").unwrap()
    });
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (v["max_tokens"].clone(), v["min_tokens"].clone()),
        (json!(77), json!(77))
    );
    assert_eq!(v["messages"][0]["content"], "hi \"x\"");
    assert_eq!(prepared.output_limit_of(Some(77)), Some(154));
    let mut expected: Value = serde_json::from_slice(&t.body("hi \"x\"")).unwrap();
    expected["max_tokens"] = json!(77);
    expected["min_tokens"] = json!(77);
    assert_eq!(v, expected);
    // Without `min_tokens` in extra_body, none is added.
    let plain = BodyTemplate {
        extra: Map::new(),
        ..t
    };
    let body = plain
        .prepare_per_request_output()
        .render_with(1, Some(5), |out| serde_json::to_writer(out, "p").unwrap());
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["max_tokens"], 5);
    assert!(v.get("min_tokens").is_none());
}

#[test]
fn extra_body_replacing_the_prompt_field_wins_as_before() {
    let mut extra = Map::new();
    extra.insert(
        "messages".into(),
        json!([{"role": "user", "content": "fixed"}]),
    );
    let t = BodyTemplate {
        api: Api::Chat,
        model: "m".into(),
        max_tokens: 1,
        ignore_eos: false,
        stream: true,
        extra,
    };
    assert_eq!(prepared(&t, "ignored"), t.body("ignored"));
    let v: Value = serde_json::from_slice(&prepared(&t, "ignored")).unwrap();
    assert_eq!(v["messages"][0]["content"], "fixed");
}
