import childProcess from 'node:child_process';
import nodeCrypto from 'node:crypto';
import dgram from 'node:dgram';
import dns from 'node:dns';
import fs, { promises } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import workerThreads from 'node:worker_threads';
import { frameFile } from './bundle.js';

/** The folders of app and construct code of this library (compositions in other projects import it). */
const LIBRARY = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SELF = fileURLToPath(import.meta.url);

/** Thrown where app or construct code reaches the host (environment, files, processes, clock) while it builds. */
export class SandboxError extends Error {}

/**
 * Modules whose every function app code may not call: the file system, processes, the network,
 * the host's facts. Their constructors (fs.Stats, net.Socket) stay, and so do the functions of
 * PURE that compute from their arguments alone.
 */
const GUARDED_MODULES: readonly (readonly [string, object])[] = [
  ['fs', fs],
  ['fs.promises', promises],
  ['child_process', childProcess],
  ['os', os],
  ['net', net],
  ['tls', tls],
  ['http', http],
  ['https', https],
  ['http2', http2],
  ['dns', dns],
  ['dns.promises', dns.promises],
  ['dgram', dgram],
  ['worker_threads', workerThreads],
];

/** Functions of guarded modules that compute from their arguments alone (net.isIP). */
const PURE = new Set([
  'net.isIP',
  'net.isIPv4',
  'net.isIPv6',
  'http.validateHeaderName',
  'http.validateHeaderValue',
  'tls.checkServerIdentity',
  'worker_threads.isMarkedAsUntransferable',
]);

/** Functions of `process` that reach the host or end the process. */
const PROCESS_FUNCTIONS = [
  'cwd',
  'chdir',
  'hrtime',
  'uptime',
  'memoryUsage',
  'cpuUsage',
  'resourceUsage',
  'kill',
  'abort',
  'reallyExit',
  'dlopen',
  'binding',
  'getuid',
  'geteuid',
  'getgid',
  'getegid',
  'getgroups',
  'umask',
] as const;
/** Facts of `process` that differ between machines or runs. */
const PROCESS_FACTS = ['argv', 'execArgv', 'execPath', 'pid', 'ppid', 'title', 'stdin', 'platform', 'arch', 'version', 'versions'] as const;
/** Globals that schedule work after the build or read the clock and chance. */
const GLOBAL_FUNCTIONS = ['setTimeout', 'setInterval', 'setImmediate', 'fetch'] as const;

const REASON =
  'apps and constructs read nothing but the typed inventory and run nothing after their build (the environment, files, clock and processes differ between machines and runs); pass the value in through the inventory';

interface CallSite {
  getFileName(): string | null | undefined;
  getLineNumber(): number | null;
  getColumnNumber(): number | null;
}

/** The file of the code that called this, as the stack names it (in a bundle: the source file it came from). */
function callerFile(): string | undefined {
  const prepare = Error.prepareStackTrace;
  Error.prepareStackTrace = (_error, sites) => sites;
  const holder: { stack?: CallSite[] } = {};
  Error.captureStackTrace(holder, callerFile);
  const site = holder.stack?.[0];
  Error.prepareStackTrace = prepare;
  const name = site?.getFileName();
  return name && site ? frameFile(name, site.getLineNumber(), site.getColumnNumber()) : undefined;
}

/** This file as its frames name it: SELF, or in a bundle the source this code came from. */
const SELF_SOURCE = callerFile() ?? SELF;

/** How library code (not apps or constructs) sees the environment while the sandbox is on. */
export type LibraryEnvironment = 'empty' | 'real';

/**
 * Turns the host off for app and construct code: every guarded call from a file under `apps/`,
 * `inventory/` or `constructs/` (of the project or of this library) throws a SandboxError naming what was
 * reached. Library code that apps call is not refused (cdk8s reading its own settings, the
 * module loader); with `libraryEnv: 'empty'` it sees an empty environment. Returns the undo.
 */
function install(root: string, libraryEnv: LibraryEnvironment): () => void {
  const guarded = ['apps', 'inventory', 'constructs']
    .flatMap((folder) => [join(root, folder), join(LIBRARY, folder)])
    .map((dir) => `${dir}/`);
  // The code that made the call: the first frame with a file outside this one. Few frames are
  // captured and none is formatted, so a guarded call costs about a microsecond.
  const fromProjectCode = (): boolean => {
    const prepare = Error.prepareStackTrace;
    const limit = Error.stackTraceLimit;
    Error.prepareStackTrace = (_error, sites) => sites;
    Error.stackTraceLimit = 12;
    const holder: { stack?: CallSite[] } = {};
    Error.captureStackTrace(holder);
    const sites = holder.stack ?? [];
    Error.prepareStackTrace = prepare;
    Error.stackTraceLimit = limit;
    for (const site of sites) {
      const name = site.getFileName();
      // In a bundle every frame names the bundle file: the source it came from is the file.
      const file = name ? frameFile(name, site.getLineNumber(), site.getColumnNumber()) : name;
      if (!file || file === SELF || file.endsWith(SELF) || file === SELF_SOURCE) continue;
      return guarded.some((dir) => file.includes(dir));
    }
    return false;
  };
  const refuse = (what: string): never => {
    throw new SandboxError(`${what} while building: ${REASON}`);
  };
  const undo: (() => void)[] = [];
  const describeArgument = (value: unknown) => (typeof value === 'string' ? JSON.stringify(value) : '');
  const guard = (target: Record<string, unknown>, name: string, label: string) => {
    const original = target[name];
    if (typeof original !== 'function') return;
    const descriptor = Object.getOwnPropertyDescriptor(target, name);
    if (descriptor && !descriptor.configurable && !descriptor.writable) return;
    const replacement = function guardedCall(this: unknown, ...args: unknown[]) {
      if (fromProjectCode()) refuse(`calling ${label}${name}(${describeArgument(args[0])})`);
      if (new.target) return Reflect.construct(original as new (...a: unknown[]) => unknown, args, new.target);
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
    // Properties hung on a function (hrtime.bigint, promisify.custom) travel with it.
    for (const key of Reflect.ownKeys(original)) {
      if (key === 'length' || key === 'name' || key === 'prototype') continue;
      const property = Object.getOwnPropertyDescriptor(original, key);
      if (property) Object.defineProperty(replacement, key, property);
    }
    if ((original as { prototype?: unknown }).prototype) replacement.prototype = (original as { prototype: object }).prototype;
    try {
      target[name] = replacement;
    } catch {
      return;
    }
    undo.push(() => {
      target[name] = original;
    });
  };
  for (const [label, module] of GUARDED_MODULES) {
    const target = module as Record<string, unknown>;
    for (const name of Object.keys(target)) {
      // Classes (fs.Stats, net.Socket) stay: constructing one reaches nothing by itself.
      if ((/^[A-Z]/.test(name) && label !== 'worker_threads') || PURE.has(`${label}.${name}`)) continue;
      guard(target, name, `${label}.`);
    }
  }
  const processObject = process as unknown as Record<string, unknown>;
  for (const name of PROCESS_FUNCTIONS) guard(processObject, name, 'process.');
  for (const name of GLOBAL_FUNCTIONS) guard(globalThis as unknown as Record<string, unknown>, name, '');
  guard(Math as unknown as Record<string, unknown>, 'random', 'Math.');
  for (const name of ['randomBytes', 'randomUUID', 'randomInt', 'randomFillSync', 'getRandomValues'])
    guard(nodeCrypto as unknown as Record<string, unknown>, name, 'crypto.');
  const webCrypto = globalThis.crypto as unknown as Record<string, unknown> | undefined;
  if (webCrypto) for (const name of ['randomUUID', 'getRandomValues']) guard(webCrypto, name, 'crypto.');
  guard(performance as unknown as Record<string, unknown>, 'now', 'performance.');

  // Facts of the process: a getter that refuses app code and answers everyone else.
  for (const name of PROCESS_FACTS) {
    const descriptor = Object.getOwnPropertyDescriptor(process, name);
    if (!descriptor?.configurable) continue;
    Object.defineProperty(process, name, {
      configurable: true,
      enumerable: descriptor.enumerable ?? true,
      get() {
        if (fromProjectCode()) refuse(`reading process.${name}`);
        return descriptor.get ? descriptor.get.call(process) : descriptor.value;
      },
      set(value: unknown) {
        Object.defineProperty(process, name, { ...descriptor, value });
      },
    });
    undo.push(() => Object.defineProperty(process, name, descriptor));
  }

  // The clock: Date.now(), new Date() and Date() without a value.
  const RealDate = Date;
  const guardedDate = new Proxy(RealDate, {
    construct(target, args, newTarget) {
      if (args.length === 0 && fromProjectCode()) refuse('reading the clock (new Date())');
      return Reflect.construct(target, args, newTarget);
    },
    apply(target, thisArg, args) {
      if (fromProjectCode()) refuse('reading the clock (Date())');
      return Reflect.apply(target, thisArg, args);
    },
    get(target, key, receiver) {
      if (key === 'now') return () => (fromProjectCode() ? refuse('reading the clock (Date.now())') : target.now());
      return Reflect.get(target, key, receiver);
    },
  });
  globalThis.Date = guardedDate;
  undo.push(() => {
    globalThis.Date = RealDate;
  });

  // The environment.
  const env = process.env;
  const visible = libraryEnv === 'real' ? env : ({} as NodeJS.ProcessEnv);
  process.env = new Proxy(visible, {
    get: (target, key) => (typeof key === 'string' && fromProjectCode() ? refuse(`reading process.env.${key}`) : Reflect.get(target, key)),
    has: (target, key) => (typeof key === 'string' && fromProjectCode() ? refuse(`reading process.env.${key}`) : Reflect.has(target, key)),
    ownKeys: (target) => (fromProjectCode() ? refuse('listing process.env') : Reflect.ownKeys(target)),
    set: (target, key, value) => (fromProjectCode() ? refuse(`setting process.env.${String(key)}`) : Reflect.set(target, key, value)),
  });
  undo.push(() => {
    process.env = env;
  });
  syncBuiltinESMExports();
  return () => {
    for (const step of undo.reverse()) step();
    syncBuiltinESMExports();
  };
}

/**
 * Runs `build` with no usable host for app and construct code: reading the environment, the
 * file system, the clock or chance, starting a process or a connection, or scheduling work
 * for later, from a file under `apps/`, `inventory/` or `constructs/`, throws a SandboxError, so synth
 * reports it with the construct path; library code sees an empty environment. (A library
 * that reads a file on a construct's behalf, like cdk8s-plus ConfigMap.addFile, is not stopped.)
 */
export function withoutHost<T>(root: string, build: () => T): T {
  const restore = install(root, 'empty');
  try {
    return build();
  } finally {
    restore();
  }
}

/**
 * The same for code that loads modules (a composition and the app files it imports run their
 * top level here). Library code keeps the real environment while the loader works.
 */
export async function withoutHostWhileLoading<T>(root: string, load: () => Promise<T>): Promise<T> {
  const restore = install(root, 'real');
  try {
    return await load();
  } finally {
    restore();
  }
}
