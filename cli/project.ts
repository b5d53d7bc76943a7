import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { registeredKinds } from '../constructs/kinds.js';
import { unbundledStack } from '../pipeline/bundle.js';
import { type CommandContext, consoleIo } from '../pipeline/commands.js';
import type { SopsWriter } from '../pipeline/sops/writer.js';
import { describeThrown } from '../pipeline/thrown.js';

/** What the project's tools (encrypt, driver-config) get: the commands' I/O, plus who encrypts. */
export interface ToolContext extends Pick<CommandContext, 'io' | 'cwd' | 'env' | 'now' | 'readStdin'> {
  /** Who encrypts SOPS files. @default chooseSopsWriter(process.env) */
  readonly writer?: SopsWriter;
}

/** All of standard input, for `-` as a file argument. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The project this CLI belongs to: resolved from this file, never from the working directory. */
export const projectContext: CommandContext = {
  root: resolve(dirname(fileURLToPath(import.meta.url)), '..'),
  kinds: registeredKinds,
  io: consoleIo,
  watch: true,
  // npm runs scripts from the package folder; INIT_CWD is where the user typed the command.
  cwd: process.env.INIT_CWD ?? process.cwd(),
};

const realExit = process.exit.bind(process);
let settled = false;

/**
 * While a command runs, code it loads (compositions, app files, constructs) cannot end the
 * process: process.exit throws instead, and the command reports it as a problem of whatever
 * called it. A command that ends without settling (its summary never printed) fails. Installed
 * by exitWith, before any module the command imports is evaluated.
 */
function guardProcess(): void {
  process.exit = ((code?: number | string | null) => {
    if (settled) return realExit(code ?? undefined);
    throw new Error(`process.exit(${code ?? ''}) was called while the command ran: app code may not end the process`);
  }) as typeof process.exit;
  // A promise or callback of app code that fails after its step returned: one line, and a failure.
  const late = (error: unknown) => {
    process.stderr.write(
      `error: ${describeThrown(error)} was thrown outside any step (a promise or callback app code left behind); the command stopped and its result cannot be trusted\n`,
    );
    settled = true;
    realExit(1);
  };
  process.on('uncaughtException', late);
  process.on('unhandledRejection', late);
  process.on('exit', () => {
    if (settled) return;
    process.stderr.write(
      'error: the command ended before it finished (something stopped the event loop or the process); nothing it printed can be trusted\n',
    );
    process.exitCode = 1;
  });
}

// A reader that stops early (`npm run synth | head`) closes the pipe: stop quietly, keeping the status.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    settled = true;
    realExit();
  });
}

/** Runs a command and exits with its status; an unexpected crash exits 3 with the stack. */
export function exitWith(run: Promise<number>): void {
  guardProcess();
  run.then(
    (code) => {
      settled = true;
      process.exitCode = code;
    },
    (error: unknown) => {
      settled = true;
      process.stderr.write(`internal error: ${error instanceof Error ? unbundledStack(error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 3;
    },
  );
}
