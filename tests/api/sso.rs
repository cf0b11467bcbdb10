//! QR login end to end through the sandbox (DingTalk and WeCom): connection management, the
//! authorize → phone → callback → ticket → tokens flow, replays, allow-list and admission policy.

use crate::common::{
    TestApp,
    actors::{admin_ok, create_organization, switch_to},
    error_code,
};
use sandbox::{Sandbox, company::Company};
use serde_json::{Value, json};

const SPA: &str = "http://spa.test/callback";

async fn setup() -> (TestApp, Sandbox, String, String) {
    let sandbox = Sandbox::start(Company::generate("dingtest", 12, 2), "127.0.0.1:0")
        .expect("sandbox starts");
    let base = sandbox.base_url();
    let app = TestApp::spawn_with(|s| {
        TestApp::use_sandbox(s, &base);
    })
    .await;
    let admin = app.admin_token().await;
    admin_ok(
        &app,
        &admin,
        "mutation($l: [String!]) { updateOrganization(redirectAllowList: $l) { id } }",
        json!({ "l": [SPA] }),
    )
    .await;
    let company = sandbox.state.company().clone();
    let created = admin_ok(
        &app,
        &admin,
        "mutation($i: ConnectionFields!) { addConnection(provider: DINGTALK, input: $i) { id clientId hasClientSecret authorizeUrl } }",
        json!({ "i": { "corpId": company.corp_id, "clientId": company.app_key, "clientSecret": company.app_secret, "autoAddPolicy": "AUTO" } }),
    )
    .await;
    let id = created["addConnection"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(created["addConnection"]["hasClientSecret"], true);
    (app, sandbox, admin, id)
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("a redirect")
        .to_string()
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Runs the browser part of a login as `userid`; returns the SPA address the browser lands on
/// and the callback address (to replay it).
async fn browse(
    app: &TestApp,
    sandbox: &Sandbox,
    connection: &str,
    userid: &str,
) -> (String, String) {
    browse_as(app, sandbox, connection, &format!("userid={userid}&")).await
}

/// Like [`browse`], picking the person whose link contains `marker` on the provider's page.
async fn browse_as(
    app: &TestApp,
    sandbox: &Sandbox,
    connection: &str,
    marker: &str,
) -> (String, String) {
    browse_across(app, app, sandbox, connection, marker).await
}

/// Like [`browse_as`], with the provider sending the browser back to another instance of the
/// server than the one the login started on.
async fn browse_across(
    app: &TestApp,
    back_to: &TestApp,
    sandbox: &Sandbox,
    connection: &str,
    marker: &str,
) -> (String, String) {
    let res = app
        .client
        .get(format!("{}/auth/{connection}/authorize", app.address))
        .query(&[("redirect_uri", SPA)])
        .send()
        .await
        .expect("authorize");
    assert_eq!(res.status(), 302);
    let provider_page = location(&res);
    assert!(
        provider_page.starts_with(&sandbox.base_url()),
        "{provider_page}"
    );
    let page = app
        .client
        .get(&provider_page)
        .send()
        .await
        .expect("qr page")
        .text()
        .await
        .expect("html");
    let start = page.find(marker).expect("the phone lists the person");
    let href_start = page[..start].rfind("href=\"").expect("link") + 6;
    let href_end = start + page[start..].find('"').expect("end");
    let scan = page[href_start..href_end].replace("&amp;", "&");
    let res = app
        .client
        .get(format!("{}{scan}", sandbox.base_url()))
        .send()
        .await
        .expect("scan");
    assert_eq!(res.status(), 302);
    // The provider sends the browser to our public URL; in tests that is the test server.
    let callback = location(&res).replace("http://roster.test", &back_to.address);
    assert!(
        callback.contains("authCode=") || callback.contains("code="),
        "{callback}"
    );
    let res = app.client.get(&callback).send().await.expect("callback");
    assert_eq!(res.status(), 302, "{:?}", res.text().await);
    (location(&res), callback)
}

#[tokio::test]
async fn qr_login_issues_a_ticket_then_tokens() {
    let (app, sandbox, admin, connection) = setup().await;
    let (landing, callback) = browse(&app, &sandbox, &connection, "000003").await;
    assert!(landing.starts_with(SPA), "{landing}");
    assert!(
        !landing.contains("accessToken") && !landing.contains("eyJ"),
        "no token in a URL"
    );
    let ticket = query_param(&landing, "ticket").expect("ticket");

    let redeem = "mutation($t: String!) { redeemLoginTicket(ticket: $t) { accessToken refreshToken member { account accountType userType nickname } } }";
    let body = app.gql(redeem, json!({ "t": ticket }), None).await;
    assert!(body["errors"].is_null(), "{body}");
    let member = &body["data"]["redeemLoginTicket"]["member"];
    assert_eq!(member["account"], "dingtalk:000003");
    assert_eq!(member["accountType"], "DINGTALK");
    assert_eq!(
        member["userType"], "VIEWER",
        "admitted by the auto policy as a viewer"
    );
    let token = body["data"]["redeemLoginTicket"]["accessToken"]
        .as_str()
        .expect("token")
        .to_string();
    assert!(
        app.gql("{ me { member { account } } }", json!({}), Some(&token))
            .await["errors"]
            .is_null()
    );

    assert_eq!(
        error_code(&app.gql(redeem, json!({ "t": ticket }), None).await),
        "UNAUTHENTICATED",
        "a ticket works once"
    );
    let res = app.client.get(&callback).send().await.expect("replay");
    let replayed = location(&res);
    assert_eq!(
        query_param(&replayed, "error").as_deref(),
        Some("UNAUTHENTICATED"),
        "a replayed state is refused: {replayed}"
    );
    assert!(query_param(&replayed, "ticket").is_none());
    let forged = callback.replace("state=", "state=forged");
    let res = app.client.get(&forged).send().await.expect("forged state");
    assert_eq!(
        res.status(),
        401,
        "an unknown state has no SPA to return to"
    );

    // The second login of the same person finds the same member.
    let (landing, _) = browse(&app, &sandbox, &connection, "000003").await;
    let body = app
        .gql(
            redeem,
            json!({ "t": query_param(&landing, "ticket").expect("ticket") }),
            None,
        )
        .await;
    assert_eq!(
        body["data"]["redeemLoginTicket"]["member"]["account"],
        "dingtalk:000003"
    );
    let count = admin_ok(
        &app,
        &admin,
        "{ members(filter: { accountTypes: [DINGTALK] }) { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(count["members"]["totalCount"], 1);
    let bound = admin_ok(
        &app,
        &admin,
        "{ members(filter: { bound: true }) { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(
        bound["members"]["totalCount"], 1,
        "the provider identity is linked"
    );
}

/// A first login names the new member after the person; when another member already holds that
/// nickname in another letter case (nicknames are unique regardless of case), the new member
/// gets the next free one instead of the login failing.
#[tokio::test]
async fn a_first_login_avoids_a_nickname_taken_in_another_letter_case() {
    let (app, sandbox, admin, connection) = setup().await;
    admin_ok(
        &app,
        &admin,
        "mutation { createMember(input: { account: \"anna_local\", nickname: \"annali\", password: \"local-pw-12345\" }) { member { id } } }",
        json!({}),
    )
    .await;
    // Person 000005 is "Anna Li": a nickname keeps letters, digits and _/\|()[] only.
    let (landing, _) = browse(&app, &sandbox, &connection, "000005").await;
    let ticket = query_param(&landing, "ticket").expect("ticket");
    let body = app
        .gql(
            "mutation($t: String!) { redeemLoginTicket(ticket: $t) { member { account nickname } } }",
            json!({ "t": ticket }),
            None,
        )
        .await;
    let member = &body["data"]["redeemLoginTicket"]["member"];
    assert_eq!(member["account"], "dingtalk:000005", "{body}");
    assert_eq!(member["nickname"], "AnnaLi_1", "{body}");
}

#[tokio::test]
async fn a_login_started_on_one_instance_completes_on_another() {
    let (a, sandbox, _admin, connection) = setup().await;
    let b = a.another_instance().await;
    // authorize on A, the provider's redirect lands on B, the ticket is redeemed on A again.
    let (landing, _) = browse_across(&a, &b, &sandbox, &connection, "userid=000002&").await;
    let ticket = query_param(&landing, "ticket").expect("B issued a ticket");
    let body = a
        .gql(
            "mutation($t: String!) { redeemLoginTicket(ticket: $t) { accessToken member { account } } }",
            json!({ "t": ticket }),
            None,
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(
        body["data"]["redeemLoginTicket"]["member"]["account"],
        "dingtalk:000002"
    );
    let token = body["data"]["redeemLoginTicket"]["accessToken"]
        .as_str()
        .expect("token");
    assert!(
        b.gql("{ me { member { account } } }", json!({}), Some(token))
            .await["errors"]
            .is_null(),
        "a token issued by A is accepted by B"
    );
}

#[tokio::test]
async fn manual_policy_refuses_strangers_and_refused_scans_report_back() {
    let (app, sandbox, admin, connection) = setup().await;
    admin_ok(
        &app,
        &admin,
        "mutation($id: ID!) { updateConnection(id: $id, input: { autoAddPolicy: MANUAL }) { id } }",
        json!({ "id": connection }),
    )
    .await;
    let (landing, _) = browse(&app, &sandbox, &connection, "000004").await;
    assert_eq!(
        query_param(&landing, "error").as_deref(),
        Some("FORBIDDEN"),
        "{landing}"
    );
    assert!(
        query_param(&landing, "error_description").is_some_and(|d| d.contains("not a member")),
        "{landing}"
    );

    // The person refuses on the phone: the provider reports an error, the SPA hears of it.
    let client = reqwest::Client::new();
    client
        .post(format!("{}/sandbox/faults", sandbox.base_url()))
        .json(&json!({ "refuse_user": "000005" }))
        .send()
        .await
        .expect("fault");
    let res = app
        .client
        .get(format!("{}/auth/{connection}/authorize", app.address))
        .query(&[("redirect_uri", SPA)])
        .send()
        .await
        .expect("authorize");
    let provider_page = location(&res);
    let st = query_param(&provider_page, "state").expect("state");
    let scan = format!(
        "{}/dingtalk/login/scan?userid=000005&client_id={}&redirect_uri={}&state={st}",
        sandbox.base_url(),
        sandbox.state.company().app_key,
        urlencode(&format!("http://roster.test/auth/{connection}/callback"))
    );
    let res = app.client.get(scan).send().await.expect("scan");
    let callback = location(&res).replace("http://roster.test", &app.address);
    let res = app.client.get(callback).send().await.expect("callback");
    let landing = location(&res);
    assert_eq!(
        query_param(&landing, "error").as_deref(),
        Some("PROVIDER"),
        "{landing}"
    );
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("x", text)]).expect("encode")[2..].to_string()
}

#[tokio::test]
async fn redirect_uri_must_be_allowed() {
    let (app, _sandbox, _admin, connection) = setup().await;
    let res = app
        .client
        .get(format!("{}/auth/{connection}/authorize", app.address))
        .query(&[("redirect_uri", "https://evil.example/steal")])
        .send()
        .await
        .expect("authorize");
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["error"]["code"], "VALIDATION");
    let res = app
        .client
        .get(format!("{}/auth/999/authorize", app.address))
        .query(&[("redirect_uri", SPA)])
        .send()
        .await
        .expect("authorize");
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn connections_keep_secrets_and_explain_failures() {
    let (app, sandbox, admin, connection) = setup().await;
    let test = "mutation($id: ID!) { testConnection(id: $id) { ok message errcode } }";
    let body = admin_ok(&app, &admin, test, json!({ "id": connection })).await;
    assert_eq!(body["testConnection"]["ok"], true, "{body}");
    admin_ok(&app, &admin, "mutation($id: ID!) { updateConnection(id: $id, input: { clientSecret: \"wrong\" }) { id } }", json!({ "id": connection })).await;
    let body = admin_ok(&app, &admin, test, json!({ "id": connection })).await;
    assert_eq!(body["testConnection"]["ok"], false);
    assert_eq!(body["testConnection"]["errcode"], "invalidClientIdOrSecret");
    assert!(
        body["testConnection"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("check AppKey and AppSecret")),
        "{body}"
    );

    // The secret is sealed at rest and never returned.
    use sea_orm::EntityTrait;
    let row = entity::connection::Entity::find()
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("row");
    let sealed = row.client_secret_enc.expect("stored");
    assert!(sealed.starts_with("v1.") && !sealed.contains("wrong"));
    let listed = admin_ok(
        &app,
        &admin,
        "{ connections { id corpId clientId hasClientSecret } }",
        json!({}),
    )
    .await;
    assert!(
        !listed
            .to_string()
            .contains(&sandbox.state.company().app_secret)
    );

    let options = app
        .gql(
            "{ loginOptions(organization: \"1\") { provider authorizeUrl clientId corpId } }",
            json!({}),
            None,
        )
        .await;
    assert_eq!(
        options["data"]["loginOptions"][0]["provider"], "DINGTALK",
        "{options}"
    );
    assert_eq!(
        options["data"]["loginOptions"][0]["clientId"],
        sandbox.state.company().app_key.as_str()
    );

    let body = app.gql("mutation { addConnection(provider: WECOM, input: { corpId: \"ww1\", clientId: \"x\", clientSecret: \"y\" }) { id } }", json!({}), Some(&admin)).await;
    assert_eq!(
        error_code(&body),
        "VALIDATION",
        "WeCom is not available yet and says so"
    );
    let body = app
        .gql(
            "mutation($i: ConnectionFields!) { addConnection(provider: DINGTALK, input: $i) { id } }",
            json!({ "i": { "corpId": sandbox.state.company().corp_id, "clientId": sandbox.state.company().app_key, "clientSecret": "s" } }),
            Some(&admin),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "one app is connected once");
}

#[tokio::test]
async fn wecom_qr_login_and_connection_checks() {
    let (app, sandbox, admin, _dingtalk) = setup().await;
    let wecom = sandbox.state.company().wecom.clone();
    let created = admin_ok(
        &app,
        &admin,
        "mutation($i: ConnectionFields!) { addConnection(provider: WECOM, input: $i) { id provider agentId } }",
        json!({ "i": { "corpId": wecom.corp_id, "agentId": wecom.agent_id, "clientSecret": wecom.secret, "autoAddPolicy": "AUTO", "defaultUserType": "ANALYST" } }),
    )
    .await;
    let id = created["addConnection"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let test = "mutation($id: ID!) { testConnection(id: $id) { ok message errcode } }";
    let body = admin_ok(&app, &admin, test, json!({ "id": id })).await;
    assert_eq!(body["testConnection"]["ok"], true, "{body}");

    let (landing, callback) = browse(&app, &sandbox, &id, "000007").await;
    assert!(
        callback.contains("code=") && callback.contains("appid="),
        "{callback}"
    );
    let ticket = query_param(&landing, "ticket").unwrap_or_else(|| panic!("ticket in {landing}"));
    let body = app
        .gql("mutation($t: String!) { redeemLoginTicket(ticket: $t) { member { account accountType userType } } }", json!({ "t": ticket }), None)
        .await;
    assert_eq!(
        body["data"]["redeemLoginTicket"]["member"],
        json!({ "account": "wecom:000007", "accountType": "WECOM", "userType": "ANALYST" }),
        "{body}"
    );

    admin_ok(&app, &admin, "mutation($id: ID!) { updateConnection(id: $id, input: { clientSecret: \"nope\" }) { id } }", json!({ "id": id })).await;
    let body = admin_ok(&app, &admin, test, json!({ "id": id })).await;
    assert_eq!(body["testConnection"]["errcode"], "40001");
    assert!(
        body["testConnection"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("check CorpId, AgentId and Secret")),
        "{body}"
    );
}

#[tokio::test]
async fn microsoft_sign_in_with_pkce_and_a_verified_id_token() {
    let (app, sandbox, admin, _dingtalk) = setup().await;
    let entra = sandbox.state.company().entra.clone();
    let created = admin_ok(
        &app,
        &admin,
        "mutation($i: ConnectionFields!) { addConnection(provider: TEAMS, input: $i) { id name } }",
        json!({ "i": { "corpId": entra.tenant_id, "clientId": entra.client_id, "clientSecret": entra.client_secret, "autoAddPolicy": "AUTO" } }),
    )
    .await;
    let id = created["addConnection"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let test = "mutation($id: ID!) { testConnection(id: $id) { ok message errcode } }";
    let body = admin_ok(&app, &admin, test, json!({ "id": id })).await;
    assert_eq!(body["testConnection"]["ok"], true, "{body}");

    // The authorize address carries PKCE (S256) and a nonce.
    let res = app
        .client
        .get(format!("{}/auth/{id}/authorize", app.address))
        .query(&[("redirect_uri", SPA)])
        .send()
        .await
        .expect("authorize");
    let provider_page = location(&res);
    assert_eq!(
        query_param(&provider_page, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert!(
        query_param(&provider_page, "nonce").is_some()
            && query_param(&provider_page, "code_challenge").is_some()
    );

    let person = sandbox.state.company().people[2].clone();
    let (landing, _) = browse_as(&app, &sandbox, &id, &format!("oid={}&", person.object_id)).await;
    let ticket = query_param(&landing, "ticket").unwrap_or_else(|| panic!("ticket in {landing}"));
    let body = app
        .gql("mutation($t: String!) { redeemLoginTicket(ticket: $t) { member { account accountType name } } }", json!({ "t": ticket }), None)
        .await;
    let member = &body["data"]["redeemLoginTicket"]["member"];
    assert_eq!(
        member["account"],
        format!("teams:{}", person.object_id),
        "{body}"
    );
    assert_eq!(member["accountType"], "TEAMS");
    assert_eq!(member["name"], person.name.as_str());

    admin_ok(&app, &admin, "mutation($id: ID!) { updateConnection(id: $id, input: { clientSecret: \"nope\" }) { id } }", json!({ "id": id })).await;
    let body = admin_ok(&app, &admin, test, json!({ "id": id })).await;
    assert_eq!(body["testConnection"]["errcode"], "AADSTS7000215", "{body}");
    assert!(
        body["testConnection"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("client secret")),
        "{body}"
    );
    // With the wrong secret the code cannot be redeemed: the SPA hears why.
    let (landing, _) = browse_as(&app, &sandbox, &id, &format!("oid={}&", person.object_id)).await;
    assert_eq!(
        query_param(&landing, "error").as_deref(),
        Some("PROVIDER"),
        "{landing}"
    );
}

async fn fault(sandbox: &Sandbox, body: Value) {
    let res = reqwest::Client::new()
        .post(format!("{}/sandbox/faults", sandbox.base_url()))
        .json(&body)
        .send()
        .await
        .expect("fault");
    assert_eq!(res.status(), 204);
}

async fn teams_connection(app: &TestApp, sandbox: &Sandbox, admin: &str) -> String {
    let entra = sandbox.state.company().entra.clone();
    admin_ok(
        app,
        admin,
        "mutation($i: ConnectionFields!) { addConnection(provider: TEAMS, input: $i) { id } }",
        json!({ "i": { "corpId": entra.tenant_id, "clientId": entra.client_id, "clientSecret": entra.client_secret, "autoAddPolicy": "AUTO" } }),
    )
    .await["addConnection"]["id"]
        .as_str()
        .expect("id")
        .to_string()
}

#[tokio::test]
async fn spoiled_id_tokens_are_refused() {
    let (app, sandbox, admin, _dingtalk) = setup().await;
    let id = teams_connection(&app, &sandbox, &admin).await;
    let oid = sandbox.state.company().people[1].object_id.clone();
    for (kind, expected) in [
        ("wrong_audience", "PROVIDER"),
        ("tampered", "PROVIDER"),
        ("wrong_tenant", "FORBIDDEN"),
    ] {
        fault(&sandbox, json!({ "id_token": kind })).await;
        let (landing, _) = browse_as(&app, &sandbox, &id, &format!("oid={oid}&")).await;
        assert_eq!(
            query_param(&landing, "error").as_deref(),
            Some(expected),
            "{kind}: {landing}"
        );
        assert!(query_param(&landing, "ticket").is_none(), "{kind}");
    }
    let (landing, _) = browse_as(&app, &sandbox, &id, &format!("oid={oid}&")).await;
    assert!(
        query_param(&landing, "ticket").is_some(),
        "an unspoiled token still works: {landing}"
    );
}

#[tokio::test]
async fn one_person_in_two_dingtalk_enterprises_is_one_user() {
    let (app, sandbox, admin, main_connection) = setup().await;
    let branch = sandbox.state.company().branch.clone();
    // The branch enterprise belongs to a second organization.
    let org_b = create_organization(&app, &admin, "Branch").await;
    let admin_b = switch_to(&app, &admin, &org_b).await;
    admin_ok(
        &app,
        &admin_b,
        "mutation($l: [String!]) { updateOrganization(redirectAllowList: $l) { id } }",
        json!({ "l": [SPA] }),
    )
    .await;
    let branch_connection = admin_ok(
        &app,
        &admin_b,
        "mutation($i: ConnectionFields!) { addConnection(provider: DINGTALK, input: $i) { id } }",
        json!({ "i": { "corpId": branch.corp_id, "clientId": branch.app_key, "clientSecret": branch.app_secret, "autoAddPolicy": "AUTO" } }),
    )
    .await["addConnection"]["id"]
        .as_str()
        .expect("id")
        .to_string();

    let redeem = "mutation($t: String!) { redeemLoginTicket(ticket: $t) { accessToken member { account } } }";
    let (landing, _) = browse(&app, &sandbox, &main_connection, "000006").await;
    let main = app
        .gql(
            redeem,
            json!({ "t": query_param(&landing, "ticket").expect("ticket") }),
            None,
        )
        .await;
    assert_eq!(
        main["data"]["redeemLoginTicket"]["member"]["account"], "dingtalk:000006",
        "{main}"
    );
    let (landing, _) = browse(&app, &sandbox, &branch_connection, "9000006").await;
    let other = app
        .gql(
            redeem,
            json!({ "t": query_param(&landing, "ticket").expect("ticket") }),
            None,
        )
        .await;
    assert_eq!(
        other["data"]["redeemLoginTicket"]["member"]["account"], "dingtalk:9000006",
        "{other}"
    );

    // One user, two identities, two memberships.
    let token = other["data"]["redeemLoginTicket"]["accessToken"]
        .as_str()
        .expect("token");
    let orgs = app
        .gql("{ organizations { name } }", json!({}), Some(token))
        .await;
    let names: Vec<&str> = orgs["data"]["organizations"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|o| o["name"].as_str())
        .collect();
    assert_eq!(names, vec!["Branch", "Default"], "{orgs}");
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let identities = entity::identity::Entity::find()
        .filter(entity::identity::Column::UnionId.eq("union-00006"))
        .all(&app.state.db)
        .await
        .expect("identities");
    assert_eq!(identities.len(), 2);
    assert_eq!(
        identities[0].user_id, identities[1].user_id,
        "merged by unionId"
    );
}

#[tokio::test]
async fn disabled_members_expired_tokens_throttling_and_outages() {
    let (app, sandbox, admin, connection) = setup().await;
    let redeem = "mutation($t: String!) { redeemLoginTicket(ticket: $t) { member { id } } }";
    let (landing, _) = browse(&app, &sandbox, &connection, "000008").await;
    let body = app
        .gql(
            redeem,
            json!({ "t": query_param(&landing, "ticket").expect("ticket") }),
            None,
        )
        .await;
    let member = body["data"]["redeemLoginTicket"]["member"]["id"].clone();

    // The app token DingTalk issued expires early: the client renews it and the login works.
    fault(&sandbox, json!({ "expire_tokens": true })).await;
    let (landing, _) = browse(&app, &sandbox, &connection, "000008").await;
    assert!(
        query_param(&landing, "ticket").is_some(),
        "recovered from an expired app token: {landing}"
    );

    // A disabled member is refused, on the SPA's page.
    admin_ok(
        &app,
        &admin,
        "mutation($m: [ID!]!) { disableMembers(ids: $m) { ok } }",
        json!({ "m": [member] }),
    )
    .await;
    let (landing, _) = browse(&app, &sandbox, &connection, "000008").await;
    assert_eq!(
        query_param(&landing, "error").as_deref(),
        Some("UNAUTHENTICATED"),
        "{landing}"
    );
    assert!(query_param(&landing, "error_description").is_some_and(|d| d.contains("disabled")));

    // Throttling with Retry-After is waited out and retried.
    fault(&sandbox, json!({ "next": [{ "status": 429, "body": { "code": "Throttling", "message": "too many requests" }, "retry_after": 1 }] })).await;
    let test = "mutation($id: ID!) { testConnection(id: $id) { ok message errcode } }";
    let body = admin_ok(&app, &admin, test, json!({ "id": connection })).await;
    assert_eq!(
        body["testConnection"]["ok"], true,
        "throttling was retried: {body}"
    );

    // A provider that cannot be reached gives a clear error, not a 500.
    let down = TestApp::spawn_with(|s| {
        s.providers.dingtalk.api_url = "http://127.0.0.1:9".into();
        s.providers.dingtalk.oapi_url = "http://127.0.0.1:9".into();
    })
    .await;
    let admin_down = down.admin_token().await;
    let company = sandbox.state.company().clone();
    let id = admin_ok(
        &down,
        &admin_down,
        "mutation($i: ConnectionFields!) { addConnection(provider: DINGTALK, input: $i) { id } }",
        json!({ "i": { "corpId": company.corp_id, "clientId": company.app_key, "clientSecret": company.app_secret } }),
    )
    .await["addConnection"]["id"]
        .clone();
    let body = admin_ok(&down, &admin_down, test, json!({ "id": id })).await;
    assert_eq!(body["testConnection"]["ok"], false);
    assert!(
        body["testConnection"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("could not be reached")),
        "{body}"
    );
}

#[tokio::test]
async fn legacy_sns_qr_login_with_a_signed_exchange() {
    let (app, sandbox, admin, connection) = setup().await;
    admin_ok(&app, &admin, "mutation($id: ID!) { updateConnection(id: $id, input: { legacyQrLogin: true }) { legacyQrLogin } }", json!({ "id": connection })).await;
    let res = app
        .client
        .get(format!("{}/auth/{connection}/authorize", app.address))
        .query(&[("redirect_uri", SPA)])
        .send()
        .await
        .expect("authorize");
    assert!(
        location(&res).contains("/connect/qrconnect?"),
        "{}",
        location(&res)
    );
    let (landing, callback) = browse(&app, &sandbox, &connection, "000004").await;
    assert!(
        callback.contains("code=") && !callback.contains("authCode="),
        "{callback}"
    );
    let ticket = query_param(&landing, "ticket").unwrap_or_else(|| panic!("ticket in {landing}"));
    let body = app
        .gql(
            "mutation($t: String!) { redeemLoginTicket(ticket: $t) { member { account } } }",
            json!({ "t": ticket }),
            None,
        )
        .await;
    assert_eq!(
        body["data"]["redeemLoginTicket"]["member"]["account"], "dingtalk:000004",
        "{body}"
    );
}

#[tokio::test]
async fn provider_organizations_are_created_with_their_connection_and_slow_providers_time_out() {
    let sandbox =
        Sandbox::start(Company::generate("dingslow", 4, 1), "127.0.0.1:0").expect("sandbox");
    let base = sandbox.base_url();
    let app = TestApp::spawn_with(|s| {
        TestApp::use_sandbox(s, &base);
        s.providers.timeout_secs = 1;
    })
    .await;
    let admin = app.admin_token().await;
    let company = sandbox.state.company().clone();
    let create = "mutation($c: ConnectionFields) { createOrganization(name: \"Shenzhen\", kind: DINGTALK, connection: $c) { id kind } }";
    let body = app.gql(create, json!({ "c": null }), Some(&admin)).await;
    assert_eq!(
        error_code(&body),
        "VALIDATION",
        "a DingTalk organization needs its app"
    );
    let body = app
        .gql(create, json!({ "c": { "corpId": company.corp_id, "clientId": company.app_key, "clientSecret": company.app_secret } }), Some(&admin))
        .await;
    assert_eq!(
        body["data"]["createOrganization"]["kind"], "DINGTALK",
        "{body}"
    );
    let org = body["data"]["createOrganization"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let options = app
        .gql(
            "query($o: ID!) { loginOptions(organization: $o) { provider corpId } }",
            json!({ "o": org }),
            None,
        )
        .await;
    assert_eq!(
        options["data"]["loginOptions"],
        json!([{ "provider": "DINGTALK", "corpId": company.corp_id }]),
        "QR login is on at once"
    );
    let body = app
        .gql(create, json!({ "c": { "corpId": company.corp_id, "clientId": company.app_key, "clientSecret": company.app_secret } }), Some(&admin))
        .await;
    assert_eq!(
        error_code(&body),
        "CONFLICT",
        "the same app cannot back two organizations"
    );

    // A provider slower than the configured timeout is reported, not waited for forever.
    let token = switch_to(&app, &admin, &json!(org)).await;
    let connection =
        admin_ok(&app, &token, "{ connections { id } }", json!({})).await["connections"][0]["id"]
            .clone();
    fault(&sandbox, json!({ "latency_ms": 1500 })).await;
    let body = admin_ok(
        &app,
        &token,
        "mutation($id: ID!) { testConnection(id: $id) { ok message } }",
        json!({ "id": connection }),
    )
    .await;
    assert_eq!(body["testConnection"]["ok"], false);
    assert!(
        body["testConnection"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("could not be reached")),
        "{body}"
    );
}

#[tokio::test]
async fn expired_login_states_and_tickets_are_purged() {
    let (app, sandbox, _admin, connection) = setup().await;
    let (landing, _) = browse(&app, &sandbox, &connection, "000002").await;
    assert!(query_param(&landing, "ticket").is_some());
    use sea_orm::{EntityTrait, PaginatorTrait, sea_query::Expr};
    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    entity::login_state::Entity::update_many()
        .col_expr(entity::login_state::Column::ExpiresAt, Expr::value(past))
        .exec(&app.state.db)
        .await
        .expect("age");
    entity::login_ticket::Entity::update_many()
        .col_expr(entity::login_ticket::Column::ExpiresAt, Expr::value(past))
        .exec(&app.state.db)
        .await
        .expect("age");
    let removed = roster::auth::purge_expired(&app.state.db)
        .await
        .expect("purge");
    assert_eq!(removed, 2);
    assert_eq!(
        entity::login_state::Entity::find()
            .count(&app.state.db)
            .await
            .expect("count"),
        0
    );
    assert!(
        entity::refresh_token::Entity::find()
            .count(&app.state.db)
            .await
            .expect("count")
            > 0,
        "live refresh tokens stay"
    );
}
