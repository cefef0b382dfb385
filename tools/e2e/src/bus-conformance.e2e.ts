import { createNatsBus } from '@plex86/bus';
import { describeBusConformance } from '@plex86/bus/testing';
import { afterAll, beforeAll } from 'vitest';
import { startNatsContainer, type NatsContainer } from './containers.js';

// The bus conformance suite, once more, against nats-server running in a container.
let nats: NatsContainer | undefined;

beforeAll(async () => {
  nats = await startNatsContainer();
});

afterAll(async () => {
  await nats?.stop();
});

describeBusConformance('NATS bus against nats-server in a container', () => {
  if (!nats) throw new Error('the nats-server container did not start');
  return createNatsBus({ servers: nats.url, name: 'e2e-conformance' });
});
