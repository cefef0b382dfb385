import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: import.meta.dirname,
  cacheDir: '../../node_modules/.vite/tools/guest',
  // Workspace packages resolve to their TypeScript sources, so tests need no prior build.
  ssr: { resolve: { conditions: ['@plex86/source'] } },
  test: {
    name: 'guest',
    watch: false,
    environment: 'node',
    include: ['{src,test}/**/*.{test,spec}.ts'],
    reporters: ['default'],
  },
});
