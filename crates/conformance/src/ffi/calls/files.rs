//! The file-system entry points (spec 7.07 §4.3): `CardReadFile`, `CardEnumFiles`, `CardGetFileInfo`,
//! `CardQueryFreeSpace`, and the write side (`CardWriteFile`, `CardCreateFile`, `CardDeleteFile`,
//! `CardCreateDirectory`, `CardDeleteDirectory`).

use windows_sys::Win32::Security::Cryptography::*;

use super::Calls;
use super::args::*;
use super::reply::*;

impl Calls<'_> {
    /// `CardQueryFreeSpace`: the four DWORDs.
    pub fn query_free_space(&self, flags: u32, s: StructArg) -> Reply<[u32; 4]> {
        let f = entry!(self, pfnCardQueryFreeSpace, PFN_CARD_QUERY_FREE_SPACE);
        let mut v = CARD_FREE_SPACE_INFO {
            dwVersion: s.version,
            dwBytesAvailable: UNWRITTEN,
            dwKeyContainersAvailable: UNWRITTEN,
            dwMaxKeyContainers: UNWRITTEN,
        };
        let p = s.pass(&mut v);
        // SAFETY: NULL or the harness's own structure.
        let code = unsafe { f(self.cd(), flags, p) };
        Reply::with(code, || {
            [
                v.dwVersion,
                v.dwBytesAvailable,
                v.dwKeyContainersAvailable,
                v.dwMaxKeyContainers,
            ]
        })
    }

    /// `CardReadFile`.
    pub fn read_file(&self, a: FileArgs<'_>) -> Reply<Vec<u8>> {
        let f = entry!(self, pfnCardReadFile, PFN_CARD_READ_FILE);
        let (dir, file) = (AnsiArg::new(a.dir), AnsiArg::new(a.file));
        let mut data = OutVal::new(!a.null_data, std::ptr::null_mut::<u8>());
        let mut len = OutVal::new(!a.null_len, 0u32);
        // SAFETY: names are NULL or NUL-terminated; out-pointers are NULL or the harness's own.
        let code = unsafe { f(self.cd(), dir.ptr(), file.ptr(), a.flags, data.ptr(), len.ptr()) };
        let mut r = Reply::new(code);
        r.value = collect(code, data.val, len.val as usize, "CardReadFile", &mut r.problems);
        r
    }

    /// `CardReadFile(dir, file)` with valid out-pointers.
    pub fn read(&self, dir: Option<&str>, file: &str) -> Reply<Vec<u8>> {
        self.read_file(FileArgs {
            dir: dir.map(str::as_bytes),
            file: Some(file.as_bytes()),
            ..Default::default()
        })
    }

    /// `CardEnumFiles`: the raw multistring.
    pub fn enum_files(&self, a: FileArgs<'_>) -> Reply<Vec<u8>> {
        let f = entry!(self, pfnCardEnumFiles, PFN_CARD_ENUM_FILES);
        let dir = AnsiArg::new(a.dir);
        let mut names = OutVal::new(!a.null_data, std::ptr::null_mut::<u8>());
        let mut len = OutVal::new(!a.null_len, 0u32);
        // SAFETY: as for `read_file`.
        let code = unsafe { f(self.cd(), dir.ptr(), names.ptr(), len.ptr(), a.flags) };
        let mut r = Reply::new(code);
        r.value = collect(
            code,
            names.val,
            len.val as usize,
            "CardEnumFiles",
            &mut r.problems,
        );
        r
    }

    /// `CardGetFileInfo`: (dwVersion, cbFileSize, AccessCondition).
    pub fn get_file_info(&self, a: FileArgs<'_>, s: StructArg) -> Reply<(u32, u32, i32)> {
        let f = entry!(self, pfnCardGetFileInfo, PFN_CARD_GET_FILE_INFO);
        let (dir, file) = (AnsiArg::new(a.dir), AnsiArg::new(a.file));
        let mut v = CARD_FILE_INFO {
            dwVersion: s.version,
            cbFileSize: UNWRITTEN,
            AccessCondition: -7,
        };
        let p = s.pass(&mut v);
        // SAFETY: as for `read_file`.
        let code = unsafe { f(self.cd(), dir.ptr(), file.ptr(), p) };
        Reply::with(code, || (v.dwVersion, v.cbFileSize, v.AccessCondition))
    }

    /// `CardWriteFile`.
    pub fn write_file(&self, a: FileArgs<'_>, data: Option<&[u8]>) -> Reply<()> {
        let f = entry!(self, pfnCardWriteFile, PFN_CARD_WRITE_FILE);
        let (dir, file) = (AnsiArg::new(a.dir), AnsiArg::new(a.file));
        let d = InArg::new(data, None);
        // SAFETY: as for `read_file`; the data buffer is NULL or readable for its length.
        Reply::new(unsafe { f(self.cd(), dir.ptr(), file.ptr(), a.flags, d.ptr(), d.len) })
    }

    /// `CardCreateFile`.
    pub fn create_file(&self, a: FileArgs<'_>, size: u32, access: i32) -> Reply<()> {
        let f = entry!(self, pfnCardCreateFile, PFN_CARD_CREATE_FILE);
        let (dir, file) = (AnsiArg::new(a.dir), AnsiArg::new(a.file));
        // SAFETY: as for `read_file`.
        Reply::new(unsafe { f(self.cd(), dir.ptr(), file.ptr(), size, access) })
    }

    /// `CardDeleteFile`.
    pub fn delete_file(&self, a: FileArgs<'_>) -> Reply<()> {
        let f = entry!(self, pfnCardDeleteFile, PFN_CARD_DELETE_FILE);
        let (dir, file) = (AnsiArg::new(a.dir), AnsiArg::new(a.file));
        // SAFETY: as for `read_file`.
        Reply::new(unsafe { f(self.cd(), dir.ptr(), file.ptr(), a.flags) })
    }

    /// `CardCreateDirectory`.
    pub fn create_directory(&self, name: Option<&[u8]>, access: i32) -> Reply<()> {
        let f = entry!(self, pfnCardCreateDirectory, PFN_CARD_CREATE_DIRECTORY);
        let dir = AnsiArg::new(name);
        // SAFETY: as for `read_file`.
        Reply::new(unsafe { f(self.cd(), dir.ptr(), access) })
    }

    /// `CardDeleteDirectory`.
    pub fn delete_directory(&self, name: Option<&[u8]>) -> Reply<()> {
        let f = entry!(self, pfnCardDeleteDirectory, PFN_CARD_DELETE_DIRECTORY);
        let dir = AnsiArg::new(name);
        // SAFETY: as for `read_file`.
        Reply::new(unsafe { f(self.cd(), dir.ptr()) })
    }
}
