//! Capabilities, key sizes and container information (spec §4.4, §4.6.4, §4.7.6).

use std::ptr::addr_of_mut;

use windows_sys::Win32::Security::Cryptography::{
    CARD_CAPABILITIES, CARD_DATA, CARD_KEY_SIZES, CONTAINER_INFO,
};

use super::check_struct_version;
use crate::abi::boundary::guard;
use crate::abi::card_data::{Entry, read_version};
use crate::error::{MdError, Result};

pub(crate) unsafe extern "system" fn card_query_capabilities(
    cd: *const CARD_DATA,
    caps: *mut CARD_CAPABILITIES,
) -> u32 {
    guard("CardQueryCapabilities", || {
        // SAFETY: pointer contracts of the interface.
        let entry = unsafe { Entry::enter(cd) }?;
        if caps.is_null() {
            return Err(MdError::InvalidParameter("pCardCapabilities is NULL"));
        }
        // SAFETY: `caps` is non-null.
        check_struct_version(unsafe { read_version(caps.cast()) }, 1)?;
        let c = entry.with_context(|ctx| Ok(ctx.capabilities()))?;
        // SAFETY: `caps` is a writable CARD_CAPABILITIES.
        unsafe {
            addr_of_mut!((*caps).dwVersion).write_unaligned(1);
            addr_of_mut!((*caps).fCertificateCompression)
                .write_unaligned(i32::from(c.certificate_compression));
            addr_of_mut!((*caps).fKeyGen).write_unaligned(i32::from(c.key_gen));
        }
        Ok(())
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
        if sizes.is_null() {
            return Err(MdError::InvalidParameter("pKeySizes is NULL"));
        }
        if flags != 0 {
            return Err(MdError::InvalidParameter("flags"));
        }
        // SAFETY: `sizes` is non-null.
        check_struct_version(unsafe { read_version(sizes.cast()) }, 1)?;
        let s = entry.with_context(|ctx| ctx.key_sizes(key_spec))?;
        // SAFETY: `sizes` is a writable CARD_KEY_SIZES.
        unsafe {
            addr_of_mut!((*sizes).dwVersion).write_unaligned(1);
            addr_of_mut!((*sizes).dwMinimumBitlen).write_unaligned(s.minimum);
            addr_of_mut!((*sizes).dwDefaultBitlen).write_unaligned(s.default);
            addr_of_mut!((*sizes).dwMaximumBitlen).write_unaligned(s.maximum);
            addr_of_mut!((*sizes).dwIncrementalBitlen).write_unaligned(s.increment);
        }
        Ok(())
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
        if info.is_null() {
            return Err(MdError::InvalidParameter("pContainerInfo is NULL"));
        }
        if flags != 0 {
            return Err(MdError::InvalidParameter("flags"));
        }
        // SAFETY: `info` is non-null.
        check_struct_version(unsafe { read_version(info.cast()) }, 1)?;
        // SAFETY: `info` is a writable CONTAINER_INFO.
        unsafe { fill_container_info(&entry, index, info) }
    })
}

/// Allocates the key blobs with the CSP and fills `info`; on an allocation failure nothing leaks.
///
/// # Safety
/// `info` points to a writable `CONTAINER_INFO`.
pub(crate) unsafe fn fill_container_info(entry: &Entry, index: u8, info: *mut CONTAINER_INFO) -> Result<()> {
    let keys = entry.with_context(|ctx| ctx.container_keys(index))?;
    let (sig, kx) = (keys.signature, keys.exchange);
    let sig_ptr = match &sig {
        Some(blob) => entry.alloc_copy(blob)?,
        None => std::ptr::null_mut(),
    };
    let kx_ptr = match &kx {
        Some(blob) => match entry.alloc_copy(blob) {
            Ok(p) => p,
            Err(e) => {
                entry.free(sig_ptr);
                return Err(e);
            }
        },
        None => std::ptr::null_mut(),
    };
    let len = |b: &Option<Vec<u8>>| b.as_ref().map_or(0, |b| b.len() as u32);
    // SAFETY: guaranteed by the caller.
    unsafe {
        addr_of_mut!((*info).dwVersion).write_unaligned(1);
        addr_of_mut!((*info).dwReserved).write_unaligned(0);
        addr_of_mut!((*info).cbSigPublicKey).write_unaligned(len(&sig));
        addr_of_mut!((*info).pbSigPublicKey).write_unaligned(sig_ptr);
        addr_of_mut!((*info).cbKeyExPublicKey).write_unaligned(len(&kx));
        addr_of_mut!((*info).pbKeyExPublicKey).write_unaligned(kx_ptr);
    }
    Ok(())
}
