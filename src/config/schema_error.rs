//! Schema errors from serde (unknown key, missing key, wrong type) → [`Problem`]s that
//! name the key path, quote the value (redacting secrets) and say how to fix it.

use super::error::Problem;
use super::hints::Schema;
use super::keypath::{self, KeyPath, Seg};
use super::position::LineCol;
use super::secret;
use super::suggest;
use toml_edit::Item;

/// A schema error from serde (unknown or missing key, wrong type), located with `root`
/// and worded with `schema`'s examples.
pub fn schema(schema: &Schema, text: &str, root: &Item, e: &toml::de::Error) -> Problem {
    let msg = e.message().trim();
    let offset = e.span().map_or(0, |s| s.start);
    let at = e.span().map(|s| LineCol::of(text, s.start));
    let (path, item) = keypath::path_at(root, offset);
    let ticked = backticked(msg);
    let (message, fix, key) =
        if let Some(name) = msg.strip_prefix("unknown field ").and(ticked.first()) {
            let expected: Vec<&str> = ticked.iter().skip(1).map(String::as_str).collect();
            let on_key = path.last_key() == Some(name.as_str());
            let (table, value) = if on_key {
                (path.parent(), item.as_str().map(str::to_string))
            } else {
                (path.clone(), None)
            };
            let is_table = on_key && (item.is_table() || item.is_array_of_tables());
            let key = table.clone().key(name);
            let (m, f) = unknown_key(schema, &table, name, &expected, value.as_deref(), is_table);
            (m, f, key)
        } else if let Some(name) = msg.strip_prefix("missing field ").and(ticked.first()) {
            let example = schema
                .example(&path.schema_name(), name)
                .map_or_else(|| format!("{name} = …"), str::to_string);
            (
                format!("missing required key \"{name}\""),
                format!("add {example}"),
                path.clone().key(name),
            )
        } else if let Some(rest) = msg.strip_prefix("invalid type: ") {
            let (m, f) = wrong_type(schema, &path, rest);
            (m, f, path)
        } else if let Some(rest) = msg.strip_prefix("invalid value: ") {
            let (found, expected) = split_expected(rest);
            let (m, f) = (
                format!(
                    "{} is out of range: expected {}",
                    describe_found(found),
                    describe_expected(expected)
                ),
                example_fix(schema, &path, "write it like"),
            );
            (m, f, path)
        } else {
            (
                msg.to_string(),
                example_fix(schema, &path, "write it like"),
                path,
            )
        };
    Problem {
        at,
        key: key.to_string(),
        message,
        fix,
    }
}

fn unknown_key(
    schema: &Schema,
    table: &KeyPath,
    name: &str,
    expected: &[&str],
    value: Option<&str>,
    is_table: bool,
) -> (String, String) {
    if secret::is_secret_key(name) {
        return secret_key(schema, table, name, expected, value);
    }
    let here = table.schema_name();
    let allowed = if expected.is_empty() {
        schema.keys_of(&here)
    } else {
        expected.to_vec()
    };
    let what = match (table.is_root(), is_table) {
        (true, true) => "top-level table",
        (true, false) => "top-level key",
        (false, true) => "table",
        (false, false) => "key",
    };
    // A right key in the wrong table (`profile` at the top, `keep_last` in a host).
    let mut tables: Vec<&str> = schema
        .tables_with(name)
        .into_iter()
        .filter(|t| *t != here)
        .collect();
    // Shallow tables first: `[storage]` before `[storage.s3]`.
    tables.sort_by_key(|t| t.matches('.').count());
    // A key of an inline sub-table of this `[[job]]` (`keep_daily`: its `retention`).
    let child = tables
        .iter()
        .filter(|_| schema.is_table_array("", &here))
        .find_map(|t| {
            t.strip_prefix(here.as_str())
                .and_then(|r| r.strip_prefix('.'))
                .filter(|r| !r.contains('.'))
        });
    let elsewhere: Vec<String> = tables.iter().map(|t| table_name(schema, t)).collect();
    let near = suggest::closest(name, &allowed);
    // One edit away (`gpu` for `gpus`) is a typo even if the word is a key elsewhere.
    let typo = near.is_some_and(|s| strsim::levenshtein(name, s) <= 1);
    if let (false, Some(child)) = (typo, child) {
        let example = schema
            .example(&format!("{here}.{child}"), name)
            .map_or_else(|| format!("{child} = {{ {name} = … }}"), str::to_string);
        return (
            format!("\"{name}\" does not belong here; it goes in this {here}'s {child} table"),
            format!("move it into {child}, e.g. {example}"),
        );
    }
    match near {
        _ if !typo && !elsewhere.is_empty() => (
            format!(
                "\"{name}\" does not belong here; it is a key of {}",
                listed(&elsewhere, "and")
            ),
            format!("move it under {}", listed(&elsewhere, "or")),
        ),
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

/// How a message names a table: `[storage.s3]`, `[[host]]`, or for a sub-table of an
/// array of tables, `retention = { … } in a [[job]]`.
fn table_name(schema: &Schema, t: &str) -> String {
    match t.split_once('.') {
        Some((top, rest)) if schema.is_table_array("", top) => {
            format!("{rest} = {{ … }} in a [[{top}]]")
        }
        _ if schema.is_table_array("", t) => format!("[[{t}]]"),
        _ => format!("[{t}]"),
    }
}

/// `a and b`, `a, b and c` (with `or` likewise).
fn listed(items: &[String], word: &str) -> String {
    match items.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} {word} {last}", rest.join(", ")),
        _ => items.join(""),
    }
}

/// `bot_token = "…"` and friends: refuse, never echo the value, and name the `_env` key.
fn secret_key(
    schema: &Schema,
    table: &KeyPath,
    name: &str,
    expected: &[&str],
    value: Option<&str>,
) -> (String, String) {
    let shown = value.map_or_else(String::new, |v| format!(" (\"{}\")", secret::redact(v)));
    let message = format!(
        "\"{name}\" would hold a secret{shown}; secrets never live in {}",
        schema.noun
    );
    let env_key = format!("{name}_env");
    let env_key = if expected.contains(&env_key.as_str()) {
        Some(env_key)
    } else {
        expected
            .iter()
            .find(|k| k.ends_with("_env"))
            .map(|k| k.to_string())
    };
    let fix = if table.schema_name() == "host" {
        // Password logins are not supported; the only secret a host has is a key's passphrase.
        "remove it: SSH logs in with a key file (ssh_key = \"/home/you/.ssh/id_ed25519\"; if the key has a passphrase, key_passphrase_env = \"NAME\" of the environment variable holding it) or the SSH agent".into()
    } else if let Some(k) = env_key {
        let example_name = value
            .filter(|v| secret::is_env_name(v) && !secret::looks_like_secret(v))
            .map(str::to_string)
            .or_else(|| {
                schema
                    .example(&table.schema_name(), &k)
                    .and_then(|e| e.split('"').nth(1))
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "NAME".into());
        format!(
            "use `{k} = \"NAME\"`: put the secret in an environment variable and write its name here, e.g. {k} = \"{example_name}\""
        )
    } else if table.schema_name() == "storage.s3" {
        "remove it: S3 credentials come from the AWS SDK's default chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment, ~/.aws/credentials, or an instance role); pick a named one with profile = \"NAME\"".into()
    } else {
        "remove it and pass the secret through an environment variable".into()
    };
    (message, fix)
}

fn wrong_type(schema: &Schema, path: &KeyPath, rest: &str) -> (String, String) {
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
    let fix = if schema.is_table_array(&table, key) && expected.contains("sequence") {
        format!("write [[{key}]] (double brackets): each [[{key}]] table adds one entry")
    } else if found.starts_with("integer") && expected.contains("string") {
        example_fix(schema, path, "put the value in double quotes, e.g.")
    } else {
        example_fix(schema, path, "write it like")
    };
    (message, fix)
}

fn example_fix(schema: &Schema, path: &KeyPath, lead: &str) -> String {
    let keys: Vec<&str> = path
        .0
        .iter()
        .filter_map(|s| match s {
            Seg::Key(k) => Some(k.as_str()),
            Seg::Elem { .. } => None,
        })
        .collect();
    match keys.split_last() {
        Some((k, t)) => schema.example(&t.join("."), k).map_or_else(
            || format!("see the commented examples in {}", schema.docs),
            |e| format!("{lead} {e}"),
        ),
        None => format!("see the commented examples in {}", schema.docs),
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
}
