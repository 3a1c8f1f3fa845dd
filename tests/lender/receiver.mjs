// A lender's webhook receiver, written the way a lender would write one with stock libraries:
// `standardwebhooks` checks the delivery signature (id.timestamp.body, 5-minute tolerance) and
// `jose` checks the device's ES256 JWS with the key from x5c[0]; the x5c chain is validated
// against the Veridge (dev) CA with the openssl CLI. Deliveries are deduplicated by webhook-id.
//
// Usage: node receiver.mjs --cert PEM --key PEM --secret-file FILE --device-ca PEM --log FILE
//                          [--host 127.0.0.1] [--port 0] [--mode MODE] [--client-ca PEM]
// --client-ca: require a client certificate issued by this CA (mutual TLS).
// Prints {"port":N} on stdout once listening (port 0 = an ephemeral port). Each request appends
// one JSON line to --log: {"ok":true,"id",...} or {"ok":false,"reason",...}.
// MODE (fault injection for tests): normal | fail:N (first N requests get 500) | slow:MS |
// huge (200 with an endless body, streamed) | gone (410) | retry-after:S (first request 503 with
// Retry-After: S) | reject (always 400) | accept (204 without checking: transport tests) |
// redirect (307 to /elsewhere on this server) | tls1.1 (the server speaks only TLS 1.0/1.1).
import https from 'node:https';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const nodeDir = process.env.VERIDGE_NODE_DIR || path.join(here, '..', '..', 'tools', 'node');
const requireFromTools = createRequire(path.join(nodeDir, 'package.json'));
const { Webhook } = await import(pathToFileURL(requireFromTools.resolve('standardwebhooks')).href);
const jose = await import(pathToFileURL(requireFromTools.resolve('jose')).href);

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const mode = args.mode || 'normal';
const maxBody = 1024 * 1024;
const secret = fs.readFileSync(args['secret-file'], 'utf8').trim();
const wh = new Webhook(secret);
const log = (obj) => fs.appendFileSync(args.log, JSON.stringify(obj) + '\n');
const seen = new Set();
const chainOk = new Map();  // x5c joined -> bool (openssl is run once per distinct chain)
let requests = 0;

function toPem(b64) {
  return '-----BEGIN CERTIFICATE-----\n' + b64.match(/.{1,64}/g).join('\n') + '\n-----END CERTIFICATE-----\n';
}

function checkChain(x5c) {
  const key = x5c.join('.');
  if (chainOk.has(key)) return chainOk.get(key);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lender-chain-'));
  let ok = false;
  try {
    fs.writeFileSync(path.join(dir, 'leaf.pem'), toPem(x5c[0]));
    fs.writeFileSync(path.join(dir, 'untrusted.pem'), x5c.slice(1).map(toPem).join(''));
    const argv = ['verify', '-CAfile', args['device-ca']];
    if (x5c.length > 1) argv.push('-untrusted', path.join(dir, 'untrusted.pem'));
    argv.push(path.join(dir, 'leaf.pem'));
    execFileSync('openssl', argv, { stdio: 'ignore' });
    ok = true;
  } catch { ok = false; }
  fs.rmSync(dir, { recursive: true, force: true });
  chainOk.set(key, ok);
  return ok;
}

async function verifyDelivery(body, headers) {
  // 1. The delivery signature (throws on a wrong secret, an altered body, an old timestamp).
  const event = wh.verify(body, headers);
  // 2. The device's signature over the result, offline-checkable years later.
  const { attestation, ...data } = event.data || {};
  if (typeof attestation !== 'string') throw new Error('no attestation');
  const header = jose.decodeProtectedHeader(attestation);
  if (header.alg !== 'ES256' || !Array.isArray(header.x5c) || header.x5c.length === 0) throw new Error('bad JWS header');
  const key = await jose.importX509(toPem(header.x5c[0]), 'ES256');
  const { payload } = await jose.compactVerify(attestation, key);
  const signed = JSON.parse(new TextDecoder().decode(payload));
  // The signed result must be exactly what the body says (nothing added or changed beside it).
  if (!isDeepStrictEqual(signed, data)) throw new Error('body data differs from the signed result');
  if (!checkChain(header.x5c)) throw new Error('device certificate chain does not validate against the device CA');
  return { event, signed, kid: header.kid };
}

import { isDeepStrictEqual } from 'node:util';

const tlsOptions = { cert: fs.readFileSync(args.cert), key: fs.readFileSync(args.key), keepAliveTimeout: 30000 };
if (args['client-ca']) Object.assign(tlsOptions, { ca: fs.readFileSync(args['client-ca']), requestCert: true, rejectUnauthorized: true });
// A legacy lender that speaks only TLS 1.0/1.1 (the client must refuse it: it offers TLS 1.2 and up).
if (mode === 'tls1.1') Object.assign(tlsOptions, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' });
const server = https.createServer(tlsOptions, (req, res) => {
  requests += 1;
  const n = requests;
  const chunks = [];
  let size = 0;
  let tooBig = false;
  req.on('data', (c) => { size += c.length; if (size > maxBody) tooBig = true; else chunks.push(c); });
  req.on('end', async () => {
    if (tooBig) { log({ ok: false, reason: 'too_large' }); res.writeHead(413).end(); return; }
    const body = Buffer.concat(chunks).toString('utf8');
    const id = req.headers['webhook-id'];
    if (mode.startsWith('fail:') && n <= Number(mode.slice(5))) { log({ ok: false, id, reason: 'injected_500', n }); res.writeHead(500).end('try later'); return; }
    if (mode === 'gone') { log({ ok: false, id, reason: 'injected_410' }); res.writeHead(410).end('gone'); return; }
    if (mode === 'accept') { log({ ok: false, id, reason: 'accepted_unverified' }); res.writeHead(204).end(); return; }
    // A redirect to another path on this server: a client that followed it would show up here again.
    if (mode === 'redirect') {
      log({ ok: false, id, reason: 'redirect_sent', path: req.url });
      res.writeHead(307, { Location: `https://127.0.0.1:${server.address().port}/elsewhere` }).end(); return;
    }
    if (mode === 'reject') { log({ ok: false, id, reason: 'injected_400' }); res.writeHead(400).end('no'); return; }
    if (mode.startsWith('retry-after:') && n === 1) {
      log({ ok: false, id, reason: 'injected_503' }); res.writeHead(503, { 'Retry-After': mode.slice(12) }).end(); return;
    }
    if (mode.startsWith('slow:')) await new Promise((r) => setTimeout(r, Number(mode.slice(5))));
    if (mode === 'huge') {
      // An endless 200 body written as the client reads it (back-pressure), until it hangs up.
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      const block = Buffer.alloc(64 * 1024, 0x61);
      let sent = 0;
      const pump = () => { while (sent < 1024 * 1024 * 1024) { sent += block.length; if (!res.write(block)) { res.once('drain', pump); return; } } res.end(); };
      res.on('close', () => log({ ok: false, id, reason: 'huge_stopped', sent }));
      pump();
      return;
    }
    try {
      const { signed, kid } = await verifyDelivery(body, req.headers);
      const duplicate = seen.has(id);
      seen.add(id);
      log({ ok: true, id, timestamp: Number(req.headers['webhook-timestamp']), duplicate, kid, session_id: signed.session_id, decision: signed.decision });
      res.writeHead(duplicate ? 200 : 204).end();  // logged first: a test reads the log after the response
    } catch (e) {
      log({ ok: false, id, reason: String(e && e.message || e) });
      res.writeHead(400, { 'Content-Type': 'text/plain' }).end('rejected');
    }
  });
});
server.listen(Number(args.port || 0), args.host || '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});
process.on('SIGTERM', () => { server.close(); process.exit(0); });
