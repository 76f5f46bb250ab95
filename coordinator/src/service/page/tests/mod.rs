use super::*;

#[test]
fn a_token_names_the_ceremony_it_was_made_from() {
    let cursor = Cursor(1234);
    assert_eq!(cursor.token(), "r1234");
    assert_eq!(Cursor::parse(&cursor.token()).unwrap(), Some(cursor));
    assert_eq!(Cursor::parse("").unwrap(), None);
}

#[test]
fn a_token_not_made_here_is_refused_by_name() {
    for token in [
        "nonsense",
        "12",
        "r",
        "r-1",
        "r12x",
        "1764000000123:0123456789abcdef",
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
