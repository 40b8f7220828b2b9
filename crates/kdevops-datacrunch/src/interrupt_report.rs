//! What a bringup or destroy stopped by a signal leaves, and what to run next: the
//! instances in Terraform's state and, through the API, this project's live instances
//! that state lacks (found by the project's mark), each with its id.

use std::collections::BTreeMap;

use anyhow::Result;
use datacrunch_models::InstanceStatus;

use crate::emulator::{self, sibling_binary};
use crate::fleet::fallback::{nodes_in_state, NodeState};
use crate::fleet::Fleet;
use crate::interrupt::Stop;
use crate::project::Project;
use crate::settings::Endpoint;
use crate::terraform::Terraform;

/// One instance of this project.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Found {
    name: String,
    id: String,
    /// As last known: from the API when it lists the instance, else from state.
    status: Option<InstanceStatus>,
    in_state: bool,
    tainted: bool,
}

/// Prints the report on stderr; a failure to gather it is reported, not returned (the
/// command already failed).
pub async fn print(project: &Project, stop: Stop) {
    match gather(project).await {
        Ok((found, billed)) => eprintln!("{}", render(stop, &found, billed)),
        Err(e) => eprintln!(
            "{}: could not check what exists ({e:#}). `make status` lists this project's \
             instances; `make bringup` finishes the bringup, `make destroy` removes everything.",
            stop.describe()
        ),
    }
}

/// The project's instances (state first, then the API's that state lacks) and whether
/// they bill (false on the local emulator).
async fn gather(project: &Project) -> Result<(Vec<Found>, bool)> {
    let ctx = crate::cmd::Setup::load(project)?;
    let settings = &ctx.settings;
    let terraform = crate::terraform_binary::find(project)?.path;
    let provider = sibling_binary("terraform-provider-datacrunch")?;
    // A stopped emulator holds no live instance; asking would start it again.
    if settings.endpoint == Endpoint::Emulator && emulator::find(project)?.is_none() {
        let tf = Terraform::prepare(project, terraform, &provider)?;
        return Ok((recorded(&nodes_in_state(&tf.state()?)), false));
    }
    let api = crate::api::connect(project, settings).await?;
    let tf = Terraform::prepare(project, terraform, &provider)?
        .with_env(api.provider_env.clone())
        .with_backend(ctx.backend.clone())?;
    let fleet = Fleet::survey(&api, &ctx.identity, Some(&tf)).await?;
    let mut found = recorded(&fleet.state);
    for inst in &fleet.ours {
        match found.iter_mut().find(|f| f.id == inst.id) {
            // The API's status is the newer one.
            Some(f) => f.status = Some(inst.status.clone()),
            None => found.push(Found {
                name: inst.hostname.clone(),
                id: inst.id.clone(),
                status: Some(inst.status.clone()),
                in_state: false,
                tainted: false,
            }),
        }
    }
    Ok((found, !api.is_emulator))
}

/// The nodes in state, as found.
fn recorded(state: &BTreeMap<String, NodeState>) -> Vec<Found> {
    state
        .values()
        .map(|n| Found {
            name: n.name.clone(),
            id: n.id.clone(),
            status: n.status.clone(),
            in_state: true,
            tainted: n.tainted,
        })
        .collect()
}

fn render(stop: Stop, found: &[Found], billed: bool) -> String {
    let mut out = format!("{}.", stop.describe());
    if found.is_empty() {
        out.push_str(" No instance of this project exists.\n");
    } else {
        out.push_str(" Instances of this project now:\n");
        for f in found {
            let note = match (f.in_state, f.tainted) {
                (true, false) => "in Terraform's state",
                (true, true) => "in Terraform's state, not ready (the next bringup replaces it)",
                (false, _) => "NOT in Terraform's state",
            };
            let status = f
                .status
                .as_ref()
                .map_or("-".to_owned(), ToString::to_string);
            out.push_str(&format!("  {:<12} {}  {status:<13} {note}\n", f.name, f.id));
        }
    }
    let unknown = found.iter().filter(|f| !f.in_state).count();
    if unknown > 0 {
        let bills = if billed {
            "they bill until deleted"
        } else {
            "the local emulator bills nothing"
        };
        out.push_str(&format!(
            "{unknown} instance(s) are not in Terraform's state ({bills}): `make bringup` adopts \
             them into state, `make destroy` deletes them.\n"
        ));
    } else if !found.is_empty() {
        out.push_str("Every instance is in Terraform's state.\n");
    }
    out.push_str(
        "Next: `make bringup` to finish the bringup, or `make destroy` to remove everything.",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, in_state: bool, tainted: bool) -> Found {
        Found {
            name: name.into(),
            id: format!("id-{name}"),
            status: Some(InstanceStatus::Provisioning),
            in_state,
            tainted,
        }
    }

    #[test]
    fn instances_missing_from_state_are_named_with_ids_and_what_to_run() {
        let text = render(
            Stop::Interrupt,
            &[
                node("kdevops-0", true, true),
                node("kdevops-1", false, false),
            ],
            true,
        );
        assert!(text.starts_with("Interrupted (Ctrl-C)."), "{text}");
        assert!(
            text.contains(
                "kdevops-0    id-kdevops-0  provisioning  in Terraform's state, not ready"
            ),
            "{text}"
        );
        assert!(
            text.contains("kdevops-1    id-kdevops-1  provisioning  NOT in Terraform's state"),
            "{text}"
        );
        assert!(
            text.contains("1 instance(s) are not in Terraform's state (they bill until deleted)"),
            "{text}"
        );
        assert!(text.contains("`make bringup`") && text.contains("`make destroy`"));
    }

    #[test]
    fn all_in_state_says_so() {
        let text = render(Stop::Terminate, &[node("kdevops-0", true, false)], false);
        assert!(text.starts_with("Terminated (SIGTERM)."), "{text}");
        assert!(
            text.contains("Every instance is in Terraform's state."),
            "{text}"
        );
        let empty = render(Stop::Interrupt, &[], false);
        assert!(
            empty.contains("No instance of this project exists."),
            "{empty}"
        );
    }
}
