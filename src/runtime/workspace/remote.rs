//! The shell snippets a workspace sync runs on hosts: list the workspace, stage tar's file
//! list and pack on the source, and on the destination remove, create folders, unpack
//! into the scratch folder and move into place. POSIX `sh` with GNU `find` and `tar`;
//! every value quoted.

use crate::core::workspace::{Excludes, Plan, Removal, LIST_FORMAT, LIST_HEADER, NO_DIR, SYNC_TMP};
use crate::runtime::scripts::{quote, quote_path};

/// Arguments per batched `rm`/`mkdir`/`chmod` line, in bytes: far below any `ARG_MAX`.
const BATCH: usize = 32 << 10;

/// Sets `W` to the workspace and refuses anything but an absolute folder other than `/`
/// (an unset `$VAR` must never turn a sync into one of the root).
fn enter(ws: &str) -> String {
    format!(
        r#"W={w}
case "$W" in /?*) ;; *) echo "@@error the workspace path expands to '$W', not a folder below /"; exit 3;; esac
"#,
        w = quote_path(ws)
    )
}

/// Lists the workspace as NUL-terminated records (see `core::workspace::parse_listing`);
/// excluded names and paths without wildcards are not even walked. Exits with find's
/// status: not 0 when some folder could not be read.
pub fn list(ws: &str, ex: &Excludes) -> String {
    let (paths, names) = ex.literal();
    let mut prune: Vec<String> = paths
        .iter()
        .map(|p| format!("-path {}", quote(&format!("./{p}"))))
        .collect();
    prune.extend(names.iter().map(|n| format!("-name {}", quote(n))));
    let prune = if prune.is_empty() {
        String::new()
    } else {
        format!("\\( {} \\) -prune -o ", prune.join(" -o "))
    };
    format!(
        r#"{enter}[ -d "$W" ] || {{ echo {nodir}; exit 0; }}
cd "$W" || {{ echo "@@error cannot enter $W"; exit 3; }}
echo {header}
find . -mindepth 1 {prune}\( -type f -o -type d -o -type l \) -printf {fmt}
"#,
        enter = enter(ws),
        nodir = quote(NO_DIR),
        header = quote(LIST_HEADER),
        fmt = quote(LIST_FORMAT),
    )
}

/// A one-line command for `write_stream`: saves stdin (tar's NUL-separated file list) in
/// a private temp file and prints `@@list <path>`.
pub fn stage_list() -> String {
    r#"umask 077; t=$(mktemp "${TMPDIR:-/tmp}/lifeboat-ws.XXXXXX") || exit 3; cat > "$t" || { rm -f "$t"; exit 4; }; echo "@@list $t""#.to_string()
}

/// The temp file [`stage_list`] wrote, from what it printed.
pub fn parse_staged(out: &str) -> Option<String> {
    out.lines()
        .find_map(|l| l.trim_end().strip_prefix("@@list "))
        .filter(|p| p.starts_with('/'))
        .map(str::to_string)
}

/// tar's file list for `paths`: `./`-prefixed (so no name reads as an option), NUL-ended.
pub fn file_list(paths: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in paths {
        out.extend_from_slice(b"./");
        out.extend_from_slice(p.as_bytes());
        out.push(0);
    }
    out
}

/// A one-line command for `read_stream`: tar of the listed files on stdout, then the list
/// is removed. A file gone since the listing is skipped (`--ignore-failed-read`); tar
/// exits 1 when a file changed while it was read (its next sync fixes it).
pub fn pack(ws: &str, list: &str) -> String {
    format!(
        "cd {w} || exit 3; tar -c -f - --format=gnu --null --no-recursion --ignore-failed-read --warning=no-file-changed -T {l}; rc=$?; rm -f {l}; exit $rc",
        w = quote_path(ws),
        l = quote(list),
    )
}

/// Removes a staged list that [`pack`] never got to.
pub fn remove_list(list: &str) -> String {
    format!("rm -f -- {}\n", quote(list))
}

/// On the destination, before any byte arrives: makes the workspace and an empty scratch
/// folder, removes what the plan removes (children first) and creates its folders.
pub fn prepare(ws: &str, plan: &Plan) -> String {
    let mut s = enter(ws);
    s.push_str(&format!(
        r#"mkdir -p "$W" || {{ echo "@@error cannot create the workspace $W"; exit 4; }}
cd "$W" || {{ echo "@@error cannot enter $W"; exit 3; }}
rm -rf ./{tmp} && mkdir ./{tmp} || {{ echo "@@error cannot make $W/{tmp}"; exit 4; }}
"#,
        tmp = SYNC_TMP
    ));
    // Consecutive removals of one kind share a line; the order stays children first.
    let mut i = 0;
    while i < plan.delete.len() {
        let how = plan.delete[i].1;
        let run: Vec<&str> = plan.delete[i..]
            .iter()
            .take_while(|(_, h)| *h == how)
            .map(|(p, _)| p.as_str())
            .collect();
        i += run.len();
        let cmd = match how {
            Removal::File => "rm -f --",
            Removal::Tree => "rm -rf --",
            // A folder that still holds excluded files stays.
            Removal::EmptyDir => "rmdir --",
        };
        let tail = match how {
            Removal::EmptyDir => " 2>/dev/null; :",
            _ => "",
        };
        for line in batches(&run) {
            s.push_str(&format!("{cmd} {line}{tail}\n"));
        }
    }
    let dirs: Vec<&str> = plan.mkdirs.iter().map(|(p, _)| p.as_str()).collect();
    for line in batches(&dirs) {
        s.push_str(&format!(
            "mkdir -p -- {line} || {{ echo \"@@error cannot create folders in $W\"; exit 4; }}\n"
        ));
    }
    s.push_str("echo @@prepared\n");
    s
}

/// A one-line command for `write_stream`: unpacks stdin into the scratch folder, keeping
/// modes and mtimes (so the next listing matches) but not the source's owners.
pub fn unpack(ws: &str) -> String {
    format!(
        "cd {w}/{tmp} || exit 3; exec tar -x -p -f - --no-same-owner",
        w = quote_path(ws),
        tmp = SYNC_TMP
    )
}

/// Moves every unpacked file and link from the scratch folder to its place (a rename on
/// the same disk: a name holds either the old file or the whole new one), gives new
/// folders their modes, and removes the scratch folder. Prints `@@placed`.
pub fn place(ws: &str, plan: &Plan) -> String {
    let mut s = enter(ws);
    s.push_str(&format!(
        r#"cd "$W"/{tmp} || {{ echo "@@error nothing unpacked in $W"; exit 3; }}
export W
find . ! -type d -exec sh -c '
for f; do
  p="${{f#./}}"; d="$W/$p"
  if [ -L "$d" ]; then rm -f -- "$d"; elif [ -d "$d" ]; then echo "@@blocked $p"; continue; fi
  case "$p" in */*) [ -d "$W/${{p%/*}}" ] || mkdir -p -- "$W/${{p%/*}}";; esac
  mv -f -- "$f" "$d" || echo "@@unplaced $p"
done' sh {{}} +
cd "$W" || exit 3
"#,
        tmp = SYNC_TMP
    ));
    let mut modes: Vec<u32> = plan.mkdirs.iter().map(|(_, m)| *m).collect();
    modes.sort_unstable();
    modes.dedup();
    for m in modes {
        let dirs: Vec<&str> = plan
            .mkdirs
            .iter()
            .filter(|(_, mode)| *mode == m)
            .map(|(p, _)| p.as_str())
            .collect();
        for line in batches(&dirs) {
            s.push_str(&format!("chmod {m:o} -- {line} 2>/dev/null\n"));
        }
    }
    s.push_str(&format!("rm -rf ./{SYNC_TMP}\necho @@placed\n"));
    s
}

/// Removes the scratch folder after a failed sync (a full disk must not stay full).
pub fn clean(ws: &str) -> String {
    format!("{}rm -rf \"$W\"/{SYNC_TMP}\n", enter(ws))
}

/// `./`-prefixed quoted paths, joined into lines of at most [`BATCH`] bytes.
fn batches(paths: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = String::new();
    for p in paths {
        let q = quote(&format!("./{p}"));
        if !line.is_empty() && line.len() + q.len() > BATCH {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&q);
    }
    if !line.is_empty() {
        out.push(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_prunes_literal_excludes_only() {
        let s = list(
            "$HOST_DIR/ws",
            &Excludes::new(&["*.tmp", "data/raw", "ckpt"]),
        );
        assert!(s.starts_with("W=\"${HOST_DIR}\"'/ws'\n"), "{s}");
        assert!(
            s.contains(r"\( -path './data/raw' -o -name 'ckpt' -o -name '.lifeboat-sync-tmp' \) -prune -o \( -type f"),
            "{s}"
        );
        assert!(
            !s.contains("'*.tmp'"),
            "a wildcard is filtered in the core: {s}"
        );
    }

    #[test]
    fn removals_keep_their_order_and_batch_by_kind() {
        let plan = Plan {
            delete: vec![
                ("a/x".into(), Removal::File),
                ("a/it's".into(), Removal::File),
                ("a".into(), Removal::EmptyDir),
                ("b".into(), Removal::Tree),
            ],
            mkdirs: vec![("n".into(), 0o700), ("n/m".into(), 0o755)],
            ..Plan::default()
        };
        let s = prepare("/w", &plan);
        let rm = s.find(r"rm -f -- './a/x' './a/it'\''s'").unwrap();
        let rmdir = s.find("rmdir -- './a' 2>/dev/null; :").unwrap();
        let tree = s.find("rm -rf -- './b'").unwrap();
        let mk = s.find("mkdir -p -- './n' './n/m'").unwrap();
        assert!(rm < rmdir && rmdir < tree && tree < mk, "{s}");
        let p = place("/w", &plan);
        assert!(p.contains("chmod 700 -- './n'"), "{p}");
        assert!(p.contains("chmod 755 -- './n/m'"), "{p}");
    }

    #[test]
    fn long_lists_are_split_below_the_argument_limit() {
        let names: Vec<String> = (0..5000).map(|i| format!("dir/file-{i:05}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let lines = batches(&refs);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| l.len() <= BATCH));
        assert_eq!(
            lines
                .iter()
                .map(|l| l.matches("'./").count())
                .sum::<usize>(),
            5000
        );
    }

    #[test]
    fn the_file_list_is_nul_separated_and_dot_slashed() {
        assert_eq!(file_list(&["-rf".into(), "a b".into()]), b"./-rf\0./a b\0");
        assert_eq!(
            parse_staged("@@list /tmp/lifeboat-ws.Ab12\n"),
            Some("/tmp/lifeboat-ws.Ab12".into())
        );
        assert_eq!(parse_staged("mktemp: failed\n"), None);
    }
}
