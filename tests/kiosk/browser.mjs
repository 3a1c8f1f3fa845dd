// The kiosk page in a real browser against a real daemon: Debian's chromium driven by
// playwright-core, `veridge serve` started here on ephemeral ports with a config, keys and TLS
// certificates made at test time (as tests/app/serve_test.cpp does).
//
// What it checks (each a failure, never a warning):
//  * the daemon's headers: the exact CSP of docs/kiosk-protocol.md, nosniff, no-referrer,
//    no-store on the page, a camera-denying Permissions-Policy; / redirects to /kiosk/; path
//    traversal and unknown assets are 404; the bundle has no getUserMedia;
//  * the start screen in zh-CN (the default) and en, switched with the language switch;
//  * the keypad by keyboard alone: digits typed, Backspace, Tab to an on-screen key and Space,
//    Enter submits; a wrong code is answered 404 unknown_code by the daemon and the page says so;
//  * the real path, in zh-CN and in en: a session created through the lender API (POST
//    /v1/sessions over TLS with a real reference photo from ../shared/data, checked by the
//    daemon's face models), its code typed on the keypad by keyboard, the consent screen, consent
//    accepted by keyboard; the daemon stored it (the lender's GET shows it, state capturing) and
//    the page moved on to the live screen; axe-core on each screen. (The live session itself, the
//    event WebSocket, is not built yet: the page then reports the service lost, as it should.)
//  * every screen of src/fixtures.ts in both locales (served by a second daemon whose
//    [kiosk] assets_dir is the test-only fixture build), for the screens the daemon cannot
//    drive yet: axe-core finds no serious or critical violation, every button is >= 44x44 px;
//  * no CSP violation (securitypolicyviolation events and console) and no page error anywhere.
// Screenshots of every screen go to --artifacts. Exit 0 = pass; "VERIDGE-SKIP: why" + exit 0
// when chromium, node packages or the built page are missing, or (after every other check
// passed) when the real path could not run: no face models (--models, tools/fetch-models.sh) or
// no ../shared/data.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const kiosk = path.join(root, 'web/kiosk');
const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const veridge = args.veridge ?? path.join(root, 'build/src/app/veridge');
const artifacts = args.artifacts ?? path.join(root, 'build/test-artifacts/kiosk');
const chromiumPath = args.chromium ?? '/usr/bin/chromium';
const modelDir = args.models ?? path.join(root, 'var/models');
const refImage = path.join(args.shared ?? path.join(root, '../shared'), 'data/faces/deepface/img4.jpg');

function skip(why) {
  console.log(`VERIDGE-SKIP: ${why}`);
  process.exit(0);
}
if (!existsSync(chromiumPath)) skip(`${chromiumPath} is not installed (tools/setup-debian.sh installs Debian's chromium)`);
if (!existsSync(path.join(kiosk, 'node_modules/playwright-core'))) skip('web/kiosk/node_modules is missing (run tools/build-web.sh)');
if (!existsSync(path.join(kiosk, 'dist/index.html')) || !existsSync(path.join(kiosk, 'dist-fixture/index.html')))
  skip('the kiosk page is not built (run tools/build-web.sh)');
if (!existsSync(veridge)) skip(`no veridge binary at ${veridge}`);

const require = createRequire(path.join(kiosk, 'package.json'));
const { chromium } = require('playwright-core');
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const catalogue = {
  en: JSON.parse(readFileSync(path.join(kiosk, 'src/i18n/en.json'), 'utf8')),
  'zh-CN': JSON.parse(readFileSync(path.join(kiosk, 'src/i18n/zh-CN.json'), 'utf8')),
};
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self' ws://127.0.0.1:* ws://localhost:*; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";
// The screens of web/kiosk/src/fixtures.ts (kept in step by the check below).
const FIXTURES = ['start', 'start-typed', 'start-unknown', 'start-expired', 'start-locked', 'consent', 'declined', 'live', 'challenge',
  'card', 'pin', 'deciding', 'result-verified', 'result-not_verified', 'result-see_staff', 'retry', 'ask_staff', 'camera-lost',
  'camera-frozen', 'ended-cancelled', 'ended-expired', 'ended-aborted', 'offline'];

const failures = [];
const notes = [];
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
}

// ---- a real daemon -------------------------------------------------------------------------
const tmp = mkdtempSync(path.join(os.tmpdir(), 'veridge-kiosk-'));
const children = [];
function cleanup() {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
}
process.on('exit', cleanup);

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed: ${r.stderr || r.stdout}`);
  return r.stdout;
}

run('bash', [path.join(root, 'tests/lender/make-test-pki.sh'), path.join(tmp, 'pki')]);
mkdirSync(path.join(tmp, 'models'));

// The face models let the lender API check a reference photo; without them session creation is 503.
const haveModels = existsSync(path.join(modelDir, 'shape_predictor_68_face_landmarks.dat'));
const realPathMissing = !haveModels ? `no face models in ${modelDir} (tools/fetch-models.sh)` : !existsSync(refImage) ? `no ${refImage}` : null;

function writeConfig(name, assetsDir, models) {
  const dir = path.join(tmp, name);
  mkdirSync(dir, { recursive: true });
  const cfg = path.join(dir, 'veridge.toml');
  writeFileSync(cfg, `[device]
id = "kiosk-browser-test"
key_file = "keys/device.key"
cert_chain = "keys/device-chain.pem"
[store]
path = "veridge.db"
key_file = "keys/store.key"
[models]
dir = "${models}"
[lender]
url = "https://127.0.0.1:9/h"
webhook_secret_file = "keys/lender.whsec"
ca_file = "${path.join(tmp, 'pki/ca.pem')}"
[serve]
kiosk_listen = "127.0.0.1:0"
api_listen = "127.0.0.1:0"
tls_cert = "${path.join(tmp, 'pki/server.pem')}"
tls_key = "${path.join(tmp, 'pki/server.key')}"
drain_timeout = "2s"
[kiosk]
assets_dir = "${assetsDir}"
locales = ["zh-CN", "en"]
idle_reset = "60s"
`);
  run(veridge, ['keys', 'init', '--config', cfg]);
  return { dir, cfg };
}

async function startDaemon(name, assetsDir, models = path.join(tmp, 'models')) {
  const { dir, cfg } = writeConfig(name, assetsDir, models);
  const ready = path.join(dir, 'ready.json');
  const log = [];
  const child = spawn(veridge, ['serve', '--config', cfg, '--ready-file', ready], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  child.stdout.on('data', (d) => log.push(String(d)));
  child.stderr.on('data', (d) => log.push(String(d)));
  for (let i = 0; i < 300; ++i) {
    if (child.exitCode !== null) throw new Error(`veridge serve exited ${child.exitCode}: ${log.join('')}`);
    if (existsSync(ready)) {
      try {
        const j = JSON.parse(readFileSync(ready, 'utf8'));
        return { child, cfg, log, kiosk: `http://127.0.0.1:${j.kiosk.port}`, apiPort: j.api.port };
      } catch { /* being written */ }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no ready file: ${log.join('')}`);
}

function rawGet(base, p) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${p}`, { method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function api(d, method, p, body, token) {
  return new Promise((resolve, reject) => {
    const data = body ? JSON.stringify(body) : undefined;
    const req = https.request({
      host: '127.0.0.1', port: d.apiPort, path: p, method, ca: readFileSync(path.join(tmp, 'pki/ca.pem')),
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(data ? { 'Content-Length': Buffer.byteLength(data) } : {}) },
    }, (res) => {
      let b = '';
      res.on('data', (x) => (b += x));
      res.on('end', () => resolve({ status: res.statusCode, body: b, json: () => JSON.parse(b) }));
    });
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

// ---- the browser ---------------------------------------------------------------------------
mkdirSync(artifacts, { recursive: true });
for (const f of readdirSync(artifacts)) if (f.endsWith('.png')) rmSync(path.join(artifacts, f));

const live = await startDaemon('live', path.join(kiosk, 'dist'), haveModels ? modelDir : path.join(tmp, 'models'));
const context = await chromium.launchPersistentContext(path.join(tmp, 'chromium-profile'), {
  executablePath: chromiumPath,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
  viewport: { width: 800, height: 1100 },
});
const violations = [];
await context.addInitScript(() => {
  document.addEventListener('securitypolicyviolation', (e) => {
    (window.__csp ||= []).push(`${e.violatedDirective} ${e.blockedURI}`);
  });
});

async function newPage(label) {
  const page = await context.newPage();
  page.on('console', (m) => {
    if (/Content.Security.Policy|Refused to/i.test(m.text())) violations.push(`${label}: console: ${m.text()}`);
  });
  page.on('pageerror', (e) => violations.push(`${label}: page error: ${e.message}`));
  return page;
}

async function cspEvents(page, label) {
  const got = await page.evaluate(() => window.__csp || []);
  for (const v of got) violations.push(`${label}: ${v}`);
}

async function axe(page, label) {
  await page.evaluate(axeSource); // CDP evaluation: not an inline script, the CSP stays as served
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, target: v.nodes[0]?.target?.join(' ') }));
  });
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  check(bad.length === 0, `axe ${label}: 0 serious/critical (${bad.map((v) => `${v.id}@${v.target}`).join(', ') || 'none'}; minor/moderate: ${result.length - bad.length})`);
}

async function targets(page, label) {
  const small = await page.evaluate(() => [...document.querySelectorAll('button')].filter((b) => {
    const r = b.getBoundingClientRect();
    return r.width < 44 || r.height < 44;
  }).map((b) => b.textContent));
  check(small.length === 0, `touch targets ${label}: every button >= 44x44 px${small.length ? ` (too small: ${small.join(', ')})` : ''}`);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
}

const h1 = (page) => page.locator('h1').innerText();

try {
  // ---- headers, redirects, traversal ----
  const index = await rawGet(live.kiosk, '/kiosk/');
  check(index.status === 200 && /text\/html/.test(index.headers['content-type']), 'GET /kiosk/ is the page (200 text/html)');
  check(index.headers['content-security-policy'] === CSP, 'the CSP header is exactly the contract\'s');
  check(index.headers['x-content-type-options'] === 'nosniff', 'X-Content-Type-Options: nosniff');
  check(index.headers['referrer-policy'] === 'no-referrer', 'Referrer-Policy: no-referrer');
  check(index.headers['cache-control'] === 'no-store', 'Cache-Control: no-store on the page');
  check(/camera=\(\)/.test(index.headers['permissions-policy'] ?? ''), 'Permissions-Policy denies the camera to the page');
  check(!/<script(?![^>]*\bsrc=)[^>]*>/i.test(index.body) && !/\sstyle=|<style/i.test(index.body), 'no inline script or style in the page');
  const root302 = await rawGet(live.kiosk, '/');
  check(root302.status === 302 && root302.headers.location === '/kiosk/', 'GET / redirects to /kiosk/');
  for (const p of ['/kiosk/assets/../veridge.toml', '/kiosk/assets/..%2f..%2fveridge.toml', '/kiosk/assets/%2e%2e%2findex.html', '/kiosk/assets/nope.js']) {
    const r = await rawGet(live.kiosk, p);
    check(r.status === 404, `GET ${p} is 404`);
  }
  const bundle = readdirSync(path.join(kiosk, 'dist/assets')).map((f) => readFileSync(path.join(kiosk, 'dist/assets', f), 'utf8')).join('\n');
  check(!bundle.includes('getUserMedia') && !/https?:\/\/(?!127\.0\.0\.1|localhost)[a-z]/i.test(bundle.replace(/http:\/\/www\.w3\.org\/[^"']*/g, '')),
    'the bundle never calls getUserMedia and names no external origin');
  const fixtureSource = readFileSync(path.join(kiosk, 'src/fixtures.ts'), 'utf8');
  check(FIXTURES.every((f) => fixtureSource.includes(`'${f}'`) || fixtureSource.includes(` ${f}:`)), 'the fixture list matches src/fixtures.ts');

  // ---- start screen, both locales, keyboard alone, a wrong code ----
  const page = await newPage('daemon');
  await page.goto(`${live.kiosk}/`);
  await page.waitForSelector('[data-screen="start"]');
  check(page.url() === `${live.kiosk}/kiosk/`, 'the browser lands on /kiosk/');
  check((await h1(page)) === catalogue['zh-CN']['start.title'], 'start screen in zh-CN (the first [kiosk] locale)');
  check((await page.getAttribute('html', 'lang')) === 'zh-CN', 'html lang is zh-CN');
  await axe(page, 'daemon start zh-CN');
  await targets(page, 'daemon start');
  await shot(page, 'daemon-start-zh-CN');
  await page.getByRole('button', { name: 'English' }).click();
  check((await h1(page)) === catalogue.en['start.title'], 'the language switch shows the start screen in en');
  check((await page.getAttribute('html', 'lang')) === 'en', 'html lang follows the switch');
  await axe(page, 'daemon start en');
  await shot(page, 'daemon-start-en');

  // Keyboard alone: the page's own keys, then Tab to an on-screen key.
  await page.locator('h1').focus();
  await page.keyboard.type('98765');
  await page.keyboard.press('Backspace');
  const cells = () => page.locator('.entered .cell.filled').count();
  check((await cells()) === 4, 'digits typed on a keyboard enter the code; Backspace deletes one');
  const focusOrder = [];
  for (let i = 0; i < 20; ++i) {
    await page.keyboard.press('Tab');
    focusOrder.push(await page.evaluate(() => document.activeElement?.textContent ?? ''));
  }
  for (const want of ['中文', 'English', '1', '0', catalogue.en['keypad.delete'], catalogue.en['keypad.clear']])
    check(focusOrder.includes(want), `Tab reaches "${want}"`);
  await page.locator('h1').focus();
  let tabs = 0;
  while ((await page.evaluate(() => document.activeElement?.textContent)) !== '3' && tabs++ < 20) await page.keyboard.press('Tab');
  await page.keyboard.press('Space');
  check((await cells()) === 5, 'Space on the focused on-screen key "3" enters it');
  await page.keyboard.type('1');
  check((await cells()) === 6, 'six digits entered');
  tabs = 0;
  while ((await page.evaluate(() => document.activeElement?.textContent)) !== catalogue.en['start.submit'] && tabs++ < 20)
    await page.keyboard.press('Tab');
  check(tabs <= 20, 'Tab reaches the Continue button once six digits are in');
  const [codeResponse] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/kiosk/v1/code')),
    page.keyboard.press('Enter'),
  ]);
  let codeBody = null;
  try { codeBody = await codeResponse.json(); } catch { /* not JSON */ }
  const daemonCode = codeBody?.error?.code ?? null;
  await page.waitForFunction(() => document.querySelector('.message')?.textContent !== '' && !document.querySelector('.key[disabled]'));
  const message = await page.locator('.message').innerText();
  check(codeResponse.status() === 404 && daemonCode === 'unknown_code', `a wrong code: the daemon answers 404 unknown_code (got ${codeResponse.status()} ${daemonCode})`);
  check(message === catalogue.en['error.unknown_code'], `a wrong code: the page says "${catalogue.en['error.unknown_code']}" (says "${message}")`);
  await axe(page, 'daemon start-error en');
  await shot(page, 'daemon-start-wrong-code-en');

  await cspEvents(page, 'daemon');
  await page.close();

  // ---- the real path: lender API -> code on the keypad -> consent, in zh-CN and en ----
  if (realPathMissing) {
    notes.push(`the real path did not run: ${realPathMissing}`);
  } else {
    const tokenOut = run(veridge, ['token', 'create', '--json', '--name', 'kiosk-test', '--config', live.cfg]);
    const token = JSON.parse(tokenOut.split('\n')[0]).token;
    for (const locale of ['zh-CN', 'en']) {
      const text = catalogue[locale];
      const created = await api(live, 'POST', '/v1/sessions', {
        applicant_ref: `kiosk-browser-${locale}`, reference_image: readFileSync(refImage).toString('base64'), factors: ['face', 'liveness'],
        locale, expires_in: 600,
      }, token);
      check(created.status === 201, `${locale}: the lender API creates a session with a real reference photo (${created.status} ${created.status === 201 ? '' : created.body})`);
      if (created.status !== 201) continue;
      const { id, kiosk_code: kioskCode } = created.json();
      const p = await newPage(`real ${locale}`);
      await p.goto(`${live.kiosk}/kiosk/`);
      await p.waitForSelector('[data-screen="start"]');
      await p.locator('h1').focus();
      if (locale !== 'zh-CN') {
        // The language switch by keyboard too.
        let n = 0;
        while ((await p.evaluate(() => document.activeElement?.textContent)) !== 'English' && n++ < 20) await p.keyboard.press('Tab');
        await p.keyboard.press('Enter');
        check((await h1(p)) === text['start.title'], `${locale}: the language switch works by keyboard`);
        await p.locator('h1').focus();
      }
      await p.keyboard.type(kioskCode);
      const [claim] = await Promise.all([p.waitForResponse((r) => r.url().endsWith('/kiosk/v1/code')), p.keyboard.press('Enter')]);
      check(claim.status() === 200, `${locale}: the code typed on the keypad claims the session (${claim.status()})`);
      const claimedSession = await api(live, 'GET', `/v1/sessions/${id}`, null, token);
      check(claimedSession.json().state === 'claimed', `${locale}: the lender sees the session claimed`);
      await p.waitForSelector('[data-screen="consent"]', { timeout: 5000 }).catch(() => {});
      const on = await p.getAttribute('.frame', 'data-screen');
      check(on === 'consent', `${locale}: the consent screen follows (on: ${on})`);
      check((await h1(p)) === text['consent.title'] && (await p.getAttribute('html', 'lang')) === locale, `${locale}: the consent screen is in ${locale}`);
      await axe(p, `daemon consent ${locale}`);
      await targets(p, `daemon consent ${locale}`);
      await shot(p, `daemon-consent-${locale}`);
      // Accept by keyboard: Tab to the accept button, Enter.
      let n = 0;
      while ((await p.evaluate(() => document.activeElement?.textContent)) !== text['consent.accept'] && n++ < 30) await p.keyboard.press('Tab');
      check(n <= 30, `${locale}: Tab reaches "${text['consent.accept']}"`);
      const [consent] = await Promise.all([p.waitForResponse((r) => r.url().endsWith(`/kiosk/v1/sessions/${id}/consent`)), p.keyboard.press('Enter')]);
      check(consent.status() === 200, `${locale}: the daemon accepts the consent (${consent.status()})`);
      check(consent.request().headers().authorization?.startsWith('Bearer vks_') === true, `${locale}: the page sends its kiosk token as a bearer`);
      await p.waitForSelector('[data-screen="live"]', { timeout: 5000 }).catch(() => {});
      const after = await p.getAttribute('.frame', 'data-screen');
      check(after === 'live', `${locale}: after consent the page shows the live screen (on: ${after})`);
      await shot(p, `daemon-live-${locale}`);
      const stored = (await api(live, 'GET', `/v1/sessions/${id}`, null, token)).json();
      check(stored.state === 'capturing' && stored.consent?.accepted === true && stored.consent?.locale === locale && stored.consent?.version === '2026-12-v1',
        `${locale}: the consent is stored with the session (lender sees state ${stored.state}, consent ${JSON.stringify(stored.consent)})`);
      await cspEvents(p, `real ${locale}`);
      await p.close();
    }
    const logText = live.log.join('');
    check(!logText.includes(token) && !logText.includes('vks_'), 'no API or kiosk token in the daemon\'s log');
  }

  // ---- every screen from the reducer, on the fixture build, served by a real daemon ----
  const fixtureDaemon = await startDaemon('fixture', path.join(kiosk, 'dist-fixture'));
  const fpage = await newPage('fixture');
  for (const locale of ['zh-CN', 'en']) {
    for (const name of FIXTURES) {
      await fpage.goto(`${fixtureDaemon.kiosk}/kiosk/#screen=${name}&locale=${locale}`);
      await fpage.reload(); // the hash alone does not reload; each screen starts from a fresh page
      const want = name.startsWith('camera') ? 'camera' : name.split('-')[0];
      await fpage.waitForSelector(`[data-screen="${want}"]`);
      await fpage.waitForTimeout(50);
      check((await fpage.getAttribute('html', 'lang')) === locale, `${name} ${locale}: html lang`);
      await axe(fpage, `${name} ${locale}`);
      if (locale === 'en') await targets(fpage, name);
      const moving = await fpage.evaluate(() => document.getAnimations().length);
      check(moving === 0, `${name} ${locale}: nothing animates or flashes (${moving} animations)`);
      await shot(fpage, `${name}-${locale}`);
      await cspEvents(fpage, `fixture ${name} ${locale}`);
    }
  }
  await fpage.close();
  check(violations.length === 0, `no CSP violation and no page error${violations.length ? `: ${violations.join(' | ')}` : ''}`);
} catch (e) {
  failures.push(`exception: ${e.stack || e}`);
  console.log(`FAIL exception: ${e.stack || e}`);
} finally {
  await context.close();
}

for (const n of notes) console.log(`note: ${n}`);
console.log(`screenshots: ${artifacts}`);
console.log(failures.length ? `${failures.length} FAILED` : 'all passed');
if (!failures.length && realPathMissing) console.log(`VERIDGE-SKIP: the real path (lender API -> code -> consent) did not run: ${realPathMissing}`);
process.exit(failures.length ? 1 : 0);
