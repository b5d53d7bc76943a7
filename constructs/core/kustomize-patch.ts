import { Construct } from 'constructs';
import { KUSTOMIZE_CONTRIBUTION, type KustomizeEntries, type PatchEntry } from '../../framework/contributions.js';

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

export interface CrdSyncOptionsProps {
  /** Name of the patch document (kustomize applies it by target, not by this name). */
  readonly patchName: string;
  /** ArgoCD sync options for the CRDs, e.g. `['Delete=false', 'ServerSideApply=true']`. */
  readonly syncOptions: readonly string[];
  /** Sync wave within the app. @default none */
  readonly syncWave?: number;
  /** Regular expression the CRD names must match. @default every CRD of the app */
  readonly namePattern?: string;
}

/**
 * Sets ArgoCD sync options (and a wave) on the CustomResourceDefinitions an upstream manifest
 * or chart of the app installs, typically `Delete=false` so that removing the app never deletes
 * every custom resource of the cluster.
 */
export function crdSyncOptions(scope: Construct, id: string, props: CrdSyncOptionsProps): KustomizePatch {
  return new KustomizePatch(scope, id, {
    target: {
      group: 'apiextensions.k8s.io',
      kind: 'CustomResourceDefinition',
      ...(props.namePattern === undefined ? {} : { name: props.namePattern }),
    },
    patch: {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: {
        name: props.patchName,
        annotations: {
          'argocd.argoproj.io/sync-options': props.syncOptions.join(','),
          ...(props.syncWave === undefined ? {} : { 'argocd.argoproj.io/sync-wave': String(props.syncWave) }),
        },
      },
    },
  });
}
