// Shared helpers for the offline Nix tests: find nix-instantiate, decide
// whether the suites run, and evaluate expressions from the repository root.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const nixosDir = join(repoRoot, 'nixos');
export const libDir = join(nixosDir, 'lib');
export const fixture = (name: string): string => join(repoRoot, 'test', 'nix', 'fixtures', name);

function probeNix(): { available: boolean; detail: string } {
  const probe = spawnSync('nix-instantiate', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    const why = probe.error?.message ?? probe.stderr.trim();
    return { available: false, detail: `nix-instantiate is not on PATH (${why})` };
  }
  return { available: true, detail: probe.stdout.trim() };
}

const probe = probeNix();
const ciValue = process.env.CI ?? '';
export const inCI = ciValue !== '' && ciValue !== '0' && ciValue.toLowerCase() !== 'false';
export const hasNix = probe.available;

// Outside CI a machine without Nix skips these suites (and says why); in CI a
// missing Nix must fail, so the suites run and requireNix() reports it.
export const skipNixSuites = !hasNix && !inCI;
export const skipReason = `${probe.detail}; install it with: apt-get install nix-bin`;
if (skipNixSuites) {
  console.warn(`[test/nix] SKIPPED: ${skipReason}`);
}

export const suiteName = (name: string): string => (skipNixSuites ? `${name} (skipped: ${skipReason})` : name);

export function requireNix(): void {
  if (!hasNix) {
    throw new Error(`CI is set and Nix is required: ${skipReason}`);
  }
}

export interface NixResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runNix(args: readonly string[]): NixResult {
  const result = spawnSync('nix-instantiate', args, {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, NIX_PATH: '' },
    timeout: 30_000,
  });
  if (result.error) {
    throw result.error;
  }
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `nix-instantiate --eval --strict --json <args>`, parsed; throws with Nix's message on failure. */
export function evalJson<T>(args: readonly string[]): T {
  const result = runNix(['--eval', '--strict', '--json', ...args]);
  if (result.status !== 0) {
    throw new Error(`nix-instantiate ${args.join(' ')} failed:\n${result.stderr}`);
  }
  return JSON.parse(result.stdout) as T;
}

/** Arguments that load a JSON file as a Nix function argument. */
export const jsonArg = (name: string, file: string): string[] => ['--arg', name, `builtins.fromJSON (builtins.readFile ${file})`];

export function nixFilesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((entry) => entry.endsWith('.nix'))
    .map((entry) => relative(repoRoot, join(dir, entry)))
    .sort();
}

/** record[key], failing the test with the key's name when it is absent. */
export function at<T>(record: Readonly<Record<string, T>>, key: string): T {
  const value = record[key];
  if (value === undefined) {
    throw new Error(`expected an entry '${key}', found only: ${Object.keys(record).join(', ')}`);
  }
  return value;
}
