//! The generic planner and the consistency checks around it.
//!
//! Planning starts from Terraform's `proposed_new_state` (config merged with
//! prior state) and applies Terraform's rules for providers
//! (`internal/plans/objchange`): computed attributes the configuration
//! leaves null become unknown on create, or get their default; on update
//! they keep their prior value when nothing else changes, and become unknown
//! when the resource changes unless marked use-state-for-unknown. Then
//! requires-replace modifiers are evaluated. After the resource's own hook,
//! [`check_plan`] verifies the plan-validity rules and [`check_applied`]
//! that apply returned what was planned, each naming the attribute, so a
//! provider bug never surfaces as Terraform's opaque "inconsistent result".

use crate::diag::{AttributePath, Diagnostic, Diagnostics};
use crate::schema::{
    walk_attributes, Attribute, AttributeType, Block, NestedBlock, Nesting, PlanModifier,
};
use crate::value::{Type, Value};

/// The generic part of PlanResourceChange for a create or update.
pub(crate) fn plan(
    block: &Block,
    prior: Option<&Value>,
    proposed: Value,
    config: &Value,
) -> (Value, Vec<AttributePath>) {
    let mut planned = proposed;
    fill_computed(
        block.attributes(),
        block.blocks(),
        prior,
        config,
        &mut planned,
    );
    let mut replace = Vec::new();
    if let Some(prior) = prior {
        if !same_ignoring_computed(block, prior, &planned) {
            unknown_on_change(block.attributes(), config, &mut planned);
        }
        requires_replace(block, prior, config, &planned, &mut replace);
    }
    (planned, replace)
}

/// Defaults, unknowns on create, write-only nulls; recursing into nested
/// attributes and blocks element by element. `prior` is the matching prior
/// object, `None` when this object is being created (the whole resource, or
/// a nested element that did not exist before).
fn fill_computed(
    attrs: &[Attribute],
    blocks: &[NestedBlock],
    prior: Option<&Value>,
    config: &Value,
    planned: &mut Value,
) {
    let Value::Map(slots) = planned else { return };
    for attr in attrs {
        let cfg = config.get(&attr.name).unwrap_or(&Value::Null);
        let slot = slots.entry(attr.name.clone()).or_insert(Value::Null);
        if attr.write_only {
            *slot = Value::Null;
        } else if cfg.is_null() && attr.computed {
            if let Some(d) = &attr.default {
                *slot = d
                    .clone()
                    .conform(&attr.value_type())
                    .unwrap_or_else(|_| d.clone());
            } else if let Some(prior) = prior {
                // An unconfigured computed value keeps its prior value. Terraform
                // proposes that itself for plain attributes, but null for nested
                // attributes the configuration leaves out.
                *slot = prior.get(&attr.name).cloned().unwrap_or(Value::Null);
            } else {
                // New object: Terraform proposed null; the value is not known yet.
                *slot = Value::Unknown;
            }
        } else if let AttributeType::Nested(nesting, inner) = &attr.ty {
            let prior_v = prior.and_then(|p| p.get(&attr.name));
            for_elements(*nesting, prior_v, cfg, slot, &mut |pr, c, p| {
                fill_computed(inner, &[], pr, c, p)
            });
        }
    }
    for nb in blocks {
        let cfg = config.get(&nb.name).unwrap_or(&Value::Null);
        let prior_v = prior.and_then(|p| p.get(&nb.name));
        if let Some(slot) = slots.get_mut(&nb.name) {
            let b = &nb.block;
            for_elements(nb.nesting, prior_v, cfg, slot, &mut |pr, c, p| {
                fill_computed(b.attributes(), b.blocks(), pr, c, p)
            });
        }
    }
}

/// Calls `f` with (prior element if it existed, config element, planned
/// element) for each element of a nested value. List elements match by
/// index, map elements by key, set elements by equality with a prior one.
fn for_elements(
    nesting: Nesting,
    prior: Option<&Value>,
    cfg: &Value,
    planned: &mut Value,
    f: &mut dyn FnMut(Option<&Value>, &Value, &mut Value),
) {
    let prior = prior.filter(|p| !p.is_null());
    match (nesting, cfg.unwrap_dynamic(), planned) {
        (Nesting::Single | Nesting::Group, c @ Value::Map(_), p @ Value::Map(_)) => f(prior, c, p),
        (Nesting::List, Value::List(cs), Value::List(ps)) => {
            let pr = prior.and_then(Value::as_list).unwrap_or_default();
            for (i, (c, p)) in cs.iter().zip(ps.iter_mut()).enumerate() {
                f(pr.get(i), c, p);
            }
        }
        (Nesting::Set, Value::List(cs), Value::List(ps)) => {
            let pr = prior.and_then(Value::as_list).unwrap_or_default();
            for (c, p) in cs.iter().zip(ps.iter_mut()) {
                let matched = pr.iter().find(|x| *x == p);
                f(matched, c, p);
            }
        }
        (Nesting::Map, Value::Map(cs), Value::Map(ps)) => {
            let pr = prior.and_then(Value::as_map);
            for (k, c) in cs {
                if let Some(p) = ps.get_mut(k) {
                    f(pr.and_then(|m| m.get(k)), c, p);
                }
            }
        }
        _ => {}
    }
}

/// True when the plan changes nothing the user configured.
fn same_ignoring_computed(block: &Block, prior: &Value, planned: &Value) -> bool {
    block.attributes().iter().all(|a| {
        (a.computed && !a.optional && !a.required)
            || a.write_only
            || prior.get(&a.name) == planned.get(&a.name)
    }) && block
        .blocks()
        .iter()
        .all(|b| prior.get(&b.name) == planned.get(&b.name))
}

/// When the resource changes, computed values derived from it may change
/// too: plan them unknown unless marked use-state-for-unknown.
fn unknown_on_change(attrs: &[Attribute], config: &Value, planned: &mut Value) {
    let Value::Map(slots) = planned else { return };
    for attr in attrs {
        let cfg_null = config.get(&attr.name).is_none_or(Value::is_null);
        let keep = attr.default.is_some()
            || attr.has_modifier(|m| matches!(m, PlanModifier::UseStateForUnknown))
            || attr.write_only;
        if attr.computed && cfg_null && !keep {
            slots.insert(attr.name.clone(), Value::Unknown);
        }
    }
}

/// Paths whose change forces replacement. Only changes the configuration
/// asks for count: a computed attribute the configuration leaves out may be
/// planned unknown (its value is recomputed) without replacing anything.
fn requires_replace(
    block: &Block,
    prior: &Value,
    config: &Value,
    planned: &Value,
    out: &mut Vec<AttributePath>,
) {
    walk_attributes(block, planned, &AttributePath::root(), &mut |v| {
        if v.in_set || v.attr.plan_modifiers.is_empty() {
            return;
        }
        if v.attr.computed && config.at(&v.path).is_none_or(Value::is_null) {
            return;
        }
        let old = prior.at(&v.path).unwrap_or(&Value::Null);
        let replace = v.attr.plan_modifiers.iter().any(|m| match m {
            PlanModifier::RequiresReplace => old != v.value,
            PlanModifier::RequiresReplaceIf(f) => old != v.value && f(old, v.value),
            PlanModifier::UseStateForUnknown => false,
        });
        if replace && !out.contains(&v.path) {
            out.push(v.path);
        }
    });
}

/// Terraform's plan-validity rules, checked before Terraform does.
pub(crate) fn check_plan(
    block: &Block,
    prior: Option<&Value>,
    config: &Value,
    planned: &Value,
) -> Diagnostics {
    check_against_config(
        block,
        prior,
        config,
        planned,
        "Provider produced an invalid plan",
    )
}

/// A data source's result must keep every configured value as configured
/// (Terraform rejects it otherwise); only computed values may be filled in.
pub(crate) fn check_data_source(block: &Block, config: &Value, result: &Value) -> Diagnostics {
    check_against_config(
        block,
        None,
        config,
        result,
        "Provider produced an invalid object",
    )
}

fn check_against_config(
    block: &Block,
    prior: Option<&Value>,
    config: &Value,
    planned: &Value,
    summary: &str,
) -> Diagnostics {
    let invalid_plan = |path: &AttributePath, why: String| {
        Diagnostic::error(
            summary,
            format!("{why} This is a bug in the provider; please report it."),
        )
        .at(path.clone())
    };
    let mut diags = Diagnostics::new();
    walk_attributes(block, config, &AttributePath::root(), &mut |v| {
        if v.in_set {
            return;
        }
        let p = planned.at(&v.path).unwrap_or(&Value::Null);
        let cfg = v.value;
        if v.attr.write_only {
            if !p.is_null() {
                diags.push(invalid_plan(
                    &v.path,
                    format!(
                        "Write-only attribute {} must be null outside the configuration.",
                        v.path
                    ),
                ));
            }
            return;
        }
        if v.attr.computed && cfg.is_null() {
            return;
        }
        if matches!(v.attr.ty, AttributeType::Nested(..)) {
            // Leaves are checked on their own; here only nullness matters.
            if cfg.is_null() != p.is_null() {
                diags.push(invalid_plan(
                    &v.path,
                    format!(
                        "The value for {} must be null exactly when the configuration is.",
                        v.path
                    ),
                ));
            }
            return;
        }
        let prior_v = prior.and_then(|pr| pr.at(&v.path));
        let normalised = !cfg.is_null() && prior_v.is_some_and(|pv| !pv.is_null() && pv == p);
        if p != cfg && !normalised {
            diags.push(invalid_plan(
                &v.path,
                format!(
                    "The value {p:?} for {} does not match the configured value {cfg:?}.",
                    v.path
                ),
            ));
        }
    });
    diags
}

/// After apply: every known planned value must come back unchanged and
/// nothing may remain unknown.
pub(crate) fn check_applied(ty: &Type, planned: &Value, new: &Value) -> Diagnostics {
    let mut diags = Diagnostics::new();
    compare(ty, planned, new, &AttributePath::root(), &mut diags);
    diags
}

fn inconsistent(path: &AttributePath, detail: String) -> Diagnostic {
    Diagnostic::error(
        "Provider produced inconsistent result after apply",
        format!("{detail} This is a bug in the provider; please report it."),
    )
    .at(path.clone())
}

fn compare(ty: &Type, planned: &Value, new: &Value, path: &AttributePath, diags: &mut Diagnostics) {
    if let (Type::Dynamic, Value::Dynamic(t, inner)) = (ty, planned) {
        return compare(t, inner, new.unwrap_dynamic(), path, diags);
    }
    let (planned, new) = (planned.unwrap_dynamic(), new.unwrap_dynamic());
    if planned.is_unknown() {
        if !new.is_wholly_known() {
            diags.push(inconsistent(
                path,
                format!("{path} is still unknown after apply."),
            ));
        }
        return;
    }
    match (ty, planned, new) {
        (Type::List(e), Value::List(a), Value::List(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                compare(e, x, y, &path.clone().index(i as i64), diags);
            }
        }
        (Type::Tuple(ts), Value::List(a), Value::List(b)) if a.len() == b.len() => {
            for (i, ((t, x), y)) in ts.iter().zip(a).zip(b).enumerate() {
                compare(t, x, y, &path.clone().index(i as i64), diags);
            }
        }
        (Type::Set(_), Value::List(a), Value::List(b)) => {
            // Unknown set elements cannot be matched; accept any known result then.
            let comparable = a.iter().all(Value::is_wholly_known);
            let same = a.len() == b.len() && a.iter().all(|x| b.contains(x));
            if (comparable && !same) || !new.is_wholly_known() {
                diags.push(inconsistent(
                    path,
                    format!("{path}: planned set {a:?}, but apply returned {b:?}."),
                ));
            }
        }
        (Type::Map(_) | Type::Object(_), Value::Map(a), Value::Map(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let (et, p) = match ty {
                    Type::Object(attrs) => (
                        attrs.get(k).unwrap_or(&Type::Dynamic),
                        path.clone().attr(k.clone()),
                    ),
                    Type::Map(e) => (e.as_ref(), path.clone().key(k.clone())),
                    _ => unreachable!("matched above"),
                };
                compare(
                    et,
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                    &p,
                    diags,
                );
            }
        }
        _ => {
            if planned != new {
                diags.push(inconsistent(
                    path,
                    format!("{path} was planned as {planned:?}, but apply returned {new:?}."),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests;
