//! Validators built on the API's own input rules (`datacrunch_models::validate`), so a
//! value the API would refuse fails `terraform plan` instead of the apply.

use datacrunch_models::validate::{self, RuleError};
use std::sync::Arc;
use tfplugin::schema::{validators, Validator};
use tfplugin::Diagnostic;

/// A validator from one of the API's input rules.
pub fn rule(description: &str, check: fn(&str) -> Result<(), RuleError>) -> Arc<dyn Validator> {
    validators::custom(description, move |v, path, diags| {
        if let Some(s) = v.as_str() {
            if let Err(e) = check(s) {
                diags.push(
                    Diagnostic::error("Invalid attribute value", format!("{s:?} {e}"))
                        .at(path.clone()),
                );
            }
        }
    })
}

pub fn hostname_validator() -> Arc<dyn Validator> {
    rule(
        "letters, digits and '-', at least one letter, no leading or trailing '-', at most 60 characters",
        validate::hostname,
    )
}

pub fn ssh_key_validator() -> Arc<dyn Validator> {
    rule(
        "an OpenSSH public key line (`ssh-ed25519 AAAA… comment`)",
        validate::ssh_public_key,
    )
}
