//! What the wrappers return: [`Reply`] (the code, the value, what looked wrong at the ABI), the
//! output types of the entry points that produce more than a buffer, and the one way returned buffers
//! are taken back ([`collect`]).

use windows_sys::Win32::Security::Cryptography::CONTAINER_INFO;

use super::NOT_IN_TABLE;
use crate::ffi::alloc;

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
    pub(super) fn new(code: u32) -> Self {
        Self {
            code,
            value: None,
            problems: Vec::new(),
        }
    }

    pub(crate) fn missing() -> Self {
        Self::new(NOT_IN_TABLE)
    }

    /// A reply for `code` whose value, on success, is `value()`.
    pub(super) fn with(code: u32, value: impl FnOnce() -> T) -> Self {
        let mut r = Self::new(code);
        if r.ok() {
            r.value = Some(value());
        }
        r
    }

    /// True on `SCARD_S_SUCCESS`.
    pub fn ok(&self) -> bool {
        self.code == 0
    }
}

/// Collects a buffer returned through an out-pointer: taken when the call succeeded, flagged (and freed)
/// when the module left a live block there together with an error.
pub(super) fn collect(
    code: u32,
    p: *mut u8,
    len: usize,
    what: &str,
    problems: &mut Vec<String>,
) -> Option<Vec<u8>> {
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

/// Takes the key blobs out of a returned `CONTAINER_INFO`.
pub(super) fn take_container_info(
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
