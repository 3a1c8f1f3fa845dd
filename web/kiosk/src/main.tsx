// The kiosk page: loads the daemon's [kiosk] settings, creates the store, runs the effects, the
// idle reset and the lock-out countdown, and renders App.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { App } from './components/App';
import { loadConfig } from './config';
import { createEffectRunner } from './effects';
import { idleResets, initialState, visibleScreen, type Action } from './state';
import { createStore, type Store } from './store';
import './styles.css';

// Taps and keys: the applicant is still there.
const USER_ACTIONS: ReadonlySet<Action['type']> = new Set(['locale', 'digit', 'delete', 'clear', 'submit', 'consent', 'finish']);

function Root({ store }: { store: Store }) {
  const [s, set] = useState(store.get());
  useEffect(() => store.subscribe((next) => set(next)), [store]);
  return <App s={s} dispatch={store.dispatch} />;
}

async function start() {
  const config = await loadConfig();
  const runner = createEffectRunner();
  const store = createStore(initialState(config.defaultLocale, 0, Date.now()), runner.run);

  let idle: ReturnType<typeof setTimeout> | null = null;
  let shown = visibleScreen(store.get());
  const armIdle = () => {
    if (idle) clearTimeout(idle);
    idle = idleResets(store.get()) ? setTimeout(() => store.dispatch({ type: 'idle_reset' }), config.idleResetMs) : null;
  };
  store.subscribe((s, a) => {
    if (a.type === 'idle_reset' || a.type === 'finish') runner.forget();
    const now = visibleScreen(s);
    if (USER_ACTIONS.has(a.type) || now !== shown || a.type === 'idle_reset') armIdle();
    shown = now;
  });
  setInterval(() => {
    if (store.get().lockedUntilMs !== null) store.dispatch({ type: 'tick', nowMs: Date.now() });
  }, 1000);
  armIdle();
  render(<Root store={store} />, document.getElementById('app')!);
}

void start();
