//! Reading `CARD_DATA` and reaching the context behind `pvVendorSpecific`, without ever forming a
//! reference to the whole structure (the caller's allocation may be only as large as its version).

use std::ffi::c_void;
use std::ptr::{addr_of, addr_of_mut};
use std::sync::{Mutex, MutexGuard};

use windows_sys::Win32::Security::Cryptography::{
    CARD_DATA, PFN_CSP_ALLOC, PFN_CSP_FREE, PFN_CSP_PAD_DATA, PFN_CSP_UNPAD_DATA,
};

use crate::context::CardContext;
use crate::error::{MdError, Result};

/// What `pvVendorSpecific` points to.
pub(crate) struct ContextCell {
    /// The negotiated `CARD_DATA` version: fixed at acquire, so read without the lock.
    interface_version: u32,
    context: Mutex<CardContext>,
}

impl ContextCell {
    pub(crate) fn new(context: CardContext) -> Box<Self> {
        Box::new(Self {
            interface_version: context.interface_version(),
            context: Mutex::new(context),
        })
    }

    /// Locks the context. A panic in an earlier call on this context poisoned the lock; the context is
    /// still structurally sound (every field is valid Rust data), so it is used again, with the card
    /// state forgotten so that the next command re-selects.
    pub(crate) fn lock(&self) -> MutexGuard<'_, CardContext> {
        match self.context.lock() {
            Ok(guard) => guard,
            Err(poisoned) => {
                let mut guard = poisoned.into_inner();
                guard.session.note_reset();
                self.context.clear_poison();
                guard
            }
        }
    }
}

/// The caller's memory callbacks and padding callbacks, copied out of `CARD_DATA` for one call.
#[derive(Clone, Copy)]
pub(crate) struct Callbacks {
    pub alloc: PFN_CSP_ALLOC,
    pub free: PFN_CSP_FREE,
    #[allow(dead_code)]
    pub pad: PFN_CSP_PAD_DATA,
    #[allow(dead_code)]
    pub unpad: PFN_CSP_UNPAD_DATA,
}

/// One entry's view of `CARD_DATA`.
pub(crate) struct Entry {
    cd: *const CARD_DATA,
    cell: *const ContextCell,
    pub callbacks: Callbacks,
}

impl Entry {
    /// Checks `pCardData` and its context, as every entry point but `CardAcquireContext` must.
    ///
    /// # Safety
    /// `cd` is null or points to a `CARD_DATA` of at least the version negotiated by
    /// `CardAcquireContext` (or the no-longer-live context check fails safely on a null vendor pointer).
    pub(crate) unsafe fn enter(cd: *const CARD_DATA) -> Result<Self> {
        if cd.is_null() {
            return Err(MdError::InvalidParameter("pCardData is NULL"));
        }
        // SAFETY: `cd` is non-null and, per the interface contract, points to a CARD_DATA the caller
        // owns for the duration of the call; the fields read here exist in every version (indices 0–14).
        let (cell, alloc, free, pad) = unsafe {
            (
                addr_of!((*cd).pvVendorSpecific).read() as *const ContextCell,
                addr_of!((*cd).pfnCspAlloc).read(),
                addr_of!((*cd).pfnCspFree).read(),
                addr_of!((*cd).pfnCspPadData).read(),
            )
        };
        if cell.is_null() {
            return Err(MdError::InvalidParameter(
                "CARD_DATA has no context (not acquired or deleted)",
            ));
        }
        let mut entry = Self {
            cd,
            cell,
            callbacks: Callbacks {
                alloc,
                free,
                pad,
                unpad: None,
            },
        };
        if entry.interface_version() >= 7 {
            // SAFETY: the negotiated version is 7, so the caller's structure has the v7 members.
            entry.callbacks.unpad = unsafe { addr_of!((*cd).pfnCspUnpadData).read() };
        }
        Ok(entry)
    }

    /// The negotiated `CARD_DATA` version.
    pub(crate) fn interface_version(&self) -> u32 {
        // SAFETY: `cell` was produced by `Box::into_raw` in CardAcquireContext and stays valid until
        // CardDeleteContext clears `pvVendorSpecific`; the interface forbids calls racing the delete.
        unsafe { (*self.cell).interface_version }
    }

    /// Runs `f` with the locked context, after telling it the handles the CSP passes on this call.
    pub(crate) fn with_context<T>(&self, f: impl FnOnce(&mut CardContext) -> Result<T>) -> Result<T> {
        // SAFETY: `cell` was produced by `Box::into_raw` in CardAcquireContext and stays valid until
        // CardDeleteContext clears `pvVendorSpecific`; the interface forbids calls racing the delete.
        let cell = unsafe { &*self.cell };
        let mut ctx = cell.lock();
        // SAFETY: fields 12 and 13 exist in every CARD_DATA version; `cd` was checked non-null.
        let (hctx, hcard) = unsafe {
            (
                addr_of!((*self.cd).hSCardCtx).read(),
                addr_of!((*self.cd).hScard).read(),
            )
        };
        ctx.begin_call(hctx, hcard);
        f(&mut ctx)
    }

    /// Copies `data` into a new CSP buffer.
    pub(crate) fn alloc_copy(&self, data: &[u8]) -> Result<*mut u8> {
        alloc_copy(self.callbacks.alloc, data)
    }

    /// Frees a CSP buffer (used to undo a partial result).
    pub(crate) fn free(&self, p: *mut u8) {
        free(self.callbacks.free, p);
    }
}

/// Allocates with `pfnCspAlloc` and copies `data` (at least one byte is requested, so that an empty
/// result is still a real allocation the caller can free).
pub(crate) fn alloc_copy(alloc: PFN_CSP_ALLOC, data: &[u8]) -> Result<*mut u8> {
    let Some(alloc) = alloc else {
        return Err(MdError::NoMemory);
    };
    // SAFETY: calling the CSP's allocator with a size; it returns NULL or a writable block of that size.
    let p = unsafe { alloc(data.len().max(1)) } as *mut u8;
    if p.is_null() {
        return Err(MdError::NoMemory);
    }
    // SAFETY: `p` is a fresh allocation of at least `data.len()` bytes that cannot overlap `data`.
    unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), p, data.len()) };
    Ok(p)
}

/// Frees with `pfnCspFree`.
pub(crate) fn free(free: PFN_CSP_FREE, p: *mut u8) {
    if let (Some(free), false) = (free, p.is_null()) {
        // SAFETY: `p` came from the same CSP's allocator and is not used afterwards.
        unsafe { free(p as *const c_void) };
    }
}

/// Writes `value` through an out-pointer that was checked non-null.
///
/// # Safety
/// `p` must be valid for a write of `T` (the interface's out-parameters are).
pub(crate) unsafe fn write_out<T>(p: *mut T, value: T) {
    // SAFETY: guaranteed by the caller; unaligned writes are used because the CSP's buffers carry no
    // alignment promise.
    unsafe { p.write_unaligned(value) };
}

/// Reads `dwVersion` of a caller-owned, versioned structure (its first DWORD).
///
/// # Safety
/// `p` must be non-null and point to at least four readable bytes.
pub(crate) unsafe fn read_version(p: *const c_void) -> u32 {
    // SAFETY: guaranteed by the caller.
    unsafe { (p as *const u32).read_unaligned() }
}

/// Takes the context out of `CARD_DATA` (for `CardDeleteContext`).
///
/// # Safety
/// `cd` is non-null and points to a live `CARD_DATA`.
pub(crate) unsafe fn take_context(cd: *mut CARD_DATA) -> Option<Box<ContextCell>> {
    // SAFETY: field 14 exists in every version; `cd` is valid per the caller.
    let cell = unsafe { addr_of!((*cd).pvVendorSpecific).read() } as *mut ContextCell;
    if cell.is_null() {
        return None;
    }
    // SAFETY: as above; clearing the pointer first makes a second delete a clean INVALID_PARAMETER.
    unsafe { addr_of_mut!((*cd).pvVendorSpecific).write(std::ptr::null_mut()) };
    // SAFETY: `cell` came from `Box::into_raw` in CardAcquireContext and is released exactly once.
    Some(unsafe { Box::from_raw(cell) })
}
