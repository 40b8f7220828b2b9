//! Attribute validators. Each checks one known, non-null value and reports
//! problems as diagnostics at the attribute's exact path, so Terraform
//! underlines the right line. Build them with the functions below or
//! [`custom`] for anything else.

use std::sync::Arc;

use crate::diag::{AttributePath, Diagnostic, Diagnostics};
use crate::duration;
use crate::value::{Number, Value};

/// Checks one attribute value.
pub trait Validator: Send + Sync {
    /// Adds diagnostics for `value` (never null or unknown) found at `path`.
    fn validate(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics);
    /// A human description for docs ("one of `a`, `b`").
    fn description(&self) -> String;
}

struct FnValidator<F> {
    description: String,
    f: F,
}

impl<F> Validator for FnValidator<F>
where
    F: Fn(&Value, &AttributePath, &mut Diagnostics) + Send + Sync,
{
    fn validate(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        (self.f)(value, path, diags)
    }
    fn description(&self) -> String {
        self.description.clone()
    }
}

/// A validator from a closure.
pub fn custom<F>(description: impl Into<String>, f: F) -> Arc<dyn Validator>
where
    F: Fn(&Value, &AttributePath, &mut Diagnostics) + Send + Sync + 'static,
{
    Arc::new(FnValidator {
        description: description.into(),
        f,
    })
}

fn invalid(path: &AttributePath, detail: String) -> Diagnostic {
    Diagnostic::error("Invalid attribute value", detail).at(path.clone())
}

/// The string must be one of `allowed`.
pub fn one_of<I, S>(allowed: I) -> Arc<dyn Validator>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let allowed: Vec<String> = allowed.into_iter().map(Into::into).collect();
    let list = allowed
        .iter()
        .map(|a| format!("{a:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    custom(format!("one of {list}"), move |v, path, diags| {
        if let Some(s) = v.as_str() {
            if !allowed.iter().any(|a| a == s) {
                diags.push(invalid(
                    path,
                    format!("{s:?} is not allowed here; expected one of {list}."),
                ));
            }
        }
    })
}

/// The string must match `pattern` (anchor it yourself); `message` explains
/// the expected form to the user. Panics if `pattern` is not a valid regex,
/// which is a bug in the provider, found at schema construction.
/// Needs the `regex` feature (on by default).
#[cfg(feature = "regex")]
pub fn regex(pattern: &str, message: impl Into<String>) -> Arc<dyn Validator> {
    let re = regex::Regex::new(pattern).expect("validator regex must compile");
    let message = message.into();
    custom(format!("matches `{pattern}`"), move |v, path, diags| {
        if let Some(s) = v.as_str() {
            if !re.is_match(s) {
                diags.push(invalid(path, format!("{s:?} {message}")));
            }
        }
    })
}

/// String length (in characters) or collection size within `min..=max`.
pub fn length_between(min: usize, max: usize) -> Arc<dyn Validator> {
    custom(
        format!("length between {min} and {max}"),
        move |v, path, diags| {
            let (len, what) = match v.unwrap_dynamic() {
                Value::String(s) => (s.chars().count(), "characters"),
                Value::List(l) => (l.len(), "elements"),
                Value::Map(m) => (m.len(), "elements"),
                _ => return,
            };
            if len < min || len > max {
                diags.push(invalid(
                    path,
                    format!("Must have between {min} and {max} {what}, got {len}."),
                ));
            }
        },
    )
}

/// Number within `min..=max` (either bound optional).
pub fn range(min: Option<Number>, max: Option<Number>) -> Arc<dyn Validator> {
    let desc = match (&min, &max) {
        (Some(a), Some(b)) => format!("between {a} and {b}"),
        (Some(a), None) => format!("at least {a}"),
        (None, Some(b)) => format!("at most {b}"),
        (None, None) => "any number".to_string(),
    };
    let d2 = desc.clone();
    custom(desc, move |v, path, diags| {
        if let Some(n) = v.as_number() {
            let low = min.as_ref().is_some_and(|m| n < m);
            let high = max.as_ref().is_some_and(|m| n > m);
            if low || high {
                diags.push(invalid(path, format!("Must be {d2}, got {n}.")));
            }
        }
    })
}

/// Number at least `min`.
pub fn at_least(min: impl Into<Number>) -> Arc<dyn Validator> {
    range(Some(min.into()), None)
}

/// Number at most `max`.
pub fn at_most(max: impl Into<Number>) -> Arc<dyn Validator> {
    range(None, Some(max.into()))
}

/// A Go-style duration string ("90s", "10m", "1h30m").
pub fn duration() -> Arc<dyn Validator> {
    custom(
        "a duration such as \"10m\" or \"1h30m\"",
        |v, path, diags| {
            if let Some(s) = v.as_str() {
                if let Err(e) = duration::parse(s) {
                    diags.push(invalid(path, e));
                }
            }
        },
    )
}

/// A Go-style duration string above zero (a timeout or an interval). The message names
/// the attribute (`timeouts.create`), since Terraform shows only the line.
pub fn positive_duration() -> Arc<dyn Validator> {
    custom(
        "a duration above 0 such as \"10m\" or \"1h30m\"",
        |v, path, diags| match v.as_str().map(duration::parse) {
            Some(Err(e)) => diags.push(invalid(path, format!("{path}: {e}"))),
            Some(Ok(d)) if d.is_zero() => diags.push(invalid(
                path,
                format!("{path}: must be more than 0, such as \"30s\" or \"10m\"."),
            )),
            _ => {}
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(v: &Arc<dyn Validator>, value: Value) -> Diagnostics {
        let mut d = Diagnostics::new();
        v.validate(&value, &AttributePath::new("x"), &mut d);
        d
    }

    #[test]
    fn each_validator_accepts_and_rejects() {
        let one = one_of(["a", "b"]);
        assert!(run(&one, "a".into()).is_empty());
        let d = run(&one, "c".into());
        assert_eq!(d.len(), 1);
        assert_eq!(d.iter().next().unwrap().path, Some(AttributePath::new("x")));

        #[cfg(feature = "regex")]
        {
            let re = regex("^[a-z]+$", "must be lowercase letters");
            assert!(run(&re, "abc".into()).is_empty());
            assert!(run(&re, "aBc".into()).has_errors());
        }

        let len = length_between(2, 3);
        assert!(run(&len, "ab".into()).is_empty());
        assert!(run(&len, "abcd".into()).has_errors());
        assert!(run(&len, Value::List(vec![Value::Null])).has_errors());

        let r = range(Some(1.into()), Some("2.5".parse().unwrap()));
        assert!(run(&r, Value::Number("2.5".parse().unwrap())).is_empty());
        assert!(run(&r, Value::Number("2.51".parse().unwrap())).has_errors());
        assert!(run(&at_least(0), Value::number(-1)).has_errors());
        assert!(run(&at_most(0), Value::number(-1)).is_empty());

        assert!(run(&duration(), "1h30m".into()).is_empty());
        assert!(run(&duration(), "soon".into()).has_errors());
        assert!(run(&positive_duration(), "1s".into()).is_empty());
        assert!(run(&positive_duration(), "0".into()).has_errors());
        assert!(run(&positive_duration(), "soon".into()).has_errors());

        let c = custom("even", |v, p, d| {
            if v.as_number()
                .and_then(|n| n.to_i64())
                .is_some_and(|n| n % 2 == 1)
            {
                d.error_at(p.clone(), "odd", "");
            }
        });
        assert!(run(&c, Value::number(3)).has_errors());
        assert!(run(&c, Value::number(4)).is_empty());
    }
}
