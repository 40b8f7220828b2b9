//! The check between `terraform plan` and `apply`: bringup applies a saved plan only
//! after reading it (`show -json`), and refuses one that would replace or destroy a
//! node or the cluster the user did not name in REPLACE. A replaced or destroyed node
//! is a billed machine, and whatever is on it, thrown away (a cluster is several, and
//! its shared `/home`): that takes the user's word, never a side effect of a changed
//! `.config` (a new spot setting, a lowered node count, another cluster type or image,
//! cluster mode switched off).
//!
//! The workflow's own repairs need no word: a node whose instance failed (tainted in
//! state, or in a failed status such as `no_capacity`) is replaced by the capacity
//! fallback as a matter of course. Pure functions over the plan's JSON, unit-tested.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Result};
use serde_json::Value;

use super::fallback::NodeState;

/// The resource type of a node, named by its `for_each` key.
const NODE_TYPE: &str = "datacrunch_instance";
/// The resource type of the cluster, named by its hostname.
const CLUSTER_TYPE: &str = "datacrunch_cluster";

/// What a loss is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Node,
    Cluster,
}

/// The name REPLACE confirms a change by: a node's key, or the hostname the cluster has
/// now (before the change, which may rename it).
fn subject(change: &Value) -> Option<(Kind, String)> {
    let (kind, name) = match change["type"].as_str()? {
        NODE_TYPE => (Kind::Node, change["index"].as_str()?),
        CLUSTER_TYPE => (
            Kind::Cluster,
            change.pointer("/change/before/hostname")?.as_str()?,
        ),
        _ => return None,
    };
    Some((kind, name.to_owned()))
}

/// What a plan would do to an existing node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loss {
    /// Delete it and create another: `forced_by` are the attributes that cannot
    /// change in place (empty when Terraform gave none, e.g. for `-replace`).
    Replace { forced_by: Vec<String> },
    /// Delete it: no longer configured (the node count was lowered, the node renamed).
    Destroy,
}

/// One node (or the cluster) a plan would replace or destroy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeLoss {
    /// The node's name, or the cluster's hostname.
    pub node: String,
    pub kind: Kind,
    pub loss: Loss,
    /// Terraform's `action_reason`, e.g. `replace_because_tainted`.
    pub reason: String,
}

/// The nodes and clusters the plan (`terraform show -json PLAN`) would replace or
/// destroy.
pub fn losses(plan: &Value) -> Vec<NodeLoss> {
    let changes = plan["resource_changes"].as_array().into_iter().flatten();
    changes
        .filter_map(|c| {
            let (kind, node) = subject(c)?;
            let actions: Vec<&str> = c
                .pointer("/change/actions")?
                .as_array()?
                .iter()
                .filter_map(Value::as_str)
                .collect();
            if !actions.contains(&"delete") {
                return None;
            }
            let loss = if actions.contains(&"create") {
                let forced_by = c
                    .pointer("/change/replace_paths")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(attribute_path)
                    .collect();
                Loss::Replace { forced_by }
            } else {
                Loss::Destroy
            };
            Some(NodeLoss {
                node,
                kind,
                loss,
                reason: c["action_reason"].as_str().unwrap_or_default().to_owned(),
            })
        })
        .collect()
}

/// Whether applying the plan would change nothing at all: every resource and output
/// `no-op`, and no drift found by the refresh (an apply would save the refreshed state).
/// Then bringup skips the apply and the state read after it.
pub fn changes_nothing(plan: &Value) -> bool {
    let all_noop = |actions: Option<&Value>| {
        actions
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().all(|action| action == "no-op"))
    };
    let resources = plan["resource_changes"].as_array().into_iter().flatten();
    let outputs = plan["output_changes"].as_object().into_iter().flatten();
    let drift = plan["resource_drift"]
        .as_array()
        .is_some_and(|d| !d.is_empty());
    !drift
        && resources
            .into_iter()
            .all(|c| all_noop(c.pointer("/change/actions")))
        && outputs.into_iter().all(|(_, c)| all_noop(c.get("actions")))
}

/// A `replace_paths` entry (`["os_volume", 0, "size"]`) as `os_volume.0.size`.
fn attribute_path(path: &Value) -> String {
    path.as_array()
        .into_iter()
        .flatten()
        .map(|step| match step {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Whether the node's instance failed: replacing it is the fallback's own repair.
fn failed(state: Option<&NodeState>, reason: &str) -> bool {
    reason == "replace_because_tainted"
        || state.is_some_and(|s| s.tainted || s.status.as_ref().is_some_and(|st| st.is_failed()))
}

/// The losses the user has not confirmed: not named in `confirmed` (REPLACE), and not
/// the replacement of a failed instance.
pub fn unconfirmed<'a>(
    losses: &'a [NodeLoss],
    confirmed: &BTreeSet<String>,
    state: &BTreeMap<String, NodeState>,
) -> Vec<&'a NodeLoss> {
    losses
        .iter()
        .filter(|l| !confirmed.contains(&l.node) && !failed(state.get(&l.node), &l.reason))
        .collect()
}

/// The check before a plan is applied: refused when it would replace or destroy what
/// `confirmed` (REPLACE) does not name; otherwise each confirmed loss is announced
/// through `say` (what will be replaced or destroyed, and why).
pub fn check(
    plan: &Value,
    confirmed: &BTreeSet<String>,
    state: &BTreeMap<String, NodeState>,
    mut say: impl FnMut(String),
) -> Result<()> {
    let losses = losses(plan);
    refuse_unconfirmed(&losses, confirmed, state)?;
    for loss in &losses {
        say(format!(
            "{}: will {} ({})",
            loss.node,
            loss.verb(),
            loss.why()
        ));
    }
    Ok(())
}

/// Refuses the plan when it holds unconfirmed losses: one clause per node saying what
/// would happen, why, and how to confirm it.
pub fn refuse_unconfirmed(
    losses: &[NodeLoss],
    confirmed: &BTreeSet<String>,
    state: &BTreeMap<String, NodeState>,
) -> Result<()> {
    let refused = unconfirmed(losses, confirmed, state);
    if refused.is_empty() {
        return Ok(());
    }
    let clauses: Vec<String> = refused.iter().map(|l| describe(l)).collect();
    let names: Vec<&str> = refused.iter().map(|l| l.node.as_str()).collect();
    bail!(
        "bringup refuses this plan, nothing was applied: {}. To go ahead: `make bringup REPLACE={}` \
         (kdevops-datacrunch bringup --replace {}); to keep the nodes as they are, undo the .config change",
        clauses.join("; "),
        names.join(","),
        names.join(",")
    )
}

impl NodeLoss {
    /// `replace` or `destroy`.
    pub fn verb(&self) -> &'static str {
        match self.loss {
            Loss::Replace { .. } => "replace",
            Loss::Destroy => "destroy",
        }
    }

    /// Why, in words.
    pub fn why(&self) -> String {
        match &self.loss {
            Loss::Replace { forced_by } if forced_by.is_empty() => self.reason.clone(),
            Loss::Replace { forced_by } => {
                format!(
                    "a change of {} cannot be made in place",
                    forced_by.join(", ")
                )
            }
            Loss::Destroy => match self.kind {
                Kind::Node => {
                    "it is no longer configured (node count lowered, node renamed, or cluster mode switched on)"
                        .to_owned()
                }
                Kind::Cluster => {
                    "it is no longer configured (cluster mode switched off)".to_owned()
                }
            },
        }
    }
}

/// What would happen to the node and why, in words.
pub fn describe(loss: &NodeLoss) -> String {
    let done = match loss.loss {
        Loss::Replace { .. } => "replaced",
        Loss::Destroy => "destroyed",
    };
    format!("{} would be {done}: {}", loss.node, loss.why())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::placement::Placement;
    use datacrunch_models::InstanceStatus;
    use serde_json::json;

    fn change(node: &str, actions: &[&str], reason: &str, paths: Value) -> Value {
        json!({
            "address": format!("datacrunch_instance.kdevops[\"{node}\"]"),
            "type": "datacrunch_instance", "index": node, "action_reason": reason,
            "change": {"actions": actions, "replace_paths": paths},
        })
    }

    fn node(name: &str, status: InstanceStatus, tainted: bool) -> (String, NodeState) {
        let state = NodeState {
            name: name.into(),
            id: format!("id-{name}"),
            placement: Placement {
                instance_type: "1V100.6V".into(),
                location: "FIN-01".into(),
            },
            image: "ubuntu".into(),
            status: Some(status),
            ip: None,
            tainted,
        };
        (name.into(), state)
    }

    fn plan() -> Value {
        json!({"resource_changes": [
            change("n-0", &["no-op"], "", json!(null)),
            change("n-1", &["delete", "create"], "replace_because_cannot_update", json!([["is_spot"], ["os_volume", 0, "size"]])),
            change("n-2", &["delete"], "delete_because_each_key", json!(null)),
            change("n-3", &["create", "delete"], "replace_because_tainted", json!(null)),
            change("n-4", &["delete", "create"], "replace_because_cannot_update", json!([["instance_type"]])),
            change("n-5", &["create"], "", json!(null)),
            {"type": "datacrunch_ssh_key", "index": 0, "change": {"actions": ["delete"]}},
        ]})
    }

    #[test]
    fn reads_replacements_with_their_attributes_and_destroys() {
        let losses = losses(&plan());
        let nodes: Vec<&str> = losses.iter().map(|l| l.node.as_str()).collect();
        assert_eq!(nodes, ["n-1", "n-2", "n-3", "n-4"]);
        assert_eq!(
            losses[0].loss,
            Loss::Replace {
                forced_by: vec!["is_spot".into(), "os_volume.0.size".into()]
            }
        );
        assert_eq!(losses[1].loss, Loss::Destroy);
        assert!(describe(&losses[0]).contains("a change of is_spot, os_volume.0.size"));
        assert!(describe(&losses[1]).contains("no longer configured"));
    }

    fn cluster(hostname: &str, actions: &[&str], paths: Value) -> Value {
        json!({
            "address": "datacrunch_cluster.kdevops[0]", "type": "datacrunch_cluster",
            "index": 0, "action_reason": "replace_because_cannot_update",
            "change": {"actions": actions, "replace_paths": paths,
                       "before": {"hostname": hostname, "image": "old-cluster"}},
        })
    }

    #[test]
    fn the_cluster_is_named_by_the_hostname_it_has_and_needs_confirming() {
        let plan = json!({"resource_changes": [
            cluster("gpu", &["delete", "create"], json!([["image"]])),
            // Created, not lost: nothing to confirm (and no `before`).
            {"type": "datacrunch_cluster", "index": 0, "change": {"actions": ["create"], "before": null}},
        ]});
        let losses = losses(&plan);
        assert_eq!(losses.len(), 1, "{losses:?}");
        assert_eq!(
            (losses[0].node.as_str(), losses[0].kind),
            ("gpu", Kind::Cluster)
        );
        assert!(describe(&losses[0]).contains("gpu would be replaced: a change of image"));
        let none = BTreeSet::new();
        let err = refuse_unconfirmed(&losses, &none, &BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("`make bringup REPLACE=gpu`"), "{err}");
        let confirmed: BTreeSet<String> = ["gpu".to_string()].into();
        assert!(refuse_unconfirmed(&losses, &confirmed, &BTreeMap::new()).is_ok());

        let off = json!({"resource_changes": [cluster("gpu", &["delete"], json!(null))]});
        assert!(describe(&super::losses(&off)[0]).contains("cluster mode switched off"));
    }

    #[test]
    fn a_plan_changes_nothing_only_when_every_action_is_no_op_and_nothing_drifted() {
        let noop = json!({
            "resource_changes": [change("n-0", &["no-op"], "", json!(null))],
            "output_changes": {"ips": {"actions": ["no-op"]}},
        });
        assert!(changes_nothing(&noop));
        assert!(!changes_nothing(&plan()), "creates, replaces, destroys");
        let mut output = noop.clone();
        output["output_changes"]["ips"]["actions"] = json!(["update"]);
        assert!(!changes_nothing(&output), "an output changes");
        let mut drift = noop.clone();
        drift["resource_drift"] = json!([change("n-0", &["update"], "", json!(null))]);
        assert!(!changes_nothing(&drift), "the refresh found drift");
        let mut unreadable = noop;
        unreadable["resource_changes"] = json!([{"type": NODE_TYPE, "index": "n-0"}]);
        assert!(!changes_nothing(&unreadable), "no actions: assume a change");
    }

    #[test]
    fn only_confirmed_nodes_and_failed_instances_may_go() {
        let losses = losses(&plan());
        let state: BTreeMap<_, _> = [
            node("n-1", InstanceStatus::Running, false),
            node("n-2", InstanceStatus::Offline, false),
            node("n-3", InstanceStatus::NoCapacity, true),
            // Failed but not tainted (e.g. read back as no_capacity): a repair too.
            node("n-4", InstanceStatus::NoCapacity, false),
        ]
        .into();
        let none = BTreeSet::new();
        let refused: Vec<&str> = unconfirmed(&losses, &none, &state)
            .iter()
            .map(|l| l.node.as_str())
            .collect();
        assert_eq!(refused, ["n-1", "n-2"]);
        let err = refuse_unconfirmed(&losses, &none, &state)
            .unwrap_err()
            .to_string();
        assert!(err.contains("nothing was applied"), "{err}");
        assert!(err.contains("`make bringup REPLACE=n-1,n-2`"), "{err}");

        let confirmed: BTreeSet<String> = ["n-1".to_string(), "n-2".to_string()].into();
        assert!(refuse_unconfirmed(&losses, &confirmed, &state).is_ok());
    }
}
