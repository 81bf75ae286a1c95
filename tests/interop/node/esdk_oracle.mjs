#!/usr/bin/env node
// Node AWS Encryption SDK oracle for interop tests (@aws-crypto/client-node).
//
// Produces and opens messages shaped like Amazon Connect's "Store customer
// input" output: ESDK message format v1, suite 0x0378
// (AES-256-GCM / HKDF-SHA384 / ECDSA P-384), one encrypted data key wrapped
// with RSA-OAEP SHA-512 / MGF1-SHA-512 under provider ID "AmazonConnect" and
// key name = the Connect key ID.
//
// Same CLI as ../esdk_oracle.py:
//   encrypt --public-key PEM --key-id ID [--frame-length N] --in PT --out CT
//   decrypt --private-key PEM --key-id ID --in CT --out PT
// decrypt prints a one-line JSON header summary on stdout.
// Exit 0 on success, 1 with a one-line error on stderr otherwise. Never prints
// plaintext or key material. Install deps with scripts/setup-node.sh.

import crypto from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import esdk from '@aws-crypto/client-node' // CommonJS package: use the default export

const { buildClient, CommitmentPolicy, RawRsaKeyringNode, AlgorithmSuiteIdentifier } = esdk

const PROVIDER_ID = 'AmazonConnect'
const SUITE_ID = 0x0378
const PROG = 'esdk_oracle.mjs'

function fail (msg) {
  // One line only, bounded, so nothing large (or multi-line) can leak out.
  const line = String(msg).split(/\s+/).join(' ').trim().slice(0, 300)
  process.stderr.write(`${PROG}: error: ${line}\n`)
  process.exit(1)
}

const hex4 = (n) => '0x' + n.toString(16).padStart(4, '0')

// Connect emits a non-committing suite (0x0378), so encrypting it needs the
// legacy policy; decrypt accepts it under this policy as well.
const { encrypt, decrypt } = buildClient(CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT)

function keyring (keyName, rsaKey) {
  return new RawRsaKeyringNode({
    keyNamespace: PROVIDER_ID,
    keyName,
    rsaKey,
    padding: crypto.constants.RSA_PKCS1_OAEP_PADDING,
    oaepHash: 'sha512' // Node uses the same hash for MGF1
  })
}

// SPKI "PUBLIC KEY" PEM or X.509 "CERTIFICATE" PEM -> public KeyObject.
function loadPublicKey (pem) {
  if (pem.includes('-----BEGIN CERTIFICATE-----')) {
    return new crypto.X509Certificate(pem).publicKey
  }
  // createPublicKey would quietly derive a public key from a private one;
  // reject that like the Python oracle does.
  if (pem.includes('PRIVATE KEY-----')) throw new Error('expected a PUBLIC KEY or CERTIFICATE PEM, got a private key')
  return crypto.createPublicKey(pem)
}

// Decoded bytes if `data` is base64 text of an ESDK message, else `data`.
// A raw message starts with 0x01/0x02, which is not a base64 character, so
// raw input never matches. (Buffer's base64 decoder is lenient, hence the regex.)
function maybeBase64 (data) {
  const compact = data.toString('latin1').replace(/\s+/g, '')
  if (compact.length > 0 && compact.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(compact)) {
    const decoded = Buffer.from(compact, 'base64')
    if (decoded[0] === 0x01 || decoded[0] === 0x02) return decoded
  }
  return data
}

// JSON with Python json.dumps' separators (", " and ": "), so both oracles
// print byte-identical summaries.
function pyJson (v) {
  if (Array.isArray(v)) return '[' + v.map(pyJson).join(', ') + ']'
  if (v !== null && typeof v === 'object') {
    return '{' + Object.entries(v).map(([k, x]) => JSON.stringify(k) + ': ' + pyJson(x)).join(', ') + '}'
  }
  return JSON.stringify(v)
}

const COMMON = {
  'key-id': { type: 'string' },
  in: { type: 'string' },
  out: { type: 'string' }
}
const OPTIONS = {
  encrypt: { ...COMMON, 'public-key': { type: 'string' }, 'frame-length': { type: 'string', default: '4096' } },
  decrypt: { ...COMMON, 'private-key': { type: 'string' } }
}

function parse (argv) {
  const [cmd, ...rest] = argv
  if (!(cmd in OPTIONS)) fail(`usage: ${PROG} {encrypt,decrypt} ... (got ${JSON.stringify(cmd ?? '')})`)
  const { values } = parseArgs({ args: rest, options: OPTIONS[cmd], strict: true, allowPositionals: false })
  for (const name of Object.keys(OPTIONS[cmd])) {
    if (values[name] === undefined) fail(`${cmd}: the following arguments are required: --${name}`)
  }
  return { cmd, values }
}

async function cmdEncrypt (v) {
  const frameLength = Number(v['frame-length'])
  if (!Number.isInteger(frameLength) || frameLength <= 0) fail('--frame-length must be a positive integer')
  const publicKey = loadPublicKey(readFileSync(v['public-key'], 'utf8'))
  const { result, messageHeader } = await encrypt(keyring(v['key-id'], { publicKey }), readFileSync(v.in), {
    suiteId: AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384,
    frameLength
  })
  if (messageHeader.suiteId !== SUITE_ID) fail(`unexpected suite ${hex4(messageHeader.suiteId)}`)
  writeFileSync(v.out, result)
}

async function cmdDecrypt (v) {
  // createPrivateKey reads both PKCS#8 and PKCS#1 PEM.
  const privateKey = crypto.createPrivateKey(readFileSync(v['private-key'], 'utf8'))
  const ciphertext = maybeBase64(readFileSync(v.in))
  const { plaintext, messageHeader: h } = await decrypt(keyring(v['key-id'], { privateKey }), ciphertext)
  if (h.suiteId !== SUITE_ID) fail(`unexpected suite ${hex4(h.suiteId)}, want ${hex4(SUITE_ID)}`)
  // Report the data key our key could open (Connect writes exactly one).
  const edks = [...h.encryptedDataKeys]
  const edk = edks.find((e) => e.providerId === PROVIDER_ID && e.providerInfo === v['key-id']) ?? edks[0]
  writeFileSync(v.out, plaintext)
  const summary = {
    suite: hex4(h.suiteId),
    frame_length: h.frameLength,
    encryption_context_keys: Object.keys(h.encryptionContext).sort(),
    provider_id: edk.providerId,
    key_id: edk.providerInfo
  }
  process.stdout.write(pyJson(summary) + '\n')
}

try {
  const { cmd, values } = parse(process.argv.slice(2))
  await (cmd === 'encrypt' ? cmdEncrypt : cmdDecrypt)(values)
} catch (e) {
  fail(`${e?.name ?? 'Error'}: ${e?.message ?? e}`)
}
