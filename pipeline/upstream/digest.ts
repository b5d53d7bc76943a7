import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { compareStrings } from '../../framework/model.js';

/** The sha256 of some bytes, as 64 lowercase hex digits. */
export function sha256Hex(buffer: Uint8Array | string): string {
  return createHash('sha256').update(buffer).digest('hex');
}

/** Relative paths (with `/`) of every regular file below a folder; links and special files throw. */
function listFiles(dir: string, prefix: string, out: string[]): void {
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const relative = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    const stat = lstatSync(join(dir, relative));
    if (stat.isSymbolicLink()) throw new Error(`${join(dir, relative)} is a symbolic link: an upstream tree holds regular files only`);
    if (stat.isDirectory()) listFiles(dir, relative, out);
    else if (stat.isFile()) out.push(relative);
    else throw new Error(`${join(dir, relative)} is not a regular file or folder: an upstream tree holds regular files only`);
  }
}

/**
 * The digest of a folder's content: sha256 over one line `<relative/path>\0<sha256 of content>\n`
 * per regular file below it, sorted by relative path (byte order). Empty folders, modes and times
 * do not count; a symbolic link or special file inside is an error naming its path.
 */
export function treeDigest(dir: string): string {
  // The folder itself may be reached through a link (a mirror checked out elsewhere); what is inside may not.
  const stat = statSync(dir, { throwIfNoEntry: false });
  if (stat === undefined) throw new Error(`${dir} does not exist`);
  if (!stat.isDirectory()) throw new Error(`${dir} is not a folder`);
  const files: string[] = [];
  listFiles(dir, '', files);
  files.sort(compareStrings);
  const hash = createHash('sha256');
  for (const file of files) hash.update(`${file}\0${sha256Hex(readFileSync(join(dir, file)))}\n`);
  return hash.digest('hex');
}
