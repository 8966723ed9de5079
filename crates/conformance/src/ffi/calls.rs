//! An acquired context and one safe wrapper per function-table entry.
//!
//! Every wrapper passes the module only NULL or memory the harness owns for the call, initialises
//! out-pointers to NULL/0, and takes back returned buffers through [`alloc::take_buffer`] (copy, then
//! `pfnCspFree`, as the CSP does). What looks wrong at the ABI level (a buffer returned along with an
//! error, bytes written past a caller buffer, a length larger than its block) is reported in
//! [`Reply::problems`].

use std::mem::{offset_of, size_of};
use std::sync::Arc;

use tessera_piv::Transport;
use windows_sys::Win32::Security::Cryptography::*;

use super::alloc;
use super::cache::DataCache;
use super::card_data::{CardDataBuffer, card_data_size, field};
use super::module::Module;
use super::padding;
use super::wide::{ansi, wide};

/// The code a wrapper reports when the entry is NULL in the function table (or beyond the negotiated
/// version). Not a Windows code.
pub const NOT_IN_TABLE: u32 = 0xDEAD_0001;

/// Byte written around caller buffers to see overruns.
const FILL: u8 = 0xCC;
/// Guard bytes after caller buffers.
const TAIL: usize = 16;

/// The result of one call.
#[derive(Debug, Clone)]
pub struct Reply<T> {
    /// The returned `DWORD`.
    pub code: u32,
    /// What the call produced (only on success, or where the interface defines output on failure).
    pub value: Option<T>,
    /// ABI misbehaviour seen by the wrapper.
    pub problems: Vec<String>,
}

impl<T> Reply<T> {
    fn new(code: u32) -> Self {
        Self {
            code,
            value: None,
            problems: Vec::new(),
        }
    }

    fn missing() -> Self {
        Self::new(NOT_IN_TABLE)
    }

    /// True on `SCARD_S_SUCCESS`.
    pub fn ok(&self) -> bool {
        self.code == 0
    }
}

/// Collects a buffer returned through an out-pointer: taken when the call succeeded, flagged (and freed)
/// when the module left a live block there together with an error.
fn collect(code: u32, p: *mut u8, len: usize, what: &str, problems: &mut Vec<String>) -> Option<Vec<u8>> {
    if code == 0 {
        match alloc::take_buffer(p, len) {
            Ok(v) => Some(v),
            Err(e) => {
                problems.push(format!("{what}: {e}"));
                None
            }
        }
    } else {
        if alloc::free_if_live(p) {
            problems.push(format!("{what}: a buffer was returned together with an error"));
        }
        None
    }
}

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

    fn member<T: Copy>(&self, offset: usize) -> Option<T> {
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

/// Looks up an entry of the function table, or returns [`Reply::missing`] from the wrapper.
macro_rules! entry {
    ($self:ident, $member:ident, $ty:ty) => {
        match $self
            .ctx
            .member::<<$ty as IntoInner>::Inner>(offset_of!(CARD_DATA, $member))
        {
            Some(f) => f,
            None => return Reply::missing(),
        }
    };
}

/// The function type inside a `PFN_*` option.
pub trait IntoInner {
    /// The `unsafe extern "system" fn`.
    type Inner: Copy;
}
impl<F: Copy> IntoInner for Option<F> {
    type Inner = F;
}

// The cryptographic entry points, in their own file; declared here so that they see `entry!`.
mod crypto;
pub use crypto::*;

/// A NUL-terminated ANSI name, or NULL.
struct AnsiArg(Option<Vec<u8>>);
impl AnsiArg {
    fn new(s: Option<&[u8]>) -> Self {
        Self(s.map(ansi))
    }
    fn ptr(&self) -> *const u8 {
        self.0.as_ref().map_or(std::ptr::null(), |v| v.as_ptr())
    }
}

/// A NUL-terminated UTF-16 string, or NULL.
struct WideArg(Option<Vec<u16>>);
impl WideArg {
    fn new(s: Option<&str>) -> Self {
        Self(s.map(wide))
    }
    fn ptr(&self) -> *const u16 {
        self.0.as_ref().map_or(std::ptr::null(), |v| v.as_ptr())
    }
}

/// An input buffer: the bytes, zero-padded to cover a claimed length up to 4 KiB (so that a module that
/// believes a wrong length stays inside the harness's memory), or NULL.
struct InArg {
    buf: Option<Vec<u8>>,
    len: u32,
}
impl InArg {
    fn new(data: Option<&[u8]>, claimed: Option<u32>) -> Self {
        let len = claimed.unwrap_or(data.map_or(0, |d| d.len() as u32));
        let buf = data.map(|d| {
            let mut v = d.to_vec();
            v.resize(d.len().max((len as usize).min(4096)).max(64), 0);
            v
        });
        Self { buf, len }
    }
    fn ptr(&self) -> *const u8 {
        self.buf.as_ref().map_or(std::ptr::null(), |v| v.as_ptr())
    }
}

/// A caller-owned output buffer of `cb` bytes with a guard after it, or NULL.
struct OutBuf {
    buf: Option<Vec<u8>>,
    cb: u32,
}
impl OutBuf {
    fn new(present: bool, cb: u32) -> Self {
        let cb = cb.min(1 << 20);
        Self {
            buf: present.then(|| vec![FILL; cb as usize + TAIL]),
            cb,
        }
    }
    fn ptr(&mut self) -> *mut u8 {
        self.buf.as_mut().map_or(std::ptr::null_mut(), |v| v.as_mut_ptr())
    }
    fn overrun(&self) -> bool {
        self.buf
            .as_ref()
            .is_some_and(|v| v[self.cb as usize..].iter().any(|&b| b != FILL))
    }
    fn bytes(&self, len: u32) -> Vec<u8> {
        self.buf
            .as_ref()
            .map(|v| v[..(len.min(self.cb) as usize)].to_vec())
            .unwrap_or_default()
    }
}

/// An optional out-pointer of type `T`, initialised to `init`.
struct OutVal<T: Copy> {
    val: T,
    present: bool,
}
impl<T: Copy> OutVal<T> {
    fn new(present: bool, init: T) -> Self {
        Self { val: init, present }
    }
    fn ptr(&mut self) -> *mut T {
        if self.present {
            &mut self.val
        } else {
            std::ptr::null_mut()
        }
    }
}

/// What `CardGetProperty`/`CardGetContainerProperty` produced: the first `min(len, cb)` bytes and the
/// length reported through `pdwDataLen`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyValue {
    /// Bytes written to the caller's buffer.
    pub data: Vec<u8>,
    /// `*pdwDataLen` after the call.
    pub len: u32,
}

/// `CONTAINER_INFO` as returned, with the key blobs copied out (and freed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerInfoOut {
    /// `dwVersion` written back.
    pub version: u32,
    /// The signature public key blob.
    pub signature_key: Option<Vec<u8>>,
    /// The exchange public key blob.
    pub exchange_key: Option<Vec<u8>>,
}

/// Output of `CardAuthenticateEx`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthenticateOut {
    /// `*pcAttemptsRemaining` after the call (when the pointer was given).
    pub attempts: Option<u32>,
    /// The session PIN, when one was returned.
    pub session_pin: Option<Vec<u8>>,
}

/// How a versioned in/out structure is passed.
#[derive(Debug, Clone, Copy)]
pub struct StructArg {
    /// `dwVersion` set by the caller.
    pub version: u32,
    /// Pass NULL instead.
    pub null: bool,
}

impl StructArg {
    /// Version 1, present.
    pub const V1: Self = Self {
        version: 1,
        null: false,
    };
    /// A NULL structure pointer.
    pub const NULL: Self = Self {
        version: 1,
        null: true,
    };
    /// Present with `version`.
    pub const fn version(version: u32) -> Self {
        Self { version, null: false }
    }
}

/// The calls of one context, with `pCardData` either the context or NULL.
pub struct Calls<'a> {
    ctx: &'a Context,
    cd: *mut CARD_DATA,
}

/// Arguments of the file calls: directory (`None` = NULL = root) and file name.
#[derive(Debug, Clone, Copy, Default)]
pub struct FileArgs<'n> {
    /// Directory name.
    pub dir: Option<&'n [u8]>,
    /// File name (`None` = NULL).
    pub file: Option<&'n [u8]>,
    /// `dwFlags`.
    pub flags: u32,
    /// Pass NULL for the data out-pointer.
    pub null_data: bool,
    /// Pass NULL for the length out-pointer.
    pub null_len: bool,
}

impl<'a> Calls<'a> {
    fn cd(&self) -> *const CARD_DATA {
        self.cd
    }

    /// `CardDeleteContext`.
    pub fn delete_context(&self) -> u32 {
        let Some(f) = self
            .ctx
            .member::<<PFN_CARD_DELETE_CONTEXT as IntoInner>::Inner>(offset_of!(
                CARD_DATA,
                pfnCardDeleteContext
            ))
        else {
            return NOT_IN_TABLE;
        };
        // SAFETY: the context's own CARD_DATA (or NULL); the module owns what it points to.
        unsafe { f(self.cd) }
    }

    /// `CardQueryCapabilities`: (dwVersion, fCertificateCompression, fKeyGen).
    pub fn query_capabilities(&self, s: StructArg) -> Reply<(u32, i32, i32)> {
        let f = entry!(self, pfnCardQueryCapabilities, PFN_CARD_QUERY_CAPABILITIES);
        let mut v = CARD_CAPABILITIES {
            dwVersion: s.version,
            fCertificateCompression: -7,
            fKeyGen: -7,
        };
        let p: *mut CARD_CAPABILITIES = if s.null { std::ptr::null_mut() } else { &mut v };
        // SAFETY: NULL or the harness's own structure.
        let mut r = Reply::new(unsafe { f(self.cd(), p) });
        if r.ok() {
            r.value = Some((v.dwVersion, v.fCertificateCompression, v.fKeyGen));
        }
        r
    }

    /// `CardQueryFreeSpace`: the four DWORDs.
    pub fn query_free_space(&self, flags: u32, s: StructArg) -> Reply<[u32; 4]> {
        let f = entry!(self, pfnCardQueryFreeSpace, PFN_CARD_QUERY_FREE_SPACE);
        let mut v = CARD_FREE_SPACE_INFO {
            dwVersion: s.version,
            dwBytesAvailable: 0xDDDD_DDDD,
            dwKeyContainersAvailable: 0xDDDD_DDDD,
            dwMaxKeyContainers: 0xDDDD_DDDD,
        };
        let p: *mut CARD_FREE_SPACE_INFO = if s.null { std::ptr::null_mut() } else { &mut v };
        // SAFETY: NULL or the harness's own structure.
        let mut r = Reply::new(unsafe { f(self.cd(), flags, p) });
        if r.ok() {
            r.value = Some([
                v.dwVersion,
                v.dwBytesAvailable,
                v.dwKeyContainersAvailable,
                v.dwMaxKeyContainers,
            ]);
        }
        r
    }

    /// `CardQueryKeySizes`: the five DWORDs.
    pub fn query_key_sizes(&self, key_spec: u32, flags: u32, s: StructArg) -> Reply<[u32; 5]> {
        let f = entry!(self, pfnCardQueryKeySizes, PFN_CARD_QUERY_KEY_SIZES);
        let mut v = CARD_KEY_SIZES {
            dwVersion: s.version,
            dwMinimumBitlen: 0xDDDD_DDDD,
            dwDefaultBitlen: 0xDDDD_DDDD,
            dwMaximumBitlen: 0xDDDD_DDDD,
            dwIncrementalBitlen: 0xDDDD_DDDD,
        };
        let p: *mut CARD_KEY_SIZES = if s.null { std::ptr::null_mut() } else { &mut v };
        // SAFETY: NULL or the harness's own structure.
        let mut r = Reply::new(unsafe { f(self.cd(), key_spec, flags, p) });
        if r.ok() {
            r.value = Some([
                v.dwVersion,
                v.dwMinimumBitlen,
                v.dwDefaultBitlen,
                v.dwMaximumBitlen,
                v.dwIncrementalBitlen,
            ]);
        }
        r
    }

    /// `CardGetContainerInfo`.
    pub fn get_container_info(&self, index: u8, flags: u32, s: StructArg) -> Reply<ContainerInfoOut> {
        let f = entry!(self, pfnCardGetContainerInfo, PFN_CARD_GET_CONTAINER_INFO);
        let mut v = CONTAINER_INFO {
            dwVersion: s.version,
            ..Default::default()
        };
        let p: *mut CONTAINER_INFO = if s.null { std::ptr::null_mut() } else { &mut v };
        // SAFETY: NULL or the harness's own structure.
        let mut r = Reply::new(unsafe { f(self.cd(), index, flags, p) });
        r.value = take_container_info(r.code, &v, &mut r.problems);
        r
    }

    /// `CardReadFile`.
    pub fn read_file(&self, a: FileArgs<'_>) -> Reply<Vec<u8>> {
        let f = entry!(self, pfnCardReadFile, PFN_CARD_READ_FILE);
        let (dir, file) = (AnsiArg::new(a.dir), AnsiArg::new(a.file));
        let mut data = OutVal::new(!a.null_data, std::ptr::null_mut::<u8>());
        let mut len = OutVal::new(!a.null_len, 0u32);
        // SAFETY: names are NULL or NUL-terminated; out-pointers are NULL or the harness's own.
        let code = unsafe { f(self.cd(), dir.ptr(), file.ptr(), a.flags, data.ptr(), len.ptr()) };
        let mut r = Reply::new(code);
        r.value = collect(code, data.val, len.val as usize, "CardReadFile", &mut r.problems);
        r
    }

    /// `CardReadFile(dir, file)` with valid out-pointers.
    pub fn read(&self, dir: Option<&str>, file: &str) -> Reply<Vec<u8>> {
        self.read_file(FileArgs {
            dir: dir.map(str::as_bytes),
            file: Some(file.as_bytes()),
            ..Default::default()
        })
    }

    /// `CardEnumFiles`: the raw multistring.
    pub fn enum_files(&self, a: FileArgs<'_>) -> Reply<Vec<u8>> {
        let f = entry!(self, pfnCardEnumFiles, PFN_CARD_ENUM_FILES);
        let dir = AnsiArg::new(a.dir);
        let mut names = OutVal::new(!a.null_data, std::ptr::null_mut::<u8>());
        let mut len = OutVal::new(!a.null_len, 0u32);
        // SAFETY: as for `read_file`.
        let code = unsafe { f(self.cd(), dir.ptr(), names.ptr(), len.ptr(), a.flags) };
        let mut r = Reply::new(code);
        r.value = collect(
            code,
            names.val,
            len.val as usize,
            "CardEnumFiles",
            &mut r.problems,
        );
        r
    }

    /// `CardGetFileInfo`: (dwVersion, cbFileSize, AccessCondition).
    pub fn get_file_info(&self, a: FileArgs<'_>, s: StructArg) -> Reply<(u32, u32, i32)> {
        let f = entry!(self, pfnCardGetFileInfo, PFN_CARD_GET_FILE_INFO);
        let (dir, file) = (AnsiArg::new(a.dir), AnsiArg::new(a.file));
        let mut v = CARD_FILE_INFO {
            dwVersion: s.version,
            cbFileSize: 0xDDDD_DDDD,
            AccessCondition: -7,
        };
        let p: *mut CARD_FILE_INFO = if s.null { std::ptr::null_mut() } else { &mut v };
        // SAFETY: as for `read_file`.
        let mut r = Reply::new(unsafe { f(self.cd(), dir.ptr(), file.ptr(), p) });
        if r.ok() {
            r.value = Some((v.dwVersion, v.cbFileSize, v.AccessCondition));
        }
        r
    }

    /// `CardWriteFile`.
    pub fn write_file(&self, a: FileArgs<'_>, data: Option<&[u8]>) -> Reply<()> {
        let f = entry!(self, pfnCardWriteFile, PFN_CARD_WRITE_FILE);
        let (dir, file) = (AnsiArg::new(a.dir), AnsiArg::new(a.file));
        let d = InArg::new(data, None);
        // SAFETY: as for `read_file`; the data buffer is NULL or readable for its length.
        Reply::new(unsafe { f(self.cd(), dir.ptr(), file.ptr(), a.flags, d.ptr(), d.len) })
    }

    /// `CardCreateFile`.
    pub fn create_file(&self, a: FileArgs<'_>, size: u32, access: i32) -> Reply<()> {
        let f = entry!(self, pfnCardCreateFile, PFN_CARD_CREATE_FILE);
        let (dir, file) = (AnsiArg::new(a.dir), AnsiArg::new(a.file));
        // SAFETY: as for `read_file`.
        Reply::new(unsafe { f(self.cd(), dir.ptr(), file.ptr(), size, access) })
    }

    /// `CardDeleteFile`.
    pub fn delete_file(&self, a: FileArgs<'_>) -> Reply<()> {
        let f = entry!(self, pfnCardDeleteFile, PFN_CARD_DELETE_FILE);
        let (dir, file) = (AnsiArg::new(a.dir), AnsiArg::new(a.file));
        // SAFETY: as for `read_file`.
        Reply::new(unsafe { f(self.cd(), dir.ptr(), file.ptr(), a.flags) })
    }

    /// `CardCreateDirectory`.
    pub fn create_directory(&self, name: Option<&[u8]>, access: i32) -> Reply<()> {
        let f = entry!(self, pfnCardCreateDirectory, PFN_CARD_CREATE_DIRECTORY);
        let dir = AnsiArg::new(name);
        // SAFETY: as for `read_file`.
        Reply::new(unsafe { f(self.cd(), dir.ptr(), access) })
    }

    /// `CardDeleteDirectory`.
    pub fn delete_directory(&self, name: Option<&[u8]>) -> Reply<()> {
        let f = entry!(self, pfnCardDeleteDirectory, PFN_CARD_DELETE_DIRECTORY);
        let dir = AnsiArg::new(name);
        // SAFETY: as for `read_file`.
        Reply::new(unsafe { f(self.cd(), dir.ptr()) })
    }

    /// `CardCreateContainer`.
    pub fn create_container(
        &self,
        index: u8,
        flags: u32,
        spec: u32,
        bits: u32,
        key: Option<&[u8]>,
    ) -> Reply<()> {
        let f = entry!(self, pfnCardCreateContainer, PFN_CARD_CREATE_CONTAINER);
        let k = InArg::new(key, None);
        // SAFETY: the key blob is NULL or harness memory.
        Reply::new(unsafe { f(self.cd(), index, flags, spec, bits, k.ptr()) })
    }

    /// `CardCreateContainerEx`.
    pub fn create_container_ex(
        &self,
        index: u8,
        flags: u32,
        spec: u32,
        bits: u32,
        key: Option<&[u8]>,
        pin: u32,
    ) -> Reply<()> {
        let f = entry!(self, pfnCardCreateContainerEx, PFN_CARD_CREATE_CONTAINER_EX);
        let k = InArg::new(key, None);
        // SAFETY: as above.
        Reply::new(unsafe { f(self.cd(), index, flags, spec, bits, k.ptr(), pin) })
    }

    /// `CardDeleteContainer`.
    pub fn delete_container(&self, index: u8, reserved: u32) -> Reply<()> {
        let f = entry!(self, pfnCardDeleteContainer, PFN_CARD_DELETE_CONTAINER);
        // SAFETY: no pointers besides pCardData.
        Reply::new(unsafe { f(self.cd(), index, reserved) })
    }

    /// `CardAuthenticatePin`: the attempts left, when the pointer was given and the module wrote it.
    pub fn authenticate_pin(
        &self,
        user: Option<&str>,
        pin: Option<&[u8]>,
        claimed_len: Option<u32>,
        want_attempts: bool,
    ) -> Reply<Option<u32>> {
        let f = entry!(self, pfnCardAuthenticatePin, PFN_CARD_AUTHENTICATE_PIN);
        let u = WideArg::new(user);
        let p = InArg::new(pin, claimed_len);
        let mut attempts = OutVal::new(want_attempts, 0xDDDD_DDDDu32);
        // SAFETY: strings and buffers are NULL or harness memory.
        let mut r = Reply::new(unsafe { f(self.cd(), u.ptr(), p.ptr(), p.len, attempts.ptr()) });
        r.value = Some((want_attempts && attempts.val != 0xDDDD_DDDD).then_some(attempts.val));
        r
    }

    /// `CardAuthenticateEx`.
    #[allow(
        clippy::too_many_arguments,
        reason = "one argument per parameter of the C entry point"
    )]
    pub fn authenticate_ex(
        &self,
        pin_id: u32,
        flags: u32,
        pin: Option<&[u8]>,
        claimed_len: Option<u32>,
        want_session_pin: bool,
        want_attempts: bool,
    ) -> Reply<AuthenticateOut> {
        let f = entry!(self, pfnCardAuthenticateEx, PFN_CARD_AUTHENTICATE_EX);
        let p = InArg::new(pin, claimed_len);
        let mut session = OutVal::new(want_session_pin, std::ptr::null_mut::<u8>());
        let mut session_len = OutVal::new(want_session_pin, 0u32);
        let mut attempts = OutVal::new(want_attempts, 0xDDDD_DDDDu32);
        // SAFETY: buffers and out-pointers are NULL or harness memory.
        let code = unsafe {
            f(
                self.cd(),
                pin_id,
                flags,
                p.ptr(),
                p.len,
                session.ptr(),
                session_len.ptr(),
                attempts.ptr(),
            )
        };
        let mut r = Reply::new(code);
        let session_pin = if !session.val.is_null() || code == 0 && want_session_pin && session_len.val != 0 {
            collect(
                code,
                session.val,
                session_len.val as usize,
                "session PIN",
                &mut r.problems,
            )
        } else {
            None
        };
        r.value = Some(AuthenticateOut {
            attempts: (want_attempts && attempts.val != 0xDDDD_DDDD).then_some(attempts.val),
            session_pin,
        });
        r
    }

    /// `CardDeauthenticate`.
    pub fn deauthenticate(&self, user: Option<&str>, flags: u32) -> Reply<()> {
        let f = entry!(self, pfnCardDeauthenticate, PFN_CARD_DEAUTHENTICATE);
        let u = WideArg::new(user);
        // SAFETY: the string is NULL or harness memory.
        Reply::new(unsafe { f(self.cd(), u.ptr(), flags) })
    }

    /// `CardDeauthenticateEx`.
    pub fn deauthenticate_ex(&self, pin_set: u32, flags: u32) -> Reply<()> {
        let f = entry!(self, pfnCardDeauthenticateEx, PFN_CARD_DEAUTHENTICATE_EX);
        // SAFETY: no pointers besides pCardData.
        Reply::new(unsafe { f(self.cd(), pin_set, flags) })
    }

    /// `CardGetChallenge`.
    pub fn get_challenge(&self, null_data: bool, null_len: bool) -> Reply<Vec<u8>> {
        let f = entry!(self, pfnCardGetChallenge, PFN_CARD_GET_CHALLENGE);
        let mut data = OutVal::new(!null_data, std::ptr::null_mut::<u8>());
        let mut len = OutVal::new(!null_len, 0u32);
        // SAFETY: out-pointers are NULL or harness memory.
        let code = unsafe { f(self.cd(), data.ptr(), len.ptr()) };
        let mut r = Reply::new(code);
        r.value = collect(code, data.val, len.val as usize, "challenge", &mut r.problems);
        r
    }

    /// `CardGetChallengeEx`.
    pub fn get_challenge_ex(
        &self,
        pin_id: u32,
        flags: u32,
        null_data: bool,
        null_len: bool,
    ) -> Reply<Vec<u8>> {
        let f = entry!(self, pfnCardGetChallengeEx, PFN_CARD_GET_CHALLENGE_EX);
        let mut data = OutVal::new(!null_data, std::ptr::null_mut::<u8>());
        let mut len = OutVal::new(!null_len, 0u32);
        // SAFETY: out-pointers are NULL or harness memory.
        let code = unsafe { f(self.cd(), pin_id, data.ptr(), len.ptr(), flags) };
        let mut r = Reply::new(code);
        r.value = collect(code, data.val, len.val as usize, "challenge", &mut r.problems);
        r
    }

    /// `CardAuthenticateChallenge`.
    pub fn authenticate_challenge(&self, response: Option<&[u8]>, want_attempts: bool) -> Reply<Option<u32>> {
        let f = entry!(
            self,
            pfnCardAuthenticateChallenge,
            PFN_CARD_AUTHENTICATE_CHALLENGE
        );
        let d = InArg::new(response, None);
        let mut attempts = OutVal::new(want_attempts, 0xDDDD_DDDDu32);
        // SAFETY: buffers are NULL or harness memory.
        let mut r = Reply::new(unsafe { f(self.cd(), d.ptr(), d.len, attempts.ptr()) });
        r.value = Some((want_attempts && attempts.val != 0xDDDD_DDDD).then_some(attempts.val));
        r
    }

    /// `CardUnblockPin`.
    pub fn unblock_pin(
        &self,
        user: Option<&str>,
        auth: Option<&[u8]>,
        new_pin: Option<&[u8]>,
        retries: u32,
        flags: u32,
    ) -> Reply<()> {
        let f = entry!(self, pfnCardUnblockPin, PFN_CARD_UNBLOCK_PIN);
        let u = WideArg::new(user);
        let (a, n) = (InArg::new(auth, None), InArg::new(new_pin, None));
        // SAFETY: strings and buffers are NULL or harness memory.
        Reply::new(unsafe { f(self.cd(), u.ptr(), a.ptr(), a.len, n.ptr(), n.len, retries, flags) })
    }

    /// `CardChangeAuthenticator`.
    pub fn change_authenticator(
        &self,
        user: Option<&str>,
        current: Option<&[u8]>,
        new: Option<&[u8]>,
        retries: u32,
        flags: u32,
    ) -> Reply<Option<u32>> {
        let f = entry!(self, pfnCardChangeAuthenticator, PFN_CARD_CHANGE_AUTHENTICATOR);
        let u = WideArg::new(user);
        let (c, n) = (InArg::new(current, None), InArg::new(new, None));
        let mut attempts = OutVal::new(true, 0xDDDD_DDDDu32);
        // SAFETY: strings and buffers are NULL or harness memory.
        let code = unsafe {
            f(
                self.cd(),
                u.ptr(),
                c.ptr(),
                c.len,
                n.ptr(),
                n.len,
                retries,
                flags,
                attempts.ptr(),
            )
        };
        let mut r = Reply::new(code);
        r.value = Some((attempts.val != 0xDDDD_DDDD).then_some(attempts.val));
        r
    }

    /// `CardChangeAuthenticatorEx`.
    #[allow(
        clippy::too_many_arguments,
        reason = "one argument per parameter of the C entry point"
    )]
    pub fn change_authenticator_ex(
        &self,
        flags: u32,
        auth_id: u32,
        auth: Option<&[u8]>,
        target_id: u32,
        target: Option<&[u8]>,
        retries: u32,
    ) -> Reply<Option<u32>> {
        let f = entry!(
            self,
            pfnCardChangeAuthenticatorEx,
            PFN_CARD_CHANGE_AUTHENTICATOR_EX
        );
        let (a, t) = (InArg::new(auth, None), InArg::new(target, None));
        let mut attempts = OutVal::new(true, 0xDDDD_DDDDu32);
        // SAFETY: buffers are NULL or harness memory.
        let code = unsafe {
            f(
                self.cd(),
                flags,
                auth_id,
                a.ptr(),
                a.len,
                target_id,
                t.ptr(),
                t.len,
                retries,
                attempts.ptr(),
            )
        };
        let mut r = Reply::new(code);
        r.value = Some((attempts.val != 0xDDDD_DDDD).then_some(attempts.val));
        r
    }

    /// `CardGetProperty` with a caller buffer of `cb` bytes (or NULL pointers).
    pub fn get_property(
        &self,
        name: Option<&str>,
        cb: u32,
        flags: u32,
        null_data: bool,
        null_len: bool,
    ) -> Reply<PropertyValue> {
        let f = entry!(self, pfnCardGetProperty, PFN_CARD_GET_PROPERTY);
        let n = WideArg::new(name);
        let mut out = OutBuf::new(!null_data, cb);
        let mut len = OutVal::new(!null_len, 0xDDDD_DDDDu32);
        // SAFETY: the name is NULL or harness memory; the buffer is NULL or `cb` (+ guard) bytes.
        let code = unsafe { f(self.cd(), n.ptr(), out.ptr(), out.cb, len.ptr(), flags) };
        property_reply(code, &out, len.val)
    }

    /// `CardSetProperty`.
    pub fn set_property(
        &self,
        name: Option<&str>,
        data: Option<&[u8]>,
        claimed_len: Option<u32>,
        flags: u32,
    ) -> Reply<()> {
        let f = entry!(self, pfnCardSetProperty, PFN_CARD_SET_PROPERTY);
        let n = WideArg::new(name);
        let d = InArg::new(data, claimed_len);
        // SAFETY: the name and data are NULL or harness memory.
        Reply::new(unsafe { f(self.cd(), n.ptr(), d.ptr(), d.len, flags) })
    }

    /// `CardGetContainerProperty` for plain-value properties.
    #[allow(
        clippy::too_many_arguments,
        reason = "one argument per parameter of the C entry point"
    )]
    pub fn get_container_property(
        &self,
        index: u8,
        name: Option<&str>,
        cb: u32,
        flags: u32,
        null_data: bool,
        null_len: bool,
    ) -> Reply<PropertyValue> {
        let f = entry!(self, pfnCardGetContainerProperty, PFN_CARD_GET_CONTAINER_PROPERTY);
        let n = WideArg::new(name);
        let mut out = OutBuf::new(!null_data, cb);
        let mut len = OutVal::new(!null_len, 0xDDDD_DDDDu32);
        // SAFETY: as for `get_property`.
        let code = unsafe { f(self.cd(), index, n.ptr(), out.ptr(), out.cb, len.ptr(), flags) };
        property_reply(code, &out, len.val)
    }

    /// `CardGetContainerProperty(CCP_CONTAINER_INFO)`: the structure in the caller's buffer, with the key
    /// blobs taken and freed.
    pub fn get_container_info_property(&self, index: u8, version: u32, cb: u32) -> Reply<ContainerInfoOut> {
        let f = entry!(self, pfnCardGetContainerProperty, PFN_CARD_GET_CONTAINER_PROPERTY);
        let n = wide("Container Info");
        let mut v = CONTAINER_INFO {
            dwVersion: version,
            ..Default::default()
        };
        let cb = cb.min(size_of::<CONTAINER_INFO>() as u32);
        let mut len = 0u32;
        // SAFETY: the buffer is the harness's CONTAINER_INFO, announced as `cb <= sizeof` bytes.
        let code = unsafe {
            f(
                self.cd(),
                index,
                n.as_ptr(),
                (&mut v as *mut CONTAINER_INFO).cast(),
                cb,
                &mut len,
                0,
            )
        };
        let mut r = Reply::new(code);
        r.value = take_container_info(code, &v, &mut r.problems);
        r
    }

    /// `CardSetContainerProperty`.
    pub fn set_container_property(
        &self,
        index: u8,
        name: Option<&str>,
        data: Option<&[u8]>,
        flags: u32,
    ) -> Reply<()> {
        let f = entry!(self, pfnCardSetContainerProperty, PFN_CARD_SET_CONTAINER_PROPERTY);
        let n = WideArg::new(name);
        let d = InArg::new(data, None);
        // SAFETY: the name and data are NULL or harness memory.
        Reply::new(unsafe { f(self.cd(), index, n.ptr(), d.ptr(), d.len, flags) })
    }

    /// The secure-key-injection entries (v7), each called with harmless arguments (NULL outputs or
    /// zero handles), for the "unsupported entry point" cases. Returns `(entry name, code)`.
    pub fn key_injection_entries(&self) -> Vec<(&'static str, u32)> {
        let alg = wide("AES");
        let blob = wide("KeyDataBlob");
        let prop = wide("BlockLength");
        let func = wide("Authenticate");
        let input = [0u8; 32];
        let mut out = Vec::new();
        macro_rules! call {
            ($name:literal, $member:ident, $ty:ty, |$f:ident| $body:expr) => {{
                let code = match self
                    .ctx
                    .member::<<$ty as IntoInner>::Inner>(offset_of!(CARD_DATA, $member))
                {
                    // SAFETY: strings and buffers are harness memory that outlives the call; output
                    // pointers are the harness's own; key handles are 0 (invalid, which the module must
                    // reject without dereferencing anything).
                    Some($f) => unsafe { $body },
                    None => NOT_IN_TABLE,
                };
                out.push(($name, code));
            }};
        }
        let mut key: usize = 0;
        let mut len = 0u32;
        let mut buf = [0u8; 64];
        call!(
            "MDImportSessionKey",
            pfnMDImportSessionKey,
            PFN_MD_IMPORT_SESSION_KEY,
            |f| f(
                self.cd(),
                blob.as_ptr(),
                alg.as_ptr(),
                &mut key,
                input.as_ptr(),
                input.len() as u32
            )
        );
        call!("MDEncryptData", pfnMDEncryptData, PFN_MD_ENCRYPT_DATA, |f| {
            let mut data: *mut CARD_ENCRYPTED_DATA = std::ptr::null_mut();
            let mut count = 0u32;
            f(
                self.cd(),
                0,
                func.as_ptr(),
                input.as_ptr(),
                input.len() as u32,
                0,
                &mut data,
                &mut count,
            )
        });
        call!(
            "CardImportSessionKey",
            pfnCardImportSessionKey,
            PFN_CARD_IMPORT_SESSION_KEY,
            |f| f(
                self.cd(),
                0,
                std::ptr::null(),
                blob.as_ptr(),
                alg.as_ptr(),
                &mut key,
                input.as_ptr(),
                input.len() as u32,
                2
            )
        );
        call!(
            "CardGetSharedKeyHandle",
            pfnCardGetSharedKeyHandle,
            PFN_CARD_GET_SHARED_KEY_HANDLE,
            |f| f(
                self.cd(),
                input.as_ptr(),
                input.len() as u32,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                &mut key
            )
        );
        call!(
            "CardGetAlgorithmProperty",
            pfnCardGetAlgorithmProperty,
            PFN_CARD_GET_ALGORITHM_PROPERTY,
            |f| f(
                self.cd(),
                alg.as_ptr(),
                wide("Key Sizes").as_ptr(),
                buf.as_mut_ptr(),
                buf.len() as u32,
                &mut len,
                0
            )
        );
        call!(
            "CardGetKeyProperty",
            pfnCardGetKeyProperty,
            PFN_CARD_GET_KEY_PROPERTY,
            |f| f(
                self.cd(),
                0,
                prop.as_ptr(),
                buf.as_mut_ptr(),
                buf.len() as u32,
                &mut len,
                0
            )
        );
        call!(
            "CardSetKeyProperty",
            pfnCardSetKeyProperty,
            PFN_CARD_SET_KEY_PROPERTY,
            |f| f(self.cd(), 0, wide("IV").as_ptr(), input.as_ptr(), 16, 0)
        );
        call!("CardDestroyKey", pfnCardDestroyKey, PFN_CARD_DESTROY_KEY, |f| f(
            self.cd(),
            0
        ));
        call!(
            "CardProcessEncryptedData",
            pfnCardProcessEncryptedData,
            PFN_CARD_PROCESS_ENCRYPTED_DATA,
            |f| {
                let item = CARD_ENCRYPTED_DATA {
                    pbEncryptedData: input.as_ptr() as *mut u8,
                    cbEncryptedData: input.len() as u32,
                };
                f(
                    self.cd(),
                    0,
                    func.as_ptr(),
                    &item,
                    1,
                    std::ptr::null_mut(),
                    0,
                    &mut len,
                    0,
                )
            }
        );
        out
    }
}

fn property_reply(code: u32, out: &OutBuf, len: u32) -> Reply<PropertyValue> {
    let mut r = Reply::new(code);
    if out.overrun() {
        r.problems
            .push(format!("bytes written past the {}-byte caller buffer", out.cb));
    }
    r.value = Some(PropertyValue {
        data: if code == 0 { out.bytes(len) } else { Vec::new() },
        len,
    });
    r
}

/// Takes the key blobs out of a returned `CONTAINER_INFO`.
fn take_container_info(
    code: u32,
    v: &CONTAINER_INFO,
    problems: &mut Vec<String>,
) -> Option<ContainerInfoOut> {
    let sig = (!v.pbSigPublicKey.is_null()).then_some(v.pbSigPublicKey);
    let kx = (!v.pbKeyExPublicKey.is_null()).then_some(v.pbKeyExPublicKey);
    let signature_key =
        sig.and_then(|p| collect(code, p, v.cbSigPublicKey as usize, "pbSigPublicKey", problems));
    let exchange_key =
        kx.and_then(|p| collect(code, p, v.cbKeyExPublicKey as usize, "pbKeyExPublicKey", problems));
    if code != 0 {
        return None;
    }
    if sig.is_none() && v.cbSigPublicKey != 0 || kx.is_none() && v.cbKeyExPublicKey != 0 {
        problems.push("a key length without a key blob".into());
    }
    Some(ContainerInfoOut {
        version: v.dwVersion,
        signature_key,
        exchange_key,
    })
}
