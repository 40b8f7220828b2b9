//! kdevops' HCL for the original provider (terraform/datacrunch at kdevops 4b6bbb7),
//! unchanged except that the credentials come from variables instead of the
//! `hashicorp/external` data source (no second provider offline): it plans, applies,
//! produces the outputs kdevops reads, and destroys.

use test_support::datacrunch::*;

const KDEVOPS_HCL: &str = r#"
variable "datacrunch_server_url" { type = string }
variable "datacrunch_client_id" { type = string }
variable "datacrunch_client_secret" {
  type      = string
  sensitive = true
}
variable "datacrunch_location" { default = "FIN-01" }
variable "datacrunch_instance_type" { default = "1H100.80S.30V" }
variable "datacrunch_image" { default = "ubuntu-24.04-cuda-12.8-open-docker" }
variable "datacrunch_ssh_key_name" { default = "kdevops-datacrunch-0123abcd" }
variable "datacrunch_ssh_key_id" { default = "" }
variable "ssh_config_pubkey_file" { type = string }
variable "kdevops_nodes" { default = ["kdevops-1", "kdevops-2"] }

provider "datacrunch" {
  server_url    = var.datacrunch_server_url
  client_id     = var.datacrunch_client_id
  client_secret = var.datacrunch_client_secret
}

locals {
  ssh_user_map = {
    "ubuntu-24.04-cuda-12.8-open-docker" = "root"
  }
}

resource "datacrunch_ssh_key" "kdevops" {
  count      = var.datacrunch_ssh_key_id == "" ? 1 : 0
  name       = var.datacrunch_ssh_key_name
  public_key = file(pathexpand(var.ssh_config_pubkey_file))
}

resource "datacrunch_instance" "kdevops" {
  for_each      = toset(var.kdevops_nodes)
  hostname      = each.value
  description   = "kdevops node ${each.value}"
  location_code = var.datacrunch_location
  instance_type = var.datacrunch_instance_type
  image         = var.datacrunch_image
  ssh_key_ids   = var.datacrunch_ssh_key_id != "" ? [var.datacrunch_ssh_key_id] : [datacrunch_ssh_key.kdevops[0].id]
}

output "controller_ip_map" {
  value = { for k, v in datacrunch_instance.kdevops : k => v.ip }
}

output "instance_details" {
  value = {
    for k, v in datacrunch_instance.kdevops : k => {
      id           = v.id
      ip           = v.ip
      status       = v.status
      os_volume_id = v.os_volume_id
    }
  }
}

output "datacrunch_info" {
  value = {
    location      = var.datacrunch_location
    instance_type = var.datacrunch_instance_type
    image         = var.datacrunch_image
    ssh_user      = local.ssh_user_map[var.datacrunch_image]
  }
}
"#;

#[test]
fn kdevops_original_hcl_runs_unchanged() {
    for tf in terraforms() {
        let emu = emulator();
        let mut ws = EmulatedWorkspace::new(&tf, &emu);
        ws.remove_env(|k| k.starts_with("DATACRUNCH_"));
        let pubkey = ws.root().join("id.pub");
        std::fs::write(&pubkey, format!("{PUBKEY}\n")).unwrap();
        ws.set_env("TF_VAR_datacrunch_server_url", &emu.base_url);
        ws.set_env("TF_VAR_datacrunch_client_id", &emu.client_id);
        ws.set_env("TF_VAR_datacrunch_client_secret", &emu.client_secret);
        ws.set_env(
            "TF_VAR_ssh_config_pubkey_file",
            &pubkey.display().to_string(),
        );
        ws.write(KDEVOPS_HCL);
        ws.init();
        ws.apply();
        let out: serde_json::Value = serde_json::from_str(&ws.ok(&["output", "-json"])).unwrap();
        let ips = &out["controller_ip_map"]["value"];
        for node in ["kdevops-1", "kdevops-2"] {
            assert!(ips[node].as_str().unwrap().starts_with("127."), "{ips}");
            let d = &out["instance_details"]["value"][node];
            assert_eq!(d["status"], "running");
            assert!(d["os_volume_id"].is_string(), "{d}");
        }
        assert_eq!(out["datacrunch_info"]["value"]["ssh_user"], "root");
        // The key file ends in a newline; that is the same key, not a change.
        ws.assert_no_changes();
        ws.destroy();
        assert!(live_instances(&emu).is_empty());
    }
}
