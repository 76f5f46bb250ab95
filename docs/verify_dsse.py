#!/usr/bin/env python3
"""Verify a quorate DSSE envelope with securesystemslib's DSSE verifier.

    verify_dsse.py ENVELOPE.json GROUP.pub.pem [ARTIFACT...]

Checks the envelope's signature (securesystemslib.dsse.Envelope.verify, with
the key group's Ed25519 key as PEM and quorate's keyid: the SHA-256 of the
key's SubjectPublicKeyInfo DER), that the payload is an in-toto Statement v1,
and that every ARTIFACT is a subject with its SHA-256. Exits 0 only if all
hold. Needs: pip install 'securesystemslib[crypto]'.
"""

import hashlib
import json
import os
import sys

from cryptography.hazmat.primitives import serialization
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey


def main(envelope_path, pem_path, *artifacts):
    with open(pem_path, "rb") as f:
        pem = f.read()
    public = serialization.load_pem_public_key(pem)
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key = SSlibKey(hashlib.sha256(der).hexdigest(), "ed25519", "ed25519", {"public": raw.hex()})
    with open(envelope_path, "rb") as f:
        envelope = Envelope.from_dict(json.load(f))
    if envelope.payload_type != "application/vnd.in-toto+json":
        sys.exit(f"payloadType is {envelope.payload_type}, not an in-toto statement")
    envelope.verify([key], 1)  # raises VerificationError
    statement = json.loads(envelope.payload)
    if statement.get("_type") != "https://in-toto.io/Statement/v1":
        sys.exit("the payload is not an in-toto Statement v1")
    subjects = {s["name"]: s["digest"].get("sha256") for s in statement["subject"]}
    for path in artifacts:
        name = os.path.basename(path)
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        if subjects.get(name) != digest:
            sys.exit(f"{name}: SHA-256 {digest} is not what the statement names")
    print(f"verified: {len(artifacts)} artifact(s) of {statement['predicateType']}")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
