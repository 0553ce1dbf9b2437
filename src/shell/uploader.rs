//! The shell's side of uploading: the uploader thread it starts and talks
//! to, and the upload settings read again from `config.toml` when they change.

use super::Shell;
use crate::app::Msg;
use crate::form::Registry;
use crate::i18n::Msg as Text;
use crate::store::Actor;
use std::sync::Arc;

impl Shell {
    /// Starts the uploader thread when `sync_setup` is set; its events go to
    /// `notify` (the terminal loop's channel). Not configured, the thread
    /// says so (`SyncEvent::Disabled`) and waits.
    pub fn start_sync(&mut self, notify: impl Fn(crate::sync::SyncEvent) + Send + Sync + 'static) {
        self.sync_notify = Some(Arc::new(notify));
        self.spawn_uploader();
    }

    pub(super) fn spawn_uploader(&mut self) {
        let (Some(setup), Some(notify)) = (&self.sync_setup, &self.sync_notify) else {
            return;
        };
        let open = setup.open.clone();
        let notify = notify.clone();
        self.sync = Some(crate::sync::spawn(
            Box::new(move || open()),
            setup.config.clone(),
            Arc::new(Registry::embedded()),
            Actor::new(format!("{}/sync", self.actor.user)),
            move |ev| notify(ev),
        ));
    }

    pub(super) fn send_sync(&self, cmd: crate::sync::SyncCommand) -> Vec<Msg> {
        match (&self.sync, cmd) {
            (Some(s), cmd) => {
                s.send(cmd);
                Vec::new()
            }
            (None, crate::sync::SyncCommand::Fetch(query)) => vec![Msg::Sync(crate::sync::SyncEvent::Fetched {
                query,
                result: Err(Text::new("sync.err_not_configured")),
            })],
            (None, crate::sync::SyncCommand::Link { .. }) => vec![Msg::Sync(crate::sync::SyncEvent::Linked(Err(
                Text::new("sync.err_not_configured"),
            )))],
            (None, _) => Vec::new(),
        }
    }

    /// Why an upload cannot even start (no `server_url` or `site_token`),
    /// said at once instead of a key that does nothing.
    pub(super) fn sync_unusable(&self) -> Option<Text> {
        let setup = self.sync_setup.as_ref()?;
        (!setup.config.is_configured()).then(|| Text::new("sync.err_not_configured"))
    }

    /// Reads `config.toml` again when its modification time (or length)
    /// changed since this session last looked, and restarts the uploader
    /// when the upload settings in it changed: writing `server_url` and
    /// `site_token` needs no restart of jkda. A file that no longer parses
    /// is reported and the settings in use are kept.
    pub fn reload_sync_config(&mut self) -> Option<Text> {
        let dir = self.sync_setup.as_ref()?.config_dir.clone()?;
        let file = dir.join(crate::paths::CONFIG_FILE);
        let stamp = std::fs::metadata(&file).ok().map(|m| (m.modified().ok(), m.len()));
        if self.config_stamp.as_ref() == Some(&stamp) {
            return None;
        }
        self.config_stamp = Some(stamp);
        let (config, error) = crate::config::Config::load(&dir);
        if let Some(e) = error {
            return Some(e.message());
        }
        let read = crate::sync::SyncConfig::from_config(&config);
        let setup = self.sync_setup.as_mut()?;
        let key = |c: &crate::sync::SyncConfig| {
            (
                c.server_url.clone(),
                c.token.as_ref().map(|t| t.expose().to_string()),
                c.ca_file.clone(),
                c.identifiers.clone(),
            )
        };
        if key(&setup.config) == key(&read) {
            return None;
        }
        // Only what config.toml says changes; timeouts and the rest stay.
        setup.config = crate::sync::SyncConfig {
            server_url: read.server_url,
            token: read.token,
            ca_file: read.ca_file,
            identifiers: read.identifiers,
            ..setup.config.clone()
        };
        if let Some(old) = self.sync.take() {
            old.stop();
        }
        self.spawn_uploader();
        None
    }
}
