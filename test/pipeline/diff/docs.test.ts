import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DANGER_RULES } from '../../../pipeline/diff/dangers.js';
import { projectRoot } from '../../helpers/io.js';

describe('docs/review.md', () => {
  const page = readFileSync(join(projectRoot, 'docs/review.md'), 'utf8');
  const rows = page.split('\n').filter((line) => line.startsWith('| `'));

  it('has a row for every danger rule, and none for a rule that does not exist', () => {
    const documented = rows.map((line) => /^\| `([a-z-]+\.[a-z-]+)` \|/.exec(line)?.[1]).filter((id): id is string => id !== undefined);
    expect(documented.sort()).toEqual(DANGER_RULES.map((rule) => rule.id).sort());
  });

  it('states the exit statuses and options the command has', () => {
    for (const text of [
      '**0**',
      '**1**',
      '**2**',
      '`--allow RULE`',
      '`--format markdown`',
      '`--verbose`',
      'Allow-danger:',
      'REVIEW_NOTE_TOKEN',
    ]) {
      expect(page).toContain(text);
    }
  });
});
