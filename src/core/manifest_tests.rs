//! Tests of manifests: round trips, hostile names, bounds and macs.

use super::*;

fn sample() -> Manifest {
    Manifest {
        format: FORMAT,
        job: "train".into(),
        id: "step-000120".into(),
        step: 120,
        created: 1_700_000_000_000,
        source_host: "pc1".into(),
        epoch: 2,
        single_file: false,
        files: vec![ManifestFile {
            path: "model/weights.bin".into(),
            size: 10,
            sha256: "a".repeat(64),
            mode: Some(0o600),
        }],
        mac: None,
    }
}

#[test]
fn round_trips_and_digest_is_stable() {
    let m = sample();
    let back = Manifest::parse(&m.to_bytes()).unwrap();
    assert_eq!(back, m);
    assert_eq!(back.digest(), m.digest());
    assert_eq!(m.total_bytes(), 10);
}

#[test]
fn refuses_escaping_paths_and_bad_hashes() {
    for p in [
        "../x",
        "/etc/passwd",
        "a/../b",
        "a//b",
        "",
        "a/./b",
        "manifest.json",
    ] {
        let mut m = sample();
        m.files[0].path = p.into();
        assert!(m.check().is_err(), "{p} accepted");
    }
    let mut m = sample();
    m.files[0].sha256 = "ABC".into();
    assert!(m.check().is_err());
    let mut m = sample();
    m.id = "../up".into();
    assert!(m.check().is_err());
    let mut m = sample();
    m.files.push(m.files[0].clone());
    assert!(m.check().is_err());
}

#[test]
fn refuses_truncated_or_foreign_json() {
    let bytes = sample().to_bytes();
    assert!(Manifest::parse(&bytes[..bytes.len() / 2]).is_err());
    assert!(Manifest::parse(b"{\"format\":9}").is_err());
    let mut m = sample();
    m.format = 2;
    assert!(matches!(
        Manifest::parse(&m.to_bytes()),
        Err(ManifestError::Format(2))
    ));
}

#[test]
fn single_file_lists_itself() {
    let mut m = sample();
    m.single_file = true;
    assert!(m.check().is_err());
    m.files[0].path = m.id.clone();
    m.check().unwrap();
}

#[test]
fn a_mac_proves_the_key_and_covers_every_field() {
    let mut m = sample();
    assert_eq!(m.authenticate(None), MacCheck::NoKey);
    assert_eq!(m.authenticate(Some(b"k")), MacCheck::Absent);
    let digest = m.digest();
    m.sign(b"team key");
    assert_eq!(m.digest(), digest, "the digest leaves the mac aside");
    let back = Manifest::parse(&m.to_bytes()).unwrap();
    assert_eq!(back.authenticate(Some(b"team key")), MacCheck::Valid);
    assert_eq!(back.authenticate(Some(b"other key")), MacCheck::Invalid);
    let mut raised = back.clone();
    raised.step += 1;
    assert_eq!(raised.authenticate(Some(b"team key")), MacCheck::Invalid);
    // Known answer, so another implementation can sign manifests too.
    let mut k = sample();
    k.sign(b"key");
    let mut h = hmac::Hmac::<sha2_11::Sha256>::new_from_slice(b"key").unwrap();
    h.update(&sample().to_bytes());
    assert_eq!(k.mac, Some(hex(&h.finalize().into_bytes())));
}

#[test]
fn oversized_manifests_and_too_many_files_are_refused() {
    let big = vec![b' '; MAX_MANIFEST_BYTES as usize + 1];
    assert!(matches!(
        Manifest::parse(&big),
        Err(ManifestError::TooBig(_))
    ));
    let mut m = sample();
    m.files = (0..=MAX_FILES)
        .map(|i| ManifestFile {
            path: format!("f{i}"),
            size: 1,
            sha256: "a".repeat(64),
            mode: None,
        })
        .collect();
    let e = m.check().unwrap_err().to_string();
    assert!(e.contains("more files"), "{e}");
    let mut m = sample();
    m.files[0].mode = Some(0o100644);
    assert!(m.check().is_err());
}
