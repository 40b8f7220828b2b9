//! The account balance. It is kept as a base from which everything every instance has
//! cost is subtracted (balance = base − Σ cost), so billing needs no periodic job.

use super::persist::{parse_meta, META_BALANCE};
use crate::error::EmulatorError;
use crate::store::{Store, Write};
use rust_decimal::Decimal;

#[derive(Debug)]
pub struct Ledger {
    base: Decimal,
    changed: bool,
}

impl Ledger {
    /// The stored base, or `starting` for a new state.
    pub fn load(store: &Store, starting: Decimal) -> Result<Self, EmulatorError> {
        Ok(match store.meta(META_BALANCE)? {
            Some(v) => Ledger {
                base: parse_meta(META_BALANCE, &v)?,
                changed: false,
            },
            None => Ledger {
                base: starting,
                changed: true,
            },
        })
    }

    /// The balance after `spent`. Saturating: the admin API and `--balance` accept
    /// amounts up to `Decimal::MAX`, and plain `-` on `Decimal` panics on overflow.
    pub fn balance(&self, spent: Decimal) -> Decimal {
        self.base.saturating_sub(spent).round_dp(4)
    }

    /// Sets the balance to `amount` given what has been `spent` so far.
    pub fn set(&mut self, amount: Decimal, spent: Decimal) {
        self.base = amount.saturating_add(spent);
        self.changed = true;
    }

    pub fn drain_writes(&mut self, out: &mut Vec<Write>) {
        if std::mem::take(&mut self.changed) {
            out.push(Write::Meta {
                key: META_BALANCE,
                value: self.base.to_string(),
            });
        }
    }
}
