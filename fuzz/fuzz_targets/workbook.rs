//! The workbook path of batch update and import on hostile uploads. The first byte picks what
//! the rest is:
//! - even: the uploaded file itself (zip, zip bombs, encrypted and foreign files);
//! - odd: the member sheet's XML, packed by this target into an otherwise valid `.xlsx`, so that
//!   the fuzzer works on cells, types, references and shared strings rather than on the zip's
//!   checksums.
//!
//! A sheet that reads is then mapped onto the batch-update and import columns and checked row by
//! row against a small organization. Every outcome is a sheet, problems or an error; never a
//! panic.

#![no_main]

use entity::enums::{MemberStatus, UserType};
use libfuzzer_sys::fuzz_target;
use roster::excel::{
    columns,
    read::read,
    validate::{self, Current, Lookup, RoleRef},
};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Write;

const MAX_BYTES: usize = 10 << 20;

fuzz_target!(|data: &[u8]| {
    // `read` turns a panic inside the spreadsheet parser into an error; libfuzzer-sys's panic
    // hook would abort before it can. A panic nothing catches still fails the run.
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| std::panic::set_hook(Box::new(|info| eprintln!("{info}"))));
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let file = if mode % 2 == 0 {
        rest.to_vec()
    } else {
        match pack(rest) {
            Some(file) => file,
            None => return,
        }
    };
    let Ok(sheet) = read(&file, MAX_BYTES) else {
        return;
    };
    let lookup = lookup();
    if let Ok(cols) = validate::map_headers(&sheet.headers, &columns::update_columns(&[])) {
        let _ = validate::check_update(&cols, &sheet.rows, &members(), &lookup);
    }
    if let Ok(cols) = validate::map_headers(&sheet.headers, &columns::import_columns()) {
        let standard = lookup.roles["standard user"].clone();
        let taken: HashSet<String> = ["taken".to_string()].into();
        let _ = validate::check_import(&cols, &sheet.rows, &taken, &standard, &lookup);
    }
});

/// An `.xlsx` (stored, not deflated) whose one sheet, `Members`, is `sheet`.
fn pack(sheet: &[u8]) -> Option<Vec<u8>> {
    let parts: [(&str, &[u8]); 5] = [
        ("[Content_Types].xml", br#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#),
        ("_rels/.rels", br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#),
        ("xl/workbook.xml", br#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Members" sheetId="1" r:id="rId1"/></sheets></workbook>"#),
        ("xl/_rels/workbook.xml.rels", br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#),
        ("xl/worksheets/sheet1.xml", sheet),
    ];
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored);
    for (name, content) in parts {
        zip.start_file(name, options).ok()?;
        zip.write_all(content).ok()?;
    }
    Some(zip.finish().ok()?.into_inner())
}

fn role(id: i64, name: &str, is_admin: bool) -> (String, RoleRef) {
    (
        name.to_lowercase(),
        RoleRef {
            id,
            name: name.into(),
            is_admin,
            is_org_admin: id == 1,
        },
    )
}

fn lookup() -> Lookup {
    Lookup {
        roles: [
            role(1, "Organization administrator", true),
            role(2, "Permission administrator", true),
            role(3, "Standard user", false),
        ]
        .into(),
        departments: [("/Sales".to_string(), 1), ("/Sales/North".to_string(), 2)].into(),
        nicknames: [("alice".to_string(), 1), ("bob".to_string(), 2)].into(),
        may_change_roles: true,
        may_change_org_admin: false,
        actor: 1,
    }
}

fn members() -> HashMap<i64, Current> {
    (1..=3)
        .map(|id| {
            (
                id,
                Current {
                    id,
                    account: format!("user{id}"),
                    nickname: ["alice", "bob", "carol"][(id - 1) as usize].into(),
                    user_type: UserType::Developer,
                    role_id: 3,
                    status: MemberStatus::Active,
                    email: None,
                    phone: None,
                    departments: BTreeSet::from([1]),
                    tags: BTreeMap::from([("region".to_string(), vec!["North".to_string()])]),
                },
            )
        })
        .collect()
}
