//! The workflows an executor runs, with every version of their plans.

use std::collections::HashMap;
use std::sync::Arc;

use super::{Plan, Workflow};

/// The workflows an executor knows, by plan kind, with every version of their plans.
#[derive(Clone, Default)]
pub struct Registry {
    workflows: HashMap<&'static str, Arc<dyn Workflow>>,
    plans: HashMap<(&'static str, u32), &'static Plan>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a workflow; panics on an invalid plan (a programming error caught by any test).
    pub fn with(mut self, workflow: Arc<dyn Workflow>) -> Self {
        for plan in workflow.versions().into_iter().chain([workflow.plan()]) {
            if let Err(e) = plan.validate() {
                panic!("invalid plan: {e}");
            }
            self.plans.insert((plan.kind, plan.version), plan);
        }
        self.workflows.insert(workflow.plan().kind, workflow);
        self
    }

    pub fn get(&self, kind: &str) -> Option<&Arc<dyn Workflow>> {
        self.workflows.get(kind)
    }

    /// One version of a kind's plan.
    pub fn plan(&self, kind: &str, version: u32) -> Option<&'static Plan> {
        self.workflows
            .get_key_value(kind)
            .and_then(|(k, _)| self.plans.get(&(*k, version)).copied())
    }

    /// Every version of a kind's plan this build runs, oldest first.
    pub fn versions(&self, kind: &str) -> Vec<&'static Plan> {
        let mut v: Vec<_> = self
            .plans
            .values()
            .filter(|p| p.kind == kind)
            .copied()
            .collect();
        v.sort_by_key(|p| p.version);
        v
    }
}
