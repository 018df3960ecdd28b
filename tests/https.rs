//! The client over HTTPS against the simulated server's TLS mode (`serve-sim
//! --tls`): the same timing and the same per-request errors as over plain HTTP,
//! and a certificate the client was not told to trust is a recorded failure with a
//! reason, never a panic.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use llm_bench::client::{Api, CaCert, Client, ClientOptions};
use llm_bench::record::{ErrorKind, Outcome};
use llm_bench::sim::{SimConfig, SimServer, SimTls};

const BODY: &[u8] =
    br#"{"model":"sim-model","messages":[{"role":"user","content":"hi"}],"max_tokens":8,"stream":true}"#;

/// A TLS sim with `config`, and the PEM file of its certificate in `dir`.
async fn tls_sim(config: SimConfig, dir: &Path) -> (SimServer, CaCert) {
    let tls = SimTls::self_signed(Ipv4Addr::LOCALHOST.into()).unwrap();
    let pem = dir.join("sim.pem");
    std::fs::write(&pem, tls.cert_pem()).unwrap();
    let bind = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let server = SimServer::start_with(config, bind, None, Some(tls))
        .await
        .unwrap();
    assert!(server.base_url().starts_with("https://127.0.0.1:"));
    (server, CaCert::load(&pem).unwrap())
}

fn client(base_url: String, ca_cert: Option<CaCert>) -> Client {
    Client::new(ClientOptions {
        base_url,
        api: Api::Chat,
        api_key: None,
        headers: Vec::new(),
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(20),
        stall_timeout: Duration::from_secs(5),
        max_connections: 4,
        ca_cert,
    })
    .unwrap()
}

async fn send(client: &Client) -> Outcome {
    client
        .send(BODY.to_vec(), Some("r-1"), Instant::now(), true)
        .await
}

fn sim(edit: impl FnOnce(&mut SimConfig)) -> SimConfig {
    let mut config = SimConfig {
        ttft_ms: 5.0,
        itl_ms: 1.0,
        output_tokens: 8,
        ..SimConfig::default()
    };
    edit(&mut config);
    config
}

#[tokio::test]
async fn a_streamed_response_over_tls_times_its_first_token_after_the_injected_delay() {
    let dir = tempfile::tempdir().unwrap();
    let (server, ca) = tls_sim(sim(|c| c.ttft_ms = 80.0), dir.path()).await;
    let client = client(server.base_url(), Some(ca));
    for _ in 0..3 {
        let outcome = send(&client).await;
        assert!(outcome.error.is_none(), "{:?}", outcome.error);
        assert_eq!(outcome.status, Some(200));
        let ttft = outcome.timing.ttft().unwrap();
        // Bounded below by what the server injected; above, generously (a loaded
        // machine is late, never early).
        assert!(ttft >= Duration::from_millis(80), "ttft {ttft:?}");
        assert!(ttft < Duration::from_millis(2_000), "ttft {ttft:?}");
        assert_eq!(outcome.timing.tokens.count(), 8);
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_500_over_tls_is_recorded_as_a_server_error() {
    let dir = tempfile::tempdir().unwrap();
    let (server, ca) = tls_sim(sim(|c| c.error_500_rate = 1.0), dir.path()).await;
    let outcome = send(&client(server.base_url(), Some(ca))).await;
    assert_eq!(outcome.status, Some(500));
    let (kind, reason) = outcome.error.expect("a 500 is an error");
    assert_eq!(kind, ErrorKind::Http5xx);
    assert!(reason.contains("500"), "{reason}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_stream_cut_mid_response_over_tls_is_a_stream_reset() {
    let dir = tempfile::tempdir().unwrap();
    let (server, ca) = tls_sim(sim(|c| c.disconnect_rate = 1.0), dir.path()).await;
    let outcome = send(&client(server.base_url(), Some(ca))).await;
    let (kind, reason) = outcome.error.expect("a cut stream is an error");
    assert_eq!(kind, ErrorKind::StreamReset, "{reason}");
    server.shutdown().await;
}

#[tokio::test]
async fn an_untrusted_certificate_fails_each_request_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _ca) = tls_sim(sim(|_| {}), dir.path()).await;
    let client = client(server.base_url(), None);
    for _ in 0..2 {
        let outcome = send(&client).await;
        let (kind, reason) = outcome.error.expect("an untrusted certificate is an error");
        assert_eq!(kind, ErrorKind::Connect, "{reason}");
        assert!(reason.to_lowercase().contains("certificate"), "{reason}");
        assert_eq!(outcome.status, None);
    }
    assert_eq!(
        server.stats().requests_total,
        0,
        "nothing reached the server"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_certificate_for_another_server_is_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _ca) = tls_sim(sim(|_| {}), dir.path()).await;
    let other = SimTls::self_signed(Ipv4Addr::LOCALHOST.into()).unwrap();
    let pem = dir.path().join("other.pem");
    std::fs::write(&pem, other.cert_pem()).unwrap();
    let client = client(server.base_url(), Some(CaCert::load(&pem).unwrap()));
    let (kind, reason) = send(&client).await.error.expect("the wrong CA is an error");
    assert_eq!(kind, ErrorKind::Connect, "{reason}");
    server.shutdown().await;
}

#[tokio::test]
async fn connections_over_tls_are_reused_after_a_complete_stream() {
    let dir = tempfile::tempdir().unwrap();
    let (server, ca) = tls_sim(sim(|_| {}), dir.path()).await;
    let client = client(server.base_url(), Some(ca));
    let first = send(&client).await;
    assert!(first.error.is_none(), "{:?}", first.error);
    let opened = first
        .connection
        .expect("the lean client says how it connected");
    assert!(
        opened.opened_in.is_some(),
        "the first request opens a connection"
    );
    for _ in 0..3 {
        let next = send(&client).await;
        assert!(next.error.is_none(), "{:?}", next.error);
        // Session tickets the server sent after the handshake do not make the
        // pooled connection look closed.
        let conn = next.connection.expect("connection fields");
        assert_eq!(conn.opened_in, None, "a pooled connection served it");
        assert_eq!(next.attempts, 1);
    }
    server.shutdown().await;
}

#[tokio::test]
async fn warm_up_opens_tls_connections_before_the_clock_starts() {
    let dir = tempfile::tempdir().unwrap();
    let (server, ca) = tls_sim(sim(|_| {}), dir.path()).await;
    let client = client(server.base_url(), Some(ca));
    client.warm_up(3).await;
    // Lets the session tickets the server sends after each handshake arrive
    // unread, as they do when a trial starts after its warm-up.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let outcomes = futures_util::future::join_all((0..3).map(|_| send(&client))).await;
    for outcome in outcomes {
        assert!(outcome.error.is_none(), "{:?}", outcome.error);
        assert_eq!(outcome.connection.expect("connection").opened_in, None);
    }
    server.shutdown().await;
}
