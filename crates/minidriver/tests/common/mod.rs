//! A minimal CSP for the module's own integration tests: a CARD_DATA with a tracking allocator and the
//! built-in constructor over a virtual card. (The full CSP stand-in is tessera-conformance.)
#![allow(dead_code, reason = "each test crate uses a part of the helpers")]
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]
#![allow(
    unsafe_code,
    reason = "plays the CSP: C callbacks and raw CARD_DATA pointers, as the ABI requires"
)]

use std::alloc::{Layout, alloc, dealloc};
use std::ffi::c_void;
use std::sync::atomic::{AtomicIsize, Ordering};

use tessera_minidriver::{WritePolicy, acquire_context_with_policy};
use tessera_piv::{
    AlgorithmId, KeyRef, ManagementAlgorithm, ManagementKey, PinPolicy, PublicKey, Session, TouchPolicy,
    Transport,
};
use tessera_virtual_card::{CardConfig, SharedCard, VirtualCard};
use windows_sys::Win32::Security::Cryptography::CARD_DATA;

const HEADER: usize = 16;
/// Blocks handed out and not yet freed.
pub static OUTSTANDING: AtomicIsize = AtomicIsize::new(0);

pub unsafe extern "system" fn csp_alloc(size: usize) -> *mut c_void {
    OUTSTANDING.fetch_add(1, Ordering::SeqCst);
    // SAFETY: the layout has a non-zero size.
    let p = unsafe { alloc(Layout::from_size_align(size + HEADER, 16).unwrap()) };
    // SAFETY: the block starts with a `HEADER`-byte, 16-aligned header that holds the size.
    unsafe { (p as *mut usize).write(size) };
    p.wrapping_add(HEADER) as *mut c_void
}

pub unsafe extern "system" fn csp_realloc(_p: *const c_void, _size: usize) -> *mut c_void {
    std::ptr::null_mut()
}

pub unsafe extern "system" fn csp_free(p: *const c_void) {
    if p.is_null() {
        return;
    }
    OUTSTANDING.fetch_sub(1, Ordering::SeqCst);
    // `p` came from `csp_alloc`: its block starts `HEADER` bytes before it.
    let base = (p as *mut u8).wrapping_sub(HEADER);
    // SAFETY: the header of a block from `csp_alloc` holds its size.
    let size = unsafe { (base as *mut usize).read() };
    // SAFETY: the block was allocated by `csp_alloc` with this layout and is freed once.
    unsafe { dealloc(base, Layout::from_size_align(size + HEADER, 16).unwrap()) };
}

/// A card, provisioned through an independent PIV session.
pub struct TestCard {
    pub card: SharedCard,
}

impl TestCard {
    pub fn new(seed: u64) -> Self {
        Self {
            card: SharedCard::new(VirtualCard::new(CardConfig::seeded(seed)).unwrap()),
        }
    }

    /// Generates a key in `slot` with the management key, returning its public key.
    pub fn generate(&self, slot: KeyRef, algorithm: AlgorithmId, pin: PinPolicy) -> PublicKey {
        let mut s = Session::new(self.card.connect());
        s.select().unwrap();
        s.authenticate_management_key(&ManagementKey::default_for(ManagementAlgorithm::Tdes).unwrap())
            .unwrap();
        s.generate_key_pair(slot, algorithm, pin, TouchPolicy::Never)
            .unwrap()
    }
}

impl TestCard {
    /// Stores a certificate for the key in `slot`: the card's own attestation of it (a real X.509
    /// certificate of that public key), as a PIV certificate object.
    pub fn certify(&self, slot: KeyRef) {
        let mut s = Session::new(self.card.connect());
        s.select().unwrap();
        let der = s.attest(slot).unwrap();
        s.authenticate_management_key(&ManagementKey::default_for(ManagementAlgorithm::Tdes).unwrap())
            .unwrap();
        let object = tessera_piv::objects::CertificateObject::new(der)
            .encode()
            .unwrap();
        s.put_data(slot.certificate_object().unwrap(), &object).unwrap();
    }
}

/// A CARD_DATA that owns its ATR and name buffers.
pub struct Context {
    pub cd: Box<CARD_DATA>,
    _atr: Vec<u8>,
    _name: Vec<u16>,
}

impl Context {
    /// Acquires a context at `version` over a new connection to `card`.
    pub fn acquire(card: &SharedCard, version: u32) -> Self {
        Self::acquire_with(card, version, Box::new(card.connect()))
    }

    /// Acquires a context at `version` over `transport` (a connection to `card`, possibly wrapped).
    /// The tests choose the write policy: by default nothing is changed on the card on the module's own
    /// initiative.
    pub fn acquire_with(card: &SharedCard, version: u32, transport: Box<dyn Transport + Send>) -> Self {
        Self::acquire_with_policy(card, version, transport, WritePolicy::hands_off())
    }

    /// Acquires a context at `version` over `transport` with the write policy `policy`.
    pub fn acquire_with_policy(
        card: &SharedCard,
        version: u32,
        transport: Box<dyn Transport + Send>,
        policy: WritePolicy,
    ) -> Self {
        Self::acquire_prepared(card, version, transport, policy, |_| {})
    }

    /// Acquires a context at `version` over `transport` with CSP data cache `cache` in `CARD_DATA`
    /// from the start, as the Base CSP hands it to `CardAcquireContext`.
    pub fn acquire_cached(
        card: &SharedCard,
        version: u32,
        transport: Box<dyn Transport + Send>,
        cache: usize,
    ) -> Self {
        Self::acquire_prepared(card, version, transport, WritePolicy::hands_off(), |cd| {
            data_cache::attach(cd, cache)
        })
    }

    fn acquire_prepared(
        card: &SharedCard,
        version: u32,
        transport: Box<dyn Transport + Send>,
        policy: WritePolicy,
        prepare: impl FnOnce(&mut CARD_DATA),
    ) -> Self {
        let mut atr = card.with_card(|c| c.atr().to_vec()).unwrap();
        let name: Vec<u16> = "Tessera test card".encode_utf16().chain([0]).collect();
        let mut cd = Box::new(CARD_DATA {
            dwVersion: version,
            pbAtr: atr.as_mut_ptr(),
            cbAtr: atr.len() as u32,
            pwszCardName: name.as_ptr() as *mut u16,
            pfnCspAlloc: Some(csp_alloc),
            pfnCspReAlloc: Some(csp_realloc),
            pfnCspFree: Some(csp_free),
            hSCardCtx: 1,
            hScard: 1,
            ..Default::default()
        });
        prepare(&mut cd);
        // SAFETY: a fully initialised CARD_DATA.
        let rc = unsafe { acquire_context_with_policy(&mut *cd, 0, transport, policy) };
        assert_eq!(rc, 0, "CardAcquireContext");
        Self {
            cd,
            _atr: atr,
            _name: name,
        }
    }

    /// Verifies the user PIN through CardAuthenticateEx.
    pub fn login(&self) {
        let pin = b"123456";
        // SAFETY: valid arguments.
        let rc = unsafe {
            self.cd.pfnCardAuthenticateEx.unwrap()(
                &*self.cd,
                1,
                0,
                pin.as_ptr(),
                6,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        assert_eq!(rc, 0, "CardAuthenticateEx");
    }
}

impl Context {
    /// `CardAuthenticateEx(pin_id, pin)`: the code and the tries left it reported (`None` when it left
    /// the out-parameter alone).
    pub fn authenticate(&self, pin_id: u32, pin: &[u8]) -> (u32, Option<u32>) {
        let mut attempts = 0xA5A5_A5A5u32;
        // SAFETY: valid arguments.
        let rc = unsafe {
            self.cd.pfnCardAuthenticateEx.unwrap()(
                &*self.cd,
                pin_id,
                0,
                pin.as_ptr(),
                pin.len() as u32,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                &mut attempts,
            )
        };
        (rc, (attempts != 0xA5A5_A5A5).then_some(attempts))
    }

    /// Authenticates the administrator: the card's challenge encrypted with the default 3DES
    /// management key.
    pub fn admin_login(&self) {
        let (mut challenge, mut len) = (std::ptr::null_mut(), 0u32);
        // SAFETY: valid arguments; the buffer is freed by `take`.
        let rc = unsafe { self.cd.pfnCardGetChallengeEx.unwrap()(&*self.cd, 2, &mut challenge, &mut len, 0) };
        assert_eq!(rc, 0, "CardGetChallengeEx(ROLE_ADMIN)");
        let challenge = take(challenge, len);
        let key = ManagementKey::default_for(ManagementAlgorithm::Tdes).unwrap();
        let response = key.encrypt_block(&challenge).unwrap();
        assert_eq!(
            self.authenticate(2, &response).0,
            0,
            "CardAuthenticateEx(ROLE_ADMIN)"
        );
    }

    /// `CP_CARD_AUTHENTICATED_STATE`.
    pub fn authenticated_state(&self) -> u32 {
        self.dword_property("Authenticated State")
    }

    /// `CardGetProperty(name)` for a DWORD property, which must succeed.
    pub fn dword_property(&self, name: &str) -> u32 {
        let wide: Vec<u16> = name.encode_utf16().chain([0]).collect();
        let (mut value, mut len) = (0u32, 0u32);
        // SAFETY: valid arguments; the output buffer holds a DWORD.
        let rc = unsafe {
            self.cd.pfnCardGetProperty.unwrap()(
                &*self.cd,
                wide.as_ptr(),
                (&raw mut value).cast(),
                4,
                &mut len,
                0,
            )
        };
        assert_eq!((rc, len), (0, 4), "CardGetProperty({name:?})");
        value
    }

    /// `CardDeauthenticateEx(pin_set)`.
    pub fn deauthenticate_ex(&self, pin_set: u32) -> u32 {
        // SAFETY: valid arguments.
        unsafe { self.cd.pfnCardDeauthenticateEx.unwrap()(&*self.cd, pin_set, 0) }
    }

    /// `CardDeauthenticate(user)` with a legacy user name (`user` or `admin`).
    pub fn deauthenticate(&self, user: &str) -> u32 {
        let name: Vec<u16> = user.encode_utf16().chain([0]).collect();
        // SAFETY: valid arguments.
        unsafe { self.cd.pfnCardDeauthenticate.unwrap()(&*self.cd, name.as_ptr(), 0) }
    }

    /// `CardConstructDHAgreement` with the peer's `blob` and the container at `index`: the code and the
    /// agreement index it reported.
    pub fn construct_agreement(&self, index: u8, blob: &mut [u8]) -> (u32, u8) {
        let mut info = windows_sys::Win32::Security::Cryptography::CARD_DH_AGREEMENT_INFO {
            dwVersion: 2,
            bContainerIndex: index,
            dwPublicKey: blob.len() as u32,
            pbPublicKey: blob.as_mut_ptr(),
            ..Default::default()
        };
        // SAFETY: valid arguments.
        let rc = unsafe { self.cd.pfnCardConstructDHAgreement.unwrap()(&*self.cd, &mut info) };
        (rc, info.bSecretAgreementIndex)
    }

    /// ECDSA P-256 over SHA-256 of `message` with the container at `index`: the code, and the 64-byte
    /// `r ‖ s` on success.
    pub fn sign_p256(&self, index: u8, message: &[u8]) -> (u32, Option<Vec<u8>>) {
        use sha2::Digest;
        let mut hash = sha2::Sha256::digest(message).to_vec();
        let mut si = windows_sys::Win32::Security::Cryptography::CARD_SIGNING_INFO {
            dwVersion: 2,
            bContainerIndex: index,
            dwKeySpec: 3, // AT_ECDSA_P256
            pbData: hash.as_mut_ptr(),
            cbData: 32,
            ..Default::default()
        };
        // SAFETY: valid arguments; the signature is freed by `take`.
        let rc = unsafe { self.cd.pfnCardSignData.unwrap()(&*self.cd, &mut si) };
        let sig = (rc == 0).then(|| take(si.pbSignedData, si.cbSignedData));
        (rc, sig)
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: deleted exactly once.
        unsafe { self.cd.pfnCardDeleteContext.unwrap()(&mut *self.cd) };
    }
}

/// Copies and frees a module-allocated buffer.
pub fn take(p: *mut u8, len: u32) -> Vec<u8> {
    if p.is_null() {
        assert_eq!(len, 0, "a length without a buffer");
        return Vec::new();
    }
    // SAFETY: `p` holds `len` bytes from the module's csp_alloc.
    let v = unsafe { std::slice::from_raw_parts(p, len as usize) }.to_vec();
    // SAFETY: as above.
    unsafe { csp_free(p.cast()) };
    v
}

/// Writes Tessera's freshness object as a write through the module would.
pub fn set_freshness(card: &TestCard, value: [u8; 6]) {
    let mut s = Session::new(card.card.connect());
    s.select().unwrap();
    s.authenticate_management_key(&ManagementKey::default_for(ManagementAlgorithm::Tdes).unwrap())
        .unwrap();
    s.put_data(tessera_minidriver::card::FRESHNESS_OBJECT, &value)
        .unwrap();
}

/// A card with P-256 keys and certificates in 9A, 9C and 9E and no container map.
pub fn card_with_keys(seed: u64) -> TestCard {
    let card = TestCard::new(seed);
    for slot in [
        KeyRef::AUTHENTICATION,
        KeyRef::SIGNATURE,
        KeyRef::CARD_AUTHENTICATION,
    ] {
        card.generate(slot, AlgorithmId::ECCP256, PinPolicy::Default);
        card.certify(slot);
    }
    card
}

/// A certificate profile for an enrolled key: subject `CN=<name>`, issuer `CN=<name> test CA`, no
/// extensions.
pub struct Leaf(pub &'static str);

impl x509_cert::builder::profile::BuilderProfile for Leaf {
    fn get_issuer(&self, _subject: &x509_cert::name::Name) -> x509_cert::name::Name {
        std::str::FromStr::from_str(&format!("CN={} test CA", self.0)).unwrap()
    }

    fn get_subject(&self) -> x509_cert::name::Name {
        std::str::FromStr::from_str(&format!("CN={}", self.0)).unwrap()
    }

    fn build_extensions(
        &self,
        _spk: spki::SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: spki::SubjectPublicKeyInfoRef<'_>,
        _tbs: &x509_cert::certificate::TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<x509_cert::ext::Extension>> {
        Ok(Vec::new())
    }
}

pub mod data_cache;
