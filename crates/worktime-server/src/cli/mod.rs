//! The command line: `serve`, `backup`, `migrate-db`, `user
//! add|list|rename|admin|export|delete`, `token create|list|revoke`. Every
//! subcommand works on the database given by `--db` or `WORKTIME_DB` (an
//! SQLite file path, default `./worktime.db`, or a `postgres://` URL), also
//! while a server runs on it.

use crate::clock::{Clock, SystemClock};
use crate::logging::{self, LogFormat};
use crate::ratelimit::RateLimit;
use crate::state::{AppState, ServerConfig};
use crate::store::{Store, StoreError};
use crate::token::{RandomError, Token};
use clap::{Args, Parser, Subcommand};
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use worktime_protocol::time::rfc3339;

mod export;
mod migrate_db;

/// `worktime-server`: the WorkTime Sync reference server and its admin CLI.
#[derive(Debug, Parser)]
#[command(name = "worktime-server", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (API, live events, dashboard).
    Serve(ServeArgs),
    /// Manage users.
    User {
        /// What to do with users.
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage device tokens.
    Token {
        /// What to do with tokens.
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Copy everything from an SQLite file into an empty PostgreSQL
    /// database (users, tokens, sessions and change numbers keep their ids).
    MigrateDb {
        /// The SQLite file to copy from (stop the server on it first).
        #[arg(long)]
        from: PathBuf,
        /// The PostgreSQL database to copy to: `postgres://user:pass@host/db`.
        #[arg(long)]
        to: String,
    },
    /// Copy the database to a new file with SQLite's online backup (the
    /// server may keep running and writing meanwhile); on PostgreSQL, says
    /// to use pg_dump.
    Backup {
        /// The copy to write; must not exist.
        #[arg(long)]
        to: PathBuf,
        #[command(flatten)]
        #[allow(missing_docs)]
        db: DbArg,
    },
}

/// `on` or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Switch {
    /// Set.
    On,
    /// Clear.
    Off,
}

/// The database every subcommand works on.
#[derive(Debug, Args)]
pub struct DbArg {
    /// SQLite database file (created if missing) or a PostgreSQL URL
    /// (`postgres://user:pass@host:5432/db`).
    #[arg(long, env = "WORKTIME_DB", default_value = "./worktime.db")]
    pub db: String,
}

impl DbArg {
    /// `--db` for messages and logs (a URL without its password).
    pub fn shown(&self) -> String {
        crate::store::postgres::redacted(&self.db)
    }
}

/// Options of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (it is logged).
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub addr: String,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub db: DbArg,
    /// Another origin allowed by CORS (chrome-extension:// origins always are). Repeatable.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    pub allow_origins: Vec<String>,
    /// Requests per second each token may make, sustained.
    #[arg(long, default_value_t = 10.0)]
    pub rate_per_second: f64,
    /// Requests each token may make at once.
    #[arg(long, default_value_t = 20)]
    pub rate_burst: u32,
    /// Turn the per-token rate limit off (benchmarks).
    #[arg(long)]
    pub no_rate_limit: bool,
    /// A reverse proxy (address or CIDR network) whose `Forwarded` /
    /// `X-Forwarded-For` headers name the client for the per-address limit
    /// of requests without a valid token. Repeatable; none by default.
    #[arg(long = "trusted-proxy", value_name = "CIDR")]
    pub trusted_proxies: Vec<String>,
    /// Also serve `GET /metrics` without a token on this address (keep it
    /// where only the metrics scraper reaches); otherwise `/metrics` needs
    /// an admin token.
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<String>,
    /// Requests handled at once; more are answered 503 with Retry-After.
    #[arg(long, default_value_t = 256)]
    pub max_in_flight: usize,
    /// Open connections at most; more wait to be accepted.
    #[arg(long, default_value_t = 1024)]
    pub max_connections: usize,
    /// Write jobs that may wait for the database; more are answered 503.
    #[arg(long, default_value_t = crate::store::sqlite::DEFAULT_WRITER_QUEUE)]
    pub writer_queue: usize,
    /// Seconds a device must have sent nothing before the server closes its
    /// open sessions (and the server must have run before its first sweep).
    #[arg(long, default_value_t = 20 * 60)]
    pub stale_after_secs: u64,
    /// Log line format.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

/// `user` subcommands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user.
    Add {
        /// Name: 1 to 64 of A-Z a-z 0-9 . _ - (starting with a letter or digit).
        name: String,
        /// Let the user read every user's sessions.
        #[arg(long)]
        admin: bool,
        #[command(flatten)]
        #[allow(missing_docs)]
        db: DbArg,
    },
    /// List users.
    List {
        #[command(flatten)]
        #[allow(missing_docs)]
        db: DbArg,
    },
    /// Rename a user (their sessions and tokens stay theirs).
    Rename {
        /// The current name.
        name: String,
        /// The new name.
        new_name: String,
        #[command(flatten)]
        #[allow(missing_docs)]
        db: DbArg,
    },
    /// Give or take a user's admin flag.
    Admin {
        /// The user.
        name: String,
        /// `on` or `off`.
        #[arg(value_enum)]
        switch: Switch,
        #[command(flatten)]
        #[allow(missing_docs)]
        db: DbArg,
    },
    /// Print everything stored about a user as JSON (a privacy export):
    /// the user, their devices (never the tokens) and all their sessions.
    Export {
        /// The user.
        name: String,
        #[command(flatten)]
        #[allow(missing_docs)]
        db: DbArg,
    },
    /// Delete a user with all their sessions and device tokens, for good.
    #[command(alias = "remove")]
    Delete {
        /// The user.
        name: String,
        /// Confirms the deletion (nothing is deleted without it).
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        #[allow(missing_docs)]
        db: DbArg,
    },
}

/// `token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a device token; the token is printed alone on the last line.
    Create {
        /// The user it belongs to.
        #[arg(long)]
        user: String,
        /// A label for the device, e.g. "work laptop".
        #[arg(long)]
        device: String,
        #[command(flatten)]
        #[allow(missing_docs)]
        db: DbArg,
    },
    /// List a user's device tokens (never the tokens themselves).
    List {
        /// Whose tokens.
        #[arg(long)]
        user: String,
        #[command(flatten)]
        #[allow(missing_docs)]
        db: DbArg,
    },
    /// Revoke a device token by its id (from `token list`).
    Revoke {
        /// The device id.
        id: i64,
        #[command(flatten)]
        #[allow(missing_docs)]
        db: DbArg,
    },
}

/// Why a command failed; printed as `error: ...` with exit status 1.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Binding or serving failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// No randomness for a token.
    #[error(transparent)]
    Random(#[from] RandomError),
    /// `--user` names nobody.
    #[error("no user named {0:?} (add one with `worktime-server user add NAME`)")]
    UnknownUser(String),
    /// `token revoke` of an unknown or already revoked id.
    #[error("no live device token with id {0}")]
    UnknownDevice(i64),
    /// A user name or device label breaks the rules.
    #[error("{0}")]
    Invalid(String),
    /// The export could not be written as JSON.
    #[error("could not write the export: {0}")]
    Export(#[from] serde_json::Error),
}

fn valid_user_name(name: &str) -> Result<(), CliError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    ok.then_some(()).ok_or_else(|| {
        CliError::Invalid(format!(
            "invalid user name {name:?}: use 1 to 64 of A-Z a-z 0-9 . _ - starting with a letter or digit"
        ))
    })
}

fn valid_label(label: &str) -> Result<(), CliError> {
    let ok = !label.trim().is_empty()
        && label.chars().count() <= 100
        && !label.chars().any(char::is_control);
    ok.then_some(())
        .ok_or_else(|| CliError::Invalid("a device label is 1 to 100 printable characters".into()))
}

/// Runs a parsed command line to completion.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let clock = SystemClock;
    let now = clock.now();
    async fn open(db: &DbArg) -> Result<Arc<dyn Store>, StoreError> {
        let queue = crate::store::sqlite::DEFAULT_WRITER_QUEUE;
        crate::store::open(&db.db, SystemClock.now(), queue).await
    }
    let mut out = std::io::stdout();
    match cli.command {
        Command::Serve(args) => return serve(args).await,
        Command::User { command } => match command {
            UserCommand::Add { name, admin, db } => {
                valid_user_name(&name)?;
                let user = open(&db).await?.add_user(&name, admin, clock.now()).await?;
                let role = if user.admin { "admin user" } else { "user" };
                writeln!(out, "added {role} {}", user.name)?;
            }
            UserCommand::List { db } => {
                for user in open(&db).await?.list_users().await? {
                    let role = if user.admin { "admin" } else { "user" };
                    writeln!(out, "{}\t{role}", user.name)?;
                }
            }
            UserCommand::Rename { name, new_name, db } => {
                valid_user_name(&new_name)?;
                if !open(&db).await?.rename_user(&name, &new_name).await? {
                    return Err(CliError::UnknownUser(name));
                }
                writeln!(out, "renamed user {name} to {new_name}")?;
            }
            UserCommand::Admin { name, switch, db } => {
                if !open(&db)
                    .await?
                    .set_admin(&name, switch == Switch::On)
                    .await?
                {
                    return Err(CliError::UnknownUser(name));
                }
                let now = if switch == Switch::On {
                    "an admin"
                } else {
                    "not an admin"
                };
                writeln!(out, "user {name} is now {now}")?;
            }
            UserCommand::Export { name, db } => {
                let store = open(&db).await?;
                let user = store
                    .find_user(&name)
                    .await?
                    .ok_or(CliError::UnknownUser(name))?;
                let devices = store.list_devices(user.id, true).await?;
                let sessions = store.user_sessions(user.id).await?;
                serde_json::to_writer_pretty(&mut out, &export::of(&user, &devices, &sessions))?;
                writeln!(out)?;
            }
            UserCommand::Delete { name, yes, db } => {
                let store = open(&db).await?;
                let user = store
                    .find_user(&name)
                    .await?
                    .ok_or_else(|| CliError::UnknownUser(name.clone()))?;
                if !yes {
                    return Err(CliError::Invalid(format!(
                        "this deletes {name} with all their sessions and tokens; add --yes to confirm"
                    )));
                }
                let (sessions, devices) = store.delete_user(user.id).await?;
                writeln!(
                    out,
                    "deleted user {name}, {sessions} sessions and {devices} device tokens"
                )?;
            }
        },
        Command::Backup { to, db } => {
            open(&db).await?.backup(&to).await?;
            writeln!(out, "backed up {} to {}", db.shown(), to.display())?;
        }
        Command::MigrateDb { from, to } => {
            let copied = migrate_db::run(&from, &to, now).await?;
            writeln!(
                out,
                "copied {} users, {} device tokens and {} sessions from {} to {}",
                copied.users,
                copied.devices,
                copied.sessions,
                from.display(),
                crate::store::postgres::redacted(&to)
            )?;
        }
        Command::Token { command } => match command {
            TokenCommand::Create { user, device, db } => {
                valid_label(&device)?;
                let store = open(&db).await?;
                let owner = store
                    .find_user(&user)
                    .await?
                    .ok_or(CliError::UnknownUser(user))?;
                let token = Token::generate()?;
                let record = store
                    .create_device(owner.id, &device, &token.hash(), clock.now())
                    .await?;
                writeln!(
                    out,
                    "created device token {} ({:?}) for {}; it is shown only this once:",
                    record.id, record.label, owner.name
                )?;
                writeln!(out, "{}", token.reveal())?;
            }
            TokenCommand::List { user, db } => {
                let store = open(&db).await?;
                let owner = store
                    .find_user(&user)
                    .await?
                    .ok_or(CliError::UnknownUser(user))?;
                writeln!(out, "ID\tLABEL\tCREATED\tLAST SEEN\tSTATUS")?;
                for d in store.list_devices(owner.id, true).await? {
                    let when = |t| rfc3339::format(t).unwrap_or_default();
                    writeln!(
                        out,
                        "{}\t{}\t{}\t{}\t{}",
                        d.id,
                        d.label,
                        when(d.created_at),
                        d.last_seen_at.map_or("never".into(), when),
                        d.revoked_at
                            .map_or("active".into(), |t| format!("revoked {}", when(t))),
                    )?;
                }
            }
            TokenCommand::Revoke { id, db } => {
                open(&db)
                    .await?
                    .revoke_device(None, id, clock.now())
                    .await?
                    .ok_or(CliError::UnknownDevice(id))?;
                writeln!(out, "revoked device token {id}")?;
            }
        },
    }
    out.flush()?;
    Ok(())
}

async fn serve(args: ServeArgs) -> Result<(), CliError> {
    logging::init(args.log_format);
    if !(args.rate_per_second > 0.0 && args.rate_per_second.is_finite()) || args.rate_burst == 0 {
        return Err(CliError::Invalid(
            "--rate-per-second and --rate-burst must be above 0 (use --no-rate-limit to turn it off)"
                .into(),
        ));
    }
    if args.max_in_flight == 0 || args.max_connections == 0 || args.writer_queue == 0 {
        return Err(CliError::Invalid(
            "--max-in-flight, --max-connections and --writer-queue must be above 0".into(),
        ));
    }
    let trusted_proxies = crate::client_addr::TrustedProxies::parse(&args.trusted_proxies)
        .map_err(CliError::Invalid)?;
    let stale_after = std::time::Duration::from_secs(args.stale_after_secs.max(1));
    let clock = Arc::new(SystemClock);
    let store = crate::store::open(&args.db.db, clock.now(), args.writer_queue).await?;
    let config = ServerConfig {
        allow_origins: args.allow_origins,
        rate_limit: (!args.no_rate_limit).then_some(RateLimit {
            per_second: args.rate_per_second,
            burst: args.rate_burst,
        }),
        trusted_proxies,
        max_in_flight: args.max_in_flight,
        max_connections: args.max_connections,
        stale_after,
        // A sweep at least every minute, and a few within the stale time.
        closer_every: (stale_after / 4).min(std::time::Duration::from_secs(60)),
        ..ServerConfig::default()
    };
    let listener = tokio::net::TcpListener::bind(&args.addr).await?;
    let addr = listener.local_addr()?;
    let metrics = match &args.metrics_addr {
        Some(at) => Some(tokio::net::TcpListener::bind(at).await?),
        None => None,
    };
    tracing::info!(%addr, db = %args.db.shown(), "listening");
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{addr}")?;
        if let Some(metrics) = &metrics {
            writeln!(out, "metrics on http://{}/metrics", metrics.local_addr()?)?;
        }
        out.flush()?;
    }
    let state = AppState::new(store, clock, config);
    if let Some(metrics) = metrics {
        let state = state.clone();
        tokio::spawn(async move {
            if let Err(e) = crate::serve_metrics(metrics, state).await {
                tracing::error!(error = %e, "the metrics listener failed");
            }
        });
    }
    crate::serve(listener, state, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_and_labels_are_checked() {
        assert!(valid_user_name("alice.b-2").is_ok());
        assert!(valid_user_name("").is_err());
        assert!(valid_user_name("-alice").is_err());
        assert!(valid_user_name("al ice").is_err());
        assert!(valid_label("work laptop").is_ok());
        assert!(valid_label("  ").is_err());
        assert!(valid_label("a\nb").is_err());
    }
}
