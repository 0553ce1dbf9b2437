//! The terminal backend jkda draws through: ratatui's cell diff, written
//! with as few bytes as the terminal needs. Over SSH or a slow serial line
//! every byte of a keystroke's echo is latency, and ratatui's crossterm
//! backend spends most of them on bookkeeping: a cursor move before every
//! changed cell that does not follow the previous one (after every Chinese
//! character), one escape sequence per attribute and colours in 256-colour
//! form, four resets at the end of every frame, "show the cursor" and a move
//! to it every frame. Typing a digit into a decimal input cost 62 bytes, of
//! which the digit was one.
//!
//! This backend keeps ratatui's diffing (it is handed the same changed
//! cells) and keeps track of what the terminal already has:
//! - where the cursor is, so a cell that follows the previous one, or the
//!   cursor already where the frame wants it, costs no move. Only widths
//!   every terminal agrees on are trusted (ASCII, and characters that are
//!   wide in every locale, such as Chinese); after any other character the
//!   next cell is placed with an absolute move, as before;
//! - the attributes and colours in effect, changed by one `SGR` sequence
//!   holding only what differs (or a reset and the new ones, whichever is
//!   shorter), with the 16 standard colour codes (`33`, not `38;5;3`);
//! - whether the cursor is shown.
//!
//! Each frame still ends with the attributes reset, so nothing printed
//! after jkda (a panic message, the shell) inherits them; the frame is
//! written to the terminal in one `write`. The sequences are ANSI/VT ones,
//! which every terminal jkda supports understands (the Windows 10 console
//! once asked to, which [`try_init_with_options`] does); a Windows console
//! that cannot is drawn on through crossterm's console calls, as before.

use ratatui::backend::{Backend, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use ratatui::style::{Color, Modifier};
use ratatui::{Terminal, TerminalOptions};
use std::io::{self, Write};
use unicode_width::UnicodeWidthStr;

/// The terminal the clinic program draws on.
pub type LeanTerminal = Terminal<Output>;

/// Raw mode and a terminal drawing through [`LeanBackend`] on stdout; a
/// panic restores the terminal first (`ratatui::restore`), as
/// `ratatui::try_init_with_options` does.
pub fn try_init_with_options(options: TerminalOptions) -> io::Result<LeanTerminal> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        ratatui::restore();
        hook(info);
    }));
    crossterm::terminal::enable_raw_mode()?;
    // Asks the Windows console for VT sequences; older consoles refuse.
    #[cfg(windows)]
    let vt = crossterm::ansi_support::supports_ansi();
    #[cfg(not(windows))]
    let vt = true;
    let out = if vt {
        Output::Lean(LeanBackend::new(io::stdout()))
    } else {
        Output::Console(CrosstermBackend::new(io::stdout()))
    };
    Terminal::with_options(out, options)
}

/// Where frames go: [`LeanBackend`], or ratatui's crossterm backend for a
/// Windows console without VT sequences (crossterm then calls the console).
pub enum Output {
    Lean(LeanBackend<io::Stdout>),
    Console(CrosstermBackend<io::Stdout>),
}

/// One body for every [`Backend`] method of [`Output`]: the chosen backend's.
macro_rules! either {
    ($self:ident, $b:ident => $call:expr) => {
        match $self {
            Output::Lean($b) => $call,
            Output::Console($b) => $call,
        }
    };
}

impl Backend for Output {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        either!(self, b => b.draw(content))
    }
    fn append_lines(&mut self, n: u16) -> io::Result<()> {
        either!(self, b => b.append_lines(n))
    }
    fn hide_cursor(&mut self) -> io::Result<()> {
        either!(self, b => b.hide_cursor())
    }
    fn show_cursor(&mut self) -> io::Result<()> {
        either!(self, b => b.show_cursor())
    }
    fn get_cursor_position(&mut self) -> io::Result<Position> {
        either!(self, b => b.get_cursor_position())
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        either!(self, b => b.set_cursor_position(position))
    }
    fn clear(&mut self) -> io::Result<()> {
        either!(self, b => b.clear())
    }
    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        either!(self, b => b.clear_region(clear_type))
    }
    fn size(&self) -> io::Result<Size> {
        either!(self, b => b.size())
    }
    fn window_size(&mut self) -> io::Result<WindowSize> {
        either!(self, b => b.window_size())
    }
    fn flush(&mut self) -> io::Result<()> {
        either!(self, b => Backend::flush(b))
    }
}

/// Attributes and colours, as the terminal has them or a cell wants them.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Pen {
    fg: Color,
    bg: Color,
    modifier: Modifier,
}

const PLAIN: Pen = Pen {
    fg: Color::Reset,
    bg: Color::Reset,
    modifier: Modifier::empty(),
};

pub struct LeanBackend<W: Write> {
    out: W,
    /// This frame's bytes, written in one go by `flush`.
    buf: Vec<u8>,
    /// Where the terminal's cursor is, when known for certain.
    at: Option<Position>,
    pen: Pen,
    /// Whether the cursor is shown, once this backend has said so.
    cursor_shown: Option<bool>,
}

impl<W: Write> LeanBackend<W> {
    pub fn new(out: W) -> Self {
        LeanBackend {
            out,
            buf: Vec::with_capacity(4096),
            at: None,
            pen: PLAIN,
            cursor_shown: None,
        }
    }

    /// The writer drawn to (tests and benchmarks count its bytes).
    pub fn writer(&self) -> &W {
        &self.out
    }

    fn move_to(&mut self, p: Position) {
        if self.at == Some(p) {
            return;
        }
        // Row and column count from 1; a column of 1 can be left out.
        let (row, col) = (u32::from(p.y) + 1, u32::from(p.x) + 1);
        let _ = match col {
            1 => write!(self.buf, "\x1b[{row}H"),
            _ => write!(self.buf, "\x1b[{row};{col}H"),
        };
        self.at = Some(p);
    }

    fn set_pen(&mut self, to: Pen) {
        if self.pen == to {
            return;
        }
        let step = sgr_step(self.pen, to);
        let reset = sgr_reset(to);
        let shorter = if reset.len() < step.len() { reset } else { step };
        self.buf.extend_from_slice(b"\x1b[");
        self.buf.extend_from_slice(shorter.as_bytes());
        self.buf.push(b'm');
        self.pen = to;
    }

    fn print(&mut self, symbol: &str) {
        self.buf.extend_from_slice(symbol.as_bytes());
        self.at = match self.at {
            Some(p) => sure_width(symbol).map(|w| Position::new(p.x.saturating_add(w), p.y)),
            None => None,
        };
    }
}

/// How far the cursor moves after `symbol`, when every terminal agrees:
/// one column for printable ASCII, two for characters wide in every locale.
/// Characters of ambiguous width (`℃`, `²`, `±`) are one column in most
/// terminals and two in some set up for Chinese: after them, None.
fn sure_width(symbol: &str) -> Option<u16> {
    let mut chars = symbol.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        if c.is_ascii_graphic() || c == ' ' {
            return Some(1);
        }
    }
    let w = symbol.width();
    (w > 0 && w == symbol.width_cjk() && symbol.chars().all(|c| !c.is_control())).then_some(w as u16)
}

/// The SGR parameters that take the terminal from `from` to `to`, changing
/// only what differs.
fn sgr_step(from: Pen, to: Pen) -> String {
    let mut codes: Vec<String> = Vec::new();
    let removed = from.modifier - to.modifier;
    let mut added = to.modifier - from.modifier;
    if removed.intersects(Modifier::BOLD | Modifier::DIM) {
        // One code ends both bold and dim: the one to keep is set again.
        codes.push("22".into());
        added |= to.modifier & (Modifier::BOLD | Modifier::DIM);
    }
    for (m, off) in [
        (Modifier::ITALIC, "23"),
        (Modifier::UNDERLINED, "24"),
        (Modifier::SLOW_BLINK | Modifier::RAPID_BLINK, "25"),
        (Modifier::REVERSED, "27"),
        (Modifier::HIDDEN, "28"),
        (Modifier::CROSSED_OUT, "29"),
    ] {
        if removed.intersects(m) {
            codes.push(off.into());
            added |= to.modifier & m;
        }
    }
    codes.extend(modifier_codes(added));
    if from.fg != to.fg {
        codes.push(color_code(to.fg, false));
    }
    if from.bg != to.bg {
        codes.push(color_code(to.bg, true));
    }
    codes.join(";")
}

/// The SGR parameters that reset everything and set `to` from nothing.
fn sgr_reset(to: Pen) -> String {
    if to == PLAIN {
        // `ESC [ m` is a reset: no parameter means 0.
        return String::new();
    }
    let mut codes = vec!["0".to_string()];
    codes.extend(modifier_codes(to.modifier));
    if to.fg != Color::Reset {
        codes.push(color_code(to.fg, false));
    }
    if to.bg != Color::Reset {
        codes.push(color_code(to.bg, true));
    }
    codes.join(";")
}

fn modifier_codes(m: Modifier) -> impl Iterator<Item = String> {
    [
        (Modifier::BOLD, "1"),
        (Modifier::DIM, "2"),
        (Modifier::ITALIC, "3"),
        (Modifier::UNDERLINED, "4"),
        (Modifier::SLOW_BLINK, "5"),
        (Modifier::RAPID_BLINK, "6"),
        (Modifier::REVERSED, "7"),
        (Modifier::HIDDEN, "8"),
        (Modifier::CROSSED_OUT, "9"),
    ]
    .into_iter()
    .filter(move |(flag, _)| m.contains(*flag))
    .map(|(_, code)| code.to_string())
}

/// A colour as SGR parameters: the 16 standard colours by their own codes
/// (30–37, 90–97, backgrounds 10 more), others in 256-colour or RGB form.
fn color_code(c: Color, background: bool) -> String {
    let base: u8 = if background { 40 } else { 30 };
    let bright = base + 60;
    let code = |n: u8| n.to_string();
    match c {
        Color::Reset => code(base + 9),
        Color::Black => code(base),
        Color::Red => code(base + 1),
        Color::Green => code(base + 2),
        Color::Yellow => code(base + 3),
        Color::Blue => code(base + 4),
        Color::Magenta => code(base + 5),
        Color::Cyan => code(base + 6),
        Color::Gray => code(base + 7),
        Color::DarkGray => code(bright),
        Color::LightRed => code(bright + 1),
        Color::LightGreen => code(bright + 2),
        Color::LightYellow => code(bright + 3),
        Color::LightBlue => code(bright + 4),
        Color::LightMagenta => code(bright + 5),
        Color::LightCyan => code(bright + 6),
        Color::White => code(bright + 7),
        Color::Indexed(i) => format!("{};5;{i}", base + 8),
        Color::Rgb(r, g, b) => format!("{};2;{r};{g};{b}", base + 8),
    }
}

impl<W: Write> Drop for LeanBackend<W> {
    /// ratatui shows a hidden cursor again when its terminal is dropped,
    /// after the last frame: that must still reach the terminal.
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

impl<W: Write> Backend for LeanBackend<W> {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        for (x, y, cell) in content {
            self.move_to(Position::new(x, y));
            self.set_pen(Pen {
                fg: cell.fg,
                bg: cell.bg,
                modifier: cell.modifier,
            });
            self.print(cell.symbol());
        }
        self.set_pen(PLAIN);
        Ok(())
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        if self.cursor_shown != Some(false) {
            self.buf.extend_from_slice(b"\x1b[?25l");
            self.cursor_shown = Some(false);
        }
        Ok(())
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        if self.cursor_shown != Some(true) {
            self.buf.extend_from_slice(b"\x1b[?25h");
            self.cursor_shown = Some(true);
        }
        Ok(())
    }

    fn get_cursor_position(&mut self) -> io::Result<Position> {
        self.flush()?;
        let (x, y) = crossterm::cursor::position()?;
        Ok(Position::new(x, y))
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        self.move_to(position.into());
        Ok(())
    }

    fn clear(&mut self) -> io::Result<()> {
        self.clear_region(ClearType::All)
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        // Erasing fills with the current background: plain first. Clearing
        // follows a resize, which may have moved the cursor (reflow).
        self.set_pen(PLAIN);
        self.at = None;
        let seq: &[u8] = match clear_type {
            ClearType::All => b"\x1b[2J",
            ClearType::AfterCursor => b"\x1b[J",
            ClearType::BeforeCursor => b"\x1b[1J",
            ClearType::CurrentLine => b"\x1b[2K",
            ClearType::UntilNewLine => b"\x1b[K",
        };
        self.buf.extend_from_slice(seq);
        self.flush()
    }

    fn append_lines(&mut self, n: u16) -> io::Result<()> {
        for _ in 0..n {
            self.buf.push(b'\n');
        }
        // Where a line feed leaves the cursor depends on the terminal's modes.
        self.at = None;
        self.flush()
    }

    fn size(&self) -> io::Result<Size> {
        let (width, height) = crossterm::terminal::size()?;
        Ok(Size { width, height })
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        let w = crossterm::terminal::window_size()?;
        Ok(WindowSize {
            columns_rows: Size {
                width: w.columns,
                height: w.rows,
            },
            pixels: Size {
                width: w.width,
                height: w.height,
            },
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            let written = self.out.write_all(&self.buf);
            self.buf.clear();
            if written.is_err() {
                // Part of it may have reached the terminal: place the next cell for sure.
                self.at = None;
                self.pen = PLAIN;
            }
            written?;
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    fn pen(fg: Color, modifier: Modifier) -> Pen {
        Pen {
            fg,
            bg: Color::Reset,
            modifier,
        }
    }

    #[test]
    fn attributes_change_in_one_sequence_with_standard_colour_codes() {
        let focus = pen(Color::Yellow, Modifier::BOLD | Modifier::UNDERLINED);
        assert_eq!(sgr_step(PLAIN, focus), "1;4;33");
        assert_eq!(sgr_reset(PLAIN), "");
        // Bold off but dim kept: 22 ends both, so dim is set again.
        let dim = pen(Color::DarkGray, Modifier::DIM);
        assert_eq!(
            sgr_step(pen(Color::DarkGray, Modifier::BOLD | Modifier::DIM), dim),
            "22;2"
        );
        assert_eq!(color_code(Color::Indexed(208), false), "38;5;208");
        assert_eq!(color_code(Color::LightGreen, true), "102");
    }

    /// Draws `after` over `before` as ratatui does (the diff), returning the bytes.
    fn frame_bytes(backend: &mut LeanBackend<Vec<u8>>, before: &Buffer, after: &Buffer) -> String {
        backend.out.clear();
        backend.draw(before.diff(after).into_iter()).unwrap();
        backend.flush().unwrap();
        String::from_utf8(backend.out.clone()).unwrap()
    }

    #[test]
    fn contiguous_cells_and_wide_characters_need_no_moves_but_ambiguous_ones_do() {
        let area = Rect::new(0, 0, 20, 2);
        let blank = Buffer::empty(area);
        let mut text = Buffer::empty(area);
        text.set_string(2, 0, "体温36", Style::new());
        text.set_string(0, 1, "℃x", Style::new());
        let mut b = LeanBackend::new(Vec::new());
        let out = frame_bytes(&mut b, &blank, &text);
        // One move for the first line; the second line starts at column 1,
        // and after the ambiguous ℃ the x is placed for sure.
        assert_eq!(out, "\x1b[1;3H体温36\x1b[2H℃\x1b[2;2Hx");
        // The cursor is left after "x": asking for it there costs nothing.
        b.out.clear();
        b.set_cursor_position(Position::new(2, 1)).unwrap();
        b.show_cursor().unwrap();
        b.flush().unwrap();
        assert_eq!(b.out, b"\x1b[?25h");
        b.out.clear();
        b.show_cursor().unwrap();
        b.flush().unwrap();
        assert!(b.out.is_empty(), "the cursor is shown once, not every frame");
    }

    /// A writer whose bytes outlive the backend.
    #[derive(Clone, Default)]
    struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_cursor_hidden_by_a_frame_is_shown_again_when_the_terminal_goes() {
        let out = Shared::default();
        let options = TerminalOptions {
            viewport: ratatui::Viewport::Fixed(Rect::new(0, 0, 10, 2)),
        };
        let mut term = Terminal::with_options(LeanBackend::new(out.clone()), options).unwrap();
        term.draw(|f| f.render_widget("x", f.area())).unwrap();
        assert!(out.0.borrow().ends_with(b"\x1b[?25l"), "no cursor wanted: hidden");
        drop(term);
        assert!(out.0.borrow().ends_with(b"\x1b[?25h"));
    }

    #[test]
    fn a_styled_frame_ends_with_the_attributes_reset() {
        let area = Rect::new(0, 0, 10, 1);
        let blank = Buffer::empty(area);
        let mut typed = Buffer::empty(area);
        let focus = Style::new()
            .fg(Color::Yellow)
            .add_modifier(Modifier::BOLD | Modifier::UNDERLINED);
        typed.set_string(3, 0, "7", focus);
        let mut b = LeanBackend::new(Vec::new());
        assert_eq!(frame_bytes(&mut b, &blank, &typed), "\x1b[1;4H\x1b[1;4;33m7\x1b[m");
    }
}
