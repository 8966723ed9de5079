//! File entry points (Smart Card Minidriver Specification 7.07 §4.3).

use windows_sys::Win32::Security::Cryptography::{
    CARD_DATA, CARD_FILE_ACCESS_CONDITION, CARD_FILE_INFO, CARD_FILE_INFO_CURRENT_VERSION,
    CARD_FREE_SPACE_INFO, CARD_FREE_SPACE_INFO_CURRENT_VERSION,
};
use windows_sys::core::{PCSTR, PSTR};

use super::check_struct_version;
use crate::abi::boundary::guard;
use crate::abi::caller::{BufferOut, CallerStruct, bytes};
use crate::abi::card_data::Entry;
use crate::abi::marshal::whole;
use crate::abi::strings::{ansi, ansi_opt};
use crate::fs::multistring;
use crate::fs_write::{MAX_FILE_WRITE, file_data};
use crate::input::no_flags;

pub(crate) unsafe extern "system" fn card_read_file(
    cd: *const CARD_DATA,
    dir: PCSTR,
    file: PCSTR,
    flags: u32,
    data_out: *mut *mut u8,
    len_out: *mut u32,
) -> u32 {
    guard("CardReadFile", || {
        // SAFETY: pointer contracts of the interface (for each pointer below too).
        let entry = unsafe { Entry::enter(cd) }?;
        // SAFETY: as above.
        let (dir, file) = (unsafe { ansi_opt(dir) }?, unsafe { ansi(file) }?);
        // SAFETY: as above.
        let out = unsafe { BufferOut::cleared(data_out, len_out) }?;
        no_flags(flags)?;
        let data = entry.with_context(|ctx| ctx.read_file(dir, file))?;
        out.hand_over(entry.csp_copy(&data)?);
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
        // SAFETY: pointer contracts of the interface (for each pointer below too).
        let entry = unsafe { Entry::enter(cd) }?;
        // SAFETY: as above.
        let (dir, file) = (unsafe { ansi_opt(dir) }?, unsafe { ansi(file) }?);
        // SAFETY: `info` is NULL or the caller's CARD_FILE_INFO (it has one version).
        let info =
            unsafe { CallerStruct::versioned(info, "pCardFileInfo is NULL", whole::<CARD_FILE_INFO>) }?;
        check_struct_version(info.version(), CARD_FILE_INFO_CURRENT_VERSION)?;
        info.write(entry.with_context(|ctx| ctx.file_info(dir, file))?.into())
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
        // SAFETY: pointer contracts of the interface (for each pointer below too).
        let entry = unsafe { Entry::enter(cd) }?;
        // SAFETY: as above.
        let dir = unsafe { ansi_opt(dir) }?;
        // SAFETY: as above.
        let out = unsafe { BufferOut::cleared(names_out, len_out) }?;
        no_flags(flags)?;
        let names = entry.with_context(|ctx| ctx.enum_files(dir))?;
        out.hand_over(entry.csp_copy(&multistring(&names))?);
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
        // SAFETY: `info` is NULL or the caller's CARD_FREE_SPACE_INFO (it has one version).
        let info = unsafe {
            CallerStruct::versioned(info, "pCardFreeSpaceInfo is NULL", whole::<CARD_FREE_SPACE_INFO>)
        }?;
        no_flags(flags)?;
        check_struct_version(info.version(), CARD_FREE_SPACE_INFO_CURRENT_VERSION)?;
        info.write(entry.with_context(|ctx| ctx.free_space())?.into())
    })
}

pub(crate) unsafe extern "system" fn card_create_file(
    cd: *const CARD_DATA,
    dir: PCSTR,
    file: PCSTR,
    initial_size: u32,
    access: CARD_FILE_ACCESS_CONDITION,
) -> u32 {
    guard("CardCreateFile", || {
        // SAFETY: pointer contracts of the interface (for each pointer below too).
        let entry = unsafe { Entry::enter(cd) }?;
        // SAFETY: as above.
        let (dir, file) = (unsafe { ansi_opt(dir) }?, unsafe { ansi(file) }?);
        let access = u32::try_from(access).unwrap_or(u32::MAX);
        entry.with_context(|ctx| ctx.create_file(dir, file, initial_size, access))
    })
}

pub(crate) unsafe extern "system" fn card_write_file(
    cd: *const CARD_DATA,
    dir: PCSTR,
    file: PCSTR,
    flags: u32,
    data: *const u8,
    len: u32,
) -> u32 {
    guard("CardWriteFile", || {
        // SAFETY: pointer contracts of the interface (for each pointer below too).
        let entry = unsafe { Entry::enter(cd) }?;
        // SAFETY: as above.
        let (dir, file) = (unsafe { ansi_opt(dir) }?, unsafe { ansi(file) }?);
        no_flags(flags)?;
        // SAFETY: as above; more than any file holds is not read.
        let data = file_data(unsafe { bytes(data, len, MAX_FILE_WRITE) })?;
        entry.with_context(|ctx| ctx.write_file(dir, file, data))
    })
}

pub(crate) unsafe extern "system" fn card_delete_file(
    cd: *const CARD_DATA,
    dir: PCSTR,
    file: PCSTR,
    flags: u32,
) -> u32 {
    guard("CardDeleteFile", || {
        // SAFETY: pointer contracts of the interface (for each pointer below too).
        let entry = unsafe { Entry::enter(cd) }?;
        // SAFETY: as above.
        let (dir, file) = (unsafe { ansi_opt(dir) }?, unsafe { ansi(file) }?);
        no_flags(flags)?;
        entry.with_context(|ctx| ctx.delete_file(dir, file))
    })
}
