//! Tier fallback against the emulator's capacity controls: tiers without capacity are
//! skipped with the reason printed; a node that loses capacity (refused at deploy, or
//! accepted and then `no_capacity`) moves alone to the next tier; healthy nodes stay.

use crate::common::Project;
use serde_json::Value;

const H100_30V: &str = "1H100.80S.30V";
const H100_32V: &str = "1H100.80S.32V";

fn by_name(nodes: &[Value]) -> std::collections::BTreeMap<String, (String, String)> {
    nodes
        .iter()
        .map(|n| {
            (
                n["name"].as_str().unwrap().to_owned(),
                (
                    n["id"].as_str().unwrap().to_owned(),
                    n["instance_type"].as_str().unwrap().to_owned(),
                ),
            )
        })
        .collect()
}

/// Starts the emulator (through `catalog`) and returns the catalog rows.
fn catalog(p: &Project) -> Vec<Value> {
    let out = p.ok(&["catalog", "--json"]);
    serde_json::from_str(&out[out.find('[').unwrap()..]).unwrap()
}

fn set_capacity(p: &Project, instance_type: &str, location: &str, total: u32) {
    p.admin_put(
        "capacity",
        &format!(r#"{{"instance_type":"{instance_type}","location_code":"{location}","is_spot":false,"total":{total}}}"#),
    );
}

#[test]
fn tiers_without_capacity_are_skipped_with_reasons() {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    p.set("KDEVOPS_NODE_COUNT=2");
    let rows = catalog(&p);
    for t in [H100_30V, H100_32V] {
        let row = rows
            .iter()
            .find(|r| r["instance_type"] == t)
            .expect("type in catalog");
        for loc in row["on_demand_locations"].as_array().unwrap() {
            set_capacity(&p, t, loc.as_str().unwrap(), 0);
        }
    }
    let after = catalog(&p);
    let next = after
        .iter()
        .find(|r| r["instance_type"] == "1A100.22V")
        .expect("A100 80GB in the catalog");
    assert!(
        !next["on_demand_locations"].as_array().unwrap().is_empty(),
        "{next}"
    );

    // kdevops' select-tier: TYPE LOCATION on stdout, the reasons on stderr.
    let pick = p.run(&["select-tier", "h100-or-less"]);
    assert!(pick.status.success(), "{}", crate::common::text(&pick));
    let stdout = String::from_utf8_lossy(&pick.stdout);
    assert!(stdout.starts_with("1A100.22V FIN-"), "{stdout}");
    assert!(String::from_utf8_lossy(&pick.stderr).contains(&format!("skipping {H100_30V}")));
    let excluded = p.run(&["select-tier", "H100_OR_LESS", "--exclude", "1A100.22V"]);
    let stdout = String::from_utf8_lossy(&excluded.stdout);
    assert!(
        stdout.starts_with("1A100.40S.22V "),
        "{}",
        crate::common::text(&excluded)
    );
    let out = p.ok(&["bringup"]);
    for t in [H100_30V, H100_32V] {
        assert!(
            out.contains(&format!(
                "skipping {t} (on-demand): no capacity in any location"
            )),
            "{out}"
        );
    }
    assert!(out.contains("selected 1A100.22V"), "{out}");
    for (_, (_, t)) in by_name(&p.status()) {
        assert_eq!(t, "1A100.22V");
    }
    p.ok(&["destroy"]);
}

#[test]
fn a_refused_deploy_moves_only_that_node() {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    catalog(&p);
    // Room for two of the three nodes on the first tier, in the first location.
    set_capacity(&p, H100_30V, "FIN-01", 2);
    let out = p.ok(&["bringup"]);
    assert!(
        out.contains(&format!(
            "no capacity for {H100_30V} in FIN-01; excluding it and retrying this node only"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("skipping {H100_30V} (on-demand): excluded")),
        "{out}"
    );
    let nodes = by_name(&p.status());
    assert_eq!(nodes.len(), 3);
    let on_first: Vec<_> = nodes.values().filter(|(_, t)| t == H100_30V).collect();
    let on_next: Vec<_> = nodes.values().filter(|(_, t)| t == H100_32V).collect();
    assert_eq!((on_first.len(), on_next.len()), (2, 1), "{nodes:?}");
    p.ok(&["destroy"]);
}

#[test]
fn a_late_no_capacity_moves_only_that_node() {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    p.set("KDEVOPS_NODE_COUNT=2");
    p.ok(&["bringup"]);
    let before = by_name(&p.status());
    assert!(before.values().all(|(_, t)| t == H100_30V), "{before:?}");

    // New deploys of the first tier are accepted, then end in no_capacity.
    p.admin_put(
        "no-capacity-late",
        &format!(r#"{{"instance_type":"{H100_30V}","location_code":"FIN-01"}}"#),
    );
    p.set("KDEVOPS_NODE_COUNT=3");
    let out = p.ok(&["bringup"]);
    assert!(
        out.contains(&format!("kdevops-2: no capacity for {H100_30V} in FIN-01")),
        "{out}"
    );
    // The failed first try of kdevops-2 stayed in state, tainted, and the fallback
    // replaced it: exactly one live instance per node, no orphan.
    let live = p.status();
    assert_eq!(live.len(), 3, "{live:#?}");
    let after = by_name(&live);
    let (code, plan) = p.terraform_plan_exit_code();
    assert_eq!(code, 0, "{plan}");
    assert_eq!(
        after["kdevops-0"], before["kdevops-0"],
        "a healthy node was touched"
    );
    assert_eq!(
        after["kdevops-1"], before["kdevops-1"],
        "a healthy node was touched"
    );
    assert_eq!(after["kdevops-2"].1, H100_32V);

    // A changed .config never replaces running nodes; bringup says how to change them.
    p.set("TERRAFORM_DATACRUNCH_INSTANCE_TYPE=\"1V100.6V\"");
    let out = p.ok(&["bringup"]);
    assert!(
        out.contains(&format!(
            "kdevops-0: keep {H100_30V} in FIN-01 (differs from .config"
        )),
        "{out}"
    );
    assert_eq!(by_name(&p.status()), after);

    // A changed image replaces nothing either: running nodes keep theirs, and say so.
    p.set("TERRAFORM_DATACRUNCH_IMAGE=\"ubuntu-22.04-cuda-12.8-open\"");
    let out = p.ok(&["bringup"]);
    assert!(
        out.contains("kdevops-0 keeps image ubuntu-24.04-cuda-12.8-open-docker; new nodes get ubuntu-22.04-cuda-12.8-open"),
        "{out}"
    );
    assert!(!out.contains("will replace"), "{out}");
    assert_eq!(by_name(&p.status()), after);
    let (code, plan) = p.terraform_plan_exit_code();
    assert_eq!(code, 0, "{plan}");

    // Only a node named in REPLACE is rebuilt, with what .config says now.
    let bad = p.fails(&["bringup", "--replace", "kdevops-9"]);
    assert!(bad.contains("REPLACE names \"kdevops-9\""), "{bad}");
    let out = p.ok(&["bringup", "--replace", "kdevops-0"]);
    assert!(out.contains("kdevops-0: create 1V100.6V"), "{out}");
    let rebuilt = by_name(&p.status());
    assert_ne!(rebuilt["kdevops-0"].0, after["kdevops-0"].0, "{out}");
    assert_eq!(rebuilt["kdevops-0"].1, "1V100.6V");
    assert_eq!(rebuilt["kdevops-1"], after["kdevops-1"]);
    assert_eq!(rebuilt["kdevops-2"], after["kdevops-2"]);
    p.ok(&["destroy"]);
}

#[test]
fn the_price_cap_skips_dearer_tiers_and_refuses_a_dear_explicit_type() {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    p.set("KDEVOPS_NODE_COUNT=1");
    let rows = catalog(&p);
    let price = |t: &str| {
        rows.iter().find(|r| r["instance_type"] == t).unwrap()["price_per_hour"]
            .as_f64()
            .unwrap()
    };
    // A cap between the A100 80GB and the H100 prices.
    let (h100, a100) = (price(H100_30V), price("1A100.22V"));
    assert!(a100 < h100);
    let cap = (a100 + h100) / 2.0;
    p.set(&format!(
        "TERRAFORM_DATACRUNCH_MAX_PRICE_PER_HOUR=\"{cap:.2}\""
    ));
    let out = p.ok(&["bringup"]);
    assert!(
        out.contains(&format!("skipping {H100_30V} (on-demand): price")),
        "{out}"
    );
    assert!(out.contains("selected 1A100.22V"), "{out}");
    p.ok(&["destroy"]);

    p.set(&format!(
        "TERRAFORM_DATACRUNCH_INSTANCE_TYPE=\"{H100_30V}\""
    ));
    let err = p.fails(&["bringup"]);
    assert!(
        err.contains("above CONFIG_TERRAFORM_DATACRUNCH_MAX_PRICE_PER_HOUR"),
        "{err}"
    );
    p.ok(&["destroy"]);
}

#[test]
fn spot_asks_the_spot_pool_and_creates_spot_instances() {
    let p = Project::new();
    p.defconfig("emulator-3-nodes+spot");
    p.set("KDEVOPS_NODE_COUNT=1");
    let rows = catalog(&p);
    // No spot H100 anywhere, while on-demand H100 stays available.
    for t in [H100_30V, H100_32V] {
        let row = rows.iter().find(|r| r["instance_type"] == t).unwrap();
        for loc in row["spot_locations"].as_array().unwrap() {
            p.admin_put(
                "capacity",
                &format!(
                    r#"{{"instance_type":"{t}","location_code":"{}","is_spot":true,"total":0}}"#,
                    loc.as_str().unwrap()
                ),
            );
        }
    }
    let out = p.ok(&["bringup"]);
    assert!(
        out.contains(&format!(
            "skipping {H100_30V} (spot): no capacity in any location"
        )),
        "{out}"
    );
    assert!(!out.contains(&format!("selected {H100_30V}")), "{out}");
    let (_, body) = p.api("GET", "/instances", None);
    let instances: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(instances.len(), 1);
    assert_eq!(instances[0]["is_spot"], true, "{body}");
    p.ok(&["destroy"]);
}

/// An explicit type that runs out of capacity in the first location moves the node
/// that was refused to the next location .config allows (AUTO: any), and says where;
/// with a fixed location there is nowhere else, and bringup says so.
#[test]
fn an_explicit_type_without_capacity_tries_the_other_allowed_locations() {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    p.set("KDEVOPS_NODE_COUNT=2");
    p.set(&format!(
        "TERRAFORM_DATACRUNCH_INSTANCE_TYPE=\"{H100_30V}\""
    ));
    catalog(&p);
    // Room for one node in FIN-01: the second deploy there is refused, no capacity.
    set_capacity(&p, H100_30V, "FIN-01", 1);
    let out = p.ok(&["bringup"]);
    assert!(
        out.contains(&format!(
            "no capacity for {H100_30V} in FIN-01; trying this node in another location"
        )),
        "{out}"
    );
    let nodes = p.status();
    assert_eq!(nodes.len(), 2, "{nodes:#?}");
    let moved: Vec<&Value> = nodes.iter().filter(|n| n["location"] != "FIN-01").collect();
    assert_eq!(moved.len(), 1, "{nodes:#?}");
    assert_eq!(moved[0]["instance_type"], H100_30V);
    let taken = moved[0]["location"].as_str().unwrap();
    assert!(
        out.contains(&format!("selected {H100_30V} in {taken}")),
        "{out}"
    );
    p.ok(&["destroy"]);

    // A fixed location allows no other: a clear error, nothing left behind.
    p.set("TERRAFORM_DATACRUNCH_LOCATION=\"FIN-01\"");
    catalog(&p);
    set_capacity(&p, H100_30V, "FIN-01", 1);
    let err = p.fails(&["bringup"]);
    assert!(
        err.contains(&format!("no on-demand capacity in FIN-01 (none left in the locations .config allows after {H100_30V} in FIN-01 ran out)")),
        "{err}"
    );
    p.ok(&["destroy"]);
}
