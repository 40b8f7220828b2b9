//! The team state's lock: who holds it, for how long, and what releases it.
//!
//! Terraform's `pg` backend locks the state with a session-level advisory lock
//! (`pg_try_advisory_lock` on the workspace's row id, and on -1 while the workspace is
//! created) and records no holder: its "Lock Info" names the waiting run itself. So the
//! holder is read from the database, `pg_locks` joined with `pg_stat_activity`, and
//! every Terraform run of the workflow names itself there through `application_name`
//! (`PGAPPNAME`, which Terraform's PostgreSQL driver honours).
//!
//! The lock lives as long as the holder's database session: a Terraform killed outright
//! releases it at once (the kernel closes its connection), but a stopped one, or one
//! whose machine vanished without closing the connection, keeps it (the latter until TCP
//! keepalive gives up, hours by default). `terraform force-unlock` cannot help: it runs
//! in a session of its own, where `pg_advisory_unlock` releases nothing, and still
//! reports success. Ending the holder's session (`pg_terminate_backend`) does; a
//! stopped holder must not resume after that, since its Terraform then reconnects and
//! writes the state without the lock.

use std::time::Duration;

use anyhow::Result;

use crate::ttl;

/// The environment variable that bounds how long a run waits for the lock.
pub const TIMEOUT_ENV: &str = "KDEVOPS_LOCK_TIMEOUT";

/// The wait when [`TIMEOUT_ENV`] is not set.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// The longest `application_name` PostgreSQL keeps (NAMEDATALEN - 1 bytes).
const MAX_APPLICATION_NAME: usize = 63;

/// Terraform's `pg` backend's schema unless `PG_SCHEMA_NAME` names another.
const DEFAULT_SCHEMA: &str = "terraform_remote_state";

/// How long to wait for the lock: `$KDEVOPS_LOCK_TIMEOUT` (`30s`, `20m`, ...) or 15
/// minutes.
pub fn timeout() -> Result<Duration> {
    match std::env::var(TIMEOUT_ENV) {
        Ok(text) if !text.trim().is_empty() => ttl::parse(&text, TIMEOUT_ENV),
        _ => Ok(DEFAULT_TIMEOUT),
    }
}

/// How this process names itself to the database: `kdevops-datacrunch bringup
/// alice@laptop pid 4242`, cut to what PostgreSQL keeps.
pub fn application_name(command: &str) -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| format!("uid{}", rustix::process::getuid().as_raw()));
    let uname = rustix::system::uname();
    let host = uname.nodename().to_string_lossy();
    let pid = std::process::id();
    let command = if command.is_empty() {
        String::new()
    } else {
        format!(" {command}")
    };
    let mut name = format!("kdevops-datacrunch{command} {user}@{host} pid {pid}");
    // PostgreSQL would cut it at a byte; cut at a character instead.
    while name.len() > MAX_APPLICATION_NAME {
        name.pop();
    }
    name
}

/// A database session holding the state's lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The server process of the session: what `pg_terminate_backend` takes.
    pub session_pid: i32,
    /// Its `application_name`; empty when the client set none.
    pub application_name: String,
    /// The client's address; `None` over a Unix socket.
    pub client_addr: Option<String>,
    /// Seconds since the session connected: the lock is at most that old.
    pub connected_secs: i64,
    /// Seconds since its last statement, when it is idle (a stopped holder stays idle).
    pub idle_secs: Option<i64>,
}

impl Holder {
    /// `kdevops-datacrunch bringup alice@laptop pid 4242 (database session 3916 from
    /// 10.0.0.5, connected 3m ago, idle for 2m)`.
    pub fn describe(&self) -> String {
        let who = if self.application_name.is_empty() {
            "a client that gave no application_name".to_owned()
        } else {
            self.application_name.clone()
        };
        let from = self
            .client_addr
            .as_deref()
            .map_or(String::new(), |a| format!(" from {a}"));
        let idle = self
            .idle_secs
            .map_or(String::new(), |s| format!(", idle for {}", ttl::human(s)));
        format!(
            "{who} (database session {}{from}, holding it for at most {}{idle})",
            self.session_pid,
            ttl::human(self.connected_secs)
        )
    }
}

/// The session holding the state's lock, `None` when nobody holds it. Reads the
/// database with the connection Terraform uses.
async fn holder(conn_str: &str) -> Result<Option<Holder>, String> {
    let lookup = async {
        let mut config: tokio_postgres::Config =
            conn_str.parse().map_err(|e: tokio_postgres::Error| {
                format!("the connection string is not one this tool can read: {e}")
            })?;
        config
            .application_name(application_name("lock lookup"))
            .connect_timeout(Duration::from_secs(10));
        let (client, connection) = config
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        let connection = tokio::spawn(connection);
        let result = query(&client).await.map_err(|e| format!("{e}"));
        drop(client);
        let _ = connection.await;
        result
    };
    match tokio::time::timeout(Duration::from_secs(20), lookup).await {
        Ok(result) => result,
        Err(_) => Err("the database did not answer within 20s".to_owned()),
    }
}

/// [`holder`] from synchronous code (a Terraform run that found the lock taken), on a
/// runtime of its own in a thread of its own: the workflow's single-threaded runtime is
/// blocked in that run meanwhile.
pub fn holder_now(conn_str: &str) -> Result<Option<Holder>, String> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("cannot start the lookup: {e}"))?
                    .block_on(holder(conn_str))
            })
            .join()
            .unwrap_or_else(|_| Err("the lookup failed".to_owned()))
    })
}

async fn query(client: &tokio_postgres::Client) -> Result<Option<Holder>, tokio_postgres::Error> {
    let schema = std::env::var("PG_SCHEMA_NAME")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_SCHEMA.to_owned());
    let states = format!("\"{}\".states", schema.replace('"', "\"\""));
    // The workspace's row exists once its first state was written; before that only the
    // creation lock (-1) is taken.
    let row_exists = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&states])
        .await?
        .get::<_, bool>(0);
    let keys = if row_exists {
        format!("SELECT -1::bigint UNION ALL SELECT id FROM {states} WHERE name = 'default'")
    } else {
        "SELECT -1::bigint".to_owned()
    };
    let sql = format!(
        "SELECT a.pid, coalesce(a.application_name, ''), host(a.client_addr), \
                extract(epoch FROM now() - a.backend_start)::bigint, \
                CASE WHEN a.state = 'idle' THEN extract(epoch FROM now() - a.state_change)::bigint END \
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND l.pid <> pg_backend_pid() \
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
           AND ((l.classid::bigint << 32) | l.objid::bigint) IN ({keys}) \
         ORDER BY a.backend_start LIMIT 1"
    );
    Ok(client.query_opt(&sql, &[]).await?.map(|row| Holder {
        session_pid: row.get(0),
        application_name: row.get(1),
        client_addr: row.get(2),
        connected_secs: row.get(3),
        idle_secs: row.get(4),
    }))
}

/// Who holds the lock, for "waiting for the state lock held by ...".
pub fn describe(holder: &Result<Option<Holder>, String>) -> String {
    match holder {
        Ok(Some(h)) => h.describe(),
        Ok(None) => "another run, which has just let go".to_owned(),
        Err(why) => format!("another session (its name could not be read: {why})"),
    }
}

/// Why the wait ended without the lock, and what releases it: for a known holder, the
/// statement that ends its session.
pub fn still_held(
    holder: &Result<Option<Holder>, String>,
    database: &str,
    waited: Duration,
) -> String {
    let waited = ttl::show(waited);
    let why_it_stays = "a Terraform killed outright releases the lock by itself; a stopped one, \
         or one whose machine went away without closing its connection, keeps it. \
         `terraform force-unlock` cannot release it: the lock belongs to the holder's database session";
    match holder {
        Ok(Some(h)) => format!(
            "the state lock on {database} is still held after {waited} by {}. If that run still works, \
             wait longer ({TIMEOUT_ENV}=1h). If it is stopped or its machine is gone, make sure it never \
             resumes (kill it: resumed, it would write the state without the lock), then end its session \
             in the database: `psql \"$PG_CONN_STR\" -c 'SELECT pg_terminate_backend({})'` ({why_it_stays})",
            h.describe(),
            h.session_pid
        ),
        Ok(None) => format!(
            "the state lock on {database} was held for {waited} and has just been released: run the command again"
        ),
        Err(why) => format!(
            "the state lock on {database} is still held after {waited}; its holder could not be read ({why}). \
             In the database, `SELECT pid, application_name FROM pg_locks JOIN pg_stat_activity USING (pid) \
             WHERE locktype = 'advisory'` names it, and `SELECT pg_terminate_backend(<pid>)` ends its session \
             ({why_it_stays})"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder() -> Holder {
        Holder {
            session_pid: 3916,
            application_name: "kdevops-datacrunch bringup alice@laptop pid 4242".into(),
            client_addr: Some("10.0.0.5".into()),
            connected_secs: 200,
            idle_secs: Some(125),
        }
    }

    #[test]
    fn the_holder_is_named_with_the_session_that_ends_it() {
        let h = holder();
        assert_eq!(
            h.describe(),
            "kdevops-datacrunch bringup alice@laptop pid 4242 (database session 3916 from \
             10.0.0.5, holding it for at most 3m, idle for 2m)"
        );
        let held = still_held(&Ok(Some(h)), "PostgreSQL db", Duration::from_secs(30));
        assert!(
            held.contains("still held after 30s by kdevops-datacrunch bringup")
                && held.contains("SELECT pg_terminate_backend(3916)")
                && held.contains("never resumes (kill it")
                && held.contains("force-unlock` cannot release it"),
            "{held}"
        );
        let anonymous = Holder {
            application_name: String::new(),
            client_addr: None,
            idle_secs: None,
            ..holder()
        };
        assert_eq!(
            anonymous.describe(),
            "a client that gave no application_name (database session 3916, holding it for at most 3m)"
        );
        let unknown = still_held(&Err("cannot connect".into()), "db", Duration::from_secs(60));
        assert!(
            unknown.contains("could not be read (cannot connect)")
                && unknown.contains("pg_terminate_backend(<pid>)"),
            "{unknown}"
        );
    }

    #[test]
    fn the_application_name_fits_what_postgresql_keeps() {
        let name = application_name("bringup");
        assert!(
            name.starts_with("kdevops-datacrunch bringup ") && name.len() <= MAX_APPLICATION_NAME,
            "{name}"
        );
        let long = application_name(&"x".repeat(100));
        assert_eq!(long.len(), MAX_APPLICATION_NAME);
    }
}
