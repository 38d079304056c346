//! Carries out the app's silence commands against a [`SilenceBackend`] and turns each
//! result into the [`Action`] the app expects back. The runtime runs these in spawned
//! tasks; tests call [`Executor::execute`] directly, so they drive the board's own write path.

use std::sync::Arc;

use crate::action::Action;
use crate::app::alerts::{AlertAction, AlertsSetup};
use crate::app::Command;
use crate::config::Settings;
use crate::sources::silences::SilenceBackend;
use crate::sources::FleetSource;

/// Where silence commands go, and whether writes are allowed at all.
#[derive(Clone)]
pub struct Executor {
    /// The Alertmanager silence API; `None` when there is no Alertmanager to write to, and
    /// every silence command is then answered with an error.
    pub backend: Option<Arc<dyn SilenceBackend>>,
    /// `--read-only`: every write is refused here too, not only in the app.
    pub read_only: bool,
}

impl Executor {
    /// An executor sending silence commands to `backend`, refusing writes when `read_only`.
    pub fn new(backend: Option<Arc<dyn SilenceBackend>>, read_only: bool) -> Self {
        Self { backend, read_only }
    }

    /// The executor for `source` under `settings`, and the action that tells the app
    /// what it can do (the app changes only through [`crate::app::App::update`]).
    pub fn prepare(settings: &Settings, source: &dyn FleetSource) -> (Self, Action) {
        let ex = Self::new(source.silences(), settings.read_only);
        let setup = AlertsSetup {
            read_only: settings.read_only,
            read_only_why: if settings.wall {
                "wall mode is read-only".into()
            } else {
                "--read-only".into()
            },
            writable: ex.backend.is_some(),
            author: login_name(),
            host_label: settings.identity.host_label.clone(),
            cluster_label: settings.identity.cluster_label.clone(),
        };
        (ex, Action::Alerts(AlertAction::Setup(setup)))
    }

    /// Whether `cmd` is one of the commands this executor carries out.
    pub fn handles(cmd: &Command) -> bool {
        matches!(
            cmd,
            Command::FetchSilences | Command::CreateSilence(_) | Command::ExpireSilence(_)
        )
    }

    /// Carries out one command; `None` for commands that are not about silences.
    pub async fn execute(&self, cmd: Command) -> Option<Action> {
        const NO_AM: &str = "silences need an Alertmanager: start with -a URL";
        const RO: &str = "read-only mode (--read-only): writes are disabled";
        let a = match cmd {
            Command::FetchSilences => AlertAction::SilencesLoaded(match &self.backend {
                None => Err(NO_AM.into()),
                Some(b) => b.list().await.map_err(|e| e.to_string()),
            }),
            Command::CreateSilence(s) => AlertAction::SilenceCreated(match &self.backend {
                _ if self.read_only => Err(RO.into()),
                None => Err(NO_AM.into()),
                Some(b) => b
                    .create(&s)
                    .await
                    .map(|(id, _)| id)
                    .map_err(|e| e.to_string()),
            }),
            Command::ExpireSilence(id) => {
                let result = match &self.backend {
                    _ if self.read_only => Err(RO.into()),
                    None => Err(NO_AM.into()),
                    Some(b) => b.expire(&id).await.map(|_| ()).map_err(|e| e.to_string()),
                };
                AlertAction::SilenceExpired { id, result }
            }
            Command::RefreshNow
            | Command::Quit
            | Command::FetchHistory(_)
            | Command::CancelHistory
            | Command::SetReplay(_)
            | Command::OpenUrl(_)
            | Command::RunCommand(_) => return None,
        };
        Some(Action::Alerts(a))
    }
}

/// The login name, for the author of a silence: `$USER`, else `$LOGNAME`.
pub fn login_name() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_default()
}
