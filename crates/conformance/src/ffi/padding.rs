//! The CSP's cryptographic callbacks: `pfnCspPadData` (PKCS#1 v1.5 signature padding), v7
//! `pfnCspUnpadData` (PKCS#1 v1.5 type 2 and OAEP removal), and the KSP's `pfnCspGetDHAgreement`
//! (secret handles → the module's agreement indexes).
//!
//! Soundness: a callback dereferences the structure it is handed only when it is one the harness
//! itself passed to the module for the call in progress ([`InFlight`]), with the buffer and length the
//! harness gave it; anything else is refused (and recorded as an anomaly), never read. Output buffers
//! come from the counting allocator, so that the module's freeing them is checked too.
//!
//! Byte order: the module hands the raw RSA block to `pfnCspUnpadData` in `pbData`, little-endian (the
//! interface's order); the callback reverses it, removes the padding, and returns the message
//! byte-reversed — the order the module itself returns a message it unpadded, so the CSP sees one byte
//! order whichever side removes the padding.

use std::collections::BTreeMap;
use std::ffi::c_void;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use windows_sys::Win32::Security::Cryptography::{
    CARD_DATA, CARD_PADDING_INFO_PRESENT, CARD_PADDING_NONE, CARD_PADDING_OAEP, CARD_PADDING_PKCS1,
    CARD_RSA_DECRYPT_INFO, CARD_SIGNING_INFO, CRYPT_NOHASHOID, PFN_CSP_GET_DH_AGREEMENT, PFN_CSP_PAD_DATA,
    PFN_CSP_UNPAD_DATA,
};

use super::alloc;
use crate::codes::*;
use crate::oracle::hash::{CALG_SSL3_SHAMD5, Hash};
use crate::oracle::rsa::{decode_oaep, decode_pkcs1_type2, emsa_pkcs1_v15, reversed};

/// Largest block the callbacks read (an RSA-4096 modulus is 512 bytes).
const MAX_BLOCK: usize = 1024;

static PAD_CALLS: AtomicU64 = AtomicU64::new(0);
static UNPAD_CALLS: AtomicU64 = AtomicU64::new(0);
static DH_CALLS: AtomicU64 = AtomicU64::new(0);

/// The three callbacks.
pub fn callbacks() -> (PFN_CSP_PAD_DATA, PFN_CSP_UNPAD_DATA, PFN_CSP_GET_DH_AGREEMENT) {
    (Some(pad_data), Some(unpad_data), Some(get_dh_agreement))
}

/// How often each callback was called: (pad, unpad, get DH agreement).
pub fn calls() -> (u64, u64, u64) {
    (
        PAD_CALLS.load(Ordering::SeqCst),
        UNPAD_CALLS.load(Ordering::SeqCst),
        DH_CALLS.load(Ordering::SeqCst),
    )
}

/// A structure the harness passed to the module for the call in progress: where it is, the data buffer
/// it points to, and the padding parameters the harness put behind `pPaddingInfo` (kept here so that the
/// callbacks never follow pointers the module could have changed).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Registered {
    /// Address of the `CARD_SIGNING_INFO` or `CARD_RSA_DECRYPT_INFO`.
    info: usize,
    /// Its `pbData` as the harness set it.
    data: usize,
    /// Bytes the harness owns at `data`.
    capacity: usize,
    /// `pPaddingInfo` as the harness set it.
    padding_info: usize,
    /// The padding parameters behind it.
    params: PaddingParams,
}

/// The content of the harness's `BCRYPT_*_PADDING_INFO` for a call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaddingParams {
    /// `pszAlgId` (`None` = NULL).
    pub hash_name: Option<String>,
    /// OAEP `pbLabel` (empty = none).
    pub label: Vec<u8>,
}

static IN_FLIGHT: Mutex<Vec<Registered>> = Mutex::new(Vec::new());

fn in_flight() -> MutexGuard<'static, Vec<Registered>> {
    IN_FLIGHT.lock().unwrap_or_else(|p| p.into_inner())
}

/// Registration of a structure for the duration of one module call; dropped after the call.
#[derive(Debug)]
pub struct InFlight(Registered);

impl InFlight {
    /// Registers `info` (the harness's own structure) whose `pbData` is `data` with `capacity` bytes
    /// and whose `pPaddingInfo` is `padding_info`, holding `params`.
    pub fn register<T>(
        info: *const T,
        data: *const u8,
        capacity: usize,
        padding_info: *const c_void,
        params: PaddingParams,
    ) -> Self {
        let r = Registered {
            info: info as usize,
            data: data as usize,
            capacity,
            padding_info: padding_info as usize,
            params,
        };
        in_flight().push(r.clone());
        Self(r)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut v = in_flight();
        if let Some(i) = v.iter().position(|r| *r == self.0) {
            v.remove(i);
        }
    }
}

/// One of the padding callbacks: its call counter and the names its anomalies use.
struct Callback {
    calls: &'static AtomicU64,
    name: &'static str,
    structure: &'static str,
}

const PAD: Callback = Callback {
    calls: &PAD_CALLS,
    name: "pfnCspPadData",
    structure: "CARD_SIGNING_INFO",
};

const UNPAD: Callback = Callback {
    calls: &UNPAD_CALLS,
    name: "pfnCspUnpadData",
    structure: "CARD_RSA_DECRYPT_INFO",
};

impl Callback {
    /// What the callback does first: count the call and find the registration of the structure at
    /// `info`. `None` (the call answers SCARD_E_INVALID_PARAMETER) for a NULL out-pointer or a structure
    /// the harness did not pass, which is an anomaly.
    fn begin(&self, info: usize, null_out: bool) -> Option<Registered> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if null_out {
            return None;
        }
        let reg = registered(info);
        if reg.is_none() {
            alloc::record_anomaly(format!(
                "{} called with a {} the CSP did not pass",
                self.name, self.structure
            ));
        }
        reg
    }
}

fn registered(info: usize) -> Option<Registered> {
    in_flight().iter().find(|r| r.info == info).cloned()
}

/// What the unpad callback was last given (the raw block as the module passed it, little-endian), for
/// the byte-order checks.
static LAST_UNPAD_INPUT: Mutex<Option<Vec<u8>>> = Mutex::new(None);

/// The block the unpad callback received last, taken.
pub fn take_last_unpad_input() -> Option<Vec<u8>> {
    LAST_UNPAD_INPUT.lock().unwrap_or_else(|p| p.into_inner()).take()
}

/// Copies `bytes` into a new block of the counting allocator and hands it out.
///
/// # Safety
/// `len_out` and `data_out` are writable.
unsafe fn hand_out(bytes: &[u8], len_out: *mut u32, data_out: *mut *mut u8) -> u32 {
    let p = alloc::alloc_copy(bytes);
    if p.is_null() {
        return SCARD_E_NO_MEMORY;
    }
    // SAFETY: forwarded contract.
    unsafe { len_out.write_unaligned(bytes.len() as u32) };
    // SAFETY: forwarded contract.
    unsafe { data_out.write_unaligned(p) };
    0
}

/// The `CARD_SIGNING_INFO` members the padding needs.
struct SigningRequest {
    flags: u32,
    alg: u32,
    data: Vec<u8>,
    /// `dwPaddingType` and the hash name, when `CARD_PADDING_INFO_PRESENT` is set.
    padding: Option<(u32, Option<String>)>,
}

/// # Safety
/// `info` is a registered structure: the harness's own `CARD_SIGNING_INFO`, whose `pbData` it checks
/// against the registration before reading.
unsafe fn read_signing(info: *const CARD_SIGNING_INFO, reg: &Registered) -> Option<SigningRequest> {
    // SAFETY: the harness's own structure (registered), a whole `CARD_SIGNING_INFO` alive for the call.
    let info = unsafe { info.read_unaligned() };
    let (version, flags, alg, data, len, pinfo, ptype) = (
        info.dwVersion,
        info.dwSigningFlags,
        info.aiHashAlg,
        info.pbData,
        info.cbData as usize,
        info.pPaddingInfo,
        info.dwPaddingType,
    );
    if data as usize != reg.data || len > reg.capacity || pinfo as usize != reg.padding_info {
        return None;
    }
    // SAFETY: `data` is the harness's buffer of `capacity >= len` bytes.
    let data = unsafe { std::slice::from_raw_parts(data, len) }.to_vec();
    let padding = (flags & CARD_PADDING_INFO_PRESENT != 0 && version >= 2)
        .then(|| (ptype, reg.params.hash_name.clone()));
    Some(SigningRequest {
        flags,
        alg,
        data,
        padding,
    })
}

/// The hashes a PKCS#1 v1.5 signature's DigestInfo can name (by `pszAlgId`): MD5, SHA-1 and SHA-2.
pub const PKCS1_HASHES: [Hash; 6] = [
    Hash::Md5,
    Hash::Sha1,
    Hash::Sha224,
    Hash::Sha256,
    Hash::Sha384,
    Hash::Sha512,
];

/// The block content `T` of a PKCS#1 v1.5 signature for a request: the DigestInfo for its hash, or the
/// data as given (no OID, `CRYPT_NOHASHOID`, MD5‖SHA-1).
fn signature_content(req: &SigningRequest) -> Result<Vec<u8>, u32> {
    let by_name = |name: &str| PKCS1_HASHES.into_iter().find(|h| h.cng_name() == name);
    let hash = match &req.padding {
        Some((CARD_PADDING_PKCS1, None)) => None,
        Some((CARD_PADDING_PKCS1, Some(name))) => Some(by_name(name).ok_or(SCARD_E_UNSUPPORTED_FEATURE)?),
        Some(_) => return Err(SCARD_E_UNSUPPORTED_FEATURE),
        None if req.alg == 0 || req.alg == CALG_SSL3_SHAMD5 || req.flags & CRYPT_NOHASHOID != 0 => None,
        None => Some(
            [Hash::Md5, Hash::Sha1, Hash::Sha256, Hash::Sha384, Hash::Sha512]
                .into_iter()
                .find(|h| h.calg() == Some(req.alg))
                .ok_or(SCARD_E_UNSUPPORTED_FEATURE)?,
        ),
    };
    match hash {
        Some(h) if req.data.len() != h.len() => Err(SCARD_E_INVALID_PARAMETER),
        Some(h) => Ok(h.digest_info(&req.data)),
        None => Ok(req.data.clone()),
    }
}

/// `PFN_CSP_PAD_DATA`: the EMSA-PKCS1-v1_5 block of `cbMaxWidth` bytes, big-endian (the block the card's
/// raw RSA operation signs). PSS is the KSP's business and is not offered here.
unsafe extern "system" fn pad_data(
    info: *const CARD_SIGNING_INFO,
    max_width: u32,
    len_out: *mut u32,
    data_out: *mut *mut u8,
) -> u32 {
    let Some(reg) = PAD.begin(info as usize, len_out.is_null() || data_out.is_null()) else {
        return SCARD_E_INVALID_PARAMETER;
    };
    // SAFETY: `info` is registered.
    let Some(req) = (unsafe { read_signing(info, &reg) }) else {
        alloc::record_anomaly("pfnCspPadData: pbData, cbData or pPaddingInfo changed by the module".into());
        return SCARD_E_INVALID_PARAMETER;
    };
    let t = match signature_content(&req) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let Some(block) = emsa_pkcs1_v15(&t, max_width as usize) else {
        return SCARD_E_INVALID_PARAMETER;
    };
    // SAFETY: both out-pointers checked non-null; the module owns them for the call.
    unsafe { hand_out(&block, len_out, data_out) }
}

/// The padding named in a registered `CARD_RSA_DECRYPT_INFO`.
enum Unpad {
    None,
    Pkcs1,
    Oaep(Hash, Vec<u8>),
}

/// The padding of a registered decryption: its type from the structure, its OAEP parameters from the
/// registration.
fn unpad_of(ptype: u32, reg: &Registered) -> Result<Unpad, u32> {
    match ptype {
        CARD_PADDING_NONE => Ok(Unpad::None),
        CARD_PADDING_PKCS1 => Ok(Unpad::Pkcs1),
        CARD_PADDING_OAEP if reg.padding_info != 0 => {
            let hash = crate::oracle::hash::SHA
                .into_iter()
                .find(|h| Some(h.cng_name()) == reg.params.hash_name.as_deref())
                .ok_or(SCARD_E_UNSUPPORTED_FEATURE)?;
            Ok(Unpad::Oaep(hash, reg.params.label.clone()))
        }
        _ => Err(SCARD_E_INVALID_PARAMETER),
    }
}

/// `PFN_CSP_UNPAD_DATA`: removes PKCS#1 v1.5 or OAEP padding from the raw block in `pbData`.
unsafe extern "system" fn unpad_data(
    info: *const CARD_RSA_DECRYPT_INFO,
    len_out: *mut u32,
    data_out: *mut *mut u8,
) -> u32 {
    let Some(reg) = UNPAD.begin(info as usize, len_out.is_null() || data_out.is_null()) else {
        return SCARD_E_INVALID_PARAMETER;
    };
    // SAFETY: `info` is registered: the harness's own structure, a whole `CARD_RSA_DECRYPT_INFO`.
    let info = unsafe { info.read_unaligned() };
    let (version, data, len, pinfo, ptype) = (
        info.dwVersion,
        info.pbData,
        info.cbData as usize,
        info.pPaddingInfo,
        info.dwPaddingType,
    );
    // Spec §3.2.3 (PFN_CSP_UNPAD_DATA): a structure older than version 2 is refused.
    if version < 2 {
        return ERROR_REVISION_MISMATCH;
    }
    if data as usize != reg.data
        || len > reg.capacity
        || len > MAX_BLOCK
        || pinfo as usize != reg.padding_info
    {
        alloc::record_anomaly(format!(
            "pfnCspUnpadData: pbData/cbData ({len}) or pPaddingInfo are not the caller's"
        ));
        return SCARD_E_INVALID_PARAMETER;
    }
    // SAFETY: the harness's buffer of `capacity >= len` bytes.
    let raw_le = unsafe { std::slice::from_raw_parts(data, len) }.to_vec();
    *LAST_UNPAD_INPUT.lock().unwrap_or_else(|p| p.into_inner()) = Some(raw_le.clone());
    let em = reversed(&raw_le);
    let message = match unpad_of(ptype, &reg) {
        Ok(Unpad::None) => Some(em),
        Ok(Unpad::Pkcs1) => decode_pkcs1_type2(&em),
        Ok(Unpad::Oaep(hash, label)) => decode_oaep(&em, hash, &label),
        Err(code) => return code,
    };
    let Some(message) = message else {
        return NTE_BAD_DATA;
    };
    // SAFETY: both out-pointers checked non-null.
    unsafe { hand_out(&reversed(&message), len_out, data_out) }
}

/// The KSP's secret handles: handle value → (the `CARD_DATA` it belongs to, the module's agreement
/// index).
static SECRETS: Mutex<BTreeMap<usize, (usize, u8)>> = Mutex::new(BTreeMap::new());
static NEXT_SECRET: AtomicUsize = AtomicUsize::new(0x5EC0_0010);

fn secrets() -> MutexGuard<'static, BTreeMap<usize, (usize, u8)>> {
    SECRETS.lock().unwrap_or_else(|p| p.into_inner())
}

/// A KSP secret handle for agreement `index` of the context whose `CARD_DATA` is at `card_data`, for a
/// `KDF_SECRET_HANDLE` parameter. The value is opaque (never dereferenced by anyone).
pub fn register_secret(card_data: *const CARD_DATA, index: u8) -> usize {
    let handle = NEXT_SECRET.fetch_add(0x10, Ordering::SeqCst);
    secrets().insert(handle, (card_data as usize, index));
    handle
}

/// Forgets a secret handle.
pub fn forget_secret(handle: usize) {
    secrets().remove(&handle);
}

/// `PFN_CSP_GET_DH_AGREEMENT`: the agreement index of a handle the KSP gave out for this `CARD_DATA`.
unsafe extern "system" fn get_dh_agreement(
    cd: *const CARD_DATA,
    secret: *const c_void,
    index_out: *mut u8,
    flags: u32,
) -> u32 {
    DH_CALLS.fetch_add(1, Ordering::SeqCst);
    if index_out.is_null() || flags != 0 {
        return SCARD_E_INVALID_PARAMETER;
    }
    let Some((owner, index)) = secrets().get(&(secret as usize)).copied() else {
        return NTE_INVALID_HANDLE;
    };
    // A handle of another context is not this context's agreement (spec §3.2.3: the lookup fails for
    // a secret that is not on this card context).
    if owner != cd as usize {
        return NTE_INVALID_HANDLE;
    }
    // SAFETY: checked non-null; the module's out-parameter.
    unsafe { index_out.write_unaligned(index) };
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use windows_sys::Win32::Security::Cryptography::BCRYPT_PKCS1_PADDING_INFO;

    #[test]
    fn pad_callback_builds_the_digest_info_block() {
        let _g = alloc::exclusive();
        let hash = Hash::Sha256.of("pad");
        let mut data = hash.clone();
        let name = crate::ffi::wide::wide("SHA256");
        let pkcs1 = BCRYPT_PKCS1_PADDING_INFO {
            pszAlgId: name.as_ptr(),
        };
        let info = CARD_SIGNING_INFO {
            dwVersion: 2,
            dwSigningFlags: CARD_PADDING_INFO_PRESENT,
            pbData: data.as_mut_ptr(),
            cbData: data.len() as u32,
            pPaddingInfo: (&pkcs1 as *const BCRYPT_PKCS1_PADDING_INFO).cast_mut().cast(),
            dwPaddingType: CARD_PADDING_PKCS1,
            ..Default::default()
        };
        let (mut len, mut out) = (0u32, std::ptr::null_mut::<u8>());
        // SAFETY: an unregistered structure is refused without being read.
        let refused = unsafe { pad_data(&info, 256, &mut len, &mut out) };
        assert_eq!(refused, SCARD_E_INVALID_PARAMETER);
        let _ = alloc::take_anomalies();
        let _r = InFlight::register(
            &info,
            data.as_ptr(),
            data.len(),
            info.pPaddingInfo,
            PaddingParams {
                hash_name: Some("SHA256".into()),
                label: Vec::new(),
            },
        );
        // SAFETY: the structure is registered and everything it points to is alive.
        assert_eq!(unsafe { pad_data(&info, 256, &mut len, &mut out) }, 0);
        let block = alloc::take_buffer(out, len as usize).unwrap();
        assert_eq!(
            block,
            emsa_pkcs1_v15(&Hash::Sha256.digest_info(&hash), 256).unwrap()
        );
    }

    #[test]
    fn secret_handles_belong_to_one_context() {
        let a = 0x1000 as *const CARD_DATA;
        let h = register_secret(a, 7);
        let mut index = 0u8;
        // SAFETY: the callback never dereferences the CARD_DATA or the handle.
        let found = unsafe { get_dh_agreement(a, h as *const c_void, &mut index, 0) };
        assert_eq!((found, index), (0, 7));
        let b = 0x2000 as *const CARD_DATA;
        // SAFETY: as above.
        let other_context = unsafe { get_dh_agreement(b, h as *const c_void, &mut index, 0) };
        assert_eq!(other_context, NTE_INVALID_HANDLE);
        forget_secret(h);
        // SAFETY: as above.
        let forgotten = unsafe { get_dh_agreement(a, h as *const c_void, &mut index, 0) };
        assert_eq!(forgotten, NTE_INVALID_HANDLE);
    }
}
