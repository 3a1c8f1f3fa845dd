// Layout — every screen's frame: the title bar with the language switch (on every screen), and
// the screen itself in <main>. The switch buttons name each language in that language.
import { LOCALES, type Locale } from '../protocol';
import { t, type MessageKey } from '../i18n';
import type { Action } from '../state';
import type { ComponentChildren } from 'preact';

const LANGUAGE_NAME: Record<Locale, MessageKey> = { 'zh-CN': 'lang.zh-CN', en: 'lang.en' };

export function Layout(props: { locale: Locale; screen: string; dispatch: (a: Action) => void; children: ComponentChildren }) {
  const { locale, dispatch } = props;
  return (
    <div class="frame" data-screen={props.screen}>
      <header class="bar">
        <span class="brand">{t(locale, 'app.brand')}</span>
        <span class="app-title">{t(locale, 'app.title')}</span>
        <nav class="lang" aria-label={t(locale, 'lang.label')}>
          {LOCALES.map((l) => (
            <button type="button" key={l} lang={l} class="lang-button" aria-pressed={l === locale}
              onClick={() => dispatch({ type: 'locale', locale: l })}>
              {t(l, LANGUAGE_NAME[l])}
            </button>
          ))}
        </nav>
      </header>
      <main class="screen">{props.children}</main>
    </div>
  );
}
