//! Live progress of sync runs: the latest state of each run on this instance and a broadcast of
//! every update, for the `syncProgress` subscription.

use super::apply::Counts;
use serde::Serialize;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};
use tokio::sync::broadcast;

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Phase {
    /// Reading the provider's chart.
    Reading,
    /// Writing the difference.
    Applying,
    /// Applied.
    Succeeded,
    /// Stopped by an error; nothing applied.
    Failed,
    /// Stopped by a shutdown; nothing applied.
    Interrupted,
}

impl Phase {
    /// Whether the run is over.
    pub fn finished(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Interrupted)
    }
}

/// One progress report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The run.
    pub run_id: i64,
    /// Its organization.
    pub organization_id: i64,
    /// Phase.
    pub phase: Phase,
    /// Departments read so far.
    pub departments_read: u64,
    /// Contacts read so far.
    pub contacts_read: u64,
    /// Provider calls so far.
    pub provider_calls: u64,
    /// What was applied (when finished).
    pub counts: Counts,
    /// Why it failed.
    pub error: Option<String>,
}

/// The progress hub of an instance.
#[derive(Clone)]
pub struct SyncHub {
    /// This instance's name in leases.
    pub instance: Arc<str>,
    sender: broadcast::Sender<Progress>,
    latest: Arc<Mutex<HashMap<i64, Progress>>>,
    running: Arc<Mutex<HashMap<i64, RunningTask>>>,
}

/// A full sync run this instance is executing.
pub struct RunningTask {
    /// The connection synced.
    pub connection_id: i64,
    /// The lease holder name the run uses.
    pub holder: String,
    /// The task executing it.
    pub task: tokio::task::JoinHandle<()>,
}

impl Default for SyncHub {
    fn default() -> Self {
        Self {
            instance: format!("roster-{}", crate::auth::random_token(8)).into(),
            sender: broadcast::channel(256).0,
            latest: Arc::default(),
            running: Arc::default(),
        }
    }
}

impl SyncHub {
    /// Publishes a report (finished runs are forgotten from the latest map).
    pub fn publish(&self, progress: Progress) {
        {
            let mut latest = self.latest.lock().unwrap_or_else(|e| e.into_inner());
            if progress.phase.finished() {
                latest.remove(&progress.run_id);
            } else {
                latest.insert(progress.run_id, progress.clone());
            }
        }
        let _ = self.sender.send(progress);
    }

    /// Remembers a run this instance executes, so that a graceful stop can interrupt it.
    pub fn track(&self, run: i64, task: RunningTask) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running.insert(run, task);
    }

    /// Forgets a run that ended (recorded as succeeded or failed).
    pub fn untrack(&self, run: i64) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running.remove(&run);
    }

    /// Takes every run this instance started and did not see end: still executing, or
    /// cancelled with the runtime of the HTTP worker that started it, which a stopping server
    /// drops before its own shutdown work runs.
    pub fn take_running(&self) -> Vec<(i64, RunningTask)> {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running.drain().collect()
    }

    /// A lease holder name for one piece of work of this instance.
    pub fn holder(&self) -> String {
        format!("{}#{}", self.instance, crate::auth::random_token(6))
    }

    /// The latest report of a run still going on this instance.
    pub fn latest(&self, run: i64) -> Option<Progress> {
        self.latest
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&run)
            .cloned()
    }

    /// Every report from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Progress> {
        self.sender.subscribe()
    }
}
