#!/usr/bin/env node
// Entry point for `npx conveyor` and `npm start`: TypeScript sources are loaded through tsx,
// so a fresh clone needs no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
