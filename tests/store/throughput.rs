//! Store throughput, printed not asserted: put and get of one big file on the NAS store
//! and the S3 store, beside the bare SDK on the same `s3s-fs` as the anchor.

use super::common::{data, get, put, sha, MIB};
use super::s3::{self, S3Server};
use bytes::Bytes;
use lifeboat::runtime::store::{NasStore, S3Store, Store};
use std::time::Instant;

/// Put and get one file of `LIFEBOAT_STORE_MIB` MiB (default 32) and print MB/s.
async fn throughput(store: &dyn Store, name: &str) {
    let mib = bench_mib();
    let bytes = data(mib * MIB, 9);
    let t = Instant::now();
    let w = put(store, "bench", "step-1", "w.bin", &bytes)
        .await
        .unwrap();
    let put_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let back = get(store, "bench", "step-1", "w.bin").await.unwrap();
    let get_s = t.elapsed().as_secs_f64();
    assert_eq!(w.sha256, sha(&back));
    let mb = (mib * MIB) as f64 / 1e6;
    eprintln!(
        "{name}: {mib} MiB put {:.0} MB/s, get {:.0} MB/s",
        mb / put_s,
        mb / get_s
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_is_printed() {
    let dir = tempfile::tempdir().unwrap();
    throughput(&NasStore::new(dir.path().to_path_buf()), "nas").await;
    let server = S3Server::start();
    throughput(
        &S3Store::with_client(server.client(), s3::BUCKET, "p"),
        "s3s-fs",
    )
    .await;
    // The anchor under the same load: the SDK alone, one PutObject and one GetObject.
    let bytes = Bytes::from(data(bench_mib() * MIB, 9));
    let client = server.client();
    let t = Instant::now();
    client
        .put_object()
        .bucket(s3::BUCKET)
        .key("anchor")
        .body(bytes.clone().into())
        .send()
        .await
        .unwrap();
    let put_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let out = client
        .get_object()
        .bucket(s3::BUCKET)
        .key("anchor")
        .send()
        .await
        .unwrap();
    let back = out.body.collect().await.unwrap().into_bytes();
    let get_s = t.elapsed().as_secs_f64();
    assert_eq!(back.len(), bytes.len());
    let mb = bytes.len() as f64 / 1e6;
    eprintln!(
        "anchor, SDK alone: {} MiB put {:.0} MB/s, get {:.0} MB/s",
        bench_mib(),
        mb / put_s,
        mb / get_s
    );
}

fn bench_mib() -> usize {
    std::env::var("LIFEBOAT_STORE_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32)
}
