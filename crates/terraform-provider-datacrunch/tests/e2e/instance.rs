//! `datacrunch_instance` and `datacrunch_ssh_key` end to end: real Terraform, the
//! emulator, and the state compared with what the emulator holds.

use test_support::datacrunch::*;

fn config(hostnames: &[&str], extra: &str) -> String {
    let nodes = hostnames
        .iter()
        .map(|h| format!("\"{h}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#"
provider "datacrunch" {{}}

resource "datacrunch_ssh_key" "k" {{
  name       = "e2e-key"
  public_key = "{PUBKEY}"
}}

resource "datacrunch_instance" "n" {{
  for_each      = toset([{nodes}])
  hostname      = each.key
  description   = "e2e node ${{each.key}}"
  image         = "ubuntu-24.04-cuda-12.8-open-docker"
  instance_type = "1H100.80S.30V"
  location_code = "FIN-01"
  ssh_key_ids   = [datacrunch_ssh_key.k.id]
  {extra}
  timeouts {{
    create = "2m"
    delete = "2m"
  }}
}}

output "controller_ip_map" {{
  value = {{ for name, node in datacrunch_instance.n : name => node.ip }}
}}
"#
    )
}

#[test]
fn create_plan_clean_destroy_on_every_terraform() {
    for tf in terraforms() {
        let emu = emulator();
        let ws = EmulatedWorkspace::new(&tf, &emu);
        ws.write(&config(&["e2e-a", "e2e-b"], ""));
        ws.init();
        ws.apply();

        // State matches the emulator: two running instances with IPs, one key.
        let live = live_instances(&emu);
        assert_eq!(live.len(), 2, "{live:#?}");
        for host in ["e2e-a", "e2e-b"] {
            let v = ws.values(&format!("datacrunch_instance.n[\"{host}\"]"));
            let api = live.iter().find(|i| i["hostname"] == host).unwrap();
            assert_eq!(v["id"], api["id"]);
            assert_eq!(v["status"], "running");
            assert_eq!(v["ip"], api["ip"]);
            assert!(v["ip"].as_str().unwrap().starts_with("127."));
            assert_eq!(v["location"], "FIN-01");
            assert_eq!(v["location_code"], "FIN-01");
            assert_eq!(v["gpu"]["count"], 1);
            assert!(v["cpu"]["cores"].as_u64().unwrap() > 0);
            assert!(v["memory"]["size_gb"].as_u64().unwrap() > 0);
            assert!(v["price_per_hour"].as_f64().unwrap() > 0.0);
            assert!(v["os_volume_id"].is_string());
            assert_eq!(v["delete_os_volume_on_destroy"], true);
            // The create token never shows as a user tag.
            assert!(v["tags"].is_null(), "{}", v["tags"]);
        }
        let key = ws.values("datacrunch_ssh_key.k");
        assert!(key["id"].as_str().unwrap().len() >= 36);

        // Refresh reads share one list call instead of a get per instance.
        emu.admin.reset_counters();
        ws.assert_no_changes();
        assert!(
            emu.admin.count("GET /v1/instances") <= 2,
            "{:?}",
            emu.admin.counters()
        );
        assert_eq!(
            emu.admin.count("GET /v1/instances/{id}"),
            0,
            "{:?}",
            emu.admin.counters()
        );

        ws.destroy();
        assert!(
            live_instances(&emu).is_empty(),
            "instances left after destroy"
        );
        assert!(ws.resources().is_empty());
    }
}

/// `terraform plan` shows what each node costs: `price_per_hour` and `currency` are known
/// at plan time from the catalog (the spot price for a spot node), and the apply keeps
/// exactly the planned price.
#[test]
fn plan_shows_the_price_per_hour_of_each_node() {
    let tf = terraform();
    let emu = emulator();
    let ws = EmulatedWorkspace::new(&tf, &emu);
    ws.write(&format!(
        "{}\n{}",
        config(&["e2e-demand"], ""),
        r#"
resource "datacrunch_instance" "spot" {
  hostname      = "e2e-spot"
  description   = "e2e spot node"
  image         = "ubuntu-24.04-cuda-12.8-open-docker"
  instance_type = "1H100.80S.30V"
  location_code = "FIN-01"
  ssh_key_ids   = [datacrunch_ssh_key.k.id]
  is_spot       = true
}
"#
    ));
    ws.init();
    let catalog = block_on(api(&emu).instance_types(None)).unwrap();
    let h100 = catalog
        .iter()
        .find(|t| t.instance_type == "1H100.80S.30V")
        .unwrap();
    let on_demand = h100.price_per_hour.to_f64();
    let spot = h100.spot_price.as_ref().unwrap().to_f64();
    assert_ne!(on_demand, spot, "the test needs distinct prices");

    ws.ok(&["plan", "-out=tfplan", "-input=false", "-no-color"]);
    let plan: serde_json::Value =
        serde_json::from_str(&ws.ok(&["show", "-json", "tfplan"])).unwrap();
    let planned = |address: &str| {
        plan["resource_changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["address"] == address)
            .unwrap_or_else(|| panic!("{address} not in the plan"))["change"]["after"]
            .clone()
    };
    let demand = planned("datacrunch_instance.n[\"e2e-demand\"]");
    assert_eq!(
        demand["price_per_hour"].as_f64(),
        Some(on_demand),
        "{demand}"
    );
    assert_eq!(demand["currency"], "usd");
    let spot_plan = planned("datacrunch_instance.spot");
    assert_eq!(
        spot_plan["price_per_hour"].as_f64(),
        Some(spot),
        "{spot_plan}"
    );
    let text = ws.ok(&["show", "-no-color", "tfplan"]);
    assert!(
        text.contains(&format!("price_per_hour              = {on_demand}")),
        "{text}"
    );

    ws.ok(&["apply", "-input=false", "-no-color", "tfplan"]);
    let applied = ws.values("datacrunch_instance.spot");
    assert_eq!(applied["price_per_hour"].as_f64(), Some(spot));
    assert_eq!(applied["currency"], "usd");
    ws.assert_no_changes();
    ws.destroy();
}

/// An instance stuck so that the API refuses a normal delete goes with `terraform
/// destroy` all the same: at once when it is in `error`, after half the delete timeout
/// when it stays `provisioning`; each with a warning that says how it went.
#[test]
fn destroy_removes_stuck_instances_with_delete_stuck() {
    use datacrunch_models::InstanceStatus;
    let tf = terraform();
    let emu = emulator();
    let ws = EmulatedWorkspace::new(&tf, &emu);
    ws.write(
        &config(&["e2e-hung", "e2e-broken"], "").replace("delete = \"2m\"", "delete = \"10s\""),
    );
    ws.init();
    ws.apply();
    for (host, status) in [
        ("e2e-hung", InstanceStatus::Provisioning),
        ("e2e-broken", InstanceStatus::Error),
    ] {
        let id = ws.values(&format!("datacrunch_instance.n[\"{host}\"]"))["id"]
            .as_str()
            .unwrap()
            .to_owned();
        emu.admin.make_stuck(&id, status).unwrap();
    }

    let text = flat(&ws.destroy());
    for status in ["provisioning", "error"] {
        assert!(
            text.contains(&format!("was stuck in status \"{status}\"")),
            "{text}"
        );
    }
    assert!(text.contains("delete_stuck action"), "{text}");
    assert_eq!(live_instances(&emu), Vec::<serde_json::Value>::new());
    assert!(
        emu.admin.count("PUT /v1/instances") >= 4,
        "a refused delete and a delete_stuck for each"
    );
}
