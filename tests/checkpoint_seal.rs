//! A checkpoint copy Lifeboat verified on a host is trusted unread only while nothing of
//! it changed (`core::seal`), against a real sshd host on loopback: sealed after a
//! settled verification, trusted then; a byte flipped with its modification time put
//! back is still caught (its change time moved) and restored from the store; a copy
//! just placed is racy and hashed; a file replaced by the same bytes is hashed.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/checkpoint_bed.rs"]
mod checkpoint_bed;
#[path = "support/s3.rs"]
mod s3;
#[path = "support/sshd.rs"]
mod sshd;

use checkpoint_bed::{bed, one_checkpoint, rt};
use std::time::Duration;

const ID: &str = "step-000010";

#[test]
fn a_sealed_copy_is_trusted_unread_until_anything_of_it_changes() {
    let b = bed(None, 3);
    let rt = rt();
    let data = one_checkpoint(&b, &rt, 300_000);
    let dest = b.h2.path("host").join("staged");
    let d = dest.to_str().unwrap();
    let restore = || {
        rt.block_on(b.rep.restore(checkpoint_bed::JOB, None, "h2", Some(d)))
            .unwrap()
    };

    let first = restore();
    assert_eq!((first.from.as_deref(), first.sealed), (Some("nas"), false));
    // Just placed, its times are racy: hashed, not sealed.
    let again = restore();
    assert_eq!((again.from.as_deref(), again.sealed), (None, false));
    assert!(rt
        .block_on(b.rep.seal_on_host(checkpoint_bed::JOB, ID, "h2", d))
        .unwrap());
    let trusted = restore();
    assert_eq!((trusted.from.as_deref(), trusted.sealed), (None, true));
    assert!(
        trusted.to_text().contains("sealed, not re-read"),
        "{}",
        trusted.to_text()
    );

    // A byte flipped in place, its modification time put back: the change time moved.
    let file = dest.join("w.bin");
    let mtime = std::fs::metadata(&file).unwrap().modified().unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[1000] ^= 0x01;
    std::fs::write(&file, &bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    assert_eq!(std::fs::metadata(&file).unwrap().modified().unwrap(), mtime);
    let mended = restore();
    assert_eq!(
        (mended.from.as_deref(), mended.sealed),
        (Some("nas"), false),
        "the flipped copy was hashed, found bad and restored"
    );
    assert_eq!(std::fs::read(&file).unwrap(), data);

    // Sealed again once settled; then the same bytes written as a new file are hashed.
    std::thread::sleep(Duration::from_millis(1200));
    assert!(!restore().sealed, "hashed and sealed now");
    assert!(restore().sealed);
    std::fs::remove_file(&file).unwrap();
    std::fs::write(&file, &data).unwrap();
    let replaced = restore();
    assert_eq!((replaced.from.as_deref(), replaced.sealed), (None, false));
}
