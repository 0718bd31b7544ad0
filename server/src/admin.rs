//! Provisioning for `fieldwork admin`: tenants, users and their API tokens, devices, storage
//! quotas with what is used, the tenant's configuration of the service brain (every version
//! kept), and erasing personal data from a ticket, on any storage backend
//! ([`Admin::new`]) or straight on a data directory's database and photo files ([`Admin::open`],
//! or [`Admin::open_on`] for a server whose records or photos live elsewhere; safe while a server
//! runs on them: one transaction per call).

use std::path::Path;
use std::sync::Arc;

use fieldwork_core::clock::{Clock, SystemClock};
use fieldwork_core::model::Role;
use serde::Serialize;
use sha2::Digest;

use crate::auth;
use crate::blobs::{BlobStore, UPLOAD_TTL_MS};
use crate::cache::DocCache;
use crate::config::{open_blobs, open_store};
use crate::error::Error;
use crate::service::{EraseRequest, Erased};
use crate::storage::{
    AppliedConfig, ChannelKind, ConfigVersion, Delivery, DeviceInfo, ErasureRecord, Missing,
    ReadWith, ServerStore, TenantQuotas, TenantRecord, TenantUsage, TokenKind, TokenRecord,
    UserRecord,
};

/// Longest tenant, user, team or skill name.
const MAX_NAME: usize = 100;
/// Shortest password an admin may set.
pub(crate) const MIN_PASSWORD: usize = 8;

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// The tenant's id or name.
    pub tenant: String,
    /// The login name, unique in the tenant.
    pub name: String,
    pub role: Role,
    pub team: Option<String>,
    pub skills: Vec<String>,
    /// Without one the user cannot log in, only register devices with the API token.
    pub password: Option<String>,
}

/// A created user and their API token, shown this once.
#[derive(Debug, Clone, Serialize)]
pub struct CreatedUser {
    pub user_id: String,
    pub token: String,
}

/// A new intake channel, with its secrets (shown once).
#[derive(Debug, Clone, Serialize)]
pub struct CreatedChannel {
    pub channel_id: String,
    pub tenant_id: String,
    pub kind: String,
    pub name: String,
    /// `Authorization: Bearer TOKEN` on each delivery.
    pub token: String,
    /// The HMAC-SHA256 key for platforms that sign their deliveries instead.
    pub signing_secret: String,
}

/// An intake channel, without its secrets.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelInfo {
    pub channel_id: String,
    pub kind: String,
    pub name: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// Admin operations on one data directory.
#[derive(Debug)]
pub struct Admin {
    store: Arc<dyn ServerStore>,
    /// The photo files, when the admin knows where they are (an erase removes some).
    files: Option<Arc<dyn BlobStore>>,
    clock: Arc<dyn Clock>,
}

fn checked_name(field: &'static str, value: &str) -> Result<String, Error> {
    let value = value.trim();
    let reason = if value.is_empty() {
        "must not be empty".to_owned()
    } else if value.chars().count() > MAX_NAME {
        format!("must be at most {MAX_NAME} characters")
    } else if value.chars().any(char::is_control) {
        "must not contain control characters".to_owned()
    } else {
        return Ok(value.to_owned());
    };
    Err(Error::Invalid { field, reason })
}

impl Admin {
    /// Opens the data directory, creating it and its database if needed.
    pub fn open(data_dir: &Path) -> Result<Self, Error> {
        Self::open_with(data_dir, None)
    }

    /// Opens the data directory's photo files and the database `database` names
    /// ([`crate::config::open_store`]: `None` for the SQLite file in the data directory).
    pub fn open_with(data_dir: &Path, database: Option<&str>) -> Result<Self, Error> {
        Self::open_on(data_dir, database, None)
    }

    /// Opens the database `database` names and the photo files `blobs` names
    /// ([`crate::config::open_blobs`]: `None` for the data directory's, or the S3 bucket the
    /// server runs with).
    pub fn open_on(
        data_dir: &Path,
        database: Option<&str>,
        blobs: Option<&str>,
    ) -> Result<Self, Error> {
        let files = open_blobs(data_dir, blobs)?;
        Ok(Admin::new(open_store(data_dir, database)?).with_files(files))
    }

    /// The same admin with the server's photo files (`files`), which an erase needs.
    pub fn with_files(self, files: Arc<dyn BlobStore>) -> Self {
        Admin {
            files: Some(files),
            ..self
        }
    }

    /// Admin operations on any storage backend.
    pub fn new(store: Arc<dyn ServerStore>) -> Self {
        Admin {
            store,
            files: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// The same admin on another clock (tests keep it in step with a server's manual clock).
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        Admin { clock, ..self }
    }

    fn tenant(&self, id_or_name: &str) -> Result<TenantRecord, Error> {
        self.store
            .find_tenant(id_or_name.trim())?
            .ok_or(Missing::Tenant.into())
    }

    /// Creates a tenant; its name must be new.
    pub fn create_tenant(&self, name: &str) -> Result<TenantRecord, Error> {
        let tenant = TenantRecord {
            id: uuid::Uuid::now_v7().to_string(),
            name: checked_name("tenant name", name)?,
        };
        self.store.create_tenant(&tenant, self.clock.now_ms())?;
        Ok(tenant)
    }

    /// Creates a user with a new user API token.
    pub fn create_user(&self, new: &NewUser) -> Result<CreatedUser, Error> {
        let tenant = self.tenant(&new.tenant)?;
        let team = new
            .team
            .as_deref()
            .map(|t| checked_name("team", t))
            .transpose()?;
        let skills = new
            .skills
            .iter()
            .map(|s| checked_name("skill", s))
            .collect::<Result<Vec<_>, _>>()?;
        if skills.iter().any(|s| s.contains(',')) {
            return Err(Error::Invalid {
                field: "skill",
                reason: "must not contain commas".into(),
            });
        }
        let password_hash = match &new.password {
            Some(p) if p.chars().count() < MIN_PASSWORD => {
                return Err(Error::Invalid {
                    field: "password",
                    reason: format!("must be at least {MIN_PASSWORD} characters"),
                });
            }
            Some(p) => Some(auth::hash_password(p)?),
            None => None,
        };
        let user = UserRecord {
            id: uuid::Uuid::now_v7().to_string(),
            tenant_id: tenant.id,
            name: checked_name("user name", &new.name)?,
            role: new.role,
            team,
            skills,
            disabled: false,
        };
        let token = auth::new_token(TokenKind::User);
        let now = self.clock.now_ms();
        let record = TokenRecord {
            hash: auth::token_hash(&token),
            kind: TokenKind::User,
            user_id: user.id.clone(),
            device_id: None,
            created_at: now,
        };
        self.store
            .create_user(&user, password_hash.as_deref(), Some(&record), now)?;
        Ok(CreatedUser {
            user_id: user.id,
            token,
        })
    }

    /// Creates an intake channel of `kind` for the tenant; its token and signing secret are in
    /// the answer only (the store keeps the token's hash).
    pub fn create_channel(
        &self,
        tenant: &str,
        kind: ChannelKind,
        name: Option<&str>,
    ) -> Result<CreatedChannel, Error> {
        let tenant = self.tenant(tenant)?;
        let name = match name {
            Some(name) => checked_name("channel name", name)?,
            None => format!("{kind} intake"),
        };
        let issued = crate::intake::issue(&tenant.id, kind, &name, self.clock.now_ms());
        self.store.create_channel(&issued.record)?;
        Ok(CreatedChannel {
            channel_id: issued.record.id,
            tenant_id: tenant.id,
            kind: kind.as_str().to_owned(),
            name,
            token: issued.token,
            signing_secret: issued.signing_secret,
        })
    }

    /// The tenant's intake channels (no secrets).
    pub fn list_channels(&self, tenant: &str) -> Result<Vec<ChannelInfo>, Error> {
        let tenant = self.tenant(tenant)?;
        Ok(self
            .store
            .channels(&tenant.id)?
            .into_iter()
            .map(|c| ChannelInfo {
                channel_id: c.id,
                kind: c.kind.as_str().to_owned(),
                name: c.name,
                created_at: c.created_at,
                revoked_at: c.revoked_at,
            })
            .collect())
    }

    /// Revokes an intake channel: its token and signatures are refused from now on.
    pub fn revoke_channel(&self, tenant: &str, channel_id: &str) -> Result<(), Error> {
        let tenant = self.tenant(tenant)?;
        if self
            .store
            .revoke_channel(&tenant.id, channel_id.trim(), self.clock.now_ms())?
        {
            Ok(())
        } else {
            Err(Error::Invalid {
                field: "channel",
                reason: "no live channel with that id in the tenant".into(),
            })
        }
    }

    /// Adds or replaces the tenant's machines from a CSV register file, all rows or none
    /// (`docs/channels.md`, "Assets"); how many, or every problem by line.
    pub fn import_assets(&self, tenant: &str, csv: &[u8]) -> Result<usize, Error> {
        let tenant = self.tenant(tenant)?;
        match crate::asset_register::read_csv(csv, &tenant.id, self.clock.now_ms()) {
            Ok(assets) => Ok(self.store.put_assets(&tenant.id, &assets)?),
            Err(problems) => Err(Error::Invalid {
                field: "asset file",
                reason: problems.join("; "),
            }),
        }
    }

    /// Revokes a user or device token: every later call with it answers `401`.
    pub fn revoke_token(&self, token: &str) -> Result<(), Error> {
        let revoked = self
            .store
            .revoke_token(&auth::token_hash(token.trim()), self.clock.now_ms())?;
        if revoked {
            Ok(())
        } else {
            Err(Missing::Token.into())
        }
    }

    /// The users of a tenant (by id or name), by name.
    pub fn list_users(&self, tenant: &str) -> Result<Vec<UserRecord>, Error> {
        let tenant = self.tenant(tenant)?;
        Ok(self.store.list_users(&tenant.id)?)
    }

    /// The devices of a user (tenant by id or name, user by login name), removed ones included.
    pub fn list_devices(&self, tenant: &str, user: &str) -> Result<Vec<DeviceInfo>, Error> {
        let tenant = self.tenant(tenant)?;
        let (user, _) = self
            .store
            .user_by_name(&tenant.id, user.trim())?
            .ok_or(Error::from(Missing::User))?;
        Ok(self.store.list_devices(&user.id)?)
    }

    /// Removes a device: its tokens stop working and it no longer counts against its user's
    /// device cap (a user who reached the cap can then sign in on a new device).
    pub fn remove_device(&self, device_id: &str) -> Result<DeviceInfo, Error> {
        Ok(self
            .store
            .remove_device(device_id.trim(), self.clock.now_ms())?)
    }

    /// The report on `period` of a tenant (id or name), grouped `by` (`docs/reports.md`), after
    /// refreshing the facts of tickets changed since they were last read.
    pub fn report(
        &self,
        tenant: &str,
        period: &fieldwork_brain::report::Period,
        by: fieldwork_brain::report::GroupBy,
    ) -> Result<fieldwork_brain::report::Report, Error> {
        let tenant = self.tenant(tenant)?;
        crate::reports::run(
            self.store.as_ref(),
            &DocCache::new(0),
            &tenant.id,
            period,
            by,
            self.clock.now_ms(),
        )
    }

    /// A tenant's own quotas (`None`: the server's default).
    pub fn tenant_quotas(&self, tenant: &str) -> Result<TenantQuotas, Error> {
        let tenant = self.tenant(tenant)?;
        Ok(self.store.tenant_quotas(&tenant.id)?)
    }

    /// Sets a tenant's own quotas; `None` returns a field to the server's default. A quota
    /// lowered below what is held refuses new uploads until enough is collected.
    pub fn set_tenant_quotas(&self, tenant: &str, quotas: &TenantQuotas) -> Result<(), Error> {
        let tenant = self.tenant(tenant)?;
        if quotas.devices_per_user == Some(0) {
            return Err(Error::Invalid {
                field: "devices per user",
                reason: "must be at least 1".into(),
            });
        }
        Ok(self.store.set_tenant_quotas(&tenant.id, quotas)?)
    }

    /// Applies a tenant's configuration of the service brain (`docs/brain.md`): checked as a
    /// whole — the file, then every user it names against the tenant's users — and stored as the
    /// tenant's next version with who applied it, or refused with every problem (line and key)
    /// and nothing changed. The file already in force is not stored again.
    pub fn configure(&self, tenant: &str, toml: &str, by: &str) -> Result<AppliedConfig, Error> {
        let tenant = self.tenant(tenant)?;
        let by = checked_name("by", by)?;
        let config = fieldwork_brain::TenantConfig::from_toml(toml)?;
        let known = self
            .store
            .list_users(&tenant.id)?
            .into_iter()
            .map(|user| user.name)
            .collect();
        config.check_users(&known)?;
        let sha256 = hex::encode(sha2::Sha256::digest(toml.as_bytes()));
        let applied =
            self.store
                .apply_config(&tenant.id, toml, &sha256, &by, self.clock.now_ms())?;
        if applied.changed {
            tracing::info!(tenant = %tenant.id, version = applied.version, "tenant configuration applied");
        }
        Ok(applied)
    }

    /// The tenant's configuration in force (`version` `None`), or one earlier version.
    pub fn config(
        &self,
        tenant: &str,
        version: Option<u64>,
    ) -> Result<Option<ConfigVersion>, Error> {
        let tenant = self.tenant(tenant)?;
        Ok(match version {
            None => self.store.current_config(&tenant.id)?,
            Some(version) => self.store.config_version(&tenant.id, version)?,
        })
    }

    /// Who applied which version of the tenant's configuration and when, newest first.
    pub fn config_history(&self, tenant: &str, limit: usize) -> Result<Vec<ConfigVersion>, Error> {
        let tenant = self.tenant(tenant)?;
        Ok(self.store.config_history(&tenant.id, limit)?)
    }

    /// The secret the tenant's webhook deliveries are signed with (made now if it has none), or
    /// a new one in its place with `rotate`. Receivers verify `Fieldwork-Signature` with it.
    pub fn webhook_secret(&self, tenant: &str, rotate: bool) -> Result<String, Error> {
        let tenant = self.tenant(tenant)?;
        let now = self.clock.now_ms();
        if rotate {
            let secret = crate::webhooks::new_secret();
            self.store.rotate_webhook_secret(&tenant.id, &secret, now)?;
            tracing::info!(tenant = %tenant.id, "webhook secret rotated");
            return Ok(secret);
        }
        Ok(self
            .store
            .webhook_secret(&tenant.id, &crate::webhooks::new_secret(), now)?)
    }

    /// The tenant's webhook deliveries, newest first: where each went, how many attempts, how
    /// the last one ended.
    pub fn deliveries(&self, tenant: &str, limit: usize) -> Result<Vec<Delivery>, Error> {
        let tenant = self.tenant(tenant)?;
        Ok(self.store.deliveries(&tenant.id, limit)?)
    }

    /// Erases personal data from a ticket of `tenant` for good (`docs/staff-data.md`, "Erase"):
    /// the ticket's history is rewritten without it, photo files go, and every device holding
    /// the ticket replaces its copy on its next sync.
    pub fn erase(&self, tenant: &str, request: &EraseRequest) -> Result<Erased, Error> {
        let tenant = self.tenant(tenant)?;
        let by = checked_name("by", &request.by)?;
        let files = self.files.as_ref().ok_or_else(|| Error::Invalid {
            field: "photo files",
            reason: "this admin was opened without the server's photo files".into(),
        })?;
        // People name tickets by number; the id works too.
        let named = request.ticket_id.trim();
        let by_number = self
            .store
            .read_with(|r| r.ticket_by_number(&tenant.id, named))?;
        let request = EraseRequest {
            ticket_id: by_number.unwrap_or_else(|| named.to_owned()),
            by,
            ..request.clone()
        };
        crate::service::erase(
            self.store.as_ref(),
            files.as_ref(),
            &DocCache::new(0),
            &tenant.id,
            &request,
            self.clock.now_ms(),
        )
    }

    /// A tenant's erasure log, newest first: who erased what from which ticket, when and why.
    pub fn erasure_log(&self, tenant: &str, limit: usize) -> Result<Vec<ErasureRecord>, Error> {
        let tenant = self.tenant(tenant)?;
        Ok(self.store.erasure_log(&tenant.id, limit)?)
    }

    /// What a tenant and each of its users hold now (stored blobs and open uploads).
    pub fn usage(&self, tenant: &str) -> Result<TenantUsage, Error> {
        let tenant = self.tenant(tenant)?;
        let open_after = self.clock.now_ms().saturating_sub(UPLOAD_TTL_MS);
        Ok(self.store.tenant_usage(&tenant.id, open_after)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Conflict, StorageError};

    fn user(tenant: &str, name: &str) -> NewUser {
        NewUser {
            tenant: tenant.into(),
            name: name.into(),
            role: Role::Technician,
            team: Some("north".into()),
            skills: vec!["fridge".into(), "oven".into()],
            password: None,
        }
    }

    #[test]
    fn tenants_and_users_are_unique_by_name_and_listed_without_secrets() {
        let dir = tempfile::tempdir().expect("temp dir");
        let admin = Admin::open(&dir.path().join("data")).expect("opens a new data dir");
        let acme = admin.create_tenant(" acme ").expect("tenant");
        assert_eq!(acme.name, "acme");
        assert!(matches!(
            admin.create_tenant("acme"),
            Err(Error::Storage(StorageError::Conflict(Conflict::Exists(_))))
        ));
        let made = admin
            .create_user(&user("acme", "li.wei"))
            .expect("user by tenant name");
        assert!(made.token.starts_with("fwu_"));
        assert!(matches!(
            admin.create_user(&user(&acme.id, "li.wei")),
            Err(Error::Storage(StorageError::Conflict(Conflict::Exists(_))))
        ));
        assert!(matches!(
            admin.create_user(&user("nope", "x")),
            Err(Error::Storage(StorageError::NotFound(Missing::Tenant)))
        ));
        let short = NewUser {
            password: Some("short".into()),
            ..user("acme", "b")
        };
        assert!(matches!(
            admin.create_user(&short),
            Err(Error::Invalid { .. })
        ));
        let users = admin.list_users(&acme.id).expect("list");
        assert_eq!(users.len(), 1);
        assert_eq!(users[0].skills, ["fridge", "oven"]);
        admin.revoke_token(&made.token).expect("revokes");
        let again = admin.revoke_token(&made.token);
        assert!(matches!(
            again,
            Err(Error::Storage(StorageError::NotFound(Missing::Token)))
        ));
        assert!(again.is_err_and(|e| e.is_refusal()));
    }
}
