//! The kdevops GPU tier table and its groups.

use std::fmt;
use std::str::FromStr;

/// A GPU tier: a name and its single-GPU instance types, in preference order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tier {
    pub name: &'static str,
    pub instance_types: &'static [&'static str],
}

/// The kdevops tiers, highest first.
///
/// The `a100-80` tier is `1A100.22V`: kdevops' `datacrunch_select_tier.py` names it
/// `1A100.80S.22V`, but that type does not exist in the real catalog, where the 80 GB
/// single A100 is `1A100.22V` (the 40 GB one is `1A100.40S.22V`).
pub const TIERS: &[Tier] = &[
    Tier {
        name: "b300",
        instance_types: &["1B300.30V"],
    },
    Tier {
        name: "b200",
        instance_types: &["1B200.30V"],
    },
    Tier {
        name: "h100",
        instance_types: &["1H100.80S.30V", "1H100.80S.32V"],
    },
    Tier {
        name: "a100-80",
        instance_types: &["1A100.22V"],
    },
    Tier {
        name: "a100-40",
        instance_types: &["1A100.40S.22V"],
    },
    Tier {
        name: "rtx-pro-6000",
        instance_types: &["1RTXPRO6000.30V"],
    },
    Tier {
        name: "rtx-6000-ada",
        instance_types: &["1RTX6000ADA.10V"],
    },
    Tier {
        name: "l40s",
        instance_types: &["1L40S.20V"],
    },
    Tier {
        name: "a6000",
        instance_types: &["1A6000.10V"],
    },
    Tier {
        name: "v100",
        instance_types: &["1V100.6V"],
    },
];

/// A named set of candidate types, as kdevops' configuration spells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TierGroup {
    B300OrLess,
    B200OrLess,
    H100OrLess,
    A100_80OrLess,
    A100_40OrLess,
    /// Either single-H100 type.
    Any1H100,
}

impl TierGroup {
    pub const ALL: &'static [TierGroup] = &[
        TierGroup::B300OrLess,
        TierGroup::B200OrLess,
        TierGroup::H100OrLess,
        TierGroup::A100_80OrLess,
        TierGroup::A100_40OrLess,
        TierGroup::Any1H100,
    ];

    /// The kdevops spelling, e.g. `H100_OR_LESS`.
    pub fn name(self) -> &'static str {
        match self {
            TierGroup::B300OrLess => "B300_OR_LESS",
            TierGroup::B200OrLess => "B200_OR_LESS",
            TierGroup::H100OrLess => "H100_OR_LESS",
            TierGroup::A100_80OrLess => "A100_80_OR_LESS",
            TierGroup::A100_40OrLess => "A100_40_OR_LESS",
            TierGroup::Any1H100 => "ANY_1H100",
        }
    }

    /// The candidate instance types, most preferred first. An `_OR_LESS` group is every
    /// tier from the named one down.
    pub fn instance_types(self) -> Vec<&'static str> {
        let first_tier = match self {
            // The h100 tier alone.
            TierGroup::Any1H100 => {
                return TIERS
                    .iter()
                    .filter(|t| t.name == "h100")
                    .flat_map(|t| t.instance_types.iter().copied())
                    .collect()
            }
            TierGroup::B300OrLess => "b300",
            TierGroup::B200OrLess => "b200",
            TierGroup::H100OrLess => "h100",
            TierGroup::A100_80OrLess => "a100-80",
            TierGroup::A100_40OrLess => "a100-40",
        };
        TIERS
            .iter()
            .skip_while(|t| t.name != first_tier)
            .flat_map(|t| t.instance_types.iter().copied())
            .collect()
    }
}

impl fmt::Display for TierGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing a [`TierGroup`]: names the accepted spellings, and the one
/// meant when the text is a near miss.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct UnknownTierGroup(pub String);

impl fmt::Display for UnknownTierGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = TierGroup::ALL.iter().map(|g| g.name()).collect();
        let spelled = self.0.trim().to_ascii_uppercase().replace('-', "_");
        write!(
            f,
            "unknown tier group {:?}: expected one of {}.{}",
            self.0,
            names.join(", "),
            crate::suggest::did_you_mean(&spelled, &names)
        )
    }
}

impl FromStr for TierGroup {
    type Err = UnknownTierGroup;

    /// Accepts the kdevops spelling in any case, with `-` for `_` (`h100-or-less`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_uppercase().replace('-', "_");
        TierGroup::ALL
            .iter()
            .copied()
            .find(|g| g.name() == norm)
            .ok_or_else(|| UnknownTierGroup(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_suffixes_of_the_tier_order() {
        let all: Vec<&str> = TIERS
            .iter()
            .flat_map(|t| t.instance_types.iter().copied())
            .collect();
        assert_eq!(TierGroup::B300OrLess.instance_types(), all);
        assert_eq!(TierGroup::B200OrLess.instance_types(), all[1..]);
        assert_eq!(
            TierGroup::H100OrLess.instance_types()[..2],
            ["1H100.80S.30V", "1H100.80S.32V"]
        );
        assert_eq!(TierGroup::A100_80OrLess.instance_types()[0], "1A100.22V");
        assert_eq!(
            TierGroup::A100_40OrLess.instance_types(),
            [
                "1A100.40S.22V",
                "1RTXPRO6000.30V",
                "1RTX6000ADA.10V",
                "1L40S.20V",
                "1A6000.10V",
                "1V100.6V"
            ]
        );
        assert_eq!(
            TierGroup::Any1H100.instance_types(),
            ["1H100.80S.30V", "1H100.80S.32V"]
        );
    }

    #[test]
    fn parses_kdevops_spellings() {
        assert_eq!("H100_OR_LESS".parse(), Ok(TierGroup::H100OrLess));
        assert_eq!("a100-80-or-less".parse(), Ok(TierGroup::A100_80OrLess));
        assert_eq!(" any_1h100 ".parse(), Ok(TierGroup::Any1H100));
        for g in TierGroup::ALL {
            assert_eq!(g.name().parse(), Ok(*g));
        }
        let e = "H200_OR_LESS".parse::<TierGroup>().unwrap_err().to_string();
        assert!(
            e.contains("H200_OR_LESS") && e.contains("B300_OR_LESS"),
            "{e}"
        );
        let e = "h100-or-les".parse::<TierGroup>().unwrap_err().to_string();
        assert!(e.ends_with("Did you mean \"H100_OR_LESS\"?"), "{e}");
    }
}
