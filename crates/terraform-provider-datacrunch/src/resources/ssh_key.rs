//! `datacrunch_ssh_key`: an SSH public key in the account.
//!
//! The id comes from the API's answer (bare text or JSON; the original scraped it from
//! an error string), Read notices deletion and changes (the original kept stale state),
//! and both arguments force replacement since the API has no update.

use crate::diagnostics::api_error;
use crate::diagnostics::deleted_or_gone;
use crate::diagnostics::found_or_gone;
use crate::diagnostics::missing;
use crate::resources::create_once::find_or_create;
use crate::resources::validators::ssh_key_validator;
use crate::state::ProviderState;
use datacrunch_models::{CreateSshKeyRequest, SshKey};
use serde::{Deserialize, Serialize};
use tfplugin::{async_trait, Attribute, Context, Diagnostics, Resource, Schema, Value};

pub struct SshKeyResource;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct SshKeyModel {
    id: Option<String>,
    name: Option<String>,
    public_key: Option<String>,
    fingerprint: Option<String>,
}

impl SshKeyModel {
    /// The state after reading `api`. A key that differs only in surrounding
    /// whitespace (a trailing newline from `file()`) is the same key.
    fn refreshed(&self, api: &SshKey) -> Self {
        let same_key = self
            .public_key
            .as_deref()
            .is_some_and(|k| k.trim() == api.key.trim());
        Self {
            id: Some(api.id.clone()),
            name: Some(api.name.clone()),
            public_key: if same_key {
                self.public_key.clone()
            } else {
                Some(api.key.clone())
            },
            fingerprint: api.fingerprint.clone().or_else(|| self.fingerprint.clone()),
        }
    }
}

/// The state of a key as `terraform query` lists it (what an import then reads).
pub(crate) fn listed_state(api: &SshKey) -> Result<Value, Diagnostics> {
    Ok(Value::encode(&SshKeyModel::default().refreshed(api))?)
}

#[async_trait]
impl Resource for SshKeyResource {
    fn type_name(&self) -> String {
        "datacrunch_ssh_key".into()
    }

    fn identity_schema(&self) -> Option<tfplugin::schema::IdentitySchema> {
        crate::resources::id_identity()
    }

    /// `moved` from the official provider's `verda_ssh_key`.
    async fn move_state(
        &self,
        _ctx: &Context,
        source: &tfplugin::MoveSource,
    ) -> Result<Value, Diagnostics> {
        let mapping = crate::resources::moved::VerdaMapping {
            from_type: "verda_ssh_key",
            attributes: &[("id", "id"), ("name", "name"), ("public_key", "public_key")],
        };
        crate::resources::moved::from_verda(source, &mapping, &self.schema(), &[])
    }

    fn schema(&self) -> Schema {
        Schema::new()
            .description("An SSH public key that instances can be deployed with (`ssh_key_ids`).")
            .attribute(
                Attribute::string("id")
                    .computed()
                    .use_state_for_unknown()
                    .description("The key id."),
            )
            .attribute(
                Attribute::string("name")
                    .required()
                    .requires_replace()
                    .description("Name of the key in the account."),
            )
            .attribute(
                Attribute::string("public_key")
                    .required()
                    .requires_replace()
                    .validator(ssh_key_validator())
                    .description(
                        "OpenSSH public key line, e.g. `file(\"~/.ssh/id_ed25519.pub\")`; sent \
                         to the API as `key`.",
                    ),
            )
            .attribute(
                Attribute::string("fingerprint")
                    .computed()
                    .use_state_for_unknown()
                    .description("The key's fingerprint, when the API reports one."),
            )
    }

    async fn create(
        &self,
        ctx: &Context,
        planned: &Value,
        _config: &Value,
    ) -> Result<Value, Diagnostics> {
        let m: SshKeyModel = planned.decode()?;
        let st = ProviderState::of(ctx)?;
        let request = CreateSshKeyRequest {
            name: m.name.clone().ok_or_else(|| missing("name"))?,
            key: m.public_key.clone().ok_or_else(|| missing("public_key"))?,
        };
        // An identical key (same name, same key) already in the account is this one.
        let (id, _) = find_or_create(
            || st.client.create_ssh_key(&request),
            || async {
                let keys = st.client.ssh_keys().await?;
                Ok(keys
                    .into_iter()
                    .find(|k| k.name == request.name && k.key.trim() == request.key.trim())
                    .map(|k| k.id))
            },
        )
        .await
        .map_err(|e| api_error(format!("Creating SSH key {:?}", request.name), &e))?;
        // The fingerprint, if the API computes one; the key exists either way.
        let fingerprint = match st.client.ssh_key(&id).await {
            Ok(k) => k.fingerprint,
            Err(e) => {
                tracing::debug!(id, error = %e, "reading the new key back failed");
                None
            }
        };
        Ok(Value::encode(&SshKeyModel {
            id: Some(id),
            fingerprint,
            ..m
        })?)
    }

    async fn read(&self, ctx: &Context, state_value: &Value) -> Result<Option<Value>, Diagnostics> {
        let prior: SshKeyModel = state_value.decode()?;
        let st = ProviderState::of(ctx)?;
        let id = prior.id.clone().ok_or_else(|| missing("id"))?;
        let found = found_or_gone(st.client.ssh_key(&id).await, || {
            format!("Reading SSH key {id}")
        })?;
        found
            .map(|api| Value::encode(&prior.refreshed(&api)))
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
        let m: SshKeyModel = prior.decode()?;
        let st = ProviderState::of(ctx)?;
        let id = m.id.ok_or_else(|| missing("id"))?;
        deleted_or_gone(st.client.delete_ssh_key(&id).await, || {
            format!("Deleting SSH key {id}")
        })
    }
}
