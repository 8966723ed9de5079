//! Windows builds of the card module get the export list of `packaging/windows/tessera_minidriver.def`
//! (undecorated names on x86) and a version resource (product name and version in the file properties).

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("windows") {
        return;
    }
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let def = manifest.join("../../packaging/windows/tessera_minidriver.def");
    println!("cargo:rerun-if-changed={}", def.display());
    let msvc = env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("msvc");
    if msvc {
        println!("cargo:rustc-cdylib-link-arg=/DEF:{}", def.display());
    } else {
        println!("cargo:rustc-cdylib-link-arg={}", def.display());
        version_resource();
    }
}

/// Compiles a VERSIONINFO resource with mingw's windres and links it into the DLL.
fn version_resource() {
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let version = env::var("CARGO_PKG_VERSION").expect("cargo sets CARGO_PKG_VERSION");
    let mut parts: Vec<u32> = version
        .split(['.', '-'])
        .take(3)
        .filter_map(|p| p.parse().ok())
        .collect();
    parts.resize(4, 0);
    let numeric = parts.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    let rc = format!(
        r#"1 VERSIONINFO
FILEVERSION {numeric}
PRODUCTVERSION {numeric}
FILEOS 0x40004
FILETYPE 0x2
BEGIN
  BLOCK "StringFileInfo"
  BEGIN
    BLOCK "040904B0"
    BEGIN
      VALUE "CompanyName", "Tessera project"
      VALUE "FileDescription", "Tessera smart card minidriver for PIV cards"
      VALUE "FileVersion", "{version}"
      VALUE "InternalName", "tessera_minidriver"
      VALUE "OriginalFilename", "tessera_minidriver.dll"
      VALUE "ProductName", "Tessera"
      VALUE "ProductVersion", "{version}"
    END
  END
  BLOCK "VarFileInfo"
  BEGIN
    VALUE "Translation", 0x409, 1200
  END
END
"#
    );
    let rc_path = out.join("version.rc");
    std::fs::write(&rc_path, rc).expect("write version.rc");
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let tool = env::var("WINDRES").unwrap_or_else(|_| match arch.as_str() {
        "x86" => "i686-w64-mingw32-windres".into(),
        "aarch64" => "aarch64-w64-mingw32-windres".into(),
        _ => "x86_64-w64-mingw32-windres".into(),
    });
    let obj = out.join("version.o");
    let status = Command::new(&tool)
        .arg(&rc_path)
        .args(["-O", "coff", "-o"])
        .arg(&obj)
        .status()
        .unwrap_or_else(|e| panic!("{tool} not found ({e}); install mingw-w64 binutils or set WINDRES"));
    assert!(status.success(), "{tool} failed on {}", rc_path.display());
    println!("cargo:rustc-cdylib-link-arg={}", obj.display());
}
