//! Read queries: users, devices, token lookup, session pages and totals.
//! Filters become a `WHERE` clause with numbered parameters; aggregation
//! happens in SQL.

use super::rows::{self, DEVICE_COLUMNS, SESSION_COLUMNS, SESSION_FROM, USER_COLUMNS, state_text};
use crate::store::{
    Cursor, DeviceRecord, Principal, SessionFilter, SessionPage, SessionQuery, SessionRecord,
    StoreError, TotalKey, TotalRow, TotalsGroup, TotalsQuery, UserRecord,
};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params_from_iter};

use crate::store::QUARTER_HOUR_MS;
/// Rows returned for repository and pull-request totals.
const TOP_ROWS: i64 = 10;

pub(super) fn list_users(conn: &Connection) -> Result<Vec<UserRecord>, StoreError> {
    let mut stmt = conn.prepare(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY name"))?;
    let users = stmt.query_map([], rows::user)?.collect::<Result<_, _>>()?;
    Ok(users)
}

pub(super) fn find_user(conn: &Connection, name: &str) -> Result<Option<UserRecord>, StoreError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?1"))?
        .query_row([name], rows::user)
        .optional()?)
}

pub(super) fn list_devices(
    conn: &Connection,
    user_id: i64,
    include_revoked: bool,
) -> Result<Vec<DeviceRecord>, StoreError> {
    let live = if include_revoked {
        ""
    } else {
        " AND revoked_at IS NULL"
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT {DEVICE_COLUMNS} FROM devices WHERE user_id = ?1{live} ORDER BY id"
    ))?;
    let devices = stmt
        .query_map([user_id], rows::device)?
        .collect::<Result<_, _>>()?;
    Ok(devices)
}

pub(super) fn authenticate(
    conn: &Connection,
    token_hash: &str,
) -> Result<Option<Principal>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT u.id, u.name, u.admin, d.id, d.label FROM devices d \
             JOIN users u ON u.id = d.user_id \
             WHERE d.token_hash = ?1 AND d.revoked_at IS NULL",
        )?
        .query_row([token_hash], rows::principal)
        .optional()?)
}

/// Appends the filter's conditions to `sql` (which already has a `WHERE`).
fn push_filter(filter: &SessionFilter, sql: &mut String, params: &mut Vec<Value>) {
    let mut cond = |clause: &str, values: Vec<Value>| {
        let mut clause = clause.to_owned();
        for v in values {
            params.push(v);
            clause = clause.replacen('#', &format!("?{}", params.len()), 1);
        }
        sql.push_str(" AND ");
        sql.push_str(&clause);
    };
    if let Some(user_id) = filter.user_id {
        cond("s.user_id = #", vec![user_id.into()]);
    }
    if let Some(since) = filter.since {
        cond("s.updated_at >= #", vec![since.0.into()]);
    }
    if let Some(state) = filter.state {
        cond("s.state = #", vec![state_text(state).to_owned().into()]);
    }
    if let Some(from) = filter.from {
        cond("s.started_at >= #", vec![from.0.into()]);
    }
    if let Some(to) = filter.to {
        cond("s.started_at < #", vec![to.0.into()]);
    }
    if let Some(repo) = &filter.repo {
        cond(
            "s.repo_owner = # AND s.repo_name = #",
            vec![repo.owner.clone().into(), repo.name.clone().into()],
        );
    }
}

pub(super) fn list_sessions(
    conn: &Connection,
    query: &SessionQuery,
) -> Result<SessionPage, StoreError> {
    let mut sql = format!("SELECT {SESSION_COLUMNS} FROM {SESSION_FROM} WHERE 1 = 1");
    let mut params = Vec::new();
    push_filter(&query.filter, &mut sql, &mut params);
    if let Some(after) = query.after {
        params.push(after.started_at.into());
        let at = params.len();
        params.push(after.id.into());
        let id = params.len();
        sql.push_str(&format!(
            " AND (s.started_at < ?{at} OR (s.started_at = ?{at} AND s.id < ?{id}))"
        ));
    }
    params.push((i64::from(query.limit) + 1).into());
    sql.push_str(&format!(
        " ORDER BY s.started_at DESC, s.id DESC LIMIT ?{}",
        params.len()
    ));
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut page = stmt
        .query_map(params_from_iter(params), rows::session_record)?
        .collect::<Result<Vec<_>, _>>()?;
    let next = if page.len() > query.limit as usize {
        page.truncate(query.limit as usize);
        page.last().map(|(id, r)| Cursor {
            started_at: r.session.started_at.0,
            id: *id,
        })
    } else {
        None
    };
    Ok(SessionPage {
        records: page.into_iter().map(|(_, r)| r).collect(),
        next,
    })
}

pub(super) fn totals(conn: &Connection, query: &TotalsQuery) -> Result<Vec<TotalRow>, StoreError> {
    let mut params: Vec<Value> = Vec::new();
    let (select, group, order) = match query.group {
        TotalsGroup::QuarterHour => {
            params.push(QUARTER_HOUR_MS.into());
            ("s.started_at / ?1", "1", "1")
        }
        TotalsGroup::Repo => (
            "s.repo_owner, s.repo_name",
            "s.repo_owner, s.repo_name",
            "seconds DESC, s.repo_owner, s.repo_name",
        ),
        TotalsGroup::Pr => (
            "s.repo_owner, s.repo_name, s.pr_number",
            "s.repo_owner, s.repo_name, s.pr_number",
            "seconds DESC, s.repo_owner, s.repo_name, s.pr_number",
        ),
    };
    let mut sql = format!(
        "SELECT {select}, SUM(s.active_seconds) AS seconds, COUNT(*) FROM sessions s WHERE 1 = 1"
    );
    push_filter(&query.filter, &mut sql, &mut params);
    sql.push_str(&format!(" GROUP BY {group} ORDER BY {order}"));
    if query.group != TotalsGroup::QuarterHour {
        sql.push_str(&format!(" LIMIT {TOP_ROWS}"));
    }
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(params_from_iter(params), |row| {
            let (key, next) = match query.group {
                TotalsGroup::QuarterHour => (TotalKey::QuarterHour(row.get(0)?), 1),
                TotalsGroup::Repo => (
                    TotalKey::Repo {
                        owner: row.get(0)?,
                        name: row.get(1)?,
                    },
                    2,
                ),
                TotalsGroup::Pr => (
                    TotalKey::Pr {
                        owner: row.get(0)?,
                        name: row.get(1)?,
                        number: u64::try_from(row.get::<_, i64>(2)?).unwrap_or(0),
                    },
                    3,
                ),
            };
            Ok(TotalRow {
                key,
                seconds: row.get(next)?,
                sessions: row.get(next + 1)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub(super) fn list_changes(
    conn: &Connection,
    user_id: Option<i64>,
    after: i64,
    limit: u32,
) -> Result<Vec<SessionRecord>, StoreError> {
    let mine = if user_id.is_some() {
        " AND s.user_id = ?3"
    } else {
        ""
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {SESSION_COLUMNS} FROM {SESSION_FROM} WHERE s.seq > ?1{mine} \
         ORDER BY s.seq LIMIT ?2"
    ))?;
    let mut params: Vec<Value> = vec![after.into(), i64::from(limit).into()];
    if let Some(user_id) = user_id {
        params.push(user_id.into());
    }
    let records = stmt
        .query_map(params_from_iter(params), rows::session_record)?
        .map(|row| row.map(|(_, r)| r))
        .collect::<Result<_, _>>()?;
    Ok(records)
}

pub(super) fn user_sessions(
    conn: &Connection,
    user_id: i64,
) -> Result<Vec<SessionRecord>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {SESSION_COLUMNS} FROM {SESSION_FROM} WHERE s.user_id = ?1 \
         ORDER BY s.started_at, s.id"
    ))?;
    let records = stmt
        .query_map([user_id], rows::session_record)?
        .map(|row| row.map(|(_, r)| r))
        .collect::<Result<_, _>>()?;
    Ok(records)
}

pub(super) fn dump(conn: &Connection) -> Result<crate::store::copy::Dump, StoreError> {
    use crate::store::copy::{DeviceRow, Dump, SessionRow, UserRow};
    conn.execute_batch("BEGIN")?;
    let result = (|| -> Result<Dump, StoreError> {
        let users = conn
            .prepare("SELECT id, name, admin, created_at FROM users ORDER BY id")?
            .query_map([], |r| {
                Ok(UserRow {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    admin: r.get(2)?,
                    created_at: r.get(3)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let devices = conn
            .prepare(
                "SELECT id, user_id, label, token_hash, created_at, last_seen_at, revoked_at \
                 FROM devices ORDER BY id",
            )?
            .query_map([], |r| {
                Ok(DeviceRow {
                    id: r.get(0)?,
                    user_id: r.get(1)?,
                    label: r.get(2)?,
                    token_hash: r.get(3)?,
                    created_at: r.get(4)?,
                    last_seen_at: r.get(5)?,
                    revoked_at: r.get(6)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let sessions = conn
            .prepare(
                "SELECT id, user_id, local_id, device_id, repo_owner, repo_name, pr_number, \
                 started_at, ended_at, active_seconds, state, updated_at, closed_by_server, \
                 received_at, seq FROM sessions ORDER BY id",
            )?
            .query_map([], |r| {
                Ok(SessionRow {
                    id: r.get(0)?,
                    user_id: r.get(1)?,
                    local_id: r.get(2)?,
                    device_id: r.get(3)?,
                    repo_owner: r.get(4)?,
                    repo_name: r.get(5)?,
                    pr_number: r.get(6)?,
                    started_at: r.get(7)?,
                    ended_at: r.get(8)?,
                    active_seconds: r.get(9)?,
                    state: r.get(10)?,
                    updated_at: r.get(11)?,
                    closed_by_server: r.get(12)?,
                    received_at: r.get(13)?,
                    seq: r.get(14)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(Dump {
            users,
            devices,
            sessions,
        })
    })();
    conn.execute_batch("COMMIT")?;
    result
}
