// The GitLab pipeline (.gitlab-ci.yml) and the scripts its merge request job runs.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { projectRoot } from '../helpers/io.js';

const temporary: string[] = [];
afterAll(() => {
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'merge-request-test-'));
  temporary.push(dir);
  return dir;
}

interface Job {
  stage: string;
  script: string[];
  rules?: { if: string }[];
  artifacts?: { paths: string[]; when?: string };
}

describe('.gitlab-ci.yml', () => {
  const pipeline = parse(readFileSync(join(projectRoot, '.gitlab-ci.yml'), 'utf8')) as Record<string, Job> & {
    variables: Record<string, string>;
  };

  it('runs the tests, synth --check, and the cluster diff on merge requests only', () => {
    expect(pipeline.test?.script.join('\n')).toContain('bash .ci/run');
    expect(pipeline['synth-check']?.script).toContain('npm run synth -- --check');
    const review = pipeline.review as Job;
    expect(review.rules).toEqual([{ if: '$CI_PIPELINE_SOURCE == "merge_request_event"' }]);
    expect(review.script).toContain('bash .ci/merge-request-diff');
    expect(review.artifacts).toMatchObject({ when: 'always', paths: ['diff.md', 'diff.json'] });
    // The base commit's dist/ must be in the clone.
    expect(pipeline.variables.GIT_DEPTH).toBe('0');
  });

  it('names scripts that exist and can run', () => {
    for (const script of ['.ci/run', '.ci/merge-request-diff', '.ci/allowed-dangers']) {
      expect(() => accessSync(join(projectRoot, script), constants.X_OK), script).not.toThrow();
      expect(spawnSync('bash', ['-n', join(projectRoot, script)]).status, script).toBe(0);
    }
  });
});

describe('.ci/allowed-dangers', () => {
  it('prints the rules the Allow-danger trailers of the commits after the base accept', () => {
    const repo = tempDir();
    const git = (...args: string[]) =>
      spawnSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], { encoding: 'utf8' });
    git('init', '-q');
    git('commit', '-q', '--allow-empty', '-m', 'base\n\nAllow-danger: data-loss.removed-namespace');
    git(
      'commit',
      '-q',
      '--allow-empty',
      '-m',
      'drop the old policy\n\nAllow-danger: exposure.removed-network-policy, immutable.selector\nAllow-danger: data-loss.removed-pvc',
    );
    git('commit', '-q', '--allow-empty', '-m', 'unrelated');
    const result = spawnSync(join(projectRoot, '.ci/allowed-dangers'), ['HEAD~2'], { cwd: repo, encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    // The base commit's own trailer is not part of the merge request.
    expect(result.stdout.trim().split('\n')).toEqual(['data-loss.removed-pvc', 'exposure.removed-network-policy', 'immutable.selector']);
  });
});

describe('.ci/merge-request-diff', () => {
  it('saves the diff as markdown and JSON and posts the markdown as a merge request note', () => {
    const out = tempDir();
    const bin = tempDir();
    // A stand-in for curl that records how it was called and what it was sent.
    writeFileSync(
      join(bin, 'curl'),
      `#!/usr/bin/env bash\nprintf '%s\\n' "$@" > ${join(out, 'curl-args')}\ncat > ${join(out, 'curl-body')}\n`,
      { mode: 0o755 },
    );
    const result = spawnSync('bash', [join(projectRoot, '.ci/merge-request-diff')], {
      encoding: 'utf8',
      env: {
        ...process.env,
        PATH: `${bin}:${process.env.PATH}`,
        CI_MERGE_REQUEST_DIFF_BASE_SHA: 'HEAD',
        REVIEW_OUTPUT: out,
        REVIEW_NOTE_TOKEN: 'glpat-example',
        CI_API_V4_URL: 'https://git.example.org/api/v4',
        CI_PROJECT_ID: '42',
        CI_MERGE_REQUEST_IID: '7',
      },
    });
    expect(result.status, result.stderr).toBe(0);
    const markdown = readFileSync(join(out, 'diff.md'), 'utf8');
    expect(markdown).toContain('### Cluster diff: `HEAD');
    expect(JSON.parse(readFileSync(join(out, 'diff.json'), 'utf8')).format).toBe(1);
    const args = readFileSync(join(out, 'curl-args'), 'utf8').split('\n');
    expect(args).toContain('PRIVATE-TOKEN: glpat-example');
    expect(args).toContain('https://git.example.org/api/v4/projects/42/merge_requests/7/notes');
    expect(JSON.parse(readFileSync(join(out, 'curl-body'), 'utf8'))).toEqual({ body: markdown });
  });

  it('refuses to run outside a merge request pipeline', () => {
    const env = { ...process.env };
    delete env.CI_MERGE_REQUEST_DIFF_BASE_SHA;
    const result = spawnSync('bash', [join(projectRoot, '.ci/merge-request-diff')], { encoding: 'utf8', env });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('CI_MERGE_REQUEST_DIFF_BASE_SHA is not set');
  });
});
