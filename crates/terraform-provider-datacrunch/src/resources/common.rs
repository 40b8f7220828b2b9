//! Pieces every resource uses: the `timeouts` block, validators built on the API's own
//! input rules (`datacrunch_models::validate`), API-error diagnostics, and the provider
//! state lookup.

use crate::provider::ProviderState;
use datacrunch_models::validate::{self, RuleError};
use std::sync::Arc;
use tfplugin::schema::timeouts::{self, Operation};
use tfplugin::schema::{validators, Validator};
use tfplugin::{Block, Context, Diagnostic, Diagnostics, NestedBlock, Nesting, Value};

/// The provider state configured for this process.
pub fn state(ctx: &Context) -> Result<Arc<ProviderState>, Diagnostics> {
    ctx.provider_data::<ProviderState>()
}

/// A `timeouts { create = "20m" }` block (block syntax, as every established provider
/// and kdevops' HCL write it) with one duration per operation. The value has the same
/// shape as tfplugin's `timeouts` attribute, so the server derives deadlines from it.
pub fn timeouts_block(ops: &[(Operation, &str)]) -> NestedBlock {
    let block = ops.iter().fold(Block::new(), |block, (op, default)| {
        block.attribute(
            tfplugin::Attribute::string(op.name())
                .optional()
                .validator(validators::duration())
                .description(format!(
                    "How long {} may take, as a duration such as `30s`, `10m` or `1h30m`. \
                     Default `{default}`.",
                    op.name()
                )),
        )
    });
    NestedBlock::new(
        timeouts::ATTRIBUTE,
        Nesting::Single,
        block.description("Per-operation timeouts."),
    )
}

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

/// Tag map rules (count, key and value length, case-insensitive duplicates).
pub fn tags_validator() -> Arc<dyn Validator> {
    validators::custom(
        "at most 10 tags; keys 1-63 characters, values up to 127; keys are case-insensitive",
        |v, path, diags| {
            let Some(map) = v.as_map() else { return };
            // The API lowercases keys; an uppercase key would read back changed and show
            // a difference in every plan.
            if let Some(k) = map.keys().find(|k| k.chars().any(|c| c.is_uppercase())) {
                diags.push(
                    Diagnostic::error(
                        "Invalid tags",
                        format!(
                            "tag key {k:?} has uppercase letters; the API stores keys in \
                             lowercase, so write {:?}",
                            k.to_lowercase()
                        ),
                    )
                    .at(path.clone().key(k.clone())),
                );
            }
            let pairs = map.iter().map(|(k, v)| (k.as_str(), v.as_str()));
            if let Err(e) = validate::tags(pairs) {
                diags.push(Diagnostic::error("Invalid tags", format!("tags {e}")).at(path.clone()));
            }
        },
    )
}

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

/// The string at `name` when known.
pub fn known_str<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get(name).and_then(Value::as_str)
}

/// Creates an object whose create request is not idempotent (keys, scripts, volumes),
/// without ever making a second copy: an identical object `find` already sees (left by
/// an apply that was killed before it could record it) is adopted; when the create's
/// answer is lost ([`datacrunch_client::Error::is_outcome_unknown`]) `find` looks again
/// before the create is tried once more. Returns the id and whether it was adopted.
pub async fn find_or_create<C, CF, F, FF>(
    create: C,
    find: F,
) -> Result<(String, bool), datacrunch_client::Error>
where
    C: Fn() -> CF,
    CF: std::future::Future<Output = Result<String, datacrunch_client::Error>>,
    F: Fn() -> FF,
    FF: std::future::Future<Output = Result<Option<String>, datacrunch_client::Error>>,
{
    if let Some(id) = find().await? {
        return Ok((id, true));
    }
    match create().await {
        Ok(id) => Ok((id, false)),
        Err(e) if e.is_outcome_unknown() => {
            tracing::warn!(error = %e, "create outcome unknown; looking for the object");
            if let Some(id) = find().await? {
                return Ok((id, true));
            }
            create().await.map(|id| (id, false))
        }
        Err(e) => Err(e),
    }
}

/// Makes the tags of an instance or volume go from `prior` to `planned` through the
/// tags endpoints (the API has no update: a changed value is a delete then an add).
pub async fn sync_tags(
    client: &datacrunch_client::Client,
    kind: datacrunch_client::TaggedKind,
    id: &str,
    prior: &std::collections::BTreeMap<String, String>,
    planned: &std::collections::BTreeMap<String, String>,
) -> Result<(), datacrunch_client::Error> {
    for (key, value) in prior {
        if planned.get(key) != Some(value) {
            client.delete_tag(kind, id, key).await?;
        }
    }
    for (key, value) in planned {
        if prior.get(key) != Some(value) {
            let tag = datacrunch_models::Tag {
                key: key.clone(),
                value: Some(value.clone()),
            };
            match client.add_tag(kind, id, &tag).await {
                // 409: already there, e.g. from a retried request.
                Err(e) if e.status() == Some(409) => {}
                other => other?,
            }
        }
    }
    Ok(())
}
