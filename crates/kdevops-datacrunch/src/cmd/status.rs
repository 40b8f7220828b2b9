//! `status`: this project's nodes as the API sees them now (type, location, IP, status),
//! what each costs per hour and what it has cost since it was created.

use anyhow::Result;
use clap::Args;
use serde::Serialize;
use time::OffsetDateTime;

use crate::api;
use crate::cmd::{load_settings, project_instances};
use crate::emulator;
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
    let mut rows: Vec<Row> = project_instances(&api, project)
        .await?
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
