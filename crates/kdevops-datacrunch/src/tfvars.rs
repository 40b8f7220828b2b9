//! `terraform.tfvars.json`: the Terraform module's inputs, from settings and placements.
//!
//! JSON rather than HCL so no value ever needs escaping, and written whole on every
//! attempt, never edited in place (the original `sed`-ed the instance type into it).
//! It holds no secret: the provider gets a credentials *path* and profile.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::fleet::placement::Placement;

/// Every variable of `terraform/datacrunch/variables.tf`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TfVars {
    pub datacrunch_server_url: String,
    pub datacrunch_credentials_file: String,
    pub datacrunch_credentials_profile: String,
    pub datacrunch_nodes: BTreeMap<String, NodeVars>,
    pub datacrunch_image: String,
    pub datacrunch_is_spot: bool,
    pub datacrunch_keep_volumes: bool,
    pub datacrunch_ssh_key_name: String,
    pub datacrunch_ssh_key_id: String,
    pub datacrunch_ssh_public_key: String,
    pub datacrunch_project_id: String,
    pub ssh_config_user: String,
    /// The text of CONFIG_TERRAFORM_DATACRUNCH_STARTUP_SCRIPT_FILE; empty: none.
    pub datacrunch_startup_script: String,
    /// The cluster of cluster mode (`null`: none, the instances path).
    pub datacrunch_cluster: Option<ClusterVars>,
}

/// `datacrunch_cluster`: the one cluster of cluster mode.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ClusterVars {
    pub hostname: String,
    pub cluster_type: String,
    pub image: String,
    /// `None`: the API's default location.
    pub location: Option<String>,
    pub shared_volume_gb: u32,
    /// The cluster's expiry tag value (RFC 3339), as a node's.
    pub expires_at: String,
}

/// One node's entry in `datacrunch_nodes`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NodeVars {
    pub instance_type: String,
    pub location: String,
    pub image: String,
    /// The node's expiry tag value (RFC 3339); empty: no tag (not decided yet).
    pub expires_at: String,
}

impl TfVars {
    pub fn set_nodes(&mut self, placements: &BTreeMap<String, Placement>) {
        self.datacrunch_nodes = placements
            .iter()
            .map(|(n, p)| {
                let node = NodeVars {
                    instance_type: p.instance_type.clone(),
                    location: p.location.clone(),
                    image: self.datacrunch_image.clone(),
                    expires_at: String::new(),
                };
                (n.clone(), node)
            })
            .collect();
    }

    /// A running node keeps the image it was created with, whatever .config says now.
    pub fn keep_image(&mut self, node: &str, image: &str) {
        if let Some(n) = self.datacrunch_nodes.get_mut(node) {
            n.image = image.to_owned();
        }
    }

    /// Sets the expiry tag a node carries.
    pub fn set_expiry(&mut self, node: &str, expires_at: String) {
        if let Some(n) = self.datacrunch_nodes.get_mut(node) {
            n.expires_at = expires_at;
        }
    }

    /// Writes the file (pretty, stable key order: diffs stay readable).
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        crate::atomic_write::write(path, &text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_per_node_types_and_no_secret() {
        let mut vars = TfVars {
            datacrunch_server_url: "http://127.0.0.1:1/v1".into(),
            datacrunch_credentials_file: "/p/.local/emulator/credentials".into(),
            datacrunch_credentials_profile: "emulator".into(),
            datacrunch_nodes: BTreeMap::new(),
            datacrunch_image: "ubuntu-24.04".into(),
            datacrunch_is_spot: false,
            datacrunch_keep_volumes: true,
            datacrunch_ssh_key_name: "k".into(),
            datacrunch_ssh_key_id: String::new(),
            datacrunch_ssh_public_key: "ssh-ed25519 AAAA".into(),
            datacrunch_project_id: "0b9e6c1e-5c1f-4d38-9a36-2f4f1c1d7e11".into(),
            ssh_config_user: "root".into(),
            datacrunch_startup_script: String::new(),
            datacrunch_cluster: None,
        };
        let placements: BTreeMap<_, _> = [
            (
                "a".to_string(),
                Placement {
                    instance_type: "1V100.6V".into(),
                    location: "FIN-01".into(),
                },
            ),
            (
                "b".to_string(),
                Placement {
                    instance_type: "1A100.22V".into(),
                    location: "FIN-03".into(),
                },
            ),
        ]
        .into();
        vars.set_nodes(&placements);
        let json: serde_json::Value = serde_json::to_value(&vars).unwrap();
        assert_eq!(json["datacrunch_nodes"]["b"]["instance_type"], "1A100.22V");
        assert_eq!(json["datacrunch_nodes"]["a"]["location"], "FIN-01");
        assert_eq!(json["datacrunch_nodes"]["a"]["image"], "ubuntu-24.04");
        vars.keep_image("a", "ubuntu-22.04");
        let json = serde_json::to_value(&vars).unwrap();
        assert_eq!(json["datacrunch_nodes"]["a"]["image"], "ubuntu-22.04");
        assert_eq!(json["datacrunch_nodes"]["b"]["image"], "ubuntu-24.04");
        assert_eq!(json["datacrunch_keep_volumes"], true);
        let text = json.to_string();
        assert!(!text.contains("secret"), "{text}");
        assert_eq!(json["datacrunch_cluster"], serde_json::Value::Null);
    }
}
