//! ISO 7816-4 status words as PIV cards use them (SP 800-73-4 Part 2 §5.6 and Yubico's table).

use std::fmt;

/// A two-byte status word (`SW1 SW2`). Unknown values are kept, never rejected.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusWord(pub u16);

/// The named status words: each constant and its entry in [`StatusWord::name`] come from one line.
macro_rules! named_status_words {
    ($($(#[$doc:meta])* $name:ident = $value:literal;)*) => {
        impl StatusWord {
            $($(#[$doc])* pub const $name: Self = Self($value);)*

            /// The constant's name, when this is one of the named status words.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some(stringify!($name)),)*
                    _ => None,
                }
            }
        }
    };
}

named_status_words! {
    /// Normal processing.
    SUCCESS = 0x9000;
    /// State of non-volatile memory unchanged (selected file deactivated).
    NV_UNCHANGED_WARNING = 0x6285;
    /// Memory failure.
    MEMORY_FAILURE = 0x6581;
    /// Wrong length (Lc or Le).
    WRONG_LENGTH = 0x6700;
    /// Security status not satisfied (PIN or management key needed, or PIN-always consumed).
    SECURITY_STATUS_NOT_SATISFIED = 0x6982;
    /// Authentication method blocked (PIN/PUK retry counter at zero).
    AUTH_METHOD_BLOCKED = 0x6983;
    /// Reference data not usable.
    REFERENCE_DATA_NOT_USABLE = 0x6984;
    /// Conditions of use not satisfied.
    CONDITIONS_NOT_SATISFIED = 0x6985;
    /// Command not allowed.
    COMMAND_NOT_ALLOWED = 0x6986;
    /// Incorrect parameters in the command data field.
    INCORRECT_DATA = 0x6A80;
    /// Function not supported.
    FUNCTION_NOT_SUPPORTED = 0x6A81;
    /// File or application not found (also: data object absent).
    NOT_FOUND = 0x6A82;
    /// Not enough memory space in the file.
    NOT_ENOUGH_MEMORY = 0x6A84;
    /// Incorrect parameters P1-P2.
    INCORRECT_P1P2 = 0x6A86;
    /// Referenced data or reference data not found (e.g. unknown key reference).
    REFERENCE_NOT_FOUND = 0x6A88;
    /// Wrong parameters P1-P2 (ISO 7816-4 `6B00`).
    WRONG_P1P2 = 0x6B00;
    /// Instruction code not supported or invalid.
    INS_NOT_SUPPORTED = 0x6D00;
    /// Class not supported.
    CLA_NOT_SUPPORTED = 0x6E00;
    /// No precise diagnosis.
    UNKNOWN_ERROR = 0x6F00;
}

// The families whose low byte is a count (`61xx`, `63Cx`, `6Cxx`): their base values carry no name.
impl StatusWord {
    /// `61xx`: more response bytes wait for GET RESPONSE (the low byte is a count, 00 = 256 or more).
    pub const BYTES_REMAINING_BASE: Self = Self(0x6100);
    /// `63Cx`: verification failed, x tries left.
    pub const VERIFY_FAILED_BASE: Self = Self(0x63C0);
    /// `6Cxx`: wrong Le; resend with Le = xx.
    pub const WRONG_LE_BASE: Self = Self(0x6C00);

    /// Builds a status word from its two bytes.
    pub const fn from_bytes(sw1: u8, sw2: u8) -> Self {
        Self(((sw1 as u16) << 8) | sw2 as u16)
    }

    /// The two bytes, SW1 first.
    pub const fn to_bytes(self) -> [u8; 2] {
        self.0.to_be_bytes()
    }

    /// SW1.
    pub const fn sw1(self) -> u8 {
        (self.0 >> 8) as u8
    }

    /// SW2.
    pub const fn sw2(self) -> u8 {
        self.0 as u8
    }

    /// `9000`.
    pub const fn is_success(self) -> bool {
        self.0 == Self::SUCCESS.0
    }

    /// For `61xx`: how many bytes GET RESPONSE should ask for (`00` means 256).
    pub const fn bytes_remaining(self) -> Option<usize> {
        if self.sw1() == 0x61 {
            Some(if self.sw2() == 0 { 256 } else { self.sw2() as usize })
        } else {
            None
        }
    }

    /// For `6Cxx`: the Le the card wants.
    pub const fn correct_le(self) -> Option<u8> {
        if self.sw1() == 0x6C {
            Some(self.sw2())
        } else {
            None
        }
    }

    /// For `63Cx`: the tries left (0–15). Also accepts the legacy `630x` form some cards send, except
    /// `6300` itself, which ISO 7816-4 defines as "no information given".
    pub const fn retries(self) -> Option<u8> {
        if self.0 & 0xFFF0 == Self::VERIFY_FAILED_BASE.0 || (self.0 & 0xFFF0 == 0x6300 && self.0 != 0x6300) {
            Some((self.0 & 0x0F) as u8)
        } else {
            None
        }
    }

    /// `63Cx` with the given number of tries, capped at 15 as the encoding requires.
    pub const fn verify_failed(retries: u8) -> Self {
        let r = if retries > 15 { 15 } else { retries };
        Self(Self::VERIFY_FAILED_BASE.0 | r as u16)
    }

    /// `61xx` for `remaining` bytes (256 or more is encoded as `00`).
    pub const fn bytes_remaining_of(remaining: usize) -> Self {
        let low = if remaining >= 256 { 0 } else { remaining as u16 };
        Self(Self::BYTES_REMAINING_BASE.0 | low)
    }
}

impl From<u16> for StatusWord {
    fn from(v: u16) -> Self {
        Self(v)
    }
}

impl From<StatusWord> for u16 {
    fn from(sw: StatusWord) -> Self {
        sw.0
    }
}

impl fmt::Debug for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{:04X} ({name})", self.0),
            None => match (self.bytes_remaining(), self.retries()) {
                (Some(n), _) => write!(f, "{:04X} ({n} bytes remaining)", self.0),
                (_, Some(r)) => write!(f, "{:04X} ({r} tries left)", self.0),
                _ => write!(f, "{:04X}", self.0),
            },
        }
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_bytes() {
        for v in [0x9000u16, 0x6A82, 0x63C2, 0x61FF, 0x1234] {
            let sw = StatusWord(v);
            let [a, b] = sw.to_bytes();
            assert_eq!(StatusWord::from_bytes(a, b), sw);
            assert_eq!(u16::from(sw), v);
        }
    }

    #[test]
    fn retries_from_63cx_and_legacy_630x() {
        assert_eq!(StatusWord(0x63C3).retries(), Some(3));
        assert_eq!(StatusWord(0x63C0).retries(), Some(0));
        assert_eq!(StatusWord(0x6302).retries(), Some(2));
        assert_eq!(StatusWord(0x6300).retries(), None, "no information given");
        assert_eq!(StatusWord(0x6983).retries(), None);
        assert_eq!(StatusWord::verify_failed(20), StatusWord(0x63CF));
        assert_eq!(StatusWord::verify_failed(2), StatusWord(0x63C2));
    }

    #[test]
    fn bytes_remaining_and_wrong_le() {
        assert_eq!(StatusWord(0x6100).bytes_remaining(), Some(256));
        assert_eq!(StatusWord(0x6110).bytes_remaining(), Some(16));
        assert_eq!(StatusWord(0x9000).bytes_remaining(), None);
        assert_eq!(StatusWord(0x6C20).correct_le(), Some(0x20));
        assert_eq!(StatusWord::bytes_remaining_of(300), StatusWord(0x6100));
        assert_eq!(StatusWord::bytes_remaining_of(17), StatusWord(0x6111));
    }

    #[test]
    fn debug_names_known_codes() {
        assert_eq!(format!("{:?}", StatusWord::NOT_FOUND), "6A82 (NOT_FOUND)");
        assert_eq!(format!("{:?}", StatusWord(0x63C1)), "63C1 (1 tries left)");
        assert_eq!(format!("{:?}", StatusWord(0x1234)), "1234");
    }

    #[test]
    fn each_named_constant_carries_its_own_name_and_the_family_bases_none() {
        assert_eq!(StatusWord::SUCCESS.name(), Some("SUCCESS"));
        assert_eq!(StatusWord::WRONG_P1P2.name(), Some("WRONG_P1P2"));
        assert_eq!(StatusWord::UNKNOWN_ERROR.name(), Some("UNKNOWN_ERROR"));
        for base in [
            StatusWord::BYTES_REMAINING_BASE,
            StatusWord::VERIFY_FAILED_BASE,
            StatusWord::WRONG_LE_BASE,
        ] {
            assert_eq!(base.name(), None, "{:04X}", base.0);
        }
    }
}
