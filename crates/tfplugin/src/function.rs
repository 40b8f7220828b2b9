//! Provider-defined functions (`provider::NAME::FUNCTION(...)`, Terraform
//! 1.8+): pure computations with a typed signature. Terraform may call them
//! before the provider is configured, so they get no [`crate::Context`].

use crate::value::{Type, Value};

/// One parameter of a function.
#[derive(Clone, Debug)]
pub struct Parameter {
    pub name: String,
    pub ty: Type,
    /// Whether null may be passed (otherwise Terraform refuses it first).
    pub allow_null: bool,
    pub description: Option<String>,
}

impl Parameter {
    pub fn new(name: impl Into<String>, ty: Type) -> Self {
        Self {
            name: name.into(),
            ty,
            allow_null: false,
            description: None,
        }
    }

    pub fn description(mut self, md: impl Into<String>) -> Self {
        self.description = Some(md.into());
        self
    }
}

/// A function's signature and documentation.
#[derive(Clone, Debug)]
pub struct Signature {
    pub parameters: Vec<Parameter>,
    pub returns: Type,
    /// One line, for listings.
    pub summary: String,
    /// Markdown.
    pub description: String,
}

/// Why a call failed; `argument` (zero-based) points at the culprit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionError {
    pub text: String,
    pub argument: Option<usize>,
}

impl FunctionError {
    /// An error about argument `index`.
    pub fn argument(index: usize, text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            argument: Some(index),
        }
    }

    /// An error not about one argument.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            argument: None,
        }
    }
}

/// A function. Calls must be pure: same arguments, same result.
pub trait Function: Send + Sync + 'static {
    /// The name users write after `provider::NAME::`.
    fn name(&self) -> String;

    fn signature(&self) -> Signature;

    /// Computes the result; `args` match the signature's parameters, known.
    fn call(&self, args: &[Value]) -> Result<Value, FunctionError>;
}
