//! Spreadsheets end to end: export read back cell by cell, signed download links, templates,
//! export → edit → batch update, all-or-nothing with a problem report, bad files, import.

use crate::common::{
    TestApp,
    actors::{PASSWORD, admin_ok, create_department, create_member},
    assert_unauthenticated, error_code,
    fixtures::{Fixture, admin_org_and_role, insert_members},
};
use calamine::{Data, Reader, Xlsx};
use serde_json::{Value, json};
use std::io::Cursor;

pub(crate) const EXPORT: &str =
    "mutation($i: ExportMembersInput) { exportMembers(input: $i) { url fileName expiresAt } }";
const TEMPLATE: &str = "mutation($k: MemberTemplateKind!, $p: Boolean) { memberTemplate(kind: $k, prefilled: $p) { url fileName } }";
const BATCH: &str = "mutation($file: Upload!, $dry: Boolean) { batchUpdateMembers(file: $file, dryRun: $dry) { applied rows changedMemberIds problems { row column message } problemReport { url fileName } } }";
const IMPORT: &str = "mutation($file: Upload!, $dry: Boolean) { importMembers(file: $file, dryRun: $dry) { applied rows created { memberId generatedPassword passwordExpiresAt } problems { row column message } problemReport { url } } }";
const MEMBER: &str = "query($id: ID!) { member(id: $id) { nickname userType status email phone role { name } tags { name values } departments { path } } }";

/// Every sheet of a workbook, as rows of cells.
fn sheets(bytes: &[u8]) -> Vec<(String, Vec<Vec<Data>>)> {
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).expect("an xlsx workbook");
    wb.sheet_names()
        .into_iter()
        .map(|name| {
            let range = wb.worksheet_range(&name).expect("sheet");
            let rows = range.rows().map(<[Data]>::to_vec).collect();
            (name, rows)
        })
        .collect()
}

pub(crate) fn members_sheet(bytes: &[u8]) -> Vec<Vec<Data>> {
    let all = sheets(bytes);
    assert_eq!(all[0].0, "Members");
    all[0].1.clone()
}

fn text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
        // Dates come back as text the way people type them, which batch update accepts.
        Data::DateTime(d) => d
            .as_datetime()
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default(),
        other => other.to_string(),
    }
}

/// A workbook whose first sheet, `Members`, holds these rows as text (numbers for User ID).
fn workbook(rows: &[Vec<String>]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Members").expect("name");
    for (r, row) in rows.iter().enumerate() {
        for (c, value) in row.iter().enumerate() {
            if value.is_empty() {
                continue;
            }
            match value.parse::<f64>() {
                Ok(n) if r > 0 && c == 0 => ws.write_number(r as u32, c as u16, n),
                _ => ws.write_string(r as u32, c as u16, value),
            }
            .expect("write");
        }
    }
    wb.save_to_buffer().expect("save")
}

pub(crate) fn as_text(rows: &[Vec<Data>]) -> Vec<Vec<String>> {
    rows.iter().map(|r| r.iter().map(text).collect()).collect()
}

pub(crate) async fn download(app: &TestApp, link: &Value) -> Vec<u8> {
    let (status, bytes) = app.fetch(link["url"].as_str().expect("url")).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    bytes
}

/// The `Members` sheet, as text, of an export with this `input` (`ExportMembersInput`).
pub(crate) async fn exported(app: &TestApp, token: &str, input: Value) -> Vec<Vec<String>> {
    let link = admin_ok(app, token, EXPORT, json!({ "i": input })).await["exportMembers"].clone();
    as_text(&members_sheet(&download(app, &link).await))
}

/// Sales and Sales/North, three members with tags, contacts and departments; returns their ids.
async fn organization(app: &TestApp, admin: &str) -> (String, String, String) {
    let sales = admin_ok(
        app,
        admin,
        "mutation { createDepartment(name: \"Sales\") { id } }",
        json!({}),
    )
    .await["createDepartment"]["id"]
        .clone();
    let north = admin_ok(
        app,
        admin,
        "mutation($p: ID) { createDepartment(name: \"North\", parentId: $p) { id } }",
        json!({ "p": sales }),
    )
    .await["createDepartment"]["id"]
        .clone();
    let update =
        "mutation($id: ID!, $i: UpdateMemberInput!) { updateMember(id: $id, input: $i) { id } }";
    let zhang = create_member(app, admin, "zhang", "DEVELOPER", None).await;
    admin_ok(app, admin, update, json!({ "id": zhang, "i": { "email": "zhang@example.com", "phone": "+86 138 0013 8000", "departmentIds": [north, sales], "tags": [{ "name": "region", "values": "East,West" }] } })).await;
    let li = create_member(app, admin, "li", "ANALYST", None).await;
    admin_ok(app, admin, update, json!({ "id": li, "i": { "departmentIds": [sales], "tags": [{ "name": "region", "values": "$ALL_MEMBERS$" }, { "name": "level", "values": "3" }] } })).await;
    let wang = create_member(app, admin, "wang", "VIEWER", None).await;
    (zhang, li, wang)
}

#[tokio::test]
async fn export_reads_back_cell_by_cell() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (zhang, li, wang) = organization(&app, &admin).await;
    let link = admin_ok(&app, &admin, EXPORT, json!({})).await["exportMembers"].clone();
    assert!(link["fileName"].as_str().expect("name").ends_with(".xlsx"));
    let rows = members_sheet(&download(&app, &link).await);
    let header: Vec<String> = rows[0].iter().map(text).collect();
    assert_eq!(
        header,
        [
            "User ID",
            "Account",
            "Account Type",
            "Nickname",
            "Join Date",
            "Last Logon Time",
            "User Type",
            "Organization Role",
            "User Status",
            "tag_level",
            "tag_region",
            "Email",
            "Phone Number",
            "User Group"
        ]
    );
    assert_eq!(rows.len(), 5, "header + admin + 3 members");
    let row = |id: &str| {
        rows.iter()
            .find(|r| text(&r[0]) == id)
            .unwrap_or_else(|| panic!("row of {id}"))
            .clone()
    };
    let z = row(&zhang);
    assert_eq!(
        z.iter().map(text).collect::<Vec<_>>()[..4],
        [zhang.as_str(), "zhang", "Local", "zhang"]
    );
    assert!(
        matches!(z[4], Data::DateTime(_)),
        "Join Date is a real date: {:?}",
        z[4]
    );
    assert_eq!(z[5], Data::Empty, "zhang never logged in");
    assert_eq!(text(&z[6]), "Developer");
    assert_eq!(text(&z[7]), "Standard user");
    assert_eq!(text(&z[8]), "Active");
    assert_eq!(text(&z[9]), "");
    assert_eq!(text(&z[10]), "East,West");
    assert_eq!(text(&z[11]), "zhang@example.com");
    assert_eq!(text(&z[12]), "+86 138 0013 8000");
    assert_eq!(text(&z[13]), "/Sales; /Sales/North");
    let l = row(&li);
    assert_eq!(text(&l[9]), "3");
    assert_eq!(text(&l[10]), "$ALL_MEMBERS$");
    assert_eq!(text(&l[13]), "/Sales");
    let admin_row = rows.iter().find(|r| text(&r[1]) == "admin").expect("admin");
    assert!(
        matches!(admin_row[5], Data::DateTime(_)),
        "the admin logged in"
    );
    assert_eq!(text(&admin_row[7]), "Organization administrator");

    // The current filter, selected members, chosen field groups.
    let rows = exported(
        &app,
        &admin,
        json!({ "filter": { "userTypes": ["VIEWER"] }, "fields": ["CONTACT_INFORMATION"] }),
    )
    .await;
    assert_eq!(rows[0].len(), 11, "no tags, no user group: {:?}", rows[0]);
    assert_eq!(&rows[0][9..], ["Email", "Phone Number"]);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][0], wang);
    let rows = exported(
        &app,
        &admin,
        json!({ "memberIds": [li, wang], "fields": [] }),
    )
    .await;
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].len(), 9);

    // Department exports: one department with or without its sub-departments.
    let deps = admin_ok(
        &app,
        &admin,
        "{ departments { id path children { id path } } }",
        json!({}),
    )
    .await;
    let sales = &deps["departments"][0];
    let id_of = |path: &str| {
        if path == "/Sales" {
            sales["id"].clone()
        } else {
            sales["children"][0]["id"].clone()
        }
    };
    let north = exported(
        &app,
        &admin,
        json!({ "departmentIds": [id_of("/Sales/North")] }),
    )
    .await;
    assert_eq!(north.len(), 2, "only zhang");
    let sales_below = json!({ "departmentIds": [id_of("/Sales")], "includeSubDepartments": true });
    assert_eq!(
        exported(&app, &admin, sales_below).await.len(),
        3,
        "zhang and li"
    );

    // Several departments: each member once, however many of them hold them; a sub-department's
    // member only with `includeSubDepartments`.
    admin_ok(
        &app,
        &admin,
        "mutation($id: ID!, $d: [ID!]) { updateMember(id: $id, input: { departmentIds: $d }) { id } }",
        json!({ "id": wang, "d": [id_of("/Sales/North")] }),
    )
    .await;
    for (departments, sub_departments, expected) in [
        (vec!["/Sales"], false, 2),
        (vec!["/Sales"], true, 3),
        (vec!["/Sales/North", "/Sales"], false, 3),
        (vec!["/Sales", "/Sales/North"], true, 3),
    ] {
        let ids: Vec<_> = departments.iter().map(|path| id_of(path)).collect();
        let chosen = json!({ "departmentIds": ids, "includeSubDepartments": sub_departments });
        let rows = exported(&app, &admin, chosen).await;
        let mut members: Vec<_> = rows[1..].iter().map(|row| row[0].clone()).collect();
        members.sort();
        members.dedup();
        assert_eq!(
            (rows.len() - 1, members.len()),
            (expected, expected),
            "{departments:?}, sub-departments {sub_departments}: {rows:?}"
        );
        assert_eq!(
            members.contains(&wang),
            sub_departments || departments.contains(&"/Sales/North"),
            "{departments:?}, sub-departments {sub_departments}"
        );
    }
    // The list's department and chosen departments: members of both.
    let rows = exported(&app, &admin, json!({ "filter": { "departmentId": id_of("/Sales/North") }, "departmentIds": [id_of("/Sales")], "includeSubDepartments": false })).await;
    assert_eq!(rows.len(), 2, "zhang alone: {rows:?}");
    assert_eq!(rows[1][0], zhang);
    // A department without members: the header alone.
    let empty = create_department(&app, &admin, "Empty", None).await;
    let rows = exported(&app, &admin, json!({ "departmentIds": [empty] })).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let missing = app
        .gql(
            EXPORT,
            json!({ "i": { "departmentIds": ["999999"] } }),
            Some(&admin),
        )
        .await;
    assert_eq!(error_code(&missing), "NOT_FOUND");
}

/// An export reads the ids of the members it selects once and pages through them (2,000 a page):
/// every member once, in id order, whatever selects them.
#[tokio::test]
async fn selective_exports_page_through_thousands_of_members() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (org, role) = admin_org_and_role(&app).await;
    let department: i64 = create_department(&app, &admin, "Plant", None)
        .await
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("a department id");
    let fixtures: Vec<Fixture> = (100_000..104_500)
        .map(|id| (id, format!("p{id}"), format!("P{id}"), 1))
        .collect();
    // Linked in descending order, so that the links' order is not the ids'.
    let links: Vec<(i64, i64)> = fixtures.iter().rev().map(|f| (department, f.0)).collect();
    insert_members(&app, org, role, &fixtures, &links).await;

    let export = |input: Value| {
        let (app, admin) = (&app, &admin);
        async move {
            exported(app, admin, input).await[1..]
                .iter()
                .map(|row| row[0].parse::<i64>().expect("a member id"))
                .collect::<Vec<_>>()
        }
    };
    let everyone = export(json!({ "departmentIds": [department.to_string()] })).await;
    assert_eq!(everyone, (100_000..104_500).collect::<Vec<_>>());
    let filtered = export(json!({ "filter": { "departmentId": department.to_string() } })).await;
    assert_eq!(filtered, everyone, "the list's department");
    // Chosen members and a keyword, on what would be the first and the third page.
    let chosen = [100_005, 104_100, 104_499];
    let some = export(json!({
        "departmentIds": [department.to_string()],
        "memberIds": chosen.map(|id| id.to_string()),
    }))
    .await;
    assert_eq!(some, chosen);
    let keyword = export(json!({
        "departmentIds": [department.to_string()],
        "filter": { "keyword": "p1044" },
    }))
    .await;
    assert_eq!(keyword, (104_400..104_500).collect::<Vec<_>>());
}

#[tokio::test]
async fn download_links_are_signed_scoped_and_short_lived() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let link = admin_ok(&app, &admin, EXPORT, json!({})).await["exportMembers"]["url"]
        .as_str()
        .expect("url")
        .to_string();
    assert_eq!(app.fetch(&link).await.0, 200);
    let tampered = format!("{}x", &link[..link.len() - 1]);
    assert_eq!(app.fetch(&tampered).await.0, 403);
    let (base, query) = link.split_once('?').expect("query");
    assert_eq!(app.fetch(base).await.0, 403, "no signature");
    let later = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some(("expires", v)) => format!("expires={}", v.parse::<i64>().expect("ts") + 3600),
            _ => kv.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&");
    assert_eq!(
        app.fetch(&format!("{base}?{later}")).await.0,
        403,
        "expiry extended"
    );
    let other_id = base.replace("/downloads/", "/downloads/0");
    assert_eq!(app.fetch(&format!("{other_id}?{query}")).await.0, 404);

    // Expired: the row and its link say so.
    use entity::download;
    use sea_orm::{ActiveValue::Set, EntityTrait};
    let id = base.rsplit('/').next().expect("id").to_string();
    let row = download::Entity::find_by_id(id.clone())
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("row");
    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    download::Entity::update(download::ActiveModel {
        id: Set(id),
        expires_at: Set(past),
        ..Default::default()
    })
    .exec(&app.state.db)
    .await
    .expect("update");
    let expired = roster::excel::download::link_for(
        &app.state.secrets,
        "http://roster.test",
        &download::Model {
            expires_at: past,
            ..row
        },
    );
    let (status, body) = app.fetch(&expired).await;
    assert_eq!(status, 403);
    assert!(
        String::from_utf8_lossy(&body).contains("expired"),
        "{}",
        String::from_utf8_lossy(&body)
    );

    // A link stops working when its owner is disabled.
    let zhang = create_member(&app, &admin, "zhang", "DEVELOPER", None).await;
    let roles = crate::common::actors::role_ids(&app, &admin).await;
    admin_ok(
        &app,
        &admin,
        "mutation($id: ID!, $i: UpdateMemberInput!) { updateMember(id: $id, input: $i) { id } }",
        json!({ "id": zhang, "i": { "roleId": roles["org_admin"] } }),
    )
    .await;
    let token = app.login("zhang", PASSWORD).await["accessToken"]
        .as_str()
        .expect("t")
        .to_string();
    let link = admin_ok(&app, &token, EXPORT, json!({})).await["exportMembers"]["url"]
        .as_str()
        .expect("url")
        .to_string();
    assert_eq!(app.fetch(&link).await.0, 200);
    admin_ok(
        &app,
        &admin,
        "mutation($ids: [ID!]!) { disableMembers(ids: $ids) { ok } }",
        json!({ "ids": [zhang] }),
    )
    .await;
    assert_eq!(app.fetch(&link).await.0, 403);
}

#[tokio::test]
async fn templates_explain_columns_and_offer_lists() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    organization(&app, &admin).await;
    let link = admin_ok(
        &app,
        &admin,
        TEMPLATE,
        json!({ "k": "BATCH_UPDATE", "p": true }),
    )
    .await["memberTemplate"]
        .clone();
    let all = sheets(&download(&app, &link).await);
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["Members", "Instructions", "Lists"]);
    assert_eq!(all[0].1.len(), 5, "pre-filled with every member");
    let lists = as_text(&all[2].1);
    assert_eq!(lists[0], ["User Type", "Organization Role", "User Status"]);
    assert!(lists.iter().any(|r| r[1] == "Standard user"));
    let explained = as_text(&all[1].1);
    for column in [
        "User ID",
        "Nickname",
        "User Group",
        "tag_<name>",
        "Organization Role",
    ] {
        assert!(
            explained.iter().any(|r| r[0] == column),
            "{column} is explained"
        );
    }
    let link =
        admin_ok(&app, &admin, TEMPLATE, json!({ "k": "BATCH_UPDATE" })).await["memberTemplate"]
            .clone();
    assert_eq!(
        members_sheet(&download(&app, &link).await).len(),
        1,
        "empty: the header only"
    );
    let link =
        admin_ok(&app, &admin, TEMPLATE, json!({ "k": "IMPORT" })).await["memberTemplate"].clone();
    let rows = as_text(&members_sheet(&download(&app, &link).await));
    assert_eq!(
        rows[0],
        [
            "Account",
            "Nickname",
            "Name",
            "Employee Number",
            "Email",
            "Phone Number",
            "Position",
            "User Group",
            "User Type",
            "Organization Role"
        ]
    );
}

/// Downloads the pre-filled batch-update template as rows of text.
async fn update_template(app: &TestApp, admin: &str) -> Vec<Vec<String>> {
    let link = admin_ok(
        app,
        admin,
        TEMPLATE,
        json!({ "k": "BATCH_UPDATE", "p": true }),
    )
    .await["memberTemplate"]
        .clone();
    as_text(&members_sheet(&download(app, &link).await))
}

fn column(rows: &[Vec<String>], header: &str) -> usize {
    rows[0]
        .iter()
        .position(|h| h == header)
        .unwrap_or_else(|| panic!("column {header}"))
}

#[tokio::test]
async fn export_edit_and_batch_update_round_trip() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (zhang, li, wang) = organization(&app, &admin).await;
    let mut rows = update_template(&app, &admin).await;
    let at = |rows: &[Vec<String>], id: &str| rows.iter().position(|r| r[0] == id).expect("row");
    let (z, l, w) = (at(&rows, &zhang), at(&rows, &li), at(&rows, &wang));
    let c = |h: &str| column(&rows, h);
    let (nick, ty, role, status, region, email, group) = (
        c("Nickname"),
        c("User Type"),
        c("Organization Role"),
        c("User Status"),
        c("tag_region"),
        c("Email"),
        c("User Group"),
    );
    rows[z][nick] = "zhang_san".into();
    rows[z][region] = "North".into();
    rows[z][group] = "/Sales/North".into();
    rows[l][ty] = "viewer".into();
    rows[l][email] = " li@example.com ".into();
    rows[l][region] = "South".into();
    rows[w][status] = "Disabled".into();
    rows[w][role] = "Ｓｔａｎｄａｒｄ user".into();
    let file = workbook(&rows);
    let wang_session = app.login("wang", PASSWORD).await;

    let body = app
        .upload(BATCH, json!({ "dry": true }), file.clone(), Some(&admin))
        .await;
    let report = &body["data"]["batchUpdateMembers"];
    assert_eq!(report["applied"], false, "{body}");
    assert_eq!(report["rows"], 4);
    assert_eq!(report["changedMemberIds"].as_array().expect("ids").len(), 3);
    let before = admin_ok(&app, &admin, MEMBER, json!({ "id": zhang })).await;
    assert_eq!(
        before["member"]["nickname"], "zhang",
        "a dry run changes nothing"
    );

    let body = app
        .upload(BATCH, json!({}), file.clone(), Some(&admin))
        .await;
    assert_eq!(
        body["data"]["batchUpdateMembers"]["applied"], true,
        "{body}"
    );
    let z = admin_ok(&app, &admin, MEMBER, json!({ "id": zhang })).await["member"].clone();
    assert_eq!(z["nickname"], "zhang_san");
    assert_eq!(
        z["tags"],
        json!([{ "name": "region", "values": ["North"] }])
    );
    assert_eq!(z["departments"], json!([{ "path": "/Sales/North" }]));
    assert_eq!(z["email"], "zhang@example.com", "unchanged cells stay");
    let l = admin_ok(&app, &admin, MEMBER, json!({ "id": li })).await["member"].clone();
    assert_eq!(l["userType"], "VIEWER");
    assert_eq!(l["email"], "li@example.com");
    assert_eq!(
        l["tags"],
        json!([{ "name": "level", "values": ["3"] }, { "name": "region", "values": ["South"] }]),
        "one value replacing another; the unchanged tag stays"
    );
    let w = admin_ok(&app, &admin, MEMBER, json!({ "id": wang })).await["member"].clone();
    assert_eq!(w["status"], "DISABLED");
    assert_eq!(
        (&l["nickname"], &w["nickname"], &w["userType"]),
        (&json!("li"), &json!("wang"), &json!("VIEWER")),
        "columns a row does not change keep their values"
    );
    let refused = app
        .gql(
            crate::common::app::LOGIN,
            json!({ "account": "wang", "password": PASSWORD }),
            None,
        )
        .await;
    assert_eq!(
        error_code(&refused),
        "UNAUTHENTICATED",
        "a disabled member cannot log in"
    );
    let refreshed = app
        .gql(
            "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }",
            json!({ "t": wang_session["refreshToken"] }),
            None,
        )
        .await;
    // The file revoked it: refused as revoked, before the member's status is even read.
    assert_unauthenticated(&refreshed, "not valid or has expired");

    // Two members trade nicknames in one file.
    let mut swap = update_template(&app, &admin).await;
    let (zi, li_row) = (at(&swap, &zhang), at(&swap, &li));
    swap[zi][nick] = "li".into();
    swap[li_row][nick] = "zhang_san".into();
    let body = app
        .upload(BATCH, json!({}), workbook(&swap), Some(&admin))
        .await;
    assert_eq!(
        body["data"]["batchUpdateMembers"]["applied"], true,
        "{body}"
    );
    let z = admin_ok(&app, &admin, MEMBER, json!({ "id": zhang })).await;
    assert_eq!(z["member"]["nickname"], "li");
    swap[zi][nick] = "zhang_san".into();
    swap[li_row][nick] = "li".into();
    let body = app
        .upload(BATCH, json!({}), workbook(&swap), Some(&admin))
        .await;
    assert_eq!(
        body["data"]["batchUpdateMembers"]["applied"], true,
        "{body}"
    );

    // A nickname held by a member who is not in the file, in another letter case, is refused.
    let mut alone = vec![swap[0].clone(), swap[zi].clone()];
    alone[1][nick] = "LI".into();
    let body = app
        .upload(BATCH, json!({}), workbook(&alone), Some(&admin))
        .await;
    let report = &body["data"]["batchUpdateMembers"];
    assert_eq!(report["applied"], false, "{body}");
    assert_eq!(
        report["problems"],
        json!([{ "row": 2, "column": "Nickname", "message": "the nickname `LI` is already used by another member; choose another" }]),
        "{body}"
    );

    // The same file again changes nothing; the new export equals the edited file.
    let body = app.upload(BATCH, json!({}), file, Some(&admin)).await;
    assert_eq!(
        body["data"]["batchUpdateMembers"]["changedMemberIds"],
        json!([]),
        "{body}"
    );
    let again = update_template(&app, &admin).await;
    let z = at(&again, &zhang);
    assert_eq!(again[z][nick], "zhang_san");
    assert_eq!(again[z][group], "/Sales/North");
    let audit = admin_ok(
        &app,
        &admin,
        "{ auditEvents(first: 5) { edges { node { action } } } }",
        json!({}),
    )
    .await;
    assert!(audit.to_string().contains("member.batch_update"), "{audit}");
}

#[tokio::test]
async fn batch_update_is_all_or_nothing_and_reports_every_problem() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (zhang, li, _) = organization(&app, &admin).await;
    let mut rows = update_template(&app, &admin).await;
    let at = |id: &str| rows.iter().position(|r| r[0] == id).expect("row");
    let (z, l) = (at(&zhang), at(&li));
    let c = |h: &str| column(&rows, h);
    let (nick, ty, role, group, phone) = (
        c("Nickname"),
        c("User Type"),
        c("Organization Role"),
        c("User Group"),
        c("Phone Number"),
    );
    rows[z][nick] = "zhang_ok".into();
    rows[l][nick] = "zhang_ok".into();
    rows[l][ty] = "Viewer".into();
    rows[l][role] = "Organization administrator".into();
    rows[l][group] = "/Sales/South".into();
    rows[l][phone] = "call me".into();
    let mut extra = rows[l].clone();
    extra[0] = "987654".into();
    rows.push(extra);
    let body = app
        .upload(BATCH, json!({}), workbook(&rows), Some(&admin))
        .await;
    let report = &body["data"]["batchUpdateMembers"];
    assert_eq!(report["applied"], false, "{body}");
    assert_eq!(report["changedMemberIds"], json!([]));
    let problems = report["problems"].as_array().expect("problems");
    let has = |row: usize, column: &str, needle: &str| {
        assert!(
            problems.iter().any(|p| p["row"] == row + 1
                && p["column"] == column
                && p["message"].as_str().is_some_and(|m| m.contains(needle))),
            "row {} {column} `{needle}` missing: {problems:#?}",
            row + 1
        );
    };
    has(l, "Nickname", "also on row");
    has(l, "Organization Role", "developers or analysts");
    has(l, "User Group", "/Sales/South");
    has(l, "Phone Number", "not a phone number");
    has(rows.len() - 1, "User ID", "987654");
    let z_now = admin_ok(&app, &admin, MEMBER, json!({ "id": zhang })).await;
    assert_eq!(
        z_now["member"]["nickname"], "zhang",
        "the valid row was not applied either"
    );

    let report_link = report["problemReport"].clone();
    assert!(
        report_link["fileName"]
            .as_str()
            .expect("name")
            .contains("problems")
    );
    let returned = as_text(&members_sheet(&download(&app, &report_link).await));
    let last = returned[0].len() - 1;
    assert_eq!(returned[0][last], "Problems");
    assert_eq!(returned.len(), rows.len());
    assert!(
        returned[l][last].contains("User Group"),
        "{:?}",
        returned[l]
    );
    assert!(returned[z][last].is_empty() || returned[z][last].contains("Nickname"));
}

#[tokio::test]
async fn bad_files_get_clear_errors_and_change_nothing() {
    let app = TestApp::spawn_with(|s| s.graphql.max_upload_bytes = 200_000).await;
    let admin = app.admin_token().await;
    let (zhang, _, _) = organization(&app, &admin).await;
    let check = |body: Value, needle: &str| {
        assert_eq!(error_code(&body), "VALIDATION", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "file", "{body}");
        let message = body["errors"][0]["message"].as_str().expect("message");
        assert!(message.contains(needle), "`{needle}` not in `{message}`");
    };
    check(
        app.upload(
            BATCH,
            json!({}),
            b"User ID,Nickname\n1,x\n".to_vec(),
            Some(&admin),
        )
        .await,
        "not an Excel workbook",
    );
    check(
        app.upload(BATCH, json!({}), Vec::new(), Some(&admin)).await,
        "empty",
    );
    let mut cfb = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    cfb.resize(4096, 0);
    check(
        app.upload(BATCH, json!({}), cfb, Some(&admin)).await,
        "password-protected",
    );
    let headers_only = workbook(&[
        vec!["User ID".into(), "Nickname".into()],
        vec!["1".into(), "x".into()],
    ]);
    check(
        app.upload(BATCH, json!({}), headers_only, Some(&admin))
            .await,
        "should be `Account`",
    );
    let mut rows = update_template(&app, &admin).await;
    let header = rows[0].clone();
    check(
        app.upload(
            BATCH,
            json!({}),
            workbook(std::slice::from_ref(&header)),
            Some(&admin),
        )
        .await,
        "no rows",
    );
    let template_row = rows[1].clone();
    for i in 0..5_001 {
        let mut r = template_row.clone();
        r[0] = (100_000 + i).to_string();
        rows.push(r);
    }
    check(
        app.upload(BATCH, json!({}), workbook(&rows), Some(&admin))
            .await,
        "more than 5000 rows",
    );
    let mut big = vec![header];
    let mut seed: u64 = 7;
    for _ in 0..20 {
        let mut r = template_row.clone();
        r[3] = (0..30_000)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                char::from(b'a' + (seed >> 59) as u8 % 26)
            })
            .collect();
        big.push(r);
    }
    let body = app
        .upload(BATCH, json!({}), workbook(&big), Some(&admin))
        .await;
    assert!(
        body.to_string().contains("larger than 200000 bytes"),
        "over the upload limit: {body}"
    );
    let z = admin_ok(&app, &admin, MEMBER, json!({ "id": zhang })).await;
    assert_eq!(z["member"]["nickname"], "zhang");
}

#[tokio::test]
async fn import_adds_members_all_or_nothing_within_the_seat_limit() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    organization(&app, &admin).await;
    let header: Vec<String> = [
        "Account",
        "Nickname",
        "Name",
        "Employee Number",
        "Email",
        "Phone Number",
        "Position",
        "User Group",
        "User Type",
        "Organization Role",
        "tag_region",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let row = |v: [&str; 11]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let good = vec![
        header.clone(),
        row([
            "carol",
            "",
            "Carol Chen",
            "E-7",
            "carol@example.com",
            "",
            "PM",
            "/Sales/North",
            "Analyst",
            "Permission administrator",
            "East",
        ]),
        row([
            "dave",
            "dave_d",
            "",
            "",
            "",
            "13800138000",
            "",
            "",
            "",
            "",
            "",
        ]),
    ];
    let body = app
        .upload(
            IMPORT,
            json!({ "dry": true }),
            workbook(&good),
            Some(&admin),
        )
        .await;
    assert_eq!(body["data"]["importMembers"]["applied"], false, "{body}");
    assert_eq!(body["data"]["importMembers"]["problems"], json!([]));
    let count = |v: Value| v["members"]["totalCount"].as_i64().expect("count");
    let total = "{ members { totalCount } }";
    assert_eq!(count(admin_ok(&app, &admin, total, json!({})).await), 4);

    let mut bad = good.clone();
    bad.push(row(["zhang", "", "", "", "", "", "", "", "", "", ""]));
    bad.push(row([
        "erin", "", "", "", "", "", "", "/Nowhere", "Boss", "", "",
    ]));
    let body = app
        .upload(IMPORT, json!({}), workbook(&bad), Some(&admin))
        .await;
    let report = &body["data"]["importMembers"];
    assert_eq!(report["applied"], false, "{body}");
    let columns: Vec<(i64, &str)> = report["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| {
            (
                p["row"].as_i64().expect("row"),
                p["column"].as_str().expect("column"),
            )
        })
        .collect();
    assert_eq!(
        columns,
        [
            (4, "Account"),
            (4, "Nickname"),
            (5, "User Group"),
            (5, "User Type")
        ],
        "{body}"
    );
    assert_eq!(
        count(admin_ok(&app, &admin, total, json!({})).await),
        4,
        "nobody was added"
    );

    admin_ok(
        &app,
        &admin,
        "mutation { updateOrganization(seatLimit: 5) { id } }",
        json!({}),
    )
    .await;
    let body = app
        .upload(IMPORT, json!({}), workbook(&good), Some(&admin))
        .await;
    let problems = &body["data"]["importMembers"]["problems"];
    assert!(problems.to_string().contains("seat limit is 5"), "{body}");
    admin_ok(
        &app,
        &admin,
        "mutation { updateOrganization(seatLimit: 6) { id } }",
        json!({}),
    )
    .await;

    let body = app
        .upload(IMPORT, json!({}), workbook(&good), Some(&admin))
        .await;
    let report = &body["data"]["importMembers"];
    assert_eq!(report["applied"], true, "{body}");
    let created = report["created"].as_array().expect("created");
    assert_eq!(created.len(), 2);
    let carol = admin_ok(
        &app,
        &admin,
        MEMBER,
        json!({ "id": created[0]["memberId"] }),
    )
    .await["member"]
        .clone();
    assert_eq!(carol["nickname"], "carol");
    assert_eq!(carol["userType"], "ANALYST");
    assert_eq!(carol["role"]["name"], "Permission administrator");
    assert_eq!(carol["departments"], json!([{ "path": "/Sales/North" }]));
    assert_eq!(
        carol["tags"],
        json!([{ "name": "region", "values": ["East"] }])
    );
    let password = created[1]["generatedPassword"].as_str().expect("password");
    assert!(
        created.iter().all(|c| c["passwordExpiresAt"].is_string()),
        "imported passwords expire: {created:?}"
    );
    let dave = app.login("dave", password).await;
    assert_eq!(dave["member"]["nickname"], "dave_d");
    assert_eq!(
        dave["passwordChangeRequired"], true,
        "an imported member's generated password is one-time"
    );
    // Each imported member owns a personal workspace, like a member added one at a time.
    let workspaces = admin_ok(
        &app,
        &admin,
        "{ workspaces { name kind owner { id } } }",
        json!({}),
    )
    .await;
    for (member, name) in created
        .iter()
        .zip(["carol's workspace", "dave_d's workspace"])
    {
        assert!(
            workspaces["workspaces"]
                .as_array()
                .expect("workspaces")
                .iter()
                .any(|w| w["name"] == name
                    && w["kind"] == "PERSONAL"
                    && w["owner"]["id"] == member["memberId"]),
            "{name} missing: {workspaces}"
        );
    }
    let again = app
        .upload(IMPORT, json!({}), workbook(&good), Some(&admin))
        .await;
    assert!(
        again["data"]["importMembers"]["problems"]
            .to_string()
            .contains("already exists"),
        "{again}"
    );
}
