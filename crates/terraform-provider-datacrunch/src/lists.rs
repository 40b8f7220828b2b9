//! List resources for `terraform query` (Terraform 1.14+): every instance, SSH key,
//! volume and startup script in the account, filtered by the `config { }` block, each
//! with its identity and (when asked) the state an import would read, so
//! `terraform query -generate-config-out` writes configuration that a following plan
//! imports with no other change. This is how objects made in the dashboard, or left by
//! a crashed run, come under Terraform.

use crate::diagnostics::api_error;
use crate::filters::InstanceFilter;
use crate::resources::{instance, ssh_key, startup_script, volume};
use crate::state::ProviderState;
use datacrunch_models::VolumeStatus;
use serde::Deserialize;
use std::sync::Arc;
use tfplugin::list::{ListItem, ListRequest, ListResource, ListSink};
use tfplugin::{async_trait, Attribute, Context, Diagnostics, Schema, Value};

/// Every list resource type.
pub fn all() -> Vec<Arc<dyn ListResource>> {
    vec![
        Arc::new(InstanceList),
        Arc::new(NamedList(NamedKind::SshKey)),
        Arc::new(NamedList(NamedKind::StartupScript)),
        Arc::new(NamedList(NamedKind::Volume)),
    ]
}

/// Sends items in order until the sink wants no more.
async fn send_all(sink: &ListSink, items: Vec<ListItem>) {
    for item in items {
        if !sink.send(item).await {
            break;
        }
    }
}

fn item(name: &str, id: &str, state: Value) -> ListItem {
    ListItem {
        display_name: format!("{name} ({id})"),
        state,
    }
}

/// `list "datacrunch_instance"`.
struct InstanceList;

#[async_trait]
impl ListResource for InstanceList {
    fn type_name(&self) -> String {
        "datacrunch_instance".into()
    }

    fn schema(&self) -> Schema {
        InstanceFilter::attributes().into_iter().fold(
            Schema::new().description(
                "Instances in the account, oldest first; deleted ones only when `status` asks for them.",
            ),
            Schema::attribute,
        )
    }

    async fn list(
        &self,
        ctx: &Context,
        request: &ListRequest,
        sink: &ListSink,
    ) -> Result<(), Diagnostics> {
        let filter: InstanceFilter = request.config.decode()?;
        let st = ProviderState::of(ctx)?;
        let mut found = ctx
            .run(async {
                st.client
                    .instances(None)
                    .await
                    .map_err(|e| api_error("Listing instances", &e))
            })
            .await?;
        found.retain(|i| filter.matches(i));
        found.sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
        let items = found
            .iter()
            .map(|i| Ok(item(&i.hostname, &i.id, instance::listed_state(i)?)))
            .collect::<Result<Vec<_>, Diagnostics>>()?;
        send_all(sink, items).await;
        Ok(())
    }
}

/// The account objects listed by name alone.
#[derive(Clone, Copy)]
enum NamedKind {
    SshKey,
    StartupScript,
    Volume,
}

/// `list "datacrunch_ssh_key"`, `"datacrunch_startup_script"`, `"datacrunch_volume"`.
struct NamedList(NamedKind);

#[derive(Deserialize, Default)]
struct NameFilter {
    name_prefix: Option<String>,
}

impl NamedList {
    /// (name, id, state) of every object of the kind.
    async fn fetch(&self, st: &ProviderState) -> Result<Vec<(String, String, Value)>, Diagnostics> {
        let client = &st.client;
        Ok(match self.0 {
            NamedKind::SshKey => {
                let keys = client
                    .ssh_keys()
                    .await
                    .map_err(|e| api_error("Listing SSH keys", &e))?;
                keys.iter()
                    .map(|k| Ok((k.name.clone(), k.id.clone(), ssh_key::listed_state(k)?)))
                    .collect::<Result<_, Diagnostics>>()?
            }
            NamedKind::StartupScript => {
                let scripts = client
                    .startup_scripts()
                    .await
                    .map_err(|e| api_error("Listing startup scripts", &e))?;
                scripts
                    .iter()
                    .map(|s| {
                        Ok((
                            s.name.clone(),
                            s.id.clone(),
                            startup_script::listed_state(s)?,
                        ))
                    })
                    .collect::<Result<_, Diagnostics>>()?
            }
            NamedKind::Volume => {
                let volumes = client
                    .volumes(None)
                    .await
                    .map_err(|e| api_error("Listing volumes", &e))?;
                volumes
                    .iter()
                    .filter(|v| !matches!(v.status, VolumeStatus::Deleting | VolumeStatus::Deleted))
                    .map(|v| Ok((v.name.clone(), v.id.clone(), volume::listed_state(v)?)))
                    .collect::<Result<_, Diagnostics>>()?
            }
        })
    }
}

#[async_trait]
impl ListResource for NamedList {
    fn type_name(&self) -> String {
        match self.0 {
            NamedKind::SshKey => "datacrunch_ssh_key",
            NamedKind::StartupScript => "datacrunch_startup_script",
            NamedKind::Volume => "datacrunch_volume",
        }
        .into()
    }

    fn schema(&self) -> Schema {
        Schema::new()
            .description("Objects of this type in the account, by name.")
            .attribute(
                Attribute::string("name_prefix")
                    .optional()
                    .description("Only objects whose name starts with this."),
            )
    }

    async fn list(
        &self,
        ctx: &Context,
        request: &ListRequest,
        sink: &ListSink,
    ) -> Result<(), Diagnostics> {
        let filter: NameFilter = request.config.decode()?;
        let st = ProviderState::of(ctx)?;
        let mut found = ctx.run(self.fetch(&st)).await?;
        let prefix = filter.name_prefix.unwrap_or_default();
        found.retain(|(name, _, _)| name.starts_with(&prefix));
        found.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        let items = found
            .into_iter()
            .map(|(name, id, state)| item(&name, &id, state))
            .collect();
        send_all(sink, items).await;
        Ok(())
    }
}
