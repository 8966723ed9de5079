//! The cryptographic entry points (spec 7.07 §4.7): `CardSignData`, `CardRSADecrypt`,
//! `CardConstructDHAgreement`, `CardDeriveKey`, `CardDestroyDHAgreement`. Each wrapper builds the structure
//! and everything it points to in harness memory, registers it for the CSP callbacks the module may call back
//! into ([`InFlight`]), calls, and takes back what the module returned: buffers from `pfnCspAlloc` through
//! [`collect`], caller buffers checked for writes past their end and for input the module should not have
//! touched.

use std::ffi::c_void;

use windows_sys::Win32::Security::Cryptography::{
    BCRYPT_OAEP_PADDING_INFO, BCRYPT_PKCS1_PADDING_INFO, BCRYPT_PSS_PADDING_INFO, BCryptBuffer,
    BCryptBufferDesc, CARD_DERIVE_KEY, CARD_DH_AGREEMENT_INFO, CARD_RSA_DECRYPT_INFO, CARD_SIGNING_INFO,
    PFN_CARD_CONSTRUCT_DH_AGREEMENT, PFN_CARD_DERIVE_KEY, PFN_CARD_DESTROY_DH_AGREEMENT,
    PFN_CARD_RSA_DECRYPT, PFN_CARD_SIGN_DATA,
};

use super::{Calls, FILL, Reply, TAIL, collect};
use crate::ffi::alloc;
use crate::ffi::padding::{InFlight, PaddingParams};
use crate::ffi::wide::wide;

/// Flag and padding values of the cryptographic structures (cardmod.h, bcrypt.h), gathered for suites
/// to glob-import without pulling in the rest of `windows-sys`.
pub mod flags {
    pub use windows_sys::Win32::Security::Cryptography::{
        CARD_BUFFER_SIZE_ONLY, CARD_PADDING_INFO_PRESENT, CARD_PADDING_NONE, CARD_PADDING_OAEP,
        CARD_PADDING_PKCS1, CARD_PADDING_PSS, CARD_RETURN_KEY_HANDLE, CRYPT_NOHASHOID,
        KDF_USE_SECRET_AS_HMAC_KEY_FLAG,
    };
}
use flags::*;

/// `KDF_*` parameter types of a `BCryptBufferDesc` (bcrypt.h), without their `KDF_` prefix.
pub mod kdf_param {
    pub use windows_sys::Win32::Security::Cryptography::{
        KDF_ALGORITHMID as ALGORITHMID, KDF_HASH_ALGORITHM as HASH_ALGORITHM, KDF_HMAC_KEY as HMAC_KEY,
        KDF_PARTYUINFO as PARTYUINFO, KDF_PARTYVINFO as PARTYVINFO, KDF_SECRET_APPEND as SECRET_APPEND,
        KDF_SECRET_HANDLE as SECRET_HANDLE, KDF_SECRET_PREPEND as SECRET_PREPEND,
        KDF_SUPPPRIVINFO as SUPPPRIVINFO, KDF_SUPPPUBINFO as SUPPPUBINFO, KDF_TLS_PRF_LABEL as TLS_PRF_LABEL,
        KDF_TLS_PRF_PROTOCOL as TLS_PRF_PROTOCOL, KDF_TLS_PRF_SEED as TLS_PRF_SEED,
    };
}

/// What `pPaddingInfo` points to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaddingInfo {
    /// NULL.
    Null,
    /// `BCRYPT_PKCS1_PADDING_INFO` (`None` = NULL `pszAlgId`).
    Pkcs1(Option<String>),
    /// `BCRYPT_PSS_PADDING_INFO`.
    Pss(Option<String>, u32),
    /// `BCRYPT_OAEP_PADDING_INFO` with a label (`None` = NULL `pbLabel`).
    Oaep(Option<String>, Option<Vec<u8>>),
}

/// The three padding-info structures, one of which is passed (or none).
#[derive(Default)]
struct PaddingBox {
    name: Option<Vec<u16>>,
    label: Option<Vec<u8>>,
    pkcs1: BCRYPT_PKCS1_PADDING_INFO,
    pss: BCRYPT_PSS_PADDING_INFO,
    oaep: BCRYPT_OAEP_PADDING_INFO,
}

impl PaddingBox {
    /// Builds the structure for `info`; returns it boxed (so its address is stable) with the pointer to
    /// pass and the parameters the callbacks may use.
    fn new(info: &PaddingInfo) -> (Box<Self>, *mut c_void, PaddingParams) {
        let mut b = Box::<Self>::default();
        let name_of = |n: &Option<String>| n.as_deref().map(wide);
        let mut params = PaddingParams::default();
        let ptr: *mut c_void = match info {
            PaddingInfo::Null => std::ptr::null_mut(),
            PaddingInfo::Pkcs1(n) => {
                b.name = name_of(n);
                params.hash_name = n.clone();
                b.pkcs1.pszAlgId = b.name.as_ref().map_or(std::ptr::null(), |v| v.as_ptr());
                (&mut b.pkcs1 as *mut BCRYPT_PKCS1_PADDING_INFO).cast()
            }
            PaddingInfo::Pss(n, salt) => {
                b.name = name_of(n);
                params.hash_name = n.clone();
                b.pss.pszAlgId = b.name.as_ref().map_or(std::ptr::null(), |v| v.as_ptr());
                b.pss.cbSalt = *salt;
                (&mut b.pss as *mut BCRYPT_PSS_PADDING_INFO).cast()
            }
            PaddingInfo::Oaep(n, label) => {
                b.name = name_of(n);
                b.label = label.clone();
                params.hash_name = n.clone();
                params.label = label.clone().unwrap_or_default();
                b.oaep.pszAlgId = b.name.as_ref().map_or(std::ptr::null(), |v| v.as_ptr());
                b.oaep.pbLabel = b.label.as_mut().map_or(std::ptr::null_mut(), |v| v.as_mut_ptr());
                b.oaep.cbLabel = b.label.as_ref().map_or(0, |v| v.len() as u32);
                (&mut b.oaep as *mut BCRYPT_OAEP_PADDING_INFO).cast()
            }
        };
        (b, ptr, params)
    }
}

/// A caller-owned data buffer (input, and for decryption also output) with a guard after it.
struct DataBuf {
    buf: Option<Vec<u8>>,
    len: u32,
    original: Vec<u8>,
}

impl DataBuf {
    /// `data` (or NULL), announced as `claimed` bytes (default: its length). The buffer covers the
    /// claimed length up to 4 KiB, so that a module believing it stays in harness memory.
    fn new(data: Option<&[u8]>, claimed: Option<u32>) -> Self {
        let len = claimed.unwrap_or(data.map_or(0, |d| d.len() as u32));
        let buf = data.map(|d| {
            let mut v = d.to_vec();
            v.resize(d.len().max((len as usize).min(4096)), 0);
            v.extend(std::iter::repeat_n(FILL, TAIL));
            v
        });
        Self {
            original: buf.clone().unwrap_or_default(),
            buf,
            len,
        }
    }
    fn ptr(&mut self) -> *mut u8 {
        self.buf.as_mut().map_or(std::ptr::null_mut(), |v| v.as_mut_ptr())
    }
    /// Bytes the module may use (the claimed length, within the buffer).
    fn capacity(&self) -> usize {
        self.buf.as_ref().map_or(0, |v| v.len() - TAIL)
    }
    fn overrun(&self) -> bool {
        self.buf
            .as_ref()
            .is_some_and(|v| v[v.len() - TAIL..].iter().any(|&b| b != FILL))
    }
    fn changed(&self) -> bool {
        self.buf.as_ref().is_some_and(|v| *v != self.original)
    }
    fn head(&self, n: usize) -> Vec<u8> {
        self.buf
            .as_ref()
            .map(|v| v[..n.min(v.len() - TAIL)].to_vec())
            .unwrap_or_default()
    }
}

/// Arguments of `CardSignData`.
#[derive(Debug, Clone)]
pub struct SignArgs {
    /// `dwVersion`.
    pub version: u32,
    /// `bContainerIndex`.
    pub index: u8,
    /// `dwKeySpec`.
    pub key_spec: u32,
    /// `dwSigningFlags`.
    pub flags: u32,
    /// `aiHashAlg`.
    pub alg: u32,
    /// `pbData` (`None` = NULL).
    pub data: Option<Vec<u8>>,
    /// `cbData` when it should differ from the data's length.
    pub claimed_len: Option<u32>,
    /// `pPaddingInfo`.
    pub padding: PaddingInfo,
    /// `dwPaddingType`.
    pub padding_type: u32,
    /// Pass `pInfo` NULL.
    pub null_info: bool,
}

impl SignArgs {
    /// A version-2 request with `CARD_PADDING_INFO_PRESENT` and the given padding.
    pub fn padded(index: u8, key_spec: u32, data: &[u8], padding_type: u32, padding: PaddingInfo) -> Self {
        Self {
            version: 2,
            index,
            key_spec,
            flags: CARD_PADDING_INFO_PRESENT,
            alg: 0,
            data: Some(data.to_vec()),
            claimed_len: None,
            padding,
            padding_type,
            null_info: false,
        }
    }

    /// A version-2 PKCS#1 v1.5 request for a SHA-256 hash (`CARD_PADDING_PKCS1`, `pszAlgId` "SHA256").
    pub fn pkcs1_sha256(index: u8, key_spec: u32, hash: &[u8]) -> Self {
        Self::padded(
            index,
            key_spec,
            hash,
            CARD_PADDING_PKCS1,
            PaddingInfo::Pkcs1(Some("SHA256".into())),
        )
    }

    /// A request without padding info (PKCS#1 v1.5 by `aiHashAlg`, or ECDSA), at `version`.
    pub fn basic(version: u32, index: u8, key_spec: u32, alg: u32, data: &[u8]) -> Self {
        Self {
            version,
            index,
            key_spec,
            flags: 0,
            alg,
            data: Some(data.to_vec()),
            claimed_len: None,
            padding: PaddingInfo::Null,
            padding_type: 0,
            null_info: false,
        }
    }
}

/// What `CardSignData` returned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignOut {
    /// `pbSignedData` taken (and freed), when set.
    pub signature: Option<Vec<u8>>,
    /// `cbSignedData`.
    pub len: u32,
}

/// Arguments of `CardRSADecrypt`.
#[derive(Debug, Clone)]
pub struct DecryptArgs {
    /// `dwVersion`.
    pub version: u32,
    /// `bContainerIndex`.
    pub index: u8,
    /// `dwKeySpec`.
    pub key_spec: u32,
    /// `pbData` content, little-endian ciphertext (`None` = NULL).
    pub data: Option<Vec<u8>>,
    /// `cbData` when it should differ from the data's length.
    pub claimed_len: Option<u32>,
    /// `pPaddingInfo`.
    pub padding: PaddingInfo,
    /// `dwPaddingType`.
    pub padding_type: u32,
    /// Pass `pInfo` NULL.
    pub null_info: bool,
}

impl DecryptArgs {
    /// A version-2 request.
    pub fn v2(index: u8, key_spec: u32, data_le: &[u8], padding_type: u32, padding: PaddingInfo) -> Self {
        Self {
            version: 2,
            index,
            key_spec,
            data: Some(data_le.to_vec()),
            claimed_len: None,
            padding,
            padding_type,
            null_info: false,
        }
    }

    /// A version-2 raw RSA request (`CARD_PADDING_NONE`, no padding info): the module returns the
    /// plain RSA result.
    pub fn raw(index: u8, key_spec: u32, data_le: &[u8]) -> Self {
        Self::v2(index, key_spec, data_le, CARD_PADDING_NONE, PaddingInfo::Null)
    }
}

/// What `CardRSADecrypt` left in the caller's structure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecryptOut {
    /// The first `cbData` bytes of `pbData` after the call.
    pub data: Vec<u8>,
    /// `cbData` after the call.
    pub len: u32,
}

/// Where `CardDeriveKey` puts the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeriveOutput {
    /// `pbDerivedKey` NULL: the module allocates with `pfnCspAlloc` (OpenSC's reading; the spec's text has
    /// the caller allocate after a size query).
    ModuleAllocates,
    /// A caller buffer of this many bytes (the spec's reading).
    Caller(u32),
}

/// Arguments of `CardDeriveKey`.
#[derive(Debug, Clone)]
pub struct DeriveArgs {
    /// `dwVersion`.
    pub version: u32,
    /// `dwFlags`.
    pub flags: u32,
    /// `pwszKDF` (`None` = NULL).
    pub kdf: Option<String>,
    /// `bSecretAgreementIndex`.
    pub agreement: u8,
    /// The parameter list (`None` = NULL `pParameterList`).
    pub params: Option<Vec<(u32, Vec<u8>)>>,
    /// `ulVersion` of the `BCryptBufferDesc` (`BCRYPTBUFFER_VERSION` = 0).
    pub list_version: u32,
    /// Output convention.
    pub output: DeriveOutput,
    /// v2 `pwszAlgId`.
    pub alg_id: Option<String>,
    /// v2 `dwKeyLen` (bits).
    pub key_len_bits: u32,
    /// Pass `pAgreementInfo` NULL.
    pub null_info: bool,
}

impl DeriveArgs {
    /// A version-1 request with a module-allocated output.
    pub fn new(agreement: u8, kdf: &str, params: Vec<(u32, Vec<u8>)>) -> Self {
        Self {
            version: 1,
            flags: 0,
            kdf: Some(kdf.to_owned()),
            agreement,
            params: Some(params),
            list_version: 0,
            output: DeriveOutput::ModuleAllocates,
            alg_id: None,
            key_len_bits: 0,
            null_info: false,
        }
    }

    /// The TLS 1.2 master secret's request, as Schannel makes it: `TLS_PRF` with the label
    /// "master secret", the client and server randoms as `seed`, SHA-256.
    pub fn tls12_master_secret(agreement: u8, seed: &[u8]) -> Self {
        Self::new(
            agreement,
            "TLS_PRF",
            vec![
                (kdf_param::TLS_PRF_LABEL, b"master secret".to_vec()),
                (kdf_param::TLS_PRF_SEED, seed.to_vec()),
                (
                    kdf_param::TLS_PRF_PROTOCOL,
                    crate::oracle::kdf::tls::V1_2.to_le_bytes().to_vec(),
                ),
                (kdf_param::HASH_ALGORITHM, kdf_hash_name("SHA256")),
            ],
        )
    }
}

/// What `CardDeriveKey` returned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeriveOut {
    /// The derived key (from the module's allocation or the caller's buffer).
    pub key: Vec<u8>,
    /// `cbDerivedKey` after the call.
    pub len: u32,
    /// `hKey` after the call (v2).
    pub key_handle: usize,
}

/// A `KDF_HASH_ALGORITHM` parameter value: the NUL-terminated UTF-16LE name.
pub fn kdf_hash_name(name: &str) -> Vec<u8> {
    wide(name).iter().flat_map(|u| u.to_le_bytes()).collect()
}

impl Calls<'_> {
    /// `CardSignData`.
    pub fn sign_data(&self, a: &SignArgs) -> Reply<SignOut> {
        let f = entry!(self, pfnCardSignData, PFN_CARD_SIGN_DATA);
        let mut data = DataBuf::new(a.data.as_deref(), a.claimed_len);
        let (_padding, pinfo, params) = PaddingBox::new(&a.padding);
        let mut info = CARD_SIGNING_INFO {
            dwVersion: a.version,
            bContainerIndex: a.index,
            dwKeySpec: a.key_spec,
            dwSigningFlags: a.flags,
            aiHashAlg: a.alg,
            pbData: data.ptr(),
            cbData: data.len,
            pbSignedData: std::ptr::null_mut(),
            cbSignedData: 0,
            pPaddingInfo: pinfo,
            dwPaddingType: a.padding_type,
        };
        let p: *mut CARD_SIGNING_INFO = if a.null_info {
            std::ptr::null_mut()
        } else {
            &mut info
        };
        let _registration = InFlight::register(p, info.pbData, data.capacity(), pinfo, params);
        // SAFETY: the structure, the data buffer (covering the claimed length) and the padding info are
        // harness memory that outlives the call.
        let code = unsafe { f(self.cd(), p) };
        let mut r = Reply::new(code);
        if data.changed() {
            r.problems
                .push("the module wrote into the caller's pbData".into());
        }
        let size_only = a.flags & CARD_BUFFER_SIZE_ONLY != 0;
        let signature = if size_only && !info.pbSignedData.is_null() {
            let _ = alloc::free_if_live(info.pbSignedData);
            r.problems
                .push("CARD_BUFFER_SIZE_ONLY, yet a signature buffer was returned".into());
            None
        } else if size_only {
            None
        } else {
            collect(
                code,
                info.pbSignedData,
                info.cbSignedData as usize,
                "pbSignedData",
                &mut r.problems,
            )
        };
        if code == 0 {
            r.value = Some(SignOut {
                signature,
                len: info.cbSignedData,
            });
        }
        r
    }

    /// `CardRSADecrypt`.
    pub fn rsa_decrypt(&self, a: &DecryptArgs) -> Reply<DecryptOut> {
        let f = entry!(self, pfnCardRSADecrypt, PFN_CARD_RSA_DECRYPT);
        let mut data = DataBuf::new(a.data.as_deref(), a.claimed_len);
        let (_padding, pinfo, params) = PaddingBox::new(&a.padding);
        let mut info = CARD_RSA_DECRYPT_INFO {
            dwVersion: a.version,
            bContainerIndex: a.index,
            dwKeySpec: a.key_spec,
            pbData: data.ptr(),
            cbData: data.len,
            pPaddingInfo: pinfo,
            dwPaddingType: a.padding_type,
        };
        let p: *mut CARD_RSA_DECRYPT_INFO = if a.null_info {
            std::ptr::null_mut()
        } else {
            &mut info
        };
        let _registration = InFlight::register(p, info.pbData, data.capacity(), pinfo, params);
        // SAFETY: as for `sign_data`; the data buffer is writable for its claimed length.
        let code = unsafe { f(self.cd(), p) };
        let mut r = Reply::new(code);
        if data.overrun() {
            r.problems.push("bytes written past the caller's pbData".into());
        }
        if info.pbData != data.ptr() {
            r.problems.push("the module changed pbData".into());
        }
        if code == 0 {
            if info.cbData as usize > data.capacity() {
                r.problems.push(format!(
                    "cbData {} exceeds the caller's {}-byte buffer",
                    info.cbData,
                    data.capacity()
                ));
            }
            r.value = Some(DecryptOut {
                data: data.head(info.cbData as usize),
                len: info.cbData,
            });
        } else if data.changed() && a.data.is_some() {
            // A failed call must not leave (partial) plaintext behind in the caller's buffer.
            r.value = Some(DecryptOut {
                data: data.head(data.capacity()),
                len: info.cbData,
            });
        }
        r
    }

    /// `CardConstructDHAgreement`: the agreement index.
    pub fn construct_dh_agreement(
        &self,
        version: u32,
        index: u8,
        flags: u32,
        public_key: Option<&[u8]>,
        null_info: bool,
    ) -> Reply<u8> {
        let f = entry!(self, pfnCardConstructDHAgreement, PFN_CARD_CONSTRUCT_DH_AGREEMENT);
        let mut key = DataBuf::new(public_key, None);
        let mut info = CARD_DH_AGREEMENT_INFO {
            dwVersion: version,
            bContainerIndex: index,
            dwFlags: flags,
            dwPublicKey: key.len,
            pbPublicKey: key.ptr(),
            pbReserved: std::ptr::null_mut(),
            cbReserved: 0,
            bSecretAgreementIndex: 0xEE,
        };
        let p: *mut CARD_DH_AGREEMENT_INFO = if null_info {
            std::ptr::null_mut()
        } else {
            &mut info
        };
        // SAFETY: the structure and the key blob are harness memory that outlives the call.
        let code = unsafe { f(self.cd(), p) };
        let mut r = Reply::new(code);
        if key.changed() {
            r.problems.push("the module wrote into pbPublicKey".into());
        }
        if code == 0 {
            r.value = Some(info.bSecretAgreementIndex);
        }
        r
    }

    /// `CardDestroyDHAgreement`.
    pub fn destroy_dh_agreement(&self, agreement: u8, flags: u32) -> Reply<()> {
        let f = entry!(self, pfnCardDestroyDHAgreement, PFN_CARD_DESTROY_DH_AGREEMENT);
        // SAFETY: no pointers besides pCardData.
        Reply::new(unsafe { f(self.cd(), agreement, flags) })
    }

    /// `CardDeriveKey`.
    pub fn derive_key(&self, a: &DeriveArgs) -> Reply<DeriveOut> {
        let f = entry!(self, pfnCardDeriveKey, PFN_CARD_DERIVE_KEY);
        let mut kdf = a.kdf.as_deref().map(wide);
        let mut alg_id = a.alg_id.as_deref().map(wide);
        let mut values: Vec<Vec<u8>> = a.params.iter().flatten().map(|(_, v)| v.clone()).collect();
        let mut buffers: Vec<BCryptBuffer> = a
            .params
            .iter()
            .flatten()
            .zip(values.iter_mut())
            .map(|((kind, _), v)| BCryptBuffer {
                cbBuffer: v.len() as u32,
                BufferType: *kind,
                pvBuffer: if v.is_empty() {
                    std::ptr::null_mut()
                } else {
                    v.as_mut_ptr().cast()
                },
            })
            .collect();
        let mut desc = BCryptBufferDesc {
            ulVersion: a.list_version,
            cBuffers: buffers.len() as u32,
            pBuffers: if buffers.is_empty() {
                std::ptr::null_mut()
            } else {
                buffers.as_mut_ptr()
            },
        };
        let list: *mut c_void = if a.params.is_some() {
            (&mut desc as *mut BCryptBufferDesc).cast()
        } else {
            std::ptr::null_mut()
        };
        let mut out = match a.output {
            DeriveOutput::ModuleAllocates => None,
            DeriveOutput::Caller(n) => Some(vec![FILL; n.min(1 << 16) as usize + TAIL]),
        };
        let (out_ptr, out_len) = match &mut out {
            Some(v) => (v.as_mut_ptr(), (v.len() - TAIL) as u32),
            None => (std::ptr::null_mut(), 0),
        };
        let mut info = CARD_DERIVE_KEY {
            dwVersion: a.version,
            dwFlags: a.flags,
            pwszKDF: kdf.as_mut().map_or(std::ptr::null_mut(), |v| v.as_mut_ptr()),
            bSecretAgreementIndex: a.agreement,
            pParameterList: list,
            pbDerivedKey: out_ptr,
            cbDerivedKey: out_len,
            pwszAlgId: alg_id.as_mut().map_or(std::ptr::null_mut(), |v| v.as_mut_ptr()),
            dwKeyLen: a.key_len_bits,
            hKey: 0,
        };
        let p: *mut CARD_DERIVE_KEY = if a.null_info {
            std::ptr::null_mut()
        } else {
            &mut info
        };
        // SAFETY: the structure, the names, the parameter list and its buffers, and the output buffer are
        // harness memory that outlives the call.
        let code = unsafe { f(self.cd(), p) };
        let mut r = Reply::new(code);
        if let Some(v) = &out
            && v[v.len() - TAIL..].iter().any(|&b| b != FILL)
        {
            r.problems
                .push("bytes written past the caller's pbDerivedKey".into());
        }
        let key = match &out {
            None if a.flags & CARD_BUFFER_SIZE_ONLY != 0 => {
                if !info.pbDerivedKey.is_null() {
                    let _ = alloc::free_if_live(info.pbDerivedKey);
                    r.problems
                        .push("CARD_BUFFER_SIZE_ONLY, yet a key buffer was returned".into());
                }
                Some(Vec::new())
            }
            None => collect(
                code,
                info.pbDerivedKey,
                info.cbDerivedKey as usize,
                "pbDerivedKey",
                &mut r.problems,
            ),
            Some(v) => {
                if info.pbDerivedKey != out_ptr {
                    r.problems
                        .push("the module replaced the caller's pbDerivedKey".into());
                    let _ = alloc::free_if_live(info.pbDerivedKey);
                }
                if code == 0 && info.cbDerivedKey > out_len {
                    r.problems.push(format!(
                        "cbDerivedKey {} exceeds the caller's {out_len}-byte buffer",
                        info.cbDerivedKey
                    ));
                }
                Some(v[..(info.cbDerivedKey.min(out_len)) as usize].to_vec())
            }
        };
        r.value = Some(DeriveOut {
            key: if code == 0 {
                key.unwrap_or_default()
            } else {
                Vec::new()
            },
            len: info.cbDerivedKey,
            key_handle: info.hKey,
        });
        r
    }
}
