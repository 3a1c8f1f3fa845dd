// i18n — the message catalogues (one JSON file per locale) and the one lookup function. Every
// string the page shows comes from here; components never hold text of their own.
//
// Contract
//  * MessageKey is the key set of en.json; the type of `catalogues` makes the compiler refuse a
//    zh-CN.json without every key. test/i18n.test.ts checks both ways and that no key is unused.
//  * t(locale, key, params) substitutes {name} placeholders with the params' text (numbers
//    formatted for the locale); an unknown placeholder stays visible so a test catches it.
import type { Locale } from '../protocol';
import en from './en.json';
import zhCN from './zh-CN.json';

export type MessageKey = keyof typeof en;
export const catalogues: Record<Locale, Record<MessageKey, string>> = { en, 'zh-CN': zhCN };

export function t(locale: Locale, key: MessageKey, params?: Record<string, string | number>): string {
  const text = catalogues[locale][key];
  if (!params) return text;
  return text.replace(/\{([a-z_]+)\}/g, (whole, name: string) => {
    const v = params[name];
    if (v === undefined) return whole;
    return typeof v === 'number' ? v.toLocaleString(locale) : v;
  });
}
