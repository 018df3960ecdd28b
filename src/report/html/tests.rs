//! Tests of the page's helpers: escaping, fragment ids, times and GPU names.

use super::header::{gpu_text, when};
use super::markup::{anchor, esc};

#[test]
fn escapes() {
    assert_eq!(
        esc("<a href=\"x\">&'"),
        "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
    );
    assert_eq!(anchor("chat short/1"), "s-chat-short-1");
    assert_eq!(
        when(
            "2025-01-01T12:00:00.5+01:00",
            Some("2025-01-01T12:01:00.5+01:00")
        ),
        "2025-01-01 11:00:00 UTC, 60 s"
    );
    assert_eq!(when("yesterday", None), "yesterday");
}

#[test]
fn gpus_are_grouped_by_name() {
    use crate::telemetry::fingerprint::GpuInfo;
    let gpu = |index, name: &str| GpuInfo {
        index,
        name: name.into(),
        uuid: None,
        memory_total_mib: None,
    };
    let mut env = crate::telemetry::Environment {
        gpus: vec![gpu(0, "NVIDIA H100"), gpu(1, "NVIDIA H100")],
        driver_version: Some("550.54".into()),
        cuda_version: Some("12.4".into()),
        ..Default::default()
    };
    assert_eq!(
        gpu_text(&env).unwrap(),
        "2 × NVIDIA H100 · driver 550.54 · CUDA 12.4"
    );
    env.gpus.clear();
    assert_eq!(gpu_text(&env), None);
}
