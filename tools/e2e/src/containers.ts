import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';

/**
 * Containers of the plex86 test suites run with host networking on loopback
 * (the machines have no bridge network) from local images built by
 * docker/build-local-images.sh, and carry a per-run label so a run can remove
 * whatever a failed start leaves behind.
 */
export const TEST_RUN_LABEL = 'plex86.test-run';

export function testRunId(): string {
  return process.env['PLEX86_TEST_RUN_ID'] ?? 'local';
}

/** A free TCP port on 127.0.0.1, picked by the kernel. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface NatsContainer {
  readonly url: string;
  readonly container: StartedTestContainer;
  stop(): Promise<void>;
}

/** The deployment's nats-server settings (docker/nats/nats-server.conf). */
const NATS_CONFIG = readFileSync(new URL('../../../docker/nats/nats-server.conf', import.meta.url), 'utf8');

/** Starts nats-server (with JetStream) in a container listening on 127.0.0.1, with the deployment's settings. */
export async function startNatsContainer(image = 'plex86/nats:local'): Promise<NatsContainer> {
  const port = await freePort();
  let container: StartedTestContainer;
  try {
    container = await new GenericContainer(image)
      .withNetworkMode('host')
      .withLabels({ [TEST_RUN_LABEL]: testRunId() })
      .withCopyContentToContainer([{ content: NATS_CONFIG, target: '/etc/nats-server.conf' }])
      .withCommand(['-c', '/etc/nats-server.conf', '-a', '127.0.0.1', '-p', String(port), '-js', '-sd', '/data'])
      // Under host networking there are no port bindings to wait for; the log says when it is ready.
      .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
      .withStartupTimeout(30_000)
      .start();
  } catch (e) {
    throw new Error(
      `could not start ${image}: ${(e as Error).message}\n` +
        'Build the local images first (docker/build-local-images.sh) and make sure a Docker engine runs.',
    );
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    container,
    stop: async () => {
      await container.stop({ remove: true });
    },
  };
}
