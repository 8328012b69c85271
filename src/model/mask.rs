//! Masking: how a key is shown anywhere it is shown.
//!
//! The provider prefix, `…`, the last 4 characters; never more than 8 characters of
//! the secret in all and never more than a third of it. Secrets under 12 characters
//! are masked whole.

/// What a fully masked secret looks like (its length is not revealed).
pub const FULL_MASK: &str = "********";

/// Masks `secret`, showing at most `known_prefix` (truncated to fit) and the last 4.
pub fn mask_secret(secret: &str, known_prefix: Option<&str>) -> String {
    let chars: Vec<char> = secret.chars().collect();
    let budget = (chars.len() / 3).min(8);
    if budget < 4 {
        return FULL_MASK.to_string();
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    let head: String = known_prefix
        .unwrap_or("")
        .chars()
        .take(budget - 4)
        .collect();
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(masked: &str) -> usize {
        masked.chars().filter(|c| *c != '…' && *c != '*').count()
    }

    #[test]
    fn short_secrets_are_masked_whole() {
        for s in ["", "a", "abcdefgh", "abcdefghijk"] {
            assert_eq!(mask_secret(s, Some("ab")), FULL_MASK);
        }
    }

    #[test]
    fn long_keys_show_prefix_and_last_four() {
        let k = "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz012345";
        assert_eq!(mask_secret(k, Some("sk-ant-")), "sk-a…2345");
        assert_eq!(
            mask_secret("AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", Some("AIza")),
            "AIza…5p6Q"
        );
        assert_eq!(mask_secret("no-prefix-known-here-1234", None), "…1234");
    }

    #[test]
    fn never_more_than_eight_nor_a_third() {
        for len in 0..200 {
            let s: String = "x".repeat(len);
            let m = mask_secret(&s, Some("xxxxxxxxxxxx"));
            assert!(shown(&m) <= 8, "{len}: {m}");
            assert!(shown(&m) <= len / 3, "{len}: {m}");
        }
    }

    #[test]
    fn twelve_chars_show_only_the_tail() {
        assert_eq!(mask_secret("gsk_abcd1234", Some("gsk_")), "…1234");
    }
}
