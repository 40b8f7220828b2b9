//! Cost control end to end: the budget and balance refusals before anything is created,
//! each node's expiry tag, `extend`, and `reap` from another checkout (no .config) on the
//! emulator's clock moved forward.

use crate::common::{text, Project};

fn live(p: &Project) -> Vec<serde_json::Value> {
    let (status, body) = p.api("GET", "/instances", None);
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// A project of `nodes` emulator nodes with this TTL, brought up.
fn brought_up(nodes: u32, ttl: &str) -> Project {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    p.set(&format!("KDEVOPS_NODE_COUNT={nodes}"));
    p.set(&format!("TERRAFORM_DATACRUNCH_TTL=\"{ttl}\""));
    p.ok(&["bringup"]);
    p
}

#[test]
fn budget_and_balance_refusals_create_nothing() {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    p.set("TERRAFORM_DATACRUNCH_BUDGET_USD=\"10\"");
    p.set("TERRAFORM_DATACRUNCH_TTL=\"2h\"");
    let err = p.fails(&["bringup"]);
    assert!(
        err.contains("3 new nodes x ")
            && err.contains("x 2h (CONFIG_TERRAFORM_DATACRUNCH_TTL)")
            && err
                .contains("above the budget of 10.00 USD (CONFIG_TERRAFORM_DATACRUNCH_BUDGET_USD)")
            && err.contains("Nothing was created"),
        "{err}"
    );
    assert!(live(&p).is_empty());
    let (_, keys) = p.api("GET", "/sshkeys", None);
    assert_eq!(keys.trim(), "[]", "no key uploaded either");

    // Within the budget, but not within the account's balance.
    p.set("TERRAFORM_DATACRUNCH_BUDGET_USD=\"100000\"");
    p.admin_put("balance", r#"{"amount": 5}"#);
    let err = p.fails(&["bringup"]);
    assert!(
        err.contains("above the account balance of 5.00 USD")
            && err.contains("Nothing was created"),
        "{err}"
    );
    assert!(live(&p).is_empty());
}

#[test]
fn the_budget_counts_a_running_node_only_until_its_expiry() {
    let p = brought_up(1, "2h");
    let first = p.status();
    let price = first[0]["price_per_hour"].as_f64().unwrap();
    assert!(price > 0.0, "{first:?}");

    // 90 minutes later a second node is wanted: the running one bills at most 30 more
    // minutes (then it is reaped), the new one the 2h TTL: 2.5 node-hours, not 4.
    p.advance_clock(90 * 60);
    p.set("KDEVOPS_NODE_COUNT=2");
    p.set(&format!(
        "TERRAFORM_DATACRUNCH_BUDGET_USD=\"{:.2}\"",
        2.2 * price
    ));
    let err = p.fails(&["bringup"]);
    let rate = format!("{price:.2} USD/h (");
    assert!(
        err.contains(&format!("1 new node x {rate}"))
            && err.contains("x 2h (CONFIG_TERRAFORM_DATACRUNCH_TTL) + kdevops-0 x ")
            && err.contains("left until its expiry = ")
            && err.contains("above the budget of"),
        "{err}"
    );
    assert_eq!(live(&p).len(), 1, "nothing created on refusal");

    p.set(&format!(
        "TERRAFORM_DATACRUNCH_BUDGET_USD=\"{:.2}\"",
        3.0 * price
    ));
    p.ok(&["bringup"]);
    assert_eq!(p.status().len(), 2);
    p.ok(&["destroy"]);
}

#[test]
fn nodes_expire_extend_and_are_reaped_from_another_checkout() {
    let p = brought_up(2, "30m");
    let nodes = p.status();
    assert_eq!(nodes.len(), 2);
    let first_expiry = nodes[0]["expires_at"].as_str().unwrap().to_owned();
    assert!(nodes[0]["hours_left"].as_f64().unwrap() > 0.45, "{nodes:?}");
    let table = p.ok(&["status"]);
    assert!(
        table.contains("Until expiry: 30m") || table.contains("Until expiry: 29m"),
        "{table}"
    );

    // A per-node cap lowered below what the running nodes cost: they are kept, and
    // bringup says so and what to do.
    p.set("TERRAFORM_DATACRUNCH_MAX_PRICE_PER_HOUR=\"0.5\"");
    let out = p.ok(&["bringup"]);
    for node in ["kdevops-0", "kdevops-1"] {
        assert!(
            out.contains(&format!("warning: {node} (")) && out.contains(&format!("REPLACE={node}")),
            "{out}"
        );
    }
    assert!(
        out.contains("above CONFIG_TERRAFORM_DATACRUNCH_MAX_PRICE_PER_HOUR (0.50)"),
        "{out}"
    );
    let kept: Vec<_> = p.status().iter().map(|n| n["id"].clone()).collect();
    assert_eq!(
        kept,
        nodes.iter().map(|n| n["id"].clone()).collect::<Vec<_>>()
    );
    p.set("TERRAFORM_DATACRUNCH_MAX_PRICE_PER_HOUR=\"\"");

    // What reap must leave alone: another project's instance that has not expired, and
    // an instance with a past expiry tag but no project tag.
    let first = &live(&p)[0];
    let deploy = |hostname: &str, tags: serde_json::Value| {
        let body = serde_json::json!({
            "instance_type": first["instance_type"], "image": first["image"],
            "location_code": first["location"], "hostname": hostname,
            "description": hostname, "ssh_key_ids": first["ssh_key_ids"], "tags": tags,
        });
        let (status, reply) = p.api("POST", "/instances", Some(&body.to_string()));
        assert!(status < 300, "{status} {reply}");
        reply.trim().trim_matches('"').to_owned()
    };
    let other = deploy(
        "other-project",
        serde_json::json!([{"key": "kdevops-project", "value": "00000000-0000-4000-8000-000000000000"},
                           {"key": "kdevops-expires-at", "value": "2999-01-01T00:00:00Z"}]),
    );
    let untagged = deploy(
        "by-hand",
        serde_json::json!([{"key": "kdevops-expires-at", "value": "2000-01-01T00:00:00Z"}]),
    );

    // A second checkout with no .config, pointed at the same emulator.
    let reap = |args: &[&str]| p.reap_from_elsewhere(args);
    assert!(reap(&[]).is_empty(), "nothing has expired yet");

    // extend takes bringup's SSH wait limit, from the environment too.
    let out = p
        .command(&["extend", "2h"])
        .env("KDEVOPS_SSH_TIMEOUT", "soon")
        .output()
        .unwrap();
    assert!(
        !out.status.success() && text(&out).contains("--ssh-timeout"),
        "{}",
        text(&out)
    );
    // extend moves the expiry; half an hour later nothing has expired.
    p.ok(&["extend", "2h"]);
    let extended = p.status();
    assert!(extended[0]["expires_at"].as_str().unwrap() > first_expiry.as_str());
    p.advance_clock(31 * 60);
    assert!(reap(&[]).is_empty(), "extended: not expired yet");

    // Two more hours: both nodes expired. status warns, a dry run deletes nothing.
    p.advance_clock(2 * 3600);
    let table = p.ok(&["status"]);
    assert!(
        table.contains("expired") && table.contains("`make reap` deletes it"),
        "{table}"
    );
    assert!(table.contains("other kdevops projects"), "{table}");
    let dry = reap(&["--dry-run"]);
    assert_eq!(dry.len(), 2, "{dry:?}");
    assert!(dry
        .iter()
        .all(|e| e["deleted"] == false && e["spent"].as_f64().unwrap() > 0.0));
    assert_eq!(live(&p).len(), 4);

    let reaped = reap(&[]);
    assert_eq!(reaped.len(), 2, "{reaped:?}");
    assert!(reaped.iter().all(|e| e["deleted"] == true
        && e["kind"] == "instance"
        && e["project"] == p.project_id()));
    // Reaped instances leave the running set; the other two still run.
    let running: Vec<String> = live(&p)
        .iter()
        .filter(|i| i["status"] == "running")
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(running.len(), 2, "{running:?}");
    assert!(
        running.contains(&other) && running.contains(&untagged),
        "{running:?}"
    );
    p.ok(&["destroy"]);
}

#[test]
fn make_reap_runs_from_a_tree_without_config_on_the_environments_endpoint() {
    let p = brought_up(1, "30m");
    let node = live(&p).remove(0);
    p.advance_clock(3600);

    // Another tree with no .config: `make reap` takes the endpoint and the credentials
    // from the environment, as from cron.
    let elsewhere = Project::new();
    assert!(!elsewhere.dir().join(".config").exists());
    let (client_id, client_secret) = p.emulator_credentials();
    let make_reap = |args: &[&str]| {
        let out = elsewhere
            .make_command(args)
            .env("DATACRUNCH_SERVER_URL", format!("{}/v1", p.emulator_base()))
            .env("DATACRUNCH_CLIENT_ID", &client_id)
            .env("DATACRUNCH_CLIENT_SECRET", &client_secret)
            .output()
            .unwrap();
        assert!(out.status.success(), "make {args:?}: {}", text(&out));
        text(&out)
    };
    let id = node["id"].as_str().unwrap();
    let dry = make_reap(&["reap", "DRY_RUN=1"]);
    assert!(
        dry.contains(&format!(
            "would delete instance kdevops-0 ({id}, project {}",
            p.project_id()
        )) && dry.contains("1 expired instance(s) and 0 cluster(s)"),
        "{dry}"
    );
    assert!(
        !elsewhere.dir().join(".config").exists(),
        "make reap loads no default .config"
    );
    assert_eq!(
        live(&p)[0]["status"],
        "running",
        "a dry run deletes nothing"
    );

    let out = make_reap(&["reap"]);
    assert!(
        out.contains(&format!("deleted instance kdevops-0 ({id}")),
        "{out}"
    );
    assert_ne!(live(&p)[0]["status"], "running", "{:?}", live(&p));
    p.ok(&["destroy"]);
}

/// One expired node whose delete the API refuses does not keep reap from deleting the
/// others: all are tried, the report says which failed and why, and the exit status is
/// non-zero. A reaped node's OS volume is deleted for good, not left in the trash
/// (where it would still count against the storage quota).
#[test]
fn reap_deletes_what_it_can_and_reports_what_it_could_not() {
    let p = brought_up(2, "30m");
    let nodes = live(&p);
    let (stuck, other) = (&nodes[0], &nodes[1]);
    let stuck_id = stuck["id"].as_str().unwrap();
    p.advance_clock(3600);
    p.admin_put(
        &format!("instances/{stuck_id}/stuck"),
        r#"{"status": "error"}"#,
    );

    let (out, report) = p.reap_from_elsewhere_outcome(&[]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("1 of 2 expired machines could not be deleted and still bill"),
        "{}",
        text(&out)
    );
    assert_eq!(report.len(), 2, "{report:?}");
    let entry = |id: &serde_json::Value| report.iter().find(|e| e["id"] == *id).unwrap();
    assert_eq!(entry(&other["id"])["deleted"], true, "{report:?}");
    assert_eq!(entry(&stuck["id"])["deleted"], false, "{report:?}");
    assert!(
        entry(&stuck["id"])["error"]
            .as_str()
            .is_some_and(|e| e.contains("Can't discontinue")),
        "{report:?}"
    );

    let (status, trash) = p.api("GET", "/volumes/trash", None);
    assert_eq!(status, 200, "{trash}");
    let os_volume = other["os_volume_id"].as_str().unwrap();
    assert!(!trash.contains(os_volume), "{trash}");
    p.ok(&["destroy"]);
}
