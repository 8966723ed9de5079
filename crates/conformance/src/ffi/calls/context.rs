//! The `CARD_DATA` of one acquired context: how `CardAcquireContext` is called ([`AcquireSpec`]), the
//! context's life ([`Context`]: acquired, used through [`Calls`], deleted on drop), and what the module
//! wrote into the structure.

use std::mem::size_of;
use std::sync::Arc;

use tessera_piv::Transport;
use windows_sys::Win32::Security::Cryptography::CARD_DATA;

use super::Calls;
use crate::ffi::alloc;
use crate::ffi::cache::DataCache;
use crate::ffi::card_data::{CardDataBuffer, card_data_size, field};
use crate::ffi::module::Module;
use crate::ffi::padding;
use crate::ffi::wide::wide;

/// How `CardAcquireContext` is called. `Default` is a well-formed v7 call without a card binding.
#[derive(Debug, Clone)]
pub struct AcquireSpec {
    /// `dwVersion` requested.
    pub version: u32,
    /// `dwFlags`.
    pub flags: u32,
    /// Bytes of `CARD_DATA` allocated; `None` = the size of `version`.
    pub size: Option<usize>,
    /// `pbAtr` content (`None` = NULL).
    pub atr: Option<Vec<u8>>,
    /// `cbAtr` when it should differ from the ATR's length.
    pub atr_len: Option<u32>,
    /// `pwszCardName` (`None` = NULL).
    pub name: Option<String>,
    /// Which caller members to leave NULL.
    pub nulls: NullMembers,
    /// `hSCardCtx`.
    pub context_handle: usize,
    /// `hScard`.
    pub card_handle: usize,
}

/// Caller members of `CARD_DATA` left NULL on purpose.
#[derive(Debug, Clone, Copy, Default)]
pub struct NullMembers {
    /// `pfnCspAlloc`.
    pub alloc: bool,
    /// `pfnCspReAlloc`.
    pub realloc: bool,
    /// `pfnCspFree`.
    pub free: bool,
    /// `pfnCspCacheAddFile`.
    pub cache_add: bool,
    /// `pfnCspCacheLookupFile`.
    pub cache_lookup: bool,
    /// `pfnCspCacheDeleteFile`.
    pub cache_delete: bool,
    /// `pvCacheContext`.
    pub cache_context: bool,
    /// `pfnCspPadData`.
    pub pad: bool,
    /// `pfnCspUnpadData`.
    pub unpad: bool,
    /// `pfnCspGetDHAgreement`.
    pub dh: bool,
}

impl Default for AcquireSpec {
    fn default() -> Self {
        Self {
            version: 7,
            flags: 0,
            size: None,
            atr: None,
            atr_len: None,
            name: Some("Tessera conformance card".into()),
            nulls: NullMembers::default(),
            context_handle: 0,
            card_handle: 0,
        }
    }
}

/// A `CARD_DATA` handed to `CardAcquireContext`, with everything it points to. When the acquisition
/// succeeded, dropping it calls `CardDeleteContext`.
pub struct Context {
    cd: CardDataBuffer,
    module: Arc<Module>,
    cache: Arc<DataCache>,
    _atr: Vec<u8>,
    _name: Vec<u16>,
    acquired: bool,
    /// The code `CardAcquireContext` returned.
    pub acquire_code: u32,
    /// The `CARD_DATA` bytes before the call (to see which caller members the module changed).
    before: Vec<u8>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("acquire_code", &self.acquire_code)
            .field("acquired", &self.acquired)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// Builds the `CARD_DATA` described by `spec` and calls `CardAcquireContext`.
    pub fn acquire(
        module: &Arc<Module>,
        spec: &AcquireSpec,
        cache: &Arc<DataCache>,
        transport: Option<Box<dyn Transport + Send>>,
    ) -> Self {
        let size = spec.size.unwrap_or_else(|| card_data_size(spec.version));
        let mut cd = CardDataBuffer::with_size(size);
        let mut atr = spec.atr.clone().unwrap_or_default();
        let name = spec.name.as_deref().map(wide).unwrap_or_default();
        let (a, r, f) = alloc::callbacks();
        let (add, lookup, delete, cache_ctx) = cache.callbacks();
        let (pad, unpad, dh) = padding::callbacks();
        let n = spec.nulls;
        let pick = |null: bool, v: usize| if null { 0 } else { v };
        // Writes outside the buffer's size are refused by `write`; a smaller structure simply has no
        // room for the later members, which is the point of sizing it by version.
        let _ = cd.write(field::VERSION, spec.version);
        let atr_ptr = if spec.atr.is_some() {
            atr.as_mut_ptr()
        } else {
            std::ptr::null_mut()
        };
        let _ = cd.write(field::ATR, atr_ptr);
        let _ = cd.write(field::ATR_LEN, spec.atr_len.unwrap_or(atr.len() as u32));
        let name_ptr: *const u16 = if spec.name.is_some() {
            name.as_ptr()
        } else {
            std::ptr::null()
        };
        let _ = cd.write(field::NAME, name_ptr);
        let _ = cd.write(field::ALLOC, if n.alloc { None } else { a });
        let _ = cd.write(field::REALLOC, if n.realloc { None } else { r });
        let _ = cd.write(field::FREE, if n.free { None } else { f });
        let _ = cd.write(field::CACHE_ADD, if n.cache_add { None } else { add });
        let _ = cd.write(field::CACHE_LOOKUP, if n.cache_lookup { None } else { lookup });
        let _ = cd.write(field::CACHE_DELETE, if n.cache_delete { None } else { delete });
        let _ = cd.write(field::CACHE_CONTEXT, pick(n.cache_context, cache_ctx as usize));
        let _ = cd.write(field::PAD, if n.pad { None } else { pad });
        let _ = cd.write(field::SCARD_CONTEXT, spec.context_handle);
        let _ = cd.write(field::SCARD_HANDLE, spec.card_handle);
        if spec.version >= 5 {
            let _ = cd.write(field::GET_DH_AGREEMENT, if n.dh { None } else { dh });
        }
        if spec.version >= 7 {
            let _ = cd.write(field::UNPAD, if n.unpad { None } else { unpad });
        }
        let before = cd.bytes();
        let code = module.acquire(&mut cd, spec.flags, transport);
        Self {
            cd,
            module: Arc::clone(module),
            cache: Arc::clone(cache),
            _atr: atr,
            _name: name,
            acquired: code == 0,
            acquire_code: code,
            before,
        }
    }

    /// True when `CardAcquireContext` succeeded and the context was not deleted yet.
    pub fn is_live(&self) -> bool {
        self.acquired
    }

    /// The module.
    pub fn module(&self) -> &Arc<Module> {
        &self.module
    }

    /// The CSP cache this context uses.
    pub fn cache(&self) -> &Arc<DataCache> {
        &self.cache
    }

    /// `dwVersion` now.
    pub fn version(&self) -> u32 {
        self.cd.read(field::VERSION).unwrap_or(0)
    }

    /// The `CARD_DATA` buffer size.
    pub fn size(&self) -> usize {
        self.cd.size()
    }

    /// True when nothing was written past the `CARD_DATA` buffer.
    pub fn guard_intact(&self) -> bool {
        self.cd.guard_intact()
    }

    /// Offsets of caller-set members (0–13, and 43/52 when present) that the module changed.
    pub fn caller_members_changed(&self) -> Vec<usize> {
        let now = self.cd.bytes();
        let mut offsets = vec![
            field::VERSION,
            field::ATR,
            field::ATR_LEN,
            field::NAME,
            field::ALLOC,
            field::REALLOC,
            field::FREE,
            field::CACHE_ADD,
            field::CACHE_LOOKUP,
            field::CACHE_DELETE,
            field::CACHE_CONTEXT,
            field::PAD,
            field::SCARD_CONTEXT,
            field::SCARD_HANDLE,
            field::GET_DH_AGREEMENT,
            field::UNPAD,
        ];
        offsets.retain(|&o| o + size_of::<usize>() <= now.len());
        offsets
            .into_iter()
            // dwVersion is negotiated: the module writes it on purpose.
            .filter(|&o| {
                let member = o..o + size_of::<usize>();
                o != field::VERSION && now.get(member.clone()) != self.before.get(member)
            })
            .collect()
    }

    /// Which function-table members (by `CARD_DATA` offset) are non-NULL, within the buffer.
    pub fn filled_members(&self) -> Vec<usize> {
        (field::FIRST_MODULE_MEMBER..self.cd.size())
            .step_by(size_of::<usize>())
            .filter(|&o| self.cd.read::<usize>(o).is_ok_and(|v| v != 0))
            .collect()
    }

    /// The `CARD_DATA` handed to the module (what its callbacks receive back as `pCardData`).
    pub fn card_data_ptr(&self) -> *const CARD_DATA {
        self.cd.as_ptr()
    }

    /// `pvVendorSpecific` is set.
    pub fn has_vendor_context(&self) -> bool {
        self.cd.read::<usize>(field::VENDOR).is_ok_and(|v| v != 0)
    }

    /// Sets `hScard` for the next calls (the CSP reconnected).
    pub fn set_card_handle(&self, handle: usize) {
        let _ = self.cd.write_shared(field::SCARD_HANDLE, handle);
    }

    /// The current `hScard`.
    pub fn card_handle(&self) -> usize {
        self.cd.read(field::SCARD_HANDLE).unwrap_or(0)
    }

    /// Calls through this context.
    pub fn call(&self) -> Calls<'_> {
        Calls {
            ctx: self,
            cd: self.cd.as_ptr(),
        }
    }

    /// Calls with `pCardData` NULL.
    pub fn null(&self) -> Calls<'_> {
        Calls {
            ctx: self,
            cd: std::ptr::null_mut(),
        }
    }

    /// `CardDeleteContext`; later drops do nothing.
    pub fn delete(&mut self) -> u32 {
        let code = self.call().delete_context();
        if code == 0 {
            self.acquired = false;
        }
        code
    }

    pub(super) fn member<T: Copy>(&self, offset: usize) -> Option<T> {
        self.cd.read::<Option<T>>(offset).ok().flatten()
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        if self.acquired {
            let _ = self.delete();
        }
    }
}
