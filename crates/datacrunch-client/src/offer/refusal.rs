//! The words a refused deploy is reported with. The workflow sees the provider's
//! failures only as Terraform diagnostics, so the summary of a deploy refused for lack
//! of capacity is the contract between the two: both build and recognise it here, and a
//! change of wording on one side cannot silently break tier fallback on the other.

/// What every capacity refusal's summary starts with.
const PREFIX: &str = "No capacity for ";

/// The summary of a deploy of `instance_type` refused for lack of capacity in
/// `location` (`None`: the API was free to pick one).
pub fn no_capacity_summary(instance_type: &str, location: Option<&str>) -> String {
    format!(
        "{PREFIX}{instance_type} in {}",
        location.unwrap_or("any location")
    )
}

/// Whether a diagnostic's text (summary, or summary and detail joined) reports a deploy
/// refused for lack of capacity.
pub fn is_no_capacity_summary(text: &str) -> bool {
    text.contains(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_is_recognised_and_names_type_and_location() {
        let s = no_capacity_summary("1V100.6V", Some("FIN-01"));
        assert_eq!(s, "No capacity for 1V100.6V in FIN-01");
        assert!(is_no_capacity_summary(&format!("Error: {s}: 503")));
        assert_eq!(
            no_capacity_summary("1V100.6V", None),
            "No capacity for 1V100.6V in any location"
        );
        assert!(!is_no_capacity_summary("Deploying instance kdevops-0"));
    }
}
