import { defineConfig } from 'vitest/config';

// All unit and integration test projects; container tests (tools/e2e) run on their own.
export default defineConfig({
  test: {
    projects: ['libs/*/vitest.config.mts', 'services/*/vitest.config.mts', 'tools/*/vitest.config.mts'],
    coverage: {
      provider: 'v8',
      include: ['libs/*/src/**/*.ts', 'services/*/src/**/*.ts', 'tools/*/src/**/*.ts'],
      exclude: ['**/src/gen/**', '**/src/generated/**', '**/*.test.ts', '**/*.spec.ts', '**/main.ts'],
      reporter: ['text-summary', 'lcov'],
      reportsDirectory: 'coverage',
    },
  },
});
