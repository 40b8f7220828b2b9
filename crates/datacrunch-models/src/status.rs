//! Open enumerations: statuses, actions and other string sets the API may extend.
//!
//! The original provider failed to read instances whose status or location it did not
//! know (defect 2). Every set here keeps an unknown value as [`Other`](InstanceStatus::Other)
//! so a new status from the service is shown to the user, never a decoding error.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Defines a string enum with an `Other(String)` catch-all, plus serde and `Display`.
/// Extra spellings after `|` are accepted on input and normalised to the first.
macro_rules! open_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal $(| $alias:literal)*,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value this version does not know, kept verbatim.
            Other(String),
        }

        impl $name {
            /// Every known value, in declaration order.
            pub const KNOWN: &'static [$name] = &[$($name::$variant,)*];

            /// The wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $wire,)*
                    $name::Other(s) => s,
                }
            }

            /// Parses a wire spelling; unknown values become `Other`.
            pub fn parse(s: &str) -> $name {
                match s {
                    $($wire $(| $alias)* => $name::$variant,)*
                    other => $name::Other(other.to_owned()),
                }
            }

            /// Whether this is one of the values this version knows.
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Other(_))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Ok($name::parse(&s))
            }
        }
    };
}

open_enum! {
    /// The status of an instance. `starting hibernation` (2023 spelling) reads as
    /// [`StartingHibernation`](InstanceStatus::StartingHibernation).
    InstanceStatus {
        New = "new",
        Ordered = "ordered",
        Provisioning = "provisioning",
        Validating = "validating",
        Running = "running",
        Offline = "offline",
        Pending = "pending",
        StartingHibernation = "starting_hibernation" | "starting hibernation",
        Hibernating = "hibernating",
        Restoring = "restoring",
        Error = "error",
        Deleting = "deleting",
        Discontinued = "discontinued",
        NoCapacity = "no_capacity",
        InstallationFailed = "installation_failed",
        NotFound = "notfound",
        Unknown = "unknown",
    }
}

impl InstanceStatus {
    /// A status from which the instance will never become `running` by itself: a create
    /// waiter stops on these with an error instead of polling until its deadline.
    pub fn is_failed(&self) -> bool {
        matches!(
            self,
            InstanceStatus::Error
                | InstanceStatus::NoCapacity
                | InstanceStatus::InstallationFailed
                | InstanceStatus::Discontinued
                | InstanceStatus::Deleting
                | InstanceStatus::NotFound
        )
    }

    /// Gone or going: the instance no longer bills and will leave the list.
    pub fn is_gone(&self) -> bool {
        matches!(
            self,
            InstanceStatus::Discontinued | InstanceStatus::Deleting | InstanceStatus::NotFound
        )
    }

    /// Still on its way to `running` after a deploy.
    pub fn is_pending(&self) -> bool {
        matches!(
            self,
            InstanceStatus::New
                | InstanceStatus::Ordered
                | InstanceStatus::Provisioning
                | InstanceStatus::Validating
                | InstanceStatus::Pending
        )
    }
}

open_enum! {
    /// An action for `PUT /instances`.
    InstanceAction {
        Start = "start",
        Boot = "boot",
        Shutdown = "shutdown",
        ForceShutdown = "force_shutdown",
        Delete = "delete",
        Discontinue = "discontinue",
        Hibernate = "hibernate",
        Restore = "restore",
        DeleteStuck = "delete_stuck",
    }
}

open_enum! {
    /// The status of a volume.
    VolumeStatus {
        Ordered = "ordered",
        Creating = "creating",
        Created = "created",
        Attached = "attached",
        Attaching = "attaching",
        Detached = "detached",
        Detaching = "detaching",
        Deleting = "deleting",
        Deleted = "deleted",
        Cloning = "cloning",
        Restoring = "restoring",
    }
}

open_enum! {
    /// An action for `PUT /volumes`. `increase-size` (2023) reads as `resize`.
    VolumeAction {
        Attach = "attach",
        Detach = "detach",
        Rename = "rename",
        Resize = "resize" | "increase-size",
        Delete = "delete",
        Clone = "clone",
        Restore = "restore",
    }
}

open_enum! {
    /// Billing contract of an instance or volume.
    Contract {
        PayAsYouGo = "PAY_AS_YOU_GO",
        Spot = "SPOT",
        LongTerm = "LONG_TERM",
    }
}

open_enum! {
    /// Pricing model of an instance.
    Pricing {
        FixedPrice = "FIXED_PRICE",
        DynamicPrice = "DYNAMIC_PRICE",
    }
}

open_enum! {
    /// What happens to a volume when the spot instance it belongs to is discontinued.
    OnSpotDiscontinue {
        KeepDetached = "keep_detached",
        MoveToTrash = "move_to_trash",
        DeletePermanently = "delete_permanently",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_status_is_kept() {
        let s: InstanceStatus = serde_json::from_str(r#""warming_up""#).unwrap();
        assert_eq!(s, InstanceStatus::Other("warming_up".into()));
        assert_eq!(serde_json::to_string(&s).unwrap(), r#""warming_up""#);
        assert!(!s.is_known());
    }

    #[test]
    fn old_spellings_normalise() {
        assert_eq!(
            InstanceStatus::parse("starting hibernation"),
            InstanceStatus::StartingHibernation
        );
        assert_eq!(
            InstanceStatus::StartingHibernation.as_str(),
            "starting_hibernation"
        );
        assert_eq!(VolumeAction::parse("increase-size"), VolumeAction::Resize);
    }

    #[test]
    fn classification() {
        assert!(InstanceStatus::NoCapacity.is_failed());
        assert!(InstanceStatus::Provisioning.is_pending());
        assert!(!InstanceStatus::Running.is_failed());
        assert!(InstanceStatus::Discontinued.is_gone());
    }
}
