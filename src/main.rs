//! The `roster` command: `serve` (default), `migrate`, `schema`.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use roster::{Application, config::Settings, org::bootstrap::Bootstrap};

/// Roster: organization and SSO backend for DingTalk, WeCom and Microsoft Teams.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default): migrations, first administrator, GraphQL at /graphql.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL) to stdout.
    Schema,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Schema) = cli.command {
        print!("{}", roster::graphql::sdl());
        return Ok(());
    }
    let settings = Settings::load()?;
    roster::telemetry::init(&settings.log);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => {
            let db = roster::db::connect(&settings)
                .await
                .context("cannot open the database (DATABASE_URL)")?;
            roster::db::migrate(&db)
                .await
                .context("applying migrations")?;
            println!(
                "migrations applied to {}",
                roster::redact_url(&settings.database_url)
            );
        }
        Command::Serve => {
            let public_url = settings.public_url();
            let app = Application::build(settings).await?;
            if let Bootstrap::Created {
                account,
                generated_password,
            } = app.bootstrap()
            {
                match generated_password {
                    Some(password) => println!(
                        "Created the default organization and its administrator.\n  account:  {account}\n  password: {password}\nThis one-time password is shown only now. Log in with it, then choose your own with the `changePassword` mutation: nothing else is allowed until you do."
                    ),
                    None => println!(
                        "Created the default organization and its administrator `{account}` with the password from ROSTER_ADMIN_PASSWORD."
                    ),
                }
            }
            println!("Roster is listening on {public_url} — GraphiQL: {public_url}/graphiql");
            app.run_until_stopped().await?;
        }
        Command::Schema => unreachable!("handled above"),
    }
    Ok(())
}
