//! The cluster catalog: `datacrunch_cluster_types` (types with node count, specs and
//! price), `datacrunch_cluster_availability` (where each type has capacity now) and
//! `datacrunch_cluster_images` (the images clusters boot, `/images/cluster`).

use super::computed::computed_list;
use crate::convert::price_number;
use crate::diagnostics::api_error;
use crate::state::ProviderState;
use serde::{Deserialize, Serialize};
use tfplugin::{async_trait, Attribute, Context, DataSource, Diagnostics, Number, Schema, Value};

pub struct ClusterTypes;
pub struct ClusterAvailability;
pub struct ClusterImages;

#[derive(Serialize)]
struct ClusterTypeEntry {
    cluster_type: String,
    description: String,
    node_count: u32,
    node_type: String,
    gpu: String,
    gpu_count: u32,
    cpu_cores: u32,
    memory: Option<u32>,
    gpu_memory: Option<u32>,
    price_per_hour: Option<Number>,
    currency: String,
    manufacturer: String,
    supported_os: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct ClusterTypesState {
    #[serde(skip_deserializing)]
    cluster_types: Vec<ClusterTypeEntry>,
}

#[async_trait]
impl DataSource for ClusterTypes {
    fn type_name(&self) -> String {
        "datacrunch_cluster_types".into()
    }

    fn schema(&self) -> Schema {
        Schema::new()
            .description(
                "The cluster types the API offers: how many nodes of which instance type, \
                 their specs summed over the cluster, and the price of the whole cluster.",
            )
            .attribute(computed_list(
                "cluster_types",
                "Every cluster type.",
                vec![
                    Attribute::string("cluster_type").description("Name, e.g. `16H200`."),
                    Attribute::string("description"),
                    Attribute::number("node_count").description("Nodes per cluster."),
                    Attribute::string("node_type").description("Instance type of each node."),
                    Attribute::string("gpu").description("GPUs of the whole cluster."),
                    Attribute::number("gpu_count"),
                    Attribute::number("cpu_cores"),
                    Attribute::number("memory").description("System memory in GB."),
                    Attribute::number("gpu_memory").description("GPU memory in GB."),
                    Attribute::number("price_per_hour").description("For the whole cluster."),
                    Attribute::string("currency"),
                    Attribute::string("manufacturer"),
                    Attribute::list("supported_os", tfplugin::Type::String),
                ],
            ))
    }

    async fn read(&self, ctx: &Context, _config: &Value) -> Result<Value, Diagnostics> {
        let st = ProviderState::of(ctx)?;
        let types = st
            .client
            .cluster_types(None)
            .await
            .map_err(|e| api_error("Reading cluster types", &e))?;
        let state = ClusterTypesState {
            cluster_types: types
                .iter()
                .map(|t| ClusterTypeEntry {
                    cluster_type: t.cluster_type.clone(),
                    description: t.description.clone(),
                    node_count: t.node_count,
                    node_type: t.node_type.clone(),
                    gpu: t.gpu.description.clone(),
                    gpu_count: t.gpu.number_of_gpus,
                    cpu_cores: t.cpu.number_of_cores,
                    memory: t.memory.size_in_gigabytes,
                    gpu_memory: t.gpu_memory.size_in_gigabytes,
                    price_per_hour: price_number(&t.price_per_hour),
                    currency: t.currency.clone(),
                    manufacturer: t.manufacturer.clone(),
                    supported_os: t.supported_os.clone(),
                })
                .collect(),
        };
        Ok(Value::encode(&state)?)
    }
}

#[derive(Serialize)]
struct AvailabilityEntry {
    cluster_type: String,
    location_code: String,
}

#[derive(Serialize, Deserialize)]
struct AvailabilityState {
    cluster_type: Option<String>,
    location_code: Option<String>,
    #[serde(skip_deserializing)]
    availability: Vec<AvailabilityEntry>,
}

#[async_trait]
impl DataSource for ClusterAvailability {
    fn type_name(&self) -> String {
        "datacrunch_cluster_availability".into()
    }

    fn schema(&self) -> Schema {
        Schema::new()
            .description(
                "Live capacity per cluster type and location: one entry per pair with room \
                 for every node. Read at plan time; capacity can change before apply.",
            )
            .attribute(
                Attribute::string("cluster_type")
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
                "One entry per (cluster type, location) with capacity now.",
                vec![
                    Attribute::string("cluster_type"),
                    Attribute::string("location_code"),
                ],
            ))
    }

    async fn read(&self, ctx: &Context, config: &Value) -> Result<Value, Diagnostics> {
        let mut m: AvailabilityState = config.decode()?;
        let st = ProviderState::of(ctx)?;
        let list = st
            .client
            .cluster_availability(m.location_code.as_deref())
            .await
            .map_err(|e| api_error("Reading cluster availability", &e))?;
        m.availability = list
            .iter()
            .flat_map(|l| {
                l.availabilities.iter().map(|t| AvailabilityEntry {
                    cluster_type: t.clone(),
                    location_code: l.location_code.clone(),
                })
            })
            .filter(|e| m.cluster_type.as_ref().is_none_or(|t| *t == e.cluster_type))
            .collect();
        Ok(Value::encode(&m)?)
    }
}

#[derive(Serialize)]
struct ImageEntry {
    id: String,
    image_type: String,
    name: String,
    is_default: bool,
}

#[derive(Serialize, Deserialize)]
struct ImagesState {
    cluster_type: Option<String>,
    #[serde(skip_deserializing)]
    images: Vec<ImageEntry>,
}

#[async_trait]
impl DataSource for ClusterImages {
    fn type_name(&self) -> String {
        "datacrunch_cluster_images".into()
    }

    fn schema(&self) -> Schema {
        Schema::new()
            .description(
                "The images clusters boot (`GET /images/cluster`; their types end in \
                 `-cluster`), optionally only those a cluster type supports.",
            )
            .attribute(
                Attribute::string("cluster_type")
                    .optional()
                    .description("Only images this cluster type supports."),
            )
            .attribute(computed_list(
                "images",
                "Every cluster image.",
                vec![
                    Attribute::string("id"),
                    Attribute::string("image_type").description("What `image` takes."),
                    Attribute::string("name"),
                    Attribute::bool("is_default"),
                ],
            ))
    }

    async fn read(&self, ctx: &Context, config: &Value) -> Result<Value, Diagnostics> {
        let mut m: ImagesState = config.decode()?;
        let st = ProviderState::of(ctx)?;
        let images = st
            .client
            .cluster_images(m.cluster_type.as_deref())
            .await
            .map_err(|e| api_error("Reading cluster images", &e))?;
        m.images = images
            .into_iter()
            .map(|i| ImageEntry {
                id: i.id,
                image_type: i.image_type,
                name: i.name,
                is_default: i.is_default,
            })
            .collect();
        Ok(Value::encode(&m)?)
    }
}
