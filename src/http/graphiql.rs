//! GraphiQL served entirely from this server: the page and the React and GraphiQL bundles are
//! embedded at build time (see `build.rs`), so it works with no internet access.

use actix_web::{HttpResponse, get, http::header, web};

const REACT: &[u8] = include_bytes!(concat!(
    env!("OUT_DIR"),
    "/graphiql/react.production.min.js"
));
const REACT_DOM: &[u8] = include_bytes!(concat!(
    env!("OUT_DIR"),
    "/graphiql/react-dom.production.min.js"
));
const GRAPHIQL_JS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/graphiql/graphiql.min.js"));
const GRAPHIQL_CSS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/graphiql/graphiql.min.css"));

const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="robots" content="noindex">
  <title>Roster GraphiQL</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/graphiql/assets/graphiql.min.css">
  <style>body { margin: 0; height: 100vh; overflow: hidden; } #graphiql { height: 100vh; }</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="/graphiql/assets/react.production.min.js"></script>
  <script src="/graphiql/assets/react-dom.production.min.js"></script>
  <script src="/graphiql/assets/graphiql.min.js"></script>
  <script src="/graphiql/assets/roster.js"></script>
</body>
</html>
"#;

/// Starts GraphiQL against `/graphql`, with a first query that shows how to log in.
const BOOT: &str = r#"(function () {
  var fetcher = GraphiQL.createFetcher({ url: window.location.origin + '/graphql' });
  var query = '# Log in, copy accessToken into the Headers tab as\n' +
    '# {"Authorization": "Bearer <accessToken>"}, then ask for `me`.\n' +
    'mutation Login {\n  login(account: "admin", password: "<password>") {\n    accessToken\n    refreshToken\n    expiresIn\n  }\n}\n\n' +
    'query Me {\n  me {\n    member { id account nickname userType }\n    organization { id name kind }\n    role { name builtinKey }\n    permissions\n  }\n}\n';
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, { fetcher: fetcher, defaultQuery: query, shouldPersistHeaders: true })
  );
})();
"#;

/// The GraphiQL page.
#[get("/graphiql")]
pub async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:"))
        .body(PAGE)
}

/// The embedded GraphiQL assets.
#[get("/graphiql/assets/{file}")]
pub async fn asset(file: web::Path<String>) -> HttpResponse {
    let (body, content_type): (&'static [u8], &str) = match file.as_str() {
        "react.production.min.js" => (REACT, "text/javascript; charset=utf-8"),
        "react-dom.production.min.js" => (REACT_DOM, "text/javascript; charset=utf-8"),
        "graphiql.min.js" => (GRAPHIQL_JS, "text/javascript; charset=utf-8"),
        "graphiql.min.css" => (GRAPHIQL_CSS, "text/css; charset=utf-8"),
        "roster.js" => (BOOT.as_bytes(), "text/javascript; charset=utf-8"),
        _ => return HttpResponse::NotFound().finish(),
    };
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(body)
}
