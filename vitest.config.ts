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
    // One module graph per worker, not one per file: every file imports the pipeline, the
    // library and the model packages, and importing them again for each of 81 files cost 18 s of
    // the suite's CPU (63 s → 44 s on two cores). No test patches a module or leaves a global
    // changed (storage-app restores the one variable it sets); the files pass in shuffled order.
    isolate: false,
    // Runs before each file (a module of the shared graph would run once): its temporary folders go with it.
    setupFiles: ['test/helpers/cleanup.ts'],
  },
});
