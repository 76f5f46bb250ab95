//! The record side of a fake coordinator, for tests whose coordinator is
//! a gRPC server of their own: `Audit.StatementEvidence` over the entries
//! the test puts in `record`, each proven in a checkpoint signed with
//! `log`. Every other Audit call is unimplemented. Until the test records
//! something, the evidence is UNAVAILABLE.

use std::sync::{Arc, Mutex};

use quorate_tlog::{Checkpoint, LogKey, MemoryTree, prove_inclusion};
use quorate_wire::{self as proto, audit_server::Audit};
use tonic::{Request, Response, Status};

#[derive(Clone)]
pub struct FakeAudit {
    pub log: Arc<LogKey>,
    pub record: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl FakeAudit {
    pub fn new(log: Arc<LogKey>) -> Self {
        FakeAudit {
            log,
            record: Arc::default(),
        }
    }

    pub fn set_record(&self, entries: Vec<Vec<u8>>) {
        *self.record.lock().unwrap() = entries;
    }
}

fn not_here<T>() -> Result<Response<T>, Status> {
    Err(Status::unimplemented("not in this test"))
}

#[tonic::async_trait]
impl Audit for FakeAudit {
    async fn checkpoint(
        &self,
        _: Request<proto::CheckpointRequest>,
    ) -> Result<Response<proto::CheckpointReply>, Status> {
        not_here()
    }

    async fn entries(
        &self,
        _: Request<proto::EntriesRequest>,
    ) -> Result<Response<proto::EntriesReply>, Status> {
        not_here()
    }

    async fn inclusion_proof(
        &self,
        _: Request<proto::InclusionProofRequest>,
    ) -> Result<Response<proto::ProofReply>, Status> {
        not_here()
    }

    async fn consistency_proof(
        &self,
        _: Request<proto::ConsistencyProofRequest>,
    ) -> Result<Response<proto::ProofReply>, Status> {
        not_here()
    }

    async fn ceremony_entries(
        &self,
        _: Request<proto::CeremonyEntriesRequest>,
    ) -> Result<Response<proto::CeremonyEntriesReply>, Status> {
        not_here()
    }

    async fn key_ceremony_entries(
        &self,
        _: Request<proto::KeyCeremonyEntriesRequest>,
    ) -> Result<Response<proto::CeremonyEntriesReply>, Status> {
        not_here()
    }

    async fn key_group_entries(
        &self,
        _: Request<proto::KeyGroupEntriesRequest>,
    ) -> Result<Response<proto::CeremonyEntriesReply>, Status> {
        not_here()
    }

    async fn statement_evidence(
        &self,
        _: Request<proto::StatementEvidenceRequest>,
    ) -> Result<Response<proto::StatementEvidenceReply>, Status> {
        let record = self.record.lock().unwrap().clone();
        if record.is_empty() {
            return Err(Status::unavailable("nothing recorded yet"));
        }
        let mut tree = MemoryTree::new();
        for entry in &record {
            tree.append(entry);
        }
        let size = tree.size();
        let note = self
            .log
            .sign_checkpoint(&Checkpoint {
                origin: self.log.name().into(),
                size,
                root: tree.root(),
            })
            .unwrap();
        let hashes = |i: u64| -> Vec<Vec<u8>> {
            prove_inclusion(i, size, &tree)
                .unwrap()
                .hashes
                .iter()
                .map(|h| h.0.to_vec())
                .collect()
        };
        Ok(Response::new(proto::StatementEvidenceReply {
            note,
            entries: (0..size)
                .map(|index| proto::LogEntry {
                    index,
                    entry: record[index as usize].clone(),
                })
                .collect(),
            entry_proofs: (0..size)
                .map(|index| proto::EntryProof {
                    index,
                    hashes: hashes(index),
                })
                .collect(),
            // The caller's own statement is found among the entries.
            inclusion: Vec::new(),
            consistency: Vec::new(),
            size,
            more: false,
        }))
    }
}
