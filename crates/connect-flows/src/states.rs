//! Flow logging and recording along every path: breadth-first over (action, state on entry).
//! Both are assumed ON where the walk starts: an instance can have flow logs enabled, and the
//! instance or an earlier flow (or, for a module, its caller) may record. That is the fail-closed
//! choice: a flow is only safe if it turns them off itself.

use std::collections::{HashMap, VecDeque};

use serde_json::Value;

use crate::flow::{Action, Flow, STORED_INPUT, strings};
use crate::graph::Problems;

/// Blocks that end the flow (or hand the contact to something else).
const TERMINAL_TYPES: [&str; 6] = [
    "DisconnectParticipant",
    "TransferContactToQueue",
    "TransferContactToAgent",
    "TransferToFlow",
    "EndFlowExecution",
    "EndFlowModuleExecution",
];
/// Blocks that hand the contact to an agent: recording should be back on before them.
const AGENT_TYPES: [&str; 3] = ["TransferContactToQueue", "TransferContactToAgent", "DequeueContactAndTransferToQueue"];

/// The current recording action (Flow language reference).
pub(crate) const RECORDING_CURRENT: &str = "UpdateContactRecordingAndAnalyticsBehavior";
/// The legacy recording action.
pub(crate) const RECORDING_LEGACY: &str = "UpdateContactRecordingBehavior";

/// What a Set logging behavior block sets: `Some(false)` for "Disabled", `Some(true)` for
/// anything else (an unknown value is taken as on), `None` for other blocks.
pub(crate) fn logging_set(a: &Action) -> Option<bool> {
    (a.kind == "UpdateFlowLoggingBehavior").then(|| a.param_str("FlowLoggingBehavior") != Some("Disabled"))
}

/// The voice recording settings a recording block sets (either action).
pub(crate) fn voice_recording(a: &Action) -> Option<&Value> {
    let rec = if a.kind == RECORDING_CURRENT {
        a.params.get("VoiceBehavior")?.get("VoiceRecordingBehavior")?
    } else if a.kind == RECORDING_LEGACY {
        a.params.get("RecordingBehavior")?
    } else {
        return None;
    };
    rec.is_object().then_some(rec)
}

/// `Some(false)` when a block turns every voice recording off (no participant recorded, IVR
/// recording disabled), `Some(true)` when it sets anything else, `None` when it sets no voice
/// recording.
pub(crate) fn recording_set(a: &Action) -> Option<bool> {
    let rec = voice_recording(a)?;
    let none = rec.get("RecordedParticipants").and_then(Value::as_array).is_some_and(Vec::is_empty);
    let ivr_off = rec.get("IVRRecordingBehavior").and_then(Value::as_str) == Some("Disabled");
    Some(!(none && ivr_off))
}

type Node = (usize, bool);

struct Walk {
    order: Vec<Node>,
    parents: HashMap<Node, Option<Node>>,
}

impl Walk {
    fn path(&self, f: &Flow, mut node: Node) -> String {
        let mut steps = vec![f.id(node.0)];
        while let Some(Some(p)) = self.parents.get(&node) {
            steps.push(f.id(p.0));
            node = *p;
        }
        steps.reverse();
        steps.join(" -> ")
    }

    /// One problem per node where `finding` (given the action and the state on entry) says
    /// what is wrong, at that action, with the path to it; sorted, without repeats.
    fn findings(&self, f: &Flow, finding: impl Fn(&Action, bool) -> Option<String>) -> Problems {
        let mut p: Problems = self
            .order
            .iter()
            .filter_map(|n| {
                let a = f.actions.get(n.0)?;
                let what = finding(a, n.1)?;
                Some((Some(a.id.clone()), format!("{what}: {}", self.path(f, *n))))
            })
            .collect();
        p.sort();
        p.dedup();
        p
    }
}

/// Every (action, state on entry) reachable from `start`; `step` gives the state an edge carries.
fn walk(f: &Flow, start: Node, step: impl Fn(&Action, bool, bool) -> bool) -> Walk {
    let mut parents = HashMap::from([(start, None)]);
    let mut order = vec![start];
    let mut todo = VecDeque::from([start]);
    while let Some(node) = todo.pop_front() {
        let Some(action) = f.actions.get(node.0) else { continue };
        for (next, edge) in f.next(node.0) {
            let n = (next, step(action, node.1, edge.error));
            if let std::collections::hash_map::Entry::Vacant(e) = parents.entry(n) {
                e.insert(Some(node));
                order.push(n);
                todo.push_back(n);
            }
        }
    }
    Walk { order, parents }
}

fn logging_walk(f: &Flow, start: usize) -> Walk {
    walk(f, (start, true), |a, on, _| logging_set(a).unwrap_or(on))
}

/// A recording block's error transitions carry the state it failed to change, unless `intended`
/// (what the flow meant to set).
fn recording_walk(f: &Flow, start: usize, intended: bool) -> Walk {
    walk(f, (start, true), move |a, on, failed| if failed && !intended { on } else { recording_set(a).unwrap_or(on) })
}

fn captures(f: &Flow) -> Vec<usize> {
    (0..f.actions.len()).filter(|i| f.actions.get(*i).is_some_and(Action::is_capture)).collect()
}

/// Captures reached with `walk`'s state on.
fn reached_on(f: &Flow, w: &Walk, what: &str) -> Problems {
    w.findings(f, |a, on| (on && a.is_capture()).then(|| format!("{} is reached with {what} on", a.id)))
}

fn preconditions(f: &Flow, contract: bool) -> Result<usize, Problems> {
    if captures(f).is_empty() {
        // A flow that hands the capture on (to the module, or to the agent-assisted flow) has no
        // capture of its own to judge; the module is checked as a flow of its own.
        let p = if contract && !f.hands_off() {
            vec![(None, "no capture block (GetParticipantInput with StoreInput/InputEncryption)".to_owned())]
        } else {
            Vec::new()
        };
        return Err(p);
    }
    f.start_index().ok_or_else(|| vec![(None, "no StartAction to walk from".to_owned())])
}

pub(crate) fn logging_off_before_capture(f: &Flow, contract: bool) -> Problems {
    match preconditions(f, contract) {
        Ok(start) => reached_on(f, &logging_walk(f, start), "flow logging"),
        Err(p) => p,
    }
}

pub(crate) fn recording_off_before_capture(f: &Flow, contract: bool) -> Problems {
    match preconditions(f, contract) {
        Ok(start) => reached_on(f, &recording_walk(f, start, false), "recording"),
        Err(p) => p,
    }
}

/// `$.FlowAttributes.NAME` for every flow attribute an `UpdateFlowAttributes` block sets from the
/// stored input: a ciphertext kept for a later Lambda call (the payment flow and the module keep
/// the card's and the expiry's until the one call that takes all three).
fn kept_references(f: &Flow) -> Vec<String> {
    let mut refs: Vec<String> = f
        .actions
        .iter()
        .filter(|a| a.kind == "UpdateFlowAttributes")
        .filter_map(|a| a.params.get("FlowAttributes")?.as_object())
        .flatten()
        .filter(|(_, v)| strings(v).any(|s| s.contains(STORED_INPUT)))
        .map(|(k, _)| format!("$.FlowAttributes.{k}"))
        .collect();
    refs.sort();
    refs.dedup();
    refs
}

/// Whether an action sets a flow attribute from the stored input.
fn keeps_stored_input(a: &Action) -> bool {
    a.kind == "UpdateFlowAttributes"
        && a.params.get("FlowAttributes").is_some_and(|v| strings(v).any(|s| s.contains(STORED_INPUT)))
}

/// Whether a Lambda call's attributes read one of the kept references.
fn reads_kept(a: &Action, kept: &[String]) -> bool {
    a.kind == "InvokeLambdaFunction"
        && a.params
            .get("LambdaInvocationAttributes")
            .is_some_and(|v| strings(v).any(|s| kept.iter().any(|k| s.contains(k.as_str()))))
}

/// A capture's value on one path: the action entered, whether `set` is on, whether the value
/// was kept in a flow attribute, whether a later capture has replaced `$.StoredCustomerInput`.
type ValueNode = (usize, bool, bool, bool);

/// No block turns `set` on between a capture and a Lambda that receives its value: the stored
/// input itself (until another capture replaces it) or, once a flow attribute keeps it, that
/// attribute (past later captures, up to the call that reads it). A value not kept ends at the
/// Lambda that receives it; a kept one may be read again, so its walk goes on.
fn between(f: &Flow, set: fn(&Action) -> Option<bool>, what: &str) -> Problems {
    let kept_refs = kept_references(f);
    let mut p = Vec::new();
    for cap in captures(f) {
        let start: ValueNode = (cap, false, false, false);
        let mut parents: HashMap<ValueNode, Option<ValueNode>> = HashMap::from([(start, None)]);
        let mut todo = VecDeque::from([start]);
        let path = |parents: &HashMap<ValueNode, Option<ValueNode>>, mut node: ValueNode| {
            let mut steps = vec![f.id(node.0)];
            while let Some(Some(up)) = parents.get(&node) {
                steps.push(f.id(up.0));
                node = *up;
            }
            steps.reverse();
            steps.join(" -> ")
        };
        while let Some(node @ (at, on, kept, replaced)) = todo.pop_front() {
            for (next, _) in f.next(at) {
                let Some(a) = f.actions.get(next) else { continue };
                let enabled = on || set(a) == Some(true);
                let received = (a.sends_stored_input() && !replaced) || (kept && reads_kept(a, &kept_refs));
                if received && enabled {
                    p.push((
                        Some(a.id.clone()),
                        format!(
                            "{what} is turned on between {} and {}: {} -> {}",
                            f.id(cap),
                            a.id,
                            path(&parents, node),
                            a.id
                        ),
                    ));
                }
                if (received || a.is_capture()) && !kept {
                    continue;
                }
                let n = (next, enabled, kept || (keeps_stored_input(a) && !replaced), replaced || a.is_capture());
                if let std::collections::hash_map::Entry::Vacant(e) = parents.entry(n) {
                    e.insert(Some(node));
                    todo.push_back(n);
                }
            }
        }
    }
    p.sort();
    p.dedup();
    p
}

pub(crate) fn no_logging_between(f: &Flow, contract: bool) -> Problems {
    if contract && !f.hands_off() && !f.actions.iter().any(Action::sends_stored_input) {
        return vec![(None, format!("no InvokeLambdaFunction sends {STORED_INPUT}"))];
    }
    between(f, logging_set, "flow logging")
}

pub(crate) fn no_recording_between(f: &Flow) -> Problems {
    between(f, recording_set, "recording")
}

pub(crate) fn logging_restored(f: &Flow) -> Problems {
    let Some(start) = f.start_index() else { return vec![(None, "no StartAction to walk from".to_owned())] };
    logging_walk(f, start).findings(f, |a, on| {
        (ends(a) && !logging_set(a).unwrap_or(on)).then(|| format!("{} ends the flow with logging off", a.id))
    })
}

/// A block that ends the flow (or hands the contact on), or one with no way out.
fn ends(a: &Action) -> bool {
    TERMINAL_TYPES.contains(&a.kind.as_str()) || a.edges.is_empty()
}

pub(crate) fn recording_resumed_for_agent(f: &Flow) -> Problems {
    let Some(start) = f.start_index() else { return vec![(None, "no StartAction to walk from".to_owned())] };
    recording_walk(f, start, true).findings(f, |a, on| {
        (AGENT_TYPES.contains(&a.kind.as_str()) && !on)
            .then(|| format!("{} hands the contact to an agent with recording still off", a.id))
    })
}

/// The *Hold customer or agent* block (Flow language reference).
const HOLD: &str = "UpdatePreviousContactParticipantState";

/// What a hold block leaves the agent in: `Some(true)` on hold (`AgentOnHold`), `Some(false)`
/// anything else (`OffHold`, `CustomerOnHold`: the agent then hears the caller, or an unknown
/// value), `None` for other blocks.
fn agent_hold_set(a: &Action) -> Option<bool> {
    (a.kind == HOLD).then(|| a.param_str("PreviousContactParticipantState") == Some("AgentOnHold"))
}

/// The agent's hold state along every path (not on hold where the walk starts). A hold block's
/// error transitions keep the state it failed to change, unless `intended`.
fn hold_walk(f: &Flow, start: usize, intended: bool) -> Walk {
    walk(
        f,
        (start, false),
        move |a, held, failed| if failed && !intended { held } else { agent_hold_set(a).unwrap_or(held) },
    )
}

/// In a flow that uses the hold block (so an agent is on the line: the agent-assisted capture),
/// every capture, and with `modules` every flow module it invokes, is reached with the agent on
/// hold, so the agent cannot hear the tones. A flow without a hold block is not judged: nothing
/// in it says an agent is there.
pub(crate) fn agent_on_hold_during_capture(f: &Flow, modules: bool) -> Problems {
    if !f.actions.iter().any(|a| a.kind == HOLD) {
        return Vec::new();
    }
    let Some(start) = f.start_index() else { return Vec::new() };
    hold_walk(f, start, false).findings(f, |a, held| {
        let captures = a.is_capture() || (modules && a.kind == "InvokeFlowModule");
        (captures && !held).then(|| format!("{} is reached with the agent not on hold", a.id))
    })
}

/// In a flow that holds the agent, every exit is reached with the agent taken off hold again
/// (as the flow meant it: a failed `OffHold` counts as taken off, since the flow can do no more
/// than try).
pub(crate) fn agent_taken_off_hold(f: &Flow) -> Problems {
    if !f.actions.iter().any(|a| agent_hold_set(a) == Some(true)) {
        return Vec::new();
    }
    let Some(start) = f.start_index() else { return Vec::new() };
    hold_walk(f, start, true).findings(f, |a, held| {
        (ends(a) && agent_hold_set(a).unwrap_or(held))
            .then(|| format!("{} ends the flow with the agent still on hold", a.id))
    })
}
