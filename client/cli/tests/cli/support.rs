//! Running the real `almanac` binary in tests.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

/// The `almanac` binary cargo built for these tests.
pub const ALMANAC: &str = env!("CARGO_BIN_EXE_almanac");

/// A running `almanac serve`.
pub struct ServerProcess {
    pub child: Child,
    pub endpoint: String,
}

impl ServerProcess {
    /// Starts `almanac serve` on `127.0.0.1:0` over `data_dir` and waits for
    /// the line that gives its address.
    pub fn start(data_dir: &Path, extra: &[&str]) -> Self {
        Self::start_with_env(data_dir, extra, &[])
    }

    /// [`ServerProcess::start`] with extra environment variables.
    pub fn start_with_env(data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(ALMANAC)
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", "127.0.0.1:0", "--log", "warn"])
            .args(extra)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start almanac serve");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let address = loop {
            let line = lines
                .next()
                .expect("almanac serve exited before listening")
                .expect("read stderr");
            if let Some(address) = line.strip_prefix("almanac listening on ") {
                break address.trim().to_owned();
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self {
            child,
            endpoint: format!("http://{address}"),
        }
    }

    /// Runs a client command against this server in `dir`.
    pub fn run(&self, dir: &Path, args: &[&str]) -> Output {
        Command::new(ALMANAC)
            .args(args)
            .env("ALMANAC_ENDPOINT", &self.endpoint)
            .current_dir(dir)
            .output()
            .expect("run almanac")
    }

    /// Runs a client command that must succeed; returns its output.
    pub fn succeed(&self, dir: &Path, args: &[&str]) -> String {
        let output = self.run(dir, args);
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Runs a client command that must fail with one line on standard
    /// error; returns that line.
    pub fn fail(&self, dir: &Path, args: &[&str]) -> String {
        let output = self.run(dir, args);
        assert!(!output.status.success(), "{args:?} should fail");
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        stderr
    }

    /// Creates feature group `name` with `features` (`NAME:TYPE[:...]`).
    pub fn create_group(
        &self,
        dir: &Path,
        name: &str,
        record_identifier: &str,
        event_time: &str,
        features: &[&str],
    ) {
        let mut args = vec![
            "create-feature-group",
            name,
            "--record-identifier",
            record_identifier,
            "--event-time",
            event_time,
        ];
        for feature in features {
            args.extend(["--feature", feature]);
        }
        self.succeed(dir, &args);
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill_hard(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("wait");
    }

    /// SIGTERM, then wait for the orderly shutdown.
    pub fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        let exit = self.child.wait().expect("wait");
        assert!(exit.success(), "almanac serve exited with {exit}");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server on a fresh data directory, and a fresh directory for the files
/// the client commands read and write.
pub struct Scratch {
    pub server: ServerProcess,
    work: tempfile::TempDir,
    _data: tempfile::TempDir,
}

impl Scratch {
    pub fn start() -> Self {
        let data = tempfile::tempdir().expect("data directory");
        let work = tempfile::tempdir().expect("work directory");
        let server = ServerProcess::start(data.path(), &[]);
        Self {
            server,
            work,
            _data: data,
        }
    }

    /// Where the client commands run.
    pub fn dir(&self) -> &Path {
        self.work.path()
    }

    /// Stops the server in order (see [`ServerProcess::stop`]).
    pub fn stop(self) {
        self.server.stop();
    }
}
