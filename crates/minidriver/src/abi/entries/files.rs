//! File entry points (spec §4.3).

use std::ptr::addr_of_mut;

use windows_sys::Win32::Security::Cryptography::{CARD_DATA, CARD_FILE_INFO, CARD_FREE_SPACE_INFO};
use windows_sys::core::{PCSTR, PSTR};

use super::check_struct_version;
use crate::abi::boundary::guard;
use crate::abi::card_data::{Entry, read_version, write_out};
use crate::abi::strings::{ansi, ansi_opt};
use crate::error::{MdError, Result};
use crate::fs::multistring;

fn len32(data: &[u8]) -> Result<u32> {
    u32::try_from(data.len()).map_err(|_| MdError::Unexpected("buffer larger than 4 GiB".into()))
}

pub(crate) unsafe extern "system" fn card_read_file(
    cd: *const CARD_DATA,
    dir: PCSTR,
    file: PCSTR,
    flags: u32,
    data_out: *mut *mut u8,
    len_out: *mut u32,
) -> u32 {
    guard("CardReadFile", || {
        // SAFETY: pointer contracts of the interface; each is checked for NULL where it may be NULL.
        let entry = unsafe { Entry::enter(cd) }?;
        // SAFETY: as above.
        let (dir, file) = unsafe { (ansi_opt(dir)?, ansi(file)?) };
        if data_out.is_null() || len_out.is_null() {
            return Err(MdError::InvalidParameter("NULL output pointer"));
        }
        // SAFETY: both out-pointers were checked non-null.
        unsafe {
            write_out(data_out, std::ptr::null_mut());
            write_out(len_out, 0);
        }
        if flags != 0 {
            return Err(MdError::InvalidParameter("flags"));
        }
        let data = entry.with_context(|ctx| ctx.read_file(dir, file))?;
        let len = len32(&data)?;
        let p = entry.alloc_copy(&data)?;
        // SAFETY: checked non-null above.
        unsafe {
            write_out(data_out, p);
            write_out(len_out, len);
        }
        Ok(())
    })
}

pub(crate) unsafe extern "system" fn card_get_file_info(
    cd: *const CARD_DATA,
    dir: PCSTR,
    file: PCSTR,
    info: *mut CARD_FILE_INFO,
) -> u32 {
    guard("CardGetFileInfo", || {
        // SAFETY: pointer contracts of the interface.
        let entry = unsafe { Entry::enter(cd) }?;
        // SAFETY: as above.
        let (dir, file) = unsafe { (ansi_opt(dir)?, ansi(file)?) };
        if info.is_null() {
            return Err(MdError::InvalidParameter("pCardFileInfo is NULL"));
        }
        // SAFETY: `info` is non-null and points to the caller's CARD_FILE_INFO.
        check_struct_version(unsafe { read_version(info.cast()) }, 1)?;
        let fi = entry.with_context(|ctx| ctx.file_info(dir, file))?;
        // SAFETY: `info` is a writable CARD_FILE_INFO.
        unsafe {
            addr_of_mut!((*info).dwVersion).write_unaligned(1);
            addr_of_mut!((*info).cbFileSize).write_unaligned(fi.size);
            addr_of_mut!((*info).AccessCondition).write_unaligned(fi.access as i32);
        }
        Ok(())
    })
}

pub(crate) unsafe extern "system" fn card_enum_files(
    cd: *const CARD_DATA,
    dir: PCSTR,
    names_out: *mut PSTR,
    len_out: *mut u32,
    flags: u32,
) -> u32 {
    guard("CardEnumFiles", || {
        // SAFETY: pointer contracts of the interface.
        let entry = unsafe { Entry::enter(cd) }?;
        // SAFETY: as above.
        let dir = unsafe { ansi_opt(dir)? };
        if names_out.is_null() || len_out.is_null() {
            return Err(MdError::InvalidParameter("NULL output pointer"));
        }
        // SAFETY: both out-pointers were checked non-null.
        unsafe {
            write_out(names_out, std::ptr::null_mut());
            write_out(len_out, 0);
        }
        if flags != 0 {
            return Err(MdError::InvalidParameter("flags"));
        }
        let names = entry.with_context(|ctx| ctx.enum_files(dir))?;
        let data = multistring(&names);
        let len = len32(&data)?;
        let p = entry.alloc_copy(&data)?;
        // SAFETY: checked non-null above.
        unsafe {
            write_out(names_out, p);
            write_out(len_out, len);
        }
        Ok(())
    })
}

pub(crate) unsafe extern "system" fn card_query_free_space(
    cd: *const CARD_DATA,
    flags: u32,
    info: *mut CARD_FREE_SPACE_INFO,
) -> u32 {
    guard("CardQueryFreeSpace", || {
        // SAFETY: pointer contracts of the interface.
        let entry = unsafe { Entry::enter(cd) }?;
        if info.is_null() {
            return Err(MdError::InvalidParameter("pCardFreeSpaceInfo is NULL"));
        }
        if flags != 0 {
            return Err(MdError::InvalidParameter("flags"));
        }
        // SAFETY: `info` is non-null.
        check_struct_version(unsafe { read_version(info.cast()) }, 1)?;
        let space = entry.with_context(|ctx| Ok(ctx.free_space()))?;
        // SAFETY: `info` is a writable CARD_FREE_SPACE_INFO.
        unsafe {
            addr_of_mut!((*info).dwVersion).write_unaligned(1);
            addr_of_mut!((*info).dwBytesAvailable).write_unaligned(space.bytes_available);
            addr_of_mut!((*info).dwKeyContainersAvailable).write_unaligned(space.containers_available);
            addr_of_mut!((*info).dwMaxKeyContainers).write_unaligned(space.max_containers);
        }
        Ok(())
    })
}
