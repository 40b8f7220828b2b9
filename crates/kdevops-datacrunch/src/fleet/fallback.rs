//! What Terraform's state and `apply -json` say about the nodes, and what bringup does
//! next: keep a healthy node, re-place a node that failed for lack of capacity, stop on
//! any other failure. Pure functions over parsed data, unit-tested.
//!
//! "Why did it fail" comes from data, never from grepping Terraform's human output. The
//! first evidence is the instance's `status` in state: a create that fails after the
//! deploy was accepted keeps the instance there, tainted, as last seen
//! ([`InstanceStatus::NoCapacity`] when capacity vanished). Only when state has no status for the node (a deploy refused
//! with a 503 creates nothing) do the provider's diagnostic for that resource address in
//! `apply -json` ([`CAPACITY_TOKENS`], its stable contract) and live availability asked
//! again after the failure decide.

use std::collections::{BTreeMap, BTreeSet};

use datacrunch_models::InstanceStatus;

use super::placement::Placement;
use crate::terraform::{ApplyReport, StateResource};

/// The Terraform address of a node's instance.
pub fn instance_address(node: &str) -> String {
    format!("datacrunch_instance.kdevops[\"{node}\"]")
}

/// A node's instance as recorded in state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeState {
    pub name: String,
    pub id: String,
    pub placement: Placement,
    /// The image it was created with.
    pub image: String,
    /// `None` when state recorded no status (an instance never read back).
    pub status: Option<InstanceStatus>,
    pub ip: Option<String>,
    pub tainted: bool,
}

impl NodeState {
    /// Usable as it is: not tainted, and in a status on the way to or at `running`.
    pub fn is_healthy(&self) -> bool {
        !self.tainted
            && self
                .status
                .as_ref()
                .is_some_and(|s| *s == InstanceStatus::Running || s.is_pending())
    }
}

/// The `datacrunch_instance` entries of a state listing, by node name.
pub fn nodes_in_state(resources: &[StateResource]) -> BTreeMap<String, NodeState> {
    let text = |v: &serde_json::Value, key: &str| v[key].as_str().unwrap_or_default().to_owned();
    resources
        .iter()
        .filter(|r| r.resource_type == "datacrunch_instance")
        .filter_map(|r| {
            let name = r.index.clone()?;
            let v = &r.values;
            // `location` is where the API put it; `location_code` what was asked for.
            let location = Some(text(v, "location"))
                .filter(|l| !l.is_empty())
                .unwrap_or_else(|| text(v, "location_code"));
            Some((
                name.clone(),
                NodeState {
                    name,
                    id: text(v, "id"),
                    placement: Placement {
                        instance_type: text(v, "instance_type"),
                        location,
                    },
                    image: text(v, "image"),
                    status: Some(text(v, "status"))
                        .filter(|s| !s.is_empty())
                        .map(|s| InstanceStatus::parse(&s)),
                    ip: v["ip"]
                        .as_str()
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                    tainted: r.tainted,
                },
            ))
        })
        .collect()
}

/// The placements of the healthy nodes that are still configured: they stay.
pub fn keep(nodes: &[String], state: &BTreeMap<String, NodeState>) -> BTreeMap<String, Placement> {
    nodes
        .iter()
        .filter_map(|n| {
            state
                .get(n)
                .filter(|s| s.is_healthy())
                .map(|s| (n.clone(), s.placement.clone()))
        })
        .collect()
}

/// The placements recorded in state, as tfvars want them.
pub fn placements_of(nodes: &BTreeMap<String, NodeState>) -> BTreeMap<String, Placement> {
    nodes
        .iter()
        .map(|(n, s)| (n.clone(), s.placement.clone()))
        .collect()
}

/// Whether a provider diagnostic says the node failed for lack of capacity: the summary
/// of a refused deploy, or the quoted API status of a late failure (also in state; the
/// text is the fallback for a state that could not be read).
fn says_no_capacity(diagnostic: &str) -> bool {
    let late = format!("\"{}\"", InstanceStatus::NoCapacity.as_str());
    datacrunch_client::offer::is_no_capacity_summary(diagnostic) || diagnostic.contains(&late)
}

/// Why a node failed in an apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No capacity for its type in its location: exclude the type, try the next tier.
    Capacity,
    /// Anything else: stop and show Terraform's diagnostics.
    Other(String),
}

/// The failed nodes of an apply. A node failed when Terraform reported an error for its
/// address, or when after the apply it is missing from state or unhealthy.
/// `still_available(placement)` asks live availability again.
pub fn classify(
    placements: &BTreeMap<String, Placement>,
    report: &ApplyReport,
    state_after: &BTreeMap<String, NodeState>,
    mut still_available: impl FnMut(&Placement) -> bool,
) -> BTreeMap<String, Failure> {
    let mut failed = BTreeMap::new();
    for (node, placement) in placements {
        let errors = report.errors.get(&instance_address(node));
        let recorded = state_after.get(node);
        let healthy = recorded.is_some_and(|s| s.is_healthy() && s.placement == *placement);
        if errors.is_none() && healthy {
            continue;
        }
        // State is the best evidence, when it holds this very attempt: the failed
        // instance as last seen. An older instance (other placement) says nothing.
        let state_says_capacity = recorded
            .filter(|s| s.placement == *placement)
            .and_then(|s| s.status.as_ref())
            .map(|status| *status == InstanceStatus::NoCapacity);
        let said_capacity = || errors.is_some_and(|e| e.iter().any(|t| says_no_capacity(t)));
        let capacity =
            state_says_capacity.unwrap_or_else(|| said_capacity() || !still_available(placement));
        let failure = if capacity {
            Failure::Capacity
        } else {
            let mut why = errors.map(|e| e.join("; ")).unwrap_or_default();
            if why.is_empty() {
                why = match recorded {
                    Some(s) => format!(
                        "instance {} is in status {}",
                        s.id,
                        s.status.as_ref().map_or("(none)", |st| st.as_str())
                    ),
                    None => "Terraform did not create it".to_owned(),
                };
            }
            Failure::Other(why)
        };
        failed.insert(node.clone(), failure);
    }
    failed
}

/// The types to exclude after a failed attempt: those of nodes that failed for capacity.
pub fn excluded_after(
    placements: &BTreeMap<String, Placement>,
    failed: &BTreeMap<String, Failure>,
) -> BTreeSet<String> {
    failed
        .iter()
        .filter(|(_, f)| **f == Failure::Capacity)
        .filter_map(|(n, _)| placements.get(n).map(|p| p.instance_type.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(t: &str, l: &str) -> Placement {
        Placement {
            instance_type: t.into(),
            location: l.into(),
        }
    }

    fn res(node: &str, status: &str, tainted: bool) -> StateResource {
        StateResource {
            resource_type: "datacrunch_instance".into(),
            index: Some(node.into()),
            tainted,
            values: json!({"id": format!("id-{node}"), "instance_type": "1H100.80S.30V", "location": "FIN-01",
                           "location_code": "FIN-01", "status": status, "ip": "127.0.0.5"}),
        }
    }

    #[test]
    fn reads_nodes_and_health_from_state() {
        let key = StateResource {
            resource_type: "datacrunch_ssh_key".into(),
            index: Some("0".into()),
            tainted: false,
            values: json!({}),
        };
        let state = nodes_in_state(&[
            res("a", "running", false),
            res("b", "no_capacity", true),
            key,
        ]);
        assert_eq!(state.len(), 2);
        assert_eq!(state["a"].placement, p("1H100.80S.30V", "FIN-01"));
        assert_eq!(state["a"].ip.as_deref(), Some("127.0.0.5"));
        let nodes = ["a", "b", "c"].map(String::from).to_vec();
        let kept = keep(&nodes, &state);
        assert_eq!(kept.keys().collect::<Vec<_>>(), ["a"]);
    }

    #[test]
    fn only_the_node_that_lost_capacity_moves() {
        let placements: BTreeMap<_, _> = ["a", "b", "c"]
            .iter()
            .map(|n| (n.to_string(), p("1H100.80S.30V", "FIN-01")))
            .collect();
        let mut report = ApplyReport::default();
        report.errors.insert(
            instance_address("b"),
            vec!["Instance failed: status no_capacity".into()],
        );
        let state = nodes_in_state(&[
            res("a", "running", false),
            res("b", "no_capacity", true),
            res("c", "running", false),
        ]);
        let failed = classify(&placements, &report, &state, |_| true);
        assert_eq!(failed.len(), 1);
        assert_eq!(failed["b"], Failure::Capacity);
        assert_eq!(
            excluded_after(&placements, &failed),
            BTreeSet::from(["1H100.80S.30V".to_string()])
        );
    }

    #[test]
    fn a_refused_deploy_is_capacity_only_if_availability_agrees() {
        let placements: BTreeMap<_, _> = [("a".to_string(), p("1B300.30V", "FIN-03"))].into();
        let mut report = ApplyReport::default();
        report.errors.insert(
            instance_address("a"),
            vec!["Error deploying instance: 503".into()],
        );
        let empty = BTreeMap::new();
        assert_eq!(
            classify(&placements, &report, &empty, |_| false)["a"],
            Failure::Capacity
        );
        let other = classify(&placements, &report, &empty, |_| true);
        assert_eq!(
            other["a"],
            Failure::Other("Error deploying instance: 503".into())
        );
        assert!(excluded_after(&placements, &other).is_empty());
        // A late no_capacity instance missing from state: its diagnostic still tells.
        let mut late = ApplyReport::default();
        late.errors.insert(
            instance_address("a"),
            vec!["Instance did not become ready: instance x reached status \"no_capacity\"".into()],
        );
        assert_eq!(
            classify(&placements, &late, &empty, |_| true)["a"],
            Failure::Capacity
        );
    }

    #[test]
    fn the_failed_instance_in_state_decides_before_text_and_availability() {
        let placements: BTreeMap<_, _> = [("a".to_string(), p("1H100.80S.30V", "FIN-01"))].into();
        let mut report = ApplyReport::default();
        report.errors.insert(
            instance_address("a"),
            vec!["Instance did not become ready".into()],
        );
        let ask = |_: &Placement| -> bool { panic!("state already tells") };
        // Kept tainted in no_capacity: capacity, whatever the text says.
        let late = nodes_in_state(&[res("a", "no_capacity", true)]);
        assert_eq!(
            classify(&placements, &report, &late, ask)["a"],
            Failure::Capacity
        );
        // Timed out while provisioning: it had capacity, so not a capacity failure.
        let slow = nodes_in_state(&[res("a", "provisioning", true)]);
        assert!(matches!(
            classify(&placements, &report, &slow, ask)["a"],
            Failure::Other(_)
        ));
        // A recorded instance of another placement is no evidence for this attempt.
        let elsewhere: BTreeMap<_, _> = [("a".to_string(), p("1H100.80S.30V", "FIN-02"))].into();
        assert_eq!(
            classify(&elsewhere, &report, &late, |_| false)["a"],
            Failure::Capacity
        );
    }

    #[test]
    fn a_healthy_node_with_the_planned_placement_did_not_fail() {
        let placements: BTreeMap<_, _> = [("a".to_string(), p("1H100.80S.30V", "FIN-01"))].into();
        let state = nodes_in_state(&[res("a", "running", false)]);
        assert!(
            classify(&placements, &ApplyReport::default(), &state, |_| panic!(
                "not asked"
            ))
            .is_empty()
        );
    }
}
