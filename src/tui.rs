//! The terminal shell: sets the terminal up (and restores it on exit and on
//! panic), reads input on its own thread, and redraws only after something
//! happened — no frame tick. Idle, it only reads the database's change
//! counter every 1.5 s (another desk's changes, `desk_watch`) and sends no
//! bytes unless something changed.

use crate::app::{App, Clock, Msg};
use crate::shell::Shell;
use crate::ui::{self, View};
use crossterm::event::{self, Event};
use ratatui::layout::Rect;
use std::sync::mpsc;
use std::time::Instant;

/// What wakes the loop: the terminal, or the uploader thread.
enum Input {
    Term(Event),
    Sync(crate::sync::SyncEvent),
    /// A background job that failed (the daily backup), for the status line.
    Failed(crate::i18n::Msg),
    /// The terminal went away (an SSH link dropped: SIGHUP, or input ended)
    /// or the system asked jkda to stop (SIGTERM).
    Hangup,
}

/// Everything the clinic program needs besides a logged-in user.
pub struct Clinic<'a> {
    pub dir: std::path::PathBuf,
    pub view: View<'a>,
    pub lang: crate::i18n::Lang,
    pub keymap: crate::keymap::Keymap,
    pub forms: &'a dyn Fn() -> crate::form::Registry,
    pub sync: crate::sync::SyncConfig,
    pub idle_after: Option<std::time::Duration>,
    pub startup_notice: Option<crate::i18n::Msg>,
    /// The management rules' settings (`[management]` in config.toml).
    pub management: crate::manage::Settings,
    /// `[backup]` in config.toml: the daily backup after the day's first login.
    pub backup: crate::config::BackupConfig,
}

/// The whole clinic program: login (or first-run installation), the work,
/// and back to the login after "log out", in one terminal session.
pub fn run_clinic(c: &Clinic) -> anyhow::Result<()> {
    if !std::io::IsTerminal::is_terminal(&std::io::stdout()) || !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        anyhow::bail!("not a terminal");
    }
    // A fixed viewport, fitted to the terminal before each frame with one
    // ioctl (`fit_to_terminal`): a fullscreen one opens /dev/tty for that.
    let (cols, rows) = crossterm::terminal::size()?;
    let mut terminal = crate::tui_backend::try_init_with_options(ratatui::TerminalOptions {
        viewport: ratatui::Viewport::Fixed(Rect::new(0, 0, cols, rows)),
    })?;
    let _ = crossterm::execute!(std::io::stdout(), event::EnableBracketedPaste);
    // Sets up crossterm's input source (and its SIGWINCH handler) now, not
    // whenever the reader thread first runs: a resize before that is lost.
    let _ = event::poll(std::time::Duration::ZERO);
    // ratatui's hook restores the screen on a panic; bracketed paste is ours.
    let restore = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = crossterm::execute!(std::io::stdout(), event::DisableBracketedPaste);
        restore(info);
    }));
    let (tx, rx) = mpsc::channel::<Input>();
    let term_tx = tx.clone();
    std::thread::spawn(move || {
        // Blocks in read(): the thread sleeps until the user does something.
        while let Ok(ev) = event::read() {
            if term_tx.send(Input::Term(ev)).is_err() {
                return;
            }
        }
        // No more input will ever come: not a reason to linger holding a draft.
        let _ = term_tx.send(Input::Hangup);
    });
    watch_hangup(tx.clone());
    let result = (|| -> anyhow::Result<()> {
        loop {
            let Some(session) = gate_loop(&mut terminal, &rx, c)? else {
                return Ok(());
            };
            let site = session.store.site().ok().flatten();
            let mut app = App::new(c.lang, c.keymap.clone(), site, &system_clock());
            app.session = Some(crate::app::SessionInfo {
                login: session.user.login.clone(),
                display_name: session.user.display_name.clone(),
                role: session.user.role,
            });
            app.idle_after = c.idle_after;
            if let Some(n) = &c.startup_notice {
                app.notice = Some(crate::app::Notice::Error(n.clone()));
            }
            let mut store = session.store;
            store.set_care_settings(c.management.clone());
            let mut shell = Shell::new(store, (c.forms)(), session.actor);
            shell.keyring = Some(session.keyring);
            if c.backup.dir.is_some() {
                daily_backup(c, &session.user.login, session.key.clone(), tx.clone());
            }
            let dir = c.dir.clone();
            let key = session.key;
            shell.sync_setup = Some(crate::shell::SyncSetup {
                config: c.sync.clone(),
                open: std::sync::Arc::new(move || crate::session::open_store(&dir, key.as_ref(), true)),
                config_dir: Some(c.dir.clone()),
            });
            event_loop(&mut terminal, &mut shell, &mut app, &c.view, &tx, &rx)?;
            if !shell.logged_out {
                return Ok(());
            }
        }
    })();
    let _ = crossterm::execute!(std::io::stdout(), event::DisableBracketedPaste);
    ratatui::restore();
    result
}

/// SIGHUP and SIGTERM become `Input::Hangup`: what is typed is saved and
/// jkda quits, where the default action would end it with up to two seconds
/// of typing not yet autosaved.
#[cfg(unix)]
fn watch_hangup(tx: mpsc::Sender<Input>) {
    use signal_hook::consts::{SIGHUP, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGHUP, SIGTERM]) else {
        return;
    };
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            let _ = tx.send(Input::Hangup);
        }
    });
}

#[cfg(not(unix))]
fn watch_hangup(_tx: mpsc::Sender<Input>) {}

/// The day's first login starts the automatic backup on its own thread and
/// connection, so work starts at once; only a failure is reported, on the
/// status line (the next login tries again).
fn daily_backup(c: &Clinic, login: &str, key: Option<crate::store::crypt::DbKey>, tx: mpsc::Sender<Input>) {
    let (dir, config, i18n) = (c.dir.clone(), c.backup.clone(), c.view.i18n.clone());
    let actor = crate::store::Actor::new(login);
    std::thread::spawn(move || {
        let result = crate::session::open_store(&dir, key.as_ref(), true)
            .map_err(crate::ops::OpsError::from)
            .and_then(|store| {
                let key = key.filter(|_| crate::store::Store::is_encrypted_file(store.path()));
                crate::ops::backup::daily(&store, &dir, key.as_ref(), &config, &actor, chrono::Local::now())
            });
        if let Err(e) = result {
            let m = crate::i18n::Msg::new("ops.daily_failed").arg("detail", i18n.msg(&e.message()));
            let _ = tx.send(Input::Failed(m));
        }
    });
}

/// Install, log in, change the password if required; None when the user quits.
fn gate_loop(
    terminal: &mut crate::tui_backend::LeanTerminal,
    rx: &mpsc::Receiver<Input>,
    c: &Clinic,
) -> anyhow::Result<Option<crate::session::Session>> {
    use crate::app::gate::{GateEffect, GateMode, GateState};
    use crate::session::{self, Start};
    let mode = match session::start(&c.dir) {
        Ok(Start::Install { need_site }) => GateMode::Install { need_site },
        Ok(Start::Login) => GateMode::Login,
        Err(m) => {
            let mut g = GateState::new(GateMode::Login);
            g.error = Some(m);
            g.mode.clone()
        }
    };
    let mut gate = GateState::new(mode);
    // The first login's password, kept (as a SecretString) for the forced
    // change that must not reuse it.
    let mut pending: Option<(crate::session::Session, secrecy::SecretString)> = None;
    loop {
        fit_to_terminal(terminal)?;
        terminal.draw(|f| ui::session_view::gate(f, &gate, &c.keymap, &c.view))?;
        let Ok(input) = rx.recv() else { return Ok(None) };
        let effect = match input {
            Input::Hangup => return Ok(None),
            Input::Term(Event::Key(k)) if k.kind != event::KeyEventKind::Release => gate.key(&c.keymap, k),
            Input::Term(Event::Paste(p)) => {
                gate.paste(&p);
                None
            }
            _ => None,
        };
        let result = match effect {
            None => continue,
            Some(GateEffect::Quit) => return Ok(None),
            // Every password below is a SecretString, wiped where it drops.
            Some(GateEffect::Install {
                site,
                login,
                name,
                password,
            }) => session::install(&c.dir, site.as_ref(), &login, &name, &password, true),
            Some(GateEffect::Login { login, password }) => match session::login(&c.dir, &login, &password) {
                Ok(s) if s.user.must_change => {
                    pending = Some((s, password));
                    gate = GateState::new(GateMode::ChangePassword);
                    continue;
                }
                other => other,
            },
            Some(GateEffect::ChangePassword { new }) => match pending.take() {
                Some((mut s, old)) => {
                    let r = session::change_password(&mut s, &old, &new);
                    match r {
                        Ok(()) => Ok(s),
                        // Refused (the same as the old one, say): the user
                        // tries again on the same screen, still logged in.
                        Err(m) => {
                            pending = Some((s, old));
                            Err(m)
                        }
                    }
                }
                None => continue,
            },
        };
        match result {
            Ok(s) => return Ok(Some(s)),
            Err(m) => gate.failed(m),
        }
    }
}

fn event_loop(
    terminal: &mut crate::tui_backend::LeanTerminal,
    shell: &mut Shell,
    app: &mut App,
    view: &View,
    tx: &mpsc::Sender<Input>,
    rx: &mpsc::Receiver<Input>,
) -> anyhow::Result<()> {
    let sync_tx = tx.clone();
    shell.start_sync(move |ev| {
        let _ = sync_tx.send(Input::Sync(ev));
    });
    let clock = system_clock();
    for msg in shell.startup(app, &clock) {
        shell.dispatch(app, msg, &clock);
    }
    fit_to_terminal(terminal)?;
    terminal.draw(|f| ui::draw(f, app, view))?;
    while !shell.quit {
        // Idle, jkda wakes every `desk_watch::POLL` to see whether another
        // desk changed the database, and draws only when it did.
        let poll = Instant::now() + crate::desk_watch::POLL;
        let wake = app.deadline().map_or(poll, |d| d.min(poll));
        let msg = match rx.recv_timeout(wake.saturating_duration_since(Instant::now())) {
            Ok(ev) => to_msg(ev),
            Err(mpsc::RecvTimeoutError::Timeout) if app.deadline().is_some_and(|d| d <= Instant::now()) => {
                Some(Msg::AutosaveDue)
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if shell.tick(app) {
                    fit_to_terminal(terminal)?;
                    terminal.draw(|f| ui::draw(f, app, view))?;
                }
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        let Some(msg) = msg else { continue };
        shell.dispatch(app, msg, &system_clock());
        // Several queued keys (a paste without bracketed mode, a fast typist
        // over SSH) are handled before one redraw.
        while let Ok(ev) = rx.try_recv() {
            if let Some(m) = to_msg(ev) {
                shell.dispatch(app, m, &system_clock());
            }
        }
        if !shell.quit {
            fit_to_terminal(terminal)?;
            terminal.draw(|f| ui::draw(f, app, view))?;
        }
    }
    Ok(())
}

/// Resizes the viewport if the terminal's size changed. Asked before every
/// frame rather than trusted to resize events: a SIGWINCH that arrives while
/// nobody listens (at start-up) would otherwise leave the screen at the old size.
fn fit_to_terminal(terminal: &mut crate::tui_backend::LeanTerminal) -> std::io::Result<()> {
    let Some((cols, rows)) = window_size() else {
        return Ok(());
    };
    if terminal.get_frame().area() != Rect::new(0, 0, cols, rows) {
        terminal.resize(Rect::new(0, 0, cols, rows))?;
    }
    Ok(())
}

/// The machine's clock, read here in the shell and handed to the core with
/// every message (the core never reads it itself).
pub fn system_clock() -> Clock {
    let now = chrono::Local::now().naive_local();
    Clock {
        today: now.date(),
        time: now.time(),
        instant: Instant::now(),
    }
}

// The ioctl needs `unsafe` (the package denies it elsewhere).
#[cfg(unix)]
#[allow(unsafe_code)]
fn window_size() -> Option<(u16, u16)> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes a winsize into the struct we own.
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    (ok && ws.ws_col > 0 && ws.ws_row > 0).then_some((ws.ws_col, ws.ws_row))
}

#[cfg(not(unix))]
fn window_size() -> Option<(u16, u16)> {
    crossterm::terminal::size().ok()
}

fn to_msg(input: Input) -> Option<Msg> {
    let ev = match input {
        Input::Sync(e) => return Some(Msg::Sync(e)),
        Input::Failed(m) => return Some(Msg::Failed(m)),
        Input::Hangup => return Some(Msg::Hangup),
        Input::Term(ev) => ev,
    };
    match ev {
        Event::Key(k) => Some(Msg::Key(k)),
        Event::Paste(s) => Some(Msg::Paste(s)),
        Event::Resize(_, _) => Some(Msg::Resize),
        _ => None,
    }
}
