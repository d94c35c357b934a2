//! Keeping secrets out of the config: env-var names, secret-looking values and keys,
//! and redaction so that an error message never repeats a secret.

/// Words that mark a key as holding a secret (`bot_token`, `api_key`, `password` …).
const SECRET_WORDS: [&str; 10] = [
    "token",
    "password",
    "passwd",
    "passphrase",
    "secret",
    "api_key",
    "apikey",
    "access_key",
    "private_key",
    "credential",
];

/// Prefixes of well-known credential formats.
const SECRET_PREFIXES: [&str; 12] = [
    "-----BEGIN",
    "sk-",
    "sk_live_",
    "ghp_",
    "gho_",
    "github_pat_",
    "glpat-",
    "xoxb-",
    "xoxp-",
    "AKIA",
    "ASIA",
    "hf_",
];

/// A conventional environment variable name: letters, digits and `_`, not starting with
/// a digit.
pub fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether `s` looks like a credential (a bot token, an API key, key material) rather
/// than a name, a path or a command.
pub fn looks_like_secret(s: &str) -> bool {
    let t = s.trim();
    if SECRET_PREFIXES.iter().any(|p| t.starts_with(p)) {
        return true;
    }
    if t.chars().any(char::is_whitespace) || t.starts_with(['/', '~', '.']) || t.contains("://") {
        return false; // prose, a command, a path or a URL
    }
    let len = t.chars().count();
    let upper = t.chars().any(|c| c.is_ascii_uppercase());
    let lower = t.chars().any(|c| c.is_ascii_lowercase());
    let digits = t.chars().filter(char::is_ascii_digit).count();
    let letters = t.chars().filter(char::is_ascii_alphabetic).count();
    // Long hex: API keys such as Vast.ai's.
    (len >= 32 && t.chars().all(|c| c.is_ascii_hexdigit()))
        // Mixed case and digits, not a NAME_LIKE_THIS: base64 keys, Telegram tokens.
        || (len >= 16 && upper && lower && digits >= 2 && !is_env_name(t))
        // Long mixed-case runs with no word separators: AWS secret keys and the like.
        || (len >= 30 && upper && lower && !is_env_name(t) && !t.contains(['_', '.']))
        // `id:secret` pairs.
        || (len >= 20 && digits >= 4 && letters >= 4 && t.contains(':'))
}

/// Whether a key's name says it holds a secret itself (`bot_token`, `password`), as
/// opposed to naming where one lives (`bot_token_env`, `ssh_key`).
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    !k.ends_with("_env") && SECRET_WORDS.iter().any(|w| k.contains(w))
}

/// The first three characters and an ellipsis: enough to recognise, not to use.
pub fn redact(s: &str) -> String {
    let head: String = s.chars().take(3).collect();
    format!("{head}…")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn env_names() {
        assert!(is_env_name("TELEGRAM_BOT_TOKEN"));
        assert!(is_env_name("_X1"));
        assert!(!is_env_name("1X"));
        assert!(!is_env_name("MY-TOKEN"));
        assert!(!is_env_name(""));
    }

    #[test]
    fn secrets_are_recognised() {
        assert!(looks_like_secret(
            "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
        ));
        assert!(looks_like_secret("0123456789abcdef0123456789abcdef"));
        assert!(looks_like_secret("-----BEGIN OPENSSH PRIVATE KEY-----"));
        assert!(looks_like_secret("AKIAIOSFODNN7EXAMPLE"));
        assert!(looks_like_secret("sk-abc"));
        assert!(!looks_like_secret("TELEGRAM_BOT_TOKEN"));
        assert!(!looks_like_secret("VAST_API_KEY_2"));
        assert!(!looks_like_secret("my token"));
        assert!(!looks_like_secret("/home/op/.ssh/id_ed25519"));
        assert!(!looks_like_secret("runs/exp12345/checkpoints"));
        assert!(!looks_like_secret("https://hooks.example.com/T0123/B0456"));
        assert!(looks_like_secret(
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        ));
    }

    #[test]
    fn secret_keys() {
        for k in [
            "bot_token",
            "api_key",
            "password",
            "secret_access_key",
            "ssh_private_key",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in [
            "bot_token_env",
            "api_key_env",
            "ssh_key",
            "address",
            "token_env",
        ] {
            assert!(!is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn redaction_keeps_three_chars() {
        assert_eq!(redact("123456:ABC"), "123…");
        assert_eq!(redact("ab"), "ab…");
    }
}
