//! The S3 store on a real `s3s-fs` on loopback: the contract, an empty prefix, bytes lost
//! on disk, the server going away and coming back, a wrong secret, a corrupt or
//! oversized manifest, and building it from `[storage.s3]` config.

use super::common::{data, files_under, get, ids, put, sha, MIB, PART};
use super::contract::contract;
use super::s3::{self, S3Server};
use lifeboat::core::manifest::MANIFEST_NAME;
use lifeboat::runtime::store::{S3Store, Store, StoreError};
use std::path::Path;
use std::time::Instant;

fn s3_store(server: &S3Server, prefix: &str) -> S3Store {
    S3Store::with_client(server.client(), s3::BUCKET, prefix).with_multipart(PART, PART)
}

#[tokio::test]
async fn s3_keeps_the_store_contract() {
    let server = S3Server::start();
    // 12 MiB + a bit in 5 MiB parts: three parts, the last one short.
    contract(&s3_store(&server, "lifeboat"), 12 * MIB + 12345).await;
    let left = files_under(&server.data_dir().join(s3::BUCKET).join("lifeboat"));
    assert!(
        left.iter().all(|f| !f.contains("step-")),
        "left behind: {left:?}"
    );
}

#[tokio::test]
async fn s3_with_an_empty_prefix_lists_jobs_at_the_top() {
    let server = S3Server::start();
    let store = s3_store(&server, "");
    put(&store, "train", "step-1", "a", b"abc").await.unwrap();
    assert!(server.object_file("train/step-1/a").is_file());
    assert_eq!(store.jobs().await.unwrap(), ["train"]);
    assert_eq!(
        store.locate("train", "step-1"),
        format!("s3://{}/train/step-1", s3::BUCKET)
    );
}

#[tokio::test]
async fn s3_bytes_lost_on_disk_are_caught_when_read_back() {
    let server = S3Server::start();
    let store = s3_store(&server, "p");
    for (path, len) in [("one.bin", 3 * MIB), ("parts.bin", 11 * MIB)] {
        let bytes = data(len, 6);
        let w = put(&store, "train", "step-1", path, &bytes).await.unwrap();
        let file = server.object_file(&format!("p/train/step-1/{path}"));
        let f = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
        f.set_len(len as u64 / 2).unwrap();
        drop(f);
        // What a restore does: read back, hash, compare with the manifest.
        match get(&store, "train", "step-1", path).await {
            Ok(back) => {
                assert_ne!(sha(&back), w.sha256, "{path}: truncation not visible");
                eprintln!("{path}: truncation caught by the restore's hash");
            }
            Err(e) => {
                assert!(
                    matches!(e, StoreError::Corrupt(_) | StoreError::Unavailable(_)),
                    "{e:?}"
                );
                eprintln!("{path}: truncation caught by the read: {e}");
            }
        }
        assert_ne!(
            store.size("train", "step-1", path).await.ok(),
            Some(len as u64)
        );
    }
}

#[tokio::test]
async fn s3_away_is_transient_and_a_put_after_it_is_back_works() {
    let mut server = S3Server::start();
    let store = s3_store(&server, "p");
    let before = data(2 * MIB, 7);
    put(&store, "train", "step-1", "a", &before).await.unwrap();
    server.stop();
    let started = Instant::now();
    let e = put(&store, "train", "step-2", "a", &data(MIB, 8))
        .await
        .unwrap_err();
    assert!(e.is_transient(), "{e:?}");
    let e = put(&store, "train", "step-2", "big", &data(11 * MIB, 8))
        .await
        .unwrap_err();
    assert!(e.is_transient(), "{e:?}");
    assert!(store.list("train").await.unwrap_err().is_transient());
    assert!(matches!(get(&store, "train", "step-1", "a").await, Err(e) if e.is_transient()));
    eprintln!(
        "S3 away noticed in {:?} (4 calls, SDK retries included)",
        started.elapsed()
    );
    server.start_again();
    let again = data(MIB, 8);
    let w = put(&store, "train", "step-2", "a", &again).await.unwrap();
    assert_eq!(w.sha256, sha(&again));
    assert_eq!(get(&store, "train", "step-1", "a").await.unwrap(), before);
}

#[tokio::test]
async fn s3_wrong_secret_says_to_check_credentials() {
    let server = S3Server::start();
    let store = S3Store::with_client(server.client_with(s3::ACCESS_KEY, "wrong"), s3::BUCKET, "p");
    for e in [
        put(&store, "train", "step-1", "a", b"abc")
            .await
            .unwrap_err(),
        store.list("train").await.unwrap_err(),
    ] {
        let StoreError::Other(msg) = &e else {
            panic!("expected Other, got {e:?}")
        };
        assert!(
            msg.contains("credentials") && msg.contains(s3::BUCKET),
            "{msg}"
        );
        assert!(!e.is_transient());
        eprintln!("wrong secret: {msg}");
    }
}

#[tokio::test]
async fn s3_reports_a_corrupt_manifest() {
    let server = S3Server::start();
    let store = s3_store(&server, "p");
    put(&store, "train", "step-1", "a", b"abc").await.unwrap();
    server
        .client()
        .put_object()
        .bucket(s3::BUCKET)
        .key(format!("p/train/step-1/{MANIFEST_NAME}"))
        .body(b"{\"format\":".to_vec().into())
        .send()
        .await
        .unwrap();
    let e = store.get_manifest("train", "step-1").await.unwrap_err();
    assert!(
        matches!(&e, StoreError::Corrupt(m) if m.contains("step-1/manifest.json")),
        "{e:?}"
    );
    assert_eq!(ids(&store.list("train").await.unwrap()), [("step-1", true)]);
}

#[tokio::test]
async fn s3_refuses_an_oversized_manifest_by_its_length() {
    let server = S3Server::start();
    let store = s3_store(&server, "p");
    let big = lifeboat::core::manifest::MAX_MANIFEST_BYTES as usize + 1;
    server
        .client()
        .put_object()
        .bucket(s3::BUCKET)
        .key(format!("p/train/step-1/{MANIFEST_NAME}"))
        .body(vec![b' '; big].into())
        .send()
        .await
        .unwrap();
    let e = store.get_manifest("train", "step-1").await.unwrap_err();
    assert!(
        matches!(&e, StoreError::Corrupt(m) if m.contains("more than") && m.contains("not read")),
        "{e:?}"
    );
}

/// `[storage.s3]` as an operator writes it, pointing at `server`.
fn s3_config(server: &S3Server, profile: Option<&str>) -> lifeboat::config::S3Config {
    let profile = profile
        .map(|p| format!("profile = \"{p}\""))
        .unwrap_or_default();
    let text = format!(
        r#"[[host]]
name = "pc1"
address = "192.168.1.10"
gpus = 2

[[job]]
name = "train"
host = "pc1"
gpu = 0
workdir = "/w"
launch = "python train.py --resume {{checkpoint}}"
checkpoint_dir = "/w/ckpt"

[storage.s3]
bucket = "{bucket}"
region = "us-east-1"
endpoint = "{endpoint}"
prefix = "team/lifeboat"
path_style = true
{profile}
"#,
        bucket = s3::BUCKET,
        endpoint = server.endpoint(),
    );
    let config = lifeboat::config::parse_str(&text, Path::new("/etc/lifeboat/t.toml")).unwrap();
    config.storage.s3.expect("an [storage.s3] section")
}

#[tokio::test]
async fn s3_from_config_uses_endpoint_path_style_and_prefix() {
    let server = S3Server::start();
    let cfg = s3_config(&server, None);
    // The default chain would read AWS_* variables; give the SDK config static keys.
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(cfg.region.clone()))
        .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
            aws_sdk_s3::config::Credentials::new(s3::ACCESS_KEY, s3::SECRET_KEY, None, None, "t"),
        ))
        .build();
    let store = S3Store::from_sdk_config(&cfg, &sdk).unwrap();
    put(&store, "train", "step-1", "a", b"abc").await.unwrap();
    assert!(server.object_file("team/lifeboat/train/step-1/a").is_file());
    assert_eq!(
        store.locate("train", "step-1"),
        format!("s3://{}/team/lifeboat/train/step-1", s3::BUCKET)
    );
}

#[tokio::test]
async fn s3_missing_profile_says_to_check_credentials() {
    let server = S3Server::start();
    let cfg = s3_config(&server, Some("lifeboat-test-no-such-profile"));
    let store = S3Store::from_config(&cfg).await.unwrap();
    let e = put(&store, "train", "step-1", "a", b"abc")
        .await
        .unwrap_err();
    let StoreError::Other(msg) = &e else {
        panic!("expected Other, got {e:?}")
    };
    assert!(
        msg.contains("credentials") && msg.contains(s3::BUCKET),
        "{msg}"
    );
    eprintln!("missing profile: {msg}");
}
