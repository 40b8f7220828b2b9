//! Input rules the service enforces, shared so the provider can check at plan time
//! exactly what the emulator (and the real API) would refuse at apply time.
//!
//! Each check returns a [`RuleError`] whose message names what was expected, so callers
//! only add the field name.

/// The longest hostname accepted. dstack caps names at 60 characters; the API documents
/// no limit, so this errs on the side that is known to work.
pub const MAX_HOSTNAME_LEN: usize = 60;
/// At most this many tags per resource.
pub const MAX_TAGS: usize = 10;
/// Tag keys up to this length.
pub const MAX_TAG_KEY_LEN: usize = 63;
/// Tag values up to this length.
pub const MAX_TAG_VALUE_LEN: usize = 127;

/// Why a value breaks a rule, phrased to follow "<field> ".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RuleError(pub String);

fn fail<T>(msg: impl Into<String>) -> Result<T, RuleError> {
    Err(RuleError(msg.into()))
}

/// The web console's hostname rule: letters, digits and hyphens, at least one letter, no
/// leading or trailing hyphen, at most [`MAX_HOSTNAME_LEN`] characters.
pub fn hostname(h: &str) -> Result<(), RuleError> {
    if h.is_empty() {
        return fail("must not be empty");
    }
    if h.len() > MAX_HOSTNAME_LEN {
        return fail(format!(
            "must be at most {MAX_HOSTNAME_LEN} characters, got {}",
            h.len()
        ));
    }
    if let Some(c) = h
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return fail(format!(
            "may contain only letters, digits and '-', found {c:?}"
        ));
    }
    if h.starts_with('-') || h.ends_with('-') {
        return fail("must not start or end with '-'");
    }
    if !h.chars().any(|c| c.is_ascii_alphabetic()) {
        return fail("must contain at least one letter");
    }
    Ok(())
}

/// The key types an OpenSSH public key line may start with.
pub const SSH_KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-dss",
];

/// An OpenSSH public key line: `<type> <base64 body> [comment]`, where the body's first
/// field repeats the type. This catches a pasted private key or a file path.
pub fn ssh_public_key(key: &str) -> Result<(), RuleError> {
    let key = key.trim();
    if key.contains("PRIVATE KEY") {
        return fail("is a private key; give the public key (the .pub file)");
    }
    let mut parts = key.split_whitespace();
    let (Some(kind), Some(body)) = (parts.next(), parts.next()) else {
        return fail("must be an OpenSSH public key line such as \"ssh-ed25519 AAAA… comment\"");
    };
    if !SSH_KEY_TYPES.contains(&kind) {
        return fail(format!(
            "has unknown key type {kind:?}; expected one of {}",
            SSH_KEY_TYPES.join(", ")
        ));
    }
    let Some(decoded) = decode_base64(body) else {
        return fail("has a key body that is not valid base64");
    };
    // The wire blob starts with a u32 length and the key type again.
    let inner = decoded
        .get(0..4)
        .map(|l| u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize)
        .and_then(|n| decoded.get(4..4 + n));
    if inner != Some(kind.as_bytes()) {
        return fail(format!("has a key body that does not encode a {kind} key"));
    }
    Ok(())
}

/// Tag rules: at most [`MAX_TAGS`], keys 1..=63 characters, values up to 127, no
/// duplicate keys (keys compare case-insensitively because the API lowercases them).
pub fn tags<'a>(
    tags: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> Result<(), RuleError> {
    let mut seen = std::collections::BTreeSet::new();
    for (i, (k, v)) in tags.into_iter().enumerate() {
        if i >= MAX_TAGS {
            return fail(format!("may hold at most {MAX_TAGS} tags"));
        }
        if k.is_empty() || k.len() > MAX_TAG_KEY_LEN {
            return fail(format!(
                "key {k:?} must be 1 to {MAX_TAG_KEY_LEN} characters"
            ));
        }
        if v.is_some_and(|v| v.len() > MAX_TAG_VALUE_LEN) {
            return fail(format!(
                "value of {k:?} must be at most {MAX_TAG_VALUE_LEN} characters"
            ));
        }
        if !seen.insert(k.to_ascii_lowercase()) {
            return fail(format!("has key {k:?} twice (keys are case-insensitive)"));
        }
    }
    Ok(())
}

/// Standard base64 with optional padding; `None` on any invalid character.
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let bytes = s.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= val(c)? << (18 - 6 * i);
        }
        let n = match chunk.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => return None,
        };
        out.extend_from_slice(&acc.to_be_bytes()[1..1 + n]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED25519: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@host";

    #[test]
    fn hostnames() {
        for ok in ["kdevops-1", "a", "node01", "A-b-C"] {
            assert_eq!(hostname(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("", "empty"),
            ("-a", "start or end"),
            ("a-", "start or end"),
            ("123", "letter"),
            ("a_b", "'_'"),
            ("a.b", "'.'"),
        ] {
            let e = hostname(bad).unwrap_err().0;
            assert!(e.contains(why), "{bad}: {e}");
        }
        assert!(hostname(&"a".repeat(61))
            .unwrap_err()
            .0
            .contains("at most 60"));
    }

    #[test]
    fn ssh_keys() {
        assert_eq!(ssh_public_key(ED25519), Ok(()));
        assert!(ssh_public_key(
            "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
        )
        .unwrap_err()
        .0
        .contains("does not encode a ssh-rsa key"));
        assert!(ssh_public_key("-----BEGIN OPENSSH PRIVATE KEY-----")
            .unwrap_err()
            .0
            .contains("private"));
        assert!(ssh_public_key("~/.ssh/id_ed25519.pub").is_err());
        assert!(ssh_public_key("ssh-ed25519 !!!!")
            .unwrap_err()
            .0
            .contains("base64"));
    }

    #[test]
    fn tag_rules() {
        assert_eq!(tags([("team", Some("ml")), ("x", None)]), Ok(()));
        assert!(tags([("a", None), ("A", None)])
            .unwrap_err()
            .0
            .contains("twice"));
        assert!(tags((0..11).map(|_| ("k", None))).is_err());
        let long = "v".repeat(128);
        assert!(tags([("k", Some(long.as_str()))]).is_err());
    }
}
