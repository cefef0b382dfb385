export * from './bus.js';
export * from './errors.js';
export * from './logger.js';
export * from './subjects.js';
export { DEFAULT_SERVICE_QUEUE } from './service-config.js';
export { createInProcessBus, type InProcessBusOptions } from './in-process-bus.js';
export { createNatsBus, TYPE_HEADER, type NatsBusOptions } from './nats-bus.js';
export * from './type-names.js';
export * from './typed.js';
