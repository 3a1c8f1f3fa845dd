// App — picks the screen for the state and handles the physical keyboard: digits, Backspace,
// Escape and Enter work on the keypad screens exactly as the on-screen keys do.
import { useEffect } from 'preact/hooks';
import { visibleScreen, type Action, type KioskState } from '../state';
import { Layout } from './Layout';
import {
  AskStaffScreen, CameraScreen, CardScreen, ChallengeScreen, ConsentScreen, DecidingScreen, DeclinedScreen, EndedScreen,
  LiveScreen, OfflineScreen, PinScreen, ResultScreen, RetryScreen, StartScreen,
} from './Screens';

export const PREVIEW_URL = '/kiosk/v1/preview.mjpg';

export function App(props: { s: KioskState; dispatch: (a: Action) => void; previewUrl?: string }) {
  const { s, dispatch } = props;
  const screen = visibleScreen(s);
  const previewUrl = props.previewUrl ?? PREVIEW_URL;

  useEffect(() => {
    document.documentElement.lang = s.locale;
  }, [s.locale]);

  useEffect(() => {
    if (screen !== 'start' && screen !== 'pin') return;
    const onKey = (e: KeyboardEvent) => {
      if (e.altKey || e.ctrlKey || e.metaKey) return;
      const onButton = e.target instanceof HTMLElement && e.target.tagName === 'BUTTON';
      if (/^[0-9]$/.test(e.key)) dispatch({ type: 'digit', digit: e.key });
      else if (e.key === 'Backspace') dispatch({ type: 'delete' });
      else if (e.key === 'Escape') dispatch({ type: 'clear' });
      else if (e.key === 'Enter' && !onButton) dispatch({ type: 'submit' }); // a focused button handles its own Enter
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [screen, dispatch]);

  const p = { s, dispatch };
  let body;
  switch (screen) {
    case 'start': body = <StartScreen {...p} />; break;
    case 'consent': body = <ConsentScreen {...p} />; break;
    case 'declined': body = <DeclinedScreen {...p} />; break;
    case 'live': body = <LiveScreen {...p} previewUrl={previewUrl} />; break;
    case 'challenge': body = <ChallengeScreen {...p} previewUrl={previewUrl} />; break;
    case 'card': body = <CardScreen {...p} />; break;
    case 'pin': body = <PinScreen {...p} />; break;
    case 'deciding': body = <DecidingScreen {...p} />; break;
    case 'result': body = <ResultScreen {...p} />; break;
    case 'retry': body = <RetryScreen {...p} />; break;
    case 'ask_staff': body = <AskStaffScreen {...p} />; break;
    case 'camera': body = <CameraScreen {...p} />; break;
    case 'ended': body = <EndedScreen {...p} />; break;
    case 'offline': body = <OfflineScreen {...p} />; break;
  }
  // key: a new screen is a new subtree, so its heading takes focus.
  return (
    <Layout locale={s.locale} screen={screen} dispatch={dispatch}>
      <div key={screen} class="screen-body">{body}</div>
    </Layout>
  );
}
