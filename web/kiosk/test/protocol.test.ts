// The parsers of docs/kiosk-protocol.md: what the protocol allows is read, anything else is null.
import { describe, expect, it } from 'vitest';
import { codeErrorOf, parseServerMessage, parseSession, retryAfterSeconds } from '../src/protocol';

describe('parseServerMessage', () => {
  it('reads every message type of the protocol', () => {
    expect(parseServerMessage('{"type":"state","state":"capturing"}')).toEqual({ type: 'state', state: 'capturing' });
    expect(parseServerMessage('{"type":"guidance","code":"too_dark"}')).toEqual({ type: 'guidance', code: 'too_dark' });
    expect(parseServerMessage('{"type":"challenge","name":"blink","index":1,"total":3,"time_left_ms":6000,"progress":0.25}'))
      .toEqual({ type: 'challenge', name: 'blink', index: 1, total: 3, timeLeftMs: 6000, progress: 0.25 });
    expect(parseServerMessage('{"type":"retry","attempt":2,"max_attempts":3,"reason":"timeout"}'))
      .toEqual({ type: 'retry', attempt: 2, maxAttempts: 3 });
    expect(parseServerMessage('{"type":"ask_staff"}')).toEqual({ type: 'ask_staff' });
    expect(parseServerMessage('{"type":"camera","status":"frozen"}')).toEqual({ type: 'camera', status: 'frozen' });
    expect(parseServerMessage('{"type":"result","outcome":"not_verified"}')).toEqual({ type: 'result', outcome: 'not_verified' });
  });

  it('refuses anything else', () => {
    for (const bad of [
      'not json', '[]', 'null', '{"type":"state","state":"approved"}', '{"type":"guidance","code":"<img>"}',
      '{"type":"challenge","name":"blink","index":4,"total":3,"time_left_ms":1,"progress":0}',
      '{"type":"challenge","name":"blink","index":1,"total":3,"time_left_ms":-1,"progress":0}',
      '{"type":"challenge","name":"blink","index":1,"total":3,"time_left_ms":1,"progress":1.5}',
      '{"type":"retry","attempt":4,"max_attempts":3}', '{"type":"result","outcome":"approved","score":0.9}',
      '{"type":"camera","status":"maybe"}', '{"type":"verdict"}', `{"type":"ask_staff","pad":"${'x'.repeat(5000)}"}`,
    ]) expect(parseServerMessage(bad), bad).toBeNull();
  });
});

describe('parseSession and errors', () => {
  it('reads a session and refuses an id that does not belong in a URL', () => {
    const s = parseSession({ id: 'ses_1', state: 'claimed', locale: 'en', factors: ['face'], expires_at: 'x' });
    expect(s).toEqual({ id: 'ses_1', state: 'claimed', locale: 'en', factors: ['face'], expiresAt: 'x' });
    expect(parseSession({ id: '../x', state: 'claimed', factors: [] })).toBeNull();
    expect(parseSession({ id: 'a', state: 'nope', factors: [] })).toBeNull();
    expect(parseSession({ id: 'a', state: 'claimed', locale: 'fr', factors: [] })?.locale).toBeNull();
  });

  it('maps the code endpoint errors, and anything unknown to unavailable', () => {
    const err = (code: string) => ({ error: { code, message: 'm' } });
    expect(codeErrorOf(404, err('unknown_code'))).toBe('unknown_code');
    expect(codeErrorOf(409, err('already_claimed'))).toBe('already_claimed');
    expect(codeErrorOf(410, err('session_expired'))).toBe('session_expired');
    expect(codeErrorOf(410, err('session_closed'))).toBe('session_closed');
    expect(codeErrorOf(429, err('too_many_attempts'))).toBe('too_many_attempts');
    expect(codeErrorOf(429, null)).toBe('too_many_attempts');
    expect(codeErrorOf(404, err('not_found'))).toBe('unavailable'); // no such route: not "unknown code"
    expect(codeErrorOf(500, 'x')).toBe('unavailable');
    expect(retryAfterSeconds('17')).toBe(17);
    expect(retryAfterSeconds('soon')).toBe(60);
    expect(retryAfterSeconds(null)).toBe(60);
  });
});
