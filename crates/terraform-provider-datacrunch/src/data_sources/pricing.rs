//! Money: `datacrunch_balance` (what the account has left),
//! `datacrunch_instance_type_price_history` (fixed and dynamic prices per month) and
//! `datacrunch_long_term_periods` (commitment lengths and their discounts).

use super::computed::computed_list;
use crate::convert::price_number;
use crate::diagnostics::api_error;
use crate::filters::choice_validator;
use crate::state::ProviderState;
use datacrunch_models::LongTermScope;
use serde::{Deserialize, Serialize};
use tfplugin::schema::validators;
use tfplugin::{
    async_trait, Attribute, AttributePath, Context, DataSource, Diagnostic, Diagnostics, Number,
    Schema, Value,
};

pub struct Balance;
pub struct PriceHistory;
pub struct LongTermPeriods;

/// The currencies the API prices in.
const CURRENCIES: [&str; 2] = ["usd", "eur"];

#[derive(Serialize)]
struct BalanceState {
    amount: Option<Number>,
    currency: String,
}

#[async_trait]
impl DataSource for Balance {
    fn type_name(&self) -> String {
        "datacrunch_balance".into()
    }

    fn schema(&self) -> Schema {
        Schema::new()
            .description(
                "The account's balance now: what is left to spend. Running instances and \
                 clusters draw it down by the hour.",
            )
            .attribute(
                Attribute::number("amount")
                    .computed()
                    .description("What is left."),
            )
            .attribute(
                Attribute::string("currency")
                    .computed()
                    .description("`usd` or `eur`."),
            )
    }

    async fn read(&self, ctx: &Context, _config: &Value) -> Result<Value, Diagnostics> {
        let st = ProviderState::of(ctx)?;
        let balance = st
            .client
            .balance()
            .await
            .map_err(|e| api_error("Reading the balance", &e))?;
        Ok(Value::encode(&BalanceState {
            amount: price_number(&balance.amount),
            currency: balance.currency,
        })?)
    }
}

#[derive(Serialize)]
struct PricePoint {
    instance_type: String,
    date: String,
    fixed_price_per_hour: Option<Number>,
    dynamic_price_per_hour: Option<Number>,
    currency: String,
}

#[derive(Serialize, Deserialize)]
struct PriceHistoryState {
    instance_type: Option<String>,
    num_of_months: Option<u32>,
    currency: Option<String>,
    #[serde(skip_deserializing)]
    price_history: Vec<PricePoint>,
}

#[async_trait]
impl DataSource for PriceHistory {
    fn type_name(&self) -> String {
        "datacrunch_instance_type_price_history".into()
    }

    fn schema(&self) -> Schema {
        Schema::new()
            .description(
                "The fixed (on-demand) and dynamic price per hour of instance types over the \
                 last months, one point per month, oldest first.",
            )
            .attribute(Attribute::string("instance_type").optional().description(
                "Only this instance type (checked against the catalog when read); every \
                 type when left out.",
            ))
            .attribute(
                Attribute::number("num_of_months")
                    .optional()
                    .validator(validators::at_least(1))
                    .description("How many months back; the API's default when left out."),
            )
            .attribute(
                Attribute::string("currency")
                    .optional()
                    .validator(choice_validator("currency", CURRENCIES.to_vec()))
                    .description("`usd` or `eur`; the API's default (`usd`) when left out."),
            )
            .attribute(computed_list(
                "price_history",
                "One entry per instance type and month, by type then date.",
                vec![
                    Attribute::string("instance_type"),
                    Attribute::string("date").description("Start of the month the prices held."),
                    Attribute::number("fixed_price_per_hour"),
                    Attribute::number("dynamic_price_per_hour"),
                    Attribute::string("currency"),
                ],
            ))
    }

    async fn read(&self, ctx: &Context, config: &Value) -> Result<Value, Diagnostics> {
        let mut m: PriceHistoryState = config.decode()?;
        let st = ProviderState::of(ctx)?;
        if let Some(name) = &m.instance_type {
            let catalog = st
                .catalog
                .get(&st.client)
                .await
                .map_err(|e| api_error("Reading instance types", &e))?;
            catalog.check_instance_type(name).map_err(|e| {
                Diagnostics::from(
                    Diagnostic::error("Unknown instance type", e)
                        .at(AttributePath::new("instance_type")),
                )
            })?;
        }
        let history = st
            .client
            .instance_type_price_history(m.num_of_months, m.currency.as_deref())
            .await
            .map_err(|e| api_error("Reading the price history", &e))?;
        m.price_history = history
            .into_iter()
            .filter(|(name, _)| m.instance_type.as_ref().is_none_or(|want| want == name))
            .flat_map(|(name, mut points)| {
                points.sort_by(|a, b| a.date.cmp(&b.date));
                points.into_iter().map(move |p| PricePoint {
                    instance_type: name.clone(),
                    date: p.date,
                    fixed_price_per_hour: price_number(&p.fixed_price_per_hour),
                    dynamic_price_per_hour: price_number(&p.dynamic_price_per_hour),
                    currency: p.currency,
                })
            })
            .collect();
        Ok(Value::encode(&m)?)
    }
}

#[derive(Serialize)]
struct PeriodEntry {
    code: String,
    name: String,
    is_enabled: bool,
    unit_name: String,
    unit_value: f64,
    discount_percentage: f64,
}

#[derive(Serialize, Deserialize)]
struct PeriodsState {
    offered_for: Option<String>,
    #[serde(skip_deserializing)]
    periods: Vec<PeriodEntry>,
}

fn scope_of(offered_for: Option<&str>) -> LongTermScope {
    match offered_for {
        Some("instances") => LongTermScope::Instances,
        Some("clusters") => LongTermScope::Clusters,
        _ => LongTermScope::All,
    }
}

#[async_trait]
impl DataSource for LongTermPeriods {
    fn type_name(&self) -> String {
        "datacrunch_long_term_periods".into()
    }

    fn schema(&self) -> Schema {
        Schema::new()
            .description(
                "The long-term commitment periods (contract `LONG_TERM`) the API offers, with \
                 the discount each gives.",
            )
            .attribute(
                Attribute::string("offered_for")
                    .optional()
                    .validator(choice_validator(
                        "kind of long-term rental",
                        vec!["instances", "clusters"],
                    ))
                    .description(
                        "`instances` or `clusters`: only the periods offered for those; every \
                         period when left out.",
                    ),
            )
            .attribute(computed_list(
                "periods",
                "The periods.",
                vec![
                    Attribute::string("code").description("e.g. `12_MONTHS`."),
                    Attribute::string("name"),
                    Attribute::bool("is_enabled"),
                    Attribute::string("unit_name").description("e.g. `month`."),
                    Attribute::number("unit_value").description("How many units long."),
                    Attribute::number("discount_percentage"),
                ],
            ))
    }

    async fn read(&self, ctx: &Context, config: &Value) -> Result<Value, Diagnostics> {
        let mut m: PeriodsState = config.decode()?;
        let st = ProviderState::of(ctx)?;
        let periods = st
            .client
            .long_term_periods(scope_of(m.offered_for.as_deref()))
            .await
            .map_err(|e| api_error("Reading long-term periods", &e))?;
        m.periods = periods
            .into_iter()
            .map(|p| PeriodEntry {
                code: p.code,
                name: p.name,
                is_enabled: p.is_enabled,
                unit_name: p.unit_name,
                unit_value: p.unit_value,
                discount_percentage: p.discount_percentage,
            })
            .collect();
        Ok(Value::encode(&m)?)
    }
}
