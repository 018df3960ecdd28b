//! Installing the release binary from a fake release server on loopback: the
//! download, a checksum refused, the fallback to a cached source build.

use sha2::{Digest, Sha256};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;

const VERSION: &str = "1.2.3";
const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

fn triple() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "aarch64-unknown-linux-gnu",
        _ => "x86_64-unknown-linux-gnu",
    }
}

/// The action's own source as the runner downloads it: `…/_actions/acme/llm-bench/REF`.
fn action_checkout(root: &Path, git_ref: &str) -> PathBuf {
    let dir = root.join("_actions/acme/llm-bench").join(git_ref);
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!("[package]\nname = \"llm-bench\"\nversion = \"{VERSION}\"\n"),
    )
    .unwrap();
    std::fs::write(dir.join("Cargo.lock"), "# lock\n").unwrap();
    std::fs::write(dir.join("src/main.rs"), "fn main() {}\n").unwrap();
    dir
}

/// `llm-bench-v1.2.3-TRIPLE.tar.gz` as the release workflow packs it, with a stand-in
/// binary that prints its version.
fn release_archive(work: &Path) -> Vec<u8> {
    let name = format!("llm-bench-v{VERSION}-{}", triple());
    let dir = work.join(&name);
    std::fs::create_dir_all(&dir).unwrap();
    let bin = dir.join("llm-bench");
    std::fs::write(&bin, format!("#!/bin/sh\necho 'llm-bench {VERSION}'\n")).unwrap();
    std::process::Command::new("chmod")
        .arg("755")
        .arg(&bin)
        .status()
        .unwrap();
    std::fs::write(dir.join("COMMIT"), format!("{COMMIT}\n")).unwrap();
    let tgz = work.join(format!("{name}.tar.gz"));
    let status = std::process::Command::new("tar")
        .arg("-czf")
        .arg(&tgz)
        .arg("-C")
        .arg(work)
        .arg(&name)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(tgz).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Serves release v1.2.3 of acme/llm-bench; `sums` is its SHA256SUMS.
async fn release_server(archive: Vec<u8>, sums: String) -> MockServer {
    let server = MockServer::start().await;
    let base = format!("/acme/llm-bench/releases/download/v{VERSION}");
    Mock::given(method("GET"))
        .and(path(format!("{base}/SHA256SUMS")))
        .respond_with(ResponseTemplate::new(200).set_body_string(sums))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "{base}/llm-bench-v{VERSION}-{}.tar.gz",
            triple()
        )))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(archive))
        .mount(&server)
        .await;
    server
}

async fn install(
    work: &Path,
    server: &MockServer,
    git_ref: &str,
    extra: Vec<(&'static str, String)>,
) -> (
    std::process::Output,
    std::collections::HashMap<String, String>,
) {
    let action = action_checkout(work, git_ref);
    let output = work.join(format!("install-output-{}", git_ref.replace('/', "_")));
    let _ = std::fs::remove_file(&output);
    let mut vars = vec![
        ("GITHUB_SERVER_URL", server.uri()),
        ("GITHUB_ACTION_PATH", action.display().to_string()),
        ("GITHUB_OUTPUT", output.display().to_string()),
    ];
    vars.extend(extra);
    let o = action_step(&scratch_repo(work), "install", vars).await;
    (o, read_outputs(&output))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_release_binary_of_the_actions_ref_is_verified_and_installed() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = release_archive(tmp.path());
    let name = format!("llm-bench-v{VERSION}-{}.tar.gz", triple());
    let sums = format!(
        "{}  llm-bench-v{VERSION}-other.tar.gz\n{}  {name}\n",
        "0".repeat(64),
        hex(&archive)
    );
    let server = release_server(archive.clone(), sums).await;

    // The moving major tag: the version comes from the action's own Cargo.toml.
    for git_ref in ["v1", "v1.2.3"] {
        let (o, out) = install(tmp.path(), &server, git_ref, vec![]).await;
        assert_eq!(o.status.code(), Some(0), "{git_ref}\n{}", show(&o));
        assert_eq!(out["source"], "false", "{git_ref}");
        let bin = PathBuf::from(&out["bin"]);
        assert!(bin.ends_with(format!("llm-bench-v{VERSION}-{}/llm-bench", triple())));
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(
            stdout.contains("SHA-256") && stdout.contains(&hex(&archive)),
            "{stdout}"
        );
        assert!(
            stdout.contains(&format!("llm-bench {VERSION}")),
            "it was started: {stdout}"
        );
    }
    // A commit SHA: the release's COMMIT must be that commit.
    let (o, out) = install(tmp.path(), &server, COMMIT, vec![]).await;
    assert_eq!(out["source"], "false", "{}", show(&o));
    let (o, out) = install(
        tmp.path(),
        &server,
        "fedcba9876543210fedcba9876543210fedcba98",
        vec![],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert_eq!(
        out["source"],
        "true",
        "another commit builds from source\n{}",
        show(&o)
    );
    // The version input, with the action used from a branch.
    let (o, out) = install(
        tmp.path(),
        &server,
        "main",
        vec![("LB_VERSION", VERSION.into())],
    )
    .await;
    assert_eq!(out["source"], "false", "{}", show(&o));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_checksum_mismatch_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = release_archive(tmp.path());
    let name = format!("llm-bench-v{VERSION}-{}.tar.gz", triple());
    let mut tampered = archive.clone();
    *tampered.last_mut().unwrap() ^= 1;
    let server = release_server(tampered, format!("{}  {name}\n", hex(&archive))).await;
    let (o, out) = install(tmp.path(), &server, "v1", vec![]).await;
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let err = stderr(&o);
    assert!(
        err.contains("::error title=llm-bench::checksum mismatch for")
            && err.contains("Refusing to install it"),
        "{err}"
    );
    assert!(
        !out.contains_key("bin") && !out.contains_key("source"),
        "{out:?}"
    );
    let left = tmp.path().join(format!(
        "runner-temp/llm-bench-release/llm-bench-v{VERSION}-{}",
        triple()
    ));
    assert!(!left.join(&name).exists(), "the bad download is removed");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_release_it_builds_from_source_once_then_from_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    // No release at all: every download is 404.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404).set_body_string("Not Found"))
        .mount(&server)
        .await;
    // A stand-in cargo that records its arguments and "builds" a binary.
    let fake_bin = tmp.path().join("fake-bin");
    std::fs::create_dir_all(&fake_bin).unwrap();
    let log = tmp.path().join("cargo.log");
    std::fs::write(
        fake_bin.join("cargo"),
        format!(
            "#!/bin/sh\necho \"$*\" >>'{}'\nroot=$(echo \"$*\" | sed 's/.*--root //')\nmkdir -p \"$root/bin\"\nprintf '#!/bin/sh\\necho llm-bench from source\\n' >\"$root/bin/llm-bench\"\nchmod 755 \"$root/bin/llm-bench\"\n",
            log.display()
        ),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .arg("755")
        .arg(fake_bin.join("cargo"))
        .status()
        .unwrap();
    let path = format!("{}:{}", fake_bin.display(), std::env::var("PATH").unwrap());

    for (git_ref, why) in [
        ("v1", "release v1.2.3 is not usable here"),
        ("feature/x", "the action's ref 'feature/x' is not a release"),
    ] {
        let (o, out) = install(tmp.path(), &server, git_ref, vec![("PATH", path.clone())]).await;
        assert_eq!(o.status.code(), Some(0), "{}", show(&o));
        assert!(
            String::from_utf8_lossy(&o.stdout).contains(why),
            "{}",
            show(&o)
        );
        assert_eq!(out["source"], "true");
        assert!(out["cache-key"].starts_with("llm-bench-Linux-"), "{out:?}");
        assert!(
            !log.exists(),
            "install only plans the build; the cache step comes first"
        );
    }
    let (_, plan) = install(
        tmp.path(),
        &server,
        "feature/x",
        vec![("PATH", path.clone())],
    )
    .await;
    let build = |out: &str| {
        vec![
            ("PATH", path.clone()),
            ("LB_INSTALL_ROOT", plan["root"].clone()),
            (
                "GITHUB_ACTION_PATH",
                tmp.path()
                    .join("_actions/acme/llm-bench/feature/x")
                    .display()
                    .to_string(),
            ),
            ("GITHUB_OUTPUT", tmp.path().join(out).display().to_string()),
        ]
    };
    let o = action_step(&scratch_repo(tmp.path()), "build-source", build("build-1")).await;
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let calls = std::fs::read_to_string(&log).unwrap();
    assert_eq!(calls.lines().count(), 1);
    assert!(
        calls.starts_with("install --locked --path ")
            && calls.contains("_actions/acme/llm-bench/feature/x --root "),
        "{calls}"
    );
    // What the cache step restored is used as it is.
    let o = action_step(&scratch_repo(tmp.path()), "build-source", build("build-2")).await;
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert_eq!(
        std::fs::read_to_string(&log).unwrap().lines().count(),
        1,
        "built once"
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("restored from the cache"));
    assert_eq!(
        read_outputs(&tmp.path().join("build-2"))["bin"],
        format!("{}/bin/llm-bench", plan["root"])
    );

    // A wrong version input is a mistake, not a fallback.
    let (o, _) = install(
        tmp.path(),
        &server,
        "v1",
        vec![("LB_VERSION", "latest".into())],
    )
    .await;
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("input version must be X.Y.Z, vX.Y.Z or source"));
}
