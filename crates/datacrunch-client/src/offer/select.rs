//! Choosing an offer: the first candidate type, in preference order, with capacity in an
//! allowed location at an acceptable price. Pure: the data comes in, a decision and the
//! reason for every skipped candidate come out.

use datacrunch_models::{InstanceType, LocationAvailability, Price};
use std::collections::HashSet;
use std::fmt;

/// Which `(instance type, location, spot)` combinations have capacity. On-demand and spot
/// are separate API queries; keeping the flag in the key stops one being read as the
/// other (a bug dstack had until 2026-06).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Availability {
    entries: HashSet<(String, String, bool)>,
    /// Locations in the order the service listed them (the order "any location" tries).
    locations: Vec<String>,
}

impl Availability {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one answer of `GET /instance-availability` for the given spot flag.
    pub fn add(&mut self, is_spot: bool, per_location: &[LocationAvailability]) {
        for loc in per_location {
            if !self.locations.contains(&loc.location_code) {
                self.locations.push(loc.location_code.clone());
            }
            for t in &loc.availabilities {
                self.entries
                    .insert((t.clone(), loc.location_code.clone(), is_spot));
            }
        }
    }

    /// Builder-style [`add`](Self::add).
    pub fn with(mut self, is_spot: bool, per_location: &[LocationAvailability]) -> Self {
        self.add(is_spot, per_location);
        self
    }

    pub fn is_available(&self, instance_type: &str, location: &str, is_spot: bool) -> bool {
        self.entries
            .contains(&(instance_type.to_owned(), location.to_owned(), is_spot))
    }

    /// The locations where the type has capacity, in listing order.
    pub fn locations_for(&self, instance_type: &str, is_spot: bool) -> Vec<&str> {
        self.locations
            .iter()
            .filter(|l| self.is_available(instance_type, l, is_spot))
            .map(String::as_str)
            .collect()
    }

    /// Whether the type has capacity in `location` (in any location when `None`); when
    /// it has not, `Err` with the locations where it has some, in listing order (empty
    /// when none), for the message that says where to go instead.
    pub fn check_capacity(
        &self,
        instance_type: &str,
        location: Option<&str>,
        is_spot: bool,
    ) -> Result<(), Vec<&str>> {
        let with_capacity = self.locations_for(instance_type, is_spot);
        let ok = match location {
            Some(l) => with_capacity.contains(&l),
            None => !with_capacity.is_empty(),
        };
        if ok {
            Ok(())
        } else {
            Err(with_capacity)
        }
    }
}

/// What to look for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OfferQuery {
    /// Candidate instance types, most preferred first (an explicit list, or a
    /// [`TierGroup`](super::TierGroup)'s types).
    pub candidates: Vec<String>,
    /// Allowed locations in preference order; empty means any, in the service's order.
    pub locations: Vec<String>,
    pub is_spot: bool,
    /// The most to pay per hour (on-demand or spot price, whichever applies).
    pub max_price_per_hour: Option<Price>,
    /// Types not to use (e.g. ones that just failed to deploy).
    pub exclude: Vec<String>,
}

/// A chosen (type, location, price).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offer {
    pub instance_type: String,
    pub location: String,
    pub is_spot: bool,
    /// The hourly price that applies (spot price for spot).
    pub price_per_hour: Price,
    /// The catalog's currency for the price.
    pub currency: String,
}

/// Why a candidate was passed over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// Listed in [`OfferQuery::exclude`].
    Excluded,
    /// Not in `/instance-types`.
    UnknownType,
    /// Spot was asked for but the type has no spot price.
    NoSpotPrice,
    /// Its price is above [`OfferQuery::max_price_per_hour`].
    OverPriceCap { price: Price, cap: Price },
    /// No capacity in any location.
    NotAvailable,
    /// Capacity only in locations not allowed.
    OnlyInDisallowedLocations(Vec<String>),
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Excluded => f.write_str("excluded"),
            SkipReason::UnknownType => f.write_str("unknown instance type (not in the catalog)"),
            SkipReason::NoSpotPrice => f.write_str("not offered as spot"),
            SkipReason::OverPriceCap { price, cap } => {
                write!(f, "price {price}/h is over the cap of {cap}/h")
            }
            SkipReason::NotAvailable => f.write_str("no capacity in any location"),
            SkipReason::OnlyInDisallowedLocations(l) => {
                write!(
                    f,
                    "capacity only in locations not allowed: {}",
                    l.join(", ")
                )
            }
        }
    }
}

/// A candidate that was passed over, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub instance_type: String,
    pub reason: SkipReason,
}

/// The outcome of [`select_offer`]: the offer, if any, and every candidate skipped before
/// it (all of them when there is none), in candidate order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    pub offer: Option<Offer>,
    pub skipped: Vec<Skipped>,
}

impl Selection {
    /// One line per skipped candidate, e.g. for a "no offer" error message.
    pub fn explain(&self) -> String {
        self.skipped
            .iter()
            .map(|s| format!("{}: {}", s.instance_type, s.reason))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Picks the first candidate (in order) that is not excluded, is in the catalog, is
/// within the price cap and has capacity in an allowed location; the location is the
/// first allowed one (in the query's order, or the service's when any is allowed).
pub fn select_offer(
    query: &OfferQuery,
    availability: &Availability,
    catalog: &[InstanceType],
) -> Selection {
    let mut selection = Selection::default();
    for candidate in &query.candidates {
        match evaluate(candidate, query, availability, catalog) {
            Ok(offer) => {
                selection.offer = Some(offer);
                break;
            }
            Err(reason) => selection.skipped.push(Skipped {
                instance_type: candidate.clone(),
                reason,
            }),
        }
    }
    selection
}

fn evaluate(
    candidate: &str,
    query: &OfferQuery,
    availability: &Availability,
    catalog: &[InstanceType],
) -> Result<Offer, SkipReason> {
    if query.exclude.iter().any(|x| x == candidate) {
        return Err(SkipReason::Excluded);
    }
    let Some(record) = catalog.iter().find(|t| t.instance_type == candidate) else {
        return Err(SkipReason::UnknownType);
    };
    let price = if query.is_spot {
        record.spot_price.ok_or(SkipReason::NoSpotPrice)?
    } else {
        record.price_per_hour
    };
    if let Some(cap) = query.max_price_per_hour {
        if price > cap {
            return Err(SkipReason::OverPriceCap { price, cap });
        }
    }
    let with_capacity = availability.locations_for(candidate, query.is_spot);
    if with_capacity.is_empty() {
        return Err(SkipReason::NotAvailable);
    }
    let location = if query.locations.is_empty() {
        with_capacity.first().map(|l| (*l).to_owned())
    } else {
        query
            .locations
            .iter()
            .find(|l| with_capacity.contains(&l.as_str()))
            .cloned()
    };
    let location = location.ok_or_else(|| {
        SkipReason::OnlyInDisallowedLocations(
            with_capacity.iter().map(|l| (*l).to_owned()).collect(),
        )
    })?;
    Ok(Offer {
        instance_type: candidate.to_owned(),
        location,
        is_spot: query.is_spot,
        price_per_hour: price,
        currency: record.currency.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Vec<InstanceType> {
        serde_json::from_value(serde_json::json!([
            {"instance_type": "1B300.30V", "price_per_hour": "4.95", "spot_price": "1.24"},
            {"instance_type": "1H100.80S.30V", "price_per_hour": "1.99", "spot_price": "1.00"},
            {"instance_type": "1H100.80S.32V", "price_per_hour": "2.29", "spot_price": "0.80"},
            {"instance_type": "1A100.22V", "price_per_hour": "1.16", "spot_price": "0.58", "currency": "eur"},
            {"instance_type": "1L40S.20V", "price_per_hour": "0.91"}
        ]))
        .unwrap()
    }

    fn avail(entries: &[(&str, &[&str])]) -> Vec<LocationAvailability> {
        entries
            .iter()
            .map(|(loc, types)| LocationAvailability {
                location_code: (*loc).into(),
                availabilities: types.iter().map(|t| (*t).into()).collect(),
            })
            .collect()
    }

    #[test]
    fn check_capacity_names_where_the_type_has_some_when_it_has_none_where_asked() {
        let a = Availability::new().with(
            false,
            &avail(&[("FIN-01", &["16H200"]), ("FIN-03", &["16H200", "8B200"])]),
        );
        assert_eq!(a.check_capacity("16H200", Some("FIN-03"), false), Ok(()));
        assert_eq!(a.check_capacity("16H200", None, false), Ok(()));
        assert_eq!(
            a.check_capacity("16H200", Some("ICE-01"), false),
            Err(vec!["FIN-01", "FIN-03"])
        );
        assert_eq!(
            a.check_capacity("16H200", Some("FIN-01"), true),
            Err(vec![])
        );
        assert_eq!(a.check_capacity("4H100", None, false), Err(vec![]));
    }

    fn query(candidates: &[&str]) -> OfferQuery {
        OfferQuery {
            candidates: candidates.iter().map(|c| (*c).into()).collect(),
            ..OfferQuery::default()
        }
    }

    fn price(s: &str) -> Price {
        s.parse().unwrap()
    }

    fn reasons(s: &Selection) -> Vec<(&str, &SkipReason)> {
        s.skipped
            .iter()
            .map(|k| (k.instance_type.as_str(), &k.reason))
            .collect()
    }

    #[test]
    fn first_available_candidate_in_order_wins() {
        let a = Availability::new().with(
            false,
            &avail(&[
                ("FIN-01", &["1A100.22V"]),
                ("FIN-03", &["1H100.80S.32V", "1A100.22V"]),
            ]),
        );
        let s = select_offer(
            &query(&["1B300.30V", "1H100.80S.30V", "1H100.80S.32V", "1A100.22V"]),
            &a,
            &catalog(),
        );
        let offer = s.offer.clone().unwrap();
        assert_eq!(offer.instance_type, "1H100.80S.32V");
        assert_eq!(offer.location, "FIN-03");
        assert_eq!(offer.price_per_hour, price("2.29"));
        assert_eq!(offer.currency, "usd");
        assert_eq!(
            reasons(&s),
            [
                ("1B300.30V", &SkipReason::NotAvailable),
                ("1H100.80S.30V", &SkipReason::NotAvailable)
            ]
        );
        assert_eq!(
            s.explain(),
            "1B300.30V: no capacity in any location\n1H100.80S.30V: no capacity in any location"
        );
    }

    #[test]
    fn spot_and_on_demand_capacity_are_kept_apart() {
        let a = Availability::new()
            .with(true, &avail(&[("FIN-01", &["1H100.80S.30V"])]))
            .with(false, &avail(&[("FIN-02", &["1A100.22V"])]));
        let on_demand = select_offer(&query(&["1H100.80S.30V", "1A100.22V"]), &a, &catalog());
        assert_eq!(on_demand.offer.unwrap().instance_type, "1A100.22V");
        let spot_q = OfferQuery {
            is_spot: true,
            ..query(&["1H100.80S.30V", "1A100.22V"])
        };
        let spot = select_offer(&spot_q, &a, &catalog()).offer.unwrap();
        assert_eq!(
            (spot.instance_type.as_str(), spot.location.as_str()),
            ("1H100.80S.30V", "FIN-01")
        );
        assert_eq!(spot.price_per_hour, price("1.00"));
        assert!(spot.is_spot);
    }

    #[test]
    fn allowed_locations_are_tried_in_the_callers_order() {
        let a = Availability::new().with(
            false,
            &avail(&[
                ("FIN-01", &["1A100.22V"]),
                ("FIN-02", &["1A100.22V"]),
                ("ICE-01", &["1H100.80S.30V"]),
            ]),
        );
        let q = OfferQuery {
            locations: vec!["FIN-03".into(), "FIN-02".into(), "FIN-01".into()],
            ..query(&["1H100.80S.30V", "1A100.22V"])
        };
        let s = select_offer(&q, &a, &catalog());
        assert_eq!(s.offer.as_ref().unwrap().location, "FIN-02");
        assert_eq!(
            reasons(&s),
            [(
                "1H100.80S.30V",
                &SkipReason::OnlyInDisallowedLocations(vec!["ICE-01".into()])
            )]
        );
    }

    #[test]
    fn every_skip_reason() {
        let a = Availability::new().with(
            false,
            &avail(&[("FIN-01", &["1B300.30V", "1H100.80S.30V", "1L40S.20V"])]),
        );
        let q = OfferQuery {
            exclude: vec!["1H100.80S.30V".into()],
            max_price_per_hour: Some(price("2.50")),
            ..query(&[
                "NOPE.1V",
                "1H100.80S.30V",
                "1B300.30V",
                "1A100.22V",
                "1L40S.20V",
            ])
        };
        let s = select_offer(&q, &a, &catalog());
        assert_eq!(s.offer.as_ref().unwrap().instance_type, "1L40S.20V");
        assert_eq!(
            reasons(&s),
            [
                ("NOPE.1V", &SkipReason::UnknownType),
                ("1H100.80S.30V", &SkipReason::Excluded),
                (
                    "1B300.30V",
                    &SkipReason::OverPriceCap {
                        price: price("4.95"),
                        cap: price("2.50")
                    }
                ),
                ("1A100.22V", &SkipReason::NotAvailable),
            ]
        );
        let spot = OfferQuery {
            is_spot: true,
            ..query(&["1L40S.20V"])
        };
        let s = select_offer(&spot, &a, &catalog());
        assert_eq!(s.offer, None);
        assert_eq!(reasons(&s), [("1L40S.20V", &SkipReason::NoSpotPrice)]);
    }

    #[test]
    fn nothing_to_choose_from() {
        let s = select_offer(&query(&[]), &Availability::new(), &catalog());
        assert_eq!(s, Selection::default());
        let s = select_offer(&query(&["1A100.22V"]), &Availability::new(), &[]);
        assert_eq!(reasons(&s), [("1A100.22V", &SkipReason::UnknownType)]);
    }

    const TYPES: &[&str] = &[
        "1B300.30V",
        "1H100.80S.30V",
        "1H100.80S.32V",
        "1A100.22V",
        "1L40S.20V",
        "X.1V",
    ];
    const LOCATIONS: &[&str] = &["FIN-01", "FIN-02", "FIN-03", "ICE-01"];

    fn pick(
        from: &'static [&'static str],
    ) -> impl proptest::strategy::Strategy<Value = Vec<String>> {
        proptest::sample::subsequence(from, 0..=from.len())
            .prop_map(|v| v.into_iter().map(str::to_owned).collect())
    }

    use proptest::prelude::*;

    proptest! {
        /// Whatever the market, a chosen offer satisfies every constraint, and the
        /// candidates before it are exactly the skipped ones, in order.
        #[test]
        fn the_choice_respects_every_constraint(
            candidates in pick(TYPES).prop_shuffle(),
            locations in pick(LOCATIONS).prop_shuffle(),
            exclude in pick(TYPES),
            is_spot in any::<bool>(),
            cap_cents in proptest::option::of(0u32..600),
            market in proptest::collection::vec((0..LOCATIONS.len(), pick(TYPES), any::<bool>()), 0..6),
        ) {
            let mut availability = Availability::new();
            for (loc, types, spot) in &market {
                availability.add(*spot, &[LocationAvailability {
                    location_code: LOCATIONS[*loc].to_owned(),
                    availabilities: types.clone(),
                }]);
            }
            let q = OfferQuery {
                candidates: candidates.clone(),
                locations: locations.clone(),
                is_spot,
                max_price_per_hour: cap_cents.map(|c| Price(c.into()) ),
                exclude: exclude.clone(),
            };
            let s = select_offer(&q, &availability, &catalog());
            let decided = s.skipped.len() + usize::from(s.offer.is_some());
            prop_assert!(decided == candidates.len() || s.offer.is_some());
            for (skipped, candidate) in s.skipped.iter().zip(&candidates) {
                prop_assert_eq!(&skipped.instance_type, candidate);
            }
            if let Some(o) = &s.offer {
                prop_assert_eq!(&o.instance_type, &candidates[s.skipped.len()]);
                prop_assert!(!exclude.contains(&o.instance_type));
                prop_assert!(availability.is_available(&o.instance_type, &o.location, is_spot));
                prop_assert!(locations.is_empty() || locations.contains(&o.location));
                if let Some(cap) = q.max_price_per_hour {
                    prop_assert!(o.price_per_hour <= cap);
                }
            }
        }
    }
}
