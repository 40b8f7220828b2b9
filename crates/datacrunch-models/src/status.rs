//! Open enumerations: statuses, actions and other string sets the API may extend.
//!
//! The service adds values to these sets without notice, and a client that refuses an
//! unknown value cannot even read the instance to delete it. Every set here keeps an
//! unknown value as [`Other`](InstanceStatus::Other) so a new status from the service is
//! shown to the user, never a decoding error.

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
    /// The status of a cluster. Older SDK docs say `creating` where the service says
    /// `provisioning`; both read as [`Provisioning`](ClusterStatus::Provisioning).
    ClusterStatus {
        Ordered = "ordered",
        Provisioning = "provisioning" | "creating",
        Running = "running",
        Scaling = "scaling",
        Updating = "updating",
        Error = "error",
        Deleting = "deleting",
        Discontinued = "discontinued" | "deleted",
        NoCapacity = "no_capacity",
    }
}

impl ClusterStatus {
    /// Still on its way to `running` after a create.
    pub fn is_pending(&self) -> bool {
        matches!(self, ClusterStatus::Ordered | ClusterStatus::Provisioning)
    }

    /// A status from which the cluster will never become `running` by itself.
    pub fn is_failed(&self) -> bool {
        matches!(
            self,
            ClusterStatus::Error
                | ClusterStatus::NoCapacity
                | ClusterStatus::Deleting
                | ClusterStatus::Discontinued
        )
    }

    /// Gone or going: the cluster no longer bills and will leave the list.
    pub fn is_gone(&self) -> bool {
        matches!(self, ClusterStatus::Deleting | ClusterStatus::Discontinued)
    }
}

open_enum! {
    /// An action for `PUT /clusters`. The service deletes a cluster by `discontinue`;
    /// `delete` is accepted as the same thing.
    ClusterAction {
        Discontinue = "discontinue",
        Delete = "delete",
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

open_enum! {
    /// The `code` of an error body. Clients decide on this, never on the message text,
    /// so a renamed variant is a compile error rather than a silently missed match.
    ErrorCode {
        /// 400: validation failures, bad ids, bad filters.
        InvalidRequest = "invalid_request",
        /// 401: missing, unknown or expired token; bad client credentials.
        UnauthorizedRequest = "unauthorized_request",
        /// 402: balance too low to deploy.
        InsufficientFunds = "insufficient_funds",
        /// 403: an action the resource's current state does not allow, such as deleting
        /// an instance that is already discontinued or still provisioning.
        ForbiddenAction = "forbidden_action",
        /// 404: unknown resource.
        NotFound = "not_found",
        /// 409: a tag key that already exists.
        Conflict = "conflict",
        /// 429: too many requests (no source documents it; the emulator injects it).
        TooManyRequests = "too_many_requests",
        /// 500.
        ServerError = "server_error",
        /// 503: no capacity for the requested type, or the service is unavailable.
        ServiceUnavailable = "service_unavailable",
        /// Token endpoint: wrong grant type.
        UnsupportedGrantType = "unsupported_grant_type",
        /// Token endpoint: bad refresh token.
        InvalidGrant = "invalid_grant",
        /// Token endpoint, OAuth2's own spelling for unknown client credentials.
        InvalidClient = "invalid_client",
    }
}

impl Default for ErrorCode {
    /// An error body without a `code` (some proxies answer so) reads as an empty code.
    fn default() -> Self {
        ErrorCode::Other(String::new())
    }
}

impl ErrorCode {
    /// The HTTP status the API sends this code with, for the codes that have one.
    pub fn http_status(&self) -> Option<u16> {
        Some(match self {
            ErrorCode::InvalidRequest => 400,
            ErrorCode::UnauthorizedRequest => 401,
            ErrorCode::InsufficientFunds => 402,
            ErrorCode::ForbiddenAction => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::TooManyRequests => 429,
            ErrorCode::ServerError => 500,
            ErrorCode::ServiceUnavailable => 503,
            ErrorCode::UnsupportedGrantType | ErrorCode::InvalidGrant => 400,
            ErrorCode::InvalidClient => 401,
            ErrorCode::Other(_) => return None,
        })
    }

    /// No code at all in the body.
    pub fn is_empty(&self) -> bool {
        matches!(self, ErrorCode::Other(s) if s.is_empty())
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

    #[test]
    fn error_codes_round_trip_and_keep_unknown_ones() {
        for code in ErrorCode::KNOWN {
            assert_eq!(&ErrorCode::parse(code.as_str()), code);
            assert!(code.http_status().is_some());
        }
        assert_eq!(ErrorCode::ForbiddenAction.http_status(), Some(403));
        let unknown: ErrorCode = serde_json::from_str(r#""quota_exceeded""#).unwrap();
        assert_eq!(unknown, ErrorCode::Other("quota_exceeded".into()));
        assert!(ErrorCode::default().is_empty());
    }
}
