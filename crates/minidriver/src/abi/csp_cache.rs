//! The CSP's data cache callbacks (`pfnCspCacheAddFile`, `pfnCspCacheLookupFile`, `pvCacheContext`;
//! Smart Card Minidriver Specification 7.07 §4.1.1) behind the module's safe [`CspCache`].

use std::ffi::c_void;

use windows_sys::Win32::Security::Cryptography::{
    CARD_DATA, PFN_CSP_CACHE_ADD_FILE, PFN_CSP_CACHE_LOOKUP_FILE, PFN_CSP_FREE,
};

use super::csp_buf::CspBuf;
use crate::scan_cache::CspCache;

/// The callbacks of one call's `CARD_DATA`.
pub(crate) struct CallbackCache {
    add: PFN_CSP_CACHE_ADD_FILE,
    lookup: PFN_CSP_CACHE_LOOKUP_FILE,
    free: PFN_CSP_FREE,
    /// `pvCacheContext`, passed back as given and never dereferenced by the module.
    context: usize,
}

impl CallbackCache {
    /// The cache `csp` offers; `None` when it has no add or no lookup callback (the certification kit
    /// requires the module to work without them).
    pub(crate) fn of(csp: &CARD_DATA) -> Option<Self> {
        if csp.pfnCspCacheAddFile.is_none() || csp.pfnCspCacheLookupFile.is_none() {
            return None;
        }
        Some(Self {
            add: csp.pfnCspCacheAddFile,
            lookup: csp.pfnCspCacheLookupFile,
            free: csp.pfnCspFree,
            context: csp.pvCacheContext.addr(),
        })
    }

    fn context(&self) -> *const c_void {
        std::ptr::with_exposed_provenance(self.context)
    }
}

/// A NUL-terminated UTF-16 copy of `tag`.
fn wide(tag: &str) -> Vec<u16> {
    tag.encode_utf16().chain([0]).collect()
}

impl CspCache for CallbackCache {
    fn lookup(&self, tag: &str) -> Option<Vec<u8>> {
        let lookup = self.lookup?;
        let tag = wide(tag);
        let (mut data, mut len) = (std::ptr::null_mut(), 0u32);
        // SAFETY: the CSP's callback with its own context, a NUL-terminated tag and two out-parameters.
        let rc = unsafe { lookup(self.context(), tag.as_ptr(), 0, &mut data, &mut len) };
        if rc != 0 {
            return None;
        }
        // SAFETY: on success the CSP hands over a block of its allocator holding `len` bytes, which the
        // module frees.
        let buffer = unsafe { CspBuf::adopt(data, len, self.free) }?;
        Some(buffer.as_slice().to_vec())
    }

    fn add(&self, tag: &str, data: &[u8]) {
        let (Some(add), Ok(len)) = (self.add, u32::try_from(data.len())) else {
            return;
        };
        let tag = wide(tag);
        // SAFETY: the CSP's callback with its own context, a NUL-terminated tag and `len` readable bytes;
        // the CSP copies them.
        let rc = unsafe { add(self.context(), tag.as_ptr(), 0, data.as_ptr(), len) };
        if rc != 0 {
            tracing::debug!("the CSP did not cache {len} bytes (0x{rc:08X})");
        }
    }
}
