import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unbundledStack } from './bundle.js';

/** The engine's own folders: a frame there is never the place an app or construct went wrong. */
const LIBRARY = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ENGINE = ['pipeline', 'cli', 'framework', 'node_modules'].map((dir) => `${LIBRARY}/${dir}/`);

/**
 * What a thrown value says, on one line: an Error's message with the project file and line it
 * was raised at (when that is not already in the message), or what else was thrown.
 */
export function describeThrown(error: unknown, root?: string): string {
  if (!(error instanceof Error)) {
    if (typeof error === 'string' && error.trim() !== '') return error.replace(/\s*\n\s*/g, ' ');
    let shown: string | undefined;
    try {
      shown = typeof error === 'string' ? '""' : JSON.stringify(error);
    } catch {
      shown = undefined;
    }
    return `threw ${shown ?? String(error)} instead of an Error: throw new Error('what is wrong and how to fix it')`;
  }
  const prefix = root === undefined ? undefined : root.endsWith('/') ? root : `${root}/`;
  let message = (error.message || `${error.name} without a message`).replace(/\s*\n\s*/g, ' ');
  if (prefix) message = message.replaceAll(prefix, '');
  if (/Maximum call stack size exceeded/.test(message)) {
    message = `${message} (an endless recursion, or a value that holds itself or nests thousands deep)`;
  }
  const stack = error.stack === undefined ? undefined : unbundledStack(error.stack);
  const frame = stack
    ?.split('\n')
    .slice(1)
    .find(
      (line) =>
        /\((?:file:\/\/)?\/|at (?:file:\/\/)?\//.test(line) &&
        (prefix === undefined || line.includes(prefix)) &&
        !line.includes('/node_modules/') &&
        !ENGINE.some((dir) => line.includes(dir)),
    );
  const file = frame ? /\(?(?:file:\/\/)?([^()\s]+:\d+):\d+\)?$/.exec(frame)?.[1] : undefined;
  const where = prefix && file ? file.replace(prefix, '') : file;
  return where && !message.includes(where) ? `${message} (at ${where})` : message;
}
