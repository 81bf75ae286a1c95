//! The answer to Connect: a flat map whose keys and values use only `A-Z a-z 0-9 _ -`, valid
//! under both of Connect's response validation modes (`STRING_MAP` and `JSON`).

use std::collections::HashMap;

use caller_input::ValueType;

use crate::error_code::ErrorCode;
use crate::process::Outcome;

/// The answer to Connect.
pub type Response = HashMap<String, String>;

/// Builds the response of one invocation: per value `<Name>_<Field>` (and, when the event has a
/// single input, the same fields without the prefix, as the blog's flow reads them), then the
/// worst outcome as `Status`/`ErrorCode` and the count as `Values`.
#[derive(Debug)]
pub(crate) struct ResponseBuilder {
    response: Response,
    single: bool,
    worst: Option<Outcome>,
    values: usize,
}

impl ResponseBuilder {
    /// For an event with `values` inputs.
    pub(crate) fn new(values: usize) -> Self {
        Self { response: Response::new(), single: values == 1, worst: None, values }
    }

    /// Adds one value's fields under its parameter name.
    pub(crate) fn add(&mut self, name: &str, kind: ValueType, outcome: Outcome) {
        let prefix = response_key(name);
        let fields: Vec<(&'static str, String)> = match &outcome {
            // Status, Type and the value's fields, exactly as `secure-ivr decrypt` prints them.
            Outcome::Decrypted(a) => a.response_fields(),
            Outcome::Error(c) => vec![
                ("Status", outcome.status().to_owned()),
                ("Type", kind.as_str().to_owned()),
                ("ErrorCode", c.as_str().to_owned()),
            ],
            Outcome::NoInput => vec![("Status", outcome.status().to_owned()), ("Type", kind.as_str().to_owned())],
        };
        for (field, value) in fields {
            if self.single {
                self.response.insert(field.to_owned(), value.clone());
            }
            self.response.insert(format!("{prefix}_{field}"), value);
        }
        if self.worst.as_ref().is_none_or(|w| outcome.rank() > w.rank()) {
            self.worst = Some(outcome);
        }
    }

    /// The response, with the invocation's `Status`, `ErrorCode` and `Values`.
    pub(crate) fn finish(mut self) -> Response {
        if let Some(worst) = &self.worst {
            self.response.insert("Status".into(), worst.status().into());
            if let Some(code) = worst.error_code() {
                self.response.insert("ErrorCode".into(), code.as_str().into());
            }
        }
        self.response.insert("Values".into(), self.values.to_string());
        self.response
    }
}

/// The answer when the event itself is unusable (no input, unknown type declaration).
pub(crate) fn error_response(code: ErrorCode) -> Response {
    HashMap::from([("Status".into(), "Error".into()), ("ErrorCode".into(), code.as_str().into())])
}

/// Restricts a parameter name to the response alphabet.
fn response_key(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_value_is_also_given_without_its_prefix() {
        let mut b = ResponseBuilder::new(1);
        b.add("Encrypted Cvv", ValueType::Cvv, Outcome::NoInput);
        let r = b.finish();
        assert_eq!(r.get("Encrypted_Cvv_Status").map(String::as_str), Some("NoInput"));
        assert_eq!(r.get("Type").map(String::as_str), Some("cvv"));
        assert_eq!((r["Status"].as_str(), r["Values"].as_str()), ("NoInput", "1"));
        assert!(!r.contains_key("ErrorCode"));
    }

    #[test]
    fn the_worst_outcome_decides_and_several_values_keep_their_prefix() {
        let mut b = ResponseBuilder::new(3);
        b.add("A", ValueType::Card, Outcome::NoInput);
        b.add("B", ValueType::Expiry, Outcome::Error(ErrorCode::KeyNotFound));
        b.add("C", ValueType::Cvv, Outcome::NoInput);
        let r = b.finish();
        assert_eq!(
            (r["Status"].as_str(), r["ErrorCode"].as_str(), r["Values"].as_str()),
            ("Error", "KeyNotFound", "3")
        );
        assert_eq!(r["B_ErrorCode"], "KeyNotFound");
        assert!(!r.contains_key("Type"), "several values: no unprefixed fields");
    }

    #[test]
    fn an_invalid_value_outranks_a_valid_one() {
        let today = caller_input::YearMonth { year: 2026, month: 11 };
        let analysed = |v: &[u8]| Outcome::Decrypted(caller_input::analyze(ValueType::Card, v, today));
        let mut b = ResponseBuilder::new(2);
        b.add("A", ValueType::Card, analysed(b"4111111111111111"));
        b.add("B", ValueType::Card, analysed(b"4111111111111112"));
        let r = b.finish();
        let get = |k: &str| r.get(k).map_or("", String::as_str);
        assert_eq!((get("Status"), get("A_Status"), get("B_Status")), ("Invalid", "Success", "Invalid"));
        assert_eq!((get("A_Last4"), get("A_Brand"), get("B_Luhn")), ("1111", "Visa", "false"));
    }

    #[test]
    fn event_errors_carry_only_status_and_code() {
        let r = error_response(ErrorCode::NoEncryptedInput);
        assert_eq!(r.len(), 2);
        assert_eq!(r["ErrorCode"], "NoEncryptedInput");
    }
}
