// protocol.ts — the wire format of docs/kiosk-protocol.md, as types and strict parsers.
//
// Contract
//  * Everything the daemon sends is untrusted input: parseServerMessage, parseSession and
//    parseApiError check every field and return null (or a fixed fallback) for anything that is
//    not exactly what the protocol allows. The page then ignores the message; it never guesses.
//  * No DOM, no network: pure functions, unit-tested in test/protocol.test.ts.

export const LOCALES = ['zh-CN', 'en'] as const;
export type Locale = (typeof LOCALES)[number];

export const CONSENT_VERSION = '2026-12-v1';
export const CODE_LENGTH = 6;
export const PIN_MIN = 4;
export const PIN_MAX = 12;

export const SESSION_STATES = [
  'claimed', 'capturing', 'challenge', 'card', 'pin', 'deciding', 'result', 'cancelled', 'expired', 'aborted',
] as const;
export type SessionState = (typeof SESSION_STATES)[number];

export const GUIDANCE_CODES = [
  'ok', 'no_face', 'move_closer', 'move_back', 'center_face', 'too_dark', 'too_bright', 'hold_still', 'one_person', 'eyes_open',
] as const;
export type GuidanceCode = (typeof GUIDANCE_CODES)[number];

export const CHALLENGE_NAMES = ['blink', 'turn_left', 'turn_right', 'smile'] as const;
export type ChallengeName = (typeof CHALLENGE_NAMES)[number];

export const OUTCOMES = ['verified', 'not_verified', 'see_staff'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export const CAMERA_STATUSES = ['ok', 'lost', 'frozen'] as const;
export type CameraStatus = (typeof CAMERA_STATUSES)[number];

export interface Challenge {
  name: ChallengeName;
  index: number;
  total: number;
  timeLeftMs: number;
  progress: number; // 0..1
}

export type ServerMessage =
  | { type: 'state'; state: SessionState }
  | { type: 'guidance'; code: GuidanceCode }
  | ({ type: 'challenge' } & Challenge)
  | { type: 'retry'; attempt: number; maxAttempts: number }
  | { type: 'ask_staff' }
  | { type: 'camera'; status: CameraStatus }
  | { type: 'result'; outcome: Outcome };

export interface SessionInfo {
  id: string;
  state: SessionState;
  locale: Locale | null; // null: the lender asked for a locale this kiosk does not have
  factors: string[];
  expiresAt: string;
}

// Errors of POST /kiosk/v1/code, as the start screen shows them. `unavailable`: no answer, or an
// answer that is not one of the protocol's (the page says "try again or ask staff", never more).
export const CODE_ERRORS = [
  'bad_request', 'unknown_code', 'already_claimed', 'session_expired', 'session_closed', 'too_many_attempts', 'unavailable',
] as const;
export type CodeError = (typeof CODE_ERRORS)[number];

function oneOf<T extends string>(list: readonly T[], v: unknown): v is T {
  return typeof v === 'string' && (list as readonly string[]).includes(v);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function wholeNumber(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

// Session ids go into URLs: only the characters an id can have.
const SESSION_ID = /^[A-Za-z0-9_-]{1,128}$/;

export function parseServerMessage(text: string): ServerMessage | null {
  if (text.length > 4096) return null;
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(j)) return null;
  switch (j.type) {
    case 'state':
      return oneOf(SESSION_STATES, j.state) ? { type: 'state', state: j.state } : null;
    case 'guidance':
      return oneOf(GUIDANCE_CODES, j.code) ? { type: 'guidance', code: j.code } : null;
    case 'challenge': {
      const { name, index, total, time_left_ms: left, progress } = j;
      if (!oneOf(CHALLENGE_NAMES, name) || !wholeNumber(total, 1, 20) || !wholeNumber(index, 1, total as number)) return null;
      if (!wholeNumber(left, 0, 600000) || typeof progress !== 'number' || !(progress >= 0 && progress <= 1)) return null;
      return { type: 'challenge', name, index, total, timeLeftMs: left, progress };
    }
    case 'retry':
      if (!wholeNumber(j.max_attempts, 1, 100) || !wholeNumber(j.attempt, 1, j.max_attempts as number)) return null;
      return { type: 'retry', attempt: j.attempt, maxAttempts: j.max_attempts };
    case 'ask_staff':
      return { type: 'ask_staff' };
    case 'camera':
      return oneOf(CAMERA_STATUSES, j.status) ? { type: 'camera', status: j.status } : null;
    case 'result':
      return oneOf(OUTCOMES, j.outcome) ? { type: 'result', outcome: j.outcome } : null;
    default:
      return null;
  }
}

// The "session" object of POST /kiosk/v1/code, or GET /kiosk/v1/sessions/{id}.
export function parseSession(j: unknown): SessionInfo | null {
  if (!isObject(j)) return null;
  const { id, state, locale, factors, expires_at: expiresAt } = j;
  if (typeof id !== 'string' || !SESSION_ID.test(id) || !oneOf(SESSION_STATES, state)) return null;
  if (!Array.isArray(factors) || !factors.every((f) => typeof f === 'string')) return null;
  return {
    id,
    state,
    locale: oneOf(LOCALES, locale) ? locale : null,
    factors: factors as string[],
    expiresAt: typeof expiresAt === 'string' ? expiresAt : '',
  };
}

// The stable error code of an {"error":{"code","message"}} body, or null.
export function apiErrorCode(j: unknown): string | null {
  if (!isObject(j) || !isObject(j.error) || typeof j.error.code !== 'string') return null;
  return j.error.code;
}

// What the start screen says for a refused code: the daemon's code when it is one the protocol
// names for this endpoint, else `unavailable`.
export function codeErrorOf(status: number, body: unknown): CodeError {
  const code = apiErrorCode(body);
  if (status === 429) return 'too_many_attempts';
  if (code && oneOf(CODE_ERRORS, code) && code !== 'unavailable') return code;
  return 'unavailable';
}

// Retry-After in whole seconds (1..3600), defaulting to 60 as the protocol's lock does.
export function retryAfterSeconds(header: string | null): number {
  const n = header === null ? NaN : Number(header.trim());
  return Number.isInteger(n) && n >= 1 && n <= 3600 ? n : 60;
}
