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

/// A one-line command for `write_stream`: makes the parent folder, writes stdin to
/// `path`, then hashes the file it wrote (openssl when there, it is several times faster
/// than coreutils) and prints the SHA-256 and the size the file has on disk. See
/// [`parse_written`]. Folders are made `0700` and the file `0600`, then given `mode`
/// (the job's own permission bits; setuid, setgid and sticky never): never wider.
///
/// Write, then hash, rather than `tee` into the hasher: `tee` moves 8 KiB at a time and
/// spends 1.6 CPU-s per GiB doing it, which caps it near 500 MiB/s even with cores to
/// spare; `cat` and a hash of the page cache take 1.4 CPU-s together, finish sooner, and
/// read back what the file system holds rather than what went by in the pipe. The file is
/// hashed through stdin so that no name needs escaping in the output, while the file is
/// flushed to disk beside it (`sync FILE`, or all when `sync` takes no file), so the
/// disk's wait and the hash overlap.
pub fn write_file(path: &str, mode: Option<u32>) -> String {
    let parent = path.rsplit_once('/').map_or(".", |(p, _)| p);
    let parent = if parent.is_empty() { "/" } else { parent };
    let p = quote_path(path);
    let chmod = mode.map_or(String::new(), |m| format!("chmod {:o} {p} && ", m & 0o777));
    format!(
        "umask 077 && mkdir -p -- {} && if [ -L {p} ]; then echo \"refused: {path} is a symbolic link\" >&2; exit 3; fi && cat > {p} && {{ {{ sync -- {p} 2>/dev/null || sync; }} & w=$!; if command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r < {p}; else sha256sum < {p}; fi; r=$?; wait $w; [ $r = 0 ]; }} && {chmod}wc -c < {p}",
        quote_path(parent),
        path = path.replace(['"', '\\', '$', '`'], "_"),
    )
}

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
        let c = write_file("/a b/c'd", None);
        assert!(c.starts_with("umask 077 && mkdir -p -- '/a b' && "), "{c}");
        assert!(c.contains(r"cat > '/a b/c'\''d' && "), "{c}");
        assert!(
            c.contains(r"openssl dgst -sha256 -r < '/a b/c'\''d'"),
            "{c}"
        );
        assert!(c.ends_with(r"&& wc -c < '/a b/c'\''d'"), "{c}");
        assert!(!c.contains("chmod"), "{c}");
        assert!(write_file("/x", None).starts_with("umask 077 && mkdir -p -- '/' && "));
        let c = write_file("/x", Some(0o4755));
        assert!(c.contains("chmod 755 '/x' && wc -c"), "{c}");
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

    #[test]
    fn write_file_writes_then_hashes_under_dash_and_busybox_with_and_without_openssl() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let data = b"checkpoint bytes\n".repeat(10_000);
        let sha = crate::core::manifest::hex(&<sha2::Sha256 as sha2::Digest>::digest(&data));
        // A PATH of links to the few tools the script needs, without openssl: the
        // coreutils fallback.
        let bare = dir.path().join("bare");
        std::fs::create_dir_all(&bare).unwrap_or_else(|e| panic!("{e}"));
        for tool in ["cat", "mkdir", "sha256sum", "wc", "chmod", "sync"] {
            let at = run(&["sh"], &format!("command -v {tool}"), None);
            std::os::unix::fs::symlink(at.trim(), bare.join(tool))
                .unwrap_or_else(|e| panic!("{tool}: {e}"));
        }
        let full = std::env::var("PATH").unwrap_or_default();
        let bare = bare.to_string_lossy().into_owned();
        for (i, (shell, path)) in [
            (&["dash"][..], full.as_str()),
            (&["dash"][..], bare.as_str()),
            (&["busybox", "sh"][..], full.as_str()),
            (&["busybox", "sh"][..], bare.as_str()),
        ]
        .into_iter()
        .enumerate()
        {
            let target = dir.path().join(format!("new {i}/it's \"here\"/w.bin"));
            let t = target.to_string_lossy();
            let out = feed(shell, &write_file(&t, Some(0o4750)), &data, Some(path))
                .unwrap_or_else(|e| panic!("{shell:?} {path}: {e}"));
            assert_eq!(
                parse_written(&out),
                Some((sha.clone(), data.len() as u64)),
                "{shell:?} {path}: {out}"
            );
            assert_eq!(std::fs::read(&target).ok().as_deref(), Some(&data[..]));
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&target).map(|m| m.permissions().mode() & 0o7777);
            assert_eq!(mode.ok(), Some(0o750), "setuid is never given");
        }
        // A link where the file goes is refused, and what it points to is left alone.
        let aim = dir.path().join("aim");
        std::fs::write(&aim, b"keep").unwrap_or_else(|e| panic!("{e}"));
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&aim, &link).unwrap_or_else(|e| panic!("{e}"));
        let err = feed(
            &["dash"],
            &write_file(&link.to_string_lossy(), None),
            &data,
            None,
        )
        .expect_err("a link is refused");
        assert!(err.contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read(&aim).ok().as_deref(), Some(&b"keep"[..]));
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
