// Test-only preload: SIGKILLs the process right after the Nth call of an fs function that touches
// synth's staging or previous output trees, to prove an interrupted synth leaves dist intact.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const call = process.env.KILL_AFTER_CALL;
const limit = Number(process.env.KILL_AFTER_COUNT ?? '1');
if (call && typeof fs[call] === 'function') {
  const original = fs[call];
  let count = 0;
  fs[call] = function patched(...args) {
    const result = original.apply(this, args);
    if (args.some((arg) => typeof arg === 'string' && arg.includes('.dist-'))) {
      count += 1;
      if (count >= limit) process.kill(process.pid, 'SIGKILL');
    }
    return result;
  };
  syncBuiltinESMExports();
}
