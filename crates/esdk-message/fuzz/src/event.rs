//! The `event` target (feature `lambda`): the Lambda's choice of which event parameters to
//! decrypt, `secure_ivr_lambda::event::select_inputs`, on arbitrary JSON. Both settings of
//! `decrypt_undeclared` are asked of every event that deserialises.
//!
//! Asserted, from the rule as the Lambda documents it: every input is a string parameter with its
//! own value and never another parameter's `<Name>Type`; its type is its declaration's, or the
//! default; a parameter is an input exactly when it is declared (`Encrypted` prefix or a
//! `<Name>Type`), or undeclared, message-shaped and `decrypt_undeclared` is set; skipped names are
//! exactly the undeclared message-shaped ones when it is not; an error names a `<Name>Type` whose
//! value is no known type.

use caller_input::ValueType;
use esdk_message::{DEFAULT_MAX_ENCRYPTED_DATA_KEYS, Message, decode_input};
use secure_ivr_lambda::event::{
    ConnectEvent, ENCRYPTED_PREFIX, SelectOptions, Selection, TYPE_SUFFIX, UnknownValueType, select_inputs,
};

fn message_shaped(value: &str) -> bool {
    decode_input(value.trim().as_bytes()).is_ok_and(|b| Message::parse(&b, DEFAULT_MAX_ENCRYPTED_DATA_KEYS).is_ok())
}

/// Runs one input; panics if a property fails.
pub fn run(data: &[u8]) {
    let Ok(event) = serde_json::from_slice::<ConnectEvent>(data) else {
        return;
    };
    // The default type is taken from the input too, so that it is not always `card`.
    let default_type = ValueType::ALL.get(data.len() % ValueType::ALL.len()).copied().unwrap_or(ValueType::Card);
    let strict = select_inputs(&event, SelectOptions { default_type, decrypt_undeclared: false });
    let lenient = select_inputs(&event, SelectOptions { default_type, decrypt_undeclared: true });
    match (&strict, &lenient) {
        (Ok(s), Ok(l)) => {
            check(&event, s, default_type, false);
            check(&event, l, default_type, true);
        }
        (Err(a), Err(b)) => {
            assert_eq!(a, b, "the two settings refuse different declarations");
            check_refusal(&event, a);
        }
        _ => panic!("one setting refused the event and the other did not"),
    }
}

fn check(event: &ConnectEvent, s: &Selection<'_>, default_type: ValueType, decrypt_undeclared: bool) {
    let params: Vec<(&str, &str)> = event.string_parameters().collect();
    let declared_type = |name: &str| event.parameter(&format!("{name}{TYPE_SUFFIX}"));
    let is_declaration = |name: &str| name.strip_suffix(TYPE_SUFFIX).is_some_and(|b| event.parameter(b).is_some());
    let mut want_inputs = Vec::new();
    let mut want_skipped = Vec::new();
    for &(name, value) in &params {
        if is_declaration(name) {
            continue;
        }
        let declared = declared_type(name).is_some() || name.starts_with(ENCRYPTED_PREFIX);
        if declared || (decrypt_undeclared && message_shaped(value)) {
            want_inputs.push(name);
        } else if message_shaped(value) {
            want_skipped.push(name);
        }
    }
    let names: Vec<&str> = s.inputs.iter().map(|i| i.name).collect();
    assert_eq!(names, want_inputs, "inputs (decrypt_undeclared: {decrypt_undeclared})");
    assert_eq!(s.undeclared_skipped, want_skipped, "skipped (decrypt_undeclared: {decrypt_undeclared})");
    for input in &s.inputs {
        assert_eq!(event.parameter(input.name), Some(input.value), "{}: not its own value", input.name);
        let kind = declared_type(input.name).map_or(Some(default_type), ValueType::parse);
        assert_eq!(Some(input.kind), kind, "{}: type", input.name);
    }
}

fn check_refusal(event: &ConnectEvent, e: &UnknownValueType) {
    let base = e.declaration.strip_suffix(TYPE_SUFFIX).unwrap_or_else(|| panic!("{}: not a <Name>Type", e.declaration));
    assert!(event.parameter(base).is_some(), "{}: declares no string parameter", e.declaration);
    let value = event.parameter(&e.declaration).unwrap_or_else(|| panic!("{}: not a string parameter", e.declaration));
    assert_eq!(ValueType::parse(value), None, "{}: a known type was refused", e.declaration);
    assert!(!is_declaration_of_declared(event, base), "{base} is itself a declaration");
}

/// `name` is itself the `<Name>Type` of another string parameter (then it declares nothing).
fn is_declaration_of_declared(event: &ConnectEvent, name: &str) -> bool {
    name.strip_suffix(TYPE_SUFFIX).is_some_and(|b| event.parameter(b).is_some())
}
