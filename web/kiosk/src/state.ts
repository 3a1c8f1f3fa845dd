// state.ts — the one state machine of the kiosk page: a pure reducer fed by protocol messages,
// HTTP results, timers and the applicant's taps.
//
// Contract
//  * reduce(state, action) -> { state, effects } is pure: no clock, no DOM, no network. Time comes
//    in through actions (nowMs); requests go out as Effects that main.ts runs. So every screen and
//    every transition is unit-tested (test/state.test.ts) without a browser.
//  * The page renders, the daemon decides: the screen follows the daemon's `state` and `result`
//    messages; the page never concludes a verdict itself. An outcome is shown only from a
//    `result` message.
//  * The PIN lives in state only while it is typed on the PIN screen. `submit` there moves it into
//    one send_pin effect and clears it from state in the same step; every other transition clears
//    it too. Nothing is kept in storage (no localStorage, no cookies written by the page).
//  * `idle_reset` and `finish` return the initial state: the code, the session, the token's use,
//    the locale choice, everything. Results of requests started before a reset are dropped (the
//    `generation` they carry no longer matches).

import {
  CODE_LENGTH, PIN_MAX, PIN_MIN,
  type CameraStatus, type Challenge, type CodeError, type GuidanceCode, type Locale, type Outcome,
  type ServerMessage, type SessionInfo, type SessionState,
} from './protocol';

export type Screen =
  | 'start' | 'consent' | 'declined' | 'live' | 'challenge' | 'card' | 'pin' | 'deciding' | 'result'
  | 'retry' | 'ask_staff' | 'ended' | 'offline';

export type EndReason = 'cancelled' | 'expired' | 'aborted';

export interface KioskState {
  locale: Locale;
  defaultLocale: Locale;
  localeChosen: boolean; // the applicant picked a language: the session's locale does not override it
  screen: Screen;
  nowMs: number;
  // start
  code: string;
  codeError: CodeError | null;
  lockedUntilMs: number | null;
  busy: boolean; // a request of this screen is in flight: the buttons wait
  // session
  session: { id: string; factors: string[] } | null;
  consentFailed: boolean;
  guidance: GuidanceCode | null;
  previewFailed: boolean;
  challenge: Challenge | null;
  pin: string;
  pinFailed: boolean;
  outcome: Outcome | null;
  retry: { attempt: number; maxAttempts: number } | null;
  camera: CameraStatus;
  ended: EndReason | null;
  events: 'closed' | 'connecting' | 'open';
  eventFailures: number;
  generation: number;
}

export type Action =
  | { type: 'locale'; locale: Locale }
  | { type: 'digit'; digit: string }
  | { type: 'delete' }
  | { type: 'clear' }
  | { type: 'submit' }
  | { type: 'tick'; nowMs: number }
  | { type: 'code_claimed'; generation: number; session: SessionInfo }
  | { type: 'code_failed'; generation: number; error: CodeError; retryAfterS?: number; nowMs: number }
  | { type: 'consent'; accepted: boolean }
  | { type: 'consent_sent'; generation: number; accepted: boolean; state: SessionState | null }
  | { type: 'consent_failed'; generation: number }
  | { type: 'pin_sent'; generation: number }
  | { type: 'pin_failed'; generation: number }
  | { type: 'events_open'; generation: number }
  | { type: 'events_closed'; generation: number }
  | { type: 'server'; generation: number; message: ServerMessage }
  | { type: 'preview_failed' }
  | { type: 'finish' }
  | { type: 'idle_reset' };

export type Effect =
  | { type: 'claim_code'; generation: number; code: string }
  | { type: 'send_consent'; generation: number; sessionId: string; accepted: boolean; locale: Locale }
  | { type: 'send_pin'; generation: number; sessionId: string; pin: string }
  | { type: 'open_events'; generation: number; sessionId: string; delayMs: number }
  | { type: 'close_events' };

export interface Step {
  state: KioskState;
  effects: Effect[];
}

// Reconnects of the event stream before the page says the service is lost.
export const MAX_EVENT_FAILURES = 3;

export function initialState(defaultLocale: Locale = 'zh-CN', generation = 0, nowMs = 0): KioskState {
  return {
    locale: defaultLocale, defaultLocale, localeChosen: false, screen: 'start', nowMs,
    code: '', codeError: null, lockedUntilMs: null, busy: false,
    session: null, consentFailed: false, guidance: null, previewFailed: false, challenge: null,
    pin: '', pinFailed: false, outcome: null, retry: null, camera: 'ok', ended: null,
    events: 'closed', eventFailures: 0, generation,
  };
}

// Screens of a running session, where the event stream must be open.
const LIVE_SCREENS: readonly Screen[] = ['live', 'challenge', 'card', 'pin', 'deciding', 'retry'];

// What is on the glass: the camera screen covers the screens that need the camera.
export type VisibleScreen = Screen | 'camera';
export function visibleScreen(s: KioskState): VisibleScreen {
  if (s.camera !== 'ok' && (s.screen === 'live' || s.screen === 'challenge')) return 'camera';
  return s.screen;
}

export function locked(s: KioskState): boolean {
  return s.lockedUntilMs !== null && s.nowMs < s.lockedUntilMs;
}

export function lockSecondsLeft(s: KioskState): number {
  return s.lockedUntilMs === null ? 0 : Math.max(0, Math.ceil((s.lockedUntilMs - s.nowMs) / 1000));
}

const same = (state: KioskState): Step => ({ state, effects: [] });

function reset(s: KioskState, closeEvents: boolean): Step {
  return {
    state: initialState(s.defaultLocale, s.generation + 1, s.nowMs),
    effects: closeEvents && s.events !== 'closed' ? [{ type: 'close_events' }] : [],
  };
}

// The screen a daemon session state puts on the glass.
function screenOf(state: SessionState, s: KioskState): Partial<KioskState> {
  switch (state) {
    case 'claimed': return { screen: 'consent' };
    case 'capturing': return { screen: 'live', challenge: null };
    case 'challenge': return { screen: 'challenge' };
    case 'card': return { screen: 'card' };
    case 'pin': return { screen: 'pin', pin: '', pinFailed: false, busy: false };
    case 'deciding': return { screen: 'deciding' };
    // The outcome comes only in its own `result` message; until then the page is still deciding.
    case 'result': return s.outcome ? { screen: 'result' } : { screen: 'deciding' };
    case 'cancelled': case 'expired': case 'aborted': return { screen: 'ended', ended: state };
  }
}

function withSessionScreen(s: KioskState, state: SessionState): Step {
  const next: KioskState = { ...s, pin: '', ...screenOf(state, s) };
  const effects: Effect[] = [];
  if (LIVE_SCREENS.includes(next.screen) && next.events === 'closed' && next.session) {
    next.events = 'connecting';
    effects.push({ type: 'open_events', generation: s.generation, sessionId: next.session.id, delayMs: 0 });
  }
  if (!LIVE_SCREENS.includes(next.screen) && next.events !== 'closed') {
    next.events = 'closed';
    effects.push({ type: 'close_events' });
  }
  return { state: next, effects };
}

function onServer(s: KioskState, m: ServerMessage): Step {
  if (!s.session || s.screen === 'ended' || s.screen === 'result') return same(s);
  switch (m.type) {
    case 'state':
      return withSessionScreen({ ...s, retry: m.state === 'capturing' ? s.retry : null }, m.state);
    case 'guidance':
      return same(s.guidance === m.code ? s : { ...s, guidance: m.code });
    case 'challenge': {
      const { type: _type, ...challenge } = m;
      return same({ ...s, screen: s.screen === 'live' ? 'challenge' : s.screen, challenge });
    }
    case 'retry':
      return same({ ...s, screen: 'retry', retry: { attempt: m.attempt, maxAttempts: m.maxAttempts }, challenge: null, guidance: null });
    case 'ask_staff':
      return {
        state: { ...s, screen: 'ask_staff', pin: '', busy: false, events: 'closed' },
        effects: s.events !== 'closed' ? [{ type: 'close_events' }] : [],
      };
    case 'camera':
      return same({ ...s, camera: m.status });
    case 'result':
      return {
        state: { ...s, screen: 'result', outcome: m.outcome, pin: '', events: 'closed' },
        effects: s.events !== 'closed' ? [{ type: 'close_events' }] : [],
      };
  }
}

export function reduce(s: KioskState, a: Action): Step {
  // Answers to requests made before a reset belong to nobody now.
  if ('generation' in a && a.generation !== s.generation) return same(s);
  switch (a.type) {
    case 'locale':
      return same({ ...s, locale: a.locale, localeChosen: true });
    case 'tick': {
      const next = { ...s, nowMs: a.nowMs };
      if (s.lockedUntilMs !== null && a.nowMs >= s.lockedUntilMs) {
        next.lockedUntilMs = null;
        if (s.codeError === 'too_many_attempts') next.codeError = null;
      }
      return same(next);
    }
    case 'digit': {
      if (!/^[0-9]$/.test(a.digit) || s.busy) return same(s);
      if (s.screen === 'start' && !locked(s) && s.code.length < CODE_LENGTH)
        return same({ ...s, code: s.code + a.digit, codeError: s.codeError === 'too_many_attempts' ? s.codeError : null });
      if (s.screen === 'pin' && s.pin.length < PIN_MAX) return same({ ...s, pin: s.pin + a.digit, pinFailed: false });
      return same(s);
    }
    case 'delete':
      if (s.busy) return same(s);
      if (s.screen === 'start') return same({ ...s, code: s.code.slice(0, -1) });
      if (s.screen === 'pin') return same({ ...s, pin: s.pin.slice(0, -1) });
      return same(s);
    case 'clear':
      if (s.busy) return same(s);
      if (s.screen === 'start') return same({ ...s, code: '' });
      if (s.screen === 'pin') return same({ ...s, pin: '' });
      return same(s);
    case 'submit':
      if (s.busy) return same(s);
      if (s.screen === 'start') {
        if (s.code.length !== CODE_LENGTH || locked(s)) return same(s);
        return { state: { ...s, busy: true, codeError: null }, effects: [{ type: 'claim_code', generation: s.generation, code: s.code }] };
      }
      if (s.screen === 'pin' && s.session) {
        if (s.pin.length < PIN_MIN) return same(s);
        return {
          state: { ...s, pin: '', busy: true, pinFailed: false },
          effects: [{ type: 'send_pin', generation: s.generation, sessionId: s.session.id, pin: s.pin }],
        };
      }
      return same(s);
    case 'code_claimed': {
      const base: KioskState = {
        ...s, busy: false, code: '', codeError: null,
        session: { id: a.session.id, factors: a.session.factors },
        locale: !s.localeChosen && a.session.locale ? a.session.locale : s.locale,
      };
      return withSessionScreen(base, a.session.state);
    }
    case 'code_failed': {
      const lock = a.error === 'too_many_attempts' ? a.nowMs + 1000 * (a.retryAfterS ?? 60) : s.lockedUntilMs;
      return same({ ...s, busy: false, code: '', codeError: a.error, lockedUntilMs: lock, nowMs: a.nowMs });
    }
    case 'consent':
      if (s.screen !== 'consent' || !s.session || s.busy) return same(s);
      return {
        state: { ...s, busy: true, consentFailed: false },
        effects: [{ type: 'send_consent', generation: s.generation, sessionId: s.session.id, accepted: a.accepted, locale: s.locale }],
      };
    case 'consent_sent':
      if (s.screen !== 'consent') return same({ ...s, busy: false });
      if (!a.accepted) return same({ ...s, busy: false, screen: 'declined' });
      return withSessionScreen({ ...s, busy: false }, a.state && a.state !== 'claimed' ? a.state : 'capturing');
    case 'consent_failed':
      return same({ ...s, busy: false, consentFailed: true });
    case 'pin_sent':
      return same(s.screen === 'pin' ? { ...s, busy: false, screen: 'deciding' } : { ...s, busy: false });
    case 'pin_failed':
      return same({ ...s, busy: false, pinFailed: true, pin: '' });
    case 'events_open':
      return same({ ...s, events: 'open', eventFailures: 0 });
    case 'events_closed': {
      if (s.events === 'closed' || !s.session) return same(s);
      const failures = s.eventFailures + 1;
      if (failures >= MAX_EVENT_FAILURES)
        return same({ ...s, events: 'closed', eventFailures: failures, screen: 'offline', pin: '', busy: false });
      return {
        state: { ...s, events: 'connecting', eventFailures: failures },
        effects: [{ type: 'open_events', generation: s.generation, sessionId: s.session.id, delayMs: 500 * 2 ** failures }],
      };
    }
    case 'server':
      return onServer(s, a.message);
    case 'preview_failed':
      return same({ ...s, previewFailed: true });
    case 'finish':
    case 'idle_reset':
      return reset(s, true);
  }
}

// Whether the idle timer runs on this state: on the screens that wait for the applicant (a
// walked-away applicant leaves nothing on the glass), never while the daemon is driving the
// session (preview, challenges, card, deciding: the daemon's own time limits apply there).
const WAITING_SCREENS: readonly VisibleScreen[] = ['consent', 'declined', 'pin', 'result', 'ask_staff', 'ended', 'offline'];
export function idleResets(s: KioskState): boolean {
  const v = visibleScreen(s);
  if (v === 'start') return !s.busy && (s.code !== '' || s.localeChosen || s.codeError !== null);
  return WAITING_SCREENS.includes(v);
}
