use super::*;

fn framed(fields: &[&[u8]]) -> Vec<u8> {
    let mut out = FORMAT.to_vec();
    for f in fields {
        out.extend_from_slice(&(f.len() as u32).to_be_bytes());
        out.extend_from_slice(f);
    }
    out
}

#[test]
fn reads_records_in_order() {
    let bytes = framed(&[b"record", b"e\0", b"one", b"__sled__default", b"", b"two"]);
    let records = parse(&bytes).unwrap();
    assert_eq!(
        records,
        vec![
            Record {
                tree: b"record".to_vec(),
                key: b"e\0".to_vec(),
                value: b"one".to_vec()
            },
            Record {
                tree: b"__sled__default".to_vec(),
                key: Vec::new(),
                value: b"two".to_vec()
            },
        ]
    );
}

#[test]
fn refuses_a_cut_or_foreign_stream() {
    let bytes = framed(&[b"record", b"key", b"value"]);
    for cut in [bytes.len() - 1, FORMAT.len() + 2, FORMAT.len() + 4 + 6 + 4] {
        assert!(
            matches!(parse(&bytes[..cut]), Err(ExportError::Malformed(m)) if m.contains("ends inside")),
            "cut at {cut}"
        );
    }
    assert!(matches!(
        parse(b"something else"),
        Err(ExportError::Malformed(_))
    ));
}

#[test]
fn a_missing_exporter_says_how_to_build_it() {
    let dir = std::env::temp_dir();
    let err = export(&dir, Some(Path::new("/nonexistent/quorate-sled-export"))).unwrap_err();
    assert!(matches!(err, ExportError::NotFound(_)));
    assert!(
        err.to_string()
            .contains("cargo install --locked --path tools/sled-export")
    );
}
