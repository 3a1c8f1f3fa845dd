// config.ts — the page's settings from the daemon (GET /kiosk/config.json: [kiosk] in the daemon's
// configuration), with the documented defaults when it cannot be read.
import { LOCALES, type Locale } from './protocol';

export interface KioskConfig {
  defaultLocale: Locale;
  idleResetMs: number;
}

export const DEFAULT_CONFIG: KioskConfig = { defaultLocale: 'zh-CN', idleResetMs: 60000 };

export function parseConfig(j: unknown): KioskConfig {
  const o = (typeof j === 'object' && j !== null ? j : {}) as Record<string, unknown>;
  const locales = Array.isArray(o.locales) ? o.locales.filter((l): l is Locale => (LOCALES as readonly unknown[]).includes(l)) : [];
  const idle = o.idle_reset_ms;
  return {
    defaultLocale: locales[0] ?? DEFAULT_CONFIG.defaultLocale,
    idleResetMs: typeof idle === 'number' && Number.isInteger(idle) && idle >= 5000 && idle <= 3600000 ? idle : DEFAULT_CONFIG.idleResetMs,
  };
}

export async function loadConfig(): Promise<KioskConfig> {
  try {
    const r = await fetch('/kiosk/config.json', { cache: 'no-store', credentials: 'same-origin' });
    return r.ok ? parseConfig(await r.json()) : DEFAULT_CONFIG;
  } catch {
    return DEFAULT_CONFIG;
  }
}
