//! The config as CLI flags and as a YAML/JSON document.

use clap::Parser;

use super::*;
use crate::sim::UsageMode;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    sim: SimConfig,
}

#[test]
fn flags_and_defaults_agree() {
    let defaults = Cli::parse_from(["x"]).sim;
    assert_eq!(
        format!("{defaults:?}"),
        format!("{:?}", SimConfig::default())
    );
    let cli = Cli::parse_from([
        "x",
        "--ttft-ms",
        "12.5",
        "--usage",
        "on-last-chunk",
        "--send-done",
        "false",
        "--strict-fields",
        "--eos-tokens",
        "9",
        "--api-key",
        "k",
        "--seed",
        "4",
    ])
    .sim;
    assert_eq!(cli.ttft_ms, 12.5);
    assert_eq!(cli.usage, UsageMode::OnLastChunk);
    assert!(!cli.send_done && cli.strict_fields);
    assert_eq!((cli.eos_tokens, cli.seed), (Some(9), 4));
    assert_eq!(cli.api_key.as_deref(), Some("k"));
}

#[test]
fn documents_fill_missing_fields_with_defaults_and_reject_typos() {
    let config: SimConfig = serde_json::from_str(r#"{"itl_ms": 2, "usage": "none"}"#).unwrap();
    assert_eq!(config.itl_ms, 2.0);
    assert_eq!(config.usage, UsageMode::None);
    assert_eq!(config.ttft_ms, 50.0);
    let typo = serde_json::from_str::<SimConfig>(r#"{"itl": 2}"#).unwrap_err();
    assert!(typo.to_string().contains("unknown field"), "{typo}");
}

#[test]
fn the_api_key_never_leaves_the_process() {
    let config = SimConfig {
        api_key: Some("sekrit".into()),
        ..SimConfig::default()
    };
    assert!(!format!("{config:?}").contains("sekrit"));
    assert!(!serde_json::to_string(&config).unwrap().contains("sekrit"));
}

#[test]
fn validate_names_the_bad_field() {
    assert!(SimConfig::default().validate().is_ok());
    let bad = [
        (
            SimConfig {
                error_500_rate: 1.5,
                ..SimConfig::default()
            },
            "error_500_rate",
        ),
        (
            SimConfig {
                stall_rate: f64::NAN,
                ..SimConfig::default()
            },
            "stall_rate",
        ),
        (
            SimConfig {
                itl_ms: -1.0,
                ..SimConfig::default()
            },
            "itl_ms",
        ),
        (
            SimConfig {
                ttft_ms: f64::INFINITY,
                ..SimConfig::default()
            },
            "ttft_ms",
        ),
        (
            SimConfig {
                tokens_per_chunk: 0,
                ..SimConfig::default()
            },
            "tokens_per_chunk",
        ),
        (
            SimConfig {
                batch_size: 0,
                ..SimConfig::default()
            },
            "batch_size",
        ),
        (
            SimConfig {
                error_429_rate: 0.6,
                disconnect_rate: 0.6,
                ..SimConfig::default()
            },
            "error_429_rate",
        ),
    ];
    for (config, field) in bad {
        let error = config.validate().unwrap_err();
        assert!(error.contains(field), "{error}");
    }
}
