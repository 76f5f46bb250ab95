use super::*;

#[test]
fn rfc8410_example() {
    // RFC 8410 section 10.1.
    let key =
        hex::decode("19bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1").unwrap();
    let pem = ed25519_public_key_pem(&key.clone().try_into().unwrap());
    assert_eq!(
        pem,
        "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n"
    );
    assert_eq!(
        parse_ed25519_public_key_pem(&pem),
        Some(key.try_into().unwrap())
    );
    assert_eq!(
        parse_ed25519_public_key_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"),
        None
    );
}
