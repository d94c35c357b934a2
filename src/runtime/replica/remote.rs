//! The shell snippets the replicator runs on hosts: list a job's checkpoint folder, write
//! a file from stdin, check a restored checkpoint's hashes where it landed, and move it
//! into place. POSIX `sh`; every value quoted.

use crate::core::manifest::Manifest;
use crate::runtime::scripts::{quote, quote_path};

/// The first line of a listing; NUL-terminated records follow.
pub const LIST_HEADER: &str = "@@ckpt-list 2";

/// Lists `dir` as `find -printf` records (see `core::discovery::parse_listing`): every
/// entry, links and special files too, so that a checkpoint holding one is refused.
pub fn list(dir: &str) -> String {
    format!(
        r#"d={d}
[ -d "$d" ] || {{ echo "@@nodir"; exit 0; }}
echo {h}
find "$d" -mindepth 1 -maxdepth 8 -printf '%y\t%s\t%T@\t%m\t%P\0' 2>/dev/null
"#,
        d = quote_path(dir),
        h = quote(LIST_HEADER),
    )
}

/// A command for `write_stream`: makes the parent folder, writes stdin to `path` (a new
/// file: a link there is refused), hashes the file as the file system holds it, flushes
/// it to disk, and prints the SHA-256 and the size the file has on disk (see
/// [`parse_written`]). Folders are made `0700` and the file `0600`, then given `mode` (the
/// job's own permission bits; setuid, setgid and sticky never): never wider.
///
/// A file of [`FOLLOW_FROM`] bytes or more is written by [`WRITE_HASHED`] where the host
/// has `python3`: the hash follows the writer through a second handle and the write-back
/// starts while the file fills, so both are done about when the last byte lands. Anything
/// else, or a host where `python3` cannot start (it makes the file before it reads a byte,
/// so no file means stdin is untouched), goes the plain `sh` way: `cat`, then `openssl
/// dgst` (`sha256sum` without openssl) reading the file back with `sync FILE` beside it.
/// Not `tee` into the hasher: `tee` moves 8 KiB at a time, 1.6 CPU-s per GiB.
pub fn write_file(path: &str, mode: Option<u32>, size: u64) -> String {
    let parent = path.rsplit_once('/').map_or(".", |(p, _)| p);
    let parent = if parent.is_empty() { "/" } else { parent };
    let p = quote_path(path);
    let chmod = mode.map_or(String::new(), |m| format!("chmod {:o} {p} && ", m & 0o777));
    let follow = if size >= FOLLOW_FROM {
        format!(
            "if command -v python3 >/dev/null 2>&1; then python3 -I -S -c '{WRITE_HASHED}' {p}; r=$?; if [ $r = 0 ]; then f=0; elif [ -e {p} ] || [ -L {p} ]; then exit $r; fi; fi; "
        )
    } else {
        String::new()
    };
    format!(
        "umask 077 && mkdir -p -- {} && if [ -L {p} ]; then echo \"refused: {path} is a symbolic link\" >&2; exit 3; fi && rm -f -- {p} || exit 1; f=1; {follow}if [ $f = 1 ]; then cat > {p} && {{ {{ sync -- {p} 2>/dev/null || sync; }} & w=$!; if command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r < {p}; else sha256sum < {p}; fi; r=$?; wait $w; [ $r = 0 ]; }} || exit 1; fi; {chmod}wc -c < {p}",
        quote_path(parent),
        path = path.replace(['"', '\\', '$', '`'], "_"),
    )
}

/// The size from which [`write_file`] hashes behind the writer: below it, starting
/// `python3` (~16 ms) costs more than hashing after the last byte saves.
pub const FOLLOW_FROM: u64 = 16 << 20;

/// The host side of a large restore: see `write_hashed.py`.
const WRITE_HASHED: &str = include_str!("write_hashed.py");

/// A command for `read_stream`: `path`'s bytes on stdout, only if it is a regular file
/// and not a link (a FIFO would block, a link would read what it points to).
pub fn read_file(path: &str) -> String {
    let p = quote_path(path);
    format!(
        "if [ -L {p} ] || [ ! -f {p} ]; then echo \"refused: {} is a symbolic link or not a regular file\" >&2; exit 3; fi; exec cat -- {p}",
        path.replace(['"', '\\', '$', '`'], "_"),
    )
}

/// What [`write_file`] printed: the SHA-256 of the file the host wrote and its size.
pub fn parse_written(out: &str) -> Option<(String, u64)> {
    let mut lines = out.lines().map(str::trim).filter(|l| !l.is_empty());
    let sha = lines.next()?.get(..64)?.to_ascii_lowercase();
    let size = lines.next_back()?.parse().ok()?;
    crate::core::manifest::is_sha256(&sha).then_some((sha, size))
}

/// The hashing command: openssl's SHA-256 is several times faster than coreutils'.
const HASHER: &str = r#"if command -v openssl >/dev/null 2>&1; then hs() { openssl dgst -sha256 -r "$1" | cut -c1-64; }; else hs() { sha256sum "$1" | cut -c1-64; }; fi
"#;

/// How a host describes a file for a seal (`core::seal`): size, modification and change
/// times with nanoseconds where its `stat` gives them, inode, device. Never follows a link.
const STAT: &str = "st() { stat -c '%s %.9Y %.9Z %i %d' -- \"$1\" 2>/dev/null; }\n";

/// Each file of `m` under `root` (a folder, or the file itself for a single-file
/// checkpoint), as a shell word.
fn file_words(m: &Manifest) -> Vec<(String, String)> {
    m.files
        .iter()
        .map(|f| {
            let p = if m.single_file {
                "\"$r\"".to_string()
            } else {
                format!("\"$r\"/{}", quote(&f.path))
            };
            (p, quote(&f.path))
        })
        .collect()
}

/// Checks every file of `m` under `root`: prints `@@ok` or `@@bad <why>`. Around the
/// hashing it prints each file's `@@before` and `@@after` stat and the host's clock
/// (`@@at`), from which a seal is made when they agree.
pub fn verify(root: &str, m: &Manifest) -> String {
    let mut s = String::from(HASHER);
    s.push_str(STAT);
    s.push_str(&format!("r={}\n", quote_path(root)));
    s.push_str("[ -L \"$r\" ] && { echo \"@@bad link $r\"; exit 0; }\n");
    let files = file_words(m);
    for (p, name) in &files {
        s.push_str(&format!(
            r#"[ -L {p} ] && {{ echo "@@bad link "{name}; exit 0; }}
[ -f {p} ] || {{ echo "@@bad missing "{name}; exit 0; }}
echo "@@before $(st {p})"
"#
        ));
    }
    s.push_str("echo \"@@at $(date +%s.%N)\"\n");
    for ((p, name), f) in files.iter().zip(&m.files) {
        s.push_str(&format!(
            r#"[ "$(wc -c < {p})" = {size} ] || {{ echo "@@bad size "{name}; exit 0; }}
[ "$(hs {p})" = {sha} ] || {{ echo "@@bad sha256 "{name}; exit 0; }}
"#,
            size = f.size,
            sha = quote(&f.sha256),
        ));
    }
    for (p, _) in &files {
        s.push_str(&format!("echo \"@@after $(st {p})\"\n"));
    }
    s.push_str("echo @@ok\n");
    s
}

/// Describes every file of `m` under `root` without reading it: a `@@stat` line each,
/// then `@@ok`; `@@bad <why>` for a link or a missing file.
pub fn stat_files(root: &str, m: &Manifest) -> String {
    let mut s = String::from(STAT);
    s.push_str(&format!("r={}\n", quote_path(root)));
    s.push_str("[ -L \"$r\" ] && { echo \"@@bad link $r\"; exit 0; }\n");
    for (p, name) in file_words(m) {
        s.push_str(&format!(
            r#"[ -L {p} ] && {{ echo "@@bad link "{name}; exit 0; }}
[ -f {p} ] || {{ echo "@@bad missing "{name}; exit 0; }}
echo "@@stat $(st {p})"
"#
        ));
    }
    s.push_str("echo @@ok\n");
    s
}

/// The stats a [`verify`] or [`stat_files`] printed under `tag` (`@@before`, `@@after`,
/// `@@stat`), or why they cannot be read.
pub fn parse_stats(out: &str, tag: &str) -> Result<Vec<crate::core::seal::FileStat>, String> {
    out.lines()
        .filter_map(|l| l.strip_prefix(tag)?.strip_prefix(' '))
        .map(crate::core::seal::FileStat::parse)
        .collect()
}

/// The verdict line of a [`verify`] or [`stat_files`]: `Ok` for `@@ok`, else why not.
pub fn verdict(out: &str) -> Result<(), String> {
    let line = out
        .lines()
        .find(|l| *l == "@@ok" || l.starts_with("@@bad"))
        .unwrap_or("");
    match line {
        "@@ok" => Ok(()),
        "" => Err("the host said nothing of it".into()),
        l => Err(l.trim_start_matches("@@bad ").to_string()),
    }
}

/// Moves `tmp` to `dest` (folder or file), setting aside and then removing whatever was
/// there; on failure puts the old one back. Prints `@@placed`.
pub fn place(tmp: &str, dest: &str, aside: &str) -> String {
    format!(
        r#"t={t}; d={d}; o={o}
sync 2>/dev/null
if [ -e "$d" ]; then rm -rf -- "$o"; mv -- "$d" "$o" || {{ echo "@@fail cannot move the old copy aside"; exit 3; }}; fi
if mv -- "$t" "$d"; then rm -rf -- "$o"; echo "@@placed"; else [ -e "$o" ] && mv -- "$o" "$d"; echo "@@fail cannot move into place"; exit 4; fi
"#,
        t = quote_path(tmp),
        d = quote_path(dest),
        o = quote_path(aside),
    )
}

/// Removes a temporary restore.
pub fn remove(path: &str) -> String {
    format!("rm -rf -- {}\n", quote_path(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_file_quotes_and_makes_the_parent() {
        let c = write_file("/a b/c'd", None, 1);
        assert!(c.starts_with("umask 077 && mkdir -p -- '/a b' && "), "{c}");
        assert!(c.contains(r"cat > '/a b/c'\''d' && "), "{c}");
        assert!(
            c.contains(r"openssl dgst -sha256 -r < '/a b/c'\''d'"),
            "{c}"
        );
        assert!(c.ends_with(r"wc -c < '/a b/c'\''d'"), "{c}");
        assert!(!c.contains("chmod"), "{c}");
        assert!(
            !c.contains("python3"),
            "a small file is not worth starting python"
        );
        assert!(write_file("/x", None, 1).starts_with("umask 077 && mkdir -p -- '/' && "));
        let c = write_file("/x", Some(0o4755), FOLLOW_FROM);
        assert!(c.contains("chmod 755 '/x' && wc -c"), "{c}");
        assert!(c.contains("python3 -I -S -c '"), "{c}");
        assert!(
            !WRITE_HASHED.contains('\''),
            "write_hashed.py goes in single quotes"
        );
    }

    #[test]
    fn written_output_parses_from_openssl_and_coreutils() {
        let h = "ab".repeat(32);
        assert_eq!(
            parse_written(&format!("{h} *stdin\n42\n")),
            Some((h.clone(), 42))
        );
        assert_eq!(
            parse_written(&format!("{h}  -\n 7\n")),
            Some((h.clone(), 7))
        );
        assert_eq!(parse_written("garbage\n1\n"), None);
        assert_eq!(parse_written(&format!("{h} *stdin\n")), None);
    }

    /// Runs `script` under `shell` (`dash`, or `busybox sh`) with `path` first in PATH.
    fn run(shell: &[&str], script: &str, path: Option<&std::path::Path>) -> String {
        let mut c = std::process::Command::new(shell[0]);
        c.args(&shell[1..]).arg("-c").arg(script);
        if let Some(p) = path {
            let old = std::env::var("PATH").unwrap_or_default();
            c.env("PATH", format!("{}:{old}", p.display()));
        }
        let out = c.output().unwrap_or_else(|e| panic!("{shell:?}: {e}"));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `script` under `shell` with `input` on stdin and PATH set to `path` alone
    /// when given; returns stdout, or stderr as the error.
    fn feed(
        shell: &[&str],
        script: &str,
        input: &[u8],
        path: Option<&str>,
    ) -> Result<String, String> {
        use std::io::Write;
        use std::process::{Command, Stdio};
        // Found on our own PATH: the one given is the script's.
        let program = run(&["sh"], &format!("command -v {}", shell[0]), None);
        let mut c = Command::new(program.trim());
        c.args(&shell[1..]).arg("-c").arg(script);
        if let Some(p) = path {
            c.env("PATH", p);
        }
        let mut child = c
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{shell:?}: {e}"))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A script that refuses stops reading: its status says so, not the pipe.
            let _ = stdin.write_all(input);
        }
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// A folder of links to `tools` (found on our PATH) and of `sh` stand-ins (name,
    /// script), to be a script's whole PATH.
    fn bin(at: &std::path::Path, tools: &[&str], standins: &[(&str, &str)]) -> String {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(at).unwrap_or_else(|e| panic!("{e}"));
        for tool in tools {
            // The interpreter itself, not a version manager's shim that needs our PATH.
            let ask = if *tool == "python3" {
                "python3 -c 'import sys; print(sys.executable)'".to_string()
            } else {
                format!("command -v {tool}")
            };
            let found = run(&["sh"], &ask, None);
            std::os::unix::fs::symlink(found.trim(), at.join(tool))
                .unwrap_or_else(|e| panic!("{tool}: {e}"));
        }
        for (name, script) in standins {
            let p = at.join(name);
            std::fs::write(&p, format!("#!/bin/sh\n{script}\n")).unwrap_or_else(|e| panic!("{e}"));
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        at.to_string_lossy().into_owned()
    }

    #[test]
    fn write_file_writes_and_hashes_under_dash_and_busybox_with_python_openssl_or_neither() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let small = b"checkpoint bytes\n".repeat(10_000);
        // Past 64 MiB, so the follower's write-back starts while the file fills.
        let big: Vec<u8> = (0..(65u32 << 20) + 12_345)
            .map(|i| (i % 251) as u8)
            .collect();
        let sha = |d: &[u8]| crate::core::manifest::hex(&<sha2::Sha256 as sha2::Digest>::digest(d));
        let shell = ["cat", "mkdir", "rm", "wc", "chmod", "sync"];
        let with = |extra: &[&'static str]| -> Vec<&'static str> { [&shell[..], extra].concat() };
        // Without openssl: the coreutils fallback. A python3 that cannot start (no
        // file made): the plain way, from the same untouched stdin. Past FOLLOW_FROM with
        // python3 alone: the python way, as nothing else could write the file.
        let paths = [
            ("full", std::env::var("PATH").unwrap_or_default()),
            // No `cat` and no hasher: only the python way can write and hash.
            (
                "python3 alone",
                bin(
                    &dir.path().join("py"),
                    &["mkdir", "rm", "wc", "chmod", "python3"],
                    &[],
                ),
            ),
            (
                "openssl, no python3",
                bin(&dir.path().join("ossl"), &with(&["openssl"]), &[]),
            ),
            (
                "sha256sum alone",
                bin(&dir.path().join("bare"), &with(&["sha256sum"]), &[]),
            ),
            (
                "a python3 that will not start",
                bin(
                    &dir.path().join("old"),
                    &with(&["sha256sum"]),
                    &[("python3", "echo 'Unknown option: -I' >&2; exit 2")],
                ),
            ),
        ];
        let mut i = 0;
        for shell in [&["dash"][..], &["busybox", "sh"][..]] {
            for (what, path) in &paths {
                for (data, size) in [(&small, 1), (&small, FOLLOW_FROM), (&big, big.len() as u64)] {
                    // The big file once per shell is enough: it is slow to feed. Without
                    // `cat`, small files cannot be written.
                    if (data.len() == big.len() && *what != "full")
                        || (*what == "python3 alone" && size < FOLLOW_FROM)
                    {
                        continue;
                    }
                    i += 1;
                    let target = dir.path().join(format!("new {i}/it's \"here\"/w.bin"));
                    let t = target.to_string_lossy();
                    let out = feed(shell, &write_file(&t, Some(0o4750), size), data, Some(path))
                        .unwrap_or_else(|e| panic!("{shell:?} {what} {size}: {e}"));
                    assert_eq!(
                        parse_written(&out),
                        Some((sha(data), data.len() as u64)),
                        "{shell:?} {what} {size}: {out}"
                    );
                    assert_eq!(std::fs::read(&target).ok().as_deref(), Some(&data[..]));
                    use std::os::unix::fs::PermissionsExt;
                    let mode = std::fs::metadata(&target).map(|m| m.permissions().mode() & 0o7777);
                    assert_eq!(mode.ok(), Some(0o750), "setuid is never given");
                }
            }
        }
        // A python3 that made the file and then failed has read stdin: no second try.
        let broke = bin(
            &dir.path().join("broke"),
            &with(&["sha256sum"]),
            &[("python3", "printf x > \"$5\"; echo 'disk full' >&2; exit 1")],
        );
        let target = dir.path().join("broke.bin");
        let err = feed(
            &["dash"],
            &write_file(&target.to_string_lossy(), None, FOLLOW_FROM),
            &small,
            Some(&broke),
        )
        .expect_err("a python3 that failed after reading is a failed write");
        assert!(err.contains("disk full"), "{err}");
        // A link where the file goes is refused, and what it points to is left alone,
        // on both ways.
        let aim = dir.path().join("aim");
        std::fs::write(&aim, b"keep").unwrap_or_else(|e| panic!("{e}"));
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&aim, &link).unwrap_or_else(|e| panic!("{e}"));
        for size in [1, FOLLOW_FROM] {
            let err = feed(
                &["dash"],
                &write_file(&link.to_string_lossy(), None, size),
                &small,
                None,
            )
            .expect_err("a link is refused");
            assert!(err.contains("symbolic link"), "{err}");
            assert_eq!(std::fs::read(&aim).ok().as_deref(), Some(&b"keep"[..]));
        }
    }

    #[test]
    fn the_seal_scripts_verify_and_describe_files_under_dash_and_busybox() {
        use crate::core::manifest::ManifestFile;
        use crate::core::seal::Seal;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = dir.path().join("ck 1");
        std::fs::create_dir_all(root.join("opt")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(root.join("opt/w.bin"), b"hello").unwrap_or_else(|e| panic!("{e}"));
        let m = Manifest {
            format: 1,
            job: "j".into(),
            id: "ck 1".into(),
            step: 1,
            created: 0,
            source_host: "h".into(),
            epoch: 1,
            single_file: false,
            files: vec![ManifestFile {
                path: "opt/w.bin".into(),
                size: 5,
                sha256: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824".into(),
                mode: None,
            }],
            mac: None,
        };
        let r = root.to_str().unwrap_or_default();
        // busybox's own stat gives whole seconds, so it can verify but never seal.
        let bb_stat = dir.path().join("bb");
        std::fs::create_dir_all(&bb_stat).unwrap_or_else(|e| panic!("{e}"));
        let busybox = std::process::Command::new("sh")
            .args(["-c", "command -v busybox"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        std::os::unix::fs::symlink(&busybox, bb_stat.join("stat"))
            .unwrap_or_else(|e| panic!("{e}"));
        std::thread::sleep(std::time::Duration::from_millis(1100));
        for (shell, path, seals) in [
            (&["dash"][..], None, true),
            (&["busybox", "sh"][..], None, true),
            (&["busybox", "sh"][..], Some(bb_stat.as_path()), false),
        ] {
            let out = run(shell, &verify(r, &m), path);
            assert_eq!(verdict(&out), Ok(()), "{shell:?}: {out}");
            let before = parse_stats(&out, "@@before").unwrap_or_else(|e| panic!("{e}: {out}"));
            let after = parse_stats(&out, "@@after").unwrap_or_else(|e| panic!("{e}: {out}"));
            assert_eq!(before.len(), 1, "{out}");
            let at = out
                .lines()
                .find_map(|l| l.strip_prefix("@@at "))
                .unwrap_or("");
            let seal = Seal::settled(before, after, at);
            assert_eq!(seal.is_ok(), seals, "{shell:?} {path:?}: {seal:?}\n{out}");
            let now = run(shell, &stat_files(r, &m), path);
            assert_eq!(verdict(&now), Ok(()), "{now}");
            let now = parse_stats(&now, "@@stat").unwrap_or_else(|e| panic!("{e}"));
            if let Ok(seal) = seal {
                assert_eq!(seal.judge(&now, &[5]), crate::core::seal::Trust::Sealed);
            }
        }
        // A link in the copy is refused by both, unread.
        std::fs::remove_file(root.join("opt/w.bin")).unwrap_or_else(|e| panic!("{e}"));
        std::os::unix::fs::symlink("/etc/hostname", root.join("opt/w.bin"))
            .unwrap_or_else(|e| panic!("{e}"));
        for script in [verify(r, &m), stat_files(r, &m)] {
            let out = run(&["dash"], &script, None);
            assert!(verdict(&out).unwrap_err().starts_with("link"), "{out}");
        }
    }
}
