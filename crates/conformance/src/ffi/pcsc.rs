//! Raw PC/SC handles, as the CSP owns them: the harness establishes the context and connects, puts the
//! handles in `CARD_DATA`, and can reconnect (reset) or replace them between calls. `pcsc::Card` does not
//! expose its handle, so these call winscard directly: pcsc-lite through `pcsc-sys` elsewhere,
//! `winscard.dll` through `windows-sys` on Windows.

#[cfg(not(windows))]
mod sys {
    pub use pcsc_sys::{
        DWORD, LONG, SCARD_LEAVE_CARD, SCARD_PROTOCOL_T0, SCARD_PROTOCOL_T1, SCARD_RESET_CARD,
        SCARD_SCOPE_USER, SCARD_SHARE_SHARED, SCARDCONTEXT, SCARDHANDLE, SCardBeginTransaction, SCardConnect,
        SCardDisconnect, SCardEndTransaction, SCardEstablishContext, SCardReconnect, SCardReleaseContext,
    };
    /// A reader name as the platform's connect call wants it.
    pub type ReaderName = std::ffi::CString;
    pub fn reader_name(name: &str) -> Option<ReaderName> {
        std::ffi::CString::new(name).ok()
    }
    pub fn reader_ptr(name: &ReaderName) -> *const std::ffi::c_char {
        name.as_ptr()
    }
}

#[cfg(windows)]
mod sys {
    pub use windows_sys::Win32::Security::Credentials::{
        SCARD_LEAVE_CARD, SCARD_PROTOCOL_T0, SCARD_PROTOCOL_T1, SCARD_RESET_CARD, SCARD_SCOPE_USER,
        SCARD_SHARE_SHARED, SCardBeginTransaction, SCardConnectW as SCardConnect, SCardDisconnect,
        SCardEndTransaction, SCardEstablishContext, SCardReconnect, SCardReleaseContext,
    };
    #[allow(clippy::upper_case_acronyms)]
    pub type DWORD = u32;
    #[allow(clippy::upper_case_acronyms)]
    pub type LONG = i32;
    #[allow(clippy::upper_case_acronyms)]
    pub type SCARDCONTEXT = usize;
    #[allow(clippy::upper_case_acronyms)]
    pub type SCARDHANDLE = usize;
    /// A reader name as the platform's connect call wants it.
    pub type ReaderName = Vec<u16>;
    pub fn reader_name(name: &str) -> Option<ReaderName> {
        Some(crate::ffi::wide::wide(name))
    }
    pub fn reader_ptr(name: &ReaderName) -> *const u16 {
        name.as_ptr()
    }
}

use sys::*;

/// A PC/SC failure: the function and its code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{call} failed with {}", crate::codes::name(*.code))]
pub struct PcscFailure {
    /// The winscard function.
    pub call: &'static str,
    /// Its return code.
    pub code: u32,
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn check(call: &'static str, rv: LONG) -> Result<(), PcscFailure> {
    if rv == 0 {
        Ok(())
    } else {
        Err(PcscFailure {
            call,
            code: rv as u32,
        })
    }
}

/// Handles travel as `usize` (`CARD_DATA::hSCardCtx`/`hScard`); pcsc-lite's are `long`.
#[allow(clippy::cast_possible_wrap, clippy::useless_conversion)]
fn context_handle(h: usize) -> SCARDCONTEXT {
    h as SCARDCONTEXT
}

#[allow(clippy::cast_possible_wrap, clippy::useless_conversion)]
fn card_handle(h: usize) -> SCARDHANDLE {
    h as SCARDHANDLE
}

/// `SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1`.
fn both_protocols() -> DWORD {
    SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1
}

/// A resource-manager context (`SCardEstablishContext`), released on drop.
#[derive(Debug)]
pub struct PcscContext {
    handle: usize,
}

impl PcscContext {
    /// `SCardEstablishContext(SCARD_SCOPE_USER)`.
    pub fn establish() -> Result<Self, PcscFailure> {
        let mut handle: SCARDCONTEXT = 0;
        // SAFETY: reserved pointers are NULL; `handle` is a valid out-parameter.
        let rv = unsafe {
            SCardEstablishContext(SCARD_SCOPE_USER, std::ptr::null(), std::ptr::null(), &mut handle)
        };
        check("SCardEstablishContext", rv)?;
        #[allow(clippy::cast_sign_loss, clippy::useless_conversion)]
        let handle = handle as usize;
        Ok(Self { handle })
    }

    /// The raw handle (for `CARD_DATA::hSCardCtx`).
    pub fn handle(&self) -> usize {
        self.handle
    }

    /// `SCardConnect(reader, SCARD_SHARE_SHARED, T0|T1)`.
    pub fn connect(&self, reader: &str) -> Result<PcscCard, PcscFailure> {
        let name = reader_name(reader).ok_or(PcscFailure {
            call: "SCardConnect",
            code: crate::codes::SCARD_E_INVALID_PARAMETER,
        })?;
        let mut card: SCARDHANDLE = 0;
        let mut protocol: DWORD = 0;
        // SAFETY: the context is live (owned by `self`); the reader name is NUL-terminated and outlives
        // the call; both out-parameters are valid.
        let rv = unsafe {
            SCardConnect(
                context_handle(self.handle),
                reader_ptr(&name),
                SCARD_SHARE_SHARED,
                both_protocols(),
                &mut card,
                &mut protocol,
            )
        };
        check("SCardConnect", rv)?;
        #[allow(clippy::cast_sign_loss, clippy::useless_conversion)]
        let handle = card as usize;
        Ok(PcscCard { handle })
    }
}

impl Drop for PcscContext {
    fn drop(&mut self) {
        // SAFETY: the context was established by `establish` and is released once.
        let _ = unsafe { SCardReleaseContext(context_handle(self.handle)) };
    }
}

/// A card connection (`SCardConnect`), disconnected with `SCARD_LEAVE_CARD` on drop. Its context must
/// outlive it (the harness keeps both in one place).
#[derive(Debug)]
pub struct PcscCard {
    handle: usize,
}

impl PcscCard {
    /// The raw handle (for `CARD_DATA::hScard`).
    pub fn handle(&self) -> usize {
        self.handle
    }

    /// `SCardReconnect` with `SCARD_RESET_CARD`: a warm reset through this connection.
    pub fn reset(&self) -> Result<(), PcscFailure> {
        self.reconnect(SCARD_RESET_CARD)
    }

    /// `SCardReconnect` with `SCARD_LEAVE_CARD`: acknowledges a reset seen by this connection.
    pub fn reconnect_leave(&self) -> Result<(), PcscFailure> {
        self.reconnect(SCARD_LEAVE_CARD)
    }

    fn reconnect(&self, disposition: DWORD) -> Result<(), PcscFailure> {
        let mut protocol: DWORD = 0;
        // SAFETY: the handle is live (owned by `self`); `protocol` is a valid out-parameter.
        let rv = unsafe {
            SCardReconnect(
                card_handle(self.handle),
                SCARD_SHARE_SHARED,
                both_protocols(),
                disposition,
                &mut protocol,
            )
        };
        check("SCardReconnect", rv)
    }

    /// `SCardBeginTransaction`.
    pub fn begin_transaction(&self) -> Result<(), PcscFailure> {
        // SAFETY: the handle is live.
        check("SCardBeginTransaction", unsafe {
            SCardBeginTransaction(card_handle(self.handle))
        })
    }

    /// `SCardEndTransaction(SCARD_LEAVE_CARD)`.
    pub fn end_transaction(&self) -> Result<(), PcscFailure> {
        // SAFETY: the handle is live.
        check("SCardEndTransaction", unsafe {
            SCardEndTransaction(card_handle(self.handle), SCARD_LEAVE_CARD)
        })
    }
}

impl Drop for PcscCard {
    fn drop(&mut self) {
        // SAFETY: the handle came from `connect` and is disconnected once.
        let _ = unsafe { SCardDisconnect(card_handle(self.handle), SCARD_LEAVE_CARD) };
    }
}
