//! A `CARD_DATA` in a buffer of exactly the size of the version the caller asks for, followed by guard
//! bytes: a module that writes members of a newer version than it negotiated (or anything past the
//! structure) changes the guard, which [`CardDataBuffer::guard_intact`] reports. Every member access is
//! bounds-checked against the buffer's size, so the harness itself never touches memory past it.

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::mem::{offset_of, size_of};
use std::ptr::NonNull;

use windows_sys::Win32::Security::Cryptography::CARD_DATA;

/// Bytes of guard after the structure.
pub const GUARD_LEN: usize = 64;
/// The guard's fill byte.
pub const GUARD_BYTE: u8 = 0xA5;
const ALIGN: usize = 16;

/// Size of `CARD_DATA` for an interface version (`cardmod.h`: 41, 44, 52 and 63 pointer-sized members);
/// versions above 7 get the v7 size (a CSP cannot allocate members it does not know).
pub const fn card_data_size(version: u32) -> usize {
    let members = match version {
        0..=4 => 41,
        5 => 44,
        6 => 52,
        _ => 63,
    };
    members * size_of::<usize>()
}

/// An owned, zero-initialised `CARD_DATA` of a chosen size plus a guard.
pub struct CardDataBuffer {
    ptr: NonNull<u8>,
    size: usize,
}

// SAFETY: the buffer is plain memory owned by this value. Several threads calling the module through the
// same `CARD_DATA` is what the interface requires modules to support (the certification kit's
// MultiThreaded test runs five threads on one context); the harness itself writes members only through
// `&mut self`.
unsafe impl Send for CardDataBuffer {}
// SAFETY: as above; shared access only reads.
unsafe impl Sync for CardDataBuffer {}

/// Why a member could not be accessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfRange;

impl CardDataBuffer {
    /// A buffer of `size` structure bytes (at most the v7 size).
    pub fn with_size(size: usize) -> Self {
        let size = size.min(size_of::<CARD_DATA>());
        let layout = Self::layout(size);
        // SAFETY: `layout` has a non-zero size.
        let raw = unsafe { alloc_zeroed(layout) };
        let Some(ptr) = NonNull::new(raw) else {
            std::alloc::handle_alloc_error(layout);
        };
        // SAFETY: the allocation is `size + GUARD_LEN` bytes; the guard starts at `size`.
        unsafe { ptr.as_ptr().wrapping_add(size).write_bytes(GUARD_BYTE, GUARD_LEN) };
        Self { ptr, size }
    }

    /// A buffer of the size of `version`.
    pub fn for_version(version: u32) -> Self {
        Self::with_size(card_data_size(version))
    }

    fn layout(size: usize) -> Layout {
        // The size is bounded by the v7 structure plus the guard: the layout is always valid.
        Layout::from_size_align(size + GUARD_LEN, ALIGN).unwrap_or_else(|_| Layout::new::<CARD_DATA>())
    }

    /// The structure size in bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The pointer handed to the module.
    pub fn as_ptr(&self) -> *mut CARD_DATA {
        self.ptr.as_ptr().cast()
    }

    /// True when no byte after the structure was changed.
    pub fn guard_intact(&self) -> bool {
        // SAFETY: the guard lies within the allocation.
        let guard =
            unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().wrapping_add(self.size), GUARD_LEN) };
        guard.iter().all(|&b| b == GUARD_BYTE)
    }

    /// Where the member of type `T` at `offset` is, if it lies within the structure.
    fn member<T>(&self, offset: usize) -> Result<*mut T, OutOfRange> {
        if offset + size_of::<T>() > self.size {
            return Err(OutOfRange);
        }
        Ok(self.ptr.as_ptr().wrapping_add(offset).cast())
    }

    /// Reads the member of type `T` at `offset`, if it lies within the structure.
    pub fn read<T: Copy>(&self, offset: usize) -> Result<T, OutOfRange> {
        let member = self.member::<T>(offset)?;
        // SAFETY: within the allocation; unaligned read of plain data. Every `T` used here (integers,
        // pointers, `Option<fn>`) is valid for any bit pattern the module may leave, except
        // `Option<fn>`, which a module can only set to NULL or a function.
        Ok(unsafe { member.read_unaligned() })
    }

    /// Writes the member of type `T` at `offset`, if it lies within the structure.
    pub fn write<T: Copy>(&mut self, offset: usize, value: T) -> Result<(), OutOfRange> {
        let member = self.member::<T>(offset)?;
        // SAFETY: within the allocation.
        unsafe { member.write_unaligned(value) };
        Ok(())
    }

    /// Writes through a shared reference (for the handle fields, which the CSP may change between calls
    /// while other threads use the context).
    pub fn write_shared(&self, offset: usize, value: usize) -> Result<(), OutOfRange> {
        let member = self.member::<usize>(offset)?;
        // SAFETY: within the allocation. A concurrent reader in the module may see the old or the new
        // handle: an aligned pointer-sized store is atomic on every target the harness runs on.
        unsafe { member.write_volatile(value) };
        Ok(())
    }

    /// The bytes of the structure (for checks that the module left members alone).
    pub fn bytes(&self) -> Vec<u8> {
        // SAFETY: the first `size` bytes are the structure.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.size) }.to_vec()
    }
}

impl Drop for CardDataBuffer {
    fn drop(&mut self) {
        // SAFETY: allocated in `with_size` with the same layout.
        unsafe { dealloc(self.ptr.as_ptr(), Self::layout(self.size)) };
    }
}

/// Offsets of the members, for the accessors above.
pub mod field {
    use super::*;

    /// `dwVersion`.
    pub const VERSION: usize = offset_of!(CARD_DATA, dwVersion);
    /// `pbAtr`.
    pub const ATR: usize = offset_of!(CARD_DATA, pbAtr);
    /// `cbAtr`.
    pub const ATR_LEN: usize = offset_of!(CARD_DATA, cbAtr);
    /// `pwszCardName`.
    pub const NAME: usize = offset_of!(CARD_DATA, pwszCardName);
    /// `pfnCspAlloc`.
    pub const ALLOC: usize = offset_of!(CARD_DATA, pfnCspAlloc);
    /// `pfnCspReAlloc`.
    pub const REALLOC: usize = offset_of!(CARD_DATA, pfnCspReAlloc);
    /// `pfnCspFree`.
    pub const FREE: usize = offset_of!(CARD_DATA, pfnCspFree);
    /// `pfnCspCacheAddFile`.
    pub const CACHE_ADD: usize = offset_of!(CARD_DATA, pfnCspCacheAddFile);
    /// `pfnCspCacheLookupFile`.
    pub const CACHE_LOOKUP: usize = offset_of!(CARD_DATA, pfnCspCacheLookupFile);
    /// `pfnCspCacheDeleteFile`.
    pub const CACHE_DELETE: usize = offset_of!(CARD_DATA, pfnCspCacheDeleteFile);
    /// `pvCacheContext`.
    pub const CACHE_CONTEXT: usize = offset_of!(CARD_DATA, pvCacheContext);
    /// `pfnCspPadData`.
    pub const PAD: usize = offset_of!(CARD_DATA, pfnCspPadData);
    /// `hSCardCtx`.
    pub const SCARD_CONTEXT: usize = offset_of!(CARD_DATA, hSCardCtx);
    /// `hScard`.
    pub const SCARD_HANDLE: usize = offset_of!(CARD_DATA, hScard);
    /// `pvVendorSpecific`.
    pub const VENDOR: usize = offset_of!(CARD_DATA, pvVendorSpecific);
    /// `pfnCspGetDHAgreement` (v5).
    pub const GET_DH_AGREEMENT: usize = offset_of!(CARD_DATA, pfnCspGetDHAgreement);
    /// `pfnCspUnpadData` (v7).
    pub const UNPAD: usize = offset_of!(CARD_DATA, pfnCspUnpadData);
    /// First member the module fills (`pfnCardDeleteContext`).
    pub const FIRST_MODULE_MEMBER: usize = offset_of!(CARD_DATA, pfnCardDeleteContext);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_the_digest() {
        let p = size_of::<usize>();
        assert_eq!(card_data_size(4), 41 * p);
        assert_eq!(card_data_size(7), size_of::<CARD_DATA>());
        assert_eq!(offset_of!(CARD_DATA, pfnCardDeriveKey), card_data_size(4));
        assert_eq!(offset_of!(CARD_DATA, pfnCardGetChallengeEx), card_data_size(5));
        assert_eq!(offset_of!(CARD_DATA, pfnCspUnpadData), card_data_size(6));
    }

    #[test]
    fn accesses_are_bounded_and_the_guard_watched() {
        let mut b = CardDataBuffer::for_version(4);
        assert!(b.guard_intact());
        assert_eq!(b.write(field::VERSION, 4u32), Ok(()));
        assert_eq!(b.read::<u32>(field::VERSION), Ok(4));
        assert_eq!(b.write(field::UNPAD, 0usize), Err(OutOfRange));
        assert_eq!(b.read::<usize>(card_data_size(4)), Err(OutOfRange));
    }
}
