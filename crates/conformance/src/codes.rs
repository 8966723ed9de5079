//! Return codes of the minidriver interface (the `SCARD_*` values of `winerror.h` that spec 7.07 §2.3.2
//! asks for, and the Win32 codes its entry points name) with their names, for expectations and reports.
//! Kept here rather than taken from the module under test: the judge does not borrow from the judged.

macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident = $value:expr;)*) => {
        $($(#[$doc])* pub const $name: u32 = $value;)*
        /// The symbolic name of `code`, or its hexadecimal form.
        pub fn name(code: u32) -> String {
            match code {
                $($value => stringify!($name).to_owned(),)*
                other => format!("0x{other:08X}"),
            }
        }
    };
}

codes! {
    /// Success.
    SCARD_S_SUCCESS = 0;
    /// `SCARD_F_INTERNAL_ERROR`.
    SCARD_F_INTERNAL_ERROR = 0x8010_0001;
    /// `SCARD_E_INVALID_HANDLE`.
    SCARD_E_INVALID_HANDLE = 0x8010_0003;
    /// `SCARD_E_INVALID_PARAMETER`.
    SCARD_E_INVALID_PARAMETER = 0x8010_0004;
    /// `SCARD_E_NO_MEMORY`.
    SCARD_E_NO_MEMORY = 0x8010_0006;
    /// `SCARD_E_INSUFFICIENT_BUFFER`.
    SCARD_E_INSUFFICIENT_BUFFER = 0x8010_0008;
    /// `SCARD_E_NO_SMARTCARD`.
    SCARD_E_NO_SMARTCARD = 0x8010_000C;
    /// `SCARD_E_UNKNOWN_CARD`.
    SCARD_E_UNKNOWN_CARD = 0x8010_000D;
    /// `SCARD_E_INVALID_VALUE`.
    SCARD_E_INVALID_VALUE = 0x8010_0011;
    /// `SCARD_F_COMM_ERROR`.
    SCARD_F_COMM_ERROR = 0x8010_0013;
    /// `SCARD_E_UNEXPECTED`.
    SCARD_E_UNEXPECTED = 0x8010_001F;
    /// `SCARD_E_UNSUPPORTED_FEATURE`.
    SCARD_E_UNSUPPORTED_FEATURE = 0x8010_0022;
    /// `SCARD_E_DIR_NOT_FOUND`.
    SCARD_E_DIR_NOT_FOUND = 0x8010_0023;
    /// `SCARD_E_FILE_NOT_FOUND`.
    SCARD_E_FILE_NOT_FOUND = 0x8010_0024;
    /// `SCARD_E_WRITE_TOO_MANY`.
    SCARD_E_WRITE_TOO_MANY = 0x8010_0028;
    /// `SCARD_E_COMM_DATA_LOST`.
    SCARD_E_COMM_DATA_LOST = 0x8010_002F;
    /// `SCARD_E_NO_KEY_CONTAINER`.
    SCARD_E_NO_KEY_CONTAINER = 0x8010_0030;
    /// `SCARD_W_RESET_CARD`.
    SCARD_W_RESET_CARD = 0x8010_0068;
    /// `SCARD_W_REMOVED_CARD`.
    SCARD_W_REMOVED_CARD = 0x8010_0069;
    /// `SCARD_W_SECURITY_VIOLATION`.
    SCARD_W_SECURITY_VIOLATION = 0x8010_006A;
    /// `SCARD_W_WRONG_CHV`.
    SCARD_W_WRONG_CHV = 0x8010_006B;
    /// `SCARD_W_CHV_BLOCKED`.
    SCARD_W_CHV_BLOCKED = 0x8010_006C;
    /// `ERROR_NOT_ENOUGH_MEMORY`.
    ERROR_NOT_ENOUGH_MEMORY = 8;
    /// `ERROR_FILE_EXISTS`.
    ERROR_FILE_EXISTS = 80;
    /// `ERROR_INSUFFICIENT_BUFFER`.
    ERROR_INSUFFICIENT_BUFFER = 122;
    /// `ERROR_NOT_FOUND`.
    ERROR_NOT_FOUND = 1168;
    /// `ERROR_REVISION_MISMATCH`.
    ERROR_REVISION_MISMATCH = 1306;
    /// `NTE_BAD_DATA`: what the CSP's unpad callback answers for a block whose padding is wrong.
    NTE_BAD_DATA = 0x8009_0005;
    /// `NTE_INVALID_HANDLE`: what the KSP's agreement lookup answers for a handle it does not know.
    NTE_INVALID_HANDLE = 0x8009_0026;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(name(0x8010_0004), "SCARD_E_INVALID_PARAMETER");
        assert_eq!(name(1306), "ERROR_REVISION_MISMATCH");
        assert_eq!(name(0x1234), "0x00001234");
    }
}
