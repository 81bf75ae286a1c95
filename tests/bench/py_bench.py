#!/usr/bin/env python3
"""Python AWS Encryption SDK peer for scripts/bench.sh.

  py_bench.py warm --key PEM --key-id ID --message FILE --iterations N   -> JSON stats (microseconds)
  py_bench.py cold --key PEM --key-id ID --message FILE                  -> decrypts once and exits

The key is loaded once (outside the timing) for warm runs, as a Lambda would keep it.
"""

import json
import statistics
import sys
import time

import aws_encryption_sdk
from aws_encryption_sdk import CommitmentPolicy
from aws_encryption_sdk.identifiers import EncryptionKeyType, WrappingAlgorithm
from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
from aws_encryption_sdk.key_providers.raw import RawMasterKey


def arg(name, default=None):
    argv = sys.argv
    return argv[argv.index(name) + 1] if name in argv else default


def main():
    mode = sys.argv[1]
    with open(arg("--message"), "rb") as f:
        message = f.read()
    t0 = time.perf_counter_ns()
    with open(arg("--key"), "rb") as f:
        pem = f.read()
    key = RawMasterKey(
        provider_id="AmazonConnect",
        key_id=arg("--key-id").encode(),
        wrapping_key=WrappingKey(
            wrapping_algorithm=WrappingAlgorithm.RSA_OAEP_SHA512_MGF1,
            wrapping_key=pem,
            wrapping_key_type=EncryptionKeyType.PRIVATE,
        ),
    )
    client = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
    )
    plaintext, _ = client.decrypt(source=message, key_provider=key)
    first_us = (time.perf_counter_ns() - t0) / 1000
    if mode == "cold":
        print(json.dumps({"in_process_us": round(first_us, 1), "plaintext_len": len(plaintext)}))
        return
    n = int(arg("--iterations", "200"))
    for _ in range(max(1, n // 10)):
        client.decrypt(source=message, key_provider=key)
    samples = []
    for _ in range(n):
        t = time.perf_counter_ns()
        client.decrypt(source=message, key_provider=key)
        samples.append((time.perf_counter_ns() - t) / 1000)
    samples.sort()
    print(json.dumps({
        "n": n,
        "median_us": round(statistics.median(samples), 2),
        "p99_us": round(samples[round((n - 1) * 0.99)], 2),
        "min_us": round(samples[0], 2),
    }))


if __name__ == "__main__":
    main()
