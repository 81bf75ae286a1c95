//! The seed generator: messages made with this crate's own `encrypt`, nothing copied in.
//!
//! `corpus()` is the `parse` target's starting point (every suite, framed and not, several sizes,
//! under the fixed keyring so that fuzzing reaches decryption; plus Connect-shaped messages).
//! `decrypt_corpus()` holds only messages the fixed keys open (so that mutations start past the
//! parser), `analyze_corpus()` caller inputs of every type. The three are committed in
//! `fuzz/corpora/<target>/`.
//! `regressions()` is the small curated set committed in `fuzz/regressions/`: Connect-shaped
//! messages and hand-made edits of them, each aimed at one rule of the parser.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use caller_input::{ValueType, YearMonth};
use esdk_message::keyring::{CONNECT_NAMESPACE, CONNECT_PADDING, RawAesKeyring, RawRsaKeyring};
use esdk_message::provider::{CryptoProvider, default_provider};
use esdk_message::{CommitmentPolicy, EncryptOptions, EncryptionContext, IvPolicy, SuiteId, encrypt, encrypt_with_ivs};

use crate::decrypt::{CONNECT_KEY_ID, connect_public_der};
use crate::entry::{KEY_NAME, KEY_NAMESPACE, WRAPPING_KEY};
use crate::{analysis, layout};

/// What a caller types at a Connect "Store customer input" prompt: a 16-digit card number.
const CARD_NUMBER: &[u8] = b"4111111111111111";

fn provider() -> &'static dyn CryptoProvider {
    default_provider()
}

fn policy_for(suite: SuiteId) -> CommitmentPolicy {
    if suite.0 >= 0x0478 {
        CommitmentPolicy::RequireEncryptRequireDecrypt
    } else {
        CommitmentPolicy::ForbidEncryptAllowDecrypt
    }
}

/// A message under the fixed keyring of [`crate::entry`].
pub fn fixed_key_message(suite: SuiteId, frame_length: u32, plaintext: &[u8], context: &[(&str, &str)]) -> Vec<u8> {
    let keyring = RawAesKeyring::new(provider(), KEY_NAMESPACE, KEY_NAME, &WRAPPING_KEY).expect("32-byte key");
    let encryption_context: EncryptionContext = context.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
    let options = EncryptOptions {
        suite,
        frame_length,
        encryption_context,
        authenticate_only_keys: Vec::new(),
        commitment_policy: policy_for(suite),
    };
    encrypt(provider(), &[&keyring], plaintext, &options).expect("encrypt")
}

/// A message for the test RSA key as Connect makes it (random IVs), with `options`.
fn rsa_message(plaintext: &[u8], options: &EncryptOptions) -> Vec<u8> {
    let keyring = RawRsaKeyring::from_public_key(
        provider(),
        CONNECT_NAMESPACE,
        CONNECT_KEY_ID,
        &connect_public_der(),
        CONNECT_PADDING,
    )
    .expect("test public key");
    encrypt_with_ivs(provider(), &[&keyring], plaintext, options, IvPolicy::Random).expect("encrypt")
}

/// A message exactly as Amazon Connect makes it, for the test key.
pub fn connect_message(plaintext: &[u8]) -> Vec<u8> {
    rsa_message(plaintext, &EncryptOptions::connect())
}

/// The `decrypt` target's seeds: messages that the fixed keys open, under every suite and
/// Connect's, framed and not, with and without context.
pub fn decrypt_corpus() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let plaintext: Vec<u8> = (0..40u8).collect();
    for suite in SuiteId::ALL {
        for (frame_length, len, context) in [(0, 37, &[][..]), (16, 40, &[("purpose", "fuzz")][..])] {
            let m = fixed_key_message(suite, frame_length, plaintext.get(..len).unwrap_or_default(), context);
            out.push((format!("aes-{:04x}-fl{frame_length}-len{len}.bin", suite.0), m));
        }
    }
    out.push(("connect-card-number.bin".into(), connect_message(CARD_NUMBER)));
    out.push(("connect-empty.bin".into(), connect_message(b"")));
    out.push(("connect-two-frames.bin".into(), connect_message(&[b'7'; 4100])));
    out.push(("connect-card-number.b64".into(), STANDARD.encode(connect_message(CARD_NUMBER)).into_bytes()));
    // Connect's key under the committing signed suite that the Connect policy also accepts.
    let committing = EncryptOptions {
        suite: SuiteId(0x0578),
        commitment_policy: CommitmentPolicy::RequireEncryptRequireDecrypt,
        ..EncryptOptions::connect()
    };
    out.push(("connect-0578-card-number.bin".into(), rsa_message(CARD_NUMBER, &committing)));
    out
}

/// The `analyze` target's seeds: values of every type, valid and not, in November 2026.
pub fn analyze_corpus() -> Vec<(String, Vec<u8>)> {
    let today = YearMonth { year: 2026, month: 11 };
    let cases: [(ValueType, &[u8]); 16] = [
        // The networks' published test numbers, and edits of them.
        (ValueType::Card, b"4111111111111111"),
        (ValueType::Card, b"378282246310005"),
        (ValueType::Card, b"5555555555554444"),
        (ValueType::Card, b"36227206271667"),
        (ValueType::Card, b"3782822463100003"),
        (ValueType::Card, b"4111-1111-1111-1111"),
        (ValueType::Card, b"41111111111111111111"),
        (ValueType::Expiry, b"1126"),
        (ValueType::Expiry, b"1026"),
        (ValueType::Expiry, b"122030"),
        (ValueType::Expiry, b"1326"),
        (ValueType::Cvv, b"737"),
        (ValueType::Cvv, b"1234"),
        (ValueType::Digits, b"0042"),
        (ValueType::Digits, &[b'9'; 65]),
        (ValueType::Digits, &[0xff, b'1', 0]),
    ];
    cases
        .iter()
        .enumerate()
        .map(|(i, (kind, value))| (format!("{i:02}-{kind}.bin"), analysis::join(*kind, today, value)))
        .collect()
}

/// The fuzzer's seed corpus.
pub fn corpus() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let shapes: [(u32, usize); 7] = [(0, 0), (0, 37), (16, 0), (16, 16), (16, 40), (64, 128), (4096, 16)];
    let contexts: [&[(&str, &str)]; 2] = [&[], &[("purpose", "fuzz"), ("tenant", "ünïcode")]];
    for suite in SuiteId::ALL {
        for (frame_length, len) in shapes {
            for (i, context) in contexts.iter().enumerate() {
                let plaintext: Vec<u8> = (0..len).map(|b| b as u8).collect();
                let m = fixed_key_message(suite, frame_length, &plaintext, context);
                out.push((format!("aes-{:04x}-fl{frame_length}-len{len}-ctx{i}.bin", suite.0), m));
            }
        }
    }
    let base64 = STANDARD.encode(fixed_key_message(SuiteId(0x0378), 4096, CARD_NUMBER, &[]));
    out.push(("aes-0378-card.b64".into(), base64.into_bytes()));
    out
}

/// Rewrites the big-endian integer field `f` of `m` to `value` (truncated to its width).
fn rewrite(m: &[u8], f: layout::Field, value: u64) -> Vec<u8> {
    let mut out = m.to_vec();
    let bytes = value.to_be_bytes();
    let src = bytes.get(8 - f.width..).expect("width <= 8");
    out.get_mut(f.offset..f.offset + f.width).expect("field inside message").copy_from_slice(src);
    out
}

fn field(m: &[u8], name: &str) -> layout::Field {
    layout::fields(m).into_iter().find(|f| f.name == name).unwrap_or_else(|| panic!("no field {name}"))
}

/// The committed regression seeds: Connect-shaped messages and edits of them, plus a few that the
/// fixed keyring opens (so that the replay reaches every stage).
pub fn regressions() -> Vec<(String, Vec<u8>)> {
    let c = connect_message(CARD_NUMBER);
    let header_end = field(&c, "frame sequence number").offset;
    let mut out = vec![
        ("connect-card-number.bin".to_string(), c.clone()),
        ("connect-card-number.b64".into(), format!("  {}\n", STANDARD.encode(&c)).into_bytes()),
        ("connect-truncated-in-edk.bin".into(), c.get(..200).expect("long").to_vec()),
        ("connect-truncated-after-header.bin".into(), c.get(..header_end).expect("long").to_vec()),
        ("connect-truncated-in-signature.bin".into(), c.get(..c.len() - 10).expect("long").to_vec()),
        ("connect-trailing-byte.bin".into(), [c.as_slice(), &[0]].concat()),
        ("connect-edk-count-max.bin".into(), rewrite(&c, field(&c, "encrypted data key count"), 0xFFFF)),
        ("connect-edk-count-zero.bin".into(), rewrite(&c, field(&c, "encrypted data key count"), 0)),
        ("connect-edk-length-max.bin".into(), rewrite(&c, field(&c, "encrypted data key length"), 0xFFFF)),
        ("connect-context-length-max.bin".into(), rewrite(&c, field(&c, "encryption context length"), 0xFFFF)),
        ("connect-context-pair-count-max.bin".into(), rewrite(&c, field(&c, "encryption context pair count"), 0xFFFF)),
        ("connect-frame-length-max.bin".into(), rewrite(&c, field(&c, "frame length"), 0xFFFF_FFFF)),
        ("connect-frame-length-zero.bin".into(), rewrite(&c, field(&c, "frame length"), 0)),
        (
            "connect-final-frame-length-max.bin".into(),
            rewrite(&c, field(&c, "final frame content length"), 0xFFFF_FFFF),
        ),
        ("connect-final-frame-sequence-2.bin".into(), rewrite(&c, field(&c, "final frame sequence number"), 2)),
        ("connect-signature-length-max.bin".into(), rewrite(&c, field(&c, "footer signature length"), 0xFFFF)),
        ("connect-version-2.bin".into(), rewrite(&c, field(&c, "version"), 2)),
        ("connect-suite-0478.bin".into(), rewrite(&c, field(&c, "algorithm suite ID"), 0x0478)),
        ("connect-non-framed-content-type.bin".into(), rewrite(&c, field(&c, "content type"), 1)),
    ];
    // A second final frame, and a regular frame where the final one should be.
    let body = field(&c, "frame sequence number").offset;
    let footer = field(&c, "footer signature length").offset;
    let final_frame = c.get(body..footer).expect("body").to_vec();
    let twice = [c.get(..footer).expect("header"), &final_frame, c.get(footer..).expect("footer")].concat();
    out.push(("connect-repeated-final-frame.bin".into(), twice));
    // Multi-frame Connect message (plaintext longer than one 4096-byte frame), cut mid-frame.
    let long = connect_message(&[b'7'; 5000]);
    out.push(("connect-two-frames-cut.bin".into(), long.get(..long.len() / 2).expect("long").to_vec()));
    // Messages the fixed keyring opens: committing + signed, exact multiple of the frame, empty.
    let plaintext: Vec<u8> = (0..64u8).collect();
    out.push((
        "aes-0578-two-full-frames.bin".into(),
        fixed_key_message(SuiteId(0x0578), 32, &plaintext, &[("k", "v")]),
    ));
    out.push(("aes-0014-non-framed.bin".into(), fixed_key_message(SuiteId(0x0014), 0, &plaintext, &[])));
    out.push(("aes-0378-empty.bin".into(), fixed_key_message(SuiteId(0x0378), 4096, b"", &[])));
    out
}

/// The `event` target's seeds: Connect events with declared, undeclared, message-shaped,
/// unknown-typed and non-string parameters (values are this crate's Connect-shaped messages).
pub fn event_corpus() -> Vec<(String, Vec<u8>)> {
    let card = STANDARD.encode(connect_message(CARD_NUMBER));
    let cvv = STANDARD.encode(connect_message(b"737"));
    let event = |params: String| {
        format!(
            r#"{{"Name":"ContactFlowEvent","Details":{{"ContactData":{{"ContactId":"c0ffee00-0000-4000-8000-000000000001","InstanceARN":"arn:aws:connect:eu-west-2:111122223333:instance/x"}},"Parameters":{{{params}}}}}}}"#
        )
        .into_bytes()
    };
    vec![
        ("blog-encrypted-prefix.json".into(), event(format!(r#""EncryptedCreditCard":"{card}""#))),
        (
            "declared-types.json".into(),
            event(format!(r#""Card":"{card}","CardType":"card","Cvv":"{cvv}","CvvType":"cvv","Language":"en-US""#)),
        ),
        ("undeclared-message.json".into(), event(format!(r#""Other":"{cvv}","Language":"en-US""#))),
        ("unknown-type.json".into(), event(r#""EncryptedSsn":"Timeout","EncryptedSsnType":"ssn""#.into())),
        ("type-without-value.json".into(), event(r#""EncryptedCardType":"card""#.into())),
        ("declaration-chain.json".into(), event(r#""A":"x","AType":"cvv","ATypeType":"digits""#.into())),
        ("non-string-values.json".into(), event(r#""EncryptedCvv":737,"X":null,"Y":{"a":[1]},"Z":true"#.into())),
        ("timeout.json".into(), event(r#""EncryptedCreditCard":"Timeout","EncryptedCreditCardType":"PAN""#.into())),
        ("empty.json".into(), b"{}".to_vec()),
    ]
}
