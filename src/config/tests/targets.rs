//! Mistakes in targets.yaml and models.yaml, and keeping secrets secret.

use super::*;
use crate::config::{ApiFlavor, Endpoint, MetricsSource};

const VLLM: &str = "\
default: vllm
targets:
  vllm:
    base_url: http://${HOST}:8000/v1/
    api_key: ${API_KEY}
    api: completions
    headers:
      X-Org: ${ORG:-acme}
      X-Optional: ${UNSET_HEADER:-}
    timeouts: { connect: 2s, stall: 500ms }
    metrics: off
    model: m
";

#[test]
fn env_vars_expand_with_defaults() {
    let config = load(VLLM, MODELS, WORKLOADS).expect("valid");
    let t = config.target("vllm").unwrap();
    assert!(matches!(&t.endpoint, Endpoint::Url(u) if u == "http://gpu-1:8000/v1"));
    assert_eq!(t.api, ApiFlavor::Completions);
    assert_eq!(t.api_key.as_ref().map(|k| k.expose()), Some(SECRET));
    let headers: Vec<(&str, &str)> = t
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.expose()))
        .collect();
    assert_eq!(headers, [("X-Org", "acme")]);
    assert_eq!(t.timeouts.connect.as_millis(), 2000);
    assert_eq!(t.timeouts.request.as_secs(), 600);
    assert_eq!(t.timeouts.stall.as_millis(), 500);
    assert_eq!(t.metrics, MetricsSource::Off);
    assert_eq!(t.model.as_deref(), Some("m"));
}

#[test]
fn undefined_env_var_names_the_variable() {
    let text = VLLM.replace("${API_KEY}", "${VLLM_API_KEY}");
    let e = only_error(&text, MODELS, WORKLOADS);
    assert_eq!(place(&e), "targets.yaml:5:14: targets.vllm.api_key");
    assert_eq!(
        e.message,
        "environment variable `VLLM_API_KEY` is not set; export it or write \
         `${VLLM_API_KEY:-}` for an optional key"
    );
}

#[test]
fn optional_key_that_is_unset_means_no_key() {
    let text = VLLM.replace("${API_KEY}", "${VLLM_API_KEY:-}");
    let config = load(&text, MODELS, WORKLOADS).expect("valid");
    assert!(config.target("vllm").unwrap().api_key.is_none());
}

#[test]
fn secrets_never_appear_in_errors_or_debug_output() {
    let config = load(VLLM, MODELS, WORKLOADS).expect("valid");
    let debug = format!("{config:?} {:#?}", config);
    assert!(!debug.contains(SECRET), "secret leaked into Debug output");
    assert!(debug.contains("api_key: Some(***)"), "{debug}");

    // A file with the key set AND several other errors around it.
    let broken = VLLM
        .replace("${ORG:-acme}", "${ORG}")
        .replace("metrics: off", "metrics: ${API_KEY}")
        .replace("base_url: http://${HOST}:8000/v1/", "base_url: ${API_KEY}");
    let errors = load(&broken, MODELS, WORKLOADS).unwrap_err();
    assert_eq!(errors.0.len(), 3, "{errors}");
    let text = format!("{errors} {errors:?}");
    assert!(
        !text.contains(SECRET),
        "secret leaked into an error: {text}"
    );

    // A literal key of the wrong type is not echoed either.
    let literal = "targets:\n  t:\n    builtin: sim\n    api_key: 123456789987654321\n";
    if let Err(errors) = load(literal, MODELS, WORKLOADS) {
        assert!(
            !errors.to_string().contains("123456789987654321"),
            "{errors}"
        );
    }
}

#[test]
fn bad_base_url() {
    let text = "targets:\n  t:\n    base_url: localhost:8000/v1\n";
    let e = only_error(text, MODELS, WORKLOADS);
    assert_eq!(place(&e), "targets.yaml:3:15: targets.t.base_url");
    assert_eq!(
        e.message,
        "must start with http:// or https:// (got `localhost:8000/v1`)"
    );
    let text = "targets:\n  t:\n    base_url: http://h/v1/chat/completions\n";
    let e = only_error(text, MODELS, WORKLOADS);
    assert!(
        e.message.contains("drop `/chat/completions`"),
        "{}",
        e.message
    );
}

#[test]
fn endpoint_must_be_exactly_one_kind() {
    let e = only_error("targets:\n  t:\n    api: chat\n", MODELS, WORKLOADS);
    assert_eq!(place(&e), "targets.yaml:2:3: targets.t");
    assert!(
        e.message.starts_with("no endpoint; add `base_url:"),
        "{}",
        e.message
    );
    let e = only_error(
        "targets:\n  t:\n    base_url: http://h/v1\n    builtin: sim\n",
        MODELS,
        WORKLOADS,
    );
    assert_eq!(place(&e), "targets.yaml:4:5: targets.t.builtin");
    let e = only_error(
        "targets:\n  t:\n    base_url: http://h/v1\n    sim: { ttft_ms: 1 }\n",
        MODELS,
        WORKLOADS,
    );
    assert_eq!(place(&e), "targets.yaml:4:5: targets.t.sim");
}

#[test]
fn sim_settings_are_checked_by_the_sim() {
    let e = only_error(
        "targets:\n  t:\n    builtin: sim\n    sim: { ttft: 1 }\n",
        MODELS,
        WORKLOADS,
    );
    assert_eq!(place(&e), "targets.yaml:4:12: targets.t.sim.ttft");
    assert_eq!(e.message, "unknown key `ttft`; did you mean `ttft_ms`?");
    let e = only_error(
        "targets:\n  t:\n    builtin: sim\n    sim: { ttft_ms: -1 }\n",
        MODELS,
        WORKLOADS,
    );
    assert_eq!(place(&e), "targets.yaml:4:21: targets.t.sim.ttft_ms");
    assert!(
        e.message.starts_with("simulated server: ttft_ms must be"),
        "{}",
        e.message
    );
}

#[test]
fn unknown_api_flavor() {
    let e = only_error(
        "targets:\n  t:\n    builtin: sim\n    api: chatt\n",
        MODELS,
        WORKLOADS,
    );
    assert_eq!(place(&e), "targets.yaml:4:10: targets.t.api");
    assert_eq!(
        e.message,
        "unknown value `chatt`; did you mean `chat`? (one of `chat`, `completions`)"
    );
}

#[test]
fn bad_timeout_and_metrics() {
    let text = "targets:\n  t:\n    builtin: sim\n    timeouts:\n      request: 0s\n      stall: soon\n    metrics: maybe\n";
    let errors = load(text, MODELS, WORKLOADS).unwrap_err().0;
    let places: Vec<String> = errors.iter().map(place).collect();
    assert_eq!(
        places,
        [
            "targets.yaml:5:16: targets.t.timeouts.request",
            "targets.yaml:6:14: targets.t.timeouts.stall",
            "targets.yaml:7:14: targets.t.metrics",
        ]
    );
}

#[test]
fn default_target_must_exist() {
    let e = only_error(
        "default: vlm\ntargets:\n  vllm: { base_url: \"http://h/v1\" }\n",
        MODELS,
        WORKLOADS,
    );
    assert_eq!(place(&e), "targets.yaml:1:10: default");
    assert_eq!(
        e.message,
        "no target named `vlm` in this file; did you mean `vllm`?"
    );
}

#[test]
fn default_is_required_when_there_are_several() {
    let text = "targets:\n  a: { builtin: sim }\n  b: { builtin: sim }\n";
    let e = only_error(text, MODELS, WORKLOADS);
    assert_eq!(place(&e), "targets.yaml: ");
    assert!(
        e.message
            .contains("add `default: NAME` naming one of `a`, `b`"),
        "{}",
        e.message
    );
}

#[test]
fn target_model_must_be_in_models_yaml() {
    let text = "targets:\n  t:\n    builtin: sim\n    model: n\n";
    let e = only_error(text, MODELS, WORKLOADS);
    assert_eq!(place(&e), "targets.yaml:4:12: targets.t.model");
    assert!(
        e.message.starts_with("no model named `n` in models.yaml"),
        "{}",
        e.message
    );
}

#[test]
fn model_names_are_unique_and_settings_checked() {
    let text = "default: a\nmodels:\n  a: { max_tokens: 0 }\n  b:\n    extra_body: { stream: false, ignore_eos: true }\n  a: {}\n";
    let errors = load(TARGETS, text, WORKLOADS).unwrap_err().0;
    // The duplicate stops the parse, so only it is reported.
    assert_eq!(errors.len(), 1, "{}", ConfigErrors(errors.clone()));
    assert_eq!(place(&errors[0]), "models.yaml:6:3: models.a");
    let text = "default: a\nmodels:\n  a: { max_tokens: 0 }\n  b:\n    extra_body: { stream: false, ignore_eos: true }\n";
    let errors = load(TARGETS, text, WORKLOADS).unwrap_err().0;
    let places: Vec<String> = errors.iter().map(place).collect();
    assert_eq!(
        places,
        [
            "models.yaml:3:20: models.a.max_tokens",
            "models.yaml:5:19: models.b.extra_body.stream"
        ]
    );
}

#[test]
fn models_keep_extra_body_and_default_max_tokens() {
    let text = "default: \"org/Model-7B\"\nmodels:\n  \"org/Model-7B\":\n    extra_body: { ignore_eos: true, min_tokens: 128 }\n  other:\n";
    let config = load(TARGETS, text, WORKLOADS).expect("valid");
    let m = config.model("org/Model-7B").unwrap();
    assert_eq!(m.max_tokens, 128);
    assert_eq!(
        m.extra_body.get("min_tokens"),
        Some(&serde_json::json!(128))
    );
    assert_eq!(config.model("other").map(|m| m.max_tokens), Some(128));
}

/// A CR or LF in a header value (a quoted `\r\n`, a block scalar's trailing
/// newline) would end the header early: refused where it is written, without
/// quoting the value.
#[test]
fn header_values_with_line_breaks_are_refused() {
    let text = "targets:\n  t:\n    base_url: http://h/v1\n    headers:\n      X-Org: \"acme\\r\\nX-Evil: 1\"\n";
    let e = only_error(text, MODELS, WORKLOADS);
    assert_eq!(place(&e), "targets.yaml:5:14: targets.t.headers.X-Org");
    assert!(e.message.contains("line break (CR)"), "{}", e.message);
    assert!(!e.message.contains("X-Evil"), "{}", e.message);
    let text = "targets:\n  t:\n    base_url: http://h/v1\n    api_key: |\n      sk-from-a-file\n";
    let e = only_error(text, MODELS, WORKLOADS);
    assert_eq!(place(&e), "targets.yaml:4:14: targets.t.api_key");
    assert!(e.message.contains("line break (LF)"), "{}", e.message);
    assert!(e.message.contains("Authorization"), "{}", e.message);
    assert!(!e.message.contains("sk-from-a-file"), "{}", e.message);
}

#[test]
fn ca_cert_is_read_relative_to_the_config_folder_and_a_missing_file_is_named() {
    let text = "targets:\n  t:\n    base_url: https://h/v1\n    ca_cert: certs/ca.pem\n";
    let e = only_error(text, MODELS, WORKLOADS);
    assert_eq!(place(&e), "targets.yaml:4:14: targets.t.ca_cert");
    assert!(
        e.message.contains("ca.pem") && e.message.contains("cannot read"),
        "{}",
        e.message
    );

    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), text, MODELS, WORKLOADS);
    std::fs::create_dir(dir.path().join("certs")).unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["h".to_string()]).unwrap();
    std::fs::write(dir.path().join("certs/ca.pem"), cert.cert.pem()).unwrap();
    let config = load_dir(dir.path(), &env).unwrap();
    let ca = config.targets[0].ca_cert.as_ref().expect("ca_cert read");
    assert_eq!(ca.certs(), [cert.cert.der().clone()]);
}
