// The catalogues: the same keys in both locales, no empty text, the same {placeholders}, every key
// used by the source, and no text written into a component.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import en from '../src/i18n/en.json';
import zhCN from '../src/i18n/zh-CN.json';
import { catalogues, t } from '../src/i18n';

const SRC = join(__dirname, '../src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name: string) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.(ts|tsx)$/.test(name) ? [p] : [];
  });
}

const placeholders = (s: string) => [...s.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]).sort();

describe('i18n catalogues', () => {
  it('zh-CN and en have exactly the same keys', () => {
    expect(Object.keys(zhCN).sort()).toEqual(Object.keys(en).sort());
  });

  it('no message is empty, and both locales use the same placeholders', () => {
    for (const key of Object.keys(en) as (keyof typeof en)[]) {
      expect(en[key].trim(), key).not.toBe('');
      expect(zhCN[key].trim(), key).not.toBe('');
      expect(placeholders(zhCN[key]), key).toEqual(placeholders(en[key]));
    }
  });

  it('the zh-CN catalogue is Chinese: every sentence has CJK characters', () => {
    const sameInBoth = new Set(['app.brand', 'lang.zh-CN', 'lang.en']);
    for (const key of Object.keys(zhCN) as (keyof typeof zhCN)[]) {
      if (sameInBoth.has(key)) continue;
      expect(/[\u4e00-\u9fff]/.test(zhCN[key]), key).toBe(true);
    }
  });

  it('every key is used by the source (no dead messages)', () => {
    const text = sources(SRC).map((p) => readFileSync(p, 'utf8')).join('\n');
    const unused = Object.keys(en).filter((k) => !text.includes(`'${k}'`) && !text.includes(`"${k}"`));
    expect(unused).toEqual([]);
  });

  it('components hold no text of their own: no letters in JSX text or in text attributes', () => {
    for (const file of sources(join(SRC, 'components'))) {
      const code = readFileSync(file, 'utf8').replace(/\/\/.*$/gm, '');
      const jsxText = [...code.matchAll(/(?<!=)>([^<>{}`]*)[<{]/g)].map((m) => m[1].trim()).filter((s) => /[A-Za-z\u4e00-\u9fff]/.test(s) && !/[;=]/.test(s)); // code between tags has ; or =
      expect(jsxText, file).toEqual([]);
      const attrs = [...code.matchAll(/\b(alt|aria-label|title|placeholder)="([^"]*)"/g)].map((m) => m[0]);
      expect(attrs, file).toEqual([]);
    }
  });

  it('t() fills placeholders and formats numbers for the locale', () => {
    expect(t('en', 'retry.attempt', { attempt: 2, max: 3 })).toBe('Attempt 2 of 3');
    expect(t('zh-CN', 'retry.attempt', { attempt: 2, max: 3 })).toBe('第 2 次，共 3 次');
    expect(t('en', 'error.too_many_attempts', { s: 42 })).toContain('42 seconds');
    expect(t('en', 'retry.attempt', { attempt: 1 })).toContain('{max}'); // a missing param stays visible
    expect(catalogues['zh-CN']['start.title']).toBe(zhCN['start.title']);
  });
});
