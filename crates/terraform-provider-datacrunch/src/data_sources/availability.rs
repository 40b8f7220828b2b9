//! `datacrunch_instance_availability`: where each type has capacity right now, on
//! demand and as spot (two different lists on the API; the original's helper scripts
//! confused them).

use super::computed::computed_list;
use crate::diagnostics::api_error;
use crate::state::ProviderState;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tfplugin::{async_trait, Attribute, Context, DataSource, Diagnostics, Schema, Value};

pub struct InstanceAvailability;

#[derive(Serialize)]
struct Entry {
    instance_type: String,
    location_code: String,
    on_demand: bool,
    spot: bool,
}

#[derive(Serialize, Deserialize)]
struct State {
    instance_type: Option<String>,
    location_code: Option<String>,
    #[serde(skip_deserializing)]
    availability: Vec<Entry>,
}

#[async_trait]
impl DataSource for InstanceAvailability {
    fn type_name(&self) -> String {
        "datacrunch_instance_availability".into()
    }

    fn schema(&self) -> Schema {
        Schema::new()
            .description(
                "Live capacity per instance type and location, on demand and spot. Read at \
                 plan time; capacity can change before apply.",
            )
            .attribute(
                Attribute::string("instance_type")
                    .optional()
                    .description("Only this type."),
            )
            .attribute(
                Attribute::string("location_code")
                    .optional()
                    .description("Only this location."),
            )
            .attribute(computed_list(
                "availability",
                "One entry per (type, location) with capacity of either kind.",
                vec![
                    Attribute::string("instance_type"),
                    Attribute::string("location_code"),
                    Attribute::bool("on_demand").description("On-demand capacity now."),
                    Attribute::bool("spot").description("Spot capacity now."),
                ],
            ))
    }

    async fn read(&self, ctx: &Context, config: &Value) -> Result<Value, Diagnostics> {
        let mut m: State = config.decode()?;
        let st = ProviderState::of(ctx)?;
        let location = m.location_code.as_deref();
        let (on_demand, spot) = tokio::try_join!(
            st.client.instance_availability(Some(false), location),
            st.client.instance_availability(Some(true), location),
        )
        .map_err(|e| api_error("Reading instance availability", &e))?;
        let mut table: BTreeMap<(String, String), (bool, bool)> = BTreeMap::new();
        for (is_spot, list) in [(false, &on_demand), (true, &spot)] {
            for loc in list.iter() {
                for t in &loc.availabilities {
                    let e = table
                        .entry((t.clone(), loc.location_code.clone()))
                        .or_default();
                    if is_spot {
                        e.1 = true
                    } else {
                        e.0 = true
                    }
                }
            }
        }
        m.availability = table
            .into_iter()
            .filter(|((t, l), _)| {
                m.instance_type.as_ref().is_none_or(|want| want == t)
                    && m.location_code.as_ref().is_none_or(|want| want == l)
            })
            .map(
                |((instance_type, location_code), (on_demand, spot))| Entry {
                    instance_type,
                    location_code,
                    on_demand,
                    spot,
                },
            )
            .collect();
        Ok(Value::encode(&m)?)
    }
}
