//! Card and container properties (spec 7.07 §4.5): `CardGetProperty`, `CardSetProperty`,
//! `CardGetContainerProperty`, `CardSetContainerProperty`.

use windows_sys::Win32::Security::Cryptography::*;

use super::Calls;
use super::args::*;
use super::reply::*;
use crate::ffi::wide::wide;

impl Calls<'_> {
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
        let mut o = PropertyOut::new(cb, null_data, null_len);
        // SAFETY: the name is NULL or harness memory; the buffer is NULL or `cb` (+ guard) bytes.
        let code = unsafe { f(self.cd(), n.ptr(), o.out.ptr(), o.out.cb, o.len.ptr(), flags) };
        o.reply(code)
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
        let mut o = PropertyOut::new(cb, null_data, null_len);
        // SAFETY: as for `get_property`.
        let code = unsafe {
            f(
                self.cd(),
                index,
                n.ptr(),
                o.out.ptr(),
                o.out.cb,
                o.len.ptr(),
                flags,
            )
        };
        o.reply(code)
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
}

/// A property getter's caller buffer (`pbData`, `cbData`) and `pdwDataLen`, either of them NULL.
struct PropertyOut {
    out: OutBuf,
    len: OutVal<u32>,
}

impl PropertyOut {
    fn new(cb: u32, null_data: bool, null_len: bool) -> Self {
        Self {
            out: OutBuf::new(!null_data, cb),
            len: OutVal::new(!null_len, UNWRITTEN),
        }
    }

    /// The first `min(len, cb)` bytes and the length the module reported, and whether it wrote past the
    /// buffer.
    fn reply(&self, code: u32) -> Reply<PropertyValue> {
        let (out, len) = (&self.out, self.len.val);
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
}
