import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];

/** Removes the folders made so far; test/helpers/cleanup.ts calls it when each test file's tests are done. */
export function removeTemporaryDirs(): void {
  for (const path of made.splice(0)) rmSync(path, { recursive: true, force: true });
}

/** A new folder under the system's temporary folder, removed when the test file's tests are done. */
export function temporaryDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
