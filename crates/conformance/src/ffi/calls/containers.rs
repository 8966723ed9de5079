//! Containers, capabilities and key sizes (spec 7.07 §4.4.2, §4.6, §4.7.6): `CardQueryCapabilities`,
//! `CardQueryKeySizes`, `CardGetContainerInfo`, `CardCreateContainer(Ex)`, `CardDeleteContainer`.

use windows_sys::Win32::Security::Cryptography::*;

use super::Calls;
use super::args::*;
use super::reply::*;

impl Calls<'_> {
    /// `CardQueryCapabilities`: (dwVersion, fCertificateCompression, fKeyGen).
    pub fn query_capabilities(&self, s: StructArg) -> Reply<(u32, i32, i32)> {
        let f = entry!(self, pfnCardQueryCapabilities, PFN_CARD_QUERY_CAPABILITIES);
        let mut v = CARD_CAPABILITIES {
            dwVersion: s.version,
            fCertificateCompression: -7,
            fKeyGen: -7,
        };
        let p = s.pass(&mut v);
        // SAFETY: NULL or the harness's own structure.
        let code = unsafe { f(self.cd(), p) };
        Reply::with(code, || (v.dwVersion, v.fCertificateCompression, v.fKeyGen))
    }

    /// `CardQueryKeySizes`: the five DWORDs.
    pub fn query_key_sizes(&self, key_spec: u32, flags: u32, s: StructArg) -> Reply<[u32; 5]> {
        let f = entry!(self, pfnCardQueryKeySizes, PFN_CARD_QUERY_KEY_SIZES);
        let mut v = CARD_KEY_SIZES {
            dwVersion: s.version,
            dwMinimumBitlen: UNWRITTEN,
            dwDefaultBitlen: UNWRITTEN,
            dwMaximumBitlen: UNWRITTEN,
            dwIncrementalBitlen: UNWRITTEN,
        };
        let p = s.pass(&mut v);
        // SAFETY: NULL or the harness's own structure.
        let code = unsafe { f(self.cd(), key_spec, flags, p) };
        Reply::with(code, || {
            [
                v.dwVersion,
                v.dwMinimumBitlen,
                v.dwDefaultBitlen,
                v.dwMaximumBitlen,
                v.dwIncrementalBitlen,
            ]
        })
    }

    /// `CardGetContainerInfo`.
    pub fn get_container_info(&self, index: u8, flags: u32, s: StructArg) -> Reply<ContainerInfoOut> {
        let f = entry!(self, pfnCardGetContainerInfo, PFN_CARD_GET_CONTAINER_INFO);
        let mut v = CONTAINER_INFO {
            dwVersion: s.version,
            ..Default::default()
        };
        let p = s.pass(&mut v);
        // SAFETY: NULL or the harness's own structure.
        let mut r = Reply::new(unsafe { f(self.cd(), index, flags, p) });
        r.value = take_container_info(r.code, &v, &mut r.problems);
        r
    }

    /// `CardCreateContainer`.
    pub fn create_container(&self, c: NewContainer<'_>) -> Reply<()> {
        let f = entry!(self, pfnCardCreateContainer, PFN_CARD_CREATE_CONTAINER);
        let k = InArg::new(c.key, None);
        // SAFETY: the key blob is NULL or harness memory.
        Reply::new(unsafe { f(self.cd(), c.index, c.flags, c.key_spec, c.bits, k.ptr()) })
    }

    /// `CardCreateContainerEx`: [`create_container`](Self::create_container) binding the key to `pin`.
    pub fn create_container_ex(&self, c: NewContainer<'_>, pin: u32) -> Reply<()> {
        let f = entry!(self, pfnCardCreateContainerEx, PFN_CARD_CREATE_CONTAINER_EX);
        let k = InArg::new(c.key, None);
        // SAFETY: as above.
        Reply::new(unsafe { f(self.cd(), c.index, c.flags, c.key_spec, c.bits, k.ptr(), pin) })
    }

    /// `CardDeleteContainer`.
    pub fn delete_container(&self, index: u8, reserved: u32) -> Reply<()> {
        let f = entry!(self, pfnCardDeleteContainer, PFN_CARD_DELETE_CONTAINER);
        // SAFETY: no pointers besides pCardData.
        Reply::new(unsafe { f(self.cd(), index, reserved) })
    }
}
