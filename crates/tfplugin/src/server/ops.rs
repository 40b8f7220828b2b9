//! Managed-resource operations behind the gRPC methods: state upgrade,
//! read, plan (through the generic planner and the resource's hook), apply
//! (create / update / delete with result checks) and import.

use super::convert;
use super::grpc::ProviderService;
use crate::diag::{Diagnostic, Diagnostics};
use crate::plan;
use crate::proto::tfplugin6 as pb;
use crate::schema::timeouts::{self, Operation};
use crate::schema::{Attribute, AttributeType, NestedBlock, Nesting};
use crate::traits::PlanChange;
use crate::value::Value;

type Op<T> = Result<(T, Diagnostics), Diagnostics>;

/// An encoded state with the identity of the object it describes.
type WithIdentity<T> = (T, Option<pb::ResourceIdentityData>);

impl ProviderService {
    /// The deadline for `op` on `object`: its `timeouts` value, else the resource's default.
    fn timeout_for(
        &self,
        type_name: &str,
        object: &Value,
        op: Operation,
    ) -> Result<Option<std::time::Duration>, Diagnostics> {
        let entry = self.resource(type_name)?;
        Ok(timeouts::configured(object, op)?.or_else(|| entry.imp.default_timeout(op)))
    }

    pub(super) async fn upgrade(
        &self,
        r: pb::upgrade_resource_state::Request,
    ) -> Op<pb::DynamicValue> {
        tracing::debug!(tf_rpc = "UpgradeResourceState", tf_resource_type = %r.type_name, version = r.version);
        let entry = self.resource(&r.type_name)?;
        let ty = entry.schema.value_type();
        let raw = r.raw_state.unwrap_or_default();
        if raw.json.is_empty() {
            if !raw.flatmap.is_empty() {
                return Err(Diagnostic::error(
                    "Unsupported legacy state",
                    "This state was written in the pre-0.12 flatmap format, which this provider cannot read. \
                     Remove the resource from state and import it again.",
                )
                .into());
            }
            return Ok((convert::encode(&Value::Null, &ty)?, Diagnostics::new()));
        }
        let mut json: serde_json::Value = serde_json::from_slice(&raw.json)
            .map_err(|e| Diagnostic::error("Stored state is not valid JSON", e.to_string()))?;
        let ctx = self.context(None);
        let json = if r.version == entry.schema.version {
            // Same version, but the provider may have removed attributes since.
            let dropped = Value::drop_undeclared_json(&mut json, &ty);
            if !dropped.is_empty() {
                let names: Vec<String> = dropped.iter().map(ToString::to_string).collect();
                tracing::debug!(tf_resource_type = %r.type_name, dropped = ?names,
                    "stored state has attributes the schema no longer declares; dropping them");
            }
            json
        } else {
            entry.imp.upgrade(&ctx, r.version, json).await?
        };
        let state = Value::from_json_value(&json, &ty).map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                "Stored state does not match the schema",
                format!("{e}. If the schema changed, bump its version and implement upgrade."),
            ))
        })?;
        Ok((convert::encode(&state, &ty)?, ctx.take_warnings()))
    }

    pub(super) async fn read(
        &self,
        r: pb::read_resource::Request,
    ) -> Op<WithIdentity<pb::DynamicValue>> {
        tracing::debug!(tf_rpc = "ReadResource", tf_resource_type = %r.type_name);
        let entry = self.resource(&r.type_name)?;
        let ty = entry.schema.value_type();
        let current = convert::decode(&r.current_state, &ty)?;
        if current.is_null() {
            return Ok((
                (convert::encode(&Value::Null, &ty)?, None),
                Diagnostics::new(),
            ));
        }
        let ctx = self.context(self.timeout_for(&r.type_name, &current, Operation::Read)?);
        let new = match entry.imp.read(&ctx, &current).await? {
            None => Value::Null,
            Some(v) => {
                let mut v = v.conform(&ty)?;
                v.adopt_dynamic_types(&current);
                v
            }
        };
        if !new.is_wholly_known() {
            return Err(Diagnostic::error(
                "Provider bug: read returned unknown values",
                format!("{} read must return a wholly known state.", r.type_name),
            )
            .into());
        }
        let identity = self.identity_of(&r.type_name, &new)?;
        Ok(((convert::encode(&new, &ty)?, identity), ctx.take_warnings()))
    }

    pub(super) async fn plan(
        &self,
        r: pb::plan_resource_change::Request,
    ) -> Op<(
        pb::DynamicValue,
        Vec<crate::path::AttributePath>,
        Option<pb::ResourceIdentityData>,
    )> {
        tracing::debug!(tf_rpc = "PlanResourceChange", tf_resource_type = %r.type_name);
        let entry = self.resource(&r.type_name)?;
        let ty = entry.schema.value_type();
        let prior = convert::decode(&r.prior_state, &ty)?;
        let proposed = convert::decode(&r.proposed_new_state, &ty)?;
        let config = convert::decode(&r.config, &ty)?;
        if proposed.is_null() {
            // Destroy: nothing to plan, only the resource's check.
            let ctx = self.context(None);
            if !prior.is_null() {
                entry.imp.plan_destroy(&ctx, &prior).await?;
            }
            return Ok((
                (convert::encode(&Value::Null, &ty)?, Vec::new(), None),
                ctx.take_warnings(),
            ));
        }
        // A timeout that will not parse fails the plan, not the apply after it.
        timeouts::check(&config).into_result()?;
        let prior = (!prior.is_null()).then_some(prior);
        let (planned, replace) = plan::plan(&entry.schema.block, prior.as_ref(), proposed, &config);
        let mut change = PlanChange {
            prior,
            config,
            planned,
            requires_replace: replace,
        };
        let ctx = self.context(None);
        entry.imp.modify_plan(&ctx, &mut change).await?;
        let planned = change.planned.conform(&ty)?;
        let mut diags = ctx.take_warnings();
        diags.extend(plan::check_plan(
            &entry.schema.block,
            change.prior.as_ref(),
            &change.config,
            &planned,
        ));
        if diags.has_errors() {
            return Err(diags);
        }
        let replace = if change.prior.is_some() {
            change.requires_replace
        } else {
            Vec::new()
        };
        let identity = self.identity_of(&r.type_name, &planned)?;
        Ok(((convert::encode(&planned, &ty)?, replace, identity), diags))
    }

    /// Create, update or delete. Always returns a state to record: on
    /// failure the prior state (or null after a failed create).
    pub(super) async fn apply(
        &self,
        r: pb::apply_resource_change::Request,
    ) -> (
        Option<pb::DynamicValue>,
        Option<pb::ResourceIdentityData>,
        Diagnostics,
    ) {
        tracing::debug!(tf_rpc = "ApplyResourceChange", tf_resource_type = %r.type_name);
        let entry = match self.resource(&r.type_name) {
            Ok(e) => e,
            // Terraform reads an absent new state as "the object is gone";
            // echo the prior state back so nothing is forgotten.
            Err(d) => return (r.prior_state, r.planned_identity, d),
        };
        let ty = entry.schema.value_type();
        let prior = match convert::decode(&r.prior_state, &ty) {
            Ok(p) => p,
            Err(d) => return (r.prior_state, r.planned_identity, d),
        };
        let decoded = convert::decode(&r.planned_state, &ty)
            .and_then(|planned| Ok((planned, convert::decode(&r.config, &ty)?)));
        let (planned, config) = match decoded {
            Ok(x) => x,
            Err(d) => return (r.prior_state, r.planned_identity, d),
        };
        let result = self
            .apply_inner(&r.type_name, &prior, &planned, &config)
            .await;
        let (state, diags) = match result {
            Ok((state, diags)) => (state, diags),
            Err(mut d) => match d.take_state() {
                // The resource says what the object now is: record that (for a
                // create, Terraform then marks the object tainted).
                Some(state) if !planned.is_null() => match self.shape_state(&r.type_name, state) {
                    Ok(s) => (s, d),
                    Err(e) => {
                        d.extend(e);
                        (prior, d)
                    }
                },
                // The object is as it was: keep recording the prior state.
                _ => (prior, d),
            },
        };
        let encoded = convert::encode(&state, &ty)
            .and_then(|s| Ok((s, self.identity_of(&r.type_name, &state)?)));
        match encoded {
            Ok((s, identity)) => (Some(s), identity, diags),
            Err(mut d) => {
                d.extend(diags);
                (r.prior_state, r.planned_identity, d)
            }
        }
    }

    async fn apply_inner(
        &self,
        type_name: &str,
        prior: &Value,
        planned: &Value,
        config: &Value,
    ) -> Op<Value> {
        let entry = self.resource(type_name)?;
        let ty = entry.schema.value_type();
        if planned.is_null() {
            let ctx = self.context(self.timeout_for(type_name, prior, Operation::Delete)?);
            entry.imp.delete(&ctx, prior).await?;
            return Ok((Value::Null, ctx.take_warnings()));
        }
        let create = prior.is_null();
        let op = if create {
            Operation::Create
        } else {
            Operation::Update
        };
        let ctx = self.context(self.timeout_for(type_name, planned, op)?);
        let new = if create {
            entry.imp.create(&ctx, planned, config).await?
        } else {
            entry.imp.update(&ctx, prior, planned, config).await?
        };
        let mut new = new.conform(&ty)?;
        new.adopt_dynamic_types(planned);
        let block = &entry.schema.block;
        null_write_only(block.attributes(), block.blocks(), &mut new);
        let mut diags = ctx.take_warnings();
        diags.extend(plan::check_applied(&ty, planned, &new));
        Ok((new, diags))
    }

    /// Shapes a state a failed create or update returned with its errors the
    /// way a successful one is shaped: to the schema, write-only values null.
    /// Values still unknown become null, because Terraform refuses unknowns in
    /// state and a half-made object simply has no value for them yet.
    fn shape_state(&self, type_name: &str, state: Value) -> Result<Value, Diagnostics> {
        let entry = self.resource(type_name)?;
        let mut state = state.conform(&entry.schema.value_type())?;
        let block = &entry.schema.block;
        null_write_only(block.attributes(), block.blocks(), &mut state);
        null_unknowns(&mut state);
        Ok(state)
    }

    /// Starts an import from an id or, when Terraform sends one, an identity.
    pub(super) async fn import(
        &self,
        type_name: &str,
        id: &str,
        identity: Option<&pb::ResourceIdentityData>,
    ) -> Op<WithIdentity<pb::DynamicValue>> {
        let entry = self.resource(type_name)?;
        let ty = entry.schema.value_type();
        let (state, diags) = match identity.filter(|i| i.identity_data.is_some()) {
            Some(identity) => self.import_by_identity(type_name, identity).await?,
            None => {
                tracing::debug!(tf_rpc = "ImportResourceState", tf_resource_type = %type_name, id);
                let ctx = self.context(None);
                let state = entry.imp.import(&ctx, id).await?;
                (state, ctx.take_warnings())
            }
        };
        let state = state.conform(&ty)?;
        let identity = self.identity_of(type_name, &state)?;
        Ok(((convert::encode(&state, &ty)?, identity), diags))
    }
}

/// Replaces every unknown, at any depth, with null.
fn null_unknowns(v: &mut Value) {
    match v {
        Value::Unknown => *v = Value::Null,
        Value::List(items) => items.iter_mut().for_each(null_unknowns),
        Value::Map(m) => m.values_mut().for_each(null_unknowns),
        Value::Dynamic(_, inner) => null_unknowns(inner),
        _ => {}
    }
}

/// Write-only values never reach state, whatever the resource returned,
/// at any depth of nested attributes and blocks.
fn null_write_only(attrs: &[Attribute], blocks: &[NestedBlock], v: &mut Value) {
    let Value::Map(m) = v else { return };
    for a in attrs {
        let Some(slot) = m.get_mut(&a.name) else {
            continue;
        };
        if a.write_only {
            *slot = Value::Null;
        } else if let AttributeType::Nested(nesting, inner) = &a.ty {
            for_each_element_mut(*nesting, slot, &mut |e| null_write_only(inner, &[], e));
        }
    }
    for b in blocks {
        if let Some(slot) = m.get_mut(&b.name) {
            let (inner_attrs, inner_blocks) = (b.block.attributes(), b.block.blocks());
            for_each_element_mut(b.nesting, slot, &mut |e| {
                null_write_only(inner_attrs, inner_blocks, e)
            });
        }
    }
}

/// Calls `f` on each object of a nested value (the object itself for
/// single nesting, every element for lists, sets and maps).
fn for_each_element_mut(nesting: Nesting, v: &mut Value, f: &mut dyn FnMut(&mut Value)) {
    match (nesting, v) {
        (Nesting::Single | Nesting::Group, o @ Value::Map(_)) => f(o),
        (Nesting::List | Nesting::Set, Value::List(items)) => items.iter_mut().for_each(f),
        (Nesting::Map, Value::Map(m)) => m.values_mut().for_each(f),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Block, Schema};

    #[test]
    fn write_only_values_are_nulled_at_any_depth() {
        let s = Schema::new()
            .attribute(Attribute::string("token").optional().write_only())
            .attribute(Attribute::nested(
                "users",
                Nesting::Map,
                vec![
                    Attribute::string("name").optional(),
                    Attribute::string("password").optional().write_only(),
                ],
            ))
            .block(NestedBlock::new(
                "auth",
                Nesting::List,
                Block::new().attribute(Attribute::string("key").optional().write_only()),
            ));
        let mut v = Value::object([
            ("token", Value::string("t")),
            (
                "users",
                Value::object([(
                    "u1",
                    Value::object([("name", "n".into()), ("password", "p".into())]),
                )]),
            ),
            (
                "auth",
                Value::List(vec![Value::object([("key", Value::string("k"))])]),
            ),
        ]);
        null_write_only(s.block.attributes(), s.block.blocks(), &mut v);
        let expected = Value::object([
            ("token", Value::Null),
            (
                "users",
                Value::object([(
                    "u1",
                    Value::object([("name", "n".into()), ("password", Value::Null)]),
                )]),
            ),
            (
                "auth",
                Value::List(vec![Value::object([("key", Value::Null)])]),
            ),
        ]);
        assert_eq!(v, expected);
    }
}
