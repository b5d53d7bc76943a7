import { workloadReferences } from '../constructs/core/references.js';
import { workloadPolicy } from '../constructs/core/workload-policy.js';
import { gitOpsPolicy, sopsDecryptionPolicy } from '../constructs/gitops/policies.js';
import { ingressReferences } from '../constructs/ingress/index.js';
import { metricsTargetPolicy } from '../constructs/monitoring/policies.js';
import { metricsAddon } from '../constructs/monitoring/service-monitor.js';
import { defineCluster } from '../framework/cluster.js';
import { referencePolicy } from '../framework/references.js';
import { parseInventory } from '../inventory/schema.js';
import { argocdApp } from './argocd.js';
import { certManagerApp } from './cert-manager.js';
import { democraticCsiApp } from './democratic-csi.js';
import { gitopsApp } from './gitops.js';
import { traefikApp } from './traefik.js';

const NAME = 'k8s-235';
const apps = [certManagerApp, traefikApp, argocdApp, democraticCsiApp, gitopsApp];

/** The k8s-235 homelab: one entry per ArgoCD Application, in dist/k8s-235/<app>/. */
export default defineCluster({
  parseInventory: (data) => parseInventory(data, NAME),
  apps: () => apps,
  // Prometheus (kube-prometheus) scrapes every metrics endpoint the constructs declare.
  addons: () => [metricsAddon],
  externalCustomResources: () => [
    {
      group: 'monitoring.coreos.com',
      reason:
        'prometheus-operator and its CRDs are installed by the kube-prometheus deployment of the previous kustomize repository until kube-prometheus has an app here',
    },
  ],
  // The inventory marks its example values; SOPS files encrypted for an example key follow.
  examples: (inventory) => inventory.examples,
  // The ingress and storage checks come with their constructs (registerPolicies); these are the
  // cluster's own choices.
  policies: (inventory) => [
    gitOpsPolicy({
      namespaceGrants: [
        {
          app: democraticCsiApp,
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
