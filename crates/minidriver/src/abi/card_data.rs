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
use std::mem::offset_of;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use windows_sys::Win32::Security::Cryptography::{
    CARD_DATA, PFN_CSP_ALLOC, PFN_CSP_FREE, PFN_CSP_UNPAD_DATA,
};

use crate::abi::csp_buf::CspBuf;
use crate::agreement::AgreementRef;
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
    // SAFETY: per the caller, member 14 exists.
    let member = unsafe { &raw const (*cd).pvVendorSpecific };
    // SAFETY: per the caller; the CSP never touches the member (it is the minidriver's), so every access
    // to it goes through this atomic view. The structure is the caller's writable memory even where the
    // interface passes it as `const`.
    unsafe { AtomicPtr::from_ptr(member.cast_mut()) }
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

/// The members the CSP fills before a call (indices 0–13 in every version: version, ATR, card name, its
/// memory, cache and padding callbacks, the PC/SC handles), copied. `pvVendorSpecific` (14) is the
/// module's and is only ever accessed atomically, so the copy stops before it.
///
/// # Safety
/// `cd` is non-null and points to a `CARD_DATA` of any version the caller owns for the call.
pub(crate) unsafe fn csp_members(cd: *const CARD_DATA) -> CARD_DATA {
    let mut copy = CARD_DATA::default();
    // SAFETY: the first 14 members exist in every version and are readable; each is an integer, a raw
    // pointer or an optional function pointer the CSP set (or NULL), and the copy cannot overlap `cd`.
    unsafe {
        std::ptr::copy_nonoverlapping(
            cd.cast::<u8>(),
            (&raw mut copy).cast::<u8>(),
            offset_of!(CARD_DATA, pvVendorSpecific),
        )
    };
    copy
}

/// The CSP's callbacks the module uses, copied out of `CARD_DATA` for one call.
#[derive(Clone, Copy)]
pub(crate) struct Callbacks {
    /// `pfnCspAlloc`: every buffer the module returns comes from it (see [`CspBuf`](super::csp_buf::CspBuf)).
    pub alloc: PFN_CSP_ALLOC,
    /// `pfnCspFree`.
    pub free: PFN_CSP_FREE,
    /// `pfnCspUnpadData` (version 7): `CardRSADecrypt` hands the raw block to it when the CSP offers it.
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
        // owns for the duration of the call.
        let handle = unsafe { vendor_handle(cd) };
        let cell = ContextCell::find(handle).ok_or(MdError::InvalidParameter(
            "CARD_DATA has no context (not acquired or deleted)",
        ))?;
        // SAFETY: as above.
        let csp = unsafe { csp_members(cd) };
        let mut entry = Self {
            cd,
            cell,
            callbacks: Callbacks {
                alloc: csp.pfnCspAlloc,
                free: csp.pfnCspFree,
                unpad: None,
            },
        };
        if entry.interface_version() >= 7 {
            // SAFETY: the negotiated version is 7, so the caller's structure has the v7 members.
            let unpad = unsafe { &raw const (*cd).pfnCspUnpadData };
            // SAFETY: as above; the member is the CSP's and readable.
            entry.callbacks.unpad = unsafe { unpad.read() };
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
        // SAFETY: `cd` was checked non-null and is the caller's for the call.
        let csp = unsafe { csp_members(self.cd) };
        ctx.begin_call(csp.hSCardCtx, csp.hScard);
        ctx.csp_cache = super::csp_cache::CallbackCache::of(&csp).map(|c| Box::new(c) as _);
        f(&mut ctx)
    }

    /// The CSP removes RSA padding itself (`pfnCspUnpadData`, version 7).
    pub(crate) fn csp_unpads(&self) -> bool {
        self.callbacks.unpad.is_some()
    }

    /// A new CSP buffer holding `data`, to hand to the caller.
    pub(crate) fn csp_copy(&self, data: &[u8]) -> Result<CspBuf> {
        CspBuf::copy_of(&self.callbacks, data)
    }

    /// As [`Entry::csp_copy`] for a secret (a derived key): wiped if it is never handed over.
    pub(crate) fn secret_csp_copy(&self, data: &[u8]) -> Result<CspBuf> {
        CspBuf::secret_copy_of(&self.callbacks, data)
    }

    /// The agreement an NCrypt secret handle stands for, through the KSP's `pfnCspGetDHAgreement`
    /// (Smart Card Minidriver Specification 7.07 §3.2.3).
    pub(crate) fn secret_agreement(&self, handle: usize) -> Result<u8> {
        // SAFETY: `cd` is the caller's; member 43 exists from version 5, and CardDeriveKey (the only
        // caller) is in the table from version 5.
        let member = unsafe { &raw const (*self.cd).pfnCspGetDHAgreement };
        // SAFETY: as above.
        let Some(callback) = (unsafe { member.read() }) else {
            return Err(MdError::InvalidParameter(
                "secret handle without pfnCspGetDHAgreement",
            ));
        };
        let mut index = 0u8;
        // SAFETY: the KSP's callback, with its own CARD_DATA and handle and an out-parameter of ours.
        let rc = unsafe { callback(self.cd, std::ptr::without_provenance(handle), &mut index, 0) };
        if rc != 0 {
            return Err(MdError::InvalidParameter(
                "the secret handle is not an on-card agreement",
            ));
        }
        Ok(index)
    }

    /// Which agreement a derivation uses: its index, or the one a secret handle stands for.
    pub(crate) fn agreement_index(&self, agreement: AgreementRef) -> Result<u8> {
        match agreement {
            AgreementRef::Index(index) => Ok(index),
            AgreementRef::SecretHandle(handle) => self.secret_agreement(handle),
        }
    }
}
