//! Filters over the account's instances and volumes, shared by the list resources
//! (`terraform query`) and the `datacrunch_instances` / `datacrunch_volumes` data
//! sources, so that the same filter block means the same thing in both; and the
//! plan-time check of a status filter against the statuses the API knows.

use datacrunch_client::suggest::check_choice;
use datacrunch_models::{Instance, InstanceStatus, Tag, Volume, VolumeStatus};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use tfplugin::schema::{validators, Validator};
use tfplugin::{Attribute, Diagnostic, Type};

/// A validator for a string that must be one of `choices`, failing the plan with the
/// closest choice ("did you mean") and the whole list. `what` names the kind of value,
/// e.g. `instance status`.
pub fn choice_validator(what: &'static str, choices: Vec<&'static str>) -> Arc<dyn Validator> {
    validators::custom(
        format!("one of {}", choices.join(", ")),
        move |v, path, diags| {
            if let Some(s) = v.as_str() {
                if let Err(e) = check_choice(what, s, &choices) {
                    diags.push(Diagnostic::error(format!("Unknown {what}"), e).at(path.clone()));
                }
            }
        },
    )
}

/// The `status` filter attribute over the statuses the API knows.
fn status_attribute(what: &'static str, known: Vec<&'static str>) -> Attribute {
    let description = format!(
        "Only those in this status: {}. When left out, every one not deleted.",
        known
            .iter()
            .map(|s| format!("`{s}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Attribute::string("status")
        .optional()
        .validator(choice_validator(what, known))
        .description(description)
}

/// Whether `tags` carries every tag of `wanted` (a tag without a value matches `""`).
/// Keys are compared ignoring case: the API stores them lowercased.
fn carries_all(tags: &[Tag], wanted: &Option<BTreeMap<String, String>>) -> bool {
    wanted.iter().flatten().all(|(k, v)| {
        tags.iter()
            .any(|t| t.key.eq_ignore_ascii_case(k) && t.value.as_deref().unwrap_or("") == v)
    })
}

fn tag_attribute(what: &str) -> Attribute {
    Attribute::map("tag", Type::String)
        .optional()
        .description(format!(
            "Only {what} carrying every one of these tags (key = value)."
        ))
}

/// Which instances to keep.
#[derive(Deserialize, Serialize, Default)]
pub struct InstanceFilter {
    pub hostname_prefix: Option<String>,
    pub status: Option<String>,
    pub location: Option<String>,
    pub tag: Option<BTreeMap<String, String>>,
}

impl InstanceFilter {
    /// The filter's attributes, for a schema.
    pub fn attributes() -> Vec<Attribute> {
        vec![
            Attribute::string("hostname_prefix")
                .optional()
                .description("Only instances whose hostname starts with this."),
            status_attribute(
                "instance status",
                InstanceStatus::KNOWN
                    .iter()
                    .map(InstanceStatus::as_str)
                    .collect(),
            ),
            Attribute::string("location")
                .optional()
                .description("Only instances in this location, e.g. `FIN-01`."),
            tag_attribute("instances"),
        ]
    }

    /// The status asked for, typed, to filter on the API's side too.
    pub fn status(&self) -> Option<InstanceStatus> {
        self.status.as_deref().map(InstanceStatus::parse)
    }

    pub fn matches(&self, i: &Instance) -> bool {
        let status = match self.status() {
            Some(s) => i.status == s,
            // Deleted instances linger in listings for a while.
            None => !i.status.is_gone(),
        };
        i.hostname
            .starts_with(self.hostname_prefix.as_deref().unwrap_or(""))
            && status
            && self.location.as_ref().is_none_or(|l| &i.location == l)
            && carries_all(&i.tags, &self.tag)
    }
}

/// Which volumes to keep.
#[derive(Deserialize, Serialize, Default)]
pub struct VolumeFilter {
    pub name_prefix: Option<String>,
    pub status: Option<String>,
    pub location: Option<String>,
    pub instance_id: Option<String>,
    pub tag: Option<BTreeMap<String, String>>,
}

impl VolumeFilter {
    /// The filter's attributes, for a schema.
    pub fn attributes() -> Vec<Attribute> {
        vec![
            Attribute::string("name_prefix")
                .optional()
                .description("Only volumes whose name starts with this."),
            status_attribute(
                "volume status",
                VolumeStatus::KNOWN
                    .iter()
                    .map(VolumeStatus::as_str)
                    .collect(),
            ),
            Attribute::string("location")
                .optional()
                .description("Only volumes in this location, e.g. `FIN-01`."),
            Attribute::string("instance_id")
                .optional()
                .description("Only volumes attached to this instance."),
            tag_attribute("volumes"),
        ]
    }

    /// The status asked for, typed, to filter on the API's side too.
    pub fn status(&self) -> Option<VolumeStatus> {
        self.status.as_deref().map(VolumeStatus::parse)
    }

    pub fn matches(&self, v: &Volume) -> bool {
        let status = match self.status() {
            Some(s) => v.status == s,
            None => !matches!(v.status, VolumeStatus::Deleting | VolumeStatus::Deleted),
        };
        v.name
            .starts_with(self.name_prefix.as_deref().unwrap_or(""))
            && status
            && self.location.as_ref().is_none_or(|l| &v.location == l)
            && self
                .instance_id
                .as_ref()
                .is_none_or(|id| v.instance_id.as_ref() == Some(id))
            && carries_all(&v.tags, &self.tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfplugin::{AttributePath, Diagnostics, Value};

    #[test]
    fn unknown_status_names_the_closest_and_every_status() {
        let v = choice_validator("instance status", vec!["running", "offline", "ordered"]);
        let mut diags = Diagnostics::new();
        v.validate(
            &Value::from("runing"),
            &AttributePath::new("status"),
            &mut diags,
        );
        let text = format!("{diags:?}");
        assert!(text.contains("Did you mean \\\"running\\\"?"), "{text}");
        assert!(text.contains("offline, ordered, running"), "{text}");
        let mut diags = Diagnostics::new();
        v.validate(
            &Value::from("offline"),
            &AttributePath::new("status"),
            &mut diags,
        );
        assert!(!diags.has_errors(), "{diags:?}");
    }

    #[test]
    fn tag_filter_needs_every_tag_with_its_value() {
        let tags = vec![
            Tag {
                key: "team".into(),
                value: Some("ml".into()),
            },
            Tag {
                key: "free".into(),
                value: None,
            },
        ];
        let want = |pairs: &[(&str, &str)]| {
            Some(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        assert!(carries_all(&tags, &None));
        assert!(carries_all(&tags, &want(&[("team", "ml"), ("free", "")])));
        assert!(carries_all(&tags, &want(&[("Team", "ml")])));
        assert!(!carries_all(&tags, &want(&[("team", "ops")])));
        assert!(!carries_all(
            &tags,
            &want(&[("team", "ml"), ("other", "x")])
        ));
    }
}
