// Builds the kiosk page (dist/, served by `veridge serve` under /kiosk/) and, with --mode fixture,
// the test-only fixture page (dist-fixture/, never deployed) that renders any screen from the
// reducer so the browser tests can check screens the daemon cannot drive yet.
/// <reference types="vitest/config" />
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig(({ mode }) => {
  const fixture = mode === 'fixture';
  return {
    base: '/kiosk/',
    publicDir: false,
    // The fixture page is the same index.html with fixture/main.tsx as its entry.
    resolve: fixture ? { alias: [{ find: /^\/src\/main\.tsx$/, replacement: fileURLToPath(new URL('./fixture/main.tsx', import.meta.url)) }] } : {},
    esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
    build: {
      outDir: fixture ? 'dist-fixture' : 'dist',
      emptyOutDir: true,
      target: 'es2020',
      // Strict CSP: no inline script, no data: fonts or scripts; everything is a file under /kiosk/assets/.
      modulePreload: { polyfill: false },
      assetsInlineLimit: 0,
      sourcemap: false,
    },
    test: { environment: 'jsdom', include: ['test/**/*.test.{ts,tsx}'] },
  };
});
