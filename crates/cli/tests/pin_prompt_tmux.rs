//! The PIN prompt does not echo: `tessera pin change` runs in a real terminal (a detached tmux session),
//! the PINs are typed as keystrokes, and the screen afterwards shows the prompts but none of the PINs.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]

use std::process::Command;
use std::time::{Duration, Instant};

mod common;
use common::{card, s, tessera};

struct Tmux {
    socket: String,
    session: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .env("TERM", "xterm")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", &self.session])
    }

    /// Waits until the screen shows `text`.
    fn wait_for(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "waited 30 s for {text:?}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn type_line(&self, text: &str) {
        self.run(&["send-keys", "-t", &self.session, "-l", text]);
        self.run(&["send-keys", "-t", &self.session, "Enter"]);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

#[test]
#[cfg_attr(
    not(tessera_has_tmux),
    ignore = "needs tmux (scripts/test.sh installs it; apt-get install tmux)"
)]
fn the_pin_prompt_does_not_echo() {
    let (_dir, path) = card();
    let tmux = Tmux {
        socket: format!("tessera-test-{}", std::process::id()),
        session: "pin".into(),
    };
    let command = format!(
        "NO_COLOR=1 '{}' pin change --virtual '{}'; echo EXIT=$?; sleep 60",
        env!("CARGO_BIN_EXE_tessera"),
        s(&path)
    );
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        &tmux.session,
        "-x",
        "160",
        "-y",
        "40",
        &command,
    ]);
    tmux.wait_for("Current PIN:");
    tmux.type_line("123456");
    tmux.wait_for("New PIN:");
    tmux.type_line("24681357");
    tmux.wait_for("New PIN again:");
    tmux.type_line("24681357");
    let screen = tmux.wait_for("EXIT=");
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(screen.contains("PIN changed"), "{screen}");
    assert!(
        !screen.contains("123456"),
        "the current PIN was echoed:\n{screen}"
    );
    assert!(!screen.contains("24681357"), "the new PIN was echoed:\n{screen}");
    // The typed PIN really reached the card.
    tessera(
        &["pin", "change", "--pin-stdin", "--virtual", s(&path)],
        "24681357\n123456\n",
    )
    .expect(0);
}
