//! Schema migrations: SQL files embedded in the binary, applied in order at
//! start, each in its own transaction, recorded in `schema_migrations`.

use super::StoreError;
use rusqlite::Connection;

/// Every migration, oldest first. Append only; never edit a released one.
const MIGRATIONS: &[(u32, &str)] = &[
    (1, include_str!("../../migrations/0001_init.sql")),
    (
        2,
        include_str!("../../migrations/0002_change_feed_and_case.sql"),
    ),
];

/// Brings the database up to the newest schema this binary knows.
pub(crate) fn run(conn: &mut Connection, now_ms: i64) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version     INTEGER PRIMARY KEY,
             applied_at  BIGINT NOT NULL
         )",
    )?;
    let current: u32 = conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |row| row.get(0),
    )?;
    let known = MIGRATIONS.last().map_or(0, |(v, _)| *v);
    if current > known {
        return Err(StoreError::SchemaTooNew {
            found: current,
            known,
        });
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        let apply = |conn: &mut Connection| -> rusqlite::Result<()> {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                (version, now_ms),
            )?;
            tx.commit()
        };
        apply(conn).map_err(|source| StoreError::Migration {
            version: *version,
            source: Box::new(source),
        })?;
        tracing::info!(version, "applied database migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once_and_are_recorded() {
        let mut conn = Connection::open_in_memory().unwrap();
        run(&mut conn, 1).unwrap();
        run(&mut conn, 2).unwrap();
        let versions: i64 = conn
            .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(versions, MIGRATIONS.len() as i64);
    }

    #[test]
    fn migration_2_numbers_existing_changes_and_folds_owner_and_repo() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0].1).unwrap();
        conn.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL);
             INSERT INTO schema_migrations VALUES (1, 0);
             INSERT INTO users (id, name, admin, created_at) VALUES (1, 'a', 0, 0);
             INSERT INTO devices (id, user_id, label, token_hash, created_at) VALUES (1, 1, 'l', 'h', 0);
             INSERT INTO sessions (id, user_id, local_id, device_id, repo_owner, repo_name, pr_number,
                 started_at, active_seconds, state, updated_at, received_at)
             VALUES (1, 1, 'late', 1, 'Octo-Org', 'Widget', 8, 0, 1, 'active', 0, 200),
                    (2, 1, 'early', 1, 'octo', 'hello', 1, 0, 1, 'active', 0, 100);",
        )
        .unwrap();
        run(&mut conn, 1).unwrap();
        let rows: Vec<(String, String, String, i64)> = conn
            .prepare("SELECT local_id, repo_owner, repo_name, seq FROM sessions ORDER BY seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            vec![
                ("early".into(), "octo".into(), "hello".into(), 1),
                ("late".into(), "octo-org".into(), "widget".into(), 2),
            ]
        );
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        run(&mut conn, 1).unwrap();
        conn.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)",
            [],
        )
        .unwrap();
        assert!(matches!(
            run(&mut conn, 1),
            Err(StoreError::SchemaTooNew { found: 999, .. })
        ));
    }
}
