//! `datacrunch_instances` and `datacrunch_volumes`: what the account has now, filtered
//! like the list resources of `terraform query` (see `crate::filters`), with a status
//! filter checked at plan time against the statuses the API knows.

use super::computed::computed_list;
use crate::convert::price_number;
use crate::diagnostics::api_error;
use crate::filters::{InstanceFilter, VolumeFilter};
use crate::state::ProviderState;
use datacrunch_models::{Instance, Tag, Volume};
use serde::Serialize;
use std::collections::BTreeMap;
use tfplugin::{
    async_trait, Attribute, Context, DataSource, Diagnostics, Number, Schema, Type, Value,
};

pub struct Instances;
pub struct Volumes;

/// The API's tag list as a Terraform map (a tag without a value maps to `""`).
fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| (t.key.clone(), t.value.clone().unwrap_or_default()))
        .collect()
}

/// A schema of the filter's attributes followed by the computed list of results.
fn filtered_schema(description: &str, filter: Vec<Attribute>, results: Attribute) -> Schema {
    filter
        .into_iter()
        .fold(Schema::new().description(description), Schema::attribute)
        .attribute(results)
}

#[derive(Serialize)]
struct InstanceEntry {
    id: String,
    hostname: String,
    description: String,
    instance_type: String,
    image: String,
    os_name: Option<String>,
    status: String,
    ip: Option<String>,
    location: String,
    is_spot: bool,
    price_per_hour: Option<Number>,
    created_at: String,
    ssh_key_ids: Vec<String>,
    startup_script_id: Option<String>,
    os_volume_id: Option<String>,
    volume_ids: Vec<String>,
    contract: Option<String>,
    pricing: Option<String>,
    tags: BTreeMap<String, String>,
}

impl From<&Instance> for InstanceEntry {
    fn from(i: &Instance) -> Self {
        Self {
            id: i.id.clone(),
            hostname: i.hostname.clone(),
            description: i.description.clone(),
            instance_type: i.instance_type.clone(),
            image: i.image.clone(),
            os_name: i.os_name.clone(),
            status: i.status.to_string(),
            ip: i.ip.clone(),
            location: i.location.clone(),
            is_spot: i.is_spot,
            price_per_hour: price_number(&i.price_per_hour),
            created_at: i.created_at.clone(),
            ssh_key_ids: i.ssh_key_ids.clone(),
            startup_script_id: i.startup_script_id.clone(),
            os_volume_id: i.os_volume_id.clone(),
            volume_ids: i.volume_ids.clone(),
            contract: i.contract.as_ref().map(ToString::to_string),
            pricing: i.pricing.as_ref().map(ToString::to_string),
            tags: tag_map(&i.tags),
        }
    }
}

/// The configured filter, written back unchanged, and what it kept.
#[derive(Serialize)]
struct InstancesState {
    #[serde(flatten)]
    filter: InstanceFilter,
    instances: Vec<InstanceEntry>,
}

#[async_trait]
impl DataSource for Instances {
    fn type_name(&self) -> String {
        "datacrunch_instances".into()
    }

    fn schema(&self) -> Schema {
        filtered_schema(
            "The instances of the account, oldest first, optionally filtered by status, \
             hostname prefix, location and tags. Deleted instances are left out unless \
             `status` asks for them.",
            InstanceFilter::attributes(),
            computed_list(
                "instances",
                "The matching instances.",
                vec![
                    Attribute::string("id"),
                    Attribute::string("hostname"),
                    Attribute::string("description"),
                    Attribute::string("instance_type"),
                    Attribute::string("image"),
                    Attribute::string("os_name").description("e.g. `Ubuntu 24.04`."),
                    Attribute::string("status"),
                    Attribute::string("ip").description("Null until the instance runs."),
                    Attribute::string("location"),
                    Attribute::bool("is_spot"),
                    Attribute::number("price_per_hour"),
                    Attribute::string("created_at"),
                    Attribute::list("ssh_key_ids", Type::String),
                    Attribute::string("startup_script_id"),
                    Attribute::string("os_volume_id"),
                    Attribute::list("volume_ids", Type::String),
                    Attribute::string("contract"),
                    Attribute::string("pricing"),
                    Attribute::map("tags", Type::String),
                ],
            ),
        )
    }

    async fn read(&self, ctx: &Context, config: &Value) -> Result<Value, Diagnostics> {
        let filter: InstanceFilter = config.decode()?;
        let st = ProviderState::of(ctx)?;
        let mut found = st
            .client
            .instances(filter.status().as_ref())
            .await
            .map_err(|e| api_error("Reading instances", &e))?;
        found.retain(|i| filter.matches(i));
        found.sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
        Ok(Value::encode(&InstancesState {
            instances: found.iter().map(InstanceEntry::from).collect(),
            filter,
        })?)
    }
}

#[derive(Serialize)]
struct VolumeEntry {
    id: String,
    name: String,
    status: String,
    size: u32,
    #[serde(rename = "type")]
    volume_type: String,
    location: String,
    is_os_volume: bool,
    instance_id: Option<String>,
    created_at: String,
    contract: Option<String>,
    monthly_price: Option<Number>,
    currency: Option<String>,
    tags: BTreeMap<String, String>,
}

impl From<&Volume> for VolumeEntry {
    fn from(v: &Volume) -> Self {
        Self {
            id: v.id.clone(),
            name: v.name.clone(),
            status: v.status.to_string(),
            size: v.size,
            volume_type: v.volume_type.clone(),
            location: v.location.clone(),
            is_os_volume: v.is_os_volume,
            instance_id: v.instance_id.clone(),
            created_at: v.created_at.clone(),
            contract: v.contract.as_ref().map(ToString::to_string),
            monthly_price: v.monthly_price.as_ref().and_then(price_number),
            currency: v.currency.clone(),
            tags: tag_map(&v.tags),
        }
    }
}

#[derive(Serialize)]
struct VolumesState {
    #[serde(flatten)]
    filter: VolumeFilter,
    volumes: Vec<VolumeEntry>,
}

#[async_trait]
impl DataSource for Volumes {
    fn type_name(&self) -> String {
        "datacrunch_volumes".into()
    }

    fn schema(&self) -> Schema {
        filtered_schema(
            "The volumes of the account (OS volumes included), oldest first, optionally \
             filtered by status, name prefix, location, attached instance and tags. Deleted \
             volumes are left out unless `status` asks for them.",
            VolumeFilter::attributes(),
            computed_list(
                "volumes",
                "The matching volumes.",
                vec![
                    Attribute::string("id"),
                    Attribute::string("name"),
                    Attribute::string("status"),
                    Attribute::number("size").description("In GB."),
                    Attribute::string("type").description("e.g. `NVMe`, `HDD`."),
                    Attribute::string("location"),
                    Attribute::bool("is_os_volume"),
                    Attribute::string("instance_id").description("Null when detached."),
                    Attribute::string("created_at"),
                    Attribute::string("contract"),
                    Attribute::number("monthly_price"),
                    Attribute::string("currency"),
                    Attribute::map("tags", Type::String),
                ],
            ),
        )
    }

    async fn read(&self, ctx: &Context, config: &Value) -> Result<Value, Diagnostics> {
        let filter: VolumeFilter = config.decode()?;
        let st = ProviderState::of(ctx)?;
        let mut found = st
            .client
            .volumes(filter.status().as_ref())
            .await
            .map_err(|e| api_error("Reading volumes", &e))?;
        found.retain(|v| filter.matches(v));
        found.sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
        Ok(Value::encode(&VolumesState {
            volumes: found.iter().map(VolumeEntry::from).collect(),
            filter,
        })?)
    }
}
