//! The secure-key-injection entry points of v7 (spec 7.07 §4.8), each called once with harmless
//! arguments, for the "unsupported entry point" cases.

use std::mem::offset_of;

use windows_sys::Win32::Security::Cryptography::*;

use super::{Calls, IntoInner, NOT_IN_TABLE};
use crate::ffi::wide::wide;

impl Calls<'_> {
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
