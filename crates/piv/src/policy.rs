//! YubiKey PIN and touch policies (tags `AA` and `AB` in GENERATE and IMPORT, tag `02` of GET METADATA).

use std::fmt;

/// When the PIN must be verified before a private-key operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum PinPolicy {
    /// The slot's default (ONCE; ALWAYS for 9C; NEVER for 9E).
    #[default]
    Default,
    /// No PIN needed.
    Never,
    /// Once per session (until logout, reset or SELECT).
    Once,
    /// Before every operation.
    Always,
    /// Biometric match once (YubiKey Bio).
    MatchOnce,
    /// Biometric match every time (YubiKey Bio).
    MatchAlways,
}

impl PinPolicy {
    /// The wire byte.
    pub const fn to_byte(self) -> u8 {
        match self {
            Self::Default => 0,
            Self::Never => 1,
            Self::Once => 2,
            Self::Always => 3,
            Self::MatchOnce => 4,
            Self::MatchAlways => 5,
        }
    }

    /// Decodes the wire byte.
    pub const fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            0 => Self::Default,
            1 => Self::Never,
            2 => Self::Once,
            3 => Self::Always,
            4 => Self::MatchOnce,
            5 => Self::MatchAlways,
            _ => return None,
        })
    }
}

/// When the user must touch the token before a private-key operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum TouchPolicy {
    /// The slot's default (NEVER).
    #[default]
    Default,
    /// Never.
    Never,
    /// Every operation.
    Always,
    /// Cached for 15 seconds after a touch.
    Cached,
}

impl TouchPolicy {
    /// The wire byte.
    pub const fn to_byte(self) -> u8 {
        match self {
            Self::Default => 0,
            Self::Never => 1,
            Self::Always => 2,
            Self::Cached => 3,
        }
    }

    /// Decodes the wire byte.
    pub const fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            0 => Self::Default,
            1 => Self::Never,
            2 => Self::Always,
            3 => Self::Cached,
            _ => return None,
        })
    }
}

impl fmt::Display for PinPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl fmt::Display for TouchPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip() {
        for b in 0..=5 {
            assert_eq!(PinPolicy::from_byte(b).unwrap().to_byte(), b);
        }
        for b in 0..=3 {
            assert_eq!(TouchPolicy::from_byte(b).unwrap().to_byte(), b);
        }
        assert_eq!(PinPolicy::from_byte(6), None);
        assert_eq!(TouchPolicy::from_byte(4), None);
    }
}
