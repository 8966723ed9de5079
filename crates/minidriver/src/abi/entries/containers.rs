//! Capabilities, key sizes and container information (Smart Card Minidriver Specification 7.07 §4.4.2,
//! §4.6.4, §4.7.6).

use windows_sys::Win32::Security::Cryptography::{
    CARD_CAPABILITIES, CARD_CAPABILITIES_CURRENT_VERSION, CARD_DATA, CARD_KEY_SIZES,
    CARD_KEY_SIZES_CURRENT_VERSION, CONTAINER_INFO, CONTAINER_INFO_CURRENT_VERSION,
};

use super::check_struct_version;
use crate::abi::boundary::guard;
use crate::abi::caller::CallerStruct;
use crate::abi::card_data::Entry;
use crate::abi::csp_buf::CspBuf;
use crate::abi::marshal::{key_blob, whole};
use crate::enroll::ContainerRequest;
use crate::error::Result;
use crate::input::no_flags;
use crate::pins::ROLE_USER;

pub(crate) unsafe extern "system" fn card_query_capabilities(
    cd: *const CARD_DATA,
    caps: *mut CARD_CAPABILITIES,
) -> u32 {
    guard("CardQueryCapabilities", || {
        // SAFETY: pointer contracts of the interface.
        let entry = unsafe { Entry::enter(cd) }?;
        // SAFETY: `caps` is NULL or the caller's CARD_CAPABILITIES (it has one version).
        let caps = unsafe {
            CallerStruct::versioned(caps, "pCardCapabilities is NULL", whole::<CARD_CAPABILITIES>)
        }?;
        check_struct_version(caps.version(), CARD_CAPABILITIES_CURRENT_VERSION)?;
        caps.write(entry.with_context(|ctx| ctx.capabilities())?.into())
    })
}

pub(crate) unsafe extern "system" fn card_query_key_sizes(
    cd: *const CARD_DATA,
    key_spec: u32,
    flags: u32,
    sizes: *mut CARD_KEY_SIZES,
) -> u32 {
    guard("CardQueryKeySizes", || {
        // SAFETY: pointer contracts of the interface.
        let entry = unsafe { Entry::enter(cd) }?;
        // SAFETY: `sizes` is NULL or the caller's CARD_KEY_SIZES (it has one version).
        let sizes = unsafe { CallerStruct::versioned(sizes, "pKeySizes is NULL", whole::<CARD_KEY_SIZES>) }?;
        no_flags(flags)?;
        check_struct_version(sizes.version(), CARD_KEY_SIZES_CURRENT_VERSION)?;
        sizes.write(entry.with_context(|ctx| ctx.key_sizes(key_spec))?.into())
    })
}

pub(crate) unsafe extern "system" fn card_get_container_info(
    cd: *const CARD_DATA,
    index: u8,
    flags: u32,
    info: *mut CONTAINER_INFO,
) -> u32 {
    guard("CardGetContainerInfo", || {
        // SAFETY: pointer contracts of the interface.
        let entry = unsafe { Entry::enter(cd) }?;
        // SAFETY: `info` is NULL or the caller's CONTAINER_INFO (it has one version).
        let info =
            unsafe { CallerStruct::versioned(info, "pContainerInfo is NULL", whole::<CONTAINER_INFO>) }?;
        no_flags(flags)?;
        fill_container_info(&entry, index, &info)
    })
}

/// Fills a `CONTAINER_INFO` whose version the caller set: the public-key blobs in CSP buffers that
/// become the caller's (on any failure neither is handed over, so nothing leaks).
pub(crate) fn fill_container_info(
    entry: &Entry,
    index: u8,
    info: &CallerStruct<CONTAINER_INFO>,
) -> Result<()> {
    check_struct_version(info.version(), CONTAINER_INFO_CURRENT_VERSION)?;
    let keys = entry.with_context(|ctx| ctx.container_keys(index))?;
    let buffer = |blob: &Option<Vec<u8>>| blob.as_deref().map(|b| entry.csp_copy(b)).transpose();
    let (signature, exchange) = (buffer(&keys.signature)?, buffer(&keys.exchange)?);
    let hand_over = |b: Option<_>| b.map_or((std::ptr::null_mut(), 0), CspBuf::hand_over);
    let ((sig, sig_len), (kx, kx_len)) = (hand_over(signature), hand_over(exchange));
    info.write(CONTAINER_INFO {
        dwVersion: CONTAINER_INFO_CURRENT_VERSION,
        dwReserved: 0,
        cbSigPublicKey: sig_len,
        pbSigPublicKey: sig,
        cbKeyExPublicKey: kx_len,
        pbKeyExPublicKey: kx,
    })
}

pub(crate) unsafe extern "system" fn card_create_container(
    cd: *const CARD_DATA,
    index: u8,
    flags: u32,
    key_spec: u32,
    key_bits: u32,
    key_data: *const u8,
) -> u32 {
    guard("CardCreateContainer", || {
        // SAFETY: pointer contracts of the interface.
        unsafe { create_container(cd, index, flags, key_spec, key_bits, key_data, ROLE_USER) }
    })
}

pub(crate) unsafe extern "system" fn card_create_container_ex(
    cd: *const CARD_DATA,
    index: u8,
    flags: u32,
    key_spec: u32,
    key_bits: u32,
    key_data: *const u8,
    pin: u32,
) -> u32 {
    guard("CardCreateContainerEx", || {
        // SAFETY: pointer contracts of the interface.
        unsafe { create_container(cd, index, flags, key_spec, key_bits, key_data, pin) }
    })
}

/// `CardCreateContainer(Ex)` with the container's PIN (ROLE_USER for the older call).
///
/// # Safety
/// Pointer contracts of the interface: `cd` is NULL or the caller's CARD_DATA, `key_data` NULL or a
/// whole private-key blob.
unsafe fn create_container(
    cd: *const CARD_DATA,
    index: u8,
    flags: u32,
    key_spec: u32,
    key_bits: u32,
    key_data: *const u8,
    pin: u32,
) -> Result<()> {
    // SAFETY: per the contract (for each pointer below too).
    let entry = unsafe { Entry::enter(cd) }?;
    // SAFETY: as above.
    let blob = unsafe { key_blob(flags, key_spec, key_data) }?;
    let request = ContainerRequest::new(index, flags, key_spec, key_bits, blob, pin)?;
    entry.with_context(|ctx| ctx.create_container(request))
}

pub(crate) unsafe extern "system" fn card_delete_container(
    cd: *const CARD_DATA,
    index: u8,
    reserved: u32,
) -> u32 {
    guard("CardDeleteContainer", || {
        // SAFETY: pointer contracts of the interface.
        let entry = unsafe { Entry::enter(cd) }?;
        no_flags(reserved)?;
        entry.with_context(|ctx| ctx.delete_container(index))
    })
}
