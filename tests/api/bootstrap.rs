//! First start creates the default organization and administrator; restarts create nothing.

use crate::common::{ADMIN_PASSWORD, TestApp, actors::admin_ok, db::TestDb};
use entity::{member, organization};
use roster::{Application, org::bootstrap::Bootstrap};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;

#[tokio::test]
async fn restart_keeps_data_and_creates_no_second_administrator() {
    let db = TestDb::create().await;
    let settings = TestApp::settings(&db);
    let first = Application::build(settings.clone())
        .await
        .expect("first start");
    assert!(matches!(
        first.bootstrap(),
        Bootstrap::Created {
            generated_password: None,
            ..
        }
    ));
    drop(first);

    let mut settings = settings;
    settings.bootstrap.admin_password = None;
    let second = Application::build(settings.clone())
        .await
        .expect("second start");
    assert!(
        matches!(second.bootstrap(), Bootstrap::Existing),
        "a restart prints no password"
    );
    let state = second.state().clone();
    drop(second);
    assert_eq!(
        organization::Entity::find()
            .count(&state.db)
            .await
            .expect("count"),
        1
    );
    assert_eq!(
        member::Entity::find()
            .count(&state.db)
            .await
            .expect("count"),
        1
    );

    let app = TestApp::start(db.into(), settings).await;
    let payload = app.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(
        payload["member"]["account"], "admin",
        "the original password still works after restart"
    );
}

#[tokio::test]
async fn generated_password_is_returned_once_and_works() {
    let db = TestDb::create().await;
    let mut settings = TestApp::settings(&db);
    settings.bootstrap.admin_password = None;
    let app = Application::build(settings.clone()).await.expect("start");
    let Bootstrap::Created {
        account,
        generated_password: Some(password),
    } = app.bootstrap().clone()
    else {
        panic!("expected a generated password");
    };
    assert_eq!(password.len(), 20);
    drop(app);
    let app = TestApp::start(db.into(), settings).await;
    let body = app
        .gql(
            crate::common::app::LOGIN,
            json!({ "account": account, "password": password }),
            None,
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(
        body["data"]["login"]["passwordChangeRequired"], true,
        "the printed password is one-time"
    );
    // Nobody could reset it, so it does not expire.
    let token = body["data"]["login"]["accessToken"]
        .as_str()
        .expect("token");
    let me = app
        .gql(
            "{ me { member { passwordExpiresAt } } }",
            json!({}),
            Some(token),
        )
        .await;
    assert!(me["errors"].is_null(), "{me}");
    assert!(
        me["data"]["me"]["member"]["passwordExpiresAt"].is_null(),
        "{me}"
    );
}

#[tokio::test]
async fn administrator_holds_the_organization_administrator_role() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let body = app
        .gql("{ me { member { account userType status accountType lastLoginAt } organization { name kind } role { builtinKey scope } permissions } }", json!({}), Some(&token))
        .await;
    let me = &body["data"]["me"];
    assert_eq!(me["member"]["account"], "admin");
    assert_eq!(me["member"]["userType"], "DEVELOPER");
    assert_eq!(me["member"]["status"], "ACTIVE");
    assert_eq!(me["member"]["accountType"], "LOCAL");
    assert!(
        me["member"]["lastLoginAt"].is_string(),
        "login stamps lastLoginAt"
    );
    assert_eq!(me["organization"]["kind"], "GENERIC");
    assert_eq!(me["organization"]["name"], "Default");
    assert_eq!(me["role"]["builtinKey"], "org_admin");
    assert_eq!(me["role"]["scope"], "ORGANIZATION");
    let perms: Vec<&str> = me["permissions"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        perms.contains(&"MANAGE_MEMBERS") && perms.contains(&"VIEW_AUDIT"),
        "{perms:?}"
    );
}

/// Every migration rolls back and applies again on the database of the suite, and the newest
/// thirteen do what they say: on PostgreSQL each member's ASCII letters and digits are stored only
/// after the newest, and a page finds a letter that only the administrator holds; each member's
/// characters are stored, ASCII signs among them, only after the second newest, and a page finds
/// a sign that only the administrator holds; the stored search body is marked between ASCII and
/// the characters beyond it only after the third newest, and a page finds two ASCII letters
/// between two Chinese characters; the index of characters beyond ASCII exists only after the
/// fourth newest; on SQLite the trigram index's vocabulary exists only after the fifth newest,
/// and a one-character keyword at the very end of a member's text is found by a page only then;
/// on PostgreSQL the stored search body and its trigram index replace the index on the
/// expression with the sixth newest, the sub-tree members exist only after the seventh newest,
/// the member tally only after the eighth newest, the flagged members' index only after the
/// ninth, the password expiry and its index only after the tenth newest, the password flag only
/// after the eleventh newest, the path pattern index on PostgreSQL only after the twelfth newest,
/// the case-sensitive nickname sort index only before the thirteenth newest.
#[tokio::test]
async fn migrations_roll_back_and_apply_again() {
    use migration::{Migrator, MigratorTrait};
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let app = TestApp::spawn().await;
    let db = &app.state.db;
    let backend = db.get_database_backend();
    let postgres = backend == DbBackend::Postgres;
    let has_index = |name: &'static str| async move {
        let sql = match backend {
            DbBackend::Postgres => {
                format!("SELECT count(*) AS n FROM pg_indexes WHERE indexname = '{name}'")
            }
            _ => format!(
                "SELECT count(*) AS n FROM sqlite_master WHERE type = 'index' AND name = '{name}'"
            ),
        };
        db.query_one_raw(Statement::from_string(backend, sql))
            .await
            .expect("query")
            .and_then(|row| row.try_get::<i64>("", "n").ok())
            .expect("a count")
            == 1
    };
    // Whether the statement runs: a table or column that exists.
    let readable = |sql: &'static str| async move { db.execute_unprepared(sql).await.is_ok() };
    let has_column = |name: &'static str| async move {
        db.execute_unprepared(&format!("SELECT {name} FROM \"user\""))
            .await
            .is_ok()
    };
    let has_search_body = || readable("SELECT search_body FROM member");
    let has_characters = || readable("SELECT search_characters FROM member");
    let has_letters = || readable("SELECT search_letters FROM member");
    let has_tally = || readable("SELECT members FROM member_tally");
    let has_vocabulary = || readable("SELECT count(*) FROM member_search_instance");
    // The administrator's phone ends with a character nobody else's text holds and begins with a
    // sign nobody else's holds, and their name holds one beyond ASCII, and two ASCII letters
    // between Chinese characters.
    let admin = app.admin_token().await;
    let edit = "mutation($id: ID!) { updateMember(id: $id, input: { phone: \"+86 138 0000 0007\", name: \"王Qx鑫\" }) { id } }";
    let me = admin_ok(&app, &admin, "{ me { member { id } } }", json!({})).await;
    let id = json!({ "id": me["me"]["member"]["id"] });
    admin_ok(&app, &admin, edit, id).await;
    let found_by_character = || async {
        let query = "{ members(filter: { keyword: \"鑫\" }) { totalCount } }";
        admin_ok(&app, &admin, query, json!({})).await["members"]["totalCount"] == json!(1)
    };
    let found_by_pair = || async {
        let query = "{ members(filter: { keyword: \"qx\" }) { totalCount } }";
        admin_ok(&app, &admin, query, json!({})).await["members"]["totalCount"] == json!(1)
    };
    let found_by_sign = || async {
        let query = "{ members(filter: { keyword: \"+\" }) { totalCount } }";
        admin_ok(&app, &admin, query, json!({})).await["members"]["totalCount"] == json!(1)
    };
    let found_by_letter = || async {
        let query = "{ members(filter: { keyword: \"Q\" }) { totalCount } }";
        admin_ok(&app, &admin, query, json!({})).await["members"]["totalCount"] == json!(1)
    };
    // Counted by PostgreSQL alone (SQLite has no `chr`): the administrator's marked text, or
    // with no member (after every migration rolled back) the column's expression marking.
    let counted = |sql: &'static str| async move {
        db.query_one_raw(Statement::from_string(backend, sql))
            .await
            .ok()
            .flatten()
            .and_then(|row| row.try_get::<i64>("", "n").ok())
            == Some(1)
    };
    let marked = || {
        counted(
            "SELECT count(*) AS n FROM member \
         WHERE search_body LIKE '%王' || chr(1) || 'qx' || chr(1) || '鑫%'",
        )
    };
    let marking = || {
        counted(
            "SELECT count(*) AS n FROM information_schema.columns WHERE table_name = 'member' \
         AND column_name = 'search_body' AND generation_expression LIKE '%member_search_text%'",
        )
    };
    // The characters the index is built from, by the function itself, whatever members there are.
    let keeps_signs = || {
        counted(
            "SELECT count(*) AS n \
         WHERE member_search_characters('ab+王 #') = ARRAY['+', '王', '#']",
        )
    };
    let keeps_letters = || {
        counted(
            "SELECT count(*) AS n \
         WHERE member_search_letters('ab+王 #9ba') = '{a,b,9}'",
        )
    };
    let found_by_end = || async {
        let query = "{ members(filter: { keyword: \"7\" }) { totalCount } }";
        admin_ok(&app, &admin, query, json!({})).await["members"]["totalCount"] == json!(1)
    };
    let has_sub_trees = || readable("SELECT links FROM sub_tree_member");
    const EXPIRY: &str = "password_expires_at";
    const FLAG: &str = "password_change_required";
    const PATTERN: &str = "ix_department_organization_id_path_pattern";
    const SORT: &str = "ix_member_organization_id_nickname_id";
    const ONE_TIME: &str = "ix_user_one_time_password";
    const FLAGGED: &str = "ix_member_flagged";
    const SEARCH_BODY: &str = "ix_member_search_body";
    const SEARCH_EXPRESSION: &str = "ix_member_search";
    const CHARACTERS: &str = "ix_member_search_characters";
    const LETTERS: &str = "ix_member_search_letters";
    assert!(has_column(EXPIRY).await && has_column(FLAG).await);
    assert!(has_index(ONE_TIME).await && has_index(FLAGGED).await);
    assert_eq!(has_index(PATTERN).await, postgres);
    assert!(!has_index(SORT).await);
    assert!(has_tally().await && has_sub_trees().await);
    assert_eq!(has_search_body().await, postgres);
    assert_eq!(has_index(SEARCH_BODY).await, postgres);
    assert!(!has_index(SEARCH_EXPRESSION).await);
    assert_eq!(has_vocabulary().await, !postgres);
    assert_eq!(has_index(CHARACTERS).await, postgres);
    assert!(found_by_end().await && found_by_character().await && found_by_pair().await);
    assert!(found_by_sign().await && found_by_letter().await);
    assert_eq!(keeps_letters().await, postgres);
    assert_eq!(has_letters().await, postgres);
    assert_eq!(has_index(LETTERS).await, postgres);
    assert_eq!(keeps_signs().await, postgres);
    assert_eq!(has_characters().await, postgres);
    assert_eq!(marked().await, postgres);
    assert_eq!(marking().await, postgres);
    Migrator::down(db, Some(1))
        .await
        .expect("the newest rolls back");
    assert!(!keeps_letters().await, "rolling back drops the letters");
    assert!(!has_letters().await && !has_index(LETTERS).await);
    assert_eq!(has_characters().await, postgres, "and nothing else");
    assert_eq!(keeps_signs().await, postgres);
    Migrator::down(db, Some(1))
        .await
        .expect("the second newest rolls back");
    assert!(!keeps_signs().await, "rolling back leaves the signs out");
    assert!(!has_characters().await, "and drops the stored characters");
    assert_eq!(has_index(CHARACTERS).await, postgres, "and keeps the index");
    assert_eq!(marked().await, postgres, "and nothing else");
    Migrator::down(db, Some(1))
        .await
        .expect("the third newest rolls back");
    assert!(
        !marked().await,
        "rolling back leaves the search body unmarked"
    );
    assert!(!marking().await);
    assert_eq!(has_search_body().await, postgres, "and keeps it");
    assert_eq!(has_index(SEARCH_BODY).await, postgres, "with its indexes");
    assert_eq!(has_index(CHARACTERS).await, postgres);
    Migrator::down(db, Some(1))
        .await
        .expect("the fourth newest rolls back");
    assert!(
        !has_index(CHARACTERS).await,
        "rolling back drops the index of characters"
    );
    assert_eq!(has_vocabulary().await, !postgres, "and nothing else");
    Migrator::down(db, Some(1))
        .await
        .expect("the fifth newest rolls back");
    assert!(!has_vocabulary().await, "rolling back drops the vocabulary");
    assert_eq!(has_search_body().await, postgres, "and nothing else");
    Migrator::down(db, Some(1))
        .await
        .expect("the sixth newest rolls back");
    assert!(!has_search_body().await && !has_index(SEARCH_BODY).await);
    assert_eq!(
        has_index(SEARCH_EXPRESSION).await,
        postgres,
        "rolling back restores the index on the expression"
    );
    assert!(has_sub_trees().await, "and nothing else");
    Migrator::down(db, Some(1))
        .await
        .expect("the seventh newest rolls back");
    assert!(
        !has_sub_trees().await,
        "rolling back drops the sub-tree members"
    );
    assert!(has_tally().await, "and only them");
    Migrator::down(db, Some(1))
        .await
        .expect("the eighth newest rolls back");
    assert!(!has_tally().await, "rolling back drops the member tally");
    assert!(has_index(FLAGGED).await, "and only it");
    Migrator::down(db, Some(1))
        .await
        .expect("the ninth newest rolls back");
    assert!(
        !has_index(FLAGGED).await,
        "rolling back drops the flagged index"
    );
    assert!(has_index(ONE_TIME).await, "and only it");
    Migrator::down(db, Some(1))
        .await
        .expect("the tenth newest rolls back");
    assert!(!has_column(EXPIRY).await, "rolling back drops the expiry");
    assert!(!has_index(ONE_TIME).await, "and its index");
    assert!(has_column(FLAG).await, "and only the expiry");
    Migrator::down(db, Some(1))
        .await
        .expect("the eleventh newest rolls back");
    assert!(!has_column(FLAG).await, "rolling back drops the flag");
    Migrator::down(db, Some(1))
        .await
        .expect("the twelfth newest rolls back");
    assert!(!has_index(PATTERN).await, "rolling back drops the index");
    Migrator::down(db, Some(1))
        .await
        .expect("the thirteenth newest rolls back");
    assert!(has_index(SORT).await, "rolling back restores the index");
    Migrator::down(db, None)
        .await
        .expect("every migration rolls back");
    Migrator::up(db, None).await.expect("and applies again");
    assert_eq!(keeps_letters().await, postgres);
    assert_eq!(has_letters().await, postgres);
    assert_eq!(has_index(LETTERS).await, postgres);
    assert_eq!(keeps_signs().await, postgres);
    assert_eq!(has_characters().await, postgres);
    assert_eq!(marking().await, postgres);
    assert_eq!(has_index(CHARACTERS).await, postgres);
    assert_eq!(has_vocabulary().await, !postgres);
    assert!(has_tally().await && has_sub_trees().await);
    assert_eq!(has_search_body().await, postgres);
    assert!(has_column(EXPIRY).await && has_column(FLAG).await);
    assert!(has_index(ONE_TIME).await);
    assert_eq!(has_index(PATTERN).await, postgres);
    assert!(!has_index(SORT).await);
    assert!(
        Migrator::get_pending_migrations(db)
            .await
            .expect("status")
            .is_empty()
    );
}
