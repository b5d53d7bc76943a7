import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    pool: 'forks',
    // Vitest leaves one core free by default, which on a two-core machine runs the files one by
    // one; many of them wait on child processes (kustomize, helm, synth), so two at once pay.
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
