//! The C ABI: every `unsafe` line of the card module lives here.
//!
//! Each entry point is a thin wrapper: a panic boundary, pointer/flag/version checks, one call into the
//! safe [`CardContext`](crate::context::CardContext), and the error mapped to its `DWORD` by
//! [`MdError::code`](crate::error::MdError::code). `CARD_DATA` and every `PFN_CARD_*` type come from
//! `windows-sys` (pinned by the layout assertions in `layout.rs`). Output buffers come from the CSP's
//! `pfnCspAlloc`. `pvVendorSpecific` holds a handle to the context (see `card_data.rs`).
#![allow(unsafe_code)]

mod boundary;
pub use boundary::panics_caught;
pub mod builtin;
mod card_data;
mod entries;
mod layout;
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
