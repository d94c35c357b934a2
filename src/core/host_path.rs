//! Paths on a host may start with `~/` or `$NAME/` (`${NAME}/`): the variable is the
//! host's own (`$HOME`, `$SCRATCH` on a cluster), so one job spec fits hosts whose
//! layouts differ. Only that leading variable is ever expanded.

/// `~/a` → `("HOME", "/a")`, `$X/a` or `${X}/a` → `("X", "/a")`; `None` for anything else.
pub fn split_var(s: &str) -> Option<(&str, &str)> {
    if s == "~" || s.starts_with("~/") {
        return Some(("HOME", &s[1..]));
    }
    let body = s.strip_prefix('$')?;
    let (name, rest) = match body.strip_prefix('{') {
        Some(b) => {
            let end = b.find('}')?;
            (&b[..end], &b[end + 1..])
        }
        None => {
            let end = body.find('/').unwrap_or(body.len());
            (&body[..end], &body[end..])
        }
    };
    let ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    (ok && (rest.is_empty() || rest.starts_with('/'))).then_some((name, rest))
}

#[cfg(test)]
mod tests {
    use super::split_var;

    #[test]
    fn only_a_leading_name_followed_by_a_slash_counts() {
        assert_eq!(split_var("~/w"), Some(("HOME", "/w")));
        assert_eq!(split_var("$A_1/w"), Some(("A_1", "/w")));
        assert_eq!(split_var("${A}/w"), Some(("A", "/w")));
        assert_eq!(split_var("$A"), Some(("A", "")));
        assert_eq!(split_var("/a/$B"), None);
        assert_eq!(split_var("$1/w"), None);
        assert_eq!(split_var("${A/w"), None);
        assert_eq!(split_var("$A-b/w"), None);
        assert_eq!(split_var("~x/w"), None);
    }
}
