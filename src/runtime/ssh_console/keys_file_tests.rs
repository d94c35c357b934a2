//! The keys-and-roles file parsed from strings: good files, and each bad line's message.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::PrivateKey;

/// `ssh-ed25519 AAAA…` for a key made from a fixed seed.
fn pubkey(seed: u8) -> String {
    let key = PrivateKey::from(Ed25519Keypair::from_seed(&[seed; 32]));
    key.public_key().to_openssh().unwrap()
}

fn parse(text: &str) -> Result<AuthorizedKeys, KeysFileError> {
    AuthorizedKeys::parse(text, Path::new("/etc/lifeboat/console_keys"))
}

/// The problems of a refused file.
fn problems(text: &str) -> Vec<String> {
    match parse(text) {
        Ok(_) => panic!("expected problems, the file was accepted:\n{text}"),
        Err(KeysFileError::Invalid { problems, .. }) => problems,
        Err(e) => panic!("unexpected {e}"),
    }
}

/// The single problem of `text`, checked for each part.
#[track_caller]
fn one(text: &str, parts: &[&str]) {
    let p = problems(text);
    assert_eq!(p.len(), 1, "{p:#?}");
    for part in parts {
        assert!(p[0].contains(part), "{:?} lacks {part:?}", p[0]);
    }
}

#[test]
fn keys_roles_names_comments_and_blank_lines() {
    let text = format!(
        "# who may use the console\n\nrole=operator,name=alice {} alice@laptop\n  name=bob,role=viewer {}\nrole=admin,name=ops.team_1 {} a comment with spaces\n",
        pubkey(1),
        pubkey(2),
        pubkey(3)
    );
    let keys = parse(&text).unwrap();
    let e = keys.entries();
    assert_eq!(e.len(), 3);
    assert_eq!(
        (e[0].name.as_str(), e[0].role, e[0].line),
        ("alice", Role::Operator, 3)
    );
    assert_eq!(
        (e[1].name.as_str(), e[1].role, e[1].line),
        ("bob", Role::Viewer, 4)
    );
    assert_eq!((e[2].name.as_str(), e[2].role), ("ops.team_1", Role::Admin));
    assert!(e[0].fingerprint.starts_with("SHA256:"));
    let bob = PublicKey::from_openssh(&pubkey(2)).unwrap();
    assert_eq!(keys.find(&bob).unwrap().name, "bob");
    let stranger = PublicKey::from_openssh(&pubkey(9)).unwrap();
    assert!(keys.find(&stranger).is_none());
}

#[test]
fn bad_roles_and_names_name_the_line_the_value_and_the_fix() {
    one(
        &format!("role=boss,name=alice {}\n", pubkey(1)),
        &[
            "/etc/lifeboat/console_keys:1:",
            "role \"boss\" is not a role",
            "role=viewer, role=operator or role=admin",
        ],
    );
    one(
        &format!("\nrole=viewer,name=al ice {}\n", pubkey(1)),
        &[
            "console_keys:2:",
            "\"ice\" stands where the key type should be",
            "one word",
        ],
    );
    one(
        &format!("role=viewer,name=al/ice {}\n", pubkey(1)),
        &[
            "console_keys:1:",
            "name \"al/ice\" is not a valid name",
            "e.g. name=alice",
        ],
    );
    one(
        &format!("role=viewer {}\n", pubkey(1)),
        &["no name=", "name=alice"],
    );
    one(
        &format!("name=a {}\n", pubkey(1)),
        &["no role=", "role=operator"],
    );
    one(
        &format!("role=viewer,role=admin,name=a {}\n", pubkey(1)),
        &["role= is given twice"],
    );
}

#[test]
fn options_are_required_first_and_only_role_and_name() {
    one(
        &format!("{} alice@laptop\n", pubkey(1)),
        &["console_keys:1:", "no role and name", "put them first"],
    );
    one(
        &format!("command=\"ls\",role=viewer,name=a {}\n", pubkey(1)),
        &["hold quotes", "only role=…,name=…"],
    );
    one(
        &format!("role=viewer,name=a,from=10.0.0.1 {}\n", pubkey(1)),
        &["unknown option \"from\"", "only role=… and name=…"],
    );
    one(
        &format!("role=viewer,name=a,x {}\n", pubkey(1)),
        &["option \"x\" is not key=value"],
    );
}

#[test]
fn bad_or_missing_keys_say_to_paste_the_pub_line() {
    one("role=viewer,name=a\n", &["no key follows the options"]);
    one(
        "role=viewer,name=a ssh-ed25519\n",
        &["key data is missing after \"ssh-ed25519\"", ".pub"],
    );
    one(
        "role=viewer,name=a ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAbrokenbrokenbroken\n",
        &[
            "\"ssh-ed25519\" \"AAAAC3NzaC1lZDI1NTE5AAAA…\" is not a public key",
            "~/.ssh/id_ed25519.pub",
        ],
    );
}

#[test]
fn duplicate_keys_and_names_are_refused_and_every_bad_line_is_reported() {
    let text = format!(
        "role=viewer,name=a {k1}\nrole=admin,name=b {k1}\nrole=admin,name=a {k2}\nrole=nope,name=c {k3}\n",
        k1 = pubkey(1),
        k2 = pubkey(2),
        k3 = pubkey(3)
    );
    let p = problems(&text);
    assert_eq!(p.len(), 3, "{p:#?}");
    assert!(
        p[0].contains(":2: key SHA256:") && p[0].contains("already listed at line 1 (name \"a\")"),
        "{}",
        p[0]
    );
    assert!(p[0].contains("one line per key"));
    assert!(
        p[1].contains(":3: name \"a\" is already used at line 1"),
        "{}",
        p[1]
    );
    assert!(p[2].contains(":4: role \"nope\""), "{}", p[2]);
    let shown = parse(&text).unwrap_err().to_string();
    assert!(
        shown.starts_with(
            "the console's keys file /etc/lifeboat/console_keys:\n  /etc/lifeboat/console_keys:2:"
        ),
        "{shown}"
    );
}

#[test]
fn a_file_without_keys_is_refused() {
    one(
        "# nobody yet\n\n",
        &["lists no keys", "role=operator,name=alice ssh-ed25519"],
    );
}

#[test]
fn load_refuses_a_file_others_may_write_and_names_the_fix() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys");
    std::fs::write(&path, format!("role=viewer,name=a {}\n", pubkey(1))).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o664)).unwrap();
    let e = AuthorizedKeys::load(&path).unwrap_err().to_string();
    assert!(e.contains("writable by group or others (mode 664)"), "{e}");
    assert!(e.contains(&format!("chmod 600 {}", path.display())), "{e}");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(AuthorizedKeys::load(&path).unwrap().entries().len(), 1);
    let missing = AuthorizedKeys::load(&dir.path().join("nope"))
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("cannot read the console's keys file") && missing.contains("nope"),
        "{missing}"
    );
}
