//! The aggregator's own domain event: a case reached a final state.

use futures::FutureExt as _;
use futures::future::BoxFuture;
use sqlx::AnyConnection;

use contracts::civil::onematter::v1 as pb;
use kit::events::Topic;

use crate::executor::{Announce, CaseRecord, CaseState};

/// `onematter.case_finished`, carrying [`pb::CaseFinished`].
pub const CASE_FINISHED: Topic<pb::CaseFinished> = Topic::new("onematter.case_finished");

/// Writes CaseFinished to the outbox in the transaction that finishes the case.
#[derive(Debug, Clone, Copy, Default)]
pub struct CaseFinishedOutbox;

impl Announce for CaseFinishedOutbox {
    fn finished<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        case: &'a CaseRecord,
        state: CaseState,
    ) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        let event = pb::CaseFinished {
            r#case: format!("cases/{}", case.id),
            kind: crate::convert::kind_of(&case.kind) as i32,
            state: crate::convert::case_state(state) as i32,
            region: case.region.clone(),
            reason: case.reason.clone(),
        };
        async move {
            kit::outbox::append_to(conn, &CASE_FINISHED, &case.id, &event).await?;
            Ok(())
        }
        .boxed()
    }
}
