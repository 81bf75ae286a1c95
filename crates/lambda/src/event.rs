//! The parts of Amazon Connect's `ContactFlowEvent` this function reads, and which of its
//! parameters are inputs. Pure: no AWS SDK, no runtime, no logging (the fuzz target calls
//! [`select_inputs`] on arbitrary events).

use std::collections::BTreeMap;

use caller_input::ValueType;
use esdk_message::Message;
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

/// Suffix of the parameter that declares a value's type: `EncryptedCreditCardType=card`.
pub const TYPE_SUFFIX: &str = "Type";
/// Prefix that declares a parameter encrypted (the AWS blog's `EncryptedCreditCard`).
pub const ENCRYPTED_PREFIX: &str = "Encrypted";

/// One parameter to decrypt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Input<'e> {
    /// The parameter's name.
    pub name: &'e str,
    /// Its value as Connect sent it (a ciphertext, `Timeout`, or anything else).
    pub value: &'e str,
    /// What the value is: its `<Name>Type`, or the configured default.
    pub kind: ValueType,
}

/// How parameters are chosen ([`crate::Config`] holds the production values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelectOptions {
    /// Type of an input without a `<Name>Type` parameter.
    pub default_type: ValueType,
    /// Also take undeclared parameters whose value parses as a message.
    pub decrypt_undeclared: bool,
}

/// The parameters an event asks to decrypt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection<'e> {
    /// The inputs, in parameter name order.
    pub inputs: Vec<Input<'e>>,
    /// Undeclared parameters whose value parses as a message, left alone (the handler warns).
    pub undeclared_skipped: Vec<&'e str>,
}

/// A `<Name>Type` parameter whose value is no known type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValueType {
    /// The declaring parameter's name (`<Name>Type`); its value is not repeated.
    pub declaration: String,
}

impl core::fmt::Display for UnknownValueType {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}: unknown value type; expected card, expiry, cvv or digits", self.declaration)
    }
}

impl std::error::Error for UnknownValueType {}

/// The parameters to decrypt. Declared ones (the blog's `Encrypted` prefix, or a `<Name>Type`)
/// always are, and report errors; an undeclared one only with `decrypt_undeclared` and only if it
/// parses as a message. Otherwise a message-shaped undeclared parameter is skipped (and named in
/// [`Selection::undeclared_skipped`]): its key ID may come from the caller, and must not pick
/// what SSM is asked for.
pub fn select_inputs(event: &ConnectEvent, options: SelectOptions) -> Result<Selection<'_>, UnknownValueType> {
    let mut selection = Selection::default();
    for (name, value) in event.string_parameters() {
        if is_declaration(event, name) {
            continue;
        }
        let declaration = event.parameter(&format!("{name}{TYPE_SUFFIX}"));
        let kind = match declaration {
            Some(d) => {
                ValueType::parse(d).ok_or_else(|| UnknownValueType { declaration: format!("{name}{TYPE_SUFFIX}") })?
            }
            None => options.default_type,
        };
        let input = Input { name, value, kind };
        if declaration.is_some() || name.starts_with(ENCRYPTED_PREFIX) {
            selection.inputs.push(input);
        } else if looks_like_message(value) {
            if options.decrypt_undeclared {
                selection.inputs.push(input);
            } else {
                selection.undeclared_skipped.push(name);
            }
        }
    }
    Ok(selection)
}

/// `name` is the `<Name>Type` of another string parameter.
fn is_declaration(event: &ConnectEvent, name: &str) -> bool {
    name.strip_suffix(TYPE_SUFFIX).is_some_and(|base| event.parameter(base).is_some())
}

fn looks_like_message(value: &str) -> bool {
    esdk_message::decode_input(value.trim().as_bytes())
        .is_ok_and(|b| Message::parse(&b, esdk_message::DEFAULT_MAX_ENCRYPTED_DATA_KEYS).is_ok())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const DEFAULTS: SelectOptions = SelectOptions { default_type: ValueType::Card, decrypt_undeclared: false };

    fn event(params: serde_json::Value) -> ConnectEvent {
        serde_json::from_value(serde_json::json!({"Details": {"Parameters": params}})).unwrap()
    }

    #[test]
    fn encrypted_prefix_and_type_declarations_make_inputs() {
        let ev = event(serde_json::json!({
            "EncryptedCreditCard": "Timeout", "Expiry": "x", "ExpiryType": "expiry", "Language": "en-US"
        }));
        let s = select_inputs(&ev, DEFAULTS).unwrap();
        assert_eq!(
            s.inputs,
            [
                Input { name: "EncryptedCreditCard", value: "Timeout", kind: ValueType::Card },
                Input { name: "Expiry", value: "x", kind: ValueType::Expiry },
            ]
        );
        assert!(s.undeclared_skipped.is_empty());
    }

    #[test]
    fn a_type_parameter_without_its_value_is_an_ordinary_parameter() {
        // `EncryptedCardType` declares nothing (no `EncryptedCard`): it is itself an input.
        let ev = event(serde_json::json!({"EncryptedCardType": "card"}));
        let s = select_inputs(&ev, DEFAULTS).unwrap();
        assert_eq!(s.inputs.iter().map(|i| i.name).collect::<Vec<_>>(), ["EncryptedCardType"]);
    }

    #[test]
    fn an_unknown_declared_type_names_the_declaration_not_its_value() {
        let ev = event(serde_json::json!({"EncryptedSsn": "Timeout", "EncryptedSsnType": "ssn-123"}));
        let e = select_inputs(&ev, DEFAULTS).unwrap_err();
        assert_eq!(e.declaration, "EncryptedSsnType");
        assert!(!e.to_string().contains("ssn-123"));
    }

    #[test]
    fn non_string_parameters_are_ignored() {
        let ev = event(serde_json::json!({"EncryptedCard": 4, "EncryptedCvv": null, "EncryptedX": ["a"]}));
        assert_eq!(select_inputs(&ev, DEFAULTS).unwrap(), Selection::default());
    }

    #[test]
    fn undeclared_values_that_are_not_messages_are_neither_inputs_nor_skipped() {
        let ev = event(serde_json::json!({"Greeting": "AQID", "Language": "en-US"}));
        for decrypt_undeclared in [false, true] {
            let s = select_inputs(&ev, SelectOptions { decrypt_undeclared, ..DEFAULTS }).unwrap();
            assert_eq!(s, Selection::default());
        }
    }

    #[test]
    fn the_default_type_applies_to_undeclared_types() {
        let ev = event(serde_json::json!({"EncryptedPin": "Timeout"}));
        let s = select_inputs(&ev, SelectOptions { default_type: ValueType::Digits, ..DEFAULTS }).unwrap();
        assert_eq!(s.inputs.first().map(|i| i.kind), Some(ValueType::Digits));
    }
}
