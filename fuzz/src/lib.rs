//! Fuzz targets for every decoder of bytes that come from outside: record
//! entries and the agent's statement lookup, transcripts and their replay,
//! signed notes, checkpoints, cosignatures, receipts and proofs, the
//! witness's request bodies, the signature formats `quorate verify` reads,
//! FROST packages as received, the proto messages and their conversions,
//! sealed files, and the signed statements of every kind; and the
//! engine's handling of event sequences.
//!
//! Each target is a function of the input bytes. It must not panic, and
//! it checks what it can of what it decoded (a canonical form that
//! re-encodes to the same bytes, a replay that is the same twice).
//!
//! [`TARGETS`] lists them. `tests/corpus.rs` replays every file of
//! `fuzz/corpus/<target>/` through its target as an ordinary test; the
//! `fuzz/libfuzzer` crate runs them under cargo-fuzz for a campaign
//! (RELIABILITY.md has the command and the last campaign's numbers).

pub mod fixed;
pub mod targets;

/// One fuzz target: its name (its corpus directory and cargo-fuzz binary)
/// and what it runs on an input.
pub struct Target {
    pub name: &'static str,
    pub run: fn(&[u8]),
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "entry",
        run: targets::record::entry,
    },
    Target {
        name: "statement_lookup",
        run: targets::record::statement_lookup,
    },
    Target {
        name: "engine",
        run: targets::engine::handle,
    },
    Target {
        name: "transcript",
        run: targets::replay::transcript,
    },
    Target {
        name: "replay_entries",
        run: targets::replay::replay_entries,
    },
    Target {
        name: "note",
        run: targets::tlog::note,
    },
    Target {
        name: "proof",
        run: targets::tlog::proof,
    },
    Target {
        name: "witness_request",
        run: targets::tlog::witness_request,
    },
    Target {
        name: "verify_raw",
        run: targets::verify::raw,
    },
    Target {
        name: "verify_sshsig",
        run: targets::verify::sshsig,
    },
    Target {
        name: "verify_minisign",
        run: targets::verify::minisign,
    },
    Target {
        name: "verify_dsse",
        run: targets::verify::dsse,
    },
    Target {
        name: "verify_git_tag",
        run: targets::verify::git_tag,
    },
    Target {
        name: "trust_policy",
        run: targets::verify::trust_policy,
    },
    Target {
        name: "frost_packages",
        run: targets::frost::packages,
    },
    Target {
        name: "proto",
        run: targets::wire::proto,
    },
    Target {
        name: "sealed_file",
        run: targets::secrets::sealed_file,
    },
    Target {
        name: "signed_statements",
        run: targets::signed::statements,
    },
];

/// Runs target `name` on `data`.
///
/// # Panics
/// If no target has that name (a mistake in the fuzzing setup), or if the
/// target finds a bug.
pub fn run(name: &str, data: &[u8]) {
    match TARGETS.iter().find(|t| t.name == name) {
        Some(target) => (target.run)(data),
        None => panic!("no fuzz target {name:?}"),
    }
}

/// The byte that separates the pieces of a structured input: it never
/// occurs in UTF-8, so text pieces (entries, notes, files) hold none.
pub const SEPARATOR: u8 = 0xff;

/// `data` cut at each [`SEPARATOR`].
pub fn pieces(data: &[u8]) -> Vec<&[u8]> {
    data.split(|b| *b == SEPARATOR).collect()
}

/// `pieces` joined with [`SEPARATOR`]: an input [`pieces`] cuts back.
pub fn join(pieces: &[&[u8]]) -> Vec<u8> {
    pieces.join(&SEPARATOR)
}
