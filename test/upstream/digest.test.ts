import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256Hex, treeDigest } from '../../pipeline/upstream/digest.js';
import { tempDir, writeFile } from './helpers.js';

function tree(files: Record<string, string>): string {
  const dir = tempDir('upstream-tree-');
  for (const [path, content] of Object.entries(files)) writeFile(join(dir, path), content);
  return dir;
}

describe('sha256Hex', () => {
  it('is the hex sha256 of the bytes', () => {
    expect(sha256Hex(Buffer.from('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('treeDigest', () => {
  it('hashes one line <path>\\0<sha256>\\n per file, sorted by path', () => {
    const dir = tree({ 'b.txt': 'two', 'a/x.yaml': 'one', 'a-b': 'three' });
    const lines = [
      ['a-b', 'three'],
      ['a/x.yaml', 'one'],
      ['b.txt', 'two'],
    ].map(
      ([path, content]) =>
        `${path}\0${createHash('sha256')
          .update(content ?? '')
          .digest('hex')}\n`,
    );
    expect(treeDigest(dir)).toBe(createHash('sha256').update(lines.join('')).digest('hex'));
  });

  it('is stable: same files, other creation order, empty folders and modes ignored', () => {
    const first = tree({ 'Chart.yaml': 'name: c\n', 'templates/a.yaml': 'a', 'templates/b.yaml': 'b' });
    const second = tree({ 'templates/b.yaml': 'b', 'templates/a.yaml': 'a', 'Chart.yaml': 'name: c\n' });
    mkdirSync(join(second, 'empty'));
    expect(treeDigest(second)).toBe(treeDigest(first));
    expect(treeDigest(first)).toBe(treeDigest(first));
  });

  it('changes with a byte of content, a renamed file or an added file', () => {
    const files = { 'Chart.yaml': 'name: c\n', 'templates/a.yaml': 'a' };
    const before = treeDigest(tree(files));
    expect(treeDigest(tree({ ...files, 'templates/a.yaml': 'A' }))).not.toBe(before);
    expect(treeDigest(tree({ ...files, 'templates/extra.yaml': '' }))).not.toBe(before);
    const renamed = tree(files);
    renameSync(join(renamed, 'templates/a.yaml'), join(renamed, 'templates/c.yaml'));
    expect(treeDigest(renamed)).not.toBe(before);
  });

  it('refuses a symbolic link inside, naming its path', () => {
    const dir = tree({ 'Chart.yaml': 'name: c\n' });
    symlinkSync('/etc/hostname', join(dir, 'link'));
    expect(() => treeDigest(dir)).toThrow(`${join(dir, 'link')} is a symbolic link`);
  });

  it('refuses a path that is not a folder', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'file'), 'x');
    expect(() => treeDigest(join(dir, 'file'))).toThrow('is not a folder');
    expect(() => treeDigest(join(dir, 'absent'))).toThrow('does not exist');
  });
});
