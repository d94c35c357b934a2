//! The known_hosts matcher from strings: plain, `[host]:port`, hashed, wildcards,
//! negation, `@revoked`, changed and unknown keys, and the lines we append.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

const ED_A: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPhvHQ5yBMJfOdMoqxcEbuuCHfVlXaPkvPOTqioZWtf8";
const ED_B: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID24HJJo/cEJ9Hpw+pg5DaOGgSxZ1y5Wu5GO+9SCVIhp";
const EC: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBIkRMBkwx+JxcfdOHUNyMIaP9lkEaY9X3dquR9AsnF+rEGHfY5u2U8W/YbYygFDBTUIjB/PX/pUD1ZRY+82BY8U=";
const RSA: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCn6cEdpuZZ0rGieY0X9QQXv7ohItqXOQw/azA3fjQ+qtdqUSOmp+M0AmCxCOaPuj/pkm6J5MhwsaqX8ygULZwHz9HceFz1osDaC4CWD4oy4iOZArQYvruuVRc+PFW8l+kL1YQNR/QQh7WWrG6npLkKcbMvQWrS4TzaAp+auVXTgu7wWGFx0XO63nlriCq34LV7levSB5/rVMEKUXCB7aO4zJnXtM0MtdLIQJ05N9yN3Q+sVbCnjt9k6i0YmM8dI6TtrlllwIDSG8SIkeLpHpORJjauAmD/54JoL32P1SUE05RGH65817Ddxqz3irNTMH32euE4H7niKnHkkeJlkgFt";

/// `ssh-keygen -H` output for `[127.0.0.1]:2222 ED_A` and `gpu.example.com ED_B`.
const HASHED: &str = "\
|1|odftD5Ufa2uyvesiH/EOFD4tfDw=|fKdhUB6Ya2KXD0HHWXWSNgjOE+8= ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPhvHQ5yBMJfOdMoqxcEbuuCHfVlXaPkvPOTqioZWtf8
|1|cYVOaKtJxHQ3YkkAKeFVuAfUG9M=|a/snKtcKsRG78tGHPBzQccGa0N0= ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID24HJJo/cEJ9Hpw+pg5DaOGgSxZ1y5Wu5GO+9SCVIhp
";

fn key(s: &str) -> PublicKey {
    PublicKey::from_openssh(s).unwrap()
}

#[test]
fn plain_entries_on_port_22_and_other_ports() {
    let text = format!("# comment\n\n10.0.0.5 {ED_A}\n[10.0.0.5]:2222 {ED_B} a comment\n");
    assert_eq!(check(&text, "10.0.0.5", 22, &key(ED_A)), Verdict::Known);
    assert_eq!(check(&text, "10.0.0.5", 2222, &key(ED_B)), Verdict::Known);
    // The port-22 entry does not vouch for another port.
    assert_eq!(check(&text, "10.0.0.6", 22, &key(ED_A)), Verdict::Unknown);
    assert_eq!(check(&text, "10.0.0.5", 2200, &key(ED_A)), Verdict::Unknown);
}

#[test]
fn a_changed_key_names_the_old_one_and_its_line() {
    let text = format!("other {RSA}\n[h]:2222 {ED_A}\n");
    match check(&text, "h", 2222, &key(ED_B)) {
        Verdict::Changed { old, line } => {
            assert_eq!(line, 2);
            assert_eq!(fingerprint(&old), fingerprint(&key(ED_A)));
        }
        v => panic!("expected Changed, got {v:?}"),
    }
}

#[test]
fn a_key_of_another_type_for_a_known_host_is_a_change() {
    let text = format!("h {RSA}\n");
    assert!(matches!(
        check(&text, "h", 22, &key(ED_A)),
        Verdict::Changed { line: 1, .. }
    ));
    // …but when the host has both types, the right one is known.
    let text = format!("h {RSA}\nh {ED_A}\n");
    assert_eq!(check(&text, "h", 22, &key(ED_A)), Verdict::Known);
    assert_eq!(check(&text, "h", 22, &key(RSA)), Verdict::Known);
}

#[test]
fn hashed_entries_match_like_ssh_keygen_wrote_them() {
    assert_eq!(check(HASHED, "127.0.0.1", 2222, &key(ED_A)), Verdict::Known);
    assert_eq!(
        check(HASHED, "GPU.example.com", 22, &key(ED_B)),
        Verdict::Known
    );
    assert_eq!(
        check(HASHED, "127.0.0.1", 2223, &key(ED_A)),
        Verdict::Unknown
    );
    assert!(matches!(
        check(HASHED, "127.0.0.1", 2222, &key(ED_B)),
        Verdict::Changed { line: 1, .. }
    ));
    // Our own hasher writes what ssh-keygen would.
    let h = hashed_host("[127.0.0.1]:2222", b"0123456789abcdefghij").unwrap();
    let text = format!("{h} {EC}\n");
    assert_eq!(check(&text, "127.0.0.1", 2222, &key(EC)), Verdict::Known);
    assert!(!host_matches("[127.0.0.1]:2222", "|1|bm90LWJhc2U2NA|x"));
    assert!(!host_matches("h", "|1|onlysalt"));
}

#[test]
fn wildcards_lists_and_negation() {
    let text = format!("*.gpu.example.com,!bad.gpu.example.com {ED_A}\n[10.1.?.*]:2222 {ED_B}\n");
    assert_eq!(
        check(&text, "n1.gpu.example.com", 22, &key(ED_A)),
        Verdict::Known
    );
    assert_eq!(
        check(&text, "bad.gpu.example.com", 22, &key(ED_A)),
        Verdict::Unknown
    );
    assert_eq!(check(&text, "10.1.2.77", 2222, &key(ED_B)), Verdict::Known);
    assert_eq!(
        check(&text, "10.1.22.7", 2222, &key(ED_B)),
        Verdict::Unknown
    );
    assert!(wildcard(b"a*b*c", b"axxbyyc"));
    assert!(!wildcard(b"a*b*c", b"axxbyy"));
    assert!(wildcard(b"***", b""));
}

#[test]
fn revoked_keys_are_refused_even_when_also_listed() {
    let text = format!("h {ED_A}\n@revoked * {ED_A}\n");
    assert_eq!(
        check(&text, "h", 22, &key(ED_A)),
        Verdict::Revoked { line: 2 }
    );
    // A revoked line alone does not make the host known; other keys are simply new.
    let text = format!("@revoked h {ED_A}\n");
    assert_eq!(check(&text, "h", 22, &key(ED_B)), Verdict::Unknown);
    // Revocation of one host's pattern does not reach another host.
    let text = format!("@revoked other {ED_A}\nh {ED_A}\n");
    assert_eq!(check(&text, "h", 22, &key(ED_A)), Verdict::Known);
}

#[test]
fn cert_authority_and_garbage_lines_are_ignored() {
    let text = format!(
        "@cert-authority * {ED_A}\n@weird h {ED_A}\nh ssh-ed25519 not-base64!!\nh\n\u{0}\u{1}junk\n   h   {ED_B}   \n"
    );
    assert_eq!(
        check(&text, "h", 22, &key(ED_A)),
        Verdict::Changed {
            old: Box::new(key(ED_B)),
            line: 6
        }
    );
    assert_eq!(check(&text, "h", 22, &key(ED_B)), Verdict::Known);
}

#[test]
fn known_algorithms_skip_revoked_and_merge_rsa() {
    let text = format!("h {RSA}\nh {ED_A}\n[h]:2 {EC}\n@revoked h {EC}\nh {RSA}\n");
    let algs = known_algorithms(&text, "h", 22);
    assert_eq!(algs.len(), 2);
    assert!(same_kind(
        &algs[0],
        &Algorithm::Rsa {
            hash: Some(HashAlg::Sha512)
        }
    ));
    assert_eq!(algs[1], Algorithm::Ed25519);
}

#[test]
fn appended_lines_round_trip() {
    let line = entry_line("127.0.0.1", 2222, &key(&format!("{ED_A} someone@host")));
    assert_eq!(line, format!("[127.0.0.1]:2222 {ED_A}"));
    assert_eq!(check(&line, "127.0.0.1", 2222, &key(ED_A)), Verdict::Known);
    assert_eq!(entry_line("Box", 22, &key(EC)), format!("box {EC}"));
    assert_eq!(
        fingerprint(&key(ED_A)),
        "SHA256:Tj9PhMd/ngcy02uuMPbEUzEZennAK2gaBZH7lOtpi/Y"
    );
}
