//! Marks whether `tmux` is on this machine: the test that types a PIN into a real terminal runs where it
//! is and is reported as ignored (with the reason) where it is not.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(tessera_has_tmux)");
    println!("cargo::rerun-if-env-changed=PATH");
    let found = std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        println!("cargo::rustc-cfg=tessera_has_tmux");
    }
}
