//! A flow or flow module in the Amazon Connect Flow language (version 2019-10-30): the JSON
//! document, and its actions with their transitions as a graph.
//!
//! Flow language: "Actions" is a list of objects, each with "Identifier", "Type", "Parameters"
//! and "Transitions" ("NextAction", "Conditions": [{"NextAction", "Condition"}], "Errors":
//! [{"NextAction", "ErrorType"}]); "StartAction" names the first.

use std::collections::HashMap;

use serde_json::Value;

use crate::Error;

/// Longest content Connect stores (`ContactFlowContent`, `ContactFlowModuleContent`: at most
/// 256,000 characters); anything longer is refused before it is parsed, which bounds every walk.
pub const MAX_CONTENT_LEN: usize = 256_000;

/// The attribute a Store customer input block writes the caller's input to.
pub(crate) const STORED_INPUT: &str = "$.StoredCustomerInput";

/// One transition out of an action.
#[derive(Debug, Clone)]
pub(crate) struct Edge {
    /// The action it leads to.
    pub(crate) target: String,
    /// Whether it is taken when the action failed (an `Errors` entry).
    pub(crate) error: bool,
}

/// One action of the flow, as far as the rules read it.
#[derive(Debug, Clone)]
pub(crate) struct Action {
    /// `Identifier`.
    pub(crate) id: String,
    /// `Type` ("" when missing).
    pub(crate) kind: String,
    /// `Parameters` (`Null` when missing).
    pub(crate) params: Value,
    /// Every transition with a non-empty string target, default first.
    pub(crate) edges: Vec<Edge>,
}

impl Action {
    /// A string parameter.
    pub(crate) fn param_str(&self, name: &str) -> Option<&str> {
        self.params.get(name).and_then(Value::as_str)
    }

    /// A Store customer input block: `GetParticipantInput` that stores the input (or encrypts it).
    pub(crate) fn is_capture(&self) -> bool {
        self.kind == "GetParticipantInput" && (self.stores_input() || self.params.get("InputEncryption").is_some())
    }

    /// `StoreInput` is true (the language writes it as the string "True"; a JSON true is read alike).
    pub(crate) fn stores_input(&self) -> bool {
        match self.params.get("StoreInput") {
            Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
            Some(Value::Bool(b)) => *b,
            _ => false,
        }
    }

    /// An `InvokeLambdaFunction` that hands the stored input to the function.
    pub(crate) fn sends_stored_input(&self) -> bool {
        self.kind == "InvokeLambdaFunction"
            && self
                .params
                .get("LambdaInvocationAttributes")
                .is_some_and(|a| strings(a).any(|s| s.contains(STORED_INPUT)))
    }

    /// The targets of every transition.
    pub(crate) fn successors(&self) -> impl Iterator<Item = &str> {
        self.edges.iter().map(|e| e.target.as_str())
    }
}

/// A parsed flow or flow module.
#[derive(Debug, Clone)]
pub struct Flow {
    pub(crate) doc: Value,
    pub(crate) actions: Vec<Action>,
    pub(crate) by_id: HashMap<String, usize>,
    pub(crate) start: Option<String>,
}

impl Flow {
    /// Parses flow content as Connect returns it (`DescribeContactFlow`'s `Content`) or as a file
    /// holds it. Only JSON and size are checked here; the shape is a rule ([`crate::Rule::Shape`]),
    /// so a malformed flow is a finding, not an error.
    ///
    /// # Errors
    /// [`Error::TooLarge`] past [`MAX_CONTENT_LEN`] bytes, [`Error::NotJson`] when it does not parse.
    pub fn parse(content: &str) -> Result<Self, Error> {
        if content.len() > MAX_CONTENT_LEN {
            return Err(Error::TooLarge { max: MAX_CONTENT_LEN, found: content.len() });
        }
        let doc: Value =
            serde_json::from_str(content).map_err(|e| Error::NotJson { line: e.line(), column: e.column() })?;
        Ok(Self::from_value(doc))
    }

    /// A flow from an already parsed JSON document.
    #[must_use]
    pub fn from_value(doc: Value) -> Self {
        let mut actions = Vec::new();
        let mut by_id = HashMap::new();
        for a in doc.get("Actions").and_then(Value::as_array).into_iter().flatten() {
            let Some(id) = a.get("Identifier").and_then(Value::as_str) else { continue };
            let action = Action {
                id: id.to_owned(),
                kind: a.get("Type").and_then(Value::as_str).unwrap_or_default().to_owned(),
                params: a.get("Parameters").cloned().unwrap_or(Value::Null),
                edges: edges(a.get("Transitions")),
            };
            by_id.entry(action.id.clone()).or_insert(actions.len());
            actions.push(action);
        }
        let start = doc.get("StartAction").and_then(Value::as_str).map(str::to_owned);
        Self { doc, actions, by_id, start }
    }

    /// The JSON document.
    #[must_use]
    pub fn document(&self) -> &Value {
        &self.doc
    }

    /// Whether the flow hands the capture on instead of capturing: no capture block of its own,
    /// and an `InvokeFlowModule` or `TransferToFlow` (the self-service and agent-assisted flows
    /// that run the capture module, and the quick connect's transfer flow).
    #[must_use]
    pub fn hands_off(&self) -> bool {
        !self.actions.iter().any(Action::is_capture)
            && self.actions.iter().any(|a| a.kind == "InvokeFlowModule" || a.kind == "TransferToFlow")
    }

    /// The identifiers of its Store customer input blocks (captures), in action order; empty
    /// when the flow captures nothing.
    #[must_use]
    pub fn captures(&self) -> Vec<&str> {
        self.actions.iter().filter(|a| a.is_capture()).map(|a| a.id.as_str()).collect()
    }

    /// The action with this identifier.
    pub(crate) fn action(&self, id: &str) -> Option<&Action> {
        self.by_id.get(id).and_then(|i| self.actions.get(*i))
    }

    /// The index of the start action, if it names one.
    pub(crate) fn start_index(&self) -> Option<usize> {
        self.start.as_deref().and_then(|s| self.by_id.get(s).copied())
    }

    /// Indices of the actions an action leads to (unknown targets left out).
    pub(crate) fn next(&self, index: usize) -> Vec<(usize, &Edge)> {
        self.actions
            .get(index)
            .map(|a| a.edges.iter().filter_map(|e| self.by_id.get(&e.target).map(|i| (*i, e))).collect())
            .unwrap_or_default()
    }

    /// The identifier of an action by index.
    pub(crate) fn id(&self, index: usize) -> &str {
        self.actions.get(index).map_or("", |a| a.id.as_str())
    }
}

fn edges(transitions: Option<&Value>) -> Vec<Edge> {
    let mut out = Vec::new();
    let Some(t) = transitions else { return out };
    if let Some(next) = t.get("NextAction").and_then(Value::as_str).filter(|s| !s.is_empty()) {
        out.push(Edge { target: next.to_owned(), error: false });
    }
    for (key, error) in [("Conditions", false), ("Errors", true)] {
        for item in t.get(key).and_then(Value::as_array).into_iter().flatten() {
            if let Some(next) = item.get("NextAction").and_then(Value::as_str).filter(|s| !s.is_empty()) {
                out.push(Edge { target: next.to_owned(), error });
            }
        }
    }
    out
}

/// Every string inside a JSON value, depth first.
pub(crate) fn strings(value: &Value) -> Box<dyn Iterator<Item = &str> + '_> {
    match value {
        Value::String(s) => Box::new(std::iter::once(s.as_str())),
        Value::Array(items) => Box::new(items.iter().flat_map(strings)),
        Value::Object(map) => Box::new(map.values().flat_map(strings)),
        _ => Box::new(std::iter::empty()),
    }
}
