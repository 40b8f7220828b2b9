//! `status`: this project's nodes (and cluster, with its workers) as the API sees them now (type, location, IP, status),
//! what each costs per hour and what it has cost since it was created, and where the API
//! and Terraform's state disagree (a node deleted behind Terraform's back, or an
//! instance of this project that state does not know and that may be billing).

use std::collections::BTreeMap;

use anyhow::Result;
use clap::Args;
use serde::Serialize;
use time::OffsetDateTime;

use datacrunch_models::{Cluster, Instance};

use crate::api;
use crate::cmd::Setup;
use crate::emulator;
use crate::fleet::{cluster, legacy_marker, live_instances_dated, reconcile};
use crate::project::{Project, PROJECT_TAG};
use crate::settings::Endpoint;
use crate::ttl::{self, Expiring};

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct Row {
    name: String,
    id: String,
    status: String,
    instance_type: String,
    location: String,
    ip: Option<String>,
    price_per_hour: f64,
    created_at: String,
    hours: f64,
    spent: f64,
    /// The expiry tag (RFC 3339), when the node carries one.
    expires_at: Option<String>,
    /// Hours until the expiry (negative: expired).
    hours_left: Option<f64>,
}

pub async fn run(project: &Project, args: StatusArgs) -> Result<()> {
    let ctx = Setup::load(project)?;
    let settings = &ctx.settings;
    if settings.endpoint == Endpoint::Emulator && emulator::find(project)?.is_none() {
        println!("No nodes: the local emulator is not running (run `make bringup`).");
        return Ok(());
    }
    let api = api::connect_without_starting(project, settings).await?;
    let listing = live_instances_dated(&api, &ctx.identity).await?;
    let (now, clock_note) = billing_clock(listing.server_time);
    let (ours, foreign) = listing.value;
    // The team state is in the database, which status does not read: no comparison.
    let state = match ctx.backend.is_remote() {
        false => state_instances(project),
        true => ours
            .iter()
            .map(|i| (i.hostname.clone(), i.id.clone()))
            .collect(),
    };
    let (our_clusters, foreign_clusters): (Vec<Cluster>, Vec<Cluster>) = api
        .client
        .clusters(None)
        .await
        .map_err(|e| api.explain(e))?
        .into_iter()
        .filter(|c| !c.status.is_gone())
        .partition(|c| cluster::is_ours(c, &ctx.identity));
    let mut notes = drift(&settings.nodes, &state, &ours, &foreign);
    let expiring = ours.iter().chain(&foreign).map(|i| i as &dyn Expiring);
    let expiring = expiring.chain(
        our_clusters
            .iter()
            .chain(&foreign_clusters)
            .map(|c| c as &dyn Expiring),
    );
    notes.extend(expiry_warnings(expiring, now));
    notes.extend(other_projects(&foreign));
    let mut rows: Vec<Row> = ours
        .into_iter()
        .map(|i| {
            let hours = ttl::hours_running(&i, now);
            let price = i.price_per_hour.to_f64();
            let expiry = ttl::expires_at(&i);
            Row {
                expires_at: expiry.map(ttl::format),
                hours_left: expiry.map(|at| (at - now).as_seconds_f64() / 3600.0),
                name: i.hostname,
                id: i.id,
                status: i.status.to_string(),
                instance_type: i.instance_type,
                location: i.location,
                ip: i.ip,
                price_per_hour: price,
                created_at: i.created_at,
                hours,
                spent: price * hours,
            }
        })
        .collect();
    for c in our_clusters {
        rows.extend(cluster_rows(c, now));
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if rows.is_empty() {
        println!("No nodes of this project exist at {}.", api.server_url);
        for line in notes {
            println!("{line}");
        }
        return Ok(());
    }
    println!(
        "{:<16} {:<14} {:<16} {:<8} {:<16} {:>8} {:>8} {:>9}",
        "NODE", "STATUS", "TYPE", "LOCATION", "IP", "$/H", "HOURS", "SPENT $"
    );
    for r in &rows {
        println!(
            "{:<16} {:<14} {:<16} {:<8} {:<16} {:>8.2} {:>8.2} {:>9.2}",
            r.name,
            r.status,
            r.instance_type,
            r.location,
            r.ip.as_deref().unwrap_or("-"),
            r.price_per_hour,
            r.hours,
            r.spent
        );
    }
    for line in notes.iter().chain(&clock_note) {
        println!("{line}");
    }
    let per_hour: f64 = rows.iter().map(|r| r.price_per_hour).sum();
    let spent: f64 = rows.iter().map(|r| r.spent).sum();
    let note = if api.is_emulator {
        " (emulator: nothing is billed)"
    } else {
        "; `make destroy` stops the billing"
    };
    println!("Total: {per_hour:.2} $/h, {spent:.2} $ so far{note}");
    if let Some(line) = until_expiry(&rows) {
        println!("{line}");
    }
    Ok(())
}

/// A cluster as rows: its jump host (named as the cluster, with the cluster's type and
/// whole price), then each worker at its private address (its cost is the cluster's).
fn cluster_rows(c: datacrunch_models::Cluster, now: OffsetDateTime) -> Vec<Row> {
    let hours = ttl::hours_running(&c, now);
    let price = c.price_per_hour.to_f64();
    let expiry = ttl::expires_at(&c);
    let row = |name: String, id: String, status: String, kind: String, ip, price: f64| Row {
        name,
        id,
        status,
        instance_type: kind,
        location: c.location.clone(),
        ip,
        price_per_hour: price,
        created_at: c.created_at.clone(),
        hours,
        spent: price * hours,
        expires_at: expiry.map(ttl::format),
        hours_left: expiry.map(|at| (at - now).as_seconds_f64() / 3600.0),
    };
    let mut rows = vec![row(
        c.hostname.clone(),
        c.id.clone(),
        c.status.to_string(),
        format!("cluster {}", c.cluster_type),
        c.ip.clone(),
        price,
    )];
    for w in &c.worker_nodes {
        rows.push(row(
            w.hostname.clone(),
            w.id.clone(),
            w.status.clone(),
            format!("worker of {}", c.hostname),
            w.private_ip.clone(),
            0.0,
        ));
    }
    rows
}

/// The time running hours are counted to: the API's clock when it listed the
/// instances (the emulator's virtual clock when emulated), as the bill is; the local
/// clock, with a note saying so, when the answer carried no `Date`.
fn billing_clock(server_time: Option<std::time::SystemTime>) -> (OffsetDateTime, Option<String>) {
    match server_time {
        Some(t) => (t.into(), None),
        None => (
            OffsetDateTime::now_utc(),
            Some(
                "note: the API sent no Date header: hours are counted on this machine's clock"
                    .to_owned(),
            ),
        ),
    }
}

/// Time and money left until the nodes expire (the latest expiry; each node costs
/// until its own).
fn until_expiry(rows: &[Row]) -> Option<String> {
    let left: Vec<(f64, f64)> = rows
        .iter()
        .filter_map(|r| r.hours_left.map(|h| (h.max(0.0), r.price_per_hour)))
        .collect();
    let latest = left
        .iter()
        .map(|(h, _)| *h)
        .fold(None, |m: Option<f64>, h| Some(m.map_or(h, |m| m.max(h))))?;
    let money: f64 = left.iter().map(|(h, p)| h * p).sum();
    Some(format!(
        "Until expiry: {} and {money:.2} $ more (`make extend TTL=4h` moves it, `make reap` deletes expired nodes)",
        ttl::human((latest * 3600.0) as i64)
    ))
}

/// Warnings about instances and clusters whose expiry has passed (`reap` deletes
/// them), this project's and others' alike.
fn expiry_warnings<'a>(
    items: impl Iterator<Item = &'a dyn Expiring>,
    now: OffsetDateTime,
) -> Vec<String> {
    items
        .filter_map(|item| {
            let at = ttl::expires_at(item).filter(|at| *at <= now)?;
            Some(format!(
                "warning: {} ({}) expired {} ago ({}) and still bills: `make reap` deletes it",
                item.name(),
                item.id(),
                ttl::human((now - at).whole_seconds()),
                ttl::format(at)
            ))
        })
        .collect()
}

/// A warning about other kdevops projects' instances that the account pays for.
fn other_projects(foreign: &[Instance]) -> Option<String> {
    let others: Vec<&Instance> = foreign
        .iter()
        .filter(|i| i.tags.iter().any(|t| t.key == PROJECT_TAG))
        .collect();
    if others.is_empty() {
        return None;
    }
    let per_hour: f64 = others.iter().map(|i| i.price_per_hour.to_f64()).sum();
    Some(format!(
        "warning: the account also pays {per_hour:.2} $/h for {} instance(s) of other kdevops projects (listed above)",
        others.len()
    ))
}

/// Node name → instance id, as recorded in `terraform.tfstate` (format version 4). Read
/// directly: `status` should not need Terraform, and a missing or unreadable state
/// simply means there is nothing to compare.
fn state_instances(project: &Project) -> BTreeMap<String, String> {
    let path = project.terraform_dir().join("terraform.tfstate");
    let Ok(text) = std::fs::read_to_string(path) else {
        return BTreeMap::new();
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return BTreeMap::new();
    };
    json["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["type"] == "datacrunch_instance")
        .flat_map(|r| r["instances"].as_array().cloned().unwrap_or_default())
        .filter_map(|i| {
            Some((
                i["index_key"].as_str()?.to_owned(),
                i.pointer("/attributes/id")?.as_str()?.to_owned(),
            ))
        })
        .collect()
}

/// Lines about disagreements between state and the API, each saying what bringup and
/// destroy will do about it: nodes in state the API lost, strays (ours, not in state)
/// and foreign instances (not ours), named separately.
fn drift(
    nodes: &[String],
    state: &BTreeMap<String, String>,
    ours: &[Instance],
    foreign: &[Instance],
) -> Vec<String> {
    let mut out = Vec::new();
    for (node, id) in state {
        if !ours.iter().any(|i| &i.id == id) {
            out.push(format!(
                "note: {node} ({id}) is in Terraform state but not in the API (deleted elsewhere?): `make bringup` recreates it"
            ));
        }
    }
    let strays: Vec<&Instance> = ours
        .iter()
        .filter(|i| !state.values().any(|id| id == &i.id))
        .collect();
    let in_state = state.keys().cloned().collect();
    let adoption = reconcile::plan(nodes, &in_state, &strays);
    for inst in &strays {
        let bringup = if adoption.import.iter().any(|i| i.id == inst.id) {
            "`make bringup` adopts it as a node"
        } else {
            "`make bringup` deletes it (no configured node claims it)"
        };
        let why = match legacy_marker(inst) {
            Some(m) => format!("made by an earlier version, marked {m}: this tree's path"),
            None => "an interrupted run or a lost state".to_owned(),
        };
        out.push(format!(
            "stray: {} ({}, {}) is this project's but not in Terraform state ({why}; it may bill): {bringup}, `make destroy` deletes it",
            inst.hostname, inst.id, inst.status
        ));
    }
    for inst in foreign {
        let in_state = state.values().any(|id| id == &inst.id);
        if let (Some(marker), false) = (legacy_marker(inst), in_state) {
            out.push(format!(
                "legacy stray: {} ({}, {}) was made by an earlier version (marker {marker} in its description, no {PROJECT_TAG} tag) \
                 from a tree at another path, and no state here knows it; it may bill. `make bringup` and `make destroy` leave it alone \
                 (it is not provably this tree's): run `make destroy` in the tree it came from, or delete it in the DataCrunch dashboard",
                inst.hostname, inst.id, inst.status
            ));
            continue;
        }
        let owner = inst
            .tags
            .iter()
            .find(|t| t.key == PROJECT_TAG)
            .and_then(|t| t.value.as_deref())
            .map(|id| format!("belongs to another kdevops project ({PROJECT_TAG}={id})"))
            .unwrap_or_else(|| "carries no kdevops project mark".to_owned());
        out.push(format!(
            "foreign: {} ({}, {}) {owner}: `make bringup` and `make destroy` leave it alone",
            inst.hostname, inst.id, inst.status
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(name: &str, id: &str, owner: Option<&str>) -> Instance {
        let tags: Vec<serde_json::Value> = owner
            .map(|o| serde_json::json!({"key": PROJECT_TAG, "value": o}))
            .into_iter()
            .collect();
        serde_json::from_value(serde_json::json!({
            "id": id, "hostname": name, "status": "running", "tags": tags,
        }))
        .unwrap()
    }

    fn legacy_instance(name: &str, id: &str, marker: &str) -> Instance {
        serde_json::from_value(serde_json::json!({
            "id": id, "hostname": name, "status": "running",
            "description": format!("kdevops node {name} {marker}"),
        }))
        .unwrap()
    }

    #[test]
    fn hours_are_counted_on_the_servers_clock() {
        let server = OffsetDateTime::parse(
            "2026-01-01T12:00:00Z",
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        let (now, note) = billing_clock(Some(server.into()));
        assert_eq!((now, note), (server, None));
        assert_eq!(ttl::hours_since("2026-01-01T09:30:00.000Z", now), 2.5);
        assert_eq!(ttl::hours_since("2026-01-01T13:00:00Z", now), 0.0);
        assert_eq!(ttl::hours_since("garbage", now), 0.0);
        let (_, note) = billing_clock(None);
        assert!(note.unwrap().contains("no Date header"));
    }

    #[test]
    fn drift_names_lost_nodes_strays_and_foreign_instances_apart() {
        let nodes: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let state: BTreeMap<_, _> = [
            ("a".to_string(), "1".to_string()),
            ("b".to_string(), "2".to_string()),
        ]
        .into();
        let ours = [
            instance("a", "1", Some("me")),
            instance("c", "3", Some("me")),
            instance("old", "4", Some("me")),
        ];
        let foreign = [instance("a", "5", Some("other")), instance("x", "6", None)];
        let lines = drift(&nodes, &state, &ours, &foreign);
        assert_eq!(lines.len(), 5, "{lines:#?}");
        assert!(lines[0].contains("b (2) is in Terraform state but not in the API"));
        assert!(lines[1].starts_with("stray: c (3, running)") && lines[1].contains("adopts it"));
        assert!(lines[2].starts_with("stray: old (4") && lines[2].contains("deletes it"));
        assert!(
            lines[3].starts_with("foreign: a (5") && lines[3].contains("kdevops-project=other")
        );
        assert!(
            lines[4].starts_with("foreign: x (6") && lines[4].contains("no kdevops project mark")
        );
        assert!(lines[3].contains("leave it alone"));
        let legacy = [
            legacy_instance("older", "7", "[kdevops:deadbeef]"),
            legacy_instance("in-state", "1", "[kdevops:deadbeef]"),
        ];
        let lines = drift(&nodes, &state, &ours[..1], &legacy);
        assert!(
            lines[1].starts_with("legacy stray: older (7, running)")
                && lines[1].contains("marker [kdevops:deadbeef]")
                && lines[1].contains("leave it alone")
                && lines[1].contains("delete it in the DataCrunch dashboard"),
            "{lines:#?}"
        );
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(lines[2].starts_with("foreign: in-state (1"), "{lines:#?}");
        let all_known = drift(&nodes, &state, &ours[..1], &[]);
        assert_eq!(all_known.len(), 1, "{all_known:?}");
    }
}
