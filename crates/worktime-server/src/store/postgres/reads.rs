//! Read queries on PostgreSQL: users, devices, token lookup, session pages,
//! totals and the change feed. Filters become a `WHERE` clause with
//! numbered parameters; aggregation happens in SQL.

use super::rows::{self, DEVICE_COLUMNS, SESSION_COLUMNS, SESSION_FROM, USER_COLUMNS};
use crate::store::{
    Cursor, DeviceRecord, Principal, QUARTER_HOUR_MS, SessionFilter, SessionPage, SessionQuery,
    SessionRecord, StoreError, TotalKey, TotalRow, TotalsGroup, TotalsQuery, UserRecord,
};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, PgPool, Postgres, Row};
use worktime_protocol::SessionState;

/// Rows returned for repository and pull-request totals.
const TOP_ROWS: i64 = 10;

/// A parameter of a query built at run time.
enum Arg {
    Int(i64),
    Text(String),
}

/// `sql` (built here from fixed fragments and `$n` placeholders only) with
/// `args` bound in order.
fn query(sql: String, args: Vec<Arg>) -> Query<'static, Postgres, PgArguments> {
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for arg in args {
        q = match arg {
            Arg::Int(v) => q.bind(v),
            Arg::Text(v) => q.bind(v),
        };
    }
    q
}

fn all<T>(
    rows: Vec<PgRow>,
    read: impl Fn(&PgRow) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    rows.iter().map(read).collect()
}

pub(super) async fn list_users(pool: &PgPool) -> Result<Vec<UserRecord>, StoreError> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users ORDER BY name"
    )))
    .fetch_all(pool)
    .await?;
    all(rows, rows::user)
}

pub(super) async fn find_user(pool: &PgPool, name: &str) -> Result<Option<UserRecord>, StoreError> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users WHERE name = $1"
    )))
    .bind(name)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(rows::user).transpose()
}

pub(super) async fn list_devices(
    pool: &PgPool,
    user_id: i64,
    include_revoked: bool,
) -> Result<Vec<DeviceRecord>, StoreError> {
    let live = if include_revoked {
        ""
    } else {
        " AND revoked_at IS NULL"
    };
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {DEVICE_COLUMNS} FROM devices WHERE user_id = $1{live} ORDER BY id"
    )))
    .bind(user_id)
    .fetch_all(pool)
    .await?;
    all(rows, rows::device)
}

pub(super) async fn authenticate(
    pool: &PgPool,
    token_hash: &str,
) -> Result<Option<Principal>, StoreError> {
    let row = sqlx::query(
        "SELECT u.id, u.name, u.admin, d.id, d.label FROM devices d \
         JOIN users u ON u.id = d.user_id \
         WHERE d.token_hash = $1 AND d.revoked_at IS NULL",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(rows::principal).transpose()
}

fn state_text(state: SessionState) -> &'static str {
    match state {
        SessionState::Active => "active",
        SessionState::Ended => "ended",
    }
}

/// Appends the filter's conditions to `sql` (which already has a `WHERE`).
fn push_filter(filter: &SessionFilter, sql: &mut String, args: &mut Vec<Arg>) {
    let mut cond = |clause: &str, values: Vec<Arg>| {
        let mut clause = clause.to_owned();
        for v in values {
            args.push(v);
            clause = clause.replacen('#', &format!("${}", args.len()), 1);
        }
        sql.push_str(" AND ");
        sql.push_str(&clause);
    };
    if let Some(user_id) = filter.user_id {
        cond("s.user_id = #", vec![Arg::Int(user_id)]);
    }
    if let Some(since) = filter.since {
        cond("s.updated_at >= #", vec![Arg::Int(since.0)]);
    }
    if let Some(state) = filter.state {
        cond("s.state = #", vec![Arg::Text(state_text(state).to_owned())]);
    }
    if let Some(from) = filter.from {
        cond("s.started_at >= #", vec![Arg::Int(from.0)]);
    }
    if let Some(to) = filter.to {
        cond("s.started_at < #", vec![Arg::Int(to.0)]);
    }
    if let Some(repo) = &filter.repo {
        cond(
            "s.repo_owner = # AND s.repo_name = #",
            vec![Arg::Text(repo.owner.clone()), Arg::Text(repo.name.clone())],
        );
    }
}

pub(super) async fn list_sessions(
    pool: &PgPool,
    query_: &SessionQuery,
) -> Result<SessionPage, StoreError> {
    let mut sql = format!("SELECT {SESSION_COLUMNS} FROM {SESSION_FROM} WHERE 1 = 1");
    let mut args = Vec::new();
    push_filter(&query_.filter, &mut sql, &mut args);
    if let Some(after) = query_.after {
        args.push(Arg::Int(after.started_at));
        let at = args.len();
        args.push(Arg::Int(after.id));
        let id = args.len();
        sql.push_str(&format!(
            " AND (s.started_at < ${at} OR (s.started_at = ${at} AND s.id < ${id}))"
        ));
    }
    args.push(Arg::Int(i64::from(query_.limit) + 1));
    sql.push_str(&format!(
        " ORDER BY s.started_at DESC, s.id DESC LIMIT ${}",
        args.len()
    ));
    let rows = query(sql, args).fetch_all(pool).await?;
    let mut page = all(rows, rows::session_record)?;
    let next = if page.len() > query_.limit as usize {
        page.truncate(query_.limit as usize);
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

pub(super) async fn totals(
    pool: &PgPool,
    totals: &TotalsQuery,
) -> Result<Vec<TotalRow>, StoreError> {
    let mut args: Vec<Arg> = Vec::new();
    let (select, group, order) = match totals.group {
        TotalsGroup::QuarterHour => {
            args.push(Arg::Int(QUARTER_HOUR_MS));
            // Integer division that floors like SQLite's for the dates in use
            // (after 1970, `started_at` is positive).
            ("s.started_at / $1", "1", "1")
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
        "SELECT {select}, CAST(SUM(s.active_seconds) AS BIGINT) AS seconds, COUNT(*) \
         FROM sessions s WHERE 1 = 1"
    );
    push_filter(&totals.filter, &mut sql, &mut args);
    sql.push_str(&format!(" GROUP BY {group} ORDER BY {order}"));
    if totals.group != TotalsGroup::QuarterHour {
        sql.push_str(&format!(" LIMIT {TOP_ROWS}"));
    }
    let rows = query(sql, args).fetch_all(pool).await?;
    all(rows, |row| {
        let (key, next) = match totals.group {
            TotalsGroup::QuarterHour => (TotalKey::QuarterHour(row.try_get(0)?), 1),
            TotalsGroup::Repo => (
                TotalKey::Repo {
                    owner: row.try_get(0)?,
                    name: row.try_get(1)?,
                },
                2,
            ),
            TotalsGroup::Pr => (
                TotalKey::Pr {
                    owner: row.try_get(0)?,
                    name: row.try_get(1)?,
                    number: u64::try_from(row.try_get::<i64, _>(2)?).unwrap_or(0),
                },
                3,
            ),
        };
        Ok(TotalRow {
            key,
            seconds: row.try_get(next)?,
            sessions: row.try_get(next + 1)?,
        })
    })
}

pub(super) async fn list_changes(
    pool: &PgPool,
    user_id: Option<i64>,
    after: i64,
    limit: u32,
) -> Result<Vec<SessionRecord>, StoreError> {
    let mine = if user_id.is_some() {
        " AND s.user_id = $3"
    } else {
        ""
    };
    let mut args = vec![Arg::Int(after), Arg::Int(i64::from(limit))];
    if let Some(user_id) = user_id {
        args.push(Arg::Int(user_id));
    }
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM {SESSION_FROM} WHERE s.seq > $1{mine} \
         ORDER BY s.seq LIMIT $2"
    );
    let rows = query(sql, args).fetch_all(pool).await?;
    Ok(all(rows, rows::session_record)?
        .into_iter()
        .map(|(_, r)| r)
        .collect())
}

pub(super) async fn user_sessions(
    pool: &PgPool,
    user_id: i64,
) -> Result<Vec<SessionRecord>, StoreError> {
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM {SESSION_FROM} WHERE s.user_id = $1 \
         ORDER BY s.started_at, s.id"
    );
    let rows = query(sql, vec![Arg::Int(user_id)]).fetch_all(pool).await?;
    Ok(all(rows, rows::session_record)?
        .into_iter()
        .map(|(_, r)| r)
        .collect())
}
