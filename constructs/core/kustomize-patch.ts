import { Construct } from 'constructs';
import { KUSTOMIZE_CONTRIBUTION, type KustomizeEntries, type PatchEntry } from '../../pipeline/contributions.js';

/**
 * A kustomize patch on objects the app does not render itself (a pinned upstream manifest or
 * Helm chart): applied by kustomize when ArgoCD builds the app, to every object the target selects.
 */
export class KustomizePatch extends Construct {
  readonly entry: PatchEntry;

  constructor(scope: Construct, id: string, props: PatchEntry) {
    super(scope, id);
    this.entry = props;
  }

  [KUSTOMIZE_CONTRIBUTION](): KustomizeEntries {
    return { patches: [this.entry] };
  }
}
