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
/// `path` while hashing it on the host (openssl when there, it is several times faster
/// than coreutils), then prints the SHA-256 and the size the file has on disk. See
/// [`parse_written`]. Folders are made `0700` and the file `0600`, then given `mode`
/// (the job's own permission bits; setuid, setgid and sticky never): never wider.
pub fn write_file(path: &str, mode: Option<u32>) -> String {
    let parent = path.rsplit_once('/').map_or(".", |(p, _)| p);
    let parent = if parent.is_empty() { "/" } else { parent };
    let p = quote_path(path);
    let chmod = mode.map_or(String::new(), |m| format!("chmod {:o} {p} && ", m & 0o777));
    format!(
        "umask 077 && mkdir -p -- {} && if [ -L {p} ]; then echo \"refused: {path} is a symbolic link\" >&2; exit 3; fi && if command -v openssl >/dev/null 2>&1; then tee -- {p} | openssl dgst -sha256 -r; else tee -- {p} | sha256sum; fi && {chmod}wc -c < {p}",
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

/// What [`write_file`] printed: the SHA-256 of what reached the host and the size of the
/// file it wrote (short when the disk filled up: `tee` goes on to the hasher).
pub fn parse_written(out: &str) -> Option<(String, u64)> {
    let mut lines = out.lines().map(str::trim).filter(|l| !l.is_empty());
    let sha = lines.next()?.get(..64)?.to_ascii_lowercase();
    let size = lines.next_back()?.parse().ok()?;
    crate::core::manifest::is_sha256(&sha).then_some((sha, size))
}

/// The hashing command: openssl's SHA-256 is several times faster than coreutils'.
const HASHER: &str = r#"if command -v openssl >/dev/null 2>&1; then hs() { openssl dgst -sha256 -r "$1" | cut -c1-64; }; else hs() { sha256sum "$1" | cut -c1-64; }; fi
"#;

/// Checks every file of `m` under `root` (a folder, or the file itself for a single-file
/// checkpoint): prints `@@ok` or `@@bad <why>`.
pub fn verify(root: &str, m: &Manifest) -> String {
    let mut s = String::from(HASHER);
    s.push_str(&format!("r={}\n", quote_path(root)));
    s.push_str("[ -L \"$r\" ] && { echo \"@@bad link $r\"; exit 0; }\n");
    for f in &m.files {
        let p = if m.single_file {
            "\"$r\"".to_string()
        } else {
            format!("\"$r\"/{}", quote(&f.path))
        };
        s.push_str(&format!(
            r#"[ -L {p} ] && {{ echo "@@bad link "{name}; exit 0; }}
[ -f {p} ] || {{ echo "@@bad missing "{name}; exit 0; }}
[ "$(wc -c < {p})" = {size} ] || {{ echo "@@bad size "{name}; exit 0; }}
[ "$(hs {p})" = {sha} ] || {{ echo "@@bad sha256 "{name}; exit 0; }}
"#,
            name = quote(&f.path),
            size = f.size,
            sha = quote(&f.sha256),
        ));
    }
    s.push_str("echo @@ok\n");
    s
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
        assert!(c.contains(r"tee -- '/a b/c'\''d' |"), "{c}");
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
}
