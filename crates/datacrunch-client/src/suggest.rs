//! "Did you mean": the nearest valid name for a mistyped one, shared by the provider
//! (instance types, images, locations at plan time) and the kdevops workflow (`.config`
//! symbols, tier groups, instance types), so a typo reads the same wherever it is made.

/// `Ok` when `value` is one of `choices`; otherwise a message with the closest choice
/// (by edit distance, ignoring case) and every valid one, e.g.
/// `"1H100.80S.30" is not a known instance type. Did you mean "1H100.80S.30V"? Valid
/// choices: ...`.
pub fn check_choice(what: &str, value: &str, choices: &[&str]) -> Result<(), String> {
    if choices.contains(&value) {
        return Ok(());
    }
    let mut sorted: Vec<&str> = choices.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    Err(format!(
        "{value:?} is not a known {what}.{} Valid choices: {}.",
        did_you_mean(value, &sorted),
        sorted.join(", ")
    ))
}

/// `" Did you mean \"X\"?"` when a choice is near `value` (see [`closest`]), else empty:
/// ready to append to a message that already ends in a full stop.
pub fn did_you_mean(value: &str, choices: &[&str]) -> String {
    closest(value, choices)
        .map(|c| format!(" Did you mean {c:?}?"))
        .unwrap_or_default()
}

/// The choice nearest to `value`, if it is near enough to be a plausible typo: within a
/// third of the value's length (at least 2 edits), or equal ignoring case.
pub fn closest<'a>(value: &str, choices: &[&'a str]) -> Option<&'a str> {
    let lower = value.to_lowercase();
    let budget = (value.chars().count() / 3).max(2);
    choices
        .iter()
        .map(|c| (strsim::levenshtein(&lower, &c.to_lowercase()), *c))
        .filter(|(d, _)| *d <= budget)
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_nearest_choice_and_lists_all() {
        let types = ["1H100.80S.30V", "1H100.80S.32V", "1A100.22V", "1V100.6V"];
        let err = check_choice("instance type", "1H100.80S.30", &types).unwrap_err();
        assert!(err.contains("Did you mean \"1H100.80S.30V\"?"), "{err}");
        assert!(err.contains("1V100.6V"), "{err}");
        // Case only.
        assert_eq!(closest("1v100.6v", &types), Some("1V100.6V"));
        // Nothing close: no guess, but still the list.
        let err = check_choice("instance type", "x", &types).unwrap_err();
        assert!(!err.contains("Did you mean"), "{err}");
        assert!(
            err.contains("Valid choices: 1A100.22V, 1H100.80S.30V"),
            "{err}"
        );
        assert_eq!(check_choice("location", "FIN-01", &["FIN-01"]), Ok(()));
        assert_eq!(closest("FIN01", &["FIN-01", "ICE-01"]), Some("FIN-01"));
        assert_eq!(did_you_mean("x", &["FIN-01"]), "");
        assert_eq!(
            did_you_mean("H200_OR_LESS", &["H100_OR_LESS", "B200_OR_LESS"]),
            " Did you mean \"B200_OR_LESS\"?"
        );
    }
}
