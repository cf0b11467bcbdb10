//! Running syncs: one at a time per connection (a database lease, so across instances too), each
//! recorded as a `sync_run`. A run reads the provider's whole chart first and then applies the
//! difference in one transaction, so any failure — a provider error, a timeout, a lost lease, a
//! killed process — leaves the mirror and the members exactly as they were.

use super::{
    apply::{self, Counts},
    lease,
    progress::{Phase, Progress, RunningTask},
};
use crate::{
    authz::OrgAccess,
    error::{Error, Result, error_chain},
    org::connections::{self, TeamsDepartments},
    providers::{
        directory::{ReadProgress, ReadScope, Snapshot},
        microsoft::groups::ChartChanges,
    },
    state::AppState,
};
use chrono::{DateTime, Utc};
use entity::{
    connection,
    enums::{AutoAddPolicy, Provider, SyncStatus, SyncTrigger},
    sync_run,
};
use sea_orm::{
    ActiveEnum, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::json;
use std::{sync::Arc, sync::atomic::Ordering, time::Duration};
use tracing::Instrument as _;

/// The lease of a connection's syncs.
pub fn lease_name(connection_id: i64) -> String {
    format!("sync:{connection_id}")
}

/// A run of the organization.
pub async fn get(db: &DatabaseConnection, org: i64, id: i64) -> Result<sync_run::Model> {
    sync_run::Entity::find_by_id(id)
        .filter(sync_run::Column::OrganizationId.eq(org))
        .one(db)
        .await?
        .ok_or(Error::NotFound("sync run"))
}

/// The organization's runs, newest first, optionally of one connection.
pub async fn list(
    db: &DatabaseConnection,
    org: i64,
    connection_id: Option<i64>,
    limit: u64,
) -> Result<Vec<sync_run::Model>> {
    let mut query = sync_run::Entity::find().filter(sync_run::Column::OrganizationId.eq(org));
    if let Some(c) = connection_id {
        query = query.filter(sync_run::Column::ConnectionId.eq(c));
    }
    Ok(query
        .order_by_desc(sync_run::Column::StartedAt)
        .order_by_desc(sync_run::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Starts a full sync an administrator asked for; returns the run at once.
///
/// **Permissions**: `org.sync.manage`.
pub async fn start_manual(
    app: &AppState,
    access: &OrgAccess,
    connection_id: i64,
) -> Result<sync_run::Model> {
    let conn = connections::get(&app.db, access.org_id(), connection_id).await?;
    launch(app, conn, SyncTrigger::Manual, Some(access.actor())).await
}

/// Takes the connection's lease, records the run and starts it in the background.
pub async fn launch(
    app: &AppState,
    conn: connection::Model,
    trigger: SyncTrigger,
    actor: Option<i64>,
) -> Result<sync_run::Model> {
    launch_unless_started_since(app, conn, trigger, actor, None).await
}

/// When the last full (not event) run of a connection started.
async fn last_started(db: &DatabaseConnection, connection: i64) -> Result<Option<DateTime<Utc>>> {
    Ok(sync_run::Entity::find()
        .filter(sync_run::Column::ConnectionId.eq(connection))
        .filter(sync_run::Column::Trigger.ne(SyncTrigger::Event))
        .order_by_desc(sync_run::Column::StartedAt)
        .one(db)
        .await?
        .map(|r| r.started_at))
}

/// [`launch`]; with `since`, the run is not started (CONFLICT) when another one started after
/// that moment, checked while holding the lease, so that instances whose schedulers tick
/// together start one run, not one each.
async fn launch_unless_started_since(
    app: &AppState,
    conn: connection::Model,
    trigger: SyncTrigger,
    actor: Option<i64>,
    since: Option<DateTime<Utc>>,
) -> Result<sync_run::Model> {
    if !conn.enabled {
        return Err(Error::validation(
            "connectionId",
            format!(
                "the connection `{}` is disabled; enable it before syncing",
                conn.name
            ),
        ));
    }
    if conn.push_enabled {
        let waiting = crate::push::outbox::backlog_of(&app.db, conn.id)
            .await?
            .pending;
        if waiting > 0 {
            let (changes, them, they) = if waiting == 1 {
                ("change is", "it", "it is")
            } else {
                ("changes are", "them", "they are")
            };
            return Err(Error::Conflict(format!(
                "{waiting} local {changes} still on the way to DingTalk; a full sync now would undo {them} here. Sync once {they} delivered (see outboxItems)"
            )));
        }
    }
    let name = lease_name(conn.id);
    // Each run holds the lease under its own name, so that nothing of an earlier run of this
    // instance can renew or release it.
    let holder = app.sync.holder();
    if !lease::acquire(&app.db, &name, &holder).await? {
        return Err(Error::Conflict(format!(
            "a sync of `{}` is already running; wait for it to finish (see syncRuns)",
            conn.name
        )));
    }
    if let Some(since) = since
        && last_started(&app.db, conn.id)
            .await?
            .is_some_and(|t| t > since)
    {
        lease::release(&app.db, &name, &holder).await?;
        return Err(Error::Conflict(format!(
            "a sync of `{}` started meanwhile",
            conn.name
        )));
    }
    let run = match record_start(&app.db, &conn, trigger, actor).await {
        Ok(run) => run,
        Err(e) => {
            lease::release(&app.db, &name, &holder).await?;
            return Err(e);
        }
    };
    let (state, started, connection_id) = (app.clone(), run.clone(), conn.id);
    // Every line the run logs, provider calls and retries included, carries its run and
    // connection: `grep '"run":42'` follows one sync.
    let span = tracing::info_span!(
        "sync_run",
        run = run.id,
        connection = conn.id,
        organization = conn.organization_id
    );
    tracing::info!(parent: &span, trigger = ?trigger, actor, "sync run started");
    let task = tokio::spawn(
        {
            let holder = holder.clone();
            async move { execute(&state, conn, started, holder).await }
        }
        .instrument(span),
    );
    app.sync.track(
        run.id,
        RunningTask {
            connection_id,
            holder,
            task,
        },
    );
    Ok(run)
}

/// Records the start of a run.
pub(crate) async fn record_start<C: sea_orm::ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    trigger: SyncTrigger,
    actor: Option<i64>,
) -> Result<sync_run::Model> {
    Ok(sync_run::Entity::insert(sync_run::ActiveModel {
        organization_id: Set(conn.organization_id),
        connection_id: Set(conn.id),
        trigger: Set(trigger),
        actor_member_id: Set(actor),
        status: Set(SyncStatus::Running),
        started_at: Set(Utc::now()),
        finished_at: Set(None),
        added: Set(0),
        updated: Set(0),
        flagged: Set(0),
        removed: Set(0),
        errors: Set(json!([])),
        ..Default::default()
    })
    .exec_with_returning(db)
    .await?)
}

fn report(run: &sync_run::Model, phase: Phase, read: &ReadProgress) -> Progress {
    Progress {
        run_id: run.id,
        organization_id: run.organization_id,
        phase,
        departments_read: read.departments.load(Ordering::Relaxed),
        contacts_read: read.contacts.load(Ordering::Relaxed),
        provider_calls: read.calls.load(Ordering::Relaxed),
        counts: Counts::default(),
        error: None,
    }
}

/// The Graph delta links a full read of a Teams connection ends with.
struct DeltaLinks {
    users: String,
    /// With groups as departments.
    groups: Option<String>,
}

/// Reads the connection's whole chart from its provider.
async fn read(
    app: &AppState,
    conn: &connection::Model,
    progress: &ReadProgress,
) -> Result<(Snapshot, Option<DeltaLinks>)> {
    let scope = ReadScope {
        departments: connections::sync_departments(conn),
        concurrency: app.settings.sync.concurrency,
        tags: conn.provider == Provider::Wecom && connections::sync_tags(conn),
    };
    match conn.provider {
        Provider::Dingtalk => {
            let dt = connections::dingtalk_app(&app.secrets, conn)?;
            Ok((
                app.providers
                    .dingtalk
                    .read_directory(&dt, &scope, progress)
                    .await?,
                None,
            ))
        }
        Provider::Wecom => {
            let wc = connections::wecom_app(&app.secrets, conn)?;
            Ok((
                app.providers
                    .wecom
                    .read_directory(&wc, &scope, progress)
                    .await?,
                None,
            ))
        }
        Provider::Teams => {
            let ms = connections::microsoft_app(&app.secrets, conn)?;
            let graph = &app.providers.microsoft;
            Ok(match connections::teams_departments(conn) {
                TeamsDepartments::Attribute => {
                    let (snapshot, users) = graph.read_directory(&ms, progress).await?;
                    (
                        snapshot,
                        Some(DeltaLinks {
                            users,
                            groups: None,
                        }),
                    )
                }
                TeamsDepartments::Groups => {
                    let (snapshot, users, groups) = graph
                        .read_directory_by_groups(&ms, &scope.departments, progress)
                        .await?;
                    (
                        snapshot,
                        Some(DeltaLinks {
                            users,
                            groups: Some(groups),
                        }),
                    )
                }
            })
        }
    }
}

/// Runs a recorded sync to its end and records how it ended; the lease is given up after.
async fn execute(app: &AppState, conn: connection::Model, run: sync_run::Model, holder: String) {
    let name = lease_name(conn.id);
    let renewer = {
        let db = app.db.clone();
        let (name, holder) = (name.clone(), holder.clone());
        crate::AbortOnDrop(tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(30));
            every.tick().await;
            loop {
                every.tick().await;
                match lease::renew(&db, &name, &holder).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(lease = %name, "the sync lease was lost");
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(lease = %name, error = %error_chain(&e), "renewing the sync lease failed")
                    }
                }
            }
        }))
    };
    let progress = Arc::new(ReadProgress::default());
    let ticker = {
        let (hub, progress, run) = (app.sync.clone(), progress.clone(), run.clone());
        crate::AbortOnDrop(tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis(250));
            loop {
                every.tick().await;
                hub.publish(report(&run, Phase::Reading, &progress));
            }
        }))
    };
    let started = std::time::Instant::now();
    let outcome = async {
        let (snapshot, delta) = read(app, &conn, &progress).await?;
        drop(ticker);
        let read_ms = started.elapsed().as_millis() as u64;
        app.sync.publish(report(&run, Phase::Applying, &progress));
        let counts = apply_full(app, &conn, &run, &holder, snapshot, delta).await?;
        tracing::info!(
            run = run.id,
            connection = conn.id,
            read_ms,
            total_ms = started.elapsed().as_millis() as u64,
            calls = progress.calls.load(Ordering::Relaxed),
            added = counts.added,
            updated = counts.updated,
            flagged = counts.flagged,
            removed = counts.removed,
            "sync run succeeded"
        );
        Ok::<_, Error>(counts)
    }
    .await;
    drop(renewer);
    let mut last = report(&run, Phase::Succeeded, &progress);
    match outcome {
        Ok(counts) => {
            if counts.added > 0 {
                app.tables_grew();
            }
            last.counts = counts;
        }
        Err(e) => {
            let message = e.to_string();
            tracing::warn!(run = run.id, connection = conn.id, error = %error_chain(&e), "sync run failed");
            if let Err(e) = record_failure(&app.db, &run, &name, &holder, &message).await {
                tracing::error!(run = run.id, error = %error_chain(&e), "recording the failed sync run failed");
            }
            last.phase = Phase::Failed;
            last.error = Some(message);
        }
    }
    app.sync.publish(last);
    app.sync.untrack(run.id);
}

/// Records a failed run and gives its lease up in one transaction, so that once the run reads
/// as finished a new one may start.
async fn record_failure(
    db: &DatabaseConnection,
    run: &sync_run::Model,
    lease: &str,
    holder: &str,
    message: &str,
) -> Result<()> {
    let txn = crate::db::begin_write(db).await?;
    finish(
        &txn,
        run.id,
        SyncStatus::Failed,
        Counts::default(),
        Some(message),
    )
    .await?;
    lease::release(&txn, lease, holder).await?;
    txn.commit().await?;
    Ok(())
}

/// Applies a full read, admits members under the `auto` policy, and records success — all in one
/// transaction.
async fn apply_full(
    app: &AppState,
    conn: &connection::Model,
    run: &sync_run::Model,
    holder: &str,
    snapshot: Snapshot,
    delta: Option<DeltaLinks>,
) -> Result<Counts> {
    let txn = crate::db::begin_write(&app.db).await?;
    // The lease may have lapsed while reading (a very slow provider); another instance may then
    // be syncing, so this run gives way.
    if !lease::renew(&txn, &lease_name(conn.id), holder).await? {
        return Err(Error::Conflict(
            "the sync lease lapsed while reading; another sync took over. Nothing was applied"
                .into(),
        ));
    }
    let mut counts = apply::full_in_txn(&txn, conn, snapshot, Utc::now()).await?;
    if conn.auto_add_policy == AutoAddPolicy::Auto {
        counts.add(super::admit::auto_in_txn(&txn, conn).await?);
    }
    if let Some(links) = delta {
        save_delta_links(&txn, conn, &links.users, links.groups.as_deref()).await?;
    }
    finish(&txn, run.id, SyncStatus::Succeeded, counts, None).await?;
    // The lease goes with the commit: once the run reads as finished, a new one may start.
    lease::release(&txn, &lease_name(conn.id), holder).await?;
    txn.commit().await?;
    Ok(counts)
}

/// Records how a run ended; returns the run as recorded.
pub async fn finish<C: sea_orm::ConnectionTrait>(
    db: &C,
    run: i64,
    status: SyncStatus,
    counts: Counts,
    error: Option<&str>,
) -> Result<sync_run::Model> {
    let finished = Utc::now();
    let run = sync_run::Entity::update(sync_run::ActiveModel {
        id: Set(run),
        status: Set(status),
        finished_at: Set(Some(finished)),
        added: Set(counts.added),
        updated: Set(counts.updated),
        flagged: Set(counts.flagged),
        removed: Set(counts.removed),
        errors: Set(json!(error.into_iter().collect::<Vec<_>>())),
        ..Default::default()
    })
    .exec(db)
    .await?;
    crate::metrics::metrics().sync_run(
        &run.trigger.to_value(),
        &run.status.to_value(),
        (finished - run.started_at).to_std().unwrap_or_default(),
    );
    Ok(run)
}

/// Why a run was interrupted, for runs stopped gracefully and runs a stopped process left behind.
const INTERRUPTED: &str =
    "the server stopped during this sync; nothing was applied. Start the sync again";

/// On a graceful stop: cancels the full syncs this instance is running (their transaction is
/// dropped uncommitted, so nothing of them is applied), records them as interrupted and gives
/// their leases up at once, so another instance may sync those connections without waiting for
/// the lease to lapse. Returns how many runs were interrupted.
pub async fn interrupt_running(app: &AppState) -> Result<usize> {
    let mut interrupted = 0;
    for (run, running) in app.sync.take_running() {
        running.task.abort();
        let _ = running.task.await;
        // A stopping server's pool may first hand out connections that died with an HTTP
        // worker's runtime; a failed attempt commits nothing, so it is simply tried again.
        let mut attempt = 1;
        loop {
            match record_interrupted(app, run, running.connection_id, &running.holder).await {
                Ok(was_running) => {
                    interrupted += usize::from(was_running);
                    break;
                }
                Err(e) if attempt < 3 => {
                    tracing::warn!(run, attempt, error = %crate::error::error_chain(&e), "recording an interrupted sync run failed; trying again");
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(interrupted)
}

/// Records one run this instance stopped as interrupted (unless it ended meanwhile) and gives its
/// lease up, in one transaction. Whether it was still running.
async fn record_interrupted(
    app: &AppState,
    run: i64,
    connection_id: i64,
    holder: &str,
) -> Result<bool> {
    let still_running = sync_run::Entity::find_by_id(run)
        .one(&app.db)
        .await?
        .is_some_and(|r| r.status == SyncStatus::Running);
    let txn = crate::db::begin_write(&app.db).await?;
    if still_running {
        finish(
            &txn,
            run,
            SyncStatus::Interrupted,
            Counts::default(),
            Some(INTERRUPTED),
        )
        .await?;
    }
    lease::release(&txn, &lease_name(connection_id), holder).await?;
    txn.commit().await?;
    Ok(still_running)
}

/// Marks runs left `running` by a stopped process as interrupted (their lease has lapsed, so no
/// instance is working on them). Their transaction never committed: nothing was applied.
pub async fn recover_interrupted(db: &DatabaseConnection) -> Result<u64> {
    let running = sync_run::Entity::find()
        .filter(sync_run::Column::Status.eq(SyncStatus::Running))
        .all(db)
        .await?;
    let mut n = 0;
    for run in running {
        if lease::held(db, &lease_name(run.connection_id)).await? {
            continue;
        }
        finish(
            db,
            run.id,
            SyncStatus::Interrupted,
            Counts::default(),
            Some(INTERRUPTED),
        )
        .await?;
        n += 1;
    }
    Ok(n)
}

/// Starts the scheduled full syncs that are due: every enabled connection whose last manual or
/// scheduled run started more than `interval` ago. The lease keeps it to one instance.
pub async fn start_due(app: &AppState, interval: Duration) -> Result<usize> {
    let due_before =
        Utc::now() - chrono::Duration::from_std(interval).unwrap_or(chrono::Duration::hours(6));
    let conns = connection::Entity::find()
        .filter(connection::Column::Enabled.eq(true))
        .all(&app.db)
        .await?;
    let mut started = 0;
    for conn in conns {
        if last_started(&app.db, conn.id)
            .await?
            .is_some_and(|t| t > due_before)
        {
            continue;
        }
        let id = conn.id;
        match launch_unless_started_since(app, conn, SyncTrigger::Schedule, None, Some(due_before))
            .await
        {
            Ok(_) => started += 1,
            // Running elsewhere, or local changes still on their way to DingTalk.
            Err(Error::Conflict(why)) => {
                tracing::debug!(connection = id, why, "scheduled sync skipped for now");
            }
            // One connection's trouble does not hold up the others.
            Err(e) => {
                tracing::warn!(connection = id, error = %error_chain(&e), "a scheduled sync could not start");
            }
        }
    }
    Ok(started)
}

/// Stores the Graph delta links a read ended with (no groups link: groups are not departments),
/// over the connection's settings as they are now (the subscriptions may have changed).
async fn save_delta_links<C: sea_orm::ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    users: &str,
    groups: Option<&str>,
) -> Result<()> {
    let Some(fresh) = connection::Entity::find_by_id(conn.id).one(db).await? else {
        return Ok(());
    };
    let mut settings = fresh.settings;
    settings[USERS_LINK] = json!(users);
    match (groups, settings.as_object_mut()) {
        (Some(link), _) => settings[GROUPS_LINK] = json!(link),
        (None, Some(map)) => {
            map.remove(GROUPS_LINK);
        }
        (None, None) => {}
    }
    connection::Entity::update(connection::ActiveModel {
        id: Set(conn.id),
        settings: Set(settings),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(())
}

const USERS_LINK: &str = "graphDeltaLink";
const GROUPS_LINK: &str = "graphGroupsDeltaLink";

fn setting(conn: &connection::Model, key: &str) -> Option<String> {
    conn.settings
        .get(key)
        .and_then(serde_json::Value::as_str)
        .map(str::to_string)
}

/// The scheduled Microsoft round, on one instance at a time: keeps every Teams connection's
/// change-notification subscriptions alive, then runs the delta queries of those that have
/// links (a notification may have been missed). Failures are logged and retried next round.
pub async fn graph_round(app: &AppState) {
    const LEASE: &str = "graph-round";
    let holder = app.sync.holder();
    match lease::acquire(&app.db, LEASE, &holder).await {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            tracing::warn!(error = %error_chain(&e), "the Graph round could not take its lease");
            return;
        }
    }
    let conns = connection::Entity::find()
        .filter(connection::Column::Provider.eq(Provider::Teams))
        .filter(connection::Column::Enabled.eq(true))
        .all(&app.db)
        .await;
    match conns {
        Ok(conns) => {
            super::subscriptions::keep_all(app, &conns).await;
            for conn in conns.iter().filter(|c| setting(c, USERS_LINK).is_some()) {
                if let Err(e) = delta(app, conn).await {
                    tracing::warn!(connection = conn.id, error = %error_chain(&e), "a scheduled Graph delta query failed");
                }
            }
        }
        Err(e) => tracing::warn!(error = %error_chain(&e), "listing Teams connections failed"),
    }
    if let Err(e) = lease::release(&app.db, LEASE, &holder).await {
        tracing::warn!(error = %error_chain(&e), "giving up the Graph round lease failed");
    }
}

/// Microsoft: runs the stored Graph delta links (users, and groups when they are the departments)
/// and applies what changed as an `event` run; a connection without links, or whose links
/// expired, gets a full sync instead.
pub async fn delta(app: &AppState, conn: &connection::Model) -> Result<()> {
    let by_groups = connections::teams_departments(conn) == TeamsDepartments::Groups;
    let groups_link = setting(conn, GROUPS_LINK);
    let (Some(link), false) = (
        setting(conn, USERS_LINK),
        by_groups && groups_link.is_none(),
    ) else {
        return launch(app, conn.clone(), SyncTrigger::Event, None)
            .await
            .map(|_| ());
    };
    let name = lease_name(conn.id);
    let holder = app.sync.holder();
    if !lease::acquire(&app.db, &name, &holder).await? {
        // A sync is running; it reads everything anyway.
        return Ok(());
    }
    let result = async {
        let ms = connections::microsoft_app(&app.secrets, conn)?;
        let progress = ReadProgress::default();
        let graph = &app.providers.microsoft;
        let read = async {
            let users = graph.user_changes(&ms, &link, &progress).await?;
            let groups = match &groups_link {
                Some(link) if by_groups => {
                    Some(graph.group_changes(&ms, Some(link), &progress).await?)
                }
                _ => None,
            };
            Ok::<_, Error>((users, groups))
        };
        let (users, groups) = match read.await {
            Err(Error::Provider {
                errcode: Some(code),
                ..
            }) if code == crate::providers::microsoft::graph::RESYNC => {
                return Ok(None);
            }
            other => other?,
        };
        let now = Utc::now();
        let txn = crate::db::begin_write(&app.db).await?;
        let users_link = users.delta_link.clone();
        let quiet = users.changed.is_empty()
            && users.removed.is_empty()
            && groups
                .as_ref()
                .is_none_or(|g| g.changed.is_empty() && g.removed.is_empty());
        if quiet {
            // Nothing happened: the links move on and no run is recorded (a scheduled round
            // every few minutes would otherwise bury the runs that did something).
            save_delta_links(
                &txn,
                conn,
                &users_link,
                groups.as_ref().map(|g| g.delta_link.as_str()),
            )
            .await?;
            txn.commit().await?;
            return Ok(Some(Counts::default()));
        }
        // Written first, so that the transaction holds SQLite's write lock from its start.
        let run = record_start(&txn, conn, SyncTrigger::Event, None).await?;
        let chart = match &groups {
            Some(groups) => {
                let departments = apply::mirrored_departments(&txn, conn).await?;
                let mut named = groups.people();
                named.extend(users.changed.iter().map(|c| c.external_id.clone()));
                let contacts = apply::mirrored_contacts(&txn, conn, &named).await?;
                crate::providers::microsoft::groups::changes(
                    &departments,
                    &contacts,
                    &users,
                    groups,
                    &connections::sync_departments(conn),
                )
            }
            None => {
                // Departments the changed people name that the mirror does not hold yet; those
                // it holds keep their leaders, which only a full read (every report's manager)
                // can tell.
                let known = apply::mirrored_department_ids(&txn, conn).await?;
                ChartChanges {
                    departments: crate::providers::microsoft::graph::departments_of(&users.changed)
                        .into_iter()
                        .filter(|d| !known.contains(&d.external_id))
                        .collect(),
                    gone_departments: Vec::new(),
                    contacts: users.changed,
                    gone_contacts: users.removed,
                }
            }
        };
        let mut counts = Counts::default();
        if !chart.departments.is_empty() || !chart.gone_departments.is_empty() {
            counts.add(
                apply::departments_in_txn(
                    &txn,
                    conn,
                    chart.departments,
                    &chart.gone_departments,
                    now,
                )
                .await?,
            );
        }
        counts.add(
            apply::contacts_in_txn(&txn, conn, chart.contacts, &chart.gone_contacts, now).await?,
        );
        if conn.auto_add_policy == AutoAddPolicy::Auto {
            counts.add(super::admit::auto_in_txn(&txn, conn).await?);
        }
        save_delta_links(
            &txn,
            conn,
            &users_link,
            groups.as_ref().map(|g| g.delta_link.as_str()),
        )
        .await?;
        if counts == Counts::default() {
            // The provider reported changes the mirror already holds (a notification racing
            // the previous round): as for a quiet round, no run is recorded.
            sync_run::Entity::delete_by_id(run.id).exec(&txn).await?;
        } else {
            finish(&txn, run.id, SyncStatus::Succeeded, counts, None).await?;
        }
        txn.commit().await?;
        Ok::<_, Error>(Some(counts))
    }
    .await;
    lease::release(&app.db, &name, &holder).await?;
    match result? {
        Some(_) => Ok(()),
        None => launch(app, conn.clone(), SyncTrigger::Event, None)
            .await
            .map(|_| ()),
    }
}
