// The reducer: every transition of the flow, fed with the protocol's messages and the applicant's
// taps, and what it must never do (keep a PIN, show an outcome the daemon did not send, act on
// answers from before a reset).
import { describe, expect, it } from 'vitest';
import { FIXTURES, fixtureState } from '../src/fixtures';
import type { ServerMessage, SessionInfo } from '../src/protocol';
import { idleResets, initialState, MAX_EVENT_FAILURES, reduce, visibleScreen, type Action, type Effect, type KioskState } from '../src/state';

const SESSION: SessionInfo = { id: 'ses_1', state: 'claimed', locale: 'en', factors: ['face', 'liveness'], expiresAt: '' };

function run(actions: Action[], s: KioskState = initialState('zh-CN', 0, 1000)): { s: KioskState; effects: Effect[] } {
  const effects: Effect[] = [];
  for (const a of actions) {
    const step = reduce(s, a);
    s = step.state;
    effects.push(...step.effects);
  }
  return { s, effects };
}
const digits = (d: string): Action[] => [...d].map((digit) => ({ type: 'digit', digit }));
const server = (message: ServerMessage, generation = 0): Action => ({ type: 'server', generation, message });
const claim: Action[] = [...digits('123456'), { type: 'submit' }, { type: 'code_claimed', generation: 0, session: SESSION }];
const live: Action[] = [...claim, { type: 'consent', accepted: true }, { type: 'consent_sent', generation: 0, accepted: true, state: 'capturing' }, { type: 'events_open', generation: 0 }];

describe('start screen', () => {
  it('takes six digits, no more, and submits them once', () => {
    const { s, effects } = run([...digits('1234567'), { type: 'submit' }, { type: 'submit' }]);
    expect(s.code).toBe('123456');
    expect(s.busy).toBe(true);
    expect(effects).toEqual([{ type: 'claim_code', generation: 0, code: '123456' }]);
  });

  it('does not submit fewer than six digits; delete and clear edit the code; non-digits are ignored', () => {
    const { s, effects } = run([...digits('12a3'), { type: 'delete' }, { type: 'submit' }]);
    expect(s.code).toBe('12');
    expect(effects).toEqual([]);
    expect(run([...digits('12'), { type: 'clear' }]).s.code).toBe('');
  });

  it('shows the unknown-code error, clears the code, and the next digit clears the error', () => {
    const failed = run([...digits('999999'), { type: 'submit' }, { type: 'code_failed', generation: 0, error: 'unknown_code', nowMs: 5000 }]).s;
    expect(failed.codeError).toBe('unknown_code');
    expect(failed.code).toBe('');
    expect(failed.busy).toBe(false);
    expect(run(digits('1'), failed).s.codeError).toBeNull();
  });

  it('too many attempts locks the keypad for Retry-After seconds, then unlocks on the clock', () => {
    let { s } = run([...digits('999999'), { type: 'submit' }, { type: 'code_failed', generation: 0, error: 'too_many_attempts', retryAfterS: 30, nowMs: 10_000 }]);
    expect(s.lockedUntilMs).toBe(40_000);
    s = run([...digits('12'), { type: 'submit' }], s).s;
    expect(s.code).toBe('');
    s = run([{ type: 'tick', nowMs: 39_999 }], s).s;
    expect(s.codeError).toBe('too_many_attempts');
    s = run([{ type: 'tick', nowMs: 40_000 }, ...digits('1')], s).s;
    expect(s.codeError).toBeNull();
    expect(s.code).toBe('1');
  });

  it('a claimed code goes to consent in the session locale, unless the applicant chose a language', () => {
    expect(run(claim).s).toMatchObject({ screen: 'consent', locale: 'en', session: { id: 'ses_1' }, code: '' });
    expect(run([{ type: 'locale', locale: 'zh-CN' }, ...claim]).s.locale).toBe('zh-CN');
  });
});

describe('consent', () => {
  it('accept sends the consent with the locale, then the preview opens the event stream', () => {
    const { s, effects } = run(live.slice(0, -1));
    expect(effects).toContainEqual({ type: 'send_consent', generation: 0, sessionId: 'ses_1', accepted: true, locale: 'en' });
    expect(effects).toContainEqual({ type: 'open_events', generation: 0, sessionId: 'ses_1', delayMs: 0 });
    expect(s.screen).toBe('live');
  });

  it('decline shows the declined screen and opens nothing', () => {
    const { s, effects } = run([...claim, { type: 'consent', accepted: false }, { type: 'consent_sent', generation: 0, accepted: false, state: 'cancelled' }]);
    expect(s.screen).toBe('declined');
    expect(effects.some((e) => e.type === 'open_events')).toBe(false);
  });

  it('a failed consent stays on consent and says so', () => {
    const { s } = run([...claim, { type: 'consent', accepted: true }, { type: 'consent_failed', generation: 0 }]);
    expect(s).toMatchObject({ screen: 'consent', consentFailed: true, busy: false });
  });
});

describe('live session', () => {
  it('guidance, challenge progress and time left come from the daemon', () => {
    const { s } = run([...live, server({ type: 'guidance', code: 'move_back' }),
      server({ type: 'challenge', name: 'smile', index: 3, total: 3, timeLeftMs: 2500, progress: 0.9 })]);
    expect(s.guidance).toBe('move_back');
    expect(s.screen).toBe('challenge');
    expect(s.challenge).toEqual({ name: 'smile', index: 3, total: 3, timeLeftMs: 2500, progress: 0.9 });
  });

  it('the PIN is kept only while typed: submit sends it once and clears it from state', () => {
    let { s } = run([...live, server({ type: 'state', state: 'card' }), server({ type: 'state', state: 'pin' }), ...digits('2468')]);
    expect(s.pin).toBe('2468');
    const step = reduce(s, { type: 'submit' });
    expect(step.state.pin).toBe('');
    expect(step.effects).toEqual([{ type: 'send_pin', generation: 0, sessionId: 'ses_1', pin: '2468' }]);
    expect(JSON.stringify(step.state)).not.toContain('2468');
    s = run([{ type: 'pin_sent', generation: 0 }], step.state).s;
    expect(s.screen).toBe('deciding');
    expect(JSON.stringify(s)).not.toContain('2468');
  });

  it('a PIN shorter than 4 digits is not sent; a PIN longer than 12 is cut at 12', () => {
    const pin = run([...live, server({ type: 'state', state: 'pin' }), ...digits('123')]).s;
    expect(reduce(pin, { type: 'submit' }).effects).toEqual([]);
    expect(run(digits('4567890123'), pin).s.pin).toBe('123456789012');
  });

  it('leaving the PIN screen for any reason drops the typed digits', () => {
    const { s } = run([...live, server({ type: 'state', state: 'pin' }), ...digits('5555'), server({ type: 'camera', status: 'lost' }), server({ type: 'state', state: 'deciding' })]);
    expect(s.pin).toBe('');
  });

  it('a `result` state alone does not show an outcome: only the result message does', () => {
    const deciding = run([...live, server({ type: 'state', state: 'result' })]).s;
    expect(deciding.screen).toBe('deciding');
    expect(deciding.outcome).toBeNull();
    const { s, effects } = run([server({ type: 'result', outcome: 'verified' })], deciding);
    expect(s).toMatchObject({ screen: 'result', outcome: 'verified' });
    expect(effects).toEqual([{ type: 'close_events' }]);
  });

  it('retry shows attempt n of max, then the daemon restarts capture; after the cap, ask staff', () => {
    let { s } = run([...live, server({ type: 'retry', attempt: 2, maxAttempts: 3 })]);
    expect(s).toMatchObject({ screen: 'retry', retry: { attempt: 2, maxAttempts: 3 } });
    s = run([server({ type: 'state', state: 'capturing' })], s).s;
    expect(s.screen).toBe('live');
    const staff = run([server({ type: 'ask_staff' })], s);
    expect(staff.s.screen).toBe('ask_staff');
    expect(staff.effects).toEqual([{ type: 'close_events' }]);
  });

  it('a lost or frozen camera covers the preview; ok brings it back', () => {
    let { s } = run([...live, server({ type: 'camera', status: 'lost' })]);
    expect(visibleScreen(s)).toBe('camera');
    s = run([server({ type: 'camera', status: 'ok' })], s).s;
    expect(visibleScreen(s)).toBe('live');
  });

  it('cancelled, expired and aborted end the session', () => {
    for (const state of ['cancelled', 'expired', 'aborted'] as const)
      expect(run([...live, server({ type: 'state', state })]).s).toMatchObject({ screen: 'ended', ended: state });
  });

  it('a dropped event stream reconnects with back-off, then says the service is lost', () => {
    let { s, effects } = run([...live, { type: 'events_closed', generation: 0 }]);
    expect(effects[effects.length - 1]).toEqual({ type: 'open_events', generation: 0, sessionId: 'ses_1', delayMs: 1000 });
    for (let i = 1; i < MAX_EVENT_FAILURES; ++i) s = run([{ type: 'events_closed', generation: 0 }], s).s;
    expect(s.screen).toBe('offline');
  });

  it('ignores protocol messages before a session exists', () => {
    const { s } = run([server({ type: 'result', outcome: 'verified' })]);
    expect(s.screen).toBe('start');
    expect(s.outcome).toBeNull();
  });
});

describe('reset', () => {
  it('idle reset and finish clear everything, and close the event stream', () => {
    const during = run([...live, { type: 'locale', locale: 'en' }, server({ type: 'guidance', code: 'ok' })]).s;
    for (const type of ['idle_reset', 'finish'] as const) {
      const step = reduce(during, { type });
      expect(step.state).toEqual(initialState('zh-CN', during.generation + 1, during.nowMs));
      expect(step.effects).toEqual([{ type: 'close_events' }]);
    }
  });

  it('answers to requests made before a reset are dropped', () => {
    const pending = run([...digits('123456'), { type: 'submit' }]).s;
    const after = reduce(pending, { type: 'idle_reset' }).state;
    const late = run([{ type: 'code_claimed', generation: 0, session: SESSION }, server({ type: 'result', outcome: 'verified' })], after).s;
    expect(late).toEqual(after);
  });

  it('the idle timer runs on waiting screens only, never while the daemon drives the session', () => {
    expect(idleResets(initialState())).toBe(false);
    expect(idleResets(run(digits('1')).s)).toBe(true);
    for (const name of ['consent', 'declined', 'pin', 'result-verified', 'ask_staff', 'ended-expired', 'offline'])
      expect(idleResets(fixtureState(name, 'en')!), name).toBe(true);
    for (const name of ['live', 'challenge', 'card', 'deciding', 'retry', 'camera-lost'])
      expect(idleResets(fixtureState(name, 'en')!), name).toBe(false);
  });
});

describe('fixtures', () => {
  it('every fixture reaches the screen its name says', () => {
    for (const name of Object.keys(FIXTURES)) {
      const s = fixtureState(name, 'en')!;
      const want = name.split('-')[0] === 'camera' ? 'camera' : name.split('-')[0];
      expect(visibleScreen(s), name).toBe(want);
    }
  });
});
