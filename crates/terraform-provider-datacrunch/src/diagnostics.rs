//! API errors as Terraform diagnostics, and the outcomes of calls where an answer such
//! as "not found" means success (a delete) or "gone from state" (a read).

use tfplugin::{Diagnostic, Diagnostics};

/// A diagnostic for a failed API call: the summary says what was being done, the
/// detail carries the API's own code and message (never dropped, unlike the original).
pub fn api_error(summary: impl Into<String>, err: &datacrunch_client::Error) -> Diagnostics {
    let mut detail = err.to_string();
    if err.is_unauthorized() {
        detail.push_str(
            "\n\nThe API refused the credentials. Check client_id/client_secret (or \
             DATACRUNCH_CLIENT_ID/DATACRUNCH_CLIENT_SECRET, or the credentials file).",
        );
    } else if err.is_insufficient_funds() {
        detail.push_str("\n\nThe account balance is too low for this deploy.");
    }
    Diagnostic::error(summary, detail).into()
}

/// A value the schema guarantees was missing: a bug in this provider, said so plainly.
pub fn missing(what: &str) -> Diagnostics {
    Diagnostic::error(
        "Provider bug: missing value",
        format!("`{what}` was not known when it was needed"),
    )
    .into()
}

/// The outcome of a delete call: an object that is already gone counts as deleted
/// (the API answers 404 for it, or nothing at all for keys and scripts).
pub fn deleted_or_gone(
    result: Result<(), datacrunch_client::Error>,
    doing: impl FnOnce() -> String,
) -> Result<(), Diagnostics> {
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(api_error(doing(), &e)),
    }
}

/// The outcome of a read by id: `None` when the object is gone (404), so Terraform
/// drops it from state and plans to create it again.
pub fn found_or_gone<T>(
    result: Result<T, datacrunch_client::Error>,
    doing: impl FnOnce() -> String,
) -> Result<Option<T>, Diagnostics> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(api_error(doing(), &e)),
    }
}
