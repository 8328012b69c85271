//! The provider registry: each provider's key format, default env var, console URL
//! and API base URL. The one place that knows what a provider's key looks like.

/// A known provider.
#[derive(Debug)]
pub struct Provider {
    /// Short id used on the command line and in the vault (`openai`).
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Env var the key is injected as by default.
    pub env_var: &'static str,
    /// Where keys are created and revoked.
    pub console_url: &'static str,
    /// The API's base URL (used by live checks unless the entry overrides it).
    pub base_url: &'static str,
    /// Prefixes a key may start with; shown when a key is masked.
    pub prefixes: &'static [&'static str],
    /// What a key looks like, in words, for error messages.
    pub expected: &'static str,
    check: fn(&str) -> bool,
}

impl Provider {
    /// True when `key` has this provider's shape.
    pub fn accepts(&self, key: &str) -> bool {
        (self.check)(key)
    }

    /// The known prefix `key` starts with, if any (longest first).
    pub fn prefix_of(&self, key: &str) -> Option<&'static str> {
        self.prefixes
            .iter()
            .filter(|p| key.starts_with(**p))
            .max_by_key(|p| p.len())
            .copied()
    }

    /// Checks `key` against the format rule; the error says what was expected.
    pub fn check_format(&self, key: &str) -> Result<(), String> {
        if self.accepts(key) {
            Ok(())
        } else {
            Err(format!(
                "this key does not match the {} format: expected {}",
                self.name, self.expected
            ))
        }
    }
}

fn token_chars(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn prefixed(key: &str, prefixes: &[&str], min_rest: usize) -> bool {
    prefixes.iter().any(|p| {
        key.strip_prefix(p)
            .is_some_and(|rest| rest.len() >= min_rest && token_chars(rest))
    })
}

fn openai(k: &str) -> bool {
    !k.starts_with("sk-ant-")
        && !k.starts_with("sk-or-")
        && prefixed(k, &["sk-proj-", "sk-svcacct-", "sk-admin-", "sk-"], 20)
}
fn anthropic(k: &str) -> bool {
    prefixed(k, &["sk-ant-"], 20)
}
fn gemini(k: &str) -> bool {
    k.len() == 39 && prefixed(k, &["AIza"], 35)
}
fn groq(k: &str) -> bool {
    k.len() >= 44 && prefixed(k, &["gsk_"], 1)
}
fn deepseek(k: &str) -> bool {
    // Real DeepSeek keys are `sk-` and 32 hex digits (35 characters).
    k.len() >= 35 && prefixed(k, &["sk-"], 32)
}
fn mistral(k: &str) -> bool {
    k.len() == 32 && k.bytes().all(|b| b.is_ascii_alphanumeric())
}
fn xai(k: &str) -> bool {
    prefixed(k, &["xai-"], 20)
}
fn openrouter(k: &str) -> bool {
    prefixed(k, &["sk-or-v1-", "sk-or-"], 20)
}
/// An AWS secret access key: 40 characters of base64's alphabet.
fn aws_secret(k: &str) -> bool {
    k.len() == 40
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'+' || b == b'=')
}
/// An AWS access key id: `AKIA` (long-term) or `ASIA` (temporary) and 16 more, 20 in all.
pub fn aws_access_key_id(k: &str) -> bool {
    k.len() == 20
        && (k.starts_with("AKIA") || k.starts_with("ASIA"))
        && k.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}
fn github(k: &str) -> bool {
    let classic = ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"].iter().any(|p| {
        k.strip_prefix(p)
            .is_some_and(|r| r.len() >= 36 && r.bytes().all(|b| b.is_ascii_alphanumeric()))
    });
    classic || prefixed(k, &["github_pat_"], 22)
}
fn stripe(k: &str) -> bool {
    prefixed(k, &["sk_live_", "sk_test_", "rk_live_", "rk_test_"], 16)
}
fn custom(k: &str) -> bool {
    !k.is_empty()
}

/// Every provider keyward knows, `custom` last.
pub static PROVIDERS: &[Provider] = &[
    Provider {
        id: "openai",
        name: "OpenAI",
        env_var: "OPENAI_API_KEY",
        console_url: "https://platform.openai.com/api-keys",
        base_url: "https://api.openai.com/v1",
        prefixes: &["sk-proj-", "sk-svcacct-", "sk-admin-", "sk-"],
        expected: "sk- or sk-proj- followed by at least 20 letters, digits, - or _",
        check: openai,
    },
    Provider {
        id: "anthropic",
        name: "Anthropic",
        env_var: "ANTHROPIC_API_KEY",
        console_url: "https://console.anthropic.com/settings/keys",
        base_url: "https://api.anthropic.com",
        prefixes: &["sk-ant-"],
        expected: "sk-ant- followed by at least 20 letters, digits, - or _",
        check: anthropic,
    },
    Provider {
        id: "gemini",
        name: "Google Gemini",
        env_var: "GEMINI_API_KEY",
        console_url: "https://aistudio.google.com/app/apikey",
        base_url: "https://generativelanguage.googleapis.com",
        prefixes: &["AIza"],
        expected: "AIza and 35 more letters, digits, - or _ (39 characters)",
        check: gemini,
    },
    Provider {
        id: "groq",
        name: "Groq",
        env_var: "GROQ_API_KEY",
        console_url: "https://console.groq.com/keys",
        base_url: "https://api.groq.com/openai/v1",
        prefixes: &["gsk_"],
        expected: "gsk_ and at least 44 characters in all",
        check: groq,
    },
    Provider {
        id: "deepseek",
        name: "DeepSeek",
        env_var: "DEEPSEEK_API_KEY",
        console_url: "https://platform.deepseek.com/api_keys",
        base_url: "https://api.deepseek.com",
        prefixes: &["sk-"],
        expected: "sk- and at least 32 letters or digits (35+ characters)",
        check: deepseek,
    },
    Provider {
        id: "mistral",
        name: "Mistral",
        env_var: "MISTRAL_API_KEY",
        console_url: "https://console.mistral.ai/api-keys",
        base_url: "https://api.mistral.ai/v1",
        prefixes: &[],
        expected: "32 letters and digits",
        check: mistral,
    },
    Provider {
        id: "xai",
        name: "xAI",
        env_var: "XAI_API_KEY",
        console_url: "https://console.x.ai",
        base_url: "https://api.x.ai/v1",
        prefixes: &["xai-"],
        expected: "xai- followed by at least 20 letters, digits, - or _",
        check: xai,
    },
    Provider {
        id: "openrouter",
        name: "OpenRouter",
        env_var: "OPENROUTER_API_KEY",
        console_url: "https://openrouter.ai/settings/keys",
        base_url: "https://openrouter.ai/api/v1",
        prefixes: &["sk-or-v1-", "sk-or-"],
        expected: "sk-or-v1- followed by at least 20 letters or digits",
        check: openrouter,
    },
    Provider {
        id: "aws",
        name: "AWS",
        env_var: "AWS_SECRET_ACCESS_KEY",
        console_url: "https://console.aws.amazon.com/iam/home#/security_credentials",
        base_url: "https://sts.amazonaws.com",
        prefixes: &[],
        expected: "a 40-character secret access key, with an access_key_id field of 20 characters starting AKIA or ASIA",
        check: aws_secret,
    },
    Provider {
        id: "github",
        name: "GitHub",
        env_var: "GITHUB_TOKEN",
        console_url: "https://github.com/settings/tokens",
        base_url: "https://api.github.com",
        prefixes: &["github_pat_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
        expected: "ghp_ and 36 letters or digits, or github_pat_ and at least 22 more",
        check: github,
    },
    Provider {
        id: "stripe",
        name: "Stripe",
        env_var: "STRIPE_SECRET_KEY",
        console_url: "https://dashboard.stripe.com/apikeys",
        base_url: "https://api.stripe.com",
        prefixes: &["sk_live_", "sk_test_", "rk_live_", "rk_test_"],
        expected: "sk_live_ or sk_test_ followed by at least 16 letters or digits",
        check: stripe,
    },
    Provider {
        id: "custom",
        name: "custom",
        env_var: "",
        console_url: "",
        base_url: "",
        prefixes: &[],
        expected: "any non-empty value",
        check: custom,
    },
];

/// Looks a provider up by id (case-insensitive; `google` is taken as `gemini`).
pub fn find(id: &str) -> Option<&'static Provider> {
    let id = id.trim().to_ascii_lowercase();
    let id = if id == "google" {
        "gemini"
    } else {
        id.as_str()
    };
    PROVIDERS.iter().find(|p| p.id == id)
}

/// Like [`find`], with an error naming the known providers.
pub fn lookup(id: &str) -> Result<&'static Provider, String> {
    find(id).ok_or_else(|| {
        let ids: Vec<&str> = PROVIDERS.iter().map(|p| p.id).collect();
        format!("unknown provider '{id}'; use one of: {}", ids.join(", "))
    })
}

/// Infers the provider from a key's prefix. `sk-` alone is OpenAI unless it is 32
/// hex digits, DeepSeek's shape. `None` when nothing matches.
pub fn infer(key: &str) -> Option<&'static Provider> {
    let id = if key.starts_with("sk-ant-") {
        "anthropic"
    } else if key.starts_with("sk-or-") {
        "openrouter"
    } else if key.starts_with("gsk_") {
        "groq"
    } else if key.starts_with("xai-") {
        "xai"
    } else if key.starts_with("AIza") {
        "gemini"
    } else if github(key) || key.starts_with("github_pat_") || key.starts_with("ghp_") {
        "github"
    } else if key.starts_with("sk_live_") || key.starts_with("sk_test_") || key.starts_with("rk_") {
        "stripe"
    } else if let Some(rest) = key.strip_prefix("sk-") {
        if rest.len() == 32 && rest.bytes().all(|b| b.is_ascii_hexdigit()) {
            "deepseek"
        } else {
            "openai"
        }
    } else {
        return None;
    };
    find(id)
}

/// The env var a `custom` entry is injected as by default: its name in upper snake case.
pub fn custom_env_var(name: &str) -> String {
    let mut var: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if var.starts_with(|c: char| c.is_ascii_digit()) {
        var.insert(0, '_');
    }
    var
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One real-shaped key per provider (fake values) and one wrong one.
    const CASES: &[(&str, &str, &str)] = &[
        (
            "openai",
            "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
            "pk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1w",
        ),
        (
            "openai",
            "sk-T3BlbkFJabcdefghijklmnopqrstuvwxyz0123456789AB",
            "sk-short",
        ),
        (
            "anthropic",
            "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz012345-_aa",
            "sk-ant-",
        ),
        (
            "gemini",
            "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
            "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6",
        ),
        (
            "groq",
            "gsk_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghijkl",
            "gsk_tooShort123",
        ),
        (
            "deepseek",
            "sk-557a1b2c3d4e5f60718293a4b5c67e46",
            "sk-557a1b2c",
        ),
        (
            "mistral",
            "AbCdEfGhIjKlMnOpQrStUvWxYz012345",
            "AbCdEfGhIjKlMnOpQrStUvWxYz01234",
        ),
        (
            "xai",
            "xai-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
            "xia-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
        ),
        (
            "openrouter",
            "sk-or-v1-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "sk-or-v1-",
        ),
        (
            "aws",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "wJalrXUtnFEMI/K7MDENG",
        ),
        (
            "github",
            "ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
            "ghp_AbCdEf",
        ),
        (
            "github",
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
            "gh_pat_11ABCDEFG",
        ),
        (
            "stripe",
            "sk_live_51AbCdEfGhIjKlMnOpQrStUv",
            "pk_live_51AbCdEfGhIjKlMnOpQrStUv",
        ),
        ("stripe", "sk_test_51AbCdEfGhIjKlMnOpQrStUv", "sk_test_abc"),
        ("custom", "anything-at-all", ""),
    ];

    #[test]
    fn each_provider_accepts_its_shape_and_refuses_another() {
        for (id, good, bad) in CASES {
            let p = find(id).unwrap();
            assert!(p.accepts(good), "{id} should accept {good}");
            assert!(!p.accepts(bad), "{id} should refuse {bad}");
            let msg = p.check_format(bad).unwrap_err();
            assert!(msg.contains("expected"), "{msg}");
            // The message explains the rule; it never echoes the key.
            assert!(bad.len() < 12 || !msg.contains(bad), "{msg}");
        }
    }

    #[test]
    fn aws_access_key_ids() {
        assert!(aws_access_key_id("AKIAIOSFODNN7EXAMPLE"));
        assert!(aws_access_key_id("ASIAIOSFODNN7EXAMPLE"));
        assert!(!aws_access_key_id("AKIAIOSFODNN7EXAMPL"));
        assert!(!aws_access_key_id("ABIAIOSFODNN7EXAMPLE"));
    }

    #[test]
    fn inference_by_prefix() {
        for (id, good, _) in CASES {
            if ["mistral", "aws", "custom"].contains(id) {
                continue;
            }
            assert_eq!(infer(good).map(|p| p.id), Some(*id), "{good}");
        }
        assert!(infer("plainvalue").is_none());
    }

    #[test]
    fn lookup_names_the_choices() {
        assert_eq!(lookup("Google").unwrap().id, "gemini");
        assert!(lookup("nope").unwrap_err().contains("openai, anthropic"));
        assert_eq!(custom_env_var("my-svc.prod"), "MY_SVC_PROD");
    }
}
