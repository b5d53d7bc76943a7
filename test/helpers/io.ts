import { registeredKinds } from '../../constructs/kinds.js';
import type { CommandContext } from '../../pipeline/commands.js';

export const projectRoot = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');

/** A command context that records what a command prints. */
export function captureContext(overrides: Partial<CommandContext> = {}): CommandContext & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    root: projectRoot,
    kinds: registeredKinds,
    cwd: projectRoot,
    io: { out: (line) => out.push(line), err: (line) => err.push(line) },
    ...overrides,
    out,
    err,
  };
}
