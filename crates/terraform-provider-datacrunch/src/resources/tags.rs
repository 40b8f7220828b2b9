//! User tags of instances and volumes: the plan-time rules, the API's form, and the
//! calls that make the API's tags match the plan.

use datacrunch_client::{Client, TaggedKind};
use datacrunch_models::{validate, Tag};
use std::collections::BTreeMap;
use std::sync::Arc;
use tfplugin::schema::{validators, Validator};
use tfplugin::Diagnostic;

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

/// The user's tags as the API takes them.
pub fn api_tags(tags: &Option<BTreeMap<String, String>>) -> Vec<Tag> {
    tags.iter()
        .flatten()
        .map(|(k, v)| Tag {
            key: k.clone(),
            value: Some(v.clone()),
        })
        .collect()
}

/// Makes the tags of an instance or volume go from `prior` to `planned` through the
/// tags endpoints (the API has no update: a changed value is a delete then an add).
pub async fn sync_tags(
    client: &Client,
    kind: TaggedKind,
    id: &str,
    prior: &BTreeMap<String, String>,
    planned: &BTreeMap<String, String>,
) -> Result<(), datacrunch_client::Error> {
    for (key, value) in prior {
        if planned.get(key) != Some(value) {
            client.delete_tag(kind, id, key).await?;
        }
    }
    for (key, value) in planned {
        if prior.get(key) != Some(value) {
            let tag = Tag {
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
