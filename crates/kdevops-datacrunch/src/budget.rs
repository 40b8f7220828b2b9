//! What a fleet will cost from now on, and the refusals before anything is created:
//! above `CONFIG_TERRAFORM_DATACRUNCH_BUDGET_USD`, or above the account's balance. A
//! new node is counted over the TTL it gets; a running one only until its expiry
//! (`kdevops-expires-at`), since it is reaped then. Also the notes about running nodes
//! that cost more than a (lowered) per-node cap.

use std::time::Duration;

use anyhow::{bail, Result};
use time::OffsetDateTime;

use crate::ttl;

/// How long a node will bill from now, and why that long.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Billed {
    /// A new node, for the configured TTL.
    Ttl(Duration),
    /// Every node, for the TTL `make extend` asks for.
    Extended(Duration),
    /// A running node, for what is left until its expiry.
    UntilExpiry(Duration),
}

impl Billed {
    /// The expiry a node gets from this run and how long it bills until then:
    /// `extend` moves it to now + that; otherwise a running node keeps the one it
    /// carries (`current`) and a new one gets now + the configured `ttl`.
    pub fn next_expiry(
        now: OffsetDateTime,
        extend: Option<Duration>,
        current: Option<OffsetDateTime>,
        ttl: Duration,
    ) -> (OffsetDateTime, Self) {
        match (extend, current) {
            (Some(by), _) => (now + by, Billed::Extended(by)),
            (None, Some(at)) => (
                at,
                Billed::UntilExpiry((at - now).try_into().unwrap_or_default()),
            ),
            (None, None) => (now + ttl, Billed::Ttl(ttl)),
        }
    }

    fn duration(self) -> Duration {
        match self {
            Billed::Ttl(d) | Billed::Extended(d) | Billed::UntilExpiry(d) => d,
        }
    }

    /// `x 8h (CONFIG_TERRAFORM_DATACRUNCH_TTL)`, `x 4h (make extend)`, `x 1h 30m left
    /// until its expiry`.
    fn describe(self) -> String {
        match self {
            Billed::Ttl(d) => format!("x {} (CONFIG_TERRAFORM_DATACRUNCH_TTL)", ttl::show(d)),
            Billed::Extended(d) => format!("x {} (make extend)", ttl::show(d)),
            Billed::UntilExpiry(d) => format!(
                "x {} left until its expiry",
                ttl::human(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            ),
        }
    }
}

/// One node's part of the estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeCost {
    pub node: String,
    pub instance_type: String,
    pub price_per_hour: f64,
    /// Not created yet (a running node keeps the price it was created with).
    pub new: bool,
    pub billed: Billed,
}

impl NodeCost {
    pub fn total(&self) -> f64 {
        self.price_per_hour * self.billed.duration().as_secs_f64() / 3600.0
    }
}

/// The fleet from now until each node's expiry.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    pub nodes: Vec<NodeCost>,
}

impl Estimate {
    pub fn total(&self) -> f64 {
        self.nodes.iter().map(NodeCost::total).sum()
    }

    /// The sum and its parts, new nodes grouped by type, price and time, running nodes
    /// one by one: `2 new nodes x 3.95 USD/h (1H100.80S.30V) x 8h
    /// (CONFIG_TERRAFORM_DATACRUNCH_TTL) + kdevops-0 x 3.95 USD/h (1H100.80S.30V) x 1h
    /// 30m left until its expiry = 69.12 USD`.
    pub fn describe(&self) -> String {
        let mut groups: Vec<(&NodeCost, usize)> = Vec::new();
        for n in self.nodes.iter().filter(|n| n.new) {
            match groups.iter_mut().find(|(g, _)| {
                g.instance_type == n.instance_type
                    && g.price_per_hour == n.price_per_hour
                    && g.billed == n.billed
            }) {
                Some(g) => g.1 += 1,
                None => groups.push((n, 1)),
            }
        }
        let new = groups.iter().map(|(n, count)| {
            let s = if *count == 1 { "" } else { "s" };
            format!("{count} new node{s} x {}", Self::rate(n))
        });
        let running = self
            .nodes
            .iter()
            .filter(|n| !n.new)
            .map(|n| format!("{} x {}", n.node, Self::rate(n)));
        let parts: Vec<String> = new.chain(running).collect();
        format!("{} = {:.2} USD", parts.join(" + "), self.total())
    }

    /// `3.95 USD/h (1H100.80S.30V) x 8h (CONFIG_TERRAFORM_DATACRUNCH_TTL)`.
    fn rate(n: &NodeCost) -> String {
        format!(
            "{:.2} USD/h ({}) {}",
            n.price_per_hour,
            n.instance_type,
            n.billed.describe()
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
            billed: Billed::Ttl(Duration::from_secs(4 * 3600)),
        }
    }

    #[test]
    fn refusals_name_the_figures_and_the_option() {
        let e = Estimate {
            nodes: vec![node("a", 2.5, true), node("b", 2.5, true)],
        };
        assert_eq!(e.total(), 20.0);
        assert!(check(&e, Some(20.0), Some(20.0)).is_ok());
        assert!(check(&e, None, None).is_ok());
        let over_budget = check(&e, Some(19.0), None).unwrap_err().to_string();
        assert!(
            over_budget.contains("2 new nodes x 2.50 USD/h (1H100.80S.30V) x 4h")
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
    fn a_running_node_counts_only_until_its_expiry() {
        let running = NodeCost {
            billed: Billed::UntilExpiry(Duration::from_secs(90 * 60)),
            ..node("kdevops-0", 2.0, false)
        };
        let e = Estimate {
            nodes: vec![running, node("kdevops-1", 2.0, true)],
        };
        assert_eq!(e.total(), 2.0 * 1.5 + 2.0 * 4.0);
        assert_eq!(
            e.describe(),
            "1 new node x 2.00 USD/h (1H100.80S.30V) x 4h (CONFIG_TERRAFORM_DATACRUNCH_TTL) \
             + kdevops-0 x 2.00 USD/h (1H100.80S.30V) x 1h 30m left until its expiry = 11.00 USD"
        );
        let extended = Estimate {
            nodes: vec![NodeCost {
                billed: Billed::Extended(Duration::from_secs(2 * 3600)),
                ..node("kdevops-0", 2.0, false)
            }],
        };
        assert_eq!(
            extended.describe(),
            "kdevops-0 x 2.00 USD/h (1H100.80S.30V) x 2h (make extend) = 4.00 USD"
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
