import { workloadReferences } from '../constructs/core/references.js';
import { workloadPolicy } from '../constructs/core/workload-policy.js';
import { gitOpsPolicy, sopsDecryptionPolicy } from '../constructs/gitops/policies.js';
import { ingressReferences } from '../constructs/ingress/index.js';
import { INGRESS_DEFAULTS_CONTEXT, type IngressDefaults } from '../constructs/ingress/secure-ingress.js';
import { metricsTargetPolicy } from '../constructs/monitoring/policies.js';
import { defineCluster } from '../framework/cluster.js';
import { referencePolicy } from '../framework/references.js';
import { parseInventory } from '../inventory/schema.js';
import { argocdApp } from './argocd.js';
import { certManagerApp } from './cert-manager.js';
import { democraticCsiApp } from './democratic-csi.js';
import { gitopsApp } from './gitops.js';
import { SSO_MIDDLEWARE, traefikApp } from './traefik.js';

const NAME = 'k8s-235';
const apps = [certManagerApp, traefikApp, argocdApp, democraticCsiApp, gitopsApp];

const ingressDefaults: IngressDefaults = {
  sso: SSO_MIDDLEWARE,
  clusterIssuer: 'letsencrypt-prod',
  ingressClassName: 'traefik',
  entryPoint: 'websecure',
};

/** The k8s-235 homelab: one entry per ArgoCD Application, in dist/k8s-235/<app>/. */
export default defineCluster({
  parseInventory: (data) => parseInventory(data, NAME),
  context: () => ({ [INGRESS_DEFAULTS_CONTEXT]: ingressDefaults }),
  apps: () => apps,
  externalCustomResources: () => [
    {
      group: 'monitoring.coreos.com',
      reason:
        'prometheus-operator and its CRDs are installed by the kube-prometheus deployment of the previous kustomize repository until kube-prometheus has an app here',
    },
  ],
  // The inventory marks its example values; SOPS files encrypted for an example key follow.
  examples: (inventory) =>
    inventory.examples.map((example) => ({
      file: `inventory/${NAME}.json`,
      field: example.path,
      value: example.value,
      replace: example.replace,
    })),
  // The ingress and storage checks come with their constructs (registerPolicies); these are the
  // cluster's own choices.
  policies: (inventory) => [
    gitOpsPolicy({
      namespaceGrants: [
        {
          app: 'democratic-csi',
          namespace: 'kube-system',
          reason:
            "the upstream snapshot-controller manifests (external-snapshotter v8.2.1) install into kube-system, where the cluster's controllers run",
        },
      ],
    }),
    sopsDecryptionPolicy({ ageRecipient: inventory.gitops.sopsAgeRecipient }),
    // An app using what another app makes syncs after it (StorageClasses: the storage policy).
    referencePolicy([ingressReferences, workloadReferences]),
    metricsTargetPolicy,
    workloadPolicy,
  ],
});
