//! One wrapper per function-table entry, grouped as Smart Card Minidriver Specification 7.07 §4 groups
//! them.

pub(crate) mod acquire;
pub(crate) mod admin;
pub(crate) mod auth;
pub(crate) mod containers;
pub(crate) mod crypto;
pub(crate) mod files;
pub(crate) mod properties;
pub(crate) mod unsupported;

/// Checks a caller-versioned structure: 0 is treated as 1; anything above `current` is a mismatch.
pub(crate) fn check_struct_version(version: u32, current: u32) -> crate::error::Result<()> {
    if version > current {
        Err(crate::error::MdError::RevisionMismatch("structure version"))
    } else {
        Ok(())
    }
}
