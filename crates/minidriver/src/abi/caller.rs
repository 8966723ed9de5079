//! The caller's memory, reached one way. A structure passed by pointer is copied once (the members
//! its version has) and written member by member; an out-parameter is checked non-null once and then
//! written through; a buffer becomes a bounded [`CallerBytes`] (and a string a bounded
//! [`CallerString`](crate::input::CallerString), in `strings.rs`).
//! The caller's memory carries no alignment promise, so every access is unaligned, and a structure is
//! never referenced as a whole: an older caller's may be shorter than the newest version.

use std::mem::{MaybeUninit, size_of};
use std::ptr::NonNull;

use windows_sys::Win32::Security::Cryptography::{
    BCRYPT_OAEP_PADDING_INFO, BCRYPT_PKCS1_PADDING_INFO, BCRYPT_PSS_PADDING_INFO, BCryptBuffer,
    BCryptBufferDesc, CARD_CAPABILITIES, CARD_DERIVE_KEY, CARD_DH_AGREEMENT_INFO, CARD_FILE_INFO,
    CARD_FREE_SPACE_INFO, CARD_KEY_SIZES, CARD_RSA_DECRYPT_INFO, CARD_SIGNING_INFO, CONTAINER_INFO,
};

use crate::abi::csp_buf::CspBuf;
use crate::error::{MdError, Result};
use crate::input::CallerBytes;

/// A structure of the interface whose every member is an integer or a raw pointer.
///
/// # Safety
/// All-zero bytes, and any bytes a caller wrote, are a valid value of the type.
pub(crate) unsafe trait Plain: Copy + Default {}

// SAFETY: each of these (windows-sys's definitions of the cardmod.h and bcrypt.h structures) holds only
// integers and raw pointers.
unsafe impl Plain for CARD_SIGNING_INFO {}
// SAFETY: as above.
unsafe impl Plain for CARD_RSA_DECRYPT_INFO {}
// SAFETY: as above.
unsafe impl Plain for CARD_DH_AGREEMENT_INFO {}
// SAFETY: as above.
unsafe impl Plain for CARD_DERIVE_KEY {}
// SAFETY: as above.
unsafe impl Plain for CARD_CAPABILITIES {}
// SAFETY: as above.
unsafe impl Plain for CARD_KEY_SIZES {}
// SAFETY: as above.
unsafe impl Plain for CARD_FILE_INFO {}
// SAFETY: as above.
unsafe impl Plain for CARD_FREE_SPACE_INFO {}
// SAFETY: as above.
unsafe impl Plain for CONTAINER_INFO {}
// SAFETY: as above.
unsafe impl Plain for BCRYPT_PKCS1_PADDING_INFO {}
// SAFETY: as above.
unsafe impl Plain for BCRYPT_PSS_PADDING_INFO {}
// SAFETY: as above.
unsafe impl Plain for BCRYPT_OAEP_PADDING_INFO {}
// SAFETY: as above.
unsafe impl Plain for BCryptBufferDesc {}
// SAFETY: as above.
unsafe impl Plain for BCryptBuffer {}

/// A structure the caller passed by pointer, and how many of its bytes the caller's version has.
pub(crate) struct CallerStruct<T> {
    ptr: NonNull<T>,
    version: u32,
    extent: usize,
}

impl<T: Plain> CallerStruct<T> {
    /// A structure without a version (a padding-information structure, a `BCryptBuffer`): all of it
    /// is the caller's. `None` when `ptr` is NULL.
    ///
    /// # Safety
    /// `ptr` is NULL or points to a `T` that is readable for the duration of the call.
    pub(crate) unsafe fn optional(ptr: *const T) -> Option<Self> {
        Some(Self {
            ptr: NonNull::new(ptr.cast_mut())?,
            version: 0,
            extent: size_of::<T>(),
        })
    }

    /// A structure whose first DWORD is `dwVersion`; `extent(version)` is how many bytes a caller of
    /// that version passes (never more than the newest version's size).
    ///
    /// # Safety
    /// `ptr` is NULL or points to at least four readable bytes, and to `extent(version)` bytes of a
    /// `T` that are readable and writable for the duration of the call.
    pub(crate) unsafe fn versioned(
        ptr: *mut T,
        null: &'static str,
        extent: impl FnOnce(u32) -> usize,
    ) -> Result<Self> {
        let ptr = NonNull::new(ptr).ok_or(MdError::InvalidParameter(null))?;
        // SAFETY: the first four bytes are readable (the caller's contract).
        let version = unsafe { ptr.cast::<u32>().as_ptr().read_unaligned() };
        let extent = extent(version).min(size_of::<T>());
        Ok(Self { ptr, version, extent })
    }

    /// The caller's pointer, for a CSP callback that takes the structure back.
    pub(crate) fn as_ptr(&self) -> *mut T {
        self.ptr.as_ptr()
    }

    /// `dwVersion` as the caller wrote it (0 for a structure without a version).
    pub(crate) fn version(&self) -> u32 {
        self.version
    }

    /// A copy of the members the caller's version has; the others are zero.
    pub(crate) fn read(&self) -> T {
        let mut copy = MaybeUninit::new(T::default());
        // SAFETY: the first `extent` bytes of the caller's structure are readable (`new`/`versioned`), and
        // they cannot overlap the local copy; any bytes are a valid `T` (`Plain`).
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.ptr.as_ptr().cast::<u8>(),
                copy.as_mut_ptr().cast::<u8>(),
                self.extent,
            )
        };
        // SAFETY: initialised from `T::default()`, then overwritten with bytes that are a valid `T`.
        unsafe { copy.assume_init() }
    }

    /// Writes one member, named by a projection such as `|s| &mut s.cbSignedData`. A member the
    /// caller's version does not have is never written: that is a defect of the module, reported as one.
    pub(crate) fn set<F: Copy>(&self, member: fn(&mut T) -> &mut F, value: F) -> Result<()> {
        let mut probe = T::default();
        let base = (&raw const probe).addr();
        let at = (&raw const *member(&mut probe)).addr().wrapping_sub(base);
        if at.checked_add(size_of::<F>()).is_none_or(|end| end > self.extent) {
            return Err(MdError::Unexpected(
                "a member the caller's structure version does not have".into(),
            ));
        }
        let target = self.ptr.as_ptr().cast::<u8>().wrapping_add(at).cast::<F>();
        // SAFETY: `target` is a member of the caller's structure within the bytes its version has, which
        // are writable (`versioned`).
        unsafe { target.write_unaligned(value) };
        Ok(())
    }

    /// Writes the whole structure (an output structure of one version, `CARD_CAPABILITIES` and the like).
    pub(crate) fn write(&self, value: T) -> Result<()> {
        if self.extent < size_of::<T>() {
            return Err(MdError::Unexpected(
                "the caller's structure is shorter than its type".into(),
            ));
        }
        // SAFETY: the whole structure is the caller's writable memory (`versioned` with a full extent).
        unsafe { self.ptr.as_ptr().write_unaligned(value) };
        Ok(())
    }
}

/// An out-parameter (`pcbData`, `ppbData`, `pcAttemptsRemaining`), checked non-null once.
pub(crate) struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    /// `Err(InvalidParameter(null))` when `ptr` is NULL.
    ///
    /// # Safety
    /// `ptr` is NULL or valid for writing a `T` (unaligned) for the duration of the call.
    pub(crate) unsafe fn new(ptr: *mut T, null: &'static str) -> Result<Self> {
        NonNull::new(ptr).map(Self).ok_or(MdError::InvalidParameter(null))
    }

    /// `None` for an optional out-parameter the caller left NULL.
    ///
    /// # Safety
    /// As [`Out::new`].
    pub(crate) unsafe fn optional(ptr: *mut T) -> Option<Self> {
        NonNull::new(ptr).map(Self)
    }

    /// Writes `value`.
    pub(crate) fn set(&self, value: T) {
        // SAFETY: non-null and writable (`new`).
        unsafe { self.0.as_ptr().write_unaligned(value) };
    }
}

/// The out-parameter pair that receives a buffer the module allocates (`ppbData` / `pcbData`): both must
/// be there.
pub(crate) struct BufferOut {
    data: Out<*mut u8>,
    len: Out<u32>,
}

impl BufferOut {
    /// `SCARD_E_INVALID_PARAMETER` when either is NULL.
    ///
    /// # Safety
    /// Each pointer is NULL or valid for writing its type for the duration of the call.
    pub(crate) unsafe fn new(data: *mut *mut u8, len: *mut u32) -> Result<Self> {
        const NULL: &str = "NULL output pointer";
        // SAFETY: forwarded contract (for both).
        let (data, len) = (unsafe { Out::new(data, NULL) }?, unsafe { Out::new(len, NULL) }?);
        Ok(Self { data, len })
    }

    /// As [`BufferOut::new`], the pair cleared (NULL, 0) at once, so that a failure leaves no stale
    /// pointer behind (the file calls).
    ///
    /// # Safety
    /// As [`BufferOut::new`].
    pub(crate) unsafe fn cleared(data: *mut *mut u8, len: *mut u32) -> Result<Self> {
        // SAFETY: forwarded contract.
        let out = unsafe { Self::new(data, len) }?;
        out.data.set(std::ptr::null_mut());
        out.len.set(0);
        Ok(out)
    }

    /// Hands `buffer` to the caller.
    pub(crate) fn hand_over(&self, buffer: CspBuf) {
        let (data, len) = buffer.hand_over();
        self.data.set(data);
        self.len.set(len);
    }
}

/// A caller's input buffer: `Null` for a NULL pointer, `TooLong` (not read) beyond `max` bytes.
///
/// # Safety
/// `ptr` is NULL or readable for `len` bytes whenever `len <= max`.
pub(crate) unsafe fn bytes<'a>(ptr: *const u8, len: u32, max: u32) -> CallerBytes<'a> {
    if ptr.is_null() {
        CallerBytes::Null { len }
    } else if len > max {
        CallerBytes::TooLong { len }
    } else {
        // SAFETY: readable for `len` bytes (the caller's contract), and `len` fits the address space.
        CallerBytes::Read(unsafe { std::slice::from_raw_parts(ptr, len as usize) })
    }
}

/// Copies `data` into the caller's buffer at `ptr`.
///
/// # Safety
/// `ptr` is writable for `data.len()` bytes and does not overlap `data`.
pub(crate) unsafe fn copy_to(ptr: *mut u8, data: &[u8]) {
    // SAFETY: per the contract.
    unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), ptr, data.len()) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_structure_is_read_and_written_only_as_far_as_its_version_goes() {
        // A version-1 CARD_SIGNING_INFO: everything from pPaddingInfo on is not the caller's.
        let v1 = std::mem::offset_of!(CARD_SIGNING_INFO, pPaddingInfo);
        let mut memory = vec![0xA5u8; size_of::<CARD_SIGNING_INFO>()];
        memory[..4].copy_from_slice(&1u32.to_le_bytes());
        // SAFETY: `memory` is a CARD_SIGNING_INFO-sized buffer of this test.
        let info = unsafe {
            CallerStruct::versioned(memory.as_mut_ptr().cast::<CARD_SIGNING_INFO>(), "pInfo", |v| {
                if v >= 2 {
                    size_of::<CARD_SIGNING_INFO>()
                } else {
                    v1
                }
            })
        }
        .unwrap();
        assert_eq!(info.version(), 1);
        let copy = info.read();
        assert_eq!(copy.dwPaddingType, 0, "a member beyond the version reads as zero");
        assert_eq!(copy.dwKeySpec, 0xA5A5_A5A5);
        info.set(|s| &mut s.cbSignedData, 7).unwrap();
        let at = std::mem::offset_of!(CARD_SIGNING_INFO, cbSignedData);
        assert_eq!(memory[at..at + 4], 7u32.to_le_bytes());
        assert!(info.set(|s| &mut s.dwPaddingType, 7).is_err());
        assert!(
            memory[v1..].iter().all(|&b| b == 0xA5),
            "nothing written beyond the version"
        );
    }

    #[test]
    fn buffers_are_bounded() {
        let data = [1u8, 2, 3];
        // SAFETY: a three-byte local buffer, read no further than three bytes.
        let read = unsafe { bytes(data.as_ptr(), 3, 3) };
        // SAFETY: as above.
        let too_long = unsafe { bytes(data.as_ptr(), 4, 3) };
        // SAFETY: NULL is never read.
        let null = unsafe { bytes(std::ptr::null(), 9, 3) };
        assert_eq!(read, CallerBytes::Read(&data));
        assert_eq!(too_long, CallerBytes::TooLong { len: 4 });
        assert_eq!(null, CallerBytes::Null { len: 9 });
    }
}
