// The result of an earlier synth, repeated when nothing that run read has changed. A run of the
// bundle records every fact of the host it read (each file's content, each folder's listing,
// each stat and existence, each environment variable) with what it printed; the next identical
// command (same options, folder, bundle and Node) checks those facts again, one by one, and
// when all still hold prints the same result without loading the bundle. App and construct code
// cannot reach the host while synth builds (pipeline/sandbox.ts), so what synth prints depends
// on nothing else. Anything the recording cannot replay (a process started, the clock read,
// the environment listed, a file read through a descriptor, a write outside .cache/) and any
// run that fails or writes leaves no record. Plain JavaScript: it runs before the bundle loads.
import childProcess from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import os from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Bumped when what a record holds, or how a fact is described, changes. */
const FORMAT = 1;
/** The folder of records, in the launcher's cache. */
const FOLDER = 'results';
/** Renders even when an identical earlier run's result could be repeated (and records the new one). */
export const NO_CACHE = '--no-cache';
/** The options of a synth whose result can be repeated (with --out DIR): --timings measures a render, --deep runs tools. */
const REPEATABLE = new Set(['--check', '--production']);

/** The real functions, taken before a recording replaces them: replaying a fact uses these. */
const realFs = { ...fs };
const realRealpathNative = fs.realpathSync.native;

/** Calls whose result is a fact: replayed through the function of the same name. */
const SYNC_FACTS = ['readFileSync', 'readdirSync', 'statSync', 'lstatSync', 'existsSync', 'realpathSync', 'accessSync', 'readlinkSync'];
/** The promise functions of the same facts, replayed through the synchronous ones. */
const PROMISE_FACTS = {
  readFile: 'readFileSync',
  readdir: 'readdirSync',
  stat: 'statSync',
  lstat: 'lstatSync',
  realpath: 'realpathSync',
  access: 'accessSync',
  readlink: 'readlinkSync',
};
/** Functions that read through a descriptor: what they read is no fact a record can check again. */
const DESCRIPTOR_READS = new Set(['read', 'readSync', 'readv', 'readvSync', 'fstat', 'fstatSync']);
/** Functions whose first two arguments are paths (the rest take one). */
const TWO_PATHS = new Set([
  'rename',
  'renameSync',
  'copyFile',
  'copyFileSync',
  'cp',
  'cpSync',
  'link',
  'linkSync',
  'symlink',
  'symlinkSync',
]);

class Untracked extends Error {}

function sha256(value) {
  return createHash('sha256').update(value).digest('hex');
}

/** What a fact's call returned, in one comparable line. */
function describe(value) {
  if (value === undefined) return 'none';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'string' || Buffer.isBuffer(value)) return `sha256:${sha256(value)}`;
  if (Array.isArray(value)) return `list:${sha256(value.map(describeEntry).join('\n'))}`;
  if (typeof value === 'object' && typeof value.isFile === 'function' && 'mtimeMs' in value) {
    return `stat:${kind(value)}:${value.size}:${value.mode}:${value.mtimeMs}`;
  }
  throw new Untracked(`a result of type ${typeof value}`);
}

function describeEntry(entry) {
  if (typeof entry === 'string') return entry;
  if (Buffer.isBuffer(entry)) return `hex:${entry.toString('hex')}`;
  if (typeof entry === 'object' && entry !== null && typeof entry.isFile === 'function') {
    return `${entry.parentPath ?? entry.path ?? ''}\0${entry.name}\0${kind(entry)}`;
  }
  throw new Untracked('a listing entry');
}

function kind(entry) {
  if (entry.isFile()) return 'file';
  if (entry.isDirectory()) return 'dir';
  if (entry.isSymbolicLink()) return 'link';
  return 'other';
}

function describeError(error) {
  return `error:${error?.code ?? error?.name ?? 'unknown'}`;
}

/** A call's arguments as a record keeps them: paths as strings, options as plain data. */
function recordedArguments(args) {
  const kept = [...args];
  while (kept.length > 0 && kept[kept.length - 1] === undefined) kept.pop();
  return kept.map((arg) => {
    if (typeof arg === 'number') throw new Untracked('a file descriptor');
    if (typeof arg === 'string' || typeof arg === 'boolean' || arg === null) return arg;
    if (arg instanceof URL) return fileURLToPath(arg);
    if (typeof arg === 'object' && Object.getPrototypeOf(arg) === Object.prototype) {
      const options = JSON.parse(JSON.stringify(arg));
      if (JSON.stringify(options) !== JSON.stringify(arg) || Object.values(arg).some((value) => typeof value === 'function')) {
        throw new Untracked('options that are not plain data');
      }
      return options;
    }
    throw new Untracked('an argument that is not a path or plain options');
  });
}

/** What replaying a recorded fact gives now. */
function replayFact(name, args) {
  try {
    const result = name === 'realpathSync.native' ? realRealpathNative(...args) : realFs[name](...args);
    return describe(result);
  } catch (error) {
    if (error instanceof Untracked) return 'untracked';
    return describeError(error);
  }
}

/** Whether a command's result may be repeated (and recorded): a plain synth, or its --check. */
export function repeatable(command, args) {
  if (command !== 'synth') return false;
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index];
    if (arg === '--out' && index + 1 < args.length) index += 1;
    else if (arg !== NO_CACHE && !REPEATABLE.has(arg) && !arg.startsWith('--out=')) return false;
  }
  return true;
}

/** Where the record of this command, run from this folder by this Node through this bundle, is kept. */
function recordFile(cache, command, args, bundle) {
  const options = args.filter((arg) => arg !== NO_CACHE);
  const identity = [
    FORMAT,
    command,
    options,
    process.cwd(),
    relative(cache, bundle),
    process.version,
    process.platform,
    process.arch,
    process.execArgv,
    Boolean(process.stdout.isTTY),
    Boolean(process.stderr.isTTY),
  ];
  return join(cache, FOLDER, `${command}-${sha256(JSON.stringify(identity)).slice(0, 32)}.json`);
}

const SUMMARY = /^(synth(?: --check)?: [^\n]*) in \d+\.\d\d s$/m;
/** What the summary line of a repeated result says after its time. */
export const REPEATED_NOTE = '(the result of the last run: nothing it read has changed)';

/**
 * Prints the recorded result of this command and returns true when every fact its run read
 * still holds; returns false (printing nothing) when any changed or there is no record.
 */
export function repeatResult(cache, command, args, bundle) {
  if (!repeatable(command, args) || args.includes(NO_CACHE)) return false;
  let record;
  try {
    record = JSON.parse(realFs.readFileSync(recordFile(cache, command, args, bundle), 'utf8'));
  } catch {
    return false;
  }
  if (record?.format !== FORMAT || !Array.isArray(record.facts) || !Array.isArray(record.output)) return false;
  for (const [name, value] of Object.entries(record.env ?? {})) {
    if (describeEnv(process.env[name]) !== value) return false;
  }
  for (const [name, factArgs, value] of record.facts) {
    if (replayFact(name, factArgs) !== value) return false;
  }
  const seconds = (performance.now() / 1000).toFixed(2);
  process.exitCode = 0;
  // A reader that stops early (`npm run synth | head`) closes the pipe: stop quietly, as synth does.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error) => {
      if (error.code !== 'EPIPE') throw error;
      process.exit();
    });
  }
  for (const [stream, text] of record.output) {
    const shown = stream === 'out' ? text.replace(SUMMARY, `$1 in ${seconds} s ${REPEATED_NOTE}`) : text;
    (stream === 'out' ? process.stdout : process.stderr).write(shown);
  }
  return true;
}

function describeEnv(value) {
  return value === undefined ? 'unset' : `sha256:${sha256(value)}`;
}

/**
 * Records what this run of the bundle reads and prints. Call it before the bundle runs, and the
 * function it returns once the bundle's top level has run: the record is written at exit when
 * the command settled with status 0 and nothing it did was left out of the record.
 */
export function recordResult(cache, command, args, bundle) {
  if (!repeatable(command, args)) return () => {};
  const cacheDir = resolve(cache);
  const facts = [];
  const seen = new Map();
  const env = Object.create(null);
  const output = [];
  let leftOut;
  let depth = 0;
  const leaveOut = (why) => {
    leftOut ??= why;
  };
  const note = (name, args, value) => {
    let kept;
    try {
      kept = recordedArguments(args);
    } catch (error) {
      leaveOut(`${name}: ${error.message}`);
      return;
    }
    const line = JSON.stringify([name, kept]);
    const earlier = seen.get(line);
    if (earlier !== undefined) {
      // Changed while the run read it: which of the two the result holds is not known.
      if (earlier !== value) leaveOut(`${name}: a different result the second time`);
      return;
    }
    seen.set(line, value);
    facts.push([name, kept, value]);
  };
  const noteResult = (name, args, result) => {
    let value;
    try {
      value = describe(result);
    } catch (error) {
      if (!(error instanceof Untracked)) throw error;
      leaveOut(`${name}: an untracked result`);
      return;
    }
    note(name, args, value);
  };
  const insideCache = (arg) => {
    if (typeof arg !== 'string' && !(arg instanceof URL)) return false;
    const path = resolve(arg instanceof URL ? fileURLToPath(arg) : arg);
    return path === cacheDir || path.startsWith(`${cacheDir}${sep}`);
  };

  const trackSync = (name, original) =>
    function trackedFact(...args) {
      if (depth > 0) return original.apply(this, args);
      depth += 1;
      let result;
      try {
        result = original.apply(this, args);
      } catch (error) {
        depth -= 1;
        note(name, args, describeError(error));
        throw error;
      }
      depth -= 1;
      noteResult(name, args, result);
      return result;
    };
  const trackPromise = (name, original) =>
    async function trackedFact(...args) {
      let result;
      try {
        result = await original.apply(this, args);
      } catch (error) {
        note(name, args, describeError(error));
        throw error;
      }
      noteResult(name, args, result);
      return result;
    };
  // Everything else may only work inside the cache (the bundle's own files) or on descriptors
  // it opened there; reading through a descriptor is no fact.
  const confine = (label, name, original) =>
    function confinedCall(...args) {
      if (depth > 0) return original.apply(this, args);
      const paths = args.slice(0, TWO_PATHS.has(name) ? 2 : 1);
      if (DESCRIPTOR_READS.has(name) || !paths.every((arg) => typeof arg === 'number' || insideCache(arg))) {
        leaveOut(`${label}${name}(${typeof args[0] === 'string' ? args[0] : ''})`);
      }
      depth += 1;
      try {
        return original.apply(this, args);
      } finally {
        depth -= 1;
      }
    };
  const refuse = (label, name, original) =>
    function escapingCall(...args) {
      leaveOut(`${label}${name}`);
      return original.apply(this, args);
    };

  const replace = (target, name, replacement) => {
    const original = target[name];
    for (const key of Reflect.ownKeys(original)) {
      if (key === 'length' || key === 'name' || key === 'prototype') continue;
      const property = Object.getOwnPropertyDescriptor(original, key);
      if (property) Object.defineProperty(replacement, key, property);
    }
    target[name] = replacement;
  };
  const functions = (target) => Object.keys(target).filter((name) => typeof target[name] === 'function' && !/^[A-Z]/.test(name));
  for (const name of functions(fs)) {
    if (SYNC_FACTS.includes(name)) replace(fs, name, trackSync(name, fs[name]));
    else replace(fs, name, confine('fs.', name, fs[name]));
  }
  fs.realpathSync.native = trackSync('realpathSync.native', realRealpathNative);
  for (const name of functions(fs.promises)) {
    const sync = PROMISE_FACTS[name];
    if (sync) replace(fs.promises, name, trackPromise(sync, fs.promises[name]));
    else replace(fs.promises, name, confine('fs.promises.', name, fs.promises[name]));
  }
  for (const name of functions(childProcess)) replace(childProcess, name, refuse('child_process.', name, childProcess[name]));
  for (const name of functions(os)) replace(os, name, refuse('os.', name, os[name]));
  syncBuiltinESMExports();

  // The clock: a result that depends on the time cannot be repeated.
  const RealDate = globalThis.Date;
  globalThis.Date = new Proxy(RealDate, {
    construct(target, constructArgs, newTarget) {
      if (constructArgs.length === 0) leaveOut('new Date()');
      return Reflect.construct(target, constructArgs, newTarget);
    },
    apply(target, thisArg, callArgs) {
      leaveOut('Date()');
      return Reflect.apply(target, thisArg, callArgs);
    },
    get(target, key, receiver) {
      if (key === 'now') {
        return () => {
          leaveOut('Date.now()');
          return target.now();
        };
      }
      return Reflect.get(target, key, receiver);
    },
  });

  const noteVariable = (target, key) => {
    if (typeof key === 'string' && !(key in env)) env[key] = describeEnv(target[key]);
  };
  process.env = new Proxy(process.env, {
    get(target, key) {
      noteVariable(target, key);
      return Reflect.get(target, key);
    },
    has(target, key) {
      noteVariable(target, key);
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      leaveOut('listing process.env');
      return Reflect.ownKeys(target);
    },
  });

  for (const [stream, tag] of [
    [process.stdout, 'out'],
    [process.stderr, 'err'],
  ]) {
    const write = stream.write;
    stream.write = function capturedWrite(chunk, ...rest) {
      output.push([tag, typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')]);
      return write.call(this, chunk, ...rest);
    };
  }

  const file = recordFile(cache, command, args, bundle);
  return () => {
    // Last among the exit listeners: the command's own have settled its status by then.
    process.on('exit', (code) => {
      if (code !== 0 || process.exitCode !== 0 || leftOut !== undefined) return;
      try {
        realFs.mkdirSync(join(cache, FOLDER), { recursive: true });
        const temporary = `${file}.${process.pid}`;
        realFs.writeFileSync(temporary, JSON.stringify({ format: FORMAT, env, facts, output }));
        realFs.renameSync(temporary, file);
      } catch {
        // Only the next identical run renders again.
      }
    });
  };
}
