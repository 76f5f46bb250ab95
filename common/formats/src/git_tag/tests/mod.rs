//! Unit tests of the parent module.

use super::*;

const OBJECT: &str = "1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c";
const TAGGER: &str = "Release Bot <releases@example.com> 1700000000 +0100";

fn tag() -> TagObject {
    TagObject::new(OBJECT, "commit", "v1.0", TAGGER, "Release 1.0\n\nNotes.").unwrap()
}

#[test]
fn text_is_what_git_writes_and_parses_back() {
    let t = tag();
    assert_eq!(
        t.text(),
        format!(
            "object {OBJECT}\ntype commit\ntag v1.0\ntagger {TAGGER}\n\nRelease 1.0\n\nNotes.\n"
        )
    );
    assert_eq!(TagObject::parse(t.text().as_bytes()).unwrap(), t);
}

#[test]
fn bad_fields_are_refused_with_what_is_wrong() {
    let new = |o: &str, ty: &str, n: &str, tg: &str, m: &str| TagObject::new(o, ty, n, tg, m);
    assert!(matches!(
        new("abc", "commit", "v", TAGGER, "m"),
        Err(GitTagError::BadObject(_))
    ));
    assert!(matches!(
        new(OBJECT, "thing", "v", TAGGER, "m"),
        Err(GitTagError::BadType(_))
    ));
    assert!(matches!(
        new(OBJECT, "commit", "v 1", TAGGER, "m"),
        Err(GitTagError::BadName(_))
    ));
    for tagger in [
        "Bot 1700000000 +0000",
        "Bot <a@b> now +0000",
        "Bot <a@b> 1 0000",
        "B <a@b> 1 +0000\nx",
    ] {
        assert!(
            matches!(
                new(OBJECT, "commit", "v", tagger, "m"),
                Err(GitTagError::BadTagger(_))
            ),
            "{tagger}"
        );
    }
    assert_eq!(
        new(OBJECT, "commit", "v", TAGGER, " \n"),
        Err(GitTagError::EmptyMessage)
    );
    assert_eq!(
        new(
            OBJECT,
            "commit",
            "v",
            TAGGER,
            "x\n-----BEGIN SSH SIGNATURE-----\n"
        ),
        Err(GitTagError::SignatureInMessage)
    );
    assert!(TagObject::parse(b"object x\n\nm\n").is_err());
    assert!(
        TagObject::parse(
            format!("{}extra\n", tag().text())
                .replace("\n\n", "\nextra x\n\n")
                .as_bytes()
        )
        .is_err()
    );
}

#[test]
fn context_must_hash_to_the_signed_digest_in_namespace_git() {
    let t = tag();
    let text = t.text();
    assert_eq!(
        check_context(&t.signed_data(), text.as_bytes()),
        Ok(Some(t.clone()))
    );
    assert_eq!(check_context(b"SHA256SUMS text", b""), Ok(None));
    // The coordinator swaps the tag text for another one.
    let other = text.replace("v1.0", "v1.1");
    assert_eq!(
        check_context(&t.signed_data(), other.as_bytes()),
        Err(GitTagError::ContextMismatch)
    );
    assert_eq!(
        check_context(b"not sshsig", text.as_bytes()),
        Err(GitTagError::ContextWithoutDigest)
    );
    let digest: [u8; 64] = sha2::Sha512::digest(text.as_bytes()).into();
    let file = sshsig::signed_data(&Namespace::default(), &digest);
    assert_eq!(
        check_context(&file, text.as_bytes()),
        Err(GitTagError::ContextNamespace("file".into()))
    );
}
