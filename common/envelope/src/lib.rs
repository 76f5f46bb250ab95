//! Seals one participant's key-ceremony package for another, so that the
//! coordinator relaying it reads nothing.
//!
//! Each participant makes a fresh [`SessionKey`] (X25519) for each key
//! ceremony and announces its public half in a message signed with its
//! identity key; a sender [`seal`]s a package to that public key with HPKE
//! (RFC 9180) in base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and
//! ChaCha20-Poly1305, and signs the sealed bytes with its own identity key.
//! The HPKE `info` and the AEAD's associated data are both the [`Binding`]:
//! the purpose, the ceremony, the sender and the recipient, so a sealed
//! package opens only as the package it was sealed as.
//!
//! A session key lives for one ceremony only. That lets a recipient who got
//! a package that does not verify reveal its session key in a complaint:
//! anyone can then open the sender's signed package and see who is lying.

use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, Serializable};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

type Kem = X25519HkdfSha256;
type PrivateKey = <Kem as hpke::Kem>::PrivateKey;
type PublicKey = <Kem as hpke::Kem>::PublicKey;
type EncappedKey = <Kem as hpke::Kem>::EncappedKey;

/// The prefix of every binding; a new construction gets a new one.
pub const BINDING_CONTEXT: &[u8] = b"quorate-envelope/v1\n";

/// The most plaintext a sealed package may carry: key-ceremony packages
/// are a few hundred bytes.
pub const MAX_PLAINTEXT: usize = 4096;

/// Why a package could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("the public key is {0} bytes; an X25519 key is 32")]
    KeyLength(usize),
    #[error("the public key is a low-order X25519 point, which nobody can seal to")]
    WeakKey,
    #[error("the session key is {0} bytes; an X25519 key is 32")]
    SecretLength(usize),
    #[error("the encapsulated key is {0} bytes; X25519's is 32")]
    EncLength(usize),
    #[error("the package is {0} bytes, more than the {MAX_PLAINTEXT} a sealed package may hold")]
    TooLong(usize),
    #[error("it does not open with this key for this binding (altered, misaddressed or garbage)")]
    DoesNotOpen,
    #[error("sealing failed: {0}")]
    Seal(String),
}

/// What a sealed package is for and between whom; both HPKE's `info` and
/// the AEAD's associated data.
#[derive(Debug, Clone, Copy)]
pub struct Binding<'a> {
    /// e.g. `dkg round 2`.
    pub purpose: &'a str,
    pub ceremony: &'a str,
    pub from: &'a str,
    pub to: &'a str,
}

impl Binding<'_> {
    /// [`BINDING_CONTEXT`], then each field as a 2-byte big-endian length
    /// and its bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = BINDING_CONTEXT.to_vec();
        for field in [self.purpose, self.ceremony, self.from, self.to] {
            let len = u16::try_from(field.len()).unwrap_or(u16::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&field.as_bytes()[..usize::from(len)]);
        }
        out
    }
}

/// A participant's X25519 key for one key ceremony; zeroized when dropped.
#[derive(Clone)]
pub struct SessionKey(PrivateKey);

impl SessionKey {
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let (secret, _) = Kem::gen_keypair(rng);
        Self(secret)
    }

    /// The public half, to announce signed.
    pub fn public(&self) -> [u8; 32] {
        let mut out = [0; 32];
        Kem::sk_to_pk(&self.0).write_exact(&mut out);
        out
    }

    /// The secret's 32 bytes: only for revealing the key in a complaint,
    /// after which the ceremony is over.
    pub fn reveal(&self) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0; 32]);
        self.0.write_exact(out.as_mut());
        out
    }

    /// A revealed session key.
    pub fn from_revealed(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        if bytes.len() != 32 {
            return Err(EnvelopeError::SecretLength(bytes.len()));
        }
        PrivateKey::from_bytes(bytes)
            .map(Self)
            .map_err(|_| EnvelopeError::SecretLength(bytes.len()))
    }
}

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionKey({})", hex::encode(self.public()))
    }
}

/// Checks that `key` is an X25519 public key one can seal to: 32 bytes and
/// not of low order (whose shared secret would be all zeros).
pub fn check_public(key: &[u8]) -> Result<[u8; 32], EnvelopeError> {
    let bytes: [u8; 32] = key
        .try_into()
        .map_err(|_| EnvelopeError::KeyLength(key.len()))?;
    let point = curve25519_dalek::montgomery::MontgomeryPoint(bytes);
    let cleared = point * curve25519_dalek::Scalar::from(8u8);
    if cleared.to_bytes() == [0; 32] {
        return Err(EnvelopeError::WeakKey);
    }
    Ok(bytes)
}

/// A package sealed to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// HPKE's encapsulated key, 32 bytes.
    pub enc: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

/// Seals `plaintext` to the holder of the session key whose public half is
/// `to`, for `binding`.
pub fn seal(
    to: &[u8],
    binding: &Binding<'_>,
    plaintext: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<Sealed, EnvelopeError> {
    if plaintext.len() > MAX_PLAINTEXT {
        return Err(EnvelopeError::TooLong(plaintext.len()));
    }
    let to = check_public(to)?;
    let recipient = PublicKey::from_bytes(&to).map_err(|_| EnvelopeError::KeyLength(32))?;
    let bound = binding.to_bytes();
    let (enc, ciphertext) = hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, Kem, _>(
        &OpModeS::Base,
        &recipient,
        &bound,
        plaintext,
        &bound,
        rng,
    )
    .map_err(|e| EnvelopeError::Seal(e.to_string()))?;
    Ok(Sealed {
        enc: enc.to_bytes().to_vec(),
        ciphertext,
    })
}

/// Opens a package sealed to `key` for `binding`.
pub fn open(
    key: &SessionKey,
    binding: &Binding<'_>,
    sealed: &Sealed,
) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    if sealed.enc.len() != 32 {
        return Err(EnvelopeError::EncLength(sealed.enc.len()));
    }
    if sealed.ciphertext.len() > MAX_PLAINTEXT + 16 {
        return Err(EnvelopeError::TooLong(sealed.ciphertext.len()));
    }
    let enc = EncappedKey::from_bytes(&sealed.enc).map_err(|_| EnvelopeError::EncLength(32))?;
    let bound = binding.to_bytes();
    hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, Kem>(
        &OpModeR::Base,
        &key.0,
        &enc,
        &bound,
        &sealed.ciphertext,
        &bound,
    )
    .map(Zeroizing::new)
    .map_err(|_| EnvelopeError::DoesNotOpen)
}
