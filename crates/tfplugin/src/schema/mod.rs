//! Schemas: what a provider, resource or data source accepts and exposes,
//! built with a small builder whose order is the insertion order (so docs
//! and `terraform providers schema -json` are deterministic). Besides what
//! Terraform sees (types, required/optional/computed, descriptions,
//! deprecation, nesting), an [`Attribute`] carries behaviour that this crate
//! runs for the resource: defaults, [`validators`] and [`PlanModifier`]s.
//!
//! ```
//! use tfplugin::schema::{Attribute, Schema, validators};
//! let schema = Schema::new()
//!     .description("A **virtual machine**.")
//!     .attribute(Attribute::string("id").computed().use_state_for_unknown())
//!     .attribute(Attribute::string("name").required().requires_replace()
//!         .validator(validators::length_between(1, 64)))
//!     .attribute(Attribute::number("disk_gb").optional().default(50));
//! assert_eq!(schema.block.attributes().len(), 3);
//! ```

mod generate;
pub mod identity;
pub mod timeouts;
pub mod validators;
mod walk;

use std::sync::Arc;

pub use generate::config_from_state;
pub use identity::{IdentityAttribute, IdentitySchema};
pub use validators::Validator;
pub(crate) use walk::{reject_write_only, validate_config, walk_attributes};

use crate::value::{Type, Value};

/// A versioned schema of a provider, resource or data source.
#[derive(Clone, Default)]
pub struct Schema {
    /// Bump when the stored state layout changes; the resource's `upgrade`
    /// then receives the old version.
    pub version: i64,
    pub block: Block,
}

impl Schema {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn version(mut self, v: i64) -> Self {
        self.version = v;
        self
    }
    /// Markdown description of the whole resource (shown in docs).
    pub fn description(mut self, md: impl Into<String>) -> Self {
        self.block.description = Some(md.into());
        self
    }
    /// Marks the whole resource deprecated with a message.
    pub fn deprecated(mut self, message: impl Into<String>) -> Self {
        self.block.deprecation = Some(message.into());
        self
    }
    pub fn attribute(mut self, a: Attribute) -> Self {
        self.block = self.block.attribute(a);
        self
    }
    pub fn block(mut self, b: NestedBlock) -> Self {
        self.block = self.block.block(b);
        self
    }
    /// The type of the values this schema describes.
    pub fn value_type(&self) -> Type {
        self.block.value_type()
    }
}

/// A set of attributes and nested blocks.
#[derive(Clone, Default)]
pub struct Block {
    attributes: Vec<Attribute>,
    blocks: Vec<NestedBlock>,
    pub description: Option<String>,
    pub deprecation: Option<String>,
}

impl Block {
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds an attribute; a later attribute with the same name replaces it.
    pub fn attribute(mut self, a: Attribute) -> Self {
        self.attributes.retain(|x| x.name != a.name);
        self.attributes.push(a);
        self
    }
    /// Adds a nested block type.
    pub fn block(mut self, b: NestedBlock) -> Self {
        self.blocks.retain(|x| x.name != b.name);
        self.blocks.push(b);
        self
    }
    pub fn description(mut self, md: impl Into<String>) -> Self {
        self.description = Some(md.into());
        self
    }
    pub fn attributes(&self) -> &[Attribute] {
        &self.attributes
    }
    pub fn blocks(&self) -> &[NestedBlock] {
        &self.blocks
    }
    /// An attribute by name.
    pub fn get(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }
    /// The object type of this block's values.
    pub fn value_type(&self) -> Type {
        let attrs = self
            .attributes
            .iter()
            .map(|a| (a.name.clone(), a.value_type()));
        let blocks = self.blocks.iter().map(|b| (b.name.clone(), b.value_type()));
        Type::Object(attrs.chain(blocks).collect())
    }
}

/// How nested attributes or blocks repeat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nesting {
    Single,
    List,
    Set,
    Map,
    /// Blocks only: like Single, but never null.
    Group,
}

impl Nesting {
    fn wrap(self, t: Type) -> Type {
        match self {
            Nesting::Single | Nesting::Group => t,
            Nesting::List => Type::list(t),
            Nesting::Set => Type::set(t),
            Nesting::Map => Type::map(t),
        }
    }
}

/// What kind of value an attribute holds.
#[derive(Clone)]
pub enum AttributeType {
    /// A value of a plain type.
    Plain(Type),
    /// Nested attributes (protocol 6), repeated per the nesting mode.
    Nested(Nesting, Vec<Attribute>),
}

/// Decides, given (prior, planned) values, whether a change forces replacement.
pub type ReplaceIf = Arc<dyn Fn(&Value, &Value) -> bool + Send + Sync>;

/// A plan-time behaviour attached to an attribute.
#[derive(Clone)]
pub enum PlanModifier {
    /// Changing the value replaces the resource.
    RequiresReplace,
    /// Replace when the function says so, given (prior, planned).
    RequiresReplaceIf(ReplaceIf),
    /// Keep the prior value instead of "(known after apply)" on update.
    UseStateForUnknown,
}

/// One attribute of a block.
#[derive(Clone)]
pub struct Attribute {
    pub name: String,
    pub ty: AttributeType,
    pub required: bool,
    pub optional: bool,
    pub computed: bool,
    pub sensitive: bool,
    pub write_only: bool,
    pub description: Option<String>,
    pub deprecation: Option<String>,
    pub default: Option<Value>,
    pub validators: Vec<Arc<dyn Validator>>,
    pub plan_modifiers: Vec<PlanModifier>,
}

macro_rules! typed_ctor {
    ($($f:ident => $t:expr),*) => {$(
        #[doc = concat!("A new `", stringify!($f), "` attribute (set required/optional/computed next).")]
        pub fn $f(name: impl Into<String>) -> Self {
            Self::new(name, $t)
        }
    )*};
}

impl Attribute {
    /// A new attribute of a plain type. Call `.required()`, `.optional()` or
    /// `.computed()` next; without any, the attribute is optional.
    pub fn new(name: impl Into<String>, ty: Type) -> Self {
        Self::with_type(name, AttributeType::Plain(ty))
    }

    fn with_type(name: impl Into<String>, ty: AttributeType) -> Self {
        Self {
            name: name.into(),
            ty,
            required: false,
            optional: false,
            computed: false,
            sensitive: false,
            write_only: false,
            description: None,
            deprecation: None,
            default: None,
            validators: Vec::new(),
            plan_modifiers: Vec::new(),
        }
    }

    typed_ctor!(string => Type::String, number => Type::Number, bool => Type::Bool,
        dynamic => Type::Dynamic);

    pub fn list(name: impl Into<String>, elem: Type) -> Self {
        Self::new(name, Type::list(elem))
    }
    pub fn set(name: impl Into<String>, elem: Type) -> Self {
        Self::new(name, Type::set(elem))
    }
    pub fn map(name: impl Into<String>, elem: Type) -> Self {
        Self::new(name, Type::map(elem))
    }
    /// Nested attributes: one object, a list, a set or a map of objects.
    pub fn nested(name: impl Into<String>, nesting: Nesting, attrs: Vec<Attribute>) -> Self {
        let nesting = if nesting == Nesting::Group {
            Nesting::Single
        } else {
            nesting
        };
        Self::with_type(name, AttributeType::Nested(nesting, attrs))
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self.optional = false;
        self.computed = false;
        self
    }
    pub fn optional(mut self) -> Self {
        self.required = false;
        self.optional = true;
        self
    }
    pub fn computed(mut self) -> Self {
        self.required = false;
        self.computed = true;
        self
    }
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
    /// Never stored in state (needs Terraform 1.11+); planned and applied as null.
    pub fn write_only(mut self) -> Self {
        self.write_only = true;
        self
    }
    /// Markdown description.
    pub fn description(mut self, md: impl Into<String>) -> Self {
        self.description = Some(md.into());
        self
    }
    pub fn deprecated(mut self, message: impl Into<String>) -> Self {
        self.deprecation = Some(message.into());
        self
    }
    /// Value planned when the configuration leaves the attribute out. Makes
    /// the attribute optional + computed, as Terraform requires.
    pub fn default(mut self, v: impl Into<Value>) -> Self {
        self.default = Some(v.into());
        self.required = false;
        self.optional = true;
        self.computed = true;
        self
    }
    pub fn validator(mut self, v: Arc<dyn Validator>) -> Self {
        self.validators.push(v);
        self
    }
    pub fn plan_modifier(mut self, m: PlanModifier) -> Self {
        self.plan_modifiers.push(m);
        self
    }
    /// Changing the configured value replaces the resource. Not evaluated
    /// for attributes inside set elements (they have no path); mark the set.
    pub fn requires_replace(self) -> Self {
        self.plan_modifier(PlanModifier::RequiresReplace)
    }
    pub fn use_state_for_unknown(self) -> Self {
        self.plan_modifier(PlanModifier::UseStateForUnknown)
    }

    /// True when the configuration may not set it.
    pub fn is_computed_only(&self) -> bool {
        self.computed && !self.optional && !self.required
    }

    pub(crate) fn has_modifier(&self, f: impl Fn(&PlanModifier) -> bool) -> bool {
        self.plan_modifiers.iter().any(f)
    }

    /// An attribute with none of required/optional/computed is treated as
    /// optional, which is what authors forgetting the call expect.
    pub(crate) fn flags(&self) -> (bool, bool, bool) {
        if !self.required && !self.optional && !self.computed {
            (false, true, false)
        } else {
            (self.required, self.optional, self.computed)
        }
    }

    /// The type of this attribute's values.
    pub fn value_type(&self) -> Type {
        match &self.ty {
            AttributeType::Plain(t) => t.clone(),
            AttributeType::Nested(n, attrs) => n.wrap(Type::Object(
                attrs
                    .iter()
                    .map(|a| (a.name.clone(), a.value_type()))
                    .collect(),
            )),
        }
    }
}

/// A nested block type (`disk { ... }`). Prefer nested attributes in new
/// schemas; blocks exist for compatibility with established designs.
#[derive(Clone)]
pub struct NestedBlock {
    pub name: String,
    pub block: Block,
    pub nesting: Nesting,
    pub min_items: i64,
    pub max_items: i64,
}

impl NestedBlock {
    pub fn new(name: impl Into<String>, nesting: Nesting, block: Block) -> Self {
        Self {
            name: name.into(),
            block,
            nesting,
            min_items: 0,
            max_items: 0,
        }
    }
    pub fn min_items(mut self, n: i64) -> Self {
        self.min_items = n;
        self
    }
    pub fn max_items(mut self, n: i64) -> Self {
        self.max_items = n;
        self
    }
    pub fn value_type(&self) -> Type {
        self.nesting.wrap(self.block.value_type())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_type_and_order() {
        let s = Schema::new()
            .attribute(Attribute::string("z").required())
            .attribute(Attribute::nested(
                "disks",
                Nesting::List,
                vec![Attribute::number("size").required()],
            ))
            .block(NestedBlock::new(
                "net",
                Nesting::Set,
                Block::new().attribute(Attribute::bool("public").optional()),
            ))
            .attribute(Attribute::string("a").default("x"));
        let names: Vec<_> = s
            .block
            .attributes()
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(names, ["z", "disks", "a"]);
        assert_eq!(
            s.value_type().to_json().to_string(),
            r#"["object",{"a":"string","disks":["list",["object",{"size":"number"}]],"net":["set",["object",{"public":"bool"}]],"z":"string"}]"#
        );
        let a = s.block.get("a").unwrap();
        assert!(a.optional && a.computed && !a.required);
    }
}
