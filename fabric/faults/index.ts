// Fault maps, their seeded generators, repair policies and analyses (connectivity, largest fault-free rectangle).
export { FaultMap, faultMapSchema, type FaultMapJson } from './faultMap.js';
