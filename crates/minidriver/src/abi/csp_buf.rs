//! Buffers of the CSP's allocator, owned: a [`CspBuf`] is freed with `pfnCspFree` when dropped (wiped
//! first when it holds a secret) unless it was handed to the caller, so no path frees by hand and none
//! leaks (Smart Card Minidriver Specification 7.07 §2.3.4 and §3.2.1: the module allocates and frees
//! through the CSP's functions; a buffer it returns belongs to the caller).

use std::ffi::c_void;
use std::ptr::NonNull;

use windows_sys::Win32::Security::Cryptography::PFN_CSP_FREE;
use zeroize::Zeroize;

use crate::abi::card_data::Callbacks;
use crate::error::{MdError, Result};

/// A buffer from `pfnCspAlloc` (or one a CSP callback returned), owned by the module until handed over.
pub(crate) struct CspBuf {
    ptr: NonNull<u8>,
    len: u32,
    free: PFN_CSP_FREE,
    /// Wiped before it is freed: it holds a derived key or a plaintext.
    secret: bool,
}

impl CspBuf {
    /// A new CSP buffer holding a copy of `data` (at least one byte is allocated, so that an empty result
    /// is still a buffer the caller can free). `SCARD_E_NO_MEMORY` when the CSP's allocator fails.
    pub(crate) fn copy_of(callbacks: &Callbacks, data: &[u8]) -> Result<Self> {
        let len =
            u32::try_from(data.len()).map_err(|_| MdError::Unexpected("buffer larger than 4 GiB".into()))?;
        let alloc = callbacks.alloc.ok_or(MdError::NoMemory)?;
        // SAFETY: the CSP's allocator takes a size and returns NULL or a writable block of that size.
        let ptr = unsafe { alloc(data.len().max(1)) };
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or(MdError::NoMemory)?;
        // SAFETY: a fresh block of at least `data.len()` bytes, which cannot overlap `data`.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), ptr.as_ptr(), data.len()) };
        Ok(Self {
            ptr,
            len,
            free: callbacks.free,
            secret: false,
        })
    }

    /// As [`CspBuf::copy_of`], for a secret: wiped before it is freed, if it is never handed over.
    pub(crate) fn secret_copy_of(callbacks: &Callbacks, data: &[u8]) -> Result<Self> {
        let mut buffer = Self::copy_of(callbacks, data)?;
        buffer.secret = true;
        Ok(buffer)
    }

    /// Takes ownership of a secret buffer a CSP callback returned (`pfnCspUnpadData`'s plaintext); `None`
    /// when it returned none.
    ///
    /// # Safety
    /// `ptr` is NULL or a block of the CSP's allocator, writable for `len` bytes, that nothing else frees.
    pub(crate) unsafe fn adopt_secret(ptr: *mut u8, len: u32, free: PFN_CSP_FREE) -> Option<Self> {
        Some(Self {
            ptr: NonNull::new(ptr)?,
            len,
            free,
            secret: true,
        })
    }

    /// Takes ownership of a buffer a CSP callback returned (a cache entry); `None` when it returned none.
    ///
    /// # Safety
    /// As [`CspBuf::adopt_secret`].
    pub(crate) unsafe fn adopt(ptr: *mut u8, len: u32, free: PFN_CSP_FREE) -> Option<Self> {
        Some(Self {
            ptr: NonNull::new(ptr)?,
            len,
            free,
            secret: false,
        })
    }

    /// The bytes.
    pub(crate) fn as_slice(&self) -> &[u8] {
        // SAFETY: `len` bytes from `ptr` are the buffer's, readable while it is owned.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len as usize) }
    }

    /// Hands the buffer to the caller, who frees it: its address and length, for the out-parameters.
    pub(crate) fn hand_over(self) -> (*mut u8, u32) {
        let handed = (self.ptr.as_ptr(), self.len);
        std::mem::forget(self);
        handed
    }
}

impl Drop for CspBuf {
    fn drop(&mut self) {
        if self.secret {
            // SAFETY: `len` bytes from `ptr` are the buffer's and writable while it is owned.
            unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len as usize) }.zeroize();
        }
        // A CSP that took its free function away leaks the block rather than crash.
        if let Some(free) = self.free {
            // SAFETY: the block came from this CSP's allocator, and nothing uses it after this.
            unsafe { free(self.ptr.as_ptr().cast::<c_void>().cast_const()) };
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Blocks the test allocator handed out, by address, with what each held when it was freed.
    static FREED: Mutex<Vec<(usize, Vec<u8>)>> = Mutex::new(Vec::new());
    const LEN: usize = 4;

    unsafe extern "system" fn alloc(size: usize) -> *mut c_void {
        assert!(size <= LEN);
        Box::into_raw(Box::new([0u8; LEN])).cast()
    }

    /// Records the block's address and content; the block itself is kept (leaked), so that no later
    /// allocation reuses its address and a second free shows as one.
    unsafe extern "system" fn free(p: *const c_void) {
        // SAFETY: a live block of `alloc`.
        let block = unsafe { p.cast::<[u8; LEN]>().read() };
        let mut freed = FREED.lock().unwrap_or_else(|e| e.into_inner());
        let twice = freed.iter().any(|(at, _)| *at == p.addr());
        freed.push((p.addr(), if twice { b"twice".to_vec() } else { block.to_vec() }));
    }

    fn callbacks() -> Callbacks {
        Callbacks {
            alloc: Some(alloc),
            free: Some(free),
            unpad: None,
        }
    }

    /// What the block at `at` held when it was freed; `None` while it is not.
    fn freed(at: usize) -> Option<Vec<u8>> {
        let freed = FREED.lock().unwrap();
        let frees: Vec<_> = freed
            .iter()
            .filter(|(a, _)| *a == at)
            .map(|(_, b)| b.clone())
            .collect();
        assert!(frees.len() <= 1, "freed twice");
        frees.into_iter().next()
    }

    #[test]
    fn a_buffer_is_freed_once_wiped_when_secret_and_not_at_all_once_handed_over() {
        let plain = CspBuf::copy_of(&callbacks(), b"abc").unwrap();
        let plain_at = plain.ptr.as_ptr().addr();
        assert_eq!(plain.as_slice(), b"abc");
        drop(plain);
        assert_eq!(freed(plain_at).unwrap()[..3], *b"abc", "freed as it was");

        let secret = CspBuf::secret_copy_of(&callbacks(), b"key").unwrap();
        let secret_at = secret.ptr.as_ptr().addr();
        drop(secret);
        assert_eq!(freed(secret_at).unwrap(), [0; LEN], "wiped, then freed once");

        let (p, len) = CspBuf::secret_copy_of(&callbacks(), b"out").unwrap().hand_over();
        assert_eq!(len, 3);
        assert!(freed(p.addr()).is_none(), "the caller's now");
        // SAFETY: the block handed over, freed here as the caller would.
        unsafe { free(p.cast()) };

        let empty = CspBuf::copy_of(&callbacks(), b"").unwrap();
        assert!(empty.as_slice().is_empty(), "an empty result is still a buffer");
        let failing = Callbacks {
            alloc: None,
            ..callbacks()
        };
        assert!(matches!(CspBuf::copy_of(&failing, b"x"), Err(MdError::NoMemory)));
    }
}
