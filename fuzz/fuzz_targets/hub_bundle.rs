//! A body POSTed to the hub: read as a transaction Bundle, then written in
//! one SQLite transaction. Either may refuse it (an OperationOutcome for
//! the client); neither may panic, and a refusal is never the hub's fault
//! (a database error would be a 500).

#![no_main]

use jkda::hub::{bundle_in, storage, HubError};
use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;

thread_local! {
    /// One hub database for the run: later inputs meet what earlier ones wrote.
    static HUB: RefCell<(rusqlite::Connection, jkda::form::Registry)> = RefCell::new({
        let path = std::env::temp_dir().join(format!("jkda-fuzz-hub-{}.sqlite", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let conn = storage::open(&path).expect("hub database");
        conn.pragma_update(None, "synchronous", "OFF").expect("pragma");
        (conn, jkda::form::Registry::embedded())
    });
}

fuzz_target!(|data: &[u8]| {
    let Ok(entries) = bundle_in::read_transaction(data) else {
        return;
    };
    HUB.with_borrow_mut(|(conn, forms)| {
        if let Err(e) = storage::transaction(conn, forms, "s1", &entries, None) {
            assert!(
                !matches!(e, HubError::Sqlite(_) | HubError::Io(_) | HubError::Aborted),
                "the hub failed on a client's Bundle: {e}"
            );
        }
    });
});
