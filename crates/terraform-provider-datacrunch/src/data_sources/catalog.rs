//! `datacrunch_instance_types`, `datacrunch_images` and `datacrunch_locations`: the
//! original three data sources with every attribute really filled (the original left
//! `cpu`, `gpu`, `memory`, `storage` and `country` null), plus filters.

use super::computed::computed_list;
use crate::convert::price_number;
use crate::diagnostics::api_error;
use crate::state::ProviderState;
use datacrunch_models::InstanceType;
use serde::{Deserialize, Serialize};
use tfplugin::schema::validators;
use tfplugin::{
    async_trait, Attribute, Context, DataSource, Diagnostics, Number, Schema, Type, Value,
};

pub struct InstanceTypes;
pub struct Images;
pub struct Locations;

#[derive(Serialize)]
struct InstanceTypeEntry {
    instance_type: String,
    description: String,
    /// The original's scalar fields: descriptions and sizes.
    cpu: String,
    memory: Option<u32>,
    gpu: String,
    storage: Option<u32>,
    price_per_hour: Option<Number>,
    spot_price: Option<Number>,
    dynamic_price: Option<Number>,
    max_dynamic_price: Option<Number>,
    currency: String,
    cpu_cores: u32,
    gpu_count: u32,
    gpu_model: String,
    gpu_memory: Option<u32>,
    manufacturer: String,
    supported_os: Vec<String>,
}

impl From<&InstanceType> for InstanceTypeEntry {
    fn from(t: &InstanceType) -> Self {
        Self {
            instance_type: t.instance_type.clone(),
            description: t.description.clone(),
            cpu: t.cpu.description.clone(),
            memory: t.memory.size_in_gigabytes,
            gpu: t.gpu.description.clone(),
            storage: t.storage.size_in_gigabytes,
            price_per_hour: price_number(&t.price_per_hour),
            spot_price: t.spot_price.as_ref().and_then(price_number),
            dynamic_price: t.dynamic_price.as_ref().and_then(price_number),
            max_dynamic_price: t.max_dynamic_price.as_ref().and_then(price_number),
            currency: t.currency.clone(),
            cpu_cores: t.cpu.number_of_cores,
            gpu_count: t.gpu.number_of_gpus,
            gpu_model: if t.name.is_empty() {
                t.model.clone()
            } else {
                t.name.clone()
            },
            gpu_memory: t.gpu_memory.size_in_gigabytes,
            manufacturer: t.manufacturer.clone(),
            supported_os: t.supported_os.clone(),
        }
    }
}

#[derive(Deserialize)]
struct InstanceTypesFilter {
    gpu_model: Option<String>,
    min_gpus: Option<u32>,
    max_price_per_hour: Option<f64>,
}

#[derive(Serialize)]
struct InstanceTypesState {
    gpu_model: Option<String>,
    min_gpus: Option<u32>,
    max_price_per_hour: Option<f64>,
    instance_types: Vec<InstanceTypeEntry>,
}

impl InstanceTypesFilter {
    fn keeps(&self, t: &InstanceType) -> bool {
        let model_ok = self.gpu_model.as_ref().is_none_or(|m| {
            let m = m.to_lowercase();
            [&t.gpu.description, &t.name, &t.model]
                .iter()
                .any(|s| s.to_lowercase().contains(&m))
        });
        let gpus_ok = self.min_gpus.is_none_or(|n| t.gpu.number_of_gpus >= n);
        let price_ok = self
            .max_price_per_hour
            .is_none_or(|cap| t.price_per_hour.to_f64() <= cap);
        model_ok && gpus_ok && price_ok
    }
}

#[async_trait]
impl DataSource for InstanceTypes {
    fn type_name(&self) -> String {
        "datacrunch_instance_types".into()
    }

    fn schema(&self) -> Schema {
        Schema::new()
            .description("The instance types of the catalog, optionally filtered, with their CPU, GPU, memory and prices.")
            .attribute(Attribute::string("gpu_model").optional().description(
                "Keep types whose GPU description, name or model contains this (case-insensitive), e.g. `H100`.",
            ))
            .attribute(
                Attribute::number("min_gpus")
                    .optional()
                    .validator(validators::at_least(0))
                    .description("Keep types with at least this many GPUs."),
            )
            .attribute(
                Attribute::number("max_price_per_hour")
                    .optional()
                    .validator(validators::at_least(0))
                    .description("Keep types whose on-demand price per hour is at most this."),
            )
            .attribute(computed_list(
                "instance_types",
                "The matching instance types.",
                vec![
                    Attribute::string("instance_type").description("Name, e.g. `1H100.80S.30V`."),
                    Attribute::string("description"),
                    Attribute::string("cpu").description("CPU description, e.g. `30 CPU`."),
                    Attribute::number("memory").description("RAM in GB."),
                    Attribute::string("gpu").description("GPU description, e.g. `1x H100 SXM5 80GB`."),
                    Attribute::number("storage").description("Local storage in GB (null when dynamic)."),
                    Attribute::number("price_per_hour").description("On-demand price per hour."),
                    Attribute::number("spot_price").description("Spot price per hour (null when not offered as spot)."),
                    Attribute::number("dynamic_price").description("Dynamic price per hour now (pricing `DYNAMIC_PRICE`; null when the API gives none). See `datacrunch_instance_type_price_history` for how it moved."),
                    Attribute::number("max_dynamic_price").description("The most the dynamic price per hour can reach."),
                    Attribute::string("currency"),
                    Attribute::number("cpu_cores"),
                    Attribute::number("gpu_count"),
                    Attribute::string("gpu_model").description("GPU name, e.g. `H100 SXM5 80GB`."),
                    Attribute::number("gpu_memory").description("Memory per GPU in GB."),
                    Attribute::string("manufacturer"),
                    Attribute::list("supported_os", Type::String),
                ],
            ))
    }

    async fn read(&self, ctx: &Context, config: &Value) -> Result<Value, Diagnostics> {
        let filter: InstanceTypesFilter = config.decode()?;
        let st = ProviderState::of(ctx)?;
        let catalog = st
            .catalog
            .get(&st.client)
            .await
            .map_err(|e| api_error("Reading instance types", &e))?;
        let instance_types = catalog
            .instance_types
            .iter()
            .filter(|t| filter.keeps(t))
            .map(InstanceTypeEntry::from)
            .collect();
        Ok(Value::encode(&InstanceTypesState {
            gpu_model: filter.gpu_model,
            min_gpus: filter.min_gpus,
            max_price_per_hour: filter.max_price_per_hour,
            instance_types,
        })?)
    }
}

#[derive(Serialize)]
struct ImageEntry {
    id: String,
    image_type: String,
    name: String,
    category: String,
    is_default: bool,
    details: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct ImagesState {
    instance_type: Option<String>,
    #[serde(skip_deserializing)]
    images: Vec<ImageEntry>,
}

#[async_trait]
impl DataSource for Images {
    fn type_name(&self) -> String {
        "datacrunch_images".into()
    }

    fn schema(&self) -> Schema {
        Schema::new()
            .description("OS images, optionally only those an instance type supports.")
            .attribute(Attribute::string("instance_type").optional().description(
                "Only images this instance type supports (`GET /images?instance_type=`).",
            ))
            .attribute(computed_list(
                "images",
                "The images.",
                vec![
                    Attribute::string("id"),
                    Attribute::string("image_type")
                        .description("The name to use as an instance's `image`."),
                    Attribute::string("name"),
                    Attribute::string("category"),
                    Attribute::bool("is_default"),
                    Attribute::list("details", Type::String),
                ],
            ))
    }

    async fn read(&self, ctx: &Context, config: &Value) -> Result<Value, Diagnostics> {
        let mut m: ImagesState = config.decode()?;
        let st = ProviderState::of(ctx)?;
        let images = match &m.instance_type {
            Some(t) => st.catalog.images_for(&st.client, t).await,
            None => st
                .catalog
                .get(&st.client)
                .await
                .map(|c| std::sync::Arc::new(c.images.clone())),
        }
        .map_err(|e| api_error("Reading images", &e))?;
        m.images = images
            .iter()
            .map(|i| ImageEntry {
                id: i.id.clone(),
                image_type: i.image_type.clone(),
                name: i.name.clone(),
                category: i.category.clone(),
                is_default: i.is_default,
                details: i.details.clone(),
            })
            .collect();
        Ok(Value::encode(&m)?)
    }
}

#[derive(Serialize)]
struct LocationEntry {
    code: String,
    name: String,
    /// The original's attribute, now filled (the API calls it `country_code`).
    country: String,
    country_code: String,
}

#[derive(Serialize)]
struct LocationsState {
    locations: Vec<LocationEntry>,
}

#[async_trait]
impl DataSource for Locations {
    fn type_name(&self) -> String {
        "datacrunch_locations".into()
    }

    fn schema(&self) -> Schema {
        Schema::new()
            .description("The locations (data centres) of the API.")
            .attribute(computed_list(
                "locations",
                "The locations.",
                vec![
                    Attribute::string("code").description("e.g. `FIN-01`."),
                    Attribute::string("name").description("e.g. `Finland 1`."),
                    Attribute::string("country")
                        .description("ISO country code (same as `country_code`)."),
                    Attribute::string("country_code").description("ISO country code, e.g. `FI`."),
                ],
            ))
    }

    async fn read(&self, ctx: &Context, _config: &Value) -> Result<Value, Diagnostics> {
        let st = ProviderState::of(ctx)?;
        let catalog = st
            .catalog
            .get(&st.client)
            .await
            .map_err(|e| api_error("Reading locations", &e))?;
        Ok(Value::encode(&LocationsState {
            locations: catalog
                .locations
                .iter()
                .map(|l| LocationEntry {
                    code: l.code.clone(),
                    name: l.name.clone(),
                    country: l.country_code.clone(),
                    country_code: l.country_code.clone(),
                })
                .collect(),
        })?)
    }
}
