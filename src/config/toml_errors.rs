//! Turns toml's syntax errors and serde's schema errors into [`Problem`]s that name the
//! key path, quote the value (redacting secrets) and say how to fix it.

use super::error::Problem;
use super::hints;
use super::keypath::{self, KeyPath, Seg};
use super::position::LineCol;
use super::secret;
use super::suggest;
use toml_edit::Item;

/// A TOML syntax error: where, what, the offending line, and a fix.
pub fn syntax(text: &str, e: &toml_edit::TomlError) -> Problem {
    let message = e.message().trim().replace('\n', ": ");
    let offset = e.span().map_or(0, |s| s.start);
    let line = line_text(text, offset);
    let mut shown = message.clone();
    if !line.is_empty() {
        shown.push_str(&format!(", in `{}`", redact_tokens(line)));
    }
    let key = guess_key(text, offset);
    let example = match (key.last_key(), key.parent().schema_name()) {
        (Some(k), table) => hints::example(&table, k),
        (None, _) => None,
    };
    let fix = match example {
        _ if key.last_key().is_some_and(secret::is_secret_key) => format!(
            "secrets never live in the config file: put the secret in an environment variable and write `{}_env = \"NAME\"` instead",
            key.last_key().unwrap_or("key")
        ),
        Some(ex) if message.contains("invalid string") || message.contains("expected newline") => {
            format!("write the value like this: {ex} (text in double quotes, numbers and true/false without)")
        }
        Some(ex) => format!("{}; e.g. {ex}", syntax_fix(&message)),
        None => syntax_fix(&message).to_string(),
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

fn syntax_fix(message: &str) -> &'static str {
    if message.contains("duplicate key") {
        "each key may appear once per table: delete one of them, or start a new [[host]] / [[job]] table before the second"
    } else if message.contains("invalid table header") {
        "a table header is [name] or [[name]] on a line of its own, e.g. [storage] or [[host]]"
    } else if message.contains("invalid basic string") || message.contains("invalid literal string")
    {
        "close the string with a quote on the same line (use \"\"\"…\"\"\" for text over several lines)"
    } else if message.contains("invalid string") {
        "put text values in double quotes, e.g. name = \"pc1\""
    } else if message.contains("invalid array") {
        "close the array with ] and separate the items with commas, e.g. standby = [\"pc1:1\", \"cpu-vm\"]"
    } else if message.contains("invalid inline table") {
        "an inline table stays on one line without a trailing comma, e.g. heartbeat = { file = \"/abs/path\" }"
    } else if message.contains("expected newline") {
        "write one key = value per line, and quote values that contain spaces, e.g. probe_interval = \"10s\""
    } else {
        "check the TOML syntax here: strings in double quotes, one key = value per line, tables as [name] or [[name]]"
    }
}

/// A schema error from serde (unknown or missing key, wrong type), located with `root`.
pub fn schema(text: &str, root: &Item, e: &toml::de::Error) -> Problem {
    let msg = e.message().trim();
    let offset = e.span().map_or(0, |s| s.start);
    let at = e.span().map(|s| LineCol::of(text, s.start));
    let (path, item) = keypath::path_at(root, offset);
    let ticked = backticked(msg);
    let (message, fix, key) =
        if let Some(name) = msg.strip_prefix("unknown field ").and(ticked.first()) {
            let expected: Vec<&str> = ticked.iter().skip(1).map(String::as_str).collect();
            let (table, value) = if path.last_key() == Some(name.as_str()) {
                (path.parent(), item.as_str().map(str::to_string))
            } else {
                (path.clone(), None)
            };
            let key = table.clone().key(name);
            let (m, f) = unknown_key(&table, name, &expected, value.as_deref());
            (m, f, key)
        } else if let Some(name) = msg.strip_prefix("missing field ").and(ticked.first()) {
            let example = hints::example(&path.schema_name(), name)
                .map_or_else(|| format!("{name} = …"), str::to_string);
            (
                format!("missing required key \"{name}\""),
                format!("add {example}"),
                path.clone().key(name),
            )
        } else if let Some(rest) = msg.strip_prefix("invalid type: ") {
            let (m, f) = wrong_type(&path, rest);
            (m, f, path)
        } else if let Some(rest) = msg.strip_prefix("invalid value: ") {
            let (found, expected) = split_expected(rest);
            let (m, f) = (
                format!(
                    "{} is out of range: expected {}",
                    describe_found(found),
                    describe_expected(expected)
                ),
                example_fix(&path, "write it like"),
            );
            (m, f, path)
        } else {
            (msg.to_string(), example_fix(&path, "write it like"), path)
        };
    Problem {
        at,
        key: key.to_string(),
        message,
        fix,
    }
}

fn unknown_key(
    table: &KeyPath,
    name: &str,
    expected: &[&str],
    value: Option<&str>,
) -> (String, String) {
    if secret::is_secret_key(name) {
        return secret_key(table, name, expected, value);
    }
    let allowed = if expected.is_empty() {
        hints::keys_of(&table.schema_name())
    } else {
        expected.to_vec()
    };
    let what = if table.is_root() {
        "top-level table"
    } else {
        "key"
    };
    match suggest::closest(name, &allowed) {
        Some(s) => (
            format!("unknown {what} \"{name}\"; did you mean \"{s}\"?"),
            format!("rename \"{name}\" to \"{s}\""),
        ),
        None => (
            format!("unknown {what} \"{name}\""),
            format!("remove it; allowed here: {}", allowed.join(", ")),
        ),
    }
}

/// `bot_token = "…"` and friends: refuse, never echo the value, and name the `_env` key.
fn secret_key(
    table: &KeyPath,
    name: &str,
    expected: &[&str],
    value: Option<&str>,
) -> (String, String) {
    let shown = value.map_or_else(String::new, |v| format!(" (\"{}\")", secret::redact(v)));
    let message =
        format!("\"{name}\" would hold a secret{shown}; secrets never live in the config file");
    let env_key = format!("{name}_env");
    let env_key = if expected.contains(&env_key.as_str()) {
        Some(env_key)
    } else {
        expected
            .iter()
            .find(|k| k.ends_with("_env"))
            .map(|k| k.to_string())
    };
    let fix = if let Some(k) = env_key {
        let example_name = value
            .filter(|v| secret::is_env_name(v) && !secret::looks_like_secret(v))
            .map(str::to_string)
            .or_else(|| {
                hints::example(&table.schema_name(), &k)
                    .and_then(|e| e.split('"').nth(1))
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "NAME".into());
        format!(
            "use `{k} = \"NAME\"`: put the secret in an environment variable and write its name here, e.g. {k} = \"{example_name}\""
        )
    } else if table.schema_name() == "storage.s3" {
        "remove it: S3 credentials come from the AWS SDK's default chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment, ~/.aws/credentials, or an instance role); pick a named one with profile = \"NAME\"".into()
    } else if table.schema_name() == "host" {
        "remove it: SSH logs in with a key file (ssh_key = \"/home/you/.ssh/id_ed25519\") or the SSH agent".into()
    } else {
        "remove it and pass the secret through an environment variable".into()
    };
    (message, fix)
}

fn wrong_type(path: &KeyPath, rest: &str) -> (String, String) {
    let (found, expected) = split_expected(rest);
    let message = format!(
        "expected {}, found {}",
        describe_expected(expected),
        describe_found(found)
    );
    let keys: Vec<&str> = path
        .0
        .iter()
        .filter_map(|s| match s {
            Seg::Key(k) => Some(k.as_str()),
            Seg::Elem { .. } => None,
        })
        .collect();
    let (table, key) = match keys.split_last() {
        Some((k, t)) => (t.join("."), *k),
        None => (String::new(), ""),
    };
    let fix = if hints::is_table_array(&table, key) && expected.contains("sequence") {
        format!("write [[{key}]] (double brackets): each [[{key}]] table adds one entry")
    } else if found.starts_with("integer") && expected.contains("string") {
        example_fix(path, "put the value in double quotes, e.g.")
    } else {
        example_fix(path, "write it like")
    };
    (message, fix)
}

fn example_fix(path: &KeyPath, lead: &str) -> String {
    let keys: Vec<&str> = path
        .0
        .iter()
        .filter_map(|s| match s {
            Seg::Key(k) => Some(k.as_str()),
            Seg::Elem { .. } => None,
        })
        .collect();
    match keys.split_last() {
        Some((k, t)) => hints::example(&t.join("."), k).map_or_else(
            || "see the commented examples in assets/examples/".to_string(),
            |e| format!("{lead} {e}"),
        ),
        None => "see the commented examples in assets/examples/".into(),
    }
}

/// `string "x", expected u32` → (`string "x"`, `u32`).
fn split_expected(rest: &str) -> (&str, &str) {
    match rest.rsplit_once(", expected ") {
        Some((f, e)) => (f, e),
        None => (rest, "something else"),
    }
}

fn describe_expected(e: &str) -> String {
    match e {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number, 0 or more".into(),
        "i8" | "i16" | "i32" | "i64" => "a whole number".into(),
        "f32" | "f64" => "a number".into(),
        "a string" | "a borrowed string" => "a string in double quotes".into(),
        "a boolean" => "true or false".into(),
        "a sequence" => "an array [ … ]".into(),
        e if e.starts_with("struct ") || e == "a map" => "a table".into(),
        e => e.into(),
    }
}

fn describe_found(f: &str) -> String {
    if let Some(s) = f.strip_prefix("string ") {
        let inner = s.trim_matches('"');
        if secret::looks_like_secret(inner) {
            return format!("\"{}\"", secret::redact(inner));
        }
        return s.to_string();
    }
    for kind in ["integer", "floating point", "boolean"] {
        if let Some(v) = f.strip_prefix(kind) {
            return v.trim().trim_matches('`').to_string();
        }
    }
    match f {
        "sequence" => "an array".into(),
        "map" => "a table".into(),
        other => other.into(),
    }
}

/// The `names` inside backticks, in order.
fn backticked(msg: &str) -> Vec<String> {
    msg.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.to_string())
        .collect()
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
    fn backticks_and_descriptions() {
        assert_eq!(
            backticked("unknown field `adress`, expected one of `name`, `address`"),
            vec!["adress", "name", "address"]
        );
        assert_eq!(describe_found("string \"two\""), "\"two\"");
        assert_eq!(describe_found("integer `3`"), "3");
        assert_eq!(describe_found("sequence"), "an array");
        assert_eq!(describe_expected("u32"), "a whole number, 0 or more");
        assert_eq!(describe_expected("struct RawHost"), "a table");
    }

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
