//! Spreadsheet mutations.

use super::types::{
    BatchUpdateReport, Download, ExportField, ExportMembersInput, ImportReport, ImportedMember,
    MemberTemplateKind,
};
use crate::{
    authz::{Grants, Permission},
    excel::{
        columns::{ALL_GROUPS, FieldGroup},
        download::{self, Body, Recipe},
        export::Selection,
        import::{self, Report, Upload},
    },
    graphql::{
        change,
        guard::{PermissionGuard, access, principal},
        member::query::service_filter,
        one_time_lifetime, parse_ids, state,
    },
};
use async_graphql::{Context, ID, Object, Result};

/// Spreadsheet mutations.
#[derive(Default)]
pub struct ExcelMutation;

fn upload<'a>(
    ctx: &'a Context<'_>,
    file: &async_graphql::Upload,
    dry_run: Option<bool>,
    public_url: &'a str,
) -> Result<Upload<'a>> {
    use std::io::Read;
    let app = state(ctx)?;
    let unreadable = |e: std::io::Error| {
        crate::error::Error::validation(
            "file",
            format!(
                "the uploaded file could not be read ({e}); send it again as the `file` part of a multipart request"
            ),
        )
    };
    let value = file.value(ctx).map_err(unreadable)?;
    let file_name = value.filename.clone();
    let mut bytes = Vec::new();
    value
        .into_read()
        .take(app.settings.graphql.max_upload_bytes as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    Ok(Upload {
        db: &app.db,
        secrets: &app.secrets,
        public_url,
        max_bytes: app.settings.graphql.max_upload_bytes,
        bytes,
        file_name,
        dry_run: dry_run.unwrap_or(false),
    })
}

fn ids(report: &Report) -> Vec<ID> {
    report.members.iter().map(|id| ID(id.to_string())).collect()
}

#[Object]
impl ExcelMutation {
    /// Exports members to an Excel workbook and returns a short-lived download link. Columns:
    /// User ID, Account, Account Type, Nickname, Join Date, Last Logon Time, User Type,
    /// Organization Role, User Status, `tag_<name>`…, Email, Phone Number, User Group — the
    /// optional groups as chosen in `fields`.
    ///
    /// **Permissions**: `org.members.view`.
    #[graphql(guard = "PermissionGuard::org(Permission::ViewMembers)")]
    async fn export_members(
        &self,
        ctx: &Context<'_>,
        input: Option<ExportMembersInput>,
    ) -> Result<Download> {
        let access = access(ctx, Permission::ViewMembers)?;
        let app = state(ctx)?;
        let input = input.unwrap_or_default();
        let mut filter = match input.filter {
            Some(f) => service_filter(f)?,
            None => Default::default(),
        };
        if let Some(ids) = &input.member_ids {
            filter.ids = Some(parse_ids(ids, "member")?);
        }
        let selection = Selection {
            filter,
            department_ids: parse_ids(&input.department_ids.unwrap_or_default(), "department")?,
            include_sub_departments: input.include_sub_departments.unwrap_or(true),
        };
        let groups: Vec<FieldGroup> = match input.fields {
            Some(fields) => fields.into_iter().map(ExportField::into).collect(),
            None => ALL_GROUPS.to_vec(),
        };
        crate::excel::export::check_selection(&app.db, access.org_id(), &selection).await?;
        let link = download::create(
            &app.db,
            &app.secrets,
            &app.settings.public_url(),
            access.org_id(),
            access.actor(),
            format!(
                "members-{}.xlsx",
                chrono::Utc::now().format("%Y%m%d-%H%M%S")
            ),
            Body::Recipe(Recipe::MemberExport {
                selection: Box::new(selection),
                groups,
            }),
        )
        .await?;
        Ok(link.into())
    }

    /// A template workbook with drop-downs for user type, organization role and status and a
    /// sheet explaining every column: `BATCH_UPDATE` (pre-filled with the current members when
    /// `prefilled`) or `IMPORT`.
    ///
    /// **Permissions**: `org.members.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageMembers)")]
    async fn member_template(
        &self,
        ctx: &Context<'_>,
        kind: MemberTemplateKind,
        prefilled: Option<bool>,
    ) -> Result<Download> {
        let access = access(ctx, Permission::ManageMembers)?;
        let app = state(ctx)?;
        let file_name = match kind {
            MemberTemplateKind::BatchUpdate => "batch-update-template.xlsx",
            MemberTemplateKind::Import => "import-template.xlsx",
        };
        let link = download::create(
            &app.db,
            &app.secrets,
            &app.settings.public_url(),
            access.org_id(),
            access.actor(),
            file_name.into(),
            Body::Recipe(Recipe::Template {
                template: kind.into(),
                prefilled: prefilled.unwrap_or(false) && kind == MemberTemplateKind::BatchUpdate,
            }),
        )
        .await?;
        Ok(link.into())
    }

    /// Changes existing members from an uploaded batch-update workbook (multipart upload). All or
    /// nothing: with any problem nothing changes and the report lists every problem. `dryRun`
    /// only reports.
    ///
    /// **Permissions**: `org.members.manage`; changing organization roles also needs
    /// `org.permissions.manage` (and `org.organization.manage` for the administrator role).
    #[graphql(guard = "PermissionGuard::org(Permission::ManageMembers)")]
    async fn batch_update_members(
        &self,
        ctx: &Context<'_>,
        file: async_graphql::Upload,
        dry_run: Option<bool>,
    ) -> Result<BatchUpdateReport> {
        let access = access(ctx, Permission::ManageMembers)?;
        let grants = Grants::of(principal(ctx)?);
        let public_url = state(ctx)?.settings.public_url();
        let upload = upload(ctx, &file, dry_run, &public_url)?;
        let report = import::batch_update(upload, &access, &grants, &change(ctx)?).await?;
        Ok(BatchUpdateReport {
            applied: report.applied,
            rows: report.rows as i32,
            changed_member_ids: ids(&report),
            problem_report: report.problem_report.map(Into::into),
            problems: report.problems.into_iter().map(Into::into).collect(),
        })
    }

    /// Adds new members from an uploaded import workbook (generic organizations; multipart
    /// upload), within the seat limit. All or nothing; `dryRun` only reports. Each new member gets
    /// a one-time password, returned only here.
    ///
    /// **Permissions**: `org.members.manage`; roles other than standard user also need
    /// `org.permissions.manage` (and `org.organization.manage` for the administrator role).
    #[graphql(guard = "PermissionGuard::org(Permission::ManageMembers)")]
    async fn import_members(
        &self,
        ctx: &Context<'_>,
        file: async_graphql::Upload,
        dry_run: Option<bool>,
    ) -> Result<ImportReport> {
        let access = access(ctx, Permission::ManageMembers)?;
        let grants = Grants::of(principal(ctx)?);
        let public_url = state(ctx)?.settings.public_url();
        let upload = upload(ctx, &file, dry_run, &public_url)?;
        let report = import::import(
            upload,
            &access,
            &grants,
            one_time_lifetime(ctx)?,
            &change(ctx)?,
        )
        .await?;
        if report.applied && !report.passwords.is_empty() {
            state(ctx)?.tables_grew();
        }
        Ok(ImportReport {
            applied: report.applied,
            rows: report.rows as i32,
            created: report
                .passwords
                .into_iter()
                .map(|(id, password)| ImportedMember {
                    member_id: ID(id.to_string()),
                    generated_password: password,
                    password_expires_at: report.passwords_expire_at,
                })
                .collect(),
            problem_report: report.problem_report.map(Into::into),
            problems: report.problems.into_iter().map(Into::into).collect(),
        })
    }
}
