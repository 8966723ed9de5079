//! [`RawContext`] and [`RawConnection`]: a resource-manager context and card connections this process
//! owns and whose raw handles it hands to someone else, as the Base CSP puts `hSCardCtx` and `hScard` into
//! `CARD_DATA` for a card module. (`pcsc::Card` does not expose its handle, so these call winscard
//! directly.)
#![allow(unsafe_code, reason = "calls into `winscard` on handles these types own")]

use std::sync::Arc;

use crate::error::PcscError;
use crate::protocol::{Disposition, Protocol};
use crate::winscard;

/// A resource-manager context (`SCardEstablishContext(SCARD_SCOPE_USER)`), released when it and every
/// connection made through it are dropped.
#[derive(Debug, Clone)]
pub struct RawContext {
    context: Arc<ContextHandle>,
}

/// The context handle itself; connections share it, so it outlives all of them.
#[derive(Debug)]
struct ContextHandle(usize);

impl Drop for ContextHandle {
    fn drop(&mut self) {
        // SAFETY: the handle came from `establish_context` and is released once, here, after every
        // connection holding this value was dropped.
        let _ = unsafe { winscard::release_context(self.0) };
    }
}

impl RawContext {
    /// Establishes a context.
    pub fn establish() -> Result<Self, PcscError> {
        let handle = winscard::establish_context().map_err(|code| call("SCardEstablishContext", code))?;
        Ok(Self {
            context: Arc::new(ContextHandle(handle)),
        })
    }

    /// The raw handle (for `CARD_DATA::hSCardCtx`).
    pub fn handle(&self) -> usize {
        self.context.0
    }

    /// Connects to the card in `reader`, shared, T=0 or T=1.
    pub fn connect(&self, reader: &str) -> Result<RawConnection, PcscError> {
        // SAFETY: the context is live: `self` owns it.
        let (handle, protocol) = unsafe { winscard::connect(self.context.0, reader) }
            .map_err(|code| call("SCardConnect", code))?;
        Ok(RawConnection {
            handle,
            protocol: protocol.unwrap_or_default(),
            _context: Arc::clone(&self.context),
        })
    }
}

/// A card connection (`SCardConnect`), disconnected with `SCARD_LEAVE_CARD` when dropped. It keeps its
/// context alive.
#[derive(Debug)]
pub struct RawConnection {
    handle: usize,
    protocol: Protocol,
    _context: Arc<ContextHandle>,
}

impl RawConnection {
    /// The raw handle (for `CARD_DATA::hScard`).
    pub fn handle(&self) -> usize {
        self.handle
    }

    /// The protocol the connection started with.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// `SCardReconnect` with `SCARD_RESET_CARD`: a warm reset through this connection; every other
    /// connection sees `SCARD_W_RESET_CARD` next.
    pub fn reset(&self) -> Result<(), PcscError> {
        self.reconnect(Disposition::ResetCard)
    }

    /// `SCardReconnect` with `SCARD_LEAVE_CARD`: acknowledges a reset this connection was told about.
    pub fn reconnect_leave(&self) -> Result<(), PcscError> {
        self.reconnect(Disposition::LeaveCard)
    }

    fn reconnect(&self, disposition: Disposition) -> Result<(), PcscError> {
        // SAFETY: the handle is connected: `self` owns it and its context.
        unsafe { winscard::reconnect(self.handle, disposition) }
            .map(|_| ())
            .map_err(|code| call("SCardReconnect", code))
    }

    /// `SCardBeginTransaction`.
    pub fn begin_transaction(&self) -> Result<(), PcscError> {
        // SAFETY: the handle is connected: `self` owns it and its context.
        unsafe { winscard::begin_transaction(self.handle) }
            .map_err(|code| call("SCardBeginTransaction", code))
    }

    /// `SCardEndTransaction(SCARD_LEAVE_CARD)`.
    pub fn end_transaction(&self) -> Result<(), PcscError> {
        // SAFETY: the handle is connected: `self` owns it and its context.
        unsafe { winscard::end_transaction(self.handle, Disposition::LeaveCard) }
            .map_err(|code| call("SCardEndTransaction", code))
    }
}

impl Drop for RawConnection {
    fn drop(&mut self) {
        // SAFETY: the handle came from `connect`, its context is alive (held by `self`), and it is
        // disconnected once, here.
        let _ = unsafe { winscard::disconnect(self.handle, Disposition::LeaveCard) };
    }
}

fn call(operation: &'static str, code: u32) -> PcscError {
    PcscError::Call { operation, code }
}
