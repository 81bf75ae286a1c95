#!/usr/bin/env python3
"""Python AWS Encryption SDK oracle for interop tests.

Produces and opens messages shaped like Amazon Connect's "Store customer
input" output: ESDK message format v1, suite 0x0378
(AES-256-GCM / HKDF-SHA384 / ECDSA P-384), one encrypted data key wrapped
with RSA-OAEP SHA-512 / MGF1-SHA-512 under provider ID "AmazonConnect" and
key name = the Connect key ID.

Same CLI as node/esdk_oracle.mjs:
  encrypt --public-key PEM --key-id ID [--frame-length N] --in PT --out CT
  decrypt --private-key PEM --key-id ID --in CT --out PT
decrypt prints a one-line JSON header summary on stdout.
Exit 0 on success, 1 with a one-line error on stderr otherwise. Never prints
plaintext or key material.

Run with <repo>/.venv/bin/python (scripts/setup-python.sh).
"""

import argparse
import base64
import json
import logging
import re
import sys
import warnings

PROVIDER_ID = "AmazonConnect"
SUITE_ID = 0x0378
PROG = "esdk_oracle.py"


def fail(msg):
    # One line only, bounded, so nothing large (or multi-line) can leak out.
    line = " ".join(str(msg).split())[:300]
    sys.stderr.write(f"{PROG}: error: {line}\n")
    sys.exit(1)


class Parser(argparse.ArgumentParser):
    # argparse exits 2 on usage errors; the oracle contract is exit 1.
    def error(self, message):
        fail(message)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def write_bytes(path, data):
    with open(path, "wb") as f:
        f.write(data)


_B64 = re.compile(rb"^[A-Za-z0-9+/]*={0,2}$")


def maybe_base64(data):
    """Return decoded bytes if `data` is base64 text of an ESDK message, else `data`.

    A raw message starts with 0x01/0x02, which is not a base64 character,
    so raw input never matches here.
    """
    compact = re.sub(rb"\s+", b"", data)
    if compact and len(compact) % 4 == 0 and _B64.match(compact):
        decoded = base64.b64decode(compact, validate=True)
        if decoded[:1] in (b"\x01", b"\x02"):
            return decoded
    return data


def load_public_pem(pem):
    """Return SPKI PEM bytes from either a PUBLIC KEY or a CERTIFICATE PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    if b"-----BEGIN CERTIFICATE-----" in pem:
        key = x509.load_pem_x509_certificate(pem).public_key()
        return key.public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
    return pem


def master_key(key_id, pem, key_type):
    from aws_encryption_sdk.identifiers import EncryptionKeyType, WrappingAlgorithm
    from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
    from aws_encryption_sdk.key_providers.raw import RawMasterKey

    return RawMasterKey(
        provider_id=PROVIDER_ID,
        key_id=key_id.encode("utf-8"),
        wrapping_key=WrappingKey(
            wrapping_algorithm=WrappingAlgorithm.RSA_OAEP_SHA512_MGF1,
            wrapping_key=pem,
            wrapping_key_type=key_type,
        ),
    )


def client():
    import aws_encryption_sdk
    from aws_encryption_sdk.identifiers import CommitmentPolicy

    # Connect emits a non-committing suite (0x0378), so encrypting it needs
    # the legacy policy; decrypt accepts it under this policy as well.
    return aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
    )


def cmd_encrypt(args):
    from aws_encryption_sdk.identifiers import Algorithm, EncryptionKeyType

    if args.frame_length <= 0:
        fail("--frame-length must be positive")
    pem = load_public_pem(read_bytes(args.public_key))
    mk = master_key(args.key_id, pem, EncryptionKeyType.PUBLIC)
    ciphertext, header = client().encrypt(
        source=read_bytes(args.inp),
        key_provider=mk,
        algorithm=Algorithm.AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384,
        frame_length=args.frame_length,
    )
    if header.algorithm.algorithm_id != SUITE_ID:
        fail(f"unexpected suite 0x{header.algorithm.algorithm_id:04x}")
    write_bytes(args.out, ciphertext)


def cmd_decrypt(args):
    from aws_encryption_sdk.identifiers import EncryptionKeyType

    mk = master_key(args.key_id, read_bytes(args.private_key), EncryptionKeyType.PRIVATE)
    ciphertext = maybe_base64(read_bytes(args.inp))
    plaintext, header = client().decrypt(source=ciphertext, key_provider=mk)
    suite = header.algorithm.algorithm_id
    if suite != SUITE_ID:
        fail(f"unexpected suite 0x{suite:04x}, want 0x{SUITE_ID:04x}")
    # Report the data key our key could open (Connect writes exactly one).
    edks = sorted(
        (e.key_provider.provider_id, e.key_provider.key_info) for e in header.encrypted_data_keys
    )
    want = (PROVIDER_ID, args.key_id.encode("utf-8"))
    provider_id, key_info = want if want in edks else edks[0]
    if isinstance(key_info, bytes):
        key_info = key_info.decode("utf-8", "replace")
    write_bytes(args.out, plaintext)
    summary = {
        "suite": f"0x{suite:04x}",
        "frame_length": header.frame_length,
        "encryption_context_keys": sorted(header.encryption_context.keys()),
        "provider_id": provider_id,
        "key_id": key_info,
    }
    print(json.dumps(summary, ensure_ascii=False))


def main(argv):
    parser = Parser(prog=PROG, description="Connect-shaped ESDK oracle (Python SDK)")
    sub = parser.add_subparsers(dest="cmd", required=True)

    enc = sub.add_parser("encrypt")
    enc.add_argument("--public-key", required=True, help="SPKI PUBLIC KEY or CERTIFICATE PEM")
    enc.add_argument("--key-id", required=True)
    enc.add_argument("--frame-length", type=int, default=4096)
    enc.add_argument("--in", dest="inp", required=True)
    enc.add_argument("--out", required=True)

    dec = sub.add_parser("decrypt")
    dec.add_argument("--private-key", required=True, help="PKCS#8 or PKCS#1 PEM")
    dec.add_argument("--key-id", required=True)
    dec.add_argument("--in", dest="inp", required=True)
    dec.add_argument("--out", required=True)

    args = parser.parse_args(argv)
    try:
        (cmd_encrypt if args.cmd == "encrypt" else cmd_decrypt)(args)
    except SystemExit:
        raise
    except Exception as e:  # noqa: BLE001 - contract: any failure -> exit 1
        fail(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)
    return 0


if __name__ == "__main__":
    # Library warnings and the SDK's own error logging (it logs a traceback
    # when a failed decrypt stream closes) would break the "one line on
    # stderr" contract; failures are reported by fail() instead.
    warnings.simplefilter("ignore")
    logging.disable(logging.CRITICAL)
    sys.exit(main(sys.argv[1:]))
