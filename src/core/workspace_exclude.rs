//! Which workspace paths a sync leaves alone: the job's `exclude` patterns, its
//! checkpoint folder (the replicator keeps checkpoints) and the sync's own scratch folder.
//! Patterns read like `.gitignore`: a name without `/` matches at any depth (`*.tmp`,
//! `__pycache__`); one with `/` is a path from the workspace root (`data/raw`). A match
//! excludes the whole subtree. Wildcards: `*` (any run within one name) and `?`.

use crate::core::host_path::split_var;

/// The folder inside the destination workspace where a sync's files land before they
/// are moved into place: a cut-off stream never leaves a half-written file under its name.
pub const SYNC_TMP: &str = ".lifeboat-sync-tmp";

/// A checked, normalised pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Pattern {
    /// Matched against every name in a path.
    Name(String),
    /// Matched against the first segments of a path.
    Anchored(Vec<String>),
}

/// The excluded paths of one job's workspace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Excludes {
    patterns: Vec<Pattern>,
}

impl Excludes {
    /// From patterns already checked by [`check_pattern`]; a bad one is ignored.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Self {
        let mut out = Self::default();
        for p in patterns {
            if let Ok(p) = check_pattern(p.as_ref()) {
                out.push(&p);
            }
        }
        out.push(SYNC_TMP);
        out
    }

    /// A job's patterns, plus its checkpoint folder when that lies inside the workspace.
    pub fn for_job<S: AsRef<str>>(patterns: &[S], workspace: &str, checkpoint_dir: &str) -> Self {
        let mut out = Self::new(patterns);
        if let Some(rel) = inside(workspace, checkpoint_dir).filter(|r| !r.is_empty()) {
            out.patterns.push(Pattern::Anchored(
                rel.split('/').map(str::to_string).collect(),
            ));
        }
        out
    }

    fn push(&mut self, p: &str) {
        let p = if p.contains('/') {
            Pattern::Anchored(p.split('/').map(str::to_string).collect())
        } else {
            Pattern::Name(p.to_string())
        };
        if !self.patterns.contains(&p) {
            self.patterns.push(p);
        }
    }

    /// Whether `path` (relative, `/`-separated) or any folder above it is excluded.
    pub fn excludes(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').collect();
        self.patterns.iter().any(|p| match p {
            Pattern::Name(n) => parts.iter().any(|part| glob(n, part)),
            Pattern::Anchored(segs) => {
                segs.len() <= parts.len() && segs.iter().zip(&parts).all(|(s, part)| glob(s, part))
            }
        })
    }

    /// The patterns without wildcards, which `find` can prune exactly (so a big excluded
    /// folder is never even listed): `(paths from the root, names at any depth)`.
    pub fn literal(&self) -> (Vec<String>, Vec<String>) {
        let (mut paths, mut names) = (Vec::new(), Vec::new());
        for p in &self.patterns {
            match p {
                Pattern::Name(n) if !has_wildcard(n) => names.push(n.clone()),
                Pattern::Anchored(s) if !s.iter().any(|x| has_wildcard(x)) => {
                    paths.push(s.join("/"))
                }
                _ => {}
            }
        }
        (paths, names)
    }
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?'])
}

/// Checks one `exclude` entry and normalises it (`./a/` → `a`); the error says why not.
pub fn check_pattern(p: &str) -> Result<String, String> {
    let t = p.trim();
    let t = t.strip_prefix("./").unwrap_or(t);
    let t = t.strip_suffix('/').unwrap_or(t);
    if t.is_empty() {
        return Err("an exclude pattern cannot be empty".into());
    }
    if t.starts_with('/') || split_var(t).is_some() {
        return Err("it is an absolute path; patterns are relative to the workspace".into());
    }
    if t.contains("**") {
        return Err(
            "\"**\" is not supported; a name without '/' already matches at any depth".into(),
        );
    }
    if t.chars()
        .any(|c| c.is_control() || matches!(c, '[' | ']' | '{' | '}' | '\\'))
    {
        return Err(
            "only * and ? are wildcards; [ ] { } \\ and control characters are not allowed".into(),
        );
    }
    if t.split('/').any(|s| s.is_empty() || s == "." || s == "..") {
        return Err("it has an empty, \".\" or \"..\" part".into());
    }
    Ok(t.to_string())
}

/// Where `dir` lies inside `workspace`, as a relative path (`""` when they are the same),
/// or `None` when it is elsewhere. Both are host paths; `${X}/a` and `$X/a` are the same.
pub fn inside(workspace: &str, dir: &str) -> Option<String> {
    let (w, d) = (canonical(workspace), canonical(dir));
    if w == d {
        return Some(String::new());
    }
    let rest = if w == "/" {
        d.strip_prefix('/')?
    } else {
        d.strip_prefix(&w)?.strip_prefix('/')?
    };
    let parts: Vec<&str> = rest
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    (!parts.is_empty() && !parts.contains(&"..")).then(|| parts.join("/"))
}

fn canonical(p: &str) -> String {
    let p = match split_var(p) {
        Some((var, rest)) => format!("${var}{rest}"),
        None => p.to_string(),
    };
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".into()
    } else {
        trimmed.to_string()
    }
}

/// `*` matches any run of characters, `?` one; everything else itself.
fn glob(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni) = (0, 0);
    // Where the last `*` was, and how much of `name` it has eaten so far.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(c) if *c == '?' || *c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_within_one_name() {
        assert!(glob("*.tmp", "a.tmp"));
        assert!(glob("*.tmp", ".tmp"));
        assert!(!glob("*.tmp", "a.tmpx"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "ac"));
        assert!(glob("*", ""));
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(!glob("a*b*c", "aXXbYY"));
        assert!(glob("ckpt", "ckpt"));
    }

    #[test]
    fn names_match_anywhere_and_paths_from_the_root() {
        let ex = Excludes::new(&["*.tmp", "checkpoints", "data/raw", "logs/*.log"]);
        assert!(ex.excludes("x.tmp"));
        assert!(ex.excludes("a/b/x.tmp"));
        assert!(ex.excludes("checkpoints"));
        assert!(ex.excludes("checkpoints/step-1/w.bin"));
        assert!(ex.excludes("sub/checkpoints/a"));
        assert!(ex.excludes("data/raw"));
        assert!(ex.excludes("data/raw/a.csv"));
        assert!(!ex.excludes("data/rawer"));
        assert!(!ex.excludes("x/data/raw"));
        assert!(!ex.excludes("data"));
        assert!(ex.excludes("logs/a.log"));
        assert!(!ex.excludes("logs/a.txt"));
        assert!(ex.excludes(SYNC_TMP));
        assert!(ex.excludes(&format!("{SYNC_TMP}/x")));
        assert!(!ex.excludes("train.py"));
    }

    #[test]
    fn the_checkpoint_folder_inside_the_workspace_is_excluded() {
        let ex = Excludes::for_job::<&str>(&[], "$HOST_DIR/ws", "${HOST_DIR}/ws/out/ckpt/");
        assert!(ex.excludes("out/ckpt/a.pt"));
        assert!(!ex.excludes("out/log"));
        let ex = Excludes::for_job::<&str>(&[], "/workspace", "/data/ckpt");
        assert!(!ex.excludes("data/ckpt"));
        assert_eq!(
            ex.literal(),
            (Vec::<String>::new(), vec![SYNC_TMP.to_string()])
        );
    }

    #[test]
    fn inside_is_by_whole_segments() {
        assert_eq!(inside("/w", "/w/c"), Some("c".into()));
        assert_eq!(inside("/w/", "/w"), Some(String::new()));
        assert_eq!(inside("/w", "/wx/c"), None);
        assert_eq!(inside("/w", "/w/../etc"), None);
        assert_eq!(inside("/", "/c"), Some("c".into()));
        assert_eq!(inside("~/w", "$HOME/w/c"), Some("c".into()));
    }

    #[test]
    fn patterns_are_checked_and_normalised() {
        assert_eq!(check_pattern("./logs/"), Ok("logs".into()));
        assert_eq!(check_pattern("*.tmp"), Ok("*.tmp".into()));
        for bad in [
            "", " ", "/abs", "$HOME/x", "a/../b", "a//b", "**/x", "[ab]", "a\nb",
        ] {
            assert!(check_pattern(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn literal_patterns_can_be_pruned_by_find() {
        let ex = Excludes::new(&["*.tmp", "ckpt", "a/b", "a/*"]);
        let (paths, names) = ex.literal();
        assert_eq!(paths, vec!["a/b".to_string()]);
        assert_eq!(names, vec!["ckpt".to_string(), SYNC_TMP.to_string()]);
    }
}
