//! `status`: this project's nodes as the API sees them now (type, location, IP, status),
//! what each costs per hour and what it has cost since it was created, and where the API
//! and Terraform's state disagree (a node deleted behind Terraform's back, or an
//! instance of this project that state does not know and that may be billing).

use std::collections::BTreeMap;

use anyhow::Result;
use clap::Args;
use serde::Serialize;
use time::OffsetDateTime;

use crate::api;
use crate::cmd::load_settings;
use crate::emulator;
use crate::fleet::live_instances;
use crate::project::Project;
use crate::settings::Endpoint;

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
}

pub async fn run(project: &Project, args: StatusArgs) -> Result<()> {
    let settings = load_settings(project)?;
    if settings.endpoint == Endpoint::Emulator && emulator::find(project)?.is_none() {
        println!("No nodes: the local emulator is not running (run `make bringup`).");
        return Ok(());
    }
    let api = api::connect(project, &settings).await?;
    let now = OffsetDateTime::now_utc();
    let (ours, _foreign) = live_instances(&api, project).await?;
    let mut rows: Vec<Row> = ours
        .into_iter()
        .map(|i| {
            let hours = OffsetDateTime::parse(
                &i.created_at,
                &time::format_description::well_known::Rfc3339,
            )
            .map(|t| ((now - t).as_seconds_f64() / 3600.0).max(0.0))
            .unwrap_or(0.0);
            let price = i.price_per_hour.to_f64();
            Row {
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
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if rows.is_empty() {
        println!("No nodes of this project exist at {}.", api.server_url);
        for line in drift(&state_instances(project), &rows) {
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
    for line in drift(&state_instances(project), &rows) {
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
    Ok(())
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

/// Lines about disagreements between state and the API.
fn drift(state: &BTreeMap<String, String>, live: &[Row]) -> Vec<String> {
    let mut out = Vec::new();
    for (node, id) in state {
        if !live.iter().any(|r| &r.id == id) {
            out.push(format!(
                "note: {node} ({id}) is in Terraform state but not in the API (deleted elsewhere?): `make bringup` recreates it"
            ));
        }
    }
    for r in live {
        if !state.values().any(|id| id == &r.id) {
            out.push(format!(
                "note: {} ({}) belongs to this project but not to Terraform state: `make bringup` adopts it, `make destroy` deletes it",
                r.name, r.id
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, id: &str) -> Row {
        Row {
            name: name.into(),
            id: id.into(),
            status: "running".into(),
            instance_type: "1V100.6V".into(),
            location: "FIN-01".into(),
            ip: None,
            price_per_hour: 0.14,
            created_at: String::new(),
            hours: 0.0,
            spent: 0.0,
        }
    }

    #[test]
    fn drift_names_both_directions() {
        let state: BTreeMap<_, _> = [
            ("a".to_string(), "1".to_string()),
            ("b".to_string(), "2".to_string()),
        ]
        .into();
        let live = [row("a", "1"), row("c", "3")];
        let lines = drift(&state, &live);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].contains("b (2) is in Terraform state but not in the API"));
        assert!(lines[1].contains("c (3) belongs to this project but not to Terraform state"));
        assert!(drift(&state, &[row("a", "1"), row("b", "2")]).is_empty());
    }
}
