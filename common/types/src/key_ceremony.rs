//! Key ceremonies: an operator's proposal of a key group that its
//! participants make among themselves by DKG (or of new shares of one, a
//! refresh, which may remove share holders), and the messages each
//! participant signs with its identity key to take part.
//!
//! A [`KeyMessage`] is signed like a statement: the identity key signs
//! `quorate-key-message/v1\n` followed by the message's JSON (fields in
//! declaration order, no spaces, bytes as lowercase hex). The coordinator
//! relays and records messages but cannot make or alter one; round-2
//! packages travel sealed to their recipient (`quorate-envelope`), so it
//! cannot read them either.

use serde::{Deserialize, Serialize};

use crate::identity::PublicIdentity;
use crate::statement::{Signature, StatementSigner};
use crate::{
    KeyCeremonyId, KeyGroupFile, KeyGroupName, ParticipantId, Policy, Roster, Sha256Digest,
};

pub const KEY_MESSAGE_CONTEXT: &[u8] = b"quorate-key-message/v1\n";

/// The most participants a key group made by DKG may have.
pub const MAX_PARTICIPANTS: usize = 255;

/// What an operator proposes: a new key group, made by DKG among the
/// roster's agents. Every participant approves exactly these bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyProposal {
    pub key_group: KeyGroupName,
    /// FROST's t: the fewest signers that can sign. It can never change
    /// for this group key; a new threshold needs a new key group.
    pub threshold: u16,
    /// Every participant, each with the identity key that signs its key
    /// messages.
    pub roster: Roster,
    #[serde(default)]
    pub policy: Policy,
    /// Set for a refresh: new shares of an existing group key among
    /// `roster`, the group's holders but for those it removes. Absent for a
    /// new key group (DKG).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh: Option<Refresh>,
    /// Set for a repair or an enrolment: a share for `repair.participant`
    /// rebuilt (or made) by helpers, under the same group key. Absent for a
    /// DKG or a refresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repair: Option<Repair>,
}

/// What a repair or enrolment starts from, whom it gives a share and who
/// helps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Repair {
    /// The key group as it stands.
    pub from: KeyGroupFile,
    /// Which version of the key group `from` is.
    pub version: u64,
    /// Who gets a share: a share holder of `from` who lost theirs (a
    /// repair; the identity key may be a new one), or someone new (an
    /// enrolment).
    pub participant: crate::RosterEntry,
    /// The share holders who rebuild it, at least the threshold; each
    /// approves by joining.
    pub helpers: Vec<ParticipantId>,
}

impl Repair {
    /// Whether the participant is new to the group.
    pub fn is_enrolment(&self) -> bool {
        self.from.roster.get(&self.participant.id).is_none()
    }

    /// Checks the repair keeps the group's name, key and threshold, that
    /// enough distinct share holders help (not the participant), and that
    /// the new roster is the group's with the participant's entry put in
    /// place (a repair) or added (an enrolment).
    fn check(&self, proposal: &KeyProposal) -> Result<(), (&'static str, String)> {
        check_from(&self.from, proposal, "repair.from")?;
        if self.participant.identity.is_none() {
            return Err((
                "repair.participant",
                format!("{} has no identity key", self.participant.id),
            ));
        }
        let mut helpers = std::collections::BTreeSet::new();
        for h in &self.helpers {
            if self.from.roster.get(h).is_none() {
                return Err((
                    "repair.helpers",
                    format!("{h} holds no share of {}", self.from.name),
                ));
            }
            if h == &self.participant.id {
                return Err((
                    "repair.helpers",
                    format!("{h} cannot help rebuild their own share"),
                ));
            }
            if !helpers.insert(h) {
                return Err(("repair.helpers", format!("lists {h} twice")));
            }
        }
        if helpers.len() < usize::from(self.from.threshold) {
            return Err((
                "repair.helpers",
                format!(
                    "names {}; rebuilding a share takes at least the threshold, {}",
                    helpers.len(),
                    self.from.threshold
                ),
            ));
        }
        let mut expected = self.from.roster.participants.clone();
        match expected.iter_mut().find(|e| e.id == self.participant.id) {
            Some(entry) => *entry = self.participant.clone(),
            None => expected.push(self.participant.clone()),
        }
        if expected != proposal.roster.participants {
            return Err((
                "roster",
                "must be the key group's roster with the participant's entry in place (a repair) \
                 or added at the end (an enrolment), and nothing else changed"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// Checks a change of an existing key group keeps its name and threshold.
fn check_from(
    from: &KeyGroupFile,
    proposal: &KeyProposal,
    field: &'static str,
) -> Result<(), (&'static str, String)> {
    from.check()
        .map_err(|(f, why)| (field, format!("{f} {why}")))?;
    if from.name != proposal.key_group {
        return Err((
            field,
            format!("is key group {}, not {}", from.name, proposal.key_group),
        ));
    }
    if from.policy != proposal.policy {
        return Err((
            "policy",
            format!(
                "differs from key group {}'s: a refresh, repair or enrolment keeps the policy \
                 (change it with a roster change or a new key group)",
                from.name
            ),
        ));
    }
    if from.threshold != proposal.threshold {
        return Err((
            "threshold",
            format!(
                "is {}, but key group {} has {}: FROST cannot change a group key's threshold; \
                 a new threshold needs a new key group",
                proposal.threshold, from.name, from.threshold
            ),
        ));
    }
    Ok(())
}

/// What a refresh starts from and whom it removes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Refresh {
    /// The key group as it stands: the version whose shares are refreshed.
    pub from: KeyGroupFile,
    /// Which version of the key group `from` is (0 as registered, then one
    /// more per roster change or refresh).
    pub version: u64,
    /// Share holders left out: once refreshed, their shares no longer
    /// combine with the new ones (fewer than the threshold of them, so
    /// their old shares cannot make the key among themselves either). Every
    /// holder of `from` is either in the new roster or listed here.
    pub removed: Vec<ParticipantId>,
}

impl KeyProposal {
    /// SHA-256 of the proposal's JSON: what each participant signs that it
    /// agreed to.
    pub fn digest(&self) -> Sha256Digest {
        Sha256Digest::of(&serde_json::to_vec(self).unwrap_or_default())
    }

    /// Checks the proposal can make a key group: a valid roster of 2 to
    /// [`MAX_PARTICIPANTS`], each with an identity key, a threshold from 2
    /// to the roster's size, and a policy the roster can meet. Names the
    /// field that is wrong.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        self.roster
            .validate()
            .map_err(|e| ("roster", e.to_string()))?;
        let n = self.roster.len();
        if !(2..=MAX_PARTICIPANTS).contains(&n) {
            return Err((
                "roster",
                format!("lists {n} participants; a key group has 2 to {MAX_PARTICIPANTS}"),
            ));
        }
        if let Some(p) = self
            .roster
            .participants
            .iter()
            .find(|p| p.identity.is_none())
        {
            return Err((
                "roster",
                format!(
                    "participant {} has no identity key; each signs its key messages with one",
                    p.id
                ),
            ));
        }
        if self.threshold < 2 || usize::from(self.threshold) > n {
            return Err((
                "threshold",
                format!(
                    "is {}; it must be from 2 to the {n} participants",
                    self.threshold
                ),
            ));
        }
        self.policy
            .validate(&self.roster, self.threshold)
            .map_err(|e| ("policy", e.to_string()))?;
        match (&self.refresh, &self.repair) {
            (Some(_), Some(_)) => Err((
                "refresh",
                "a proposal is a refresh or a repair, not both".into(),
            )),
            (Some(refresh), None) => refresh.check(self),
            (None, Some(repair)) => repair.check(self),
            (None, None) => Ok(()),
        }
    }

    /// For a change of an existing key group (a refresh, repair or
    /// enrolment): the group as it stands and its version.
    pub fn changes(&self) -> Option<(&KeyGroupFile, u64)> {
        match (&self.refresh, &self.repair) {
            (Some(r), _) => Some((&r.from, r.version)),
            (_, Some(r)) => Some((&r.from, r.version)),
            _ => None,
        }
    }

    /// Who takes part: every participant of the roster, but in a repair
    /// only the helpers and the participant who gets the share.
    pub fn parties(&self) -> Vec<ParticipantId> {
        match &self.repair {
            Some(r) => r
                .helpers
                .iter()
                .chain(std::iter::once(&r.participant.id))
                .cloned()
                .collect(),
            None => self.roster.ids().cloned().collect(),
        }
    }

    pub fn identity_of(&self, participant: &ParticipantId) -> Option<PublicIdentity> {
        self.roster.get(participant).and_then(|p| p.identity)
    }
}

impl Refresh {
    /// Checks the refresh keeps the group's name, key and threshold, and
    /// that the new roster is the group's but for those removed, each
    /// removal explicit.
    fn check(&self, proposal: &KeyProposal) -> Result<(), (&'static str, String)> {
        check_from(&self.from, proposal, "refresh.from")?;
        let mut removed = std::collections::BTreeSet::new();
        for p in &self.removed {
            if self.from.roster.get(p).is_none() {
                return Err((
                    "refresh.removed",
                    format!("{p} holds no share of {}", self.from.name),
                ));
            }
            if !removed.insert(p) {
                return Err(("refresh.removed", format!("lists {p} twice")));
            }
        }
        if removed.len() >= usize::from(self.from.threshold) {
            return Err((
                "refresh.removed",
                format!(
                    "removes {}; the threshold of {} removed holders could still combine their \
                     old shares into the key, so removing that many needs a new key group",
                    removed.len(),
                    self.from.threshold
                ),
            ));
        }
        let kept: Vec<_> = self
            .from
            .roster
            .participants
            .iter()
            .filter(|e| !removed.contains(&e.id))
            .cloned()
            .collect();
        if kept != proposal.roster.participants {
            return Err((
                "roster",
                "must be the key group's roster without the removed participants, unchanged and \
                 in order; change names, roles or identity keys with a roster change"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// One step a participant takes in a DKG.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case", deny_unknown_fields)]
pub enum KeyStep {
    /// The approver agreed to the proposal with this digest: its round-1
    /// package (commitment and proof of knowledge) and the public half of
    /// the session key that round-2 packages to it are sealed to.
    Join {
        proposal_sha256: Sha256Digest,
        #[serde(with = "crate::hex_bytes")]
        round1: Vec<u8>,
        #[serde(with = "crate::hex_bytes")]
        encryption_key: Vec<u8>,
    },
    /// The approver declined the proposal.
    Decline {
        proposal_sha256: Sha256Digest,
        reason: String,
    },
    /// A participant of a repair gives up (e.g. the rebuilt share does not
    /// match its verifying share). Nobody can be blamed: the helpers'
    /// pieces prove nothing on their own.
    Abort { reason: String },
    /// A round-2 package for `to`, sealed to `to`'s session key.
    Round2 {
        to: ParticipantId,
        #[serde(with = "crate::hex_bytes")]
        enc: Vec<u8>,
        #[serde(with = "crate::hex_bytes")]
        ciphertext: Vec<u8>,
    },
    /// The public key package this participant computed: group key and
    /// every verifying share.
    Confirm {
        #[serde(with = "crate::hex_bytes")]
        public_key_package: Vec<u8>,
    },
    /// `accused`'s round-2 package to this participant does not open or
    /// does not verify. The session key is revealed so that anyone can
    /// open that package and judge.
    Complain {
        accused: ParticipantId,
        #[serde(with = "crate::hex_bytes")]
        session_key: Vec<u8>,
    },
}

impl KeyStep {
    pub fn name(&self) -> &'static str {
        match self {
            KeyStep::Join { .. } => "join",
            KeyStep::Decline { .. } => "decline",
            KeyStep::Round2 { .. } => "round 2",
            KeyStep::Confirm { .. } => "confirm",
            KeyStep::Complain { .. } => "complain",
            KeyStep::Abort { .. } => "abort",
        }
    }
}

/// A step of one participant in one key ceremony.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyMessage {
    pub ceremony: KeyCeremonyId,
    pub participant: ParticipantId,
    pub step: KeyStep,
}

impl KeyMessage {
    /// The bytes the identity key signs.
    pub fn signed_bytes(&self) -> Vec<u8> {
        crate::prefixed_json::encode(KEY_MESSAGE_CONTEXT, self)
    }

    pub fn sign(self, key: &impl StatementSigner) -> SignedKeyMessage {
        let signature = Signature(key.sign_bytes(&self.signed_bytes()));
        SignedKeyMessage {
            message: self,
            signature,
        }
    }
}

/// A key message and its identity-key signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedKeyMessage {
    pub message: KeyMessage,
    pub signature: Signature,
}

impl SignedKeyMessage {
    pub fn verify(&self, key: &PublicIdentity) -> bool {
        key.verify(&self.message.signed_bytes(), &self.signature.0)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("not a signed key message: {e}"))
    }
}
