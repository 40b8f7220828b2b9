//! Where each node goes: pure decisions, no I/O, so every rule is unit-tested.
//!
//! Which type and location a *new* node gets is the client's offer selection
//! ([`datacrunch_client::offer`]: the kdevops tier table, live availability, price cap,
//! exclusions). This module owns the rule around it: nodes that already run keep their
//! placement, always, so a fallback never replaces a healthy node (moving every node to
//! the fallback type would throw away working, billed machines), and the candidate list
//! of a configured type.

use std::collections::BTreeMap;

use datacrunch_client::offer::{Offer, Selection, TierGroup};

use crate::settings::TypeRequest;

/// A node's instance type and location.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Placement {
    pub instance_type: String,
    pub location: String,
}

impl From<&Offer> for Placement {
    fn from(o: &Offer) -> Self {
        Self {
            instance_type: o.instance_type.clone(),
            location: o.location.clone(),
        }
    }
}

/// The types to try, in preference order, for a configured type.
pub fn candidates(request: &TypeRequest) -> Vec<String> {
    match request {
        TypeRequest::Explicit(t) => vec![t.clone()],
        TypeRequest::Wildcard(group) => group
            .parse::<TierGroup>()
            .map(|g| g.instance_types().iter().map(|t| t.to_string()).collect())
            .unwrap_or_default(),
    }
}

/// One line per candidate the selection skipped, saying why.
pub fn skip_notes(selection: &Selection, pool: &str) -> Vec<String> {
    selection
        .skipped
        .iter()
        .map(|s| format!("skipping {} ({pool}): {}", s.instance_type, s.reason))
        .collect()
}

/// The placement of every node: nodes in `keep` stay where they are; the others get
/// the result of `fresh`, asked once (a wildcard resolves to the same type for all new
/// nodes) and only if some node needs it.
pub fn assign<E>(
    nodes: &[String],
    keep: &BTreeMap<String, Placement>,
    fresh: impl FnOnce() -> Result<Placement, E>,
) -> Result<BTreeMap<String, Placement>, E> {
    let needs_fresh = nodes.iter().any(|n| !keep.contains_key(n));
    let chosen = if needs_fresh { Some(fresh()?) } else { None };
    // Every node is either kept or gets `chosen` (which exists whenever one is not kept).
    Ok(nodes
        .iter()
        .filter_map(|n| {
            keep.get(n)
                .or(chosen.as_ref())
                .map(|p| (n.clone(), p.clone()))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(t: &str, l: &str) -> Placement {
        Placement {
            instance_type: t.into(),
            location: l.into(),
        }
    }

    #[test]
    fn running_nodes_keep_their_placement() {
        let nodes: Vec<String> = ["n-0", "n-1", "n-2"].map(String::from).to_vec();
        let keep: BTreeMap<_, _> = [("n-1".to_string(), p("1B300.30V", "FIN-03"))].into();
        let mut calls = 0;
        let got = assign::<()>(&nodes, &keep, || {
            calls += 1;
            Ok(p("1V100.6V", "FIN-01"))
        })
        .unwrap();
        assert_eq!(calls, 1, "the fresh choice is made once");
        assert_eq!(got["n-0"], p("1V100.6V", "FIN-01"));
        assert_eq!(got["n-1"], p("1B300.30V", "FIN-03"));
        assert_eq!(got["n-2"], p("1V100.6V", "FIN-01"));
        // Nothing to create: no availability question at all.
        let all: BTreeMap<_, _> = nodes.iter().map(|n| (n.clone(), p("x", "y"))).collect();
        assert!(assign::<()>(&nodes, &all, || panic!("not needed")).is_ok());
        // No capacity for the new nodes is the caller's error, returned as is.
        assert_eq!(assign(&nodes, &keep, || Err("none")), Err("none"));
    }

    #[test]
    fn candidates_follow_the_tier_table() {
        assert_eq!(
            candidates(&TypeRequest::Explicit("1V100.6V".into())),
            ["1V100.6V"]
        );
        let any = candidates(&TypeRequest::Wildcard("ANY_1H100".into()));
        assert_eq!(any, ["1H100.80S.30V", "1H100.80S.32V"]);
        let h100 = candidates(&TypeRequest::Wildcard("H100_OR_LESS".into()));
        assert_eq!(h100.first().map(String::as_str), Some("1H100.80S.30V"));
        assert_eq!(h100.last().map(String::as_str), Some("1V100.6V"));
    }
}
