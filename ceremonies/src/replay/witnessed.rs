//! The witness quorum a key group's policy requires of a transcript's
//! checkpoint.

/// The names of the witnesses `policy` lists whose valid cosignatures
/// `note` carries, if they are its quorum; else why not.
pub(crate) fn witnessed(
    note: &str,
    policy: &quorate_types::Witnesses,
) -> Result<Vec<String>, String> {
    let verifiers = policy
        .keys
        .iter()
        .map(|k| quorate_tlog::WitnessVerifier::parse(k).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let found = quorate_tlog::verify_cosignatures(note, &verifiers).map_err(|e| e.to_string())?;
    if found.len() < usize::from(policy.quorum) {
        return Err(format!(
            "carries {} of the {} witness cosignatures the key group's policy requires: \
             export it again once the witnesses have cosigned the ceremony",
            found.len(),
            policy.quorum
        ));
    }
    Ok(found.into_iter().map(|c| c.witness).collect())
}
