//! The seeded catalog (spec §15): instance types with real names, specs and prices, the
//! real image types, the four locations and the volume types. Built once; the JSON of
//! each listing is serialized once and served from memory.

use crate::cluster_catalog::ClusterCatalog;
use bytes::Bytes;
pub use datacrunch_models::image_family;
use datacrunch_models::{
    CpuSpec, GpuSpec, Image, InstanceType, Location, Price, SizeSpec, VolumeType, VolumeTypePrice,
};
use rust_decimal::Decimal;
use std::collections::HashMap;

/// USD → EUR rate for `?currency=eur` (any fixed rate will do for an emulator).
const EUR_PER_USD: &str = "0.86";
/// Ubuntu releases every GPU type supports.
const ALL_OS: &[&str] = &["ubuntu-20.04", "ubuntu-22.04", "ubuntu-24.04"];
/// V100 and A6000 refuse the 24.04 images ("Operating system is not valid…", dstack).
const NO_2404: &[&str] = &["ubuntu-20.04", "ubuntu-22.04"];

/// (type name, GPUs, vCPU, RAM GB, USD/h, spot USD/h or `None` when spot is not offered)
type SizeRow = (
    &'static str,
    u32,
    u32,
    u32,
    &'static str,
    Option<&'static str>,
);

/// One GPU family, expanded into its 1/2/4/8 (or CPU) sizes.
struct Family {
    model: &'static str,
    /// As in `gpu.description` after "Nx ", e.g. "H100 SXM5 80GB"; empty for CPU nodes.
    gpu_name: &'static str,
    gpu_mem: u32,
    supported_os: &'static [&'static str],
    locations: &'static [&'static str],
    /// (type name, GPUs, vCPU, RAM GB, USD/h, spot USD/h or None when spot is not offered)
    sizes: &'static [SizeRow],
}

const FIN3: &[&str] = &["FIN-03"];
#[rustfmt::skip]
const FAMILIES: &[Family] = &[
    Family { model: "B300", gpu_name: "B300 SXM6 268GB", gpu_mem: 268, supported_os: ALL_OS, locations: FIN3, sizes: &[
        ("1B300.30V", 1, 30, 275, "4.95", Some("1.24")), ("2B300.60V", 2, 60, 550, "9.9", Some("2.48")),
        ("4B300.120V", 4, 120, 1100, "19.8", Some("4.95")), ("8B300.240V", 8, 240, 2200, "39.6", Some("9.9"))] },
    Family { model: "B200", gpu_name: "B200 SXM6 180GB", gpu_mem: 180, supported_os: ALL_OS, locations: FIN3, sizes: &[
        ("1B200.30V", 1, 30, 184, "3.79", Some("0.95")), ("2B200.60V", 2, 60, 368, "7.58", Some("1.9")),
        ("4B200.120V", 4, 120, 736, "15.16", Some("3.79")), ("8B200.240V", 8, 240, 1472, "30.32", None)] },
    Family { model: "H200", gpu_name: "H200 SXM5 141GB", gpu_mem: 141, supported_os: ALL_OS, locations: &["FIN-02", "FIN-03"], sizes: &[
        ("1H200.141S.44V", 1, 44, 182, "2.59", None), ("2H200.141S.88V", 2, 88, 370, "5.18", Some("2.59"))] },
    Family { model: "H200", gpu_name: "H200 SXM5 141GB", gpu_mem: 141, supported_os: ALL_OS, locations: FIN3, sizes: &[
        ("4H200.141S.176V", 4, 176, 740, "10.36", Some("5.18")), ("8H200.141S.176V", 8, 176, 1450, "20.72", Some("10.36"))] },
    Family { model: "H100", gpu_name: "H100 SXM5 80GB", gpu_mem: 80, supported_os: ALL_OS, locations: &["FIN-01", "FIN-02", "FIN-03", "ICE-01"], sizes: &[
        ("1H100.80S.30V", 1, 30, 120, "1.99", Some("1.0")), ("1H100.80S.32V", 1, 32, 185, "2.29", Some("0.8"))] },
    Family { model: "H100", gpu_name: "H100 SXM5 80GB", gpu_mem: 80, supported_os: ALL_OS, locations: FIN3, sizes: &[
        ("2H100.80S.80V", 2, 80, 370, "3.98", Some("1.99")), ("4H100.80S.176V", 4, 176, 740, "7.96", Some("3.98")),
        ("8H100.80S.176V", 8, 176, 1480, "15.92", Some("7.96"))] },
    Family { model: "A100", gpu_name: "A100 SXM4 80GB", gpu_mem: 80, supported_os: ALL_OS, locations: &["FIN-01", "FIN-02", "FIN-03"], sizes: &[
        ("1A100.22V", 1, 22, 120, "1.16", Some("0.58")), ("2A100.44V", 2, 44, 240, "2.32", Some("1.16")),
        ("4A100.88V", 4, 88, 480, "4.64", Some("2.32")), ("8A100.176V", 8, 176, 960, "9.28", Some("4.64"))] },
    Family { model: "A100", gpu_name: "A100 SXM4 40GB", gpu_mem: 40, supported_os: ALL_OS, locations: FIN3, sizes: &[
        ("1A100.40S.22V", 1, 22, 80, "0.72", Some("0.22")), ("2A100.40S.44V", 2, 44, 160, "1.44", Some("0.44")),
        ("4A100.40S.88V", 4, 88, 320, "2.88", Some("0.87")), ("8A100.40S.176V", 8, 176, 640, "5.77", Some("1.73"))] },
    Family { model: "V100", gpu_name: "Tesla V100 16GB", gpu_mem: 16, supported_os: NO_2404, locations: &["FIN-01", "FIN-03"], sizes: &[
        ("1V100.6V", 1, 6, 23, "0.14", Some("0.07")), ("2V100.10V", 2, 10, 45, "0.28", Some("0.14")),
        ("4V100.20V", 4, 20, 90, "0.55", Some("0.28")), ("8V100.48V", 8, 48, 180, "1.1", Some("0.55"))] },
    Family { model: "RTX PRO 6000", gpu_name: "RTX PRO 6000 96GB", gpu_mem: 96, supported_os: ALL_OS, locations: FIN3, sizes: &[
        ("1RTXPRO6000.30V", 1, 30, 90, "1.39", Some("0.35")), ("2RTXPRO6000.60V", 2, 60, 180, "2.78", Some("0.7")),
        ("4RTXPRO6000.120V", 4, 120, 360, "5.56", Some("1.39")), ("8RTXPRO6000.240V", 8, 240, 720, "11.12", Some("2.78"))] },
    Family { model: "L40S", gpu_name: "L40S 48GB", gpu_mem: 48, supported_os: ALL_OS, locations: &["FIN-02", "FIN-03"], sizes: &[
        ("1L40S.20V", 1, 20, 60, "0.91", None), ("2L40S.40V", 2, 40, 120, "1.83", Some("0.55")),
        ("4L40S.80V", 4, 80, 240, "3.66", Some("1.1")), ("8L40S.160V", 8, 160, 480, "7.31", Some("2.19"))] },
    Family { model: "RTX 6000 Ada", gpu_name: "RTX 6000 Ada 48GB", gpu_mem: 48, supported_os: ALL_OS, locations: &["FIN-01", "FIN-03"], sizes: &[
        ("1RTX6000ADA.10V", 1, 10, 60, "0.83", Some("0.25")), ("2RTX6000ADA.20V", 2, 20, 120, "1.65", Some("0.5")),
        ("4RTX6000ADA.40V", 4, 40, 240, "3.3", Some("0.99")), ("8RTX6000ADA.80V", 8, 80, 480, "6.61", Some("1.98"))] },
    Family { model: "A6000", gpu_name: "RTX A6000 48GB", gpu_mem: 48, supported_os: NO_2404, locations: &["FIN-01", "FIN-02", "FIN-03"], sizes: &[
        ("1A6000.10V", 1, 10, 60, "0.49", None), ("2A6000.20V", 2, 20, 120, "0.98", None),
        ("4A6000.40V", 4, 40, 240, "1.96", Some("0.59")), ("8A6000.80V", 8, 80, 480, "3.92", Some("1.18"))] },
    Family { model: "CPU Node", gpu_name: "", gpu_mem: 0, supported_os: ALL_OS, locations: &["FIN-01", "FIN-02", "FIN-03"], sizes: &[
        ("CPU.4V.16G", 0, 4, 16, "0.0279", Some("0.0098")), ("CPU.8V.32G", 0, 8, 32, "0.0558", Some("0.0196")),
        ("CPU.16V.64G", 0, 16, 64, "0.1116", Some("0.0392")), ("CPU.32V.128G", 0, 32, 128, "0.2232", Some("0.0784"))] },
    Family { model: "CPU Node", gpu_name: "", gpu_mem: 0, supported_os: ALL_OS, locations: &["FIN-01", "FIN-02", "ICE-01"], sizes: &[
        ("CPU.64V.256G", 0, 64, 256, "0.4464", Some("0.1568")), ("CPU.96V.384G", 0, 96, 384, "0.6696", Some("0.2352")),
        ("CPU.120V.480G", 0, 120, 480, "0.837", Some("0.294")), ("CPU.180V.720G", 0, 180, 720, "1.256", Some("0.441"))] },
];

/// (id, image_type, display name). The UUIDs dstack uses (spec §14) are real.
#[rustfmt::skip]
const IMAGES: &[(&str, &str, &str)] = &[
    ("77777777-4f48-4249-82b3-f199fb9b701b", "ubuntu-24.04-cuda-12.8-open-docker", "Ubuntu 24.04 + CUDA 12.8 Open + Docker"),
    ("2404f580-1300-1111-82b3-f199fb9b701b", "ubuntu-24.04-cuda-13.0-open-docker", "Ubuntu 24.04 + CUDA 13.0 Open + Docker"),
    ("1e000001-0000-4000-8000-000000002401", "ubuntu-24.04-cuda-12.8-open", "Ubuntu 24.04 + CUDA 12.8 Open"),
    ("1e000001-0000-4000-8000-000000002402", "ubuntu-24.04-cuda-12.6-docker", "Ubuntu 24.04 + CUDA 12.6 + Docker"),
    ("1e000001-0000-4000-8000-000000002403", "ubuntu-24.04-cuda-12.6", "Ubuntu 24.04 + CUDA 12.6"),
    ("1e000001-0000-4000-8000-000000002404", "ubuntu-24.04", "Ubuntu 24.04"),
    ("1e000001-0000-4000-8000-000000002201", "ubuntu-22.04-cuda-12.8-open-docker", "Ubuntu 22.04 + CUDA 12.8 Open + Docker"),
    ("1e000001-0000-4000-8000-000000002202", "ubuntu-22.04-cuda-12.8-open", "Ubuntu 22.04 + CUDA 12.8 Open"),
    ("1e000001-0000-4000-8000-000000002203", "ubuntu-22.04-cuda-12.4-docker", "Ubuntu 22.04 + CUDA 12.4 + Docker"),
    ("1e000001-0000-4000-8000-000000002204", "ubuntu-22.04-cuda-12.4", "Ubuntu 22.04 + CUDA 12.4"),
    ("2088da25-bb0d-41cc-a191-dccae45d96fd", "ubuntu-22.04-cuda-12.0-docker", "Ubuntu 22.04 + CUDA 12.0 + Docker"),
    ("1e000001-0000-4000-8000-000000002205", "ubuntu-22.04-cuda-12.0", "Ubuntu 22.04 + CUDA 12.0"),
    ("1e000001-0000-4000-8000-000000002206", "ubuntu-22.04", "Ubuntu 22.04"),
    ("0888da25-bb0d-41cc-a191-dccae45d96fd", "ubuntu-20.04-cuda-11.0", "Ubuntu 20.04 + CUDA 11.0"),
    ("1e000001-0000-4000-8000-000000002001", "ubuntu-20.04", "Ubuntu 20.04"),
];

/// The default image of deploys in every official client.
pub const DEFAULT_IMAGE: &str = "ubuntu-24.04-cuda-12.8-open-docker";

const LOCATIONS: &[(&str, &str, &str)] = &[
    ("FIN-01", "Finland 1", "FI"),
    ("FIN-02", "Finland 2", "FI"),
    ("FIN-03", "Finland 3", "FI"),
    ("ICE-01", "Iceland 1", "IS"),
];

/// (type, USD per GB-month, shared filesystem)
const VOLUME_TYPES: &[(&str, &str, bool)] = &[
    ("NVMe", "0.2", false),
    ("HDD", "0.05", false),
    ("NVMe_Shared", "0.15", true),
    ("HDD_Shared", "0.05", true),
];

/// An instance type plus what the emulator needs beyond the wire record.
#[derive(Clone, Debug)]
pub struct TypeEntry {
    pub wire: InstanceType,
    /// Locations where the type is offered on demand.
    pub locations: Vec<String>,
    /// Whether spot capacity is offered at all.
    pub spot_offered: bool,
}

/// The whole catalog, plus its listings pre-serialized.
#[derive(Debug)]
pub struct Catalog {
    pub types: Vec<TypeEntry>,
    by_name: HashMap<String, usize>,
    pub images: Vec<Image>,
    pub locations: Vec<Location>,
    pub volume_types: Vec<VolumeType>,
    pub types_json_usd: Bytes,
    pub types_json_eur: Bytes,
    pub images_json: Bytes,
    pub locations_json: Bytes,
    pub volume_types_json: Bytes,
    /// Cluster types and images, built from the instance types above.
    pub clusters: ClusterCatalog,
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap_or_default()
}

fn size(description: String, gb: u32) -> SizeSpec {
    SizeSpec {
        description,
        size_in_gigabytes: Some(gb),
    }
}

fn build_type(index: usize, family: &Family, size_row: &SizeRow) -> TypeEntry {
    let (name, gpus, vcpu, ram, price, spot) = *size_row;
    let price = dec(price);
    let cpu_only = gpus == 0;
    let gpu_description = if cpu_only {
        String::new()
    } else {
        format!("{gpus}x {}", family.gpu_name)
    };
    // The SDK does float(spot_price), so it is never null; types without spot offers
    // show the usual half price but have no spot capacity.
    let spot_price = spot
        .map(dec)
        .unwrap_or(price / Decimal::from(2))
        .round_dp(4);
    let wire = InstanceType {
        id: format!("c01dd00d-0000-4000-8000-{index:012}"),
        instance_type: name.to_owned(),
        model: family.model.to_owned(),
        name: if cpu_only {
            "AMD EPYC".to_owned()
        } else {
            family.gpu_name.to_owned()
        },
        display_name: cpu_only.then(|| "Rome/Milan".to_owned()),
        manufacturer: if cpu_only { "AMD" } else { "NVIDIA" }.to_owned(),
        description: "Dedicated Hardware Instance".to_owned(),
        best_for: if cpu_only {
            vec!["Running services".to_owned(), "API server".to_owned()]
        } else {
            vec![
                "Multi-GPU training".to_owned(),
                "Kernel and storage testing".to_owned(),
            ]
        },
        cpu: CpuSpec {
            description: format!("{vcpu} CPU"),
            number_of_cores: vcpu,
        },
        gpu: GpuSpec {
            description: gpu_description,
            number_of_gpus: gpus,
        },
        gpu_memory: if cpu_only {
            SizeSpec {
                description: String::new(),
                size_in_gigabytes: Some(0),
            }
        } else {
            size(
                format!("{}GB GPU RAM", family.gpu_mem * gpus),
                family.gpu_mem * gpus,
            )
        },
        memory: size(format!("{ram}GB RAM"), ram),
        storage: SizeSpec {
            description: "dynamic".to_owned(),
            size_in_gigabytes: None,
        },
        p2p: (gpus > 1).then(|| "300 GB/s".to_owned()),
        price_per_hour: Price(price),
        spot_price: Some(Price(spot_price)),
        dynamic_price: Some(Price(price)),
        max_dynamic_price: Some(Price((price * dec("1.5")).round_dp(4))),
        serverless_price: None,
        serverless_spot_price: None,
        currency: "usd".to_owned(),
        deploy_warning: None,
        supported_os: family
            .supported_os
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
    };
    TypeEntry {
        wire,
        locations: family.locations.iter().map(|s| (*s).to_owned()).collect(),
        spot_offered: spot.is_some(),
    }
}

/// Converts every price of a record to EUR.
fn in_eur(t: &InstanceType) -> InstanceType {
    let rate = dec(EUR_PER_USD);
    let conv = |p: &Price| Price((p.0 * rate).round_dp(4));
    InstanceType {
        price_per_hour: conv(&t.price_per_hour),
        spot_price: t.spot_price.as_ref().map(conv),
        dynamic_price: t.dynamic_price.as_ref().map(conv),
        max_dynamic_price: t.max_dynamic_price.as_ref().map(conv),
        currency: "eur".to_owned(),
        ..t.clone()
    }
}

fn json<T: serde::Serialize>(value: &T) -> Bytes {
    Bytes::from(serde_json::to_vec(value).unwrap_or_default())
}

impl Catalog {
    pub fn new() -> Catalog {
        let types: Vec<TypeEntry> = FAMILIES
            .iter()
            .flat_map(|f| f.sizes.iter().map(move |s| (f, s)))
            .enumerate()
            .map(|(i, (f, s))| build_type(i + 1, f, s))
            .collect();
        let by_name: HashMap<String, usize> = types
            .iter()
            .enumerate()
            .map(|(i, t)| (t.wire.instance_type.clone(), i))
            .collect();
        let images: Vec<Image> = IMAGES
            .iter()
            .map(|(id, image_type, name)| Image {
                id: (*id).to_owned(),
                image_type: (*image_type).to_owned(),
                name: (*name).to_owned(),
                details: name.split(" + ").map(str::to_owned).collect(),
                is_default: *image_type == DEFAULT_IMAGE,
                is_cluster: false,
                category: "ubuntu".to_owned(),
            })
            .collect();
        let locations: Vec<Location> = LOCATIONS
            .iter()
            .map(|(code, name, country)| Location {
                code: (*code).to_owned(),
                name: (*name).to_owned(),
                country_code: (*country).to_owned(),
            })
            .collect();
        let volume_types: Vec<VolumeType> = VOLUME_TYPES
            .iter()
            .map(|(t, price, shared)| VolumeType {
                volume_type: (*t).to_owned(),
                price: VolumeTypePrice {
                    currency: "usd".to_owned(),
                    price_per_month_per_gb: Price(dec(price)),
                },
                is_shared_fs: *shared,
            })
            .collect();
        let usd: Vec<&InstanceType> = types.iter().map(|t| &t.wire).collect();
        let eur: Vec<InstanceType> = types.iter().map(|t| in_eur(&t.wire)).collect();
        let clusters = ClusterCatalog::new(|name| {
            by_name
                .get(name)
                .map(|&i| (&types[i].wire, types[i].locations.as_slice()))
        });
        Catalog {
            clusters,
            types_json_usd: json(&usd),
            types_json_eur: json(&eur),
            images_json: json(&images),
            locations_json: json(&locations),
            volume_types_json: json(&volume_types),
            types,
            by_name,
            images,
            locations,
            volume_types,
        }
    }

    pub fn instance_type(&self, name: &str) -> Option<&TypeEntry> {
        self.by_name.get(name).map(|&i| &self.types[i])
    }

    /// The record of a type in the given currency (`usd` or `eur`).
    pub fn instance_type_in(&self, entry: &TypeEntry, currency: Currency) -> InstanceType {
        match currency {
            Currency::Usd => entry.wire.clone(),
            Currency::Eur => in_eur(&entry.wire),
        }
    }

    /// An image by `image_type` or by id.
    pub fn image(&self, name_or_id: &str) -> Option<&Image> {
        self.images
            .iter()
            .find(|i| i.image_type == name_or_id || i.id == name_or_id)
    }

    pub fn is_location(&self, code: &str) -> bool {
        self.locations.iter().any(|l| l.code == code)
    }

    pub fn volume_type(&self, name: &str) -> Option<&VolumeType> {
        self.volume_types.iter().find(|v| v.volume_type == name)
    }

    /// Whether `image_type` may be deployed on this instance type.
    pub fn image_supported(entry: &TypeEntry, image_type: &str) -> bool {
        entry
            .wire
            .supported_os
            .iter()
            .any(|os| os == image_family(image_type))
    }

    /// The human OS name of an image type, e.g. "Ubuntu 24.04".
    pub fn os_name(image_type: &str) -> String {
        image_family(image_type).replace("ubuntu-", "Ubuntu ")
    }
}

impl Default for Catalog {
    fn default() -> Self {
        Catalog::new()
    }
}

/// The `?currency=` of catalog calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Currency {
    Usd,
    Eur,
}

impl Currency {
    pub fn parse(s: Option<&str>) -> Result<Currency, String> {
        match s.map(str::to_ascii_lowercase).as_deref() {
            None | Some("") | Some("usd") => Ok(Currency::Usd),
            Some("eur") => Ok(Currency::Eur),
            Some(other) => Err(format!("currency must be usd or eur, got {other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_consistent() {
        let c = Catalog::new();
        assert!(c.types.len() > 50);
        let v100 = c.instance_type("1V100.6V").unwrap();
        assert!(!Catalog::image_supported(
            v100,
            "ubuntu-24.04-cuda-12.8-open-docker"
        ));
        assert!(Catalog::image_supported(
            v100,
            "ubuntu-22.04-cuda-12.0-docker"
        ));
        assert_eq!(v100.wire.gpu.description, "1x Tesla V100 16GB");
        for t in &c.types {
            assert!(
                t.locations.iter().all(|l| c.is_location(l)),
                "{}",
                t.wire.instance_type
            );
        }
        let eur: serde_json::Value = serde_json::from_slice(&c.types_json_eur).unwrap();
        assert_eq!(eur[0]["currency"], "eur");
        assert!(eur[0]["price_per_hour"].is_string());
    }
}
