// Node AWS Encryption SDK peer for scripts/bench.sh (same CLI as tests/bench/py_bench.py).
//   node bench.mjs warm --key PEM --key-id ID --message FILE --iterations N
//   node bench.mjs cold --key PEM --key-id ID --message FILE
import { readFileSync } from 'node:fs';
import { constants } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { RawRsaKeyringNode, buildClient, CommitmentPolicy } from '@aws-crypto/client-node';

const argv = process.argv.slice(2);
const mode = argv[0];
const arg = (name, def) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : def);

const message = readFileSync(arg('--message'));
const t0 = performance.now();
const keyring = new RawRsaKeyringNode({
  keyNamespace: 'AmazonConnect',
  keyName: arg('--key-id'),
  rsaKey: { privateKey: readFileSync(arg('--key'), 'utf8') },
  padding: constants.RSA_PKCS1_OAEP_PADDING,
  oaepHash: 'sha512',
});
const { decrypt } = buildClient(CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT);
const first = await decrypt(keyring, message);
const firstUs = (performance.now() - t0) * 1000;
if (mode === 'cold') {
  console.log(JSON.stringify({ in_process_us: Math.round(firstUs * 10) / 10, plaintext_len: first.plaintext.length }));
  process.exit(0);
}
const n = Number(arg('--iterations', '200'));
for (let i = 0; i < Math.max(1, Math.floor(n / 10)); i++) await decrypt(keyring, message);
const samples = [];
for (let i = 0; i < n; i++) {
  const t = performance.now();
  await decrypt(keyring, message);
  samples.push((performance.now() - t) * 1000);
}
samples.sort((a, b) => a - b);
const q = (p) => samples[Math.round((n - 1) * p)];
console.log(JSON.stringify({ n, median_us: +q(0.5).toFixed(2), p99_us: +q(0.99).toFixed(2), min_us: +q(0).toFixed(2) }));
