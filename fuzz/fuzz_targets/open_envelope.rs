//! Feeds arbitrary bytes to `envelope::open`.
//!
//! Invariants checked: no panic; every failure is `Corrupt` or `WrongKey` (the input is below
//! the size bound); and whatever opens can be sealed again, keeping its salt, and opens to the
//! same plaintext. The key ring holds the keys of the committed test vectors (the seed corpus),
//! so the fuzzer starts from envelopes that open and mutates towards the edges. A passphrase is
//! in the ring, so an input may run Argon2id, at most with the parameters the parser allows
//! (256 MiB, 16 passes, 16 lanes): slow inputs are bounded, not unbounded.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use oauth_store_core::Error;
use oauth_store_core::envelope::{self, OpenOptions, SealOptions, Version};
use oauth_store_core::key_material::{Argon2Params, KeyRing, Passphrase, SecretKey};

/// The contexts the test vectors were sealed with.
const CONTEXTS: [&[u8]; 4] = [
    b"",
    b"tenant-a\0github/alice",
    b"tenant-b\0gitlab/bob",
    b"file:store.json",
];

fn ring() -> &'static KeyRing {
    static RING: OnceLock<KeyRing> = OnceLock::new();
    RING.get_or_init(|| {
        let tiny = Argon2Params {
            m_kib: 64,
            t: 1,
            p: 1,
        };
        KeyRing::new(SecretKey::new((0u8..32).collect::<Vec<u8>>()).unwrap())
            .with_previous(SecretKey::new(b"harn-test-secret".to_vec()).unwrap())
            .with_previous(
                Passphrase::new("correct horse battery staple")
                    .unwrap()
                    .with_params(tiny)
                    .unwrap(),
            )
            .with_previous(
                Passphrase::new("pässwörd ✓")
                    .unwrap()
                    .with_params(tiny)
                    .unwrap(),
            )
    })
}

fuzz_target!(|data: &[u8]| {
    let ring = ring();
    for context in CONTEXTS {
        let options = OpenOptions::new("fuzz").context(context);
        match envelope::open(ring, data, &options) {
            Ok(opened) => {
                let seal = match opened.header.version() {
                    Version::V1 => SealOptions::v1(),
                    Version::V2 => SealOptions::v2()
                        .context(context)
                        .reuse_salt_of(&opened.header),
                };
                let sealed = envelope::seal(ring, &opened.plaintext, &seal).expect("seal");
                let again = envelope::open(ring, &sealed, &options).expect("reopen");
                assert_eq!(again.plaintext, opened.plaintext);
            }
            Err(Error::Corrupt { .. } | Error::WrongKey { .. }) => {}
            Err(other) => panic!("untyped error: {other}"),
        }
    }
});
