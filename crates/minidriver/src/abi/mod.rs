//! The C ABI: every `unsafe` line of the card module lives here.
//!
//! Each entry point is a few lines, always the same ones:
//!
//! 1. the panic boundary, `guard`, which also maps the error to its `DWORD` through
//!    `MdError::code` and logs the result;
//! 2. `Entry::enter`: `pCardData` and the context behind `pvVendorSpecific`;
//! 3. the caller's pointers, each read one way (`caller`): a structure is copied once
//!    (`CallerStruct`, as far as its version goes) and what it points to is
//!    read by `marshal`; a buffer becomes a bounded `CallerBytes`, a string a bounded `CallerString`,
//!    a name is matched against windows-sys's constants (`names`); an out-parameter is an
//!    `Out`;
//! 4. one safe decoder (`SignRequest::decode` and the like), which judges those plain values and holds
//!    every flag and padding rule;
//! 5. one call into the safe `CardContext` through
//!    `Entry::with_context`;
//! 6. the result written back: members through `CallerStruct::set`, buffers as a
//!    `CspBuf` from the CSP's `pfnCspAlloc`, which frees itself unless handed over.
//!
//! `CARD_DATA` and every `PFN_CARD_*` type come from `windows-sys` (pinned by the layout assertions in
//! `layout.rs`). `pvVendorSpecific` holds a handle to the context (see `card_data.rs`).
#![allow(
    unsafe_code,
    reason = "the C ABI: the only module of the crate where unsafe code is allowed"
)]

mod boundary;
pub use boundary::panics_caught;
pub mod builtin;
mod caller;
mod card_data;
mod csp_buf;
mod csp_cache;
mod entries;
mod layout;
mod marshal;
mod names;
mod pcsc_link;
mod strings;
mod table;

#[cfg(windows)]
mod dll;
/// The Windows smart card database through winscard (`SCardIntroduceCardTypeW` and friends).
#[cfg(windows)]
pub use dll::with_database as with_card_type_database;

pub use entries::acquire::CardAcquireContext;

/// Whether `hwnd` may be used as a parent window (NULL is allowed). Only Windows can tell; elsewhere every
/// handle is accepted.
#[cfg(windows)]
pub(crate) fn window_is_valid(hwnd: usize) -> bool {
    hwnd == 0 || dll::is_window(hwnd)
}

/// Whether `hwnd` may be used as a parent window (NULL is allowed). Only Windows can tell; elsewhere every
/// handle is accepted.
#[cfg(not(windows))]
pub(crate) fn window_is_valid(_hwnd: usize) -> bool {
    true
}

/// A REG_SZ value under `HKLM\SOFTWARE\Tessera\Minidriver` (logging settings). Only Windows has one.
#[cfg(windows)]
pub(crate) fn registry_setting(name: &str) -> Option<String> {
    dll::registry_string("SOFTWARE\\Tessera\\Minidriver", name)
}

/// A REG_SZ value under `HKLM\SOFTWARE\Tessera\Minidriver` (logging settings). Only Windows has one.
#[cfg(not(windows))]
pub(crate) fn registry_setting(_name: &str) -> Option<String> {
    None
}
