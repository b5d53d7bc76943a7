import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';

/**
 * A `dist/` folder as the diff reads it: each file's git blob id, and its content on demand, so
 * that files equal on both sides (the same blob) are never read or parsed.
 */
export interface DistTree {
  /** How the tree is named in the output: `HEAD (e9b4c9e)`, `the working tree (rendered)`. */
  readonly label: string;
  /** The commit, for a tree read from git. */
  readonly commit?: string;
  /** Paths relative to dist/ (`<cluster>/<app>/<file>`) to git blob ids. */
  readonly blobs: ReadonlyMap<string, string>;
  /** The contents of some of the files. */
  read(paths: readonly string[]): Map<string, string>;
  /** What makes files of the tree unreadable (a symbolic link to nothing). */
  readonly problems?: readonly string[];
}

/** Git's id of a file's content (`git hash-object`), so a rendered file compares with a committed one without reading it. */
export function gitBlobId(content: string): string {
  const bytes = Buffer.from(content, 'utf8');
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

/** The files a render produced, as a tree. */
export function renderedTree(files: ReadonlyMap<string, string>, label: string): DistTree {
  const blobs = new Map<string, string>();
  for (const [path, content] of files) blobs.set(path, gitBlobId(content));
  return {
    label,
    blobs,
    read: (paths) => new Map(paths.flatMap((path) => (files.has(path) ? [[path, files.get(path) as string] as const] : []))),
  };
}

export class GitError extends Error {}

function git(root: string, args: readonly string[], input?: Buffer | string): Buffer {
  const result = spawnSync('git', args, { cwd: root, input, maxBuffer: 1 << 30 });
  if (result.error) throw new GitError(`git cannot be run: ${result.error.message}`);
  if (result.status !== 0) {
    const reason = result.stderr.toString('utf8').trim().split('\n')[0] ?? '';
    throw new GitError(`git ${args[0]} failed: ${reason}`);
  }
  return result.stdout;
}

/** The commit a ref names, or a GitError saying it names none. */
export function resolveCommit(root: string, ref: string): string {
  if (ref.startsWith('-')) throw new GitError(`'${ref}' is not a git ref`);
  const result = spawnSync('git', ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`], { cwd: root });
  if (result.error) throw new GitError(`git cannot be run: ${result.error.message}`);
  if (result.status !== 0) {
    const inside = spawnSync('git', ['rev-parse', '--git-dir'], { cwd: root });
    if (inside.status !== 0) throw new GitError(`${root} is not in a git repository, so there is no committed dist/ to compare with`);
    throw new GitError(
      `'${ref}' names no commit of this repository (git rev-parse --verify '${ref}^{commit}' fails): give a branch, tag or commit`,
    );
  }
  return result.stdout.toString('utf8').trim();
}

/**
 * The `dist/` folder committed at a ref: one `git ls-tree` for the blob ids, and one
 * `git cat-file --batch` for the contents read. A ref without the folder is an empty tree (the
 * commit before the first synth).
 */
export function gitTree(root: string, ref: string, distFolder = 'dist'): DistTree {
  const commit = resolveCommit(root, ref);
  const prefix = git(root, ['rev-parse', '--show-prefix']).toString('utf8').trim();
  const listing = git(root, ['ls-tree', '-r', '-z', '--full-name', commit, '--', distFolder]).toString('utf8');
  const base = `${prefix}${distFolder}/`;
  const blobs = new Map<string, string>();
  const links: string[] = [];
  for (const entry of listing.split('\0')) {
    if (entry === '') continue;
    const tab = entry.indexOf('\t');
    const [mode, type, id] = entry.slice(0, tab).split(' ');
    const path = entry.slice(tab + 1);
    if (type !== 'blob' || id === undefined || !path.startsWith(base)) continue;
    if (mode === '120000') links.push(path);
    else blobs.set(path.slice(base.length), id);
  }
  // A symbolic link is read as the file it points to in the commit, as ArgoCD reads it.
  const problems: string[] = [];
  if (links.length > 0) {
    const answers = git(
      root,
      ['cat-file', '--batch-check', '--follow-symlinks'],
      `${links.map((link) => `${commit}:${link}`).join('\n')}\n`,
    )
      .toString('utf8')
      .split('\n');
    let line = 0;
    for (const link of links) {
      const answer = answers[line++] ?? '';
      const [id, type] = answer.split(' ');
      if (type === 'blob' && id !== undefined) {
        blobs.set(link.slice(base.length), id);
        continue;
      }
      // These answers are followed by a line naming the target.
      if (/^(symlink|dangling|loop|notdir) /.test(answer)) line++;
      problems.push(
        `${distFolder}/${link.slice(base.length)} is a symbolic link to no file of the commit (${answer.split(' ')[0] || 'unreadable'}): ArgoCD cannot read it`,
      );
    }
  }
  const shortRef = /^[0-9a-f]{40}$/.test(ref) ? ref.slice(0, 12) : `${ref} (${commit.slice(0, 12)})`;
  return {
    label: shortRef,
    commit,
    blobs,
    problems,
    read(paths) {
      const wanted = paths.filter((path) => blobs.has(path));
      const contents = new Map<string, string>();
      if (wanted.length === 0) return contents;
      const output = git(root, ['cat-file', '--batch'], `${wanted.map((path) => blobs.get(path)).join('\n')}\n`);
      let at = 0;
      for (const path of wanted) {
        const end = output.indexOf(10, at);
        const header = output.subarray(at, end).toString('utf8').split(' ');
        const size = Number(header[2]);
        if (header[1] !== 'blob' || !Number.isInteger(size))
          throw new GitError(`git cat-file could not read ${distFolder}/${path} at ${ref}`);
        contents.set(path, output.subarray(end + 1, end + 1 + size).toString('utf8'));
        at = end + 1 + size + 1;
      }
      return contents;
    },
  };
}
