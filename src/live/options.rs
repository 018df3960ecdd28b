//! `--metrics-listen`, `--pushgateway` and `--metrics-linger` as typed, checked values.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use reqwest::Url;

/// Where the live metrics go; `None`/empty means nowhere, and nothing is started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveOptions {
    /// Serve `/metrics` here while the run lasts.
    pub listen: Option<SocketAddr>,
    /// Push to this Pushgateway after each trial and at the end of the run.
    pub pushgateway: Option<PushTarget>,
    /// After the run, keep serving until the next scrape, at most this long.
    pub linger: Duration,
}

/// A Pushgateway's base URL.
#[derive(Clone, PartialEq, Eq)]
pub struct PushTarget {
    url: Url,
}

impl std::fmt::Debug for PushTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PushTarget({})", self.shown())
    }
}

impl PushTarget {
    /// The group this run's metrics replace: `job="llm-bench"`, `run_id=<run id>`.
    /// Each push carries everything so far, so PUT (replace the group) is right.
    pub fn group_url(&self, run_id: &str) -> Url {
        let mut url = self.url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty()
                .extend(["metrics", "job", "llm-bench", "run_id", run_id]);
        }
        url
    }

    /// The URL without any `user:password@`, for messages.
    pub fn shown(&self) -> String {
        let mut url = self.url.clone();
        let _ = url.set_username("");
        let _ = url.set_password(None);
        url.to_string().trim_end_matches('/').to_string()
    }
}

impl LiveOptions {
    /// Checks the flags' values; the error says which flag and how to fix it.
    pub fn parse(
        listen: Option<&str>,
        pushgateway: Option<&str>,
        linger: &str,
    ) -> Result<LiveOptions, String> {
        let listen = listen.map(parse_listen).transpose()?;
        let pushgateway = pushgateway.map(parse_pushgateway).transpose()?;
        let linger = crate::config::parse_duration(linger)
            .map_err(|e| format!("--metrics-linger: {e} (examples: 15s, 1m)"))?;
        if linger > Duration::ZERO && listen.is_none() {
            return Err("--metrics-linger keeps the --metrics-listen endpoint up after the run; give --metrics-listen too".into());
        }
        Ok(LiveOptions {
            listen,
            pushgateway,
            linger,
        })
    }

    pub fn is_enabled(&self) -> bool {
        self.listen.is_some() || self.pushgateway.is_some()
    }
}

/// `IP:PORT`, `[IPv6]:PORT`, or a bare `PORT` meaning loopback: a benchmark's
/// metrics are served to another host only when an address says so.
fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    }
    text.parse().map_err(|_| {
        format!(
            "--metrics-listen takes IP:PORT or a port (got `{text}`), e.g. 127.0.0.1:9464, \
             9464 (loopback), or 0.0.0.0:9464 for every interface"
        )
    })
}

fn parse_pushgateway(text: &str) -> Result<PushTarget, String> {
    let bad = |why: &str| {
        format!(
            "--pushgateway takes the Pushgateway's base URL, e.g. http://127.0.0.1:9091 ({why})"
        )
    };
    let url = Url::parse(text).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("it must start with http:// or https://"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("without ?query or #fragment"));
    }
    Ok(PushTarget { url })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_takes_an_address_or_a_loopback_port() {
        let parse = |t| LiveOptions::parse(Some(t), None, "0s").map(|o| o.listen.unwrap());
        assert_eq!(parse("9464").unwrap().to_string(), "127.0.0.1:9464");
        assert_eq!(parse("0.0.0.0:9464").unwrap().to_string(), "0.0.0.0:9464");
        assert_eq!(parse("[::1]:0").unwrap().to_string(), "[::1]:0");
        let err = parse("localhost:9464").unwrap_err();
        assert!(
            err.contains("--metrics-listen") && err.contains("127.0.0.1:9464"),
            "{err}"
        );
    }

    #[test]
    fn pushgateway_group_url_and_shown_url() {
        let o = LiveOptions::parse(None, Some("http://u:secret@pgw:9091/"), "0s").unwrap();
        let target = o.pushgateway.unwrap();
        assert_eq!(
            target.group_url("20260101-000000-sim").as_str(),
            "http://u:secret@pgw:9091/metrics/job/llm-bench/run_id/20260101-000000-sim"
        );
        assert_eq!(target.shown(), "http://pgw:9091");
        assert!(!format!("{target:?}").contains("secret"));
        // Behind a proxy's path prefix.
        let o = LiveOptions::parse(None, Some("https://proxy/pushgateway"), "0s").unwrap();
        assert_eq!(
            o.pushgateway.unwrap().group_url("r").as_str(),
            "https://proxy/pushgateway/metrics/job/llm-bench/run_id/r"
        );
        for bad in ["pgw:9091", "ftp://pgw", "http://pgw?x=1"] {
            let err = LiveOptions::parse(None, Some(bad), "0s").unwrap_err();
            assert!(err.starts_with("--pushgateway"), "{err}");
        }
    }

    #[test]
    fn linger_needs_a_listener() {
        assert!(LiveOptions::parse(None, None, "0s")
            .unwrap()
            .linger
            .is_zero());
        assert!(!LiveOptions::parse(None, None, "0s").unwrap().is_enabled());
        let err = LiveOptions::parse(None, None, "15s").unwrap_err();
        assert!(err.contains("--metrics-listen"), "{err}");
        let o = LiveOptions::parse(Some("0"), None, "15s").unwrap();
        assert_eq!(o.linger, Duration::from_secs(15));
        let err = LiveOptions::parse(Some("0"), None, "soon").unwrap_err();
        assert!(err.starts_with("--metrics-linger"), "{err}");
    }
}
