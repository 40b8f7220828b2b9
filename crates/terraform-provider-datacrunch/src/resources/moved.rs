//! `moved { from = verda_instance.x  to = datacrunch_instance.x }` (and clusters, keys,
//! scripts, volumes): states of the
//! official Verda provider (`verda-cloud/verda`) taken over through MoveResourceState.
//! The API objects are the same, so a move copies the id and the arguments under our
//! names; the read that follows fills in everything else.

use serde_json::{Map, Value as Json};
use tfplugin::{Diagnostic, Diagnostics, MoveSource, Schema, Value};

/// The official provider's source address, without the registry host (Terraform and
/// OpenTofu registries both).
const VERDA_PROVIDER: &str = "verda-cloud/verda";

/// How one of their resource types maps onto one of ours.
pub struct VerdaMapping {
    /// Their type, e.g. `verda_instance`.
    pub from_type: &'static str,
    /// (their attribute, our attribute), for every argument both have.
    pub attributes: &'static [(&'static str, &'static str)],
}

/// Our state for a move from `source`, per `mapping`, plus `fixed` values for our own
/// settings they do not have.
pub fn from_verda(
    source: &MoveSource,
    mapping: &VerdaMapping,
    schema: &Schema,
    fixed: &[(&str, Json)],
) -> Result<Value, Diagnostics> {
    let from_verda = source
        .provider_address
        .trim_end_matches('/')
        .ends_with(VERDA_PROVIDER);
    if !from_verda || source.type_name != mapping.from_type {
        return Err(Diagnostic::error(
            "Unsupported move",
            format!(
                "Only {} of {VERDA_PROVIDER} can be moved here, not {} of {}.",
                mapping.from_type, source.type_name, source.provider_address
            ),
        )
        .into());
    }
    let mut ours = Map::new();
    for (theirs, name) in mapping.attributes {
        if let Some(v) = source.state.get(*theirs).filter(|v| !v.is_null()) {
            ours.insert((*name).to_owned(), v.clone());
        }
    }
    for (name, v) in fixed {
        ours.insert((*name).to_owned(), v.clone());
    }
    let mut json = Json::Object(ours);
    let ty = schema.value_type();
    // Their nested objects have fields ours lack (e.g. the OS volume's `type`).
    Value::drop_undeclared_json(&mut json, &ty);
    Value::from_json_value(&json, &ty).map_err(|e| {
        Diagnostics::from(Diagnostic::error(
            format!("Cannot move {}", source.type_name),
            format!("Its state does not fit: {e}."),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::instance::InstanceResource;
    use crate::resources::volume::VolumeResource;
    use tfplugin::{Context, Resource};

    fn source(provider: &str, type_name: &str, state: Json) -> MoveSource {
        MoveSource {
            provider_address: provider.into(),
            type_name: type_name.into(),
            schema_version: 0,
            state,
        }
    }

    /// A state as terraform-provider-verda v1.0 writes it.
    fn verda_instance() -> Json {
        serde_json::json!({
            "id": "3e0c6a52-ccf3-4a51-93c4-bf3c0b6b5d27",
            "instance_type": "1H100.80S.30V",
            "image": "ubuntu-24.04-cuda-12.8-open-docker",
            "hostname": "gpu-1",
            "description": "from verda",
            "price_per_hour": 2.19,
            "ip": "1.2.3.4",
            "status": "running",
            "ssh_key_ids": ["k1"],
            "location": "FIN-01",
            "is_spot": false,
            "os_name": "Ubuntu",
            "startup_script_id": null,
            "os_volume_id": "v1",
            "contract": "PAY_AS_YOU_GO",
            "pricing": "FIXED_PRICE",
            "cpu": {"description": "30 CPU", "number_of_cores": 30},
            "jupyter_token": "secret",
            "volumes": null,
            "existing_volumes": ["v9"],
            "os_volume": {"name": "gpu-1-os", "size": 100, "type": "NVMe"}
        })
    }

    #[tokio::test]
    async fn a_verda_instance_moves_with_our_names() {
        let ctx = Context::for_tests(None);
        let src = source(
            "registry.terraform.io/verda-cloud/verda",
            "verda_instance",
            verda_instance(),
        );
        let moved = InstanceResource.move_state(&ctx, &src).await.unwrap();
        let get = |name: &str| moved.get(name).cloned().unwrap_or(Value::Null);
        assert_eq!(
            get("id"),
            Value::string("3e0c6a52-ccf3-4a51-93c4-bf3c0b6b5d27")
        );
        assert_eq!(get("location_code"), Value::string("FIN-01"));
        assert_eq!(get("hostname"), Value::string("gpu-1"));
        assert_eq!(
            get("existing_volume_ids"),
            Value::List(vec![Value::string("v9")])
        );
        assert_eq!(
            get("os_volume"),
            Value::object([
                ("name", Value::string("gpu-1-os")),
                ("size", Value::number(100)),
                ("on_spot_discontinue", Value::Null)
            ])
        );
        assert_eq!(get("delete_os_volume_on_destroy"), Value::Bool(true));
        // Nothing of theirs that we do not have, and no secret, comes along.
        assert!(moved.get("jupyter_token").is_none());
    }

    #[tokio::test]
    async fn other_sources_are_refused_by_name() {
        let ctx = Context::for_tests(None);
        let src = source(
            "registry.terraform.io/acme/cloud",
            "verda_instance",
            verda_instance(),
        );
        let err = InstanceResource.move_state(&ctx, &src).await.unwrap_err();
        assert!(err.to_string().contains("acme/cloud"), "{err}");
        let src = source(
            "registry.opentofu.org/verda-cloud/verda",
            "verda_volume",
            verda_instance(),
        );
        assert!(InstanceResource.move_state(&ctx, &src).await.is_err());
        let volume = serde_json::json!({"id": "v1", "name": "data", "size": 50, "type": "NVMe",
            "location": "FIN-01", "status": "attached", "instance_id": "i1"});
        let src = source(
            "registry.opentofu.org/verda-cloud/verda",
            "verda_volume",
            volume,
        );
        let moved = VolumeResource.move_state(&ctx, &src).await.unwrap();
        assert_eq!(moved.get("location_code"), Some(&Value::string("FIN-01")));
        assert_eq!(moved.get("type"), Some(&Value::string("NVMe")));
        // Permanent deletion is not taken over silently: the plan shows it.
        assert_eq!(moved.get("delete_permanently"), Some(&Value::Bool(false)));
    }

    #[tokio::test]
    async fn a_verda_cluster_moves_with_our_names() {
        use crate::resources::cluster::ClusterResource;
        let ctx = Context::for_tests(None);
        // A state as terraform-provider-verda writes it (resource_cluster.go).
        let state = serde_json::json!({
            "id": "c1", "cluster_type": "16H200", "image": "ubuntu-22.04-cuda-12.4-cluster",
            "hostname": "train", "description": "training", "location": "FIN-03",
            "contract": "PAY_AS_YOU_GO", "ssh_key_ids": ["k1"], "startup_script_id": null,
            "shared_volume": {"name": "train-home", "size": 1000},
            "existing_volumes": [{"id": "v1"}, {"id": "v2"}],
            "auto_rental_extension": false, "turn_to_pay_as_you_go": false,
            "ip": "1.2.3.4", "status": "running", "price_per_hour": 41.44,
            "os_name": "Ubuntu", "long_term_period": null,
            "shared_volumes": [{"id": "s1", "name": "train-home", "mount_point": "/home",
                                "size_in_gigabytes": 1000}],
            "worker_nodes": [{"id": "w1", "hostname": "train-1", "status": "running",
                              "private_ip": "10.0.0.2", "public_ip": null}],
        });
        let src = source(
            "registry.terraform.io/verda-cloud/verda",
            "verda_cluster",
            state,
        );
        let moved = ClusterResource.move_state(&ctx, &src).await.unwrap();
        let get = |name: &str| moved.get(name).cloned().unwrap_or(Value::Null);
        assert_eq!(get("id"), Value::string("c1"));
        assert_eq!(get("location_code"), Value::string("FIN-03"));
        assert_eq!(get("cluster_type"), Value::string("16H200"));
        assert_eq!(
            get("existing_volume_ids"),
            Value::List(vec![Value::string("v1"), Value::string("v2")])
        );
        assert_eq!(
            get("shared_volume"),
            Value::object([
                ("name", Value::string("train-home")),
                ("size", Value::number(1000))
            ])
        );
        assert_eq!(get("ssh_key_ids"), Value::List(vec![Value::string("k1")]));
        // Theirs only: not carried over.
        assert!(moved.get("auto_rental_extension").is_none());
        // A cluster of theirs is not an instance of ours.
        assert!(InstanceResource.move_state(&ctx, &src).await.is_err());
    }
}
