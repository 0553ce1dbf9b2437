//! The upload side of the clinic screen, kept beside its own update: what
//! the status line says (waiting count, time of the last confirmed upload,
//! the last problem in plain words), the list of waiting and failed uploads
//! (an overlay; its keys are the keymap's `uploads`), and fetching a resident from the platform when
//! a full ID number finds nobody here. The uploader runs on its own thread;
//! this only turns its events into state and key presses into commands.

use super::overlay::{Kind, Overlay};
use super::{App, Effect, Notice, Screen};
use crate::i18n::Msg as Text;
use crate::keymap::Action;
use crate::store::OutboxRow;
use crate::sync::{SyncCommand, SyncEvent};

#[derive(Debug, Default)]
pub struct SyncInfo {
    /// When the platform last confirmed an upload, in local time for display.
    pub last_success: Option<String>,
    /// The problem that keeps records waiting, if any.
    pub last_error: Option<Text>,
    /// Uploading cannot start (not set up, a settings problem): shown at
    /// the top of the upload list, and on the status line when asked to upload.
    pub disabled: Option<Text>,
    pub rows: Vec<OutboxRow>,
    pub selected: usize,
    /// ID numbers already looked up on the platform (each once per session).
    pub fetched: Vec<String>,
}

/// `2026-11-29T13:05:00.000Z` -> `11-29 21:05` in the PC's time zone.
pub fn local_time(utc: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(utc)
        .map(|t| t.with_timezone(&chrono::Local).format("%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| utc.to_string())
}

/// The query as an 18-character ID number (ASCII, `X` uppercase) when it
/// has that shape: 17 digits and a digit or X, typed half- or full-width
/// (a Chinese input method gives `１２３…`). Counted in characters, not
/// bytes: six full-width digits are 18 bytes too (issue 12).
fn id_number_query(q: &str) -> Option<String> {
    let folded: String = q
        .trim()
        .chars()
        .map(|c| crate::identity::to_halfwidth(c).to_ascii_uppercase())
        .collect();
    let (body, last) = folded.split_at_checked(17)?;
    let shaped =
        body.len() == 17 && body.bytes().all(|b| b.is_ascii_digit()) && matches!(last.as_bytes(), [b'0'..=b'9' | b'X']);
    shaped.then_some(folded)
}

/// The resident and the platform's Patient of an upload refused as the
/// same person (`sync.err_registered_same|site|patient|record_no|resident`).
fn link_target(stored: &str) -> Option<(i64, String)> {
    let mut parts = stored.split('|');
    if parts.next()? != "sync.err_registered_same" {
        return None;
    }
    let patient = parts.nth(1)?.to_string();
    let resident = parts.nth(1)?.parse().ok()?;
    Some((resident, patient))
}

impl App {
    pub fn sync_event(&mut self, ev: SyncEvent) -> Vec<Effect> {
        match ev {
            SyncEvent::Ran { status, error, .. } => {
                self.pending_uploads = status.pending + status.failed + status.conflict;
                self.sync.last_success = status.last_success.as_deref().map(local_time);
                self.sync.last_error = error;
                // Working now: the "not set up" said before is no longer true.
                if let Some(d) = self.sync.disabled.take() {
                    if self.notice == Some(Notice::Error(d)) {
                        self.notice = None;
                    }
                }
                if self.overlays.is_open(Kind::Uploads) {
                    return vec![Effect::LoadOutbox];
                }
            }
            SyncEvent::Disabled(m) => {
                // Said plainly where the user just asked for an upload.
                if self.overlays.is_open(Kind::Uploads) {
                    self.notice = Some(Notice::Error(m.clone()));
                }
                self.sync.disabled = Some(m.clone());
                self.sync.last_error = Some(m);
            }
            SyncEvent::Fetched { query, result } => match result {
                Ok(Some(_)) => {
                    self.notice = Some(Notice::Info(Text::new("sync.fetched")));
                    // Still showing the search that asked (typed full- or half-width).
                    if let Screen::Residents(l) = &self.screen {
                        if id_number_query(l.query.text()).as_deref() == Some(query.as_str()) {
                            return vec![Effect::Search(l.query.text().to_string().into())];
                        }
                    }
                }
                Ok(None) => self.notice = Some(Notice::Info(Text::new("sync.fetch_none"))),
                Err(m) => self.notice = Some(Notice::Error(m)),
            },
            SyncEvent::Linked(result) => {
                self.notice = Some(match result {
                    Ok(record_no) => Notice::Info(Text::new("sync.linked").arg("record_no", record_no)),
                    Err(m) => Notice::Error(m),
                });
                return vec![Effect::LoadOutbox, Effect::Sync(SyncCommand::Nudge)];
            }
            SyncEvent::Stopped => {}
        }
        Vec::new()
    }

    /// A local search came back: a full ID number that matches nobody here
    /// is looked up on the platform (once).
    pub(crate) fn maybe_fetch(&mut self, query: &str, found_nothing: bool) -> Vec<Effect> {
        let Some(id) = id_number_query(query).filter(|_| found_nothing) else {
            return Vec::new();
        };
        if self.sync.fetched.contains(&id) {
            return Vec::new();
        }
        self.sync.fetched.push(id.clone());
        self.notice = Some(Notice::Info(Text::new("sync.fetching")));
        // The platform is asked in ASCII, however the number was typed.
        vec![Effect::Sync(SyncCommand::Fetch(id.into()))]
    }

    /// Opens the upload list (in front) and asks for its rows and an upload.
    pub(crate) fn open_uploads(&mut self) -> Vec<Effect> {
        self.overlays.push(Overlay::Uploads);
        self.sync.selected = 0;
        vec![Effect::LoadOutbox, Effect::Sync(SyncCommand::Nudge)]
    }

    /// Keys for the upload list in front (the keymap's `[uploads]`).
    pub(crate) fn uploads_key(&mut self, action: Option<Action>) -> Vec<Effect> {
        let s = &mut self.sync;
        match action {
            Some(Action::Back) => self.overlays.close(Kind::Uploads),
            Some(Action::Up) => s.selected = s.selected.saturating_sub(1),
            Some(Action::Down) => s.selected = (s.selected + 1).min(s.rows.len().saturating_sub(1)),
            Some(Action::Send) => return vec![Effect::Sync(SyncCommand::Nudge)],
            Some(Action::Retry) => return vec![Effect::Sync(SyncCommand::RetryFailed), Effect::LoadOutbox],
            Some(Action::Link) => {
                // Only an upload refused as the same person already on the platform.
                let target = s
                    .rows
                    .get(s.selected)
                    .and_then(|r| link_target(r.last_error.as_deref()?));
                return match target {
                    Some((resident, patient)) => {
                        self.notice = Some(Notice::Info(Text::new("sync.linking")));
                        vec![Effect::Sync(SyncCommand::Link { resident, patient })]
                    }
                    None => {
                        self.notice = Some(Notice::Info(Text::new("sync.link_not_offered")));
                        Vec::new()
                    }
                };
            }
            Some(Action::Compare) => return self.compare_selected(),
            _ => {}
        }
        Vec::new()
    }

    pub(crate) fn outbox_rows(&mut self, rows: Vec<OutboxRow>) {
        self.sync.selected = self.sync.selected.min(rows.len().saturating_sub(1));
        self.sync.rows = rows;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Msg;

    fn app() -> App {
        let site = crate::store::SiteConfig {
            division: "220602".into(),
            township: "101".into(),
            village: "101".into(),
            name: "x".into(),
        };
        App::new(
            crate::i18n::Lang::Zh,
            crate::keymap::Keymap::default(),
            Some(site),
            &test_clock(),
        )
    }

    #[test]
    fn upload_events_update_the_status_line() {
        let mut a = app();
        let status = crate::store::OutboxStatus {
            pending: 3,
            failed: 1,
            last_success: Some("2026-11-29T13:05:00.000Z".into()),
            ..Default::default()
        };
        let error = Some(Text::new("sync.err_timeout"));
        let ev = SyncEvent::Ran {
            sent: 2,
            failed: 0,
            conflicts: 0,
            status,
            error: error.clone(),
        };
        assert!(a.sync_event(ev).is_empty());
        assert_eq!(a.pending_uploads, 4);
        assert_eq!(a.sync.last_error, error);
        assert!(
            a.sync.last_success.as_deref().is_some_and(|t| t.len() == 11),
            "{:?}",
            a.sync.last_success
        );
    }

    #[test]
    fn f9_opens_the_upload_list_and_a_full_id_number_is_fetched_once() {
        use crate::keymap::press;
        let mut a = app();
        let clock = test_clock();
        let effects = a.update(Msg::Key(press("f9")), &clock);
        assert!(matches!(
            effects.as_slice(),
            [Effect::LoadOutbox, Effect::Sync(SyncCommand::Nudge)]
        ));
        assert!(a.overlays.is_open(Kind::Uploads));
        assert!(matches!(
            a.update(Msg::Key(press("r")), &clock).as_slice(),
            [Effect::Sync(SyncCommand::RetryFailed), Effect::LoadOutbox]
        ));
        a.update(Msg::Key(press("ctrl-y")), &clock);
        assert!(!a.overlays.is_open(Kind::Uploads));
        a.update(Msg::Key(press("ctrl-y")), &clock);
        assert!(a.overlays.is_open(Kind::Uploads), "ctrl-y opens it too");
        a.update(Msg::Key(press("esc")), &clock);
        assert!(!a.overlays.is_open(Kind::Uploads));
        let id = "22060219500304002X";
        assert!(
            matches!(a.maybe_fetch(id, true).as_slice(), [Effect::Sync(SyncCommand::Fetch(q))] if q.as_str() == id)
        );
        assert!(a.maybe_fetch(id, true).is_empty(), "asked once per session");
        assert!(a.maybe_fetch("220602195003040038", false).is_empty(), "found locally");
    }

    #[test]
    fn l_links_only_an_upload_refused_as_the_same_person() {
        let mut a = app();
        a.overlays.push(crate::app::overlay::Overlay::Uploads);
        let row = |e: &str| OutboxRow {
            id: 1,
            record_id: 1,
            revision: 1,
            state: "failed".into(),
            attempts: 1,
            last_error: Some(e.into()),
            next_attempt_at: None,
            updated_at: String::new(),
            form_id: "f".into(),
            record_date: None,
            record_no: String::new(),
            resident_masked: String::new(),
        };
        a.outbox_rows(vec![
            row("sync.err_registered_id_card|s1|Patient/p-1"),
            row("sync.err_registered_same|s1|Patient/p-1|22060210110100004|7"),
        ]);
        let link = || Some(Action::Link);
        assert!(a.uploads_key(link()).is_empty());
        assert_eq!(a.notice, Some(Notice::Info(Text::new("sync.link_not_offered"))));
        a.sync.selected = 1;
        assert!(matches!(
            a.uploads_key(link()).as_slice(),
            [Effect::Sync(SyncCommand::Link { resident: 7, patient })] if patient == "Patient/p-1"
        ));
        let done = a.sync_event(SyncEvent::Linked(Ok("22060210110100004".into())));
        assert!(matches!(
            done.as_slice(),
            [Effect::LoadOutbox, Effect::Sync(SyncCommand::Nudge)]
        ));
    }

    #[test]
    fn id_numbers_are_recognised() {
        assert_eq!(
            id_number_query(" 22060219500304002x ").as_deref(),
            Some("22060219500304002X")
        );
        assert_eq!(
            id_number_query("２２０６０２１９５００３０４００２Ｘ").as_deref(),
            Some("22060219500304002X")
        );
        assert_eq!(id_number_query("2206021950030400"), None);
        assert_eq!(id_number_query("张三"), None);
        assert_eq!(id_number_query("22060219500304002XX"), None);
        assert_eq!(id_number_query("2206021950030400ZX"), None);
    }

    /// Issue 12: six full-width digits are 18 bytes; slicing at byte 17 panicked.
    #[test]
    fn full_width_digits_that_find_nobody_do_not_panic() {
        for q in [
            "１２３４５６",
            "张三李四王五",
            "😀😀😀😀1X",
            "１２３４５６７８９０１２３４５６７Ｘ",
        ] {
            let mut a = app();
            a.update(Msg::Paste(q.to_string()), &test_clock());
            let effects = a.update(
                Msg::ResidentsFound {
                    query: q.to_string(),
                    rows: Vec::new(),
                },
                &test_clock(),
            );
            let fetch = matches!(effects.as_slice(), [Effect::Sync(SyncCommand::Fetch(id))] if id.as_str() == "12345678901234567X");
            assert_eq!(fetch, q.ends_with('Ｘ'), "{q}: {effects:?}");
        }
    }

    fn test_clock() -> crate::app::Clock {
        crate::app::Clock {
            today: chrono::NaiveDate::from_ymd_opt(2026, 11, 29).expect("a date"),
            time: chrono::NaiveTime::MIN,
            instant: std::time::Instant::now(),
        }
    }
}
