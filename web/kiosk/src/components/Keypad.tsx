// Keypad — the on-screen number pad of the start and PIN screens. Native <button>s, so Tab,
// Enter and Space work; digits typed on a keyboard are handled once, in App (not here).
import type { Locale } from '../protocol';
import { t } from '../i18n';
import type { Action } from '../state';

const ROWS = [['1', '2', '3'], ['4', '5', '6'], ['7', '8', '9']];

export function Keypad(props: { locale: Locale; disabled: boolean; dispatch: (a: Action) => void }) {
  const { locale, disabled, dispatch } = props;
  return (
    <div class="keypad" role="group" aria-label={t(locale, 'keypad.label')}>
      {ROWS.flat().map((d) => (
        <button type="button" class="key" key={d} disabled={disabled} onClick={() => dispatch({ type: 'digit', digit: d })}>
          {d}
        </button>
      ))}
      <button type="button" class="key key-word" disabled={disabled} onClick={() => dispatch({ type: 'clear' })}>
        {t(locale, 'keypad.clear')}
      </button>
      <button type="button" class="key" disabled={disabled} onClick={() => dispatch({ type: 'digit', digit: '0' })}>
        0
      </button>
      <button type="button" class="key key-word" disabled={disabled} onClick={() => dispatch({ type: 'delete' })}>
        {t(locale, 'keypad.delete')}
      </button>
    </div>
  );
}

// The boxes showing what was typed: digits for the code, dots for the PIN (never the digits).
export function Entered(props: { value: string; length: number; masked: boolean; label: string }) {
  const cells = Array.from({ length: props.length }, (_, i) => (i < props.value.length ? (props.masked ? '●' : props.value[i]) : ''));
  return (
    <div class="entered" role="status" aria-label={props.label}>
      {cells.map((c, i) => (
        <span key={i} class={c ? 'cell filled' : 'cell'} aria-hidden="true">
          {c}
        </span>
      ))}
    </div>
  );
}
