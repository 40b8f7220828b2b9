//! Prices over time and long-term commitments: `GET /instance-types/price-history` and
//! `GET /long-term/periods[/instances|/clusters]`.

use crate::Price;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One point of an instance type's price history: the fixed (on-demand) and dynamic
/// price per hour in force on `date`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PriceHistoryPoint {
    /// ISO 8601 date (`YYYY-MM-DD`) or timestamp, as the service sends it.
    pub date: String,
    pub fixed_price_per_hour: Price,
    pub dynamic_price_per_hour: Price,
    #[serde(default = "crate::catalog::default_currency")]
    pub currency: String,
}

/// `GET /instance-types/price-history?num_of_months=&currency=`: a map from instance
/// type name to its points, oldest first.
pub type PriceHistory = BTreeMap<String, Vec<PriceHistoryPoint>>;

/// Which list of `GET /long-term/periods` to read: the general one, or the periods
/// offered for instances or for clusters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LongTermScope {
    #[default]
    All,
    Instances,
    Clusters,
}

impl LongTermScope {
    pub const ALL: [LongTermScope; 3] = [
        LongTermScope::All,
        LongTermScope::Instances,
        LongTermScope::Clusters,
    ];

    /// The path segment after `/long-term/periods`, if any.
    pub fn segment(self) -> Option<&'static str> {
        match self {
            LongTermScope::All => None,
            LongTermScope::Instances => Some("instances"),
            LongTermScope::Clusters => Some("clusters"),
        }
    }
}

/// One record of `GET /long-term/periods`: a commitment length and its discount.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LongTermPeriod {
    pub code: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub is_enabled: bool,
    /// The unit `unit_value` counts, e.g. `month`.
    #[serde(default)]
    pub unit_name: String,
    #[serde(default)]
    pub unit_value: f64,
    #[serde(default)]
    pub discount_percentage: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn price_history_reads_the_documented_shape() {
        let h: PriceHistory = serde_json::from_str(
            r#"{"1H100.80S.30V":[{"date":"2026-11-01","fixed_price_per_hour":1.99,
                "dynamic_price_per_hour":"1.98","currency":"usd"}]}"#,
        )
        .unwrap();
        let p = &h["1H100.80S.30V"][0];
        assert_eq!(p.fixed_price_per_hour.to_string(), "1.99");
        assert_eq!(p.dynamic_price_per_hour.to_string(), "1.98");
        assert_eq!(p.currency, "usd");
    }

    #[test]
    fn long_term_period_tolerates_missing_fields() {
        let p: Vec<LongTermPeriod> = serde_json::from_str(
            r#"[{"code":"3_MONTHS","name":"3 months","is_enabled":true,"unit_name":"month",
                 "unit_value":3,"discount_percentage":12.5},{"code":"X"}]"#,
        )
        .unwrap();
        assert_eq!(p[0].unit_value, 3.0);
        assert_eq!(p[0].discount_percentage, 12.5);
        assert!(!p[1].is_enabled);
    }
}
