//! The contract every store keeps, as one generic body that the NAS and S3 tests run.

use super::common::{data, get, ids, manifest, put, sha, stream, MIB};
use bytes::Bytes;
use lifeboat::core::manifest::MANIFEST_NAME;
use lifeboat::runtime::store::{Store, StoreError, Written, CHUNK};
use std::time::Duration;
use tokio::sync::mpsc;

/// What every store promises, run against each.
pub(crate) async fn contract(store: &dyn Store, big_len: usize) {
    let job = "train";
    let id = "step-000120";
    // A small file in odd chunks, a nested big one (multipart on S3), an empty one.
    let small = data(1000, 1);
    let input = stream(small.clone(), 333, None);
    let seen = std::sync::Mutex::new(Vec::new());
    let w = store
        .put(job, id, "meta.json", 1000, input, &|n| {
            seen.lock().unwrap().push(n)
        })
        .await
        .unwrap();
    assert_eq!(
        w,
        Written {
            bytes: 1000,
            sha256: sha(&small)
        }
    );
    assert_eq!(
        seen.lock().unwrap().last(),
        Some(&1000),
        "progress ends at the total"
    );
    assert_eq!(get(store, job, id, "meta.json").await.unwrap(), small);

    let big = data(big_len, 2);
    let w = put(store, job, id, "model/weights.bin", &big)
        .await
        .unwrap();
    assert_eq!(w.bytes, big_len as u64);
    assert_eq!(w.sha256, sha(&big));
    assert_eq!(
        store.size(job, id, "model/weights.bin").await.unwrap(),
        big_len as u64
    );
    assert_eq!(
        sha(&get(store, job, id, "model/weights.bin").await.unwrap()),
        sha(&big)
    );

    let w = put(store, job, id, "empty", b"").await.unwrap();
    assert_eq!(w.sha256, sha(b""));
    assert_eq!(get(store, job, id, "empty").await.unwrap(), b"");

    // Not restorable until the manifest is there.
    assert_eq!(ids(&store.list(job).await.unwrap()), [(id, false)]);
    assert!(matches!(
        store.get_manifest(job, id).await,
        Err(StoreError::NotFound(_))
    ));
    let m = manifest(
        job,
        id,
        &[
            ("meta.json", &small),
            ("model/weights.bin", &big),
            ("empty", b""),
        ],
    );
    store.put_manifest(&m).await.unwrap();
    assert_eq!(store.get_manifest(job, id).await.unwrap(), m);
    assert_eq!(ids(&store.list(job).await.unwrap()), [(id, true)]);
    assert_eq!(store.jobs().await.unwrap(), [job]);
    assert!(
        store.locate(job, id).ends_with("train/step-000120"),
        "{}",
        store.locate(job, id)
    );

    // Broken streams leave nothing, under a new checkpoint or beside a complete one, in
    // one piece or (on S3) in parts.
    for (ckpt, path, len) in [
        ("step-000130", "a.bin", 3 * MIB),
        (id, "late.bin", 3 * MIB),
        ("step-000130", "b.bin", big_len),
    ] {
        let d = data(len, 3);
        let short = store.put(
            job,
            ckpt,
            path,
            (len + MIB) as u64,
            stream(d.clone(), CHUNK, None),
            &|_| {},
        );
        assert!(
            matches!(short.await, Err(StoreError::Aborted(_))),
            "short stream accepted"
        );
        let failed = store.put(
            job,
            ckpt,
            path,
            len as u64,
            stream(d.clone(), CHUNK, Some("host died")),
            &|_| {},
        );
        let e = failed.await.unwrap_err();
        assert!(
            matches!(&e, StoreError::Aborted(m) if m.contains("host died")),
            "{e:?}"
        );
        let long = store.put(
            job,
            ckpt,
            path,
            (len - MIB) as u64,
            stream(d, CHUNK, None),
            &|_| {},
        );
        assert!(
            matches!(long.await, Err(StoreError::Aborted(_))),
            "long stream accepted"
        );
        assert!(matches!(
            store.size(job, ckpt, path).await,
            Err(StoreError::NotFound(_))
        ));
    }
    assert_eq!(
        ids(&store.list(job).await.unwrap()),
        [(id, true)],
        "an aborted put is listed"
    );

    // A cancelled put (its future dropped mid-stream) leaves nothing either.
    let (tx, rx) = mpsc::channel(16);
    tx.send(Ok(Bytes::from(data(MIB, 4)))).await.unwrap();
    let cancelled = store.put(job, "step-000140", "x.bin", 8 * MIB as u64, rx, &|_| {});
    assert!(tokio::time::timeout(Duration::from_millis(300), cancelled)
        .await
        .is_err());
    drop(tx);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(matches!(
        store.size(job, "step-000140", "x.bin").await,
        Err(StoreError::NotFound(_))
    ));

    // Hostile names never reach the store.
    for (j, i, p) in [
        ("..", id, "f"),
        (job, "../../x", "f"),
        (job, id, "../../../etc/passwd"),
        (job, id, "/etc/passwd"),
        (job, id, "a/./b"),
        ("a/b", id, "f"),
        (".hidden", id, "f"),
        (job, id, MANIFEST_NAME),
    ] {
        let e = put(store, j, i, p, b"x").await.unwrap_err();
        assert!(
            matches!(&e, StoreError::Other(m) if m.contains("refused")),
            "{j} {i} {p}: {e:?}"
        );
        assert!(get(store, j, i, p).await.is_err() || p == MANIFEST_NAME);
    }
    assert!(store.list("..").await.is_err());
    assert!(store.get_manifest("..", "x").await.is_err());
    assert!(store.delete(job, "..").await.is_err());
    let mut hostile = m.clone();
    hostile.files[0].path = "../../escape".into();
    assert!(store.put_manifest(&hostile).await.is_err());

    // Missing things are NotFound.
    assert!(matches!(
        get(store, job, id, "nope").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.get_manifest(job, "step-9").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(store.list("other").await.unwrap().is_empty());

    // Delete: manifest and every file go; deleting again is fine.
    store.delete(job, id).await.unwrap();
    assert!(store.list(job).await.unwrap().is_empty());
    assert!(matches!(
        store.get_manifest(job, id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.size(job, id, "model/weights.bin").await,
        Err(StoreError::NotFound(_))
    ));
    store.delete(job, id).await.unwrap();
}
