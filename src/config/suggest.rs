//! "Did you mean …?": the closest known word to a misspelt one.

/// The candidate most like `word`, if any is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let w = word.to_lowercase();
    candidates
        .iter()
        .map(|c| (*c, score(&w, &c.to_lowercase())))
        .filter(|(_, s)| *s >= 0.8)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(c, _)| c)
}

fn score(word: &str, candidate: &str) -> f64 {
    if word == candidate {
        return 1.0;
    }
    let jw = strsim::jaro_winkler(word, candidate);
    // Short words: one edit is a typo even when Jaro-Winkler is unimpressed.
    let lev = strsim::levenshtein(word, candidate);
    if lev <= 1 || (lev <= 2 && candidate.len() >= 6) {
        jw.max(0.85)
    } else {
        jw
    }
}

/// `; did you mean "x"?` when a close candidate exists, else the empty string.
pub fn did_you_mean(word: &str, candidates: &[&str]) -> String {
    closest(word, candidates)
        .map(|c| format!("; did you mean \"{c}\"?"))
        .unwrap_or_default()
}

/// `"a", "b", "c"`.
pub fn quoted_list<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|s| format!("\"{}\"", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos() {
        let keys = ["name", "address", "user", "role", "gpus", "ssh_key"];
        assert_eq!(closest("adress", &keys), Some("address"));
        assert_eq!(closest("gpu", &keys), Some("gpus"));
        assert_eq!(closest("Role", &keys), Some("role"));
        assert_eq!(closest("ssh-key", &keys), Some("ssh_key"));
        assert_eq!(closest("zebra", &keys), None);
        assert_eq!(
            closest("primry", &["primary", "standby", "cpu-standby"]),
            Some("primary")
        );
        assert_eq!(closest("hosts", &["settings", "host", "job"]), Some("host"));
    }

    #[test]
    fn formats_hints() {
        assert_eq!(
            did_you_mean("adress", &["address"]),
            "; did you mean \"address\"?"
        );
        assert_eq!(did_you_mean("zzz", &["address"]), "");
        assert_eq!(quoted_list(&["a", "b"]), "\"a\", \"b\"");
    }
}
