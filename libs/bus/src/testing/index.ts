export { describeBusConformance, type BusFactory } from './conformance.js';
