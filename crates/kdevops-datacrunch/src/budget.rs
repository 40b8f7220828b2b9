//! What a fleet will cost over its TTL, and the refusals before anything is created:
//! above `CONFIG_TERRAFORM_DATACRUNCH_BUDGET_USD`, or above the account's balance. Also
//! the notes about running nodes that cost more than a (lowered) per-node cap.

use std::time::Duration;

use anyhow::{bail, Result};

use crate::ttl;

/// One node's part of the estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeCost {
    pub node: String,
    pub instance_type: String,
    pub price_per_hour: f64,
    /// Not created yet (a running node keeps the price it was created with).
    pub new: bool,
}

/// The fleet over its TTL.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    pub nodes: Vec<NodeCost>,
    pub ttl: Duration,
}

impl Estimate {
    pub fn per_hour(&self) -> f64 {
        self.nodes.iter().map(|n| n.price_per_hour).sum()
    }

    pub fn total(&self) -> f64 {
        self.per_hour() * self.ttl.as_secs_f64() / 3600.0
    }

    /// `3 nodes x 3.95 USD/h (1H100.80S.30V) x 8h = 94.80 USD`, grouping nodes of one
    /// type and price.
    pub fn describe(&self) -> String {
        let mut groups: Vec<(String, f64, usize)> = Vec::new();
        for n in &self.nodes {
            match groups
                .iter_mut()
                .find(|(t, p, _)| *t == n.instance_type && *p == n.price_per_hour)
            {
                Some(g) => g.2 += 1,
                None => groups.push((n.instance_type.clone(), n.price_per_hour, 1)),
            }
        }
        let parts: Vec<String> = groups
            .iter()
            .map(|(t, p, count)| {
                let s = if *count == 1 { "" } else { "s" };
                format!("{count} node{s} x {p:.2} USD/h ({t})")
            })
            .collect();
        format!(
            "{} x {} (CONFIG_TERRAFORM_DATACRUNCH_TTL) = {:.2} USD",
            parts.join(" + "),
            ttl::show(self.ttl),
            self.total()
        )
    }
}

/// Refuses an estimate above the budget or the balance; the message names the figures
/// and what to change. `balance` is the account's (`None` when it is not known).
pub fn check(estimate: &Estimate, budget: Option<f64>, balance: Option<f64>) -> Result<()> {
    let total = estimate.total();
    if let Some(budget) = budget.filter(|b| total > *b) {
        bail!(
            "refusing to create nodes: {} is above the budget of {budget:.2} USD (CONFIG_TERRAFORM_DATACRUNCH_BUDGET_USD); \
             raise the budget or shorten the TTL in `make menuconfig`, or configure fewer or cheaper nodes. Nothing was created",
            estimate.describe()
        );
    }
    if let Some(balance) = balance.filter(|b| total > *b) {
        bail!(
            "refusing to create nodes: {} is above the account balance of {balance:.2} USD; \
             top up the account, or shorten CONFIG_TERRAFORM_DATACRUNCH_TTL or configure fewer or cheaper nodes in `make menuconfig`. Nothing was created",
            estimate.describe()
        );
    }
    Ok(())
}

/// A line for each running node that costs more than the per-node cap (lowered since
/// it was created): it is kept, and what to do about it.
pub fn over_cap_notes(running: &[NodeCost], cap: Option<f64>) -> Vec<String> {
    let Some(cap) = cap else { return Vec::new() };
    running
        .iter()
        .filter(|n| !n.new && n.price_per_hour > cap)
        .map(|n| {
            format!(
                "warning: {} ({}) costs {:.2} USD/h, above CONFIG_TERRAFORM_DATACRUNCH_MAX_PRICE_PER_HOUR ({cap:.2}); \
                 it is kept as it runs: `make bringup REPLACE={}` rebuilds it within the cap, or raise the cap",
                n.node, n.instance_type, n.price_per_hour, n.node
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, price: f64, new: bool) -> NodeCost {
        NodeCost {
            node: name.into(),
            instance_type: "1H100.80S.30V".into(),
            price_per_hour: price,
            new,
        }
    }

    #[test]
    fn refusals_name_the_figures_and_the_option() {
        let e = Estimate {
            nodes: vec![node("a", 2.5, true), node("b", 2.5, true)],
            ttl: Duration::from_secs(4 * 3600),
        };
        assert_eq!(e.total(), 20.0);
        assert!(check(&e, Some(20.0), Some(20.0)).is_ok());
        assert!(check(&e, None, None).is_ok());
        let over_budget = check(&e, Some(19.0), None).unwrap_err().to_string();
        assert!(
            over_budget.contains("2 nodes x 2.50 USD/h (1H100.80S.30V) x 4h")
                && over_budget.contains("= 20.00 USD")
                && over_budget
                    .contains("budget of 19.00 USD (CONFIG_TERRAFORM_DATACRUNCH_BUDGET_USD)")
                && over_budget.contains("Nothing was created"),
            "{over_budget}"
        );
        let over_balance = check(&e, Some(100.0), Some(5.0)).unwrap_err().to_string();
        assert!(
            over_balance.contains("account balance of 5.00 USD"),
            "{over_balance}"
        );
    }

    #[test]
    fn only_running_nodes_above_the_cap_are_named() {
        let nodes = [
            node("a", 3.0, false),
            node("b", 1.0, false),
            node("c", 3.0, true),
        ];
        let notes = over_cap_notes(&nodes, Some(2.0));
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].contains("a (1H100.80S.30V) costs 3.00 USD/h")
                && notes[0].contains("REPLACE=a")
        );
        assert!(over_cap_notes(&nodes, None).is_empty());
    }
}
