//! `startSync`, `syncRun`, `syncRuns`, `syncProgress`, the mirror (`directoryContacts`,
//! `directoryDepartments`), its clean-up (`deleteFlaggedEntries`, `updateStructure`,
//! `clearDirectory`) and `addMembersFromDirectory`.

use crate::{
    authz::{Grants, Permission},
    graphql::{
        change,
        enums::UserType,
        guard::{PermissionGuard, access, principal},
        member::types::Member,
        parse_id, parse_ids, state,
    },
    sync::{
        admit::{self, FromMirror},
        apply::Counts,
        directory::{self, Cleanup, ContactFilter},
        progress::{Phase, Progress},
        runner,
    },
};
use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use entity::{directory_contact, directory_department, enums, sync_run};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

/// What started a run.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum SyncTrigger {
    /// An administrator.
    Manual,
    /// The schedule.
    Schedule,
    /// A provider event.
    Event,
}

/// Where a run stands.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum SyncStatus {
    /// Reading or applying.
    Running,
    /// Applied.
    Succeeded,
    /// Stopped by an error; nothing was applied.
    Failed,
    /// Stopped by a shutdown; nothing was applied.
    Interrupted,
}

/// The record of one sync run.
pub struct SyncRun(pub sync_run::Model);

#[Object]
impl SyncRun {
    /// Id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The connection synced.
    async fn connection_id(&self) -> ID {
        ID(self.0.connection_id.to_string())
    }
    /// What started it.
    async fn trigger(&self) -> SyncTrigger {
        match self.0.trigger {
            enums::SyncTrigger::Manual => SyncTrigger::Manual,
            enums::SyncTrigger::Schedule => SyncTrigger::Schedule,
            enums::SyncTrigger::Event => SyncTrigger::Event,
        }
    }
    /// The member who started it (manual runs).
    async fn actor_member_id(&self) -> Option<ID> {
        self.0.actor_member_id.map(|id| ID(id.to_string()))
    }
    /// Where it stands.
    async fn status(&self) -> SyncStatus {
        match self.0.status {
            enums::SyncStatus::Running => SyncStatus::Running,
            enums::SyncStatus::Succeeded => SyncStatus::Succeeded,
            enums::SyncStatus::Failed => SyncStatus::Failed,
            enums::SyncStatus::Interrupted => SyncStatus::Interrupted,
        }
    }
    /// Started.
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }
    /// Finished, if it has.
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
    /// Entries added.
    async fn added(&self) -> i32 {
        self.0.added
    }
    /// Entries changed.
    async fn updated(&self) -> i32 {
        self.0.updated
    }
    /// Entries flagged renamed or gone.
    async fn flagged(&self) -> i32 {
        self.0.flagged
    }
    /// Entries removed.
    async fn removed(&self) -> i32 {
        self.0.removed
    }
    /// Why it failed, in plain words.
    async fn errors(&self) -> Vec<String> {
        serde_json::from_value(self.0.errors.clone()).unwrap_or_default()
    }
}

/// A progress phase.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum SyncPhase {
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

/// A progress report of a run.
#[derive(SimpleObject)]
pub struct SyncProgress {
    /// The run.
    pub run_id: ID,
    /// Phase.
    pub phase: SyncPhase,
    /// Departments read so far.
    pub departments_read: u64,
    /// Contacts read so far.
    pub contacts_read: u64,
    /// Provider calls so far.
    pub provider_calls: u64,
    /// Entries added (when finished).
    pub added: i32,
    /// Entries changed (when finished).
    pub updated: i32,
    /// Entries flagged (when finished).
    pub flagged: i32,
    /// Entries removed (when finished).
    pub removed: i32,
    /// Why it failed.
    pub error: Option<String>,
}

impl From<Progress> for SyncProgress {
    fn from(p: Progress) -> Self {
        Self {
            run_id: ID(p.run_id.to_string()),
            phase: match p.phase {
                Phase::Reading => SyncPhase::Reading,
                Phase::Applying => SyncPhase::Applying,
                Phase::Succeeded => SyncPhase::Succeeded,
                Phase::Failed => SyncPhase::Failed,
                Phase::Interrupted => SyncPhase::Interrupted,
            },
            departments_read: p.departments_read,
            contacts_read: p.contacts_read,
            provider_calls: p.provider_calls,
            added: p.counts.added,
            updated: p.counts.updated,
            flagged: p.counts.flagged,
            removed: p.counts.removed,
            error: p.error,
        }
    }
}

/// The progress a finished (or elsewhere running) run's record tells.
fn from_record(run: &sync_run::Model) -> Progress {
    Progress {
        run_id: run.id,
        organization_id: run.organization_id,
        phase: match run.status {
            enums::SyncStatus::Running => Phase::Reading,
            enums::SyncStatus::Succeeded => Phase::Succeeded,
            enums::SyncStatus::Failed => Phase::Failed,
            enums::SyncStatus::Interrupted => Phase::Interrupted,
        },
        departments_read: 0,
        contacts_read: 0,
        provider_calls: 0,
        counts: Counts {
            added: run.added,
            updated: run.updated,
            flagged: run.flagged,
            removed: run.removed,
        },
        error: serde_json::from_value::<Vec<String>>(run.errors.clone())
            .ok()
            .and_then(|e| e.into_iter().next()),
    }
}

/// A contact of the mirror.
pub struct DirectoryContact(pub directory_contact::Model);

#[Object]
impl DirectoryContact {
    /// Id (in Roster's mirror).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The provider's user id.
    async fn external_id(&self) -> &str {
        &self.0.external_id
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Email.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    /// Phone.
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    /// Job title.
    async fn title(&self) -> Option<&str> {
        self.0.title.as_deref()
    }
    /// The provider's ids of the contact's departments.
    async fn department_external_ids(&self) -> Vec<String> {
        serde_json::from_value(self.0.department_external_ids.clone()).unwrap_or_default()
    }
    /// Whether the provider reports the person active.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// The provider renamed them.
    async fn name_changed(&self) -> bool {
        self.0.name_changed
    }
    /// Gone from the provider.
    async fn to_be_deleted(&self) -> bool {
        self.0.to_be_deleted
    }
    /// When last changed by a sync.
    async fn synced_at(&self) -> DateTime<Utc> {
        self.0.synced_at
    }
}

/// A department of the mirror.
pub struct DirectoryDepartment(pub directory_department::Model);

#[Object]
impl DirectoryDepartment {
    /// Id (in Roster's mirror).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The provider's id.
    async fn external_id(&self) -> &str {
        &self.0.external_id
    }
    /// The provider's id of the parent.
    async fn parent_external_id(&self) -> Option<&str> {
        self.0.parent_external_id.as_deref()
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The provider renamed it.
    async fn name_changed(&self) -> bool {
        self.0.name_changed
    }
    /// Gone from the provider.
    async fn to_be_deleted(&self) -> bool {
        self.0.to_be_deleted
    }
}

/// Whom to add from the mirror.
#[derive(InputObject)]
pub struct AddMembersFromDirectoryInput {
    /// The account source (connection).
    pub connection_id: ID,
    /// Mirror contacts.
    #[graphql(default)]
    pub contact_ids: Vec<ID>,
    /// Mirror departments: everyone in them.
    #[graphql(default)]
    pub department_ids: Vec<ID>,
    /// Whether sub-departments count too.
    #[graphql(default)]
    pub include_sub_departments: bool,
    /// User type of new members.
    pub user_type: UserType,
    /// Organization role of new members (standard user when omitted); administrator roles
    /// only for developers and analysts.
    pub role_id: Option<ID>,
    /// Agents whose seats new members get (not for viewers; quotas respected).
    #[graphql(default)]
    pub agent_ids: Vec<ID>,
}

/// What adding from the mirror did.
#[derive(SimpleObject)]
pub struct AddMembersFromDirectoryReport {
    /// The run recording it.
    pub run: SyncRun,
    /// Members added.
    pub added: Vec<Member>,
    /// Members that already existed.
    pub existing: Vec<Member>,
}

/// What a clean-up removed.
#[derive(SimpleObject)]
pub struct DirectoryCleanup {
    /// Entries removed (mirror contacts and departments, structure departments).
    pub removed: i32,
}

/// Sync queries.
#[derive(Default)]
pub struct SyncQuery;

#[Object]
impl SyncQuery {
    /// Sync runs, newest first (at most `first`, 50 by default, 200 at most).
    ///
    /// **Permissions**: `org.sync.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageSync)")]
    async fn sync_runs(
        &self,
        ctx: &Context<'_>,
        connection_id: Option<ID>,
        first: Option<i32>,
    ) -> Result<Vec<SyncRun>> {
        let access = access(ctx, Permission::ManageSync)?;
        let conn = connection_id
            .map(|c| parse_id(&c, "connection"))
            .transpose()?;
        let limit = first.unwrap_or(50).clamp(1, 200) as u64;
        Ok(runner::list(&state(ctx)?.db, access.org_id(), conn, limit)
            .await?
            .into_iter()
            .map(SyncRun)
            .collect())
    }

    /// One run.
    ///
    /// **Permissions**: `org.sync.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageSync)")]
    async fn sync_run(&self, ctx: &Context<'_>, id: ID) -> Result<SyncRun> {
        let access = access(ctx, Permission::ManageSync)?;
        Ok(SyncRun(
            runner::get(&state(ctx)?.db, access.org_id(), parse_id(&id, "sync run")?).await?,
        ))
    }

    /// The contacts a connection mirrors (by id, `first` after the cursor id `after`).
    ///
    /// **Permissions**: `org.sync.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageSync)")]
    #[allow(clippy::too_many_arguments)]
    async fn directory_contacts(
        &self,
        ctx: &Context<'_>,
        connection_id: ID,
        keyword: Option<String>,
        flagged_only: Option<bool>,
        department_external_id: Option<String>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<DirectoryContact>> {
        let access = access(ctx, Permission::ManageSync)?;
        let filter = ContactFilter {
            keyword,
            flagged_only: flagged_only.unwrap_or(false),
            department_external_id,
        };
        let after = after.map(|a| parse_id(&a, "contact")).transpose()?;
        Ok(directory::contacts(
            &state(ctx)?.db,
            &access,
            parse_id(&connection_id, "connection")?,
            &filter,
            after,
            first.unwrap_or(100).clamp(1, 1000) as u64,
        )
        .await?
        .into_iter()
        .map(DirectoryContact)
        .collect())
    }

    /// The departments a connection mirrors.
    ///
    /// **Permissions**: `org.sync.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageSync)")]
    async fn directory_departments(
        &self,
        ctx: &Context<'_>,
        connection_id: ID,
    ) -> Result<Vec<DirectoryDepartment>> {
        let access = access(ctx, Permission::ManageSync)?;
        Ok(directory::departments(
            &state(ctx)?.db,
            &access,
            parse_id(&connection_id, "connection")?,
        )
        .await?
        .into_iter()
        .map(DirectoryDepartment)
        .collect())
    }
}

/// Sync mutations.
#[derive(Default)]
pub struct SyncMutation;

#[Object]
impl SyncMutation {
    /// Starts a full sync of a connection and returns its run at once (follow it with
    /// `syncProgress` or `syncRun`). Refused while another sync of the connection runs.
    ///
    /// **Permissions**: `org.sync.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageSync)")]
    async fn start_sync(&self, ctx: &Context<'_>, connection_id: ID) -> Result<SyncRun> {
        let access = access(ctx, Permission::ManageSync)?;
        Ok(SyncRun(
            runner::start_manual(
                state(ctx)?,
                &access,
                parse_id(&connection_id, "connection")?,
            )
            .await?,
        ))
    }

    /// Adds people of the mirror as members (the "sync organization chart" dialog).
    ///
    /// **Permissions**: `org.sync.manage`; roles other than standard user need the role grant
    /// rules of `createMember`; agents need `org.agents.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageSync)")]
    async fn add_members_from_directory(
        &self,
        ctx: &Context<'_>,
        input: AddMembersFromDirectoryInput,
    ) -> Result<AddMembersFromDirectoryReport> {
        let access = access(ctx, Permission::ManageSync)?;
        let grants = Grants::of(principal(ctx)?);
        let agent_access = if input.agent_ids.is_empty() {
            None
        } else {
            Some(crate::graphql::guard::access(
                ctx,
                Permission::ManageAgents,
            )?)
        };
        let added = admit::from_mirror(
            &state(ctx)?.db,
            &access,
            &grants,
            agent_access.as_ref(),
            FromMirror {
                connection_id: parse_id(&input.connection_id, "connection")?,
                contact_ids: parse_ids(&input.contact_ids, "contact")?,
                department_ids: parse_ids(&input.department_ids, "department")?,
                include_sub_departments: input.include_sub_departments,
                user_type: input.user_type.into(),
                role_id: input.role_id.map(|r| parse_id(&r, "role")).transpose()?,
                agent_ids: parse_ids(&input.agent_ids, "agent")?,
            },
            &change(ctx)?,
        )
        .await?;
        if !added.added.is_empty() {
            state(ctx)?.tables_grew();
        }
        Ok(AddMembersFromDirectoryReport {
            run: SyncRun(added.run),
            added: added.added.into_iter().map(Member::from).collect(),
            existing: added.existing.into_iter().map(Member::from).collect(),
        })
    }

    /// Deletes flagged mirror entries (renamed or gone), one or many; departments gone from the
    /// provider leave the department tree too.
    ///
    /// **Permissions**: `org.sync.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageSync)")]
    async fn delete_flagged_entries(
        &self,
        ctx: &Context<'_>,
        connection_id: ID,
        #[graphql(default)] contact_ids: Vec<ID>,
        #[graphql(default)] department_ids: Vec<ID>,
    ) -> Result<DirectoryCleanup> {
        let access = access(ctx, Permission::ManageSync)?;
        let what = Cleanup::Flagged {
            contact_ids: parse_ids(&contact_ids, "contact")?,
            department_ids: parse_ids(&department_ids, "department")?,
        };
        clean(ctx, &access, connection_id, what).await
    }

    /// "Update structure": removes every entry flagged as gone from the mirror and the
    /// department tree.
    ///
    /// **Permissions**: `org.sync.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageSync)")]
    async fn update_structure(
        &self,
        ctx: &Context<'_>,
        connection_id: ID,
    ) -> Result<DirectoryCleanup> {
        let access = access(ctx, Permission::ManageSync)?;
        clean(ctx, &access, connection_id, Cleanup::InvalidEntries).await
    }

    /// "Clear all": empties the connection's mirror and removes the departments it created.
    /// Permissions granted through those departments stop applying; members stay.
    ///
    /// **Permissions**: `org.sync.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageSync)")]
    async fn clear_directory(
        &self,
        ctx: &Context<'_>,
        connection_id: ID,
    ) -> Result<DirectoryCleanup> {
        let access = access(ctx, Permission::ManageSync)?;
        clean(ctx, &access, connection_id, Cleanup::Everything).await
    }
}

async fn clean(
    ctx: &Context<'_>,
    access: &crate::authz::OrgAccess,
    connection_id: ID,
    what: Cleanup,
) -> Result<DirectoryCleanup> {
    let counts = directory::clean(
        &state(ctx)?.db,
        access,
        parse_id(&connection_id, "connection")?,
        what,
        &change(ctx)?,
    )
    .await?;
    Ok(DirectoryCleanup {
        removed: counts.removed,
    })
}

/// Sync subscriptions.
#[derive(Default)]
pub struct SyncSubscription;

#[Subscription]
impl SyncSubscription {
    /// The progress of a run until it ends (the last report carries the counts or the error).
    /// A run already over yields its outcome once.
    ///
    /// **Permissions**: `org.sync.manage`.
    async fn sync_progress(
        &self,
        ctx: &Context<'_>,
        run_id: ID,
    ) -> Result<impl Stream<Item = SyncProgress> + use<>> {
        let access = access(ctx, Permission::ManageSync)?;
        let app = state(ctx)?;
        let rx = app.sync.subscribe();
        let run = runner::get(&app.db, access.org_id(), parse_id(&run_id, "sync run")?).await?;
        let first = if run.status == enums::SyncStatus::Running {
            app.sync.latest(run.id).unwrap_or_else(|| from_record(&run))
        } else {
            from_record(&run)
        };
        let id = run.id;
        Ok(futures_util::stream::unfold(
            (Some(first), Some(rx)),
            move |(pending, rx)| async move {
                if let Some(p) = pending {
                    let done = p.phase.finished();
                    return Some((SyncProgress::from(p), (None, if done { None } else { rx })));
                }
                let mut rx = rx?;
                loop {
                    match rx.recv().await {
                        Ok(p) if p.run_id == id => {
                            let done = p.phase.finished();
                            return Some((
                                SyncProgress::from(p),
                                (None, if done { None } else { Some(rx) }),
                            ));
                        }
                        Ok(_) | Err(RecvError::Lagged(_)) => continue,
                        Err(RecvError::Closed) => return None,
                    }
                }
            },
        ))
    }
}
