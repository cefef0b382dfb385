import type { TestProject } from 'vitest/node';
import { startNatsServer } from './nats-server.js';

/**
 * Vitest globalSetup: one nats-server (with JetStream) per test project and run, handed to tests as
 * `inject('natsUrl')`, stopped when the run ends.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startNatsServer({ jetstream: true });
  project.provide('natsUrl', server.url);
  return () => server.stop();
}
