// Fault maps, their seeded generators, repair policies and analyses (connectivity, largest fault-free rectangle).
export { FaultMap, faultMapSchema, type FaultMapJson } from './faultMap.js';
export { generateFaults, stapperYield, DEFAULT_FAULT_SPLIT, type FaultGenOptions, type FaultSplit } from './generate.js';
export { Mulberry32, streamSeed } from './random.js';
export { meshComponents, assertConnected, largestFaultFreeRectangle, assertFaultMapSize, type MeshComponents, type Rectangle } from './analysis.js';
export { remapRepair, remapDefects, REPAIR_POLICIES, type RepairPolicy, type RepairGeometry, type RemapResult } from './repair.js';
