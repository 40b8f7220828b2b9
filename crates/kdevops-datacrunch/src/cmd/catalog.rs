//! `catalog`: every instance type with its price and where it has capacity right now,
//! on-demand and spot (two different questions to the API), as a table or JSON.

use anyhow::Result;
use clap::Args;
use datacrunch_client::offer::Availability;
use serde::Serialize;

use crate::api;
use crate::cmd::load_settings;
use crate::project::Project;

#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Only types with capacity somewhere.
    #[arg(long)]
    available: bool,
}

#[derive(Debug, Serialize)]
struct Row {
    instance_type: String,
    gpu: String,
    price_per_hour: f64,
    spot_price_per_hour: Option<f64>,
    currency: String,
    on_demand_locations: Vec<String>,
    spot_locations: Vec<String>,
}

pub async fn run(project: &Project, args: CatalogArgs) -> Result<()> {
    let settings = load_settings(project)?;
    let api = api::connect(project, &settings).await?;
    let c = &api.client;
    let (types, on_demand, spot) = tokio::try_join!(
        c.instance_types(None),
        c.instance_availability(Some(false), None),
        c.instance_availability(Some(true), None),
    )
    .map_err(|e| api.explain(e))?;
    let availability = Availability::new()
        .with(false, &on_demand)
        .with(true, &spot);
    let mut rows: Vec<Row> = types
        .iter()
        .map(|t| Row {
            instance_type: t.instance_type.clone(),
            gpu: t.gpu.description.clone(),
            price_per_hour: t.price_per_hour.to_f64(),
            spot_price_per_hour: t.spot_price.map(|p| p.to_f64()),
            currency: t.currency.clone(),
            on_demand_locations: owned(availability.locations_for(&t.instance_type, false)),
            spot_locations: owned(availability.locations_for(&t.instance_type, true)),
        })
        .filter(|r| {
            !args.available || !r.on_demand_locations.is_empty() || !r.spot_locations.is_empty()
        })
        .collect();
    rows.sort_by(|a, b| b.price_per_hour.total_cmp(&a.price_per_hour));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!(
        "{:<18} {:<26} {:>8} {:>8}  {:<28} SPOT",
        "TYPE", "GPU", "$/H", "SPOT $/H", "ON-DEMAND"
    );
    for r in &rows {
        println!(
            "{:<18} {:<26} {:>8.2} {:>8}  {:<28} {}",
            r.instance_type,
            r.gpu,
            r.price_per_hour,
            r.spot_price_per_hour
                .map(|p| format!("{p:.2}"))
                .unwrap_or_else(|| "-".into()),
            dash_if_empty(&r.on_demand_locations),
            dash_if_empty(&r.spot_locations)
        );
    }
    Ok(())
}

fn owned(v: Vec<&str>) -> Vec<String> {
    v.into_iter().map(str::to_owned).collect()
}

fn dash_if_empty(v: &[String]) -> String {
    if v.is_empty() {
        "-".into()
    } else {
        v.join(",")
    }
}
