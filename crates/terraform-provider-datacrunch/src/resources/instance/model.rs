//! The `datacrunch_instance` state model and its mapping from the API's record.

use crate::convert::price_number;
use crate::state::catalog::looks_like_uuid;
use datacrunch_models::{Instance, SizeSpec, Tag};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tfplugin::schema::timeouts::Timeouts;
use tfplugin::Number;

/// The tag that marks which deploy created an instance, so that a deploy whose outcome
/// was lost (timeout, dropped connection) can be found and adopted instead of repeated.
/// Hidden from `tags` in state.
pub const CREATE_TOKEN_TAG: &str = "terraform-create-token";

/// Whether `instance` was made by the create that generated `token`.
pub fn carries_create_token(instance: &datacrunch_models::Instance, token: &str) -> bool {
    instance
        .tags
        .iter()
        .any(|t| t.key == CREATE_TOKEN_TAG && t.value.as_deref() == Some(token))
}

/// `os_volume { name, size, on_spot_discontinue }`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OsVolume {
    pub name: Option<String>,
    pub size: Option<u32>,
    pub on_spot_discontinue: Option<String>,
}

/// `cpu { description, cores }`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CpuModel {
    pub description: String,
    pub cores: u32,
}

/// `gpu { description, count }`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GpuModel {
    pub description: String,
    pub count: u32,
}

/// `memory`/`gpu_memory` `{ description, size_gb }`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SizeModel {
    pub description: String,
    pub size_gb: Option<u32>,
}

impl From<&SizeSpec> for SizeModel {
    fn from(s: &SizeSpec) -> Self {
        Self {
            description: s.description.clone(),
            size_gb: s.size_in_gigabytes,
        }
    }
}

/// One field per schema attribute. `Option` reads both null and unknown as `None`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct InstanceModel {
    pub id: Option<String>,
    pub hostname: Option<String>,
    pub description: Option<String>,
    pub image: Option<String>,
    pub instance_type: Option<String>,
    pub location_code: Option<String>,
    pub ssh_key_ids: Option<Vec<String>>,
    pub startup_script_id: Option<String>,
    pub is_spot: Option<bool>,
    pub contract: Option<String>,
    pub pricing: Option<String>,
    pub os_volume: Option<OsVolume>,
    pub existing_volume_ids: Option<Vec<String>>,
    pub tags: Option<BTreeMap<String, String>>,
    pub delete_os_volume_on_destroy: Option<bool>,
    pub ip: Option<String>,
    pub status: Option<String>,
    pub created_at: Option<String>,
    pub os_volume_id: Option<String>,
    pub price_per_hour: Option<Number>,
    pub currency: Option<String>,
    pub location: Option<String>,
    pub cpu: Option<CpuModel>,
    pub gpu: Option<GpuModel>,
    pub memory: Option<SizeModel>,
    pub gpu_memory: Option<SizeModel>,
    pub timeouts: Option<Timeouts>,
}

/// The API's tags without the create token, as a state map (`None` when there are none
/// and the prior state had none, so that an untagged config does not see a change).
fn state_tags(
    api: &[Tag],
    prior: &Option<BTreeMap<String, String>>,
) -> Option<BTreeMap<String, String>> {
    let map: BTreeMap<String, String> = api
        .iter()
        .filter(|t| t.key != CREATE_TOKEN_TAG)
        .map(|t| (t.key.clone(), t.value.clone().unwrap_or_default()))
        .collect();
    if map.is_empty() && prior.as_ref().is_none_or(|p| p.is_empty()) {
        prior.clone()
    } else {
        Some(map)
    }
}

/// `ssh_key_ids` as the API reports them, in the prior order when they are the same set
/// (the API does not promise an order; a reordering is not a change).
fn same_set_keep_order(api: &[String], prior: &Option<Vec<String>>) -> Vec<String> {
    if let Some(p) = prior {
        let mut a = api.to_vec();
        let mut b = p.clone();
        a.sort();
        b.sort();
        if a == b {
            return p.clone();
        }
    }
    api.to_vec()
}

impl InstanceModel {
    /// The state after reading `api`, starting from `self` (the prior or planned state):
    /// everything the API reports is taken from it, so drift shows in the next plan;
    /// settings the API does not echo (volumes on destroy, timeouts, OS volume request)
    /// are kept.
    pub fn refreshed(&self, api: &Instance) -> InstanceModel {
        let mut m = self.clone();
        m.id = Some(api.id.clone());
        m.hostname = Some(api.hostname.clone());
        m.description = Some(api.description.clone());
        // The API reports the image type; a configured image id means the same image.
        m.image = match &self.image {
            Some(img) if looks_like_uuid(img) => Some(img.clone()),
            _ => Some(api.image.clone()),
        };
        m.instance_type = Some(api.instance_type.clone());
        if !api.location.is_empty() {
            // Never hide placement (the original restored the planned value).
            m.location_code = Some(api.location.clone());
            m.location = Some(api.location.clone());
        }
        m.ssh_key_ids = Some(same_set_keep_order(&api.ssh_key_ids, &self.ssh_key_ids));
        m.startup_script_id = api.startup_script_id.clone().filter(|s| !s.is_empty());
        m.is_spot = Some(api.is_spot);
        if let Some(c) = &api.contract {
            m.contract = Some(c.to_string());
        }
        if let Some(p) = &api.pricing {
            m.pricing = Some(p.to_string());
        }
        m.tags = state_tags(&api.tags, &self.tags);
        m.delete_os_volume_on_destroy = Some(self.delete_os_volume_on_destroy.unwrap_or(true));
        m.ip = api.ip.clone().filter(|s| !s.is_empty());
        m.status = Some(api.status.to_string());
        m.created_at = Some(api.created_at.clone());
        m.os_volume_id = api.os_volume_id.clone().filter(|s| !s.is_empty());
        m.price_per_hour = price_number(&api.price_per_hour);
        // The instance does not report its currency: the one planned from the catalog
        // stays, and the catalog's default when nothing was planned (an import).
        m.currency = Some(self.currency.clone().unwrap_or_else(|| "usd".to_owned()));
        m.cpu = Some(CpuModel {
            description: api.cpu.description.clone(),
            cores: api.cpu.number_of_cores,
        });
        m.gpu = Some(GpuModel {
            description: api.gpu.description.clone(),
            count: api.gpu.number_of_gpus,
        });
        m.memory = Some((&api.memory).into());
        m.gpu_memory = Some((&api.gpu_memory).into());
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api_instance() -> Instance {
        serde_json::from_value(serde_json::json!({
            "id": "i-1", "instance_type": "1H100.80S.30V",
            "image": "ubuntu-24.04-cuda-12.8-open-docker", "price_per_hour": 1.99,
            "hostname": "node-1", "description": "d", "ip": "127.0.0.9",
            "status": "running", "created_at": "2026-01-01T00:00:00.000Z",
            "ssh_key_ids": ["b", "a"], "location": "FIN-03",
            "cpu": {"description": "30 CPU", "number_of_cores": 30},
            "gpu": {"description": "1x H100 SXM5 80GB", "number_of_gpus": 1},
            "memory": {"description": "120GB RAM", "size_in_gigabytes": 120},
            "tags": [{"key": CREATE_TOKEN_TAG, "value": "t"}, {"key": "team", "value": "ml"}]
        }))
        .unwrap()
    }

    #[test]
    fn refresh_reports_placement_and_hides_the_create_token() {
        let prior = InstanceModel {
            id: Some("i-1".into()),
            location_code: Some("FIN-01".into()),
            ssh_key_ids: Some(vec!["a".into(), "b".into()]),
            image: Some("77777777-4f48-4249-82b3-f199fb9b701b".into()),
            ..Default::default()
        };
        let m = prior.refreshed(&api_instance());
        // Placement is never hidden (the original restored the planned location).
        assert_eq!(m.location_code.as_deref(), Some("FIN-03"));
        assert_eq!(m.location.as_deref(), Some("FIN-03"));
        // Same keys in another order are no change; an image id stays as configured.
        assert_eq!(m.ssh_key_ids, Some(vec!["a".to_owned(), "b".to_owned()]));
        assert_eq!(m.image, prior.image);
        let tags = m.tags.unwrap();
        assert_eq!(tags.len(), 1, "{tags:?}");
        assert_eq!(tags["team"], "ml");
        assert_eq!(m.price_per_hour.unwrap().to_string(), "1.99");
        assert_eq!(m.gpu.unwrap().count, 1);
        assert_eq!(m.delete_os_volume_on_destroy, Some(true));
    }

    #[test]
    fn untagged_instance_keeps_null_tags() {
        let mut api = api_instance();
        api.tags.retain(|t| t.key == CREATE_TOKEN_TAG);
        let m = InstanceModel::default().refreshed(&api);
        assert_eq!(m.tags, None);
    }
}
