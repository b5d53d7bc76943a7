import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, relative, resolve } from 'node:path';
import { httpDownload } from '../../pipeline/upstream/fetch.js';
import { projectRoot } from '../helpers/io.js';
import { temporaryDir } from '../helpers/temp.js';

/** The offline mirror of the pinned upstream files (present in CI as ../shared/upstream). */
export const MIRROR = resolve(projectRoot, '..', 'shared', 'upstream');

export const TRAEFIK_CRDS =
  'https://raw.githubusercontent.com/traefik/traefik/v3.7.9/docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml';
export const DEMOCRATIC_CSI = { repo: 'https://democratic-csi.github.io/charts/', name: 'democratic-csi', version: '0.15.1' };

export function tempDir(prefix = 'upstream-test-'): string {
  return temporaryDir(prefix);
}

/** The sha256 MANIFEST.tsv of the mirror lists for a local path (an independent record of each file). */
export function manifestSha256(localPath: string): string {
  const manifest = readFileSync(join(MIRROR, 'MANIFEST.tsv'), 'utf8');
  const line = manifest.split('\n').find((row) => row.split('\t')[1] === localPath);
  const sha = line?.split('\t')[6];
  if (sha === undefined) throw new Error(`MANIFEST.tsv lists no ${localPath}`);
  return sha;
}

/** Copies one path of the mirror into another mirror folder, keeping its place in the layout. */
export function copyFromMirror(target: string, path: string): string {
  const to = join(target, path);
  mkdirSync(dirname(to), { recursive: true });
  cpSync(join(MIRROR, path), to, { recursive: true });
  return to;
}

/** Every regular file below a folder, relative (an empty list when it does not exist). */
export function filesBelow(dir: string): string[] {
  if (statSync(dir, { throwIfNoEntry: false }) === undefined) return [];
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter((path) => statSync(join(dir, path)).isFile())
    .map((path) => relative(dir, join(dir, path)))
    .sort();
}

/** A gzipped tar of `<parent>/<folder>/` built with the system tar, as a chart repository serves it. */
export function tarball(parent: string, folder: string): Buffer {
  const archive = join(tempDir('upstream-tgz-'), 'package.tgz');
  execFileSync('tar', ['-czf', archive, '-C', parent, folder]);
  return readFileSync(archive);
}

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  readonly requests: string[];
  /** Path (with leading `/`) to body; a missing path answers 404. */
  readonly files: Map<string, Buffer | string>;
  close(): Promise<void>;
}

/** A real HTTP server on the loopback interface, port chosen by the system. */
export async function startServer(files: Record<string, Buffer | string> = {}): Promise<TestServer> {
  const map = new Map(Object.entries(files));
  const requests: string[] = [];
  const server = createServer((request, response) => {
    const path = request.url ?? '/';
    requests.push(path);
    const body = map.get(path);
    if (body === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    requests,
    files: map,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

/**
 * The project's download function aimed at the loopback server: `https://<host>/<path>` is asked
 * for as `<server>/<host>/<path>`, so that pins keep their real https URLs.
 */
export function loopbackDownload(server: TestServer, calls: string[] = []): (url: string) => Promise<Buffer> {
  const download = httpDownload(5_000);
  return (url) => {
    calls.push(url);
    if (!url.startsWith('https://')) return Promise.reject(new Error(`not an https URL: ${url}`));
    return download(`${server.base}/${url.slice('https://'.length)}`);
  };
}

export function writeFile(path: string, content: string | Buffer): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  return path;
}
