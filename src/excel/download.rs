//! Short-lived, signed download links for exports, templates and problem reports.
//!
//! A link is `/downloads/<id>?expires=<unix>&signature=<HMAC>`; the signature covers the id, the
//! organization, the member who asked and the expiry, under a key derived from the master key.
//! Opening it checks all four and that the member is still active and still allowed to view
//! members, so a link forwarded to someone else, altered, expired, or outliving its owner's
//! rights is refused. Exports are generated when the link is opened (the row keeps what to
//! generate, not the data), which also lets any instance sharing the database serve the link.

use super::{
    columns::FieldGroup,
    export::{self, Selection},
    template::TemplateKind,
};
use crate::{
    auth::principal::role_permissions,
    authz::Permission,
    error::{Error, Result},
    secrets::SecretBox,
};
use chrono::{DateTime, Duration, Utc};
use entity::{download, enums::MemberStatus, member};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};

/// How long a link works.
pub const LINK_TTL: Duration = Duration::minutes(10);

/// What a download generates when opened.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Recipe {
    /// Members as selected, with the chosen field groups.
    MemberExport {
        /// Which members.
        selection: Box<Selection>,
        /// Optional column groups.
        groups: Vec<FieldGroup>,
    },
    /// A template.
    Template {
        /// Batch update or import.
        template: TemplateKind,
        /// Pre-filled with the current members (batch update only).
        prefilled: bool,
    },
}

/// A link handed to the client.
#[derive(Debug, Clone)]
pub struct Link {
    /// Absolute address.
    pub url: String,
    /// File name the browser will save.
    pub file_name: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// What is stored: a recipe or a finished file.
pub enum Body {
    /// Generated when opened.
    Recipe(Recipe),
    /// Served as is.
    File(Vec<u8>),
}

fn message(id: &str, organization: i64, member: i64, expires: i64) -> String {
    format!("download.{id}.{organization}.{member}.{expires}")
}

/// Stores a download for a member and returns its signed link.
pub async fn create(
    db: &DatabaseConnection,
    secrets: &SecretBox,
    public_url: &str,
    organization_id: i64,
    member_id: i64,
    file_name: String,
    body: Body,
) -> Result<Link> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let now = Utc::now();
    let expires_at = now + LINK_TTL;
    let (kind, params, content) = match body {
        Body::Recipe(recipe) => {
            let kind = match &recipe {
                Recipe::MemberExport { .. } => "member_export",
                Recipe::Template {
                    template: TemplateKind::BatchUpdate,
                    ..
                } => "update_template",
                Recipe::Template {
                    template: TemplateKind::Import,
                    ..
                } => "import_template",
            };
            let params = serde_json::to_string(&recipe)
                .map_err(|e| Error::internal(format!("download recipe: {e}")))?;
            (kind, Some(params), None)
        }
        Body::File(bytes) => ("problem_report", None, Some(bytes)),
    };
    let row = download::Model {
        id,
        organization_id,
        member_id,
        kind: kind.into(),
        file_name,
        params,
        content,
        created_at: now,
        expires_at,
    };
    download::Entity::insert(download::ActiveModel::from(row.clone()))
        .exec_without_returning(db)
        .await?;
    Ok(Link {
        url: link_for(secrets, public_url, &row),
        file_name: row.file_name,
        expires_at,
    })
}

/// The signed address of a stored download.
pub fn link_for(secrets: &SecretBox, public_url: &str, row: &download::Model) -> String {
    let expires = row.expires_at.timestamp();
    let signature = secrets.sign(&message(
        &row.id,
        row.organization_id,
        row.member_id,
        expires,
    ));
    format!(
        "{public_url}/downloads/{}?expires={expires}&signature={signature}",
        row.id
    )
}

/// Checks a link and returns the download it opens.
pub async fn open(
    db: &DatabaseConnection,
    secrets: &SecretBox,
    id: &str,
    expires: Option<&str>,
    signature: Option<&str>,
) -> Result<download::Model> {
    let invalid = || {
        Error::Forbidden(
            "this download link is not valid (it is incomplete or was altered); export again to get a new link".into(),
        )
    };
    let (Some(expires_text), Some(signature)) = (expires, signature) else {
        return Err(invalid());
    };
    let expires: i64 = expires_text.parse().map_err(|_| invalid())?;
    let Some(row) = download::Entity::find_by_id(id.to_string()).one(db).await? else {
        return Err(Error::NotFound("download"));
    };
    if !secrets.verify(
        &message(&row.id, row.organization_id, row.member_id, expires),
        signature,
    ) || expires != row.expires_at.timestamp()
    {
        return Err(invalid());
    }
    if Utc::now().timestamp() > expires {
        return Err(Error::Forbidden(format!(
            "this download link expired at {}; links work for {} minutes — export again",
            row.expires_at.format("%Y-%m-%d %H:%M:%S UTC"),
            LINK_TTL.num_minutes()
        )));
    }
    let owner = member::Entity::find_by_id(row.member_id)
        .filter(member::Column::OrganizationId.eq(row.organization_id))
        .one(db)
        .await?
        .filter(|m| m.status == MemberStatus::Active)
        .ok_or_else(|| {
            Error::Forbidden("the member who asked for this download is no longer active".into())
        })?;
    if !role_permissions(db, owner.role_id)
        .await?
        .contains(&Permission::ViewMembers)
    {
        return Err(Error::Forbidden(
            "your role no longer allows you to view members (permission `org.members.view`)".into(),
        ));
    }
    Ok(row)
}

/// What an opened download sends.
pub enum Rendered {
    /// A file stored with the link (a problem report).
    Stored(Vec<u8>),
    /// A workbook generated now, in a temporary file.
    Generated(export::WorkbookFile),
}

/// The file of an opened download.
pub async fn render(db: &DatabaseConnection, row: download::Model) -> Result<Rendered> {
    if let Some(content) = row.content {
        return Ok(Rendered::Stored(content));
    }
    let recipe: Recipe = row
        .params
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok())
        .ok_or_else(|| Error::internal(format!("download {} has no readable recipe", row.id)))?;
    let file = match recipe {
        Recipe::MemberExport { selection, groups } => {
            export::members_workbook(db, row.organization_id, &selection, &groups, None).await?
        }
        Recipe::Template {
            template,
            prefilled,
        } => export::template_workbook(db, row.organization_id, template, prefilled).await?,
    };
    Ok(Rendered::Generated(file))
}

/// Deletes expired downloads; returns how many.
pub async fn purge_expired(db: &DatabaseConnection) -> Result<u64> {
    Ok(download::Entity::delete_many()
        .filter(download::Column::ExpiresAt.lt(Utc::now()))
        .exec(db)
        .await?
        .rows_affected)
}
