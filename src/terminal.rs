//! The one owner of raw mode and the alternate screen. Restores the terminal on
//! every exit path: drop, panic (hook), and signals (the runtime quits cleanly).

use std::io::{self, Write};

use crossterm::{cursor, event, execute, terminal};

pub struct TerminalGuard {
    active: bool,
}

fn restore() {
    let mut out = io::stdout();
    // Each step is attempted even if an earlier one fails.
    let _ = execute!(out, event::DisableMouseCapture);
    let _ = execute!(out, terminal::LeaveAlternateScreen);
    let _ = terminal::disable_raw_mode();
    let _ = execute!(out, cursor::Show);
    let _ = out.flush();
}

impl TerminalGuard {
    pub fn enter() -> io::Result<Self> {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            prev(info);
        }));
        terminal::enable_raw_mode()?;
        let mut out = io::stdout();
        if let Err(e) = execute!(
            out,
            terminal::EnterAlternateScreen,
            event::EnableMouseCapture,
            cursor::Hide
        ) {
            restore();
            return Err(e);
        }
        Ok(Self { active: true })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        if self.active {
            self.active = false;
            restore();
        }
    }
}
