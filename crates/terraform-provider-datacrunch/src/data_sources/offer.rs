//! `datacrunch_offer`: the first candidate type with capacity in an allowed location
//! within a price cap, with the reason every earlier candidate was skipped. The
//! selection is the client's `offer` module, shared with the workflow CLI, so plan and
//! bringup agree on the kdevops tier table.

use crate::convert::price_number;
use crate::diagnostics::api_error;
use crate::state::ProviderState;
use datacrunch_client::offer::{OfferQuery, TierGroup};
use datacrunch_models::Price;
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use tfplugin::schema::validators;
use tfplugin::{
    async_trait, Attribute, AttributePath, Context, DataSource, Diagnostic, Diagnostics, Nesting,
    Number, Schema, Type, Value,
};

pub struct Offer;

#[derive(Deserialize)]
struct Query {
    instance_types: Option<Vec<String>>,
    tier_group: Option<String>,
    locations: Option<Vec<String>>,
    is_spot: Option<bool>,
    max_price_per_hour: Option<f64>,
    exclude: Option<Vec<String>>,
}

#[derive(Serialize)]
struct SkippedEntry {
    instance_type: String,
    reason: String,
}

#[derive(Serialize)]
struct State {
    instance_types: Option<Vec<String>>,
    tier_group: Option<String>,
    locations: Option<Vec<String>>,
    is_spot: Option<bool>,
    max_price_per_hour: Option<f64>,
    exclude: Option<Vec<String>>,
    candidates: Vec<String>,
    instance_type: String,
    location: String,
    price_per_hour: Option<Number>,
    currency: String,
    skipped: Vec<SkippedEntry>,
}

fn tier_groups() -> String {
    TierGroup::ALL
        .iter()
        .map(|g| format!("`{}`", g.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[async_trait]
impl DataSource for Offer {
    fn type_name(&self) -> String {
        "datacrunch_offer".into()
    }

    fn schema(&self) -> Schema {
        Schema::new()
            .description(
                "Picks the first candidate instance type that has capacity now in an allowed \
                 location and costs at most `max_price_per_hour`; fails the plan, with the \
                 reason for every candidate, when none does.",
            )
            .attribute(
                Attribute::list("instance_types", Type::String)
                    .optional()
                    .description(
                        "Candidate types, most preferred first. Give this or `tier_group`.",
                    ),
            )
            .attribute(
                Attribute::string("tier_group")
                    .optional()
                    .description(format!(
                        "A kdevops tier group instead of `instance_types`: {}.",
                        tier_groups()
                    )),
            )
            .attribute(
                Attribute::list("locations", Type::String)
                    .optional()
                    .description("Allowed locations in order of preference; any when left out."),
            )
            .attribute(
                Attribute::bool("is_spot")
                    .optional()
                    .description("Look for spot capacity and prices."),
            )
            .attribute(
                Attribute::number("max_price_per_hour")
                    .optional()
                    .validator(validators::at_least(0))
                    .description("Skip types that cost more per hour."),
            )
            .attribute(
                Attribute::list("exclude", Type::String)
                    .optional()
                    .description("Types not to pick (e.g. one that just failed to deploy)."),
            )
            .attribute(
                Attribute::list("candidates", Type::String)
                    .computed()
                    .description("The candidates considered, in order."),
            )
            .attribute(
                Attribute::string("instance_type")
                    .computed()
                    .description("The chosen type."),
            )
            .attribute(
                Attribute::string("location")
                    .computed()
                    .description("Where it has capacity."),
            )
            .attribute(
                Attribute::number("price_per_hour")
                    .computed()
                    .description("Its price per hour (spot price for spot)."),
            )
            .attribute(Attribute::string("currency").computed())
            .attribute(
                Attribute::nested(
                    "skipped",
                    Nesting::List,
                    vec![
                        Attribute::string("instance_type").computed(),
                        Attribute::string("reason").computed(),
                    ],
                )
                .computed()
                .description("Candidates passed over before the chosen one, and why."),
            )
    }

    async fn validate(&self, _ctx: &Context, config: &Value) -> Result<(), Diagnostics> {
        let has = |n: &str| config.get(n).is_some_and(|v| !v.is_null());
        let mut diags = Diagnostics::new();
        if has("instance_types") == has("tier_group") {
            diags.error_at(
                AttributePath::new("instance_types"),
                "Give exactly one of instance_types and tier_group",
                format!(
                    "Either an ordered list of types, or a tier group: {}.",
                    tier_groups()
                ),
            );
        }
        if let Some(g) = config.get("tier_group").and_then(Value::as_str) {
            if let Err(e) = TierGroup::from_str(g) {
                diags.error_at(
                    AttributePath::new("tier_group"),
                    "Unknown tier group",
                    e.to_string(),
                );
            }
        }
        diags.into_result()
    }

    async fn read(&self, ctx: &Context, config: &Value) -> Result<Value, Diagnostics> {
        let q: Query = config.decode()?;
        let st = ProviderState::of(ctx)?;
        let candidates: Vec<String> = match (&q.instance_types, &q.tier_group) {
            (Some(list), _) => list.clone(),
            (None, Some(g)) => TierGroup::from_str(g)
                .map_err(|e| {
                    Diagnostics::from(
                        Diagnostic::error("Unknown tier group", e.to_string())
                            .at(AttributePath::new("tier_group")),
                    )
                })?
                .instance_types()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            (None, None) => Vec::new(),
        };
        let query = OfferQuery {
            candidates: candidates.clone(),
            locations: q.locations.clone().unwrap_or_default(),
            is_spot: q.is_spot.unwrap_or(false),
            max_price_per_hour: q.max_price_per_hour.map(Price::from_f64),
            exclude: q.exclude.clone().unwrap_or_default(),
        };
        let selection = st
            .client
            .find_offer(&query, None)
            .await
            .map_err(|e| api_error("Looking for an offer", &e))?;
        let Some(offer) = selection.offer.clone() else {
            return Err(Diagnostic::error(
                "No instance type with capacity",
                format!(
                    "None of the {} candidates is available{}. Nothing was created.\n{}",
                    candidates.len(),
                    if query.is_spot { " as spot" } else { "" },
                    selection.explain()
                ),
            )
            .into());
        };
        Ok(Value::encode(&State {
            instance_types: q.instance_types,
            tier_group: q.tier_group,
            locations: q.locations,
            is_spot: q.is_spot,
            max_price_per_hour: q.max_price_per_hour,
            exclude: q.exclude,
            candidates,
            instance_type: offer.instance_type,
            location: offer.location,
            price_per_hour: price_number(&offer.price_per_hour),
            currency: offer.currency,
            skipped: selection
                .skipped
                .iter()
                .map(|s| SkippedEntry {
                    instance_type: s.instance_type.clone(),
                    reason: s.reason.to_string(),
                })
                .collect(),
        })?)
    }
}
