//! `roster-sandbox`: serves a seeded DingTalk enterprise and WeCom corporation on loopback for local
//! development.
//!
//! `roster-sandbox [PORT] [PEOPLE]` (defaults 9090 and 50) prints the base URLs and credentials to
//! configure in Roster.

use sandbox::{Sandbox, company::Company};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(9090);
    let people: usize = args.next().and_then(|p| p.parse().ok()).unwrap_or(50);
    let company = Company::generate("dingsandbox", people, 5);
    println!(
        "DingTalk sandbox enterprise {} with {people} people",
        company.corp_id
    );
    println!("  CorpId:    {}", company.corp_id);
    println!("  AppKey:    {}", company.app_key);
    println!("  AppSecret: {}", company.app_secret);
    println!("WeCom sandbox corporation {}", company.wecom.corp_id);
    println!("  CorpId:    {}", company.wecom.corp_id);
    println!("  AgentId:   {}", company.wecom.agent_id);
    println!("  Secret:    {}", company.wecom.secret);
    println!("Microsoft sandbox tenant {}", company.entra.tenant_id);
    println!("  TenantId:     {}", company.entra.tenant_id);
    println!("  ClientId:     {}", company.entra.client_id);
    println!("  ClientSecret: {}", company.entra.client_secret);
    let sandbox = Sandbox::start(company, &format!("127.0.0.1:{port}"))?;
    let base = sandbox.base_url();
    println!("Point Roster at it:");
    println!("  ROSTER_PROVIDERS__DINGTALK__LOGIN_URL={base}/dingtalk/login");
    println!("  ROSTER_PROVIDERS__DINGTALK__API_URL={base}/dingtalk/api");
    println!("  ROSTER_PROVIDERS__DINGTALK__OAPI_URL={base}/dingtalk/oapi");
    println!("  ROSTER_PROVIDERS__WECOM__LOGIN_URL={base}/wecom/login");
    println!("  ROSTER_PROVIDERS__WECOM__API_URL={base}/wecom/api");
    println!("  ROSTER_PROVIDERS__MICROSOFT__LOGIN_URL={base}/microsoft/login");
    println!("  ROSTER_PROVIDERS__MICROSOFT__GRAPH_URL={base}/microsoft/graph");
    tokio::signal::ctrl_c().await
}
