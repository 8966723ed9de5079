//! What the cryptographic suites share: finding the container that holds a given key of the fixture
//! (by algorithm, size and use), the key's public half as the harness's oracle sees it, logging in the
//! way the key's PIN policy asks, and running a case body on a shared context.

use tessera_piv::{PinPolicy, PublicKey};

use crate::codes;
use crate::fixture::{CertUsage, DEFAULT_PIN, SlotState};
use crate::harness::{ConnectedContext, Found, Harness, Profile, Verdict};
use crate::oracle::ec::Curve;
use crate::oracle::rsa::RsaKey;

/// `ROLE_USER`.
pub const ROLE_USER: u32 = 1;
/// `ROLE_ADMIN`.
pub const ROLE_ADMIN: u32 = 2;
/// The PIN-always role of PIV slot 9C (Windows' PIV class driver numbering, which the module follows).
pub const ROLE_PIN_ALWAYS: u32 = 3;

/// `AT_KEYEXCHANGE`.
pub const AT_KEYEXCHANGE: u32 = 1;
/// `AT_SIGNATURE`.
pub const AT_SIGNATURE: u32 = 2;

/// The RSA sizes the card supports.
pub const RSA_SIZES: [u32; 4] = [1024, 2048, 3072, 4096];
/// The curves the card supports.
pub const CURVES: [Curve; 2] = [Curve::P256, Curve::P384];

/// Which key a case needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeededKey {
    /// The RSA exchange (dual-use) key of this size.
    RsaExchange(u32),
    /// The RSA key whose certificate restricts it to signing (9E, no PIN).
    RsaSignOnly,
    /// The ECDSA side of the EC key on this curve that also agrees (PIN once).
    Ecdsa(Curve),
    /// The ECDH side of that key.
    Ecdh(Curve),
    /// The P-256 key of 9C: PIN always, signing only.
    PinAlways,
    /// The P-256 key of 9D, which has no certificate (ECDSA side).
    NoCertificate,
}

/// A key as a case uses it.
#[derive(Debug, Clone)]
pub struct Key {
    /// Container index.
    pub index: u8,
    /// The key spec its container has.
    pub spec: u32,
    /// The fixture's slot.
    pub slot: SlotState,
}

impl Key {
    /// The RSA public key (for RSA containers).
    pub fn rsa(&self) -> Result<RsaKey, String> {
        match &self.slot.public_key {
            PublicKey::Rsa {
                modulus, exponent, ..
            } => RsaKey::new(modulus, exponent),
            PublicKey::Ecc { .. } => Err("not an RSA key".into()),
        }
    }

    /// The uncompressed EC point (for EC containers).
    pub fn point(&self) -> Vec<u8> {
        match &self.slot.public_key {
            PublicKey::Ecc { point, .. } => point.clone(),
            PublicKey::Rsa { .. } => Vec::new(),
        }
    }

    /// The modulus length in bytes (RSA) or the field size (EC).
    pub fn len(&self) -> usize {
        (self.slot.key_bits() as usize).div_ceil(8)
    }

    /// Always false.
    pub fn is_empty(&self) -> bool {
        false
    }
}

fn is_curve(s: &SlotState, curve: Curve) -> bool {
    s.key_bits() == curve.field_len() as u32 * 8 && !s.is_rsa()
}

/// Finds the container for `want` among what the module lists.
pub fn find(h: &Harness, want: NeededKey) -> Result<Key, String> {
    let found = h.found()?;
    let pick = |f: &&Found| -> bool {
        let Some(s) = &f.slot else { return false };
        let pin = s.pin_policy;
        match want {
            NeededKey::RsaExchange(bits) => {
                s.is_rsa()
                    && s.key_bits() == bits
                    && s.usage == CertUsage::SignAndEncrypt
                    && f.exchange_key.is_some()
            }
            NeededKey::RsaSignOnly => {
                s.is_rsa() && s.usage == CertUsage::SignOnly && f.signature_key.is_some()
            }
            NeededKey::Ecdsa(c) => {
                is_curve(s, c)
                    && s.usage == CertUsage::SignAndAgree
                    && pin == Some(PinPolicy::Once)
                    && f.signature_key.is_some()
            }
            NeededKey::Ecdh(c) => {
                is_curve(s, c)
                    && s.usage == CertUsage::SignAndAgree
                    && pin == Some(PinPolicy::Once)
                    && f.exchange_key.is_some()
            }
            NeededKey::PinAlways => {
                pin == Some(PinPolicy::Always) && !s.is_rsa() && f.signature_key.is_some()
            }
            NeededKey::NoCertificate => s.certificate.is_none() && !s.is_rsa() && f.signature_key.is_some(),
        }
    };
    let f = found
        .iter()
        .find(pick)
        .ok_or_else(|| format!("no container holds the fixture's key for {want:?}"))?;
    let slot = f.slot.clone().ok_or("no slot")?;
    let spec = match (&slot.public_key, f.exchange_key.is_some()) {
        (PublicKey::Rsa { .. }, true) => AT_KEYEXCHANGE,
        (PublicKey::Rsa { .. }, false) => AT_SIGNATURE,
        (PublicKey::Ecc { .. }, exchange) => {
            let curve = if slot.key_bits() == 384 {
                Curve::P384
            } else {
                Curve::P256
            };
            if exchange {
                curve.ecdh_spec()
            } else {
                curve.ecdsa_spec()
            }
        }
    };
    Ok(Key {
        index: f.index(),
        spec,
        slot,
    })
}

/// An index that holds no container.
pub fn empty_index(h: &Harness) -> Result<u8, String> {
    let found = h.found()?;
    (0..=u8::MAX)
        .find(|i| found.iter().all(|f| f.index() != *i))
        .ok_or_else(|| "every index is used".into())
}

/// Authenticates the PIN the key's policy asks for (none for "never", the PIN-always role for "always");
/// `Err` holds the code `CardAuthenticateEx` returned.
pub fn login(b: &ConnectedContext, key: &Key) -> Result<(), u32> {
    let role = match key.slot.pin_policy {
        Some(PinPolicy::Never) => return Ok(()),
        Some(PinPolicy::Always | PinPolicy::MatchAlways) => ROLE_PIN_ALWAYS,
        _ => ROLE_USER,
    };
    let r = b
        .call()
        .authenticate_ex(role, 0, Some(DEFAULT_PIN), None, false, false);
    if r.ok() { Ok(()) } else { Err(r.code) }
}

/// Runs `body` with the key for `want`, on the shared context of `profile`, after logging in.
pub fn with_key(
    h: &Harness,
    v: &mut Verdict,
    want: NeededKey,
    profile: Profile,
    body: impl FnOnce(&ConnectedContext, &Key, &mut Verdict),
) {
    let Some(key) = v.setup("find the key", find(h, want)) else {
        return;
    };
    let r = h.with_shared(profile, |b| {
        if let Err(code) = login(b, &key) {
            return v.fail(format!("setup (log in): {}", codes::name(code)));
        }
        body(b, &key, v);
    });
    if let Err(e) = r {
        v.fail(format!("setup (context): {e}"));
    }
}

/// Runs `body` on a fresh context (its own `CardAcquireContext`), with the key for `want`, logged in.
pub fn with_key_fresh(
    h: &Harness,
    v: &mut Verdict,
    want: NeededKey,
    body: impl FnOnce(&ConnectedContext, &Key, &mut Verdict),
) {
    let Some(key) = v.setup("find the key", find(h, want)) else {
        return;
    };
    let Some(b) = v.setup("open a context", h.open()) else {
        return;
    };
    if let Err(code) = login(&b, &key) {
        return v.fail(format!("setup (log in): {}", codes::name(code)));
    }
    body(&b, &key, v);
}

/// The per-algorithm label of a key (`RSA-2048`, `P-256`).
pub fn algorithm_name(want: NeededKey) -> String {
    match want {
        NeededKey::RsaExchange(bits) => format!("RSA-{bits}"),
        NeededKey::RsaSignOnly => "RSA-2048".into(),
        NeededKey::Ecdsa(c) | NeededKey::Ecdh(c) => c.name().into(),
        NeededKey::PinAlways | NeededKey::NoCertificate => "P-256".into(),
    }
}
