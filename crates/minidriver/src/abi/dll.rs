//! Windows-only exports besides `CardAcquireContext`: `DllMain` and the registration entry points.

use std::sync::atomic::{AtomicPtr, Ordering};

use windows_sys::Win32::Foundation::{HINSTANCE, HWND, TRUE};
use windows_sys::Win32::Security::Credentials::{
    SCARD_SCOPE_SYSTEM, SCardEstablishContext, SCardForgetCardTypeW, SCardIntroduceCardTypeW,
    SCardReleaseContext, SCardSetCardTypeProviderNameW,
};
use windows_sys::Win32::System::LibraryLoader::GetModuleFileNameW;
use windows_sys::Win32::System::Registry::{HKEY_LOCAL_MACHINE, RRF_RT_REG_SZ, RegGetValueW};
use windows_sys::Win32::System::SystemServices::DLL_PROCESS_ATTACH;
use windows_sys::core::BOOL;

use crate::registration::{self, CardTypeDatabase};

/// This DLL's module handle, for its own file name.
static MODULE: AtomicPtr<core::ffi::c_void> = AtomicPtr::new(std::ptr::null_mut());

/// Keeps process attach trivial: no card I/O, no library loads (Smart Card Minidriver Specification 7.07
/// §3.1.1); remembers the module handle for `DllRegisterServer`.
#[unsafe(no_mangle)]
pub extern "system" fn DllMain(instance: HINSTANCE, reason: u32, _reserved: *mut core::ffi::c_void) -> BOOL {
    if reason == DLL_PROCESS_ATTACH {
        MODULE.store(instance, Ordering::Relaxed);
    }
    TRUE
}

/// Introduces every known PIV token to the smart card database with this module as its card module
/// (Smart Card Minidriver Specification 7.07 §3.1.2). Needs administrator rights.
#[unsafe(no_mangle)]
pub extern "system" fn DllRegisterServer() -> i32 {
    super::boundary::guard_hresult("DllRegisterServer", || {
        let name = module_file_name();
        with_database(|db| registration::register(db, &name))
    })
}

/// Forgets every card type `DllRegisterServer` introduced.
#[unsafe(no_mangle)]
pub extern "system" fn DllUnregisterServer() -> i32 {
    super::boundary::guard_hresult("DllUnregisterServer", || with_database(registration::unregister))
}

/// The base name of this DLL (`tessera_minidriver.dll` unless renamed).
fn module_file_name() -> String {
    let mut buf = [0u16; 1024];
    // SAFETY: the buffer is writable for its length; a null module handle means the process image,
    // which only happens if DllMain never ran.
    let len =
        unsafe { GetModuleFileNameW(MODULE.load(Ordering::Relaxed), buf.as_mut_ptr(), buf.len() as u32) };
    let path = String::from_utf16_lossy(&buf[..(len as usize).min(buf.len())]);
    match path.rsplit(['\\', '/']).next() {
        Some(base) if !base.is_empty() => base.to_string(),
        _ => "tessera_minidriver.dll".to_string(),
    }
}

/// The system smart card database through winscard.
struct Winscard {
    context: usize,
}

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain([0]).collect()
}

impl CardTypeDatabase for Winscard {
    fn introduce(&mut self, name: &str, atr: &[u8], mask: &[u8]) -> i32 {
        let name = wide(name);
        // SAFETY: NUL-terminated name; ATR and mask of `atr.len()` bytes (equal lengths by construction).
        unsafe {
            SCardIntroduceCardTypeW(
                self.context,
                name.as_ptr(),
                std::ptr::null(),
                std::ptr::null(),
                0,
                atr.as_ptr(),
                mask.as_ptr(),
                atr.len().min(mask.len()) as u32,
            )
        }
    }

    fn set_provider(&mut self, name: &str, provider_id: u32, provider: &str) -> i32 {
        let (name, provider) = (wide(name), wide(provider));
        // SAFETY: NUL-terminated strings.
        unsafe { SCardSetCardTypeProviderNameW(self.context, name.as_ptr(), provider_id, provider.as_ptr()) }
    }

    fn forget(&mut self, name: &str) -> i32 {
        let name = wide(name);
        // SAFETY: NUL-terminated name.
        unsafe { SCardForgetCardTypeW(self.context, name.as_ptr()) }
    }
}

/// Runs `f` against the system database (a system-scope context when the service answers, else the
/// context-less form winscard also accepts). Also what `tessera register` uses on Windows.
pub fn with_database(f: impl FnOnce(&mut dyn CardTypeDatabase) -> i32) -> i32 {
    let mut context = 0usize;
    // SAFETY: out-pointer to a local.
    let established = unsafe {
        SCardEstablishContext(
            SCARD_SCOPE_SYSTEM,
            std::ptr::null(),
            std::ptr::null(),
            &mut context,
        )
    } == 0;
    let mut db = Winscard {
        context: if established { context } else { 0 },
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut db)))
        .unwrap_or(windows_sys::Win32::Foundation::E_UNEXPECTED);
    if established {
        // SAFETY: the context established above.
        unsafe { SCardReleaseContext(context) };
    }
    result
}

#[link(name = "user32")]
unsafe extern "system" {
    fn IsWindow(hwnd: HWND) -> BOOL;
}

/// `IsWindow` for `CP_PARENT_WINDOW`.
pub(crate) fn is_window(hwnd: usize) -> bool {
    // SAFETY: IsWindow accepts any value and only inspects the window table.
    unsafe { IsWindow(hwnd as HWND) != 0 }
}

/// A REG_SZ value from HKLM, or `None` (absent, wrong type, longer than 1024 characters).
pub(crate) fn registry_string(key: &str, value: &str) -> Option<String> {
    let (key, value) = (wide(key), wide(value));
    let mut buf = [0u16; 1024];
    let mut size = (buf.len() * 2) as u32;
    // SAFETY: NUL-terminated key and value names; the buffer and its byte size match.
    let rc = unsafe {
        RegGetValueW(
            HKEY_LOCAL_MACHINE,
            key.as_ptr(),
            value.as_ptr(),
            RRF_RT_REG_SZ,
            std::ptr::null_mut(),
            buf.as_mut_ptr().cast(),
            &mut size,
        )
    };
    if rc != 0 {
        return None;
    }
    let units = (size as usize / 2).min(buf.len());
    let s = String::from_utf16_lossy(&buf[..units]);
    Some(s.trim_end_matches('\0').to_string()).filter(|s| !s.is_empty())
}
