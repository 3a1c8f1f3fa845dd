// Screens — one component per screen of the kiosk flow. Each renders only what KioskState holds,
// with every string from the catalogue (i18n). No screen shows a score or a reason: the result
// screens name the outcome and what to do next, nothing that would teach an attacker.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { CODE_LENGTH, PIN_MAX, PIN_MIN, type CameraStatus, type ChallengeName, type CodeError, type GuidanceCode, type Outcome } from '../protocol';
import { t, type MessageKey } from '../i18n';
import { lockSecondsLeft, locked, type Action, type EndReason, type KioskState } from '../state';
import { Entered, Keypad } from './Keypad';

type Props = { s: KioskState; dispatch: (a: Action) => void };

const CODE_ERROR: Record<CodeError, MessageKey> = {
  bad_request: 'error.bad_request',
  unknown_code: 'error.unknown_code',
  already_claimed: 'error.already_claimed',
  session_expired: 'error.session_expired',
  session_closed: 'error.session_closed',
  too_many_attempts: 'error.too_many_attempts',
  unavailable: 'error.unavailable',
};

const GUIDANCE: Record<GuidanceCode, MessageKey> = {
  ok: 'guidance.ok',
  no_face: 'guidance.no_face',
  move_closer: 'guidance.move_closer',
  move_back: 'guidance.move_back',
  center_face: 'guidance.center_face',
  too_dark: 'guidance.too_dark',
  too_bright: 'guidance.too_bright',
  hold_still: 'guidance.hold_still',
  one_person: 'guidance.one_person',
  eyes_open: 'guidance.eyes_open',
};

const CHALLENGE: Record<ChallengeName, MessageKey> = {
  blink: 'challenge.blink',
  turn_left: 'challenge.turn_left',
  turn_right: 'challenge.turn_right',
  smile: 'challenge.smile',
};

const RESULT: Record<Outcome, [MessageKey, MessageKey]> = {
  verified: ['result.verified.title', 'result.verified.body'],
  not_verified: ['result.not_verified.title', 'result.not_verified.body'],
  see_staff: ['result.see_staff.title', 'result.see_staff.body'],
};

const ENDED: Record<EndReason, [MessageKey, MessageKey]> = {
  cancelled: ['ended.cancelled.title', 'ended.cancelled.body'],
  expired: ['ended.expired.title', 'ended.expired.body'],
  aborted: ['ended.aborted.title', 'ended.aborted.body'],
};

const CAMERA: Record<Exclude<CameraStatus, 'ok'>, [MessageKey, MessageKey]> = {
  lost: ['camera.lost.title', 'camera.lost.body'],
  frozen: ['camera.frozen.title', 'camera.frozen.body'],
};

// The screen's heading takes focus when the screen appears, so a keyboard or screen-reader user
// starts at the top of the new screen.
function Title(props: { text: string; tone?: Tone }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <h1 ref={ref} tabIndex={-1} class={props.tone ? `title tone-${props.tone}` : 'title'}>
      {props.text}
    </h1>
  );
}

function FinishButton(props: Props & { label?: MessageKey }) {
  return (
    <button type="button" class="primary" onClick={() => props.dispatch({ type: 'finish' })}>
      {t(props.s.locale, props.label ?? 'result.finish')}
    </button>
  );
}

type Tone = 'good' | 'bad' | 'staff';

// A screen that tells the applicant one thing: heading, a paragraph, and what may follow.
function Notice(props: {
  kind: string; title: string; body: string; tone?: Tone; mark?: boolean; bodyRole?: 'status' | 'alert'; children?: ComponentChildren;
}) {
  return (
    <section class={props.kind}>
      {props.mark && <div class={`result-mark mark-${props.tone ?? 'staff'}`} aria-hidden="true" />}
      <Title text={props.title} tone={props.tone} />
      <p class="body" role={props.bodyRole}>{props.body}</p>
      {props.children}
    </section>
  );
}

// The start and PIN screens: a heading, what was typed, one message line, the keypad, a submit.
function KeypadEntry(props: Props & {
  title: string; hint: string; value: string; length: number; masked: boolean; enteredLabel: string;
  message: string; disabled: boolean; submit: string; canSubmit: boolean;
}) {
  const { s, dispatch } = props;
  return (
    <>
      <Title text={props.title} />
      <p class="hint">{props.hint}</p>
      <Entered value={props.value} length={props.length} masked={props.masked} label={props.enteredLabel} />
      <p class="message" role="alert">{props.message}</p>
      <Keypad locale={s.locale} disabled={props.disabled} dispatch={dispatch} />
      <button type="button" class="primary" disabled={props.disabled || !props.canSubmit} onClick={() => dispatch({ type: 'submit' })}>
        {props.submit}
      </button>
    </>
  );
}

export function StartScreen({ s, dispatch }: Props) {
  const l = s.locale;
  const message = s.codeError ? t(l, CODE_ERROR[s.codeError], { s: lockSecondsLeft(s) }) : s.busy ? t(l, 'start.checking') : '';
  return (
    <section class="start">
      <KeypadEntry s={s} dispatch={dispatch} title={t(l, 'start.title')} hint={t(l, 'start.hint')} value={s.code} length={CODE_LENGTH}
        masked={false} enteredLabel={t(l, 'start.entered', { n: s.code.length })} message={message} disabled={s.busy || locked(s)}
        submit={t(l, 'start.submit')} canSubmit={s.code.length === CODE_LENGTH} />
    </section>
  );
}

export function ConsentScreen({ s, dispatch }: Props) {
  const l = s.locale;
  return (
    <section class="consent">
      <Title text={t(l, 'consent.title')} />
      <div class="consent-text" lang={l}>
        <p>{t(l, 'consent.p1')}</p>
        <p>{t(l, 'consent.p2')}</p>
        <p>{t(l, 'consent.p3')}</p>
        <p>{t(l, 'consent.p4')}</p>
      </div>
      <p class="message" role="alert">{s.consentFailed ? t(l, 'consent.failed') : ''}</p>
      <div class="actions">
        <button type="button" class="secondary" disabled={s.busy} onClick={() => dispatch({ type: 'consent', accepted: false })}>
          {t(l, 'consent.decline')}
        </button>
        <button type="button" class="primary" disabled={s.busy} onClick={() => dispatch({ type: 'consent', accepted: true })}>
          {t(l, 'consent.accept')}
        </button>
      </div>
    </section>
  );
}

// The daemon's camera, as MJPEG: the page never opens a camera itself.
function Preview({ s, dispatch, previewUrl }: Props & { previewUrl: string }) {
  const l = s.locale;
  return (
    <div class="oval">
      {s.previewFailed ? (
        <p class="oval-text">{t(l, 'live.preview_waiting')}</p>
      ) : (
        <img class="preview" src={previewUrl} alt={t(l, 'live.preview_alt')} onError={() => dispatch({ type: 'preview_failed' })} />
      )}
    </div>
  );
}

function Guidance({ s }: { s: KioskState }) {
  const l = s.locale;
  const text = s.events === 'connecting' && s.eventFailures > 0 ? t(l, 'live.reconnecting') : s.guidance ? t(l, GUIDANCE[s.guidance]) : '';
  return (
    <p class="guidance" role="status" aria-live="polite" aria-atomic="true">
      {text}
    </p>
  );
}

export function LiveScreen(props: Props & { previewUrl: string }) {
  const l = props.s.locale;
  return (
    <section class="live">
      <Title text={t(l, 'live.title')} />
      <p class="hint">{t(l, 'live.hint')}</p>
      <Preview {...props} />
      <Guidance s={props.s} />
    </section>
  );
}

export function ChallengeScreen(props: Props & { previewUrl: string }) {
  const { s } = props;
  const l = s.locale;
  const c = s.challenge;
  return (
    <section class="challenge">
      <Title text={c ? t(l, CHALLENGE[c.name]) : t(l, 'challenge.title')} />
      <p class="hint">{c ? t(l, 'challenge.step', { index: c.index, total: c.total }) : t(l, 'challenge.waiting')}</p>
      <Preview {...props} />
      {c && (
        <div class="challenge-status">
          <label class="progress-label">
            {t(l, 'challenge.progress')}
            <progress max={100} value={Math.round(c.progress * 100)} />
          </label>
          <p class="time-left">{t(l, 'challenge.time_left', { s: Math.ceil(c.timeLeftMs / 1000) })}</p>
        </div>
      )}
      <Guidance s={s} />
    </section>
  );
}

export function CardScreen({ s }: Props) {
  return (
    <Notice kind="card" title={t(s.locale, 'card.title')} body={t(s.locale, 'card.body')}>
      <div class="card-slot" aria-hidden="true" />
    </Notice>
  );
}

export function PinScreen({ s, dispatch }: Props) {
  const l = s.locale;
  const message = s.pinFailed ? t(l, 'pin.failed') : s.busy ? t(l, 'pin.sending') : '';
  return (
    <section class="pin">
      <KeypadEntry s={s} dispatch={dispatch} title={t(l, 'pin.title')} hint={t(l, 'pin.hint')} value={s.pin}
        length={Math.max(6, s.pin.length)} masked={true} enteredLabel={t(l, 'pin.entered', { n: s.pin.length })} message={message}
        disabled={s.busy} submit={t(l, 'pin.submit')} canSubmit={s.pin.length >= PIN_MIN && s.pin.length <= PIN_MAX} />
    </section>
  );
}

export function DecidingScreen({ s }: Props) {
  return <Notice kind="deciding" title={t(s.locale, 'deciding.title')} body={t(s.locale, 'deciding.body')} bodyRole="status" />;
}

export function ResultScreen(props: Props) {
  const { s } = props;
  const outcome = s.outcome ?? 'see_staff';
  const [title, body] = RESULT[outcome];
  const tone = outcome === 'verified' ? 'good' : outcome === 'not_verified' ? 'bad' : 'staff';
  return (
    <Notice kind={`result result-${outcome}`} title={t(s.locale, title)} body={t(s.locale, body)} tone={tone} mark>
      <FinishButton {...props} />
    </Notice>
  );
}

export function RetryScreen({ s }: Props) {
  return (
    <Notice kind="retry" title={t(s.locale, 'retry.title')} body={t(s.locale, 'retry.body')}>
      {s.retry && <p class="attempt">{t(s.locale, 'retry.attempt', { attempt: s.retry.attempt, max: s.retry.maxAttempts })}</p>}
    </Notice>
  );
}

export function AskStaffScreen(props: Props) {
  const l = props.s.locale;
  return (
    <Notice kind="ask-staff" title={t(l, 'ask_staff.title')} body={t(l, 'ask_staff.body')} tone="staff" mark>
      <FinishButton {...props} label="common.ok" />
    </Notice>
  );
}

export function CameraScreen({ s }: Props) {
  const [title, body] = CAMERA[s.camera === 'frozen' ? 'frozen' : 'lost'];
  return <Notice kind="camera" title={t(s.locale, title)} body={t(s.locale, body)} tone="staff" bodyRole="alert" mark />;
}

export function DeclinedScreen(props: Props) {
  const l = props.s.locale;
  return (
    <Notice kind="declined" title={t(l, 'declined.title')} body={t(l, 'declined.body')}>
      <FinishButton {...props} label="common.ok" />
    </Notice>
  );
}

export function EndedScreen(props: Props) {
  const [title, body] = ENDED[props.s.ended ?? 'aborted'];
  return (
    <Notice kind="ended" title={t(props.s.locale, title)} body={t(props.s.locale, body)} tone="staff">
      <FinishButton {...props} label="common.ok" />
    </Notice>
  );
}

export function OfflineScreen(props: Props) {
  const l = props.s.locale;
  return (
    <Notice kind="offline" title={t(l, 'offline.title')} body={t(l, 'offline.body')} tone="staff" bodyRole="alert" mark>
      <FinishButton {...props} label="common.ok" />
    </Notice>
  );
}
