//! WatchCase: a case's updates from `after_seq` until the case is final and every update was
//! sent. A stream reads the store when its case moved (the executor's signal) and, as a
//! fallback for updates written by another replica, every `watch_poll` (default 5 s).

use std::pin::Pin;
use std::time::Duration;

use futures::Stream;
use tokio::sync::{broadcast, mpsc};
use tonic::{Request, Response, Status};

use contracts::civil::onematter::v1 as pb;
use kit::ServiceError;

use super::{OneMatterApi, readable};
use crate::convert::case_state_text;
use crate::executor::store::CaseEvent;
use crate::executor::{CaseState, Engine, Executor};

pub use crate::executor::CaseSignals;

pub type UpdateStream = Pin<Box<dyn Stream<Item = Result<pb::CaseUpdate, Status>> + Send>>;

pub(super) async fn handle(
    api: &OneMatterApi,
    request: Request<pb::WatchCaseRequest>,
) -> Result<Response<UpdateStream>, Status> {
    let executor = api.executor.clone();
    let shutdown = api.rpc.ctx().shutdown.clone();
    api.rpc
        .watch(
            request,
            async |c, req| readable(c, &req.name).await,
            async |_, req: pb::WatchCaseRequest, case| {
                let (tx, rx) = mpsc::channel(64);
                let watch = Watch {
                    signals: executor.signals().subscribe(),
                    fallback: executor.watch_poll(),
                    executor,
                    case_id: case.id,
                    last: req.after_seq.max(0),
                    tx,
                };
                tokio::spawn(async move {
                    tokio::select! {
                        _ = shutdown.cancelled() => {}
                        _ = watch.run() => {}
                    }
                });
                let stream: UpdateStream =
                    Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx));
                Ok(stream)
            },
        )
        .await
}

/// One stream's loop.
struct Watch {
    executor: std::sync::Arc<Executor>,
    signals: broadcast::Receiver<String>,
    case_id: String,
    last: i64,
    fallback: Duration,
    tx: mpsc::Sender<Result<pb::CaseUpdate, Status>>,
}

/// What a pass over the store found.
enum Pass {
    /// Sent what there was; wait for more.
    Wait,
    /// The case is final and its last update was sent (or the client left).
    End,
}

impl Watch {
    async fn run(mut self) {
        loop {
            match self.pass().await {
                Ok(Pass::End) => return,
                Ok(Pass::Wait) => {}
                Err(status) => {
                    let _ = self.tx.send(Err(status)).await;
                    return;
                }
            }
            if !self.wait().await {
                return;
            }
        }
    }

    /// Sends every update after `last`; ends when the case is final and nothing is left.
    async fn pass(&mut self) -> Result<Pass, Status> {
        let events = self
            .executor
            .events_after(&self.case_id, self.last)
            .await
            .map_err(ServiceError::from)?;
        if events.is_empty() {
            // Resumed after the last update of a finished case: nothing more will come.
            let case = self
                .executor
                .case(&self.case_id)
                .await
                .map_err(ServiceError::from)?;
            let finished = case.is_some_and(|c| {
                CaseState::parse(&c.state).is_some_and(CaseState::is_final)
                    && c.event_seq <= self.last
            });
            return Ok(if finished { Pass::End } else { Pass::Wait });
        }
        for e in events {
            self.last = e.seq;
            let last_one = is_final_update(&e);
            if self.tx.send(Ok(update(e))).await.is_err() || last_one {
                return Ok(Pass::End);
            }
        }
        Ok(Pass::Wait)
    }

    /// Waits for this case's signal, the fallback poll, or the client leaving (false).
    async fn wait(&mut self) -> bool {
        let deadline = tokio::time::sleep(self.fallback);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = self.tx.closed() => return false,
                _ = &mut deadline => return true,
                signal = self.signals.recv() => match signal {
                    Ok(id) if id == self.case_id => return true,
                    Ok(_) => {}
                    // Missed signals may include ours: read the store.
                    Err(broadcast::error::RecvError::Lagged(_)) => return true,
                    Err(broadcast::error::RecvError::Closed) => {
                        (&mut deadline).await;
                        return true;
                    }
                },
            }
        }
    }
}

fn is_final_update(e: &CaseEvent) -> bool {
    CaseState::parse(&e.case_state).is_some_and(CaseState::is_final) && e.kind.starts_with("case_")
}

fn update(e: CaseEvent) -> pb::CaseUpdate {
    pb::CaseUpdate {
        r#case: format!("cases/{}", e.case_id),
        seq: e.seq,
        case_state: case_state_text(&e.case_state) as i32,
        kind: e.kind,
        step: e.step,
        message: e.message,
        at_ms: e.at_ms,
    }
}
