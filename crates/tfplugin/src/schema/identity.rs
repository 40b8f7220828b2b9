//! Resource identity schemas: the few attributes that name a remote object
//! for good (typically its id), which Terraform 1.12+ stores next to the
//! state, uses for `import { identity = { ... } }` and for `terraform query`
//! results. Nothing mutable belongs in an identity.

use crate::value::{Type, Value};

/// One attribute of an identity.
#[derive(Clone, Debug)]
pub struct IdentityAttribute {
    pub name: String,
    pub ty: Type,
    /// Must be given in an `import { identity = { ... } }` block.
    pub required_for_import: bool,
    /// May be given in an import block (otherwise it comes from elsewhere,
    /// e.g. the provider configuration).
    pub optional_for_import: bool,
    pub description: Option<String>,
}

impl IdentityAttribute {
    /// An attribute that an import block must set.
    pub fn required(name: impl Into<String>, ty: Type) -> Self {
        Self {
            name: name.into(),
            ty,
            required_for_import: true,
            optional_for_import: false,
            description: None,
        }
    }

    /// An attribute that an import block may leave out.
    pub fn optional(name: impl Into<String>, ty: Type) -> Self {
        Self {
            required_for_import: false,
            optional_for_import: true,
            ..Self::required(name, ty)
        }
    }

    pub fn description(mut self, md: impl Into<String>) -> Self {
        self.description = Some(md.into());
        self
    }
}

/// A resource type's identity: versioned like a schema, so stored
/// identities written under an older version can be upgraded.
#[derive(Clone, Debug, Default)]
pub struct IdentitySchema {
    pub version: i64,
    pub attributes: Vec<IdentityAttribute>,
}

impl IdentitySchema {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn version(mut self, v: i64) -> Self {
        self.version = v;
        self
    }

    pub fn attribute(mut self, a: IdentityAttribute) -> Self {
        self.attributes.push(a);
        self
    }

    /// The object type of identity values.
    pub fn value_type(&self) -> Type {
        Type::object(
            self.attributes
                .iter()
                .map(|a| (a.name.clone(), a.ty.clone())),
        )
    }

    /// The identity of a resource state whose attributes carry the identity
    /// attributes under the same names; null for a null state.
    pub fn from_state(&self, state: &Value) -> Value {
        if state.is_null() {
            return Value::Null;
        }
        Value::object(self.attributes.iter().map(|a| {
            let v = state.get(&a.name).cloned().unwrap_or(Value::Null);
            (a.name.clone(), v)
        }))
    }

    /// A partial resource state holding the identity's attributes under the
    /// same names, for the resource's `read` to complete after an import.
    pub fn to_state(&self, identity: &Value) -> Value {
        Value::object(self.attributes.iter().map(|a| {
            let v = identity.get(&a.name).cloned().unwrap_or(Value::Null);
            (a.name.clone(), v)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_picked_from_state_and_back() {
        let s = IdentitySchema::new().attribute(IdentityAttribute::required("id", Type::String));
        let state = Value::object([("id", Value::string("i-1")), ("name", "n".into())]);
        let identity = s.from_state(&state);
        assert_eq!(identity, Value::object([("id", Value::string("i-1"))]));
        assert_eq!(s.to_state(&identity), identity);
        assert_eq!(s.from_state(&Value::Null), Value::Null);
        assert_eq!(s.value_type(), Type::object([("id", Type::String)]));
    }
}
