#!/usr/bin/env node
// Runs the TypeScript sources through tsx, so a fresh clone needs no separate build step (the .wat kernels are
// assembled in `prepare`). Worker threads load .ts the same way (see src/workers).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
