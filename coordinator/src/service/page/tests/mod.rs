use super::*;

#[test]
fn a_token_names_the_ceremony_it_was_made_from() {
    let cursor = Cursor {
        created_at: Timestamp(1_764_000_000_123),
        id: CeremonyId::new("0123456789abcdef").unwrap(),
    };
    assert_eq!(cursor.token(), "1764000000123:0123456789abcdef");
    assert_eq!(Cursor::parse(&cursor.token()).unwrap(), Some(cursor));
    assert_eq!(Cursor::parse("").unwrap(), None);
}

#[test]
fn a_token_not_made_here_is_refused_by_name() {
    for token in [
        "nonsense",
        "12:",
        ":abc",
        "x:0123456789abcdef",
        "12:bad id!",
    ] {
        let e = Cursor::parse(token).unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument, "{token}");
        assert!(e.message().contains(token), "{}", e.message());
    }
}

#[test]
fn page_sizes_default_and_are_bounded() {
    assert_eq!(size(0).unwrap(), 100);
    assert_eq!(size(7).unwrap(), 7);
    assert_eq!(size(1000).unwrap(), 1000);
    let e = size(1001).unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert!(e.message().contains("at most 1000"));
}
