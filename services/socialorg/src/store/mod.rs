//! SQL of the social-organisation service, portable across SQLite and PostgreSQL. One function
//! per query; every function takes the connection (or transaction) to run on.

mod changes;
mod lists;
mod orgs;

use sqlx::Row;
use sqlx::any::AnyRow;
use time::Date;

pub use changes::*;
pub use lists::*;
pub use orgs::*;

pub type StoreResult<T> = Result<T, kit::ServiceError>;

pub use kit::clock::{date_text, stored_date as parse_date};

pub(crate) fn opt_date(row: &AnyRow, column: &str) -> StoreResult<Option<Date>> {
    let text: Option<String> = row.try_get(column)?;
    text.as_deref().map(parse_date).transpose()
}

pub(crate) fn corrupt(what: &str, value: &str) -> kit::ServiceError {
    kit::ServiceError::Internal(anyhow::anyhow!("stored {what} {value:?} is unknown"))
}
