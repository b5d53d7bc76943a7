import {
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import { compareStrings } from '../framework/model.js';

/** Written at the top of every output tree: tells people not to edit it and tells synth the folder is its own. */
export const OUTPUT_MARKER_FILE = 'README.md';
export const OUTPUT_MARKER_TEXT =
  '# Generated output\n\nEverything below this folder is written by `npm run synth` from `inventory/`, `apps/` and\n`constructs/`. Do not edit it: change the sources and run `npm run synth` again.\n';

/**
 * Why synth must not replace this folder, or undefined when it may: synth replaces a whole tree,
 * so it only ever replaces one it wrote (it holds the marker), an empty folder, a new path, or
 * the project's own default output folder.
 */
export function outputTargetError(distDir: string, root: string, isDefault: boolean): string | undefined {
  const toRoot = relative(distDir, root);
  if (toRoot === '' || (!toRoot.startsWith('..') && !isAbsolute(toRoot))) {
    return 'is the project root or one of its parent folders; choose a folder of its own';
  }
  if (!existsSync(distDir)) return undefined;
  if (!statSync(distDir).isDirectory()) return 'exists and is not a folder';
  if (isDefault || readdirSync(distDir).length === 0) return undefined;
  const marker = join(distDir, OUTPUT_MARKER_FILE);
  if (existsSync(marker) && readFileSync(marker, 'utf8') === OUTPUT_MARKER_TEXT) return undefined;
  return `exists and was not written by synth (no ${OUTPUT_MARKER_FILE} marker); synth replaces the whole folder, so give it a new or empty one`;
}

const STAGING_PREFIX = '.dist-staging-';
const PREVIOUS_PREFIX = '.dist-previous-';

/** Relative paths (with "/") of every file under a folder, sorted. */
export function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (current: string) => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) walk(path);
      else out.push(relative(dir, path).split(sep).join('/'));
    }
  };
  walk(dir);
  return out.sort(compareStrings);
}

/**
 * Puts back the previous dist when an earlier synth was killed between its two renames, and
 * removes what interrupted runs left beside it. Called before every synth and check.
 */
export function recoverInterruptedWrite(distDir: string): void {
  const parent = dirname(distDir);
  if (!existsSync(parent)) return;
  const name = basename(distDir);
  const leftovers = readdirSync(parent).filter(
    (entry) => entry.startsWith(`${STAGING_PREFIX}${name}-`) || entry.startsWith(`${PREVIOUS_PREFIX}${name}-`),
  );
  for (const entry of leftovers.sort(compareStrings)) {
    const path = join(parent, entry);
    if (!existsSync(distDir) && entry.startsWith(PREVIOUS_PREFIX)) {
      renameSync(path, distDir);
    } else {
      try {
        rmSync(path, { recursive: true, force: true });
      } catch {
        // A leftover that cannot be removed is harmless: the next write uses its own names.
      }
    }
  }
}

/** What writeTree did: nothing when dist already held every file as wanted, else how many files it wrote and reused. */
export interface TreeWrite {
  readonly unchanged: boolean;
  readonly written: number;
  readonly reused: number;
}

/** Whether `path` is a regular file (not a link) holding exactly `content`. */
function holds(path: string, content: string): boolean {
  try {
    const stat = lstatSync(path);
    return stat.isFile() && stat.size === Buffer.byteLength(content) && readFileSync(path, 'utf8') === content;
  } catch {
    return false;
  }
}

/**
 * Writes the tree beside `distDir`, then swaps it in with two renames. A synth that fails or is
 * killed before the swap leaves `distDir` exactly as it was; files of removed objects and apps
 * disappear with the old tree. Only what changed is written: a file the old tree holds as wanted
 * is hard-linked into the new one, and when every file is as wanted and none is extra, nothing is
 * touched at all.
 */
export function writeTree(distDir: string, files: ReadonlyMap<string, string>): TreeWrite {
  recoverInterruptedWrite(distDir);
  const existing = listFiles(distDir);
  const kept = new Set(existing.filter((path) => files.has(path) && holds(join(distDir, path), files.get(path) as string)));
  if (kept.size === files.size && existing.length === files.size) return { unchanged: true, written: 0, reused: kept.size };
  const parent = dirname(distDir);
  const name = basename(distDir);
  const token = `${name}-${process.pid}`;
  const staging = join(parent, `${STAGING_PREFIX}${token}`);
  const previous = join(parent, `${PREVIOUS_PREFIX}${token}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  let written = 0;
  let reused = 0;
  try {
    const made = new Set<string>();
    for (const [path, content] of files) {
      const folder = dirname(join(staging, path));
      if (!made.has(folder)) {
        mkdirSync(folder, { recursive: true });
        made.add(folder);
      }
      if (kept.has(path)) {
        try {
          linkSync(join(distDir, path), join(staging, path));
          reused += 1;
          continue;
        } catch {
          // A file system without hard links: write it.
        }
      }
      writeFileSync(join(staging, path), content);
      written += 1;
    }
    if (existsSync(distDir)) renameSync(distDir, previous);
    renameSync(staging, distDir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(distDir) && existsSync(previous)) renameSync(previous, distDir);
    throw error;
  }
  try {
    rmSync(previous, { recursive: true, force: true });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    process.stderr.write(
      `synth: warning: the new tree is in place, but the previous one could not be removed (${reason}); delete ${previous}\n`,
    );
  }
  return { unchanged: false, written, reused };
}

export interface TreeDifference {
  readonly stale: string[];
  readonly missing: string[];
  readonly extra: string[];
}

/** Compares the wanted files with what is on disk, without writing anything. */
export function compareTree(distDir: string, files: ReadonlyMap<string, string>): TreeDifference {
  const onDisk = new Set(listFiles(distDir));
  const stale: string[] = [];
  const missing: string[] = [];
  for (const [path, content] of files) {
    if (!onDisk.has(path)) missing.push(path);
    else if (readFileSync(join(distDir, path), 'utf8') !== content) stale.push(path);
    onDisk.delete(path);
  }
  return {
    stale: stale.sort(compareStrings),
    missing: missing.sort(compareStrings),
    extra: [...onDisk].sort(compareStrings),
  };
}
