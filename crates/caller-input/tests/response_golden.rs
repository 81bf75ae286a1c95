//! The response strings are the Lambda's contract with the contact flow: this pins them, byte for
//! byte, to what they were before `Analysis` held typed facts (captured from that version).

use caller_input::{ValueType, YearMonth, analyze};

const NOV_2026: YearMonth = YearMonth { year: 2026, month: 11 };

// Test PANs are the networks' published test numbers and edits of them.
const CASES: &[(ValueType, &[u8])] = &[
    (ValueType::Card, b"4111111111111111"),
    (ValueType::Card, b"3782822463100003"),
    (ValueType::Card, b"4111111111111112"),
    (ValueType::Card, b"4111-1111-1111-1111"),
    (ValueType::Card, b"411111"),
    (ValueType::Card, b""),
    (ValueType::Card, &[0xff, 0xfe, b'1']),
    (ValueType::Expiry, b"1126"),
    (ValueType::Expiry, b"1026"),
    (ValueType::Expiry, b"1326"),
    (ValueType::Expiry, b"0199"),
    (ValueType::Expiry, b"122030"),
    (ValueType::Expiry, b"12a4"),
    (ValueType::Cvv, b"737"),
    (ValueType::Cvv, b"12"),
    (ValueType::Digits, b"0042"),
    (ValueType::Digits, b"00 42"),
    (ValueType::Card, &[b'1'; 65]),
];

const EXPECTED: &[&str] = &[
    "Status=Success Type=card Length=16 Valid=true Masked=XXXXXXXXXXXX1111 Last4=1111 Digits=true Brand=Visa Luhn=true",
    "Status=Invalid Type=card Length=16 Valid=false Masked=XXXXXXXXXXXX0003 Last4=0003 Digits=true Brand=Amex Luhn=true",
    "Status=Invalid Type=card Length=16 Valid=false Masked=XXXXXXXXXXXX1112 Last4=1112 Digits=true Brand=Visa Luhn=false",
    "Status=Invalid Type=card Length=19 Valid=false Masked=XXXXXXXXXXXXXXXXXXX Digits=false Brand=Unknown Luhn=false",
    "Status=Invalid Type=card Length=6 Valid=false Masked=XXXXXX Digits=true Brand=Visa Luhn=false",
    "Status=Invalid Type=card Length=0 Valid=false Masked= Digits=false Brand=Unknown Luhn=false",
    "Status=Invalid Type=card Length=3 Valid=false Masked=XXX Digits=false Brand=Unknown Luhn=false",
    "Status=Success Type=expiry Length=4 Valid=true Masked=XXXX Digits=true MonthValid=true Expired=false YearValid=true",
    "Status=Invalid Type=expiry Length=4 Valid=false Masked=XXXX Digits=true MonthValid=true Expired=true YearValid=true",
    "Status=Invalid Type=expiry Length=4 Valid=false Masked=XXXX Digits=true MonthValid=false",
    "Status=Invalid Type=expiry Length=4 Valid=false Masked=XXXX Digits=true MonthValid=true Expired=false YearValid=false",
    "Status=Success Type=expiry Length=6 Valid=true Masked=XXXXXX Digits=true MonthValid=true Expired=false YearValid=true",
    "Status=Invalid Type=expiry Length=4 Valid=false Masked=XXXX Digits=false MonthValid=false",
    "Status=Success Type=cvv Length=3 Valid=true Masked=XXX Digits=true LengthValid=true",
    "Status=Invalid Type=cvv Length=2 Valid=false Masked=XX Digits=true LengthValid=false",
    "Status=Success Type=digits Length=4 Valid=true Masked=XXXX Digits=true",
    "Status=Invalid Type=digits Length=5 Valid=false Masked=XXXXX Digits=false",
    "Status=Invalid Type=card Length=65 Valid=false Masked=XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX Digits=false Brand=Unknown Luhn=false",
];

#[test]
fn response_fields_are_byte_identical_to_the_string_version() {
    assert_eq!(CASES.len(), EXPECTED.len());
    for ((kind, value), expected) in CASES.iter().zip(EXPECTED) {
        let fields = analyze(*kind, value, NOV_2026).response_fields();
        let got: Vec<String> = fields.iter().map(|(n, v)| format!("{n}={v}")).collect();
        assert_eq!(got.join(" "), *expected, "{kind}, {} bytes", value.len());
    }
}

#[test]
fn serde_names_are_the_response_names() {
    use caller_input::{Brand, Status};
    for brand in Brand::ALL {
        assert_eq!(serde_json::to_value(brand).unwrap(), brand.as_str(), "{brand:?}");
        assert_eq!(serde_json::from_value::<Brand>(brand.as_str().into()).unwrap(), brand);
    }
    for kind in ValueType::ALL {
        assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str(), "{kind:?}");
    }
    for status in [Status::Success, Status::Invalid] {
        assert_eq!(serde_json::to_value(status).unwrap(), status.as_str(), "{status:?}");
    }
}

#[test]
fn typed_facts_serialise_without_digits() {
    let a = analyze(ValueType::Card, b"5555555555554444", NOV_2026);
    let json = serde_json::to_string(&a.facts).unwrap();
    assert_eq!(json, r#"{"card":{"brand":"Mastercard","luhn":true}}"#);
    let e = analyze(ValueType::Expiry, b"1026", NOV_2026);
    let json = serde_json::to_string(&e.facts).unwrap();
    assert_eq!(json, r#"{"expiry":{"month_valid":true,"date":{"expired":true,"year_valid":true}}}"#);
}
