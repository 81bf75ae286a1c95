//! Bounded allocation: parsing or inspecting any input of length n never has more than
//! n + 64 KiB allocated at once.
//!
//! Measuring needs a counting `#[global_allocator]`, and `GlobalAlloc` is an `unsafe` trait. The
//! root workspace forbids `unsafe_code` in every target of `esdk-message` (tests included), so
//! this test lives in the fuzz crate, which only denies it: this file is the one place that
//! allows it, for an allocator that only forwards to `System` and counts. The library itself
//! stays `#![forbid(unsafe_code)]`.
//!
//! Run: `CARGO_TARGET_DIR=target cargo test --manifest-path crates/esdk-message/fuzz/Cargo.toml
//! --test allocation` (sharing the workspace's target directory reuses its compiled crates).

#![allow(unsafe_code, clippy::unwrap_used, clippy::expect_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use esdk_message::keyring::RawAesKeyring;
use esdk_message::provider::{AwsLc, all_providers};
use esdk_message::{
    CommitmentPolicy, DEFAULT_MAX_ENCRYPTED_DATA_KEYS, EncryptOptions, EncryptionContext, Message, SuiteId, encrypt,
    encrypt_connect_der, inspect,
};
use esdk_message_fuzz::layout;
use proptest::prelude::*;

/// The allowance on top of the input's own length.
const SLACK: usize = 64 * 1024;

thread_local! {
    /// Bytes allocated minus bytes freed by this thread since `measure` started, and the peak.
    /// Per thread, so the test harness's other threads cannot disturb a measurement. Const
    /// initialised without a destructor, so reading it from inside the allocator never allocates.
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
}

struct Counting;

fn record(delta: isize) {
    let _ = ACTIVE.try_with(|active| {
        if active.get() {
            let live = LIVE.with(|l| {
                l.set(l.get() + delta);
                l.get()
            });
            PEAK.with(|p| p.set(p.get().max(live)));
        }
    });
}

// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the counting touches only const thread-locals and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size() as isize);
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size() as isize);
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        record(-(layout.size() as isize));
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Count the worst case: old and new blocks both live while the contents move.
        record(new_size as isize);
        record(-(layout.size() as isize));
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The peak number of bytes `f` had allocated at once (on this thread).
fn peak_of<T>(f: impl FnOnce() -> T) -> usize {
    LIVE.with(|l| l.set(0));
    PEAK.with(|p| p.set(0));
    ACTIVE.with(|a| a.set(true));
    let result = f();
    drop(result);
    ACTIVE.with(|a| a.set(false));
    PEAK.with(Cell::get).max(0) as usize
}

/// Checks `Message::parse` and `inspect` (every provider) of `input` against n + 64 KiB,
/// reporting every measurement when one is over.
fn assert_bounded(input: &[u8]) -> Result<(), TestCaseError> {
    let bound = input.len() + SLACK;
    let mut peaks =
        vec![("parse", peak_of(|| Message::parse(input, DEFAULT_MAX_ENCRYPTED_DATA_KEYS).map(|m| m.frame_count())))];
    for provider in all_providers() {
        peaks.push((provider.name(), peak_of(|| inspect(provider, input, DEFAULT_MAX_ENCRYPTED_DATA_KEYS))));
    }
    prop_assert!(
        peaks.iter().all(|(_, peak)| *peak <= bound),
        "input of {} bytes (bound {bound}); peak bytes live: parse and inspect per provider {peaks:?}",
        input.len()
    );
    Ok(())
}

fn aes_message(suite: SuiteId, frame_length: u32, plaintext: &[u8], context: EncryptionContext) -> Vec<u8> {
    let keyring = RawAesKeyring::new(&AwsLc, "alloc", "key", &[1; 32]).expect("key");
    let commitment_policy = if suite.0 >= 0x0478 {
        CommitmentPolicy::RequireEncryptRequireDecrypt
    } else {
        CommitmentPolicy::ForbidEncryptAllowDecrypt
    };
    let options = EncryptOptions {
        suite,
        frame_length,
        encryption_context: context,
        authenticate_only_keys: vec![],
        commitment_policy,
    };
    encrypt(&AwsLc, &[&keyring], plaintext, &options).expect("encrypt")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Messages of every shape, then with each length field rewritten to extremes.
    #[test]
    fn parse_and_inspect_allocate_at_most_input_plus_64k(
        suite in prop::sample::select(SuiteId::ALL.to_vec()),
        frame_length in prop_oneof![Just(0u32), 1..=64u32, Just(4096u32)],
        len in 0..2000usize,
        context in prop::collection::btree_map("[a-z]{1,6}", "[a-z]{0,6}", 0..8),
        field in any::<prop::sample::Index>(),
        value in prop_oneof![Just(0u64), Just(u64::MAX), any::<u64>()],
    ) {
        let message = aes_message(suite, frame_length, &vec![7; len], context);
        assert_bounded(&message)?;
        let fields = layout::fields(&message);
        let f = fields[field.index(fields.len())];
        let mut edited = message.clone();
        edited[f.offset..f.offset + f.width].copy_from_slice(&value.to_be_bytes()[8 - f.width..]);
        assert_bounded(&edited)?;
    }

    /// Arbitrary bytes after a version byte.
    #[test]
    fn random_input_is_bounded(version in 1..=2u8, rest in prop::collection::vec(any::<u8>(), 0..4096)) {
        let mut input = vec![version];
        input.extend_from_slice(&rest);
        assert_bounded(&input)?;
    }
}

/// The counter itself works (so that the bounds above are not vacuous).
#[test]
fn counter_sees_allocations() {
    let peak = peak_of(|| vec![0u8; 100_000]);
    assert!((100_000..200_000).contains(&peak), "{peak}");
}

/// A Connect-shaped message (RSA-4096 data key, 4096-byte frames, P-384 signature).
#[test]
fn connect_message_parse_and_inspect_are_bounded() {
    let spki = esdk_message_fuzz::decrypt::connect_public_der();
    let message = encrypt_connect_der(&AwsLc, "key-id", &spki, &[b'4'; 9000]).expect("encrypt");
    assert_bounded(&message).expect("bounded");
}

/// The largest encryption context the format allows, made of the smallest distinct pairs: the
/// worst case for the parsed map's overhead relative to its wire size.
///
/// Regression: the header once parsed its context into a `BTreeMap<String, String>`, about
/// 90 bytes per pair against 6 on the wire, so this 54 KB message peaked near 0.86 MB in
/// `parse` (1.7 MB in `inspect`). The context is now validated in place on the wire bytes.
#[test]
fn densest_encryption_context_is_bounded() {
    // Two printable ASCII characters per key and empty values: 6 wire bytes per pair.
    let printable = || (0x20u8..0x7f).map(char::from);
    let context: EncryptionContext =
        printable().flat_map(|a| printable().map(move |b| (format!("{a}{b}"), String::new()))).collect();
    let message = aes_message(SuiteId(0x0178), 4096, b"x", context);
    assert_bounded(&message).expect("bounded");
}
