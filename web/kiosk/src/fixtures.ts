// fixtures.ts — every screen of the flow, reached by feeding the reducer the actions and protocol
// messages that lead there (no hand-built states). Used by the unit tests and by the test-only
// fixture page (fixture/), on which the browser tests run axe and take screenshots of the screens
// the daemon cannot drive yet.
import type { Locale, ServerMessage } from './protocol';
import { initialState, reduce, type Action, type KioskState } from './state';

const SESSION = { id: 'ses_fixture', state: 'claimed' as const, locale: null, factors: ['face', 'liveness', 'certificate'], expiresAt: '2026-12-02T16:00:00Z' };

function play(locale: Locale, actions: Action[]): KioskState {
  let s = initialState(locale, 0, 1_000_000);
  for (const a of actions) s = reduce(s, a).state;
  return s;
}

const server = (message: ServerMessage): Action => ({ type: 'server', generation: 0, message });
const typed = (digits: string): Action[] => [...digits].map((digit) => ({ type: 'digit', digit }) as Action);
const claimed: Action[] = [...typed('123456'), { type: 'submit' }, { type: 'code_claimed', generation: 0, session: SESSION }];
const capturing: Action[] = [...claimed, { type: 'consent', accepted: true }, { type: 'consent_sent', generation: 0, accepted: true, state: 'capturing' }, { type: 'events_open', generation: 0 }];
const challenge = server({ type: 'challenge', name: 'turn_left', index: 2, total: 3, timeLeftMs: 4200, progress: 0.4 });

export const FIXTURES: Record<string, Action[]> = {
  start: [],
  'start-typed': typed('1234'),
  'start-unknown': [...typed('999999'), { type: 'submit' }, { type: 'code_failed', generation: 0, error: 'unknown_code', nowMs: 1_000_000 }],
  'start-expired': [...typed('999999'), { type: 'submit' }, { type: 'code_failed', generation: 0, error: 'session_expired', nowMs: 1_000_000 }],
  'start-locked': [...typed('999999'), { type: 'submit' }, { type: 'code_failed', generation: 0, error: 'too_many_attempts', retryAfterS: 42, nowMs: 1_000_000 }],
  consent: claimed,
  declined: [...claimed, { type: 'consent', accepted: false }, { type: 'consent_sent', generation: 0, accepted: false, state: 'cancelled' }],
  live: [...capturing, server({ type: 'guidance', code: 'move_closer' })],
  challenge: [...capturing, server({ type: 'state', state: 'challenge' }), challenge, server({ type: 'guidance', code: 'ok' })],
  card: [...capturing, server({ type: 'state', state: 'card' })],
  pin: [...capturing, server({ type: 'state', state: 'card' }), server({ type: 'state', state: 'pin' }), ...typed('1234')],
  deciding: [...capturing, server({ type: 'state', state: 'deciding' })],
  'result-verified': [...capturing, server({ type: 'state', state: 'deciding' }), server({ type: 'result', outcome: 'verified' })],
  'result-not_verified': [...capturing, server({ type: 'state', state: 'deciding' }), server({ type: 'result', outcome: 'not_verified' })],
  'result-see_staff': [...capturing, server({ type: 'state', state: 'deciding' }), server({ type: 'result', outcome: 'see_staff' })],
  retry: [...capturing, server({ type: 'retry', attempt: 2, maxAttempts: 3 })],
  ask_staff: [...capturing, server({ type: 'retry', attempt: 3, maxAttempts: 3 }), server({ type: 'ask_staff' })],
  'camera-lost': [...capturing, server({ type: 'camera', status: 'lost' })],
  'camera-frozen': [...capturing, server({ type: 'state', state: 'challenge' }), challenge, server({ type: 'camera', status: 'frozen' })],
  'ended-cancelled': [...capturing, server({ type: 'state', state: 'cancelled' })],
  'ended-expired': [...claimed, server({ type: 'state', state: 'expired' })],
  'ended-aborted': [...capturing, server({ type: 'state', state: 'aborted' })],
  offline: [...capturing, { type: 'events_closed', generation: 0 }, { type: 'events_closed', generation: 0 }, { type: 'events_closed', generation: 0 }],
};

export function fixtureState(name: string, locale: Locale): KioskState | null {
  const actions = FIXTURES[name];
  return actions ? play(locale, actions) : null;
}
