//! Access tokens: verifiable by an independent library against the JWKS; forged, expired,
//! tampered and foreign tokens refused; a disabled member refused at once; key rotation.

use crate::common::{
    ADMIN_PASSWORD, TestApp, assert_unauthenticated, error_code,
    jwt::{claims_of, kid, sign_with_server_key},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use entity::{enums::MemberStatus, member, signing_key};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

const ME: &str = "{ me { member { account } } }";

pub(crate) async fn jwks(app: &TestApp) -> Value {
    app.client
        .get(format!("{}/.well-known/jwks.json", app.address))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json")
}

#[tokio::test]
async fn an_independent_library_verifies_tokens_against_the_jwks() {
    use jwt_compact::{AlgorithmExt, alg::Ed25519, jwk::JsonWebKey};
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let set = jwks(&app).await;

    let parsed = jwt_compact::UntrustedToken::new(&token).expect("parses");
    let kid = parsed.header().key_id.clone().expect("kid");
    let jwk_json = set["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("kid published")
        .clone();
    let jwk: JsonWebKey<'_> = serde_json::from_value(jwk_json).expect("jwk");
    let key =
        <Ed25519 as jwt_compact::Algorithm>::VerifyingKey::try_from(&jwk).expect("Ed25519 key");
    let verified = Ed25519
        .validator::<Value>(&key)
        .validate(&parsed)
        .expect("signature verifies");
    let claims = &verified.claims().custom;
    assert_eq!(claims["iss"], "http://roster.test");
    assert_eq!(claims["aud"], "roster");
    assert_eq!(claims["utype"], "developer");
    assert!(claims["org"].is_i64() && claims["uid"].is_i64() && claims["jti"].is_string());
    assert!(claims["sub"].is_string());
    let exp = verified.claims().expiration.expect("exp");
    let iat = verified.claims().issued_at.expect("iat");
    assert_eq!((exp - iat).num_seconds(), 900, "15 minutes by default");
}

/// Signs claims with the server's own private key (a valid signature over bad claims).
#[tokio::test]
async fn forged_and_invalid_tokens_are_unauthenticated() {
    let app = TestApp::spawn().await;
    let good = app.admin_token().await;
    assert!(app.gql(ME, json!({}), Some(&good)).await["errors"].is_null());
    let claims = claims_of(&good);
    let kid = jwks(&app).await["keys"][0]["kid"]
        .as_str()
        .expect("kid")
        .to_string();
    let x = jwks(&app).await["keys"][0]["x"]
        .as_str()
        .expect("x")
        .to_string();

    let mut cases: Vec<(&str, String)> = Vec::new();

    // alg: none, no signature.
    let header =
        URL_SAFE_NO_PAD.encode(json!({ "alg": "none", "typ": "JWT", "kid": kid }).to_string());
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    cases.push(("alg none", format!("{header}.{payload}.")));

    // HS256 with the public key as the HMAC secret (raw bytes and the base64 text).
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some(kid.clone());
    let raw = URL_SAFE_NO_PAD.decode(&x).expect("x");
    cases.push((
        "HS256 raw public key",
        jsonwebtoken::encode(&hs, &claims, &EncodingKey::from_secret(&raw)).expect("sign"),
    ));
    cases.push((
        "HS256 public key text",
        jsonwebtoken::encode(&hs, &claims, &EncodingKey::from_secret(x.as_bytes())).expect("sign"),
    ));

    // Valid signatures over bad claims.
    let mut wrong_iss = claims.clone();
    wrong_iss["iss"] = json!("https://attacker.example");
    cases.push(("wrong issuer", sign_with_server_key(&app, &wrong_iss)));
    let mut wrong_aud = claims.clone();
    wrong_aud["aud"] = json!("another-service");
    cases.push(("wrong audience", sign_with_server_key(&app, &wrong_aud)));
    let mut expired = claims.clone();
    let now = chrono::Utc::now().timestamp();
    expired["iat"] = json!(now - 3600);
    expired["exp"] = json!(now - 600);
    cases.push(("expired", sign_with_server_key(&app, &expired)));
    let mut other_org = claims.clone();
    other_org["org"] = json!(claims["org"].as_i64().expect("org") + 100);
    cases.push((
        "another organization",
        sign_with_server_key(&app, &other_org),
    ));
    let mut no_member = claims.clone();
    no_member["sub"] = json!("999999");
    cases.push(("unknown member", sign_with_server_key(&app, &no_member)));

    // Tampered payload, original signature.
    let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
    let mut elevated = claims.clone();
    elevated["utype"] = json!("viewer");
    parts[1] = URL_SAFE_NO_PAD.encode(elevated.to_string());
    cases.push(("tampered payload", parts.join(".")));
    // Tampered signature.
    let mut sig = good.clone();
    let last = sig.pop().expect("char");
    sig.push(if last == 'A' { 'B' } else { 'A' });
    cases.push(("tampered signature", sig));
    // Unknown key id.
    let mut unknown_kid = Header::new(Algorithm::EdDSA);
    unknown_kid.kid = Some("no-such-key".into());
    let (_, key) = app.state.keys.signing_key().expect("key");
    cases.push((
        "unknown kid",
        jsonwebtoken::encode(&unknown_kid, &claims, &key).expect("sign"),
    ));
    cases.push(("garbage", "not.a.jwt".into()));

    for (name, token) in cases {
        let body = app.gql(ME, json!({}), Some(&token)).await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{name}: {body}");
        assert!(body["data"].is_null(), "{name}");
    }

    let res = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("authorization", format!("Basic {good}"))
        .json(&json!({ "query": ME }))
        .send()
        .await
        .expect("post");
    let body: Value = res.json().await.expect("json");
    assert_eq!(
        error_code(&body),
        "UNAUTHENTICATED",
        "only Bearer is accepted"
    );
}

#[tokio::test]
async fn a_disabled_member_is_refused_on_the_next_request() {
    let app = TestApp::spawn().await;
    let payload = app.login("admin", ADMIN_PASSWORD).await;
    let token = payload["accessToken"].as_str().expect("token");
    let id: i64 = payload["member"]["id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("numeric");
    member::Entity::update(member::ActiveModel {
        id: Set(id),
        status: Set(MemberStatus::Disabled),
        ..Default::default()
    })
    .exec(&app.state.db)
    .await
    .expect("disable");
    let body = app.gql(ME, json!({}), Some(token)).await;
    assert_unauthenticated(&body, "disabled");
    let body = app
        .gql(
            "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }",
            json!({ "t": payload["refreshToken"] }),
            None,
        )
        .await;
    assert_eq!(
        error_code(&body),
        "UNAUTHENTICATED",
        "refresh is refused too"
    );
    let body = app
        .gql(
            crate::common::app::LOGIN,
            json!({ "account": "admin", "password": ADMIN_PASSWORD }),
            None,
        )
        .await;
    assert_unauthenticated(&body, "disabled");
}

#[tokio::test]
async fn key_rotation_keeps_old_tokens_valid_and_publishes_both_keys() {
    let app = TestApp::spawn().await;
    let old = app.admin_token().await;
    let new_kid = app.state.keys.rotate().await.expect("rotate");
    let set = jwks(&app).await;
    let kids: Vec<&str> = set["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert_eq!(kids.len(), 2);
    assert!(kids.contains(&new_kid.as_str()));
    assert!(
        app.gql(ME, json!({}), Some(&old)).await["errors"].is_null(),
        "tokens signed before rotation still work"
    );
    let fresh = app.admin_token().await;
    assert_eq!(kid(&fresh), new_kid);
    assert!(app.gql(ME, json!({}), Some(&fresh)).await["errors"].is_null());
}

/// A token accepted once is remembered by its text (no second signature check), and still
/// refused once it expires, and once its key is no longer published.
#[tokio::test]
async fn a_token_accepted_before_is_refused_once_expired_or_unpublished() {
    let app = TestApp::spawn().await;
    let good = app.admin_token().await;
    let now = chrono::Utc::now().timestamp();
    let mut short = claims_of(&good);
    // Valid for one more second, and the five of leeway.
    short["exp"] = json!(now + 1);
    let short = sign_with_server_key(&app, &short);
    for _ in 0..2 {
        let body = app.gql(ME, json!({}), Some(&short)).await;
        assert!(body["errors"].is_null(), "{body}");
    }
    tokio::time::sleep(std::time::Duration::from_secs(7)).await;
    let body = app.gql(ME, json!({}), Some(&short)).await;
    assert_unauthenticated(&body, "expired");

    // The key leaves publication (retired longer ago than a token lives).
    assert!(app.gql(ME, json!({}), Some(&good)).await["errors"].is_null());
    signing_key::Entity::update_many()
        .col_expr(
            signing_key::Column::RetiredAt,
            sea_orm::sea_query::Expr::value(chrono::Utc::now() - chrono::Duration::days(1)),
        )
        .filter(signing_key::Column::Kid.eq(kid(&good)))
        .exec(&app.state.db)
        .await
        .expect("retire");
    app.state.keys.reload().await.expect("reload");
    let body = app.gql(ME, json!({}), Some(&good)).await;
    assert_unauthenticated(&body, "unknown key id");
}
