//! A real S3 server for integration tests (see shared TESTBED.md): [`S3Server`] runs
//! `s3s-fs` on a free loopback port with its own temp data dir, access key `test` and
//! secret `testsecret`, with bucket [`BUCKET`] made; it is killed by PID on drop.
//! [`S3Server::stop`] and [`S3Server::start_again`] take it away and bring it back on the
//! same port and data (objects survive), for "S3 went away" tests.
//!
//! Include it with `#[path = "support/s3.rs"] mod s3;`.

#![allow(dead_code, clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ACCESS_KEY: &str = "test";
pub const SECRET_KEY: &str = "testsecret";
pub const BUCKET: &str = "lifeboat-test";
pub const REGION: &str = "us-east-1";

/// One `s3s-fs` on 127.0.0.1.
pub struct S3Server {
    pub port: u16,
    /// Holds `data/` (the server's root: one folder per bucket) and `s3s-fs.log`.
    pub dir: tempfile::TempDir,
    child: Option<Child>,
}

/// `s3s-fs` from `$PATH` or `~/.cargo/bin`.
pub fn binary() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|d| d.join("s3s-fs"));
    let in_cargo = std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo/bin/s3s-fs"));
    on_path
        .chain(in_cargo)
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "s3s-fs is not in $PATH or ~/.cargo/bin: run scripts/test.sh, which installs it \
                 (cargo install s3s-fs@0.14.1 --locked --features binary)"
            )
        })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl S3Server {
    /// Starts a server with an empty bucket [`BUCKET`].
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        // An s3s-fs bucket is a folder in its root.
        std::fs::create_dir_all(dir.path().join("data").join(BUCKET)).expect("bucket folder");
        let mut server = Self {
            port: free_port(),
            dir,
            child: None,
        };
        server.start_again();
        server
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The server's root (one folder per bucket, objects as files under their keys).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Where object `key` of [`BUCKET`] lies on disk.
    pub fn object_file(&self, key: &str) -> PathBuf {
        self.data_dir().join(BUCKET).join(key)
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Starts the server (again) on the same port and data dir and waits until it answers.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "s3s-fs is already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("s3s-fs.log"))
            .expect("log file");
        let mut child = Command::new(binary())
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(self.data_dir())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("spawn s3s-fs");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("s3s-fs exited with {status} at start: {}", self.log());
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "s3s-fs did not answer on port {} in 10 s: {}",
                    self.port,
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.child = Some(child);
    }

    /// Kills the server (by PID) and waits for it; its data stays.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("s3s-fs.log")).unwrap_or_default()
    }

    /// A client with the right credentials.
    pub fn client(&self) -> aws_sdk_s3::Client {
        self.client_with(ACCESS_KEY, SECRET_KEY)
    }

    /// A client for this server with the given credentials (static, path style).
    pub fn client_with(&self, access_key: &str, secret_key: &str) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(self.endpoint())
            .force_path_style(true)
            .credentials_provider(Credentials::new(
                access_key,
                secret_key,
                None,
                None,
                "lifeboat-test",
            ))
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}
