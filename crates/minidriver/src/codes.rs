//! The numeric return codes of the minidriver interface (Smart Card Minidriver Specification 7.07; the
//! `SCARD_*` values of winerror.h), as the `DWORD`s the entry points return. The values are
//! windows-sys's: it gives the `SCARD_*` codes as `HRESULT`s and the `ERROR_*` codes as `WIN32_ERROR`s.

use windows_sys::Win32::Foundation as win;

/// An `HRESULT` of windows-sys as the `DWORD` the interface returns.
const fn dword(hresult: windows_sys::core::HRESULT) -> u32 {
    hresult as u32
}

/// Success (`SCARD_S_SUCCESS`, winscard.h's `NO_ERROR`).
pub const SCARD_S_SUCCESS: u32 = win::NO_ERROR;
/// Internal error. Not returned by this module (a panic caught at the boundary answers
/// `SCARD_E_UNEXPECTED`); named for logs and reports.
pub const SCARD_F_INTERNAL_ERROR: u32 = dword(win::SCARD_F_INTERNAL_ERROR);
/// An invalid handle.
pub const SCARD_E_INVALID_HANDLE: u32 = dword(win::SCARD_E_INVALID_HANDLE);
/// NULL or invalid parameters, including unknown flags.
pub const SCARD_E_INVALID_PARAMETER: u32 = dword(win::SCARD_E_INVALID_PARAMETER);
/// Allocation failure.
pub const SCARD_E_NO_MEMORY: u32 = dword(win::SCARD_E_NO_MEMORY);
/// A caller buffer is too small (CardRSADecrypt input shorter than the modulus).
pub const SCARD_E_INSUFFICIENT_BUFFER: u32 = dword(win::SCARD_E_INSUFFICIENT_BUFFER);
/// The card is not one of ours, or the ATR is invalid.
pub const SCARD_E_UNKNOWN_CARD: u32 = dword(win::SCARD_E_UNKNOWN_CARD);
/// Communication error.
pub const SCARD_F_COMM_ERROR: u32 = dword(win::SCARD_F_COMM_ERROR);
/// Invalid value (bad key data).
pub const SCARD_E_INVALID_VALUE: u32 = dword(win::SCARD_E_INVALID_VALUE);
/// Generic failure; also what a panic caught at the boundary answers.
pub const SCARD_E_UNEXPECTED: u32 = dword(win::SCARD_E_UNEXPECTED);
/// Optional function or feature not implemented.
pub const SCARD_E_UNSUPPORTED_FEATURE: u32 = dword(win::SCARD_E_UNSUPPORTED_FEATURE);
/// Directory not found.
pub const SCARD_E_DIR_NOT_FOUND: u32 = dword(win::SCARD_E_DIR_NOT_FOUND);
/// File not found.
pub const SCARD_E_FILE_NOT_FOUND: u32 = dword(win::SCARD_E_FILE_NOT_FOUND);
/// The card is out of space.
pub const SCARD_E_WRITE_TOO_MANY: u32 = dword(win::SCARD_E_WRITE_TOO_MANY);
/// A file cannot be read because of an I/O or data problem.
pub const SCARD_E_COMM_DATA_LOST: u32 = dword(win::SCARD_E_COMM_DATA_LOST);
/// Bad or empty container index.
pub const SCARD_E_NO_KEY_CONTAINER: u32 = dword(win::SCARD_E_NO_KEY_CONTAINER);
/// The card is read-only.
pub const SCARD_E_READ_ONLY_CARD: u32 = dword(win::SCARD_E_READ_ONLY_CARD);
/// The card was reset.
pub const SCARD_W_RESET_CARD: u32 = dword(win::SCARD_W_RESET_CARD);
/// The card was removed.
pub const SCARD_W_REMOVED_CARD: u32 = dword(win::SCARD_W_REMOVED_CARD);
/// The operation needs an authentication the caller has not made.
pub const SCARD_W_SECURITY_VIOLATION: u32 = dword(win::SCARD_W_SECURITY_VIOLATION);
/// Wrong PIN or wrong response.
pub const SCARD_W_WRONG_CHV: u32 = dword(win::SCARD_W_WRONG_CHV);
/// PIN blocked.
pub const SCARD_W_CHV_BLOCKED: u32 = dword(win::SCARD_W_CHV_BLOCKED);
/// Cancelled by the user.
pub const SCARD_W_CANCELLED_BY_USER: u32 = dword(win::SCARD_W_CANCELLED_BY_USER);
/// `ERROR_FILE_EXISTS`.
pub const ERROR_FILE_EXISTS: u32 = win::ERROR_FILE_EXISTS;
/// `ERROR_INSUFFICIENT_BUFFER`: a property buffer is too small (the needed size is reported).
pub const ERROR_INSUFFICIENT_BUFFER: u32 = win::ERROR_INSUFFICIENT_BUFFER;
/// `ERROR_DIR_NOT_EMPTY`.
pub const ERROR_DIR_NOT_EMPTY: u32 = win::ERROR_DIR_NOT_EMPTY;
/// `ERROR_NOT_FOUND`: a cache lookup missed.
pub const ERROR_NOT_FOUND: u32 = win::ERROR_NOT_FOUND;
/// `ERROR_REVISION_MISMATCH`: a structure or interface version the module does not speak.
pub const ERROR_REVISION_MISMATCH: u32 = win::ERROR_REVISION_MISMATCH;
/// The symbolic name of a code, for logs and reports.
pub fn name(code: u32) -> &'static str {
    match code {
        SCARD_S_SUCCESS => "SCARD_S_SUCCESS",
        SCARD_F_INTERNAL_ERROR => "SCARD_F_INTERNAL_ERROR",
        SCARD_E_INVALID_HANDLE => "SCARD_E_INVALID_HANDLE",
        SCARD_E_INVALID_PARAMETER => "SCARD_E_INVALID_PARAMETER",
        SCARD_E_NO_MEMORY => "SCARD_E_NO_MEMORY",
        SCARD_E_INSUFFICIENT_BUFFER => "SCARD_E_INSUFFICIENT_BUFFER",
        SCARD_E_UNKNOWN_CARD => "SCARD_E_UNKNOWN_CARD",
        SCARD_F_COMM_ERROR => "SCARD_F_COMM_ERROR",
        SCARD_E_INVALID_VALUE => "SCARD_E_INVALID_VALUE",
        SCARD_E_UNEXPECTED => "SCARD_E_UNEXPECTED",
        SCARD_E_UNSUPPORTED_FEATURE => "SCARD_E_UNSUPPORTED_FEATURE",
        SCARD_E_DIR_NOT_FOUND => "SCARD_E_DIR_NOT_FOUND",
        SCARD_E_FILE_NOT_FOUND => "SCARD_E_FILE_NOT_FOUND",
        SCARD_E_WRITE_TOO_MANY => "SCARD_E_WRITE_TOO_MANY",
        SCARD_E_COMM_DATA_LOST => "SCARD_E_COMM_DATA_LOST",
        SCARD_E_NO_KEY_CONTAINER => "SCARD_E_NO_KEY_CONTAINER",
        SCARD_E_READ_ONLY_CARD => "SCARD_E_READ_ONLY_CARD",
        SCARD_W_RESET_CARD => "SCARD_W_RESET_CARD",
        SCARD_W_REMOVED_CARD => "SCARD_W_REMOVED_CARD",
        SCARD_W_SECURITY_VIOLATION => "SCARD_W_SECURITY_VIOLATION",
        SCARD_W_WRONG_CHV => "SCARD_W_WRONG_CHV",
        SCARD_W_CHV_BLOCKED => "SCARD_W_CHV_BLOCKED",
        SCARD_W_CANCELLED_BY_USER => "SCARD_W_CANCELLED_BY_USER",
        ERROR_FILE_EXISTS => "ERROR_FILE_EXISTS",
        ERROR_INSUFFICIENT_BUFFER => "ERROR_INSUFFICIENT_BUFFER",
        ERROR_DIR_NOT_EMPTY => "ERROR_DIR_NOT_EMPTY",
        ERROR_NOT_FOUND => "ERROR_NOT_FOUND",
        ERROR_REVISION_MISMATCH => "ERROR_REVISION_MISMATCH",
        _ => "unknown",
    }
}
