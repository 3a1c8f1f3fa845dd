// Every screen rendered by the real components in jsdom, in both locales: each text node on the
// glass is a catalogue message of that locale (with its placeholders filled), so no screen shows
// text that is not in the catalogue, and no screen shows a score or a reason.
import { render } from 'preact';
import { act } from 'preact/test-utils';
import { describe, expect, it } from 'vitest';
import { App } from '../src/components/App';
import { FIXTURES, fixtureState } from '../src/fixtures';
import { catalogues } from '../src/i18n';
import { LOCALES, type Locale } from '../src/protocol';

function messagePatterns(locale: Locale): RegExp[] {
  return Object.values(catalogues[locale]).map((m) => {
    const escaped = m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\\\{[a-z_]+\\\}/g, '.+');
    return new RegExp(`^${escaped}$`);
  });
}

function textNodes(root: Node): string[] {
  const out: string[] = [];
  const walk = (n: Node) => {
    if (n.nodeType === 3 && n.textContent!.trim()) out.push(n.textContent!.trim());
    n.childNodes.forEach(walk);
  };
  walk(root);
  return out;
}

describe('screens', () => {
  for (const locale of LOCALES) {
    for (const name of Object.keys(FIXTURES)) {
      it(`${name} in ${locale}: only catalogue text, the language switch, a focused heading`, () => {
        const host = document.createElement('div');
        document.body.appendChild(host);
        act(() => render(<App s={fixtureState(name, locale)!} dispatch={() => {}} />, host));
        const patterns = messagePatterns(locale);
        const other = LOCALES.filter((l) => l !== locale);
        for (const text of textNodes(host)) {
          if (/^[0-9●]$/.test(text)) continue; // keypad digits and PIN dots
          const ok = patterns.some((p) => p.test(text)) || other.some((l) => text === catalogues[l][`lang.${l}`]);
          expect(ok, `${name}/${locale}: "${text}"`).toBe(true);
        }
        expect(host.querySelectorAll('.lang button').length).toBe(LOCALES.length);
        expect(host.querySelector('h1')).not.toBeNull();
        expect(document.activeElement).toBe(host.querySelector('h1'));
        expect(host.textContent).not.toMatch(/score|distance|reason|0\.\d\d/i);
        render(null, host);
        host.remove();
      });
    }
  }

  it('the PIN screen shows dots, never the digits', () => {
    const host = document.createElement('div');
    // Inside act() and unmounted at the end: a render left mounted runs its effects on a timer
    // after the jsdom environment is torn down ("document is not defined"), seen under CI load.
    act(() => render(<App s={fixtureState('pin', 'en')!} dispatch={() => {}} />, host));
    const entered = host.querySelector('.entered')!;
    expect(entered.textContent).toBe('●●●●');
    expect(host.innerHTML).not.toContain('1234');
    act(() => render(null, host));
  });
});
