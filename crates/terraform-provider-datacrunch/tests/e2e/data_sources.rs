//! The data sources end to end, read by a real Terraform from the emulator.

use test_support::datacrunch::*;

const CONFIG: &str = r#"
provider "datacrunch" {}

data "datacrunch_instance_types" "all" {}
data "datacrunch_instance_types" "h100" {
  gpu_model          = "h100"
  min_gpus           = 2
  max_price_per_hour = 10
}
data "datacrunch_images" "all" {}
data "datacrunch_images" "v100" {
  instance_type = "1V100.6V"
}
data "datacrunch_locations" "all" {}
data "datacrunch_instance_availability" "fin01" {
  location_code = "FIN-01"
}
data "datacrunch_offer" "tier" {
  tier_group = "H100_OR_LESS"
  locations  = ["ICE-01", "FIN-01"]
}
data "datacrunch_offer" "capped" {
  instance_types     = ["1B300.30V", "1H100.80S.30V", "1V100.6V"]
  max_price_per_hour = 1
}

output "all_types" { value = data.datacrunch_instance_types.all.instance_types }
output "h100_types" { value = data.datacrunch_instance_types.h100.instance_types }
output "images" { value = data.datacrunch_images.all.images }
output "v100_images" { value = data.datacrunch_images.v100.images }
output "locations" { value = data.datacrunch_locations.all.locations }
output "availability" { value = data.datacrunch_instance_availability.fin01.availability }
output "tier" { value = data.datacrunch_offer.tier }
output "capped" { value = data.datacrunch_offer.capped }
"#;

fn outputs(ws: &EmulatedWorkspace) -> serde_json::Value {
    let out = ws.ok(&["output", "-json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, o)| (k.clone(), o["value"].clone()))
        .collect()
}

#[test]
fn catalog_data_sources_are_filled_and_filtered() {
    let emu = emulator();
    let ws = EmulatedWorkspace::new(&terraform(), &emu);
    ws.write(CONFIG);
    ws.init();
    ws.apply();
    let o = outputs(&ws);

    // Instance types: every attribute filled from the catalog, none left empty.
    let all = o["all_types"].as_array().unwrap();
    assert!(all.len() > 20, "{}", all.len());
    let h100 = all
        .iter()
        .find(|t| t["instance_type"] == "1H100.80S.30V")
        .unwrap();
    assert_eq!(h100["cpu"], "30 CPU");
    assert_eq!(h100["cpu_cores"], 30);
    assert_eq!(h100["gpu_count"], 1);
    assert!(h100["gpu"].as_str().unwrap().contains("H100"), "{h100}");
    assert!(h100["memory"].as_u64().unwrap() >= 100);
    assert_eq!(h100["gpu_memory"], 80);
    assert!(h100["price_per_hour"].as_f64().unwrap() > 0.0);
    assert!(h100["spot_price"].as_f64().unwrap() > 0.0);

    // Filters: H100 with at least 2 GPUs and at most 10/h.
    let filtered = o["h100_types"].as_array().unwrap();
    assert!(!filtered.is_empty());
    for t in filtered {
        assert!(t["gpu"].as_str().unwrap().contains("H100"), "{t}");
        assert!(t["gpu_count"].as_u64().unwrap() >= 2, "{t}");
        assert!(t["price_per_hour"].as_f64().unwrap() <= 10.0, "{t}");
    }

    // Images, and the per-type filter.
    let images = o["images"].as_array().unwrap();
    assert!(images
        .iter()
        .any(|i| i["image_type"] == "ubuntu-24.04-cuda-12.8-open-docker"));
    let v100 = o["v100_images"].as_array().unwrap();
    assert!(!v100.is_empty() && v100.len() < images.len());
    assert!(v100
        .iter()
        .all(|i| i["id"].is_string() && i["name"].is_string()));

    // Locations: country filled with the country code (the original left it null).
    let locations = o["locations"].as_array().unwrap();
    let fin = locations.iter().find(|l| l["code"] == "FIN-01").unwrap();
    assert_eq!(fin["country"], "FI");
    assert_eq!(fin["country_code"], "FI");
    assert_eq!(fin["name"], "Finland 1");

    // Availability in FIN-01 only, both kinds.
    let avail = o["availability"].as_array().unwrap();
    assert!(!avail.is_empty());
    assert!(avail.iter().all(|a| a["location_code"] == "FIN-01"));
    assert!(avail.iter().any(|a| a["on_demand"] == true));

    // Offer: the first H100_OR_LESS type with capacity, in the first allowed location.
    let tier = &o["tier"];
    assert_eq!(tier["instance_type"], "1H100.80S.30V", "{tier}");
    assert_eq!(tier["location"], "ICE-01", "{tier}");
    assert_eq!(tier["candidates"][0], "1H100.80S.30V");
    // Capped: the expensive ones are skipped with the reason.
    let capped = &o["capped"];
    assert_eq!(capped["instance_type"], "1V100.6V", "{capped}");
    let skipped = capped["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 2, "{capped}");
    assert!(
        skipped[0]["reason"]
            .as_str()
            .unwrap()
            .contains("over the cap"),
        "{capped}"
    );

    ws.assert_no_changes();
}

#[test]
fn offer_without_capacity_fails_the_plan_with_every_reason() {
    let emu = emulator();
    for loc in ["FIN-01", "FIN-02", "FIN-03", "ICE-01"] {
        for t in ["1H100.80S.30V", "1H100.80S.32V"] {
            let _ = emu.admin.set_capacity(t, loc, false, 0);
        }
    }
    let ws = EmulatedWorkspace::new(&terraform(), &emu);
    ws.write(
        r#"
provider "datacrunch" {}
data "datacrunch_offer" "h100" {
  tier_group = "ANY_1H100"
}
"#,
    );
    ws.init();
    let text = flat(&ws.fails(&["plan", "-input=false", "-no-color"]));
    assert!(text.contains("No instance type with capacity"), "{text}");
    assert!(text.contains("1H100.80S.30V: no capacity"), "{text}");
    assert!(text.contains("1H100.80S.32V: no capacity"), "{text}");
}
