import { Construct } from 'constructs';
import { KUSTOMIZE_CONTRIBUTION, type KustomizeEntries } from '../../framework/contributions.js';

export interface ManifestFileProps {
  /** YAML file of plain objects, relative to the project root (e.g. `manifests/<cluster>/legacy.yaml`). */
  readonly file: string;
}

/**
 * Includes hand-written objects in an app. Synth reads the file, gives namespaced objects the
 * app's namespace when they name none, and applies every object rule and cluster policy to them,
 * reporting problems with this construct's path and the file.
 */
export class ManifestFile extends Construct {
  readonly file: string;

  constructor(scope: Construct, id: string, props: ManifestFileProps) {
    super(scope, id);
    this.file = props.file;
  }

  [KUSTOMIZE_CONTRIBUTION](): KustomizeEntries {
    return { manifestFiles: [{ source: this.file }] };
  }
}
