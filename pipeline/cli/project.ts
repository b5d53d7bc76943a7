import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { registeredKinds } from '../../constructs/kinds.js';
import { type CommandContext, consoleIo } from '../commands.js';

/** The project this CLI belongs to: resolved from this file, never from the working directory. */
export const projectContext: CommandContext = {
  root: resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'),
  kinds: registeredKinds,
  io: consoleIo,
  // npm runs scripts from the package folder; INIT_CWD is where the user typed the command.
  cwd: process.env.INIT_CWD ?? process.cwd(),
};

// A reader that stops early (`npm run synth | head`) closes the pipe: stop quietly, keeping the status.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit();
  });
}

/** Runs a command and exits with its status; an unexpected crash exits 3 with the stack. */
export function exitWith(run: Promise<number>): void {
  run.then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 3;
    },
  );
}
