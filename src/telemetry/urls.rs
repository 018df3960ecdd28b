//! Where telemetry looks, from the target's URL: its origin, its metrics page, and
//! whether it is on this machine (whose GPUs are then the server's).

use crate::config::MetricsSource;

/// `scheme://host:port` of a URL (where vLLM and SGLang serve `/metrics` and
/// `/version`, outside the `/v1` API root).
pub fn origin(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => u.origin().ascii_serialization(),
        Err(_) => url.trim_end_matches('/').to_string(),
    }
}

/// Where the server's metrics are scraped, if anywhere.
pub fn metrics_url(source: &MetricsSource, base_url: &str) -> Option<String> {
    match source {
        MetricsSource::Default => Some(format!("{}/metrics", origin(base_url))),
        MetricsSource::Url(url) => Some(url.clone()),
        MetricsSource::Off => None,
    }
}

/// Whether a URL points at this machine (`localhost`, 127.0.0.0/8, `::1`).
pub fn is_loopback(url: &str) -> bool {
    let Some(host) = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
    else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(origin("http://10.0.0.5:8000/v1"), "http://10.0.0.5:8000");
        assert_eq!(
            metrics_url(&MetricsSource::Default, "http://h:8000/v1").as_deref(),
            Some("http://h:8000/metrics")
        );
        assert_eq!(metrics_url(&MetricsSource::Off, "http://h:8000/v1"), None);
        assert!(is_loopback("http://127.0.0.1:8000/v1"));
        assert!(is_loopback("http://localhost:8000/v1"));
        assert!(is_loopback("http://[::1]:8000/v1"));
        assert!(!is_loopback("http://10.0.0.5:8000/v1"));
        assert!(!is_loopback("https://api.example.com/v1"));
    }
}
