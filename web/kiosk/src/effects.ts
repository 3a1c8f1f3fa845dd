// effects.ts — runs the reducer's effects against the daemon (docs/kiosk-protocol.md): the three
// POSTs and the event WebSocket. The only module that touches the network.
//
// Contract
//  * Same origin only (the CSP allows nothing else). The kiosk token from POST /kiosk/v1/code is
//    kept in this closure's memory for the session and sent as a bearer token; the daemon's
//    HttpOnly cookie carries it for the <img> preview and the WebSocket. forget() drops it.
//  * The PIN is in memory only for the one POST that sends it; it is never logged or stored.
//  * Every result goes back as an action carrying the generation of the effect, so an answer
//    that arrives after a reset is dropped by the reducer.
import { CONSENT_VERSION, codeErrorOf, parseServerMessage, parseSession, retryAfterSeconds, SESSION_STATES, type SessionState } from './protocol';
import type { Effect } from './state';
import type { Dispatch } from './store';

const PING_MS = 15000;

async function postJson(url: string, body: unknown, token: string | null): Promise<{ status: number; body: unknown; headers: Headers }> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body), credentials: 'same-origin', cache: 'no-store' });
  let parsed: unknown = null;
  try {
    parsed = await res.json();
  } catch {
    parsed = null;
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

function stateOf(body: unknown): SessionState | null {
  const session = parseSession(body) ?? parseSession((body as { session?: unknown } | null)?.session);
  if (session) return session.state;
  const s = (body as { state?: unknown } | null)?.state;
  return typeof s === 'string' && (SESSION_STATES as readonly string[]).includes(s) ? (s as SessionState) : null;
}

export function createEffectRunner(now: () => number = Date.now) {
  let token: string | null = null;
  let socket: WebSocket | null = null;
  let ping: ReturnType<typeof setInterval> | null = null;
  let pending: ReturnType<typeof setTimeout> | null = null;

  const closeSocket = () => {
    if (pending) clearTimeout(pending);
    if (ping) clearInterval(ping);
    pending = ping = null;
    if (socket) {
      const s = socket;
      socket = null;
      s.onclose = s.onmessage = s.onopen = s.onerror = null;
      s.close(1000);
    }
  };

  const run = (e: Effect, dispatch: Dispatch): void => {
    const base = '/kiosk/v1';
    switch (e.type) {
      case 'claim_code':
        postJson(`${base}/code`, { code: e.code }, null)
          .then((r) => {
            const body = r.body as { session?: unknown; kiosk_token?: unknown } | null;
            const session = r.status === 200 ? parseSession(body?.session) : null;
            if (session && typeof body?.kiosk_token === 'string') {
              token = body.kiosk_token;
              dispatch({ type: 'code_claimed', generation: e.generation, session });
            } else {
              const error = r.status === 200 ? 'unavailable' : codeErrorOf(r.status, r.body);
              dispatch({ type: 'code_failed', generation: e.generation, error, retryAfterS: retryAfterSeconds(r.headers.get('Retry-After')), nowMs: now() });
            }
          })
          .catch(() => dispatch({ type: 'code_failed', generation: e.generation, error: 'unavailable', nowMs: now() }));
        return;
      case 'send_consent':
        postJson(`${base}/sessions/${encodeURIComponent(e.sessionId)}/consent`,
          { accepted: e.accepted, locale: e.locale, consent_version: CONSENT_VERSION }, token)
          .then((r) => {
            if (r.status >= 200 && r.status < 300) dispatch({ type: 'consent_sent', generation: e.generation, accepted: e.accepted, state: stateOf(r.body) });
            else dispatch({ type: 'consent_failed', generation: e.generation });
          })
          .catch(() => dispatch({ type: 'consent_failed', generation: e.generation }));
        return;
      case 'send_pin': {
        let pin: string | null = e.pin;
        postJson(`${base}/sessions/${encodeURIComponent(e.sessionId)}/pin`, { pin }, token)
          .then((r) => dispatch(r.status === 202 ? { type: 'pin_sent', generation: e.generation } : { type: 'pin_failed', generation: e.generation }))
          .catch(() => dispatch({ type: 'pin_failed', generation: e.generation }));
        pin = null;
        return;
      }
      case 'open_events':
        closeSocket();
        pending = setTimeout(() => {
          pending = null;
          const url = `ws://${location.host}${base}/sessions/${encodeURIComponent(e.sessionId)}/events`;
          let ws: WebSocket;
          try {
            ws = new WebSocket(url);
          } catch {
            dispatch({ type: 'events_closed', generation: e.generation });
            return;
          }
          socket = ws;
          ws.onopen = () => {
            dispatch({ type: 'events_open', generation: e.generation });
            ping = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send('{"type":"ping"}'), PING_MS);
          };
          ws.onmessage = (m) => {
            const message = typeof m.data === 'string' ? parseServerMessage(m.data) : null;
            if (message) dispatch({ type: 'server', generation: e.generation, message });
          };
          ws.onclose = () => {
            if (socket !== ws) return;
            if (ping) clearInterval(ping);
            ping = null;
            socket = null;
            dispatch({ type: 'events_closed', generation: e.generation });
          };
        }, e.delayMs);
        return;
      case 'close_events':
        closeSocket();
        return;
    }
  };

  return {
    run,
    // Drops the token and the socket (idle reset, finish).
    forget() {
      token = null;
      closeSocket();
    },
  };
}
