//! The create token in a cluster's description: `POST /clusters` takes no tags, so the
//! token that recognises a cluster an earlier create made (see the `recover` module)
//! rides at the end of the description, and is taken off again wherever the description
//! is shown, so state and plans carry the configured text.

/// What precedes the token in the description.
const TOKEN_PREFIX: &str = "[tf-create:";

/// The description the create sends: the configured one, then the token.
pub fn with_token(description: &str, token: &str) -> String {
    let mark = format!("{TOKEN_PREFIX}{token}]");
    if description.is_empty() {
        mark
    } else {
        format!("{description} {mark}")
    }
}

/// The description as configured: without the token a create put at its end.
pub fn without_token(description: &str) -> &str {
    let Some(start) = description.rfind(TOKEN_PREFIX) else {
        return description;
    };
    let token = &description[start + TOKEN_PREFIX.len()..];
    let is_token = token
        .strip_suffix(']')
        .is_some_and(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_hexdigit()));
    if is_token {
        description[..start].trim_end()
    } else {
        description
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_hidden_from_the_description_and_only_a_token_is_removed() {
        let token = "0123456789abcdef0123456789abcdef";
        for configured in ["kdevops cluster gpu", ""] {
            let sent = with_token(configured, token);
            assert!(sent.contains(token), "{sent}");
            assert_eq!(without_token(&sent), configured);
        }
        for not_a_token in ["notes [tf-create:]", "a [tf-create:xyz]", "plain"] {
            assert_eq!(without_token(not_a_token), not_a_token);
        }
    }
}
