//! `datacrunch_startup_script`: a script instances run at first boot
//! (`startup_script_id`). The API has no update, so both arguments force replacement.

use crate::diagnostics::api_error;
use crate::diagnostics::deleted_or_gone;
use crate::diagnostics::found_or_gone;
use crate::diagnostics::missing;
use crate::resources::create_once::find_or_create;
use crate::state::ProviderState;
use datacrunch_models::CreateStartupScriptRequest;
use serde::{Deserialize, Serialize};
use tfplugin::{async_trait, Attribute, Context, Diagnostics, Resource, Schema, Value};

pub struct StartupScriptResource;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct ScriptModel {
    id: Option<String>,
    name: Option<String>,
    script: Option<String>,
}

/// The state of a script as `terraform query` lists it (what an import then reads).
pub(crate) fn listed_state(api: &datacrunch_models::StartupScript) -> Result<Value, Diagnostics> {
    Ok(Value::encode(&ScriptModel {
        id: Some(api.id.clone()),
        name: Some(api.name.clone()),
        script: Some(api.script.clone()),
    })?)
}

#[async_trait]
impl Resource for StartupScriptResource {
    fn type_name(&self) -> String {
        "datacrunch_startup_script".into()
    }

    fn identity_schema(&self) -> Option<tfplugin::schema::IdentitySchema> {
        crate::resources::id_identity()
    }

    /// `moved` from the official provider's `verda_startup_script`.
    async fn move_state(
        &self,
        _ctx: &Context,
        source: &tfplugin::MoveSource,
    ) -> Result<Value, Diagnostics> {
        let mapping = crate::resources::moved::VerdaMapping {
            from_type: "verda_startup_script",
            attributes: &[("id", "id"), ("name", "name"), ("script", "script")],
        };
        crate::resources::moved::from_verda(source, &mapping, &self.schema(), &[])
    }

    fn schema(&self) -> Schema {
        Schema::new()
            .description("A startup script that instances run at first boot.")
            .attribute(
                Attribute::string("id")
                    .computed()
                    .use_state_for_unknown()
                    .description("The script id, for an instance's `startup_script_id`."),
            )
            .attribute(
                Attribute::string("name")
                    .required()
                    .requires_replace()
                    .description("Name of the script in the account."),
            )
            .attribute(
                Attribute::string("script")
                    .required()
                    .requires_replace()
                    .description(
                        "The script, e.g. `file(\"setup.sh\")`, starting with a `#!` line.",
                    ),
            )
    }

    async fn create(
        &self,
        ctx: &Context,
        planned: &Value,
        _config: &Value,
    ) -> Result<Value, Diagnostics> {
        let m: ScriptModel = planned.decode()?;
        let st = ProviderState::of(ctx)?;
        let request = CreateStartupScriptRequest {
            name: m.name.clone().ok_or_else(|| missing("name"))?,
            script: m.script.clone().ok_or_else(|| missing("script"))?,
        };
        let (id, _) = find_or_create(
            || st.client.create_startup_script(&request),
            || async {
                let scripts = st.client.startup_scripts().await?;
                Ok(scripts
                    .into_iter()
                    .find(|s| s.name == request.name && s.script == request.script)
                    .map(|s| s.id))
            },
        )
        .await
        .map_err(|e| api_error(format!("Creating startup script {:?}", request.name), &e))?;
        Ok(Value::encode(&ScriptModel { id: Some(id), ..m })?)
    }

    async fn read(&self, ctx: &Context, state_value: &Value) -> Result<Option<Value>, Diagnostics> {
        let prior: ScriptModel = state_value.decode()?;
        let st = ProviderState::of(ctx)?;
        let id = prior.id.clone().ok_or_else(|| missing("id"))?;
        let found = found_or_gone(st.client.startup_script(&id).await, || {
            format!("Reading startup script {id}")
        })?;
        found
            .map(|api| {
                Value::encode(&ScriptModel {
                    id: Some(api.id),
                    name: Some(api.name),
                    script: Some(api.script),
                })
            })
            .transpose()
            .map_err(Into::into)
    }

    async fn update(
        &self,
        _ctx: &Context,
        _prior: &Value,
        planned: &Value,
        _config: &Value,
    ) -> Result<Value, Diagnostics> {
        // Every argument forces replacement, so there is nothing to change in place.
        Ok(planned.clone())
    }

    async fn delete(&self, ctx: &Context, prior: &Value) -> Result<(), Diagnostics> {
        let m: ScriptModel = prior.decode()?;
        let st = ProviderState::of(ctx)?;
        let id = m.id.ok_or_else(|| missing("id"))?;
        deleted_or_gone(st.client.delete_startup_script(&id).await, || {
            format!("Deleting startup script {id}")
        })
    }
}
