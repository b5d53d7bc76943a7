import { lstatSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';

/** A project file's bytes, or why it cannot be read, in words that fit after its path. */
export type ProjectFile = { readonly content: Buffer } | { readonly error: string };

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * Reads a file a construct or the pipeline names, relative to the project root. The path must
 * stay inside the project once every link is resolved; a path that leaves it is refused and the
 * file is never read. A folder, a dangling link, a FIFO or an unreadable file is an error, not
 * a crash.
 */
export function readProjectFile(root: string, path: string): ProjectFile {
  if (isAbsolute(path) || path.split(/[\\/]/).includes('..')) {
    return { error: 'must be a path inside the project, relative to its root, without ".."' };
  }
  const full = join(root, path);
  let real: string;
  try {
    real = realpathSync(full);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      try {
        if (lstatSync(full).isSymbolicLink()) return { error: 'is a link to a file that does not exist' };
      } catch {
        // nothing there at all
      }
      return { error: 'does not exist' };
    }
    if (code === 'EACCES') return { error: 'cannot be read: permission denied' };
    return { error: `cannot be read (${code ?? String(error)})` };
  }
  const realRoot = realpathSync(root);
  if (!inside(realRoot, real)) return { error: `is a link that leads outside the project (to ${real}); it is not read` };
  const stat = statSync(real);
  if (stat.isDirectory()) return { error: 'is a folder, not a file' };
  if (!stat.isFile()) return { error: 'is not a regular file (a FIFO, socket or device)' };
  try {
    return { content: readFileSync(real) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { error: code === 'EACCES' ? 'cannot be read: permission denied' : `cannot be read (${code ?? String(error)})` };
  }
}
