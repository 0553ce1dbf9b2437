//! The terminal shell: sets the terminal up (and restores it on exit and on
//! panic), reads input on its own thread, and redraws only after something
//! happened — no frame tick, so an idle jkda uses no CPU and sends no bytes.

use crate::app::{App, Clock, Msg};
use crate::shell::Shell;
use crate::ui::{self, View};
use crossterm::event::{self, Event};
use std::sync::mpsc;
use std::time::Instant;

pub fn run(shell: &mut Shell, app: &mut App, view: &View) -> anyhow::Result<()> {
    if !std::io::IsTerminal::is_terminal(&std::io::stdout()) || !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        anyhow::bail!("not a terminal");
    }
    let mut terminal = ratatui::try_init()?;
    let _ = crossterm::execute!(std::io::stdout(), event::EnableBracketedPaste);
    let result = event_loop(&mut terminal, shell, app, view);
    let _ = crossterm::execute!(std::io::stdout(), event::DisableBracketedPaste);
    ratatui::restore();
    result
}

fn event_loop(terminal: &mut ratatui::DefaultTerminal, shell: &mut Shell, app: &mut App, view: &View) -> anyhow::Result<()> {
    let (tx, rx) = mpsc::channel::<Event>();
    std::thread::spawn(move || {
        // Blocks in read(): the thread sleeps until the user does something.
        while let Ok(ev) = event::read() {
            if tx.send(ev).is_err() {
                break;
            }
        }
    });
    let clock = Clock::now();
    for msg in shell.startup(app, &clock) {
        shell.dispatch(app, msg, &clock);
    }
    terminal.draw(|f| ui::draw(f, app, view))?;
    while !app.quit {
        let msg = match app.deadline() {
            Some(deadline) => {
                let wait = deadline.saturating_duration_since(Instant::now());
                match rx.recv_timeout(wait) {
                    Ok(ev) => to_msg(ev),
                    Err(mpsc::RecvTimeoutError::Timeout) => Some(Msg::AutosaveDue),
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            }
            None => match rx.recv() {
                Ok(ev) => to_msg(ev),
                Err(_) => break,
            },
        };
        let Some(msg) = msg else { continue };
        shell.dispatch(app, msg, &Clock::now());
        // Several queued keys (a paste without bracketed mode, a fast typist
        // over SSH) are handled before one redraw.
        while let Ok(ev) = rx.try_recv() {
            if let Some(m) = to_msg(ev) {
                shell.dispatch(app, m, &Clock::now());
            }
        }
        if !app.quit {
            terminal.draw(|f| ui::draw(f, app, view))?;
        }
    }
    Ok(())
}

fn to_msg(ev: Event) -> Option<Msg> {
    match ev {
        Event::Key(k) => Some(Msg::Key(k)),
        Event::Paste(s) => Some(Msg::Paste(s)),
        Event::Resize(_, _) => Some(Msg::Resize),
        _ => None,
    }
}
