// Values the nats-server global setup hands to tests through `inject()`.
// Add this file to a project's tsconfig.spec.json `files` to type `inject('natsUrl')`.
import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `nats://127.0.0.1:<port>` of the nats-server started for this test project. */
    natsUrl: string;
  }
}
