import { Worker } from 'node:worker_threads';

/** Reports progress to a watchdog; each step must finish within the limit. */
export interface Watchdog {
  /** Starts the next step (the one a timeout names). */
  step(what: string): void;
  /** Ends the watch: the command finished its work. */
  stop(): void;
}

/** A watchdog that watches nothing (library use, tests). */
export const NO_WATCHDOG: Watchdog = { step: () => undefined, stop: () => undefined };

const LABEL_BYTES = 1024;

// Runs on its own thread, so an endless loop on the main thread cannot stop it. It writes its
// line straight to the standard error (the main thread's streams are not served while it
// loops) and kills the process: nothing is written after a step that never ends.
const WATCHER = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const { state, label, seconds, command } = workerData;
let seen = Atomics.load(state, 0);
for (;;) {
  const outcome = Atomics.wait(state, 0, seen, seconds * 1000);
  const now = Atomics.load(state, 0);
  if (now < 0) break;
  if (outcome === 'timed-out' && now === seen) {
    const what = new TextDecoder().decode(label.slice(0, Atomics.load(state, 1)));
    writeSync(2, command + ': ' + what + ' did not finish within ' + seconds + ' s (an endless loop or a blocking call in app or construct code, or an input too large for this step?); stopped, nothing written. Set SYNTH_STEP_TIMEOUT=<seconds> to allow longer steps\\n');
    process.kill(process.pid, 'SIGKILL');
  }
  seen = now;
}
`;

/**
 * Watches a command's steps from another thread: when one step runs longer than `seconds`,
 * the watchdog prints which step and ends the process with a failure.
 */
export function startWatchdog(command: string, seconds: number): Watchdog {
  const state = new Int32Array(new SharedArrayBuffer(8));
  const label = new Uint8Array(new SharedArrayBuffer(LABEL_BYTES));
  const worker = new Worker(WATCHER, { eval: true, workerData: { state, label, seconds, command }, stdout: false, stderr: false });
  worker.unref();
  const encoder = new TextEncoder();
  return {
    step(what) {
      const { written } = encoder.encodeInto(what, label);
      Atomics.store(state, 1, written);
      if (Atomics.load(state, 0) >= 0) Atomics.add(state, 0, 1);
      Atomics.notify(state, 0);
    },
    stop() {
      Atomics.store(state, 0, -1);
      Atomics.notify(state, 0);
    },
  };
}

/** The step limit a command reads from SYNTH_STEP_TIMEOUT (seconds), or an error for a bad value. */
export function stepTimeout(value: string | undefined, fallback: number): number | { error: string } {
  if (value === undefined || value === '') return fallback;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    return { error: `SYNTH_STEP_TIMEOUT must be a positive number of seconds, not "${value}"` };
  }
  return seconds;
}
