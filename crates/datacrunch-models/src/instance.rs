//! Instances: the record, the deploy request and the action request.

use crate::{Contract, InstanceAction, InstanceStatus, OnSpotDiscontinue, Price, Pricing};
use serde::{Deserialize, Deserializer, Serialize};

/// `{"description": "30 CPU", "number_of_cores": 30}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CpuSpec {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub number_of_cores: u32,
}

/// `{"description": "1x H100 SXM5 80GB", "number_of_gpus": 1}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GpuSpec {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub number_of_gpus: u32,
}

/// A size block: memory, GPU memory or storage. Storage is often only
/// `{"description": "dynamic"}`, so the size is optional.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SizeSpec {
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_in_gigabytes: Option<u32>,
}

/// A key/value tag. Keys are lowercased by the API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// An instance as `GET /instances` and `GET /instances/{id}` return it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    pub id: String,
    #[serde(default)]
    pub instance_type: String,
    #[serde(default)]
    pub image: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_name: Option<String>,
    #[serde(default)]
    pub price_per_hour: Price,
    #[serde(default)]
    pub hostname: String,
    #[serde(default)]
    pub description: String,
    /// `null` until the instance is provisioned.
    #[serde(default)]
    pub ip: Option<String>,
    pub status: InstanceStatus,
    #[serde(default)]
    pub created_at: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub ssh_key_ids: Vec<String>,
    #[serde(default)]
    pub startup_script_id: Option<String>,
    #[serde(default)]
    pub cpu: CpuSpec,
    #[serde(default)]
    pub gpu: GpuSpec,
    #[serde(default)]
    pub memory: SizeSpec,
    #[serde(default)]
    pub gpu_memory: SizeSpec,
    #[serde(default)]
    pub storage: SizeSpec,
    /// `null` until the instance is provisioned.
    #[serde(default)]
    pub os_volume_id: Option<String>,
    /// Where the instance really landed. The 2023 API called it `location_code`.
    #[serde(default, alias = "location_code")]
    pub location: String,
    #[serde(default)]
    pub is_spot: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jupyter_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<Contract>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pricing: Option<Pricing>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub volume_ids: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<Tag>,
}

/// The OS volume of a deploy request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OsVolumeRequest {
    pub name: String,
    pub size: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_spot_discontinue: Option<OnSpotDiscontinue>,
}

/// A new data volume created with the instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewVolumeRequest {
    pub name: String,
    pub size: u32,
    #[serde(rename = "type")]
    pub volume_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_spot_discontinue: Option<OnSpotDiscontinue>,
}

/// `POST /instances`. The response is the bare new id as text (202).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeployInstanceRequest {
    pub instance_type: String,
    pub image: String,
    pub hostname: String,
    pub description: String,
    /// The 2023 spec allowed a single string here as well as an array.
    #[serde(default, deserialize_with = "one_or_many")]
    pub ssh_key_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_script_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_volume: Option<OsVolumeRequest>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub volumes: Vec<NewVolumeRequest>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub existing_volumes: Vec<String>,
    #[serde(default)]
    pub is_spot: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<Contract>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pricing: Option<Pricing>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub tags: Vec<Tag>,
}

impl DeployInstanceRequest {
    /// A request with the four fields the API requires and every option left unset
    /// (the service's defaults: on-demand, its default location, no volumes).
    pub fn new(
        instance_type: impl Into<String>,
        image: impl Into<String>,
        hostname: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        DeployInstanceRequest {
            instance_type: instance_type.into(),
            image: image.into(),
            hostname: hostname.into(),
            description: description.into(),
            ssh_key_ids: Vec::new(),
            location_code: None,
            startup_script_id: None,
            os_volume: None,
            volumes: Vec::new(),
            existing_volumes: Vec::new(),
            is_spot: false,
            contract: None,
            pricing: None,
            coupon: None,
            tags: Vec::new(),
        }
    }
}

/// `PUT /instances`: one action on one or more instances.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceActionRequest {
    pub action: InstanceAction,
    /// A string or an array on the wire; always an array when we send it.
    #[serde(deserialize_with = "one_or_many")]
    pub id: Vec<String>,
    /// On delete: absent or `null` deletes the OS volume and detaches the rest; `[]`
    /// deletes nothing; a list deletes those volumes and detaches the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_permanently: Option<bool>,
}

impl InstanceActionRequest {
    /// Deletes instance `id`. With `delete_os_volume` false every volume is kept
    /// (`volume_ids: []`); with true the OS volume is deleted for good and the others are
    /// detached: not to the trash, where a volume still counts against the storage quota
    /// (and bills) until it is purged, which a user who deleted the machine does not
    /// expect.
    pub fn delete(id: &str, delete_os_volume: bool) -> Self {
        InstanceActionRequest {
            action: InstanceAction::Delete,
            id: vec![id.to_owned()],
            volume_ids: if delete_os_volume {
                None
            } else {
                Some(Vec::new())
            },
            delete_permanently: delete_os_volume.then_some(true),
        }
    }
}

/// One item of the `PUT /instances` response (202 all succeeded, 207 some failed).
/// The keys are camelCase, unlike the rest of the API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceActionResult {
    pub action: String,
    pub instance_id: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
}

/// Reads either a single string or an array of strings (`null` is an empty array).
pub fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => Vec::new(),
        Some(OneOrMany::One(s)) => vec![s],
        Some(OneOrMany::Many(v)) => v,
    })
}

/// Reads `null` as the type's default (an empty list, mostly).
pub fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = r#"{
      "id": "deadc0de-a5d2-4972-ae4e-d429115d055b", "instance_type": "1V100.6V",
      "image": "ubuntu-24.04-cuda-12.8-open-docker", "price_per_hour": 0.6,
      "hostname": "hazy-star-swims-fin-01", "description": "hope you enjoy your GPU",
      "ip": null, "status": "starting hibernation", "created_at": "2021-06-02T12:56:49.582Z",
      "ssh_key_ids": null, "startup_script_id": null,
      "cpu": {"description": "6 CPU", "number_of_cores": 6},
      "gpu": {"description": "1x Tesla V100 16GB", "number_of_gpus": 1},
      "memory": {"description": "23GB RAM", "size_in_gigabytes": 23},
      "gpu_memory": {"description": "16GB GPU RAM", "size_in_gigabytes": 16},
      "storage": {"description": "dynamic"}, "os_volume_id": null,
      "location_code": "NOR-01", "is_spot": false, "contract": "PAY_AS_YOU_GO",
      "pricing": "FIXED_PRICE", "tags": [], "some_future_field": {"x": 1}
    }"#;

    #[test]
    fn tolerant_instance_decoding() {
        let i: Instance = serde_json::from_str(FIXTURE).unwrap();
        assert_eq!(i.status, InstanceStatus::StartingHibernation);
        assert_eq!(i.location, "NOR-01");
        assert_eq!(i.storage.size_in_gigabytes, None);
        assert_eq!(i.memory.size_in_gigabytes, Some(23));
        assert!(i.ssh_key_ids.is_empty());
        assert_eq!(i.price_per_hour.to_string(), "0.6");
    }

    #[test]
    fn action_ids_one_or_many() {
        let a: InstanceActionRequest =
            serde_json::from_str(r#"{"action":"delete","id":"abc"}"#).unwrap();
        assert_eq!(a.id, ["abc"]);
        assert_eq!(a.volume_ids, None);
        let a: InstanceActionRequest =
            serde_json::from_str(r#"{"action":"delete","id":["a","b"],"volume_ids":[]}"#).unwrap();
        assert_eq!(a.id, ["a", "b"]);
        assert_eq!(a.volume_ids, Some(vec![]));
    }

    #[test]
    fn action_result_is_camel_case() {
        let r = InstanceActionResult {
            action: "delete".into(),
            instance_id: "x".into(),
            status: "error".into(),
            error: Some("nope".into()),
            status_code: Some(400),
        };
        let s = serde_json::to_string(&r).unwrap();
        assert!(
            s.contains(r#""instanceId":"x""#) && s.contains(r#""statusCode":400"#),
            "{s}"
        );
    }
}
