import { LineCounter, parseAllDocuments, stringify } from 'yaml';
import { isRecord, type Manifest, type Problem, type SourcedObject } from './model.js';

export interface ParsedFile {
  readonly objects: SourcedObject[];
  readonly problems: Problem[];
}

/** Parses a multi-document YAML file; empty documents are skipped, every syntax error is reported. */
export function parseManifests(text: string, file: string): ParsedFile {
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const objects: SourcedObject[] = [];
  const problems: Problem[] = [];
  const list = Array.isArray(documents) ? documents : [documents];
  list.forEach((document, index) => {
    const origin = { file, document: index };
    if (document.errors.length > 0) {
      for (const error of document.errors) {
        const pos = lineCounter.linePos(error.pos[0]);
        const message = error.message.split('\n')[0] ?? error.message;
        problems.push({ origin, rule: 'yaml', message: `YAML syntax error at line ${pos.line}, column ${pos.col}: ${message}` });
      }
      return;
    }
    const value: unknown = document.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return;
    if (!isRecord(value)) {
      problems.push({ origin, rule: 'yaml', message: 'document is not a mapping (a Kubernetes object is a YAML mapping)' });
      return;
    }
    objects.push({ manifest: value, origin });
  });
  return { objects, problems };
}

const LEADING_KEYS = ['apiVersion', 'kind', 'metadata'];

/** apiVersion, kind and metadata first, the rest in the order the object was built. */
function ordered(manifest: Manifest): Manifest {
  const out: Manifest = {};
  for (const key of LEADING_KEYS) if (key in manifest) out[key] = manifest[key];
  for (const [key, value] of Object.entries(manifest)) if (!(key in out)) out[key] = value;
  return out;
}

/**
 * Deterministic YAML for one object. YAML 1.1 rules decide quoting, as Kubernetes' YAML reader
 * still treats `yes`, `on` and friends as booleans.
 */
export function stringifyManifest(manifest: Manifest): string {
  return stringify(ordered(manifest), { version: '1.1', lineWidth: 0, indentSeq: true, aliasDuplicateObjects: false });
}

export function stringifyData(data: unknown): string {
  return stringify(data, { version: '1.1', lineWidth: 0, indentSeq: true, aliasDuplicateObjects: false });
}
