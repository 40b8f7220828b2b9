//! Prices over time and long-term commitments: the answers of
//! `GET /instance-types/price-history` and `GET /long-term/periods[/…]`.
//!
//! Deterministic: a price history is derived from the catalog and the virtual clock
//! alone (one point per calendar month, the current month's dynamic price being the
//! one `/instance-types` shows), so two reads in the same month agree and moving the
//! clock by a month moves the history by one point.

use crate::catalog::{Catalog, Currency};
use crate::clock::{iso8601, Millis};
use datacrunch_models::{LongTermPeriod, LongTermScope, Price, PriceHistory, PriceHistoryPoint};
use rust_decimal::Decimal;

/// The most months a price history goes back.
pub const MAX_HISTORY_MONTHS: u32 = 36;
/// Months of history when the request names none: the current month only.
pub const DEFAULT_HISTORY_MONTHS: u32 = 1;

/// How far an earlier month's dynamic price sat from the on-demand price, in percent;
/// which entry a (type, month) gets turns with both, so types do not move in lockstep.
const DYNAMIC_SWING_PERCENT: [i64; 6] = [100, 90, 110, 85, 120, 95];

/// Months since year 0 of the calendar month holding `ms` (January 2026 = 2026 * 12).
fn month_index(ms: Millis) -> i64 {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    i64::from(t.year()) * 12 + i64::from(u8::from(t.month())) - 1
}

/// The first instant of a month given by [`month_index`], as the API writes timestamps.
fn month_start(index: i64) -> String {
    let year = i32::try_from(index.div_euclid(12)).unwrap_or(1970);
    let month = u8::try_from(index.rem_euclid(12) + 1).unwrap_or(1);
    let date = time::Month::try_from(month)
        .and_then(|m| time::Date::from_calendar_date(year, m, 1))
        .unwrap_or(time::Date::MIN);
    let ms = date.midnight().assume_utc().unix_timestamp() * 1000;
    iso8601(ms)
}

/// Every type's fixed and dynamic price per hour for the `months` calendar months up to
/// and including the one holding `now`, oldest first, in `currency`.
pub fn price_history(
    catalog: &Catalog,
    now: Millis,
    months: u32,
    currency: Currency,
) -> PriceHistory {
    let current = month_index(now);
    catalog
        .types
        .iter()
        .enumerate()
        .map(|(type_index, entry)| {
            let wire = catalog.instance_type_in(entry, currency);
            let fixed = wire.price_per_hour;
            let ceiling = wire.max_dynamic_price.unwrap_or(fixed);
            let points = (0..i64::from(months))
                .rev()
                .map(|back| {
                    let month = current - back;
                    let dynamic = if back == 0 {
                        wire.dynamic_price.unwrap_or(fixed)
                    } else {
                        let swing = DYNAMIC_SWING_PERCENT[usize::try_from(
                            (month + type_index as i64)
                                .rem_euclid(DYNAMIC_SWING_PERCENT.len() as i64),
                        )
                        .unwrap_or(0)];
                        Price((fixed.0 * Decimal::new(swing, 2)).round_dp(4)).min(ceiling)
                    };
                    PriceHistoryPoint {
                        date: month_start(month),
                        fixed_price_per_hour: fixed,
                        dynamic_price_per_hour: dynamic,
                        currency: wire.currency.clone(),
                    }
                })
                .collect();
            (wire.instance_type, points)
        })
        .collect()
}

/// (code, months, discount %, offered for instances, offered for clusters)
type PeriodRow = (&'static str, u32, &'static str, bool, bool);

#[rustfmt::skip]
const PERIODS: &[PeriodRow] = &[
    ("1_MONTH", 1, "5", true, false),
    ("3_MONTHS", 3, "10", true, true),
    ("6_MONTHS", 6, "15", true, true),
    ("12_MONTHS", 12, "20", true, true),
    ("24_MONTHS", 24, "25", true, true),
    ("36_MONTHS", 36, "30", false, true),
];

/// The commitment periods of `GET /long-term/periods`, all of them or those offered for
/// instances or clusters.
pub fn long_term_periods(scope: LongTermScope) -> Vec<LongTermPeriod> {
    PERIODS
        .iter()
        .filter(|(_, _, _, instances, clusters)| match scope {
            LongTermScope::All => true,
            LongTermScope::Instances => *instances,
            LongTermScope::Clusters => *clusters,
        })
        .map(|&(code, months, discount, _, _)| LongTermPeriod {
            code: code.to_owned(),
            name: if months == 1 {
                "1 month".to_owned()
            } else {
                format!("{months} months")
            },
            is_enabled: true,
            unit_name: "month".to_owned(),
            unit_value: f64::from(months),
            discount_percentage: discount.parse().unwrap_or(0.0),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_MS: Millis = 86_400_000;
    /// 2026-12-07T09:00:00Z
    const NOW: Millis = 1_796_634_000_000;

    #[test]
    fn history_has_one_point_per_month_ending_with_the_current_dynamic_price() {
        let catalog = Catalog::new();
        let history = price_history(&catalog, NOW, 3, Currency::Usd);
        assert_eq!(history.len(), catalog.types.len());
        let h100 = &history["1H100.80S.30V"];
        let dates: Vec<&str> = h100.iter().map(|p| p.date.as_str()).collect();
        assert_eq!(
            dates,
            [
                "2026-10-01T00:00:00.000Z",
                "2026-11-01T00:00:00.000Z",
                "2026-12-01T00:00:00.000Z"
            ]
        );
        let wire = &catalog.instance_type("1H100.80S.30V").unwrap().wire;
        assert!(h100
            .iter()
            .all(|p| p.fixed_price_per_hour == wire.price_per_hour));
        assert_eq!(Some(h100[2].dynamic_price_per_hour), wire.dynamic_price);
        // Earlier months move, and never above the dynamic ceiling.
        assert!(h100[..2]
            .iter()
            .any(|p| p.dynamic_price_per_hour != h100[2].dynamic_price_per_hour));
        let ceiling = wire.max_dynamic_price.unwrap();
        assert!(h100.iter().all(|p| p.dynamic_price_per_hour <= ceiling));
    }

    #[test]
    fn history_follows_the_clock_and_the_currency() {
        let catalog = Catalog::new();
        let now = price_history(&catalog, NOW, 2, Currency::Usd);
        // The same month: the same answer. A month later: shifted by one point.
        assert_eq!(now, price_history(&catalog, NOW + DAY_MS, 2, Currency::Usd));
        let later = price_history(&catalog, NOW + 31 * DAY_MS, 2, Currency::Usd);
        assert_eq!(later["1V100.6V"][0].date, now["1V100.6V"][1].date);
        assert_eq!(later["1V100.6V"][1].date, "2027-01-01T00:00:00.000Z");
        let eur = price_history(&catalog, NOW, 1, Currency::Eur);
        assert_eq!(eur["1V100.6V"][0].currency, "eur");
        assert_ne!(
            eur["1V100.6V"][0].fixed_price_per_hour,
            now["1V100.6V"][0].fixed_price_per_hour
        );
    }

    #[test]
    fn periods_per_scope() {
        let codes = |s| {
            long_term_periods(s)
                .into_iter()
                .map(|p| p.code)
                .collect::<Vec<_>>()
        };
        assert_eq!(codes(LongTermScope::All).len(), PERIODS.len());
        assert!(codes(LongTermScope::Instances).contains(&"1_MONTH".to_owned()));
        assert!(!codes(LongTermScope::Clusters).contains(&"1_MONTH".to_owned()));
        let twelve = &long_term_periods(LongTermScope::Instances)[3];
        assert_eq!(
            (twelve.name.as_str(), twelve.unit_value),
            ("12 months", 12.0)
        );
        assert_eq!(twelve.discount_percentage, 20.0);
    }
}
