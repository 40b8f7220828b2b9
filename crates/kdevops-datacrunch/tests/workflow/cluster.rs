//! Cluster mode (CONFIG_TERRAFORM_DATACRUNCH_CLUSTER=y): bringup makes one cluster,
//! writes an ssh config that reaches every worker through the jump host (ProxyJump)
//! and an inventory of the workers; `status` shows the cluster and its workers with
//! the cluster's price; with sandboxed nodes, `ssh <worker>` answers with the worker's
//! hostname through the jump host; destroy leaves no cluster, no volume, no node
//! process and no disk. A misspelt cluster type or image, and a type without capacity
//! where it is asked for, are refused before anything exists; a `.config` change that
//! would replace or destroy the running cluster is refused until REPLACE confirms it. A
//! cluster carries its expiry like a node: `extend` moves it in place, `status` warns
//! once it has passed, and `reap` from anywhere deletes it (never an untagged one). A
//! bringup killed while its cluster comes up leaves it to the next bringup, which
//! adopts it into state instead of creating a second one.

use std::path::PathBuf;

use serde_json::Value;

use crate::common::Project;
use crate::nodes::{disks, processes_naming, sandboxes_possible, ssh_ok};

fn cluster_project() -> Project {
    let p = Project::new();
    p.defconfig("emulator-cluster");
    p
}

fn list(p: &Project, path: &str) -> Vec<Value> {
    let (status, body) = p.api("GET", path, None);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

#[test]
fn cluster_mode_reaches_every_worker_through_the_jump_host_and_destroy_leaves_nothing() {
    let p = cluster_project();
    let out = p.ok(&["bringup"]);
    assert!(out.contains("bringup: cluster gpu (16H200)"), "{out}");
    assert!(
        out.contains("2 new nodes x 20.72 USD/h (8H200.141S.176V) x 8h"),
        "{out}"
    );

    let clusters = list(&p, "/clusters");
    assert_eq!(clusters.len(), 1, "{clusters:?}");
    let cluster = &clusters[0];
    assert_eq!(cluster["hostname"], "gpu");
    assert_eq!(cluster["status"], "running");
    let workers: Vec<(String, String)> = cluster["worker_nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["hostname"].as_str().unwrap().to_owned(),
                w["private_ip"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(workers.len(), 2, "{cluster}");
    assert!(
        list(&p, "/instances").is_empty(),
        "cluster mode makes no instance"
    );

    // The inventory lists every worker (at its private address), not the jump host.
    let inventory = std::fs::read_to_string(p.dir().join("hosts")).unwrap();
    for (name, ip) in &workers {
        assert!(
            inventory.contains(&format!("{name} ansible_host={ip} ")),
            "{inventory}"
        );
        assert!(inventory.contains("ProxyCommand="), "{inventory}");
    }
    assert!(!inventory.contains("\ngpu ansible_host"), "{inventory}");
    // The ssh config reaches each worker through the jump host's block.
    let config = std::fs::read_to_string(
        p.home_dir()
            .join(format!(".ssh/config_kdevops_{}", p.short_id())),
    )
    .unwrap();
    assert!(
        config.contains(&format!("Host gpu {}\n", cluster["ip"].as_str().unwrap())),
        "{config}"
    );
    for (name, ip) in &workers {
        let block = config
            .split("# BEGIN ")
            .find(|b| b.starts_with(&format!("host configuration for {name}\n")))
            .unwrap_or_else(|| panic!("no block for {name}: {config}"));
        assert!(block.contains(&format!("HostName {ip}\n")), "{block}");
        assert!(block.contains("\tProxyJump gpu\n"), "{block}");
    }

    // `status`: the cluster at its price, and its workers.
    let status = p.ok(&["status"]);
    assert!(status.contains("cluster 16H200"), "{status}");
    assert!(status.contains("41.44"), "{status}");
    for (name, _) in &workers {
        assert!(status.contains(name.as_str()), "{status}");
    }

    let nodes_dir = p.dir().join(".local/emulator/state.nodes");
    if sandboxes_possible() {
        assert_eq!(ssh_ok(&p, "gpu", "hostname"), "gpu");
        for (name, _) in &workers {
            assert_eq!(ssh_ok(&p, name, "hostname"), *name, "through the jump host");
        }
        assert_eq!(disks(&nodes_dir).len(), 3, "{:?}", disks(&nodes_dir));
    }

    // A second bringup keeps the cluster.
    p.ok(&["bringup"]);
    assert_eq!(list(&p, "/clusters")[0]["id"], cluster["id"]);

    p.ok(&["destroy"]);
    assert_eq!(processes_naming(&nodes_dir), Vec::<String>::new());
    assert_eq!(disks(&nodes_dir), Vec::<PathBuf>::new());
    assert!(!p.dir().join("hosts").exists());
    // Restarted to look: no cluster (a deleted one stays listed as `discontinued` for
    // a while, as on the real API), no volume (the shared one deleted for good).
    p.ok(&["catalog"]);
    let clusters = list(&p, "/clusters");
    assert!(
        clusters.iter().all(|c| c["status"] == "discontinued"),
        "{clusters:?}"
    );
    assert!(
        list(&p, "/volumes").is_empty(),
        "{:?}",
        list(&p, "/volumes")
    );
    assert!(list(&p, "/volumes/trash").is_empty());
    p.stop_emulator();
}

#[test]
fn a_misspelt_cluster_type_is_refused_with_the_closest_one() {
    let p = cluster_project();
    p.set("TERRAFORM_DATACRUNCH_CLUSTER_TYPE=\"16H20\"");
    let err = p.fails(&["bringup"]);
    assert!(
        err.contains("CONFIG_TERRAFORM_DATACRUNCH_CLUSTER_TYPE"),
        "{err}"
    );
    assert!(err.contains("Did you mean \"16H200\"?"), "{err}");
    assert!(err.contains("Nothing was created"), "{err}");
    assert!(list(&p, "/clusters").is_empty());
    p.stop_emulator();
}

/// The ids of the clusters the API lists as running.
fn running(p: &Project) -> Vec<Value> {
    list(p, "/clusters")
        .into_iter()
        .filter(|c| c["status"] == "running")
        .map(|c| c["id"].clone())
        .collect()
}

#[test]
fn a_config_change_that_would_replace_or_destroy_the_cluster_waits_for_replace() {
    let p = cluster_project();
    p.set("TERRAFORM_DATACRUNCH_TTL=\"1h\"");
    p.ok(&["bringup"]);
    let first = running(&p);
    let old_expiry = tag(&list(&p, "/clusters")[0], "kdevops-expires-at").unwrap();
    assert_eq!(first.len(), 1, "{first:?}");

    // Another image: the cluster would be rebuilt, and its /home with it.
    p.set("TERRAFORM_DATACRUNCH_CLUSTER_IMAGE=\"ubuntu-24.04-cuda-12.8-open-cluster\"");
    let err = p.fails(&["bringup"]);
    assert!(err.contains("nothing was applied"), "{err}");
    assert!(
        err.contains("gpu would be replaced: a change of image cannot be made in place"),
        "{err}"
    );
    assert!(err.contains("`make bringup REPLACE=gpu`"), "{err}");
    assert_eq!(running(&p), first);

    // Cluster mode switched off: the instance plan would delete the cluster.
    p.set("TERRAFORM_DATACRUNCH_CLUSTER=n");
    let err = p.fails(&["bringup"]);
    assert!(
        err.contains(
            "gpu would be destroyed: it is no longer configured (cluster mode switched off)"
        ),
        "{err}"
    );
    assert_eq!(running(&p), first);
    assert!(list(&p, "/instances").is_empty(), "nothing was applied");

    // Confirmed, once the old cluster has expired: rebuilt with the new image, and
    // with an expiry of its own (the old one's would have it reaped at once).
    p.set("TERRAFORM_DATACRUNCH_CLUSTER=y");
    p.advance_clock(2 * 3600);
    let out = p.ok(&["bringup", "--replace", "gpu"]);
    assert!(out.contains("gpu: will replace"), "{out}");
    let second = running(&p);
    assert_eq!(second.len(), 1, "{second:?}");
    assert_ne!(second, first);
    let clusters = list(&p, "/clusters");
    let now = clusters.iter().find(|c| c["id"] == second[0]).unwrap();
    assert_eq!(now["image"], "ubuntu-24.04-cuda-12.8-open-cluster", "{now}");
    let new_expiry = tag(now, "kdevops-expires-at").unwrap();
    assert!(new_expiry > old_expiry, "{old_expiry} -> {new_expiry}");
    p.ok(&["destroy"]);
    // Restarted to look (destroy stops the emulator).
    p.ok(&["catalog"]);
    assert!(running(&p).is_empty());
    p.stop_emulator();
}

#[test]
fn a_misspelt_image_or_a_type_without_capacity_is_refused_before_anything_exists() {
    let p = cluster_project();
    p.set("TERRAFORM_DATACRUNCH_CLUSTER_IMAGE=\"ubuntu-22.04-cuda-12.4-clustr\"");
    let err = p.fails(&["bringup"]);
    assert!(
        err.contains("CONFIG_TERRAFORM_DATACRUNCH_CLUSTER_IMAGE"),
        "{err}"
    );
    assert!(
        err.contains("Did you mean \"ubuntu-22.04-cuda-12.4-cluster\"?"),
        "{err}"
    );
    assert!(err.contains("Nothing was created"), "{err}");

    // No capacity for the type's nodes where .config asks for it.
    p.set("TERRAFORM_DATACRUNCH_CLUSTER_IMAGE=\"ubuntu-22.04-cuda-12.4-cluster\"");
    let offered: Vec<String> = list(&p, "/cluster-availability")
        .iter()
        .filter(|l| {
            l["availabilities"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t == "16H200")
        })
        .map(|l| l["location_code"].as_str().unwrap().to_owned())
        .collect();
    let location = offered.first().expect("16H200 is offered somewhere");
    p.admin_put(
        "capacity",
        &format!(r#"{{"instance_type":"8H200.141S.176V","location_code":"{location}","is_spot":false,"total":0}}"#),
    );
    p.set(&format!("TERRAFORM_DATACRUNCH_LOCATION=\"{location}\""));
    let err = p.fails(&["bringup"]);
    assert!(
        err.contains(&datacrunch_client::offer::no_capacity_summary(
            "16H200",
            Some(location)
        )),
        "{err}"
    );
    assert!(
        err.contains("CONFIG_TERRAFORM_DATACRUNCH_LOCATION"),
        "{err}"
    );
    assert!(err.contains("Nothing was created"), "{err}");
    assert!(list(&p, "/clusters").is_empty());
    assert!(
        list(&p, "/ssh-keys").is_empty(),
        "not even the key was uploaded"
    );
    p.stop_emulator();
}

#[test]
fn switching_cluster_mode_on_deletes_running_nodes_only_when_confirmed() {
    let p = cluster_project();
    p.set("TERRAFORM_DATACRUNCH_CLUSTER=n");
    p.ok(&["bringup"]);
    let running_instances = |p: &Project| -> Vec<Value> {
        list(p, "/instances")
            .into_iter()
            .filter(|i| i["status"] == "running")
            .collect()
    };
    assert_eq!(running_instances(&p).len(), 1);

    p.set("TERRAFORM_DATACRUNCH_CLUSTER=y");
    let err = p.fails(&["bringup"]);
    assert!(
        err.contains("gpu-0 would be destroyed: it is no longer configured"),
        "{err}"
    );
    assert!(err.contains("cluster mode switched on"), "{err}");
    assert!(list(&p, "/clusters").is_empty(), "nothing was applied");
    assert_eq!(running_instances(&p).len(), 1);

    let out = p.ok(&["bringup", "--replace", "all"]);
    assert!(out.contains("gpu-0: will destroy"), "{out}");
    assert_eq!(running(&p).len(), 1);
    assert!(running_instances(&p).is_empty());
    p.ok(&["destroy"]);
}

/// The value of a cluster's tag `key`, as the API lists it.
fn tag(cluster: &Value, key: &str) -> Option<String> {
    cluster["tags"]
        .as_array()?
        .iter()
        .find(|t| t["key"] == key)
        .and_then(|t| t["value"].as_str())
        .map(str::to_owned)
}

#[test]
fn a_cluster_expires_is_extended_in_place_and_is_reaped_from_anywhere() {
    let p = cluster_project();
    p.set("TERRAFORM_DATACRUNCH_TTL=\"1h\"");
    let out = p.ok(&["bringup"]);
    assert!(out.contains("cluster gpu expires "), "{out}");
    let cluster = list(&p, "/clusters").remove(0);
    let first = tag(&cluster, "kdevops-expires-at").expect("the expiry tag");
    assert_eq!(
        tag(&cluster, "kdevops-project"),
        Some(p.project_id()),
        "{cluster}"
    );
    let table = p.ok(&["status"]);
    assert!(
        table.contains("Until expiry: 1h 00m") || table.contains("Until expiry: 59m"),
        "{table}"
    );

    // extend changes the tag in place: the same cluster, a later expiry.
    p.ok(&["extend", "3h"]);
    let extended = list(&p, "/clusters").remove(0);
    assert_eq!(
        extended["id"], cluster["id"],
        "a tag change never replaces it"
    );
    let later = tag(&extended, "kdevops-expires-at").unwrap();
    assert!(later > first, "{first} -> {later}");
    p.advance_clock(3600 + 60);
    assert!(
        p.reap_from_elsewhere(&[]).is_empty(),
        "extended: not expired yet"
    );

    // What reap must leave alone: a cluster with a past expiry but no project tag.
    let body = serde_json::json!({
        "hostname": "by-hand", "cluster_type": cluster["cluster_type"],
        "image": cluster["image"], "ssh_key_ids": cluster["ssh_key_ids"],
        "shared_volume": {"name": "by-hand-home", "size": 100},
    });
    let (status, reply) = p.api("POST", "/clusters", Some(&body.to_string()));
    assert!(status < 300, "{status} {reply}");
    let by_hand: Value = serde_json::from_str(&reply).unwrap();
    let by_hand = by_hand["id"].as_str().unwrap().to_owned();
    let expiry = r#"{"key": "kdevops-expires-at", "value": "2000-01-01T00:00:00Z"}"#;
    let (status, reply) = p.api("POST", &format!("/clusters/{by_hand}/tags"), Some(expiry));
    assert!(status < 300, "{status} {reply}");

    // Past the extended expiry: status warns, a dry run lists it with its cost.
    p.advance_clock(2 * 3600);
    let table = p.ok(&["status"]);
    assert!(
        table.contains(&format!(
            "warning: gpu ({}) expired",
            cluster["id"].as_str().unwrap()
        )) && table.contains("`make reap` deletes it"),
        "{table}"
    );
    let dry = p.reap_from_elsewhere(&["--dry-run"]);
    assert_eq!(dry.len(), 1, "{dry:?}");
    assert_eq!(
        (&dry[0]["kind"], &dry[0]["id"], &dry[0]["deleted"]),
        (&Value::from("cluster"), &cluster["id"], &Value::from(false))
    );
    assert!(dry[0]["spent"].as_f64().unwrap() > 41.44 * 3.0, "{dry:?}");
    assert_eq!(dry[0]["project"], p.project_id());

    let reaped = p.reap_from_elsewhere(&[]);
    assert_eq!(reaped.len(), 1, "{reaped:?}");
    assert_eq!(reaped[0]["deleted"], true);
    let after = list(&p, "/clusters");
    let status_of = |id: &str| {
        after
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["status"].as_str().unwrap().to_owned())
    };
    let gone = status_of(cluster["id"].as_str().unwrap());
    assert!(
        matches!(gone.as_deref(), None | Some("deleting" | "discontinued")),
        "{after:?}"
    );
    assert_ne!(
        status_of(&by_hand).as_deref(),
        Some("discontinued"),
        "an untagged cluster is never reaped: {after:?}"
    );
    p.ok(&["destroy"]);
}

/// The cluster ids in the state file, read as JSON (independent of the tool under test).
fn clusters_in_state(p: &Project) -> Vec<String> {
    let path = p.dir().join("terraform/datacrunch/terraform.tfstate");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let state: Value = serde_json::from_str(&text).unwrap_or_default();
    state["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["type"] == "datacrunch_cluster")
        .flat_map(|r| r["instances"].as_array().cloned().unwrap_or_default())
        .filter_map(|i| i.pointer("/attributes/id")?.as_str().map(str::to_owned))
        .collect()
}

#[test]
fn a_bringup_killed_while_its_cluster_comes_up_is_adopted_not_made_twice() {
    let p = cluster_project();
    // Once the API lists the project's cluster (created and tagged), while it is still
    // provisioning.
    crate::interrupt::kill_bringup_when(
        &p,
        &[("DATACRUNCH_EMULATOR_PROVISIONING_SECONDS", "15")],
        std::time::Duration::from_secs(180),
        "a cluster to be created",
        || {
            p.dir().join(".local/emulator/url").exists()
                && list(&p, "/clusters")
                    .iter()
                    .any(|c| tag(c, "kdevops-project").is_some())
        },
    );
    let made = list(&p, "/clusters");
    assert_eq!(made.len(), 1, "{made:?}");
    assert_ne!(made[0]["status"], "running", "killed too late: {made:?}");
    assert!(
        clusters_in_state(&p).is_empty(),
        "the kill left it in state"
    );

    let out = p.ok(&["bringup"]);
    let id = made[0]["id"].as_str().unwrap();
    assert!(
        out.contains(&format!(
            "adopting cluster gpu ({id}), created by an interrupted bringup"
        )),
        "{out}"
    );
    let clusters = list(&p, "/clusters");
    assert_eq!(clusters.len(), 1, "a second cluster: {clusters:?}");
    assert_eq!(clusters[0]["status"], "running", "{clusters:?}");
    assert_eq!(clusters_in_state(&p), [id]);
    p.ok(&["destroy"]);
}
