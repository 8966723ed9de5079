//! Output habits: colour only when standard output is a terminal and `NO_COLOR` is unset
//! (<https://no-color.org>), progress bars on standard error only when it is a terminal, and plain
//! aligned tables.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// Whether to colour standard output.
pub fn colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn paint(code: &str, text: &str) -> String {
    if colour() {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

/// Green.
pub fn good(text: &str) -> String {
    paint("32", text)
}

/// Red.
pub fn bad(text: &str) -> String {
    paint("31", text)
}

/// Yellow.
pub fn warn(text: &str) -> String {
    paint("33", text)
}

/// Bold.
pub fn bold(text: &str) -> String {
    paint("1", text)
}

/// "ok" or "FAILED", coloured.
pub fn verdict(ok: bool) -> String {
    if ok { good("ok") } else { bad("FAILED") }
}

/// A spinner on standard error for a step of unknown length (RSA key generation); hidden when standard
/// error is not a terminal.
pub fn spinner(message: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_message(message.to_owned());
    if std::io::stderr().is_terminal() {
        bar.enable_steady_tick(Duration::from_millis(100));
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar
}

/// A progress bar of `total` units on standard error (hidden when it is not a terminal).
pub fn progress(total: u64, message: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    if std::io::stderr().is_terminal() {
        if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} APDUs") {
            bar.set_style(style.progress_chars("=> "));
        }
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_message(message.to_owned());
    bar
}

/// A table with left-aligned columns separated by two spaces (colour codes excluded from widths).
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let width = |s: &str| visible_len(s);
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(columns) {
            widths[i] = widths[i].max(width(cell));
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<String>, out: &mut String| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            text.push_str(cell);
            if i + 1 < cells.len() {
                text.push_str(&" ".repeat(widths[i].saturating_sub(width(cell)) + 2));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(header.iter().map(|h| bold(h)).collect(), &mut out);
    for row in rows {
        line(row.clone(), &mut out);
    }
    out
}

/// Characters shown, without ANSI colour sequences.
fn visible_len(s: &str) -> usize {
    let mut n = 0;
    let mut in_escape = false;
    for c in s.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => n += 1,
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_ignore_colour_codes() {
        assert_eq!(visible_len("\x1b[32mok\x1b[0m"), 2);
        let t = table(&["a", "b"], &[vec!["\x1b[31mFAILED\x1b[0m".into(), "x".into()]]);
        let last = t.lines().last().unwrap_or_default();
        assert!(last.ends_with("  x"), "{t:?}");
    }
}
