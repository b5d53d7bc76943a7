import fs, { promises } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folders of app and construct code of this library (compositions in other projects import it). */
const LIBRARY = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Thrown where app or construct code reads the environment or the file system while it builds. */
export class SandboxError extends Error {}

const FS_SYNC = [
  'readFileSync',
  'readdirSync',
  'existsSync',
  'statSync',
  'lstatSync',
  'openSync',
  'realpathSync',
  'accessSync',
  'opendirSync',
] as const;
const FS_ASYNC = ['readFile', 'readdir', 'stat', 'lstat', 'open', 'access', 'opendir'] as const;
const FS_PROMISES = ['readFile', 'readdir', 'stat', 'lstat', 'open', 'access', 'opendir'] as const;

/**
 * Runs `build` with no usable environment or file system for app and construct code: reading
 * `process.env` or calling `fs` directly from a file under `apps/` or `constructs/` (of the
 * project or of this library) throws, so synth reports it with the construct path; library
 * code sees an empty environment. (A library that reads a file on a construct's behalf, like
 * cdk8s-plus ConfigMap.addFile, is not stopped.)
 */
export function withoutHost<T>(root: string, build: () => T): T {
  const guarded = [join(root, 'apps'), join(root, 'constructs'), join(LIBRARY, 'apps'), join(LIBRARY, 'constructs')].map(
    (dir) => `${dir}/`,
  );
  const self = fileURLToPath(import.meta.url);
  // The code that made the call: the first frame outside this file. A library that app code calls
  // (cdk8s reading its own settings) is not refused; it sees the empty environment.
  const fromProjectCode = (): boolean => {
    const frames = (new Error().stack ?? '').split('\n').slice(1);
    const caller = frames.find((line) => !line.includes(self) && !line.includes('(<anonymous>)') && !/^\s+at new Promise/.test(line));
    return caller !== undefined && guarded.some((dir) => caller.includes(dir));
  };
  const refuse = (what: string): never => {
    throw new SandboxError(
      `${what} while building: apps and constructs read nothing but the typed inventory (the environment and files differ between machines); pass the value in through the inventory`,
    );
  };
  const env = process.env;
  const empty = new Proxy({} as NodeJS.ProcessEnv, {
    get: (_target, key) => (typeof key === 'string' && fromProjectCode() ? refuse(`reading process.env.${key}`) : undefined),
    has: (_target, key) => (typeof key === 'string' && fromProjectCode() ? refuse(`reading process.env.${key}`) : false),
    ownKeys: () => (fromProjectCode() ? refuse('listing process.env') : []),
  });
  const saved = new Map<string, unknown>();
  const wrap = (target: Record<string, unknown>, name: string, label: string) => {
    const original = target[name];
    if (typeof original !== 'function') return;
    saved.set(`${label}.${name}`, original);
    target[name] = function guardedCall(this: unknown, ...args: unknown[]) {
      if (fromProjectCode()) refuse(`calling ${label}.${name}(${typeof args[0] === 'string' ? JSON.stringify(args[0]) : ''})`);
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
  };
  const fsObject = fs as unknown as Record<string, unknown>;
  const promisesObject = promises as unknown as Record<string, unknown>;
  for (const name of [...FS_SYNC, ...FS_ASYNC]) wrap(fsObject, name, 'fs');
  for (const name of FS_PROMISES) wrap(promisesObject, name, 'fs.promises');
  syncBuiltinESMExports();
  process.env = empty;
  try {
    return build();
  } finally {
    process.env = env;
    for (const [key, original] of saved) {
      const [label, name] = key.split(/\.(?=[^.]+$)/) as [string, string];
      (label === 'fs' ? fsObject : promisesObject)[name] = original;
    }
    syncBuiltinESMExports();
  }
}
