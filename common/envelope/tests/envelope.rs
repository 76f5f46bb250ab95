//! Sealing and opening, and every way opening must fail.

use quorate_envelope::{Binding, EnvelopeError, SessionKey, check_public, open, seal};
use rand_core::OsRng;

fn binding<'a>(to: &'a str) -> Binding<'a> {
    Binding {
        purpose: "dkg round 2",
        ceremony: "k-1",
        from: "alice",
        to,
    }
}

#[test]
fn opens_only_for_its_recipient_and_binding() {
    let bob = SessionKey::generate(&mut OsRng);
    let carol = SessionKey::generate(&mut OsRng);
    let sealed = seal(&bob.public(), &binding("bob"), b"a share", &mut OsRng).unwrap();
    assert_eq!(
        open(&bob, &binding("bob"), &sealed).unwrap().as_slice(),
        b"a share"
    );
    assert!(!sealed.ciphertext.windows(7).any(|w| w == b"a share"));
    assert_eq!(
        open(&carol, &binding("bob"), &sealed),
        Err(EnvelopeError::DoesNotOpen)
    );
    assert_eq!(
        open(&bob, &binding("carol"), &sealed),
        Err(EnvelopeError::DoesNotOpen)
    );
    let other_ceremony = Binding {
        ceremony: "k-2",
        ..binding("bob")
    };
    assert_eq!(
        open(&bob, &other_ceremony, &sealed),
        Err(EnvelopeError::DoesNotOpen)
    );
    let mut altered = sealed.clone();
    altered.ciphertext[0] ^= 1;
    assert_eq!(
        open(&bob, &binding("bob"), &altered),
        Err(EnvelopeError::DoesNotOpen)
    );
    let mut short = sealed;
    short.enc.pop();
    assert_eq!(
        open(&bob, &binding("bob"), &short),
        Err(EnvelopeError::EncLength(31))
    );
}

#[test]
fn a_revealed_key_opens_what_was_sealed_to_it() {
    let bob = SessionKey::generate(&mut OsRng);
    let sealed = seal(&bob.public(), &binding("bob"), b"evidence", &mut OsRng).unwrap();
    let revealed = SessionKey::from_revealed(bob.reveal().as_slice()).unwrap();
    assert_eq!(revealed.public(), bob.public());
    assert_eq!(
        open(&revealed, &binding("bob"), &sealed)
            .unwrap()
            .as_slice(),
        b"evidence"
    );
    assert_eq!(
        SessionKey::from_revealed(&[1; 31]).unwrap_err(),
        EnvelopeError::SecretLength(31)
    );
}

#[test]
fn weak_and_malformed_public_keys_are_refused() {
    // The identity and a point of order 8 (RFC 7748's low-order list).
    let zero = [0u8; 32];
    let mut order8 = [0u8; 32];
    hex_into(
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        &mut order8,
    );
    assert_eq!(check_public(&zero), Err(EnvelopeError::WeakKey));
    assert_eq!(check_public(&order8), Err(EnvelopeError::WeakKey));
    assert_eq!(check_public(&[9; 31]), Err(EnvelopeError::KeyLength(31)));
    assert_eq!(
        seal(&zero, &binding("bob"), b"x", &mut OsRng),
        Err(EnvelopeError::WeakKey)
    );
    let good = SessionKey::generate(&mut OsRng).public();
    assert_eq!(check_public(&good), Ok(good));
    let too_long = vec![0; quorate_envelope::MAX_PLAINTEXT + 1];
    assert_eq!(
        seal(&good, &binding("bob"), &too_long, &mut OsRng),
        Err(EnvelopeError::TooLong(too_long.len()))
    );
}

fn hex_into(text: &str, out: &mut [u8; 32]) {
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap();
    }
}
