//! Resource identity on the wire: identity schemas, the identity sent with
//! every read, plan, apply and import, stored identities upgraded, imports
//! started from an identity, and states moved in from other resource types.

use super::convert;
use super::grpc::ProviderService;
use crate::diag::{Diagnostic, Diagnostics};
use crate::proto::tfplugin6 as pb;
use crate::traits::MoveSource;
use crate::value::Value;

type Op<T> = Result<(T, Diagnostics), Diagnostics>;

/// Parses a stored JSON document (state or identity); empty is null.
fn stored_json(raw: Option<pb::RawState>, what: &str) -> Result<serde_json::Value, Diagnostics> {
    let raw = raw.unwrap_or_default();
    if raw.json.is_empty() {
        return Ok(serde_json::Value::Null);
    }
    serde_json::from_slice(&raw.json).map_err(|e| {
        Diagnostic::error(format!("Stored {what} is not valid JSON"), e.to_string()).into()
    })
}

impl ProviderService {
    /// The identity of `state` for a resource type with an identity schema;
    /// `None` for types without one, for null states and while not all known.
    pub(super) fn identity_of(
        &self,
        type_name: &str,
        state: &Value,
    ) -> Result<Option<pb::ResourceIdentityData>, Diagnostics> {
        let entry = self.resource(type_name)?;
        let Some(schema) = &entry.identity else {
            return Ok(None);
        };
        if state.is_null() {
            return Ok(None);
        }
        let ty = schema.value_type();
        let identity = entry.imp.identity(schema, state).conform(&ty)?;
        // An object not created yet has no identity: Terraform refuses to
        // record (or render in a plan) one with unknown values.
        if !identity.is_wholly_known() {
            return Ok(None);
        }
        Ok(Some(pb::ResourceIdentityData {
            identity_data: Some(convert::encode(&identity, &ty)?),
        }))
    }

    pub(super) async fn upgrade_identity(
        &self,
        r: pb::upgrade_resource_identity::Request,
    ) -> Op<pb::ResourceIdentityData> {
        tracing::debug!(tf_rpc = "UpgradeResourceIdentity", tf_resource_type = %r.type_name, version = r.version);
        let entry = self.resource(&r.type_name)?;
        let Some(schema) = &entry.identity else {
            return Err(Diagnostic::error(
                "Resource has no identity",
                format!(
                    "{} has no identity schema, so a stored identity cannot be upgraded.",
                    r.type_name
                ),
            )
            .into());
        };
        let ty = schema.value_type();
        let json = stored_json(r.raw_identity, "identity")?;
        let ctx = self.context(None);
        let json = if r.version == schema.version {
            json
        } else {
            entry.imp.upgrade_identity(&ctx, r.version, json).await?
        };
        let identity = Value::from_json_value(&json, &ty).map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                "Stored identity does not match the identity schema",
                e.to_string(),
            ))
        })?;
        Ok((
            pb::ResourceIdentityData {
                identity_data: Some(convert::encode(&identity, &ty)?),
            },
            ctx.take_warnings(),
        ))
    }

    /// Starts an import from `import { identity = {...} }`: the identity
    /// becomes a partial state for `read` to complete.
    pub(super) async fn import_by_identity(
        &self,
        type_name: &str,
        identity: &pb::ResourceIdentityData,
    ) -> Result<(Value, Diagnostics), Diagnostics> {
        tracing::debug!(tf_rpc = "ImportResourceState", tf_resource_type = %type_name, "by identity");
        let entry = self.resource(type_name)?;
        let Some(schema) = &entry.identity else {
            return Err(Diagnostic::error(
                "Import by identity not supported",
                format!("{type_name} has no identity; import it by id instead."),
            )
            .into());
        };
        let value = convert::decode(&identity.identity_data, &schema.value_type())?;
        let ctx = self.context(None);
        let state = entry.imp.import_identity(&ctx, schema, &value).await?;
        Ok((state, ctx.take_warnings()))
    }

    pub(super) async fn move_state(
        &self,
        r: pb::move_resource_state::Request,
    ) -> Op<(pb::DynamicValue, Option<pb::ResourceIdentityData>)> {
        tracing::debug!(tf_rpc = "MoveResourceState", from = %r.source_type_name, to = %r.target_type_name);
        let entry = self.resource(&r.target_type_name)?;
        let ty = entry.schema.value_type();
        let source = MoveSource {
            provider_address: r.source_provider_address,
            type_name: r.source_type_name,
            schema_version: r.source_schema_version,
            state: stored_json(r.source_state, "state")?,
        };
        let ctx = self.context(None);
        let state = entry.imp.move_state(&ctx, &source).await?.conform(&ty)?;
        let identity = self.identity_of(&r.target_type_name, &state)?;
        Ok((
            (convert::encode(&state, &ty)?, identity),
            ctx.take_warnings(),
        ))
    }
}
