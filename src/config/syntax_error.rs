//! TOML syntax errors → [`Problem`]s: the position, a best guess at the key, the
//! offending line (secrets redacted) and a fix.

use super::error::Problem;
use super::hints::Schema;
use super::keypath::KeyPath;
use super::position::LineCol;
use super::secret;

/// A TOML syntax error: where, what, the offending line, and a fix worded with
/// `schema`'s examples.
pub fn syntax(schema: &Schema, text: &str, e: &toml_edit::TomlError) -> Problem {
    let message = e.message().trim().replace('\n', ": ");
    let offset = e.span().map_or(0, |s| s.start);
    let line = line_text(text, offset);
    let mut shown = message.clone();
    if !line.is_empty() {
        shown.push_str(&format!(", in `{}`", redact_tokens(line)));
    }
    let key = guess_key(text, offset);
    let example = match (key.last_key(), key.parent().schema_name()) {
        (Some(k), table) => schema.example(&table, k),
        (None, _) => None,
    };
    let fix = match example {
        _ if key.last_key().is_some_and(secret::is_secret_key) => format!(
            "secrets never live in {}: put the secret in an environment variable and write `{}_env = \"NAME\"` instead",
            schema.noun,
            key.last_key().unwrap_or("key")
        ),
        Some(ex) if message.contains("invalid string") || message.contains("expected newline") => {
            format!("write the value like this: {ex} (text in double quotes, numbers and true/false without)")
        }
        Some(ex) => format!("{}; e.g. {ex}", syntax_fix(schema, &message)),
        None => syntax_fix(schema, &message),
    };
    Problem {
        at: Some(LineCol::of(text, offset)),
        key: key.to_string(),
        message: format!("TOML syntax error: {shown}"),
        fix,
    }
}

/// The key on the line at `offset`, under the last table header above it — a best
/// guess, since the text does not parse. Empty when the line is not `key = value`.
fn guess_key(text: &str, offset: usize) -> KeyPath {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = line_text(text, offset);
    let Some((key, _)) = line.split_once('=') else {
        return KeyPath::root();
    };
    let key = key.trim();
    if key.is_empty()
        || key.starts_with('[')
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return KeyPath::root();
    }
    let mut path = KeyPath::root();
    let headers: Vec<&str> = text[..line_start]
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('['))
        .collect();
    if let Some(last) = headers.last() {
        let is_array = last.starts_with("[[");
        let name = last
            .trim_start_matches('[')
            .split(']')
            .next()
            .unwrap_or("")
            .trim();
        for part in name.split('.') {
            path = path.key(part.trim());
        }
        if is_array {
            let header = format!("[[{name}]]");
            let count = headers
                .iter()
                .filter(|h| h.replace(' ', "").starts_with(&header))
                .count();
            path = path.index(count.saturating_sub(1));
        }
    }
    for part in key.split('.') {
        path = path.key(part);
    }
    path
}

fn syntax_fix(schema: &Schema, message: &str) -> String {
    if message.contains("duplicate key") {
        let arrays: Vec<String> = schema
            .table_arrays
            .iter()
            .take(2)
            .map(|a| format!("[[{a}]]"))
            .collect();
        format!("each key may appear once per table: delete one of them, or start a new {} table before the second", arrays.join(" / "))
    } else if message.contains("invalid table header") {
        format!(
            "a table header is [name] or [[name]] on a line of its own, e.g. {}",
            schema.headers
        )
    } else if message.contains("invalid basic string") || message.contains("invalid literal string")
    {
        "close the string with a quote on the same line (use \"\"\"…\"\"\" for text over several lines)".into()
    } else if message.contains("invalid string") {
        format!("put text values in double quotes, e.g. {}", schema.text)
    } else if message.contains("invalid array") {
        format!(
            "close the array with ] and separate the items with commas, e.g. {}",
            schema.array
        )
    } else if message.contains("invalid inline table") {
        "an inline table stays on one line without a trailing comma, e.g. { key = \"value\", other = 1 }".into()
    } else if message.contains("expected newline") {
        format!(
            "write one key = value per line, and quote values that contain spaces, e.g. {}",
            schema.text
        )
    } else {
        "check the TOML syntax here: strings in double quotes, one key = value per line, tables as [name] or [[name]]".into()
    }
}

fn line_text(text: &str, offset: usize) -> &str {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    text[start..end].trim()
}

/// Replaces every secret-looking word of `line` by its redaction.
fn redact_tokens(line: &str) -> String {
    line.split(' ')
        .map(|w| {
            let bare = w.trim_matches(|c| c == '"' || c == '\'');
            if secret::looks_like_secret(bare) {
                secret::redact(bare)
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn syntax_lines_are_redacted() {
        assert_eq!(
            redact_tokens("bot_token = 123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"),
            "bot_token = 123…"
        );
        assert_eq!(line_text("a\n  b = 1  \nc", 4), "b = 1");
    }

    #[test]
    fn guesses_the_key_of_a_broken_line() {
        let text = "[[host]]\nname = \"a\"\n[[host]]\ngpus = two\n[storage.s3]\nregion = x\n";
        let at = |needle: &str| guess_key(text, text.find(needle).unwrap()).to_string();
        assert_eq!(at("two"), "host[1].gpus");
        assert_eq!(at("x\n"), "storage.s3.region");
        assert_eq!(at("[storage"), "");
    }
}
