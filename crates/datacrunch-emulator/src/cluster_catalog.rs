//! The seeded cluster catalog: cluster types (N nodes of one 8-GPU instance type, priced
//! as N of those nodes) and the cluster images (`GET /images/cluster`, image types
//! ending in `-cluster`). Built from the instance catalog so specs and prices agree.

use bytes::Bytes;
use datacrunch_models::{
    image_family, ClusterType, CpuSpec, GpuSpec, Image, InstanceType, Price, SizeSpec,
};
use rust_decimal::Decimal;

/// (cluster type, node instance type, node count).
const CLUSTER_TYPES: &[(&str, &str, u32)] = &[
    ("16H100", "8H100.80S.176V", 2),
    ("16H200", "8H200.141S.176V", 2),
    ("32H200", "8H200.141S.176V", 4),
    ("16B200", "8B200.240V", 2),
    ("16B300", "8B300.240V", 2),
];

/// (id, image_type, display name) of the images clusters boot.
#[rustfmt::skip]
const CLUSTER_IMAGES: &[(&str, &str, &str)] = &[
    ("c1a50001-0000-4000-8000-000000002401", "ubuntu-24.04-cuda-12.8-open-cluster", "Ubuntu 24.04 + CUDA 12.8 Open + Cluster"),
    ("c1a50001-0000-4000-8000-000000002201", "ubuntu-22.04-cuda-12.8-open-cluster", "Ubuntu 22.04 + CUDA 12.8 Open + Cluster"),
    ("c1a50001-0000-4000-8000-000000002202", "ubuntu-22.04-cuda-12.4-cluster", "Ubuntu 22.04 + CUDA 12.4 + Cluster"),
];

/// A cluster type plus what the emulator needs beyond the wire record.
#[derive(Clone, Debug)]
pub struct ClusterTypeEntry {
    pub wire: ClusterType,
    /// Locations where the node type is offered on demand.
    pub locations: Vec<String>,
}

/// Cluster types and images, with their listings serialized once.
#[derive(Clone, Debug)]
pub struct ClusterCatalog {
    pub types: Vec<ClusterTypeEntry>,
    pub images: Vec<Image>,
    pub types_json: Bytes,
    pub images_json: Bytes,
}

impl ClusterCatalog {
    /// Builds the cluster types from the instance types their nodes are: `node_type`
    /// gives a type's record and the locations where it is offered on demand.
    pub fn new<'a>(
        node_type: impl Fn(&str) -> Option<(&'a InstanceType, &'a [String])>,
    ) -> ClusterCatalog {
        let types: Vec<ClusterTypeEntry> = CLUSTER_TYPES
            .iter()
            .enumerate()
            .filter_map(|(i, (name, node, count))| {
                node_type(node)
                    .map(|(wire, locations)| cluster_type(i + 1, name, wire, locations, *count))
            })
            .collect();
        let images: Vec<Image> = CLUSTER_IMAGES
            .iter()
            .enumerate()
            .map(|(i, (id, image_type, name))| Image {
                id: (*id).to_owned(),
                image_type: (*image_type).to_owned(),
                name: (*name).to_owned(),
                details: name.split(" + ").map(str::to_owned).collect(),
                is_default: i == 0,
                is_cluster: true,
                category: "ubuntu".to_owned(),
            })
            .collect();
        let wire: Vec<&ClusterType> = types.iter().map(|t| &t.wire).collect();
        ClusterCatalog {
            types_json: Bytes::from(serde_json::to_vec(&wire).unwrap_or_default()),
            images_json: Bytes::from(serde_json::to_vec(&images).unwrap_or_default()),
            types,
            images,
        }
    }

    pub fn cluster_type(&self, name: &str) -> Option<&ClusterTypeEntry> {
        self.types.iter().find(|t| t.wire.cluster_type == name)
    }

    /// A cluster image by `image_type` or by id.
    pub fn image(&self, name_or_id: &str) -> Option<&Image> {
        self.images
            .iter()
            .find(|i| i.image_type == name_or_id || i.id == name_or_id)
    }

    /// Whether `image_type` may boot this cluster type's nodes.
    pub fn image_supported(entry: &ClusterTypeEntry, image_type: &str) -> bool {
        entry
            .wire
            .supported_os
            .iter()
            .any(|os| os == image_family(image_type))
    }
}

fn cluster_type(
    id: usize,
    name: &str,
    node: &InstanceType,
    locations: &[String],
    count: u32,
) -> ClusterTypeEntry {
    let n = Decimal::from(count);
    let times = |size: &SizeSpec| SizeSpec {
        description: size
            .size_in_gigabytes
            .map_or(size.description.clone(), |gb| format!("{}GB", gb * count)),
        size_in_gigabytes: size.size_in_gigabytes.map(|gb| gb * count),
    };
    let gpus = node.gpu.number_of_gpus * count;
    let gpu_name = node
        .gpu
        .description
        .split_once("x ")
        .map_or("", |(_, rest)| rest);
    ClusterTypeEntry {
        wire: ClusterType {
            id: format!("c1a57e00-0000-4000-8000-{id:012}"),
            cluster_type: name.to_owned(),
            description: format!("{count} nodes of {}", node.instance_type),
            model: node.model.clone(),
            name: format!("{count}x {}", node.instance_type),
            node_details: (0..count).map(|_| node.gpu.description.clone()).collect(),
            manufacturer: node.manufacturer.clone(),
            node_count: count,
            node_type: node.instance_type.clone(),
            cpu: CpuSpec {
                description: format!("{} CPU", node.cpu.number_of_cores * count),
                number_of_cores: node.cpu.number_of_cores * count,
            },
            gpu: GpuSpec {
                description: format!("{gpus}x {gpu_name}"),
                number_of_gpus: gpus,
            },
            gpu_memory: times(&node.gpu_memory),
            memory: times(&node.memory),
            storage: node.storage.clone(),
            price_per_hour: Price(node.price_per_hour.0 * n),
            currency: "usd".to_owned(),
            supported_os: node.supported_os.clone(),
        },
        locations: locations.to_vec(),
    }
}
