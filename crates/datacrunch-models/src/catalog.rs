//! The catalog: instance types, images, locations, availability, volume types, balance.

use crate::{CpuSpec, GpuSpec, Price, SizeSpec};
use serde::{Deserialize, Serialize};

/// One record of `GET /instance-types`. Prices are JSON strings on this endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceType {
    #[serde(default)]
    pub id: String,
    pub instance_type: String,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub manufacturer: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub best_for: Vec<String>,
    #[serde(default)]
    pub cpu: CpuSpec,
    #[serde(default)]
    pub gpu: GpuSpec,
    #[serde(default)]
    pub gpu_memory: SizeSpec,
    #[serde(default)]
    pub memory: SizeSpec,
    #[serde(default)]
    pub storage: SizeSpec,
    #[serde(default)]
    pub p2p: Option<String>,
    #[serde(serialize_with = "Price::as_string")]
    pub price_per_hour: Price,
    #[serde(default, serialize_with = "Price::opt_as_string")]
    pub spot_price: Option<Price>,
    #[serde(default, serialize_with = "Price::opt_as_string")]
    pub dynamic_price: Option<Price>,
    #[serde(default, serialize_with = "Price::opt_as_string")]
    pub max_dynamic_price: Option<Price>,
    #[serde(default, serialize_with = "Price::opt_as_string")]
    pub serverless_price: Option<Price>,
    #[serde(default, serialize_with = "Price::opt_as_string")]
    pub serverless_spot_price: Option<Price>,
    #[serde(default = "default_currency")]
    pub currency: String,
    #[serde(default)]
    pub deploy_warning: Option<String>,
    #[serde(default)]
    pub supported_os: Vec<String>,
}

/// The Ubuntu release an image type belongs to ("ubuntu-24.04-cuda-…" → "ubuntu-24.04"),
/// as an instance type's `supported_os` names it.
pub fn image_family(image_type: &str) -> &str {
    image_type.get(..12).unwrap_or(image_type)
}

pub(crate) fn default_currency() -> String {
    "usd".to_owned()
}

/// One record of `GET /images`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Image {
    #[serde(default)]
    pub id: String,
    pub image_type: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub details: Vec<String>,
    #[serde(default)]
    pub is_default: bool,
    #[serde(default)]
    pub is_cluster: bool,
    #[serde(default)]
    pub category: String,
}

/// One record of `GET /locations`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub code: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub country_code: String,
}

/// One record of `GET /instance-availability`: the types with capacity in a location.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationAvailability {
    pub location_code: String,
    /// The 2023 spec misspelled the key `availabilites`.
    #[serde(default, alias = "availabilites")]
    pub availabilities: Vec<String>,
}

/// `GET /balance`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Balance {
    pub amount: Price,
    #[serde(default = "default_currency")]
    pub currency: String,
}

/// The price block of a volume type. Older payloads said `monthly_per_gb`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VolumeTypePrice {
    #[serde(default = "default_currency")]
    pub currency: String,
    #[serde(alias = "monthly_per_gb")]
    pub price_per_month_per_gb: Price,
}

/// One record of `GET /volume-types`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VolumeType {
    #[serde(rename = "type")]
    pub volume_type: String,
    pub price: VolumeTypePrice,
    #[serde(default)]
    pub is_shared_fs: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_type_prices_as_strings() {
        let t: InstanceType = serde_json::from_str(
            r#"{"instance_type":"1H100.80S.30V","price_per_hour":"3.95","spot_price":1.7,
                "gpu":{"description":"1x H100 SXM5 80GB","number_of_gpus":1},
                "storage":{"description":"dynamic"}}"#,
        )
        .unwrap();
        assert_eq!(t.spot_price.unwrap().to_string(), "1.7");
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(json["price_per_hour"], "3.95");
        assert_eq!(json["spot_price"], "1.7");
        assert_eq!(json["dynamic_price"], serde_json::Value::Null);
    }

    #[test]
    fn availability_old_spelling() {
        let a: LocationAvailability =
            serde_json::from_str(r#"{"location_code":"FIN-01","availabilites":["1V100.6V"]}"#)
                .unwrap();
        assert_eq!(a.availabilities, ["1V100.6V"]);
    }
}
