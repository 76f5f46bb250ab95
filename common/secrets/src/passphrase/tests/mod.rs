//! Unit tests of the parent module.

use super::*;

#[test]
fn debug_hides_the_passphrase() {
    let p = Passphrase::new(Zeroizing::new("correct horse".into()));
    assert!(!format!("{p:?}").contains("horse"));
    let r = Passphrase::random();
    assert_eq!(r.as_bytes().len(), 64);
    assert_ne!(r.as_bytes(), Passphrase::random().as_bytes());
}

#[cfg(unix)]
#[test]
fn reads_the_first_line_of_a_file_descriptor() {
    use std::io::Write;
    use std::os::fd::AsRawFd;
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(b"open sesame\r\nrest").unwrap();
    let fd = u32::try_from(file.as_raw_fd()).unwrap();
    assert_eq!(from_fd(fd).unwrap().as_bytes(), b"open sesame");
    let empty = tempfile::tempfile().unwrap();
    let fd = u32::try_from(empty.as_raw_fd()).unwrap();
    assert!(from_fd(fd).unwrap_err().to_string().contains("is empty"));
}
