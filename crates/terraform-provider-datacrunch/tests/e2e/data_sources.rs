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

const MONEY: &str = r#"
provider "datacrunch" {}

data "datacrunch_balance" "now" {}
data "datacrunch_instance_types" "all" {}
data "datacrunch_instance_type_price_history" "h100" {
  instance_type = "1H100.80S.30V"
  num_of_months = 3
}
data "datacrunch_instance_type_price_history" "eur" {
  currency = "eur"
}
data "datacrunch_long_term_periods" "all" {}
data "datacrunch_long_term_periods" "clusters" {
  offered_for = "clusters"
}

output "balance" { value = data.datacrunch_balance.now }
output "types" { value = data.datacrunch_instance_types.all.instance_types }
output "h100_history" { value = data.datacrunch_instance_type_price_history.h100.price_history }
output "eur_history" { value = data.datacrunch_instance_type_price_history.eur.price_history }
output "periods" { value = data.datacrunch_long_term_periods.all.periods }
output "cluster_periods" { value = data.datacrunch_long_term_periods.clusters.periods }
"#;

/// A Terraform number and an API price are the same amount.
fn same_amount(tf: &serde_json::Value, api: &datacrunch_models::Price) -> bool {
    tf.as_f64() == Some(api.to_f64())
}

#[test]
fn balance_prices_and_long_term_periods_match_the_api() {
    let emu = emulator();
    let client = api(&emu);
    let ws = EmulatedWorkspace::new(&terraform(), &emu);
    ws.write(MONEY);
    ws.init();
    ws.apply();
    let o = outputs(&ws);

    // No instance runs, so the balance does not move between the two reads.
    let balance = block_on(client.balance()).unwrap();
    assert!(
        same_amount(&o["balance"]["amount"], &balance.amount),
        "{}",
        o["balance"]
    );
    assert_eq!(o["balance"]["currency"], balance.currency);

    // Spot and dynamic prices as the API gives them, for every type.
    let api_types = block_on(client.instance_types(None)).unwrap();
    let types = o["types"].as_array().unwrap();
    assert_eq!(types.len(), api_types.len());
    for (tf, api) in types.iter().zip(&api_types) {
        assert_eq!(tf["instance_type"], api.instance_type.as_str());
        for (field, price) in [
            ("spot_price", &api.spot_price),
            ("dynamic_price", &api.dynamic_price),
            ("max_dynamic_price", &api.max_dynamic_price),
        ] {
            let price = price.as_ref().unwrap();
            assert!(same_amount(&tf[field], price), "{field} of {tf}");
        }
    }

    // Price history: one type, three months, oldest first, exactly the API's points.
    let api_history = block_on(client.instance_type_price_history(Some(3), None)).unwrap();
    let h100 = o["h100_history"].as_array().unwrap();
    let api_h100 = &api_history["1H100.80S.30V"];
    assert_eq!(h100.len(), 3, "{h100:?}");
    for (tf, api) in h100.iter().zip(api_h100) {
        assert_eq!(tf["instance_type"], "1H100.80S.30V");
        assert_eq!(tf["date"], api.date.as_str());
        assert!(same_amount(
            &tf["fixed_price_per_hour"],
            &api.fixed_price_per_hour
        ));
        assert!(same_amount(
            &tf["dynamic_price_per_hour"],
            &api.dynamic_price_per_hour
        ));
        assert_eq!(tf["currency"], "usd");
    }
    let eur = o["eur_history"].as_array().unwrap();
    assert_eq!(
        eur.len(),
        api_types.len(),
        "one month of every type by default"
    );
    assert!(eur.iter().all(|p| p["currency"] == "eur"));

    // Long-term periods: all of them, and those offered for clusters.
    for (output, scope) in [
        ("periods", datacrunch_models::LongTermScope::All),
        (
            "cluster_periods",
            datacrunch_models::LongTermScope::Clusters,
        ),
    ] {
        let api_periods = block_on(client.long_term_periods(scope)).unwrap();
        let tf = o[output].as_array().unwrap();
        assert_eq!(tf.len(), api_periods.len(), "{output}");
        for (tf, api) in tf.iter().zip(&api_periods) {
            assert_eq!(tf["code"], api.code.as_str());
            assert_eq!(tf["name"], api.name.as_str());
            assert_eq!(tf["is_enabled"], api.is_enabled);
            assert_eq!(tf["unit_name"], api.unit_name.as_str());
            assert_eq!(tf["unit_value"].as_f64(), Some(api.unit_value));
            assert_eq!(
                tf["discount_percentage"].as_f64(),
                Some(api.discount_percentage)
            );
        }
    }
    assert!(
        o["cluster_periods"].as_array().unwrap().len() < o["periods"].as_array().unwrap().len()
    );
    ws.assert_no_changes();
}

const FLEET: &str = r#"
provider "datacrunch" {}

data "datacrunch_instances" "all" {}
data "datacrunch_instances" "running" {
  status = "running"
}
data "datacrunch_instances" "web_ml" {
  hostname_prefix = "web-"
  tag             = { team = "ml" }
}
data "datacrunch_volumes" "all" {}
data "datacrunch_volumes" "of_db" {
  instance_id = "DB_ID"
}
data "datacrunch_volumes" "tagged" {
  tag = { keep = "yes" }
}

output "all" { value = data.datacrunch_instances.all.instances }
output "running" { value = data.datacrunch_instances.running.instances }
output "web_ml" { value = data.datacrunch_instances.web_ml.instances }
output "volumes" { value = data.datacrunch_volumes.all.volumes }
output "of_db" { value = data.datacrunch_volumes.of_db.volumes }
output "tagged" { value = data.datacrunch_volumes.tagged.volumes }
"#;

fn tag(key: &str, value: &str) -> datacrunch_models::Tag {
    datacrunch_models::Tag {
        key: key.into(),
        value: Some(value.into()),
    }
}

#[test]
fn instances_and_volumes_are_listed_and_filtered() {
    use datacrunch_models::{
        CreateVolumeRequest, DeployInstanceRequest, InstanceAction, InstanceActionRequest,
    };
    let emu = emulator();
    let client = api(&emu);
    let deploy = |hostname: &str, team: &str| {
        let request = DeployInstanceRequest {
            location_code: Some("FIN-01".into()),
            tags: vec![tag("team", team)],
            ..DeployInstanceRequest::new(
                "1V100.6V",
                "ubuntu-22.04-cuda-12.0-docker",
                hostname,
                "listed",
            )
        };
        block_on(client.deploy_instance(&request)).unwrap()
    };
    let web1 = deploy("web-1", "ml");
    let _web2 = deploy("web-2", "ops");
    let db = deploy("db-1", "ml");
    // Past provisioning on the virtual clock, then one of them shut down.
    emu.admin
        .advance_clock(std::time::Duration::from_secs(3600));
    block_on(client.instance_action(&InstanceActionRequest {
        action: InstanceAction::Shutdown,
        id: vec![db.clone()],
        volume_ids: None,
        delete_permanently: None,
    }))
    .unwrap();
    emu.admin.advance_clock(std::time::Duration::from_secs(600));
    let data = block_on(client.create_volume(&CreateVolumeRequest {
        volume_type: "NVMe".into(),
        name: "scratch".into(),
        size: 50,
        instance_id: None,
        instance_ids: Vec::new(),
        location_code: Some("FIN-01".into()),
        on_spot_discontinue: None,
        tags: vec![tag("keep", "yes")],
    }))
    .unwrap();

    let ws = EmulatedWorkspace::new(&terraform(), &emu);
    ws.write(&FLEET.replace("DB_ID", &db));
    ws.init();
    ws.apply();
    let o = outputs(&ws);
    let ids = |name: &str| -> Vec<String> {
        o[name]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect()
    };

    // Every instance, oldest first, with the API's values.
    let api_instances = block_on(client.instances(None)).unwrap();
    let all = o["all"].as_array().unwrap();
    assert_eq!(all.len(), 3);
    for tf in all {
        let api = api_instances
            .iter()
            .find(|i| tf["id"] == i.id.as_str())
            .unwrap();
        assert_eq!(tf["hostname"], api.hostname.as_str());
        assert_eq!(tf["status"], api.status.as_str());
        assert_eq!(tf["instance_type"], "1V100.6V");
        assert_eq!(tf["location"], "FIN-01");
        assert_eq!(tf["ip"].as_str(), api.ip.as_deref());
        assert_eq!(tf["os_volume_id"].as_str(), api.os_volume_id.as_deref());
        assert!(same_amount(&tf["price_per_hour"], &api.price_per_hour));
        assert_eq!(tf["tags"]["team"], api.tags[0].value.as_deref().unwrap());
    }
    let running = ids("running");
    assert_eq!(running.len(), 2, "{running:?}");
    assert!(!running.contains(&db));
    assert_eq!(ids("web_ml"), [web1]);

    // Volumes: the three OS volumes and the new one; by instance; by tag.
    let api_volumes = block_on(client.volumes(None)).unwrap();
    let volumes = o["volumes"].as_array().unwrap();
    assert_eq!(volumes.len(), api_volumes.len());
    assert_eq!(volumes.len(), 4);
    let scratch = volumes.iter().find(|v| v["id"] == data.as_str()).unwrap();
    assert_eq!(scratch["name"], "scratch");
    assert_eq!(scratch["size"], 50);
    assert_eq!(scratch["type"], "NVMe");
    assert_eq!(scratch["is_os_volume"], false);
    assert!(scratch["instance_id"].is_null());
    let of_db = o["of_db"].as_array().unwrap();
    assert_eq!(of_db.len(), 1, "{of_db:?}");
    assert_eq!(of_db[0]["is_os_volume"], true);
    assert_eq!(ids("tagged"), [data]);
    ws.assert_no_changes();
}

#[test]
fn bad_filter_values_fail_the_plan_naming_what_was_meant() {
    let emu = emulator();
    let ws = EmulatedWorkspace::new(&terraform(), &emu);
    ws.write(
        r#"
provider "datacrunch" {}
data "datacrunch_instances" "x" {
  status = "runing"
}
data "datacrunch_volumes" "x" {
  status = "atached"
}
data "datacrunch_instance_type_price_history" "x" {
  currency = "usdd"
}
data "datacrunch_long_term_periods" "x" {
  offered_for = "instance"
}
"#,
    );
    ws.init();
    let text = flat(&ws.fails(&["plan", "-input=false", "-no-color"]));
    for expected in [
        r#""runing" is not a known instance status. Did you mean "running"?"#,
        r#""atached" is not a known volume status. Did you mean "attached"?"#,
        r#""usdd" is not a known currency. Did you mean "usd"?"#,
        r#"Did you mean "instances"?"#,
    ] {
        assert!(text.contains(expected), "{expected}\n{text}");
    }
    // The valid statuses are listed.
    assert!(
        text.contains("offline") && text.contains("provisioning"),
        "{text}"
    );
    assert!(!emu.admin.counters().contains_key("GET /v1/instances"));

    // An unknown instance type in the price history fails with a suggestion too.
    ws.write(
        r#"
provider "datacrunch" {}
data "datacrunch_instance_type_price_history" "x" {
  instance_type = "1H100.80S.30"
}
"#,
    );
    let text = flat(&ws.fails(&["plan", "-input=false", "-no-color"]));
    assert!(text.contains(r#"Did you mean "1H100.80S.30V"?"#), "{text}");
}
