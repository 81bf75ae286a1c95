//! The `analyze` target: `caller_input::analyze` of arbitrary plaintext, as if a caller typed
//! anything at all and it decrypted. The first byte picks the declared type, the next two the
//! current month (years 2000 to 2255), the rest is the value.
//!
//! The properties are the README's promises: only a card of 12 to 19 digits reveals any digit,
//! and then only its last four; the mask has one `X` per byte (at most 64); response names and
//! values stay in `A-Z a-z 0-9 _ -`; the typed facts, `valid`, `Status` and the response fields
//! agree; `Debug` shows no digit of the value.

use caller_input::{Analysis, Brand, Facts, MAX_VALUE_LEN, Status, ValueType, YearMonth, analyze};

/// The declared type, the month and the value encoded in one input.
pub fn split(data: &[u8]) -> (ValueType, YearMonth, &[u8]) {
    let byte = |i: usize| data.get(i).copied().unwrap_or(0);
    let kinds = ValueType::ALL;
    let kind = kinds.get(usize::from(byte(0)) % kinds.len()).copied().unwrap_or(ValueType::Card);
    let today = YearMonth { year: 2000 + u16::from(byte(1)), month: byte(2) % 12 + 1 };
    (kind, today, data.get(3..).unwrap_or_default())
}

/// The input that `split`s into these.
pub fn join(kind: ValueType, today: YearMonth, value: &[u8]) -> Vec<u8> {
    let k = ValueType::ALL.iter().position(|t| *t == kind).unwrap_or(0);
    let year = u8::try_from(today.year.saturating_sub(2000)).unwrap_or(u8::MAX);
    let head = [u8::try_from(k).unwrap_or(0), year, today.month.saturating_sub(1)];
    [&head[..], value].concat()
}

/// Runs one input; panics if a property fails.
pub fn run(data: &[u8]) {
    let (kind, today, value) = split(data);
    let a = analyze(kind, value, today);
    check(kind, value, &a);
}

/// The properties of one analysis of `value` declared as `kind`; panics if one fails.
pub fn check(kind: ValueType, value: &[u8], a: &Analysis) {
    let len = value.len();
    let all_digits = !value.is_empty() && len <= MAX_VALUE_LEN && value.iter().all(u8::is_ascii_digit);
    assert_eq!((a.kind, a.length, a.digits), (kind, len, all_digits));
    assert!(!a.valid || a.digits, "valid without being digits");
    assert_eq!(a.status(), if a.valid { Status::Success } else { Status::Invalid });

    // What may be revealed: a card's last four, nothing else.
    let shows_last4 = kind == ValueType::Card && a.digits && (12..=19).contains(&len);
    let tail = value.get(len.saturating_sub(4)..).unwrap_or_default();
    assert_eq!(a.last4.as_deref().map(str::as_bytes), shows_last4.then_some(tail), "Last4");
    let x = len.min(MAX_VALUE_LEN);
    if shows_last4 {
        assert_eq!(a.masked.len(), len);
        assert!(a.masked.as_bytes().starts_with(&vec![b'X'; len - 4]) && a.masked.as_bytes().ends_with(tail));
    } else {
        assert!(a.masked.len() == x && a.masked.bytes().all(|b| b == b'X'), "mask of {len} bytes");
    }

    match (kind, a.facts) {
        (ValueType::Card, Facts::Card { brand, luhn }) => {
            assert!(!luhn || a.digits, "Luhn without digits");
            assert!(brand == Brand::Unknown || a.digits, "brand without digits");
            assert!(!a.valid || (luhn && (12..=19).contains(&len)), "valid card: Luhn and 12 to 19 digits");
        }
        (ValueType::Expiry, Facts::Expiry { month_valid, date }) => {
            assert_eq!(month_valid, date.is_some());
            assert!(!month_valid || (a.digits && (len == 4 || len == 6)), "month valid: MMYY or MMYYYY");
            assert_eq!(a.valid, date.is_some_and(|d| !d.expired && d.year_valid));
        }
        (ValueType::Cvv, Facts::Cvv { length_valid }) => {
            assert_eq!((a.valid, length_valid), (a.digits && (3..=4).contains(&len), a.valid));
        }
        (ValueType::Digits, Facts::Digits) => assert_eq!(a.valid, a.digits),
        (kind, facts) => panic!("{kind}: facts of another type: {facts:?}"),
    }

    let fields = a.response_fields();
    let mut names = fields.iter().map(|(n, _)| *n);
    let head: Vec<&str> = names.by_ref().take(5).collect();
    assert_eq!(head, ["Status", "Type", "Length", "Valid", "Masked"]);
    let mut revealed = 0usize;
    for (name, v) in &fields {
        assert!(v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'), "{name}: outside the set");
        let digits = v.bytes().filter(u8::is_ascii_digit).count();
        match *name {
            "Length" => assert_eq!(*v, len.to_string()),
            "Last4" | "Masked" => revealed = revealed.max(digits),
            _ => assert_eq!(digits, 0, "{name} holds a digit"),
        }
    }
    assert!(revealed <= if shows_last4 { 4 } else { 0 }, "{revealed} digits revealed");
    let debug = format!("{a:?}");
    assert!(a.last4.as_ref().is_none_or(|l| !debug.contains(l.as_str())), "Debug shows Last4");
    assert_eq!(fields, a.response_fields(), "response fields are not deterministic");
}
