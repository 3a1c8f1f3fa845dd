#!/usr/bin/env node
// Runs every NIST PKITS case (x509-limbo format) through `veridge cert verify` and prints
// "N passed, N failed". Usage: node run-pkits.js VERIDGE_BINARY PKITS_JSON [--verbose] [--filter TEXT]
// Each case's certificates and CRLs are written as PEM files into a temporary directory (removed
// at the end); the profile is `pkits` (plain RFC 5280: PKITS uses 1024-bit RSA and SHA-1).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const args = process.argv.slice(2);
if (args.length < 2) {
  console.error('usage: run-pkits.js VERIDGE_BINARY PKITS_JSON [--verbose] [--filter TEXT]');
  process.exit(2);
}
const [bin, jsonPath] = args;
const verbose = args.includes('--verbose');
const fi = args.indexOf('--filter');
const filter = fi >= 0 ? args[fi + 1] : null;

const suite = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'veridge-pkits-'));
let passed = 0, failed = 0;
const failures = [];
try {
  for (const tc of suite.testcases) {
    if (filter && !tc.id.includes(filter)) continue;
    const dir = path.join(tmp, String(passed + failed));
    fs.mkdirSync(dir);
    const w = (name, pems) => { const p = path.join(dir, name); fs.writeFileSync(p, pems.join('')); return p; };
    const argv = ['cert', 'verify', '--json', '--profile', 'pkits', '--purpose', 'any',
      '--trust', w('trust.pem', tc.trusted_certs)];
    if (tc.untrusted_intermediates.length) argv.push('--untrusted', w('untrusted.pem', tc.untrusted_intermediates));
    if (tc.crls.length) argv.push('--crl', w('crls.pem', tc.crls));
    if (tc.validation_time) argv.push('--at', tc.validation_time);
    if (tc.max_chain_depth != null) argv.push('--max-depth', String(tc.max_chain_depth));
    for (const e of tc.extended_key_usage || []) argv.push('--eku', e);
    if ((tc.key_usage || []).length) argv.push('--key-usage', tc.key_usage.join(','));
    const px = tc['x-pkits'] || {};
    for (const p of px.initial_policy_set || []) argv.push('--policy', p);
    if (px.initial_explicit_policy) argv.push('--explicit-policy');
    if (px.initial_policy_mapping_inhibit) argv.push('--inhibit-policy-mapping');
    if (px.initial_inhibit_any_policy) argv.push('--inhibit-any-policy');
    argv.push(w('leaf.pem', [tc.peer_certificate]));
    const r = spawnSync(bin, argv, { encoding: 'utf8', timeout: 10000 });
    let out = {};
    try { out = JSON.parse((r.stdout || '').trim().split('\n').pop() || '{}'); } catch (e) { out = {}; }
    const got = r.status === 0 ? 'SUCCESS' : r.status === 1 ? 'FAILURE' : `ERROR(exit ${r.status})`;
    const ok = got === tc.expected_result;
    if (ok) passed++; else { failed++; failures.push(tc.id); }
    if (verbose || !ok) {
      const detail = out.code ? `${out.code}: ${out.reason}` : (out.error ? `${out.error.code}: ${out.error.message}` : (r.stderr || '').trim());
      console.log(`${ok ? 'ok  ' : 'FAIL'} ${tc.id} expected ${tc.expected_result} got ${got} (${detail})`);
    }
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
