import baseConfig from '../../eslint.config.mjs';

// The x86 core is pure: it computes on bytes it is given and never performs I/O.
const IO_MODULES = [
  'fs',
  'net',
  'http',
  'https',
  'child_process',
  'dgram',
  'tls',
  'worker_threads',
  'os',
  'process',
  'readline',
  'stream',
];

export default [
  ...baseConfig,
  {
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.test.ts', 'src/**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: IO_MODULES.flatMap((m) => [m, `node:${m}`]).map((name) => ({
            name,
            message: 'libs/x86 performs no I/O.',
          })),
          patterns: [{ group: ['@nats-io/*', 'fs/*', 'node:fs/*'], message: 'libs/x86 performs no I/O.' }],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'libs/x86 performs no I/O.' },
        { name: 'require', message: 'libs/x86 performs no I/O.' },
      ],
    },
  },
];
