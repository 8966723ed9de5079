//! Argument marshalling: every pointer a wrapper passes is NULL or one of these, harness memory that
//! outlives the call. Caller buffers carry guard bytes so that writes past their end are seen.

use super::reply::Reply;
use crate::ffi::wide::{ansi, wide};

/// Byte written around caller buffers to see overruns.
pub(super) const FILL: u8 = 0xCC;
/// Guard bytes after caller buffers.
pub(super) const TAIL: usize = 16;

/// A NUL-terminated ANSI name, or NULL.
pub(super) struct AnsiArg(Option<Vec<u8>>);
impl AnsiArg {
    pub(super) fn new(s: Option<&[u8]>) -> Self {
        Self(s.map(ansi))
    }
    pub(super) fn ptr(&self) -> *const u8 {
        self.0.as_ref().map_or(std::ptr::null(), |v| v.as_ptr())
    }
}

/// A NUL-terminated UTF-16 string, or NULL.
pub(super) struct WideArg(Option<Vec<u16>>);
impl WideArg {
    pub(super) fn new(s: Option<&str>) -> Self {
        Self(s.map(wide))
    }
    pub(super) fn ptr(&self) -> *const u16 {
        self.0.as_ref().map_or(std::ptr::null(), |v| v.as_ptr())
    }
}

/// An input buffer: the bytes, zero-padded to cover a claimed length up to 4 KiB (so that a module that
/// believes a wrong length stays inside the harness's memory), or NULL.
pub(super) struct InArg {
    pub(super) buf: Option<Vec<u8>>,
    pub(super) len: u32,
}
impl InArg {
    pub(super) fn new(data: Option<&[u8]>, claimed: Option<u32>) -> Self {
        let len = claimed.unwrap_or(data.map_or(0, |d| d.len() as u32));
        let buf = data.map(|d| {
            let mut v = d.to_vec();
            v.resize(d.len().max((len as usize).min(4096)).max(64), 0);
            v
        });
        Self { buf, len }
    }
    pub(super) fn ptr(&self) -> *const u8 {
        self.buf.as_ref().map_or(std::ptr::null(), |v| v.as_ptr())
    }
}

/// A caller-owned output buffer of `cb` bytes with a guard after it, or NULL.
pub(super) struct OutBuf {
    pub(super) buf: Option<Vec<u8>>,
    pub(super) cb: u32,
}
impl OutBuf {
    pub(super) fn new(present: bool, cb: u32) -> Self {
        let cb = cb.min(1 << 20);
        Self {
            buf: present.then(|| vec![FILL; cb as usize + TAIL]),
            cb,
        }
    }
    pub(super) fn ptr(&mut self) -> *mut u8 {
        self.buf.as_mut().map_or(std::ptr::null_mut(), |v| v.as_mut_ptr())
    }
    pub(super) fn overrun(&self) -> bool {
        self.buf
            .as_ref()
            .is_some_and(|v| v[self.cb as usize..].iter().any(|&b| b != FILL))
    }
    pub(super) fn bytes(&self, len: u32) -> Vec<u8> {
        self.buf
            .as_ref()
            .map(|v| v[..(len.min(self.cb) as usize)].to_vec())
            .unwrap_or_default()
    }
}

/// What the harness writes into a `DWORD` out-parameter before the call, to see whether the module wrote
/// it.
pub(super) const UNWRITTEN: u32 = 0xDDDD_DDDD;

/// An optional out-pointer of type `T`, initialised to `init`.
pub(super) struct OutVal<T: Copy> {
    pub(super) val: T,
    pub(super) present: bool,
}
impl<T: Copy> OutVal<T> {
    pub(super) fn new(present: bool, init: T) -> Self {
        Self { val: init, present }
    }
    pub(super) fn ptr(&mut self) -> *mut T {
        if self.present {
            &mut self.val
        } else {
            std::ptr::null_mut()
        }
    }
}

impl OutVal<u32> {
    /// A `pcAttemptsRemaining`: present when the caller wants it.
    pub(super) fn attempts(present: bool) -> Self {
        Self::new(present, UNWRITTEN)
    }

    /// The count, when the pointer was passed and the module wrote it.
    pub(super) fn written(&self) -> Option<u32> {
        (self.present && self.val != UNWRITTEN).then_some(self.val)
    }

    /// The reply of an entry point whose only output is this count.
    pub(super) fn reply(&self, code: u32) -> Reply<Option<u32>> {
        let mut r = Reply::new(code);
        r.value = Some(self.written());
        r
    }
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

    /// What the wrapper passes for the structure `v`: NULL, or `v`.
    pub(super) fn pass<T>(self, v: &mut T) -> *mut T {
        if self.null { std::ptr::null_mut() } else { v }
    }
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

/// The arguments `CardCreateContainer` and `CardCreateContainerEx` share.
#[derive(Debug, Clone, Copy)]
pub struct NewContainer<'k> {
    /// `bContainerIndex`.
    pub index: u8,
    /// `dwFlags`: `CARD_CREATE_CONTAINER_KEY_GEN` (1) or `_KEY_IMPORT` (2).
    pub flags: u32,
    /// `dwKeySpec`.
    pub key_spec: u32,
    /// `dwKeySize` in bits.
    pub bits: u32,
    /// `pbKeyData` for an import (`None` = NULL).
    pub key: Option<&'k [u8]>,
}
