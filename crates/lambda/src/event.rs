//! The parts of Amazon Connect's `ContactFlowEvent` this function reads.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The event Connect sends to a Lambda invoked from a flow.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConnectEvent {
    /// `Details`.
    #[serde(default)]
    pub details: Details,
    /// `Name` (always `ContactFlowEvent`).
    #[serde(default)]
    pub name: Option<String>,
}

/// `Details` of the event.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Details {
    /// `Details.ContactData`.
    #[serde(default)]
    pub contact_data: ContactData,
    /// `Details.Parameters`: the function input parameters set in the flow. Non-string values
    /// are ignored.
    #[serde(default)]
    pub parameters: BTreeMap<String, serde_json::Value>,
}

/// The contact fields used for logs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContactData {
    /// The contact ID.
    #[serde(default)]
    pub contact_id: Option<String>,
    /// The instance ARN.
    #[serde(default, rename = "InstanceARN")]
    pub instance_arn: Option<String>,
}

impl ConnectEvent {
    /// The string parameters, in name order.
    pub fn string_parameters(&self) -> impl Iterator<Item = (&str, &str)> {
        self.details.parameters.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.as_str(), v)))
    }

    /// A string parameter by name.
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.details.parameters.get(name).and_then(serde_json::Value::as_str)
    }

    /// The contact ID, if any, restricted to safe characters for logs.
    pub fn contact_id(&self) -> String {
        let id = self.details.contact_data.contact_id.as_deref().unwrap_or("");
        id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(64).collect()
    }
}
