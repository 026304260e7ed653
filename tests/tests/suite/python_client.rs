//! The Python package (`client/python`, installed into the test virtualenv
//! by `tests/run.sh` with `pip install ./client/python`): its pytest suite
//! runs against a real server, from outside the source tree so that the
//! installed package is what it imports.

use std::path::Path;
use std::process::Command;

use almanac_tests::{TestServer, python, with_flushes};

fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate is in the repository")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pytest_suite_passes_against_a_real_server() {
    let server = TestServer::start_with(with_flushes).await;
    let outside = tempfile::tempdir().expect("temporary directory");
    let tests = repository().join("client/python/tests");
    let endpoint = server.endpoint.clone();
    let output = tokio::task::spawn_blocking(move || {
        let installed = Command::new(python())
            .current_dir(outside.path())
            .args(["-c", "import almanac; print(almanac.__file__)"])
            .output()
            .expect("run python");
        let location = String::from_utf8_lossy(&installed.stdout).to_string();
        assert!(
            installed.status.success() && location.contains("site-packages"),
            "the almanac package is not installed: {location} {}",
            String::from_utf8_lossy(&installed.stderr)
        );
        Command::new(python())
            .current_dir(outside.path())
            .env("ALMANAC_URL", endpoint)
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
            .arg(&tests)
            .output()
            .expect("run pytest")
    })
    .await
    .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "pytest failed:\n{report}");
    assert!(report.contains(" passed"), "{report}");
    assert!(!report.contains("skipped"), "{report}");
}
