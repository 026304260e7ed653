//! Runs the README's CLI walkthrough, command by command, against the real
//! binary, checking each `# =>` line against what the command printed.

use std::path::Path;
use std::process::Command;

use crate::support::{ALMANAC, ServerProcess};

/// One walkthrough step: a shell command and what it should print.
#[derive(Debug)]
struct Step {
    command: String,
    expected: Option<String>,
}

/// The steps of the README block between `<!-- NAME:start -->` and
/// `<!-- NAME:end -->`.
fn walkthrough_steps(name: &str) -> Vec<Step> {
    let readme_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
    let readme = std::fs::read_to_string(readme_path).expect("read README.md");
    let start = readme
        .find(&format!("<!-- {name}:start -->"))
        .expect("walkthrough start marker");
    let end = readme
        .find(&format!("<!-- {name}:end -->"))
        .expect("walkthrough end marker");
    let mut steps: Vec<Step> = Vec::new();
    let mut pending = String::new();
    for line in readme[start..end].lines().skip(1) {
        if line.starts_with("```") {
            continue;
        }
        if let Some(expected) = line.strip_prefix("# => ") {
            let step = steps.last_mut().expect("an expectation follows a command");
            // Several `# =>` lines are the lines of one output.
            step.expected = Some(match step.expected.take() {
                Some(before) => format!("{before}\n{expected}"),
                None => expected.to_owned(),
            });
            continue;
        }
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(continued) => pending.push_str(continued),
            None => {
                pending.push_str(line);
                steps.push(Step {
                    command: std::mem::take(&mut pending),
                    expected: None,
                });
            }
        }
    }
    steps
}

#[test]
fn the_readme_walkthrough_works() {
    run_walkthrough("walkthrough", 10);
}

/// The seed chapter's workflow as the README gives it: a generated reviews
/// TSV created from, ingested, queried, updated and read back.
#[test]
fn the_readme_seed_workflow_works() {
    run_walkthrough("seed", 8);
}

fn run_walkthrough(name: &str, at_least: usize) {
    let steps = walkthrough_steps(name);
    assert!(
        steps.len() >= at_least,
        "the walkthrough has its steps: {steps:?}"
    );
    let data_dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(data_dir.path(), &[]);
    let bin_dir = Path::new(ALMANAC).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    // Files the steps write (an entity table, a dataset) go here; the
    // steps run from the repository root, so its `client/` is linked in.
    let work_dir = tempfile::tempdir().unwrap();
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::os::unix::fs::symlink(repository.join("client"), work_dir.path().join("client"))
        .expect("link client/");
    let python = almanac_tests::python();
    for step in &steps {
        assert!(
            ["almanac ", "printf ", "python3 client/python/examples/"]
                .iter()
                .any(|prefix| step.command.starts_with(prefix)),
            "every step runs almanac, writes its input with printf or runs an example: {}",
            step.command
        );
        let command = match step.command.strip_prefix("python3 ") {
            Some(script) => format!("{} {script}", python.display()),
            None => step.command.clone(),
        };
        let output = Command::new("bash")
            .args(["-c", &command])
            .current_dir(work_dir.path())
            .env("PATH", &path)
            .env("ALMANAC_ENDPOINT", &server.endpoint)
            .output()
            .expect("run step");
        let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        match &step.expected {
            Some(expected) if expected.starts_with("error:") => {
                assert!(!output.status.success(), "{} should fail", step.command);
                assert_eq!(&stderr, expected, "{}", step.command);
                assert_eq!(stderr.lines().count(), 1, "a failure is one line");
            }
            expected => {
                assert!(output.status.success(), "{} failed: {stderr}", step.command);
                if let Some(expected) = expected {
                    match serde_json::from_str::<serde_json::Value>(expected) {
                        Ok(json) => {
                            let printed: serde_json::Value = serde_json::from_str(&stdout)
                                .unwrap_or_else(|e| {
                                    panic!("{} printed no JSON ({e}): {stdout}", step.command)
                                });
                            assert_eq!(printed, json, "{}", step.command);
                        }
                        Err(_) => assert_eq!(&stdout, expected, "{}", step.command),
                    }
                }
            }
        }
    }
    server.stop();
}

#[test]
fn client_failures_are_one_line_and_non_zero() {
    let unreachable = Command::new(ALMANAC)
        .args([
            "describe-feature-group",
            "reviews",
            "--endpoint",
            "http://127.0.0.1:9",
        ])
        .output()
        .unwrap();
    assert!(!unreachable.status.success());
    let stderr = String::from_utf8_lossy(&unreachable.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("127.0.0.1:9"), "{stderr}");

    let bad_flag = Command::new(ALMANAC)
        .args(["create-feature-group", "x", "--feature", "a:bool"])
        .output()
        .unwrap();
    assert!(!bad_flag.status.success());
    assert_eq!(
        String::from_utf8_lossy(&bad_flag.stderr)
            .trim()
            .lines()
            .count(),
        1
    );
}
