//! `quorate.v1.Audit`: the record, its signed checkpoints and its proofs.

use std::sync::{Arc, Mutex};

use quorate_ceremonies::Entry;
use quorate_tlog::{Checkpoint, LogKey};
use quorate_types::{CeremonyId, ParticipantId};
use quorate_wire::{self as proto, audit_server::Audit};
use tonic::{Request, Response, Status};

use super::{Admit, SharedHub, authorize, ceremony_id};
use crate::authz::Role;
use crate::poison::lock;
use crate::store::{CeremonyStore, StoreError};

/// Most entries one `Entries` call returns.
pub const MAX_ENTRIES: u64 = 1000;

pub struct AuditService<S> {
    pub hub: SharedHub<S>,
    pub log_key: Arc<LogKey>,
    /// The latest note signed, by tree size: every caller between two
    /// appends gets the same note, signed once.
    pub latest_note: Mutex<Option<(u64, String)>>,
    /// The latest checkpoint the witnesses cosigned.
    pub witnessed: Arc<crate::witnessing::Witnessed>,
}

impl<S: CeremonyStore> AuditService<S> {
    /// The latest checkpoint the witnesses cosigned, with its size: as
    /// this replica asked for it, else as the replica that writes shared
    /// it, if this one's mirror holds that tree already.
    async fn cosigned(&self) -> Option<(u64, String)> {
        if let Some(c) = self.witnessed.latest() {
            return Some((c.size, c.note));
        }
        let store = self.hub.store();
        store
            .shared_cosigned()
            .await
            .filter(|(size, _)| *size <= store.size())
    }

    /// Auditors, operators and participants' agents read the record.
    fn reader<T>(&self, request: &Request<T>) -> Result<(), Status> {
        let caller = crate::auth::caller(request)?;
        authorize(
            &self.hub,
            &caller,
            &[Role::Auditor, Role::Operator],
            Admit::AnyParticipant,
            "read the record",
        )
    }

    /// Auditors and operators read any ceremony's entries; a participant
    /// only those of its own key groups' ceremonies. An unknown ceremony
    /// is `NOT_FOUND` to whoever may read the record.
    async fn may_read_ceremony<T>(
        &self,
        request: &Request<T>,
        id: &quorate_types::CeremonyId,
    ) -> Result<(), Status> {
        let caller = crate::auth::caller(request)?;
        let Ok(ceremony) = self.hub.ceremony(id).await else {
            self.reader(request)?;
            return Err(Status::not_found(format!("no ceremony {id} in the record")));
        };
        authorize(
            &self.hub,
            &caller,
            &[Role::Auditor, Role::Operator],
            Admit::ParticipantOf(&ceremony.request().key_group),
            "read the entries of ceremonies outside its key groups",
        )
    }

    /// Auditors and operators read the whole log; participants only their
    /// own ceremonies' entries, and proofs and checkpoints.
    fn whole_log<T>(&self, request: &Request<T>) -> Result<(), Status> {
        let caller = crate::auth::caller(request)?;
        authorize(
            &self.hub,
            &caller,
            &[Role::Auditor, Role::Operator],
            Admit::NoParticipants,
            "read the whole log (participants read their own ceremonies' entries)",
        )
    }

    /// The signed checkpoint of the log's first `size` entries.
    fn note(&self, size: u64) -> Result<String, Status> {
        if let Some((signed, note)) = &*lock(&self.latest_note)
            && *signed == size
        {
            return Ok(note.clone());
        }
        let root = self.hub.store().root(size).map_err(store_error)?;
        let checkpoint = Checkpoint {
            origin: self.log_key.name().to_string(),
            size,
            root,
        };
        let note = self.log_key.sign_checkpoint(&checkpoint).map_err(|e| {
            tracing::error!(error = %e, "cannot sign a checkpoint");
            Status::internal("cannot sign a checkpoint")
        })?;
        let mut latest = lock(&self.latest_note);
        // A slower caller must not replace a larger tree's note.
        if latest.as_ref().is_none_or(|(signed, _)| *signed < size) {
            *latest = Some((size, note.clone()));
        }
        Ok(note)
    }
}

/// A page of entries `indexes` of the log from index `from` on: as many
/// as fit in `budget` bytes (at least one), and whether more follow.
pub(crate) fn entries_page(
    store: &impl CeremonyStore,
    indexes: impl IntoIterator<Item = u64>,
    from: u64,
    budget: usize,
) -> Result<(Vec<proto::LogEntry>, bool), Status> {
    let mut entries = Vec::new();
    let mut bytes = 0;
    for index in indexes.into_iter().filter(|i| *i >= from) {
        let entry = store.entry(index).map_err(store_error)?;
        // Field tag, length and index of each entry: under 32 bytes.
        bytes += entry.len() + 32;
        if bytes > budget && !entries.is_empty() {
            return Ok((entries, true));
        }
        entries.push(proto::LogEntry { index, entry });
    }
    Ok((entries, false))
}

/// The reply of a paged entries call.
fn entries_reply(
    store: &impl CeremonyStore,
    indexes: Vec<u64>,
    from: u64,
    budget: usize,
) -> Result<Response<proto::CeremonyEntriesReply>, Status> {
    let (entries, more) = entries_page(store, indexes, from, budget)?;
    Ok(Response::new(proto::CeremonyEntriesReply { entries, more }))
}

/// The key ceremonies that registered or changed a key group, from its
/// entries `indexes`.
fn key_ceremonies_of(
    store: &impl CeremonyStore,
    indexes: &[u64],
) -> Result<Vec<quorate_types::KeyCeremonyId>, Status> {
    let mut ids = Vec::new();
    for index in indexes {
        let bytes = store.entry(*index).map_err(store_error)?;
        if let Ok(Entry::KeyGroupRegistered { by, .. } | Entry::KeyGroupChanged { by, .. }) =
            Entry::decode(&bytes)
            && let Some(id) = quorate_ceremonies::key::rebuild::registering_ceremony(&by)
        {
            ids.push(id);
        }
    }
    Ok(ids)
}

fn store_error(e: StoreError) -> Status {
    match e {
        StoreError::OutOfRange(m) => Status::out_of_range(m),
        e => {
            tracing::error!(error = %e, "record read failed");
            Status::unavailable(e.to_string())
        }
    }
}

fn hashes(list: Vec<quorate_tlog::Hash>) -> proto::ProofReply {
    proto::ProofReply {
        hashes: hash_bytes(list),
    }
}

fn hash_bytes(list: Vec<quorate_tlog::Hash>) -> Vec<Vec<u8>> {
    list.into_iter().map(|h| h.0.to_vec()).collect()
}

#[tonic::async_trait]
impl<S: CeremonyStore> Audit for AuditService<S> {
    async fn checkpoint(
        &self,
        request: Request<proto::CheckpointRequest>,
    ) -> Result<Response<proto::CheckpointReply>, Status> {
        self.reader(&request)?;
        let size = self.hub.store().size();
        let note = self.note(size)?;
        let cosigned_note = self.cosigned().await.map(|(_, n)| n).unwrap_or_default();
        Ok(Response::new(proto::CheckpointReply {
            note,
            cosigned_note,
        }))
    }

    async fn entries(
        &self,
        request: Request<proto::EntriesRequest>,
    ) -> Result<Response<proto::EntriesReply>, Status> {
        self.whole_log(&request)?;
        let proto::EntriesRequest { start, end } = request.into_inner();
        let store = self.hub.store();
        if start >= end {
            return Err(Status::invalid_argument(format!(
                "start {start} must be below end {end}"
            )));
        }
        if end > store.size() {
            return Err(Status::out_of_range(format!(
                "end {end} is beyond the log's {} entries",
                store.size()
            )));
        }
        if end - start > MAX_ENTRIES {
            return Err(Status::invalid_argument(format!(
                "ask for at most {MAX_ENTRIES} entries at a time"
            )));
        }
        let budget = self.hub.reply_bytes();
        let (entries, _) = entries_page(store, start..end, start, budget)?;
        Ok(Response::new(proto::EntriesReply { entries }))
    }

    async fn inclusion_proof(
        &self,
        request: Request<proto::InclusionProofRequest>,
    ) -> Result<Response<proto::ProofReply>, Status> {
        self.reader(&request)?;
        let proto::InclusionProofRequest { index, tree_size } = request.into_inner();
        let proof = self
            .hub
            .store()
            .prove_inclusion_at_source(index, tree_size)
            .await
            .map_err(store_error)?;
        Ok(Response::new(hashes(proof.hashes)))
    }

    async fn consistency_proof(
        &self,
        request: Request<proto::ConsistencyProofRequest>,
    ) -> Result<Response<proto::ProofReply>, Status> {
        self.reader(&request)?;
        let proto::ConsistencyProofRequest { old_size, new_size } = request.into_inner();
        let proof = self
            .hub
            .store()
            .prove_consistency_at_source(old_size, new_size)
            .await
            .map_err(store_error)?;
        Ok(Response::new(hashes(proof.hashes)))
    }

    async fn ceremony_entries(
        &self,
        request: Request<proto::CeremonyEntriesRequest>,
    ) -> Result<Response<proto::CeremonyEntriesReply>, Status> {
        let id = ceremony_id(&request.get_ref().ceremony)?;
        let from = request.get_ref().from;
        self.may_read_ceremony(&request, &id).await?;
        let store = self.hub.store();
        let indexes = store.ceremony_entries(&id).map_err(|e| match e {
            StoreError::OutOfRange(m) => Status::not_found(m),
            e => store_error(e),
        })?;
        entries_reply(store, indexes, from, self.hub.reply_bytes())
    }

    async fn key_ceremony_entries(
        &self,
        request: Request<proto::KeyCeremonyEntriesRequest>,
    ) -> Result<Response<proto::CeremonyEntriesReply>, Status> {
        let id = quorate_types::KeyCeremonyId::new(&request.get_ref().ceremony)
            .map_err(|e| Status::invalid_argument(format!("ceremony: {e}")))?;
        let from = request.get_ref().from;
        let caller = crate::auth::caller(&request)?;
        if !self.hub.in_key_ceremony(&id, &caller).await {
            self.whole_log(&request)?;
        }
        let store = self.hub.store();
        let indexes = store.key_ceremony_entries(&id).map_err(|e| match e {
            StoreError::OutOfRange(m) => Status::not_found(m),
            e => store_error(e),
        })?;
        entries_reply(store, indexes, from, self.hub.reply_bytes())
    }

    async fn key_group_entries(
        &self,
        request: Request<proto::KeyGroupEntriesRequest>,
    ) -> Result<Response<proto::CeremonyEntriesReply>, Status> {
        let name = quorate_types::KeyGroupName::new(&request.get_ref().key_group)
            .map_err(|e| Status::invalid_argument(format!("key_group: {e}")))?;
        let from = request.get_ref().from;
        let caller = crate::auth::caller(&request)?;
        if !self.hub.key_groups_of(&caller).contains(&name) {
            self.whole_log(&request)?;
        }
        let store = self.hub.store();
        let size = request.get_ref().size;
        if size > store.size() {
            return Err(Status::invalid_argument(format!(
                "size: {size} is beyond the log's {} entries",
                store.size()
            )));
        }
        let mut indexes = store.key_group_entries(&name).map_err(|e| match e {
            StoreError::OutOfRange(m) => Status::not_found(m),
            e => store_error(e),
        })?;
        if request.get_ref().with_key_ceremonies {
            // Those the caller may read: all for a reader of the whole
            // log, else the ones it took part in.
            let whole_log = self.whole_log(&request).is_ok();
            let mut all: std::collections::BTreeSet<u64> = indexes.iter().copied().collect();
            for id in key_ceremonies_of(store, &indexes)? {
                if whole_log || self.hub.in_key_ceremony(&id, &caller).await {
                    all.extend(store.key_ceremony_entries(&id).map_err(store_error)?);
                }
            }
            indexes = all.into_iter().collect();
        }
        if size > 0 {
            indexes.retain(|i| *i < size);
        }
        entries_reply(store, indexes, from, self.hub.reply_bytes())
    }

    async fn statement_evidence(
        &self,
        request: Request<proto::StatementEvidenceRequest>,
    ) -> Result<Response<proto::StatementEvidenceReply>, Status> {
        let caller = crate::auth::caller(&request)?;
        authorize(
            &self.hub,
            &caller,
            &[],
            Admit::AnyParticipant,
            "fetch the evidence of a statement (for participants' agents)",
        )?;
        let id = ceremony_id(&request.get_ref().ceremony)?;
        if self.hub.ceremony(&id).await.is_ok() {
            self.may_read_ceremony(&request, &id).await?;
        }
        let proto::StatementEvidenceRequest {
            old_size,
            witnessed,
            prove_entries,
            size: later,
            from,
            ..
        } = request.into_inner();
        let store = self.hub.store();
        // One tree for every page: entries appended meanwhile are left out.
        let (size, note) = if later > 0 {
            if later > store.size() {
                return Err(Status::invalid_argument(format!(
                    "size: {later} is beyond the log's {} entries",
                    store.size()
                )));
            }
            (later, self.note(later)?)
        } else if witnessed {
            self.cosigned().await.ok_or_else(|| {
                Status::unavailable("no checkpoint has been cosigned by the witnesses yet")
            })?
        } else {
            let size = store.size();
            (size, self.note(size)?)
        };
        let indexes: Vec<u64> = match store.ceremony_entries(&id) {
            Ok(indexes) => indexes.into_iter().filter(|i| *i < size).collect(),
            Err(StoreError::OutOfRange(_)) => Vec::new(),
            Err(e) => return Err(store_error(e)),
        };
        let (consistency, inclusion) = if later > 0 {
            (Vec::new(), Vec::new())
        } else {
            let consistency = if old_size > 0 && old_size < size {
                store
                    .prove_consistency_at_source(old_size, size)
                    .await
                    .map_err(store_error)?
                    .hashes
            } else {
                // Also when the agent's tree is larger: the agent sees the
                // log shrank from the note itself.
                Vec::new()
            };
            let inclusion = match statement_of(store, &indexes, &id, &caller)? {
                Some(index) => {
                    store
                        .prove_inclusion_at_source(index, size)
                        .await
                        .map_err(store_error)?
                        .hashes
                }
                None => Vec::new(),
            };
            (consistency, inclusion)
        };
        let budget = self
            .hub
            .reply_bytes()
            .saturating_sub(note.len() + 40 * (consistency.len() + inclusion.len()));
        let page = evidence_page(store, &indexes, from, size, prove_entries, budget).await?;
        Ok(Response::new(proto::StatementEvidenceReply {
            note,
            consistency: hash_bytes(consistency),
            entries: page.entries,
            inclusion: hash_bytes(inclusion),
            entry_proofs: page.proofs,
            size,
            more: page.more,
        }))
    }
}

/// The index of the entry holding `caller`'s statement for ceremony `id`,
/// among `indexes`.
fn statement_of(
    store: &impl CeremonyStore,
    indexes: &[u64],
    id: &CeremonyId,
    caller: &ParticipantId,
) -> Result<Option<u64>, Status> {
    for &index in indexes {
        let entry = store.entry(index).map_err(store_error)?;
        if Entry::statement_in(&entry)
            .is_some_and(|(of, statement)| of == *id && statement.statement.participant == *caller)
        {
            return Ok(Some(index));
        }
    }
    Ok(None)
}

/// One page of a ceremony's evidence.
pub(crate) struct EvidencePage {
    pub entries: Vec<proto::LogEntry>,
    pub proofs: Vec<proto::EntryProof>,
    pub more: bool,
}

/// The entries `indexes` from index `from` on, each with its inclusion
/// proof in the tree of `size` if `prove`: as many as fit in `budget`
/// bytes (at least one), and whether more follow.
pub(crate) async fn evidence_page(
    store: &impl CeremonyStore,
    indexes: &[u64],
    from: u64,
    size: u64,
    prove: bool,
    budget: usize,
) -> Result<EvidencePage, Status> {
    let mut page = EvidencePage {
        entries: Vec::new(),
        proofs: Vec::new(),
        more: false,
    };
    let mut bytes = 0;
    for &index in indexes.iter().filter(|i| **i >= from) {
        let entry = store.entry(index).map_err(store_error)?;
        let proof = if prove {
            Some(
                store
                    .prove_inclusion_at_source(index, size)
                    .await
                    .map_err(store_error)?
                    .hashes,
            )
        } else {
            None
        };
        // Field tags, lengths and the index: under 32 bytes an entry, and
        // under 40 a hash.
        bytes += entry.len() + 32 + proof.as_ref().map_or(0, |p| 32 + 40 * p.len());
        if bytes > budget && !page.entries.is_empty() {
            page.more = true;
            return Ok(page);
        }
        page.entries.push(proto::LogEntry { index, entry });
        if let Some(proof) = proof {
            page.proofs.push(proto::EntryProof {
                index,
                hashes: hash_bytes(proof),
            });
        }
    }
    Ok(page)
}

#[cfg(test)]
mod tests;
