//! Exact numbers. Terraform's numbers are arbitrary-precision decimals (cty
//! uses 512-bit big floats), arrive as msgpack ints, floats or strings, and
//! carry things such as prices where `0.1` must stay `0.1`. [`Number`] keeps a
//! normalised decimal `digits × 10^exp`, so equality and ordering are exact and
//! values never round-trip through `f64` unless a caller asks for one.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// An exact decimal number of any size.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Number {
    negative: bool,
    /// Significant digits without leading or trailing zeros; empty for zero.
    digits: String,
    /// Power of ten the digits are scaled by.
    exp: i64,
}

/// A string that is not a decimal number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a number{reason}")]
pub struct ParseNumberError {
    input: String,
    /// Empty, or why a well-formed number is refused.
    reason: &'static str,
}

impl ParseNumberError {
    fn new(input: &str) -> Self {
        Self {
            input: input.to_string(),
            reason: "",
        }
    }
}

/// The largest decimal exponent accepted: far beyond any real quantity, yet
/// small enough that writing the number out in full (which the wire
/// encodings do) takes kilobytes, not gigabytes, and the exponent arithmetic
/// cannot overflow.
const MAX_EXPONENT: i64 = 100_000;

impl Number {
    /// Zero.
    pub fn zero() -> Self {
        Self {
            negative: false,
            digits: String::new(),
            exp: 0,
        }
    }

    fn normalise(negative: bool, digits: &str, exp: i64) -> Self {
        let trimmed = digits.trim_start_matches('0');
        let without_trailing = trimmed.trim_end_matches('0');
        if without_trailing.is_empty() {
            return Self::zero();
        }
        let shift = (trimmed.len() - without_trailing.len()) as i64;
        Self {
            negative,
            digits: without_trailing.to_string(),
            exp: exp + shift,
        }
    }

    /// True when the number has no fractional part.
    pub fn is_integer(&self) -> bool {
        self.exp >= 0
    }

    /// True for values below zero.
    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// The value as `i64` when it is an integer in range.
    pub fn to_i64(&self) -> Option<i64> {
        if !self.is_integer() || self.digits.len() as i64 + self.exp > 19 {
            return None;
        }
        self.to_plain_string().parse().ok()
    }

    /// The value as `u64` when it is a non-negative integer in range.
    pub fn to_u64(&self) -> Option<u64> {
        if !self.is_integer() || self.negative || self.digits.len() as i64 + self.exp > 20 {
            return None;
        }
        self.to_plain_string().parse().ok()
    }

    /// The nearest `f64` (lossy for most decimals; use only where that is fine).
    pub fn to_f64(&self) -> f64 {
        self.to_plain_string().parse().unwrap_or(f64::NAN)
    }

    /// The number written out in full, without an exponent (`-12.5`, `1000`).
    pub fn to_plain_string(&self) -> String {
        if self.digits.is_empty() {
            return "0".to_string();
        }
        let mut s = String::new();
        if self.negative {
            s.push('-');
        }
        if self.exp >= 0 {
            s.push_str(&self.digits);
            s.extend(std::iter::repeat_n('0', self.exp as usize));
        } else {
            let frac = (-self.exp) as usize;
            if frac >= self.digits.len() {
                s.push_str("0.");
                s.extend(std::iter::repeat_n('0', frac - self.digits.len()));
                s.push_str(&self.digits);
            } else {
                let (int, dec) = self.digits.split_at(self.digits.len() - frac);
                s.push_str(int);
                s.push('.');
                s.push_str(dec);
            }
        }
        s
    }

    /// Decimal order of magnitude: the position of the leading digit.
    fn magnitude(&self) -> i64 {
        self.digits.len() as i64 + self.exp
    }

    fn cmp_abs(&self, other: &Self) -> Ordering {
        match (self.digits.is_empty(), other.digits.is_empty()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        self.magnitude()
            .cmp(&other.magnitude())
            // Same magnitude: compare digit strings padded to equal length.
            .then_with(|| {
                let n = self.digits.len().max(other.digits.len());
                let a = format!("{:0<n$}", self.digits);
                let b = format!("{:0<n$}", other.digits);
                a.cmp(&b)
            })
    }
}

impl FromStr for Number {
    type Err = ParseNumberError;

    /// Accepts `12`, `-0.5`, `+1e3`, `1.25E-2`; rejects NaN and infinities.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseNumberError::new(s);
        let out_of_range = || ParseNumberError {
            reason: " Terraform can use (its exponent is out of range)",
            ..err()
        };
        let t = s.trim();
        let (negative, rest) = match t.as_bytes().first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        let (mantissa, exp_part) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        // Bounded before any arithmetic so that nothing below can overflow.
        let exp: i64 = match exp_part {
            Some(e) => e.parse().map_err(|_| err())?,
            None => 0,
        };
        if !(-MAX_EXPONENT..=MAX_EXPONENT).contains(&exp) {
            return Err(out_of_range());
        }
        let (int, frac) = match mantissa.split_once('.') {
            Some((i, f)) => (i, f),
            None => (mantissa, ""),
        };
        if int.is_empty() && frac.is_empty()
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(err());
        }
        let digits = format!("{int}{frac}");
        let n = Self::normalise(negative, &digits, exp - frac.len() as i64);
        if n.exp.abs() > MAX_EXPONENT || n.magnitude().abs() > MAX_EXPONENT {
            return Err(out_of_range());
        }
        Ok(n)
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Self) -> Ordering {
        let neg_a = self.negative && !self.digits.is_empty();
        let neg_b = other.negative && !other.digits.is_empty();
        match (neg_a, neg_b) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.cmp_abs(other),
            (true, true) => other.cmp_abs(self),
        }
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Absurd exponents would print thousands of zeros; use e-notation there.
        if self.exp.abs() > 400 {
            let sign = if self.negative { "-" } else { "" };
            let (first, rest) = self.digits.split_at(1);
            let e = self.exp + rest.len() as i64;
            if rest.is_empty() {
                write!(f, "{sign}{first}e{e}")
            } else {
                write!(f, "{sign}{first}.{rest}e{e}")
            }
        } else {
            f.write_str(&self.to_plain_string())
        }
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Number({self})")
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Number {
            fn from(v: $t) -> Self {
                let s = v.to_string();
                let (neg, digits) = match s.strip_prefix('-') {
                    Some(d) => (true, d.to_string()),
                    None => (false, s),
                };
                Self::normalise(neg, &digits, 0)
            }
        }
    )*};
}
from_int!(i8, i16, i32, i64, i128, u8, u16, u32, u64, u128, isize, usize);

impl TryFrom<f64> for Number {
    type Error = ParseNumberError;
    /// Uses the shortest decimal that round-trips, so `0.1_f64` becomes `0.1`.
    fn try_from(v: f64) -> Result<Self, Self::Error> {
        if !v.is_finite() {
            return Err(ParseNumberError::new(&v.to_string()));
        }
        format!("{v:e}").parse()
    }
}

/// Serialises as the exact decimal string, marked so that the value
/// serialiser in this crate turns it back into a number.
impl serde::Serialize for Number {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct(super::NUMBER_TOKEN, &self.to_plain_string())
    }
}

impl<'de> serde::Deserialize<'de> for Number {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_newtype_struct(super::NUMBER_TOKEN, NumberVisitor)
    }
}

struct NumberVisitor;

impl<'de> serde::de::Visitor<'de> for NumberVisitor {
    type Value = Number;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number")
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Number, E> {
        Ok(v.into())
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Number, E> {
        Ok(v.into())
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Number, E> {
        Number::try_from(v).map_err(E::custom)
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Number, E> {
        v.parse().map_err(E::custom)
    }
    fn visit_newtype_struct<D: serde::Deserializer<'de>>(self, d: D) -> Result<Number, D::Error> {
        d.deserialize_any(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Number {
        s.parse().unwrap()
    }

    #[test]
    fn parse_and_print() {
        assert_eq!(n("1.50").to_string(), "1.5");
        assert_eq!(n("-0.001").to_string(), "-0.001");
        assert_eq!(n("1e3").to_string(), "1000");
        assert_eq!(n("1.25E-2").to_string(), "0.0125");
        assert_eq!(n("-0").to_string(), "0");
        assert_eq!(
            n("123456789012345678901234567890").to_string(),
            "123456789012345678901234567890"
        );
        assert!("abc".parse::<Number>().is_err());
        assert!("1.2.3".parse::<Number>().is_err());
        assert!("".parse::<Number>().is_err());
    }

    #[test]
    fn absurd_exponents_are_refused_not_expanded() {
        for s in [
            "1e9223372036854775807",
            "-0.5e-9223372036854775808",
            "1e100001",
            "1e-100001",
        ] {
            let e = s.parse::<Number>().unwrap_err();
            assert!(e.to_string().contains("exponent is out of range"), "{e}");
        }
        // Big but sane numbers still parse exactly, and print in full.
        let n = n("1e400");
        assert_eq!(n.to_plain_string().len(), 401);
        assert_eq!(n, format!("1{}", "0".repeat(400)).parse().unwrap());
    }

    #[test]
    fn exact_equality_and_order() {
        assert_eq!(n("0.10"), n("0.1"));
        assert_eq!(n("100"), Number::from(100u8));
        assert!(n("0.1") < n("0.11"));
        assert!(n("-2") < n("-1.5"));
        assert!(n("99999999999999999999") < n("100000000000000000000"));
        assert!(n("0") > n("-0.0001"));
        assert_eq!(Number::try_from(0.1f64).unwrap(), n("0.1"));
    }

    #[test]
    fn integer_conversions() {
        assert_eq!(n("9223372036854775807").to_i64(), Some(i64::MAX));
        assert_eq!(n("9223372036854775808").to_i64(), None);
        assert_eq!(n("18446744073709551615").to_u64(), Some(u64::MAX));
        assert_eq!(n("1.5").to_i64(), None);
        assert_eq!(n("-3").to_u64(), None);
    }
}
