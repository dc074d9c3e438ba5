//! Distributed Maps' Map Runs on the Step Functions API: DescribeMapRun, ListMapRuns,
//! `ListExecutions --map-run-arn`, and DescribeExecution of a child execution. The Map Runs
//! themselves are `lambkin_workflow`'s ([`lambkin_workflow::MapRuns`], in the executions'
//! `Env`). <https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeMapRun.html>

use lambkin_workflow::{ChildExecution, MapRun};
use serde_json::{Value, json};

use super::{ApiError, Workflows, describe, epoch, field, required, summary};

/// AWS's error for an unknown Map Run.
fn not_found(arn: &str) -> ApiError {
    ApiError::new(
        "ResourceNotFound",
        format!("Map Run Does Not Exist: '{arn}'"),
    )
}

/// A child execution's ListExecutions entry, with its Map Run and item count.
fn child_summary(run: &MapRun, child: &ChildExecution) -> Value {
    let mut out = summary(&child.execution, child.status().as_str(), child.stop_date());
    out["mapRunArn"] = json!(run.arn);
    out["itemCount"] = json!(child.items);
    out
}

impl Workflows {
    /// DescribeExecution of an execution or of a Map Run's child execution.
    pub(super) fn describe_execution(&self, arn: &str) -> Result<Value, ApiError> {
        let not_found = match self.find_run(arn) {
            Ok(run) => return Ok(run.describe()),
            Err(e) => e,
        };
        let (run, child) = self.env.map_runs.child(arn).ok_or(not_found)?;
        let outcome = child.outcome();
        let mut out = describe(
            &child.execution,
            &child.input,
            child.status().as_str(),
            child.stop_date(),
            outcome.as_ref(),
        );
        out["mapRunArn"] = json!(run.arn);
        Ok(out)
    }

    /// DescribeMapRun: its settings and the counts of its items and child executions.
    pub(super) fn describe_map_run(&self, arn: &str) -> Result<Value, ApiError> {
        let run = self.env.map_runs.find(arn).ok_or_else(|| not_found(arn))?;
        let mut out = json!({
            "mapRunArn": run.arn, "executionArn": run.execution_arn,
            "status": run.status().as_str(), "startDate": epoch(run.start_date),
            "maxConcurrency": run.max_concurrency,
            "toleratedFailurePercentage": run.tolerated_failure_percentage,
            "toleratedFailureCount": run.tolerated_failure_count,
            "itemCounts": run.item_counts().to_json(),
            "executionCounts": run.execution_counts().to_json(),
            "redriveCount": 0,
        });
        if let Some(stopped) = run.stop_date() {
            out["stopDate"] = epoch(stopped);
        }
        Ok(out)
    }

    /// ListMapRuns of an execution, oldest first.
    pub(super) fn list_map_runs(&self, body: &Value) -> Result<Value, ApiError> {
        let arn = required(body, "executionArn")?;
        // An unknown execution is AWS's ExecutionDoesNotExist (a child execution may have runs
        // of its own).
        if self.env.map_runs.child(arn).is_none() {
            self.find_run(arn)?;
        }
        let runs: Vec<Value> = (self.env.map_runs.of_execution(arn).iter())
            .map(|run| {
                let mut out = json!({"executionArn": run.execution_arn, "mapRunArn": run.arn,
                    "stateMachineArn": run.state_machine_arn, "startDate": epoch(run.start_date)});
                if let Some(stopped) = run.stop_date() {
                    out["stopDate"] = epoch(stopped);
                }
                out
            })
            .collect();
        Ok(json!({"mapRuns": runs}))
    }

    /// ListExecutions of a Map Run: its child executions, newest first, with `statusFilter`.
    pub(super) fn map_run_executions(&self, arn: &str, body: &Value) -> Result<Value, ApiError> {
        if field(body, "stateMachineArn")?.is_some() {
            return Err(ApiError::validation(
                "Specify either a mapRunArn or a stateMachineArn, not both",
            ));
        }
        let run = self.env.map_runs.find(arn).ok_or_else(|| not_found(arn))?;
        let filter = field(body, "statusFilter")?;
        let list: Vec<Value> = (run.children().iter().rev())
            .filter(|c| filter.is_none_or(|f| f == c.status().as_str()))
            .map(|c| child_summary(&run, c))
            .collect();
        Ok(json!({"executions": list}))
    }
}
