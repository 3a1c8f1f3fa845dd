// The effect runner against the protocol, with fetch and WebSocket replaced (the one seam): what
// it sends (bodies, bearer token, URLs) and what it reports back for each answer.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createEffectRunner } from '../src/effects';
import type { Action } from '../src/state';

type Call = { url: string; init: RequestInit };
let calls: Call[] = [];
let answers: Response[] = [];

class FakeSocket {
  static last: FakeSocket | null = null;
  static OPEN = 1;
  readyState = 0;
  sent: string[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((m: { data: unknown }) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  closed = false;
  constructor(public url: string) { FakeSocket.last = this; }
  send(s: string) { this.sent.push(s); }
  close() { this.closed = true; }
}

beforeEach(() => {
  calls = [];
  answers = [];
  vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    const a = answers.shift();
    if (!a) throw new TypeError('network down');
    return a;
  });
  vi.stubGlobal('WebSocket', FakeSocket);
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
const settle = async () => { for (let i = 0; i < 5; ++i) await Promise.resolve(); await vi.advanceTimersByTimeAsync(0); };
const session = { id: 'ses_9', state: 'claimed', locale: 'en', factors: ['face'], expires_at: 'x' };

describe('effect runner', () => {
  it('claims a code, keeps the token in memory, and sends it as a bearer on consent', async () => {
    const got: Action[] = [];
    const r = createEffectRunner(() => 7);
    answers.push(json(200, { session, kiosk_token: 'tok-secret' }));
    r.run({ type: 'claim_code', generation: 3, code: '123456' }, (a) => got.push(a));
    await settle();
    expect(calls[0].url).toBe('/kiosk/v1/code');
    expect(JSON.parse(calls[0].init.body as string)).toEqual({ code: '123456' });
    expect(got[0]).toMatchObject({ type: 'code_claimed', generation: 3, session: { id: 'ses_9' } });

    answers.push(json(200, { ...session, state: 'capturing' }));
    r.run({ type: 'send_consent', generation: 3, sessionId: 'ses_9', accepted: true, locale: 'zh-CN' }, (a) => got.push(a));
    await settle();
    expect(calls[1].url).toBe('/kiosk/v1/sessions/ses_9/consent');
    expect((calls[1].init.headers as Record<string, string>).Authorization).toBe('Bearer tok-secret');
    expect(JSON.parse(calls[1].init.body as string)).toEqual({ accepted: true, locale: 'zh-CN', consent_version: '2026-12-v1' });
    expect(got[1]).toEqual({ type: 'consent_sent', generation: 3, accepted: true, state: 'capturing' });

    r.forget();
    answers.push(new Response(null, { status: 202 }));
    r.run({ type: 'send_pin', generation: 3, sessionId: 'ses_9', pin: '2468' }, (a) => got.push(a));
    await settle();
    expect((calls[2].init.headers as Record<string, string>).Authorization).toBeUndefined(); // forgotten
    expect(JSON.parse(calls[2].init.body as string)).toEqual({ pin: '2468' });
    expect(got[2]).toEqual({ type: 'pin_sent', generation: 3 });
  });

  it('reports the daemon\'s refusal, Retry-After, and a dead network as unavailable', async () => {
    const got: Action[] = [];
    const r = createEffectRunner(() => 1000);
    answers.push(json(429, { error: { code: 'too_many_attempts', message: 'm' } }, { 'Retry-After': '33' }));
    r.run({ type: 'claim_code', generation: 0, code: '000000' }, (a) => got.push(a));
    await settle();
    expect(got[0]).toEqual({ type: 'code_failed', generation: 0, error: 'too_many_attempts', retryAfterS: 33, nowMs: 1000 });
    answers.push(json(404, { error: { code: 'unknown_code', message: 'm' } }));
    r.run({ type: 'claim_code', generation: 0, code: '000000' }, (a) => got.push(a));
    await settle();
    expect(got[1]).toMatchObject({ type: 'code_failed', error: 'unknown_code' });
    answers.push(json(200, { session: { ...session, id: '../../x' }, kiosk_token: 't' })); // a 200 that is not the protocol
    r.run({ type: 'claim_code', generation: 0, code: '000000' }, (a) => got.push(a));
    await settle();
    expect(got[2]).toMatchObject({ type: 'code_failed', error: 'unavailable' });
    r.run({ type: 'claim_code', generation: 0, code: '000000' }, (a) => got.push(a)); // no answer at all
    await settle();
    expect(got[3]).toMatchObject({ type: 'code_failed', error: 'unavailable' });
  });

  it('opens the event stream on the session URL, forwards only valid messages, pings, and reports a drop', async () => {
    const got: Action[] = [];
    const r = createEffectRunner();
    r.run({ type: 'open_events', generation: 1, sessionId: 'ses_9', delayMs: 500 }, (a) => got.push(a));
    expect(FakeSocket.last).toBeNull();
    await vi.advanceTimersByTimeAsync(500);
    const ws = FakeSocket.last!;
    expect(ws.url).toBe(`ws://${location.host}/kiosk/v1/sessions/ses_9/events`);
    ws.readyState = 1;
    ws.onopen!();
    ws.onmessage!({ data: '{"type":"guidance","code":"too_dark"}' });
    ws.onmessage!({ data: '{"type":"result","outcome":"approved"}' });
    await vi.advanceTimersByTimeAsync(15000);
    expect(ws.sent).toEqual(['{"type":"ping"}']);
    ws.onclose!();
    expect(got).toEqual([
      { type: 'events_open', generation: 1 },
      { type: 'server', generation: 1, message: { type: 'guidance', code: 'too_dark' } },
      { type: 'events_closed', generation: 1 },
    ]);
    r.run({ type: 'open_events', generation: 1, sessionId: 'ses_9', delayMs: 0 }, () => {});
    await vi.advanceTimersByTimeAsync(0);
    const second = FakeSocket.last!;
    r.run({ type: 'close_events' }, () => {});
    expect(second.closed).toBe(true);
  });
});
