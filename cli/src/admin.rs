//! `fieldwork admin --data DIR …`: tenants, users and tokens, straight on a server's data
//! directory (also while the server runs).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use fieldwork_core::Role;
use fieldwork_server::admin::{Admin, NewUser};
use fieldwork_server::storage::UserRecord;

use crate::output;

#[derive(Debug, Args)]
pub struct AdminArgs {
    /// The server's data directory.
    #[arg(long, env = "FIELDWORK_DATA", default_value = "./fieldwork-data")]
    data: PathBuf,
    /// Machine-readable JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create a tenant (an organisation; nothing crosses tenants).
    CreateTenant { name: String },
    /// Create a user and print their API token (shown once).
    CreateUser {
        /// Tenant id or name.
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        role: Role,
        /// Login name, unique in the tenant.
        #[arg(long)]
        name: String,
        #[arg(long)]
        team: Option<String>,
        /// Comma-separated, e.g. `fridge,oven`.
        #[arg(long, value_delimiter = ',')]
        skills: Vec<String>,
        /// Lets the user log in from a device; without it only the API token works.
        #[arg(long, env = "FIELDWORK_PASSWORD")]
        password: Option<String>,
    },
    /// Revoke a user or device token: every later call with it is refused.
    RevokeToken { token: String },
    /// List a tenant's users (no passwords or tokens).
    ListUsers {
        /// Tenant id or name.
        #[arg(long)]
        tenant: String,
    },
}

/// Why an admin command failed.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct AdminError(#[from] fieldwork_server::Error);

impl AdminError {
    /// 1 for refused or bad input, 3 for a broken data directory.
    pub fn exit_code(&self) -> u8 {
        if self.0.is_refusal() { 1 } else { 3 }
    }
}

pub fn run(args: AdminArgs) -> Result<(), AdminError> {
    let admin = Admin::open(&args.data)?;
    let json = args.json;
    match args.command {
        AdminCommand::CreateTenant { name } => {
            let tenant = admin.create_tenant(&name)?;
            if json {
                output::json(&serde_json::json!({ "tenant_id": tenant.id, "name": tenant.name }));
            } else {
                println!("tenant_id: {}", tenant.id);
            }
        }
        AdminCommand::CreateUser {
            tenant,
            role,
            name,
            team,
            skills,
            password,
        } => {
            let created = admin.create_user(&NewUser {
                tenant,
                name,
                role,
                team,
                skills,
                password,
            })?;
            if json {
                output::json(&created);
            } else {
                println!("user_id: {}", created.user_id);
                println!("token:   {}  (shown once; keep it safe)", created.token);
            }
        }
        AdminCommand::RevokeToken { token } => {
            admin.revoke_token(&token)?;
            if json {
                output::json(&serde_json::json!({ "revoked": true }));
            } else {
                println!("revoked");
            }
        }
        AdminCommand::ListUsers { tenant } => {
            let users = admin.list_users(&tenant)?;
            if json {
                output::json(&users);
            } else {
                print!("{}", table(&users));
            }
        }
    }
    Ok(())
}

fn table(users: &[UserRecord]) -> String {
    if users.is_empty() {
        return "no users\n".to_owned();
    }
    let mut out = format!(
        "{:<36}  {:<20}  {:<10}  {:<12}  {}\n",
        "ID", "NAME", "ROLE", "TEAM", "SKILLS"
    );
    for u in users {
        out.push_str(&format!(
            "{:<36}  {:<20}  {:<10}  {:<12}  {}\n",
            u.id,
            u.name,
            u.role.as_str(),
            u.team.as_deref().unwrap_or("-"),
            u.skills.join(",")
        ));
    }
    out
}
