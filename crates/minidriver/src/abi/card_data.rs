//! Reading `CARD_DATA` and reaching the context behind `pvVendorSpecific`, without ever forming a
//! reference to the whole structure (the caller's allocation may be only as large as its version).
//!
//! `pvVendorSpecific` holds a handle, not an address: the contexts live in a registry of reference-counted
//! cells, and an entry point holds its own reference for the whole call. `CardDeleteContext` may race any
//! other call on the same `CARD_DATA` (nothing in the interface forbids it): the field is read and
//! cleared atomically, the cell is removed from the registry, and the delete then waits for a call that
//! is inside the context. A call either finishes before the context is released or is refused with
//! `SCARD_E_INVALID_PARAMETER`, and two deletes release it once. A value the module did not put there
//! (an uninitialised field, a stale copy) is never dereferenced or freed.

use std::collections::BTreeMap;
use std::ffi::c_void;
use std::ptr::addr_of;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use windows_sys::Win32::Security::Cryptography::{
    CARD_DATA, PFN_CSP_ALLOC, PFN_CSP_FREE, PFN_CSP_PAD_DATA, PFN_CSP_UNPAD_DATA,
};

use crate::context::CardContext;
use crate::error::{MdError, Result};

/// What a handle in `pvVendorSpecific` names.
pub(crate) struct ContextCell {
    /// The negotiated `CARD_DATA` version: fixed at acquire, so read without the lock.
    interface_version: u32,
    /// Set by `CardDeleteContext` under the lock: a call that got the cell just before the delete and
    /// locks it afterwards is refused.
    deleted: AtomicBool,
    context: Mutex<CardContext>,
}

/// The live contexts by handle.
static CONTEXTS: Mutex<BTreeMap<usize, Arc<ContextCell>>> = Mutex::new(BTreeMap::new());
/// The next handle: never 0 (NULL means "no context"), never reused while the process lives.
static NEXT_HANDLE: AtomicUsize = AtomicUsize::new(1);

/// The registry. Nothing panics while holding it, but a poisoned lock still holds a consistent map.
fn contexts() -> MutexGuard<'static, BTreeMap<usize, Arc<ContextCell>>> {
    CONTEXTS.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ContextCell {
    /// Registers `context` and returns the handle for `pvVendorSpecific`.
    pub(crate) fn register(context: CardContext) -> usize {
        let cell = Arc::new(Self {
            interface_version: context.interface_version(),
            deleted: AtomicBool::new(false),
            context: Mutex::new(context),
        });
        let handle = NEXT_HANDLE.fetch_add(1, Ordering::Relaxed);
        contexts().insert(handle, cell);
        handle
    }

    /// The context a handle names, if it is live.
    fn find(handle: usize) -> Option<Arc<Self>> {
        contexts().get(&handle).cloned()
    }

    /// Unregisters a handle and releases its context, after any call inside it has finished. Returns
    /// false when the handle names no live context.
    pub(crate) fn release(handle: usize) -> bool {
        let Some(cell) = contexts().remove(&handle) else {
            return false;
        };
        let guard = cell.lock();
        cell.deleted.store(true, Ordering::Release);
        drop(guard);
        // The last reference (this one, unless a call that found the cell before the removal still holds
        // one and is about to be refused) frees the context.
        drop(cell);
        true
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

/// `pvVendorSpecific`, accessed atomically (a delete may race any call).
///
/// # Safety
/// `cd` is non-null and points to a live `CARD_DATA` the caller owns (member 14 exists in every version
/// and is pointer-aligned, like the structure).
unsafe fn vendor_field<'a>(cd: *const CARD_DATA) -> &'a AtomicPtr<c_void> {
    // SAFETY: per the caller; the CSP never touches the member (it is the minidriver's), so every access
    // to it goes through this atomic view. The structure is the caller's writable memory even where the
    // interface passes it as `const`.
    unsafe { AtomicPtr::from_ptr(addr_of!((*cd).pvVendorSpecific).cast_mut()) }
}

/// The handle in `pvVendorSpecific` (0 when NULL).
///
/// # Safety
/// As [`vendor_field`].
pub(crate) unsafe fn vendor_handle(cd: *const CARD_DATA) -> usize {
    // SAFETY: forwarded.
    unsafe { vendor_field(cd) }.load(Ordering::Acquire).addr()
}

/// Stores `handle` in `pvVendorSpecific` and returns what was there.
///
/// # Safety
/// As [`vendor_field`].
pub(crate) unsafe fn swap_vendor_handle(cd: *const CARD_DATA, handle: usize) -> usize {
    // SAFETY: forwarded. The handle is stored as an address without provenance: it is never dereferenced.
    unsafe { vendor_field(cd) }
        .swap(std::ptr::without_provenance_mut(handle), Ordering::AcqRel)
        .addr()
}

/// The caller's memory callbacks and padding callbacks, copied out of `CARD_DATA` for one call.
#[derive(Clone, Copy)]
pub(crate) struct Callbacks {
    pub alloc: PFN_CSP_ALLOC,
    pub free: PFN_CSP_FREE,
    /// Not called: the module pads signatures itself.
    #[allow(dead_code)]
    pub pad: PFN_CSP_PAD_DATA,
    /// `CardRSADecrypt` hands the raw block to it when the CSP offers it (version 7).
    pub unpad: PFN_CSP_UNPAD_DATA,
}

/// One entry's view of `CARD_DATA`.
pub(crate) struct Entry {
    cd: *const CARD_DATA,
    cell: Arc<ContextCell>,
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
        let (handle, alloc, free, pad) = unsafe {
            (
                vendor_handle(cd),
                addr_of!((*cd).pfnCspAlloc).read(),
                addr_of!((*cd).pfnCspFree).read(),
                addr_of!((*cd).pfnCspPadData).read(),
            )
        };
        let cell = ContextCell::find(handle).ok_or(MdError::InvalidParameter(
            "CARD_DATA has no context (not acquired or deleted)",
        ))?;
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
        self.cell.interface_version
    }

    /// Runs `f` with the locked context, after telling it the handles the CSP passes on this call.
    /// Refused when the context was deleted since the call began.
    pub(crate) fn with_context<T>(&self, f: impl FnOnce(&mut CardContext) -> Result<T>) -> Result<T> {
        let mut ctx = self.cell.lock();
        if self.cell.deleted.load(Ordering::Acquire) {
            return Err(MdError::InvalidParameter("the context was deleted"));
        }
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
