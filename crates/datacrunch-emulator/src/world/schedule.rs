//! The lifecycle steps records take by themselves on the virtual clock, for every store
//! whose records have them (instances, clusters): applying the steps due by a time, in
//! time order per record; the earliest step still to come; and what all records have
//! cost. Each record type says only what a step does to it ([`Scheduled::take_step`]),
//! beside the record (instances here, as their records module is below this one).

use super::records::{InstanceRecord, Step, Transition};
use crate::clock::Millis;
use datacrunch_models::InstanceStatus;
use rust_decimal::Decimal;

/// A record with a scheduled step and a running cost.
pub trait Scheduled {
    fn next(&self) -> Option<&Transition>;
    fn set_next(&mut self, next: Option<Transition>);
    /// What `step`, due at `at`, does to the record (status, billing, listing). The
    /// step after `provisioning` is scheduled by [`settle`].
    fn take_step(&mut self, step: Step, at: Millis);
    /// The money the record has cost up to `now`.
    fn cost(&self, now: Millis) -> Decimal;
}

/// Applies every step due by `now`, in time order per record; `provisioning` is how
/// long the `provisioning` step lasts. `changed` hears the index of every record
/// changed.
pub fn settle<R: Scheduled>(
    records: &mut [R],
    now: Millis,
    provisioning: Millis,
    mut changed: impl FnMut(usize),
) {
    for (idx, r) in records.iter_mut().enumerate() {
        while let Some(t) = r.next().filter(|t| t.at <= now).cloned() {
            changed(idx);
            let after = (t.step == Step::Provisioning).then(|| Transition {
                step: Step::Running,
                at: t.at.saturating_add(provisioning),
            });
            r.set_next(after);
            r.take_step(t.step, t.at);
        }
    }
}

/// When the earliest scheduled step is due (`Millis::MAX`: none is).
pub fn next_due<R: Scheduled>(records: &[R]) -> Millis {
    records
        .iter()
        .filter_map(|r| r.next().map(|t| t.at))
        .min()
        .unwrap_or(Millis::MAX)
}

/// What every record has cost up to `now`. Saturating, as balances may be as large
/// as `Decimal::MAX`.
pub fn spent<R: Scheduled>(records: &[R], now: Millis) -> Decimal {
    records
        .iter()
        .fold(Decimal::ZERO, |sum, r| sum.saturating_add(r.cost(now)))
}

/// The accessors every record shares: its `next` field and its own `cost`.
macro_rules! record_fields {
    () => {
        fn next(&self) -> Option<&Transition> {
            self.next.as_ref()
        }

        fn set_next(&mut self, next: Option<Transition>) {
            self.next = next;
        }

        fn cost(&self, now: Millis) -> Decimal {
            // The record's inherent `cost` (inherent functions win over the trait's).
            Self::cost(self, now)
        }
    };
}
pub(super) use record_fields;

impl Scheduled for InstanceRecord {
    record_fields!();

    fn take_step(&mut self, step: Step, at: Millis) {
        match step {
            Step::Provisioning => self.status = InstanceStatus::Provisioning,
            Step::Running => {
                self.status = InstanceStatus::Running;
                self.start_billing(at);
            }
            Step::NoCapacity => self.status = InstanceStatus::NoCapacity,
            Step::Hibernating => self.status = InstanceStatus::Hibernating,
            Step::Unlist => self.listed = false,
        }
    }
}
