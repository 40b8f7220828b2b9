//! `adopt`: this project's instances that Terraform's state lacks (a bringup killed
//! between the API accepting a deploy and Terraform saving state leaves one, billing),
//! listed the way `terraform query` lists them, and imported into the module's node
//! addresses so that no bringup creates a duplicate.
//!
//! With Terraform 1.14 or later the list is `terraform query` over the module's
//! `kdevops.tfquery.hcl` (the project tag); older Terraform has no query, and the list
//! comes from the API with the same filter. An instance is imported when its hostname is
//! a configured node that state lacks; any other is shown and left alone (`make bringup`
//! deletes strays no node claims).

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use clap::Args;
use serde_json::Value;

use crate::api;
use crate::cmd::power::{prepared_terraform, ACTIONS_SINCE};
use crate::cmd::Setup;
use crate::fleet::fallback::{instance_address, nodes_in_state};
use crate::fleet::live_instances;
use crate::project::Project;

#[derive(Debug, Args)]
pub struct AdoptArgs {
    /// Only list, import nothing.
    #[arg(long)]
    dry_run: bool,
}

/// One listed instance.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listed {
    hostname: String,
    id: String,
}

pub async fn run(project: &Project, args: AdoptArgs) -> Result<()> {
    let ctx = Setup::load(project)?;
    let api = api::connect(project, &ctx.settings).await?;
    let (tf, version) = prepared_terraform(project, &ctx, &api, "adopt")?;
    let listed = if version >= ACTIONS_SINCE {
        println!("This project's instances, by `terraform query`:");
        query_results(&tf.query_json()?)?
    } else {
        println!(
            "This project's instances, from the API (Terraform {version} has no \
             `terraform query`; it needs {ACTIONS_SINCE} or later):"
        );
        live_instances(&api, &ctx.identity)
            .await?
            .0
            .into_iter()
            .map(|i| Listed {
                hostname: i.hostname,
                id: i.id,
            })
            .collect()
    };
    let in_state = nodes_in_state(&tf.state()?);
    let strays: Vec<&Listed> = listed
        .iter()
        .filter(|l| !in_state.values().any(|n| n.id == l.id))
        .collect();
    for l in &listed {
        let mark = if strays.contains(&l) {
            "not in state"
        } else {
            "in state"
        };
        println!("  {:<20} {}  {mark}", l.hostname, l.id);
    }
    if strays.is_empty() {
        println!("Nothing to adopt: state knows every instance of this project.");
        return Ok(());
    }
    let adoptable = adoptable(&ctx.settings.nodes, &in_state, &strays);
    for l in strays.iter().filter(|l| !adoptable.contains(l)) {
        println!(
            "{} ({}) is not a configured node missing from state: not adopted \
             (`make bringup` deletes it)",
            l.hostname, l.id
        );
    }
    if args.dry_run {
        println!("--dry-run: nothing imported.");
        return Ok(());
    }
    for l in adoptable {
        tf.import(&instance_address(&l.hostname), &l.id)?;
        println!("adopted {} ({})", l.hostname, l.id);
    }
    Ok(())
}

/// The strays whose hostname is a configured node that state lacks (the first of each).
fn adoptable<'a>(
    nodes: &[String],
    in_state: &BTreeMap<String, crate::fleet::fallback::NodeState>,
    strays: &[&'a Listed],
) -> Vec<&'a Listed> {
    let mut chosen: Vec<&Listed> = Vec::new();
    for l in strays.iter().copied() {
        let wanted = nodes.contains(&l.hostname) && !in_state.contains_key(&l.hostname);
        if wanted && !chosen.iter().any(|c| c.hostname == l.hostname) {
            chosen.push(l);
        }
    }
    chosen
}

/// The instances in `terraform query -json` output: each `list_resource_found` line's
/// identity (the id) and display name (`hostname (id)`).
fn query_results(output: &str) -> Result<Vec<Listed>> {
    let mut found = Vec::new();
    for line in output.lines() {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let Some(result) = event.get("list_resource_found") else {
            continue;
        };
        let id = result
            .pointer("/identity/id")
            .and_then(Value::as_str)
            .with_context(|| format!("terraform query found a result without an id: {line}"))?;
        let display = result["display_name"].as_str().unwrap_or_default();
        let hostname = display
            .strip_suffix(&format!(" ({id})"))
            .unwrap_or(display)
            .to_owned();
        found.push(Listed {
            hostname,
            id: id.to_owned(),
        });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_results_are_read_from_found_lines_only() {
        let output = concat!(
            r#"{"type":"version","terraform":"1.15.5"}"#,
            "\n",
            r#"{"type":"list_start","list_start":{"address":"list.datacrunch_instance.project"}}"#,
            "\n",
            r#"{"type":"list_resource_found","list_resource_found":{"display_name":"kdevops-1 (i-1)","identity":{"id":"i-1"}}}"#,
            "\n",
            r#"{"type":"list_complete","list_complete":{"total":1}}"#,
            "\n"
        );
        assert_eq!(
            query_results(output).unwrap(),
            [Listed {
                hostname: "kdevops-1".into(),
                id: "i-1".into()
            }]
        );
        let no_id = r#"{"list_resource_found":{"display_name":"x"}}"#;
        assert!(query_results(no_id).is_err());
    }
}
