//! The SQL of a search: the total, and one page in (last_updated, id)
//! order starting after the cursor. A page is a range scan of
//! `resources_updated` (or `resources_subject_updated` for a subject, or
//! the few Patients an identifier names): it costs the page, not how deep
//! into the results it lies. An OR list of subjects reads each one's range
//! and sorts what it found: the cost of those Patients' matches after the
//! cursor, small for a PC's own residents. The statement is put together
//! from fixed fragments only (and one `?` per listed Patient); every value
//! is a bound parameter.

use super::super::storage::{live_row, Stored};
use super::super::HubError;
use super::cursor::Cursor;
use super::params::{Filter, Search};
use rusqlite::types::Value as SqlValue;
use rusqlite::{params_from_iter, Connection};

/// The statement's FROM and WHERE, and the values they bind, in order.
struct Shape {
    from: &'static str,
    conditions: Vec<String>,
    args: Vec<SqlValue>,
}

fn shape(s: &Search) -> Shape {
    let mut args = Vec::new();
    let from = match s.filters.iter().find_map(|f| match f {
        Filter::Identifier { system, value } => Some((system, value)),
        _ => None,
    }) {
        // The Patients holding the identifier drive the join (CROSS JOIN
        // keeps them the outer loop): a handful of rows, where the planner
        // might otherwise walk every Patient in time order.
        Some((Some(system), value)) => {
            args.push(SqlValue::Text(system.clone()));
            args.push(SqlValue::Text(value.0.clone()));
            "(SELECT DISTINCT patient FROM identifiers WHERE system = ? AND value = ?) AS m
             CROSS JOIN resources r ON r.id = m.patient"
        }
        Some((None, value)) => {
            args.push(SqlValue::Text(value.0.clone()));
            "(SELECT DISTINCT patient FROM identifiers WHERE value = ?) AS m
             CROSS JOIN resources r ON r.id = m.patient"
        }
        // An OR list of Patients: their few rows by the subject index, then
        // sorted, rather than every change since `_lastUpdated` walked in
        // time order to pick theirs out (the planner, without statistics,
        // may take the time index for its order).
        None if s
            .filters
            .iter()
            .any(|f| matches!(f, Filter::Subject(ids) if ids.len() > 1)) =>
        {
            "resources r INDEXED BY resources_subject_updated"
        }
        None => "resources r",
    };
    let mut conditions = vec!["r.type = ?".to_string(), "r.deleted = 0".to_string()];
    args.push(SqlValue::Text(s.kind.to_string()));
    for f in &s.filters {
        let (condition, value) = match f {
            Filter::UpdatedFrom(t) => ("r.last_updated >= ?", t),
            Filter::UpdatedBefore(t) => ("r.last_updated < ?", t),
            // One Patient walks its index range in order; an OR list is
            // the union of the ranges, sorted (a page of a village's
            // residents' changes: small).
            Filter::Subject(ids) => {
                match ids.as_slice() {
                    [_] => conditions.push("r.subject = ?".into()),
                    _ => conditions.push(format!("r.subject IN ({})", vec!["?"; ids.len()].join(", "))),
                }
                args.extend(ids.iter().map(|id| SqlValue::Text(id.clone())));
                continue;
            }
            Filter::Identifier { .. } => continue,
        };
        conditions.push(condition.to_string());
        args.push(SqlValue::Text(value.clone()));
    }
    Shape { from, conditions, args }
}

fn count_sql(s: &Search) -> (String, Vec<SqlValue>) {
    let Shape { from, conditions, args } = shape(s);
    let sql = format!("SELECT count(*) FROM {from} WHERE {}", conditions.join(" AND "));
    (sql, args)
}

/// How many resources match: counted in the index, without reading them.
pub fn count(conn: &Connection, s: &Search) -> Result<u64, HubError> {
    let (sql, args) = count_sql(s);
    let n: i64 = conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(args), |r| r.get(0))?;
    Ok(n as u64)
}

/// The statement of a page and its values.
fn page_sql(s: &Search, after: Option<&Cursor>, limit: usize) -> (String, Vec<SqlValue>) {
    let Shape {
        from,
        mut conditions,
        mut args,
    } = shape(s);
    // The same index read backwards gives the newest first.
    let (past, order) = if s.newest_first {
        ("(r.last_updated, r.id) < (?, ?)", "r.last_updated DESC, r.id DESC")
    } else {
        ("(r.last_updated, r.id) > (?, ?)", "r.last_updated, r.id")
    };
    if let Some(c) = after {
        conditions.push(past.to_string());
        args.push(SqlValue::Text(c.last_updated.clone()));
        args.push(SqlValue::Text(c.id.clone()));
    }
    args.push(SqlValue::Integer(limit as i64));
    let sql = format!(
        "SELECT r.content, r.version, r.last_updated, r.site FROM {from} WHERE {} ORDER BY {order} LIMIT ?",
        conditions.join(" AND ")
    );
    (sql, args)
}

/// Up to `limit` matches after `after`, in (last_updated, id) order (or
/// the reverse), and whether more follow.
pub fn page(
    conn: &Connection,
    s: &Search,
    after: Option<&Cursor>,
    limit: usize,
) -> Result<(Vec<Stored>, bool), HubError> {
    // One more than the page, to know whether there is a next one.
    let (sql, args) = page_sql(s, after, limit + 1);
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), live_row)?;
    let mut found: Vec<Stored> = rows.collect::<rusqlite::Result<_>>()?;
    let more = found.len() > limit;
    found.truncate(limit);
    Ok((found, more))
}

/// The query plans of a search's count and of a page, for the tests that
/// pin which index each kind of search walks.
#[cfg(test)]
pub fn plans(conn: &Connection, s: &Search, after: Option<&Cursor>) -> (String, String) {
    let plan = |(sql, args): (String, Vec<SqlValue>)| {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = stmt
            .query_map(params_from_iter(args), |r| r.get::<_, String>(3))
            .unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join("\n")
    };
    (plan(count_sql(s)), plan(page_sql(s, after, 8)))
}
