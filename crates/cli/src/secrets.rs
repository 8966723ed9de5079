//! PINs, PUKs and management keys: asked for at the terminal without echo, or read from standard input
//! (`--pin-stdin`, one secret per line, in the order the command asks for them), or — only when the user
//! passes them explicitly — taken from the command line with a warning that other users can see them.
//! Every secret is held in a [`Zeroizing`] buffer and never printed.

use std::io::{BufRead, IsTerminal};

use tessera_piv::PaddedPin;
use zeroize::Zeroizing;

use crate::errors::{CliError, CliResult};

/// Where secrets come from.
pub struct SecretInput {
    from_stdin: bool,
    pin_argument: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for SecretInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretInput")
            .field("from_stdin", &self.from_stdin)
            .field("pin_argument", &self.pin_argument.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Printed when a secret was given on the command line.
pub fn warn_argv(what: &str) {
    eprintln!(
        "tessera: warning: the {what} was given on the command line, where other users of this machine \
         can see it (ps, shell history); prefer the prompt or --pin-stdin"
    );
}

impl SecretInput {
    /// From the global options. A PIN given on the command line is taken (with a warning) for the first
    /// PIN the command asks for.
    pub fn new(from_stdin: bool, pin_argument: Option<String>) -> Self {
        if pin_argument.is_some() {
            warn_argv("PIN");
        }
        Self {
            from_stdin,
            pin_argument: pin_argument.map(Zeroizing::new),
        }
    }

    /// The current PIN.
    pub fn pin(&mut self, prompt: &str) -> CliResult<PaddedPin> {
        if let Some(pin) = self.pin_argument.take() {
            return padded(&pin, "PIN");
        }
        let text = self.read(prompt)?;
        padded(&text, "PIN")
    }

    /// A PIN or PUK that is not the first PIN (a PUK, a current PUK).
    pub fn existing(&mut self, prompt: &str, what: &str) -> CliResult<PaddedPin> {
        let text = self.read(prompt)?;
        padded(&text, what)
    }

    /// A new PIN or PUK: asked twice at the terminal (once from standard input), 6–8 characters.
    pub fn new_value(&mut self, what: &str) -> CliResult<PaddedPin> {
        let first = self.read(&format!("New {what}: "))?;
        if !self.from_stdin {
            let again = self.read(&format!("New {what} again: "))?;
            if *again != *first {
                return Err(CliError::Input(format!(
                    "the two new {what}s differ; nothing was changed"
                )));
            }
        }
        if !(6..=8).contains(&first.len()) {
            return Err(CliError::Input(format!(
                "a PIV {what} has 6 to 8 characters; nothing was changed"
            )));
        }
        padded(&first, what)
    }

    /// Any other secret text (a management key in hex).
    pub fn text(&mut self, prompt: &str) -> CliResult<Zeroizing<String>> {
        self.read(prompt)
    }

    fn read(&mut self, prompt: &str) -> CliResult<Zeroizing<String>> {
        if self.from_stdin {
            let mut line = Zeroizing::new(String::new());
            let n = std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| CliError::Input(format!("reading a secret from standard input: {e}")))?;
            if n == 0 {
                return Err(CliError::Input(format!(
                    "standard input ended before the secret asked for by \"{}\"",
                    prompt.trim_end_matches([':', ' '])
                )));
            }
            let trimmed = Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_owned());
            return Ok(trimmed);
        }
        if !std::io::stdin().is_terminal() && !has_terminal() {
            return Err(CliError::Input(format!(
                "no terminal to ask for \"{}\": pass --pin-stdin and write the secrets to standard input",
                prompt.trim_end_matches([':', ' '])
            )));
        }
        rpassword::prompt_password(prompt)
            .map(Zeroizing::new)
            .map_err(|e| {
                CliError::Input(format!(
                    "cannot read \"{}\" from the terminal ({e}): pass --pin-stdin instead",
                    prompt.trim_end_matches([':', ' '])
                ))
            })
    }
}

/// True when the process has a controlling terminal to prompt on.
fn has_terminal() -> bool {
    #[cfg(unix)]
    {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .is_ok()
    }
    #[cfg(not(unix))]
    {
        std::io::stderr().is_terminal()
    }
}

fn padded(text: &str, what: &str) -> CliResult<PaddedPin> {
    PaddedPin::new(text.as_bytes()).map_err(|e| CliError::Input(format!("unusable {what}: {e}")))
}
